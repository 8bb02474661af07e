//! `metric(SELECTOR)`: the Prometheus text exposition format (no tokio, no engine: the
//! compiler checks selectors with it, the engine sums samples with it) (version 0.0.4) and selectors
//! in PromQL's instant-vector spelling: `name{a="b",c!="d",e=~"re",f!~"re"}`. Labels the
//! selector does not name are free; the value is the sum of the matching samples.

use regex::Regex;

/// A label matcher of a selector.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

/// `name{matchers}`.
#[derive(Clone, Debug)]
pub struct Selector {
    pub name: String,
    pub matchers: Vec<Matcher>,
}

impl Matcher {
    fn holds(&self, labels: &[(String, String)]) -> bool {
        let v = labels
            .iter()
            .find(|(k, _)| *k == self.label)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        match self.op {
            MatchOp::Eq => v == self.value,
            MatchOp::Ne => v != self.value,
            MatchOp::Re => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRe => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// A cursor over one line.
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.i += 1;
        }
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.s[self.i..].starts_with(t) {
            self.i += t.len();
            true
        } else {
            false
        }
    }
    fn name(&mut self) -> Option<&'a str> {
        let start = self.i;
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        while self.peek().is_some_and(is_name_char) {
            self.i += 1;
        }
        Some(&self.s[start..self.i])
    }
    /// A double-quoted string with `\\`, `\"` and `\n` escapes.
    fn quoted(&mut self) -> Option<String> {
        if !self.eat("\"") {
            return None;
        }
        let mut out = String::new();
        let mut chars = self.s[self.i..].char_indices();
        while let Some((j, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += j + 1;
                    return Some(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, c)) => out.push(c),
                    None => return None,
                },
                c => out.push(c),
            }
        }
        None
    }
    /// `{a="b",...}` after a name, or nothing; `ops` says whether matcher operators other
    /// than `=` are allowed (selectors) or not (samples).
    fn labels(&mut self, ops: bool) -> Result<Vec<(String, MatchOp, String)>, String> {
        let mut out = Vec::new();
        self.skip_ws();
        if !self.eat("{") {
            return Ok(out);
        }
        loop {
            self.skip_ws();
            if self.eat("}") {
                return Ok(out);
            }
            let label = self.name().ok_or("a label name")?.to_string();
            self.skip_ws();
            let op = if ops && self.eat("!=") {
                MatchOp::Ne
            } else if ops && self.eat("=~") {
                MatchOp::Re
            } else if ops && self.eat("!~") {
                MatchOp::NotRe
            } else if self.eat("=") {
                MatchOp::Eq
            } else {
                return Err(format!("`=` after the label `{label}`"));
            };
            self.skip_ws();
            let value = self
                .quoted()
                .ok_or_else(|| format!("a quoted value for the label `{label}`"))?;
            out.push((label, op, value));
            self.skip_ws();
            if self.eat("}") {
                return Ok(out);
            }
            if !self.eat(",") {
                return Err("`,` or `}` between labels".into());
            }
        }
    }
}

/// Parses a selector: `http_requests_total{path="/health",code!="500"}`.
pub fn selector(s: &str) -> Result<Selector, String> {
    let mut c = Cursor { s: s.trim(), i: 0 };
    let name = c
        .name()
        .ok_or_else(|| format!("`{s}` does not start with a metric name"))?
        .to_string();
    let labels = c
        .labels(true)
        .map_err(|e| format!("the selector `{s}` expects {e}"))?;
    c.skip_ws();
    if c.i != c.s.len() {
        return Err(format!(
            "the selector `{s}` has extra text after the metric: `{}`",
            &c.s[c.i..]
        ));
    }
    let mut matchers = Vec::new();
    for (label, op, value) in labels {
        let regex = match op {
            MatchOp::Re | MatchOp::NotRe => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("the selector `{s}`: bad regex for `{label}`: {e}"))?,
            ),
            _ => None,
        };
        matchers.push(Matcher {
            label,
            op,
            value,
            regex,
        });
    }
    Ok(Selector { name, matchers })
}

