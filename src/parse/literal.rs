//! Checks and converts literal text the grammar accepts leniently: numbers
//! with units, string escapes and regexes.

use std::time::Duration;

use crate::ast::{DurationLit, Literal, SizeLit, SizeUnit};
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::Span;

const DURATION_UNITS: &[(&str, f64)] = &[("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];

fn all_units() -> Vec<&'static str> {
    let mut units: Vec<&str> = SizeUnit::ALL.iter().map(|(s, _)| *s).collect();
    units.extend(DURATION_UNITS.iter().map(|(s, _)| *s));
    units
}

/// Parses a `quantity` token: `42`, `0.5`, `0o755`, `200MB`, `30s`, `10%`.
pub fn quantity(text: &str, span: Span) -> Result<Literal, Diagnostic> {
    let bad = |title: String, help: String| {
        Err(Diagnostic::error(Code::BadNumber, span, title)
            .label("here")
            .help(help))
    };
    if let Some(rest) = text.strip_prefix("0o") {
        return match u32::from_str_radix(rest, 8) {
            Ok(m) if m <= 0o7777 => Ok(Literal::Octal(m)),
            Ok(_) => bad(
                format!("`{text}` is too large for a file mode"),
                "file modes go up to `0o7777`".into(),
            ),
            Err(_) => bad(
                format!("`{text}` is not an octal number"),
                "octal digits are 0 to 7, as in `0o755`".into(),
            ),
        };
    }
    if text.starts_with("0x") || text.starts_with("0b") {
        return bad(
            format!("`{text}`: only decimal and octal numbers are supported"),
            "write the number in decimal, or a mode in octal like `0o755`".into(),
        );
    }
    let num_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(num_end);
    let int_part = num.split('.').next().unwrap_or("");
    if int_part.len() > 1 && int_part.starts_with('0') {
        let help = if unit.is_empty() && !num.contains('.') && num.bytes().all(|b| b < b'8') {
            format!(
                "a mode is written in octal: `0o{}`",
                num.trim_start_matches('0')
            )
        } else {
            format!("write `{}{unit}`", num.trim_start_matches('0'))
        };
        return bad(format!("`{text}` has a leading zero"), help);
    }
    let value: f64 = match num.parse() {
        Ok(v) => v,
        Err(_) => {
            return bad(
                format!("`{text}` is not a number"),
                "write a number like `42` or `0.5`".into(),
            );
        }
    };
    if unit.is_empty() {
        if num.contains('.') {
            return Ok(Literal::Float(value));
        }
        return match num.parse::<u64>() {
            Ok(n) => Ok(Literal::Int(n)),
            Err(_) => bad(
                format!("`{text}` is too large"),
                "numbers go up to 18446744073709551615".into(),
            ),
        };
    }
    if unit == "%" {
        return Ok(Literal::Percent(value));
    }
    if let Some((_, u)) = SizeUnit::ALL.iter().find(|(s, _)| *s == unit) {
        let bytes = value * u.bytes() as f64;
        if bytes > u64::MAX as f64 {
            return bad(
                format!("`{text}` is too large"),
                "sizes go up to about 18EB".into(),
            );
        }
        return Ok(Literal::Size(SizeLit {
            bytes: bytes.round() as u64,
            text: text.to_string(),
            unit: *u,
        }));
    }
    if let Some((_, secs)) = DURATION_UNITS.iter().find(|(s, _)| *s == unit) {
        let total = value * secs;
        if total > 1e12 {
            return bad(
                format!("`{text}` is too long"),
                "durations go up to about 31,000 years".into(),
            );
        }
        return Ok(Literal::Duration(DurationLit {
            duration: Duration::from_secs_f64(total),
            text: text.to_string(),
        }));
    }
    if unit.chars().any(|c| c.is_ascii_digit()) {
        let help = match compound_seconds(text) {
            Some(secs) => format!("write one unit: `{}s`", trim_float(secs)),
            None => "write one number and one unit, like `90s`".into(),
        };
        return bad(
            format!("`{text}`: compound durations are not supported"),
            help,
        );
    }
    let help = match suggest::closest(unit, all_units()) {
        Some(u) => format!("did you mean `{num}{u}`?"),
        None => "sizes take B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB; durations take ms, s, m, h; percentages take %"
            .to_string(),
    };
    bad(format!("unknown unit `{unit}` in `{text}`"), help)
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `1m30s` → 90.0, when every piece is a number with a duration unit.
fn compound_seconds(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if n_end == 0 {
            return None;
        }
        let (n, tail) = rest.split_at(n_end);
        let u_end = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (u, next) = tail.split_at(u_end);
        let secs = DURATION_UNITS.iter().find(|(s, _)| *s == u)?.1;
        total += n.parse::<f64>().ok()? * secs;
        rest = next;
    }
    Some(total)
}

/// The meaning of a string escape, or an error for an unknown one.
pub fn escape(text: &str, span: Span) -> Result<char, Diagnostic> {
    match text {
        "\\\"" => Ok('"'),
        "\\\\" => Ok('\\'),
        "\\n" => Ok('\n'),
        "\\t" => Ok('\t'),
        "\\$" => Ok('$'),
        _ => Err(Diagnostic::error(
            Code::BadEscape,
            span,
            format!("unknown escape `{text}` in a string"),
        )
        .label("not an escape dspec knows")
        .help("strings know `\\\"`, `\\\\`, `\\n`, `\\t` and `\\$`; write `\\\\` for a backslash")),
    }
}

/// Checks a regex body (between the slashes) and unescapes `\/`.
pub fn regex(body: &str, flags: &str, span: Span) -> Result<String, Diagnostic> {
    if !flags.is_empty() {
        return Err(Diagnostic::error(
            Code::BadRegex,
            span,
            format!("regexes take no trailing flags (`{flags}`)"),
        )
        .label("flags are not supported here")
        .help(format!(
            "put flags inside the regex: `/(?{flags}){}/`",
            body
        )));
    }
    let source = body.replace("\\/", "/");
    // Specs repeat their regexes: check each distinct one once.
    thread_local! {
        static VALID: std::cell::RefCell<std::collections::HashSet<String>> = Default::default();
    }
    if VALID.with(|v| v.borrow().contains(&source)) {
        return Ok(source);
    }
    if let Err(e) = regex::Regex::new(&source) {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or("").trim().to_string();
        return Err(Diagnostic::error(Code::BadRegex, span, "invalid regex")
            .label(last)
            .help("dspec regexes use Rust `regex` syntax; escape a literal `/` as `\\/`"));
    }
    VALID.with(|v| v.borrow_mut().insert(source.clone()));
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn q(text: &str) -> Result<Literal, String> {
        quantity(text, Span::new(FileId(0), 0, text.len()))
            .map_err(|d| format!("{} / {}", d.title, d.help.unwrap_or_default()))
    }

    #[test]
    fn sizes_in_both_families() {
        match q("200MB").unwrap() {
            Literal::Size(s) => assert_eq!(s.bytes, 200_000_000),
            other => panic!("{other:?}"),
        }
        match q("1.5GiB").unwrap() {
            Literal::Size(s) => assert_eq!(s.bytes, 1_610_612_736),
            other => panic!("{other:?}"),
        }
        match q("1kB").unwrap() {
            Literal::Size(s) => assert_eq!(s.bytes, 1000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn durations_and_others() {
        match q("1.5s").unwrap() {
            Literal::Duration(d) => assert_eq!(d.duration, Duration::from_millis(1500)),
            other => panic!("{other:?}"),
        }
        assert_eq!(q("0o755").unwrap(), Literal::Octal(0o755));
        assert_eq!(q("10%").unwrap(), Literal::Percent(10.0));
        assert_eq!(q("42").unwrap(), Literal::Int(42));
        assert_eq!(q("0").unwrap(), Literal::Int(0));
        assert_eq!(q("0.5").unwrap(), Literal::Float(0.5));
    }

    #[test]
    fn mistakes_get_help() {
        assert!(q("0755").unwrap_err().contains("`0o755`"));
        assert!(q("1m30s").unwrap_err().contains("`90s`"));
        assert!(q("200Mb").unwrap_err().contains("did you mean `200MB`"));
        assert!(q("0o9").is_err());
        assert!(q("99999999999999999999").is_err());
    }
}
