//! GitHub Actions workflow commands: one `::error` line per expectation
//! that did not pass (and per subject that could not be set up), so that
//! the failure shows on the spec line in a pull request's diff.
//!
//! ```text
//! ::error file=specs/proxy.dspec,line=22,col=3,title=DS0401 expectation failed in AC2::expect prod.size < 200MB%0Aexpected: < 200MB (200000000 B)%0Aactual: 231.4MB (231400112 B)
//! ```
//!
//! Paths are written as the spec files were named; run dspec from the
//! repository root (or name the specs relative to it) for GitHub to match
//! them to files.

use std::fmt::Write;

use super::facts::{self, Item};
use super::{Outcome, RunReport};
use crate::source::SourceMap;

/// The annotation lines, each ending in a newline; empty when everything
/// passed.
pub fn annotations(run: &RunReport) -> String {
    let RunReport {
        program,
        sources,
        results,
        setup,
        ..
    } = *run;
    let mut out = String::new();
    for s in setup {
        let f = facts::setup(program, sources, s);
        let mut message = s.message.clone();
        let tail = s.output.len().saturating_sub(20);
        for line in &s.output[tail..] {
            message.push('\n');
            message.push_str(line);
        }
        let title = format!("{} {}", f.code, f.title);
        let file = f.file.map(|f| f.path.as_str());
        line(&mut out, file, f.line, f.column, &title, &message);
    }
    for g in facts::groups(program, results, setup) {
        for item in g.items.iter().filter(|i| !i.result.outcome.passed()) {
            let (l, c) = (
                Some(item.check.line as usize),
                Some(item.check.column as usize),
            );
            line(
                &mut out,
                Some(item.path()),
                l,
                c,
                &item.title(),
                &message(item, sources),
            );
        }
    }
    out
}

/// What the annotation says: the expectation, then expected and actual.
fn message(item: &Item<'_>, sources: &SourceMap) -> String {
    let mut m = item.check.text.clone();
    match &item.result.outcome {
        Outcome::Failed { message, .. } => {
            if let Some(e) = item.expected_text() {
                let _ = write!(m, "\nexpected: {e}");
            }
            if let Some(a) = item.actual_text() {
                let _ = write!(m, "\nactual: {}", facts::clip(&a, 500));
            }
            if !message.is_empty() {
                let _ = write!(m, "\n{message}");
            }
        }
        Outcome::Errored { .. } | Outcome::Skipped { .. } => {
            if let Some(s) = item.summary_line(sources) {
                let _ = write!(m, "\n{s}");
            }
        }
        Outcome::Passed { .. } => {}
    }
    m
}

fn line(
    out: &mut String,
    file: Option<&str>,
    line: Option<usize>,
    col: Option<usize>,
    title: &str,
    message: &str,
) {
    command(out, "error", file, line, col, title, message);
}

/// One workflow command: `::LEVEL file=..,line=..,col=..,title=..::message`
/// (`LEVEL` is `error`, `warning` or `notice`). Also used by `validate`.
pub(crate) fn command(
    out: &mut String,
    level: &str,
    file: Option<&str>,
    line: Option<usize>,
    col: Option<usize>,
    title: &str,
    message: &str,
) {
    out.push_str("::");
    out.push_str(level);
    out.push(' ');
    let mut props = Vec::new();
    if let Some(f) = file {
        props.push(format!(
            "file={}",
            property(f.strip_prefix("./").unwrap_or(f))
        ));
    }
    if let Some(l) = line {
        props.push(format!("line={l}"));
    }
    if let Some(c) = col {
        props.push(format!("col={c}"));
    }
    props.push(format!("title={}", property(title)));
    out.push_str(&props.join(","));
    out.push_str("::");
    out.push_str(&data(message));
    out.push('\n');
}

/// A command's message: `%`, CR and LF escaped.
fn data(s: &str) -> String {
    let mut out = String::new();
    for c in facts::clean(s).trim_end().chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// A property value: also `:` and `,`.
fn property(s: &str) -> String {
    let mut out = String::new();
    for c in facts::clean(s).chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(data("50% done\r\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a:b,c%\nd"), "a%3Ab%2Cc%25%0Ad");
    }
}
