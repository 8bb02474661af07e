//! THE property catalogue: what every path can reach, its type, whether it
//! changes over time, and a one-line doc. The type checker, the planner,
//! "did you mean" and the book's property reference all read this table.

use serde::Serialize;

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
    /// An image subject of the file, by name: `based_on(base)`.
    Image,
    /// A package ecosystem: `"pip"`, `"npm"`, or `"os"` (dpkg and apk).
    Ecosystem,
    /// An HTTP method: `"PATCH"`, `"PROPFIND"`.
    Method,
    /// A Prometheus selector: `"http_requests_total{path=\"/health\"}"`.
    Selector,
    /// A path on the host, relative to the spec file's folder: `"reports/coverage.xml"`.
    HostPath,
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
            ArgKind::Image => "an image subject of the file, like `base`",
            ArgKind::Ecosystem => "a package ecosystem: \"pip\", \"npm\" or \"os\"",
            ArgKind::Method => "an HTTP method like \"PATCH\"",
            ArgKind::Selector => {
                "a Prometheus selector like \"http_requests_total{code=\\\"200\\\"}\""
            }
            ArgKind::HostPath => "a host path, relative to the spec file, like \"reports/out.xml\"",
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
    /// Which property: the owner and its typed name, what the engine dispatches on.
    pub key: Key,
    /// `*` stands for any name (`env.ANY_NAME`).
    pub name: &'static str,
    pub form: Form,
    pub ty: Ty,
    /// Whether it can change over time (accepts `within`/`for`).
    pub changes: bool,
    pub effect: Effect,
    pub doc: &'static str,
    /// A call whose arguments are all optional may be written bare (`.depends_on`): its type
    /// then, when it differs from the call's.
    pub bare: Option<Ty>,
}

impl Prop {
    /// What owns it.
    pub fn owner(&self) -> Owner {
        self.key.owner()
    }
}

/// A row before it gets its key (see `catalogue!`).
#[derive(Clone, Copy, Debug)]
pub struct Row {
    name: &'static str,
    form: Form,
    ty: Ty,
    changes: bool,
    effect: Effect,
    doc: &'static str,
    bare: Option<Ty>,
}

