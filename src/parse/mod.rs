//! Text → AST. The grammar is `grammar/dspec.pest`; pest's `Rule` enum
//! stays inside this module.

mod chunk;
mod grammar;
mod literal;
mod lower;
mod rule_name;

use pest::Parser;

use crate::ast::{Item, SpecFile};
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

/// At most this many syntax errors are reported per file; past them, the rest of the file is
/// not parsed.
const MAX_SYNTAX_ERRORS: usize = 100;

/// Parses one file, one top-level statement at a time (see `chunk`): every statement's
/// syntax error is reported, an unclosed bracket at its opening. The AST holds every
/// statement that parsed, so it is partial when there are syntax errors; literal errors (bad
/// units, escapes, regexes) come back beside it.
pub fn parse_file(file: &SourceFile) -> (Option<SpecFile>, Vec<Diagnostic>) {
    parse_file_with(file, false)
}

/// [`parse_file`] for a compiler that consumes the tree (`dspec validate`, `check`, `plan`):
/// the expectations and actions, top-level or in criteria, are left out of the tree and the
/// statements that hold them recorded in [`SpecFile::deferred`]; [`reparse`] parses each again
/// as it compiles. A large spec's whole tree is then never held beside its compiled checks.
/// The diagnostics are those of [`parse_file`].
pub fn parse_file_lean(file: &SourceFile) -> (Option<SpecFile>, Vec<Diagnostic>) {
    parse_file_with(file, true)
}

/// The statements at `start..end` of a file that parsed cleanly (a range of
/// [`SpecFile::deferred`]), parsed again.
pub fn reparse(file: &SourceFile, start: usize, end: usize) -> Vec<Item> {
    let mut lowerer = lower::Lowerer {
        file: file.id,
        text: &file.text,
        base: start,
        errors: Vec::new(),
        units: None,
    };
    let mut items = Vec::new();
    if let Ok(pairs) = DspecParser::parse(Rule::file, &file.text[start..end]) {
        lowerer.items(pairs, &mut items);
    }
    items
}

fn parse_file_with(file: &SourceFile, lean: bool) -> (Option<SpecFile>, Vec<Diagnostic>) {
    let text: &str = &file.text;
    let mut lowerer = lower::Lowerer {
        file: file.id,
        text,
        base: 0,
        errors: Vec::new(),
        units: None,
    };
    let mut items = Vec::new();
    let mut deferred = Vec::new();
    let mut syntax: Vec<Diagnostic> = Vec::new();
    for c in chunk::split(text) {
        if syntax.len() >= MAX_SYNTAX_ERRORS {
            break;
        }
        if let Some(first) = c.unclosed.first() {
            syntax.push(unclosed_error(file, first, c.unclosed.len()));
            continue;
        }
        let before = items.len();
        parse_statement(file, c.start, c.end, &mut lowerer, &mut items, &mut syntax);
        if lean
            && items[before..]
                .iter()
                .any(|i| matches!(i, Item::Criterion(_) | Item::Expect(_) | Item::Do(_)))
        {
            deferred.push((c.start, c.end));
            for item in items.split_off(before) {
                match item {
                    Item::Expect(_) | Item::Do(_) => {}
                    Item::Criterion(mut cr) => {
                        cr.body = Vec::new();
                        items.push(Item::Criterion(cr));
                    }
                    other => items.push(other),
                }
            }
        }
    }
    items.shrink_to_fit();
    deferred.shrink_to_fit();
    let ast = SpecFile {
        file: file.id,
        items,
        deferred,
    };
    let mut errors = syntax;
    errors.append(&mut lowerer.errors);
    // In the order of the file: syntax errors and literal errors interleave.
    errors.sort_by_key(|d| d.primary.span.start);
    (Some(ast), errors)
}

/// Parses the statement at `start..end`. After a syntax error on a line inside its block (a
/// criterion's `expect`, a subject's setting), that line is blanked and the statement parsed
/// again, so each of its lines is reported once.
fn parse_statement(
    file: &SourceFile,
    start: usize,
    end: usize,
    lowerer: &mut lower::Lowerer<'_>,
    items: &mut Vec<crate::ast::Item>,
    syntax: &mut Vec<Diagnostic>,
) {
    let mut blanked: Option<String> = None;
    while syntax.len() < MAX_SYNTAX_ERRORS {
        let src = blanked.as_deref().unwrap_or(&file.text[start..end]);
        let err = match DspecParser::parse(Rule::file, src) {
            Ok(pairs) => {
                lowerer.base = start;
                lowerer.items(pairs, items);
                return;
            }
            Err(e) => e,
        };
        let pos = match err.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        syntax.push(syntax_error(file, start + pos, err));
        // The line of the error, when it is neither the statement's first line nor its last.
        let line_start = src[..pos].rfind('\n').map_or(0, |n| n + 1);
        let line_end = src[pos..].find('\n').map_or(src.len(), |n| pos + n);
        let first_line = src[..line_start].trim().is_empty()
            || src[..line_start]
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with(['#', '@']));
        let line = src[line_start..line_end].trim();
        if first_line || line.is_empty() || line.starts_with('}') || line_end == src.len() {
            return;
        }
        let mut text = src.to_string();
        // The line is found by `\n`, which is ASCII, so both ends are on character boundaries;
        // spaces keep every offset of the statement.
        text.replace_range(line_start..line_end, &" ".repeat(line_end - line_start));
        blanked = Some(text);
    }
}

