//! Running a command in a running container and collecting its output and exit code.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

use super::bollard_impl::Engine;
use super::errmap::Subject;
use super::error::EngineError;
use super::types::ExecOutput;

/// How long to poll for the exit code once the output has ended (it is normally there at once).
const EXIT_CODE_WAIT: Duration = Duration::from_secs(5);

pub(crate) async fn exec(
    engine: &Engine,
    id: &str,
    argv: &[String],
    user: Option<&str>,
    limit: Duration,
) -> Result<ExecOutput, EngineError> {
    let started = tokio::time::Instant::now();
    let container_err = |e| engine.err(e, Subject::Container(id));
    let created = engine
        .docker
        .create_exec(
            id,
            CreateExecOptions {
                cmd: Some(argv.to_vec()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user: user.map(str::to_string),
                ..Default::default()
            },
        )
        .await
        .map_err(container_err)?;

    let mut out = ExecOutput::default();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    match engine
        .docker
        .start_exec(&created.id, None)
        .await
        .map_err(container_err)?
    {
        StartExecResults::Attached { mut output, .. } => {
            let collect = async {
                while let Some(frame) = output.next().await {
                    match frame.map_err(container_err)? {
                        LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            stdout.extend_from_slice(&message)
                        }
                        LogOutput::StdIn { .. } => {}
                    }
                }
                Ok::<_, EngineError>(())
            };
            match tokio::time::timeout_at(started + limit, collect).await {
                Ok(r) => r?,
                Err(_) => {
                    let pid = engine
                        .docker
                        .inspect_exec(&created.id)
                        .await
                        .ok()
                        .and_then(|i| i.pid)
                        .unwrap_or(0);
                    return Err(EngineError::ExecTimedOut {
                        after: limit,
                        pid,
                        stdout: String::from_utf8_lossy(&stdout).into_owned(),
                        stderr: String::from_utf8_lossy(&stderr).into_owned(),
                    });
                }
            }
        }
        StartExecResults::Detached => {}
    }
    out.stdout = String::from_utf8_lossy(&stdout).into_owned();
    out.stderr = String::from_utf8_lossy(&stderr).into_owned();

    let ended = tokio::time::Instant::now();
    loop {
        let inspect = engine
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(container_err)?;
        if inspect.running != Some(true) {
            out.exit_code = inspect.exit_code.unwrap_or(-1);
            return Ok(out);
        }
        if ended.elapsed() > EXIT_CODE_WAIT {
            return Err(EngineError::Timeout {
                what: format!("exit code of {:?} in {id}", argv.join(" ")),
                after: EXIT_CODE_WAIT,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
