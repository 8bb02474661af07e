//! Containers: start one from a `run` subject, observe it, act on it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::OnceCell;

use super::Ctx;
use super::actual::{format_duration, resolve_text};
use super::docker::{
    ContainerSpec, DockerApi, HealthOutcome, HealthOverride, HealthcheckConfig, PortSpec, Proto,
};
use super::failure::SetupError;
use super::image::ImageFacts;
use super::scheduler::{Output, Run, State};
use crate::compile::value::Val;
use crate::compile::{RunSpec, SubjectSpec};
use crate::plan::StepId;
use crate::report::event::Activity;

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

/// The other images of the file, by subject name (`env IMAGE = prod.ref`).
pub type Images<'a> = dyn Fn(&str) -> Option<Arc<ImageFacts>> + Sync + 'a;

/// `prod.ref` or `prod.id` as a setting's value.
pub fn image_value(v: &Val, images: &Images<'_>) -> Option<Result<String, String>> {
    let Val::ImageRef { subject, id } = v else {
        return None;
    };
    Some(match images(subject) {
        Some(f) if *id => Ok(f.info.id.clone()),
        Some(f) => Ok(f.reference.clone()),
        None => Err(format!("the image `{subject}` is not available")),
    })
}

fn env_value(ctx: &Ctx, v: &Val, images: &Images<'_>) -> Result<String, String> {
    if let Some(r) = image_value(v, images) {
        return r;
    }
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

/// The networks a container joins besides the engine's default.
pub struct Networks<'a> {
    /// The file's run network (it is known there by its subject name).
    pub run: Option<&'a str>,
    /// Stacks' networks, by their engine names.
    pub stacks: &'a [String],
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
    images: &Images<'_>,
    networks: Networks<'_>,
) -> Result<Running, SetupError> {
    let Networks {
        run: network,
        stacks: stack_networks,
    } = networks;
    let cspec = container_spec(ctx, file, name, spec, image, images, network)?;
    let cname = cspec.name.clone().unwrap_or_default();
    let engine = &ctx.engine;
    ctx.made("container", &cname);
    let id = engine.create_container(&cspec).await?;
    join_networks(ctx, file, name, &id, &spec.networks, stack_networks).await?;
    let before = Instant::now();
    if let Err(e) = engine.start_container(&id).await {
        return Err(
            SetupError::subject(format!("the container did not start: {e}"))
                .with_output(log_tail(engine, &id, 20).await),
        );
    }
    let after = Instant::now();
    let info = engine.inspect_container(&id).await?;
    let started = match info.started_at {
        Some(t) => Anchor::engine_time(t, before, after),
        None => Anchor {
            at: before,
            engine: SystemTime::now() - after.duration_since(before),
        },
    };
    let health = cspec.health.apply(image.info.healthcheck.as_ref());
    let health = health.as_ref();
    Ok(Running {
        id,
        name: cname,
        started,
        anchor: std::sync::Mutex::new(started),
        has_health: health.is_some(),
        ready_limit: ready_limit(spec.timeout, health),
        ready: OnceCell::new(),
        startup: std::sync::Mutex::new(None),
    })
}

/// Connects a created container to the networks its `network` settings name (dspec creates
/// them) and to stacks' networks (by their engine names), reachable there by its subject's
/// name.
pub async fn join_networks(
    ctx: &Ctx,
    file: usize,
    name: &str,
    id: &str,
    networks: &[String],
    stack_networks: &[String],
) -> Result<(), SetupError> {
    for n in networks {
        let net = ctx
            .network(file, Some(n))
            .await
            .map_err(SetupError::infrastructure)?;
        ctx.engine
            .connect_network(&net, id, &[name.to_string()])
            .await?;
    }
    for net in stack_networks {
        ctx.engine
            .connect_network(net, id, &[name.to_string()])
            .await
            .map_err(|e| SetupError::subject(format!("cannot join the network `{net}`: {e}")))?;
    }
    Ok(())
}

/// What a container's or a task's setup needs before it creates the container: its image,
/// the file's run network (when there is one) and the engine names of the stacks' networks
/// it joins.
pub async fn before_create(
    run: &Run,
    subject: &crate::plan::SubjectRef,
    spec: &RunSpec,
    image_step: StepId,
) -> Result<(Arc<ImageFacts>, Option<String>, Vec<String>), SetupError> {
    let facts = run
        .image(image_step)
        .ok_or_else(|| SetupError::infrastructure("its image is not available"))?;
    let network = file_network(run, subject.file).await?;
    Ok((facts, network, stack_networks(run, subject.file, spec)?))
}

/// The engine names of the stacks' networks a `run` subject's `network` settings name
/// (`network app`), once those stacks are up.
fn stack_networks(run: &Run, file: usize, spec: &RunSpec) -> Result<Vec<String>, SetupError> {
    let mut out = Vec::new();
    for (stack, net) in &spec.stack_networks {
        let name = match run.stack_named(file, stack) {
            Some(s) if matches!(s.up, Some(Ok(()))) => s.network_name(net.as_deref()),
            _ => Err(format!("the stack `{stack}` is not up")),
        };
        out.push(name.map_err(SetupError::subject)?);
    }
    Ok(out)
}

