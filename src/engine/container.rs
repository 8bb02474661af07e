//! Containers: start one from a `run` subject, observe it, act on it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Mutex, OnceCell};

use super::Ctx;
use super::actual::{Actual, format_duration, resolve_text};
use super::docker::{
    ContainerSpec, DockerApi, HealthOutcome, HealthStatus, HealthcheckConfig, PortSpec, Proto,
};
use super::http;
use super::image::ImageFacts;
use super::observe::{ObsError, Observed, arg_text, process_text, tail};
use super::oneoff::argv_of;
use crate::compile::value::Val;
use crate::compile::{PathStep, RunSpec};

/// Timeout of one HTTP probe.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit of an `exec(...)` unless its second argument says otherwise.
pub const EXEC_LIMIT: Duration = Duration::from_secs(60);

/// `limit`, cut to what is left until `until` (the deadline of a `within`/`for`), at least a
/// moment so that one attempt is made.
fn bounded(limit: Duration, until: Option<Instant>) -> Duration {
    match until {
        Some(u) => limit
            .min(u.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(100)),
        None => limit,
    }
}

/// Runs `argv` in the container within `limit`; an exec past its limit is killed (with its
/// children) and reported as such.
async fn exec_bounded(
    ctx: &Ctx,
    c: &Running,
    argv: &[String],
    limit: Duration,
) -> Result<super::docker::ExecOutput, ObsError> {
    match ctx.engine.exec(&c.id, argv, None, limit).await {
        Ok(out) => Ok(out),
        Err(super::docker::EngineError::ExecTimedOut { after, pid, .. }) => {
            let how = kill_exec(ctx, &c.id, pid).await;
            Err(ObsError::Missing(format!(
                "`{}` did not finish within {} ({how}); give a longer limit as exec's second argument: `exec(\"...\", 5m)`",
                argv.join(" "),
                format_duration(after)
            )))
        }
        Err(e) => Err(ObsError::Missing(format!("exec failed: {e}"))),
    }
}

/// Kills an abandoned exec and everything it started: from this machine when the engine runs
/// here and allows it, else from inside the container with its `kill`. Says what happened.
async fn kill_exec(ctx: &Ctx, container: &str, pid: i64) -> String {
    use super::procfs;
    if !procfs::is_process_of(pid, container) {
        return "left running until the container is removed: its process is not visible here"
            .into();
    }
    let pids = procfs::with_descendants(pid);
    if procfs::kill(&pids) {
        return "killed".into();
    }
    let inside: Vec<String> = pids
        .iter()
        .filter_map(|p| procfs::ns_pid(*p))
        .map(|p| p.to_string())
        .collect();
    let mut argv = vec!["kill".to_string(), "-KILL".to_string()];
    argv.extend(inside);
    match ctx
        .engine
        .exec(container, &argv, Some("0"), Duration::from_secs(10))
        .await
    {
        Ok(out) if out.exit_code == 0 => "killed".into(),
        _ => "left running until the container is removed: it could not be killed".into(),
    }
}

/// A moment on two clocks: this process's monotonic one, and the engine's wall clock (the one
/// its event and state times use).
#[derive(Clone, Copy, Debug)]
pub struct Anchor {
    pub at: Instant,
    pub engine: SystemTime,
}

impl Anchor {
    /// Now, on both clocks.
    pub fn now() -> Anchor {
        Anchor {
            at: Instant::now(),
            engine: SystemTime::now(),
        }
    }

    /// The engine's moment `engine`, mapped onto the monotonic clock and kept inside
    /// `[lo, hi]` (the moments around the call that caused it), so a clock skew between this
    /// machine and a remote engine cannot move it outside what was observed.
    pub fn engine_time(engine: SystemTime, lo: Instant, hi: Instant) -> Anchor {
        let now = Instant::now();
        let at = match SystemTime::now().duration_since(engine) {
            Ok(ago) => now.checked_sub(ago).unwrap_or(lo),
            Err(e) => now + e.duration(),
        };
        Anchor {
            at: at.clamp(lo, hi),
            engine,
        }
    }

