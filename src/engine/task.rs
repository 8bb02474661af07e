//! `task NAME = run IMAGE { ... }`: a container run to completion. Its exit, whatever the
//! code, is its result; only a failure to start or its `timeout` fails its setup (the
//! container is then killed and removed). `IMAGE.run(CMD)` is the shorthand (`oneoff`), on
//! the same [`complete`].

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Ctx;
use super::actual::{Actual, format_duration, resolve_text};
use super::container::{before_create, container_spec, join_networks, log_tail};
use super::docker::{EngineError, LogStream};
use super::failure::SetupError;
use super::livefs;
use super::observe::{ObsError, Observed, arg_text, first, process_text, tail};
use super::scheduler::{Output, Run, State};
use crate::compile::property::{Key, TaskProp};
use crate::compile::{PathStep, SubjectSpec, TASK_TIMEOUT};
use crate::plan::StepId;
use crate::report::event::Activity;

/// What a container run to completion did.
#[derive(Clone, Debug)]
pub struct Completed {
    pub exit_code: i64,
    /// Start to exit.
    pub duration: Duration,
    pub stdout: String,
    pub stderr: String,
    /// stdout and stderr together, line by line as the engine logged them.
    pub logs: String,
    pub oom_killed: bool,
}

/// Why a container did not run to completion.
#[derive(Debug)]
pub enum Incomplete {
    /// The engine failed.
    Engine(EngineError),
    /// It did not start.
    NotStarted(String),
    /// It was still running at its limit.
    TimedOut(Duration),
}

impl From<EngineError> for Incomplete {
    fn from(e: EngineError) -> Self {
        Incomplete::Engine(e)
    }
}

/// Starts the created container `id` (writing `stdin` to its standard input when given),
/// waits up to `limit` for it to exit, and collects what it did. The container is left as it
/// is (exited, or still running past its limit): its caller removes it.
pub async fn complete(
    ctx: &Ctx,
    id: &str,
    stdin: Option<&[u8]>,
    limit: Duration,
) -> Result<Completed, Incomplete> {
    let engine = &ctx.engine;
    let started = Instant::now();
    // The limit covers writing its input too: a process that never reads it cannot hold the
    // run past its timeout.
    let run = async {
        let start = match stdin {
            Some(input) => engine.start_with_stdin(id, input).await,
            None => engine.start_container(id).await,
        };
        if let Err(e) = start {
            return Err(Incomplete::NotStarted(e.to_string()));
        }
        Ok(engine.wait_exit(id).await?)
    };
    let exit_code = match tokio::time::timeout(limit, run).await {
        Ok(r) => r?,
        Err(_) => return Err(Incomplete::TimedOut(limit)),
    };
    let duration = started.elapsed();
    let lines = engine.logs(id, None).await?;
    let mut done = Completed {
        exit_code,
        duration,
        stdout: String::new(),
        stderr: String::new(),
        logs: String::new(),
        oom_killed: false,
    };
    for l in lines {
        let target = if l.stream == LogStream::Stderr {
            &mut done.stderr
        } else {
            &mut done.stdout
        };
        for t in [target, &mut done.logs] {
            t.push_str(&l.text);
            t.push('\n');
        }
    }
    done.oom_killed = engine.inspect_container(id).await?.oom_killed;
    Ok(done)
}

/// A task that ran: its exited container (kept until its file is done) and what it did.
#[derive(Debug)]
pub struct TaskResult {
    /// The container's id and name in the engine.
    pub id: String,
    pub name: String,
    pub done: Completed,
}

