//! The syntax tree of one spec file. Every node carries its span; `Display`
//! prints canonical `.dspec` text.

mod display;
mod literal;

pub use display::escape_str;
pub use literal::{DurationLit, Literal, SizeLit, SizeUnit};

use crate::source::{FileId, Span};

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SpecFile {
    pub file: FileId,
    pub items: Vec<Item>,
    /// Empty unless the file was parsed lean ([`crate::parse::parse_file_lean`]): then the
    /// expectations and actions are not in `items` (its criteria have empty bodies) and these
    /// are the byte ranges of the statements that hold them, in file order, to be parsed again
    /// one at a time as they compile.
    pub deferred: Vec<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Story(Story),
    Let(Let),
    Subject(Subject),
    Criterion(Criterion),
    Expect(Expect),
    Do(Do),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    pub id: StrLit,
    pub title: Option<StrLit>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Image,
    Container,
    Stack,
    Command,
    /// `task NAME = run IMAGE`: a container run to completion.
    Task,
    /// `request NAME = api.get("/x")`: one HTTP exchange.
    Request,
}

impl SubjectKind {
    pub fn word(self) -> &'static str {
        match self {
            SubjectKind::Image => "image",
            SubjectKind::Container => "container",
            SubjectKind::Stack => "stack",
            SubjectKind::Command => "command",
            SubjectKind::Task => "task",
            SubjectKind::Request => "request",
        }
    }
}

/// How a subject comes to exist.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// `build "CONTEXT"`
    Build(Value),
    /// `existing "REF"`
    Existing(Value),
    /// `run IMAGE`
    Run(Ident),
    /// `compose "FILE"`
    Compose(Value),
    /// `host "CMD"`
    Host(Value),
    /// `api.get("/x")`, the exchange a `request` makes.
    Request(Path),
}

impl Source {
    pub fn keyword(&self) -> &'static str {
        match self {
            Source::Build(_) => "build",
            Source::Existing(_) => "existing",
            Source::Run(_) => "run",
            Source::Compose(_) => "compose",
            Source::Host(_) => "host",
            Source::Request(_) => "request",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: Ident,
    pub source: Source,
    pub settings: Vec<Setting>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: Ident,
    pub arg: SettingArg,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SettingArg {
    /// A flag: `read_only`.
    None,
    /// `target "prod"`
    Value(Value),
    /// `arg K = V`, `label "k" = v`
    KeyValue { key: Key, value: Value },
    /// `mount "HOST" at "PATH"`
    At { from: Value, to: Value },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub text: String,
    /// Whether it was written as a string.
    pub quoted: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    /// `@tag a b` lines before it.
    pub attributes: Vec<Attribute>,
    pub id: Ident,
    pub title: Option<StrLit>,
    pub body: Vec<Item>,
    pub span: Span,
}

/// `@NAME ARG...` before a criterion.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: Ident,
    pub args: Vec<Key>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub path: Path,
    pub predicate: Option<Predicate>,
    /// Boxed: most expectations have none, and inline it would grow every one.
    pub modifier: Option<Box<Modifier>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Do {
    pub path: Path,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum CmpOp {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    pub fn is_ordering(self) -> bool {
        !matches!(self, CmpOp::Eq | CmpOp::Ne)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredicateOp {
    Compare(CmpOp),
    In,
    Matches,
    NotMatches,
    Contains,
    NotContains,
    IsEmpty,
    IsNotEmpty,
    IsJson,
    IsNotJson,
}

impl PredicateOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            PredicateOp::Compare(op) => op.symbol(),
            PredicateOp::In => "in",
            PredicateOp::Matches => "matches",
            PredicateOp::NotMatches => "not matches",
            PredicateOp::Contains => "contains",
            PredicateOp::NotContains => "not contains",
            PredicateOp::IsEmpty => "is empty",
            PredicateOp::IsNotEmpty => "is not empty",
            PredicateOp::IsJson => "is json",
            PredicateOp::IsNotJson => "is not json",
        }
    }

    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            PredicateOp::IsEmpty
                | PredicateOp::IsNotEmpty
                | PredicateOp::IsJson
                | PredicateOp::IsNotJson
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    pub op: PredicateOp,
    pub op_span: Span,
    pub value: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModifierKind {
    Within,
    For,
}

impl ModifierKind {
    pub fn word(self) -> &'static str {
        match self {
            ModifierKind::Within => "within",
            ModifierKind::For => "for",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Modifier {
    pub kind: ModifierKind,
    pub value: Value,
    pub span: Span,
}

/// `api.get("/health").json.status`, `labels["k"]`, `secret("X")`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub head: Ident,
    /// Arguments directly after the head: `secret("X")`, `env("X")`.
    /// Boxed: rare (a path usually starts with a subject), and inline it would grow every path.
    pub head_args: Option<Box<Args>>,
    pub segments: Vec<Segment>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    pub values: Vec<Value>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    Field {
        name: Ident,
        args: Option<Args>,
    },
    Index {
        value: Value,
        span: Span,
    },
    /// `[*]`: every element.
    Each {
        span: Span,
    },
}

impl Segment {
    pub fn span(&self) -> Span {
        match self {
            Segment::Field { name, args } => match args {
                Some(a) => name.span.to(a.span),
                None => name.span,
            },
            Segment::Index { span, .. } | Segment::Each { span } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    Lit(Literal),
    Str(StrLit),
    Range(Box<Value>, Box<Value>),
    List(Vec<Value>),
    /// A JSON object literal: `{"status": "ok"}`.
    Object(Vec<(StrLit, Value)>),
    /// Boxed: most values are literals, and a path inline would make every value (and so every
    /// expectation) three times larger.
    Path(Box<Path>),
}

/// A string literal with its `${name}` interpolations.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub parts: Vec<StrPart>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StrPart {
    Text(String),
    Interp(Ident),
    /// `${login.json.token}`: a property of another subject, read when the setting is used.
    Capture(Path),
}

impl StrLit {
    /// The text when there is no interpolation.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Text(t) => out.push_str(t),
                StrPart::Interp(_) | StrPart::Capture(_) => return None,
            }
        }
        Some(out)
    }
}
