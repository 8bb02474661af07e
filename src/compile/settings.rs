//! The settings each subject kind accepts: one table, read by the checker,
//! "did you mean" and the book.

use crate::ast::SubjectKind;

/// What a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `read_only`
    Flag,
    /// `target "prod"`
    Value(Kind),
    /// `arg K = V`
    KeyValue(Kind),
    /// `mount "HOST" at "PATH"`
    At,
}

/// The kind of value a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A path on the host, relative to the spec file.
    HostPath,
    Size,
    Duration,
    /// A positive number (`cpus 0.5`).
    Number,
    Int,
    /// `8000`, `18080:8000` or `"8000/udp"`.
    Port,
    /// A string split with shell quoting, or a list.
    Argv,
    /// Text that may come from `env()`, `secret()` or `SUBJECT.url(N)`.
    EnvValue,
    /// `"missing"` or `"never"`.
    Pull,
    /// A network's name (dspec creates it), or a stack's: `app`, `app.network("backend")`.
    Network,
    /// The name of a host command or a task of the file (`after seed`).
    Runner,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Text => "a string",
            Kind::HostPath => "a path like \"docker/Dockerfile\"",
            Kind::Size => "a size like `256MB`",
            Kind::Duration => "a duration like `30s`",
            Kind::Number => "a number like `0.5`",
            Kind::Int => "a whole number like `100`",
            Kind::Port => "a port like `8000`, `18080:8000` or \"8000/udp\"",
            Kind::Argv => "a command as a string or a list",
            Kind::EnvValue => "a string, `env(\"VAR\")`, `secret(\"VAR\")` or `SUBJECT.url(PORT)`",
            Kind::Pull => "\"missing\" or \"never\"",
            Kind::Network => {
                "a network name like \"backend\", a stack (`app`) or a stack's network (`app.network(\"backend\")`)"
            }
            Kind::Runner => "the name of a host command or a task of the file, like `seed`",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct SettingDef {
    pub name: &'static str,
    pub shape: Shape,
    pub repeat: bool,
    pub doc: &'static str,
}

const fn s(name: &'static str, shape: Shape, repeat: bool, doc: &'static str) -> SettingDef {
    SettingDef {
        name,
        shape,
        repeat,
        doc,
    }
}

use Kind as K;
use Shape::*;

pub const BUILD: &[SettingDef] = &[
    s(
        "dockerfile",
        Value(K::HostPath),
        false,
        "the Dockerfile, relative to the spec file (default CONTEXT/Dockerfile)",
    ),
    s("target", Value(K::Text), false, "the stage to build"),
    s(
        "arg",
        KeyValue(K::EnvValue),
        true,
        "a build argument (visible in the image history: no secrets)",
    ),
    s(
        "tag",
        Value(K::Text),
        true,
        "an extra tag for the built image",
    ),
    s(
        "platform",
        Value(K::Text),
        false,
        "the platform, like \"linux/amd64\"",
    ),
    s(
        "label",
        KeyValue(K::Text),
        true,
        "a label added to the image",
    ),
    s("no_cache", Flag, false, "build without the layer cache"),
    s(
        "timeout",
        Value(K::Duration),
        false,
        "fail the build after this long",
    ),
];

pub const EXISTING: &[SettingDef] = &[];

pub const RUN: &[SettingDef] = &[
    s(
        "publish",
        Value(K::Port),
        true,
        "publish a port on 127.0.0.1 of a local engine (ephemeral host port unless named)",
    ),
    s(
        "env",
        KeyValue(K::EnvValue),
        true,
        "an environment variable",
    ),
    s(
        "env_file",
        Value(K::HostPath),
        true,
        "a file of KEY=VALUE lines",
    ),
    s(
        "command",
        Value(K::Argv),
        false,
        "the command (replaces the image's CMD)",
    ),
    s(
        "entrypoint",
        Value(K::Argv),
        false,
        "the entrypoint (replaces the image's ENTRYPOINT)",
    ),
    s(
        "user",
        Value(K::Text),
        false,
        "user (name or uid[:gid]) to run as",
    ),
    s("workdir", Value(K::Text), false, "working directory"),
    s("memory", Value(K::Size), false, "memory limit"),
    s("cpus", Value(K::Number), false, "CPU limit in cores"),
    s("pids", Value(K::Int), false, "process limit"),
    s("read_only", Flag, false, "read-only root filesystem"),
    s("tmpfs", Value(K::Text), true, "a tmpfs mount at this path"),
    s(
        "mount",
        At,
        true,
        "bind-mount a host path read-write: `mount \"HOST\" at \"PATH\"`",
    ),
    s("mount_ro", At, true, "bind-mount a host path read-only"),
    s(
        "volume",
        At,
        true,
        "a named volume: `volume \"NAME\" at \"PATH\"`",
    ),
    s(
        "network",
        Value(K::Network),
        true,
        "join this network as well: a name (dspec creates it), a stack's default network (`network app`) or another of its networks (`network app.network(\"backend\")`)",
    ),
    s(
        "cap_drop",
        Value(K::Text),
        true,
        "drop a capability (\"ALL\" for all)",
    ),
    s("cap_add", Value(K::Text), true, "add a capability"),
    s("no_new_privileges", Flag, false, "set no-new-privileges"),
    s(
        "init",
        Flag,
        false,
        "run an init process as PID 1 (forwards signals)",
    ),
    s("label", KeyValue(K::Text), true, "a container label"),
    s(
        "extra_host",
        KeyValue(K::Text),
        true,
        "an /etc/hosts entry: `extra_host \"NAME\" = \"ADDR\"` (\"host-gateway\" is the host)",
    ),
    s(
        "no_healthcheck",
        Flag,
        false,
        "no health check, whatever the image's HEALTHCHECK (`--no-healthcheck`)",
    ),
    s(
        "health_interval",
        Value(K::Duration),
        false,
        "time between health probes, instead of the image's",
    ),
    s(
        "health_timeout",
        Value(K::Duration),
        false,
        "time a health probe may take, instead of the image's",
    ),
    s(
        "health_retries",
        Value(K::Int),
        false,
        "failed probes before unhealthy, instead of the image's",
    ),
    s(
        "health_start_period",
        Value(K::Duration),
        false,
        "grace period after start, instead of the image's",
    ),
    s(
        "timeout",
        Value(K::Duration),
        false,
        "fail if not started (and healthy) within this long",
    ),
];