    /// The monotonic moment of an engine time measured from this anchor.
    pub fn later(&self, engine: SystemTime) -> Instant {
        self.at + engine.duration_since(self.engine).unwrap_or_default()
    }
}

/// A started container of the run.
pub struct Running {
    pub id: String,
    /// Its name in the engine.
    pub name: String,
    /// When it started.
    pub started: Anchor,
    /// Its last action (`restart()`, `kill()`, `do ...`), or its start: `within` counts
    /// from here.
    pub anchor: std::sync::Mutex<Anchor>,
    /// Whether it has a health check to wait for.
    pub has_health: bool,
    /// How long readiness may take, and where that limit comes from.
    pub ready_limit: (Duration, String),
    /// Readiness, waited for once (see [`ready`]).
    ready: OnceCell<Result<(), SetupError>>,
    /// Start to healthy (or to running without a health check), once ready.
    pub startup: std::sync::Mutex<Option<Duration>>,
    /// Exit code and duration of a `stop`.
    pub stopped: Mutex<Option<(i64, Duration)>>,
}

impl Running {
    /// A container started by someone else (a Compose service): ready as it is.
    pub fn adopted(id: String, started: Anchor) -> Running {
        let ready = OnceCell::new();
        let _ = ready.set(Ok(()));
        Running {
            name: id.clone(),
            id,
            started,
            anchor: std::sync::Mutex::new(started),
            has_health: false,
            ready_limit: (Duration::ZERO, String::new()),
            ready,
            startup: std::sync::Mutex::new(None),
            stopped: Mutex::new(None),
        }
    }

    /// Where `within` clocks start now.
    pub fn anchor(&self) -> Anchor {
        *self.anchor.lock().expect("anchor lock")
    }

    /// An action just ended: later `within` clocks start here.
    pub fn acted(&self, at: Anchor) {
        *self.anchor.lock().expect("anchor lock") = at;
    }
}

/// A setup failure: message, evidence, and whether the engine is to blame.
#[derive(Clone, Debug)]
pub struct SetupError {
    pub message: String,
    pub output: Vec<String>,
    pub infrastructure: bool,
}

/// How long setup waits for a container without a health check to be running.
const RUNNING_LIMIT: Duration = Duration::from_secs(60);

/// How long setup waits for readiness: the `timeout` setting, else what the image's
/// HEALTHCHECK needs to decide (start period + interval × (retries + 1) + one probe's
/// timeout, with Docker's defaults for what it leaves unset). The text says where it came from.
pub fn ready_limit(
    timeout: Option<Duration>,
    health: Option<&HealthcheckConfig>,
) -> (Duration, String) {
    if let Some(t) = timeout {
        return (t, "its `timeout`".to_string());
    }
    let Some(h) = health else {
        return (
            RUNNING_LIMIT,
            "the default for a container without a HEALTHCHECK".into(),
        );
    };
    let interval = h.interval.unwrap_or(Duration::from_secs(30));
    let probe = h.timeout.unwrap_or(Duration::from_secs(30));
    let retries = h.retries.unwrap_or(3);
    let start_period = h.start_period.unwrap_or(Duration::ZERO);
    let limit = start_period + interval * (retries + 1) + probe;
    (
        limit,
        format!(
            "its HEALTHCHECK: start period {} + interval {} × (retries {retries} + 1) + timeout {}; set `timeout` to change it",
            format_duration(start_period),
            format_duration(interval),
            format_duration(probe)
        ),
    )
}

fn env_value(ctx: &Ctx, v: &Val) -> Result<String, String> {
    let text = match v {
        Val::Text(t) => {
            let s = resolve_text(t)?;
            if t.is_secret() {
                ctx.add_secret(&s);
            }
            return Ok(s);
        }
        // Inside the run network a container reaches another by its name.
        Val::Url { subject, port } => format!("http://{subject}:{port}"),
        other => other.to_string(),
    };
    Ok(text)
}

/// `KEY=VALUE` lines of an env file (`#` comments, blank lines ignored).
fn read_env_file(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read env file `{}`: {e}", path.display()))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => out.push((k.trim().to_string(), v.to_string())),
            None => out.push((line.to_string(), std::env::var(line).unwrap_or_default())),
        }
    }
    Ok(out)
}

