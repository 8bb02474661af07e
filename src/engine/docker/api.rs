//! The engine trait: everything the scheduler and the probes need from Docker.
//!
//! The trait is object safe (`Arc<dyn DockerApi>` works), so a scheduler can be unit-tested
//! with a fake. Methods return boxed `Send` futures; they can be spawned on a multi-thread
//! runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use super::error::EngineError;
use super::types::{
    BuildOptions, BuildOutput, BuildProgress, ContainerInfo, ContainerSpec, ExecOutput,
    HealthOutcome, ImageInfo, LogLine, Resources, Stats, Versions,
};

/// The future every engine call returns.
pub type EngineFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, EngineError>> + Send + 'a>>;

/// A blocking reader over a streamed image tarball (see [`DockerApi::save_image`]).
pub type ImageTarReader = Box<dyn Read + Send + 'static>;

/// A build context: a tar that is written on demand, on a blocking thread, into whatever
/// carries it to the engine. The engine streams it as it is written, so the context is never
/// held in memory whole (a 3 GB context costs a few MiB).
pub struct BuildContext {
    produce: ContextWriter,
}

/// Writes a context tar into the writer it is given.
type ContextWriter = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static>;

impl BuildContext {
    /// A context written by `produce` (e.g. [`crate::engine::imagefs::context::TarPlan::write`]).
    /// Its errors end the build; they should name the path they happened on.
    pub fn from_writer(
        produce: impl FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static,
    ) -> BuildContext {
        BuildContext {
            produce: Box::new(produce),
        }
    }

    /// Writes the whole tar into `w`. Blocking: call it from a blocking thread.
    pub fn write_to(self, w: &mut dyn Write) -> io::Result<()> {
        (self.produce)(w)
    }
}

impl From<Vec<u8>> for BuildContext {
    /// A context tar already in memory.
    fn from(tar: Vec<u8>) -> BuildContext {
        BuildContext::from_writer(move |w| w.write_all(&tar))
    }
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BuildContext")
    }
}

/// Access to a Docker engine. IDs may also be names wherever the daemon accepts them.
pub trait DockerApi: Send + Sync {
    /// Versions and address of the daemon, recorded at connection time.
    fn versions(&self) -> &Versions;

