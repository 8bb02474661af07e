//! Values: `let`s, `${}` interpolation, `env()`, `secret()` and
//! `SUBJECT.url(N)` references.

use super::FileCompiler;
use super::value::{Text, TextPart, Val};
use crate::ast::{self, Literal, Segment, StrPart, SubjectKind, ValueKind};
use crate::diag::{Code, Diagnostic, suggest};

/// The longest text one string may become through `${}` (1 MiB): far above any header, command
/// or body written by hand, far below what a chain of `let`s that each repeat the previous one
/// would reach (ten copies, thirteen times: 10 TB).
pub const MAX_INTERPOLATED: usize = 1 << 20;
/// What `${}` may copy into the strings of one file in all (64 MiB), so that memory stays
/// bounded by the input even when a large value is interpolated many times.
pub const MAX_EXPANDED: usize = 64 << 20;

/// The size of a text: its literal bytes, and the names of its host reads.
fn text_len(t: &Text) -> usize {
    t.parts
        .iter()
        .map(|p| match p {
            TextPart::Lit(s) => s.len(),
            TextPart::Env { var, default } => var.len() + default.as_ref().map_or(0, String::len),
            TextPart::Secret { var } => var.len(),
            TextPart::Capture { text, .. } => text.len(),
        })
        .sum()
}

