//! A Compose stack's properties: its resolved config (typed keys and values), and its
//! running services, each observed like a container.

use std::time::Duration;

use serde_json::Value as Json;

use super::Ctx;
use super::actual::Actual;
use super::compose::Stack;
use super::compose_config;
use super::container::{self, Anchor, Running};
use super::container_probe::{self, Performance};
use super::observe::{ObsError, Observed, arg_text, first, tail};
use crate::compile::PathStep;
use crate::compile::property::{ContainerProp, Key, ServiceProp, StackProp, StopResultProp};
use crate::compile::value::Val;

/// Where a service's `within` clocks start: its container's start (on the engine's clock,
/// kept inside the `up` that started it), or the last action on the stack after it — on this
/// service or another (`do app.service("db").restart()` then `web ... within 10s`).
pub async fn service_anchor(ctx: &Ctx, stack: &Stack, service: &str) -> Option<Anchor> {
    let last = *stack.last_action.lock().expect("last action lock");
    let own = stack
        .anchors
        .lock()
        .expect("anchors lock")
        .get(service)
        .copied();
    let own = match own {
        Some(a) => Some(a),
        None => {
            let window = *stack.up_window.lock().expect("up window lock");
            match window {
                Some((lo, hi)) => service_containers(ctx, stack, service)
                    .await
                    .ok()
                    .and_then(|cs| cs.first().and_then(|c| c.started_at))
                    .map(|t| Anchor::engine_time(t, lo, hi.max(lo))),
                None => None,
            }
        }
    };
    // The later of the two; the service's own on a tie.
    [own, last]
        .into_iter()
        .flatten()
        .reduce(|a, b| if b.at > a.at { b } else { a })
}

/// Start to healthy of a service's container, which Compose started: from the container's
/// start time and the engine's `health_status: healthy` event.
async fn service_startup(ctx: &Ctx, service: &str, id: &str) -> Result<Duration, ObsError> {
    let engine = &ctx.engine;
    let info = engine.inspect_container(id).await?;
    let Some(started) = info.started_at else {
        return Err(ObsError::Missing(format!(
            "service `{service}` never started"
        )));
    };
    if info.health.is_none() {
        return Err(ObsError::Missing(format!(
            "service `{service}` has no health check: `startup` is the time from start to healthy"
        )));
    }
    match engine.first_healthy_since(id, started).await? {
        Some(at) => Ok(at.duration_since(started).unwrap_or_default()),
        None => Err(ObsError::Missing(format!(
            "service `{service}` has not turned healthy since it started (or the engine no longer holds that event); check `health == \"healthy\" within D` first"
        ))),
    }
}

/// The containers of a service, in replica order, found by Compose's own labels (never by
/// the names Compose would generate: `container_name:` replaces those).
pub async fn service_containers(
    ctx: &Ctx,
    stack: &Stack,
    service: &str,
) -> Result<Vec<super::docker::ContainerInfo>, ObsError> {
    let res = ctx
        .engine
        .list_by_label(&format!("com.docker.compose.project={}", stack.project))
        .await?;
    let mut found = Vec::new();
    for id in res.containers {
        let Ok(info) = ctx.engine.inspect_container(&id).await else {
            continue;
        };
        if info
            .labels
            .get("com.docker.compose.service")
            .map(String::as_str)
            != Some(service)
        {
            continue;
        }
        // One-off containers (`compose run`) are not replicas.
        if info
            .labels
            .get("com.docker.compose.oneoff")
            .map(String::as_str)
            == Some("True")
        {
            continue;
        }
        let n = info
            .labels
            .get("com.docker.compose.container-number")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        found.push((n, info));
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found.into_iter().map(|(_, i)| i).collect())
}

