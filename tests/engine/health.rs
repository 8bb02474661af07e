//! Waiting for health: exit before healthy, unhealthy, timeout.

use std::time::{Duration, Instant};

use dspec::engine::docker::{ContainerSpec, DockerApi, EngineError, HealthOutcome, HealthOverride};

use crate::Ctx;
use crate::containers::argv;

pub async fn health_wait_outcomes(ctx: &Ctx) {
    let e = &ctx.engine;
    // Exits before it is healthy.
    let spec = ContainerSpec {
        cmd: Some(argv(&["sh", "-c", "sleep 0.3; exit 2"])),
        ..ctx.spec("dies")
    };
    let id = e.create_container(&spec).await.unwrap();
    e.start_container(&id).await.unwrap();
    let t = Instant::now();
    let outcome = e
        .wait_health_event(&id, Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    ctx.time("health wait ends on exit (0.3 s)", t.elapsed());
    assert_eq!(outcome, HealthOutcome::NotRunning { exit_code: 2 });

    // Never serves: unhealthy after 3 failed probes 100 ms apart.
    let spec = ContainerSpec {
        cmd: Some(argv(&["sleep", "30"])),
        init: true,
        health: HealthOverride {
            interval: Some(Duration::from_millis(100)),
            ..HealthOverride::default()
        },
        ..ctx.spec("unhealthy")
    };
    let id2 = e.create_container(&spec).await.unwrap();
    e.start_container(&id2).await.unwrap();
    let t = Instant::now();
    let outcome = e
        .wait_health_event(&id2, Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    ctx.time("unhealthy (3 × 100 ms probes)", t.elapsed());
    assert_eq!(outcome, HealthOutcome::Unhealthy);

    // Image's 1 s interval: not decided within 200 ms.
    let spec = ContainerSpec {
        init: true,
        ..ctx.spec("slow-health")
    };
    let id3 = e.create_container(&spec).await.unwrap();
    e.start_container(&id3).await.unwrap();
    let t = Instant::now();
    let err = e
        .wait_health_event(&id3, Instant::now() + Duration::from_millis(200))
        .await
        .unwrap_err();
    let elapsed = t.elapsed();
    assert!(matches!(err, EngineError::Timeout { .. }), "{err:?}");
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    // …but healthy with a longer deadline (event arrives at the first 1 s probe).
    let outcome = e
        .wait_health_event(&id3, Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    ctx.time("healthy with image interval 1 s", t.elapsed());
    assert_eq!(outcome, HealthOutcome::Healthy);

    for id in [id, id2, id3] {
        e.remove_container(&id).await.unwrap();
    }
}
