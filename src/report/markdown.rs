//! The Markdown acceptance report: what a QA reviewer pastes into a story,
//! and what a CI job can append to `$GITHUB_STEP_SUMMARY`.
//!
//! Per story: a heading, a `| Criterion | Title | Result |` table (a
//! criterion passes only when every one of its expectations passed), then
//! the failed expectations with expected and actual values and the spec
//! location. The run facts close the report.

use std::fmt::Write;

use super::facts::{self, Group, Item};
use super::{CheckResult, Outcome, RunMeta, SetupFailure, Summary};
use crate::actual::format_duration;
use crate::compile::{CriterionInfo, Program};
use crate::source::SourceMap;

const PASS: &str = "✅";
const FAIL: &str = "❌";

/// Renders the whole report as GitHub-flavoured Markdown.
pub fn render(
    program: &Program,
    sources: &SourceMap,
    results: &[CheckResult],
    setup: &[SetupFailure],
    meta: &RunMeta,
) -> String {
    let groups = facts::groups(program, results, setup);
    let summary = Summary::from_results(results, setup);
    let total: usize = groups.iter().map(|g| g.items.len()).sum();
    let accepted =
        summary.failed + summary.errored + summary.skipped == 0 && setup.is_empty() && total > 0;
    let mut out = String::from("# Acceptance report\n\n");
    let _ = writeln!(
        out,
        "**{} {}** — {}\n",
        if accepted { PASS } else { FAIL },
        if accepted { "Accepted" } else { "Not accepted" },
        counts(&summary, total)
    );
    for g in &groups {
        story(&mut out, g, program, sources);
    }
    if groups.is_empty() {
        out.push_str("No expectation was run.\n\n");
    }
    run_facts(&mut out, meta, &summary, total);
    out
}

fn counts(s: &Summary, total: usize) -> String {
    format!(
        "{total} expectation{}: {} passed, {} failed, {} errored, {} not run",
        if total == 1 { "" } else { "s" },
        s.passed,
        s.failed,
        s.errored,
        s.skipped
    )
}

/// One criterion's line in a story's table.
struct Row<'g, 'a> {
    criterion: Option<&'a CriterionInfo>,
    items: Vec<&'g Item<'a>>,
}

fn story(out: &mut String, g: &Group<'_>, program: &Program, sources: &SourceMap) {
    match g.story {
        Some(st) => {
            let _ = write!(out, "## Story {}", text(&st.id));
            if let Some(t) = &st.title {
                let _ = write!(out, " — {}", text(t));
            }
            out.push_str("\n\n");
            let paths: Vec<String> = g.paths(program).iter().map(|p| code(p)).collect();
            let _ = writeln!(out, "Spec: {}\n", paths.join(", "));
        }
        None => {
            let _ = writeln!(out, "## {}\n", code(&g.name));
        }
    }

    // Criteria in the order they are first met.
    let mut rows: Vec<Row<'_, '_>> = Vec::new();
    for item in &g.items {
        let criterion = item.criterion();
        let id = criterion.map(|c| c.id.as_str());
        match rows
            .iter_mut()
            .find(|r| r.criterion.map(|c| c.id.as_str()) == id)
        {
            Some(row) => row.items.push(item),
            None => rows.push(Row {
                criterion,
                items: vec![item],
            }),
        }
    }
    out.push_str("| Criterion | Title | Result |\n| --- | --- | --- |\n");
    for Row { criterion, items } in &rows {
        let (id, title) = match criterion {
            Some(c) => (
                text(&c.id),
                c.title.as_deref().map(text).unwrap_or_default(),
            ),
            None => ("—".to_string(), "(outside any criterion)".to_string()),
        };
        let passed = items.iter().filter(|i| i.result.outcome.passed()).count();
        let failed = items
            .iter()
            .filter(|i| {
                matches!(
                    i.result.outcome,
                    Outcome::Failed { .. } | Outcome::Errored { .. }
                )
            })
            .count();
        let not_run = items.len() - passed - failed;
        let n = items.len();
        let result = if passed == n {
            format!("{PASS} {passed} of {n} passed")
        } else {
            let mut parts = Vec::new();
            if failed > 0 {
                parts.push(format!("{failed} failed"));
            }
            if not_run > 0 {
                parts.push(format!("{not_run} not run"));
            }
            format!("{FAIL} {passed} of {n} passed ({})", parts.join(", "))
        };
        let _ = writeln!(out, "| {id} | {title} | {result} |");
    }
    out.push('\n');

    let bad: Vec<&Item<'_>> = g
        .items
        .iter()
        .filter(|i| !i.result.outcome.passed())
        .collect();
    if !bad.is_empty() {
        out.push_str("### Failed expectations\n\n");
        for item in bad {
            failure(out, item, program, sources);
        }
    }
    if !g.setup.is_empty() {
        out.push_str("### Setup failures\n\n");
        for s in &g.setup {
            let f = facts::setup(program, sources, s);
            let _ = write!(out, "#### {FAIL} {} {}\n\n", f.code, prose(&f.title));
            let _ = writeln!(out, "- **Why:** {}", prose(&s.message));
            if let (Some(file), Some(line), Some(col)) = (f.file, f.line, f.column) {
                let _ = writeln!(
                    out,
                    "- **Spec:** {}",
                    code(&format!("{}:{line}:{col}", file.path))
                );
            }
            out.push('\n');
            details(out, "Diagnostic", &f.diagnostic);
        }
    }
}

