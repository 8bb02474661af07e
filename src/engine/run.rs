//! The scheduler: runs plan steps as tasks as soon as their dependencies
//! are done, and reports every outcome as an event.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::Ctx;
use super::actual::{Actual, holds};
use super::compose::{self, Stack};
use super::container::{self, Running};
use super::docker::BuildProgress;
use super::host::{self, HostResult};
use super::image::{self, ImageFacts};
use super::observe::{ObsError, Observed, process_text, tail};
use super::poll::{self, Sample};
use crate::compile::{Check, PathStep, Program, SubjectSpec};
use crate::plan::{Plan, StepId, StepKind, SubjectRef};
use crate::report::event::{Activity, Progress, Task};
use crate::report::{CheckResult, Event, Outcome, SetupFailure};

/// How a finished step left things.
#[derive(Clone, Debug)]
enum State {
    Done,
    /// A subject could not be set up; everything after it is skipped.
    Failed {
        subject: SubjectRef,
        reason: String,
    },
}

/// Where a step's final state is published.
type StateRx = watch::Receiver<Option<State>>;

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
    /// At most this many spec files set up and run at the same time
    /// (builds, containers, stacks); their containers are removed as soon
    /// as a file is done. None: one per CPU core ([`default_jobs`]).
    pub jobs: Option<usize>,
    /// Stop at the first failed expectation.
    pub fail_fast: bool,
    /// Stop when this moment passes.
    pub deadline: Option<std::time::Instant>,
    /// Leave containers and stacks in place (no early removal).
    pub keep: bool,
}

/// How long the engine has to answer a ping after an engine error before it counts as lost.
pub const ENGINE_PING: std::time::Duration = std::time::Duration::from_secs(5);

/// Spec files run at the same time when `--jobs` is not given: one per CPU core, so that
/// dspec's own load does not slow the services it measures.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Per spec file: its share of `--jobs`.
struct FileSlot {
    /// Steps of the file not finished yet.
    remaining: std::sync::atomic::AtomicUsize,
    permit: tokio::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>,
}

struct Shared {
    options: RunOptions,
    jobs: Option<Arc<tokio::sync::Semaphore>>,
    files: Vec<FileSlot>,
    /// Set by `--fail-fast` on the first failure.
    stop: tokio::sync::Notify,
    /// Set when the engine no longer answers: the run stops (exit 3).
    lost: tokio::sync::Notify,
    engine_lost: std::sync::atomic::AtomicBool,
    program: Arc<Program>,
    plan: Arc<Plan>,
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
    images: Mutex<HashMap<StepId, Arc<ImageFacts>>>,
    containers: Mutex<HashMap<StepId, Arc<Running>>>,
    hosts: Mutex<HashMap<StepId, Arc<HostResult>>>,
    stacks: Mutex<HashMap<StepId, Arc<Stack>>>,
    out: Mutex<RunOutput>,
    /// Every step runs holding it for reading; a step that measures a time budget holds it
    /// for writing, so nothing else of the run is in flight meanwhile.
    quiet: Arc<tokio::sync::RwLock<()>>,
    /// The quiet slot of a container whose `startup` is measured: taken by its `Run` step,
    /// kept until its `Ready` step ends (start to healthy, measured alone).
    held: Mutex<HashMap<StepId, tokio::sync::OwnedRwLockWriteGuard<()>>>,
}

impl Shared {
    fn emit(&self, e: Event) {
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
            self.engine_lost
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.lost.notify_one();
        }
    }

    /// Tells the progress view what `subject` of `file` is doing.
    fn progress(&self, subject: &SubjectRef, activity: Activity) {
        let _ = self.events.send(Event::Progress(Progress {
            file: subject.file,
            task: Task::Subject(subject.name.clone()),
            activity,
        }));
    }

    /// `subject` is set up: `text` (`built`, `started`...) after `took`.
    fn ready(&self, subject: &SubjectRef, text: String, took: std::time::Duration) {
        self.progress(subject, Activity::Ready { text, took });
    }
}

/// A step's hold on the quiet lock.
enum Slot<'a> {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, ()>),
    Alone(tokio::sync::OwnedRwLockWriteGuard<()>),
}

/// The spec file a step belongs to: its check's, or its first subject's
/// (a build shared by several files belongs to the first).
fn owner(step: &crate::plan::Step) -> Option<usize> {
    step.check
        .map(|c| c.file)
        .or_else(|| step.subjects.first().map(|s| s.file))
}

