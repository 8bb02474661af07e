//! Waiting for a container to become healthy through the daemon's event stream.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;

use super::bollard_impl::Engine;
use super::container::inspect_container;
use super::container_info::health_from_action;
use super::errmap::Subject;
use super::error::EngineError;
use super::types::{ContainerInfo, HealthOutcome, HealthStatus};

/// How far back the subscription replays events. The daemon subscribes and replays its
/// buffer atomically, so an event that happens between the state check below and the moment
/// the subscription is live is still delivered (as long as the daemon's clock is within this
/// margin of ours). Replayed events may be stale (e.g. `die` or `healthy` from before a
/// restart), so every event is only a cue to inspect the container again.
const REPLAY: Duration = Duration::from_secs(2);

pub(crate) async fn wait_health_event(
    engine: &Engine,
    id: &str,
    deadline: Instant,
) -> Result<HealthOutcome, EngineError> {
    let started = Instant::now();
    match tokio::time::timeout_at(deadline.into(), wait(engine, id)).await {
        Ok(result) => result,
        Err(_) => Err(EngineError::Timeout {
            what: format!("health of container {id}"),
            after: deadline.saturating_duration_since(started),
        }),
    }
}

async fn wait(engine: &Engine, id: &str) -> Result<HealthOutcome, EngineError> {
    let since = SystemTime::now()
        .checked_sub(REPLAY)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    let since = format!("{}.{:09}", since.as_secs(), since.subsec_nanos());
    let filters = HashMap::from([
        ("type", vec!["container"]),
        ("container", vec![id]),
        ("event", vec!["health_status", "die"]),
    ]);
    let opts = EventsOptionsBuilder::default()
        .since(&since)
        .filters(&filters)
        .build();
    let mut events = engine.docker.events(Some(opts));

    // The state check comes after `since`, so nothing between the two can be missed.
    if let Some(outcome) = decided(&inspect_container(engine, id).await?) {
        return Ok(outcome);
    }
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| engine.err(e, Subject::Container(id)))?;
        let action = event.action.unwrap_or_default();
        let cue = action == "die"
            || matches!(
                health_from_action(&action),
                Some(HealthStatus::Healthy | HealthStatus::Unhealthy)
            );
        if cue && let Some(outcome) = decided(&inspect_container(engine, id).await?) {
            return Ok(outcome);
        }
    }
    Err(EngineError::Api {
        status: 0,
        message: "the daemon closed the event stream".to_string(),
    })
}

/// When `id` first turned healthy at or after `since`, from the daemon's event buffer: the
/// events from `since` to now, replayed and then closed by the daemon.
pub(crate) async fn first_healthy_since(
    engine: &Engine,
    id: &str,
    since: SystemTime,
) -> Result<Option<SystemTime>, EngineError> {
    let stamp = |t: SystemTime| {
        let t = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
    };
    let (from, until) = (stamp(since), stamp(SystemTime::now()));
    let filters = HashMap::from([
        ("type", vec!["container"]),
        ("container", vec![id]),
        ("event", vec!["health_status"]),
    ]);
    let opts = EventsOptionsBuilder::default()
        .since(&from)
        .until(&until)
        .filters(&filters)
        .build();
    let mut events = engine.docker.events(Some(opts));
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| engine.err(e, Subject::Container(id)))?;
        let action = event.action.unwrap_or_default();
        if health_from_action(&action) == Some(HealthStatus::Healthy)
            && let Some(nanos) = event.time_nano
        {
            let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or_default());
            if at >= since {
                return Ok(Some(at));
            }
        }
    }
    Ok(None)
}

/// The outcome if the current state already decides it.
fn decided(info: &ContainerInfo) -> Option<HealthOutcome> {
    if !info.running {
        return Some(HealthOutcome::NotRunning {
            exit_code: info.exit_code,
        });
    }
    match info.health.as_ref().map(|h| h.status) {
        None => Some(HealthOutcome::NoHealthcheck),
        Some(HealthStatus::Healthy) => Some(HealthOutcome::Healthy),
        Some(HealthStatus::Unhealthy) => Some(HealthOutcome::Unhealthy),
        Some(HealthStatus::Starting | HealthStatus::Other) => None,
    }
}
