//! The order of host commands and tasks: `after NAME` edges without circles, and `do NAME`
//! runs that every check needing them can wait for.

use std::collections::HashMap;

use super::FileCompiler;
use super::model::{Check, SubjectDef};
use crate::ast::SubjectKind;
use crate::diag::{Code, Diagnostic};
use crate::source::Span;

impl FileCompiler<'_> {
    /// Host commands and tasks that run `after` each other in a circle never start.
    pub(super) fn check_after_cycles(&mut self, subjects: &[SubjectDef]) {
        for (span, names) in cycles(subjects, |s| s.spec.after().to_vec()) {
            self.error(
                Diagnostic::error(
                    Code::Cycle,
                    span,
                    format!("`after` goes round in a circle: {}", names.join(" → ")),
                )
                .label("runs after itself through `after`")
                .help("each of them waits for the next to finish, so none would start: remove one `after`"),
            );
        }
    }

    /// `do NAME` runs a host command or task once, at its place in the file: a second `do` of
    /// it, or a check before it that needs it (its own, or one of a command or task that runs
    /// `after` it), could not be ordered.
    pub(super) fn check_run_order(&mut self, subjects: &[SubjectDef], checks: &[Check]) {
        let mut runs: HashMap<String, (usize, Span)> = HashMap::new();
        for (i, c) in checks.iter().enumerate() {
            if !c.runs {
                continue;
            }
            if let Some((_, first)) = runs.get(&c.subject) {
                self.error(
                    Diagnostic::error(
                        Code::Duplicate,
                        c.path_span,
                        format!("`{}` already runs at an earlier `do {}`", c.subject, c.subject),
                    )
                    .label("second run")
                    .secondary(*first, "runs here")
                    .help("a host command or task runs once per run; expectations after the first `do` read its result"),
                );
                continue;
            }
            runs.insert(c.subject.clone(), (i, c.path_span));
        }
        if runs.is_empty() {
            return;
        }
        // What a check needs run: its subject and, transitively, what that runs after.
        let by_name = super::model::by_name(subjects);
        let needs = |name: &str| -> Vec<String> {
            let mut out = vec![name.to_string()];
            let mut i = 0;
            while i < out.len() {
                if let Some(s) = by_name.get(out[i].as_str()) {
                    for a in s.spec.after() {
                        if !out.contains(a) {
                            out.push(a.clone());
                        }
                    }
                }
                i += 1;
            }
            out
        };
        for (i, c) in checks.iter().enumerate() {
            if !matches!(c.subject_kind, SubjectKind::Command | SubjectKind::Task) {
                continue;
            }
            for n in needs(&c.subject) {
                let Some((at, span)) = runs.get(&n) else {
                    continue;
                };
                if *at <= i {
                    continue;
                }
                let via = if n == c.subject {
                    String::new()
                } else {
                    format!(" (`{}` runs after it)", c.subject)
                };
                self.error(
                    Diagnostic::error(
                        Code::Cycle,
                        c.path_span,
                        format!("`{n}` runs later, at `do {n}`{via}"),
                    )
                    .label("needs it before it runs")
                    .secondary(*span, "runs here")
                    .help(format!("`do {n}` runs it at that point of the file: move this after it, or remove the `do` to run it at its first use")),
                );
                break;
            }
        }
    }
}

/// The circles of `edges` among `subjects`: for each, where it starts and its names (the
/// first again at the end). A subject already in a reported circle starts no other.
pub(super) fn cycles(
    subjects: &[SubjectDef],
    edges: impl Fn(&SubjectDef) -> Vec<String>,
) -> Vec<(Span, Vec<String>)> {
    let by_name = super::model::by_name(subjects);
    let next_of = |name: &str| by_name.get(name).map(|s| edges(s)).unwrap_or_default();
    let mut found = Vec::new();
    let mut reported: std::collections::HashSet<String> = std::collections::HashSet::new();
    for s in subjects {
        if reported.contains(&s.name) {
            continue;
        }
        // Depth-first from `s`: a path that comes back to `s` is a circle.
        let mut stack = vec![(s.name.clone(), vec![s.name.clone()])];
        let mut seen = std::collections::HashSet::new();
        'search: while let Some((at, path)) = stack.pop() {
            for next in next_of(&at) {
                if next == s.name {
                    let mut names = path.clone();
                    names.push(next);
                    reported.extend(names.iter().cloned());
                    found.push((s.span, names));
                    break 'search;
                }
                if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next, p));
                }
            }
        }
    }
    found
}
