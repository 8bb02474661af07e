//! What the editor asks about a position: completion, hover, definition; and the outline.
//! Everything reads the (possibly partial) AST of the buffer and the property and settings
//! tables, the same ones the compiler checks against.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, DocumentSymbol, Documentation,
    MarkupContent, MarkupKind, SymbolKind, TextEdit,
};

use super::lines::Lines;
use crate::ast::{Item, SpecFile, SubjectKind};
use crate::compile::property::{self, Form, Prop};
use crate::compile::settings;
use crate::compile::types::{Owner, Ty};
use crate::source::Span;

/// A subject or a `let` of the buffer.
pub struct Decl {
    pub name: String,
    /// The subject's kind, or None for a `let`.
    pub kind: Option<SubjectKind>,
    /// `build`, `existing`, `run`...
    pub source: &'static str,
    pub name_span: Span,
    pub span: Span,
}

pub fn decls(ast: &SpecFile) -> Vec<Decl> {
    ast.items
        .iter()
        .filter_map(|i| match i {
            Item::Subject(s) => Some(Decl {
                name: s.name.name.clone(),
                kind: Some(s.kind),
                source: s.source.keyword(),
                name_span: s.name.span,
                span: s.span,
            }),
            Item::Let(l) => Some(Decl {
                name: l.name.name.clone(),
                kind: None,
                source: "let",
                name_span: l.name.span,
                span: l.span,
            }),
            _ => None,
        })
        .collect()
}

fn owner_of(kind: SubjectKind) -> Option<Owner> {
    match kind {
        SubjectKind::Image => Some(Owner::Image),
        SubjectKind::Container => Some(Owner::Container),
        SubjectKind::Stack => Some(Owner::Stack),
        SubjectKind::Command => Some(Owner::Command),
        SubjectKind::Task | SubjectKind::Request => None,
    }
}

/// The owner whose properties follow a value of this type.
fn owner_of_ty(ty: Ty) -> Option<Owner> {
    match ty {
        Ty::Obj(o) => Some(o),
        Ty::List => Some(Owner::List),
        Ty::Json => Some(Owner::Json),
        _ => None,
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// The path written just before `end` on its line (`api.get("/x").json`), with calls and
/// indexes kept whole: scanning back stops at a space or an operator outside brackets.
fn path_before(line: &str) -> &str {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut start = line.len();
    for (i, c) in line.char_indices().rev() {
        if in_string {
            if c == '"' {
                in_string = false;
            }
            start = i;
            continue;
        }
        match c {
            '"' if depth > 0 => in_string = true,
            ')' | ']' => depth += 1,
            '(' | '[' if depth > 0 => depth -= 1,
            c if depth > 0 || is_name_char(c) || c == '.' => {}
            _ => break,
        }
        start = i;
    }
    &line[start..]
}

/// Splits `api.get("/x").json` into its head and segment names, calls' arguments dropped.
fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut seg_start = 0;
    let mut in_string = false;
    for (i, c) in path.char_indices() {
        if in_string {
            in_string = c != '"';
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' => {
                if depth == 0 {
                    out.push(&path[seg_start..i]);
                    seg_start = usize::MAX;
                }
                depth += 1;
            }
            ')' | ']' => depth -= 1,
            '.' if depth == 0 => {
                if seg_start != usize::MAX {
                    out.push(&path[seg_start..i]);
                }
                seg_start = i + 1;
            }
            _ => {}
        }
    }
    if seg_start != usize::MAX {
        out.push(&path[seg_start.min(path.len())..]);
    }
    out
}

/// Walks `segs` (head first) to the property the last one names, and the owner after it.
fn walk(decls: &[Decl], segs: &[&str]) -> Option<(Option<&'static Prop>, Owner)> {
    let (head, rest) = segs.split_first()?;
    let decl = decls.iter().find(|d| d.name == *head)?;
    let mut owner = owner_of(decl.kind?)?;
    let mut prop = None;
    for s in rest {
        let p = property::lookup(owner, s)?;
        prop = Some(p);
        match owner_of_ty(p.ty) {
            Some(o) => owner = o,
            None => return Some((prop, owner)),
        }
    }
    Some((prop, owner))
}

fn markdown(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    })
}

/// `file(PATH)`, `size`: a property as written.
fn signature(p: &Prop) -> String {
    match p.form {
        Form::Field => p.name.to_string(),
        Form::Call(args) => {
            let a: Vec<&str> = args.iter().map(|a| a.name).collect();
            format!("{}({})", p.name, a.join(", "))
        }
    }
}

