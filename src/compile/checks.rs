//! Expectations and actions: paths walked through the property catalogue,
//! predicates and modifiers type-checked.

use super::model::*;
use super::property::{self, ArgKind, Effect, Form};
use super::types::{Owner, Ty};
use super::value::Val;
use super::{FileCompiler, argv};
use crate::ast::{self, PredicateOp, Segment, SubjectKind};
use crate::diag::{Code, Diagnostic, suggest};
use crate::engine::imagefs::ecosystems::Ecosystem;
use crate::source::Span;

/// A walked path.
pub(super) struct Walked {
    pub(super) subject: String,
    kind: SubjectKind,
    pub(super) steps: Vec<PathStep>,
    pub(super) ty: Ty,
    changes: bool,
    effect: Effect,
    /// How many steps make the first action call (`stop(30s)`), when there is one.
    performs: Option<usize>,
    /// The text of the last segment, for messages.
    last: String,
}

impl FileCompiler<'_> {
    pub(super) fn expectation(
        &mut self,
        e: &ast::Expect,
        criterion: Option<usize>,
        subjects: &[SubjectDef],
        index: usize,
    ) -> Option<Check> {
        let walked = self.walk(&e.path)?;
        let mut ok = true;
        let predicate = match &e.predicate {
            None => {
                if walked.ty != Ty::Bool {
                    self.needs_predicate(&e.path, &walked);
                    ok = false;
                }
                None
            }
            Some(p) => {
                let checked = self
                    .predicate(p, &walked, &e.path)
                    .map(|c| normalized(c, &walked));
                ok &= checked.is_some();
                checked
            }
        };
        let modifier = match &e.modifier {
            None => None,
            Some(m) => {
                let checked = self.modifier(m, &walked, &e.path);
                ok &= checked.is_some();
                checked
            }
        };
        if !ok {
            return None;
        }
        Some(self.check(
            e.span, &e.path, walked, criterion, subjects, index, false, predicate, modifier,
        ))
    }

    pub(super) fn action(
        &mut self,
        d: &ast::Do,
        criterion: Option<usize>,
        subjects: &[SubjectDef],
        index: usize,
    ) -> Option<Check> {
        if d.path.segments.is_empty() && d.path.head_args.is_none() {
            return self.run_here(d, criterion, subjects, index);
        }
        let walked = self.walk(&d.path)?;
        if walked.effect == Effect::None {
            self.error(
                Diagnostic::error(
                    Code::NotAnAction,
                    d.path.span,
                    format!("`{}` does nothing to perform", self.text(d.path.span)),
                )
                .label("an observation, not an action")
                .help("`do` takes an action: `restart()`, `kill(\"SIGTERM\")`, `stop(10s)`, `exec(\"...\")`, `get(\"/\")`, `run(\"...\")`; observe with `expect`"),
            );
            return None;
        }
        Some(self.check(
            d.span, &d.path, walked, criterion, subjects, index, true, None, None,
        ))
    }

    /// `do NAME`: runs a host command or a task at this point of the file order.
    fn run_here(
        &mut self,
        d: &ast::Do,
        criterion: Option<usize>,
        subjects: &[SubjectDef],
        index: usize,
    ) -> Option<Check> {
        let head = &d.path.head;
        let kind = self.subjects.get(&head.name).map(|decl| decl.kind);
        match kind {
            Some(SubjectKind::Command | SubjectKind::Task) => {}
            Some(k) => {
                let name = &head.name;
                let help = match k {
                    SubjectKind::Image => format!(
                        "`do NAME` runs a host command or a task; otherwise `do` performs an action: a container's (`do api.restart()`, `do api.kill(\"SIGTERM\")`, `do api.exec(\"...\")`), or an image's one-off run, `do {name}.run(\"CMD\")`; observe the image with `expect {name}.built`"
                    ),
                    SubjectKind::Stack => format!(
                        "`do NAME` runs a host command or a task; on a stack `do` performs an action: `do {name}.down()`, `do {name}.up()`, `do {name}.service(\"web\").restart()`"
                    ),
                    SubjectKind::Request => format!(
                        "`do NAME` runs a host command or a task; a request is made once, when its expectations need it: `expect {name}.status == 200`"
                    ),
                    _ => format!(
                        "`do NAME` runs a host command or a task; on a container `do` performs an action: `do {name}.restart()`, `do {name}.kill(\"SIGTERM\")`, `do {name}.stop(10s)`, `do {name}.exec(\"...\")`"
                    ),
                };
                self.error(
                    Diagnostic::error(
                        Code::NotAnAction,
                        d.path.span,
                        format!("`do {name}` names {} and no action", kind_noun(k)),
                    )
                    .label("a subject, not an action")
                    .help(help),
                );
                return None;
            }
            None => {
                // The usual "not defined" diagnostic, with its did-you-mean.
                self.walk(&d.path)?;
                return None;
            }
        }
        let w = Walked {
            subject: head.name.clone(),
            kind: kind.expect("matched above"),
            steps: Vec::new(),
            ty: Ty::Obj(Owner::Done),
            changes: false,
            effect: Effect::Runs,
            performs: None,
            last: head.name.clone(),
        };
        let mut c = self.check(
            d.span, &d.path, w, criterion, subjects, index, true, None, None,
        );
        c.runs = true;
        Some(c)
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        span: Span,
        path: &ast::Path,
        w: Walked,
        criterion: Option<usize>,
        subjects: &[SubjectDef],
        index: usize,
        action_only: bool,
        predicate: Option<CheckedPredicate>,
        modifier: Option<CheckedModifier>,
    ) -> Check {
        let mut touches = vec![w.subject.clone()];
        // Other subjects a call names (`based_on(base)`) are read too.
        for step in &w.steps {
            if let PathStep::Field { args, .. } = step {
                for a in args {
                    if let Val::Subject(n) = a
                        && !touches.contains(n)
                    {
                        touches.push(n.clone());
                    }
                }
            }
        }
        // A request touches its container and the requests it captures from.
        if w.kind == SubjectKind::Request
            && let Some(SubjectSpec::Request(r)) = self.def(subjects, &w.subject).map(|s| &s.spec)
        {
            touches.push(r.container.clone());
        }
        // Only host commands and tasks touch other subjects (those their env names).
        if matches!(w.kind, SubjectKind::Command | SubjectKind::Task)
            && let Some(spec) = self.def(subjects, &w.subject).map(|s| &s.spec)
        {
            for r in spec.refers_to() {
                if !touches.contains(r) {
                    touches.push(r.clone());
                }
            }
        }

        let file = self.sources.get(span.file);
        let (line, column) = file.line_col(span.start);
        Check {
            index,
            text: self.shown(self.text(span).trim()),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            span,
            path_span: path.span,
            criterion,
            subject: w.subject,
            subject_kind: w.kind,
            // No spare capacity: a large file holds one of these per expectation.
            path: {
                let mut steps = w.steps;
                steps.shrink_to_fit();
                steps
            },
            ty: w.ty,
            action_only,
            predicate,
            modifier: modifier.map(Box::new),
            changes: w.changes,
            // Every `do` is a barrier: later expectations (and their `within` clocks) follow it.
            barrier: action_only || matches!(w.effect, Effect::Barrier | Effect::Stop),
            ends: w.effect == Effect::Stop,
            // Its own subject is implied (a large file holds one of these per expectation).
            also_touches: touches.split_off(1),
            performs: w.performs,
            shares: None,
            runs: false,
        }
    }

    /// Source text as reports show it: each `${NAME}` replaced by the value of its `let` or
    /// `--var` (a secret as `***`, a host read as written, a long value clipped).
    pub(super) fn shown(&self, raw: &str) -> String {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(i) = rest.find("${") {
            let escaped = rest[..i].ends_with('\\');
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            let name = &after[..end];
            let value = if escaped {
                None
            } else if let Some((_, v)) = self.opts.vars.iter().find(|(k, _)| k == name) {
                Some(v.clone())
            } else {
                match self.lets.get(name) {
                    Some((Some(Val::Text(t)), _)) if t.is_secret() => Some("***".to_string()),
                    Some((Some(Val::Text(t)), _)) => t.as_lit(),
                    Some((
                        Some(
                            v @ (Val::Int(_)
                            | Val::Float(_)
                            | Val::Size { .. }
                            | Val::Duration { .. }
                            | Val::Bool(_)),
                        ),
                        _,
                    )) => Some(v.to_string()),
                    _ => None,
                }
            };
            match value {
                Some(v) => {
                    let clipped: String = v.chars().take(80).collect();
                    out.push_str(&clipped);
                    if clipped.len() < v.len() {
                        out.push('…');
                    }
                }
                None => out.push_str(&rest[i..i + 3 + end]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    pub(super) fn walk(&mut self, path: &ast::Path) -> Option<Walked> {
        let head = &path.head;
        let Some(decl) = self.subjects.get(&head.name).cloned() else {
            let help = if self.lets.contains_key(&head.name) {
                format!(
                    "`{}` is a `let`; expectations start with a subject",
                    head.name
                )
            } else {
                self.subject_help(
                    &head.name,
                    &[
                        SubjectKind::Image,
                        SubjectKind::Container,
                        SubjectKind::Stack,
                        SubjectKind::Command,
                        SubjectKind::Request,
                        SubjectKind::Task,
                    ],
                )
            };
            self.error(
                Diagnostic::error(
                    Code::Undefined,
                    head.span,
                    format!("subject `{}` is not defined", head.name),
                )
                .label("no subject by this name")
                .help(help),
            );
            return None;
        };
        if let Some(args) = &path.head_args {
            self.error(
                Diagnostic::error(
                    Code::BadArguments,
                    args.span,
                    format!("`{}` is a subject, not a call", head.name),
                )
                .label("unexpected arguments")
                .help("properties follow a dot: `app.file(\"/app\")`"),
            );
            return None;
        }
        let owner = match decl.kind {
            SubjectKind::Image => Owner::Image,
            SubjectKind::Container => Owner::Container,
            SubjectKind::Stack => Owner::Stack,
            SubjectKind::Command => Owner::Command,
            SubjectKind::Task => Owner::Task,
            SubjectKind::Request => Owner::Http,
        };

        let mut w = Walked {
            subject: head.name.clone(),
            kind: decl.kind,
            steps: Vec::new(),
            ty: Ty::Obj(owner),
            changes: false,
            effect: Effect::None,
            performs: None,
            last: head.name.clone(),
        };
        if path.segments.is_empty() {
            self.error(
                Diagnostic::error(
                    Code::NeedsPredicate,
                    path.span,
                    format!(
                        "`{}` is {}, not a property",
                        head.name,
                        Ty::Obj(owner).describe()
                    ),
                )
                .label("a subject alone")
                .help(format!(
                    "name one of its properties: {}",
                    list(&property::names(owner))
                )),
            );
            return None;
        }
        for seg in &path.segments {
            match seg {
                Segment::Field { name, args } => {
                    let Some(owner) = w.ty.owner() else {
                        self.error(
                            Diagnostic::error(
                                Code::UnknownProperty,
                                name.span,
                                format!(
                                    "`{}` is {} and has no properties",
                                    w.last,
                                    w.ty.describe()
                                ),
                            )
                            .label(format!("`.{}` cannot follow it", name.name))
                            .help(format!(
                                "compare it instead, e.g. `== {}`",
                                w.ty.example().trim_matches('`')
                            )),
                        );
                        return None;
                    };
                    let Some(prop) = property::lookup(owner, &name.name) else {
                        let names = property::names(owner);
                        let mut help = suggest::help_for(
                            &name.name,
                            &names,
                            &format!("properties of {}", owner.noun()),
                        );
                        // `prod.labels.version`: a label is read by its key.
                        if w.last == "labels"
                            && suggest::closest(&name.name, names.iter().copied()).is_none()
                        {
                            help = format!(
                                "a label is read by its key: `labels[\"{}\"]`; `.count` counts them",
                                name.name
                            );
                        }
                        self.error(
                            Diagnostic::error(
                                Code::UnknownProperty,
                                name.span,
                                format!("{} has no property `{}`", owner.noun(), name.name),
                            )
                            .label("unknown property")
                            .help(help),
                        );
                        return None;
                    };
                    let vals = self.call_args(prop, name, args.as_ref())?;
                    w.steps.push(PathStep::Field {
                        name: name.name.clone(),
                        key: prop.key,
                        args: vals,
                    });
                    w.ty = match (args, prop.bare) {
                        (None, Some(bare)) => bare,
                        _ => prop.ty,
                    };
                    w.changes |= prop.changes;
                    if prop.effect != Effect::None {
                        w.effect = prop.effect;
                        w.performs.get_or_insert(w.steps.len());
                    }
                    w.last = self.text(seg.span()).to_string();
                }
                Segment::Index { value, span } => {
                    let v = self.eval(value)?;
                    let ty = match (w.ty, &v) {
                        (Ty::Obj(Owner::LabelMap) | Ty::Obj(Owner::EnvMap), Val::Text(_)) => {
                            Ty::Text
                        }
                        (Ty::Json, Val::Text(_) | Val::Int(_)) => Ty::Json,
                        (Ty::List, Val::Int(_)) => Ty::Text,
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    Code::UnknownProperty,
                                    *span,
                                    format!("`{}` cannot be indexed with {}", w.last, v.describe()),
                                )
                                .label("here")
                                .help("index labels with a string (`labels[\"k\"]`), lists and JSON arrays with a number (`[0]`)"),
                            );
                            return None;
                        }
                    };
                    w.steps.push(PathStep::Index(v));
                    w.ty = ty;
                    w.last = self.text(*span).to_string();
                }
                Segment::Each { span } => {
                    if w.ty != Ty::Json {
                        self.error(
                            Diagnostic::error(
                                Code::UnknownProperty,
                                *span,
                                format!(
                                    "`[*]` needs a JSON array; `{}` is {}",
                                    w.last,
                                    w.ty.describe()
                                ),
                            )
                            .label("here")
                            .help("`[*]` takes every element of a JSON array: `json.items[*].id`"),
                        );
                        return None;
                    }
                    w.steps.push(PathStep::Each);
                    w.last = self.text(*span).to_string();
                }
            }
        }
        w.ty = w.ty.ended();
        Some(w)
    }

    fn call_args(
        &mut self,
        prop: &property::Prop,
        name: &ast::Ident,
        args: Option<&ast::Args>,
    ) -> Option<Vec<Val>> {
        let form_text = |p: &property::Prop| match p.form {
            Form::Field => format!("`.{}`", p.name),
            Form::Call(a) => {
                let l: Vec<String> = a
                    .iter()
                    .map(|a| {
                        if a.optional {
                            format!("[{}]", a.name)
                        } else {
                            a.name.to_string()
                        }
                    })
                    .collect();
                format!("`.{}({})`", p.name, l.join(", "))
            }
        };
        match (prop.form, args) {
            (Form::Field, None) => Some(Vec::new()),
            (Form::Field, Some(a)) => {
                self.error(
                    Diagnostic::error(
                        Code::BadArguments,
                        a.span,
                        format!("`{}` takes no arguments", name.name),
                    )
                    .label("unexpected arguments")
                    .help(format!("write {}", form_text(prop))),
                );
                None
            }
            (Form::Call(spec), None) => {
                if spec.is_empty() || (prop.bare.is_some() && spec.iter().all(|a| a.optional)) {
                    return Some(Vec::new());
                }
                self.error(
                    Diagnostic::error(
                        Code::BadArguments,
                        name.span,
                        format!("`{}` needs arguments", name.name),
                    )
                    .label("missing `(...)`")
                    .help(format!("write {}", form_text(prop))),
                );
                None
            }
            (Form::Call(spec), Some(a)) => {
                let required = spec.iter().filter(|x| !x.optional).count();
                if a.values.len() < required || a.values.len() > spec.len() {
                    self.error(
                        Diagnostic::error(
                            Code::BadArguments,
                            a.span,
                            format!(
                                "`{}` takes {} argument{}, not {}",
                                name.name,
                                count_text(required, spec.len()),
                                if spec.len() == 1 { "" } else { "s" },
                                a.values.len()
                            ),
                        )
                        .label("wrong number of arguments")
                        .help(format!("write {}", form_text(prop))),
                    );
                    return None;
                }
                let mut out = Vec::new();
                for (value, arg) in a.values.iter().zip(spec) {
                    out.push(self.call_arg(value, arg.kind, name)?);
                }
                Some(out)
            }
        }
    }

    fn call_arg(&mut self, value: &ast::Value, kind: ArgKind, name: &ast::Ident) -> Option<Val> {
        if kind == ArgKind::Image {
            return self.image_arg(value, name);
        }
        let v = self.eval(value)?;
        if v.is_secret() {
            self.error(
                Diagnostic::error(Code::SecretPrinted, value.span, format!("a secret cannot be an argument of `{}`", name.name))
                    .label("it would be shown in reports")
                    .help("pass secrets to the container with `env NAME = secret(\"VAR\")` and refer to `$NAME` in the command"),
            );
            return None;
        }
        let bad = |this: &mut Self, why: String| {
            this.error(
                Diagnostic::error(
                    Code::BadArguments,
                    value.span,
                    format!("`{}` needs {}", name.name, kind.describe()),
                )
                .label(why)
                .help(format!(
                    "write `{}(...)` with {}",
                    name.name,
                    kind.describe()
                )),
            );
            None
        };
        let lit = match &v {
            Val::Text(t) => t.as_lit(),
            _ => None,
        };
        match kind {
            ArgKind::Text | ArgKind::UrlPath | ArgKind::Signal => {
                if !matches!(v, Val::Text(_)) {
                    return bad(self, format!("found {}", v.describe()));
                }
                if kind == ArgKind::UrlPath && lit.as_deref().is_some_and(|l| !l.starts_with('/')) {
                    return bad(self, "a URL path starts with `/`".into());
                }
                if kind == ArgKind::Signal
                    && let Some(l) = &lit
                {
                    let up = l.trim_start_matches("SIG");
                    if !SIGNALS.contains(&up) && up.parse::<u8>().is_err() {
                        return bad(self, format!("`{l}` is not a signal"));
                    }
                }
            }
            ArgKind::AbsPath => match &lit {
                Some(l) if l.starts_with('/') => {}
                Some(_) => {
                    return bad(self, "image paths are absolute: they start with `/`".into());
                }
                None if matches!(v, Val::Text(_)) => {}
                None => return bad(self, format!("found {}", v.describe())),
            },
            ArgKind::Glob | ArgKind::RelGlob => {
                let Some(l) = &lit else {
                    return bad(self, format!("found {}", v.describe()));
                };
                if kind == ArgKind::Glob && !l.starts_with('/') {
                    return bad(self, "image globs are absolute: they start with `/`".into());
                }
                if kind == ArgKind::RelGlob && l.starts_with('/') {
                    return bad(self, "context globs are relative to the context".into());
                }
                if let Err(e) = crate::glob::compile(l) {
                    self.error(
                        Diagnostic::error(Code::BadGlob, value.span, "invalid glob")
                            .label(e.kind().to_string())
                            .help("globs use `*` (within a directory), `**` (any depth), `?` and `[...]`"),
                    );
                    return None;
                }
            }
            ArgKind::Port => {
                if !matches!(v, Val::Int(1..=65535)) {
                    return bad(self, format!("found {}", v.describe()));
                }
            }
            ArgKind::Duration => {
                if !matches!(v, Val::Duration { .. }) {
                    return bad(self, format!("found {}", v.describe()));
                }
            }
            ArgKind::Method => match &lit {
                Some(l) if is_http_method(l) => {}
                Some(l) => {
                    return bad(
                        self,
                        format!("`{l}` is not an HTTP method (letters, upper case)"),
                    );
                }
                None => return bad(self, format!("found {}", v.describe())),
            },
            ArgKind::Selector => match &lit {
                Some(l) => {
                    if let Err(e) = crate::prometheus::selector(l) {
                        return bad(self, e);
                    }
                }
                None => return bad(self, format!("found {}", v.describe())),
            },
            ArgKind::Ecosystem => match &lit {
                Some(l) if Ecosystem::parse(l).is_some() => {}
                Some(l) => return bad(self, format!("`{l}` is not a package ecosystem")),
                None => return bad(self, format!("found {}", v.describe())),
            },
            ArgKind::Image => unreachable!("handled by image_arg"),
            ArgKind::HostPath => match &lit {
                Some(l) if !l.is_empty() => {
                    let resolved = self.resolve_path(l);
                    return Some(Val::Text(super::value::Text::lit(
                        resolved.display().to_string(),
                    )));
                }
                Some(_) => return bad(self, "an empty path".into()),
                None => return bad(self, format!("found {}", v.describe())),
            },
            ArgKind::Command => match &v {
                Val::Text(_) => {
                    if let Some(Err(e)) = lit.as_deref().map(argv::split) {
                        return bad(self, format!("cannot split: {e}"));
                    }
                }
                Val::List(items)
                    if items.iter().all(|i| matches!(i, Val::Text(_))) && !items.is_empty() => {}
                _ => return bad(self, format!("found {}", v.describe())),
            },
        }
        Some(v)
    }

    /// An image subject named as an argument (`based_on(base)`).
    fn image_arg(&mut self, value: &ast::Value, name: &ast::Ident) -> Option<Val> {
        let named = match &value.kind {
            ast::ValueKind::Path(p) if p.head_args.is_none() && p.segments.is_empty() => {
                Some(&p.head)
            }
            _ => None,
        };
        let Some(head) = named else {
            self.error(
                Diagnostic::error(
                    Code::BadArguments,
                    value.span,
                    format!("`{}` needs {}", name.name, ArgKind::Image.describe()),
                )
                .label("not the name of an image")
                .help("declare the other image (`image base = existing \"python:3.12-slim\"`) and name it: `based_on(base)`"),
            );
            return None;
        };
        if self.subjects.get(&head.name).map(|d| d.kind) != Some(SubjectKind::Image) {
            let help = self.subject_help(&head.name, &[SubjectKind::Image]);
            self.error(
                Diagnostic::error(
                    Code::Undefined,
                    head.span,
                    format!("`{}` is not an image of this file", head.name),
                )
                .label("no image by this name")
                .help(help),
            );
            return None;
        }
        Some(Val::Subject(head.name.clone()))
    }

    fn needs_predicate(&mut self, path: &ast::Path, w: &Walked) {
        let text = self.text(path.span).to_string();
        let help = match w.ty {
            Ty::Obj(o) => properties_help(o),
            Ty::Text => {
                format!("compare it: `expect {text} == \"...\"`, `matches /.../`, `is not empty`")
            }
            Ty::List => {
                format!("compare it: `expect {text} is empty`, `contains \"...\"`, `.count > 0`")
            }
            t => format!(
                "compare it: `expect {text} == {}`",
                t.example().trim_matches('`')
            ),
        };
        self.error(
            Diagnostic::error(
                Code::NeedsPredicate,
                path.span,
                format!("`{text}` is {}, not true or false", w.ty.describe()),
            )
            .label("needs a comparison")
            .help(help),
        );
    }

    fn predicate(
        &mut self,
        p: &ast::Predicate,
        w: &Walked,
        path: &ast::Path,
    ) -> Option<CheckedPredicate> {
        let ty = w.ty;
        let text = self.text(path.span).to_string();
        let op_ok = match p.op {
            PredicateOp::Compare(op) if op.is_ordering() => {
                matches!(
                    ty,
                    Ty::Int | Ty::Number | Ty::Size | Ty::Duration | Ty::Percent | Ty::Json
                )
            }
            PredicateOp::Compare(_) => !matches!(ty, Ty::Obj(_)),
            PredicateOp::In => matches!(
                ty,
                Ty::Int
                    | Ty::Number
                    | Ty::Size
                    | Ty::Duration
                    | Ty::Percent
                    | Ty::Json
                    | Ty::Text
                    | Ty::Mode
            ),
            PredicateOp::Matches | PredicateOp::NotMatches => matches!(ty, Ty::Text | Ty::Json),
            PredicateOp::Contains | PredicateOp::NotContains => {
                matches!(ty, Ty::Text | Ty::List | Ty::Json)
            }
            PredicateOp::IsEmpty | PredicateOp::IsNotEmpty => {
                matches!(ty, Ty::Text | Ty::List | Ty::Json)
            }
            PredicateOp::IsJson | PredicateOp::IsNotJson => ty == Ty::Text,
        };
        if !op_ok {
            let help = match (p.op, ty) {
                (_, Ty::Obj(o)) => properties_help(o),
                (PredicateOp::Compare(_), _) => {
                    format!("{} is compared with `==` or `!=`", ty.describe())
                }
                (PredicateOp::Matches | PredicateOp::NotMatches, Ty::List) => format!(
                    "a list takes {}; `contains /re/` holds when some element matches",
                    ops_for(ty)
                ),
                _ => format!("{} takes {}", ty.describe(), ops_for(ty)),
            };
            self.error(
                Diagnostic::error(
                    Code::BadOperator,
                    p.op_span,
                    format!(
                        "`{}` does not apply to `{text}`, which is {}",
                        p.op.text(),
                        ty.describe()
                    ),
                )
                .label("not for this type")
                .help(help),
            );
            return None;
        }
        let Some(value_ast) = &p.value else {
            return Some(CheckedPredicate {
                op: p.op,
                value: None,
                value_span: None,
            });
        };
        let v = self.eval(value_ast)?;
        if v.is_secret() {
            self.error(
                Diagnostic::error(
                    Code::SecretPrinted,
                    value_ast.span,
                    "a secret cannot be an expected value",
                )
                .label("it would be printed when the expectation fails")
                .help("check a secret's effect instead (a status code, a log line)"),
            );
            return None;
        }
        let fits = match p.op {
            PredicateOp::Compare(op) => {
                v.fits(ty)
                    && (!op.is_ordering()
                        || ty != Ty::Json
                        || matches!(v, Val::Int(_) | Val::Float(_)))
                    || (ty == Ty::Percent && matches!(v, Val::Percent(_)))
            }
            PredicateOp::In => match &v {
                Val::Range(a, _) => {
                    a.fits(ty) && ty != Ty::Text && ty != Ty::Mode
                        || ty == Ty::Json && a.magnitude().is_some()
                }
                Val::List(items) => items.iter().all(|i| i.fits(ty)),
                _ => false,
            },
            PredicateOp::Matches | PredicateOp::NotMatches => matches!(v, Val::Regex(_)),
            PredicateOp::Contains | PredicateOp::NotContains => match ty {
                Ty::Text => matches!(v, Val::Text(_) | Val::Url { .. }),
                // Some element (a map's key) matches the regex.
                Ty::List => matches!(v, Val::Text(_) | Val::Url { .. } | Val::Regex(_)),
                _ => v.fits(Ty::Json) || matches!(v, Val::Regex(_)),
            },
            _ => true,
        };
        if !fits {
            self.error(self.value_mismatch(p.op, ty, &v, value_ast.span, &text));
            return None;
        }
        Some(CheckedPredicate {
            op: p.op,
            value: Some(v),
            value_span: Some(value_ast.span),
        })
    }

    fn value_mismatch(
        &self,
        op: PredicateOp,
        ty: Ty,
        v: &Val,
        span: Span,
        text: &str,
    ) -> Diagnostic {
        let expected = match op {
            PredicateOp::Matches | PredicateOp::NotMatches => "a regex like `/ERROR/`".to_string(),
            PredicateOp::In => format!(
                "a range or list of {} like {}",
                plural(ty),
                range_example(ty)
            ),
            PredicateOp::Contains | PredicateOp::NotContains if ty == Ty::Text => {
                "a string".to_string()
            }
            PredicateOp::Contains | PredicateOp::NotContains => {
                "a string or a regex (some element matches)".to_string()
            }
            _ => format!("{} like {}", ty.describe(), ty.example()),
        };
        let mut help = format!("`{text}` is {}: compare it with {expected}", ty.describe());
        match (ty, v) {
            (Ty::Size, Val::Int(n) | Val::Size { bytes: n, .. })
                if !matches!(v, Val::Size { .. }) =>
            {
                help = format!("a size is compared with a size: write `{n}MB` or `{n}MiB`");
            }
            (Ty::Duration, Val::Int(n)) => {
                help = format!("a duration carries a unit: write `{n}s` or `{n}ms`")
            }
            (Ty::Percent, Val::Int(n)) => help = format!("CPU is a percentage: write `{n}%`"),
            (Ty::Mode, Val::Int(n)) => help = format!("file modes are octal: write `0o{n}`"),
            (_, Val::Text(t)) if matches!(op, PredicateOp::Matches | PredicateOp::NotMatches) => {
                help = format!(
                    "write a regex between slashes: `/{}/`",
                    t.to_string().replace('/', "\\/")
                );
            }
            (Ty::Text, Val::Regex(r))
                if matches!(op, PredicateOp::Contains | PredicateOp::NotContains) =>
            {
                let m = if op == PredicateOp::Contains {
                    "matches"
                } else {
                    "not matches"
                };
                help = format!("a regex searches text anywhere already: write `{m} /{r}/`");
            }
            (Ty::Json, _) if matches!(op, PredicateOp::Compare(c) if c.is_ordering()) => {
                help = "JSON values are ordered against numbers".into();
            }
            // `ports contains 11434`: ports are listed as Docker spells them.
            (Ty::List, Val::Int(n))
                if matches!(op, PredicateOp::Contains | PredicateOp::NotContains)
                    && (text.ends_with(".ports") || text == "ports") =>
            {
                help = format!(
                    "ports are listed as Docker spells them, with their protocol: write `{} \"{n}/tcp\"`",
                    op.text()
                );
            }
            (Ty::List | Ty::Text, Val::Int(_) | Val::Float(_))
                if matches!(op, PredicateOp::Contains | PredicateOp::NotContains) =>
            {
                help = format!(
                    "the elements are strings: quote the number, `{} \"{v}\"`",
                    op.text()
                );
            }
            _ => {}
        }
        let title = match op {
            PredicateOp::Matches | PredicateOp::NotMatches => {
                format!("`{}` needs a regex, not {}", op.text(), v.describe())
            }
            PredicateOp::Contains | PredicateOp::NotContains => format!(
                "`{}` needs {}, not {}",
                op.text(),
                match ty {
                    Ty::Json => "a JSON value or a regex",
                    Ty::List => "a string or a regex",
                    _ => "a string",
                },
                v.describe()
            ),
            _ => format!(
                "`{text}` is {}, but this is {}",
                ty.describe(),
                v.describe()
            ),
        };
        Diagnostic::error(Code::BadValue, span, title)
            .label(format!("expected {expected}"))
            .help(help)
    }

    fn modifier(
        &mut self,
        m: &ast::Modifier,
        w: &Walked,
        path: &ast::Path,
    ) -> Option<CheckedModifier> {
        let text = self.text(path.span).to_string();
        let v = self.eval(&m.value)?;
        let Val::Duration { ms, text: dtext } = v else {
            let help = match v {
                Val::Int(n) => format!("write `{} {n}s`", m.kind.word()),
                _ => format!("write `{} 30s`", m.kind.word()),
            };
            self.error(
                Diagnostic::error(
                    Code::BadValue,
                    m.value.span,
                    format!("`{}` takes a duration, not {}", m.kind.word(), v.describe()),
                )
                .label("expected a duration like `30s`")
                .help(help),
            );
            return None;
        };
        if matches!(w.effect, Effect::Barrier | Effect::Stop) {
            self.error(
                Diagnostic::error(
                    Code::StaticModifier,
                    m.span,
                    format!("`{}` cannot repeat an action", m.kind.word()),
                )
                .label("the action runs once")
                .help(format!(
                    "`{text}` changes the container; observe its effect in a separate expectation"
                )),
            );
            return None;
        }
        if !w.changes {
            let why = match w.kind {
                SubjectKind::Image => "image facts are fixed once it is built",
                SubjectKind::Command => "a host command runs once",
                SubjectKind::Stack => "the compose config is resolved once",
                SubjectKind::Container => "it is measured once",
                SubjectKind::Task => "a task runs once",
                SubjectKind::Request => "the request is made once",
            };
            self.error(
                Diagnostic::error(
                    Code::StaticModifier,
                    m.span,
                    format!(
                        "`{text}` cannot change over time, so `{}` does not apply",
                        m.kind.word()
                    ),
                )
                .label(why)
                .help(format!(
                    "remove `{} {}`",
                    m.kind.word(),
                    self.text(m.value.span)
                )),
            );
            return None;
        }
        if ms == 0 {
            self.error(
                Diagnostic::error(
                    Code::BadValue,
                    m.value.span,
                    format!("`{}` needs a duration above zero", m.kind.word()),
                )
                .label("zero")
                .help("remove the modifier to check once"),
            );
            return None;
        }
        Some(CheckedModifier {
            kind: m.kind,
            duration_ms: ms,
            text: dtext,
        })
    }
}

