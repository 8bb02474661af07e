//! `request NAME = CONTAINER[.port(N)].METHOD(PATH) { ... }`: the request's form and its
//! settings, checked against the `REQUEST` settings table. Captures in its strings are
//! resolved by `resolve.rs` while `FileCompiler::captures` is set.

use super::FileCompiler;
use super::model::*;
use super::settings::SettingDef;
use super::subjects::{Arg, plain};
use super::value::{Text, TextPart, Val};
use crate::ast::{self, SubjectKind};
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::Span;

impl FileCompiler<'_> {
    /// `api.get("/x")`, `api.port(8443).post("/x")`, `api.request("PATCH", "/x")` and the
    /// request's settings.
    pub(super) fn request_spec(
        &mut self,
        path: &ast::Path,
        args: &[(&SettingDef, Arg, Span)],
    ) -> Option<SubjectSpec> {
        const METHODS: &[&str] = &[
            "get", "post", "put", "patch", "delete", "head", "options", "request",
        ];
        let head = &path.head;
        let form_help = "write `request NAME = CONTAINER.get(\"/path\")` (or post put patch delete head options, `request(\"METHOD\", \"/path\")`), optionally after `.port(N)`";
        match self.subjects.get(&head.name).cloned() {
            Some(d) if d.kind == SubjectKind::Container => {}
            Some(d) => {
                self.error(
                    Diagnostic::error(
                        Code::BadValue,
                        head.span,
                        format!("`{}` is a {}, not a container", head.name, d.kind.word()),
                    )
                    .label("a request goes to a container's published port")
                    .secondary(d.span, "declared here")
                    .help(self.subject_help(&head.name, &[SubjectKind::Container])),
                );
                return None;
            }
            None => {
                self.error(
                    Diagnostic::error(
                        Code::Undefined,
                        head.span,
                        format!("container `{}` is not defined", head.name),
                    )
                    .label("no container subject by this name")
                    .help(self.subject_help(&head.name, &[SubjectKind::Container])),
                );
                return None;
            }
        }
        let bad_form = |this: &mut Self, span: Span, title: String| {
            this.error(
                Diagnostic::error(Code::BadValue, span, title)
                    .label("not a request")
                    .help(form_help),
            );
        };
        if let Some(a) = &path.head_args {
            bad_form(
                self,
                a.span,
                format!("`{}` is a subject, not a call", head.name),
            );
            return None;
        }
        let mut port = None;
        let mut segments = path.segments.iter();
        let mut call = segments.next();
        if let Some(ast::Segment::Field { name, args }) = call
            && name.name == "port"
        {
            let value = args.as_ref().and_then(|a| a.values.first());
            match value.and_then(|v| self.eval(v)) {
                Some(Val::Int(n @ 1..=65535)) => port = Some(n as u16),
                _ => {
                    bad_form(
                        self,
                        args.as_ref().map_or(name.span, |a| a.span),
                        "`port` needs a port number like 8443".into(),
                    );
                    return None;
                }
            }
            call = segments.next();
        }
        let Some(ast::Segment::Field {
            name,
            args: Some(call_args),
        }) = call
        else {
            bad_form(self, path.span, "a request needs a method call".into());
            return None;
        };
        if let Some(extra) = segments.next() {
            let span = match extra {
                ast::Segment::Field { name, .. } => name.span,
                ast::Segment::Index { span, .. } | ast::Segment::Each { span } => *span,
            };
            bad_form(
                self,
                span,
                "a request ends with its method call; its response's properties go in expectations (`expect NAME.status == 200`)".into(),
            );
            return None;
        }
        if !METHODS.contains(&name.name.as_str()) {
            self.error(
                Diagnostic::error(
                    Code::BadValue,
                    name.span,
                    format!("`{}` is not an HTTP method call", name.name),
                )
                .label("unknown method")
                .help(suggest::help_for(&name.name, METHODS, "methods")),
            );
            return None;
        }
        let mut values = call_args.values.iter();
        let method = if name.name == "request" {
            let v = values.next();
            match v.and_then(|v| self.eval(v)) {
                Some(Val::Text(t))
                    if t.as_lit()
                        .is_some_and(|m| super::checks::is_http_method(&m)) =>
                {
                    t.as_lit().unwrap_or_default()
                }
                _ => {
                    bad_form(
                        self,
                        v.map_or(call_args.span, |v| v.span),
                        "`request` needs an HTTP method in upper case first: `request(\"PATCH\", \"/x\")`".into(),
                    );
                    return None;
                }
            }
        } else {
            name.name.to_ascii_uppercase()
        };
        let path_value = values.next();
        let url_path = match path_value.map(|v| self.eval(v)) {
            // Its own error (an unknown capture, say) is reported.
            Some(None) => return None,
            Some(Some(Val::Text(t))) if t.as_lit().is_none_or(|l| l.starts_with('/')) => t,
            _ => {
                bad_form(
                    self,
                    path_value.map_or(call_args.span, |v| v.span),
                    "a request needs a URL path starting with `/`".into(),
                );
                return None;
            }
        };
        let inline_body = match values.next() {
            Some(v)
                if matches!(method.as_str(), "POST" | "PUT" | "PATCH")
                    || name.name == "request" =>
            {
                match self.eval(v) {
                    Some(Val::Text(t)) => Some(t),
                    _ => {
                        bad_form(self, v.span, "a body is a string".into());
                        return None;
                    }
                }
            }
            Some(v) => {
                bad_form(self, v.span, format!("`{}` takes only a path", name.name));
                return None;
            }
            None => None,
        };
        if let Some(v) = values.next() {
            bad_form(self, v.span, "too many arguments".into());
            return None;
        }
        let mut spec = RequestSpec {
            container: head.name.clone(),
            port,
            method,
            path: url_path,
            headers: Vec::new(),
            query: Vec::new(),
            body: inline_body.clone(),
            content_type: inline_body.map(|_| "application/json".to_string()),
            form: Vec::new(),
            basic_auth: None,
            https: false,
            insecure: false,
            cacert: None,
            follow_redirects: false,
            timeout: None,
            captures: Vec::new(),
            capture_spans: Vec::new(),
        };
        let mut body_from: Option<(&str, Span)> = None;
        let mut ok = true;
        let mut tls_only: Option<(&str, Span)> = None;
        for (def, arg, span) in args {
            let text = |v: &Val| match v {
                Val::Text(t) => t.clone(),
                other => Text::lit(other.to_string()),
            };
            if matches!(def.name, "body" | "json" | "form") {
                if let Some((first, at)) = body_from
                    && first != def.name
                {
                    self.error(
                        Diagnostic::error(
                            Code::BadSetting,
                            *span,
                            format!("`{}` and `{first}` both set the body", def.name),
                        )
                        .label("second body")
                        .secondary(at, "first body here")
                        .help("a request has one body: `body` (as written), `json` (as written, as JSON) or `form` fields"),
                    );
                    ok = false;
                }
                body_from.get_or_insert((def.name, *span));
            }
            match (def.name, arg) {
                ("header", Arg::KeyValue(k, v)) => spec.headers.push((k.clone(), text(v))),
                ("query", Arg::KeyValue(k, v)) => spec.query.push((k.clone(), text(v))),
                ("form", Arg::KeyValue(k, v)) => {
                    spec.form.push((k.clone(), text(v)));
                    spec.content_type = Some("application/x-www-form-urlencoded".into());
                }
                ("body", Arg::Value(v, _)) => {
                    spec.body = Some(text(v));
                    spec.content_type = None;
                }
                ("json", Arg::Value(v, _)) => {
                    spec.body = Some(text(v));
                    spec.content_type = Some("application/json".into());
                }
                ("basic_auth", Arg::KeyValue(k, v)) => spec.basic_auth = Some((k.clone(), text(v))),
                ("https", Arg::Flag) => spec.https = true,
                ("insecure", Arg::Flag) => {
                    spec.insecure = true;
                    tls_only.get_or_insert(("insecure", *span));
                }
                ("cacert", Arg::Value(v, _)) => {
                    spec.cacert = Some(self.resolve_path(&plain(v)));
                    tls_only.get_or_insert(("cacert", *span));
                }
                ("follow_redirects", Arg::Flag) => spec.follow_redirects = true,
                ("timeout", Arg::Value(v, _)) => spec.timeout = v.duration(),
                _ => {}
            }
        }
        if let Some((name, span)) = tls_only
            && !spec.https
        {
            self.error(
                Diagnostic::error(
                    Code::BadSetting,
                    span,
                    format!("`{name}` applies to TLS, and this request is plain HTTP"),
                )
                .label("without `https`")
                .help("add `https` to the request (the port must speak TLS)"),
            );
            ok = false;
        }
        ok.then(|| SubjectSpec::Request(Box::new(spec)))
    }

    /// `${login.json.token}` in a request's setting: a value of another request's response,
    /// read when this request is made.
    pub(super) fn capture(&mut self, path: &ast::Path) -> Option<TextPart> {
        if self.captures.is_none() {
            self.error(
                Diagnostic::error(
                    Code::Undefined,
                    path.span,
                    format!("`${{{path}}}` reads another subject: only a request's settings read captures"),
                )
                .label("a capture")
                .help("interpolate a `let` or a `--var` here: `${name}`; captures go in a `request`'s settings"),
            );
            return None;
        }
        match self.subjects.get(&path.head.name).map(|d| d.kind) {
            Some(crate::ast::SubjectKind::Request) | None => {}
            Some(kind) => {
                self.error(
                    Diagnostic::error(
                        Code::BadValue,
                        path.head.span,
                        format!(
                            "`{}` is a {}: captures read the response of a `request` subject",
                            path.head.name,
                            kind.word()
                        ),
                    )
                    .label("not a request")
                    .help(self.subject_help(&path.head.name, &[crate::ast::SubjectKind::Request])),
                );
                return None;
            }
        }
        let w = self.walk(path)?;
        if let super::types::Ty::Obj(o) = w.ty.ended() {
            self.error(
                Diagnostic::error(
                    Code::BadValue,
                    path.span,
                    format!("`${{{path}}}` is {}, not a value", o.noun()),
                )
                .label("a capture needs a value")
                .help("name one of its properties, like `${login.json.token}`"),
            );
            return None;
        }
        if let Some(c) = self.captures.as_mut() {
            c.push((w.subject.clone(), path.span));
        }
        Some(TextPart::Capture {
            subject: w.subject,
            path: w.steps,
            text: path.to_string(),
        })
    }

    /// Requests whose captures read each other in a circle (or themselves) cannot be made in
    /// any order: an error at the `${` that closes the circle.
    pub(super) fn check_capture_cycles(&mut self, subjects: &[SubjectDef]) {
        let by_name = super::model::by_name(subjects);
        let captures = |name: &str| -> Vec<String> {
            match by_name.get(name).map(|s| &s.spec) {
                Some(SubjectSpec::Request(r)) => r.captures.clone(),
                _ => Vec::new(),
            }
        };
        let mut reported: std::collections::HashSet<String> = std::collections::HashSet::new();
        for s in subjects {
            let SubjectSpec::Request(r) = &s.spec else {
                continue;
            };
            if reported.contains(&s.name) {
                continue;
            }
            for (first, span) in &r.capture_spans {
                // Depth-first from the captured request: reaching `s` again is a circle.
                let mut stack = vec![(first.clone(), vec![s.name.clone(), first.clone()])];
                let mut seen = std::collections::HashSet::new();
                let mut found = None;
                while let Some((at, path)) = stack.pop() {
                    if at == s.name {
                        found = Some(path);
                        break;
                    }
                    for next in captures(&at) {
                        if seen.insert(next.clone()) {
                            let mut p = path.clone();
                            p.push(next.clone());
                            stack.push((next, p));
                        }
                    }
                }
                if let Some(names) = found {
                    reported.extend(names.iter().cloned());
                    let title = if names.len() == 2 {
                        format!("request `{}` captures from itself", s.name)
                    } else {
                        format!(
                            "requests capture from each other in a circle: {}",
                            names.join(" → ")
                        )
                    };
                    self.error(
                        Diagnostic::error(Code::Cycle, *span, title)
                            .label("this capture closes the circle")
                            .secondary(s.span, "the request")
                            .help("a request is made after those it captures from; take the value from a `let` or from a request outside the circle"),
                    );
                    break;
                }
            }
        }
    }
}