fn property_item(p: &Prop) -> CompletionItem {
    CompletionItem {
        label: p.name.to_string(),
        kind: Some(if matches!(p.form, Form::Call(_)) {
            CompletionItemKind::METHOD
        } else {
            CompletionItemKind::PROPERTY
        }),
        detail: Some(format!("{}: {}", signature(p), p.ty.describe())),
        documentation: Some(markdown(p.doc.to_string())),
        ..Default::default()
    }
}

const STATEMENTS: &[(&str, &str)] = &[
    (
        "story",
        "`story \"ID\" \"TITLE\"`: the story this file checks",
    ),
    (
        "let",
        "`let NAME = VALUE`: a value named once, used as `NAME` or `${NAME}`",
    ),
    (
        "image",
        "`image NAME = build \"CONTEXT\" { ... }` or `existing \"REF\"`",
    ),
    ("container", "`container NAME = run IMAGE { ... }`"),
    ("stack", "`stack NAME = compose \"FILE\" { ... }`"),
    ("command", "`command NAME = host \"CMD\" { ... }`"),
    (
        "task",
        "`task NAME = run IMAGE { ... }`: a container run to completion",
    ),
    (
        "request",
        "`request NAME = SUBJECT.METHOD(\"PATH\") { ... }`: an HTTP request",
    ),
    (
        "criterion",
        "`criterion ID \"TITLE\" { expect ... }`: an acceptance criterion",
    ),
    ("expect", "`expect PATH OP VALUE [within|for DURATION]`"),
    ("do", "`do PATH`: performs an action (`do api.restart()`)"),
];

fn keyword_items(words: &[(&str, &str)]) -> Vec<CompletionItem> {
    words
        .iter()
        .map(|(w, doc)| CompletionItem {
            label: w.to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            documentation: Some(markdown(doc.to_string())),
            ..Default::default()
        })
        .collect()
}

/// The subject block the cursor is in, when its `{` is still open before the cursor: the
/// subject's kind and source keyword.
fn enclosing_block(text: &str, offset: usize) -> Option<(SubjectKind, &'static str)> {
    let before = &text[..offset];
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth > 0 => depth -= 1,
            '{' => {
                let line_start = before[..i].rfind('\n').map_or(0, |n| n + 1);
                let words: Vec<&str> = before[line_start..i].split_whitespace().collect();
                let kind = match words.first().copied()? {
                    "image" => SubjectKind::Image,
                    "container" => SubjectKind::Container,
                    "stack" => SubjectKind::Stack,
                    "command" => SubjectKind::Command,
                    "task" => SubjectKind::Task,
                    // `request NAME = api.get("/x") {`: one table, whatever the method.
                    "request" => return Some((SubjectKind::Request, "request")),
                    _ => return None,
                };
                let source = match words.get(3).copied()? {
                    "build" => "build",
                    "existing" => "existing",
                    "run" => "run",
                    "compose" => "compose",
                    "host" => "host",
                    _ => return None,
                };
                return Some((kind, source));
            }
            _ => {}
        }
    }
    None
}

fn in_criterion(text: &str, offset: usize) -> bool {
    let before = &text[..offset];
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            '}' => depth += 1,
            '{' if depth > 0 => depth -= 1,
            '{' => {
                let line_start = before[..i].rfind('\n').map_or(0, |n| n + 1);
                return before[line_start..i].trim_start().starts_with("criterion");
            }
            _ => {}
        }
    }
    false
}

/// Backticked words of a property's doc: its values (`health`: `healthy`, `unhealthy`...).
fn doc_values(doc: &str) -> Vec<&str> {
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_alphanumeric() || "_-/.:".contains(c))
        })
        .collect()
}

