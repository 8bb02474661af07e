//! Observed values and how expectations judge them: what the engine observes and every report
//! shows.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::ast::{CmpOp, PredicateOp};
use crate::compile::value::{Text, TextPart, Val};

/// A value observed on the engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Actual {
    Bool(bool),
    Int(i64),
    Size(u64),
    Duration(#[serde(serialize_with = "ser_ms")] Duration),
    Percent(f64),
    /// A plain number with a fraction (a CPU limit).
    Number(f64),
    Mode(u32),
    Text(String),
    Json(serde_json::Value),
    List(Vec<String>),
    /// No limit is set: fails every comparison, saying so.
    Unlimited,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Bytes in the unit family the author used (`200MB` → MB).
pub fn format_size(bytes: u64, binary: bool) -> String {
    let (units, base): (&[&str], f64) = if binary {
        (&["B", "KiB", "MiB", "GiB", "TiB"], 1024.0)
    } else {
        (&["B", "KB", "MB", "GB", "TB"], 1000.0)
    };
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i + 1 < units.len() {
        v /= base;
        i += 1;
    }
    if i == 0 {
        format!("{bytes}B")
    } else {
        let s = format!("{v:.2}");
        format!(
            "{}{}",
            s.trim_end_matches('0').trim_end_matches('.'),
            units[i]
        )
    }
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{}ms", trim(ms, 1))
    } else if ms < 120_000.0 {
        format!("{}s", trim(ms / 1000.0, 2))
    } else {
        format!("{}m", trim(ms / 60_000.0, 2))
    }
}