    /// Whether the daemon answers at all (`GET /_ping`), within `limit`.
    fn ping<'a>(&'a self, limit: Duration) -> EngineFuture<'a, ()>;

    /// Builds an image with the legacy builder from a context tar (already filtered by
    /// `.dockerignore`; it must contain the Dockerfile), streamed to the engine while it is
    /// written. `on_progress` is called for every `Step N/M` header and every other output
    /// line. A failing step gives [`EngineError::BuildFailed`] with the step header and the
    /// step's last output lines; a context that fails to be written gives
    /// [`EngineError::Io`] with the producer's error.
    fn build<'a>(
        &'a self,
        context: BuildContext,
        opts: BuildOptions,
        on_progress: &'a mut (dyn FnMut(BuildProgress) + Send),
    ) -> EngineFuture<'a, BuildOutput>;

    /// Inspects a local image; `Ok(None)` when it does not exist.
    fn inspect_image<'a>(&'a self, reference: &'a str) -> EngineFuture<'a, Option<ImageInfo>>;

    /// Streams `docker save` of one image. The returned reader is blocking: read it from
    /// `tokio::task::spawn_blocking` or a plain thread, never from async code. Memory stays
    /// constant (a small bounded buffer); dropping the reader cancels the download.
    /// A missing image gives [`EngineError::ImageNotFound`] before any byte is read.
    fn save_image<'a>(&'a self, reference: &'a str) -> EngineFuture<'a, ImageTarReader>;

    /// Adds a tag (`repo:tag`, `:latest` when none) to an image.
    fn tag_image<'a>(&'a self, id: &'a str, reference: &'a str) -> EngineFuture<'a, ()>;

    /// Removes an image (forced, so all its tags go). With `noprune` its untagged parents
    /// (the layer cache of its build) are kept.
    fn remove_image<'a>(&'a self, id: &'a str, noprune: bool) -> EngineFuture<'a, ()>;

    /// Creates a container and returns its ID. A missing image gives
    /// [`EngineError::ImageNotFound`] at once (never a pull).
    fn create_container<'a>(&'a self, spec: &'a ContainerSpec) -> EngineFuture<'a, String>;

    /// Starts a created container. Ephemeral host ports are assigned now.
    fn start_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()>;

    /// Starts a container created with `stdin`: attaches to its standard input first, then
    /// writes `input` and closes it.
    fn start_with_stdin<'a>(&'a self, id: &'a str, input: &'a [u8]) -> EngineFuture<'a, ()>;

    /// Current state of a container.
    fn inspect_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ContainerInfo>;

    /// Runs `argv` in a running container (as `user` if given) and collects its output. Past
    /// `limit` it gives [`EngineError::ExecTimedOut`] with the process's host PID; the process
    /// is left running (the engine cannot kill an exec).
    fn exec<'a>(
        &'a self,
        id: &'a str,
        argv: &'a [String],
        user: Option<&'a str>,
        limit: Duration,
    ) -> EngineFuture<'a, ExecOutput>;

    /// stdout and stderr lines so far, sorted by timestamp; only the last `tail` if given.
    fn logs<'a>(&'a self, id: &'a str, tail: Option<usize>) -> EngineFuture<'a, Vec<LogLine>>;

    /// One resource sample. Without `with_cpu` this is a one-shot read (a few ms, or up to
    /// ~1 s when the daemon's collector is busy) and `cpu_percent` is `None`; with `with_cpu`
    /// the daemon takes two samples about a second apart (~2 s) to compute CPU use.
    fn stats_once<'a>(&'a self, id: &'a str, with_cpu: bool) -> EngineFuture<'a, Stats>;

    /// Sends the stop signal, waits up to `timeout`, then kills. Stopping a stopped container
    /// is not an error.
    fn stop<'a>(&'a self, id: &'a str, timeout: Duration) -> EngineFuture<'a, ()>;

    /// Sends `signal` (e.g. `SIGKILL`, `SIGTERM`, `HUP`). Fails if the container is not running.
    fn kill<'a>(&'a self, id: &'a str, signal: &'a str) -> EngineFuture<'a, ()>;

    /// Stops (as [`DockerApi::stop`]) and starts again.
    fn restart<'a>(&'a self, id: &'a str, timeout: Duration) -> EngineFuture<'a, ()>;

    /// Waits until the container is not running and returns its exit code (at once if it has
    /// already exited). Wrap it in a timeout: it waits as long as the container runs.
    fn wait_exit<'a>(&'a self, id: &'a str) -> EngineFuture<'a, i64>;

    /// Waits, through the daemon's event stream, until the container is healthy or unhealthy,
    /// or stops running. Gives [`EngineError::Timeout`] at `deadline`. No event is missed
    /// between the state check and the subscription.
    fn wait_health_event<'a>(
        &'a self,
        id: &'a str,
        deadline: Instant,
    ) -> EngineFuture<'a, HealthOutcome>;

    /// When the container first turned healthy at or after `since`, from the daemon's recent
    /// events (it keeps the last few hundred); `None` when no such event is there.
    fn first_healthy_since<'a>(
        &'a self,
        id: &'a str,
        since: SystemTime,
    ) -> EngineFuture<'a, Option<SystemTime>>;

    /// Removes a container, running or not, with its anonymous volumes.
    fn remove_container<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()>;

    /// Creates a bridge network and returns its ID.
    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> EngineFuture<'a, String>;

    /// Removes a network (by ID or name).
    fn remove_network<'a>(&'a self, id: &'a str) -> EngineFuture<'a, ()>;

    /// Removes a volume.
    fn remove_volume<'a>(&'a self, name: &'a str) -> EngineFuture<'a, ()>;

    /// Connects a container to another network, reachable there by `aliases`.
    fn connect_network<'a>(
        &'a self,
        network: &'a str,
        container: &'a str,
        aliases: &'a [String],
    ) -> EngineFuture<'a, ()>;

    /// A tar of `path` in a container's live filesystem (`docker cp` out),
    /// as a blocking reader like [`DockerApi::save_image`].
    fn archive<'a>(&'a self, container: &'a str, path: &'a str)
    -> EngineFuture<'a, ImageTarReader>;

    /// Everything carrying `label`, given as `key=value` (one run) or `key` (every run).
    fn list_by_label<'a>(&'a self, label: &'a str) -> EngineFuture<'a, Resources>;

    /// IDs of the images with a tag that starts with `prefix` (such as `dspec/`).
    fn images_tagged<'a>(&'a self, prefix: &'a str) -> EngineFuture<'a, Vec<String>>;

    /// Removes all of `resources`: containers first, then networks, volumes and images.
    /// Objects already gone are skipped; every object is tried, and the first real error is
    /// returned at the end. `prune_images` also removes the images' untagged parents (the
    /// layer cache of their builds), as `docker rmi` does.
    fn remove_all<'a>(
        &'a self,
        resources: &'a Resources,
        prune_images: bool,
    ) -> EngineFuture<'a, ()>;
}

// Compile-time check that the trait stays object safe (`Arc<dyn DockerApi>`).
const _: Option<&dyn DockerApi> = None;