/// A `Task` step: creates the task's container (on the file's network when the file has
/// several containers and tasks), runs it to completion within its `timeout`, and keeps the
/// exited container for the checks that read its files.
pub(super) async fn setup(run: &Run, id: StepId, image_step: StepId) -> State {
    let subject = &run.plan.steps[id].subjects[0];
    let Some(SubjectSpec::Task(spec)) = run.program.files[subject.file]
        .subject(&subject.name)
        .map(|s| &s.spec)
    else {
        return State::Done;
    };
    let (facts, network, stack_networks) =
        match before_create(run, subject, &spec.run, image_step).await {
            Ok(p) => p,
            Err(e) => return run.failed(subject, e),
        };
    let images = |name: &str| run.image_named(subject.file, name);
    let ctx = &run.ctx;
    let mut cspec = match container_spec(
        ctx,
        subject.file,
        &subject.name,
        &spec.run,
        &facts,
        &images,
        network.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return run.failed(subject, e),
    };
    let stdin = match spec.stdin.as_ref().map(resolve_text) {
        None => None,
        Some(Ok(text)) => Some(text),
        Some(Err(e)) => return run.failed(subject, SetupError::subject(e)),
    };
    cspec.stdin = stdin.is_some();
    let name = cspec.name.clone().unwrap_or_default();
    let limit = spec.run.timeout.unwrap_or(TASK_TIMEOUT);
    run.progress(
        subject,
        Activity::Working {
            text: "running to completion".into(),
        },
    );
    ctx.made("container", &name);
    let cid = match ctx.engine.create_container(&cspec).await {
        Ok(cid) => cid,
        Err(e) => {
            ctx.gone("container", &name);
            return run.failed(subject, e.into());
        }
    };
    let outcome = match join_networks(
        ctx,
        subject.file,
        &subject.name,
        &cid,
        &spec.run.networks,
        &stack_networks,
    )
    .await
    {
        Ok(()) => complete(ctx, &cid, stdin.as_deref().map(str::as_bytes), limit).await,
        Err(e) => Err(Incomplete::NotStarted(e.message)),
    };
    match outcome {
        Ok(done) => {
            run.ready(
                subject,
                &format!("exited {}", done.exit_code),
                done.duration,
            );
            run.keep(
                id,
                Output::Task(Arc::new(TaskResult {
                    id: cid,
                    name,
                    done,
                })),
            );
            State::Done
        }
        Err(e) => {
            let output = log_tail(&ctx.engine, &cid, 20).await;
            // Nothing stays behind: removing kills it if it still runs.
            if ctx.engine.remove_container(&cid).await.is_ok() {
                ctx.gone("container", &name);
            }
            let e = match e {
                Incomplete::Engine(e) => SetupError::from(e),
                Incomplete::NotStarted(m) => {
                    SetupError::subject(format!("the task did not start: {m}"))
                }
                Incomplete::TimedOut(d) => SetupError::subject(format!(
                    "the task did not exit within {} (its `timeout`{}); it was killed and removed",
                    format_duration(d),
                    if spec.run.timeout.is_none() {
                        ", by default"
                    } else {
                        ""
                    }
                )),
            };
            run.failed(subject, e.with_output(output))
        }
    }
}

/// A task's property; `do NAME` (no property) reads its exit code.
pub async fn observe(ctx: &Ctx, r: &TaskResult, steps: &[PathStep]) -> Observed {
    let d = &r.done;
    let Some((key, args, rest)) = first(steps) else {
        return Ok(Actual::Int(d.exit_code));
    };
    let Key::Task(prop) = key else {
        return Err(ObsError::Missing("not a task property".into()));
    };
    let v = match prop {
        TaskProp::ExitCode => Actual::Int(d.exit_code),
        TaskProp::Stdout => Actual::Text(ctx.redact(&process_text(&d.stdout))),
        TaskProp::Stderr => Actual::Text(ctx.redact(&process_text(&d.stderr))),
        TaskProp::Logs => Actual::Text(ctx.redact(&d.logs)),
        TaskProp::Duration => Actual::Duration(d.duration),
        TaskProp::OomKilled => Actual::Bool(d.oom_killed),
        TaskProp::File => {
            let Some((Key::File(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("a file needs a property".into()));
            };
            return tail(
                livefs::file(ctx, &r.id, &arg_text(args, 0), field).await?,
                after,
            );
        }
        TaskProp::Files => livefs::files(ctx, &r.id, &arg_text(args, 0)).await?,
        TaskProp::Copy => {
            let to = PathBuf::from(arg_text(args, 1));
            copy_out(ctx, &r.id, &arg_text(args, 0), &to).await?;
            Actual::Bool(true)
        }
    };
    tail(v, rest)
}

/// Copies `from` out of container `id` to `to` on the host, as `docker cp` does: a file
/// becomes the file `to`, a folder the folder `to` with its content; `to`'s missing parent
/// folders are created.
pub async fn copy_out(ctx: &Ctx, id: &str, from: &str, to: &Path) -> Result<(), ObsError> {
    let reader = match ctx.engine.archive(id, from).await {
        Ok(r) => r,
        Err(EngineError::Api { status: 404, .. }) => {
            return Err(ObsError::Missing(format!(
                "`{from}` does not exist in the container"
            )));
        }
        Err(EngineError::ContainerNotFound { .. }) => {
            return Err(ObsError::Missing("the container is gone".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let to = to.to_path_buf();
    let failed = |what: &str, p: &Path, e: std::io::Error| {
        ObsError::Missing(format!("cannot {what} `{}`: {e}", p.display()))
    };
    tokio::task::spawn_blocking(move || {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries()
            .map_err(|e| ObsError::Internal(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| ObsError::Internal(e.to_string()))?;
            let path = entry
                .path()
                .map_err(|e| ObsError::Internal(e.to_string()))?
                .into_owned();
            // The archive names entries from `from`'s last component: `x`, `x/a`...
            let mut parts = path.components();
            parts.next();
            let rel: PathBuf = parts.collect();
            if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                continue;
            }
            let dest = if rel.as_os_str().is_empty() {
                to.clone()
            } else {
                to.join(&rel)
            };
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| failed("create", parent, e))?;
            }
            if !entry.header().entry_type().is_dir()
                && std::fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir())
            {
                std::fs::remove_file(&dest).map_err(|e| failed("replace", &dest, e))?;
            }
            entry.unpack(&dest).map_err(|e| failed("write", &dest, e))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| ObsError::Internal(e.to_string()))?
}