fn unclosed_error(file: &SourceFile, u: &chunk::Unclosed, count: usize) -> Diagnostic {
    let (open, close, what) = match u.bracket {
        b'{' => ('{', '}', "block"),
        b'(' => ('(', ')', "call"),
        _ => ('[', ']', "list or index"),
    };
    let noticed = if u.noticed >= file.text.len() {
        "the end of the file".to_string()
    } else {
        let (line, _) = file.line_col(u.noticed);
        format!("line {line}")
    };
    let mut d = Diagnostic::error(
        Code::Syntax,
        Span::new(file.id, u.open, u.open + 1),
        format!("this `{open}` is never closed"),
    )
    .label(format!("this {what} is not closed before {noticed}"))
    .help(format!(
        "add the `{close}` where the {what} ends{}",
        if count > 1 {
            format!(" ({count} brackets of this statement are not closed)")
        } else {
            String::new()
        }
    ));
    if u.noticed < file.text.len() {
        d = d.secondary(
            Span::new(file.id, u.noticed, u.noticed),
            format!("expected `{close}` before this statement"),
        );
    }
    d
}

fn syntax_error(file: &SourceFile, pos: usize, err: pest::error::Error<Rule>) -> Diagnostic {
    let text: &str = &file.text;
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
    // `200 MB`, `30 seconds`: a unit separated from its number.
    let trimmed = line_before.trim_end();
    if trimmed.len() < line_before.len()
        && trimmed.ends_with(|c: char| c.is_ascii_digit())
        && (found == "%" || found.chars().all(|c| c.is_ascii_alphabetic()))
    {
        let num: String = trimmed
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let fix = if found == "%" {
            Some(format!("`{num}%`"))
        } else {
            literal::alias_fix(&num, found, None)
        };
        if let Some(fix) = fix {
            let start = pos - (line_before.len() - trimmed.len()) - num.len();
            let title = if fix.starts_with(&format!("`{num}{found}`")) {
                format!("a unit follows its number without a space: `{num}{found}`")
            } else {
                format!(
                    "`{num} {found}` is written {}",
                    fix.split(' ').next().unwrap_or(&fix)
                )
            };
            return Some(
                Diagnostic::error(
                    Code::BadNumber,
                    Span::new(file.id, start, pos + found.len()),
                    title,
                )
                .label("a number and its unit")
                .help(format!("write {fix}")),
            );
        }
    }
    // `health is "healthy"`: `is` takes `empty` or `json`.
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    if matches!(words.last(), Some(&"is") | Some(&"not"))
        && (words.last() == Some(&"is") || words.iter().rev().nth(1) == Some(&"is"))
        && !found.is_empty()
        && !matches!(found, "empty" | "json" | "not" | "\n" | "\r\n")
    {
        let negated = words.last() == Some(&"not");
        let is_start = pos - (line_before.len() - line_before.rfind("is").unwrap_or(0));
        let op = if negated { "!=" } else { "==" };
        return Some(
            Diagnostic::error(
                Code::Syntax,
                Span::new(file.id, is_start, pos + found.len()),
                format!("`is` takes `empty` or `json`, not a value: compare with `{op}`"),
            )
            .label(format!("write `{op} {found}`"))
            .help(format!(
                "`is empty`, `is not empty`, `is json` and `is not json` test a value; compare it with `{op} {found}`"
            )),
        );
    }
    // `run("x", entrypoint: "")`: arguments are positional.
    if found == ":" && line_before.matches('(').count() > line_before.matches(')').count() {
        let name: String = trimmed
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            let start = pos - (line_before.len() - trimmed.len()) - name.len();
            let help = if crate::compile::settings::kind_of_name(&name).is_some() {
                format!(
                    "calls take their arguments in order, without names; `{name}` is a setting: give it to a subject, as in `task t = run IMAGE {{ {name} ... }}` or `container c = run IMAGE {{ {name} ... }}`"
                )
            } else {
                "calls take their arguments in order, without names: `run(\"CMD\")`, `get(\"/path\")`, `stop(30s)`".to_string()
            };
            return Some(
                Diagnostic::error(
                    Code::Syntax,
                    Span::new(file.id, start, pos + 1),
                    format!("`{name}:` names an argument, and calls take no named arguments"),
                )
                .label("a named argument")
                .help(help),
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
