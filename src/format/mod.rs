//! `dspec fmt`: one canonical layout for spec files. Comments stay where
//! they were: on their own line before the statement that follows them, or
//! at the end of the line they ended.

mod comments;

use std::fmt::Write;

use crate::ast::*;
use crate::source::SourceFile;
use comments::Comment;

const INDENT: &str = "  ";

/// `formatted` (whose lines end in `\n`) with the line endings of `original`: a file whose lines
/// mostly end in CRLF is written with CRLF throughout, any other with LF. `fmt` keeps a
/// Windows checkout's line endings instead of reporting every line as changed.
pub fn keep_line_endings(original: &str, formatted: String) -> String {
    let crlf = original.matches("\r\n").count();
    if crlf > 0 && crlf * 2 >= original.matches('\n').count() {
        formatted.replace('\n', "\r\n")
    } else {
        formatted
    }
}

/// A subject with one setting stays on one line up to this many characters
/// (its trailing comment not counted); a longer one is laid out as a block.
pub const MAX_WIDTH: usize = 100;

/// Whether a subject is printed as a block, one setting per line.
fn as_block(s: &Subject, indent: &str) -> bool {
    match s.settings.len() {
        0 => false,
        1 => indent.len() + one_line(s).chars().count() > MAX_WIDTH,
        _ => true,
    }
}

fn one_line(s: &Subject) -> String {
    format!("{} {{ {} }}", subject_head(s), s.settings[0])
}

struct Printer<'a> {
    file: &'a SourceFile,
    comments: Vec<Comment>,
    /// Per comment: already printed as a trailing comment.
    printed: Vec<bool>,
    next: usize,
    out: String,
    /// Line (1-based) of the last source line emitted.
    last_line: usize,
}

impl Printer<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.file.line_col(offset).0
    }

    /// Own-line comments before `line`, with the blank lines between kept
    /// (at most one).
    fn comments_before(&mut self, line: usize, indent: &str) {
        while self.next < self.comments.len() && self.comments[self.next].line < line {
            let c = self.comments[self.next].clone();
            if c.trailing {
                // A trailing comment of a line already printed: it was
                // attached there.
                self.next += 1;
                continue;
            }
            self.blank_between(c.line);
            let _ = writeln!(self.out, "{indent}{}", c.text);
            self.last_line = c.line;
            self.next += 1;
        }
        self.blank_between(line);
    }

    fn blank_between(&mut self, line: usize) {
        if self.last_line > 0
            && line > self.last_line + 1
            && self.has_blank(self.last_line, line)
            && !self.out.ends_with("{\n")
        {
            self.out.push('\n');
        }
    }

    /// Whether a blank line lies strictly between two source lines.
    fn has_blank(&self, a: usize, b: usize) -> bool {
        self.file
            .text
            .lines()
            .skip(a)
            .take(b.saturating_sub(a + 1))
            .any(|l| l.trim().is_empty())
    }

    /// The trailing comments of source lines `from..=to` not printed yet,
    /// joined (a one-line block prints its line's comment once, not after
    /// both its `{` and its `}`).
    fn trailing(&mut self, from: usize, to: usize) -> Option<String> {
        let mut found: Vec<&str> = Vec::new();
        for (c, printed) in self.comments.iter().zip(self.printed.iter_mut()) {
            if c.trailing && !*printed && (from..=to).contains(&c.line) {
                *printed = true;
                found.push(&c.text);
            }
        }
        (!found.is_empty()).then(|| found.join(" "))
    }

    /// Prints one output line for the source lines `from..=to`, with their
    /// trailing comments (none when `from` is 0).
    fn emit(&mut self, indent: &str, text: &str, from: usize, to: usize) {
        self.out.push_str(indent);
        self.out.push_str(text);
        if from > 0
            && let Some(c) = self.trailing(from, to)
        {
            self.out.push_str("  ");
            self.out.push_str(&c);
        }
        self.out.push('\n');
        self.last_line = self.last_line.max(to);
    }

    fn item(&mut self, item: &Item, indent: &str) {
        let span = item_span(item);
        let (start, end) = (
            self.line_of(span.start),
            self.line_of(span.end.saturating_sub(1).max(span.start)),
        );
        self.comments_before(start, indent);
        match item {
            Item::Subject(s) if as_block(s, indent) => {
                self.emit(indent, &format!("{} {{", subject_head(s)), start, start);
                let inner = format!("{indent}{INDENT}");
                for st in &s.settings {
                    let l = self.line_of(st.span.start);
                    self.comments_before(l, &inner);
                    let le = self.line_of(st.span.end.saturating_sub(1).max(st.span.start));
                    // Settings sharing a line with `{` left their comment there.
                    let from = if le == start { 0 } else { l };
                    self.emit(&inner, &st.to_string(), from, le);
                }
                self.comments_before(end, &inner);
                self.emit(indent, "}", end, end);
            }
            Item::Criterion(c) => {
                for a in &c.attributes {
                    let l = self.line_of(a.span.start);
                    self.emit(indent, &attribute(a), l, l);
                }
                let head_line = self.line_of(c.id.span.start);
                let title = c
                    .title
                    .as_ref()
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default();
                self.emit(
                    indent,
                    &format!("criterion {}{title} {{", c.id.name),
                    head_line,
                    head_line,
                );
                let inner = format!("{indent}{INDENT}");
                for i in &c.body {
                    self.item(i, &inner);
                }
                self.comments_before(end, &inner);
                self.emit(indent, "}", end, end);
            }
            other => {
                let text = item_text(other);
                self.emit(indent, &text, start, end);
            }
        }
    }
}