/// Runs every step of the plan. Dropping the future aborts the steps still
/// running (cleanup is the caller's, so it also happens on Ctrl-C).
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
    let shared = Arc::new(Shared {
        jobs: Some(Arc::new(tokio::sync::Semaphore::new(
            options.jobs.unwrap_or_else(default_jobs).max(1),
        ))),
        files: counts
            .into_iter()
            .map(|n| FileSlot {
                remaining: std::sync::atomic::AtomicUsize::new(n),
                permit: tokio::sync::Mutex::new(None),
            })
            .collect(),
        stop: tokio::sync::Notify::new(),
        lost: tokio::sync::Notify::new(),
        engine_lost: std::sync::atomic::AtomicBool::new(false),
        options: options.clone(),
        program,
        plan: plan.clone(),
        ctx,
        events,
        images: Mutex::new(HashMap::new()),
        containers: Mutex::new(HashMap::new()),
        hosts: Mutex::new(HashMap::new()),
        stacks: Mutex::new(HashMap::new()),
        out: Mutex::new(RunOutput::default()),
        quiet: Arc::new(tokio::sync::RwLock::new(())),
        held: Mutex::new(HashMap::new()),
    });
    let (senders, receivers): (Vec<_>, Vec<StateRx>) =
        plan.steps.iter().map(|_| watch::channel(None)).unzip();
    let mut tasks = JoinSet::new();
    for (step, tx) in plan.steps.iter().zip(senders) {
        if matches!(step.kind, StepKind::Cleanup) {
            continue;
        }
        let deps: Vec<watch::Receiver<Option<State>>> =
            step.deps.iter().map(|d| receivers[*d].clone()).collect();
        let shared = shared.clone();
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
            let file = owner(&shared.plan.steps[id]);
            if let (Some(jobs), Some(f)) = (&shared.jobs, file) {
                let mut slot = shared.files[f].permit.lock().await;
                if slot.is_none() {
                    *slot = jobs.clone().acquire_owned().await.ok();
                }
            }
            let errors_before = shared.infra_errors();
            let state = {
                // Skipped steps do nothing, and a `within` clock runs from its subject's start
                // whatever else happens: they never wait for a quiet slot to end (their light
                // polling does not count as load).
                // A `Ready` step inherits its `Run` step's quiet slot.
                let step = &shared.plan.steps[id];
                let anchored = step.check.is_some_and(|c| {
                    shared.program.files[c.file].checks[c.index].anchored()
                });
                let inherits = matches!(step.kind, StepKind::Ready { run_step } if shared.plan.steps[run_step].quiet);
                let slot = match (failed.is_some() || anchored || inherits, step.quiet) {
                    (true, _) => None,
                    (false, true) => Some(Slot::Alone(shared.quiet.clone().write_owned().await)),
                    (false, false) => Some(Slot::Shared(shared.quiet.read().await)),
                };
                let state = run_step(&shared, id, failed).await;
                match (slot, &step.kind, &state) {
                    // A container whose `startup` is measured: the slot stays taken until
                    // its `Ready` step ends.
                    (Some(Slot::Alone(guard)), StepKind::Run { .. }, State::Done)
                        if shared.plan.steps.iter().any(|s| matches!(s.kind, StepKind::Ready { run_step } if run_step == id)) =>
                    {
                        shared.held.lock().expect("held lock").insert(id, guard);
                    }
                    (_, StepKind::Ready { run_step }, _) => {
                        shared.held.lock().expect("held lock").remove(run_step);
                    }
                    _ => {}
                }
                state
            };
            // An engine error: is the engine still there at all?
            if shared.infra_errors() > errors_before {
                shared.check_engine().await;
            }
            let _ = tx.send(Some(state));
            if let Some(f) = file
                && shared.files[f]
                    .remaining
                    .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
                    == 1
            {
                file_done(&shared, f).await;
                let _ = shared.events.send(Event::FileDone { file: f });
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
        _ = shared.stop.notified() => Some("--fail-fast stopped the run"),
        _ = shared.lost.notified() => Some("the Docker engine stopped answering"),
        _ = deadline => Some("the run hit its --timeout"),
    };
    drop(tasks);
    let mut out = std::mem::take(&mut *shared.out.lock().expect("run output lock"));
    out.stopped = stopped;
    out.engine_lost = shared.engine_lost.load(std::sync::atomic::Ordering::SeqCst);
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
                    duration: std::time::Duration::ZERO,
                    quiet: false,
                });
            }
        }
    }
    out
}