impl FileCompiler<'_> {
    /// Evaluates a value; None after reporting an error.
    pub fn eval(&mut self, v: &ast::Value) -> Option<Val> {
        match &v.kind {
            ValueKind::Lit(l) => Some(match l {
                Literal::Int(n) => Val::Int(*n),
                Literal::Float(x) => Val::Float(*x),
                Literal::Octal(m) => Val::Mode(*m),
                Literal::Size(s) => Val::Size {
                    bytes: s.bytes,
                    text: s.text.clone(),
                },
                Literal::Duration(d) => Val::Duration {
                    ms: d.duration.as_millis() as u64,
                    text: d.text.clone(),
                },
                Literal::Percent(p) => Val::Percent(*p),
                Literal::Bool(b) => Val::Bool(*b),
                Literal::Null => Val::Null,
                Literal::Regex(r) => Val::Regex(r.clone()),
                Literal::PortMap { host, container } => Val::PortMap {
                    host: *host,
                    container: *container,
                },
            }),
            ValueKind::Str(s) => self.interpolate(s).map(Val::Text),
            ValueKind::List(items) => {
                let vals: Vec<Option<Val>> = items.iter().map(|i| self.eval(i)).collect();
                vals.into_iter().collect::<Option<Vec<_>>>().map(Val::List)
            }
            ValueKind::Object(members) => {
                let mut out: Vec<(String, Val)> = Vec::new();
                let mut ok = true;
                for (k, v) in members {
                    let key = self.interpolate(k).and_then(|t| t.as_lit());
                    let val = self.eval(v);
                    match (key, val) {
                        (Some(key), Some(val)) => {
                            if out.iter().any(|(seen, _)| *seen == key) {
                                self.error(
                                    Diagnostic::error(
                                        Code::Duplicate,
                                        k.span,
                                        format!("the key `{key}` appears twice in this object"),
                                    )
                                    .label("again here")
                                    .help("a JSON object has each key once"),
                                );
                                ok = false;
                            }
                            out.push((key, val));
                        }
                        _ => ok = false,
                    }
                }
                ok.then_some(Val::Object(out))
            }
            ValueKind::Range(a, b) => {
                let (va, vb) = (self.eval(a)?, self.eval(b)?);
                let same = std::mem::discriminant(&va) == std::mem::discriminant(&vb)
                    || matches!(
                        (&va, &vb),
                        (Val::Int(_), Val::Float(_)) | (Val::Float(_), Val::Int(_))
                    );
                if same && matches!(va, Val::Mode(_)) {
                    self.error(
                        Diagnostic::error(
                            Code::BadValue,
                            v.span,
                            "file modes have no range: `0o700..0o777` is not an order of permissions",
                        )
                        .label("a range of modes")
                        .help("list the modes allowed, `in [0o700, 0o750, 0o755]`, or compare one with `==`"),
                    );
                    return None;
                }
                if !same || va.magnitude().is_none() {
                    self.error(
                        Diagnostic::error(
                            Code::BadValue,
                            v.span,
                            format!("a range runs between two values of one kind, not {} and {}", va.describe(), vb.describe()),
                        )
                        .label("mixed range")
                        .help("write both ends with the same unit family, like `200MB..300MB` or `1s..5s`"),
                    );
                    return None;
                }
                if va.magnitude() > vb.magnitude() {
                    self.error(
                        Diagnostic::error(
                            Code::BadRange,
                            v.span,
                            format!("the range `{va}..{vb}` is empty"),
                        )
                        .label("its start is above its end")
                        .help(format!("write the smaller value first: `{vb}..{va}`")),
                    );
                    return None;
                }
                Some(Val::Range(Box::new(va), Box::new(vb)))
            }
            ValueKind::Path(p) => self.eval_path_value(p),
        }
    }

    fn eval_path_value(&mut self, p: &ast::Path) -> Option<Val> {
        let name = p.head.name.as_str();
        if let Some(args) = &p.head_args
            && (name == "env" || name == "secret")
            && p.segments.is_empty()
        {
            return self.host_read(name, args);
        }
        if p.head_args.is_none()
            && p.segments.is_empty()
            && let Some((v, _)) = self.lets.get(name)
        {
            return v.clone();
        }
        if let Some(decl) = self.subjects.get(name).cloned() {
            if let [
                Segment::Field {
                    name: f,
                    args: Some(args),
                },
            ] = p.segments.as_slice()
                && f.name == "url"
                && decl.kind == SubjectKind::Container
                && let [arg] = args.values.as_slice()
                && let Some(Val::Int(port)) = self.eval(arg)
                && (1..=65535).contains(&port)
            {
                return Some(Val::Url {
                    subject: name.to_string(),
                    port: port as u16,
                });
            }
            if decl.kind == SubjectKind::Stack {
                match p.segments.as_slice() {
                    [] => {
                        return Some(Val::StackNetwork {
                            subject: name.to_string(),
                            network: None,
                        });
                    }
                    [
                        Segment::Field {
                            name: f,
                            args: Some(args),
                        },
                    ] if f.name == "network" => {
                        if let [arg] = args.values.as_slice()
                            && let Some(Val::Text(t)) = self.eval(arg)
                            && let Some(n) = t.as_lit()
                        {
                            return Some(Val::StackNetwork {
                                subject: name.to_string(),
                                network: Some(n),
                            });
                        }
                    }
                    _ => {}
                }
            }
            if let [
                Segment::Field {
                    name: f,
                    args: None,
                },
            ] = p.segments.as_slice()
                && (f.name == "ref" || f.name == "id")
                && decl.kind == SubjectKind::Image
            {
                return Some(Val::ImageRef {
                    subject: name.to_string(),
                    id: f.name == "id",
                });
            }
            self.error(
                Diagnostic::error(Code::BadValue, p.span, format!("`{}` cannot be used as a value", self.text(p.span)))
                    .label("a property, not a value")
                    .help("the values a subject gives are a container's `url(PORT)` (`api.url(8000)`), an image's `ref` and `id` (`env IMAGE = prod.ref`) and a stack's networks (`network app`, `network app.network(\"backend\")`); compare properties with `expect`"),
            );
            return None;
        }
        let mut names: Vec<&str> = self.lets.keys().map(String::as_str).collect();
        names.extend(self.subjects.keys().map(String::as_str));
        names.sort();
        let bare = p.head_args.is_none() && p.segments.is_empty();
        if bare
            && name != "env"
            && name != "secret"
            && suggest::closest(name, names.iter().copied()).is_none()
        {
            // `== appuser`, `kill(SIGTERM)`: a word meant as text.
            self.error(
                Diagnostic::error(
                    Code::Undefined,
                    p.head.span,
                    format!("`{name}` is unquoted text: write `\"{name}\"`"),
                )
                .label("not a name of this file")
                .help(format!(
                    "text is written in quotes: `\"{name}\"`; a bare word names a `let` or a subject ({})",
                    if names.is_empty() {
                        "there are none".to_string()
                    } else {
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    }
                )),
            );
            return None;
        }
        let help = if name == "env" || name == "secret" {
            format!("`{name}` takes the variable's name: `{name}(\"VAR\")`")
        } else {
            suggest::help_for(name, &names, "names in scope")
        };
        self.error(
            Diagnostic::error(
                Code::Undefined,
                p.head.span,
                format!("`{name}` is not defined"),
            )
            .label("unknown name")
            .help(help),
        );
        None
    }

    fn host_read(&mut self, func: &str, args: &ast::Args) -> Option<Val> {
        let max = if func == "env" { 2 } else { 1 };
        let mut texts = Vec::new();
        for a in &args.values {
            match &a.kind {
                ValueKind::Str(s) => texts.push(self.interpolate(s)?.as_lit().unwrap_or_default()),
                _ => texts.push(String::new()),
            }
        }
        let ok = !args.values.is_empty()
            && args.values.len() <= max
            && args
                .values
                .iter()
                .all(|a| matches!(a.kind, ValueKind::Str(_)))
            && !texts[0].is_empty();
        if !ok {
            let form = if func == "env" {
                "`env(\"VAR\")` or `env(\"VAR\", \"default\")`"
            } else {
                "`secret(\"VAR\")`"
            };
            self.error(
                Diagnostic::error(
                    Code::BadArguments,
                    args.span,
                    format!("wrong arguments to `{func}`"),
                )
                .label("here")
                .help(format!("write {form}")),
            );
            return None;
        }
        let part = if func == "env" {
            TextPart::Env {
                var: texts[0].clone(),
                default: texts.get(1).cloned(),
            }
        } else {
            TextPart::Secret {
                var: texts[0].clone(),
            }
        };
        Some(Val::Text(Text { parts: vec![part] }))
    }

    /// Resolves `${name}` in a string literal.
    pub fn interpolate(&mut self, s: &ast::StrLit) -> Option<Text> {
        let mut out = Text::default();
        let mut ok = true;
        for part in &s.parts {
            match part {
                StrPart::Text(t) => out.push(TextPart::Lit(t.clone())),
                StrPart::Capture(path) => match self.capture(path) {
                    Some(part) => out.push(part),
                    None => ok = false,
                },
                StrPart::Interp(name) => {
                    if let Some((_, v)) = self.opts.vars.iter().find(|(k, _)| *k == name.name) {
                        out.push(TextPart::Lit(v.clone()));
                        continue;
                    }
                    match self.lets.get(&name.name).cloned() {
                        Some((Some(Val::Text(t)), let_span)) => {
                            let (have, add) = (text_len(&out), text_len(&t));
                            let too_long = have + add > MAX_INTERPOLATED;
                            if too_long || self.expanded + add > MAX_EXPANDED {
                                let title = if too_long {
                                    format!(
                                        "this string would grow past {} through `${{}}` (to at least {} bytes)",
                                        human_bytes(MAX_INTERPOLATED),
                                        have + add
                                    )
                                } else {
                                    format!(
                                        "`${{}}` would copy more than {} into the strings of this file",
                                        human_bytes(MAX_EXPANDED)
                                    )
                                };
                                self.error(
                                    Diagnostic::error(Code::BadValue, name.span, title)
                                        .label(format!("`{}` is {} bytes long", name.name, add))
                                        .secondary(let_span, "defined here")
                                        .help(format!(
                                            "an interpolated string is at most {} long, and a file interpolates at most {} in all; keep long values out of `let` chains",
                                            human_bytes(MAX_INTERPOLATED),
                                            human_bytes(MAX_EXPANDED)
                                        )),
                                );
                                return None;
                            }
                            self.expanded += add;
                            out.append(&t);
                        }
                        Some((Some(v), _)) => match v {
                            Val::Text(t) => out.append(&t),
                            Val::List(_)
                            | Val::Range(..)
                            | Val::Url { .. }
                            | Val::ImageRef { .. }
                            | Val::Subject(_)
                            | Val::Object(_)
                            | Val::StackNetwork { .. }
                            | Val::Regex(_) => {
                                self.error(
                                    Diagnostic::error(
                                        Code::BadValue,
                                        name.span,
                                        format!("`{}` is {} and cannot be interpolated", name.name, v.describe()),
                                    )
                                    .label("here")
                                    .help("only text, numbers, sizes and durations go into strings; pass a URL or an image's `ref` in a setting: `env IMAGE = prod.ref`"),
                                );
                                ok = false;
                            }
                            other => out.push(TextPart::Lit(other.to_string())),
                        },
                        Some((None, _)) => ok = false,
                        None => {
                            let mut names: Vec<&str> =
                                self.lets.keys().map(String::as_str).collect();
                            names.extend(self.opts.vars.iter().map(|(k, _)| k.as_str()));
                            names.sort();
                            let help = match suggest::closest(&name.name, names.iter().copied()) {
                                Some(b) => format!("did you mean `{b}`?"),
                                None => format!(
                                    "define it with `let {} = \"...\"` or pass `--var {}=...`",
                                    name.name, name.name
                                ),
                            };
                            self.error(
                                Diagnostic::error(
                                    Code::Undefined,
                                    name.span,
                                    format!("`${{{}}}` names nothing defined", name.name),
                                )
                                .label("not a `let` or `--var`")
                                .help(help),
                            );
                            ok = false;
                        }
                    }
                }
            }
        }
        ok.then_some(out)
    }
}

/// `1 MiB`, `64 MiB`: a cap for messages.
fn human_bytes(n: usize) -> String {
    format!("{} MiB", n >> 20)
}
