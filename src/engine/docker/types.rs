//! Plain data types of the engine API.
//!
//! Nothing here depends on bollard: the scheduler, the probes and any fake engine only ever
//! see these types. Maps are `BTreeMap` so that output built from them is deterministic.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Versions reported by the daemon when the connection was made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Versions {
    /// Where the daemon was reached, e.g. `unix:///var/run/docker.sock`.
    pub host: String,
    /// Where published ports are reached from here: `127.0.0.1` for a local engine, else the
    /// engine's host.
    pub probe_host: String,
    /// The engine machine's address that ports are published on.
    pub publish_ip: String,
    /// Variables that point the Compose tool at the same engine.
    pub child_env: Vec<(String, String)>,
    /// Variables that point host commands at the same engine (see `Endpoint::command_env`).
    pub command_env: Vec<(String, String)>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The docker context the engine was chosen by, if any.
    pub context: Option<String>,
    /// Daemon version, e.g. `20.10.24+dfsg1`.
    pub server_version: String,
    /// Highest API version the daemon speaks, e.g. `1.41`.
    pub api_version: String,
    /// Lowest API version the daemon accepts, e.g. `1.12`.
    pub min_api_version: String,
    /// Daemon OS, e.g. `linux`.
    pub os: String,
    /// Daemon architecture, e.g. `amd64`.
    pub arch: String,
}

impl Versions {
    /// Where and how the engine was reached: `tcp://h:2376 (TLS, context "ci")`.
    pub fn engine_text(&self) -> String {
        super::endpoint::describe(&self.host, self.tls, self.context.as_deref())
    }
}

// ---------------------------------------------------------------- build

/// Options of one image build (legacy builder; intermediate containers are always removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Path of the Dockerfile inside the context tar (relative), usually `Dockerfile`.
    pub dockerfile: String,
    /// Stage to stop at; `None` builds the last stage.
    pub target: Option<String>,
    /// Build arguments. They are visible in the image history: never put secrets here.
    pub args: Vec<(String, String)>,
    /// `name:tag` to give the result.
    pub tag: Option<String>,
    /// Labels set on the final image (the legacy builder does not label earlier stages).
    pub labels: BTreeMap<String, String>,
    /// Platform such as `linux/amd64`; only the native platform works (no emulation).
    pub platform: Option<String>,
    /// Ignore the layer cache.
    pub no_cache: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dockerfile: "Dockerfile".to_string(),
            target: None,
            args: Vec::new(),
            tag: None,
            labels: BTreeMap::new(),
            platform: None,
            no_cache: false,
        }
    }
}

/// A progress event of a build, reported while the build runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildProgress {
    /// A `Step N/M : INSTRUCTION` header.
    Step {
        /// N, counted from 1 over all stages.
        number: u32,
        /// M, the number of steps in the whole Dockerfile.
        total: u32,
        /// The instruction as the daemon prints it, e.g. `RUN exit 3`.
        instruction: String,
    },
    /// Any other complete output line (command output, `---> Using cache`, warnings).
    Output(String),
}

/// Result of a successful build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOutput {
    /// `sha256:…` ID of the final image.
    pub image_id: String,
    /// IDs of the earlier stages of a multi-stage build (untagged and unlabelled: the caller
    /// must remove them itself if it wants them gone).
    pub stage_ids: Vec<String>,
    /// Every output line of the build, in order.
    pub log: Vec<String>,
}

// ---------------------------------------------------------------- images

/// Health check configuration of an image. `None` durations mean "daemon default".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthcheckConfig {
    /// E.g. `["CMD-SHELL", "wget -q … || exit 1"]`, `["CMD", "/app/x", "healthcheck"]`, `["NONE"]`.
    pub test: Vec<String>,
    /// Time between probes.
    pub interval: Option<Duration>,
    /// Time one probe may take.
    pub timeout: Option<Duration>,
    /// Consecutive failures before `unhealthy`.
    pub retries: Option<u32>,
    /// Grace period after start during which failures do not count.
    pub start_period: Option<Duration>,
}

