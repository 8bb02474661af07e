//! `dspec explain CODE`: the long explanation of a diagnostic code, with a
//! wrong and a right example. The text is the book's diagnostics reference,
//! so the two cannot drift apart.

use crate::diag::Code;

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

/// Runs `dspec explain`; returns the exit code.
pub fn explain(code: &str) -> i32 {
    let Some(c) = Code::parse(code) else {
        let all: Vec<String> = Code::ALL
            .iter()
            .map(|c| format!("{c} {}", c.summary()))
            .collect();
        eprintln!(
            "error: `{code}` is not a dspec diagnostic code; the codes are:\n  {}",
            all.join("\n  ")
        );
        return crate::exit_code::INVALID;
    };
    match section(c) {
        Some(text) => {
            crate::cli::out(&format!("{}\n", text.trim_start_matches("## ")));
            crate::exit_code::OK
        }
        None => {
            eprintln!("error: no explanation for {c} yet");
            crate::exit_code::INVALID
        }
    }
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
            if c.number() < 400 {
                assert!(s.contains("```text"), "{c}: no wrong example");
            }
        }
    }
}
