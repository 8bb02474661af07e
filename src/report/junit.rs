//! The JUnit XML report: what CI systems (GitLab, Jenkins, GitHub test
//! reporters) read.
//!
//! One `<testsuite>` per story (or per file without a story), one
//! `<testcase>` per expectation with `classname="STORY.CRITERION"`, the
//! expectation's source text as its name, and `file`/`line` attributes.
//! A failed expectation is a `<failure type="ExpectationFailed">` whose body
//! is the full diagnostic; an engine error is an `<error type="EngineError">`;
//! an expectation not run because its subject could not be set up is a
//! `<skipped>`, and the setup failure itself is written once, in full, in
//! its suite's `<system-err>`. Container log tails go in the test case's
//! `<system-out>`. Written by hand: no XML dependency.

use std::fmt::Write;

use super::facts::{self, Group, Item};
use super::{Outcome, RunMeta, RunReport};
use crate::compile::Program;
use crate::source::SourceMap;

/// Renders the whole report as one XML document.
pub fn render(run: &RunReport) -> String {
    let RunReport {
        program,
        sources,
        results,
        setup,
        meta,
    } = *run;
    let groups = facts::groups(program, results, setup);
    // Counted over the test cases written, so that the document agrees
    // with itself.
    let (mut tests, mut failed, mut errored, mut skipped) = (0, 0, 0, 0);
    for g in &groups {
        let c = g.counts();
        tests += g.items.len();
        failed += c.1;
        errored += c.2;
        skipped += c.3;
    }
    let timestamp = timestamp(&meta.started_at);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<testsuites");
    attr(&mut out, "name", "dspec");
    attr(&mut out, "tests", &tests.to_string());
    attr(&mut out, "failures", &failed.to_string());
    attr(&mut out, "errors", &errored.to_string());
    attr(&mut out, "skipped", &skipped.to_string());
    attr(
        &mut out,
        "time",
        &facts::seconds(meta.duration_ms as f64 / 1000.0),
    );
    if let Some(t) = timestamp {
        attr(&mut out, "timestamp", t);
    }
    out.push_str(">\n");
    for (gi, g) in groups.iter().enumerate() {
        suite(&mut out, gi, g, program, sources, meta);
    }
    out.push_str("</testsuites>\n");
    out
}

/// The start of the run when it is an RFC 3339 / `xs:dateTime` time;
/// anything else is left out rather than make the document invalid.
fn timestamp(started_at: &str) -> Option<&str> {
    let re = regex::Regex::new(
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$",
    )
    .expect("a valid regex");
    re.is_match(started_at).then_some(started_at)
}

fn suite(
    out: &mut String,
    id: usize,
    g: &Group<'_>,
    program: &Program,
    sources: &SourceMap,
    meta: &RunMeta,
) {
    let (_, failed, errored, skipped) = g.counts();
    let paths = g.paths(program);
    out.push_str("  <testsuite");
    attr(out, "name", &g.name);
    attr(out, "tests", &g.items.len().to_string());
    attr(out, "failures", &failed.to_string());
    attr(out, "errors", &errored.to_string());
    attr(out, "skipped", &skipped.to_string());
    attr(out, "time", &facts::seconds(g.seconds()));
    if let Some(t) = timestamp(&meta.started_at) {
        attr(out, "timestamp", t);
    }
    attr(out, "hostname", &meta.hostname);
    attr(out, "id", &id.to_string());
    attr(out, "package", &g.key);
    if let Some(first) = paths.first() {
        attr(out, "file", first);
    }
    out.push_str(">\n");

    let mut props: Vec<(&str, String)> = vec![
        ("dspec.version", meta.dspec_version.clone()),
        ("engine.version", meta.engine_version.clone()),
        ("engine.api_version", meta.api_version.clone()),
        ("engine.host", meta.engine_host.clone()),
        ("run.id", meta.run_id.clone()),
        ("run.started_at", meta.started_at.clone()),
    ];
    if let Some(st) = g.story {
        props.push(("story.id", st.id.clone()));
        if let Some(t) = &st.title {
            props.push(("story.title", t.clone()));
        }
    }
    props.push(("spec.files", paths.join(" ")));
    out.push_str("    <properties>\n");
    for (name, value) in props.iter().filter(|(_, v)| !v.is_empty()) {
        out.push_str("      <property");
        attr(out, "name", name);
        attr(out, "value", value);
        out.push_str("/>\n");
    }
    out.push_str("    </properties>\n");

    for item in &g.items {
        testcase(out, item, program, sources);
    }

    if !g.setup.is_empty() {
        out.push_str("    <system-err>");
        for (i, s) in g.setup.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            text(out, &facts::setup(program, sources, s).diagnostic);
        }
        out.push_str("</system-err>\n");
    }
    out.push_str("  </testsuite>\n");
}