/// Facts about a local image, as `docker image inspect` gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageInfo {
    /// `sha256:…`.
    pub id: String,
    /// `name:tag` references pointing at this image.
    pub tags: Vec<String>,
    /// Size in bytes (on API 1.41 equal to the CLI's virtual size).
    pub size: u64,
    /// Number of filesystem layers.
    pub layers: usize,
    /// The layers' diff ids (`RootFS.Layers`), bottom first: `based_on` compares them.
    pub diff_ids: Vec<String>,
    /// `USER`, empty when unset (root).
    pub user: String,
    /// `ENV`, in image order.
    pub env: Vec<(String, String)>,
    /// `LABEL`s.
    pub labels: BTreeMap<String, String>,
    /// `ENTRYPOINT`, `None` when unset.
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`, `None` when unset.
    pub cmd: Option<Vec<String>>,
    /// `WORKDIR`, empty when unset.
    pub working_dir: String,
    /// `EXPOSE`d ports such as `8000/tcp`, sorted.
    pub exposed_ports: Vec<String>,
    /// `VOLUME` paths, sorted.
    pub volumes: Vec<String>,
    /// `HEALTHCHECK`, `None` when the image has none.
    pub healthcheck: Option<HealthcheckConfig>,
    /// E.g. `amd64`.
    pub arch: String,
    /// E.g. `linux`.
    pub os: String,
    /// Creation time, when the daemon gave a parseable one.
    pub created: Option<SystemTime>,
}

// ---------------------------------------------------------------- containers

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Proto {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// A container port published on the host. The host side is always `127.0.0.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortSpec {
    /// Port inside the container.
    pub container_port: u16,
    /// Protocol.
    pub proto: Proto,
    /// Fixed host port, or `None` for an ephemeral one (read it back with
    /// [`ContainerInfo::host_ports`] after start).
    pub host_port: Option<u16>,
}

/// Everything needed to create a container. `Default` gives a plain container of `image`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// Container name; `None` lets the daemon pick one.
    pub name: Option<String>,
    /// Image reference or ID. It must exist locally: nothing is ever pulled.
    pub image: String,
    /// Replaces the image's `CMD`.
    pub cmd: Option<Vec<String>>,
    /// Replaces the image's `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// Extra environment; overrides the image's values of the same names.
    pub env: Vec<(String, String)>,
    /// `user[:group]`, replaces the image's `USER`.
    pub user: Option<String>,
    /// Replaces the image's `WORKDIR`.
    pub workdir: Option<String>,
    /// Labels; put `dspec.run=<id>` here. Also applied to named volumes created for `volumes`.
    pub labels: BTreeMap<String, String>,
    /// Ports to publish on `127.0.0.1`.
    pub publish: Vec<PortSpec>,
    /// Memory limit in bytes.
    pub memory: Option<u64>,
    /// CPU limit in billionths of a CPU (`500_000_000` = half a CPU).
    pub nano_cpus: Option<u64>,
    /// Maximum number of processes.
    pub pids_limit: Option<i64>,
    /// Read-only root filesystem.
    pub read_only: bool,
    /// tmpfs mounts: `(path, options)` such as `("/tmp", "rw,size=16m,uid=1000,gid=1000")`.
    /// Note: `mode=` is ignored when the path exists in the image; use `uid=`/`gid=`.
    pub tmpfs: Vec<(String, String)>,
    /// Bind mounts: `(host path, container path, read_only)`.
    pub binds: Vec<(String, String, bool)>,
    /// Named volumes: `(volume name, container path)`; created (with `labels`) if absent.
    pub volumes: Vec<(String, String)>,
    /// Network to attach to (instead of the default bridge).
    pub network: Option<String>,
    /// DNS aliases on `network`.
    pub network_aliases: Vec<String>,
    /// Capabilities to add, e.g. `NET_BIND_SERVICE`.
    pub cap_add: Vec<String>,
    /// Capabilities to drop, e.g. `ALL`.
    pub cap_drop: Vec<String>,
    /// Set `no-new-privileges`.
    pub no_new_privileges: bool,
    /// Run docker-init as PID 1 (signals reach the process; SIGTERM gives exit 143).
    pub init: bool,
    /// Signal sent by `stop` (e.g. `SIGINT`), instead of the image's `STOPSIGNAL`.
    pub stop_signal: Option<String>,
    /// Overrides of the image's health check (what is left `None` is kept).
    pub health: HealthOverride,
    /// Extra `/etc/hosts` entries: `(name, address)`; `host-gateway` is the host.
    pub extra_hosts: Vec<(String, String)>,
    /// Keep the standard input open for one attached client (`docker run -i`): start it with
    /// [`crate::engine::docker::DockerApi::start_with_stdin`].
    pub stdin: bool,
}

