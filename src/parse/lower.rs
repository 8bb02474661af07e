//! pest pairs → AST. One function per grammar rule; literal errors are
//! collected, not fatal, so one run reports all of them.

use pest::iterators::{Pair, Pairs};

use super::grammar::Rule;
use super::literal;
use crate::ast::*;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

pub(crate) struct Lowerer<'s> {
    pub file: FileId,
    /// The whole file.
    pub text: &'s str,
    /// Where the text pest parsed starts in the file (it parses one statement at a time).
    pub base: usize,
    pub errors: Vec<Diagnostic>,
    /// The unit family the value being lowered should have, when its context tells.
    pub units: Option<literal::UnitFamily>,
}

/// The unit family of a property or setting type.
fn family_of_ty(ty: crate::compile::types::Ty) -> Option<literal::UnitFamily> {
    use crate::compile::types::Ty;
    match ty {
        Ty::Size => Some(literal::UnitFamily::Size),
        Ty::Duration => Some(literal::UnitFamily::Duration),
        _ => None,
    }
}

fn family_of_setting(name: &str) -> Option<literal::UnitFamily> {
    use crate::compile::settings::Kind;
    match crate::compile::settings::kind_of_name(name)? {
        Kind::Size => Some(literal::UnitFamily::Size),
        Kind::Duration => Some(literal::UnitFamily::Duration),
        _ => None,
    }
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_story
            | Rule::kw_let
            | Rule::kw_image
            | Rule::kw_container
            | Rule::kw_stack
            | Rule::kw_command
            | Rule::kw_build
            | Rule::kw_existing
            | Rule::kw_run
            | Rule::kw_compose
            | Rule::kw_host
            | Rule::kw_task
            | Rule::kw_request
            | Rule::kw_criterion
            | Rule::kw_expect
            | Rule::kw_do
            | Rule::kw_in
            | Rule::kw_is
            | Rule::kw_matches
            | Rule::kw_contains
            | Rule::kw_at
    )
}

/// Where a pair's last token ends. Rules that end in a literal (`}`, `)`,
/// `]`, a quote) or are atomic end exactly; others end with their last child.
fn tight_end(pair: &Pair<'_, Rule>) -> usize {
    let exact = matches!(
        pair.as_rule(),
        Rule::block
            | Rule::criterion
            | Rule::call_args
            | Rule::list
            | Rule::object
            | Rule::index
            | Rule::string
            | Rule::regex
    );
    if exact {
        return pair.as_span().end();
    }
    // Children come in order: the last one ends last.
    match pair.clone().into_inner().last() {
        Some(last) => tight_end(&last),
        None => pair.as_span().end(),
    }
}