/// Creates and starts a container, then waits until it is ready: healthy
/// when the image has a health check (or unhealthy: expectations report
/// that), else running. Exiting before that is a setup failure.
pub async fn start(
    ctx: &Ctx,
    file: usize,
    name: &str,
    spec: &RunSpec,
    image: &ImageFacts,
    network: Option<&str>,
) -> Result<Running, SetupError> {
    let spec_err = |message: String| SetupError {
        message,
        output: Vec::new(),
        infrastructure: false,
    };
    let mut env = Vec::new();
    for f in &spec.env_files {
        env.extend(read_env_file(f).map_err(spec_err)?);
    }
    for (k, v) in &spec.env {
        env.push((k.clone(), env_value(ctx, v).map_err(spec_err)?));
    }
    for m in &spec.mounts {
        if !m.host.exists() {
            return Err(spec_err(format!(
                "the mount source `{}` does not exist",
                m.host.display()
            )));
        }
    }
    let user = spec.user.clone().unwrap_or_else(|| image.info.user.clone());
    let owner = owner_of(&user);
    let tmpfs = spec
        .tmpfs
        .iter()
        .map(|p| {
            let mut opts = "rw,nosuid,nodev,mode=1777".to_string();
            if let Some((uid, gid)) = owner {
                opts.push_str(&format!(",uid={uid},gid={gid}"));
            }
            (p.clone(), opts)
        })
        .collect();
    let mut labels = ctx.labels.clone();
    for (k, v) in &spec.labels {
        labels.insert(k.clone(), v.to_string());
    }
    let cname = ctx.resource_name(file, name);
    let volumes: Vec<(String, String)> = spec
        .volumes
        .iter()
        .map(|(v, p)| (ctx.resource_name(file, v), p.clone()))
        .collect();
    for (v, _) in &volumes {
        ctx.made("volume", v);
    }
    let cspec = ContainerSpec {
        name: Some(cname.clone()),
        image: image.info.id.clone(),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env,
        user: spec.user.clone(),
        workdir: spec.workdir.clone(),
        labels,
        publish: spec
            .publish
            .iter()
            .map(|p| PortSpec {
                container_port: p.container,
                proto: match p.proto.as_str() {
                    "udp" => Proto::Udp,
                    _ => Proto::Tcp,
                },
                host_port: p.host,
            })
            .collect(),
        memory: spec.memory,
        nano_cpus: spec.cpus.map(|c| (c * 1e9) as u64),
        pids_limit: spec.pids.map(|p| p as i64),
        read_only: spec.read_only,
        tmpfs,
        binds: spec
            .mounts
            .iter()
            .map(|m| (m.host.display().to_string(), m.path.clone(), m.read_only))
            .collect(),
        volumes,
        network: network.map(str::to_string),
        network_aliases: if network.is_some() {
            vec![name.to_string()]
        } else {
            Vec::new()
        },
        cap_add: spec.cap_add.clone(),
        cap_drop: spec.cap_drop.clone(),
        no_new_privileges: spec.no_new_privileges,
        init: spec.init,
        ..ContainerSpec::default()
    };
    let engine = &ctx.engine;
    let infra = |e: super::docker::EngineError| SetupError {
        message: e.to_string(),
        output: Vec::new(),
        infrastructure: true,
    };
    ctx.made("container", &cname);
    let id = engine.create_container(&cspec).await.map_err(infra)?;
    for n in &spec.networks {
        let net = ctx
            .network(file, Some(n))
            .await
            .map_err(|message| SetupError {
                message,
                output: Vec::new(),
                infrastructure: true,
            })?;
        engine
            .connect_network(&net, &id, &[name.to_string()])
            .await
            .map_err(infra)?;
    }
    let before = Instant::now();
    if let Err(e) = engine.start_container(&id).await {
        return Err(SetupError {
            message: format!("the container did not start: {e}"),
            output: log_tail(engine, &id, 20).await,
            infrastructure: false,
        });
    }
    let after = Instant::now();
    let info = engine.inspect_container(&id).await.map_err(infra)?;
    let started = match info.started_at {
        Some(t) => Anchor::engine_time(t, before, after),
        None => Anchor {
            at: before,
            engine: SystemTime::now() - after.duration_since(before),
        },
    };
    let health = image
        .info
        .healthcheck
        .as_ref()
        .filter(|h| h.test.first().map(String::as_str) != Some("NONE"));
    Ok(Running {
        id,
        name: cname,
        started,
        anchor: std::sync::Mutex::new(started),
        has_health: health.is_some(),
        ready_limit: ready_limit(spec.timeout, health),
        ready: OnceCell::new(),
        startup: std::sync::Mutex::new(None),
        stopped: Mutex::new(None),
    })
}

