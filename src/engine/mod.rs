//! Runs a plan against the Docker engine. The only module that touches tokio and bollard;
//! it reports through [`Event`](crate::report::Event)s and never prints.
//!
//! - [`scheduler`] runs the plan's steps (dependencies, `--jobs`, quiet slots, stop reasons);
//!   `judge` samples a check from the right moment and `verdict` judges it.
//! - Each subject kind sets itself up and answers its catalogue keys: `image` (with
//!   `imagefs`, the layers), `container` (`container_probe`, `livefs`), [`compose`]
//!   (`compose_probe`), `host`, `oneoff`, `request` (with `http`, the HTTP/1.1 + TLS
//!   client, and `http_probe`, the response's part of the catalogue).
//! - [`docker`] is the engine trait with its bollard implementation; [`fake`] an engine in
//!   memory for tests; [`Ctx`] what one run shares (labels, secrets, networks, stacks).

/// Observed values live in [`crate::actual`], shared with the reports.
pub use crate::actual;
pub mod compose;
mod compose_config;
mod compose_probe;
mod container;
mod container_probe;
pub mod docker;
pub(crate) mod dockerfile;
mod failure;
pub mod fake;
mod host;
mod http;
mod http_probe;
mod image;
pub mod imagefs;
mod judge;
mod livefs;
mod observe;
mod oneoff;
mod poll;
pub mod procfs;
mod request;
pub mod scheduler;
mod settings;
pub mod signals;
mod task;
mod verdict;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use scheduler::{RunOptions, RunOutput, run};

use docker::DockerApi;

/// Starts the async runtime, connects to the engine and runs `f` with it.
/// Without a runtime or an engine it prints why (DS0403) and gives exit 3.
pub fn with_engine<F, Fut>(context: Option<&str>, f: F) -> i32
where
    F: FnOnce(Arc<dyn DockerApi>) -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            crate::output::errln!("error: cannot start the async runtime: {e}");
            return crate::exit_code::INFRA;
        }
    };
    runtime.block_on(async {
        signals::install();
        let connected = tokio::select! {
            c = docker::connect(context) => c,
            s = signals::interrupted() => {
                crate::output::errln!("interrupted ({s}) before the engine answered: nothing to clean up");
                return crate::exit_code::INTERRUPTED;
            }
        };
        match connected {
            Ok(engine) => f(Arc::new(engine)).await,
            Err(e) => {
                crate::output::errln!("error[{}]: cannot reach the Docker engine: {e}", crate::diag::Code::EngineUnreachable);
                crate::output::errln!("  help: start the daemon, or point DOCKER_HOST (unix:///path, tcp://host:port, with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for TLS) or --context at it");
                crate::exit_code::INFRA
            }
        }
    })
}

/// What every step of one run shares.
pub struct Ctx {
    pub engine: Arc<dyn DockerApi>,
    /// `dspec.run` label value of this run.
    pub run_id: String,
    /// Labels put on everything the run creates.
    pub labels: BTreeMap<String, String>,
    /// Secret values read this run: masked in everything shown.
    secrets: std::sync::Mutex<Vec<String>>,
    /// What the run made in the engine and has not removed yet, as `kind name` (`container
    /// dspec-...`): named when the engine stops answering and cannot be cleaned.
    ledger: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Networks of the run, created on first use (see [`Ctx::network`]).
    networks: tokio::sync::Mutex<BTreeMap<String, String>>,
    /// The Compose tool, found on first use.
    compose: tokio::sync::OnceCell<Result<Arc<dyn compose::Compose>, String>>,
    /// Stacks to take down at the end.
    teardowns: std::sync::Mutex<Vec<compose::Teardown>>,
    /// Every Compose project the run started, also after its `down`.
    projects: std::sync::Mutex<Vec<String>>,
}

