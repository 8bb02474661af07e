//! The checked model: what the compiler hands to the planner.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::property::{ContainerProp, ImageProp, Key, StackProp};
use super::types::Ty;
use super::value::{Text, Val};
use crate::ast::{ModifierKind, PredicateOp, SubjectKind};
use crate::source::{FileId, Span};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Program {
    pub files: Vec<CheckedFile>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckedFile {
    #[serde(skip)]
    pub file: FileId,
    pub path: String,
    pub dir: PathBuf,
    pub story: Option<StoryInfo>,
    pub criteria: Vec<CriterionInfo>,
    /// In file order; they do not change once compiled (see `by_name`).
    pub subjects: Vec<SubjectDef>,
    pub checks: Vec<Check>,
    /// Where each subject is in `subjects`, built at the first lookup: the planner and the
    /// engine look subjects up by name once per check.
    #[serde(skip)]
    pub by_name: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

/// The subjects by name, for code that looks many of them up.
pub fn by_name(subjects: &[SubjectDef]) -> std::collections::HashMap<&str, &SubjectDef> {
    subjects.iter().map(|s| (s.name.as_str(), s)).collect()
}

impl CheckedFile {
    pub fn subject(&self, name: &str) -> Option<&SubjectDef> {
        let by_name = self.by_name.get_or_init(|| {
            self.subjects
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), i))
                .collect()
        });
        self.subjects.get(*by_name.get(name)?)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StoryInfo {
    pub id: String,
    pub title: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CriterionInfo {
    pub id: String,
    pub title: Option<String>,
    /// `@tag` names.
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SubjectDef {
    pub name: String,
    pub kind: SubjectKind,
    #[serde(skip)]
    pub span: Span,
    /// Reached by an expectation or action (directly or through another
    /// subject); unused subjects are not set up.
    pub used: bool,
    pub spec: SubjectSpec,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
/// Boxed: a file may hold many subjects, and each should take the room of its own kind.
pub enum SubjectSpec {
    Build(Box<BuildSpec>),
    Existing { reference: Text },
    Run(Box<RunSpec>),
    Compose(Box<ComposeSpec>),
    Host(Box<HostSpec>),
    Request(Box<RequestSpec>),
    Task(Box<TaskSpec>),
}

impl SubjectSpec {
    /// The host commands and tasks it runs after (`after NAME`).
    pub fn after(&self) -> &[String] {
        match self {
            SubjectSpec::Host(h) => &h.after,
            SubjectSpec::Task(t) => &t.after,
            _ => &[],
        }
    }

    /// Subjects its settings refer to (`env UP = api.url(8000)`, `env IMAGE = prod.ref`).
    pub fn refers_to(&self) -> &[String] {
        match self {
            SubjectSpec::Run(r) => &r.refers_to,
            SubjectSpec::Task(t) => &t.run.refers_to,
            SubjectSpec::Host(h) => &h.refers_to,
            _ => &[],
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct BuildSpec {
    pub context: PathBuf,
    /// Absolute; None means `CONTEXT/Dockerfile`.
    pub dockerfile: Option<PathBuf>,
    pub target: Option<String>,
    pub args: Vec<(String, Text)>,
    pub tags: Vec<String>,
    pub platform: Option<String>,
    pub labels: Vec<(String, Text)>,
    pub no_cache: bool,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Publish {
    pub host: Option<u16>,
    pub container: u16,
    pub proto: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mount {
    pub host: PathBuf,
    pub path: String,
    pub read_only: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSpec {
    pub image: String,
    pub publish: Vec<Publish>,
    pub env: Vec<(String, Val)>,
    pub env_files: Vec<PathBuf>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub pids: Option<u64>,
    pub read_only: bool,
    pub tmpfs: Vec<String>,
    pub mounts: Vec<Mount>,
    pub volumes: Vec<(String, String)>,
    pub networks: Vec<String>,
    /// `network app` / `network app.network("backend")`: networks of a stack of the file (its
    /// default network when `None`), joined once the stack is up.
    pub stack_networks: Vec<(String, Option<String>)>,
    pub cap_drop: Vec<String>,
    pub cap_add: Vec<String>,
    pub no_new_privileges: bool,
    pub init: bool,
    pub labels: Vec<(String, Text)>,
    /// `/etc/hosts` entries.
    pub extra_hosts: Vec<(String, String)>,
    /// `no_healthcheck`.
    pub no_healthcheck: bool,
    /// `health_interval`, `health_timeout`, `health_retries`, `health_start_period`.
    pub health_interval: Option<Duration>,
    pub health_timeout: Option<Duration>,
    pub health_retries: Option<u64>,
    pub health_start_period: Option<Duration>,
    pub timeout: Option<Duration>,
    /// Other containers its settings name (`env UP = upstream.url(9000)`): they are set up
    /// (and ready) before it starts.
    pub refers_to: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ComposeSpec {
    pub files: Vec<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    pub scale: Vec<(String, u64)>,
    pub pull: Option<String>,
    pub timeout: Option<Duration>,
    /// `env K = V`: variables for the Compose files' `${K}` interpolation.
    pub env: Vec<(String, Val)>,
    /// Subjects its `env` values name (`prod.ref`): set up before it.
    pub refers_to: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HostSpec {
    pub command: Text,
    pub env: Vec<(String, Val)>,
    pub workdir: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Subjects its settings refer to: it starts after they are ready.
    pub refers_to: Vec<String>,
    /// `after NAME`: host commands and tasks it runs after.
    pub after: Vec<String>,
}

/// `request NAME = SUBJECT[.port(N)].METHOD(PATH) { ... }`: one HTTP exchange with a
/// container's published port.
#[derive(Clone, Debug, Serialize)]
pub struct RequestSpec {
    /// The container subject it goes to.
    pub container: String,
    /// The container port (`api.port(8443)`); None: the first published.
    pub port: Option<u16>,
    /// Upper case: `GET`, `PATCH`.
    pub method: String,
    pub path: Text,
    pub headers: Vec<(String, Text)>,
    pub query: Vec<(String, Text)>,
    /// `body`, `json` or `form` (`form` already encoded at run time from `form`).
    pub body: Option<Text>,
    /// The Content-Type `json`/`form` imply (a `header` setting overrides it).
    pub content_type: Option<String>,
    pub form: Vec<(String, Text)>,
    pub basic_auth: Option<(String, Text)>,
    pub https: bool,
    pub insecure: bool,
    pub cacert: Option<PathBuf>,
    pub follow_redirects: bool,
    pub timeout: Option<Duration>,
    /// The requests its captures read (`${login.json.token}`): it is made after them.
    pub captures: Vec<String>,
    /// Where each capture is written, for the error of a circle.
    #[serde(skip)]
    pub capture_spans: Vec<(String, Span)>,
}

impl RequestSpec {
    /// Every text of the request, for walking its captures.
    pub fn texts(&self) -> Vec<&Text> {
        let mut out = vec![&self.path];
        out.extend(self.headers.iter().map(|(_, v)| v));
        out.extend(self.query.iter().map(|(_, v)| v));
        out.extend(self.form.iter().map(|(_, v)| v));
        out.extend(self.body.iter());
        out.extend(self.basic_auth.iter().map(|(_, v)| v));
        out
    }
}

/// `task NAME = run IMAGE { ... }`: a container run to completion.
#[derive(Clone, Debug, Serialize)]
pub struct TaskSpec {
    /// The container settings; `timeout` bounds the whole run (default [`TASK_TIMEOUT`]).
    pub run: RunSpec,
    /// `stdin "TEXT"`: written to its standard input, which then closes.
    pub stdin: Option<Text>,
    /// `after NAME`: host commands and tasks it runs after.
    pub after: Vec<String>,
}

/// How long a task may run without a `timeout` setting.
pub const TASK_TIMEOUT: Duration = Duration::from_secs(600);

/// One step of a path after the subject.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStep {
    /// A property of the catalogue: `key` says which (what the engine dispatches on), `name`
    /// is as written (the variable of `env.NAME`, the member of `json.a`).
    Field {
        name: String,
        key: Key,
        args: Vec<Val>,
    },
    Index(Val),
    /// `[*]`: the rest of the path, for every element of a JSON array (a JSON array again).
    Each,
}

impl PathStep {
    /// The catalogue key of a field step.
    pub fn key(&self) -> Option<Key> {
        match self {
            PathStep::Field { key, .. } => Some(*key),
            PathStep::Index(_) | PathStep::Each => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckedPredicate {
    pub op: PredicateOp,
    pub value: Option<Val>,
    #[serde(skip)]
    pub value_span: Option<Span>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckedModifier {
    pub kind: ModifierKind,
    pub duration_ms: u64,
    pub text: String,
}

/// An expectation (`expect`) or an action (`do`), checked.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Position in the file's list of checks.
    pub index: usize,
    /// The source text: `expect prod.size < 200MB`.
    pub text: String,
    pub line: u32,
    pub column: u32,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub path_span: Span,
    pub criterion: Option<usize>,
    pub subject: String,
    pub subject_kind: SubjectKind,
    pub path: Vec<PathStep>,
    pub ty: Ty,
    /// `do`: perform without asserting.
    pub action_only: bool,
    pub predicate: Option<CheckedPredicate>,
    /// Boxed: most checks have none, and a large file holds many checks.
    pub modifier: Option<Box<CheckedModifier>>,
    /// The property can change over time.
    pub changes: bool,
    /// Changes its subject (`restart`, `kill`, `stop`).
    pub barrier: bool,
    /// Ends its subject (`stop`).
    pub ends: bool,
    /// Subjects it touches besides its own (see [`Check::touches`]): those a call names
    /// (`based_on(base)`), a request's container, those a host command's or task's settings
    /// refer to.
    pub also_touches: Vec<String>,
    /// How many steps of `path` make the action call it performs (`stop(30s)` of
    /// `stop(30s).exit_code`: 1), when it performs one.
    pub performs: Option<usize>,
    /// The check whose performance of the same action call it reads instead of performing it
    /// again: consecutive expectations of one call (`stop(30s).exit_code`, then
    /// `stop(30s).duration`) share one.
    pub shares: Option<usize>,
    /// `do NAME`: runs the host command or task here, once; a barrier for the whole file.
    pub runs: bool,
}

/// What a time budget measures. Such expectations are measured in a quiet slot: nothing else
/// of the run is in flight, so dspec's own load does not skew them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// `build.duration`: the build itself.
    Build,
    /// `startup`: the container's (or the stack's) start up to healthy.
    Startup,
    /// A host command's or a task's `duration`: its run.
    Command,
    /// Measured by the check itself: `exec(...).duration`, `get(...).duration`,
    /// `stop(...).duration`, `run(...).duration`, `cpu`.
    Check,
}

impl Check {
    /// Subjects it touches: its own, then [`Check::also_touches`].
    pub fn touches(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.subject).chain(&self.also_touches)
    }

    /// The path as written after the subject: `get("/health").status`.
    pub fn path_text<'s>(&self, sources: &'s crate::source::SourceMap) -> &'s str {
        sources
            .snippet(self.path_span)
            .split_once('.')
            .map_or("", |(_, rest)| rest)
    }

    /// The catalogue keys of the path, in order.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.path.iter().filter_map(PathStep::key)
    }

    /// Whether it is a time budget, and what must be measured quietly for it.
    pub fn budget(&self) -> Option<Budget> {
        use super::property::{
            BuildInfoProp, CommandProp, ExecProp, HttpProp, RunResultProp, StopResultProp, TaskProp,
        };
        let keys: Vec<Key> = self.keys().collect();
        match keys.as_slice() {
            [
                Key::Image(ImageProp::Build),
                Key::BuildInfo(BuildInfoProp::Duration),
                ..,
            ] => Some(Budget::Build),
            [Key::Command(CommandProp::Duration), ..] | [Key::Task(TaskProp::Duration), ..] => {
                Some(Budget::Command)
            }
            k if k.contains(&Key::Container(ContainerProp::Startup)) => Some(Budget::Startup),
            k if k.contains(&Key::Container(ContainerProp::Cpu))
                || k.iter().any(|k| {
                    matches!(
                        k,
                        Key::Exec(ExecProp::Duration)
                            | Key::Http(HttpProp::Duration)
                            | Key::RunResult(RunResultProp::Duration)
                            | Key::StopResult(StopResultProp::Duration)
                    )
                }) =>
            {
                Some(Budget::Check)
            }
            _ => None,
        }
    }

    /// Whether it polls from its subject's start (or last action): a `within` expectation on
    /// a container or a stack.
    pub fn anchored(&self) -> bool {
        matches!(
            self.subject_kind,
            SubjectKind::Container | SubjectKind::Stack
        ) && self
            .modifier
            .as_ref()
            .is_some_and(|m| m.kind == ModifierKind::Within)
    }

    /// Whether it looks at the `health` of a container or of a stack's service.
    pub fn watches_health(&self) -> bool {
        let keys: Vec<Key> = self.keys().collect();
        matches!(
            keys.as_slice(),
            [Key::Container(ContainerProp::Health)]
                | [
                    Key::Stack(StackProp::Service),
                    Key::Container(ContainerProp::Health)
                ]
        )
    }

    /// Whether it restarts its container (or its service's).
    pub fn restarts(&self) -> bool {
        self.keys()
            .any(|k| k == Key::Container(ContainerProp::Restart))
    }

    /// Whether it needs the container's process to be alive: a process, a request, a port,
    /// live statistics or another action. The rest reads an exited container too.
    pub fn needs_live_process(&self) -> bool {
        use super::property::ContainerProp as C;
        matches!(
            self.keys().next(),
            Some(Key::Container(
                C::Exec
                    | C::Get
                    | C::Post
                    | C::Put
                    | C::Patch
                    | C::Delete
                    | C::Head
                    | C::Options
                    | C::Request
                    | C::Port
                    | C::Url
                    | C::Memory
                    | C::Cpu
                    | C::Pids
                    | C::Kill
                    | C::Restart
                    | C::Stop
            ))
        )
    }

    /// The check whose performance this one reads or makes (itself when it is the first),
    /// for checks that perform an action call.
    /// Under `within`/`for` every sample performs again: none.
    pub fn performance(&self) -> Option<usize> {
        if self.modifier.is_some() {
            return None;
        }
        self.performs?;
        Some(self.shares.unwrap_or(self.index))
    }

    /// The stack service it is about: `service("web")...`.
    pub fn service(&self) -> Option<&Val> {
        match self.path.first() {
            Some(PathStep::Field {
                key: Key::Stack(StackProp::Service),
                args,
                ..
            }) => args.first(),
            _ => None,
        }
    }

    /// Whether it needs the stack up: a running service, or `down()`/`up()`.
    pub fn needs_stack_up(&self) -> bool {
        self.service().is_some()
            || matches!(
                self.path.first(),
                Some(PathStep::Field {
                    key: Key::Stack(StackProp::Down | StackProp::Up),
                    ..
                })
            )
    }

    /// The image file whose content it reads: `file("/x").content`.
    pub fn image_content(&self) -> Option<&Val> {
        use super::property::FileProp;
        match self.path.as_slice() {
            [
                PathStep::Field {
                    key: Key::Image(ImageProp::File),
                    args,
                    ..
                },
                PathStep::Field {
                    key: Key::File(FileProp::Content),
                    ..
                },
                ..,
            ] => args.first(),
            _ => None,
        }
    }

    /// Whether it needs no running container (image facts, compose config).
    pub fn is_static(&self) -> bool {
        match self.path.first().and_then(PathStep::key) {
            Some(Key::Image(p)) => p != ImageProp::Run,
            Some(Key::Stack(p)) => p != StackProp::Service,
            _ => false,
        }
    }
}
