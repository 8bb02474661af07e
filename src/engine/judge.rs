//! Judging one expectation (or performing one action): the observation its subject kind
//! makes, sampled under `within`/`for` from the right moment, then the verdict.

use std::sync::Arc;
use std::time::Instant;

use super::container::{Anchor, Running};
use super::observe::{ObsError, arg_text};
use super::poll::{self, Sample};
use super::scheduler::Run;
use super::verdict::{evaluate, sampled};
use super::{
    Ctx, compose, compose_probe, container, container_probe, host, http_probe, image, task,
};
use crate::ast::ModifierKind;
use crate::compile::Check;
use crate::plan::{StepId, StepKind};
use crate::report::Outcome;
use crate::report::event::Activity;

/// The `within`/`for` of a check, as the sampler takes it.
fn modifier_of(check: &Check) -> Option<(ModifierKind, std::time::Duration)> {
    check
        .modifier
        .as_ref()
        .map(|m| (m.kind, std::time::Duration::from_millis(m.duration_ms)))
}

/// Judges the check of step `id`.
pub(super) async fn check(run: &Arc<Run>, id: StepId) -> Outcome {
    let step = &run.plan.steps[id];
    let c = step.check.expect("a check step");
    let check = &run.program.files[c.file].checks[c.index];
    let subject = &step.subjects[0];
    let Some(setup) = run.plan.setup_step(subject) else {
        return Outcome::Errored {
            message: "no setup step".into(),
        };
    };
    if let Some((_, limit)) = modifier_of(check) {
        run.check_progress(c.file, c.index, Activity::Waiting { limit });
    }
    let ctx = &run.ctx;
    let memo = check.performance().map(|i| run.memo(c.file, i));
    match &run.plan.steps[setup].kind {
        StepKind::Build { .. } | StepKind::Inspect { .. } => {
            let others = |name: &str| run.image_named(subject.file, name);
            let observed = match run.image(setup) {
                Some(f) => image::observe(ctx, &f, &check.path, &others).await,
                None => Err(ObsError::Internal("the image is not available".into())),
            };
            evaluate(ctx, check, observed).1
        }
        StepKind::Host { .. } => {
            let observed = match run.host(setup) {
                Some(r) => host::observe(ctx, &r, &check.path),
                None => Err(ObsError::Internal("the command did not run".into())),
            };
            ran_here(run, check, c.file);
            evaluate(ctx, check, observed).1
        }
        StepKind::Request { .. } => match run.request(setup) {
            Some(made) => super::request::check(ctx, check, &made).await,
            None => Outcome::Errored {
                message: "the request was not made".into(),
            },
        },
        StepKind::Task { .. } => {
            let observed = match run.task(setup) {
                Some(r) => task::observe(ctx, &r, &check.path).await,
                None => Err(ObsError::Internal("the task did not run".into())),
            };
            ran_here(run, check, c.file);
            evaluate(ctx, check, observed).1
        }
        StepKind::Run { .. } => match run.container(setup) {
            Some(c) => {
                container_check(ctx, check, &c, memo.as_ref(), run.ran_at(c_file(step))).await
            }
            None => Outcome::Errored {
                message: "the container is not running".into(),
            },
        },
        StepKind::Compose { .. } => match run.stack(setup) {
            Some(s) => {
                let since = run.ran_at(c_file(step));
                stack_check(ctx, check, &subject.name, &s, memo.as_ref(), since).await
            }
            None => Outcome::Errored {
                message: "the stack is not available".into(),
            },
        },
        _ => Outcome::Errored {
            message: "not an observable subject".into(),
        },
    }
}

/// The spec file of a check step.
fn c_file(step: &crate::plan::Step) -> usize {
    step.check.map_or(0, |c| c.file)
}

/// `do NAME` ran a host command or a task: the file's later `within` clocks count from now.
fn ran_here(run: &Run, check: &Check, file: usize) {
    if check.runs {
        run.ran(file, Anchor::now());
    }
}

