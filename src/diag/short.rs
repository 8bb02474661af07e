//! One line per diagnostic, for terminals, editors' problem matchers and CI
//! logs (`validate --format short`), and the same as GitHub Actions workflow
//! commands (`validate` when `GITHUB_ACTIONS=true`).

use super::{Code, Diagnostic, Severity};
use crate::load::Loaded;

/// `file:line:col: error[DS0201]: message`, one line each, sorted by file and
/// position; an unreadable path has no line and column.
pub fn render(loaded: &Loaded) -> String {
    let mut out = String::new();
    for (path, why) in &loaded.unreadable {
        out.push_str(&format!(
            "{}: error[{}]: cannot read the file: {}\n",
            path.display(),
            Code::Unreadable,
            one_line(why)
        ));
    }
    for d in sorted(loaded) {
        let file = loaded.sources.get(d.primary.span.file);
        let (line, col) = file.line_col(d.primary.span.start);
        out.push_str(&format!(
            "{}:{line}:{col}: {}[{}]: {}\n",
            file.display_path(),
            level(d.severity),
            d.code,
            one_line(&d.title)
        ));
    }
    out
}

/// GitHub Actions workflow commands: `::error file=..,line=..,col=..,title=DS0201
/// unknown property::message`, and `::warning` for warnings.
pub fn github(loaded: &Loaded) -> String {
    let mut out = String::new();
    for (path, why) in &loaded.unreadable {
        let p = path.display().to_string();
        crate::report::github::command(
            &mut out,
            "error",
            Some(&p),
            None,
            None,
            &format!("{} {}", Code::Unreadable, Code::Unreadable.summary()),
            &format!("cannot read `{p}`: {why}"),
        );
    }
    for d in sorted(loaded) {
        let file = loaded.sources.get(d.primary.span.file);
        let (line, col) = file.line_col(d.primary.span.start);
        let mut message = d.title.clone();
        if !d.primary.text.is_empty() {
            message.push_str(": ");
            message.push_str(&d.primary.text);
        }
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        crate::report::github::command(
            &mut out,
            level(d.severity),
            Some(&file.display_path()),
            Some(line),
            Some(col),
            &format!("{} {}", d.code, d.code.summary()),
            &message,
        );
    }
    out
}

fn sorted(loaded: &Loaded) -> Vec<&Diagnostic> {
    let mut diags: Vec<&Diagnostic> = loaded.diagnostics.iter().collect();
    diags.sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.code));
    diags
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