/// A file's steps are all done: with `--jobs`, its containers and stacks
/// go now (they are not needed any more) and its slot is freed.
async fn file_done(shared: &Arc<Shared>, file: usize) {
    let Some(_) = &shared.jobs else { return };
    if !shared.options.keep {
        let steps: Vec<StepId> = shared
            .plan
            .steps
            .iter()
            .filter(|s| s.check.is_none() && owner(s) == Some(file))
            .map(|s| s.id)
            .collect();
        let containers: Vec<Arc<Running>> = {
            let map = shared.containers.lock().expect("containers lock");
            steps.iter().filter_map(|id| map.get(id).cloned()).collect()
        };
        for c in containers {
            if shared.ctx.engine.remove_container(&c.id).await.is_ok() {
                shared.ctx.gone("container", &c.name);
            }
        }
        let stacks: Vec<Arc<Stack>> = {
            let map = shared.stacks.lock().expect("stacks lock");
            steps.iter().filter_map(|id| map.get(id).cloned()).collect()
        };
        for s in stacks {
            shared.ctx.take_down(&s.project).await;
        }
    }
    shared.files[file].permit.lock().await.take();
}

async fn run_step(shared: &Arc<Shared>, id: StepId, failed: Option<(SubjectRef, String)>) -> State {
    let step = &shared.plan.steps[id];
    if let Some(c) = step.check {
        let started = Instant::now();
        let outcome = match failed {
            Some((subject, reason)) => Outcome::Skipped {
                subject: subject.name,
                reason,
            },
            None => {
                if let Some((_, limit)) = modifier_of(&shared.program.files[c.file].checks[c.index])
                {
                    let _ = shared.events.send(Event::Progress(Progress {
                        file: c.file,
                        task: Task::Check(c.index),
                        activity: Activity::Waiting { limit },
                    }));
                }
                observe_check(
                    shared,
                    step.subjects[0].clone(),
                    &shared.program.files[c.file].checks[c.index],
                )
                .await
            }
        };
        let quiet = step.quiet && outcome_ran(&outcome);
        shared.emit(Event::CheckDone(CheckResult {
            file: c.file,
            index: c.index,
            outcome,
            duration: started.elapsed(),
            quiet: quiet || quiet_setup(shared, id),
        }));
        return State::Done;
    }
    if let Some((subject, reason)) = failed {
        return State::Failed { subject, reason };
    }
    match &step.kind {
        StepKind::Build { .. } | StepKind::Inspect { .. } => setup_image(shared, id).await,
        StepKind::Run { image_step } => setup_container(shared, id, *image_step).await,
        StepKind::Ready { run_step } => ready_container(shared, *run_step).await,
        StepKind::Host { .. } => setup_host(shared, id).await,
        StepKind::Compose { .. } => setup_stack(shared, id).await,
        StepKind::Observe | StepKind::Action | StepKind::Cleanup => State::Done,
    }
}

/// Whether an outcome comes from a real observation (not a skip or an engine error).
fn outcome_ran(o: &Outcome) -> bool {
    matches!(o, Outcome::Passed { .. } | Outcome::Failed { .. })
}

/// Whether the check at step `id` measures a budget whose measurement happened in a quiet
/// setup step (`build.duration`, `startup`, a command's `duration`).
fn quiet_setup(shared: &Shared, id: StepId) -> bool {
    let step = &shared.plan.steps[id];
    let Some(c) = step.check else { return false };
    let check = &shared.program.files[c.file].checks[c.index];
    match check.budget() {
        Some(crate::compile::Budget::Check) | None => false,
        Some(_) => shared
            .plan
            .setup_step(&step.subjects[0])
            .is_some_and(|s| shared.plan.steps[s].quiet),
    }
}

/// The started container of a `Run` step.
fn container_of(shared: &Shared, run_step: StepId) -> Option<Arc<Running>> {
    shared
        .containers
        .lock()
        .expect("containers lock")
        .get(&run_step)
        .cloned()
}

/// A `Ready` step: waits until the container is healthy (or running).
async fn ready_container(shared: &Arc<Shared>, run_step: StepId) -> State {
    let subject = shared.plan.steps[run_step].subjects[0].clone();
    let Some(c) = container_of(shared, run_step) else {
        return setup_failed(
            shared,
            &subject,
            "the container was not started".into(),
            Vec::new(),
            true,
        );
    };
    shared.progress(
        &subject,
        Activity::Working {
            text: if c.has_health {
                "waiting until healthy"
            } else {
                "waiting until running"
            }
            .into(),
        },
    );
    match container::ready(&shared.ctx.engine, &c).await {
        Ok(()) => {
            let took = c.started.at.elapsed();
            shared.ready(&subject, "ready".into(), took);
            State::Done
        }
        Err(e) => setup_failed(shared, &subject, e.message, e.output, e.infrastructure),
    }
}

