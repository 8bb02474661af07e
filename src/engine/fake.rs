//! An engine in memory, for testing the scheduler without Docker: images "build" at once (or
//! fail, or take a while), containers start (a one-off run, unnamed or with a command of its
//! own, runs to completion at once), turn healthy after a chosen delay, answer execs
//! with a chosen function, restart and stop; every call is logged in order, and everything
//! made carries its labels so that cleanup by label can be checked. The real engine is
//! tested for real elsewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::docker::{
    BuildContext, BuildOptions, BuildOutput, BuildProgress, ContainerInfo, ContainerSpec,
    DockerApi, EngineError, EngineFuture, ExecOutput, HealthInfo, HealthOutcome, HealthStatus,
    HealthcheckConfig, ImageInfo, ImageTarReader, LogLine, LogStream, Resources, Stats, Versions,
};

/// Answers an exec: `argv` → output, and how long the process takes.
pub type ExecFn = dyn Fn(&[String]) -> (ExecOutput, Duration) + Send + Sync;

/// How the fake behaves.
pub struct Script {
    /// Builds whose tag contains one of these fail with this message.
    pub failing_builds: Vec<(String, String)>,
    /// How long a build takes.
    pub build_time: Duration,
    /// How long a container with a health check takes to turn healthy (`None`: never).
    pub healthy_after: Option<Duration>,
    /// The health check of every built image (`None`: no HEALTHCHECK).
    pub healthcheck: Option<HealthcheckConfig>,
    /// Containers whose name contains one of these exit at once with code 1.
    pub crashing: Vec<String>,
    /// Answers execs.
    pub exec: Arc<ExecFn>,
    /// Once set, every call fails as an unreachable engine.
    pub lost: bool,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            failing_builds: Vec::new(),
            build_time: Duration::ZERO,
            healthy_after: Some(Duration::ZERO),
            healthcheck: None,
            crashing: Vec::new(),
            exec: Arc::new(|argv: &[String]| {
                (
                    ExecOutput {
                        exit_code: 0,
                        stdout: format!("{}\n", argv.join(" ")),
                        stderr: String::new(),
                    },
                    Duration::ZERO,
                )
            }),
            lost: false,
        }
    }
}

#[derive(Clone)]
struct Container {
    spec: ContainerSpec,
    /// Created without a name or with a command of its own: a one-off run.
    one_off: bool,
    running: bool,
    exit_code: i64,
    started: Option<(Instant, SystemTime)>,
    restarts: i64,
    networks: BTreeSet<String>,
    logs: Vec<String>,
}

#[derive(Default)]
struct State {
    images: BTreeMap<String, ImageInfo>,
    tags: BTreeMap<String, String>,
    containers: BTreeMap<String, Container>,
    networks: BTreeMap<String, BTreeMap<String, String>>,
    volumes: BTreeMap<String, BTreeMap<String, String>>,
    next: u64,
    calls: Vec<String>,
}

/// The fake engine.
pub struct FakeEngine {
    versions: Versions,
    script: Mutex<Script>,
    state: Mutex<State>,
}

impl FakeEngine {
    pub fn new(script: Script) -> FakeEngine {
        FakeEngine {
            versions: Versions {
                host: "fake://".into(),
                probe_host: "127.0.0.1".into(),
                publish_ip: "127.0.0.1".into(),
                server_version: "fake".into(),
                api_version: "1.41".into(),
                os: "linux".into(),
                arch: "amd64".into(),
                ..Versions::default()
            },
            script: Mutex::new(script),
            state: Mutex::new(State::default()),
        }
    }

    /// Adds an image the engine already has (for `existing`).
    pub fn add_image(&self, reference: &str, info: ImageInfo) {
        let mut st = self.state.lock().expect("fake state");
        st.tags.insert(reference.to_string(), info.id.clone());
        st.images.insert(info.id.clone(), info);
    }

