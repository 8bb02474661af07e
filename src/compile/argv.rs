//! Splits a command string into argv with POSIX shell quoting, without
//! running a shell: `sh -c 'echo x'` → `["sh", "-c", "echo x"]`.

/// Splits `text`; an unterminated quote is an error.
/// The argv a command value gives: a string split like a shell (quotes group, no shell
/// runs), or a list taken word for word.
pub fn of(v: &super::value::Val) -> Option<Vec<String>> {
    use super::value::Val;
    match v {
        Val::Text(t) => split(&t.to_string()).ok(),
        Val::List(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    Val::Text(t) => t.to_string(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        _ => None,
    }
}

pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("a single quote (') is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("a double quote (\") is not closed".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("a double quote (\") is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("the command ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(split("whoami").unwrap(), ["whoami"]);
        assert_eq!(
            split("sh -c 'echo x > /data/f'").unwrap(),
            ["sh", "-c", "echo x > /data/f"]
        );
        assert_eq!(split(r#"a "b c" d\ e"#).unwrap(), ["a", "b c", "d e"]);
        assert_eq!(split(r#""a\"b""#).unwrap(), [r#"a"b"#]);
        assert_eq!(split("''").unwrap(), [""]);
        assert!(split("echo 'x").is_err());
        assert!(split("  ").unwrap().is_empty());
    }
}