fn failure(out: &mut String, item: &Item<'_>, program: &Program, sources: &SourceMap) {
    let what = match &item.result.outcome {
        Outcome::Errored { .. } => "could not be observed",
        Outcome::Skipped { .. } => "not run",
        _ => "failed",
    };
    let _ = write!(out, "#### {FAIL} ");
    if let Some(c) = item.criterion() {
        let _ = write!(out, "{}: ", text(&c.id));
    }
    let _ = write!(out, "{} {what}\n\n", code(&item.check.text));
    if let Some(e) = item.expected_text() {
        let _ = writeln!(out, "- **Expected:** {}", code(&e));
    }
    let actual = item
        .actual_text()
        .map(|a| code(&facts::clip(&facts::one_line(&a), 300)))
        .unwrap_or_else(|| "—".to_string());
    let _ = writeln!(out, "- **Actual:** {actual}");
    match &item.result.outcome {
        Outcome::Failed { message, .. } if !message.is_empty() => {
            let _ = writeln!(out, "- **Why:** {}", prose(message));
        }
        Outcome::Errored { message } => {
            let _ = writeln!(out, "- **Engine error:** {}", prose(message));
        }
        Outcome::Skipped { subject, reason } => {
            let _ = write!(out, "- **Not run:** {}", prose(reason));
            if let Some(loc) = item.subject_location(subject, sources) {
                let _ = write!(out, " (subject {} at {})", code(subject), code(&loc));
            }
            out.push('\n');
        }
        _ => {}
    }
    if let (Some(m), Some(samples)) = (&item.check.modifier, item.samples()) {
        let _ = write!(
            out,
            "- **Timing:** {} {}, {samples} sample{}",
            m.kind.word(),
            m.text,
            if samples == 1 { "" } else { "s" }
        );
        if let Some(at) = item.at_ms() {
            let _ = write!(out, ", decided at {:.1}s", at as f64 / 1000.0);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "- **Spec:** {}\n", code(&item.location()));
    if let Some(d) = item.diagnostic(program, sources)
        && !matches!(item.result.outcome, Outcome::Skipped { .. })
    {
        details(out, "Diagnostic", &d);
    }
    let evidence = item.evidence();
    if !evidence.is_empty() {
        details(out, "Evidence", &evidence.join("\n"));
    }
}

fn run_facts(out: &mut String, meta: &RunMeta, summary: &Summary, total: usize) {
    out.push_str("## Run\n\n| Fact | Value |\n| --- | --- |\n");
    let mut row = |name: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(out, "| {name} | {value} |");
        }
    };
    row("Date", text(&meta.started_at));
    row("dspec", text(&meta.dspec_version));
    let engine = match (meta.engine_version.is_empty(), meta.api_version.is_empty()) {
        (false, false) => format!("Docker {} (API {})", meta.engine_version, meta.api_version),
        (false, true) => format!("Docker {}", meta.engine_version),
        _ => String::new(),
    };
    row("Engine", text(&engine));
    row("Engine host", text(&meta.engine_host));
    row("Host", text(&meta.hostname));
    row("Run id", text(&meta.run_id));
    row("Expectations", counts(summary, total));
    row(
        "Duration",
        format_duration(std::time::Duration::from_millis(meta.duration_ms)),
    );
    out.push('\n');
}

/// A collapsed block of preformatted text.
fn details(out: &mut String, summary: &str, body: &str) {
    let body = facts::clean(body);
    let fence = "`".repeat(longest_run(&body, '`').max(2) + 1);
    let _ = write!(
        out,
        "<details><summary>{summary}</summary>\n\n{fence}text\n{}\n{fence}\n\n</details>\n\n",
        body.trim_end()
    );
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// An inline code span that holds any text on one line (not for table
/// cells: a `|` would end the cell).
fn code(s: &str) -> String {
    let s = facts::one_line(&facts::clean(s));
    if s.is_empty() {
        return "` `".into();
    }
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    if s.starts_with('`') || s.ends_with('`') {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// A message from dspec or the engine, on one line: `quoted` names become
/// code spans when the backticks pair up; everything else is [`text`].
fn prose(s: &str) -> String {
    let s = facts::one_line(&facts::clean(s));
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return text(&s);
    }
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 && !part.is_empty() {
            out.push_str(&code(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

/// Plain text with Markdown and HTML syntax escaped, on one line.
fn text(s: &str) -> String {
    escape(&facts::one_line(&facts::clean(s)))
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '&' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_and_text_escape() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\n  b"), "`a b`");
        assert_eq!(text("<b>*x*</b> | y"), "\\<b\\>\\*x\\*\\</b\\> \\| y");
        assert_eq!(prose("image `a_b` is *gone*"), "image `a_b` is \\*gone\\*");
        assert_eq!(prose("odd ` tick"), "odd \\` tick");
    }
}
