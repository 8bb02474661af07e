//! Text → AST. The grammar is `grammar/dspec.pest`; pest's `Rule` enum
//! stays inside this module.

mod grammar;
mod literal;
mod lower;
mod rule_name;

use pest::Parser;

use crate::ast::SpecFile;
use crate::diag::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use grammar::{DspecParser, Rule};

/// A duration written as in specs (`90s`, `5m`), for command-line options.
pub fn duration_arg(text: &str) -> Result<std::time::Duration, String> {
    let file = crate::source::FileId(0);
    match literal::quantity(text, Span::new(file, 0, text.len())) {
        Ok(crate::ast::Literal::Duration(d)) => Ok(d.duration),
        Ok(_) => Err(format!("`{text}` is not a duration: write `90s` or `5m`")),
        Err(d) => Err(format!(
            "{}{}",
            d.title,
            d.help.map(|h| format!(" ({h})")).unwrap_or_default()
        )),
    }
}

/// Parses one file. On a syntax error the file has no AST; literal errors
/// (bad units, escapes, regexes) come back beside a complete AST.
pub fn parse_file(file: &SourceFile) -> (Option<SpecFile>, Vec<Diagnostic>) {
    match DspecParser::parse(Rule::file, &file.text) {
        Ok(pairs) => {
            let mut lowerer = lower::Lowerer {
                file: file.id,
                text: &file.text,
                errors: Vec::new(),
            };
            let ast = lowerer.file(pairs);
            (Some(ast), lowerer.errors)
        }
        Err(e) => (None, vec![syntax_error(file, e)]),
    }
}

fn syntax_error(file: &SourceFile, err: pest::error::Error<Rule>) -> Diagnostic {
    let text: &str = &file.text;
    let pos = match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let found = found_token(text, pos);
    let span = Span::new(file.id, pos, pos + found.len());
    if let Some(d) = hint(file, pos, &found) {
        return d;
    }
    let positives = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut phrases: Vec<&'static str> = Vec::new();
    for r in &positives {
        if let Some(p) = rule_name::phrase(*r)
            && !phrases.contains(&p)
        {
            phrases.push(p);
        }
    }
    let expected = match phrases.len() {
        0 => "something else".to_string(),
        1 => phrases[0].to_string(),
        n => format!("{} or {}", phrases[..n - 1].join(", "), phrases[n - 1]),
    };
    let shown = describe_found(&found);
    Diagnostic::error(
        Code::Syntax,
        span,
        format!("expected {expected}, found {shown}"),
    )
    .label(format!("expected {expected}"))
    .help(rule_name::help(&positives, &found))
}

fn describe_found(found: &str) -> String {
    match found {
        "" => "the end of the file".to_string(),
        "\n" | "\r\n" => "the end of the line".to_string(),
        f => format!("`{f}`"),
    }
}

/// The token at `pos`, for the message: a word, a number, or one character.
fn found_token(text: &str, pos: usize) -> String {
    let rest = &text[pos.min(text.len())..];
    let mut chars = rest.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    if first == '\r' && rest.starts_with("\r\n") {
        return "\r\n".into();
    }
    if first.is_alphanumeric() || first == '_' {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
            .unwrap_or(rest.len());
        return rest[..end].trim_end_matches('.').to_string();
    }
    if first == '"' {
        let end = rest[1..]
            .find(['"', '\n'])
            .map(|i| i + 2)
            .unwrap_or(rest.len());
        return rest[..end.min(rest.len())]
            .trim_end_matches('\n')
            .to_string();
    }
    for op in ["==", "!=", "<=", ">=", "=>", "=<", ".."] {
        if rest.starts_with(op) {
            return op.to_string();
        }
    }
    first.to_string()
}

