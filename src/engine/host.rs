//! `command X = host "CMD"`: a process on the host, through `sh -c`, in a process group
//! of its own that never outlives it.

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

/// The process group of a running host command: killed, all of it, when dropped (a finished
/// command, a timeout, an interrupted or stopped run), so no child or grandchild outlives it.
struct Group(Option<u32>);

impl Group {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            super::procfs::kill(&[-i64::from(pgid)]);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `command` with `env` in `workdir`, in a process group of its own. When the shell
/// exits, whatever it left running in the background is killed (its output so far is kept);
/// at `timeout`, the whole group is.
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
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start `sh -c {command}` in {}: {e}",
                workdir.display()
            )
        })?;
    let mut group = Group(child.id());
    let read = |mut r: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf).await;
            buf
        })
    };
    let out = read(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read(Box::new(child.stderr.take().expect("piped stderr")));
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| e.to_string())?,
        Err(_) => {
            group.kill();
            return Err(format!(
                "the command did not finish within {}s (its `timeout`); it was killed with everything it started",
                timeout.as_secs_f64()
            ));
        }
    };
    let duration = started.elapsed();
    // The shell is done: what it started in the background goes, which also closes the pipes.
    group.kill();
    let collect = |h: tokio::task::JoinHandle<Vec<u8>>| async move {
        match tokio::time::timeout(Duration::from_secs(5), h).await {
            Ok(Ok(b)) => String::from_utf8_lossy(&b).to_string(),
            _ => String::new(),
        }
    };
    Ok(HostResult {
        exit_code: status.code().map(i64::from).unwrap_or(-1),
        stdout: collect(out).await,
        stderr: collect(err).await,
        duration,
    })
}
