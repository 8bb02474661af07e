//! dspec's diagnostics as LSP diagnostics (the codes, titles and help of `dspec validate`),
//! and the quick fix a diagnostic's did-you-mean carries.

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};

use super::lines::Lines;
use crate::diag::{Diagnostic, Severity};

/// The replacement for a diagnostic's primary span that its message proposes: "did you mean
/// `X`?" or "write `X`" (at the start of the help or of the label, or ending the title).
pub fn fix_of(d: &Diagnostic) -> Option<String> {
    let first_code = |s: &str| -> Option<String> {
        let start = s.find('`')? + 1;
        let end = start + s[start..].find('`')?;
        Some(s[start..end].to_string()).filter(|x| !x.is_empty())
    };
    if let Some(help) = &d.help
        && (help.starts_with("did you mean `") || help.starts_with("write `"))
    {
        return first_code(help);
    }
    if d.primary.text.starts_with("write `") {
        return first_code(&d.primary.text);
    }
    if let Some(i) = d.title.rfind(": write `")
        && d.title.ends_with('`')
    {
        return first_code(&d.title[i..]);
    }
    None
}

/// One diagnostic for the editor: the title, then `help:` as `validate` prints it.
pub fn to_lsp(d: &Diagnostic, text: &str, lines: &Lines, uri: &Uri) -> lsp_types::Diagnostic {
    let mut message = d.title.clone();
    if !d.primary.text.is_empty() && d.primary.text != "here" {
        message.push_str(&format!(" ({})", d.primary.text));
    }
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    for note in &d.notes {
        message.push('\n');
        message.push_str(note);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter(|l| l.span.file == d.primary.span.file)
        .map(|l| DiagnosticRelatedInformation {
            location: Location {
                uri: uri.clone(),
                range: lines.range(text, l.span.start, l.span.end),
            },
            message: if l.text.is_empty() {
                "here".into()
            } else {
                l.text.clone()
            },
        })
        .collect();
    lsp_types::Diagnostic {
        range: lines.range(text, d.primary.span.start, d.primary.span.end),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("dspec".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;
    use crate::source::{FileId, Span};

    #[test]
    fn fixes_come_from_did_you_mean_and_write() {
        let span = Span::new(FileId(0), 0, 1);
        let d = Diagnostic::error(Code::UnknownProperty, span, "no property `sise`")
            .help("did you mean `size`?");
        assert_eq!(fix_of(&d).as_deref(), Some("size"));
        let d = Diagnostic::error(Code::BadNumber, span, "x")
            .help("write `200MB` (powers of 1000; `200MiB` for powers of 1024)");
        assert_eq!(fix_of(&d).as_deref(), Some("200MB"));
        let d = Diagnostic::error(
            Code::Undefined,
            span,
            "`appuser` is unquoted text: write `\"appuser\"`",
        )
        .help("text is written in quotes");
        assert_eq!(fix_of(&d).as_deref(), Some("\"appuser\""));
        let d = Diagnostic::error(Code::BadValue, span, "x").help("ports are listed: `\"1/tcp\"`");
        assert_eq!(fix_of(&d), None);
    }
}
