//! What every file report (JUnit, JSON, Markdown, GitHub annotations) says
//! about one result, computed once so that the formats agree.
//!
//! Nothing here unmasks a value: texts come from the compiled model (whose
//! `Display` shows `secret(...)` as `***` and `env(...)` symbolically) and
//! from the engine's outcomes, which are redacted before they get here.

use std::fmt::Write;

use super::{CheckResult, Outcome, SetupFailure};
use crate::actual::Actual;
use crate::compile::value::Val;
use crate::compile::{Check, CheckedFile, CriterionInfo, Program, StoryInfo};
use crate::diag::{RenderOptions, render};
use crate::source::SourceMap;

/// One result with the model it refers to.
pub(crate) struct Item<'a> {
    pub result: &'a CheckResult,
    pub file: &'a CheckedFile,
    pub check: &'a Check,
}

/// The results of one story (or of one file that has no story).
pub(crate) struct Group<'a> {
    /// `3.6.5 Docker Build Testing and Validation`, or the file path.
    pub name: String,
    /// The first half of a JUnit classname: the story id or the file stem.
    pub key: String,
    pub story: Option<&'a StoryInfo>,
    /// Indexes into `Program::files`, in program order.
    pub files: Vec<usize>,
    /// Sorted by file, then by position in the file.
    pub items: Vec<Item<'a>>,
    pub setup: Vec<&'a SetupFailure>,
}

impl Group<'_> {
    /// Counts: passed, failed, errored, skipped.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for i in &self.items {
            match i.result.outcome {
                Outcome::Passed { .. } => c.0 += 1,
                Outcome::Failed { .. } => c.1 += 1,
                Outcome::Errored { .. } => c.2 += 1,
                Outcome::Skipped { .. } => c.3 += 1,
            }
        }
        c
    }

    pub fn seconds(&self) -> f64 {
        self.items
            .iter()
            .map(|i| i.result.duration.as_secs_f64())
            .sum()
    }

    /// The spec files of the group, as named by the user.
    pub fn paths<'p>(&self, program: &'p Program) -> Vec<&'p str> {
        self.files
            .iter()
            .map(|f| program.files[*f].path.as_str())
            .collect()
    }
}

/// Results grouped by story (files sharing a story id share a group), in
/// program order. Results that point outside the program are ignored.
pub(crate) fn groups<'a>(
    program: &'a Program,
    results: &'a [CheckResult],
    setup: &'a [SetupFailure],
) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut group_of_file = vec![usize::MAX; program.files.len()];
    for (fi, f) in program.files.iter().enumerate() {
        let has_results = results.iter().any(|r| r.file == fi);
        let has_setup = setup.iter().any(|s| s.file == fi);
        if !has_results && !has_setup {
            continue;
        }
        let existing = f.story.as_ref().and_then(|st| {
            groups
                .iter()
                .position(|g| g.story.is_some_and(|s| s.id == st.id))
        });
        let gi = match existing {
            Some(gi) => {
                groups[gi].files.push(fi);
                gi
            }
            None => {
                let (name, key) = match &f.story {
                    Some(st) => (
                        match &st.title {
                            Some(t) => format!("{} {t}", st.id),
                            None => st.id.clone(),
                        },
                        st.id.clone(),
                    ),
                    None => (f.path.clone(), file_stem(&f.path)),
                };
                groups.push(Group {
                    name,
                    key,
                    story: f.story.as_ref(),
                    files: vec![fi],
                    items: Vec::new(),
                    setup: Vec::new(),
                });
                groups.len() - 1
            }
        };
        group_of_file[fi] = gi;
    }
    let mut sorted: Vec<&CheckResult> = results.iter().collect();
    sorted.sort_by_key(|r| (r.file, r.index));
    for r in sorted {
        let Some(f) = program.files.get(r.file) else {
            continue;
        };
        let Some(check) = f.checks.get(r.index) else {
            continue;
        };
        groups[group_of_file[r.file]].items.push(Item {
            result: r,
            file: f,
            check,
        });
    }
    for s in setup {
        if let Some(&gi) = group_of_file.get(s.file) {
            groups[gi].setup.push(s);
        }
    }
    groups
}

/// `specs/proxy.dspec` → `proxy`.
pub(crate) fn file_stem(path: &str) -> String {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".dspec").unwrap_or(name).to_string()
}

