//! Subjects: their source (`build`, `run`...) and settings, checked against
//! the settings table.

use std::path::PathBuf;

use super::model::*;
use super::settings::{self, Kind, SettingDef, Shape};
use super::value::{Text, Val};
use super::{FileCompiler, argv};
use crate::ast::{self, SettingArg, Source, SubjectKind};
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::Span;

/// A checked setting argument.
pub(super) enum Arg {
    Flag,
    Value(Val, Span),
    KeyValue(String, Val),
    At(Val, Val),
}

impl FileCompiler<'_> {
    pub(super) fn subject(&mut self, s: &ast::Subject) -> Option<SubjectDef> {
        let table = settings::table(s.kind, s.source.keyword());
        if s.kind == SubjectKind::Request {
            self.captures = Some(Vec::new());
        }
        let mut args: Vec<(&'static SettingDef, Arg, Span)> = Vec::new();
        let mut ok = true;
        for setting in &s.settings {
            match self.setting(s, table, setting, &args) {
                Some((def, arg)) => args.push((def, arg, setting.span)),
                None => ok = false,
            }
        }
        let spec = match &s.source {
            Source::Build(ctx) => self.build_spec(ctx, &args),
            Source::Existing(r) => self
                .text_of(r, "an image reference like \"app:1.0\"")
                .map(|reference| SubjectSpec::Existing { reference }),
            Source::Run(image) if s.kind == SubjectKind::Task => self.task_spec(image, &args),
            Source::Run(image) => self.run_spec(image, &args),
            Source::Compose(file) => self.compose_spec(file, &args),
            Source::Host(cmd) => self.host_spec(cmd, &args),
            Source::Request(path) => self.request_spec(path, &args),
        };
        let captured = self.captures.take().unwrap_or_default();
        let mut spec = spec?;
        if let SubjectSpec::Request(r) = &mut spec {
            for (name, span) in captured {
                if !r.captures.contains(&name) {
                    r.captures.push(name.clone());
                }
                r.capture_spans.push((name, span));
            }
        }
        let run = match &mut spec {
            SubjectSpec::Run(r) => Some(&mut **r),
            SubjectSpec::Task(t) => Some(&mut t.run),
            _ => None,
        };
        if let Some(r) = run {
            // A container reaches itself by its own name: no dependency.
            r.refers_to.retain(|n| *n != s.name.name);
        }
        ok.then(|| SubjectDef {
            name: s.name.name.clone(),
            kind: s.kind,
            span: s.name.span,
            used: false,
            spec,
        })
    }

    fn setting(
        &mut self,
        s: &ast::Subject,
        table: &'static [SettingDef],
        setting: &ast::Setting,
        seen: &[(&'static SettingDef, Arg, Span)],
    ) -> Option<(&'static SettingDef, Arg)> {
        let name = &setting.name.name;
        let what = format!("{} `{}`", article(s.source.keyword()), s.source.keyword());
        let Some(def) = table.iter().find(|d| d.name == name) else {
            let names: Vec<&str> = table.iter().map(|d| d.name).collect();
            let help = if names.is_empty() {
                "`existing` images take no settings".to_string()
            } else {
                suggest::help_for(name, &names, &format!("settings of {what}"))
            };
            self.error(
                Diagnostic::error(
                    Code::UnknownSetting,
                    setting.name.span,
                    format!(
                        "`{name}` is not a setting of {} `{}`",
                        article(s.kind.word()),
                        s.kind.word()
                    ),
                )
                .label("unknown setting")
                .help(help),
            );
            return None;
        };
        if !def.repeat
            && let Some((_, _, first)) = seen.iter().find(|(d, _, _)| d.name == def.name)
        {
            self.error(
                Diagnostic::error(
                    Code::BadSetting,
                    setting.span,
                    format!("`{name}` is set twice"),
                )
                .label("second setting")
                .secondary(*first, "first set here")
                .help(format!("`{name}` takes one value; remove one of them")),
            );
            return None;
        }
        let shape_help = |def: &SettingDef| match def.shape {
            Shape::Flag => format!("`{}` is a flag: write it alone", def.name),
            Shape::Value(k) => format!("write `{} VALUE` with {}", def.name, k.describe()),
            Shape::KeyValue(k) => format!("write `{} KEY = VALUE` with {}", def.name, k.describe()),
            Shape::At => format!("write `{} \"FROM\" at \"PATH\"`", def.name),
        };
        let arg = match (&def.shape, &setting.arg) {
            (Shape::Flag, SettingArg::None) => Arg::Flag,
            (Shape::Value(Kind::Runner), SettingArg::Value(v)) => {
                Arg::Value(self.runner(s, def, v)?, v.span)
            }
            (Shape::Value(k), SettingArg::Value(v)) => {
                Arg::Value(self.setting_value(def, *k, v)?, v.span)
            }
            (Shape::KeyValue(k), SettingArg::KeyValue { key, value }) => {
                Arg::KeyValue(key.text.clone(), self.setting_value(def, *k, value)?)
            }
            (Shape::At, SettingArg::At { from, to }) => {
                let f = self.setting_value(def, Kind::Text, from)?;
                let t = self.setting_value(def, Kind::Text, to)?;
                Arg::At(f, t)
            }
            (_, SettingArg::None) => {
                self.error(
                    Diagnostic::error(
                        Code::BadSetting,
                        setting.span,
                        format!("`{name}` needs a value"),
                    )
                    .label("missing value")
                    .help(shape_help(def)),
                );
                return None;
            }
            _ => {
                self.error(
                    Diagnostic::error(
                        Code::BadSetting,
                        setting.span,
                        format!("`{name}` is not written this way"),
                    )
                    .label("wrong form")
                    .help(shape_help(def)),
                );
                return None;
            }
        };
        Some((def, arg))
    }

    /// `after NAME`: another host command or task of the file.
    fn runner(&mut self, s: &ast::Subject, def: &SettingDef, v: &ast::Value) -> Option<Val> {
        let head = match &v.kind {
            ast::ValueKind::Path(p) if p.head_args.is_none() && p.segments.is_empty() => &p.head,
            _ => {
                self.error(
                    Diagnostic::error(
                        Code::BadSetting,
                        v.span,
                        format!("`{}` takes the name of a host command or a task", def.name),
                    )
                    .label("not a name")
                    .help("write `after NAME` with a `command` or `task` of this file"),
                );
                return None;
            }
        };
        let runners = [SubjectKind::Command, SubjectKind::Task];
        match self.subjects.get(&head.name).cloned() {
            Some(d) if head.name == s.name.name => {
                self.error(
                    Diagnostic::error(
                        Code::Cycle,
                        head.span,
                        format!("`{}` cannot run after itself", head.name),
                    )
                    .label("its own name")
                    .secondary(d.span, "declared here")
                    .help("`after` names another host command or task of the file"),
                );
                None
            }
            Some(d) if runners.contains(&d.kind) => Some(Val::Subject(head.name.clone())),
            Some(d) => {
                self.error(
                    Diagnostic::error(
                        Code::BadSetting,
                        head.span,
                        format!(
                            "`{}` is {} {}: `after` orders host commands and tasks",
                            head.name,
                            article(d.kind.word()),
                            d.kind.word()
                        ),
                    )
                    .label("not a host command or task")
                    .secondary(d.span, "declared here")
                    .help("a container or stack a command needs is named in its settings (`env URL = api.url(8000)`); `after` waits for a command or a task to finish"),
                );
                None
            }
            None => {
                let help = self.subject_help(&head.name, &runners);
                self.error(
                    Diagnostic::error(
                        Code::Undefined,
                        head.span,
                        format!("`{}` is not a host command or task of this file", head.name),
                    )
                    .label("no such subject")
                    .help(help),
                );
                None
            }
        }
    }

    fn setting_value(&mut self, def: &SettingDef, kind: Kind, v: &ast::Value) -> Option<Val> {
        let val = self.eval(v)?;
        if val.is_secret()
            && !matches!(
                def.name,
                "env" | "header" | "basic_auth" | "body" | "json" | "form"
            )
        {
            self.error(
                Diagnostic::error(
                    Code::SecretPrinted,
                    v.span,
                    format!("a secret cannot be used in `{}`", def.name),
                )
                .label("its value would be shown")
                .help("secrets are passed as `env` values of containers and host commands, and as a request's `header`, `basic_auth`, `body`, `json` or `form`"),
            );
            return None;
        }
        let fits = match kind {
            Kind::Text | Kind::HostPath => matches!(val, Val::Text(_)),
            Kind::Size => matches!(val, Val::Size { .. }),
            Kind::Duration => matches!(val, Val::Duration { .. }),
            Kind::Number => matches!(val, Val::Int(_) | Val::Float(_)),
            Kind::Int => matches!(val, Val::Int(_)),
            Kind::Port => match &val {
                Val::Int(n) => (1..=65535).contains(n),
                Val::PortMap { .. } => true,
                Val::Text(t) => t.as_lit().and_then(|t| parse_port_text(&t)).is_some(),
                _ => false,
            },
            Kind::Argv => match &val {
                Val::Text(t) => t.as_lit().map(|t| argv::split(&t).is_ok()).unwrap_or(true),
                Val::List(items) => items.iter().all(|i| matches!(i, Val::Text(_))),
                _ => false,
            },
            Kind::EnvValue => matches!(
                val,
                Val::Text(_)
                    | Val::Url { .. }
                    | Val::ImageRef { .. }
                    | Val::Int(_)
                    | Val::Float(_)
                    | Val::Bool(_)
            ),
            Kind::Pull => {
                matches!(&val, Val::Text(t) if matches!(t.as_lit().as_deref(), Some("missing" | "never")))
            }
            Kind::Network => matches!(val, Val::Text(_) | Val::StackNetwork { .. }),
            Kind::Runner => matches!(val, Val::Subject(_)),
        };
        if !fits {
            let mut help = format!("`{}` takes {}", def.name, kind.describe());
            if kind == Kind::Size
                && let Val::Int(n) = val
            {
                help = format!("sizes carry a unit: `{n}MB` or `{n}MiB`");
            }
            if kind == Kind::Duration
                && let Val::Int(n) = val
            {
                help = format!("durations carry a unit: `{n}s`");
            }
            if kind == Kind::Argv
                && let Val::Text(t) = &val
                && let Some(Err(e)) = t.as_lit().map(|t| argv::split(&t))
            {
                help = format!("the command cannot be split: {e}");
            }
            self.error(
                Diagnostic::error(
                    Code::BadSetting,
                    v.span,
                    format!("`{}` does not take {}", def.name, val.describe()),
                )
                .label(format!("expected {}", kind.describe()))
                .help(help),
            );
            return None;
        }
        Some(val)
    }

    /// Text known before the run (no `env()`): paths, names, references.
    fn text_of(&mut self, v: &ast::Value, what: &str) -> Option<Text> {
        match self.eval(v)? {
            Val::Text(t) if !t.is_secret() => Some(t),
            other => {
                self.error(
                    Diagnostic::error(
                        Code::BadValue,
                        v.span,
                        format!("expected {what}, found {}", other.describe()),
                    )
                    .label("here")
                    .help(format!("write {what}")),
                );
                None
            }
        }
    }

    fn host_path(&mut self, v: &ast::Value, what: &str) -> Option<PathBuf> {
        let t = self.text_of(v, what)?;
        match t.as_lit() {
            Some(p) => Some(self.resolve_path(&p)),
            None => {
                self.error(
                    Diagnostic::error(
                        Code::BadValue,
                        v.span,
                        format!("{what} must be known before the run"),
                    )
                    .label("read from the host environment")
                    .help("use a literal or a `let`; `env()` is read only when the run starts"),
                );
                None
            }
        }
    }

    /// A path relative to the spec file's directory.
    pub fn resolve_path(&self, p: &str) -> PathBuf {
        let dir = self.sources.get(self.ast.file).dir();
        let joined = dir.join(p);
        normalize(&joined)
    }

    fn build_spec(
        &mut self,
        ctx: &ast::Value,
        args: &[(&SettingDef, Arg, Span)],
    ) -> Option<SubjectSpec> {
        let context = self.host_path(ctx, "a context directory like \".\"")?;
        let mut spec = BuildSpec {
            context,
            dockerfile: None,
            target: None,
            args: Vec::new(),
            tags: Vec::new(),
            platform: None,
            labels: Vec::new(),
            no_cache: false,
            timeout: None,
        };
        for (def, arg, _) in args {
            match (def.name, arg) {
                ("dockerfile", Arg::Value(Val::Text(t), _)) => {
                    spec.dockerfile = t.as_lit().map(|p| self.resolve_path(&p))
                }
                ("target", Arg::Value(Val::Text(t), _)) => spec.target = Some(t.to_string()),
                ("arg", Arg::KeyValue(k, v)) => spec.args.push((k.clone(), to_text(v))),
                ("tag", Arg::Value(Val::Text(t), _)) => spec.tags.push(t.to_string()),
                ("platform", Arg::Value(Val::Text(t), _)) => spec.platform = Some(t.to_string()),
                ("label", Arg::KeyValue(k, v)) => spec.labels.push((k.clone(), to_text(v))),
                ("no_cache", Arg::Flag) => spec.no_cache = true,
                ("timeout", Arg::Value(v, _)) => spec.timeout = v.duration(),
                _ => {}
            }
        }
        Some(SubjectSpec::Build(Box::new(spec)))
    }

    fn run_spec(
        &mut self,
        image: &ast::Ident,
        args: &[(&SettingDef, Arg, Span)],
    ) -> Option<SubjectSpec> {
        match self.subjects.get(&image.name).cloned() {
            Some(d) if d.kind == SubjectKind::Image => {}
            Some(d) => {
                self.error(
                    Diagnostic::error(
                        Code::NotAnImage,
                        image.span,
                        format!("`{}` is a {}, not an image", image.name, d.kind.word()),
                    )
                    .label("`run` needs an image subject")
                    .secondary(d.span, "declared here")
                    .help(self.subject_help(&image.name, &[SubjectKind::Image])),
                );
                return None;
            }
            None => {
                let mut help = self.subject_help(&image.name, &[SubjectKind::Image]);
                if image.name.contains(':') || image.name.contains('/') {
                    help = format!(
                        "to run an image reference, declare it: `image x = existing \"{}\"`",
                        image.name
                    );
                }
                self.error(
                    Diagnostic::error(
                        Code::Undefined,
                        image.span,
                        format!("image `{}` is not defined", image.name),
                    )
                    .label("no image subject by this name")
                    .help(help),
                );
                return None;
            }
        }
        let mut spec = RunSpec {
            image: image.name.clone(),
            ..RunSpec::default()
        };
        let mut ok = true;
        for (def, arg, _) in args {
            match (def.name, arg) {
                ("publish", Arg::Value(v, _)) => spec.publish.push(publish_of(v)),
                ("env", Arg::KeyValue(k, v)) => {
                    refer(&mut spec.refers_to, v);
                    spec.env.push((k.clone(), v.clone()))
                }
                ("env_file", Arg::Value(Val::Text(t), span)) => match t.as_lit() {
                    Some(p) => spec.env_files.push(self.resolve_path(&p)),
                    None => {
                        self.error(
                            Diagnostic::error(
                                Code::BadValue,
                                *span,
                                "an env file must be known before the run",
                            )
                            .label("here")
                            .help("use a literal path"),
                        );
                        ok = false;
                    }
                },
                ("command", Arg::Value(v, _)) => spec.command = argv::of(v),
                ("entrypoint", Arg::Value(v, _)) => spec.entrypoint = argv::of(v),
                ("user", Arg::Value(v, _)) => spec.user = Some(plain(v)),
                ("workdir", Arg::Value(v, _)) => spec.workdir = Some(plain(v)),
                ("memory", Arg::Value(Val::Size { bytes, .. }, _)) => spec.memory = Some(*bytes),
                ("cpus", Arg::Value(v, _)) => spec.cpus = v.magnitude(),
                ("pids", Arg::Value(Val::Int(n), _)) => spec.pids = Some(*n),
                ("read_only", Arg::Flag) => spec.read_only = true,
                ("tmpfs", Arg::Value(v, _)) => spec.tmpfs.push(plain(v)),
                ("mount" | "mount_ro", Arg::At(from, to)) => spec.mounts.push(Mount {
                    host: self.resolve_path(&plain(from)),
                    path: plain(to),
                    read_only: def.name == "mount_ro",
                }),
                ("volume", Arg::At(from, to)) => spec.volumes.push((plain(from), plain(to))),
                ("network", Arg::Value(Val::StackNetwork { subject, network }, _)) => {
                    refer(&mut spec.refers_to, &Val::Subject(subject.clone()));
                    spec.stack_networks.push((subject.clone(), network.clone()));
                }
                ("network", Arg::Value(v, _)) => spec.networks.push(plain(v)),
                ("cap_drop", Arg::Value(v, _)) => spec.cap_drop.push(plain(v)),
                ("cap_add", Arg::Value(v, _)) => spec.cap_add.push(plain(v)),
                ("no_new_privileges", Arg::Flag) => spec.no_new_privileges = true,
                ("init", Arg::Flag) => spec.init = true,
                ("label", Arg::KeyValue(k, v)) => spec.labels.push((k.clone(), to_text(v))),
                ("extra_host", Arg::KeyValue(k, v)) => spec.extra_hosts.push((k.clone(), plain(v))),
                ("no_healthcheck", Arg::Flag) => spec.no_healthcheck = true,
                ("health_interval", Arg::Value(v, _)) => spec.health_interval = v.duration(),
                ("health_timeout", Arg::Value(v, _)) => spec.health_timeout = v.duration(),
                ("health_retries", Arg::Value(Val::Int(n), _)) => spec.health_retries = Some(*n),
                ("health_start_period", Arg::Value(v, _)) => {
                    spec.health_start_period = v.duration()
                }
                ("timeout", Arg::Value(v, _)) => spec.timeout = v.duration(),
                _ => {}
            }
        }
        ok.then(|| SubjectSpec::Run(Box::new(spec)))
    }

    fn task_spec(
        &mut self,
        image: &ast::Ident,
        args: &[(&SettingDef, Arg, Span)],
    ) -> Option<SubjectSpec> {
        let Some(SubjectSpec::Run(run)) = self.run_spec(image, args) else {
            return None;
        };
        let mut spec = TaskSpec {
            run: *run,
            stdin: None,
            after: Vec::new(),
        };
        for (def, arg, _) in args {
            match (def.name, arg) {
                ("stdin", Arg::Value(v, _)) => spec.stdin = Some(to_text(v)),
                ("after", Arg::Value(Val::Subject(n), _)) => push_new(&mut spec.after, n),
                _ => {}
            }
        }
        Some(SubjectSpec::Task(Box::new(spec)))
    }

    fn compose_spec(
        &mut self,
        file: &ast::Value,
        args: &[(&SettingDef, Arg, Span)],
    ) -> Option<SubjectSpec> {
        let first = self.host_path(file, "a compose file like \"docker-compose.yml\"")?;
        let mut spec = ComposeSpec {
            files: vec![first],
            ..ComposeSpec::default()
        };
        for (def, arg, _) in args {
            match (def.name, arg) {
                ("file", Arg::Value(v, _)) => spec.files.push(self.resolve_path(&plain(v))),
                ("env_file", Arg::Value(v, _)) => spec.env_files.push(self.resolve_path(&plain(v))),
                ("profile", Arg::Value(v, _)) => spec.profiles.push(plain(v)),
                ("scale", Arg::KeyValue(k, Val::Int(n))) => spec.scale.push((k.clone(), *n)),
                ("pull", Arg::Value(v, _)) => spec.pull = Some(plain(v)),
                ("timeout", Arg::Value(v, _)) => spec.timeout = v.duration(),
                ("env", Arg::KeyValue(k, v)) => {
                    refer(&mut spec.refers_to, v);
                    spec.env.push((k.clone(), v.clone()));
                }
                _ => {}
            }
        }
        Some(SubjectSpec::Compose(Box::new(spec)))
    }

    fn host_spec(
        &mut self,
        cmd: &ast::Value,
        args: &[(&SettingDef, Arg, Span)],
    ) -> Option<SubjectSpec> {
        let command = self.text_of(cmd, "a command line like \"pytest -q\"")?;
        let mut spec = HostSpec {
            command,
            env: Vec::new(),
            workdir: None,
            timeout: None,
            refers_to: Vec::new(),
            after: Vec::new(),
        };
        for (def, arg, _) in args {
            match (def.name, arg) {
                ("env", Arg::KeyValue(k, v)) => {
                    refer(&mut spec.refers_to, v);
                    spec.env.push((k.clone(), v.clone()));
                }
                ("after", Arg::Value(Val::Subject(n), _)) => push_new(&mut spec.after, n),
                ("workdir", Arg::Value(v, _)) => spec.workdir = Some(self.resolve_path(&plain(v))),
                ("timeout", Arg::Value(v, _)) => spec.timeout = v.duration(),
                _ => {}
            }
        }
        Some(SubjectSpec::Host(Box::new(spec)))
    }
}

/// Records the subject a setting's value names (`api.url(8000)`, `prod.ref`, `app`).
fn refer(refers_to: &mut Vec<String>, v: &Val) {
    if let Val::Url { subject, .. } | Val::ImageRef { subject, .. } | Val::Subject(subject) = v
        && !refers_to.contains(subject)
    {
        refers_to.push(subject.clone());
    }
}

fn push_new(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

pub(super) fn plain(v: &Val) -> String {
    match v {
        Val::Text(t) => t.to_string(),
        other => other.to_string(),
    }
}

fn to_text(v: &Val) -> Text {
    match v {
        Val::Text(t) => t.clone(),
        other => Text::lit(other.to_string()),
    }
}

/// `"8000/udp"` → (8000, "udp").
fn parse_port_text(t: &str) -> Option<(Option<u16>, u16, String)> {
    let (ports, proto) = t.split_once('/').unwrap_or((t, "tcp"));
    if !matches!(proto, "tcp" | "udp" | "sctp") {
        return None;
    }
    let (host, container) = match ports.split_once(':') {
        Some((h, c)) => (Some(h.parse::<u16>().ok().filter(|p| *p > 0)?), c),
        None => (None, ports),
    };
    let container = container.parse::<u16>().ok().filter(|p| *p > 0)?;
    Some((host, container, proto.to_string()))
}

fn publish_of(v: &Val) -> Publish {
    match v {
        Val::Int(n) => Publish {
            host: None,
            container: *n as u16,
            proto: "tcp".into(),
        },
        Val::PortMap { host, container } => Publish {
            host: Some(*host),
            container: *container,
            proto: "tcp".into(),
        },
        Val::Text(t) => {
            let (host, container, proto) =
                parse_port_text(&t.to_string()).unwrap_or((None, 0, "tcp".into()));
            Publish {
                host,
                container,
                proto,
            }
        }
        _ => Publish {
            host: None,
            container: 0,
            proto: "tcp".into(),
        },
    }
}

/// Removes `.` and `..` without touching the filesystem.
pub fn normalize(p: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}