fn setup_failed(
    shared: &Shared,
    subject: &SubjectRef,
    message: String,
    output: Vec<String>,
    infrastructure: bool,
) -> State {
    shared.emit(Event::SetupFailed(SetupFailure {
        file: subject.file,
        subject: subject.name.clone(),
        message: message.clone(),
        output,
        infrastructure,
    }));
    let what = match shared.program.files[subject.file]
        .subject(&subject.name)
        .map(|s| &s.spec)
    {
        Some(SubjectSpec::Run(_)) => "container",
        Some(SubjectSpec::Host(_)) => "host command",
        Some(SubjectSpec::Compose(_)) => "stack",
        _ => "subject",
    };
    State::Failed {
        subject: subject.clone(),
        reason: format!("{what} `{}` could not be set up", subject.name),
    }
}

async fn setup_container(shared: &Arc<Shared>, id: StepId, image_step: StepId) -> State {
    let subject = shared.plan.steps[id].subjects[0].clone();
    let def = shared.program.files[subject.file]
        .subject(&subject.name)
        .expect("container subject");
    let SubjectSpec::Run(spec) = &def.spec else {
        return State::Done;
    };
    let Some(facts) = shared
        .images
        .lock()
        .expect("images lock")
        .get(&image_step)
        .cloned()
    else {
        return setup_failed(
            shared,
            &subject,
            "its image is not available".into(),
            Vec::new(),
            true,
        );
    };
    // The run network lets containers reach each other by name; a lone
    // container does without it (one network less to create and remove).
    let containers = shared.program.files[subject.file]
        .subjects
        .iter()
        .filter(|s| s.used && matches!(s.spec, SubjectSpec::Run(_)))
        .count();
    let network = if containers > 1 {
        match shared.ctx.network(subject.file, None).await {
            Ok(n) => Some(n),
            Err(e) => return setup_failed(shared, &subject, e, Vec::new(), true),
        }
    } else {
        None
    };
    shared.progress(
        &subject,
        Activity::Working {
            text: "starting".into(),
        },
    );
    let started = Instant::now();
    match container::start(
        &shared.ctx,
        subject.file,
        &subject.name,
        spec,
        &facts,
        network.as_deref(),
    )
    .await
    {
        Ok(running) => {
            let running = Arc::new(running);
            shared
                .containers
                .lock()
                .expect("containers lock")
                .insert(id, running.clone());
            shared.ready(&subject, "started".into(), started.elapsed());
            State::Done
        }
        Err(e) => setup_failed(shared, &subject, e.message, e.output, e.infrastructure),
    }
}

async fn setup_stack(shared: &Arc<Shared>, id: StepId) -> State {
    let subject = shared.plan.steps[id].subjects[0].clone();
    let file = &shared.program.files[subject.file];
    let Some(SubjectSpec::Compose(spec)) = file.subject(&subject.name).map(|s| &s.spec) else {
        return State::Done;
    };
    // `up` only when an expectation looks at running services.
    let up = shared
        .plan
        .steps
        .iter()
        .filter(|s| s.subjects.first() == Some(&subject))
        .any(|s| {
            s.check.is_some_and(|c| {
                matches!(shared.program.files[c.file].checks[c.index].path.first(),
                Some(PathStep::Field { name, .. }) if name == "service")
            })
        });
    shared.progress(
        &subject,
        Activity::Working {
            text: if up { "compose up" } else { "compose config" }.into(),
        },
    );
    let started = Instant::now();
    match compose::setup(
        &shared.ctx,
        subject.file,
        &subject.name,
        spec,
        &file.dir,
        up,
    )
    .await
    {
        Ok(stack) => {
            let text = match &stack.up {
                Some(Ok(())) => "up",
                Some(Err(_)) => "did not come up",
                None => "config read",
            };
            shared.ready(&subject, text.into(), started.elapsed());
            if let Some(Err(e)) = &stack.up {
                // Shown once; service expectations point at it.
                let lines: Vec<String> = e.message.lines().map(str::to_string).collect();
                let (message, output) = match lines.split_first() {
                    Some((m, rest)) => (m.clone(), rest.to_vec()),
                    None => (e.message.clone(), Vec::new()),
                };
                shared.emit(Event::SetupFailed(SetupFailure {
                    file: subject.file,
                    subject: subject.name.clone(),
                    message,
                    output,
                    infrastructure: e.infrastructure,
                }));
            }
            shared
                .stacks
                .lock()
                .expect("stacks lock")
                .insert(id, Arc::new(stack));
            State::Done
        }
        Err(e) => setup_failed(shared, &subject, e, Vec::new(), true),
    }
}

