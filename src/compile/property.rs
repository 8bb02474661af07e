//! THE property catalogue: what every path can reach, its type, whether it
//! changes over time, and a one-line doc. The type checker, the planner,
//! "did you mean" and the book's property reference all read this table.

use super::types::{Owner, Ty};

/// The kind of an argument to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A string.
    Text,
    /// An absolute path in a filesystem: `"/app"`.
    AbsPath,
    /// A glob over absolute paths: `"/app/**/*.py"`.
    Glob,
    /// A glob relative to the build context: `".git/**"`.
    RelGlob,
    /// A URL path: `"/health"`.
    UrlPath,
    /// A port number: `8000`.
    Port,
    /// A duration: `30s`.
    Duration,
    /// A signal name: `"SIGTERM"`.
    Signal,
    /// A command: a string (split with shell quoting) or a list.
    Command,
}

impl ArgKind {
    pub fn describe(self) -> &'static str {
        match self {
            ArgKind::Text => "a string",
            ArgKind::AbsPath => "an absolute path like \"/app\"",
            ArgKind::Glob => "a glob like \"/app/**/*.py\"",
            ArgKind::RelGlob => "a glob relative to the context like \".git/**\"",
            ArgKind::UrlPath => "a URL path like \"/health\"",
            ArgKind::Port => "a port number like 8000",
            ArgKind::Duration => "a duration like 30s",
            ArgKind::Signal => "a signal name like \"SIGTERM\"",
            ArgKind::Command => "a command, as a string or a list",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    pub optional: bool,
}

/// How a property is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `.size`
    Field,
    /// `.file("/app")`
    Call(&'static [Arg]),
}

/// What using a property does besides observing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Only observes.
    None,
    /// Does something (runs a process, sends a request) but leaves the
    /// subject as it was: allowed under `do`.
    Runs,
    /// Changes the subject: a barrier in the plan (`restart`, `kill`).
    Barrier,
    /// Ends the subject: nothing may use it afterwards.
    Stop,
}

/// One row of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Prop {
    pub owner: Owner,
    /// `*` stands for any name (`env.ANY_NAME`).
    pub name: &'static str,
    pub form: Form,
    pub ty: Ty,
    /// Whether it can change over time (accepts `within`/`for`).
    pub changes: bool,
    pub effect: Effect,
    pub doc: &'static str,
}

const fn arg(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        optional: false,
    }
}

const fn opt(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        optional: true,
    }
}

const fn p(owner: Owner, name: &'static str, ty: Ty, changes: bool, doc: &'static str) -> Prop {
    Prop {
        owner,
        name,
        form: Form::Field,
        ty,
        changes,
        effect: Effect::None,
        doc,
    }
}

const fn call(
    owner: Owner,
    name: &'static str,
    args: &'static [Arg],
    ty: Ty,
    changes: bool,
    effect: Effect,
    doc: &'static str,
) -> Prop {
    Prop {
        owner,
        name,
        form: Form::Call(args),
        ty,
        changes,
        effect,
        doc,
    }
}

use ArgKind as A;
use Effect as E;
use Owner as O;

const GLOB: &[Arg] = &[arg("GLOB", A::Glob)];
const PATH: &[Arg] = &[arg("PATH", A::AbsPath)];
const URL: &[Arg] = &[arg("PATH", A::UrlPath)];
const POST: &[Arg] = &[arg("PATH", A::UrlPath), opt("BODY", A::Text)];
const PORT: &[Arg] = &[arg("N", A::Port)];
const NAME: &[Arg] = &[arg("NAME", A::Text)];