fn testcase(out: &mut String, item: &Item<'_>, program: &Program, sources: &SourceMap) {
    out.push_str("    <testcase");
    attr(out, "name", &item.check.text);
    attr(out, "classname", &item.classname());
    attr(
        out,
        "time",
        &facts::seconds(item.result.duration.as_secs_f64()),
    );
    attr(out, "file", item.path());
    attr(out, "line", &item.check.line.to_string());
    let message = item
        .summary_line(sources)
        .map(|m| facts::clip(&m, 500))
        .unwrap_or_default();
    let body = item.diagnostic(program, sources).unwrap_or_default();
    let (element, kind) = match &item.result.outcome {
        Outcome::Passed { .. } => {
            out.push_str("/>\n");
            return;
        }
        Outcome::Failed { .. } => ("failure", Some("ExpectationFailed")),
        Outcome::Errored { .. } => ("error", Some("EngineError")),
        Outcome::Skipped { .. } => ("skipped", None),
    };
    out.push_str(">\n      <");
    out.push_str(element);
    attr(out, "message", &message);
    if let Some(kind) = kind {
        attr(out, "type", kind);
    }
    out.push('>');
    text(out, &body);
    let _ = writeln!(out, "</{element}>");
    let mut evidence: Vec<String> = item.evidence().to_vec();
    if let Some(d) = item.diff() {
        evidence.push(d);
    }
    if !evidence.is_empty() {
        out.push_str("      <system-out>");
        text(out, &evidence.join("\n"));
        out.push_str("</system-out>\n");
    }
    out.push_str("    </testcase>\n");
}

/// ` name="value"`, escaped for an attribute.
fn attr(out: &mut String, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    escape(out, value, true);
    out.push('"');
}

/// Element text, escaped.
fn text(out: &mut String, value: &str) {
    escape(out, value, false);
}

/// Escapes `& < > " '` and drops what XML 1.0 cannot hold (control
/// characters other than tab, newline and carriage return; U+FFFE and
/// U+FFFF). In attributes, tab and line breaks become character references
/// so that parsers keep them.
fn escape(out: &mut String, value: &str, attribute: bool) {
    for c in facts::clean(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// The characters XML 1.0 allows.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_strips() {
        let mut s = String::new();
        escape(
            &mut s,
            "a&b<c>d\"e'f\u{0}g\u{1b}[31mred\u{1b}[0m\u{b}\u{ffff}",
            true,
        );
        assert_eq!(s, "a&amp;b&lt;c&gt;d&quot;e&apos;fgred");
        let mut s = String::new();
        escape(&mut s, "line 1\nline 2\r\n\ttab", false);
        assert_eq!(s, "line 1\nline 2\n\ttab");
        let mut s = String::new();
        escape(&mut s, "x\ny", true);
        assert_eq!(s, "x&#10;y");
        assert!(timestamp("2026-11-24T02:12:10Z").is_some());
        assert!(timestamp("2026-11-24T02:12:10.123+01:00").is_some());
        assert!(timestamp("yesterday").is_none());
    }
}