/// Waits (once; later calls get the same answer) until the container is ready: healthy when
/// it has a health check (or unhealthy: expectations report that), else running. Exiting
/// before that, or not deciding within its limit, is a setup failure.
pub async fn ready(engine: &Arc<dyn DockerApi>, c: &Running) -> Result<(), SetupError> {
    c.ready
        .get_or_init(|| async {
            let infra = |e: super::docker::EngineError| SetupError {
                message: e.to_string(),
                output: Vec::new(),
                infrastructure: true,
            };
            let (limit, why) = &c.ready_limit;
            let deadline = c.started.at + *limit;
            if !c.has_health {
                let info = engine.inspect_container(&c.id).await.map_err(infra)?;
                if !info.running {
                    return Err(exited_early(engine, &c.id, info.exit_code).await);
                }
                *c.startup.lock().expect("startup lock") = Some(c.started.at.elapsed().min(*limit));
                return Ok(());
            }
            match engine.wait_health_event(&c.id, deadline).await {
                Ok(HealthOutcome::Healthy) => {
                    // From the engine's own times: the moment it turned healthy.
                    let took = match engine.first_healthy_since(&c.id, c.started.engine).await {
                        Ok(Some(t)) => t.duration_since(c.started.engine).unwrap_or_default(),
                        _ => c.started.at.elapsed(),
                    };
                    *c.startup.lock().expect("startup lock") = Some(took);
                    Ok(())
                }
                Ok(HealthOutcome::NotRunning { exit_code }) => {
                    Err(exited_early(engine, &c.id, exit_code).await)
                }
                Ok(_) => Ok(()),
                Err(super::docker::EngineError::Timeout { .. }) => Err(SetupError {
                    message: format!(
                        "not healthy after {} (the limit from {why})",
                        format_duration(*limit)
                    ),
                    output: evidence(engine, &c.id).await,
                    infrastructure: false,
                }),
                Err(e) => Err(infra(e)),
            }
        })
        .await
        .clone()
}

/// `uid`/`gid` of a numeric user spec, for tmpfs ownership.
fn owner_of(user: &str) -> Option<(u32, u32)> {
    let (u, g) = user.split_once(':').unwrap_or((user, user));
    Some((u.parse().ok()?, g.parse().ok()?))
}

async fn exited_early(engine: &Arc<dyn DockerApi>, id: &str, code: i64) -> SetupError {
    SetupError {
        message: format!("the container exited with code {code} before it was ready"),
        output: log_tail(engine, id, 20).await,
        infrastructure: false,
    }
}

/// The last `n` log lines, for evidence.
pub async fn log_tail(engine: &Arc<dyn DockerApi>, id: &str, n: usize) -> Vec<String> {
    match engine.logs(id, Some(n)).await {
        Ok(lines) => lines.into_iter().map(|l| l.text).collect(),
        Err(e) => vec![format!("(logs unavailable: {e})")],
    }
}

/// Log tail and health log of a container: attached to runtime failures.
pub async fn evidence(engine: &Arc<dyn DockerApi>, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let logs = log_tail(engine, id, 10).await;
    if !logs.is_empty() {
        out.push(format!("last log lines:\n{}", logs.join("\n")));
    }
    if let Ok(info) = engine.inspect_container(id).await {
        if let Some(h) = info.health {
            let probes: Vec<String> = h
                .log
                .iter()
                .rev()
                .take(3)
                .map(|p| format!("exit {}: {}", p.exit_code, p.output.trim()))
                .collect();
            if !probes.is_empty() {
                out.push(format!(
                    "health log (last probes, newest first):\n{}",
                    probes.join("\n")
                ));
            }
        }
        if !info.running {
            out.push(format!(
                "the container is {} (exit code {})",
                info.status, info.exit_code
            ));
        }
    }
    out
}