fn attribute(a: &Attribute) -> String {
    let mut t = format!("@{}", a.name.name);
    for k in &a.args {
        let _ = write!(t, " {k}");
    }
    t
}

fn subject_head(s: &Subject) -> String {
    let source = match &s.source {
        Source::Build(v) => format!("build {v}"),
        Source::Existing(v) => format!("existing {v}"),
        Source::Run(i) => format!("run {}", i.name),
        Source::Compose(v) => format!("compose {v}"),
        Source::Host(v) => format!("host {v}"),
        Source::Request(p) => p.to_string(),
    };
    format!("{} {} = {source}", s.kind.word(), s.name.name)
}

/// One statement as canonical text (blocks on one line: used for
/// comparing files, not for printing them).
pub fn item_text(item: &Item) -> String {
    match item {
        Item::Story(s) => match &s.title {
            Some(t) => format!("story {} {t}", s.id),
            None => format!("story {}", s.id),
        },
        Item::Let(l) => format!("let {} = {}", l.name.name, l.value),
        Item::Subject(s) if s.settings.is_empty() => subject_head(s),
        Item::Subject(s) if s.settings.len() == 1 => one_line(s),
        Item::Subject(s) => {
            let settings: Vec<String> = s.settings.iter().map(ToString::to_string).collect();
            format!("{} {{ {} }}", subject_head(s), settings.join("; "))
        }
        Item::Criterion(c) => {
            let attrs: Vec<String> = c.attributes.iter().map(attribute).collect();
            let body: Vec<String> = c.body.iter().map(item_text).collect();
            let title = c
                .title
                .as_ref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            format!(
                "{}criterion {}{title} {{ {} }}",
                attrs.iter().map(|a| format!("{a}; ")).collect::<String>(),
                c.id.name,
                body.join("; ")
            )
        }
        Item::Expect(e) => e.to_string(),
        Item::Do(d) => d.to_string(),
    }
}

fn item_span(item: &Item) -> crate::source::Span {
    match item {
        Item::Story(s) => s.span,
        Item::Let(l) => l.span,
        Item::Subject(s) => s.span,
        Item::Criterion(c) => match c.attributes.first() {
            Some(a) => a.span.to(c.span),
            None => c.span,
        },
        Item::Expect(e) => e.span,
        Item::Do(d) => d.span,
    }
}

/// The canonical text of a parsed file.
pub fn format(file: &SourceFile, ast: &SpecFile) -> String {
    let comments = comments::collect(&file.text);
    let mut p = Printer {
        file,
        printed: vec![false; comments.len()],
        comments,
        next: 0,
        out: String::new(),
        last_line: 0,
    };
    for item in &ast.items {
        p.item(item, "");
    }
    p.comments_before(usize::MAX, "");
    p.out
}

