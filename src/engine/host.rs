//! `command X = host "CMD"`: a process on the host, through `sh -c`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// What a host command did.
#[derive(Clone, Debug)]
pub struct HostResult {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

/// Default limit of a host command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Runs `command` with `env` in `workdir`; killed at `timeout`.
pub async fn run(
    command: &str,
    env: &[(String, String)],
    workdir: &std::path::Path,
    timeout: Duration,
) -> Result<HostResult, String> {
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start `sh -c {command}` in {}: {e}",
                workdir.display()
            )
        })?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let collect = async {
        let mut o = Vec::new();
        let mut e = Vec::new();
        let (r1, r2, status) = tokio::join!(
            out.read_to_end(&mut o),
            err.read_to_end(&mut e),
            child.wait()
        );
        r1.and(r2).map_err(|e| e.to_string())?;
        let status = status.map_err(|e| e.to_string())?;
        Ok::<_, String>((status.code().map(i64::from).unwrap_or(-1), o, e))
    };
    match tokio::time::timeout(timeout, collect).await {
        Ok(r) => {
            let (exit_code, o, e) = r?;
            Ok(HostResult {
                exit_code,
                stdout: String::from_utf8_lossy(&o).to_string(),
                stderr: String::from_utf8_lossy(&e).to_string(),
                duration: started.elapsed(),
            })
        }
        Err(_) => Err(format!(
            "the command did not finish within {}s (its `timeout`)",
            timeout.as_secs_f64()
        )),
    }
}
