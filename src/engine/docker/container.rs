//! Container lifecycle: start, inspect, stop, kill, restart, wait for exit, remove.

use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::bollard_impl::Engine;
use super::connect::REQUEST_TIMEOUT;
use super::container_info::container_info;
use super::errmap::Subject;
use super::error::EngineError;
use super::types::ContainerInfo;

/// How long a wait for a container's exit may take at the client: a day (its callers bound it).
const WAIT_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// Extra time given to the daemon beyond a stop timeout before the API call itself times out.
const STOP_MARGIN: Duration = Duration::from_secs(30);

pub(crate) async fn start_container(engine: &Engine, id: &str) -> Result<(), EngineError> {
    engine
        .docker
        .start_container(id, None)
        .await
        .map_err(|e| engine.err(e, Subject::Container(id)))
}

/// Attaches to the standard input of a container created with `stdin`, starts it, writes
/// `input` and closes it (the daemon closes the container's stdin when its one attached
/// client leaves: `StdinOnce`).
pub(crate) async fn start_with_stdin(
    engine: &Engine,
    id: &str,
    input: &[u8],
) -> Result<(), EngineError> {
    use tokio::io::AsyncWriteExt;
    let opts = bollard::query_parameters::AttachContainerOptionsBuilder::default()
        .stdin(true)
        .stream(true)
        .build();
    let mut attached = engine
        .docker
        .attach_container(id, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Container(id)))?;
    start_container(engine, id).await?;
    // A process that exits without reading its input is not an error.
    match attached.input.write_all(input).await {
        Ok(()) => {
            let _ = attached.input.flush().await;
            let _ = attached.input.shutdown().await;
        }
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(EngineError::Io(e)),
    }
    drop(attached);
    Ok(())
}

pub(crate) async fn inspect_container(
    engine: &Engine,
    id: &str,
) -> Result<ContainerInfo, EngineError> {
    engine
        .docker
        .inspect_container(id, None)
        .await
        .map(container_info)
        .map_err(|e| engine.err(e, Subject::Container(id)))
}

/// A client whose request limit outlasts a stop that may take `timeout`.
fn patient(engine: &Engine, timeout: Duration) -> bollard::Docker {
    engine
        .docker
        .clone()
        .with_timeout(REQUEST_TIMEOUT.max(timeout + STOP_MARGIN))
}

pub(crate) async fn stop(engine: &Engine, id: &str, timeout: Duration) -> Result<(), EngineError> {
    let opts = StopContainerOptionsBuilder::default()
        .t(whole_seconds(timeout))
        .build();
    patient(engine, timeout)
        .stop_container(id, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Container(id)))
}

pub(crate) async fn kill(engine: &Engine, id: &str, signal: &str) -> Result<(), EngineError> {
    let opts = KillContainerOptionsBuilder::default()
        .signal(signal)
        .build();
    engine
        .docker
        .kill_container(id, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Container(id)))
}

pub(crate) async fn restart(
    engine: &Engine,
    id: &str,
    timeout: Duration,
) -> Result<(), EngineError> {
    let opts = RestartContainerOptionsBuilder::default()
        .t(whole_seconds(timeout))
        .build();
    patient(engine, timeout)
        .restart_container(id, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Container(id)))
}

pub(crate) async fn wait_exit(engine: &Engine, id: &str) -> Result<i64, EngineError> {
    // It waits as long as the container runs (a task may run for minutes): not bounded by the
    // client's request limit; callers bound it themselves.
    let docker = patient(engine, WAIT_LIMIT);
    let mut stream = docker.wait_container(id, None);
    match stream.next().await {
        Some(Ok(answer)) => Ok(answer.status_code),
        // bollard reports every non-zero exit code as an error.
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(engine.err(e, Subject::Container(id))),
        None => Err(EngineError::Api {
            status: 0,
            message: format!("the wait for container {id} ended without an exit code"),
        }),
    }
}

pub(crate) async fn remove_container(engine: &Engine, id: &str) -> Result<(), EngineError> {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    engine
        .docker
        .remove_container(id, Some(opts))
        .await
        .map_err(|e| engine.err(e, Subject::Container(id)))
}

/// The daemon takes whole seconds; round up so that 500 ms does not become "kill at once".
fn whole_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(i32::MAX as u64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_timeouts_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(500)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(10)), 10);
    }
}
