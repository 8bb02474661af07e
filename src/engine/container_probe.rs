//! A running container's properties and actions: the container owner's part of the
//! catalogue, dispatched on its typed keys (every `ContainerProp` has its arm here).

use std::time::{Duration, Instant};

use super::Ctx;
use super::actual::{Actual, format_duration};
use super::container::{Anchor, Running};
use super::docker::{ExecOutput, HealthStatus};
use super::http;
use super::livefs;
use super::observe::{ObsError, Observed, arg_text, first, process_text, tail};
use super::settings;
use crate::compile::property::{
    ContainerProp as C, ExecProp, Key, MemoryProp, PortProp, StopResultProp,
};
use crate::compile::value::Val;
use crate::compile::{PathStep, argv};

/// What one performance of an action call gave: the consecutive expectations spelling the
/// same call read it instead of performing it again.
#[derive(Clone, Debug)]
pub enum Performance {
    Stop {
        code: i64,
        duration: Duration,
    },
    Exec {
        out: ExecOutput,
        duration: Duration,
    },
    /// `restart()`, `kill()`: done.
    Done,
}

/// The slot of one shared performance.
pub type Memo = std::sync::Arc<tokio::sync::Mutex<Option<Performance>>>;

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
pub(super) async fn host_port(ctx: &Ctx, c: &Running, port: Option<u16>) -> Result<u16, ObsError> {
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

/// `http://HOST:PORT` of a published port, as reached from this machine.
pub(super) fn url(ctx: &Ctx, host_port: u16) -> String {
    let host = &ctx.engine.versions().probe_host;
    format!("http://{}", http::authority(host, host_port))
}

/// An HTTP request to a published port (`method` empty: `request(METHOD, PATH)`), then the
/// response property `rest` names.
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
    let mut req =
        super::http_probe::inline_request(method, &ctx.engine.versions().probe_host, hp, args);
    req.timeout = bounded(http::DEFAULT_TIMEOUT, until);
    let r = http::send(&req).await.map_err(ObsError::Missing)?;
    super::http_probe::remember(&r);
    super::http_probe::observe(ctx, &r, rest)
}

/// An exec's result property.
fn exec_field(ctx: &Ctx, out: &ExecOutput, duration: Duration, prop: ExecProp) -> Actual {
    match prop {
        ExecProp::ExitCode => Actual::Int(out.exit_code),
        ExecProp::Stdout => Actual::Text(ctx.redact(&process_text(&out.stdout))),
        ExecProp::Stderr => Actual::Text(ctx.redact(&process_text(&out.stderr))),
        ExecProp::Duration => Actual::Duration(duration),
    }
}