const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn count_text(required: usize, max: usize) -> String {
    if required == max {
        required.to_string()
    } else {
        format!("{required} to {max}")
    }
}

fn plural(ty: Ty) -> &'static str {
    match ty {
        Ty::Int => "numbers",
        Ty::Size => "sizes",
        Ty::Duration => "durations",
        Ty::Percent => "percentages",
        Ty::Text => "strings",
        _ => "values",
    }
}

fn range_example(ty: Ty) -> &'static str {
    match ty {
        Ty::Int => "`200..299`",
        Ty::Size => "`200MB..300MB`",
        Ty::Duration => "`1s..5s`",
        Ty::Percent => "`10%..50%`",
        Ty::Text => "`[\"a\", \"b\"]`",
        _ => "`1..5`",
    }
}

/// "an image", "a container": for messages.
fn kind_noun(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::Image => "an image",
        SubjectKind::Container => "a container",
        SubjectKind::Stack => "a stack",
        SubjectKind::Request => "a request",
        _ => "a subject",
    }
}

/// "use one of its properties: ..." — or, for an owner whose properties are any name
/// (`env.NAME`), how to read one.
fn properties_help(o: super::types::Owner) -> String {
    let names = property::names(o);
    if names.is_empty() {
        "read one entry by its name, like `.NAME`".to_string()
    } else {
        format!("use one of its properties: {}", list(&names))
    }
}