/// The running container a subject of a file names, if it runs.
fn running(shared: &Shared, file: usize, name: &str) -> Option<Arc<Running>> {
    let step = shared.plan.setup_step(&SubjectRef {
        file,
        name: name.to_string(),
    })?;
    shared
        .containers
        .lock()
        .expect("containers lock")
        .get(&step)
        .cloned()
}

async fn setup_host(shared: &Arc<Shared>, id: StepId) -> State {
    let subject = shared.plan.steps[id].subjects[0].clone();
    let file = &shared.program.files[subject.file];
    let Some(SubjectSpec::Host(spec)) = file.subject(&subject.name).map(|s| &s.spec) else {
        return State::Done;
    };
    let lookup = |name: &str| running(shared, subject.file, name);
    // The command reaches the run's engine (a `docker` or Compose call in it); its own `env`
    // settings come after and win.
    let mut env = shared.ctx.engine.versions().command_env.clone();
    for (k, v) in &spec.env {
        match container::host_env_value(&shared.ctx, v, &lookup).await {
            Ok(val) => env.push((k.clone(), val)),
            Err(e) => return setup_failed(shared, &subject, e, Vec::new(), false),
        }
    }
    let workdir = spec.workdir.clone().unwrap_or_else(|| file.dir.clone());
    let command = match super::actual::resolve_text(&spec.command) {
        Ok(c) => c,
        Err(e) => return setup_failed(shared, &subject, e, Vec::new(), false),
    };
    shared.progress(
        &subject,
        Activity::Working {
            text: format!("running `{}`", shared.ctx.redact(&command)),
        },
    );
    match host::run(
        &command,
        &env,
        &workdir,
        spec.timeout.unwrap_or(host::DEFAULT_TIMEOUT),
    )
    .await
    {
        Ok(r) => {
            shared.ready(&subject, format!("exited {}", r.exit_code), r.duration);
            shared
                .hosts
                .lock()
                .expect("hosts lock")
                .insert(id, Arc::new(r));
            State::Done
        }
        Err(e) => setup_failed(shared, &subject, e, Vec::new(), false),
    }
}

/// Paths whose content the checks on an image step read.
fn wanted_contents(shared: &Shared, id: StepId) -> BTreeSet<String> {
    let mut wanted = BTreeSet::new();
    for s in &shared.plan.steps {
        let Some(c) = s.check else { continue };
        if !shared.plan.steps[id].subjects.contains(&s.subjects[0]) {
            continue;
        }
        let check = &shared.program.files[c.file].checks[c.index];
        if let [
            PathStep::Field { name, args },
            PathStep::Field { name: prop, .. },
            ..,
        ] = check.path.as_slice()
            && name == "file"
            && prop == "content"
            && let Some(crate::compile::value::Val::Text(t)) = args.first()
        {
            wanted.insert(t.to_string());
        }
    }
    wanted
}

