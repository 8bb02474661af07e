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

/// The unit family a value should have, where the context tells (`expect app.size < 30d`: a
/// size; `within 30x`: a duration): an unknown unit is then answered with units of that family
/// only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitFamily {
    Size,
    Duration,
}

/// Parses a `quantity` token: `42`, `0.5`, `0o755`, `200MB`, `30s`, `10%`.
pub fn quantity(text: &str, span: Span) -> Result<Literal, Diagnostic> {
    quantity_for(text, span, None)
}

/// Spellings people write for units, with the unit dspec takes and a factor for the number
/// (`30d` is `720h`). Matched without regard to case.
const UNIT_ALIASES: &[(&str, &str, f64, UnitFamily)] = &[
    ("sec", "s", 1.0, UnitFamily::Duration),
    ("secs", "s", 1.0, UnitFamily::Duration),
    ("second", "s", 1.0, UnitFamily::Duration),
    ("seconds", "s", 1.0, UnitFamily::Duration),
    ("min", "m", 1.0, UnitFamily::Duration),
    ("mins", "m", 1.0, UnitFamily::Duration),
    ("minute", "m", 1.0, UnitFamily::Duration),
    ("minutes", "m", 1.0, UnitFamily::Duration),
    ("hr", "h", 1.0, UnitFamily::Duration),
    ("hrs", "h", 1.0, UnitFamily::Duration),
    ("hour", "h", 1.0, UnitFamily::Duration),
    ("hours", "h", 1.0, UnitFamily::Duration),
    ("msec", "ms", 1.0, UnitFamily::Duration),
    ("msecs", "ms", 1.0, UnitFamily::Duration),
    ("millisecond", "ms", 1.0, UnitFamily::Duration),
    ("milliseconds", "ms", 1.0, UnitFamily::Duration),
    ("d", "h", 24.0, UnitFamily::Duration),
    ("day", "h", 24.0, UnitFamily::Duration),
    ("days", "h", 24.0, UnitFamily::Duration),
    ("w", "h", 168.0, UnitFamily::Duration),
    ("week", "h", 168.0, UnitFamily::Duration),
    ("weeks", "h", 168.0, UnitFamily::Duration),
    ("byte", "B", 1.0, UnitFamily::Size),
    ("bytes", "B", 1.0, UnitFamily::Size),
    ("k", "KB", 1.0, UnitFamily::Size),
    ("kib", "KiB", 1.0, UnitFamily::Size),
    ("kb", "KB", 1.0, UnitFamily::Size),
    ("mb", "MB", 1.0, UnitFamily::Size),
    ("mib", "MiB", 1.0, UnitFamily::Size),
    ("gb", "GB", 1.0, UnitFamily::Size),
    ("gib", "GiB", 1.0, UnitFamily::Size),
    ("tb", "TB", 1.0, UnitFamily::Size),
    ("tib", "TiB", 1.0, UnitFamily::Size),
    ("g", "GB", 1.0, UnitFamily::Size),
    ("t", "TB", 1.0, UnitFamily::Size),
];

/// The units of a family, for "did you mean" and lists.
fn family_units(family: Option<UnitFamily>) -> Vec<&'static str> {
    match family {
        Some(UnitFamily::Size) => SizeUnit::ALL.iter().map(|(s, _)| *s).collect(),
        Some(UnitFamily::Duration) => DURATION_UNITS.iter().map(|(s, _)| *s).collect(),
        None => all_units(),
    }
}

/// `30 seconds` → "`30s`", `256M` → "`256MB` (powers of 1000; ...)": the unit people meant,
/// of `family` when given.
pub fn alias_fix(num: &str, unit: &str, family: Option<UnitFamily>) -> Option<String> {
    let lower = unit.to_ascii_lowercase();
    // `M`: megabytes (`256M`, as `docker run -m` takes); `m` too where a size is expected.
    let mega = (lower == "m" && (unit == "M" || family == Some(UnitFamily::Size))).then_some((
        "MB",
        1.0,
        UnitFamily::Size,
    ));
    let exact = SizeUnit::ALL
        .iter()
        .map(|(u, _)| (*u, 1.0, UnitFamily::Size))
        .chain(
            DURATION_UNITS
                .iter()
                .map(|(u, _)| (*u, 1.0, UnitFamily::Duration)),
        )
        .find(|(u, _, f)| *u == unit && family.is_none_or(|want| want == *f));
    let (u, factor, f) = mega.or(exact).or_else(|| {
        UNIT_ALIASES
            .iter()
            .find(|(a, _, _, f)| *a == lower && family.is_none_or(|want| want == *f))
            .map(|(_, u, k, f)| (*u, *k, *f))
    })?;
    let n = if factor == 1.0 {
        num.to_string()
    } else {
        num.parse::<f64>()
            .map(|x| trim_float(x * factor))
            .unwrap_or_else(|_| num.to_string())
    };
    let binary = match (f, u) {
        (UnitFamily::Size, "KB" | "MB" | "GB" | "TB") => {
            format!(" (powers of 1000; `{n}{}iB` for powers of 1024)", &u[..1])
        }
        _ => String::new(),
    };
    Some(format!("`{n}{u}`{binary}"))
}

/// What to write instead of `NUM UNIT` when the unit is unknown: only units of `family` when
/// the context gives one (a size is never offered `30B` for `30d`).
pub fn unit_help(num: &str, unit: &str, family: Option<UnitFamily>) -> String {
    if let Some(fix) = alias_fix(num, unit, family) {
        return format!("did you mean {fix}?");
    }
    // One letter is too little to guess from: `30d` is not `30B`.
    let close = (unit.len() > 1)
        .then(|| suggest::closest(unit, family_units(family)))
        .flatten();
    match close {
        Some(u) => format!("did you mean `{num}{u}`?"),
        None => match family {
            Some(UnitFamily::Size) => {
                "a size takes B, kB, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)".into()
            }
            Some(UnitFamily::Duration) => "a duration takes ms, s, m or h".into(),
            None => "sizes take B, kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB; durations take ms, s, m, h; percentages take %".into(),
        },
    }
}

/// [`quantity`], knowing the unit family the context expects.
pub fn quantity_for(
    text: &str,
    span: Span,
    family: Option<UnitFamily>,
) -> Result<Literal, Diagnostic> {
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
    bad(
        format!("unknown unit `{unit}` in `{text}`"),
        unit_help(num, unit, family),
    )
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