fn health_word(s: Option<HealthStatus>) -> &'static str {
    match s {
        None => "none",
        Some(HealthStatus::Starting) => "starting",
        Some(HealthStatus::Healthy) => "healthy",
        Some(HealthStatus::Unhealthy) => "unhealthy",
        Some(HealthStatus::Other) => "unknown",
    }
}

fn port_arg(args: &[Val]) -> u16 {
    match args.first() {
        Some(Val::Int(n)) => *n as u16,
        _ => 0,
    }
}

/// The host port published for a container port, or the first published.
async fn host_port(ctx: &Ctx, c: &Running, port: Option<u16>) -> Result<u16, ObsError> {
    let info = ctx.engine.inspect_container(&c.id).await?;
    match port {
        Some(p) => info
            .host_ports
            .get(&format!("{p}/tcp"))
            .copied()
            .ok_or_else(|| {
                ObsError::Missing(format!("port {p} is not published: add `publish {p}`"))
            }),
        None => info
            .host_ports
            .values()
            .next()
            .copied()
            .ok_or_else(|| ObsError::Missing("no port is published: add `publish PORT`".into())),
    }
}

async fn http_observe(
    ctx: &Ctx,
    c: &Running,
    port: Option<u16>,
    method: &str,
    args: &[Val],
    rest: &[PathStep],
    until: Option<Instant>,
) -> Observed {
    let hp = host_port(ctx, c, port).await?;
    let path = arg_text(args, 0);
    let body = args.get(1).map(|_| arg_text(args, 1));
    let r = http::request(
        &ctx.engine.versions().probe_host,
        hp,
        method,
        &path,
        body.as_deref(),
        bounded(HTTP_TIMEOUT, until),
    )
    .await
    .map_err(ObsError::Missing)?;
    let (value, used) = match rest.first() {
        Some(PathStep::Field { name, args }) => match name.as_str() {
            "status" => (Actual::Int(i64::from(r.status)), 1),
            "body" => (Actual::Text(r.body.clone()), 1),
            "duration" => (Actual::Duration(r.duration), 1),
            "header" => {
                let h = arg_text(args, 0);
                match r.header(&h) {
                    Some(v) => (Actual::Text(v.to_string()), 1),
                    None => {
                        return Err(ObsError::Missing(format!(
                            "the response has no `{h}` header (status {})",
                            r.status
                        )));
                    }
                }
            }
            "json" => match serde_json::from_str::<serde_json::Value>(&r.body) {
                Ok(j) => (Actual::Json(j), 1),
                Err(e) => {
                    return Err(ObsError::Missing(format!(
                        "the body is not JSON ({e}); status {}",
                        r.status
                    )));
                }
            },
            other => return Err(ObsError::Missing(format!("a response has no `{other}`"))),
        },
        _ => return Err(ObsError::Missing("a response needs a property".into())),
    };
    tail(value, &rest[used..])
}