fn ops_for(ty: Ty) -> &'static str {
    match ty {
        Ty::Bool => "`==`, `!=` or nothing (`expect x.built`)",
        Ty::Int | Ty::Number | Ty::Size | Ty::Duration | Ty::Percent => {
            "`== != < <= > >=` and `in`"
        }
        Ty::Mode => "`==`, `!=` and `in`",
        Ty::Text => "`==`, `!=`, `in`, `matches`, `contains`, `is empty` and `is json`",
        Ty::List => {
            "`==` and `!=` (a whole list, like `== [\"a\", \"b\"]`), `contains` and `not contains` (an element, or a regex some element matches), `is empty`, `is not empty`, `.count` and `[N]` (one element)"
        }
        Ty::Json => "comparisons, `matches`, `contains` and `is empty`",
        Ty::Obj(_) => "its properties",
    }
}

/// The expected value as the engine reports the property: capabilities without their
/// `CAP_` prefix, in upper case (`"cap_net_raw"` and `"NET_RAW"` are one capability).
fn normalized(mut p: CheckedPredicate, w: &Walked) -> CheckedPredicate {
    use super::property::ServiceConfigProp;
    use super::property::{ContainerProp, Key};
    use super::value::Text;
    let caps = matches!(
        w.steps.iter().rev().find_map(PathStep::key),
        Some(
            Key::Container(ContainerProp::CapAdd | ContainerProp::CapDrop)
                | Key::ServiceConfig(ServiceConfigProp::CapAdd | ServiceConfigProp::CapDrop)
        )
    );
    if !caps {
        return p;
    }
    let cap = |v: &Val| match v {
        Val::Text(t) => match t.as_lit() {
            Some(l) => Val::Text(Text::lit(super::value::capability(&l))),
            None => v.clone(),
        },
        other => other.clone(),
    };
    p.value = p.value.map(|v| match &v {
        Val::List(items) => Val::List(items.iter().map(cap).collect()),
        _ => cap(&v),
    });
    p
}

/// An HTTP method as dspec sends it: upper-case letters (`PATCH`, `PROPFIND`).
pub(super) fn is_http_method(m: &str) -> bool {
    !m.is_empty() && m.len() <= 20 && m.bytes().all(|b| b.is_ascii_uppercase() || b == b'-')
}