impl<'a> Item<'a> {
    pub fn path(&self) -> &'a str {
        &self.file.path
    }

    /// Stable within a run: `specs/proxy.dspec#4`.
    pub fn id(&self) -> String {
        format!("{}#{}", self.file.path, self.check.index)
    }

    pub fn criterion(&self) -> Option<&'a CriterionInfo> {
        self.check.criterion.and_then(|i| self.file.criteria.get(i))
    }

    /// `STORY.CRITERION` (story id or file stem; criterion id or `_`).
    pub fn classname(&self) -> String {
        let head = match &self.file.story {
            Some(s) => s.id.clone(),
            None => file_stem(&self.file.path),
        };
        let tail = self.criterion().map(|c| c.id.as_str()).unwrap_or("_");
        format!("{head}.{tail}")
    }

    pub fn status(&self) -> &'static str {
        status(&self.result.outcome)
    }

    /// Whether sizes are shown in binary units (the author wrote `MiB`).
    fn binary(&self) -> bool {
        fn binary(v: Option<&Val>) -> bool {
            match v {
                Some(Val::Size { text, .. }) => text.contains("iB"),
                Some(Val::Range(a, _)) => binary(Some(a)),
                _ => false,
            }
        }
        binary(self.expected_value())
    }

    pub fn expected_value(&self) -> Option<&'a Val> {
        self.check.predicate.as_ref().and_then(|p| p.value.as_ref())
    }

    /// The operator, `==` for a bare boolean property, None for an action.
    pub fn operator(&self) -> Option<&'static str> {
        match &self.check.predicate {
            Some(p) => Some(p.op.text()),
            None if self.check.action_only => None,
            None => Some("=="),
        }
    }

    /// `< 200MB (200000000 B)`; None for an action.
    pub fn expected_text(&self) -> Option<String> {
        (self.check.predicate.is_some() || !self.check.action_only)
            .then(|| super::human::expected_text(self.check))
    }

    pub fn actual(&self) -> Option<&'a Actual> {
        match &self.result.outcome {
            Outcome::Passed { actual, .. } | Outcome::Failed { actual, .. } => actual.as_ref(),
            _ => None,
        }
    }

    /// `231.4MB (231400112 B)`, in the unit family the author used.
    pub fn actual_text(&self) -> Option<String> {
        self.actual().map(|a| a.show(self.binary()))
    }

    /// The size of an actual size in the author's unit family.
    pub fn size_text(&self, bytes: u64) -> String {
        crate::actual::format_size(bytes, self.binary())
    }

    /// One line saying what went wrong; None for a pass.
    pub fn summary_line(&self, sources: &SourceMap) -> Option<String> {
        let line = match &self.result.outcome {
            Outcome::Passed { .. } => return None,
            Outcome::Failed { message, .. } => {
                let mut parts = Vec::new();
                if let Some(e) = self.expected_text() {
                    parts.push(format!("expected {e}"));
                }
                if let Some(a) = self.actual_text() {
                    parts.push(format!("actual {}", clip(&a, 200)));
                }
                if !message.is_empty() {
                    parts.push(message.clone());
                }
                parts.join(", ")
            }
            Outcome::Errored { message } => format!("engine error: {message}"),
            Outcome::Skipped { subject, reason } => match self.subject_location(subject, sources) {
                Some(loc) => format!("not run: {reason} ({loc})"),
                None => format!("not run: {reason}"),
            },
        };
        Some(one_line(&line))
    }

    /// `path:line:col` of a subject of this item's file.
    pub fn subject_location(&self, subject: &str, sources: &SourceMap) -> Option<String> {
        let s = self.file.subject(subject)?;
        span_ok(sources, s.span).then(|| sources.location(s.span))
    }

    /// `path:line:col` of the expectation.
    pub fn location(&self) -> String {
        format!(
            "{}:{}:{}",
            self.file.path, self.check.line, self.check.column
        )
    }

    /// The full plain-text diagnostic of a failure, an engine error or a
    /// skip; None for a pass.
    pub fn diagnostic(&self, program: &Program, sources: &SourceMap) -> Option<String> {
        match &self.result.outcome {
            Outcome::Passed { .. } => None,
            Outcome::Failed { .. } | Outcome::Errored { .. } => {
                if !span_ok(sources, self.check.path_span) {
                    return self.summary_line(sources);
                }
                super::human::failure_diagnostic(program, self.result)
                    .map(|d| render(&d, sources, &RenderOptions::plain()))
            }
            Outcome::Skipped { subject, reason } => {
                let mut t = format!("not run: {reason}\n  --> {}\n", self.location());
                if let Some(loc) = self.subject_location(subject, sources) {
                    let _ = writeln!(t, "  the subject `{subject}` is declared at {loc}");
                }
                Some(t)
            }
        }
    }

    pub fn evidence(&self) -> &'a [String] {
        match &self.result.outcome {
            Outcome::Failed { evidence, .. } => evidence,
            _ => &[],
        }
    }

    pub fn samples(&self) -> Option<u32> {
        match &self.result.outcome {
            Outcome::Passed { samples, .. } | Outcome::Failed { samples, .. } => Some(*samples),
            _ => None,
        }
    }

    /// When the deciding sample was taken (a failure), or when a `within` condition first
    /// held (a pass).
    pub fn at_ms(&self) -> Option<u64> {
        match &self.result.outcome {
            Outcome::Failed { at_ms, .. } | Outcome::Passed { at_ms, .. } => *at_ms,
            _ => None,
        }
    }

    /// A `-`/`+` diff of expected and actual text when either has several
    /// lines and the expectation failed.
    pub fn diff(&self) -> Option<String> {
        let (Outcome::Failed { .. }, Some(Actual::Text(a)), Some(Val::Text(e))) =
            (&self.result.outcome, self.actual(), self.expected_value())
        else {
            return None;
        };
        let e = e.to_string();
        if !a.contains('\n') && !e.contains('\n') {
            return None;
        }
        let mut out = String::from("--- expected\n+++ actual\n");
        let d = similar::TextDiff::from_lines(e.as_str(), a.as_str());
        for change in d.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => " ",
            };
            let text = change.to_string();
            out.push_str(sign);
            out.push_str(&text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        Some(out)
    }

    /// The JUnit/GitHub title of a non-passing item.
    pub fn title(&self) -> String {
        let (code, what) = match &self.result.outcome {
            Outcome::Errored { .. } if self.check.action_only => ("DS0401", "action failed"),
            Outcome::Errored { .. } => ("DS0401", "expectation could not be observed"),
            Outcome::Skipped { .. } => ("DS0402", "expectation not run"),
            _ if self.check.action_only => ("DS0401", "action failed"),
            _ => ("DS0401", "expectation failed"),
        };
        match self.criterion() {
            Some(c) => format!("{code} {what} in {}", c.id),
            None => format!("{code} {what}"),
        }
    }
}