/// Answers a container property or performs an action. `until` is the deadline of the
/// `within`/`for` sampling it, if any: a process or a request never outlives it.
pub async fn observe(
    ctx: &Ctx,
    c: &Running,
    steps: &[PathStep],
    until: Option<Instant>,
) -> Observed {
    let engine = &ctx.engine;
    let Some(PathStep::Field { name, args }) = steps.first() else {
        return Err(ObsError::Missing("empty path".into()));
    };
    let rest = &steps[1..];
    let value = match name.as_str() {
        "status" => Actual::Text(engine.inspect_container(&c.id).await?.status),
        "health" => Actual::Text(
            health_word(
                engine
                    .inspect_container(&c.id)
                    .await?
                    .health
                    .map(|h| h.status),
            )
            .to_string(),
        ),
        "exit_code" => {
            let info = engine.inspect_container(&c.id).await?;
            if info.running {
                return Err(ObsError::Missing("the container is still running".into()));
            }
            Actual::Int(info.exit_code)
        }
        "restarts" => Actual::Int(engine.inspect_container(&c.id).await?.restart_count),
        "oom_killed" => Actual::Bool(engine.inspect_container(&c.id).await?.oom_killed),
        "startup" => match *c.startup.lock().expect("startup lock") {
            Some(d) => Actual::Duration(d),
            None => {
                return Err(ObsError::Missing(
                    "the container never became healthy".into(),
                ));
            }
        },
        "memory" => {
            let s = engine.stats_once(&c.id, false).await?;
            match rest.first() {
                Some(PathStep::Field { name, .. }) if name == "peak" => {
                    return match s.memory_max_usage {
                        Some(p) => tail(Actual::Size(p), &rest[1..]),
                        None => Err(ObsError::Missing(
                            "the engine reports no peak memory (cgroup v2)".into(),
                        )),
                    };
                }
                _ => Actual::Size(s.memory_usage),
            }
        }
        "cpu" => match engine.stats_once(&c.id, true).await?.cpu_percent {
            Some(p) => Actual::Percent(p),
            None => return Err(ObsError::Missing("the engine gave no CPU sample".into())),
        },
        "pids" => match engine.stats_once(&c.id, false).await?.pids {
            Some(p) => Actual::Int(p as i64),
            None => return Err(ObsError::Missing("the engine gave no process count".into())),
        },
        "logs" => {
            let lines = engine.logs(&c.id, None).await?;
            let mut text = String::new();
            for l in lines {
                text.push_str(&l.text);
                text.push('\n');
            }
            Actual::Text(ctx.redact(&text))
        }
        "exec" => {
            let argv = argv_of(args.first()).unwrap_or_default();
            let limit = match args.get(1) {
                Some(Val::Duration { ms, .. }) => Duration::from_millis(*ms),
                _ => EXEC_LIMIT,
            };
            let started = Instant::now();
            let out = exec_bounded(ctx, c, &argv, bounded(limit, until)).await?;
            let duration = started.elapsed();
            return match rest.first() {
                Some(PathStep::Field { name, .. }) => {
                    let v = match name.as_str() {
                        "exit_code" => Actual::Int(out.exit_code),
                        "stdout" => Actual::Text(ctx.redact(&process_text(&out.stdout))),
                        "stderr" => Actual::Text(ctx.redact(&process_text(&out.stderr))),
                        "duration" => Actual::Duration(duration),
                        other => {
                            return Err(ObsError::Missing(format!("an exec has no `{other}`")));
                        }
                    };
                    tail(v, &rest[1..])
                }
                // `do api.exec(...)`: it ran; a non-zero exit is reported.
                _ => Ok(Actual::Int(out.exit_code)),
            };
        }
        "get" => return http_observe(ctx, c, None, "GET", args, rest, until).await,
        "post" => return http_observe(ctx, c, None, "POST", args, rest, until).await,
        "port" => {
            let port = port_arg(args);
            return match rest.first() {
                Some(PathStep::Field { name, args }) if name == "open" => {
                    let info = engine.inspect_container(&c.id).await?;
                    // /proc/PID is the container's process only on the engine's own machine.
                    let in_namespace = if super::procfs::is_process_of(info.pid, &info.id) {
                        super::procfs::listening_in_namespace(info.pid, port)
                    } else {
                        None
                    };
                    match in_namespace {
                        Some(open) => tail(Actual::Bool(open), &rest[1..]),
                        None => {
                            let _ = args;
                            // Remote engine: no /proc; the published port is the best evidence.
                            let hp = host_port(ctx, c, Some(port)).await?;
                            let open = http::request(
                                &ctx.engine.versions().probe_host,
                                hp,
                                "GET",
                                "/",
                                None,
                                Duration::from_secs(2),
                            )
                            .await
                            .is_ok();
                            tail(Actual::Bool(open), &rest[1..])
                        }
                    }
                }
                Some(PathStep::Field { name, args }) if name == "get" || name == "post" => {
                    let method = if name == "get" { "GET" } else { "POST" };
                    http_observe(ctx, c, Some(port), method, args, &rest[1..], until).await
                }
                _ => Err(ObsError::Missing(
                    "a port needs `.open`, `.get(PATH)` or `.post(PATH)`".into(),
                )),
            };
        }
        "url" => Actual::Text(url(ctx, host_port(ctx, c, Some(port_arg(args))).await?)),
        "stop" => {
            let timeout = match args.first() {
                Some(Val::Duration { ms, .. }) => Duration::from_millis(*ms),
                _ => Duration::from_secs(10),
            };
            let started = Instant::now();
            engine.stop(&c.id, timeout).await?;
            let duration = started.elapsed();
            let code = engine.inspect_container(&c.id).await?.exit_code;
            *c.stopped.lock().await = Some((code, duration));
            return match rest.first() {
                Some(PathStep::Field { name, .. }) if name == "exit_code" => {
                    tail(Actual::Int(code), &rest[1..])
                }
                Some(PathStep::Field { name, .. }) if name == "duration" => {
                    tail(Actual::Duration(duration), &rest[1..])
                }
                _ => Ok(Actual::Int(code)),
            };
        }
        "kill" => {
            let signal = match args.first() {
                Some(v) => arg_text(std::slice::from_ref(v), 0),
                None => "SIGKILL".to_string(),
            };
            engine
                .kill(&c.id, &signal)
                .await
                .map_err(|e| ObsError::Missing(format!("kill failed: {e}")))?;
            return Ok(Actual::Bool(true));
        }
        "restart" => {
            engine.restart(&c.id, Duration::from_secs(10)).await?;
            return Ok(Actual::Bool(true));
        }
        "file" => {
            let field = match rest.first() {
                Some(PathStep::Field { name, .. }) => name.as_str(),
                _ => return Err(ObsError::Missing("a file needs a property".into())),
            };
            return tail(
                super::livefs::file(ctx, &c.id, &arg_text(args, 0), field).await?,
                &rest[1..],
            );
        }
        "files" => super::livefs::files(ctx, &c.id, &arg_text(args, 0)).await?,
        other => {
            return Err(ObsError::Missing(format!(
                "unknown container property `{other}`"
            )));
        }
    };
    tail(value, rest)
}