/// Why a service has no container, as precisely as the resolved config tells.
fn no_container(stack: &Stack, service: &str) -> String {
    let config = stack.config.as_ref().ok();
    let services: Vec<String> = config
        .and_then(|c| c.get("services"))
        .and_then(Json::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let Some(svc) = config
        .and_then(|c| c.get("services"))
        .and_then(|s| s.get(service))
    else {
        return format!(
            "the stack has no service `{service}` (its services: {})",
            if services.is_empty() {
                "none".to_string()
            } else {
                services.join(", ")
            }
        );
    };
    let profiles = compose_config::list_of(svc.get("profiles"));
    if !profiles.is_empty() {
        return format!(
            "service `{service}` has no container: it belongs to the profile{} {}, which the stack does not enable (add `profile \"{}\"`)",
            if profiles.len() == 1 { "" } else { "s" },
            profiles.join(", "),
            profiles[0]
        );
    }
    format!("service `{service}` has no container (scaled to 0, or its container was removed)")
}

/// The resolved config, or why there is none.
fn config(stack: &Stack) -> Result<&Json, ObsError> {
    stack
        .config
        .as_ref()
        .map_err(|e| ObsError::Missing(format!("the compose files are invalid: {e}")))
}

/// Answers a stack property.
pub async fn observe(
    ctx: &Ctx,
    stack: &Stack,
    steps: &[PathStep],
    until: Option<std::time::Instant>,
    memo: Option<&container_probe::Memo>,
) -> Observed {
    let Some((Key::Stack(prop), args, rest)) = first(steps) else {
        return Err(ObsError::Missing("not a stack property".into()));
    };
    match prop {
        StackProp::Valid => tail(Actual::Bool(stack.config.is_ok()), rest),
        StackProp::Services => {
            let mut names: Vec<String> = config(stack)?
                .get("services")
                .and_then(Json::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            names.sort();
            tail(Actual::List(names), rest)
        }
        StackProp::Config => compose_config::observe(ctx, config(stack)?, rest),
        StackProp::Down | StackProp::Up => {
            came_up(stack)?;
            let mut slot = match memo {
                Some(m) => Some(m.lock().await),
                None => None,
            };
            if !matches!(slot.as_deref(), Some(Some(Performance::Done))) {
                let done = if prop == StackProp::Down {
                    stack.take_down().await
                } else {
                    stack.bring_back(ctx).await
                };
                done.map_err(ObsError::Missing)?;
                if let Some(s) = slot.as_deref_mut() {
                    *s = Some(Performance::Done);
                }
            }
            tail(Actual::Bool(true), rest)
        }
        StackProp::Service => {
            came_up(stack)?;
            let service = arg_text(args, 0);
            if stack.is_down() {
                return Err(ObsError::Missing(format!(
                    "service `{service}` has no container: `down()` took the stack down (`up()` brings it back)"
                )));
            }
            if let Some((
                Key::Container(
                    action @ (ContainerProp::Restart | ContainerProp::Stop | ContainerProp::Kill),
                ),
                args,
                after,
            )) = first(rest)
            {
                return service_action(ctx, stack, &service, action, args, after, memo).await;
            }
            let containers = service_containers(ctx, stack, &service).await?;
            if let Some((Key::Service(ServiceProp::Replicas), _, after)) = first(rest) {
                let running = containers.iter().filter(|c| c.running).count();
                return tail(Actual::Int(running as i64), after);
            }
            let Some(first_replica) = containers.first() else {
                return Err(ObsError::Missing(no_container(stack, &service)));
            };
            if let Some((Key::Container(ContainerProp::Startup), _, after)) = first(rest) {
                let startup = service_startup(ctx, &service, &first_replica.id).await?;
                return tail(Actual::Duration(startup), after);
            }
            let anchor = service_anchor(ctx, stack, &service)
                .await
                .unwrap_or_else(Anchor::now);
            let running = Running::adopted(first_replica.id.clone(), anchor);
            container_probe::observe(ctx, &running, rest, until, memo).await
        }
    }
}

/// Whether the stack came up, or why not.
fn came_up(stack: &Stack) -> Result<(), ObsError> {
    match &stack.up {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(ObsError::Missing(format!(
            "the stack did not come up: {}",
            e.message
        ))),
        None => Err(ObsError::Internal("the stack was not brought up".into())),
    }
}

/// `service(S).restart()`, `.stop(T)`, `.kill(SIG)`: done by the Compose tool, on every
/// replica of the service.
async fn service_action(
    ctx: &Ctx,
    stack: &Stack,
    service: &str,
    action: ContainerProp,
    args: &[Val],
    rest: &[PathStep],
    memo: Option<&container_probe::Memo>,
) -> Observed {
    let mut slot = match memo {
        Some(m) => Some(m.lock().await),
        None => None,
    };
    if let Some(Some(p)) = slot.as_deref() {
        return action_result(p, rest);
    }
    if service_containers(ctx, stack, service).await?.is_empty() {
        return Err(ObsError::Missing(no_container(stack, service)));
    }
    let seconds = |d: Option<&Val>, default: u64| match d {
        Some(Val::Duration { ms, .. }) => ms.div_ceil(1000),
        _ => default,
    };
    let command: Vec<String> = match action {
        ContainerProp::Restart => vec!["restart".into(), "-t".into(), "10".into()],
        ContainerProp::Stop => vec![
            "stop".into(),
            "-t".into(),
            seconds(args.first(), 10).to_string(),
        ],
        _ => {
            let signal = match args.first() {
                Some(v) => arg_text(std::slice::from_ref(v), 0),
                None => "SIGKILL".to_string(),
            };
            vec!["kill".into(), "-s".into(), signal]
        }
    };
    let mut command = command;
    command.push(service.to_string());
    let began = std::time::Instant::now();
    stack.compose(&command).await.map_err(ObsError::Missing)?;
    let performance = if action == ContainerProp::Stop {
        let duration = began.elapsed();
        let first = service_containers(ctx, stack, service).await?;
        let code = match first.first() {
            Some(c) => ctx.engine.inspect_container(&c.id).await?.exit_code,
            None => return Err(ObsError::Missing(no_container(stack, service))),
        };
        Performance::Stop { code, duration }
    } else {
        Performance::Done
    };
    let out = action_result(&performance, rest);
    if let Some(s) = slot.as_deref_mut() {
        *s = Some(performance);
    }
    out
}

/// What an action gives: `stop()`'s exit code and duration, else that it was done.
fn action_result(p: &Performance, rest: &[PathStep]) -> Observed {
    match (p, first(rest)) {
        (
            Performance::Stop { code, .. },
            Some((Key::StopResult(StopResultProp::ExitCode), _, after)),
        ) => tail(Actual::Int(*code), after),
        (
            Performance::Stop { duration, .. },
            Some((Key::StopResult(StopResultProp::Duration), _, after)),
        ) => tail(Actual::Duration(*duration), after),
        (Performance::Stop { code, .. }, _) => Ok(Actual::Int(*code)),
        _ => Ok(Actual::Bool(true)),
    }
}

/// Evidence for a failed stack expectation: what the Compose tool said of invalid files, or
/// the service's first container's logs.
pub async fn evidence(ctx: &Ctx, stack: &Stack, steps: &[PathStep]) -> Vec<String> {
    let mut out = Vec::new();
    let head = first(steps);
    if let (
        Some((Key::Stack(StackProp::Valid | StackProp::Config | StackProp::Services), _, _)),
        Some(config_err),
    ) = (head, stack.config.as_ref().err())
    {
        out.push(format!("{} says:\n{config_err}", stack.tool.describe()));
        return out;
    }
    if let Some(Err(e)) = &stack.up {
        out.push(e.message.clone());
    }
    if let Some((Key::Stack(StackProp::Service), args, _)) = head
        && let Ok(cs) = service_containers(ctx, stack, &arg_text(args, 0)).await
        && let Some(c) = cs.first()
    {
        out.extend(container::evidence(&ctx.engine, &c.id).await);
    }
    out
}