impl Row {
    const fn keyed(self, key: Key) -> Prop {
        Prop {
            key,
            name: self.name,
            form: self.form,
            ty: self.ty,
            changes: self.changes,
            effect: self.effect,
            doc: self.doc,
            bare: self.bare,
        }
    }
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

/// A field: `.size`.
const fn p(name: &'static str, ty: Ty, changes: bool, doc: &'static str) -> Row {
    Row {
        name,
        form: Form::Field,
        ty,
        changes,
        effect: Effect::None,
        doc,
        bare: None,
    }
}

/// A call: `.file("/app")`.
const fn call(
    name: &'static str,
    args: &'static [Arg],
    ty: Ty,
    changes: bool,
    effect: Effect,
    doc: &'static str,
) -> Row {
    Row {
        name,
        form: Form::Call(args),
        ty,
        changes,
        effect,
        doc,
        bare: None,
    }
}

/// A call that may also be written bare, with another type: `.depends_on` is a list,
/// `.depends_on("db")` one dependency.
const fn either(
    name: &'static str,
    args: &'static [Arg],
    bare: Ty,
    ty: Ty,
    doc: &'static str,
) -> Row {
    Row {
        name,
        form: Form::Call(args),
        ty,
        changes: false,
        effect: Effect::None,
        doc,
        bare: Some(bare),
    }
}

/// The catalogue: per owner, an enum of its properties (`ImageProp::Size`...) and their rows.
/// Adding a property is one row here; the engine's exhaustive `match` on the owner's enum
/// then insists on its observer.
macro_rules! catalogue {
    ($( $owner:ident / $enum:ident { $( $variant:ident = $row:expr ),* $(,)? } )*) => {
        $(
            #[doc = concat!("The properties of the owner `", stringify!($owner), "`.")]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
            pub enum $enum { $( $variant ),* }
        )*

        /// A property of the catalogue: its owner, and which of the owner's properties.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        pub enum Key { $( $owner($enum) ),* }

        impl Key {
            /// The owner the property belongs to.
            pub fn owner(self) -> Owner {
                match self { $( Key::$owner(_) => Owner::$owner ),* }
            }
        }

        /// Every row, with its key.
        pub const CATALOGUE: &[Prop] = &[ $( $( $row.keyed(Key::$owner($enum::$variant)), )* )* ];
    };
}

use ArgKind as A;
use Effect as E;
use Owner as O;

const GLOB: &[Arg] = &[arg("GLOB", A::Glob)];
const PATH: &[Arg] = &[arg("PATH", A::AbsPath)];
const URL: &[Arg] = &[arg("PATH", A::UrlPath)];
const POST: &[Arg] = &[arg("PATH", A::UrlPath), opt("BODY", A::Text)];
const METHOD: &[Arg] = &[
    arg("METHOD", A::Method),
    arg("PATH", A::UrlPath),
    opt("BODY", A::Text),
];
const PORT: &[Arg] = &[arg("N", A::Port)];
const NAME: &[Arg] = &[arg("NAME", A::Text)];
const PACKAGE: &[Arg] = &[arg("NAME", A::Text), opt("ECOSYSTEM", A::Ecosystem)];

catalogue! {
    Image / ImageProp {
        Built = p("built", Ty::Bool, false, "the image was built (or exists, for `existing`)"),
        Id = p("id", Ty::Text, false, "the image id, `sha256:...`"),
        Size = p("size", Ty::Size, false, "the image size as `docker images` shows it"),
        Layers = p("layers", Ty::Int, false, "the number of filesystem layers"),
        User = p("user", Ty::Text, false, "the configured `USER` (empty means root)"),
        Uid = p("uid", Ty::Int, false, "the user's uid, resolved through the image's own /etc/passwd"),
        Gid = p("gid", Ty::Int, false, "the user's gid, resolved through the image's /etc/passwd and /etc/group"),
        Env = p("env", Ty::Obj(O::EnvMap), false, "the configured environment: `env.NAME`"),
        Labels = p("labels", Ty::Obj(O::LabelMap), false, "the image labels: `labels[\"org.opencontainers.image.title\"]`"),
        Entrypoint = p("entrypoint", Ty::List, false, "the `ENTRYPOINT` as a list"),
        Cmd = p("cmd", Ty::List, false, "the `CMD` as a list"),
        Workdir = p("workdir", Ty::Text, false, "the `WORKDIR`"),
        Ports = p("ports", Ty::List, false, "exposed ports in Docker's spelling: `\"8000/tcp\"`"),
        Volumes = p("volumes", Ty::List, false, "declared volumes"),
        Healthcheck = p("healthcheck", Ty::Obj(O::Healthcheck), false, "the `HEALTHCHECK`"),
        Arch = p("arch", Ty::Text, false, "the architecture: `amd64`, `arm64`..."),
        Os = p("os", Ty::Text, false, "the operating system: `linux`"),
        Build = p("build", Ty::Obj(O::BuildInfo), false, "facts about the build"),
        Context = p("context", Ty::Obj(O::Context), false, "the build context as sent (after `.dockerignore`)"),
        Files = call("files", GLOB, Ty::List, false, E::None, "paths in the image matching a glob (not directories)"),
        File = call("file", PATH, Ty::Obj(O::File), false, E::None, "one path in the image's filesystem"),
        Packages = either("packages", &[opt("ECOSYSTEM", A::Ecosystem)], Ty::List, Ty::List, "installed packages: the OS's (dpkg, apk) bare, `packages(\"pip\")` from *.dist-info/*.egg-info, `packages(\"npm\")` from node_modules"),
        Package = call("package", PACKAGE, Ty::Obj(O::Package), false, E::None, "one installed package, of any ecosystem or of the one named"),
        Account = call("account", NAME, Ty::Obj(O::Account), false, E::None, "a user account of the image's /etc/passwd"),
        Group = call("group", NAME, Ty::Obj(O::Group), false, E::None, "a group of the image's /etc/group"),
        BasedOn = call("based_on", &[arg("IMAGE", A::Image)], Ty::Bool, false, E::None, "the other image's layers are this one's first layers (by diff id)"),
        History = p("history", Ty::List, false, "each build step's `created_by`, oldest first, as `docker history` lists them"),
        Ref = p("ref", Ty::Text, false, "the reference dspec gave the image: its `tag` setting, else dspec's own tag (`existing`: the reference)"),
        Run = call("run", &[opt("CMD", A::Command)], Ty::Obj(O::RunResult), false, E::Runs, "a one-off container of the image; no argument runs the default command"),
    }
    Healthcheck / HealthcheckProp {
        Test = p("test", Ty::List, false, "the probe command, as Docker stores it"),
        Interval = p("interval", Ty::Duration, false, "time between probes"),
        Timeout = p("timeout", Ty::Duration, false, "time a probe may take"),
        Retries = p("retries", Ty::Int, false, "failures before unhealthy"),
        StartPeriod = p("start_period", Ty::Duration, false, "grace period after start"),
    }
    BuildInfo / BuildInfoProp {
        Duration = p("duration", Ty::Duration, false, "how long the build took in this run"),
    }
    Context / ContextProp {
        Size = p("size", Ty::Size, false, "bytes of regular files sent to the builder"),
        Files = call("files", &[arg("GLOB", A::RelGlob)], Ty::List, false, E::None, "context files matching a glob relative to the context"),
    }
    EnvMap / EnvMapProp {
        Count = p("count", Ty::Int, false, "the number of variables"),
        Var = p("*", Ty::Text, false, "the value of one variable (absent: the property fails)"),
    }
    File / FileProp {
        Exists = p("exists", Ty::Bool, false, "the path exists (a symlink counts, even dangling)"),
        Type = p("type", Ty::Text, false, "`file`, `dir`, `symlink`, `hardlink`, `char`, `block` or `fifo`"),
        Mode = p("mode", Ty::Mode, false, "permission bits with setuid/setgid/sticky: compare with `0o755`"),
        Uid = p("uid", Ty::Int, false, "owner uid"),
        Gid = p("gid", Ty::Int, false, "owner gid"),
        Owner = p("owner", Ty::Text, false, "owner name from the image's /etc/passwd"),
        Group = p("group", Ty::Text, false, "group name from the image's /etc/group"),
        Size = p("size", Ty::Size, false, "size in bytes"),
        Content = p("content", Ty::Text, false, "the file's text"),
        Target = p("target", Ty::Text, false, "where a symlink points"),
        Executable = p("executable", Ty::Bool, false, "its user may execute it: the image's USER, or in a container the user in force (mode, owner, groups; root: any x bit)"),
        Writable = p("writable", Ty::Bool, false, "its user may write it: the image's USER (root: always), or in a container the user in force (a read-only root or `:ro` mount refuses even root)"),
        Readable = p("readable", Ty::Bool, false, "its user may read it: the image's USER, or in a container the user in force (root: always)"),
        Sha256 = p("sha256", Ty::Text, false, "the SHA-256 of its content, in hex"),
    }
    RunResult / RunResultProp {
        ExitCode = p("exit_code", Ty::Int, false, "the exit code"),
        Stdout = p("stdout", Ty::Text, false, "standard output, trailing newlines removed"),
        Stderr = p("stderr", Ty::Text, false, "standard error, trailing newlines removed"),
        Duration = p("duration", Ty::Duration, false, "start to exit"),
    }
    Container / ContainerProp {
        Status = p("status", Ty::Text, true, "`created`, `running`, `exited`..."),
        Health = p("health", Ty::Text, true, "`starting`, `healthy`, `unhealthy`, or `none` without a HEALTHCHECK"),
        ExitCode = p("exit_code", Ty::Int, true, "the exit code once the container has exited"),
        Startup = p("startup", Ty::Duration, false, "start to healthy, or to running without a HEALTHCHECK"),
        Memory = p("memory", Ty::Obj(O::Memory), true, "memory use as `docker stats` computes MEM USAGE"),
        Cpu = p("cpu", Ty::Percent, true, "CPU use in percent of one core"),
        Pids = p("pids", Ty::Int, true, "number of processes"),
        Restarts = p("restarts", Ty::Int, true, "times the engine restarted it"),
        OomKilled = p("oom_killed", Ty::Bool, true, "the kernel killed it for memory"),
        Logs = p("logs", Ty::Text, true, "stdout and stderr together"),
        Exec = call("exec", &[arg("CMD", A::Command), opt("TIMEOUT", A::Duration)], Ty::Obj(O::Exec), true, E::Runs, "runs a command in the container (no implicit shell); killed after TIMEOUT (default 60s, and never past a `within`/`for` deadline)"),
        Get = call("get", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP GET on the first published port"),
        Post = call("post", POST, Ty::Obj(O::Http), true, E::Runs, "HTTP POST on the first published port"),
        Put = call("put", POST, Ty::Obj(O::Http), true, E::Runs, "HTTP PUT on the first published port"),
        Patch = call("patch", POST, Ty::Obj(O::Http), true, E::Runs, "HTTP PATCH on the first published port"),
        Delete = call("delete", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP DELETE on the first published port"),
        Head = call("head", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP HEAD on the first published port"),
        Options = call("options", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP OPTIONS on the first published port"),
        Request = call("request", METHOD, Ty::Obj(O::Http), true, E::Runs, "an HTTP request with any method on the first published port"),
        Port = call("port", PORT, Ty::Obj(O::Port), true, E::None, "a container port"),
        Url = call("url", PORT, Ty::Text, false, E::None, "`http://HOST:HOSTPORT` of a published port (HOST is 127.0.0.1 for a local engine)"),
        File = call("file", PATH, Ty::Obj(O::File), true, E::None, "one path in the live filesystem"),
        Files = call("files", GLOB, Ty::List, true, E::None, "live paths matching a glob"),
        Stop = call("stop", &[opt("TIMEOUT", A::Duration)], Ty::Obj(O::StopResult), false, E::Stop, "SIGTERM, then SIGKILL after TIMEOUT (default 10s); ends the container"),
        Kill = call("kill", &[opt("SIGNAL", A::Signal)], Ty::Obj(O::Done), false, E::Barrier, "sends a signal (default SIGKILL)"),
        Restart = call("restart", &[], Ty::Obj(O::Done), false, E::Barrier, "restarts the container"),
        Limits = p("limits", Ty::Obj(O::Limits), false, "the resource limits in force"),
        ReadOnly = p("read_only", Ty::Bool, false, "the root filesystem is read-only"),
        Privileged = p("privileged", Ty::Bool, false, "it runs privileged"),
        NoNewPrivileges = p("no_new_privileges", Ty::Bool, false, "`no-new-privileges` is set"),
        Init = p("init", Ty::Bool, false, "an init process (docker-init) is PID 1"),
        User = p("user", Ty::Text, false, "the user in force: the `user` setting, else the image's USER (empty: root)"),
        CapAdd = p("cap_add", Ty::List, false, "capabilities added (`NET_RAW` and `CAP_NET_RAW` both match)"),
        CapDrop = p("cap_drop", Ty::List, false, "capabilities dropped (`ALL` for all)"),
        SecurityOpt = p("security_opt", Ty::List, false, "security options: `no-new-privileges`, `seccomp=...`"),
        Tmpfs = p("tmpfs", Ty::List, false, "where tmpfs filesystems are mounted"),
        Mounts = p("mounts", Ty::List, false, "where anything is mounted (tmpfs, binds, volumes)"),
        Mount = call("mount", PATH, Ty::Obj(O::Mount), false, E::None, "the mount at a path"),
        Networks = p("networks", Ty::List, false, "the networks it is attached to"),
        Env = p("env", Ty::Obj(O::EnvMap), false, "the environment in force: `env.NAME`, `env contains \"NAME\"`"),
        Labels = p("labels", Ty::Obj(O::LabelMap), false, "its labels: `labels[\"k\"]`, `labels contains \"k\"`"),
        RestartPolicy = p("restart_policy", Ty::Text, false, "`no`, `always`, `on-failure` or `unless-stopped`"),
        Image = p("image", Ty::Text, false, "the image id it runs"),
    }
    Memory / MemoryProp {
        Peak = p("peak", Ty::Size, true, "the highest memory use since start"),
    }
    Exec / ExecProp {
        ExitCode = p("exit_code", Ty::Int, true, "the exit code"),
        Stdout = p("stdout", Ty::Text, true, "standard output, trailing newlines removed"),
        Stderr = p("stderr", Ty::Text, true, "standard error, trailing newlines removed"),
        Duration = p("duration", Ty::Duration, true, "how long it ran"),
    }
    Http / HttpProp {
        Status = p("status", Ty::Int, true, "the HTTP status code"),
        Header = call("header", NAME, Ty::Text, true, E::None, "a response header (case-insensitive name; repeated headers joined by `, `, `set-cookie` by newlines)"),
        Headers = p("headers", Ty::List, true, "the names of the response headers, lower-cased"),
        Body = p("body", Ty::Text, true, "the response body as text, decoded by its charset (read up to 16 MiB; a larger body fails)"),
        Json = p("json", Ty::Json, true, "the body parsed as JSON: `.json.a.b[0]`, `.json.items[*].id`"),
        Duration = p("duration", Ty::Duration, true, "request to last byte (redirects included)"),
        Version = p("version", Ty::Text, true, "the protocol of the response: `HTTP/1.1`"),
        Redirects = p("redirects", Ty::Int, true, "redirects followed (with `follow_redirects`)"),
        Url = p("url", Ty::Text, true, "the URL of the last response (after redirects)"),
        Cert = p("cert", Ty::Obj(O::Cert), true, "the server certificate of an `https` request"),
        Metric = call("metric", &[arg("SELECTOR", A::Selector)], Ty::Number, true, E::None, "the sum of the Prometheus text samples matching `name{label=\"v\",other!=\"w\"}` (`=~`, `!~` too); none matching fails"),
    }
    Cert / CertProp {
        Subject = p("subject", Ty::Text, true, "the subject: `CN=localhost, O=Example`"),
        Issuer = p("issuer", Ty::Text, true, "the issuer, in the same form"),
        DaysLeft = p("days_left", Ty::Int, true, "whole days until it expires (negative once expired)"),
    }
    Port / PortProp {
        Open = p("open", Ty::Bool, true, "a process in the container accepts connections on it (IPv4 or IPv6)"),
        Get = call("get", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP GET on this port"),
        Post = call("post", POST, Ty::Obj(O::Http), true, E::Runs, "HTTP POST on this port"),
        Put = call("put", POST, Ty::Obj(O::Http), true, E::Runs, "HTTP PUT on this port"),
        Patch = call("patch", POST, Ty::Obj(O::Http), true, E::Runs, "HTTP PATCH on this port"),
        Delete = call("delete", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP DELETE on this port"),
        Head = call("head", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP HEAD on this port"),
        Options = call("options", URL, Ty::Obj(O::Http), true, E::Runs, "HTTP OPTIONS on this port"),
        Request = call("request", METHOD, Ty::Obj(O::Http), true, E::Runs, "an HTTP request with any method on this port"),
    }
    StopResult / StopResultProp {
        ExitCode = p("exit_code", Ty::Int, false, "the exit code after stopping"),
        Duration = p("duration", Ty::Duration, false, "how long stopping took"),
    }
    Stack / StackProp {
        Valid = p("valid", Ty::Bool, false, "`compose config` accepts the files"),
        Services = p("services", Ty::List, false, "service names in the resolved config"),
        Service = call("service", NAME, Ty::Obj(O::Service), true, E::None, "a running service (its first replica): every container property"),
        Config = p("config", Ty::Obj(O::StackConfig), false, "the resolved config (`compose config`)"),
        Down = call("down", &[], Ty::Obj(O::Done), false, E::Barrier, "`compose down`: the services' containers and networks removed, volumes kept"),
        Up = call("up", &[], Ty::Obj(O::Done), false, E::Barrier, "`compose up -d` again (after `down()`); `within` clocks of its services restart"),
    }
    Service / ServiceProp {
        Replicas = p("replicas", Ty::Int, true, "running containers of the service"),
    }
    StackConfig / StackConfigProp {
        Service = call("service", NAME, Ty::Obj(O::ServiceConfig), false, E::None, "one service's resolved config"),
        Network = call("network", NAME, Ty::Obj(O::NetworkConfig), false, E::None, "one network's resolved config"),
        Volume = call("volume", NAME, Ty::Obj(O::VolumeConfig), false, E::None, "one volume's resolved config"),
        Json = p("json", Ty::Json, false, "the whole resolved config as JSON: `config.json.services.web.image`"),
    }
    ServiceConfig / ServiceConfigProp {
        Env = p("env", Ty::Obj(O::EnvMap), false, "resolved environment"),
        Ports = p("ports", Ty::List, false, "published ports as compose resolves them"),
        Image = p("image", Ty::Text, false, "the image reference"),
        Healthcheck = p("healthcheck", Ty::Obj(O::Healthcheck), false, "the resolved healthcheck"),
        DependsOn = either("depends_on", &[opt("SERVICE", A::Text)], Ty::List, Ty::Obj(O::Dependency), "services it depends on; `depends_on(\"db\")` is one of them"),
        Networks = p("networks", Ty::List, false, "networks it joins"),
        Volumes = p("volumes", Ty::List, false, "its mounts: `SOURCE:TARGET[:ro]`, a named volume by its name"),
        ReadOnly = p("read_only", Ty::Bool, false, "`read_only: true`"),
        Tmpfs = p("tmpfs", Ty::List, false, "its tmpfs mount points"),
        Restart = p("restart", Ty::Text, false, "the restart policy (`no` when unset)"),
        ContainerName = p("container_name", Ty::Text, false, "its `container_name` (absent: the property fails)"),
        SecurityOpt = p("security_opt", Ty::List, false, "its security options"),
        CapAdd = p("cap_add", Ty::List, false, "capabilities it adds (with or without `CAP_`)"),
        CapDrop = p("cap_drop", Ty::List, false, "capabilities it drops"),
        User = p("user", Ty::Text, false, "its `user` (empty when unset)"),
        Profiles = p("profiles", Ty::List, false, "the profiles it belongs to"),
        Command = p("command", Ty::List, false, "its command as a list"),
        Logging = p("logging", Ty::Obj(O::Logging), false, "its logging configuration"),
        Limits = p("limits", Ty::Obj(O::Limits), false, "its limits, from `mem_limit`/`cpus`/`pids_limit` or `deploy.resources.limits` (`512m` = 512MiB)"),
        Json = p("json", Ty::Json, false, "any key of the resolved service: `json.deploy.replicas`"),
    }
    Package / PackageProp {
        Exists = p("exists", Ty::Bool, false, "the package is installed"),
        Version = p("version", Ty::Text, false, "its installed version"),
    }
    Account / AccountProp {
        Exists = p("exists", Ty::Bool, false, "the account is in /etc/passwd"),
        Uid = p("uid", Ty::Int, false, "its uid"),
        Gid = p("gid", Ty::Int, false, "its primary gid"),
        Home = p("home", Ty::Text, false, "its home directory"),
        Shell = p("shell", Ty::Text, false, "its shell"),
        Groups = p("groups", Ty::List, false, "its groups: primary and member-of, as `id -Gn`"),
    }
    Group / GroupProp {
        Exists = p("exists", Ty::Bool, false, "the group is in /etc/group"),
        Gid = p("gid", Ty::Int, false, "its gid"),
        Members = p("members", Ty::List, false, "the users /etc/group lists in it"),
    }
    Dependency / DependencyProp {
        Condition = p("condition", Ty::Text, false, "`service_started`, `service_healthy` or `service_completed_successfully`"),
    }
    Logging / LoggingProp {
        Driver = p("driver", Ty::Text, false, "the logging driver (absent: the engine's default applies)"),
    }
    NetworkConfig / NetworkConfigProp {
        Driver = p("driver", Ty::Text, false, "the network driver (`bridge` when unset)"),
        Json = p("json", Ty::Json, false, "any key of the resolved network"),
    }
    VolumeConfig / VolumeConfigProp {
        Driver = p("driver", Ty::Text, false, "the volume driver (`local` when unset)"),
        Json = p("json", Ty::Json, false, "any key of the resolved volume"),
    }
    Command / CommandProp {
        ExitCode = p("exit_code", Ty::Int, false, "the exit code"),
        Stdout = p("stdout", Ty::Text, false, "standard output, trailing newlines removed"),
        Stderr = p("stderr", Ty::Text, false, "standard error, trailing newlines removed"),
        Duration = p("duration", Ty::Duration, false, "start to exit"),
    }
    Task / TaskProp {
        ExitCode = p("exit_code", Ty::Int, false, "the exit code of the task's container (any code is a result, not a failed setup)"),
        Stdout = p("stdout", Ty::Text, false, "standard output, trailing newlines removed"),
        Stderr = p("stderr", Ty::Text, false, "standard error, trailing newlines removed"),
        Logs = p("logs", Ty::Text, false, "stdout and stderr together, as the engine logged them"),
        Duration = p("duration", Ty::Duration, false, "start to exit"),
        OomKilled = p("oom_killed", Ty::Bool, false, "the kernel killed it for memory"),
        File = call("file", PATH, Ty::Obj(O::File), false, E::None, "one path in the exited container's filesystem"),
        Files = call("files", GLOB, Ty::List, false, E::None, "paths of the exited container matching a glob"),
        Copy = call("copy", &[arg("FROM", A::AbsPath), arg("TO", A::HostPath)], Ty::Obj(O::Done), false, E::Runs, "copies FROM out of the exited container to TO on the host (relative to the spec file; missing folders are created)"),
    }
    List / ListProp {
        Count = p("count", Ty::Int, false, "the number of items"),
    }
    Json / JsonProp {
        Member = p("*", Ty::Json, false, "a member of a JSON object; `[N]` indexes arrays"),
    }
    LabelMap / LabelMapProp {
        Count = p("count", Ty::Int, false, "the number of labels"),
    }
    Limits / LimitsProp {
        Memory = p("memory", Ty::Size, false, "the memory limit (`unlimited` fails every comparison)"),
        Cpus = p("cpus", Ty::Number, false, "the CPU limit in cores"),
        Pids = p("pids", Ty::Int, false, "the process limit"),
    }
    Mount / MountProp {
        Type = p("type", Ty::Text, false, "`tmpfs`, `bind` or `volume`"),
        Source = p("source", Ty::Text, false, "the host path or the volume's name (empty for tmpfs)"),
        ReadOnly = p("read_only", Ty::Bool, false, "mounted read-only"),
    }
    Done / DoneProp {
    }
}

/// The rows an owner offers, services included (a service has every
/// container property).
pub fn rows(owner: Owner) -> impl Iterator<Item = &'static Prop> {
    CATALOGUE.iter().filter(move |p| {
        p.owner() == owner || (owner == Owner::Service && p.owner() == Owner::Container)
    })
}

/// Looks a property up on an owner.
pub fn lookup(owner: Owner, name: &str) -> Option<&'static Prop> {
    rows(owner)
        .find(|p| p.name == name)
        .or_else(|| rows(owner).find(|p| p.name == "*"))
}

/// The type every property of this name has, when they agree (`size`, `memory`: a size;
/// `duration`: a duration). The parser reads it to suggest units of the right kind for a typo
/// it finds before any owner is known.
pub fn type_of_name(name: &str) -> Option<Ty> {
    let mut tys = CATALOGUE.iter().filter(|p| p.name == name).map(|p| p.ty);
    let first = tys.next()?;
    tys.all(|t| t == first).then_some(first)
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
        if !owners.contains(&p.owner()) {
            owners.push(p.owner());
        }
    }
    for owner in owners {
        out.push_str(&format!("\n## {}\n\n", owner.title()));
        if owner == Owner::Service {
            out.push_str("Every container property, and:\n\n");
        }
        out.push_str("| property | type | changes | description |\n| --- | --- | --- | --- |\n");
        for p in CATALOGUE.iter().filter(|p| p.owner() == owner) {
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
