//! The scheduler: runs plan steps as tasks as soon as their dependencies
//! are done, and reports every outcome as an event.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::actual::holds;
use super::docker::BuildProgress;
use super::image::{self, ImageFacts};
use super::observe::ObsError;
use super::{Ctx, stable_hash};
use crate::compile::{Check, PathStep, Program, SubjectSpec};
use crate::plan::{Plan, StepId, StepKind, SubjectRef};
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
}

struct Shared {
    program: Arc<Program>,
    plan: Arc<Plan>,
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
    images: Mutex<HashMap<StepId, Arc<ImageFacts>>>,
    out: Mutex<RunOutput>,
}

impl Shared {
    fn emit(&self, e: Event) {
        let _ = self.events.send(e.clone());
        let mut out = self.out.lock().expect("run output lock");
        match e {
            Event::SetupFailed(f) => out.setup.push(f),
            Event::CheckDone(r) => out.results.push(r),
            Event::Progress { .. } => {}
        }
    }
}

/// Runs every step of the plan. Dropping the future aborts the steps still
/// running (cleanup is the caller's, so it also happens on Ctrl-C).
pub async fn run(
    program: Arc<Program>,
    plan: Arc<Plan>,
    ctx: Arc<Ctx>,
    events: mpsc::UnboundedSender<Event>,
) -> RunOutput {
    let shared = Arc::new(Shared {
        program,
        plan: plan.clone(),
        ctx,
        events,
        images: Mutex::new(HashMap::new()),
        out: Mutex::new(RunOutput::default()),
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
            let state = run_step(&shared, id, failed).await;
            let _ = tx.send(Some(state));
        });
    }
    while tasks.join_next().await.is_some() {}
    let mut out = shared.out.lock().expect("run output lock");
    std::mem::take(&mut *out)
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
                observe_check(
                    shared,
                    step.subjects[0].clone(),
                    &shared.program.files[c.file].checks[c.index],
                )
                .await
            }
        };
        shared.emit(Event::CheckDone(CheckResult {
            file: c.file,
            index: c.index,
            outcome,
            duration: started.elapsed(),
        }));
        return State::Done;
    }
    if let Some((subject, reason)) = failed {
        return State::Failed { subject, reason };
    }
    match &step.kind {
        StepKind::Build { .. } | StepKind::Inspect { .. } => setup_image(shared, id).await,
        StepKind::Run { .. } | StepKind::Compose { .. } | StepKind::Host { .. } => {
            let subject = step.subjects[0].clone();
            let reason =
                "running containers, stacks and host commands is not available in this version"
                    .to_string();
            shared.emit(Event::SetupFailed(SetupFailure {
                file: subject.file,
                subject: subject.name.clone(),
                message: reason.clone(),
                output: Vec::new(),
                infrastructure: true,
            }));
            State::Failed { subject, reason }
        }
        StepKind::Observe | StepKind::Action | StepKind::Cleanup => State::Done,
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
            let key = match &step.kind {
                StepKind::Build {
                    context,
                    dockerfile,
                    target,
                    args,
                    platform,
                } => {
                    format!(
                        "{}|{}|{target:?}|{args:?}|{platform:?}",
                        context.display(),
                        dockerfile.display()
                    )
                }
                _ => String::new(),
            };
            let hash = stable_hash(&key);
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
            let subject = first.name.clone();
            let events = shared.events.clone();
            let mut progress = move |p: BuildProgress| {
                if let BuildProgress::Step {
                    number,
                    total,
                    instruction,
                } = p
                {
                    let _ = events.send(Event::Progress {
                        subject: subject.clone(),
                        text: format!("build step {number}/{total}: {instruction}"),
                    });
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
                    ImageFacts::new(info, Some(duration), Some(ctx), wanted)
                }
                Err(f) => return fail(f.message, f.output, f.infrastructure),
            }
        }
        SubjectSpec::Existing { reference } => {
            let reference = reference.to_string();
            match shared.ctx.engine.inspect_image(&reference).await {
                Ok(Some(info)) => ImageFacts::new(info, None, None, wanted),
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
    let observed = match &shared.plan.steps[setup].kind {
        StepKind::Build { .. } | StepKind::Inspect { .. } => {
            let facts = shared
                .images
                .lock()
                .expect("images lock")
                .get(&setup)
                .cloned();
            match facts {
                Some(f) => image::observe(&shared.ctx, &f, &check.path).await,
                None => Err(ObsError::Engine("the image is not available".into())),
            }
        }
        _ => Err(ObsError::Engine("not available in this version".into())),
    };
    judge(check, observed, 1, None)
}

/// Turns an observation into an outcome.
fn judge(
    check: &Check,
    observed: super::observe::Observed,
    samples: u32,
    at_ms: Option<u64>,
) -> Outcome {
    match observed {
        Err(ObsError::Engine(message)) => Outcome::Errored { message },
        Err(ObsError::Missing(message)) => Outcome::Failed {
            actual: None,
            message,
            samples,
            at_ms,
            evidence: Vec::new(),
        },
        Ok(actual) => {
            if check.action_only {
                return Outcome::Passed {
                    actual: Some(actual),
                    samples,
                };
            }
            let verdict = match &check.predicate {
                None => Ok(actual == super::actual::Actual::Bool(true)),
                Some(p) => holds(&actual, p.op, p.value.as_ref()),
            };
            match verdict {
                Ok(true) => Outcome::Passed {
                    actual: Some(actual),
                    samples,
                },
                Ok(false) => Outcome::Failed {
                    actual: Some(actual),
                    message: String::new(),
                    samples,
                    at_ms,
                    evidence: Vec::new(),
                },
                Err(message) => Outcome::Failed {
                    actual: Some(actual),
                    message,
                    samples,
                    at_ms,
                    evidence: Vec::new(),
                },
            }
        }
    }
}