fn trim(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

impl Actual {
    /// Shown to the author; sizes in the family of `like` (binary or not),
    /// with the exact bytes beside.
    pub fn show(&self, binary: bool) -> String {
        match self {
            Actual::Size(b) => format!("{} ({b} B)", format_size(*b, binary)),
            Actual::Duration(d) => format!("{} ({} ms)", format_duration(*d), d.as_millis()),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Actual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actual::Bool(b) => write!(f, "{b}"),
            Actual::Int(n) => write!(f, "{n}"),
            Actual::Size(b) => f.write_str(&format_size(*b, false)),
            Actual::Duration(d) => f.write_str(&format_duration(*d)),
            Actual::Percent(p) => write!(f, "{}%", trim(*p, 2)),
            Actual::Number(n) => f.write_str(&trim(*n, 3)),
            Actual::Unlimited => f.write_str("unlimited"),
            Actual::Mode(m) => write!(f, "0o{m:o}"),
            Actual::Text(t) => write!(f, "{t:?}"),
            Actual::Json(v) => write!(f, "{v}"),
            Actual::List(items) => {
                f.write_str("[")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s:?}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Text with host reads resolved (`env()`); secrets resolve too but are
/// only ever passed to processes.
pub fn resolve_text(t: &Text) -> Result<String, String> {
    let mut out = String::new();
    for p in &t.parts {
        match p {
            TextPart::Lit(s) => out.push_str(s),
            TextPart::Env { var, default } => match std::env::var(var) {
                Ok(v) => out.push_str(&v),
                Err(_) => match default {
                    Some(d) => out.push_str(d),
                    None => return Err(format!("the host variable `{var}` is not set")),
                },
            },
            TextPart::Secret { var } => match std::env::var(var) {
                Ok(v) => out.push_str(&v),
                Err(_) => {
                    return Err(format!(
                        "the secret `{var}` is not set in the host environment"
                    ));
                }
            },
            TextPart::Capture { text, .. } => {
                return Err(format!(
                    "`${{{text}}}` reads another request: only a request's settings read captures"
                ));
            }
        }
    }
    Ok(out)
}

fn expected_f64(v: &Val) -> Option<f64> {
    match v {
        Val::Int(n) => Some(*n as f64),
        Val::Float(x) | Val::Percent(x) => Some(*x),
        Val::Size { bytes, .. } => Some(*bytes as f64),
        Val::Duration { ms, .. } => Some(*ms as f64),
        Val::Mode(m) => Some(*m as f64),
        _ => None,
    }
}

fn actual_f64(a: &Actual) -> Option<f64> {
    match a {
        Actual::Int(n) => Some(*n as f64),
        Actual::Size(b) => Some(*b as f64),
        Actual::Duration(d) => Some(d.as_secs_f64() * 1000.0),
        Actual::Percent(p) | Actual::Number(p) => Some(*p),
        Actual::Mode(m) => Some(*m as f64),
        Actual::Json(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

/// Equality of an observation and an expected value.
fn equals(a: &Actual, v: &Val) -> Result<bool, String> {
    Ok(match (a, v) {
        (Actual::Bool(x), Val::Bool(y)) => x == y,
        (Actual::Text(x), Val::Text(t)) => *x == resolve_text(t)?,
        (Actual::List(items), Val::List(vs)) => {
            let mut want = Vec::new();
            for v in vs {
                match v {
                    Val::Text(t) => want.push(resolve_text(t)?),
                    other => want.push(other.to_string()),
                }
            }
            *items == want
        }
        (Actual::Json(j), v) => json_equals(j, v)?,
        (a, v) => match (actual_f64(a), expected_f64(v)) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => false,
        },
    })
}

fn json_equals(j: &serde_json::Value, v: &Val) -> Result<bool, String> {
    use serde_json::Value as J;
    Ok(match (j, v) {
        (J::String(s), Val::Text(t)) => *s == resolve_text(t)?,
        (J::Bool(b), Val::Bool(c)) => b == c,
        (J::Number(n), v) => match (n.as_f64(), expected_f64(v)) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9,
            _ => false,
        },
        (J::Array(items), Val::List(vs)) => {
            if items.len() != vs.len() {
                return Ok(false);
            }
            for (i, v) in items.iter().zip(vs) {
                if !json_equals(i, v)? {
                    return Ok(false);
                }
            }
            true
        }
        (J::Object(o), Val::Object(members)) => {
            if o.len() != members.len() {
                return Ok(false);
            }
            for (k, v) in members {
                match o.get(k) {
                    Some(j) if json_equals(j, v)? => {}
                    _ => return Ok(false),
                }
            }
            true
        }
        (J::Null, Val::Null) => true,
        _ => false,
    })
}

/// `contains` with a JSON object literal: every key of the literal is present with an equal
/// value, objects compared the same way recursively (arrays and scalars compare equal).
fn json_subset(j: &serde_json::Value, v: &Val) -> Result<bool, String> {
    let (serde_json::Value::Object(o), Val::Object(members)) = (j, v) else {
        return json_equals(j, v);
    };
    for (k, v) in members {
        match o.get(k) {
            Some(j) if json_subset(j, v)? => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

fn is_empty(a: &Actual) -> bool {
    match a {
        Actual::Text(t) => t.is_empty(),
        Actual::List(l) => l.is_empty(),
        Actual::Json(serde_json::Value::Null) => true,
        Actual::Json(serde_json::Value::String(s)) => s.is_empty(),
        Actual::Json(serde_json::Value::Array(a)) => a.is_empty(),
        Actual::Json(serde_json::Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// Whether every non-empty line is a JSON value (`logs is json`); a body
/// is JSON when it parses as a whole.
pub fn is_json(text: &str) -> bool {
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return true;
    }
    let mut any = false;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        any = true;
        if serde_json::from_str::<serde_json::Value>(line).is_err() {
            return false;
        }
    }
    any
}

/// Judges an observation. `Err` is a problem evaluating (an unset host
/// variable), not a failed expectation.
pub fn holds(a: &Actual, op: PredicateOp, v: Option<&Val>) -> Result<bool, String> {
    if *a == Actual::Unlimited {
        return Err("there is no limit: it is unlimited".into());
    }
    Ok(match op {
        PredicateOp::Compare(c) => {
            let v = v.ok_or("a comparison needs a value")?;
            match c {
                CmpOp::Eq => equals(a, v)?,
                CmpOp::Ne => !equals(a, v)?,
                _ => {
                    let (Some(x), Some(y)) = (actual_f64(a), expected_f64(v)) else {
                        return Ok(false);
                    };
                    match c {
                        CmpOp::Lt => x < y,
                        CmpOp::Le => x <= y,
                        CmpOp::Gt => x > y,
                        CmpOp::Ge => x >= y,
                        CmpOp::Eq | CmpOp::Ne => unreachable!("handled above"),
                    }
                }
            }
        }
        PredicateOp::In => match v {
            Some(Val::Range(lo, hi)) => match (actual_f64(a), expected_f64(lo), expected_f64(hi)) {
                (Some(x), Some(l), Some(h)) => l <= x && x <= h,
                _ => false,
            },
            Some(Val::List(items)) => {
                for i in items {
                    if equals(a, i)? {
                        return Ok(true);
                    }
                }
                false
            }
            _ => false,
        },
        PredicateOp::Matches | PredicateOp::NotMatches => {
            let Some(Val::Regex(r)) = v else {
                return Err("`matches` needs a regex".into());
            };
            let re = regex::Regex::new(r).map_err(|e| e.to_string())?;
            let text = match a {
                Actual::Text(t) => t.clone(),
                Actual::Json(serde_json::Value::String(s)) => s.clone(),
                other => other.to_string(),
            };
            re.is_match(&text) == (op == PredicateOp::Matches)
        }
        PredicateOp::Contains | PredicateOp::NotContains => {
            let v = v.ok_or("`contains` needs a value")?;
            if let Val::Regex(r) = v {
                let re = regex::Regex::new(r).map_err(|e| e.to_string())?;
                let found = match a {
                    Actual::List(items) => items.iter().any(|i| re.is_match(i)),
                    Actual::Json(serde_json::Value::Array(items)) => items
                        .iter()
                        .any(|i| matches!(i, serde_json::Value::String(s) if re.is_match(s))),
                    Actual::Json(serde_json::Value::Object(o)) => o.keys().any(|k| re.is_match(k)),
                    Actual::Json(serde_json::Value::String(s)) => re.is_match(s),
                    _ => false,
                };
                return Ok(found == (op == PredicateOp::Contains));
            }
            let found = match (a, v) {
                (Actual::Text(t), Val::Text(s)) => t.contains(&resolve_text(s)?),
                (Actual::List(items), Val::Text(s)) => {
                    let s = resolve_text(s)?;
                    items.contains(&s)
                }
                (Actual::Json(serde_json::Value::Array(items)), v) => {
                    let mut any = false;
                    for i in items {
                        any |= json_subset(i, v)?;
                    }
                    any
                }
                (Actual::Json(j @ serde_json::Value::Object(_)), v @ Val::Object(_)) => {
                    json_subset(j, v)?
                }
                (Actual::Json(serde_json::Value::String(s)), Val::Text(t)) => {
                    s.contains(&resolve_text(t)?)
                }
                (Actual::Json(serde_json::Value::Object(o)), Val::Text(t)) => {
                    o.contains_key(&resolve_text(t)?)
                }
                _ => false,
            };
            found == (op == PredicateOp::Contains)
        }
        PredicateOp::IsEmpty => is_empty(a),
        PredicateOp::IsNotEmpty => !is_empty(a),
        PredicateOp::IsJson | PredicateOp::IsNotJson => {
            let text = match a {
                Actual::Text(t) => t.as_str(),
                _ => return Ok(false),
            };
            is_json(text) == (op == PredicateOp::IsJson)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str, bytes: u64) -> Val {
        Val::Size {
            bytes,
            text: text.into(),
        }
    }

    #[test]
    fn sizes_compare_by_bytes() {
        let a = Actual::Size(3_440_000);
        assert!(
            holds(
                &a,
                PredicateOp::Compare(CmpOp::Lt),
                Some(&size("200MB", 200_000_000))
            )
            .unwrap()
        );
        assert!(
            !holds(
                &a,
                PredicateOp::Compare(CmpOp::Lt),
                Some(&size("3MB", 3_000_000))
            )
            .unwrap()
        );
        let r = Val::Range(
            Box::new(size("1MB", 1_000_000)),
            Box::new(size("5MB", 5_000_000)),
        );
        assert!(holds(&a, PredicateOp::In, Some(&r)).unwrap());
    }

    #[test]
    fn text_list_and_json() {
        let t = Actual::Text("appuser".into());
        assert!(
            holds(
                &t,
                PredicateOp::Compare(CmpOp::Eq),
                Some(&Val::Text(Text::lit("appuser")))
            )
            .unwrap()
        );
        assert!(holds(&t, PredicateOp::Matches, Some(&Val::Regex("^app".into()))).unwrap());
        let l = Actual::List(vec!["8000/tcp".into()]);
        assert!(
            holds(
                &l,
                PredicateOp::Contains,
                Some(&Val::Text(Text::lit("8000/tcp")))
            )
            .unwrap()
        );
        assert!(holds(&Actual::List(vec![]), PredicateOp::IsEmpty, None).unwrap());
        // `contains /re/`: some element matches; `not contains /re/`: none does.
        let history = Actual::List(vec![
            "/bin/sh -c #(nop) COPY dir:1 in /app".into(),
            "/bin/sh -c pip install --no-cache-dir -r requirements.txt".into(),
        ]);
        let re = |r: &str| Val::Regex(r.into());
        let pip = re(r"pip install .*--no-cache-dir");
        assert!(holds(&history, PredicateOp::Contains, Some(&pip)).unwrap());
        assert!(!holds(&history, PredicateOp::NotContains, Some(&pip)).unwrap());
        assert!(!holds(&history, PredicateOp::Contains, Some(&re("apt-get"))).unwrap());
        assert!(holds(&history, PredicateOp::NotContains, Some(&re("apt-get"))).unwrap());
        assert!(!holds(&Actual::List(vec![]), PredicateOp::Contains, Some(&re(""))).unwrap());
        // JSON literals: `==` is structural, `contains` a recursive subset.
        let obj = |members: Vec<(&str, Val)>| {
            Val::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            )
        };
        let text = |s: &str| Val::Text(Text::lit(s));
        let body = Actual::Json(serde_json::json!({
            "status": "ok", "checks": [1, 2], "db": {"up": true, "ms": 3}, "none": null
        }));
        let eq = PredicateOp::Compare(CmpOp::Eq);
        let whole = obj(vec![
            ("status", text("ok")),
            ("checks", Val::List(vec![Val::Int(1), Val::Int(2)])),
            (
                "db",
                obj(vec![("up", Val::Bool(true)), ("ms", Val::Int(3))]),
            ),
            ("none", Val::Null),
        ]);
        assert!(holds(&body, eq, Some(&whole)).unwrap());
        let part = obj(vec![("status", text("ok"))]);
        assert!(!holds(&body, eq, Some(&part)).unwrap());
        assert!(holds(&body, PredicateOp::Contains, Some(&part)).unwrap());
        let nested = obj(vec![("db", obj(vec![("up", Val::Bool(true))]))]);
        assert!(holds(&body, PredicateOp::Contains, Some(&nested)).unwrap());
        let wrong = obj(vec![("db", obj(vec![("up", Val::Bool(false))]))]);
        assert!(!holds(&body, PredicateOp::Contains, Some(&wrong)).unwrap());
        // Arrays inside compare equal, order included.
        let reordered = obj(vec![("checks", Val::List(vec![Val::Int(2), Val::Int(1)]))]);
        assert!(!holds(&body, PredicateOp::Contains, Some(&reordered)).unwrap());
        let missing = obj(vec![("absent", Val::Null)]);
        assert!(!holds(&body, PredicateOp::Contains, Some(&missing)).unwrap());
        let items = Actual::Json(serde_json::json!([{"id": 1, "n": "a"}, {"id": 2, "n": "b"}]));
        let some = obj(vec![("id", Val::Int(2))]);
        assert!(holds(&items, PredicateOp::Contains, Some(&some)).unwrap());
        let j = Actual::Json(serde_json::json!(["a-1", "b-2"]));
        assert!(holds(&j, PredicateOp::Contains, Some(&re("^b-"))).unwrap());
        assert!(!holds(&j, PredicateOp::Contains, Some(&re("^c-"))).unwrap());
        let j = Actual::Json(serde_json::json!(3));
        assert!(holds(&j, PredicateOp::Compare(CmpOp::Gt), Some(&Val::Int(2))).unwrap());
        assert!(is_json("{\"a\":1}\n{\"b\":2}\n"));
        assert!(!is_json("{\"a\":1}\nERROR x\n"));
    }

    #[test]
    fn formats_in_the_authors_units() {
        assert_eq!(format_size(3_440_000, false), "3.44MB");
        assert_eq!(format_size(268_435_456, true), "256MiB");
        assert_eq!(format_size(512, false), "512B");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(Actual::Mode(0o755).to_string(), "0o755");
    }
}
