//! The scheduler: runs plan steps as tasks as soon as their dependencies are done, within
//! `--jobs`, `--fail-fast`, `--timeout` and the quiet slots of time budgets, and reports every
//! outcome as an event. What a step does is its subject kind's business (`image::setup`,
//! `container::setup`, `compose::setup`, `host::setup`, `judge::check`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock, Semaphore};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::Ctx;
use super::compose::Stack;
use super::container::{Anchor, Running};
use super::container_probe::Memo;
use super::failure::SetupError;
use super::host::HostResult;
use super::image::ImageFacts;
use super::task::TaskResult;
use crate::compile::{Program, SubjectSpec};
use crate::plan::{Plan, Step, StepId, StepKind, SubjectRef};
use crate::report::event::{Activity, Progress, Task};
use crate::report::{CheckResult, Event, Outcome, SetupFailure};

/// How a finished step left things.
#[derive(Clone, Debug)]
pub(super) enum State {
    Done,
    /// A subject could not be set up; everything after it is skipped.
    Failed {
        subject: SubjectRef,
        reason: String,
    },
}

/// What a setup step made, kept for the steps after it.
pub(super) enum Output {
    Image(Arc<ImageFacts>),
    Container(Arc<Running>),
    Host(Arc<HostResult>),
    Stack(Arc<Stack>),
    Request(Arc<super::request::Made>),
    Task(Arc<TaskResult>),
}

#[derive(Default)]
pub struct RunOutput {
    pub results: Vec<CheckResult>,
    pub setup: Vec<SetupFailure>,
    /// Why the run stopped before every step ran (`--fail-fast`, `--timeout`, a lost engine).
    pub stopped: Option<&'static str>,
    /// The engine stopped answering during the run.
    pub engine_lost: bool,
}

/// How a run is bounded.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// At most this many spec files set up and run at the same time (builds, containers,
    /// stacks); their containers are removed as soon as a file is done. None: one per CPU
    /// core ([`default_jobs`]).
    pub jobs: Option<usize>,
    /// Stop at the first failed expectation.
    pub fail_fast: bool,
    /// Stop when this moment passes.
    pub deadline: Option<Instant>,
    /// Leave containers and stacks in place (no early removal).
    pub keep: bool,
}

/// How long the engine has to answer a ping after an engine error before it counts as lost.
pub const ENGINE_PING: Duration = Duration::from_secs(5);

/// Spec files run at the same time when `--jobs` is not given: one per CPU core, so that
/// dspec's own load does not slow the services it measures.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Per spec file: its share of `--jobs`.
struct FileSlot {
    /// Steps of the file not finished yet.
    remaining: AtomicUsize,
    permit: tokio::sync::Mutex<Option<OwnedSemaphorePermit>>,
}

/// Everything the steps of one run share.
pub(super) struct Run {
    pub options: RunOptions,
    pub program: Arc<Program>,
    pub plan: Arc<Plan>,
    pub ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
    /// What each setup step made, indexed by step.
    outputs: Vec<OnceLock<Output>>,
    jobs: Arc<Semaphore>,
    files: Vec<FileSlot>,
    /// Set by `--fail-fast` on the first failure.
    stop: Notify,
    /// Set when the engine no longer answers: the run stops (exit 3).
    lost: Notify,
    engine_lost: AtomicBool,
    out: Mutex<RunOutput>,
    /// Every step runs holding it for reading; a step that measures a time budget holds it
    /// for writing, so nothing else of the run is in flight meanwhile.
    quiet: Arc<RwLock<()>>,
    /// The quiet slot of a container whose `startup` is measured: taken by its `Run` step,
    /// kept until its `Ready` step ends (start to healthy, measured alone).
    held: Mutex<HashMap<StepId, OwnedRwLockWriteGuard<()>>>,
    /// Per (file, check): the one performance of an action call that consecutive
    /// expectations share.
    performances: Mutex<HashMap<(usize, usize), Memo>>,
    /// Per file: when its last `do NAME` ran (later `within` clocks count from there).
    ran: Mutex<HashMap<usize, Anchor>>,
}