/// Runs `dspec fmt`; returns the exit code.
pub fn run(
    paths: &[std::path::PathBuf],
    check: bool,
    render: &crate::diag::RenderOptions,
    diff_color: bool,
) -> i32 {
    use crate::output::{errln, noteln, out};
    let (files, unreadable) = crate::load::expand(paths);
    let mut status = crate::exit_code::OK;
    for (p, why) in &unreadable {
        errln!(
            "error[{}]: cannot read `{}`: {why}",
            crate::diag::Code::Unreadable,
            p.display()
        );
        status = crate::exit_code::INVALID;
    }
    let mut sources = crate::source::SourceMap::new();
    let mut unformatted = 0;
    for path in files {
        let stdin = crate::load::is_stdin(&path);
        let text = match crate::load::read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                errln!(
                    "error[{}]: cannot read `{}`: {e}",
                    crate::diag::Code::Unreadable,
                    path.display()
                );
                status = crate::exit_code::INVALID;
                continue;
            }
        };
        let shown = crate::load::shown_path(&path);
        let id = sources.add(shown.clone(), text.clone());
        let (ast, errors) = crate::parse::parse_file(sources.get(id));
        let Some(ast) = ast.filter(|_| errors.is_empty()) else {
            crate::output::err(&crate::diag::render_all(&errors, &sources, render));
            status = crate::exit_code::INVALID;
            continue;
        };
        let formatted = keep_line_endings(&text, format(sources.get(id), &ast));
        if stdin && !check {
            // `dspec fmt -`: the formatted text on standard output, always.
            out(&formatted);
            continue;
        }
        if formatted == text {
            continue;
        }
        unformatted += 1;
        if check {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            let body = diff.unified_diff().context_radius(2).to_string();
            out(&colored_diff(
                &format!(
                    "--- {}\n+++ {} (formatted)\n{body}",
                    shown.display(),
                    shown.display()
                ),
                diff_color,
            ));
        } else if let Err(e) = std::fs::write(&path, &formatted) {
            errln!("error: cannot write `{}`: {e}", path.display());
            status = crate::exit_code::INFRA;
        } else {
            noteln!("formatted {}", path.display());
        }
    }
    if check && unformatted > 0 && status == crate::exit_code::OK {
        errln!(
            "{unformatted} file{} not formatted: run `dspec fmt`",
            if unformatted == 1 { "" } else { "s" }
        );
        return crate::exit_code::FAILED;
    }
    status
}

/// A unified diff with removed lines in red and added ones in green.
fn colored_diff(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    let mut out = String::new();
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("---") || body.starts_with("+++") {
            "1"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\x1b[{code}m{body}\x1b[0m{nl}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceMap;

    fn fmt(text: &str) -> String {
        let mut sources = SourceMap::new();
        let id = sources.add("x.dspec", text.to_string());
        let (ast, errors) = crate::parse::parse_file(sources.get(id));
        assert!(errors.is_empty(), "{text}");
        format(sources.get(id), &ast.unwrap())
    }

    #[test]
    fn one_setting_stays_on_its_line_up_to_the_width() {
        let short = "image app = build \".\" { target \"prod\" }\n";
        assert_eq!(fmt(short), short);
        let long_cmd = format!("sleep {}", "1".repeat(80));
        let long = format!("command c = host \"{long_cmd}\" {{ timeout 5s }}  # slow\n");
        assert!(long.trim_end().len() > MAX_WIDTH);
        let block = format!("command c = host \"{long_cmd}\" {{  # slow\n  timeout 5s\n}}\n");
        assert_eq!(fmt(&long), block);
        assert_eq!(fmt(&block), block, "idempotent");
    }

    #[test]
    fn a_one_line_block_keeps_its_comment_once() {
        let text = "image a = build \".\" { target \"x\"; tag \"y\" }  # note\n\
                    criterion A { expect a.built }  # c2\n";
        let out = fmt(text);
        assert_eq!(
            out,
            "image a = build \".\" {  # note\n  target \"x\"\n  tag \"y\"\n}\n\
             criterion A {  # c2\n  expect a.built\n}\n"
        );
        assert_eq!(fmt(&out), out, "idempotent");
    }

    #[test]
    fn the_width_counts_the_indentation() {
        // Exactly MAX_WIDTH at top level: one line.
        let head = "command c = host \"\" { timeout 5s }".len();
        let cmd = "x".repeat(MAX_WIDTH - head);
        let line = format!("command c = host \"{cmd}\" {{ timeout 5s }}\n");
        assert_eq!(line.trim_end().len(), MAX_WIDTH);
        assert_eq!(fmt(&line), line);
    }
}
