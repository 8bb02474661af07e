//! Container lifecycle: create, start, exec, logs, stats, stop, kill, restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dspec::engine::docker::{
    ContainerSpec, DockerApi, EngineError, HealthOutcome, HealthOverride, LogStream, PortSpec,
    Proto,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Ctx;

pub async fn create_with_missing_image_fails_fast(ctx: &Ctx) {
    let spec = ContainerSpec {
        image: "dspec-dockerapi-test/absent:never".into(),
        ..ctx.spec("missing-image")
    };
    let t = Instant::now();
    let err = ctx.engine.create_container(&spec).await.unwrap_err();
    let elapsed = t.elapsed();
    ctx.time("create with missing image", elapsed);
    assert!(
        matches!(&err, EngineError::ImageNotFound { reference } if reference == &spec.image),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_secs(1));
    // A missing network is only noticed at start, and is reported as what it is, not as a
    // missing container.
    let spec = ContainerSpec {
        network: Some("dspec-dockerapi-test-no-such-net".into()),
        ..ctx.spec("missing-net")
    };
    let id = ctx.engine.create_container(&spec).await.unwrap();
    let err = ctx.engine.start_container(&id).await.unwrap_err();
    println!("  {err}");
    assert!(
        matches!(&err, EngineError::Api { status: 404, message } if message.contains("no-such-net")),
        "{err:?}"
    );
}

pub async fn inspect_missing_container(ctx: &Ctx) {
    let err = ctx
        .engine
        .inspect_container("dspec-dockerapi-test-no-such-container")
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::ContainerNotFound { .. }),
        "{err:?}"
    );
}

pub fn web_spec(ctx: &Ctx, what: &str) -> ContainerSpec {
    ContainerSpec {
        env: vec![("FOO".into(), "bar".into())],
        publish: vec![PortSpec {
            container_port: 8000,
            proto: Proto::Tcp,
            host_port: None,
        }],
        memory: Some(64 << 20),
        pids_limit: Some(64),
        read_only: true,
        tmpfs: vec![("/tmp".into(), "rw,size=1m,uid=1000,gid=1000".into())],
        cap_drop: vec!["ALL".into()],
        no_new_privileges: true,
        init: true,
        health: HealthOverride {
            interval: Some(Duration::from_millis(100)),
            ..HealthOverride::default()
        },
        ..ctx.spec(what)
    }
}

