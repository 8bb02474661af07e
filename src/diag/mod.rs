//! Diagnostics: one shape for every problem dspec reports, from a parse
//! error to a failed expectation. Rendered through miette.

pub mod code;
pub mod json;
mod render;
pub mod sarif;
pub mod short;
pub mod suggest;

use std::fmt;

pub use code::Code;
pub use render::{ColorChoice, RenderOptions, render, render_all};

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A labelled span of source.
#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// A problem found in a spec, pointing at the source.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// One line, lower case, no full stop.
    pub title: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// Extra text printed after the snippet (build output, a diff...).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, title: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            title: title.into(),
            primary: Label {
                span,
                text: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: Code, span: Span, title: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, title)
        }
    }

    /// The text of the primary label.
    pub fn label(mut self, text: impl Into<String>) -> Diagnostic {
        self.primary.text = text.into();
        self
    }

    pub fn secondary(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diagnostic {
        self.help = Some(text.into());
        self
    }

    pub fn note(mut self, text: impl Into<String>) -> Diagnostic {
        self.notes.push(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.title)
    }
}

/// Diagnostics collected over a run, in the order found.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Sorts by file and position so output is stable.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| (d.primary.span.file, d.primary.span.start, d.code));
    }
}

/// `text` safe to print on a terminal: control characters (ESC, BEL, a carriage return,
/// the C1 range...) are written as escapes (`\u{1b}`), as Rust's `{:?}` writes them, so that
/// nothing from a container's logs, a file or a process can move the cursor, change the
/// title or ring. Newlines and tabs stay.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && c != '\t' && (c.is_control() || c == '\u{7f}');
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod visible_tests {
    use super::visible;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            visible("\u{1b}]0;pwned\u{7}red \u{1b}[31mx\r"),
            "\\u{1b}]0;pwned\\u{7}red \\u{1b}[31mx\\r"
        );
        assert_eq!(visible("\u{9b}2J"), "\\u{9b}2J");
    }
}