pub const CATALOGUE: &[Prop] = &[
    // ---- image (read from the engine and the image's layers; never changes)
    p(
        O::Image,
        "built",
        Ty::Bool,
        false,
        "the image was built (or exists, for `existing`)",
    ),
    p(
        O::Image,
        "id",
        Ty::Text,
        false,
        "the image id, `sha256:...`",
    ),
    p(
        O::Image,
        "size",
        Ty::Size,
        false,
        "the image size as `docker images` shows it",
    ),
    p(
        O::Image,
        "layers",
        Ty::Int,
        false,
        "the number of filesystem layers",
    ),
    p(
        O::Image,
        "user",
        Ty::Text,
        false,
        "the configured `USER` (empty means root)",
    ),
    p(
        O::Image,
        "uid",
        Ty::Int,
        false,
        "the user's uid, resolved through the image's own /etc/passwd",
    ),
    p(
        O::Image,
        "gid",
        Ty::Int,
        false,
        "the user's gid, resolved through the image's /etc/passwd and /etc/group",
    ),
    p(
        O::Image,
        "env",
        Ty::Obj(O::EnvMap),
        false,
        "the configured environment: `env.NAME`",
    ),
    p(
        O::Image,
        "labels",
        Ty::Obj(O::LabelMap),
        false,
        "the image labels: `labels[\"org.opencontainers.image.title\"]`",
    ),
    p(
        O::Image,
        "entrypoint",
        Ty::List,
        false,
        "the `ENTRYPOINT` as a list",
    ),
    p(O::Image, "cmd", Ty::List, false, "the `CMD` as a list"),
    p(O::Image, "workdir", Ty::Text, false, "the `WORKDIR`"),
    p(
        O::Image,
        "ports",
        Ty::List,
        false,
        "exposed ports in Docker's spelling: `\"8000/tcp\"`",
    ),
    p(O::Image, "volumes", Ty::List, false, "declared volumes"),
    p(
        O::Image,
        "healthcheck",
        Ty::Obj(O::Healthcheck),
        false,
        "the `HEALTHCHECK`",
    ),
    p(
        O::Image,
        "arch",
        Ty::Text,
        false,
        "the architecture: `amd64`, `arm64`...",
    ),
    p(
        O::Image,
        "os",
        Ty::Text,
        false,
        "the operating system: `linux`",
    ),
    p(
        O::Image,
        "build",
        Ty::Obj(O::BuildInfo),
        false,
        "facts about the build",
    ),
    p(
        O::Image,
        "context",
        Ty::Obj(O::Context),
        false,
        "the build context as sent (after `.dockerignore`)",
    ),
    call(
        O::Image,
        "files",
        GLOB,
        Ty::List,
        false,
        E::None,
        "paths in the image matching a glob (not directories)",
    ),
    call(
        O::Image,
        "file",
        PATH,
        Ty::Obj(O::File),
        false,
        E::None,
        "one path in the image's filesystem",
    ),
    p(
        O::Image,
        "packages",
        Ty::List,
        false,
        "installed packages (dpkg or apk database in the layers)",
    ),
    call(
        O::Image,
        "run",
        &[opt("CMD", A::Command)],
        Ty::Obj(O::RunResult),
        false,
        E::Runs,
        "a one-off container of the image; no argument runs the default command",
    ),
    p(
        O::Healthcheck,
        "test",
        Ty::List,
        false,
        "the probe command, as Docker stores it",
    ),
    p(
        O::Healthcheck,
        "interval",
        Ty::Duration,
        false,
        "time between probes",
    ),
    p(
        O::Healthcheck,
        "timeout",
        Ty::Duration,
        false,
        "time a probe may take",
    ),
    p(
        O::Healthcheck,
        "retries",
        Ty::Int,
        false,
        "failures before unhealthy",
    ),
    p(
        O::Healthcheck,
        "start_period",
        Ty::Duration,
        false,
        "grace period after start",
    ),
    p(
        O::BuildInfo,
        "duration",
        Ty::Duration,
        false,
        "how long the build took in this run",
    ),
    p(
        O::Context,
        "size",
        Ty::Size,
        false,
        "bytes of regular files sent to the builder",
    ),
    call(
        O::Context,
        "files",
        &[arg("GLOB", A::RelGlob)],
        Ty::List,
        false,
        E::None,
        "context files matching a glob relative to the context",
    ),
    p(
        O::EnvMap,
        "*",
        Ty::Text,
        false,
        "the value of one variable (absent: the property fails)",
    ),
    p(
        O::File,
        "exists",
        Ty::Bool,
        false,
        "the path exists (a symlink counts, even dangling)",
    ),
    p(
        O::File,
        "type",
        Ty::Text,
        false,
        "`file`, `dir`, `symlink`, `hardlink`, `char`, `block` or `fifo`",
    ),
    p(
        O::File,
        "mode",
        Ty::Mode,
        false,
        "permission bits with setuid/setgid/sticky: compare with `0o755`",
    ),
    p(O::File, "uid", Ty::Int, false, "owner uid"),
    p(O::File, "gid", Ty::Int, false, "owner gid"),
    p(
        O::File,
        "owner",
        Ty::Text,
        false,
        "owner name from the image's /etc/passwd",
    ),
    p(
        O::File,
        "group",
        Ty::Text,
        false,
        "group name from the image's /etc/group",
    ),
    p(O::File, "size", Ty::Size, false, "size in bytes"),
    p(O::File, "content", Ty::Text, false, "the file's text"),
    p(O::File, "target", Ty::Text, false, "where a symlink points"),
    p(O::RunResult, "exit_code", Ty::Int, false, "the exit code"),
    p(
        O::RunResult,
        "stdout",
        Ty::Text,
        false,
        "standard output, trailing newlines removed",
    ),
    p(
        O::RunResult,
        "stderr",
        Ty::Text,
        false,
        "standard error, trailing newlines removed",
    ),
    p(
        O::RunResult,
        "duration",
        Ty::Duration,
        false,
        "start to exit",
    ),
    // ---- container (observed on the running container)
    p(
        O::Container,
        "status",
        Ty::Text,
        true,
        "`created`, `running`, `exited`...",
    ),
    p(
        O::Container,
        "health",
        Ty::Text,
        true,
        "`starting`, `healthy`, `unhealthy`, or `none` without a HEALTHCHECK",
    ),
    p(
        O::Container,
        "exit_code",
        Ty::Int,
        true,
        "the exit code once the container has exited",
    ),
    p(
        O::Container,
        "startup",
        Ty::Duration,
        false,
        "start to healthy, or to running without a HEALTHCHECK",
    ),
    p(
        O::Container,
        "memory",
        Ty::Obj(O::Memory),
        true,
        "memory use as `docker stats` computes MEM USAGE",
    ),
    p(
        O::Container,
        "cpu",
        Ty::Percent,
        true,
        "CPU use in percent of one core",
    ),
    p(O::Container, "pids", Ty::Int, true, "number of processes"),
    p(
        O::Container,
        "restarts",
        Ty::Int,
        true,
        "times the engine restarted it",
    ),
    p(
        O::Container,
        "oom_killed",
        Ty::Bool,
        true,
        "the kernel killed it for memory",
    ),
    p(
        O::Container,
        "logs",
        Ty::Text,
        true,
        "stdout and stderr together",
    ),
    call(
        O::Container,
        "exec",
        &[arg("CMD", A::Command), opt("TIMEOUT", A::Duration)],
        Ty::Obj(O::Exec),
        true,
        E::Runs,
        "runs a command in the container (no implicit shell); killed after TIMEOUT (default 60s, and never past a `within`/`for` deadline)",
    ),
    call(
        O::Container,
        "get",
        URL,
        Ty::Obj(O::Http),
        true,
        E::Runs,
        "HTTP GET on the first published port",
    ),
    call(
        O::Container,
        "post",
        POST,
        Ty::Obj(O::Http),
        true,
        E::Runs,
        "HTTP POST on the first published port",
    ),
    call(
        O::Container,
        "port",
        PORT,
        Ty::Obj(O::Port),
        true,
        E::None,
        "a container port",
    ),
    call(
        O::Container,
        "url",
        PORT,
        Ty::Text,
        false,
        E::None,
        "`http://HOST:HOSTPORT` of a published port (HOST is 127.0.0.1 for a local engine)",
    ),
    call(
        O::Container,
        "file",
        PATH,
        Ty::Obj(O::File),
        true,
        E::None,
        "one path in the live filesystem",
    ),
    call(
        O::Container,
        "files",
        GLOB,
        Ty::List,
        true,
        E::None,
        "live paths matching a glob",
    ),
    call(
        O::Container,
        "stop",
        &[opt("TIMEOUT", A::Duration)],
        Ty::Obj(O::StopResult),
        false,
        E::Stop,
        "SIGTERM, then SIGKILL after TIMEOUT (default 10s); ends the container",
    ),
    call(
        O::Container,
        "kill",
        &[opt("SIGNAL", A::Signal)],
        Ty::Obj(O::Done),
        false,
        E::Barrier,
        "sends a signal (default SIGKILL)",
    ),
    call(
        O::Container,
        "restart",
        &[],
        Ty::Obj(O::Done),
        false,
        E::Barrier,
        "restarts the container",
    ),
    p(
        O::Memory,
        "peak",
        Ty::Size,
        true,
        "the highest memory use since start",
    ),
    p(O::Exec, "exit_code", Ty::Int, true, "the exit code"),
    p(
        O::Exec,
        "stdout",
        Ty::Text,
        true,
        "standard output, trailing newlines removed",
    ),
    p(
        O::Exec,
        "stderr",
        Ty::Text,
        true,
        "standard error, trailing newlines removed",
    ),
    p(O::Exec, "duration", Ty::Duration, true, "how long it ran"),
    p(O::Http, "status", Ty::Int, true, "the HTTP status code"),
    call(
        O::Http,
        "header",
        NAME,
        Ty::Text,
        true,
        E::None,
        "a response header (case-insensitive name)",
    ),
    p(O::Http, "body", Ty::Text, true, "the response body"),
    p(
        O::Http,
        "json",
        Ty::Json,
        true,
        "the body parsed as JSON: `.json.a.b[0]`",
    ),
    p(
        O::Http,
        "duration",
        Ty::Duration,
        true,
        "request to last byte",
    ),
    p(
        O::Port,
        "open",
        Ty::Bool,
        true,
        "a process in the container accepts connections on it (IPv4 or IPv6)",
    ),
    call(
        O::Port,
        "get",
        URL,
        Ty::Obj(O::Http),
        true,
        E::Runs,
        "HTTP GET on this port",
    ),
    call(
        O::Port,
        "post",
        POST,
        Ty::Obj(O::Http),
        true,
        E::Runs,
        "HTTP POST on this port",
    ),
    p(
        O::StopResult,
        "exit_code",
        Ty::Int,
        false,
        "the exit code after stopping",
    ),
    p(
        O::StopResult,
        "duration",
        Ty::Duration,
        false,
        "how long stopping took",
    ),
    // ---- stack
    p(
        O::Stack,
        "valid",
        Ty::Bool,
        false,
        "`compose config` accepts the files",
    ),
    p(
        O::Stack,
        "services",
        Ty::List,
        false,
        "service names in the resolved config",
    ),
    call(
        O::Stack,
        "service",
        NAME,
        Ty::Obj(O::Service),
        true,
        E::None,
        "a running service (its first replica): every container property",
    ),
    p(
        O::Stack,
        "config",
        Ty::Obj(O::StackConfig),
        false,
        "the resolved config (`compose config`)",
    ),
    p(
        O::Service,
        "replicas",
        Ty::Int,
        true,
        "running containers of the service",
    ),
    call(
        O::StackConfig,
        "service",
        NAME,
        Ty::Obj(O::ServiceConfig),
        false,
        E::None,
        "one service's resolved config",
    ),
    p(
        O::ServiceConfig,
        "env",
        Ty::Obj(O::EnvMap),
        false,
        "resolved environment",
    ),
    p(
        O::ServiceConfig,
        "ports",
        Ty::List,
        false,
        "published ports as compose resolves them",
    ),
    p(
        O::ServiceConfig,
        "image",
        Ty::Text,
        false,
        "the image reference",
    ),
    p(
        O::ServiceConfig,
        "healthcheck",
        Ty::Obj(O::Healthcheck),
        false,
        "the resolved healthcheck",
    ),
    p(
        O::ServiceConfig,
        "depends_on",
        Ty::List,
        false,
        "services it depends on",
    ),
    p(
        O::ServiceConfig,
        "networks",
        Ty::List,
        false,
        "networks it joins",
    ),
    p(
        O::ServiceConfig,
        "volumes",
        Ty::List,
        false,
        "its volume mounts",
    ),
    // ---- command
    p(O::Command, "exit_code", Ty::Int, false, "the exit code"),
    p(
        O::Command,
        "stdout",
        Ty::Text,
        false,
        "standard output, trailing newlines removed",
    ),
    p(
        O::Command,
        "stderr",
        Ty::Text,
        false,
        "standard error, trailing newlines removed",
    ),
    p(O::Command, "duration", Ty::Duration, false, "start to exit"),
    // ---- values
    p(O::List, "count", Ty::Int, false, "the number of items"),
    p(
        O::Json,
        "*",
        Ty::Json,
        false,
        "a member of a JSON object; `[N]` indexes arrays",
    ),
];