fn span_ok(sources: &SourceMap, span: crate::source::Span) -> bool {
    (span.file.0 as usize) < sources.files().len() && span.end <= sources.get(span.file).text.len()
}

pub(crate) fn status(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed { .. } => "passed",
        Outcome::Failed { .. } => "failed",
        Outcome::Errored { .. } => "errored",
        Outcome::Skipped { .. } => "skipped",
    }
}

/// What the report says about a subject that could not be set up.
pub(crate) struct Setup<'a> {
    pub file: Option<&'a CheckedFile>,
    /// `DS0402`, `DS0404`.
    pub code: String,
    /// `build of `prod` failed`.
    pub title: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The full plain diagnostic, build output included.
    pub diagnostic: String,
}

pub(crate) fn setup<'a>(
    program: &'a Program,
    sources: &SourceMap,
    s: &'a SetupFailure,
) -> Setup<'a> {
    let file = program.files.get(s.file);
    let declared = file
        .and_then(|f| f.subject(&s.subject))
        .filter(|d| span_ok(sources, d.span));
    match declared {
        Some(d) => {
            let diag = super::human::setup_diagnostic(program, s);
            let (line, column) = sources.get(d.span.file).line_col(d.span.start);
            Setup {
                file,
                code: diag.code.to_string(),
                title: diag.title.clone(),
                line: Some(line),
                column: Some(column),
                diagnostic: render(&diag, sources, &RenderOptions::plain()),
            }
        }
        None => {
            let mut text = format!("error[DS0402]: `{}` could not be set up\n", s.subject);
            let _ = writeln!(text, "  {}", s.message);
            for l in &s.output {
                let _ = writeln!(text, "  │ {l}");
            }
            Setup {
                file,
                code: "DS0402".into(),
                title: format!("`{}` could not be set up", s.subject),
                line: None,
                column: None,
                diagnostic: text,
            }
        }
    }
}

/// Newlines and runs of white space folded into single spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, with an ellipsis when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Terminal escape sequences (colours from logs) removed, and every other
/// control character except tab and newline.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte; other escapes: ESC + one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&d) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' | '\n' => out.push(c),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            c if c.is_control() => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Seconds with a decimal point: `1.250`.
pub(crate) fn seconds(s: f64) -> String {
    format!("{s:.3}")
}
