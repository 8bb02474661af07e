//! Turns a [`Diagnostic`] into text through miette's graphical handler.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use super::{Diagnostic, Severity};
use crate::source::SourceMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

impl RenderOptions {
    /// Plain text, for tests and files.
    pub fn plain() -> RenderOptions {
        RenderOptions {
            color: false,
            width: 100,
        }
    }

    /// Resolves `--color` for diagnostics on standard error.
    pub fn for_terminal(choice: ColorChoice) -> RenderOptions {
        RenderOptions::for_stream(choice, crate::output::Stream::Stderr)
    }

    /// Resolves `--color` (with `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE` and
    /// `TERM`) for text written to `stream`.
    pub fn for_stream(choice: ColorChoice, stream: crate::output::Stream) -> RenderOptions {
        RenderOptions {
            color: crate::output::color(choice, stream),
            width: 100,
        }
    }
}

struct Adapter<'a> {
    diag: &'a Diagnostic,
    source: CharColumns,
    labels: Vec<LabeledSpan>,
}

/// The file's text as miette reads it, sharing the source map's copy (a 50 MB spec is not
/// copied per diagnostic), with columns counted in characters: miette counts bytes, so
/// `file:2:50` after `café` where JSON, SARIF and editors say 49.
struct CharColumns(NamedSource<std::sync::Arc<str>>);

impl miette::SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.0.read_span(span, before, after)?;
        let text: &str = self.0.inner();
        let start = inner.span().offset().min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let column = text
            .get(line_start..start)
            .map_or(inner.column(), |t| t.chars().count());
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.0.name().to_string(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

impl fmt::Debug for Adapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adapter").finish()
    }
}

impl fmt::Display for Adapter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.title)
    }
}

impl std::error::Error for Adapter<'_> {}

impl miette::Diagnostic for Adapter<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Renders one diagnostic, snippet included. Its texts (which may quote logs, files and
/// process output) reach the terminal with their control characters escaped.
pub fn render(diag: &Diagnostic, sources: &SourceMap, opts: &RenderOptions) -> String {
    let safe = escaped(diag);
    let diag = &safe;
    let file = sources.get(diag.primary.span.file);
    let mut labels = Vec::new();
    let mut far_notes = Vec::new();
    let label_text = |t: &str| (!t.is_empty()).then(|| t.to_string());
    labels.push(LabeledSpan::new_primary_with_span(
        label_text(&diag.primary.text),
        (diag.primary.span.start, diag.primary.span.len()),
    ));
    for l in &diag.secondary {
        if l.span.file == diag.primary.span.file {
            labels.push(LabeledSpan::new_with_span(
                label_text(&l.text),
                (l.span.start, l.span.len()),
            ));
        } else {
            far_notes.push(format!("{}: {}", sources.location(l.span), l.text));
        }
    }
    let adapter = Adapter {
        diag,
        source: CharColumns(NamedSource::new(file.display_path(), file.text.clone())),
        labels,
    };
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(opts.width)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &adapter).is_err() {
        out = format!("{}: {}\n", sources.location(diag.primary.span), diag.title);
    }
    for note in far_notes.iter().chain(&diag.notes) {
        for line in note.lines() {
            out.push_str("  │ ");
            out.push_str(&super::visible(line));
            out.push('\n');
        }
    }
    out
}

/// The diagnostic with every text made [`super::visible`].
fn escaped(diag: &Diagnostic) -> Diagnostic {
    let v = |t: &str| super::visible(t).into_owned();
    let mut d = diag.clone();
    d.title = v(&d.title);
    d.primary.text = v(&d.primary.text);
    for l in &mut d.secondary {
        l.text = v(&l.text);
    }
    d.help = d.help.as_deref().map(v);
    d
}

/// Renders every diagnostic followed by a count line.
pub fn render_all(diags: &[Diagnostic], sources: &SourceMap, opts: &RenderOptions) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render(d, sources, opts));
        out.push('\n');
    }
    out
}