/// `http://HOST:PORT` of a published port, as reached from this machine.
fn url(ctx: &Ctx, host_port: u16) -> String {
    let host = &ctx.engine.versions().probe_host;
    format!("http://{}", http::authority(host, host_port))
}

/// Text of a value for the host side (`api.url(8000)` → the published URL).
pub async fn host_env_value(
    ctx: &Ctx,
    v: &Val,
    lookup: &(dyn Fn(&str) -> Option<Arc<Running>> + Sync),
) -> Result<String, String> {
    match v {
        Val::Text(t) => {
            let s = resolve_text(t)?;
            if t.is_secret() {
                ctx.add_secret(&s);
            }
            Ok(s)
        }
        Val::Url { subject, port } => {
            let c = lookup(subject).ok_or_else(|| format!("`{subject}` is not running"))?;
            match host_port(ctx, &c, Some(*port)).await {
                Ok(p) => Ok(url(ctx, p)),
                Err(ObsError::Missing(m) | ObsError::Engine(m)) => Err(m),
            }
        }
        other => Ok(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_limit_follows_the_healthcheck() {
        let s = Duration::from_secs;
        // Docker's defaults: 30 s interval, 30 s timeout, 3 retries, no start period.
        let (limit, why) = ready_limit(None, Some(&HealthcheckConfig::default()));
        assert_eq!(limit, s(30 * 4 + 30));
        assert!(why.contains("interval 30s × (retries 3 + 1)"), "{why}");
        let h = HealthcheckConfig {
            interval: Some(s(1)),
            timeout: Some(s(1)),
            retries: Some(3),
            start_period: Some(s(10)),
            ..HealthcheckConfig::default()
        };
        assert_eq!(ready_limit(None, Some(&h)).0, s(10 + 4 + 1));
        // The `timeout` setting wins; no health check: a minute to be running.
        assert_eq!(ready_limit(Some(s(7)), Some(&h)).0, s(7));
        assert_eq!(ready_limit(None, None).0, s(60));
    }
}
