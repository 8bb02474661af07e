//! `dspec explain CODE`: the long explanation of a diagnostic code, with a
//! wrong and a right example. The text is the book's diagnostics reference,
//! so the two cannot drift apart.

use crate::diag::{Code, ColorChoice};
use crate::output::{self, Stream, errln, out};

/// The book's diagnostics reference, compiled in.
const REFERENCE: &str = include_str!("../book/src/reference/diagnostics.md");

/// The reference section of a code: from its `## DSxxxx` heading to the next.
pub fn section(code: Code) -> Option<&'static str> {
    let heading = format!("## {code} ");
    let start = REFERENCE.find(&heading)?;
    let rest = &REFERENCE[start..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    Some(rest[..end].trim_end())
}

/// Runs `dspec explain`; returns the exit code. On a terminal the Markdown
/// is shown as text (code blocks indented, no fences); into a pipe or a file
/// it stays Markdown.
pub fn explain(code: &str, color: ColorChoice) -> i32 {
    let Some(c) = Code::parse(code) else {
        errln!(
            "error: `{code}` is not a dspec diagnostic code; the codes are:\n  {}",
            codes().join("\n  ")
        );
        return crate::exit_code::INVALID;
    };
    match section(c) {
        Some(text) => {
            let text = text.trim_start_matches("## ");
            if Stream::Stdout.is_terminal() {
                out(&for_terminal(text, output::color(color, Stream::Stdout)));
            } else {
                out(&format!("{text}\n"));
            }
            crate::exit_code::OK
        }
        None => {
            errln!("error: no explanation for {c} yet");
            crate::exit_code::INVALID
        }
    }
}

/// `dspec explain --list`: every code and its summary, one a line.
pub fn list() -> i32 {
    out(&format!("{}\n", codes().join("\n")));
    crate::exit_code::OK
}

fn codes() -> Vec<String> {
    Code::ALL
        .iter()
        .map(|c| format!("{c}  {}", c.summary()))
        .collect()
}

/// A section as terminal text: the title in bold (with colour), fenced code
/// indented by four spaces with its fences dropped.
pub fn for_terminal(markdown: &str, color: bool) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for (i, line) in markdown.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str("    ");
            out.push_str(line);
        } else if i == 0 && color {
            out.push_str(&format!("\x1b[1m{line}\x1b[0m"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_explained_with_examples() {
        for c in Code::ALL {
            let s = section(*c).unwrap_or_else(|| {
                panic!("{c} has no section in book/src/reference/diagnostics.md")
            });
            assert!(s.len() > 80, "{c}: too short");
            let shown = for_terminal(s, false);
            assert!(!shown.contains("```"), "{c}: {shown}");
            if c.number() < 400 {
                assert!(s.contains("```text"), "{c}: no wrong example");
            }
        }
    }
}