    /// Every call so far, in order: `create dspec-...-f0-api`, `exec whoami`, `restart ...`.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().expect("fake state").calls.clone()
    }

    /// Containers, networks and volumes that still exist.
    pub fn leftovers(&self) -> Vec<String> {
        let st = self.state.lock().expect("fake state");
        let mut out: Vec<String> = st
            .containers
            .values()
            .map(|c| format!("container {}", c.spec.name.clone().unwrap_or_default()))
            .collect();
        out.extend(st.networks.keys().map(|n| format!("network {n}")));
        out.extend(st.volumes.keys().map(|v| format!("volume {v}")));
        out
    }

    /// Makes the engine stop answering from now on.
    pub fn lose(&self) {
        self.script.lock().expect("fake script").lost = true;
    }

    fn log(&self, call: String) {
        self.state.lock().expect("fake state").calls.push(call);
    }

    fn check_reachable(&self) -> Result<(), EngineError> {
        if self.script.lock().expect("fake script").lost {
            return Err(EngineError::Unreachable {
                host: "fake://".into(),
                reason: "the fake engine was lost".into(),
            });
        }
        Ok(())
    }

    fn find(&self, id: &str) -> Result<String, EngineError> {
        let st = self.state.lock().expect("fake state");
        st.containers
            .iter()
            .find(|(k, c)| *k == id || c.spec.name.as_deref() == Some(id))
            .map(|(k, _)| k.clone())
            .ok_or_else(|| EngineError::ContainerNotFound { id: id.to_string() })
    }

    fn info(&self, id: &str) -> Result<ContainerInfo, EngineError> {
        let id = self.find(id)?;
        let st = self.state.lock().expect("fake state");
        let c = &st.containers[&id];
        let script = self.script.lock().expect("fake script");
        let image = st.images.get(&c.spec.image);
        let health = image.and_then(|i| i.healthcheck.as_ref()).map(|_| {
            let healthy = match (c.started, script.healthy_after) {
                (Some((at, _)), Some(after)) => at.elapsed() >= after,
                _ => false,
            };
            HealthInfo {
                status: if healthy {
                    HealthStatus::Healthy
                } else {
                    HealthStatus::Starting
                },
                ..HealthInfo::default()
            }
        });
        Ok(ContainerInfo {
            id: id.clone(),
            name: c.spec.name.clone().unwrap_or_default(),
            status: if c.running { "running" } else { "exited" }.into(),
            running: c.running,
            exit_code: c.exit_code,
            restart_count: c.restarts,
            health: if c.running { health } else { None },
            started_at: c.started.map(|(_, t)| t),
            labels: c.spec.labels.clone(),
            ..ContainerInfo::default()
        })
    }
}

fn ready<'a, T: Send + 'a>(r: Result<T, EngineError>) -> EngineFuture<'a, T> {
    Box::pin(async move { r })
}

impl DockerApi for FakeEngine {
    fn versions(&self) -> &Versions {
        &self.versions
    }