async fn setup_image(shared: &Arc<Shared>, id: StepId) -> State {
    let step = &shared.plan.steps[id];
    let first = step.subjects[0].clone();
    let def = shared.program.files[first.file]
        .subject(&first.name)
        .expect("image subject");
    let fail = |message: String, output: Vec<String>, infrastructure: bool| {
        for s in &step.subjects {
            shared.emit(Event::SetupFailed(SetupFailure {
                file: s.file,
                subject: s.name.clone(),
                message: message.clone(),
                output: output.clone(),
                infrastructure,
            }));
        }
        State::Failed {
            subject: first.clone(),
            reason: match &def.spec {
                SubjectSpec::Build(_) => format!("build of `{}` failed", first.name),
                _ => format!("image `{}` is not available", first.name),
            },
        }
    };
    let wanted = wanted_contents(shared, id);
    let facts = match &def.spec {
        SubjectSpec::Build(spec) => {
            let hash = match &step.kind {
                StepKind::Build { hash, .. } => hash.clone(),
                _ => String::new(),
            };
            let base = spec
                .context
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_else(|| "image".into());
            let name: String = base
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let target = spec
                .target
                .as_deref()
                .map(|t| format!("-{}", t.to_lowercase()))
                .unwrap_or_default();
            let tag = format!(
                "dspec/{}{target}:{}",
                name.trim_matches(['-', '.', '_']),
                &hash[..12]
            );
            let file = first.file;
            let subject = first.name.clone();
            let events = shared.events.clone();
            let mut progress = move |p: BuildProgress| {
                if let BuildProgress::Step {
                    number,
                    total,
                    instruction,
                } = p
                {
                    let _ = events.send(Event::Progress(Progress {
                        file,
                        task: Task::Subject(subject.clone()),
                        activity: Activity::Working {
                            text: format!("build step {number}/{total}: {instruction}"),
                        },
                    }));
                }
            };
            match image::build(
                &shared.ctx,
                spec,
                &tag,
                &format!("build-{}", &hash[..12]),
                &mut progress,
            )
            .await
            {
                Ok((info, duration, ctx, _log)) => {
                    for s in &step.subjects {
                        shared.ready(s, "built".into(), duration);
                    }
                    ImageFacts::new(info, Some(duration), Some(ctx), wanted)
                }
                Err(f) => return fail(f.message, f.output, f.infrastructure),
            }
        }
        SubjectSpec::Existing { reference } => {
            let reference = reference.to_string();
            let started = Instant::now();
            match shared.ctx.engine.inspect_image(&reference).await {
                Ok(Some(info)) => {
                    for s in &step.subjects {
                        shared.ready(s, "present".into(), started.elapsed());
                    }
                    ImageFacts::new(info, None, None, wanted)
                }
                Ok(None) => {
                    return fail(
                        format!(
                            "`{reference}` is not in the engine; dspec never pulls: build it or `docker load` it first"
                        ),
                        Vec::new(),
                        true,
                    );
                }
                Err(e) => return fail(e.to_string(), Vec::new(), true),
            }
        }
        _ => return fail("not an image".into(), Vec::new(), true),
    };
    shared
        .images
        .lock()
        .expect("images lock")
        .insert(id, Arc::new(facts));
    State::Done
}

async fn observe_check(shared: &Arc<Shared>, subject: SubjectRef, check: &Check) -> Outcome {
    let Some(setup) = shared.plan.setup_step(&subject) else {
        return Outcome::Errored {
            message: "no setup step".into(),
        };
    };
    let ctx = &shared.ctx;
    let modifier = modifier_of(check);
    match &shared.plan.steps[setup].kind {
        StepKind::Build { .. } | StepKind::Inspect { .. } => {
            let facts = shared
                .images
                .lock()
                .expect("images lock")
                .get(&setup)
                .cloned();
            let observed = match facts {
                Some(f) => image::observe(ctx, &f, &check.path).await,
                None => Err(ObsError::Engine("the image is not available".into())),
            };
            evaluate(shared, check, observed).1
        }
        StepKind::Host { .. } => {
            let result = shared
                .hosts
                .lock()
                .expect("hosts lock")
                .get(&setup)
                .cloned();
            let observed = match result {
                Some(r) => host_property(shared, &r, &check.path),
                None => Err(ObsError::Engine("the command did not run".into())),
            };
            evaluate(shared, check, observed).1
        }
        StepKind::Run { .. } => {
            let Some(c) = container_of(shared, setup) else {
                return Outcome::Errored {
                    message: "the container is not running".into(),
                };
            };
            let anchor = c.anchor();
            let start = if check.anchored() {
                anchor.at
            } else {
                Instant::now()
            };
            let health = is_health(check);
            let until = modifier.map(|(_, d)| start + d);
            let sampled = poll::sample(
                modifier,
                start,
                || async {
                    let observed = container::observe(ctx, &c, &check.path, until).await;
                    let (held, outcome) = evaluate(shared, check, observed);
                    let held_since = if held && health && check.anchored() {
                        healthy_since(ctx, &c.id, anchor).await
                    } else {
                        None
                    };
                    Sample {
                        held,
                        value: outcome,
                        held_since,
                    }
                },
                |until| {
                    let c = c.clone();
                    async move {
                        if health {
                            // Event-driven: wakes when the health status changes
                            // (the wait returns at once while it stays as it is).
                            let status = |i: Option<super::docker::ContainerInfo>| {
                                i.and_then(|i| i.health).map(|h| h.status)
                            };
                            let before = status(ctx.engine.inspect_container(&c.id).await.ok());
                            let _ = ctx.engine.wait_health_event(&c.id, until).await;
                            let after = status(ctx.engine.inspect_container(&c.id).await.ok());
                            if before == after {
                                tokio::time::sleep_until(until.into()).await;
                            }
                        } else {
                            tokio::time::sleep_until(until.into()).await;
                        }
                    }
                },
            )
            .await;
            if check.barrier {
                c.acted(after_action(ctx, &c.id, check).await);
            }
            with_samples(ctx, check, sampled, || {
                container::evidence(&ctx.engine, &c.id)
            })
            .await
        }
        StepKind::Compose { .. } => {
            let Some(stack) = shared
                .stacks
                .lock()
                .expect("stacks lock")
                .get(&setup)
                .cloned()
            else {
                return Outcome::Errored {
                    message: "the stack is not available".into(),
                };
            };
            let runtime = matches!(check.path.first(), Some(PathStep::Field { name, .. }) if name == "service");
            if runtime && let Some(Err(_)) = &stack.up {
                return Outcome::Skipped {
                    subject: subject.name.clone(),
                    reason: format!("stack `{}` did not come up", subject.name),
                };
            }
            // A service's `within` clock starts at its container's start or its last action.
            let service = service_of(check);
            let anchor = match &service {
                Some(name) if check.anchored() => compose::service_anchor(ctx, &stack, name).await,
                _ => None,
            };
            let start = anchor.map(|a| a.at).unwrap_or_else(Instant::now);
            let health = is_health(check);
            let until = modifier.map(|(_, d)| start + d);
            let sampled = poll::sample(
                modifier,
                start,
                || async {
                    let observed = compose::observe(ctx, &stack, &check.path, until).await;
                    let (held, outcome) = evaluate(shared, check, observed);
                    let mut held_since = None;
                    if let (true, true, Some(a), Some(name)) = (held, health, anchor, &service)
                        && let Ok(cs) = compose::service_containers(ctx, &stack, name).await
                        && let Some(first) = cs.first()
                    {
                        held_since = healthy_since(ctx, &first.id, a).await;
                    }
                    Sample {
                        held,
                        value: outcome,
                        held_since,
                    }
                },
                |until| async move { tokio::time::sleep_until(until.into()).await },
            )
            .await;
            if check.barrier
                && let Some(name) = &service
                && let Ok(cs) = compose::service_containers(ctx, &stack, name).await
                && let Some(first) = cs.first()
            {
                let at = after_action(ctx, &first.id, check).await;
                stack.acted(name, at);
            }
            with_samples(ctx, check, sampled, || {
                compose::evidence(ctx, &stack, &check.path)
            })
            .await
        }
        _ => Outcome::Errored {
            message: "not an observable subject".into(),
        },
    }
}

