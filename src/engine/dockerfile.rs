//! What a Dockerfile builds FROM: checked before a build, so that a base
//! image missing from the engine fails fast instead of starting a pull.

use std::collections::HashMap;

/// Base images a Dockerfile names (not `scratch`, not earlier stages),
/// with their 1-based line, after `ARG` substitution. References that
/// still hold an unknown variable are left out.
pub fn base_images(text: &str, build_args: &[(String, String)]) -> Vec<(String, usize)> {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut stages: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut seen_from = false;
    let mut logical = String::new();
    let mut start_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if logical.is_empty() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            start_line = i + 1;
        }
        if let Some(body) = line.strip_suffix('\\') {
            logical.push_str(body);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let instr = std::mem::take(&mut logical);
        let mut words = instr.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        match keyword.to_ascii_uppercase().as_str() {
            "ARG" if !seen_from => {
                for w in words {
                    let (k, v) = w.split_once('=').unwrap_or((w, ""));
                    let v = build_args
                        .iter()
                        .find(|(bk, _)| bk == k)
                        .map(|(_, bv)| bv.clone())
                        .unwrap_or_else(|| v.trim_matches('"').to_string());
                    args.insert(k.to_string(), v);
                }
            }
            "FROM" => {
                seen_from = true;
                let rest: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
                let Some(reference) = rest.first() else {
                    continue;
                };
                let Some(reference) = substitute(reference, &args) else {
                    continue;
                };
                if rest.len() >= 3 && rest[1].eq_ignore_ascii_case("as") {
                    stages.push(rest[2].to_ascii_lowercase());
                }
                let lower = reference.to_ascii_lowercase();
                if lower != "scratch"
                    && !stages[..stages.len().saturating_sub(usize::from(rest.len() >= 3))]
                        .contains(&lower)
                {
                    out.push((reference, start_line));
                }
            }
            _ => {}
        }
    }
    out
}

/// `$X` and `${X}` replaced; None when a variable is unknown or empty.
fn substitute(s: &str, args: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        if braced {
            // `${X:-default}` and friends: not resolved here.
            if chars.next() != Some('}') {
                return None;
            }
        }
        match args.get(&name) {
            Some(v) if !v.is_empty() => out.push_str(v),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::base_images;

    #[test]
    fn finds_base_images_but_not_stages_or_scratch() {
        let df = "# comment\nARG BASE=python:3.12\nFROM ${BASE} AS build\nRUN x \\\n  y\nFROM scratch AS base\nFROM build AS test\nFROM --platform=linux/amd64 debian:12\nFROM $UNKNOWN\n";
        assert_eq!(
            base_images(df, &[]),
            vec![("python:3.12".to_string(), 3), ("debian:12".to_string(), 8)]
        );
        assert_eq!(
            base_images(df, &[("BASE".into(), "alpine:3".into())])[0].0,
            "alpine:3"
        );
        assert!(base_images("FROM scratch\nCOPY a /a\n", &[]).is_empty());
    }
}
