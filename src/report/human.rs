//! The console report: one line per expectation grouped by story and
//! criterion, then each failure as a diagnostic at its spec line.

use std::fmt::Write;

use super::{CheckResult, Outcome, RunReport, SetupFailure, Summary};
use crate::actual::Actual;
use crate::compile::value::Val;
use crate::compile::{Check, Program, SubjectSpec};
use crate::diag::{Code, Diagnostic, RenderOptions, render};

/// Whether an expected value was written in binary units (`MiB`).
fn binary_units(v: Option<&Val>) -> bool {
    match v {
        Some(Val::Size { text, .. }) => text.contains("iB"),
        Some(Val::Range(a, _)) => binary_units(Some(a)),
        _ => false,
    }
}

/// What an expectation wants, as written, with sizes and durations also
/// in bytes and milliseconds: `< 200MB (200000000 B)`.
pub(crate) fn expected_text(check: &Check) -> String {
    let Some(p) = &check.predicate else {
        return "true".to_string();
    };
    let mut t = p.op.text().to_string();
    if let Some(v) = &p.value {
        let _ = write!(t, " {v}");
        match v {
            Val::Size { bytes, .. } => {
                let _ = write!(t, " ({bytes} B)");
            }
            Val::Duration { ms, .. } => {
                let _ = write!(t, " ({ms} ms)");
            }
            _ => {}
        }
    }
    t
}

/// The diagnostic for a failed expectation.
pub fn failure_diagnostic(program: &Program, r: &CheckResult) -> Option<Diagnostic> {
    let f = &program.files[r.file];
    let check = &f.checks[r.index];
    let title = match check.criterion {
        Some(i) => {
            let c = &f.criteria[i];
            match &c.title {
                Some(t) => format!("expectation failed in {} \"{t}\"", c.id),
                None => format!("expectation failed in {}", c.id),
            }
        }
        None => "expectation failed".to_string(),
    };
    match &r.outcome {
        Outcome::Failed {
            actual,
            message,
            samples,
            at_ms,
            evidence,
        } => {
            let binary = binary_units(check.predicate.as_ref().and_then(|p| p.value.as_ref()));
            let actual_text = match actual {
                Some(a) => format!("actual: {}", clip(&a.show(binary), 120)),
                None => message.clone(),
            };
            let mut d = Diagnostic::error(Code::ExpectationFailed, check.path_span, title)
                .label(actual_text);
            if let Some(vs) = check.predicate.as_ref().and_then(|p| p.value_span) {
                d = d.secondary(vs, format!("expected: {}", expected_text(check)));
            } else if check.predicate.is_some() || !check.action_only {
                d = d.note(format!("expected: {}", expected_text(check)));
            }
            if actual.is_some() && !message.is_empty() {
                d = d.note(message.clone());
            }
            if let Some(m) = &check.modifier {
                let when = at_ms
                    .map(|ms| format!(" at {:.1}s", ms as f64 / 1000.0))
                    .unwrap_or_default();
                let what = match m.kind {
                    crate::ast::ModifierKind::Within => "last seen",
                    crate::ast::ModifierKind::For => "first broken",
                };
                d = d.note(format!(
                    "{} {}: {samples} sample{} taken; {what}{when}",
                    m.kind.word(),
                    m.text,
                    if *samples == 1 { "" } else { "s" }
                ));
            }
            if let (Some(Actual::Text(a)), Some(Val::Text(e))) = (
                actual,
                check.predicate.as_ref().and_then(|p| p.value.as_ref()),
            ) && (a.contains('\n') || e.to_string().contains('\n'))
            {
                d = d.note(diff(&e.to_string(), a));
            }
            for e in evidence {
                d = d.note(e.clone());
            }
            Some(d)
        }
        Outcome::Errored { message } => Some(
            Diagnostic::error(
                Code::ExpectationFailed,
                check.path_span,
                format!("{} (engine error)", check_title(check)),
            )
            .label(message.clone()),
        ),
        _ => None,
    }
}

fn check_title(check: &Check) -> String {
    if check.action_only {
        "action failed".to_string()
    } else {
        "expectation could not be observed".to_string()
    }
}

fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::from("diff (- expected, + actual):\n");
    let d = similar::TextDiff::from_lines(expected, actual);
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        let _ = write!(out, "{sign}{}", change);
        if !change.to_string().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The diagnostic for a subject that could not be set up.