pub fn complete(text: &str, offset: usize, ast: &SpecFile, lines: &Lines) -> Vec<CompletionItem> {
    let decls = decls(ast);
    let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
    let line = &text[line_start..offset];
    let trimmed = line.trim_start();
    // A statement or a setting being started.
    if trimmed.chars().all(is_name_char) {
        if let Some((kind, source)) = enclosing_block(text, offset) {
            return settings::table(kind, source)
                .iter()
                .map(|s| CompletionItem {
                    label: s.name.to_string(),
                    kind: Some(CompletionItemKind::FIELD),
                    detail: Some(setting_shape(s)),
                    documentation: Some(markdown(s.doc.to_string())),
                    ..Default::default()
                })
                .collect();
        }
        if in_criterion(text, offset) {
            // Inside a criterion: `expect` and `do` only.
            return keyword_items(&STATEMENTS[STATEMENTS.len() - 2..]);
        }
        return keyword_items(STATEMENTS);
    }
    // A number being written: the units of what it is compared with.
    let word_start = line
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '.')
        .last()
        .map_or(line.len(), |(i, _)| i);
    let word = &line[word_start..];
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        let num: String = word
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let units = unit_context(&line[..word_start], &decls);
        let range = lines.range(text, line_start + word_start, offset);
        return units
            .iter()
            .map(|(u, doc)| CompletionItem {
                label: format!("{num}{u}"),
                kind: Some(CompletionItemKind::UNIT),
                detail: Some(doc.to_string()),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range,
                    new_text: format!("{num}{u}"),
                })),
                ..Default::default()
            })
            .collect();
    }
    // A value after a comparison: the values the property's doc names.
    let compared = trimmed
        .rsplit_once("== ")
        .or_else(|| trimmed.rsplit_once("!= "))
        .filter(|(_, after)| !after.contains(' '));
    if let Some((left, _)) = compared {
        let path = path_before(left.trim_end());
        if let Some((Some(p), _)) = walk(&decls, &segments(path))
            && p.ty == Ty::Text
        {
            return doc_values(p.doc)
                .into_iter()
                .map(|v| CompletionItem {
                    label: format!("\"{v}\""),
                    kind: Some(CompletionItemKind::ENUM_MEMBER),
                    detail: Some(format!("a value of `{}`", p.name)),
                    ..Default::default()
                })
                .collect();
        }
    }
    // A property after a dot, or a subject at the start of a path.
    let path = path_before(line);
    let segs = segments(path);
    if segs.len() >= 2 {
        let Some((_, owner)) = walk(&decls, &segs[..segs.len() - 1]) else {
            return Vec::new();
        };
        return property::rows(owner)
            .filter(|p| p.name != "*")
            .map(property_item)
            .collect();
    }
    decls
        .iter()
        .map(|d| CompletionItem {
            label: d.name.clone(),
            kind: Some(match d.kind {
                None => CompletionItemKind::VARIABLE,
                Some(_) => CompletionItemKind::CLASS,
            }),
            detail: Some(match d.kind {
                Some(k) => format!("{} = {}", k.word(), d.source),
                None => "let".to_string(),
            }),
            ..Default::default()
        })
        .collect()
}

fn setting_shape(s: &settings::SettingDef) -> String {
    match s.shape {
        settings::Shape::Flag => s.name.to_string(),
        settings::Shape::Value(k) => format!("{} {}", s.name, k.describe()),
        settings::Shape::KeyValue(k) => format!("{} KEY = {}", s.name, k.describe()),
        settings::Shape::At => format!("{} \"HOST\" at \"PATH\"", s.name),
    }
}

const SIZE_UNITS: &[(&str, &str)] = &[
    ("MB", "megabytes (10^6 bytes, as `docker images` prints)"),
    ("MiB", "mebibytes (2^20 bytes, as `docker stats` prints)"),
    ("GB", "gigabytes (10^9 bytes)"),
    ("GiB", "gibibytes (2^30 bytes)"),
    ("KB", "kilobytes (1000 bytes)"),
    ("KiB", "kibibytes (1024 bytes)"),
    ("B", "bytes"),
];
const DURATION_UNITS: &[(&str, &str)] = &[
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("m", "minutes"),
    ("h", "hours"),
];

/// Units for a number written after `before` on its line.
fn unit_context(before: &str, decls: &[Decl]) -> Vec<(&'static str, &'static str)> {
    let t = before.trim_end();
    if t.ends_with("within") || t.ends_with("for") || t.ends_with("timeout") {
        return DURATION_UNITS.to_vec();
    }
    let left = t.trim_end_matches(['<', '>', '=', '!', ' ']).trim_end();
    let left = left.strip_suffix(" in").unwrap_or(left);
    let ty = walk(decls, &segments(path_before(left)))
        .and_then(|(p, _)| p.map(|p| p.ty))
        .or_else(|| {
            // A setting: `memory 256`, `timeout 30`.
            let name = t.split_whitespace().last()?;
            match settings::kind_of_name(name)? {
                settings::Kind::Size => Some(Ty::Size),
                settings::Kind::Duration => Some(Ty::Duration),
                _ => None,
            }
        });
    match ty {
        Some(Ty::Size) => SIZE_UNITS.to_vec(),
        Some(Ty::Duration) => DURATION_UNITS.to_vec(),
        Some(Ty::Percent) => vec![("%", "percent of one core")],
        _ => SIZE_UNITS.iter().chain(DURATION_UNITS).copied().collect(),
    }
}