impl Ctx {
    pub fn new(engine: Arc<dyn DockerApi>) -> Ctx {
        let me = crate::liveness::Instance::current();
        let run_id = new_run_id(&me);
        let mut labels: BTreeMap<String, String> = me.labels().into_iter().collect();
        labels.insert("dspec.run".to_string(), run_id.clone());
        Ctx {
            engine,
            run_id,
            labels,
            secrets: std::sync::Mutex::new(Vec::new()),
            ledger: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            networks: tokio::sync::Mutex::new(BTreeMap::new()),
            compose: tokio::sync::OnceCell::new(),
            teardowns: std::sync::Mutex::new(Vec::new()),
            projects: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// `dspec.run=<id>`: the filter that finds this run's resources.
    pub fn label_filter(&self) -> String {
        format!("dspec.run={}", self.run_id)
    }

    /// Remembers a secret value so that [`Ctx::redact`] masks it: the value as it is, without
    /// the whitespace around it (output loses trailing newlines before it is shown), and each
    /// of its lines (a PEM key printed line by line) of four characters or more.
    pub fn add_secret(&self, value: &str) {
        let mut secrets = self.secrets.lock().expect("secrets lock");
        let mut add = |s: &str| {
            if !s.is_empty() && !secrets.iter().any(|k| k == s) {
                secrets.push(s.to_string());
            }
        };
        add(value);
        add(value.trim());
        for line in value
            .lines()
            .map(str::trim)
            .filter(|l| l.chars().count() >= 4)
        {
            add(line);
        }
        // Longest first, so that a value is masked whole before its lines are.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.lock().expect("secrets lock").iter() {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// Whether `text` is exactly a secret (a JSON number that echoes one, say).
    pub fn is_secret(&self, text: &str) -> bool {
        self.secrets
            .lock()
            .expect("secrets lock")
            .iter()
            .any(|s| s == text)
    }

    /// Records something the run made in the engine (`kind` is `container`, `network`,
    /// `volume` or `compose project`).
    pub fn made(&self, kind: &str, name: &str) {
        self.ledger
            .lock()
            .expect("ledger lock")
            .insert(format!("{kind} {name}"));
    }

    /// Something recorded with [`Ctx::made`] is gone.
    pub fn gone(&self, kind: &str, name: &str) {
        self.ledger
            .lock()
            .expect("ledger lock")
            .remove(&format!("{kind} {name}"));
    }

    /// What the run made and has not seen removed.
    pub fn left(&self) -> Vec<String> {
        self.ledger
            .lock()
            .expect("ledger lock")
            .iter()
            .cloned()
            .collect()
    }

    /// A network of this run, created on first use: spec file `file`'s own
    /// network (`dspec-<run id>-f<file>`, where its containers reach each
    /// other by subject name), or the one a `network "NAME"` setting of that
    /// file names (`dspec-<run id>-f<file>-NAME`). Files never share one.
    pub async fn network(&self, file: usize, name: Option<&str>) -> Result<String, String> {
        let key = match name {
            Some(n) => format!("f{file}-{n}"),
            None => format!("f{file}"),
        };
        let mut nets = self.networks.lock().await;
        if let Some(n) = nets.get(&key) {
            return Ok(n.clone());
        }
        let full = format!("dspec-{}-{key}", self.run_id);
        self.made("network", &full);
        self.engine
            .create_network(&full, &self.labels)
            .await
            .map_err(|e| format!("cannot create network `{full}`: {e}"))?;
        nets.insert(key, full.clone());
        Ok(full)
    }

    /// The name of something a spec file creates, unique in the run:
    /// `dspec-<run id>-f<file>-NAME`.
    pub fn resource_name(&self, file: usize, name: &str) -> String {
        format!("dspec-{}-f{file}-{name}", self.run_id)
    }

    /// The Compose tool (`docker compose` v2, else `docker-compose` v1).
    pub async fn compose_tool(&self) -> Result<Arc<dyn compose::Compose>, String> {
        self.compose
            .get_or_init(|| async {
                compose::detect(self.engine.versions().child_env.clone())
                    .await
                    .map(|t| Arc::new(t) as Arc<dyn compose::Compose>)
            })
            .await
            .clone()
    }

    /// Uses `tool` for the run's stacks instead of the Compose tool of this machine.
    pub fn with_compose(self, tool: Arc<dyn compose::Compose>) -> Ctx {
        let _ = self.compose.set(Ok(tool));
        self
    }

    /// The Compose tool's name and version, for `-v`.
    pub async fn compose_version(&self) -> String {
        match self.compose_tool().await {
            Ok(t) => t.describe(),
            Err(e) => e,
        }
    }

    /// Takes one stack down now (and forgets it).
    pub async fn take_down(&self, project: &str) {
        let t = {
            let mut all = self.teardowns.lock().expect("teardowns lock");
            let i = all.iter().position(|t| t.project == project);
            i.map(|i| all.remove(i))
        };
        if let Some(t) = t
            && t.down(&self.engine).await.is_ok()
        {
            self.gone("compose project", project);
        }
    }

    fn add_teardown(&self, t: compose::Teardown) {
        self.made("compose project", &t.project);
        self.projects
            .lock()
            .expect("projects lock")
            .push(t.project.clone());
        self.teardowns.lock().expect("teardowns lock").push(t);
    }

    /// What `--keep` leaves: the run's containers, networks and volumes, and its Compose
    /// projects' (which carry only Compose's labels).
    pub async fn kept(&self) -> Result<Vec<String>, String> {
        let projects = self.projects.lock().expect("projects lock").clone();
        let mut filters = vec![self.label_filter()];
        filters.extend(
            projects
                .iter()
                .map(|p| format!("com.docker.compose.project={p}")),
        );
        let mut names = Vec::new();
        for filter in filters {
            let res = self
                .engine
                .list_by_label(&filter)
                .await
                .map_err(|e| e.to_string())?;
            for n in res.runtime_ids() {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        Ok(names)
    }

    /// Removes every container, network and volume of this run; stacks go
    /// down through their Compose tool first.
    pub async fn cleanup(&self) -> Result<Vec<String>, String> {
        let stacks: Vec<compose::Teardown> =
            std::mem::take(&mut *self.teardowns.lock().expect("teardowns lock"));
        for t in stacks {
            // A failed `down` is made up for by the sweep by project below.
            let _ = t.down(&self.engine).await;
        }
        // A Compose tool killed in the middle of `up` (Ctrl-C, --timeout) may have requests
        // that the engine completes after `down`: its networks and volumes carry only
        // Compose's labels, so they are found by project on every sweep.
        let projects = self.projects.lock().expect("projects lock").clone();
        let mut filters = vec![self.label_filter()];
        filters.extend(
            projects
                .iter()
                .map(|p| format!("com.docker.compose.project={p}")),
        );
        let mut names = Vec::new();
        for filter in filters {
            let res = self
                .engine
                .list_by_label(&filter)
                .await
                .map_err(|e| e.to_string())?;
            names.extend(res.runtime_ids());
            self.engine
                .remove_all(&res, false)
                .await
                .map_err(|e| e.to_string())?;
        }
        self.ledger.lock().expect("ledger lock").clear();
        Ok(names)
    }
}

/// `<pid>-<start ticks>-<nanos>` in hex: names the run's Compose projects, so `dspec clean`
/// can tell from a project's name alone whether its run is over.
fn new_run_id(me: &crate::liveness::Instance) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:x}-{:x}-{:x}",
        me.pid,
        me.started.unwrap_or(0),
        (nanos as u64) & 0xff_ffff_ffff
    )
}