/// What a container changes of its image's health check, as `docker run --health-*` and
/// `--no-healthcheck` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthOverride {
    /// No health check at all (`--no-healthcheck`).
    pub disable: bool,
    /// Time between probes.
    pub interval: Option<Duration>,
    /// Time one probe may take.
    pub timeout: Option<Duration>,
    /// Consecutive failures before `unhealthy`.
    pub retries: Option<u32>,
    /// Grace period after start.
    pub start_period: Option<Duration>,
}

impl HealthOverride {
    /// The image's health check with these overrides applied (`None`: no health check).
    pub fn apply(&self, image: Option<&HealthcheckConfig>) -> Option<HealthcheckConfig> {
        let h = image.filter(|h| h.test.first().map(String::as_str) != Some("NONE"))?;
        if self.disable {
            return None;
        }
        Some(HealthcheckConfig {
            test: h.test.clone(),
            interval: self.interval.or(h.interval),
            timeout: self.timeout.or(h.timeout),
            retries: self.retries.or(h.retries),
            start_period: self.start_period.or(h.start_period),
        })
    }
}

/// Health status of a container with a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthStatus {
    /// No probe has decided yet.
    #[default]
    Starting,
    /// The last probes passed.
    Healthy,
    /// `retries` consecutive probes failed.
    Unhealthy,
    /// Anything else the daemon reported (e.g. `none`).
    Other,
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::Other => "other",
        })
    }
}

/// One health probe run, as kept by the daemon (the last five).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthProbe {
    /// Exit code of the probe (0 = pass).
    pub exit_code: i64,
    /// Its output (stdout and stderr, truncated by the daemon).
    pub output: String,
    /// When it started.
    pub start: Option<SystemTime>,
    /// When it ended.
    pub end: Option<SystemTime>,
}

/// Health of a container whose image or spec has a health check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthInfo {
    /// Current status.
    pub status: HealthStatus,
    /// Consecutive failed probes.
    pub failing_streak: i64,
    /// The last probes, oldest first.
    pub log: Vec<HealthProbe>,
}

/// State of a container, as `docker inspect` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerInfo {
    /// Full ID.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// `created`, `running`, `exited`, `restarting`, `paused`, `dead`, …
    pub status: String,
    /// Whether it is running.
    pub running: bool,
    /// Exit code of the last run (0 while it has not exited).
    pub exit_code: i64,
    /// Whether the kernel OOM killer killed it.
    pub oom_killed: bool,
    /// Restarts done by the restart policy.
    pub restart_count: i64,
    /// Error the daemon recorded (e.g. why start failed); empty if none.
    pub error: String,
    /// Health, `None` without a health check.
    pub health: Option<HealthInfo>,
    /// Start of the last run, `None` if never started.
    pub started_at: Option<SystemTime>,
    /// End of the last run, `None` if it has not ended.
    pub finished_at: Option<SystemTime>,
    /// Published ports: `"8000/tcp"` → host port on `127.0.0.1` (assigned at start).
    pub host_ports: BTreeMap<String, u16>,
    /// Network name → the container's IP address on it.
    pub ip_addresses: BTreeMap<String, String>,
    /// Host PID of the main process (0 when not running).
    pub pid: i64,
    /// The container's labels (Compose's `com.docker.compose.*` among them).
    pub labels: BTreeMap<String, String>,
    /// The settings in force, from the engine's inspect.
    pub settings: ContainerSettings,
}