/// The word at `offset` and where it starts.
fn word_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .find(|c: char| !is_name_char(c))
        .map_or(text.len(), |i| offset + i);
    (start < end).then(|| (start, &text[start..end]))
}

/// Markdown for the thing under the cursor: a property (its signature, type and doc), a
/// subject or `let` (its declaration), a setting, a statement keyword.
pub fn hover(text: &str, offset: usize, ast: &SpecFile) -> Option<(String, usize, usize)> {
    let (start, word) = word_at(text, offset)?;
    let end = start + word.len();
    let decls = decls(ast);
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    if text[..start].ends_with('.') {
        let path = path_before(&text[line_start..end]);
        let segs = segments(path);
        if let Some((Some(p), _)) = walk(&decls, &segs) {
            return Some((
                format!(
                    "```dspec\n{}\n```\n{} — {}",
                    signature(p),
                    p.ty.describe(),
                    p.doc
                ),
                start,
                end,
            ));
        }
        return None;
    }
    if let Some(d) = decls.iter().find(|d| d.name == word) {
        let decl_text = text.get(d.span.start..d.span.end).unwrap_or("");
        let first = decl_text.lines().next().unwrap_or("");
        return Some((format!("```dspec\n{first}\n```"), start, end));
    }
    if text[line_start..start].trim().is_empty() {
        if let Some((kind, source)) = enclosing_block(text, start)
            && let Some(s) = settings::table(kind, source)
                .iter()
                .find(|s| s.name == word)
        {
            return Some((
                format!("```dspec\n{}\n```\n{}", setting_shape(s), s.doc),
                start,
                end,
            ));
        }
        if let Some((_, doc)) = STATEMENTS.iter().find(|(w, _)| *w == word) {
            return Some((doc.to_string(), start, end));
        }
    }
    None
}

/// Where the subject or `let` named at `offset` is declared (also inside `${NAME}`).
pub fn definition(text: &str, offset: usize, ast: &SpecFile) -> Option<Span> {
    let (start, word) = word_at(text, offset)?;
    if text[..start].ends_with('.') {
        return None;
    }
    decls(ast)
        .into_iter()
        .find(|d| d.name == word)
        .map(|d| d.name_span)
}