pub async fn http_get(port: u16, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

pub fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

pub async fn container_lifecycle(ctx: &Ctx) {
    let e = &ctx.engine;
    let spec = web_spec(ctx, "web");
    let t = Instant::now();
    let id = e.create_container(&spec).await.unwrap();
    let created = t.elapsed();
    e.start_container(&id).await.unwrap();
    let started = t.elapsed();
    ctx.time("create", created);
    ctx.time("create + start", started);

    let info = e.inspect_container(&id).await.unwrap();
    assert!(info.running);
    assert_eq!(info.status, "running");
    assert_eq!(info.name, spec.name.clone().unwrap());
    assert!(info.started_at.is_some());
    assert_eq!(info.finished_at, None);
    let port = info.host_ports["8000/tcp"];
    assert!(
        info.ip_addresses.contains_key("bridge"),
        "{:?}",
        info.ip_addresses
    );

    // Health through events (100 ms interval override).
    let t = Instant::now();
    let outcome = e
        .wait_health_event(&id, Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    ctx.time("healthy after start (event wait)", started + t.elapsed());
    assert_eq!(outcome, HealthOutcome::Healthy);
    let health = e.inspect_container(&id).await.unwrap().health.unwrap();
    assert!(health.log.iter().any(|p| p.exit_code == 0));
    // Already healthy: answered from the state check.
    let t = Instant::now();
    let again = e
        .wait_health_event(&id, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    ctx.time("health wait when already healthy", t.elapsed());
    assert_eq!(again, HealthOutcome::Healthy);

    let response = http_get(port, "/index.html").await;
    assert!(
        response.lines().next().unwrap().contains(" 200 "),
        "{response}"
    );
    assert!(response.ends_with("hi\n"));

    // Exec.
    let t = Instant::now();
    let who = e
        .exec(&id, &argv(&["whoami"]), None, crate::EXEC_LIMIT)
        .await
        .unwrap();
    ctx.time("exec whoami", t.elapsed());
    assert_eq!((who.exit_code, who.stdout.as_str()), (0, "appuser\n"));
    let root = e
        .exec(&id, &argv(&["whoami"]), Some("0"), crate::EXEC_LIMIT)
        .await
        .unwrap();
    assert_eq!(root.stdout, "root\n");
    let mixed = e
        .exec(
            &id,
            &argv(&["sh", "-c", "echo out; echo err >&2; echo $FOO; exit 3"]),
            None,
            crate::EXEC_LIMIT,
        )
        .await
        .unwrap();
    assert_eq!(mixed.exit_code, 3);
    assert_eq!(mixed.stdout, "out\nbar\n");
    assert_eq!(mixed.stderr, "err\n");
    let missing = e
        .exec(&id, &argv(&["/no/such/binary"]), None, crate::EXEC_LIMIT)
        .await
        .unwrap();
    println!(
        "  missing binary: exit {} {:?}",
        missing.exit_code, missing.stdout
    );
    assert_eq!(missing.exit_code, 126);
    let ro = e
        .exec(
            &id,
            &argv(&["sh", "-c", "touch /x 2>&1; touch /tmp/x && echo tmp-ok"]),
            None,
            crate::EXEC_LIMIT,
        )
        .await
        .unwrap();
    assert!(ro.stdout.contains("Read-only file system"), "{ro:?}");
    assert!(ro.stdout.contains("tmp-ok"), "{ro:?}");

    // Logs.
    let t = Instant::now();
    let logs = e.logs(&id, None).await.unwrap();
    ctx.time("logs", t.elapsed());
    // The engine keeps no order between the two streams (notes/engine-facts.md §10): each
    // line is looked for on its own stream, never by position.
    assert!(
        logs.iter()
            .any(|l| l.stream == LogStream::Stdout && l.text == "started"),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.stream == LogStream::Stderr && l.text == "to-stderr")
    );
    assert!(
        logs.iter()
            .any(|l| l.stream == LogStream::Stderr && l.text.contains("response:200"))
    );
    assert!(logs.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    let tail = e.logs(&id, Some(1)).await.unwrap();
    assert_eq!(tail.len(), 1);

    // Stats.
    for i in 1..=3 {
        let t = Instant::now();
        let s = e.stats_once(&id, false).await.unwrap();
        ctx.time(&format!("stats one-shot #{i}"), t.elapsed());
        assert!(s.memory_usage > 0);
        assert_eq!(s.memory_limit, Some(64 << 20));
        assert!(s.memory_max_usage.unwrap() >= s.memory_usage);
        assert!(s.pids.unwrap() >= 2, "{s:?}");
        assert_eq!(s.cpu_percent, None);
    }
    let t = Instant::now();
    let s = e.stats_once(&id, true).await.unwrap();
    ctx.time("stats with cpu (not one-shot)", t.elapsed());
    println!("  stats: {s:?}");
    assert!(s.cpu_percent.is_some());

    // Stop with docker-init: SIGTERM reaches httpd, exit 143 at once.
    let t = Instant::now();
    e.stop(&id, Duration::from_secs(10)).await.unwrap();
    let stop = t.elapsed();
    ctx.time("stop (init, t=10s)", stop);
    assert!(stop < Duration::from_secs(3), "{stop:?}");
    assert_eq!(e.wait_exit(&id).await.unwrap(), 143);
    let info = e.inspect_container(&id).await.unwrap();
    assert!(!info.running);
    assert_eq!(info.exit_code, 143);
    assert!(!info.oom_killed);
    assert!(info.finished_at.is_some());
    assert!(info.host_ports.is_empty());
    // Stopping again is not an error; health wait on a stopped container answers at once.
    e.stop(&id, Duration::from_secs(1)).await.unwrap();
    let outcome = e
        .wait_health_event(&id, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(outcome, HealthOutcome::NotRunning { exit_code: 143 });

    let t = Instant::now();
    e.remove_container(&id).await.unwrap();
    ctx.time("remove stopped container", t.elapsed());
    let err = e.remove_container(&id).await.unwrap_err();
    assert!(
        matches!(err, EngineError::ContainerNotFound { .. }),
        "{err:?}"
    );
}

pub async fn kill_and_wait_exit(ctx: &Ctx) {
    let e = &ctx.engine;
    let spec = ContainerSpec {
        cmd: Some(argv(&["sleep", "60"])),
        ..ctx.spec("kill")
    };
    let id = e.create_container(&spec).await.unwrap();
    e.start_container(&id).await.unwrap();
    let waiter = {
        let engine = Arc::clone(e);
        let id = id.clone();
        tokio::spawn(async move { engine.wait_exit(&id).await })
    };
    // sleep as PID 1 without init ignores SIGTERM.
    e.kill(&id, "SIGTERM").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(e.inspect_container(&id).await.unwrap().running);
    let t = Instant::now();
    e.kill(&id, "SIGKILL").await.unwrap();
    let code = waiter.await.unwrap().unwrap();
    ctx.time("kill SIGKILL → wait_exit", t.elapsed());
    assert_eq!(code, 137);
    let err = e.kill(&id, "SIGKILL").await.unwrap_err();
    assert!(
        matches!(err, EngineError::Api { status: 409, .. }),
        "{err:?}"
    );
    // A zero exit through wait too.
    let spec = ContainerSpec {
        cmd: Some(argv(&["true"])),
        ..ctx.spec("true")
    };
    let id0 = e.create_container(&spec).await.unwrap();
    e.start_container(&id0).await.unwrap();
    assert_eq!(e.wait_exit(&id0).await.unwrap(), 0);
    e.remove_container(&id).await.unwrap();
    e.remove_container(&id0).await.unwrap();
}

pub async fn restart_container(ctx: &Ctx) {
    let e = &ctx.engine;
    let spec = web_spec(ctx, "restart");
    let id = e.create_container(&spec).await.unwrap();
    e.start_container(&id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    assert_eq!(
        e.wait_health_event(&id, deadline).await.unwrap(),
        HealthOutcome::Healthy
    );
    let before = e.inspect_container(&id).await.unwrap();
    let t = Instant::now();
    e.restart(&id, Duration::from_secs(5)).await.unwrap();
    ctx.time("restart (init)", t.elapsed());
    let after = e.inspect_container(&id).await.unwrap();
    assert!(after.running);
    assert!(after.started_at > before.started_at);
    assert_ne!(after.host_ports.get("8000/tcp"), None);
    // The replayed `die` and `healthy` events from before the restart must not decide this.
    let t = Instant::now();
    let outcome = e.wait_health_event(&id, deadline).await.unwrap();
    ctx.time("healthy again after restart", t.elapsed());
    assert_eq!(outcome, HealthOutcome::Healthy);
    let health = e.inspect_container(&id).await.unwrap().health.unwrap();
    assert!(
        health
            .log
            .iter()
            .any(|p| p.exit_code == 0 && p.start > after.started_at)
    );
    e.remove_container(&id).await.unwrap();
}