/// What the engine is asked to create for a `run` subject's container (or a task's): its
/// environment, mounts, limits and labels, named after the subject, on `network` if any.
pub fn container_spec(
    ctx: &Ctx,
    file: usize,
    name: &str,
    spec: &RunSpec,
    image: &ImageFacts,
    images: &Images<'_>,
    network: Option<&str>,
) -> Result<ContainerSpec, SetupError> {
    let spec_err = SetupError::subject;
    let mut env = Vec::new();
    for f in &spec.env_files {
        env.extend(read_env_file(f).map_err(spec_err)?);
    }
    for (k, v) in &spec.env {
        env.push((k.clone(), env_value(ctx, v, images).map_err(spec_err)?));
    }
    for m in &spec.mounts {
        if !m.host.exists() {
            return Err(SetupError::subject(format!(
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
        health: health_override(spec),
        extra_hosts: spec.extra_hosts.clone(),
        ..ContainerSpec::default()
    };
    Ok(cspec)
}

/// Waits (once; later calls get the same answer) until the container is ready: healthy when
/// it has a health check (or unhealthy: expectations report that), else running. Exiting
/// before that, or not deciding within its limit, is a setup failure.
pub async fn ready(engine: &Arc<dyn DockerApi>, c: &Running) -> Result<(), SetupError> {
    c.ready
        .get_or_init(|| async {
            let (limit, why) = &c.ready_limit;
            let deadline = c.started.at + *limit;
            if !c.has_health {
                let info = engine.inspect_container(&c.id).await?;
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
                Err(super::docker::EngineError::Timeout { .. }) => {
                    Err(SetupError::subject(format!(
                        "not healthy after {} (the limit from {why})",
                        format_duration(*limit)
                    ))
                    .with_output(evidence(engine, &c.id).await))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
        .clone()
}

/// A `Run` step: creates and starts the container (on the file's network when the file
/// has several containers).
pub(super) async fn setup(run: &Run, id: StepId, image_step: StepId) -> State {
    let subject = &run.plan.steps[id].subjects[0];
    let Some(SubjectSpec::Run(spec)) = run.program.files[subject.file]
        .subject(&subject.name)
        .map(|s| &s.spec)
    else {
        return State::Done;
    };
    let (facts, network, stack_networks) = match before_create(run, subject, spec, image_step).await
    {
        Ok(p) => p,
        Err(e) => return run.failed(subject, e),
    };
    run.progress(
        subject,
        Activity::Working {
            text: "starting".into(),
        },
    );
    let started = Instant::now();
    let images = |name: &str| run.image_named(subject.file, name);
    match start(
        &run.ctx,
        subject.file,
        &subject.name,
        spec,
        &facts,
        &images,
        Networks {
            run: network.as_deref(),
            stacks: &stack_networks,
        },
    )
    .await
    {
        Ok(running) => {
            run.keep(id, Output::Container(Arc::new(running)));
            run.ready(subject, "started", started.elapsed());
            State::Done
        }
        Err(e) => run.failed(subject, e),
    }
}

/// The run network of a file: it lets its containers and tasks reach each other by name; a
/// lone one does without it (one network less to create and remove).
pub(super) async fn file_network(run: &Run, file: usize) -> Result<Option<String>, SetupError> {
    let containers = run.program.files[file]
        .subjects
        .iter()
        .filter(|s| s.used && matches!(s.spec, SubjectSpec::Run(_) | SubjectSpec::Task(_)))
        .count();
    if containers < 2 {
        return Ok(None);
    }
    run.ctx
        .network(file, None)
        .await
        .map(Some)
        .map_err(SetupError::infrastructure)
}

/// A `Ready` step: waits until the container is healthy (or running).
pub(super) async fn setup_ready(run: &Run, run_step: StepId) -> State {
    let subject = &run.plan.steps[run_step].subjects[0];
    let Some(c) = run.container(run_step) else {
        return run.failed(
            subject,
            SetupError::infrastructure("the container was not started"),
        );
    };
    run.progress(
        subject,
        Activity::Working {
            text: if c.has_health {
                "waiting until healthy"
            } else {
                "waiting until running"
            }
            .into(),
        },
    );
    match ready(&run.ctx.engine, &c).await {
        Ok(()) => {
            run.ready(subject, "ready", c.started.at.elapsed());
            State::Done
        }
        Err(e) => run.failed(subject, e),
    }
}

/// What the `no_healthcheck` and `health_*` settings change of the image's health check.
fn health_override(spec: &RunSpec) -> HealthOverride {
    HealthOverride {
        disable: spec.no_healthcheck,
        interval: spec.health_interval,
        timeout: spec.health_timeout,
        retries: spec
            .health_retries
            .map(|n| n.min(u64::from(u32::MAX)) as u32),
        start_period: spec.health_start_period,
    }
}

/// `uid`/`gid` of a numeric user spec, for tmpfs ownership.
fn owner_of(user: &str) -> Option<(u32, u32)> {
    let (u, g) = user.split_once(':').unwrap_or((user, user));
    Some((u.parse().ok()?, g.parse().ok()?))
}

async fn exited_early(engine: &Arc<dyn DockerApi>, id: &str, code: i64) -> SetupError {
    SetupError::subject(format!(
        "the container exited with code {code} before it was ready"
    ))
    .with_output(log_tail(engine, id, 20).await)
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

/// Text of a value for the host side (`api.url(8000)` → the published URL).
pub async fn host_env_value(
    ctx: &Ctx,
    v: &Val,
    lookup: &(dyn Fn(&str) -> Option<Arc<Running>> + Sync),
    images: &Images<'_>,
) -> Result<String, String> {
    if let Some(r) = image_value(v, images) {
        return r;
    }
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
            match super::container_probe::host_port(ctx, &c, Some(*port)).await {
                Ok(p) => Ok(super::container_probe::url(ctx, p)),
                Err(e) => Err(e.to_string()),
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
