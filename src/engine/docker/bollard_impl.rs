//! [`Engine`]: the bollard implementation of [`DockerApi`]. Each call is implemented in the
//! module of its concern; this file only wires them to the trait.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use bollard::Docker;
use bollard::errors::Error as BollardError;

use super::api::{BuildContext, DockerApi, EngineFuture, ImageTarReader};
use super::errmap::{Subject, map_err};
use super::error::EngineError;
use super::types::{
    BuildOptions, BuildOutput, BuildProgress, ContainerInfo, ContainerSpec, ExecOutput,
    HealthOutcome, ImageInfo, LogLine, Resources, Stats, Versions,
};
use super::{
    build, cleanup, container, container_create, exec, health_wait, image, logs, network, stats,
};

/// A connection to a Docker daemon (see [`super::connect::connect`]). Cheap to share: wrap it
/// in an `Arc` and pass it around as `Arc<dyn DockerApi>`.
pub struct Engine {
    pub(crate) docker: Docker,
    versions: Versions,
}

impl Engine {
    pub(crate) fn new(docker: Docker, versions: Versions) -> Self {
        Engine { docker, versions }
    }

    /// Versions and address of the daemon, recorded at connection time.
    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// Maps a bollard error for a call about `subject`.
    pub(crate) fn err(&self, e: BollardError, subject: Subject<'_>) -> EngineError {
        map_err(e, &self.versions.host, subject)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

impl DockerApi for Engine {
    fn versions(&self) -> &Versions {
        &self.versions
    }

    fn ping<'a>(&'a self, limit: Duration) -> EngineFuture<'a, ()> {
        Box::pin(async move {
            match tokio::time::timeout(limit, self.docker.ping()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(self.err(e, Subject::Other)),
                Err(_) => Err(EngineError::Timeout {
                    what: "the daemon's ping".into(),
                    after: limit,
                }),
            }
        })
    }

    fn build<'a>(
        &'a self,
        context: BuildContext,
        opts: BuildOptions,
        on_progress: &'a mut (dyn FnMut(BuildProgress) + Send),
    ) -> EngineFuture<'a, BuildOutput> {
        Box::pin(build::build(self, context, opts, on_progress))
    }

    fn inspect_image<'a>(&'a self, reference: &'a str) -> EngineFuture<'a, Option<ImageInfo>> {
        Box::pin(image::inspect_image(self, reference))
    }

    fn save_image<'a>(&'a self, reference: &'a str) -> EngineFuture<'a, ImageTarReader> {
        Box::pin(image::save_image(self, reference))
    }

    fn remove_image<'a>(&'a self, id: &'a str, noprune: bool) -> EngineFuture<'a, ()> {
        Box::pin(image::remove_image(self, id, noprune))
    }

    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> EngineFuture<'a, String> {
        Box::pin(container_create::create_container(self, spec))
    }

    fn start_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(container::start_container(self, id))
    }

    fn start_with_stdin<'a>(&'a self, id: &'a str, input: &'a [u8]) -> EngineFuture<'a, ()> {
        Box::pin(container::start_with_stdin(self, id, input))
    }

    fn inspect_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ContainerInfo> {
        Box::pin(container::inspect_container(self, id))
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: &'a [String],
        user: Option<&'a str>,
        limit: Duration,
    ) -> EngineFuture<'a, ExecOutput> {
        Box::pin(exec::exec(self, id, argv, user, limit))
    }

    fn logs<'a>(&'a self, id: &'a str, tail: Option<usize>) -> EngineFuture<'a, Vec<LogLine>> {
        Box::pin(logs::logs(self, id, tail))
    }

    fn stats_once<'a>(&'a self, id: &'a str, with_cpu: bool) -> EngineFuture<'a, Stats> {
        Box::pin(stats::stats_once(self, id, with_cpu))
    }

    fn stop<'a>(&'a self, id: &'a str, timeout: Duration) -> EngineFuture<'a, ()> {
        Box::pin(container::stop(self, id, timeout))
    }

    fn kill<'a>(&'a self, id: &'a str, signal: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(container::kill(self, id, signal))
    }

    fn restart<'a>(&'a self, id: &'a str, timeout: Duration) -> EngineFuture<'a, ()> {
        Box::pin(container::restart(self, id, timeout))
    }

    fn wait_exit<'a>(&'a self, id: &'a str) -> EngineFuture<'a, i64> {
        Box::pin(container::wait_exit(self, id))
    }

    fn wait_health_event<'a>(
        &'a self,
        id: &'a str,
        deadline: Instant,
    ) -> EngineFuture<'a, HealthOutcome> {
        Box::pin(health_wait::wait_health_event(self, id, deadline))
    }

    fn first_healthy_since<'a>(
        &'a self,
        id: &'a str,
        since: SystemTime,
    ) -> EngineFuture<'a, Option<SystemTime>> {
        Box::pin(health_wait::first_healthy_since(self, id, since))
    }

    fn remove_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(container::remove_container(self, id))
    }

    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> EngineFuture<'a, String> {
        Box::pin(network::create_network(self, name, labels))
    }

    fn remove_network<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(network::remove_network(self, id))
    }

    fn remove_volume<'a>(&'a self, name: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(network::remove_volume(self, name))
    }

    fn tag_image<'a>(&'a self, id: &'a str, reference: &'a str) -> EngineFuture<'a, ()> {
        Box::pin(image::tag_image(self, id, reference))
    }

    fn connect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
        aliases: &'a [String],
    ) -> EngineFuture<'a, ()> {
        Box::pin(network::connect_network(self, network, container, aliases))
    }

    fn archive<'a>(
        &'a self,
        container: &'a str,
        path: &'a str,
    ) -> EngineFuture<'a, ImageTarReader> {
        Box::pin(image::archive(self, container, path))
    }

    fn list_by_label<'a>(&'a self, label: &'a str) -> EngineFuture<'a, Resources> {
        Box::pin(cleanup::list_by_label(self, label))
    }

    fn images_tagged<'a>(&'a self, prefix: &'a str) -> EngineFuture<'a, Vec<String>> {
        Box::pin(cleanup::images_tagged(self, prefix))
    }

    fn remove_all<'a>(
        &'a self,
        resources: &'a Resources,
        prune_images: bool,
    ) -> EngineFuture<'a, ()> {
        Box::pin(cleanup::remove_all(self, resources, prune_images))
    }
}