/// Whether a check looks at `health` (of a container or a service).
fn is_health(check: &Check) -> bool {
    let fields: Vec<&str> = check
        .path
        .iter()
        .filter_map(|s| match s {
            PathStep::Field { name, .. } => Some(name.as_str()),
            PathStep::Index(_) => None,
        })
        .collect();
    matches!(fields.as_slice(), ["health"] | ["service", "health"])
}

/// The service a stack check is about: `service("web")...`.
fn service_of(check: &Check) -> Option<String> {
    match check.path.first() {
        Some(PathStep::Field { name, args }) if name == "service" => {
            Some(super::observe::arg_text(args, 0))
        }
        _ => None,
    }
}

/// When a container turned healthy after `anchor`, from the engine's own event time.
async fn healthy_since(ctx: &Ctx, id: &str, anchor: container::Anchor) -> Option<Instant> {
    match ctx.engine.first_healthy_since(id, anchor.engine).await {
        Ok(Some(t)) => Some(anchor.later(t)),
        _ => None,
    }
}

/// Where `within` clocks start after an action on a container: its new start for
/// `restart()`, else the end of the action.
async fn after_action(ctx: &Ctx, id: &str, check: &Check) -> container::Anchor {
    let now = container::Anchor::now();
    let restarted = matches!(check.path.first(), Some(PathStep::Field { name, .. }) if name == "restart")
        || matches!(check.path.as_slice(), [PathStep::Field { name: s, .. }, PathStep::Field { name, .. }, ..] if s == "service" && name == "restart");
    if restarted
        && let Ok(info) = ctx.engine.inspect_container(id).await
        && let Some(t) = info.started_at
    {
        return container::Anchor::engine_time(
            t,
            now.at - std::time::Duration::from_secs(60),
            now.at,
        );
    }
    now
}

/// The `within`/`for` of a check, as the sampler takes it.
fn modifier_of(check: &Check) -> Option<(crate::ast::ModifierKind, std::time::Duration)> {
    check
        .modifier
        .as_ref()
        .map(|m| (m.kind, std::time::Duration::from_millis(m.duration_ms)))
}