/// The outline: the story, `let`s, subjects, criteria with their expectations.
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be named to build one.
pub fn symbols(text: &str, ast: &SpecFile, lines: &Lines) -> Vec<DocumentSymbol> {
    let sym = |name: String, detail: Option<String>, kind: SymbolKind, span: Span, sel: Span| {
        DocumentSymbol {
            name,
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: lines.range(text, span.start, span.end),
            selection_range: lines.range(text, sel.start, sel.end),
            children: None,
        }
    };
    let line_of = |span: Span| {
        text.get(span.start..span.end)
            .and_then(|t| t.lines().next())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut out = Vec::new();
    for item in &ast.items {
        match item {
            Item::Story(s) => {
                out.push(sym(line_of(s.span), None, SymbolKind::FILE, s.span, s.span))
            }
            Item::Let(l) => out.push(sym(
                l.name.name.clone(),
                Some("let".into()),
                SymbolKind::VARIABLE,
                l.span,
                l.name.span,
            )),
            Item::Subject(s) => out.push(sym(
                s.name.name.clone(),
                Some(format!("{} = {}", s.kind.word(), s.source.keyword())),
                match s.kind {
                    SubjectKind::Image => SymbolKind::PACKAGE,
                    SubjectKind::Command | SubjectKind::Task => SymbolKind::FUNCTION,
                    _ => SymbolKind::OBJECT,
                },
                s.span,
                s.name.span,
            )),
            Item::Criterion(c) => {
                let mut s = sym(
                    c.id.name.clone(),
                    c.title
                        .as_ref()
                        .map(|t| text.get(t.span.start..t.span.end).unwrap_or("").to_string()),
                    SymbolKind::NAMESPACE,
                    c.span,
                    c.id.span,
                );
                let children: Vec<DocumentSymbol> = c
                    .body
                    .iter()
                    .filter_map(|i| match i {
                        Item::Expect(e) => Some((e.span, e.path.span)),
                        Item::Do(d) => Some((d.span, d.path.span)),
                        _ => None,
                    })
                    .map(|(span, path)| sym(line_of(span), None, SymbolKind::EVENT, span, path))
                    .collect();
                s.children = Some(children);
                out.push(s);
            }
            Item::Expect(e) => out.push(sym(
                line_of(e.span),
                None,
                SymbolKind::EVENT,
                e.span,
                e.path.span,
            )),
            Item::Do(d) => out.push(sym(
                line_of(d.span),
                None,
                SymbolKind::EVENT,
                d.span,
                d.path.span,
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completion, hover and definition answer at every position of a spec, broken ones too,
    /// without panicking (an editor asks anywhere, while the text is half written).
    #[test]
    fn every_position_is_answered() {
        let texts = [
            include_str!("../../tests/cases/valid/all_forms.dspec"),
            "image app = build \".\" {\n  memory 25\n  tar\ncontainer api = run app { publish 8000 }\n\
             criterion C \"é😀\" {\n  expect api.health == \"h\n  expect api.get(\"/x\").json.\n  expect app.size < 2\n}\n\
             expect api.",
        ];
        for text in texts {
            let mut sources = crate::source::SourceMap::new();
            let id = sources.add("x.dspec", text.to_string());
            let (ast, _) = crate::parse::parse_file(sources.get(id));
            let ast = ast.unwrap();
            let lines = Lines::new(text);
            let _ = symbols(text, &ast, &lines);
            for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let _ = complete(text, offset, &ast, &lines);
                let _ = hover(text, offset, &ast);
                let _ = definition(text, offset, &ast);
            }
        }
    }

    fn labels_at(text: &str, marker: &str) -> Vec<String> {
        let offset = text.find(marker).unwrap();
        let text = text.replacen(marker, "", 1);
        let mut sources = crate::source::SourceMap::new();
        let id = sources.add("x.dspec", text.clone());
        let (ast, _) = crate::parse::parse_file(sources.get(id));
        let lines = Lines::new(&text);
        complete(&text, offset, &ast.unwrap(), &lines)
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn completion_follows_the_context() {
        let spec = "image app = build \".\"\ncontainer api = run app { publish 8000 }\n";
        // Settings of the enclosing subject.
        let l = labels_at("container api = run app {\n  mem|\n}\n", "|");
        assert!(
            l.contains(&"memory".to_string()) && l.contains(&"publish".to_string()),
            "{l:?}"
        );
        // A request's and a task's settings; their keywords at the start of a line.
        let l = labels_at(
            &format!("{spec}request me = api.get(\"/me\") {{\n  hea|\n}}\n"),
            "|",
        );
        assert!(l.contains(&"header".to_string()), "{l:?}");
        let l = labels_at(&format!("{spec}task t = run app {{\n  std|\n}}\n"), "|");
        assert!(l.contains(&"stdin".to_string()), "{l:?}");
        let l = labels_at(&format!("{spec}|"), "|");
        assert!(
            l.contains(&"task".to_string()) && l.contains(&"request".to_string()),
            "{l:?}"
        );
        // Units of the compared property's kind.
        let l = labels_at(&format!("{spec}expect app.size < 200|\n"), "|");
        assert_eq!(l[..2], ["200MB", "200MiB"]);
        let l = labels_at(
            &format!("{spec}expect api.health == \"healthy\" within 3|\n"),
            "|",
        );
        assert!(
            l.contains(&"3s".to_string()) && !l.contains(&"3MB".to_string()),
            "{l:?}"
        );
        // The values a property's doc names, after `==`.
        let l = labels_at(&format!("{spec}expect api.health == |\n"), "|");
        assert!(l.contains(&"\"healthy\"".to_string()), "{l:?}");
        // Properties after a dot, through calls.
        let l = labels_at(&format!("{spec}expect api.get(\"/x\").|\n"), "|");
        assert!(
            l.contains(&"status".to_string()) && l.contains(&"json".to_string()),
            "{l:?}"
        );
        // Statements inside a criterion; subjects after `expect`.
        let l = labels_at("criterion C {\n  |\n}\n", "|");
        assert_eq!(l, ["expect", "do"]);
        let l = labels_at(&format!("{spec}expect a|\n"), "|");
        assert_eq!(l, ["app", "api"]);
    }

    #[test]
    fn paths_before_the_cursor() {
        assert_eq!(
            path_before("  expect api.get(\"/a b\").js"),
            "api.get(\"/a b\").js"
        );
        assert_eq!(
            segments("api.get(\"/a.b\").json.x"),
            ["api", "get", "json", "x"]
        );
        assert_eq!(segments("api."), ["api", ""]);
        assert_eq!(
            doc_values("`starting`, `healthy`, or `none` without"),
            ["starting", "healthy", "none"]
        );
    }
}