/// One sample of an exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// At most 120 characters of a line, for messages.
fn clip(line: &str) -> String {
    let mut out: String = line.chars().take(120).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

/// Parses an exposition; a malformed line is an error naming it (1-based).
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = |why: &str| {
            format!(
                "line {} of the body is not a Prometheus sample ({why}): `{}`",
                n + 1,
                clip(trimmed)
            )
        };
        let mut c = Cursor { s: trimmed, i: 0 };
        let name = c.name().ok_or_else(|| bad("no metric name"))?.to_string();
        let labels = c
            .labels(false)
            .map_err(|e| bad(&format!("expected {e}")))?
            .into_iter()
            .map(|(k, _, v)| (k, v))
            .collect();
        c.skip_ws();
        let rest = &c.s[c.i..];
        let mut fields = rest.split_whitespace();
        let v = fields.next().ok_or_else(|| bad("no value"))?;
        let value = match v {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse::<f64>()
                .map_err(|_| bad(&format!("`{v}` is not a number")))?,
        };
        if let Some(ts) = fields.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(bad(&format!("`{ts}` is not a timestamp")));
        }
        if fields.next().is_some() {
            return Err(bad("extra text after the value"));
        }
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    Ok(out)
}

/// The sum of the samples `sel` matches, or why there is none.
pub fn sum(text: &str, sel: &str) -> Result<f64, String> {
    let selector = selector(sel)?;
    let samples = parse(text)?;
    let mut total = 0.0;
    let mut matched = 0;
    for s in &samples {
        if s.name == selector.name && selector.matchers.iter().all(|m| m.holds(&s.labels)) {
            total += s.value;
            matched += 1;
        }
    }
    if matched > 0 {
        return Ok(total);
    }
    let mut names: Vec<&str> = Vec::new();
    for s in &samples {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    if samples.is_empty() {
        return Err(format!(
            "no sample matches `{sel}`: the body holds no Prometheus samples"
        ));
    }
    if names.contains(&selector.name.as_str()) {
        let labels: Vec<String> = samples
            .iter()
            .filter(|s| s.name == selector.name)
            .take(10)
            .map(|s| {
                let l: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                format!("{{{}}}", l.join(","))
            })
            .collect();
        return Err(format!(
            "no sample of `{}` has the labels of `{sel}`; its samples: {}",
            selector.name,
            labels.join(" ")
        ));
    }
    let shown: Vec<&str> = names.iter().take(30).copied().collect();
    let more = if names.len() > shown.len() {
        format!(" and {} more", names.len() - shown.len())
    } else {
        String::new()
    };
    Err(format!(
        "no metric `{}` in the body; the metrics present: {}{more}",
        selector.name,
        shown.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP http_requests_total Requests.\n\
        # TYPE http_requests_total counter\n\
        http_requests_total{path=\"/health\",code=\"200\"} 3\n\
        http_requests_total{path=\"/health\",code=\"500\"} 1 1700000000000\n\
        http_requests_total{path=\"/api\",code=\"200\"} 5\n\
        process_resident_memory_bytes 1.2e+07\n\
        weird{msg=\"a \\\"q\\\" b\\\\\"} 2\n";

    #[test]
    fn sums_matching_samples() {
        assert_eq!(sum(TEXT, "http_requests_total").unwrap(), 9.0);
        assert_eq!(
            sum(TEXT, "http_requests_total{path=\"/health\"}").unwrap(),
            4.0
        );
        assert_eq!(
            sum(TEXT, "http_requests_total{path=\"/health\",code!=\"500\"}").unwrap(),
            3.0
        );
        assert_eq!(
            sum(TEXT, "http_requests_total{code=~\"2..\"}").unwrap(),
            8.0
        );
        assert_eq!(sum(TEXT, "process_resident_memory_bytes").unwrap(), 12e6);
        assert_eq!(sum(TEXT, "weird{msg=\"a \\\"q\\\" b\\\\\"}").unwrap(), 2.0);
    }

    #[test]
    fn says_what_is_there_when_nothing_matches() {
        let e = sum(TEXT, "nope_total").unwrap_err();
        assert!(
            e.contains("http_requests_total, process_resident_memory_bytes"),
            "{e}"
        );
        let e = sum(TEXT, "http_requests_total{path=\"/x\"}").unwrap_err();
        assert!(e.contains("its samples"), "{e}");
    }

    #[test]
    fn malformed_lines_are_named() {
        let e = sum("ok 1\nbroken{a=\"b\" 2\n", "ok").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let e = sum("<html>", "ok").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        assert!(selector("a{b=c}").is_err());
        assert!(selector("{b=\"c\"}").is_err());
    }
}
