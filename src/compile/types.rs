//! The value types of properties and of the values they are compared with.

use serde::Serialize;

/// What a property path yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ty {
    Bool,
    Int,
    Size,
    Duration,
    Percent,
    /// A plain number that may have a fraction (a CPU limit: `0.5`).
    Number,
    /// File mode bits, compared with octal literals (`0o755`).
    Mode,
    Text,
    /// Part of a JSON document: compared with any scalar.
    Json,
    /// A list of text (`ports`, `files(...)`, `packages`...).
    List,
    /// Something with properties of its own (`file("/app")`).
    Obj(Owner),
}

/// What owns a property: a subject kind or an intermediate object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Image,
    Container,
    Stack,
    Command,
    Task,
    File,
    Healthcheck,
    BuildInfo,
    Context,
    EnvMap,
    LabelMap,
    RunResult,
    Memory,
    Exec,
    Http,
    Cert,
    Port,
    StopResult,
    Done,
    Service,
    Limits,
    Mount,
    Package,
    Account,
    Group,
    Dependency,
    Logging,
    NetworkConfig,
    VolumeConfig,
    StackConfig,
    ServiceConfig,
    List,
    Json,
}

impl Owner {
    /// The type of the object itself when a path ends on it, if it has one
    /// (`api.memory` is a size; `api.memory.peak` is another).
    pub fn value_type(self) -> Option<Ty> {
        match self {
            Owner::Memory => Some(Ty::Size),
            // A map ending a path is the list of its names: `env contains "X"`, `.count`.
            Owner::EnvMap | Owner::LabelMap => Some(Ty::List),
            _ => None,
        }
    }

    /// A noun for messages: "an image", "a file".
    pub fn noun(self) -> &'static str {
        match self {
            Owner::Image => "an image",
            Owner::Container => "a container",
            Owner::Stack => "a stack",
            Owner::Command => "a command",
            Owner::Task => "a task",
            Owner::File => "a file",
            Owner::Healthcheck => "a healthcheck",
            Owner::BuildInfo => "build information",
            Owner::Context => "a build context",
            Owner::EnvMap => "an environment",
            Owner::LabelMap => "a set of labels",
            Owner::RunResult => "a one-off run",
            Owner::Memory => "memory use",
            Owner::Exec => "an exec",
            Owner::Http => "an HTTP response",
            Owner::Cert => "a TLS certificate",
            Owner::Port => "a port",
            Owner::StopResult => "a stop",
            Owner::Done => "an action",
            Owner::Service => "a service",
            Owner::Limits => "resource limits",
            Owner::Mount => "a mount",
            Owner::Package => "a package",
            Owner::Account => "an account",
            Owner::Group => "a group",
            Owner::Dependency => "a dependency",
            Owner::Logging => "a logging configuration",
            Owner::NetworkConfig => "a network's resolved config",
            Owner::VolumeConfig => "a volume's resolved config",
            Owner::StackConfig => "a resolved compose config",
            Owner::ServiceConfig => "a service's resolved config",
            Owner::List => "a list",
            Owner::Json => "JSON",
        }
    }

    /// The heading used in the property reference.
    pub fn title(self) -> &'static str {
        match self {
            Owner::Image => "image",
            Owner::Container => "container",
            Owner::Stack => "stack",
            Owner::Command => "command",
            Owner::Task => "task",
            Owner::File => "file(PATH)",
            Owner::Healthcheck => "healthcheck",
            Owner::BuildInfo => "image.build",
            Owner::Context => "image.context",
            Owner::EnvMap => "env",
            Owner::LabelMap => "labels",
            Owner::RunResult => "image.run(CMD)",
            Owner::Memory => "container.memory",
            Owner::Exec => "container.exec(CMD)",
            Owner::Http => "HTTP response (request subjects; get, post...)",
            Owner::Cert => "response.cert",
            Owner::Port => "container.port(N)",
            Owner::StopResult => "container.stop(TIMEOUT)",
            Owner::Done => "kill, restart, copy",
            Owner::Service => "stack.service(NAME)",
            Owner::Limits => "container.limits",
            Owner::Mount => "container.mount(PATH)",
            Owner::Package => "image.package(NAME)",
            Owner::Account => "image.account(NAME)",
            Owner::Group => "image.group(NAME)",
            Owner::Dependency => "stack.config.service(NAME).depends_on(SERVICE)",
            Owner::Logging => "stack.config.service(NAME).logging",
            Owner::NetworkConfig => "stack.config.network(NAME)",
            Owner::VolumeConfig => "stack.config.volume(NAME)",
            Owner::StackConfig => "stack.config",
            Owner::ServiceConfig => "stack.config.service(NAME)",
            Owner::List => "lists",
            Owner::Json => "json",
        }
    }
}

impl Ty {
    /// A noun for messages: "a size", "text".
    pub fn describe(self) -> &'static str {
        match self {
            Ty::Bool => "a boolean",
            Ty::Int => "a number",
            Ty::Size => "a size",
            Ty::Duration => "a duration",
            Ty::Percent => "a percentage",
            Ty::Number => "a number",
            Ty::Mode => "a file mode",
            Ty::Text => "text",
            Ty::Json => "JSON",
            Ty::List => "a list",
            Ty::Obj(o) => o.noun(),
        }
    }

    /// An example literal of this type for help texts.
    pub fn example(self) -> &'static str {
        match self {
            Ty::Bool => "`true`",
            Ty::Int => "`0`",
            Ty::Size => "`200MB`",
            Ty::Duration => "`30s`",
            Ty::Percent => "`10%`",
            Ty::Number => "`0.5`",
            Ty::Mode => "`0o755`",
            Ty::Text => "`\"text\"`",
            Ty::Json => "`\"ok\"` or `42`",
            Ty::List => "`[\"a\", \"b\"]`",
            Ty::Obj(_) => "a property",
        }
    }

    /// The type once a path ends here.
    pub fn ended(self) -> Ty {
        match self {
            Ty::Obj(o) => o.value_type().unwrap_or(self),
            t => t,
        }
    }

    /// The catalogue owner to look properties up on.
    pub fn owner(self) -> Option<Owner> {
        match self {
            Ty::Obj(o) => Some(o),
            Ty::List => Some(Owner::List),
            Ty::Json => Some(Owner::Json),
            _ => None,
        }
    }
}
