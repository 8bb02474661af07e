//! Diagnostics as SARIF 2.1.0 (`validate --format sarif`), the format code
//! scanning tools read (GitHub's `upload-sarif`, GitLab, IDE viewers).
//!
//! One run, the tool `dspec` with every diagnostic code as a rule, and one
//! result per diagnostic: its code, level, message, the primary location and
//! the secondary labels as related locations. Columns count characters
//! (`columnKind: unicodeCodePoints`); paths are relative URIs as the files
//! were named, so run `validate` from the repository's root.

use serde_json::{Value, json};

use super::{Code, Severity};
use crate::load::Loaded;
use crate::source::{SourceMap, Span};

/// The SARIF document, pretty-printed.
pub fn render(loaded: &Loaded) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            let level = if *c == Code::Unused {
                "warning"
            } else {
                "error"
            };
            json!({
                "id": c.to_string(),
                "shortDescription": { "text": c.summary() },
                "helpUri": format!("{}#{}", help_page(), anchor(*c)),
                "help": { "text": format!("Run `dspec explain {c}` for a wrong and a right example.") },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    let rule_index = |c: Code| Code::ALL.iter().position(|x| *x == c).unwrap_or(0);
    let mut results = Vec::new();
    for (path, why) in &loaded.unreadable {
        results.push(json!({
            "ruleId": Code::Unreadable.to_string(),
            "ruleIndex": rule_index(Code::Unreadable),
            "level": "error",
            "message": { "text": format!("cannot read `{}`: {why}", path.display()) },
            "locations": [{
                "physicalLocation": { "artifactLocation": { "uri": uri(&path.display().to_string()) } }
            }],
        }));
    }
    let mut diags: Vec<_> = loaded.diagnostics.iter().collect();
    diags.sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.code));
    for d in diags {
        let mut text = d.title.clone();
        if !d.primary.text.is_empty() {
            text.push_str(": ");
            text.push_str(&d.primary.text);
        }
        if let Some(h) = &d.help {
            text.push_str("\nhelp: ");
            text.push_str(h);
        }
        let related: Vec<Value> = d
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut loc = location(&loaded.sources, l.span);
                loc["id"] = json!(i);
                loc["message"] = json!({ "text": l.text });
                loc
            })
            .collect();
        let mut result = json!({
            "ruleId": d.code.to_string(),
            "ruleIndex": rule_index(d.code),
            "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "message": { "text": text },
            "locations": [location(&loaded.sources, d.primary.span)],
        });
        if !related.is_empty() {
            result["relatedLocations"] = json!(related);
        }
        results.push(result);
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "dspec",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).expect("SARIF serializes")
}

/// The book's diagnostics page in the repository.
fn help_page() -> String {
    format!(
        "{}/blob/main/book/src/reference/diagnostics.md",
        env!("CARGO_PKG_REPOSITORY")
    )
}

/// mdBook's anchor of a code's heading (`## DS0201 — unknown property`).
fn anchor(c: Code) -> String {
    let heading = format!("{c} — {}", c.summary());
    let mut a = String::new();
    for ch in heading.to_lowercase().chars() {
        if ch.is_alphanumeric() || ch == '-' || ch == '_' {
            a.push(ch);
        } else if ch == ' ' {
            a.push('-');
        }
    }
    a
}

fn location(sources: &SourceMap, span: Span) -> Value {
    let file = sources.get(span.file);
    let (start_line, start_col) = file.line_col(span.start);
    let (end_line, mut end_col) = file.line_col(span.end);
    if end_line == start_line && end_col <= start_col {
        end_col = start_col + 1;
    }
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&file.display_path()) },
            "region": {
                "startLine": start_line,
                "startColumn": start_col,
                "endLine": end_line,
                "endColumn": end_col,
            }
        }
    })
}

/// A relative URI reference of a path: `/` separators, `./` dropped, and
/// every byte outside the unreserved set and `/` percent-encoded.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_anchors() {
        assert_eq!(uri("./specs/my api.dspec"), "specs/my%20api.dspec");
        assert_eq!(uri("specs/é.dspec"), "specs/%C3%A9.dspec");
        assert_eq!(anchor(Code::UnknownProperty), "ds0201--unknown-property");
    }
}