impl Run {
    /// Reports an event; a setup failure's texts are masked first.
    pub fn emit(&self, e: Event) {
        let e = match e {
            Event::SetupFailed(mut f) => {
                f.message = self.ctx.redact(&f.message);
                f.output = f.output.iter().map(|l| self.ctx.redact(l)).collect();
                Event::SetupFailed(f)
            }
            other => other,
        };
        let _ = self.events.send(e.clone());
        if self.options.fail_fast && matches!(&e, Event::CheckDone(r) if !r.outcome.passed()) {
            self.stop.notify_one();
        }
        let mut out = self.out.lock().expect("run output lock");
        match e {
            Event::SetupFailed(f) => out.setup.push(f),
            Event::CheckDone(r) => out.results.push(r),
            Event::Progress(_) | Event::FileDone { .. } => {}
        }
    }

    /// Tells the progress view what `subject` of `file` is doing.
    pub fn progress(&self, subject: &SubjectRef, activity: Activity) {
        let _ = self.events.send(Event::Progress(Progress {
            file: subject.file,
            task: Task::Subject(subject.name.clone()),
            activity,
        }));
    }

    /// Tells the progress view what check `index` of `file` is doing.
    pub fn check_progress(&self, file: usize, index: usize, activity: Activity) {
        let _ = self.events.send(Event::Progress(Progress {
            file,
            task: Task::Check(index),
            activity,
        }));
    }

    /// `subject` is set up: `text` (`built`, `started`...) after `took`.
    pub fn ready(&self, subject: &SubjectRef, text: &str, took: Duration) {
        self.progress(
            subject,
            Activity::Ready {
                text: text.to_string(),
                took,
            },
        );
    }

    /// `subject` could not be set up: reported once, and every step after it is skipped.
    pub fn failed(&self, subject: &SubjectRef, e: SetupError) -> State {
        self.failed_all(std::slice::from_ref(subject), e)
    }

    /// Like [`Run::failed`] for a step several subjects share (one build for many files).
    pub fn failed_all(&self, subjects: &[SubjectRef], e: SetupError) -> State {
        for s in subjects {
            self.emit(Event::SetupFailed(SetupFailure {
                file: s.file,
                subject: s.name.clone(),
                message: e.message.clone(),
                output: e.output.clone(),
                infrastructure: e.is_infrastructure(),
            }));
        }
        let first = &subjects[0];
        let reason = match self.program.files[first.file]
            .subject(&first.name)
            .map(|s| &s.spec)
        {
            Some(SubjectSpec::Build(_)) => format!("build of `{}` failed", first.name),
            Some(SubjectSpec::Existing { .. }) => {
                format!("image `{}` is not available", first.name)
            }
            Some(SubjectSpec::Run(_)) => format!("container `{}` could not be set up", first.name),
            Some(SubjectSpec::Host(_)) => {
                format!("host command `{}` could not be set up", first.name)
            }
            Some(SubjectSpec::Compose(_)) => format!("stack `{}` could not be set up", first.name),
            Some(SubjectSpec::Request(_)) => format!("request `{}` could not be made", first.name),
            Some(SubjectSpec::Task(_)) => {
                format!("task `{}` did not run to completion", first.name)
            }
            None => format!("`{}` could not be set up", first.name),
        };
        State::Failed {
            subject: first.clone(),
            reason,
        }
    }

    /// Keeps what setup step `id` made.
    pub fn keep(&self, id: StepId, output: Output) {
        let _ = self.outputs[id].set(output);
    }

    pub fn image(&self, id: StepId) -> Option<Arc<ImageFacts>> {
        match self.outputs[id].get() {
            Some(Output::Image(i)) => Some(i.clone()),
            _ => None,
        }
    }

    pub fn container(&self, id: StepId) -> Option<Arc<Running>> {
        match self.outputs[id].get() {
            Some(Output::Container(c)) => Some(c.clone()),
            _ => None,
        }
    }

    pub fn host(&self, id: StepId) -> Option<Arc<HostResult>> {
        match self.outputs[id].get() {
            Some(Output::Host(h)) => Some(h.clone()),
            _ => None,
        }
    }