pub const COMPOSE: &[SettingDef] = &[
    s(
        "file",
        Value(K::HostPath),
        true,
        "another compose file (-f), applied in order",
    ),
    s(
        "env_file",
        Value(K::HostPath),
        true,
        "an --env-file for interpolation",
    ),
    s("profile", Value(K::Text), true, "enable a profile"),
    s(
        "env",
        KeyValue(K::EnvValue),
        true,
        "a variable for the compose files' `${VAR}` interpolation (`secret(...)` values are masked)",
    ),
    s(
        "scale",
        KeyValue(K::Int),
        true,
        "run N replicas of a service: `scale web = 3`",
    ),
    s(
        "pull",
        Value(K::Pull),
        false,
        "\"missing\" (default) or \"never\"",
    ),
    s(
        "timeout",
        Value(K::Duration),
        false,
        "fail if the stack is not up within this long",
    ),
];

pub const HOST: &[SettingDef] = &[
    s(
        "env",
        KeyValue(K::EnvValue),
        true,
        "an environment variable for the command",
    ),
    s(
        "workdir",
        Value(K::HostPath),
        false,
        "working directory, relative to the spec file",
    ),
    s(
        "timeout",
        Value(K::Duration),
        false,
        "kill the command after this long",
    ),
    AFTER,
];

/// `after NAME`: a host command or a task runs once another one finished.
const AFTER: SettingDef = s(
    "after",
    Value(K::Runner),
    true,
    "run once this host command or task finished: `after seed`",
);

/// What a task adds to (and changes of) a container's settings.
const TASK_OWN: &[SettingDef] = &[
    s(
        "stdin",
        Value(K::Text),
        false,
        "text written to its standard input, which then closes",
    ),
    s(
        "timeout",
        Value(K::Duration),
        false,
        "kill and remove it when it has not exited after this long (default 10m)",
    ),
    AFTER,
];

/// A task's settings: every container setting (its own `timeout`), plus `stdin` and `after`.
pub static TASK: std::sync::LazyLock<Vec<SettingDef>> = std::sync::LazyLock::new(|| {
    RUN.iter()
        .filter(|d| d.name != "timeout")
        .chain(TASK_OWN)
        .copied()
        .collect()
});

pub const REQUEST: &[SettingDef] = &[
    s(
        "header",
        KeyValue(K::Text),
        true,
        "a request header: `header \"Authorization\" = \"Bearer ${login.json.token}\"` (may be a `secret(...)`)",
    ),
    s(
        "query",
        KeyValue(K::Text),
        true,
        "a query parameter, percent-encoded: `query q = \"chair\"`",
    ),
    s(
        "body",
        Value(K::Text),
        false,
        "the request body, sent as written",
    ),
    s(
        "json",
        Value(K::Text),
        false,
        "a body sent as written with `Content-Type: application/json`",
    ),
    s(
        "form",
        KeyValue(K::Text),
        true,
        "a form field: the body is `application/x-www-form-urlencoded`",
    ),
    s(
        "basic_auth",
        KeyValue(K::Text),
        false,
        "HTTP basic authentication: `basic_auth \"user\" = secret(\"PW\")` (masked in every output)",
    ),
    s("https", Flag, false, "TLS: `https://` instead of `http://`"),
    s(
        "insecure",
        Flag,
        false,
        "with `https`: accept any server certificate",
    ),
    s(
        "cacert",
        Value(K::HostPath),
        false,
        "with `https`: trust the PEM certificates of this file (a CA, or the server's own)",
    ),
    s(
        "follow_redirects",
        Flag,
        false,
        "follow redirects (at most 10; `redirects` counts them)",
    ),
    s(
        "timeout",
        Value(K::Duration),
        false,
        "fail when the whole exchange takes longer (default 10s, never past a `within`/`for` deadline)",
    ),
];

/// The settings of a subject form (`build`, `existing`, `run`, ...).
/// The kind of value every setting of this name takes, when they agree (`memory`: a size).
pub fn kind_of_name(name: &str) -> Option<Kind> {
    let mut kinds = [BUILD, EXISTING, RUN, COMPOSE, HOST]
        .into_iter()
        .flatten()
        .filter(|d| d.name == name)
        .filter_map(|d| match d.shape {
            Shape::Value(k) | Shape::KeyValue(k) => Some(k),
            _ => None,
        });
    let first = kinds.next()?;
    kinds.all(|k| k == first).then_some(first)
}

pub fn table(kind: SubjectKind, source_keyword: &str) -> &'static [SettingDef] {
    match (kind, source_keyword) {
        (SubjectKind::Task, _) => TASK.as_slice(),
        (SubjectKind::Request, _) => REQUEST,
        (SubjectKind::Image, "existing") => EXISTING,
        (SubjectKind::Image, _) => BUILD,
        (SubjectKind::Container, _) => RUN,
        (SubjectKind::Stack, _) => COMPOSE,
        (SubjectKind::Command, _) => HOST,
    }
}