/// What is in force for a container: its engine's inspect of the merged config and host
/// config (a `docker run` flag, a Compose key or the image's default, whichever decided).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSettings {
    /// The image ID it runs.
    pub image: String,
    /// `USER` in force (empty: root).
    pub user: String,
    /// `KEY=VALUE` environment in force, in order.
    pub env: Vec<(String, String)>,
    /// Memory limit in bytes (`None`: unlimited).
    pub memory: Option<u64>,
    /// CPU limit in billionths of a CPU (`None`: unlimited).
    pub nano_cpus: Option<u64>,
    /// Process limit (`None`: unlimited).
    pub pids: Option<u64>,
    /// Read-only root filesystem.
    pub read_only: bool,
    /// Privileged mode.
    pub privileged: bool,
    /// docker-init as PID 1.
    pub init: bool,
    /// Capabilities added, as the engine stores them.
    pub cap_add: Vec<String>,
    /// Capabilities dropped, as the engine stores them.
    pub cap_drop: Vec<String>,
    /// `no-new-privileges`, `seccomp=...`, `apparmor=...`.
    pub security_opt: Vec<String>,
    /// Mounts: tmpfs, binds and volumes.
    pub mounts: Vec<MountInfo>,
    /// The networks it is attached to, by name.
    pub networks: Vec<String>,
    /// The restart policy's name (`no` when none).
    pub restart_policy: String,
}

/// One mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountInfo {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    /// The host path or the volume's name (empty for tmpfs).
    pub source: String,
    /// Where it is in the container.
    pub destination: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// How a wait for health ended (a timeout is an error instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthOutcome {
    /// The container became (or already was) healthy.
    Healthy,
    /// The container became (or already was) unhealthy.
    Unhealthy,
    /// The container is not running (it exited before it was healthy).
    NotRunning {
        /// Its exit code.
        exit_code: i64,
    },
    /// The container has no health check to wait for.
    NoHealthcheck,
}

/// Result of a command run with `exec`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// Exit code; 126/127 when the command could not be run (the daemon's message is then
    /// on stdout).
    pub exit_code: i64,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

/// Which stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of container output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Stream it was written to.
    pub stream: LogStream,
    /// When the daemon received it.
    pub timestamp: SystemTime,
    /// The text, without the trailing newline.
    pub text: String,
}

/// One resource-usage sample of a container.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stats {
    /// Memory in use as `docker stats` shows it (cgroup v1: `usage - total_inactive_file`).
    pub memory_usage: u64,
    /// Peak usage since start (cgroup v1 only; includes page cache).
    pub memory_max_usage: Option<u64>,
    /// Memory limit (the host's memory when the container has none).
    pub memory_limit: Option<u64>,
    /// CPU use in percent of one CPU, as `docker stats`; only when sampled `with_cpu`.
    pub cpu_percent: Option<f64>,
    /// Number of processes.
    pub pids: Option<u64>,
}

// ---------------------------------------------------------------- clean-up

/// Engine objects carrying a label, as found by `list_by_label`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    /// Container IDs (running or not).
    pub containers: Vec<String>,
    /// Network IDs.
    pub networks: Vec<String>,
    /// Volume names.
    pub volumes: Vec<String>,
    /// Image IDs.
    pub images: Vec<String>,
    /// Labels of each listed object, by ID (volumes: by name).
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl Resources {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
            && self.networks.is_empty()
            && self.volumes.is_empty()
            && self.images.is_empty()
    }

    /// IDs (volumes: names) of the containers, networks and volumes.
    pub fn runtime_ids(&self) -> Vec<String> {
        let mut ids = self.containers.clone();
        ids.extend(self.networks.iter().cloned());
        ids.extend(self.volumes.iter().cloned());
        ids
    }
}