/// Hand-written messages for the mistakes people make most.
fn hint(file: &SourceFile, pos: usize, found: &str) -> Option<Diagnostic> {
    let text: &str = &file.text;
    let before = &text[..pos.min(text.len())];
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let span = Span::new(file.id, pos, pos + found.len());
    // `200 MB`: a unit separated from its number.
    let trimmed = line_before.trim_end();
    if trimmed.len() < line_before.len() && trimmed.ends_with(|c: char| c.is_ascii_digit()) {
        let units = [
            "B", "kB", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "ms", "s", "m", "h", "%",
        ];
        if let Some(unit) = units.iter().find(|u| **u == found) {
            let num: String = trimmed
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let start = pos - (line_before.len() - trimmed.len()) - num.len();
            return Some(
                Diagnostic::error(
                    Code::BadNumber,
                    Span::new(file.id, start, pos + unit.len()),
                    format!("a unit follows its number without a space: `{num}{unit}`"),
                )
                .label("space between number and unit")
                .help(format!("write `{num}{unit}`")),
            );
        }
    }
    if found == "=>" || found == "=<" {
        let right = if found == "=>" { ">=" } else { "<=" };
        return Some(
            Diagnostic::error(Code::Syntax, span, format!("`{found}` is not an operator"))
                .label("here")
                .help(format!("write `{right}`")),
        );
    }
    if found == "=" && line_before.trim_start().starts_with("expect") {
        return Some(
            Diagnostic::error(Code::Syntax, span, "`=` is not a comparison")
                .label("here")
                .help("compare with `==`"),
        );
    }
    const RESERVED: &[&str] = &[
        "true", "false", "in", "is", "not", "matches", "contains", "within", "for", "at",
    ];
    let word_before = line_before.trim_end().rsplit(' ').next().unwrap_or("");
    let names_here = matches!(
        word_before,
        "let" | "image" | "container" | "stack" | "command" | "criterion" | "expect" | "do" | "run"
    );
    if names_here && RESERVED.contains(&found) {
        return Some(
            Diagnostic::error(Code::Syntax, span, format!("`{found}` is a reserved word"))
                .label("a name was expected here")
                .help(format!(
                    "reserved words ({}) cannot name a subject or a `let`, or start a path",
                    RESERVED.join(", ")
                )),
        );
    }
    if let Some(at) = line_before.rfind("${")
        && !line_before[at..].contains('}')
    {
        let open = pos - line_before.len() + at;
        return Some(
            Diagnostic::error(
                Code::Syntax,
                Span::new(file.id, open, pos.max(open + 2)),
                "`${` must be followed by a name and `}`",
            )
            .label("an interpolation starts here")
            .help("write `${NAME}` for a `let` or `--var` value; `\\${` is a literal `${`, as in `\\${#VAR}`"),
        );
    }
    let quotes = line_before
        .replace("\\\\", "")
        .replace("\\\"", "")
        .matches('"')
        .count();
    if quotes % 2 == 1 {
        let open = before.rfind('"').unwrap_or(pos);
        return Some(
            Diagnostic::error(
                Code::Syntax,
                Span::new(file.id, open, pos),
                "unterminated string",
            )
            .label("this string has no closing `\"`")
            .help("close the string on the same line; write `\\n` for a line break"),
        );
    }
    const STATEMENTS: &[&str] = &[
        "story",
        "let",
        "image",
        "container",
        "stack",
        "command",
        "criterion",
        "expect",
        "do",
    ];
    if line_before.trim().is_empty()
        && !found.is_empty()
        && found.chars().all(|c| c.is_alphanumeric() || c == '_')
        && let Some(kw) = crate::diag::suggest::closest(found, STATEMENTS.iter().copied())
    {
        return Some(
            Diagnostic::error(Code::Syntax, span, format!("unknown statement `{found}`"))
                .label("a statement starts here")
                .help(format!("did you mean `{kw}`?")),
        );
    }
    if found.starts_with('"') && !found.ends_with('"') || found == "\"" {
        return Some(
            Diagnostic::error(Code::Syntax, span, "unterminated string")
                .label("this string has no closing `\"`")
                .help("close the string on the same line; write `\\n` for a line break"),
        );
    }
    None
}