    fn ping<'a>(&'a self, _limit: Duration) -> EngineFuture<'a, ()> {
        ready(self.check_reachable())
    }

    fn build<'a>(
        &'a self,
        context: BuildContext,
        opts: BuildOptions,
        on_progress: &'a mut (dyn FnMut(BuildProgress) + Send),
    ) -> EngineFuture<'a, BuildOutput> {
        Box::pin(async move {
            self.check_reachable()?;
            let tag = opts.tag.clone().unwrap_or_default();
            self.log(format!("build {tag}"));
            // The context is written (and dropped), as the engine would read it.
            let mut sink = std::io::sink();
            context.write_to(&mut sink).map_err(EngineError::Io)?;
            let (time, failing, healthcheck) = {
                let s = self.script.lock().expect("fake script");
                (
                    s.build_time,
                    s.failing_builds
                        .iter()
                        .find(|(t, _)| tag.contains(t.as_str()))
                        .map(|(_, m)| m.clone()),
                    s.healthcheck.clone(),
                )
            };
            on_progress(BuildProgress::Step {
                number: 1,
                total: 1,
                instruction: "FROM scratch".into(),
            });
            tokio::time::sleep(time).await;
            if let Some(message) = failing {
                return Err(EngineError::BuildFailed {
                    message,
                    step: Some("Step 1/1 : FROM scratch".into()),
                    output_tail: vec!["the fake build failed".into()],
                });
            }
            let mut st = self.state.lock().expect("fake state");
            st.next += 1;
            let id = format!("sha256:{:064x}", st.next);
            st.images.insert(
                id.clone(),
                ImageInfo {
                    id: id.clone(),
                    tags: vec![tag.clone()],
                    size: 1_000_000,
                    layers: 1,
                    labels: opts.labels.clone(),
                    healthcheck,
                    os: "linux".into(),
                    arch: "amd64".into(),
                    ..ImageInfo::default()
                },
            );
            st.tags.insert(tag, id.clone());
            Ok(BuildOutput {
                image_id: id,
                stage_ids: Vec::new(),
                log: Vec::new(),
            })
        })
    }

    fn inspect_image<'a>(&'a self, reference: &'a str) -> EngineFuture<'a, Option<ImageInfo>> {
        let r = self.check_reachable().map(|()| {
            let st = self.state.lock().expect("fake state");
            let id = st
                .tags
                .get(reference)
                .cloned()
                .unwrap_or(reference.to_string());
            st.images.get(&id).cloned()
        });
        ready(r)
    }

    fn save_image<'a>(&'a self, reference: &'a str) -> EngineFuture<'a, ImageTarReader> {
        ready(Err(EngineError::ImageNotFound {
            reference: format!("{reference} (the fake engine keeps no layers)"),
        }))
    }

    fn tag_image<'a>(&'a self, id: &'a str, reference: &'a str) -> EngineFuture<'a, ()> {
        let mut st = self.state.lock().expect("fake state");
        st.tags.insert(reference.to_string(), id.to_string());
        ready(Ok(()))
    }

    fn remove_image<'a>(&'a self, id: &'a str, _noprune: bool) -> EngineFuture<'a, ()> {
        self.log(format!("remove image {id}"));
        let mut st = self.state.lock().expect("fake state");
        st.images.remove(id);
        ready(Ok(()))
    }

    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> EngineFuture<'a, String> {
        let r = self.check_reachable().and_then(|()| {
            let mut st = self.state.lock().expect("fake state");
            if !st.images.contains_key(&spec.image) && !st.tags.contains_key(&spec.image) {
                return Err(EngineError::ImageNotFound {
                    reference: spec.image.clone(),
                });
            }
            st.next += 1;
            let id = format!("{:064x}", st.next);
            let name = spec.name.clone().unwrap_or_else(|| id[..12].to_string());
            st.calls.push(format!("create {name}"));
            let mut networks = BTreeSet::new();
            networks.extend(spec.network.clone());
            st.containers.insert(
                id.clone(),
                Container {
                    one_off: spec.name.is_none() || spec.cmd.is_some(),
                    spec: ContainerSpec {
                        name: Some(name),
                        ..spec.clone()
                    },
                    running: false,
                    exit_code: 0,
                    started: None,
                    restarts: 0,
                    networks,
                    logs: vec!["started".into()],
                },
            );
            for (v, _) in &spec.volumes {
                st.volumes.insert(v.clone(), spec.labels.clone());
            }
            Ok(id)
        });
        ready(r)
    }

    fn start_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(id)?;
            let crashing = self.script.lock().expect("fake script").crashing.clone();
            let mut st = self.state.lock().expect("fake state");
            let c = st.containers.get_mut(&id).expect("found above");
            let name = c.spec.name.clone().unwrap_or_default();
            c.started = Some((Instant::now(), SystemTime::now()));
            if crashing.iter().any(|n| name.contains(n.as_str())) {
                c.running = false;
                c.exit_code = 1;
            } else if c.one_off {
                // A command of its own, or no name (a one-off run): it runs to completion
                // at once.
                c.logs
                    .push(c.spec.cmd.clone().unwrap_or_default().join(" "));
                c.running = false;
                c.exit_code = 0;
            } else {
                c.running = true;
            }
            st.calls.push(format!("start {name}"));
            Ok(())
        });
        ready(r)
    }

    fn start_with_stdin<'a>(&'a self, id: &'a str, input: &'a [u8]) -> EngineFuture<'a, ()> {
        Box::pin(async move {
            self.start_container(id).await?;
            let id = self.find(id)?;
            let mut st = self.state.lock().expect("fake state");
            let c = st.containers.get_mut(&id).expect("found above");
            // What it read, as a one-off run would echo it.
            c.logs.push(String::from_utf8_lossy(input).to_string());
            let name = c.spec.name.clone().unwrap_or_default();
            st.calls.push(format!("stdin {name}"));
            Ok(())
        })
    }

    fn inspect_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ContainerInfo> {
        ready(self.check_reachable().and_then(|()| self.info(id)))
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: &'a [String],
        _user: Option<&'a str>,
        limit: Duration,
    ) -> EngineFuture<'a, ExecOutput> {
        Box::pin(async move {
            self.check_reachable()?;
            let info = self.info(id)?;
            self.log(format!("exec {} {}", info.name, argv.join(" ")));
            if !info.running {
                return Err(EngineError::Api {
                    status: 409,
                    message: format!("container {id} is not running"),
                });
            }
            let f = self.script.lock().expect("fake script").exec.clone();
            let (out, takes) = f(argv);
            if takes > limit {
                tokio::time::sleep(limit).await;
                return Err(EngineError::ExecTimedOut {
                    after: limit,
                    pid: 0,
                    stdout: String::new(),
                    stderr: String::new(),
                });
            }
            tokio::time::sleep(takes).await;
            self.log(format!("done exec {} {}", info.name, argv.join(" ")));
            Ok(out)
        })
    }

    fn logs<'a>(&'a self, id: &'a str, tail: Option<usize>) -> EngineFuture<'a, Vec<LogLine>> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(id)?;
            let st = self.state.lock().expect("fake state");
            let lines = &st.containers[&id].logs;
            let skip = tail.map_or(0, |n| lines.len().saturating_sub(n));
            Ok(lines[skip..]
                .iter()
                .map(|l| LogLine {
                    stream: LogStream::Stdout,
                    timestamp: SystemTime::now(),
                    text: l.clone(),
                })
                .collect())
        });
        ready(r)
    }

    fn stats_once<'a>(&'a self, id: &'a str, with_cpu: bool) -> EngineFuture<'a, Stats> {
        let r = self
            .check_reachable()
            .and_then(|()| self.find(id))
            .map(|_| Stats {
                memory_usage: 10 << 20,
                memory_max_usage: Some(12 << 20),
                memory_limit: None,
                cpu_percent: with_cpu.then_some(1.5),
                pids: Some(3),
            });
        ready(r)
    }

    fn stop<'a>(&'a self, id: &'a str, _timeout: Duration) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(id)?;
            let mut st = self.state.lock().expect("fake state");
            let c = st.containers.get_mut(&id).expect("found above");
            c.running = false;
            c.exit_code = 0;
            let name = c.spec.name.clone().unwrap_or_default();
            st.calls.push(format!("stop {name}"));
            Ok(())
        });
        ready(r)
    }

    fn kill<'a>(&'a self, id: &'a str, signal: &'a str) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(id)?;
            let mut st = self.state.lock().expect("fake state");
            let c = st.containers.get_mut(&id).expect("found above");
            c.running = false;
            c.exit_code = 137;
            let name = c.spec.name.clone().unwrap_or_default();
            st.calls.push(format!("kill {name} {signal}"));
            Ok(())
        });
        ready(r)
    }

    fn restart<'a>(&'a self, id: &'a str, _timeout: Duration) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(id)?;
            let mut st = self.state.lock().expect("fake state");
            let c = st.containers.get_mut(&id).expect("found above");
            c.running = true;
            c.restarts += 1;
            c.started = Some((Instant::now(), SystemTime::now()));
            let name = c.spec.name.clone().unwrap_or_default();
            st.calls.push(format!("restart {name}"));
            Ok(())
        });
        ready(r)
    }

    fn wait_exit<'a>(&'a self, id: &'a str) -> EngineFuture<'a, i64> {
        Box::pin(async move {
            loop {
                let info = self.info(id)?;
                if !info.running {
                    return Ok(info.exit_code);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    fn wait_health_event<'a>(
        &'a self,
        id: &'a str,
        deadline: Instant,
    ) -> EngineFuture<'a, HealthOutcome> {
        Box::pin(async move {
            loop {
                self.check_reachable()?;
                let info = self.info(id)?;
                if !info.running {
                    return Ok(HealthOutcome::NotRunning {
                        exit_code: info.exit_code,
                    });
                }
                match info.health.map(|h| h.status) {
                    None => return Ok(HealthOutcome::NoHealthcheck),
                    Some(HealthStatus::Healthy) => return Ok(HealthOutcome::Healthy),
                    Some(HealthStatus::Unhealthy) => return Ok(HealthOutcome::Unhealthy),
                    _ => {}
                }
                if Instant::now() >= deadline {
                    return Err(EngineError::Timeout {
                        what: format!("health of container {id}"),
                        after: Duration::ZERO,
                    });
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    fn first_healthy_since<'a>(
        &'a self,
        id: &'a str,
        since: SystemTime,
    ) -> EngineFuture<'a, Option<SystemTime>> {
        let r = self.find(id).map(|id| {
            let st = self.state.lock().expect("fake state");
            let after = self.script.lock().expect("fake script").healthy_after;
            match (st.containers[&id].started, after) {
                (Some((_, t)), Some(after)) if t + after >= since => Some(t + after),
                _ => None,
            }
        });
        ready(r)
    }

    fn remove_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(id)?;
            let mut st = self.state.lock().expect("fake state");
            let c = st.containers.remove(&id).expect("found above");
            st.calls.push(format!(
                "remove {}",
                c.spec.name.clone().unwrap_or_default()
            ));
            Ok(())
        });
        ready(r)
    }

    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> EngineFuture<'a, String> {
        let r = self.check_reachable().map(|()| {
            let mut st = self.state.lock().expect("fake state");
            st.networks.insert(name.to_string(), labels.clone());
            st.calls.push(format!("create network {name}"));
            name.to_string()
        });
        ready(r)
    }

    fn remove_network<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().map(|()| {
            self.state.lock().expect("fake state").networks.remove(id);
        });
        ready(r)
    }

    fn remove_volume<'a>(&'a self, name: &'a str) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().map(|()| {
            self.state.lock().expect("fake state").volumes.remove(name);
        });
        ready(r)
    }

    fn connect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
        _aliases: &'a [String],
    ) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().and_then(|()| {
            let id = self.find(container)?;
            let mut st = self.state.lock().expect("fake state");
            if let Some(c) = st.containers.get_mut(&id) {
                c.networks.insert(network.to_string());
            }
            Ok(())
        });
        ready(r)
    }

    fn archive<'a>(
        &'a self,
        container: &'a str,
        _path: &'a str,
    ) -> EngineFuture<'a, ImageTarReader> {
        ready(Err(EngineError::ContainerNotFound {
            id: format!("{container} (the fake engine keeps no files)"),
        }))
    }

    fn list_by_label<'a>(&'a self, label: &'a str) -> EngineFuture<'a, Resources> {
        let r = self.check_reachable().map(|()| {
            let (key, value) = match label.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (label, None),
            };
            let matches = |labels: &BTreeMap<String, String>| {
                labels
                    .get(key)
                    .is_some_and(|v| value.is_none_or(|w| v == w))
            };
            let st = self.state.lock().expect("fake state");
            let mut res = Resources::default();
            for (id, c) in &st.containers {
                if matches(&c.spec.labels) {
                    res.containers.push(id.clone());
                    res.labels.insert(id.clone(), c.spec.labels.clone());
                }
            }
            for (name, labels) in &st.networks {
                if matches(labels) {
                    res.networks.push(name.clone());
                    res.labels.insert(name.clone(), labels.clone());
                }
            }
            for (name, labels) in &st.volumes {
                if matches(labels) {
                    res.volumes.push(name.clone());
                    res.labels.insert(name.clone(), labels.clone());
                }
            }
            res
        });
        ready(r)
    }

    fn images_tagged<'a>(&'a self, prefix: &'a str) -> EngineFuture<'a, Vec<String>> {
        let st = self.state.lock().expect("fake state");
        let ids = st
            .tags
            .iter()
            .filter(|(t, _)| t.starts_with(prefix))
            .map(|(_, id)| id.clone())
            .collect();
        ready(Ok(ids))
    }

    fn remove_all<'a>(
        &'a self,
        resources: &'a Resources,
        _prune_images: bool,
    ) -> EngineFuture<'a, ()> {
        let r = self.check_reachable().map(|()| {
            let mut st = self.state.lock().expect("fake state");
            for id in &resources.containers {
                if let Some(c) = st.containers.remove(id) {
                    st.calls.push(format!(
                        "remove {}",
                        c.spec.name.clone().unwrap_or_default()
                    ));
                }
            }
            for n in &resources.networks {
                st.networks.remove(n);
            }
            for v in &resources.volumes {
                st.volumes.remove(v);
            }
        });
        ready(r)
    }
}