/// The rows an owner offers, services included (a service has every
/// container property).
pub fn rows(owner: Owner) -> impl Iterator<Item = &'static Prop> {
    CATALOGUE.iter().filter(move |p| {
        p.owner == owner || (owner == Owner::Service && p.owner == Owner::Container)
    })
}

/// Looks a property up on an owner.
pub fn lookup(owner: Owner, name: &str) -> Option<&'static Prop> {
    rows(owner)
        .find(|p| p.name == name)
        .or_else(|| rows(owner).find(|p| p.name == "*"))
}

/// Names an owner offers, for "did you mean".
pub fn names(owner: Owner) -> Vec<&'static str> {
    rows(owner).map(|p| p.name).filter(|n| *n != "*").collect()
}

/// The property reference (Markdown), generated for the book.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "<!-- generated by the test suite from the property catalogue; do not edit -->\n\
         # Properties\n\n\
         Every path an expectation can reach, generated from dspec's property catalogue \
         (`src/compile/property.rs`). *Changes* marks properties that change over time and so \
         accept `within` and `for`. Objects (marked →) have properties of their own, listed \
         under their heading.\n",
    );
    let mut owners: Vec<Owner> = Vec::new();
    for p in CATALOGUE {
        if !owners.contains(&p.owner) {
            owners.push(p.owner);
        }
    }
    for owner in owners {
        out.push_str(&format!("\n## {}\n\n", owner.title()));
        if owner == Owner::Service {
            out.push_str("Every container property, and:\n\n");
        }
        out.push_str("| property | type | changes | description |\n| --- | --- | --- | --- |\n");
        for p in CATALOGUE.iter().filter(|p| p.owner == owner) {
            let mut written = if p.name == "*" {
                "NAME".to_string()
            } else {
                p.name.to_string()
            };
            if let Form::Call(args) = p.form {
                let list: Vec<String> = args
                    .iter()
                    .map(|a| {
                        if a.optional {
                            format!("[{}]", a.name)
                        } else {
                            a.name.to_string()
                        }
                    })
                    .collect();
                written = format!("{written}({})", list.join(", "));
            }
            let ty = match p.ty {
                Ty::Obj(o) => format!("→ {}", o.title()),
                t => t.describe().to_string(),
            };
            let changes = if p.changes { "yes" } else { "" };
            out.push_str(&format!(
                "| `{written}` | {ty} | {changes} | {} |\n",
                p.doc.replace('|', "\\|")
            ));
        }
    }
    out
}