/// The children of a pair without the keyword tokens.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl Lowerer<'_> {
    /// The pair's span without the whitespace and comments pest may have
    /// skipped after its last token.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        Span::new(
            self.file,
            self.base + pair.as_span().start(),
            self.base + tight_end(pair),
        )
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_string(),
        }
    }

    /// The statements of a parsed `file` rule, appended to `items`.
    pub fn items(&mut self, mut pairs: Pairs<'_, Rule>, items: &mut Vec<Item>) {
        let file = pairs.next().expect("the file rule");
        for p in file.into_inner() {
            if p.as_rule() != Rule::EOI {
                items.push(self.statement(p));
            }
        }
    }

    fn statement(&mut self, pair: Pair<'_, Rule>) -> Item {
        match pair.as_rule() {
            Rule::story => Item::Story(self.story(pair)),
            Rule::let_stmt => Item::Let(self.let_stmt(pair)),
            Rule::subject => Item::Subject(self.subject(pair)),
            Rule::criterion => Item::Criterion(self.criterion(pair)),
            Rule::expect_stmt => Item::Expect(self.expect(pair)),
            Rule::do_stmt => Item::Do(self.do_stmt(pair)),
            r => unreachable!("statement rule {r:?}"),
        }
    }

    fn story(&mut self, pair: Pair<'_, Rule>) -> Story {
        let span = self.span(&pair);
        let mut it = children(pair);
        let id = self.string(it.next().expect("story id"));
        let title = it.next().map(|p| self.string(p));
        Story { id, title, span }
    }

    fn let_stmt(&mut self, pair: Pair<'_, Rule>) -> Let {
        let span = self.span(&pair);
        let mut it = children(pair);
        let name = self.ident(it.next().expect("let name"));
        let value = self.value(it.next().expect("let value"));
        Let { name, value, span }
    }

    fn subject(&mut self, pair: Pair<'_, Rule>) -> Subject {
        let inner = pair.into_inner().next().expect("subject form");
        let span = self.span(&inner);
        let rule = inner.as_rule();
        let mut it = children(inner);
        let name = self.ident(it.next().expect("subject name"));
        let src = it.next().expect("subject source");
        let (kind, source) = match rule {
            Rule::image_build => (SubjectKind::Image, Source::Build(self.value(src))),
            Rule::image_existing => (SubjectKind::Image, Source::Existing(self.value(src))),
            Rule::container_run => (SubjectKind::Container, Source::Run(self.ident(src))),
            Rule::stack_compose => (SubjectKind::Stack, Source::Compose(self.value(src))),
            Rule::command_host => (SubjectKind::Command, Source::Host(self.value(src))),
            Rule::task_run => (SubjectKind::Task, Source::Run(self.ident(src))),
            Rule::request_call => (SubjectKind::Request, Source::Request(self.path(src))),
            r => unreachable!("subject rule {r:?}"),
        };
        let settings = match it.next() {
            Some(block) => block.into_inner().map(|s| self.setting(s)).collect(),
            None => Vec::new(),
        };
        Subject {
            kind,
            name,
            source,
            settings,
            span,
        }
    }

    fn setting(&mut self, pair: Pair<'_, Rule>) -> Setting {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let name = self.ident(it.next().expect("setting name"));
        let Some(first) = it.next() else {
            return Setting {
                name,
                arg: SettingArg::None,
                span,
            };
        };
        self.units = family_of_setting(&name.name);
        let first = self.value(first);
        let arg = match it.next() {
            None => {
                self.units = None;
                SettingArg::Value(first)
            }
            Some(p) if p.as_rule() == Rule::key_value => {
                let value = self.value(p.into_inner().next().expect("value"));
                SettingArg::KeyValue {
                    key: self.key(first),
                    value,
                }
            }
            Some(p) => {
                let to = self.value(children(p).next().expect("mount target"));
                SettingArg::At { from: first, to }
            }
        };
        self.units = None;
        Setting { name, arg, span }
    }

    /// The key of `KEY = VALUE`: a name (dotted names allowed) or a string.
    fn key(&mut self, v: Value) -> Key {
        match v.kind {
            ValueKind::Str(s) => Key {
                text: s.as_plain().unwrap_or_default(),
                quoted: true,
                span: v.span,
            },
            ValueKind::Path(ref p)
                if p.head_args.is_none()
                    && p.segments
                        .iter()
                        .all(|s| matches!(s, Segment::Field { args: None, .. })) =>
            {
                Key {
                    text: p.to_string(),
                    quoted: false,
                    span: v.span,
                }
            }
            _ => {
                self.errors.push(
                    Diagnostic::error(crate::diag::Code::Syntax, v.span, "a key is a name or a string")
                        .label("not a key")
                        .help("write `KEY = VALUE` with a name like `APP_ENV` or a string like \"org.opencontainers.image.title\""),
                );
                Key {
                    text: String::new(),
                    quoted: false,
                    span: v.span,
                }
            }
        }
    }

    fn criterion(&mut self, pair: Pair<'_, Rule>) -> Criterion {
        let span = self.span(&pair);
        let mut id = None;
        let mut title = None;
        let mut body = Vec::new();
        let mut attributes = Vec::new();
        for p in children(pair) {
            match p.as_rule() {
                Rule::attribute => {
                    let span = self.span(&p);
                    let mut it = p.into_inner();
                    let name = self.ident(it.next().expect("attribute name"));
                    let args = it
                        .map(|a| {
                            let span = self.span(&a);
                            if a.as_rule() == Rule::string {
                                Key {
                                    text: self.string(a).as_plain().unwrap_or_default(),
                                    quoted: true,
                                    span,
                                }
                            } else {
                                Key {
                                    text: a.as_str().to_string(),
                                    quoted: false,
                                    span,
                                }
                            }
                        })
                        .collect();
                    attributes.push(Attribute { name, args, span });
                }
                Rule::ident => id = Some(self.ident(p)),
                Rule::string => title = Some(self.string(p)),
                _ => body.push(self.statement(p)),
            }
        }
        body.shrink_to_fit();
        Criterion {
            attributes,
            id: id.expect("criterion id"),
            title,
            body,
            span,
        }
    }

    fn expect(&mut self, pair: Pair<'_, Rule>) -> Expect {
        let span = self.span(&pair);
        let mut path = None;
        let mut predicate = None;
        let mut modifier = None;
        for p in children(pair) {
            match p.as_rule() {
                Rule::path => path = Some(self.path(p)),
                Rule::modifier => {
                    self.units = Some(literal::UnitFamily::Duration);
                    modifier = Some(self.modifier(p));
                    self.units = None;
                }
                _ => {
                    // The unit family of the property compared, by its name.
                    let last = path.as_ref().map(|p: &Path| match p.segments.last() {
                        Some(Segment::Field { name, .. }) => name.name.as_str(),
                        _ => p.head.name.as_str(),
                    });
                    self.units = last
                        .and_then(crate::compile::property::type_of_name)
                        .and_then(family_of_ty);
                    predicate = Some(self.predicate(p));
                    self.units = None;
                }
            }
        }
        Expect {
            path: path.expect("expect path"),
            predicate,
            modifier,
            span,
        }
    }

    fn do_stmt(&mut self, pair: Pair<'_, Rule>) -> Do {
        let span = self.span(&pair);
        let path = self.path(children(pair).next().expect("do path"));
        Do { path, span }
    }

    fn predicate(&mut self, pair: Pair<'_, Rule>) -> Predicate {
        let rule = pair.as_rule();
        let pred_span = self.span(&pair);
        let mut negated = false;
        let mut value = None;
        let mut op_end = pred_span.end;
        let mut cmp = None;
        let mut what = "";
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_not => negated = true,
                Rule::cmp_op => cmp = Some(p.as_str().to_string()),
                Rule::is_what => {
                    what = if p.as_str() == "json" {
                        "json"
                    } else {
                        "empty"
                    }
                }
                Rule::value => {
                    op_end = self.base + p.as_span().start();
                    value = Some(self.value(p));
                }
                r if is_keyword(r) => {}
                r => unreachable!("predicate part {r:?}"),
            }
        }
        let op = match rule {
            Rule::compare => PredicateOp::Compare(match cmp.as_deref() {
                Some("==") => CmpOp::Eq,
                Some("!=") => CmpOp::Ne,
                Some("<") => CmpOp::Lt,
                Some("<=") => CmpOp::Le,
                Some(">") => CmpOp::Gt,
                Some(">=") => CmpOp::Ge,
                other => unreachable!("operator {other:?}"),
            }),
            Rule::in_pred => PredicateOp::In,
            Rule::matches_pred if negated => PredicateOp::NotMatches,
            Rule::matches_pred => PredicateOp::Matches,
            Rule::contains_pred if negated => PredicateOp::NotContains,
            Rule::contains_pred => PredicateOp::Contains,
            Rule::is_pred => match (what, negated) {
                ("json", false) => PredicateOp::IsJson,
                ("json", true) => PredicateOp::IsNotJson,
                (_, false) => PredicateOp::IsEmpty,
                (_, true) => PredicateOp::IsNotEmpty,
            },
            r => unreachable!("predicate rule {r:?}"),
        };
        let text_end = self.trim_end(pred_span.start, op_end);
        Predicate {
            op,
            op_span: Span::new(self.file, pred_span.start, text_end),
            value,
        }
    }

    /// `end` moved back over the whitespace before it.
    fn trim_end(&self, start: usize, end: usize) -> usize {
        start + self.text[start..end].trim_end().len()
    }

    fn modifier(&mut self, pair: Pair<'_, Rule>) -> Modifier {
        let span = self.span(&pair);
        let mut kind = ModifierKind::Within;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_within => kind = ModifierKind::Within,
                Rule::kw_for => kind = ModifierKind::For,
                Rule::value => value = Some(self.value(p)),
                r => unreachable!("modifier part {r:?}"),
            }
        }
        Modifier {
            kind,
            value: value.expect("modifier value"),
            span,
        }
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Path {
        let span = self.span(&pair);
        let mut it = pair.into_inner().peekable();
        let head = self.ident(it.next().expect("path head"));
        let head_args = match it.peek() {
            Some(p) if p.as_rule() == Rule::call_args => Some(self.args(it.next().expect("args"))),
            _ => None,
        };
        let segments = self.segments(it);
        Path {
            head,
            head_args,
            segments,
            span,
        }
    }

    fn segments<'i>(&mut self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Vec<Segment> {
        let mut segments = Vec::new();
        for p in pairs {
            match p.as_rule() {
                Rule::field => {
                    let mut f = p.into_inner();
                    let name = self.ident(f.next().expect("field name"));
                    let args = f.next().map(|a| self.args(a));
                    segments.push(Segment::Field { name, args });
                }
                Rule::index => {
                    let span = self.span(&p);
                    let inner = p.into_inner().next().expect("index value");
                    if inner.as_rule() == Rule::each {
                        segments.push(Segment::Each { span });
                    } else {
                        let value = self.value(inner);
                        segments.push(Segment::Index { value, span });
                    }
                }
                r => unreachable!("path segment {r:?}"),
            }
        }
        // Most paths have one to three segments: no spare capacity (a 50 MB spec holds millions).
        segments.shrink_to_fit();
        segments
    }

    fn args(&mut self, pair: Pair<'_, Rule>) -> Args {
        let span = self.span(&pair);
        let values = pair.into_inner().map(|v| self.value(v)).collect();
        Args { values, span }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = self.span(&pair);
        if pair.as_rule() == Rule::value {
            let mut it = pair.into_inner();
            let first = it.next().expect("value body");
            if let Some(end) = it.next() {
                // `a..b`
                let a = self.value(first);
                let b = self.value(end.into_inner().next().expect("range end"));
                return Value {
                    kind: ValueKind::Range(Box::new(a), Box::new(b)),
                    span,
                };
            }
            return Value {
                span,
                ..self.value(first)
            };
        }
        let inner = pair;
        let kind = match inner.as_rule() {
            Rule::list => ValueKind::List(inner.into_inner().map(|v| self.value(v)).collect()),
            Rule::object => ValueKind::Object(
                inner
                    .into_inner()
                    .map(|m| {
                        let mut it = m.into_inner();
                        let key = self.string(it.next().expect("member key"));
                        let value = self.value(it.next().expect("member value"));
                        (key, value)
                    })
                    .collect(),
            ),
            Rule::null => ValueKind::Lit(Literal::Null),
            Rule::string => ValueKind::Str(self.string(inner)),
            Rule::regex => {
                let s = self.span(&inner);
                let mut it = inner.into_inner();
                let body = it.next().expect("regex body").as_str();
                let flags = it.next().map(|p| p.as_str()).unwrap_or("");
                match literal::regex(body, flags, s) {
                    Ok(r) => ValueKind::Lit(Literal::Regex(r)),
                    Err(d) => {
                        self.errors.push(d);
                        ValueKind::Lit(Literal::Regex(String::new()))
                    }
                }
            }
            Rule::port_map => {
                let text = inner.as_str();
                let s = self.span(&inner);
                let (h, c) = text.split_once(':').expect("port map colon");
                match (h.parse::<u16>(), c.parse::<u16>()) {
                    (Ok(host), Ok(container)) if host > 0 && container > 0 => {
                        ValueKind::Lit(Literal::PortMap { host, container })
                    }
                    _ => {
                        self.errors.push(
                            Diagnostic::error(
                                crate::diag::Code::BadNumber,
                                s,
                                format!("`{text}` is not a valid port mapping"),
                            )
                            .label("ports are 1 to 65535")
                            .help("write `HOSTPORT:CONTAINERPORT`, like `18080:8000`"),
                        );
                        ValueKind::Lit(Literal::Int(0))
                    }
                }
            }
            Rule::quantity => {
                let s = self.span(&inner);
                match literal::quantity_for(inner.as_str(), s, self.units) {
                    Ok(l) => ValueKind::Lit(l),
                    Err(d) => {
                        self.errors.push(d);
                        ValueKind::Lit(Literal::Int(0))
                    }
                }
            }
            Rule::boolean => ValueKind::Lit(Literal::Bool(inner.as_str().starts_with('t'))),
            Rule::path => ValueKind::Path(Box::new(self.path(inner))),
            r => unreachable!("value rule {r:?}"),
        };
        Value { kind, span }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.span(&pair);
        let mut parts: Vec<StrPart> = Vec::new();
        let push_text = |parts: &mut Vec<StrPart>, t: &str| match parts.last_mut() {
            Some(StrPart::Text(s)) => s.push_str(t),
            _ => parts.push(StrPart::Text(t.to_string())),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::str_text => push_text(&mut parts, p.as_str()),
                Rule::str_escape => {
                    let s = self.span(&p);
                    match literal::escape(p.as_str(), s) {
                        Ok(c) => push_text(&mut parts, c.encode_utf8(&mut [0; 4])),
                        Err(d) => self.errors.push(d),
                    }
                }
                Rule::str_interp => {
                    let span = self.span(&p);
                    let mut it = p.into_inner();
                    let head = self.ident(it.next().expect("interp name"));
                    match it.next() {
                        None => parts.push(StrPart::Interp(head)),
                        Some(rest) => {
                            // A capture: `${login.json.token}` is a path of another subject.
                            let segments = self.segments(rest.into_inner());
                            parts.push(StrPart::Capture(Path {
                                head,
                                head_args: None,
                                segments,
                                span,
                            }));
                        }
                    }
                }
                r => unreachable!("string part {r:?}"),
            }
        }
        parts.shrink_to_fit();
        StrLit { parts, span }
    }
}