/// Answers a container property or performs an action. `until` is the deadline of the
/// `within`/`for` sampling it, if any: a process or a request never outlives it.
///
/// `memo`, for an action call that consecutive expectations share, holds its one
/// performance: the first to get there performs it, the others read it.
pub async fn observe(
    ctx: &Ctx,
    c: &Running,
    steps: &[PathStep],
    until: Option<Instant>,
    memo: Option<&Memo>,
) -> Observed {
    // Held for the whole observation: a sharer waits for the performance.
    let mut slot = match memo {
        Some(m) => Some(m.lock().await),
        None => None,
    };
    let engine = &ctx.engine;
    let Some((Key::Container(prop), args, rest)) = first(steps) else {
        return Err(ObsError::Missing("not a container property".into()));
    };
    let value = match prop {
        C::Status => Actual::Text(engine.inspect_container(&c.id).await?.status),
        C::Health => Actual::Text(
            health_word(
                engine
                    .inspect_container(&c.id)
                    .await?
                    .health
                    .map(|h| h.status),
            )
            .to_string(),
        ),
        C::ExitCode => {
            let info = engine.inspect_container(&c.id).await?;
            if info.running {
                return Err(ObsError::Missing("the container is still running".into()));
            }
            Actual::Int(info.exit_code)
        }
        C::Restarts => Actual::Int(engine.inspect_container(&c.id).await?.restart_count),
        C::OomKilled => Actual::Bool(engine.inspect_container(&c.id).await?.oom_killed),
        C::Startup => match *c.startup.lock().expect("startup lock") {
            Some(d) => Actual::Duration(d),
            None => {
                return Err(ObsError::Missing(
                    "the container never became healthy".into(),
                ));
            }
        },
        C::Memory => {
            let s = engine.stats_once(&c.id, false).await?;
            return match first(rest) {
                Some((Key::Memory(MemoryProp::Peak), _, after)) => match s.memory_max_usage {
                    Some(p) => tail(Actual::Size(p), after),
                    None => Err(ObsError::Missing(
                        "the engine reports no peak memory (cgroup v2)".into(),
                    )),
                },
                _ => tail(Actual::Size(s.memory_usage), rest),
            };
        }
        C::Cpu => match engine.stats_once(&c.id, true).await?.cpu_percent {
            Some(p) => Actual::Percent(p),
            None => return Err(ObsError::Missing("the engine gave no CPU sample".into())),
        },
        C::Pids => match engine.stats_once(&c.id, false).await?.pids {
            Some(p) => Actual::Int(p as i64),
            None => return Err(ObsError::Missing("the engine gave no process count".into())),
        },
        C::Logs => {
            let lines = engine.logs(&c.id, None).await?;
            let mut text = String::new();
            for l in lines {
                text.push_str(&l.text);
                text.push('\n');
            }
            Actual::Text(ctx.redact(&text))
        }
        C::Exec => {
            let argv = args.first().and_then(argv::of).unwrap_or_default();
            let limit = match args.get(1) {
                Some(Val::Duration { ms, .. }) => Duration::from_millis(*ms),
                _ => EXEC_LIMIT,
            };
            let (out, duration) = match slot.as_deref() {
                Some(Some(Performance::Exec { out, duration })) => (out.clone(), *duration),
                _ => {
                    let started = Instant::now();
                    let out = exec_bounded(ctx, c, &argv, bounded(limit, until)).await?;
                    let duration = started.elapsed();
                    if let Some(s) = slot.as_deref_mut() {
                        *s = Some(Performance::Exec {
                            out: out.clone(),
                            duration,
                        });
                    }
                    (out, duration)
                }
            };
            return match first(rest) {
                Some((Key::Exec(p), _, after)) => tail(exec_field(ctx, &out, duration, p), after),
                // `do api.exec(...)`: it ran; a non-zero exit is reported.
                _ => Ok(Actual::Int(out.exit_code)),
            };
        }
        C::Get | C::Post | C::Put | C::Patch | C::Delete | C::Head | C::Options | C::Request => {
            let method = match prop {
                C::Get => "GET",
                C::Post => "POST",
                C::Put => "PUT",
                C::Patch => "PATCH",
                C::Delete => "DELETE",
                C::Head => "HEAD",
                C::Options => "OPTIONS",
                _ => "",
            };
            return http_observe(ctx, c, None, method, args, rest, until).await;
        }
        C::Port => {
            let port = port_arg(args);
            let Some((Key::Port(p), port_args, after)) = first(rest) else {
                return Err(ObsError::Missing(
                    "a port needs `.open`, `.get(PATH)` or `.post(PATH)`".into(),
                ));
            };
            return match p {
                PortProp::Open => tail(Actual::Bool(port_open(ctx, c, port).await?), after),
                PortProp::Get
                | PortProp::Post
                | PortProp::Put
                | PortProp::Patch
                | PortProp::Delete
                | PortProp::Head
                | PortProp::Options
                | PortProp::Request => {
                    let method = match p {
                        PortProp::Get => "GET",
                        PortProp::Post => "POST",
                        PortProp::Put => "PUT",
                        PortProp::Patch => "PATCH",
                        PortProp::Delete => "DELETE",
                        PortProp::Head => "HEAD",
                        PortProp::Options => "OPTIONS",
                        _ => "",
                    };
                    http_observe(ctx, c, Some(port), method, port_args, after, until).await
                }
            };
        }
        C::Url => Actual::Text(url(ctx, host_port(ctx, c, Some(port_arg(args))).await?)),
        C::Stop => {
            let timeout = match args.first() {
                Some(Val::Duration { ms, .. }) => Duration::from_millis(*ms),
                _ => Duration::from_secs(10),
            };
            let (code, duration) = match slot.as_deref() {
                Some(Some(Performance::Stop { code, duration })) => (*code, *duration),
                _ => {
                    let started = Instant::now();
                    engine.stop(&c.id, timeout).await?;
                    let duration = started.elapsed();
                    let code = engine.inspect_container(&c.id).await?.exit_code;
                    if let Some(s) = slot.as_deref_mut() {
                        *s = Some(Performance::Stop { code, duration });
                    }
                    (code, duration)
                }
            };
            return match first(rest) {
                Some((Key::StopResult(StopResultProp::ExitCode), _, after)) => {
                    tail(Actual::Int(code), after)
                }
                Some((Key::StopResult(StopResultProp::Duration), _, after)) => {
                    tail(Actual::Duration(duration), after)
                }
                _ => Ok(Actual::Int(code)),
            };
        }
        C::Kill => {
            let signal = match args.first() {
                Some(v) => arg_text(std::slice::from_ref(v), 0),
                None => "SIGKILL".to_string(),
            };
            if !matches!(slot.as_deref(), Some(Some(Performance::Done))) {
                engine
                    .kill(&c.id, &signal)
                    .await
                    .map_err(|e| ObsError::Missing(format!("kill failed: {e}")))?;
                if let Some(s) = slot.as_deref_mut() {
                    *s = Some(Performance::Done);
                }
            }
            return Ok(Actual::Bool(true));
        }
        C::Restart => {
            if !matches!(slot.as_deref(), Some(Some(Performance::Done))) {
                engine.restart(&c.id, Duration::from_secs(10)).await?;
                if let Some(s) = slot.as_deref_mut() {
                    *s = Some(Performance::Done);
                }
            }
            return Ok(Actual::Bool(true));
        }
        C::File => {
            let Some((Key::File(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("a file needs a property".into()));
            };
            return tail(
                livefs::file(ctx, &c.id, &arg_text(args, 0), field).await?,
                after,
            );
        }
        C::Files => livefs::files(ctx, &c.id, &arg_text(args, 0)).await?,
        C::Limits
        | C::ReadOnly
        | C::Privileged
        | C::NoNewPrivileges
        | C::Init
        | C::User
        | C::CapAdd
        | C::CapDrop
        | C::SecurityOpt
        | C::Tmpfs
        | C::Mounts
        | C::Mount
        | C::Networks
        | C::Env
        | C::Labels
        | C::RestartPolicy
        | C::Image => {
            let info = engine.inspect_container(&c.id).await?;
            return settings::observe(&info, prop, args, rest);
        }
    };
    tail(value, rest)
}

/// Whether a process in the container accepts connections on `port`: read from the
/// container's network namespace when the engine runs on this machine, else by a request to
/// the published port.
async fn port_open(ctx: &Ctx, c: &Running, port: u16) -> Result<bool, ObsError> {
    let info = ctx.engine.inspect_container(&c.id).await?;
    // /proc/PID is the container's process only on the engine's own machine.
    if super::procfs::is_process_of(info.pid, &info.id)
        && let Some(open) = super::procfs::listening_in_namespace(info.pid, port)
    {
        return Ok(open);
    }
    // Remote engine: no /proc; the published port is the best evidence.
    let hp = host_port(ctx, c, Some(port)).await?;
    let mut req = http::Request::new("GET", &ctx.engine.versions().probe_host, hp, "/");
    req.timeout = Duration::from_secs(2);
    Ok(http::send(&req).await.is_ok())
}

/// Where `within` clocks start after an action on a container: its new start for
/// `restart()`, else the end of the action.
pub async fn after_action(ctx: &Ctx, id: &str, restarted: bool) -> Anchor {
    let now = Anchor::now();
    if restarted
        && let Ok(info) = ctx.engine.inspect_container(id).await
        && let Some(t) = info.started_at
    {
        return Anchor::engine_time(t, now.at - Duration::from_secs(60), now.at);
    }
    now
}