/// The later of two anchors.
fn later(a: Anchor, b: Option<Anchor>) -> Anchor {
    match b {
        Some(b) if b.at > a.at => b,
        _ => a,
    }
}

/// When a container turned healthy after `anchor`, from the engine's own event time.
async fn healthy_since(ctx: &Ctx, id: &str, anchor: Anchor) -> Option<Instant> {
    match ctx.engine.first_healthy_since(id, anchor.engine).await {
        Ok(Some(t)) => Some(anchor.later(t)),
        _ => None,
    }
}

/// A container check: `within` samples from its start or last action (and, for `health`,
/// wakes on the engine's health events); an action moves the anchor.
async fn container_check(
    ctx: &Ctx,
    check: &Check,
    c: &Arc<Running>,
    memo: Option<&container_probe::Memo>,
    since: Option<Anchor>,
) -> Outcome {
    let modifier = modifier_of(check);
    // From its start, its last action, or the file's last `do NAME`, whichever came last.
    let anchor = later(c.anchor(), since);
    let start = if check.anchored() {
        anchor.at
    } else {
        Instant::now()
    };
    let health = check.watches_health();
    let until = modifier.map(|(_, d)| start + d);
    let (sampled_outcome, last_http) = http_probe::with_last(poll::sample(
        modifier,
        start,
        || async {
            let observed = container_probe::observe(ctx, c, &check.path, until, memo).await;
            let (held, outcome) = evaluate(ctx, check, observed);
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
                    // Event-driven: wakes when the health status changes (the wait returns
                    // at once while it stays as it is).
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
    ))
    .await;
    if check.barrier {
        c.acted(container_probe::after_action(ctx, &c.id, check.restarts()).await);
    }
    sampled(ctx, check, sampled_outcome, || async move {
        let mut evidence: Vec<String> = last_http
            .map(|l| format!("last response: {l}"))
            .into_iter()
            .collect();
        evidence.extend(container::evidence(&ctx.engine, &c.id).await);
        evidence
    })
    .await
}

/// A stack check: a service's `within` samples from its container's start or its last action.
async fn stack_check(
    ctx: &Ctx,
    check: &Check,
    name: &str,
    stack: &compose::Stack,
    memo: Option<&container_probe::Memo>,
    since: Option<Anchor>,
) -> Outcome {
    let service = check
        .service()
        .map(|v| arg_text(std::slice::from_ref(v), 0));
    if service.is_some()
        && let Some(Err(_)) = &stack.up
    {
        return Outcome::Skipped {
            subject: name.to_string(),
            reason: format!("stack `{name}` did not come up"),
        };
    }
    let modifier = modifier_of(check);
    let anchor = match &service {
        Some(s) if check.anchored() => compose_probe::service_anchor(ctx, stack, s)
            .await
            .map(|a| later(a, since)),
        _ => None,
    };
    let start = anchor.map(|a| a.at).unwrap_or_else(Instant::now);
    let health = check.watches_health();
    let until = modifier.map(|(_, d)| start + d);
    let (sampled_outcome, last_http) = http_probe::with_last(poll::sample(
        modifier,
        start,
        || async {
            let observed = compose_probe::observe(ctx, stack, &check.path, until, memo).await;
            let (held, outcome) = evaluate(ctx, check, observed);
            let mut held_since = None;
            if let (true, true, Some(a), Some(s)) = (held, health, anchor, &service)
                && let Ok(cs) = compose_probe::service_containers(ctx, stack, s).await
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
    ))
    .await;
    if check.barrier
        && let Some(s) = &service
        && let Ok(cs) = compose_probe::service_containers(ctx, stack, s).await
        && let Some(first) = cs.first()
    {
        let at = container_probe::after_action(ctx, &first.id, check.restarts()).await;
        stack.acted(s, at);
    }
    sampled(ctx, check, sampled_outcome, || async move {
        let mut evidence: Vec<String> = last_http
            .map(|l| format!("last response: {l}"))
            .into_iter()
            .collect();
        evidence.extend(compose_probe::evidence(ctx, stack, &check.path).await);
        evidence
    })
    .await
}
