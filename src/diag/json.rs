//! Diagnostics as JSON for editors and tools (`--format json`).

use serde_json::json;

use crate::load::Loaded;

/// One document: every diagnostic with its code, severity, message, help
/// and labelled spans (byte offsets and 1-based line/column).
pub fn render(loaded: &Loaded) -> String {
    let mut items = Vec::new();
    for (path, why) in &loaded.unreadable {
        items.push(json!({
            "code": super::Code::Unreadable.to_string(),
            "severity": "error",
            "message": format!("cannot read `{}`: {why}", path.display()),
            "file": path.display().to_string(),
            "labels": [],
        }));
    }
    for d in &loaded.diagnostics {
        let file = loaded.sources.get(d.primary.span.file);
        let label = |l: &super::Label, primary: bool| {
            let f = loaded.sources.get(l.span.file);
            let (line, column) = f.line_col(l.span.start);
            let (end_line, end_column) = f.line_col(l.span.end);
            json!({
                "file": f.display_path(),
                "start": l.span.start, "end": l.span.end,
                "line": line, "column": column, "end_line": end_line, "end_column": end_column,
                "text": l.text, "primary": primary,
            })
        };
        let mut labels = vec![label(&d.primary, true)];
        labels.extend(d.secondary.iter().map(|l| label(l, false)));
        let (line, column) = file.line_col(d.primary.span.start);
        items.push(json!({
            "code": d.code.to_string(),
            "severity": d.severity,
            "message": d.title,
            "help": d.help,
            "file": file.display_path(),
            "line": line,
            "column": column,
            "labels": labels,
        }));
    }
    let errors = items.iter().filter(|i| i["severity"] == "error").count();
    serde_json::to_string_pretty(&json!({
        "schema": "dspec-diagnostics/1",
        "files": loaded.files,
        "errors": errors,
        "warnings": items.len() - errors,
        "diagnostics": items,
    }))
    .expect("diagnostics serialize")
}