    pub fn request(&self, id: StepId) -> Option<Arc<super::request::Made>> {
        match self.outputs[id].get() {
            Some(Output::Request(r)) => Some(r.clone()),
            _ => None,
        }
    }

    pub fn task(&self, id: StepId) -> Option<Arc<TaskResult>> {
        match self.outputs[id].get() {
            Some(Output::Task(t)) => Some(t.clone()),
            _ => None,
        }
    }

    pub fn stack(&self, id: StepId) -> Option<Arc<Stack>> {
        match self.outputs[id].get() {
            Some(Output::Stack(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// The shared performance of check `index` of `file`'s action call (see
    /// [`crate::compile::Check::performance`]).
    pub fn memo(&self, file: usize, index: usize) -> Memo {
        self.performances
            .lock()
            .expect("performances lock")
            .entry((file, index))
            .or_default()
            .clone()
    }

    /// `do NAME` ran a host command or task of `file` at `at`.
    pub fn ran(&self, file: usize, at: Anchor) {
        self.ran.lock().expect("ran lock").insert(file, at);
    }

    /// When the last `do NAME` of `file` ran, if one did.
    pub fn ran_at(&self, file: usize) -> Option<Anchor> {
        self.ran.lock().expect("ran lock").get(&file).copied()
    }

    /// The image a subject of a file names, once it is built or found.
    pub fn image_named(&self, file: usize, name: &str) -> Option<Arc<ImageFacts>> {
        self.image(self.plan.setup_step(&SubjectRef {
            file,
            name: name.to_string(),
        })?)
    }

    /// The stack a subject of a file names, once its setup ran.
    pub fn stack_named(&self, file: usize, name: &str) -> Option<Arc<Stack>> {
        self.stack(self.plan.setup_step(&SubjectRef {
            file,
            name: name.to_string(),
        })?)
    }

    /// The running container a subject of a file names, if it runs.
    pub fn running(&self, file: usize, name: &str) -> Option<Arc<Running>> {
        let step = self.plan.setup_step(&SubjectRef {
            file,
            name: name.to_string(),
        })?;
        self.container(step)
    }

    /// Engine errors so far: infrastructure setup failures and errored expectations.
    fn infra_errors(&self) -> usize {
        let out = self.out.lock().expect("run output lock");
        out.setup.iter().filter(|f| f.infrastructure).count()
            + out
                .results
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Errored { .. }))
                .count()
    }

    /// After an engine error: when the engine does not answer a ping within a few seconds,
    /// it is lost and the run stops.
    async fn check_engine(&self) {
        if self.ctx.engine.ping(ENGINE_PING).await.is_err() {
            self.engine_lost.store(true, Ordering::SeqCst);
            self.lost.notify_one();
        }
    }
}

/// A step's hold on the quiet lock.
enum Slot<'a> {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, ()>),
    Alone(OwnedRwLockWriteGuard<()>),
}

/// The spec file a step belongs to: its check's, or its first subject's (a build shared by
/// several files belongs to the first).
fn owner(step: &Step) -> Option<usize> {
    step.check
        .map(|c| c.file)
        .or_else(|| step.subjects.first().map(|s| s.file))
}

/// Runs every step of the plan. Dropping the future aborts the steps still running (cleanup
/// is the caller's, so it also happens on Ctrl-C).
pub async fn run(
    program: Arc<Program>,
    plan: Arc<Plan>,
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
    options: RunOptions,
) -> RunOutput {
    let mut counts = vec![0usize; program.files.len()];
    for s in &plan.steps {
        if let Some(f) = owner(s) {
            counts[f] += 1;
        }
    }
    let run = Arc::new(Run {
        jobs: Arc::new(Semaphore::new(
            options.jobs.unwrap_or_else(default_jobs).max(1),
        )),
        files: counts
            .into_iter()
            .map(|n| FileSlot {
                remaining: AtomicUsize::new(n),
                permit: tokio::sync::Mutex::new(None),
            })
            .collect(),
        outputs: plan.steps.iter().map(|_| OnceLock::new()).collect(),
        stop: Notify::new(),
        lost: Notify::new(),
        engine_lost: AtomicBool::new(false),
        options: options.clone(),
        program,
        plan: plan.clone(),
        ctx,
        events,
        out: Mutex::new(RunOutput::default()),
        quiet: Arc::new(RwLock::new(())),
        held: Mutex::new(HashMap::new()),
        performances: Mutex::new(HashMap::new()),
        ran: Mutex::new(HashMap::new()),
    });
    let (senders, receivers): (Vec<_>, Vec<watch::Receiver<Option<State>>>) =
        plan.steps.iter().map(|_| watch::channel(None)).unzip();
    let mut tasks = JoinSet::new();
    for (step, tx) in plan.steps.iter().zip(senders) {
        if matches!(step.kind, StepKind::Cleanup) {
            continue;
        }
        let deps: Vec<watch::Receiver<Option<State>>> =
            step.deps.iter().map(|d| receivers[*d].clone()).collect();
        let run = run.clone();
        let id = step.id;
        tasks.spawn(async move {
            let mut failed = None;
            for mut rx in deps {
                let state = rx
                    .wait_for(Option::is_some)
                    .await
                    .map(|s| s.clone())
                    .ok()
                    .flatten();
                if let Some(State::Failed { subject, reason }) = state {
                    failed.get_or_insert((subject, reason));
                }
            }
            let file = owner(&run.plan.steps[id]);
            if let Some(f) = file {
                let mut slot = run.files[f].permit.lock().await;
                if slot.is_none() {
                    *slot = run.jobs.clone().acquire_owned().await.ok();
                }
            }
            let errors_before = run.infra_errors();
            let state = in_slot(&run, id, failed).await;
            // An engine error: is the engine still there at all?
            if run.infra_errors() > errors_before {
                run.check_engine().await;
            }
            let _ = tx.send(Some(state));
            if let Some(f) = file
                && run.files[f].remaining.fetch_sub(1, Ordering::SeqCst) == 1
            {
                file_done(&run, f).await;
                let _ = run.events.send(Event::FileDone { file: f });
            }
        });
    }
    let deadline = async {
        match options.deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    let stopped = tokio::select! {
        _ = async { while tasks.join_next().await.is_some() {} } => None,
        _ = run.stop.notified() => Some("--fail-fast stopped the run"),
        _ = run.lost.notified() => Some("the Docker engine stopped answering"),
        _ = deadline => Some("the run hit its --timeout"),
    };
    drop(tasks);
    let mut out = std::mem::take(&mut *run.out.lock().expect("run output lock"));
    out.stopped = stopped;
    out.engine_lost = run.engine_lost.load(Ordering::SeqCst);
    if let Some(reason) = stopped {
        // Every expectation not judged is reported as not run.
        for s in &plan.steps {
            let Some(c) = s.check else { continue };
            if !out
                .results
                .iter()
                .any(|r| r.file == c.file && r.index == c.index)
            {
                out.results.push(CheckResult {
                    file: c.file,
                    index: c.index,
                    outcome: Outcome::Skipped {
                        subject: s.subjects[0].name.clone(),
                        reason: reason.to_string(),
                    },
                    duration: Duration::ZERO,
                    quiet: false,
                });
            }
        }
    }
    out
}

/// Runs step `id` in its slot of the quiet lock. Skipped steps do nothing, and a `within`
/// clock runs from its subject's start whatever else happens: neither waits for a quiet slot
/// to end (light polling does not count as load). A `Ready` step inherits its `Run` step's
/// quiet slot.
async fn in_slot(run: &Arc<Run>, id: StepId, failed: Option<(SubjectRef, String)>) -> State {
    let step = &run.plan.steps[id];
    let anchored = step
        .check
        .is_some_and(|c| run.program.files[c.file].checks[c.index].anchored());
    let inherits =
        matches!(step.kind, StepKind::Ready { run_step } if run.plan.steps[run_step].quiet);
    let slot = match (failed.is_some() || anchored || inherits, step.quiet) {
        (true, _) => None,
        (false, true) => Some(Slot::Alone(run.quiet.clone().write_owned().await)),
        (false, false) => Some(Slot::Shared(run.quiet.read().await)),
    };
    let state = run_step(run, id, failed).await;
    match (slot, &step.kind, &state) {
        // A container whose `startup` is measured: the slot stays taken until its `Ready`
        // step ends.
        (Some(Slot::Alone(guard)), StepKind::Run { .. }, State::Done)
            if run
                .plan
                .steps
                .iter()
                .any(|s| matches!(s.kind, StepKind::Ready { run_step } if run_step == id)) =>
        {
            run.held.lock().expect("held lock").insert(id, guard);
        }
        (_, StepKind::Ready { run_step }, _) => {
            run.held.lock().expect("held lock").remove(run_step);
        }
        _ => {}
    }
    state
}

/// Does what step `id` is for, or, after a failed setup, reports its check as not run.
async fn run_step(run: &Arc<Run>, id: StepId, failed: Option<(SubjectRef, String)>) -> State {
    let step = &run.plan.steps[id];
    if let Some(c) = step.check {
        let started = Instant::now();
        let (outcome, quiet) = match failed {
            Some((subject, reason)) => (
                Outcome::Skipped {
                    subject: subject.name,
                    reason,
                },
                false,
            ),
            None => {
                let outcome = super::judge::check(run, id).await;
                let ran = matches!(outcome, Outcome::Passed { .. } | Outcome::Failed { .. });
                (outcome, ran && quietly_measured(run, id))
            }
        };
        run.emit(Event::CheckDone(CheckResult {
            file: c.file,
            index: c.index,
            outcome,
            duration: started.elapsed(),
            quiet,
        }));
        return State::Done;
    }
    if let Some((subject, reason)) = failed {
        return State::Failed { subject, reason };
    }
    match &step.kind {
        StepKind::Build { .. } | StepKind::Inspect { .. } => super::image::setup(run, id).await,
        StepKind::Run { image_step } => super::container::setup(run, id, *image_step).await,
        StepKind::Ready { run_step } => super::container::setup_ready(run, *run_step).await,
        StepKind::Host { .. } => super::host::setup(run, id).await,
        StepKind::Request { .. } => super::request::setup(run, id).await,
        StepKind::Task { image_step } => super::task::setup(run, id, *image_step).await,
        StepKind::Compose { .. } => super::compose::setup_step(run, id).await,
        StepKind::Observe | StepKind::Action | StepKind::Cleanup => State::Done,
    }
}

/// Whether the check at step `id` measures a time budget, measured in a quiet slot: its own
/// (`duration`, `cpu`), or its setup's (`build.duration`, `startup`, a command's `duration`).
fn quietly_measured(run: &Run, id: StepId) -> bool {
    let step = &run.plan.steps[id];
    let Some(c) = step.check else { return false };
    match run.program.files[c.file].checks[c.index].budget() {
        None => false,
        Some(crate::compile::Budget::Check) => step.quiet,
        Some(_) => run
            .plan
            .setup_step(&step.subjects[0])
            .is_some_and(|s| run.plan.steps[s].quiet),
    }
}

/// A file's steps are all done: its containers and stacks go now (they are not needed any
/// more, and another file may take its `--jobs` slot), unless `--keep`.
async fn file_done(run: &Arc<Run>, file: usize) {
    if !run.options.keep {
        let steps: Vec<StepId> = run
            .plan
            .steps
            .iter()
            .filter(|s| s.check.is_none() && owner(s) == Some(file))
            .map(|s| s.id)
            .collect();
        for id in &steps {
            if let Some(c) = run.container(*id)
                && run.ctx.engine.remove_container(&c.id).await.is_ok()
            {
                run.ctx.gone("container", &c.name);
            }
            if let Some(t) = run.task(*id)
                && run.ctx.engine.remove_container(&t.id).await.is_ok()
            {
                run.ctx.gone("container", &t.name);
            }
        }
        for id in &steps {
            if let Some(s) = run.stack(*id) {
                run.ctx.take_down(&s.project).await;
            }
        }
    }
    run.files[file].permit.lock().await.take();
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
