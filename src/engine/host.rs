//! `command X = host "CMD"`: a process on the host, through `sh -c`, in a process group
//! of its own that never outlives it.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::Ctx;
use super::actual::Actual;
use super::failure::SetupError;
use super::observe::{ObsError, Observed, first, process_text, tail};
use super::scheduler::{Output, Run, State};
use crate::compile::PathStep;
use crate::compile::SubjectSpec;
use crate::compile::property::{CommandProp, Key};
use crate::plan::StepId;
use crate::report::event::Activity;

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

/// A `Host` step: runs the command with its `env` (the URLs of the containers it names, the
/// engine's variables) in its `workdir` (the spec file's folder by default).
pub(super) async fn setup(run: &Run, id: StepId) -> State {
    let subject = &run.plan.steps[id].subjects[0];
    let file = &run.program.files[subject.file];
    let Some(SubjectSpec::Host(spec)) = file.subject(&subject.name).map(|s| &s.spec) else {
        return State::Done;
    };
    let lookup = |name: &str| run.running(subject.file, name);
    let images = |name: &str| run.image_named(subject.file, name);
    // The command reaches the run's engine (a `docker` or Compose call in it); its own `env`
    // settings come after and win.
    let mut env = run.ctx.engine.versions().command_env.clone();
    for (k, v) in &spec.env {
        match super::container::host_env_value(&run.ctx, v, &lookup, &images).await {
            Ok(val) => env.push((k.clone(), val)),
            Err(e) => return run.failed(subject, SetupError::subject(e)),
        }
    }
    let workdir = spec.workdir.clone().unwrap_or_else(|| file.dir.clone());
    let command = match super::actual::resolve_text(&spec.command) {
        Ok(c) => c,
        Err(e) => return run.failed(subject, SetupError::subject(e)),
    };
    run.progress(
        subject,
        Activity::Working {
            text: format!("running `{}`", run.ctx.redact(&command)),
        },
    );
    match self::run(
        &command,
        &env,
        &workdir,
        spec.timeout.unwrap_or(DEFAULT_TIMEOUT),
    )
    .await
    {
        Ok(r) => {
            run.ready(subject, &format!("exited {}", r.exit_code), r.duration);
            run.keep(id, Output::Host(std::sync::Arc::new(r)));
            State::Done
        }
        Err(e) => run.failed(subject, SetupError::subject(e)),
    }
}

/// A host command's property.
pub fn observe(ctx: &Ctx, r: &HostResult, steps: &[PathStep]) -> Observed {
    // `do NAME`: it ran; its exit code is reported.
    if steps.is_empty() {
        return Ok(Actual::Int(r.exit_code));
    }
    let Some((Key::Command(prop), _, rest)) = first(steps) else {
        return Err(ObsError::Missing("not a command property".into()));
    };
    let v = match prop {
        CommandProp::ExitCode => Actual::Int(r.exit_code),
        CommandProp::Stdout => Actual::Text(ctx.redact(&process_text(&r.stdout))),
        CommandProp::Stderr => Actual::Text(ctx.redact(&process_text(&r.stderr))),
        CommandProp::Duration => Actual::Duration(r.duration),
    };
    tail(v, rest)
}
