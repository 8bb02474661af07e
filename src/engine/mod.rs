//! Runs a plan against the Docker engine. The only module that touches
//! tokio and bollard; it reports through [`Event`]s and never prints.

pub mod actual;
mod compose;
mod container;
pub mod docker;
mod dockerfile;
mod host;
mod http;
mod image;
pub mod imagefs;
mod livefs;
mod observe;
mod oneoff;
mod poll;
mod run;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use run::{RunOptions, RunOutput, run};

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
        match docker::connect(context).await {
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
    /// Intermediate stage images of this run's multi-stage builds.
    pub stage_images: std::sync::Mutex<Vec<String>>,
    /// Secret values read this run: masked in everything shown.
    secrets: std::sync::Mutex<Vec<String>>,
    /// Named volumes created for containers (unlabelled by the engine).
    volumes: std::sync::Mutex<Vec<String>>,
    /// Networks of the run, created on first use (see [`Ctx::network`]).
    networks: tokio::sync::Mutex<BTreeMap<String, String>>,
    /// The Compose tool, found on first use.
    compose: tokio::sync::OnceCell<Result<compose::Tool, String>>,
    /// Stacks to take down at the end.
    teardowns: std::sync::Mutex<Vec<compose::Teardown>>,
    /// Every Compose project the run started, also after its `down`.
    projects: std::sync::Mutex<Vec<String>>,
}

impl Ctx {
    pub fn new(engine: Arc<dyn DockerApi>) -> Ctx {
        let run_id = new_run_id();
        let mut labels = BTreeMap::new();
        labels.insert("dspec.run".to_string(), run_id.clone());
        labels.insert("dspec.pid".to_string(), std::process::id().to_string());
        labels.insert("dspec.host".to_string(), crate::clean::hostname());
        Ctx {
            engine,
            run_id,
            labels,
            stage_images: std::sync::Mutex::new(Vec::new()),
            secrets: std::sync::Mutex::new(Vec::new()),
            volumes: std::sync::Mutex::new(Vec::new()),
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

    /// Remembers a secret value so that [`Ctx::redact`] masks it.
    pub fn add_secret(&self, value: &str) {
        if !value.is_empty() {
            self.secrets
                .lock()
                .expect("secrets lock")
                .push(value.to_string());
        }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.secrets.lock().expect("secrets lock").iter() {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    pub fn add_volume(&self, name: &str) {
        self.volumes
            .lock()
            .expect("volumes lock")
            .push(name.to_string());
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
    pub async fn compose_tool(&self) -> Result<compose::Tool, String> {
        self.compose
            .get_or_init(|| compose::detect(self.engine.versions().child_env.clone()))
            .await
            .clone()
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
        if let Some(t) = t {
            let _ = t.down().await;
        }
    }

    fn add_teardown(&self, t: compose::Teardown) {
        self.projects
            .lock()
            .expect("projects lock")
            .push(t.project.clone());
        self.teardowns.lock().expect("teardowns lock").push(t);
    }

    /// Removes the stage images of this run's builds that nothing tags.
    /// Images with children (stages other stages build on) are kept by the
    /// engine, so they are never dangling.
    pub async fn remove_stage_images(&self) {
        let ids: Vec<String> =
            std::mem::take(&mut *self.stage_images.lock().expect("stage images lock"));
        for id in ids {
            if let Ok(Some(info)) = self.engine.inspect_image(&id).await
                && info.tags.is_empty()
            {
                let _ = self.engine.remove_image(&id, true).await;
            }
        }
    }

    /// Removes every container, network and volume of this run; stacks go
    /// down through their Compose tool first.
    pub async fn cleanup(&self) -> Result<Vec<String>, String> {
        let stacks: Vec<compose::Teardown> =
            std::mem::take(&mut *self.teardowns.lock().expect("teardowns lock"));
        for t in stacks {
            // A failed `down` is made up for by the sweep by project below.
            let _ = t.down().await;
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
        Ok(names)
    }
}

fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:x}-{:x}",
        std::process::id(),
        (nanos as u64) & 0xffff_ffff_ffff
    )
}