/// Puts the sampling facts and, on failure, the (masked) evidence into an outcome. A
/// `within` condition that first held after its deadline fails, saying when it held.
async fn with_samples<F>(
    ctx: &Ctx,
    check: &Check,
    sampled: poll::Sampled<Outcome>,
    evidence: impl FnOnce() -> F,
) -> Outcome
where
    F: std::future::Future<Output = Vec<String>>,
{
    let mut outcome = sampled.value;
    let within = check
        .modifier
        .as_ref()
        .filter(|m| m.kind == crate::ast::ModifierKind::Within);
    let at_ms = sampled.at.as_millis() as u64;
    if let (Some(m), Outcome::Passed { actual, .. }) = (within, &outcome)
        && sampled.held
        && at_ms > m.duration_ms
    {
        outcome = Outcome::Failed {
            actual: actual.clone(),
            message: format!(
                "it first held at {}, after the deadline {}{}",
                super::actual::format_duration(sampled.at),
                m.text,
                if check.anchored() {
                    " (counted from the subject's start or its last action)"
                } else {
                    ""
                }
            ),
            samples: sampled.samples,
            at_ms: Some(at_ms),
            evidence: Vec::new(),
        };
    }
    match &mut outcome {
        Outcome::Passed {
            samples, at_ms: a, ..
        } => {
            *samples = sampled.samples;
            if within.is_some() {
                *a = Some(at_ms);
            }
        }
        Outcome::Failed {
            samples,
            at_ms: a,
            evidence: ev,
            ..
        } => {
            *samples = sampled.samples;
            *a = Some(at_ms);
            ev.extend(evidence().await.iter().map(|e| ctx.redact(e)));
        }
        _ => {}
    }
    outcome
}

fn host_property(shared: &Shared, r: &HostResult, steps: &[PathStep]) -> Observed {
    let Some(PathStep::Field { name, .. }) = steps.first() else {
        return Err(ObsError::Missing("empty path".into()));
    };
    let ctx = &shared.ctx;
    let v = match name.as_str() {
        "exit_code" => Actual::Int(r.exit_code),
        "stdout" => Actual::Text(ctx.redact(&process_text(&r.stdout))),
        "stderr" => Actual::Text(ctx.redact(&process_text(&r.stderr))),
        "duration" => Actual::Duration(r.duration),
        other => return Err(ObsError::Missing(format!("a command has no `{other}`"))),
    };
    tail(v, &steps[1..])
}

/// Masks secrets in a JSON value: in its strings and keys, and a number (or a boolean) whose
/// text is a secret becomes the string `***`.
fn redact_json(ctx: &Ctx, j: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match j {
        J::String(s) => J::String(ctx.redact(&s)),
        J::Array(a) => J::Array(a.into_iter().map(|v| redact_json(ctx, v)).collect()),
        J::Object(o) => J::Object(
            o.into_iter()
                .map(|(k, v)| (ctx.redact(&k), redact_json(ctx, v)))
                .collect(),
        ),
        J::Number(n) if ctx.is_secret(&n.to_string()) => J::String("***".into()),
        J::Bool(b) if ctx.is_secret(&b.to_string()) => J::String("***".into()),
        other => other,
    }
}

/// Turns an observation into whether it held and its outcome.
fn evaluate(shared: &Shared, check: &Check, observed: Observed) -> (bool, Outcome) {
    let observed = observed.map(|a| match a {
        Actual::Text(t) => Actual::Text(shared.ctx.redact(&t)),
        Actual::Json(j) => Actual::Json(redact_json(&shared.ctx, j)),
        Actual::List(l) => Actual::List(l.iter().map(|s| shared.ctx.redact(s)).collect()),
        other => other,
    });
    let failed = |actual: Option<Actual>, message: String| Outcome::Failed {
        actual,
        message,
        samples: 1,
        at_ms: None,
        evidence: Vec::new(),
    };
    let passed = |actual: Actual| Outcome::Passed {
        actual: Some(actual),
        samples: 1,
        at_ms: None,
    };
    match observed {
        Err(ObsError::Engine(message)) => (false, Outcome::Errored { message }),
        Err(ObsError::Missing(message)) => (false, failed(None, message)),
        Ok(actual) if check.action_only => (true, passed(actual)),
        Ok(actual) => {
            let verdict = match &check.predicate {
                None => Ok(actual == Actual::Bool(true)),
                Some(p) => holds(&actual, p.op, p.value.as_ref()),
            };
            match verdict {
                Ok(true) => (true, passed(actual)),
                Ok(false) => (false, failed(Some(actual), String::new())),
                Err(message) => (false, failed(Some(actual), message)),
            }
        }
    }
}