pub fn setup_diagnostic(program: &Program, s: &SetupFailure) -> Diagnostic {
    let f = &program.files[s.file];
    let subject = f.subject(&s.subject).expect("failed subject exists");
    let what = match &subject.spec {
        SubjectSpec::Build(_) => format!("build of `{}` failed", s.subject),
        SubjectSpec::Existing { .. } => format!("image `{}` is not available", s.subject),
        SubjectSpec::Run(_) => format!("container `{}` could not run", s.subject),
        SubjectSpec::Compose(_) => format!("stack `{}` could not come up", s.subject),
        SubjectSpec::Host(_) => format!("host command `{}` could not run", s.subject),
        SubjectSpec::Request(_) => format!("request `{}` could not be made", s.subject),
        SubjectSpec::Task(_) => format!("task `{}` did not run to completion", s.subject),
    };
    let code = if s.infrastructure && !matches!(subject.spec, SubjectSpec::Existing { .. }) {
        Code::SetupFailed
    } else if matches!(subject.spec, SubjectSpec::Existing { .. }) {
        Code::ImageAbsent
    } else {
        Code::SetupFailed
    };
    let mut d = Diagnostic::error(code, subject.span, what).label(s.message.clone());
    if !s.output.is_empty() {
        d = d.note(format!("output:\n{}", s.output.join("\n")));
    }
    d
}

/// The full console report.
pub fn render_report(run: &RunReport, opts: &RenderOptions) -> (String, Summary) {
    let RunReport {
        program,
        sources,
        results,
        setup,
        ..
    } = *run;
    let mut out = String::new();
    let (ok, bad) = if opts.color {
        ("\x1b[32m✓\x1b[0m", "\x1b[31m✗\x1b[0m")
    } else {
        ("✓", "✗")
    };
    for s in setup {
        out.push_str(&render(&setup_diagnostic(program, s), sources, opts));
        out.push('\n');
    }
    let mut failures = Vec::new();
    for (fi, f) in program.files.iter().enumerate() {
        let mut rs: Vec<&CheckResult> = results.iter().filter(|r| r.file == fi).collect();
        if rs.is_empty() {
            continue;
        }
        rs.sort_by_key(|r| r.index);
        match &f.story {
            Some(st) => {
                let _ = writeln!(
                    out,
                    "story {}{}  ({})",
                    st.id,
                    st.title
                        .as_ref()
                        .map(|t| format!(" — {t}"))
                        .unwrap_or_default(),
                    f.path
                );
            }
            None => {
                let _ = writeln!(out, "{}", f.path);
            }
        }
        let mut current: Option<Option<usize>> = None;
        for r in rs {
            let check = &f.checks[r.index];
            if current != Some(check.criterion) {
                current = Some(check.criterion);
                if let Some(i) = check.criterion {
                    let c = &f.criteria[i];
                    let _ = writeln!(
                        out,
                        "  {}{}",
                        c.id,
                        c.title
                            .as_ref()
                            .map(|t| format!(" {t}"))
                            .unwrap_or_default()
                    );
                }
            }
            let indent = if check.criterion.is_some() {
                "    "
            } else {
                "  "
            };
            let mark = if r.outcome.passed() { ok } else { bad };
            let extra = match &r.outcome {
                Outcome::Skipped { subject, reason } => {
                    let loc = f
                        .subject(subject)
                        .map(|s| sources.location(s.span))
                        .unwrap_or_default();
                    format!("  — not run: {reason} ({loc})")
                }
                Outcome::Failed {
                    actual: Some(a), ..
                } => format!("  — actual {}", clip(&a.to_string(), 60)),
                Outcome::Failed { message, .. } => format!("  — {message}"),
                Outcome::Errored { message } => format!("  — engine error: {message}"),
                Outcome::Passed {
                    at_ms: Some(ms), ..
                } => format!(
                    "  — held at {}",
                    crate::actual::format_duration(std::time::Duration::from_millis(*ms))
                ),
                Outcome::Passed { .. } => String::new(),
            };
            let extra = if r.quiet {
                format!("{extra}  (measured alone)")
            } else {
                extra
            };
            let _ = writeln!(
                out,
                "{indent}{mark} {}{}",
                crate::diag::visible(&check.text),
                crate::diag::visible(&extra)
            );
            if let Some(d) = failure_diagnostic(program, r) {
                failures.push(d);
            }
        }
        out.push('\n');
    }
    for d in &failures {
        out.push_str(&render(d, sources, opts));
        out.push('\n');
    }
    let summary = Summary::from_results(results, setup);
    let _ = writeln!(
        out,
        "{} passed, {} failed",
        summary.passed,
        summary.failed + summary.skipped + summary.errored
    );
    (out, summary)
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}
