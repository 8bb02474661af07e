//! `dspec clean` removes what dead runs left, and nothing of live runs.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn labelled(pid: u32) -> usize {
    let filter = format!("label=dspec.pid={pid}");
    ["ps -aq", "network ls -q", "volume ls -q"]
        .iter()
        .map(|c| {
            let mut args: Vec<&str> = c.split(' ').collect();
            args.extend(["--filter", &filter]);
            let out = Command::new("docker").args(&args).output().expect("docker");
            String::from_utf8_lossy(&out.stdout).lines().count()
        })
        .sum()
}

fn dspec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs dspec")
}

#[test]
fn clean_removes_kept_resources_of_finished_runs_but_not_live_ones() {
    common::require_docker();
    common::fixtures_dir();
    // A live run: its container must survive a clean.
    let mut live = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "tests/specs/interrupt.dspec"])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts dspec");
    let started = Instant::now();
    while labelled(live.id()) < 2 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        labelled(live.id()) >= 2,
        "the live run never started its containers"
    );

    // A finished run that kept its resources.
    let kept = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args([
            "check",
            "--keep",
            "--color",
            "never",
            "tests/specs/container_pass.dspec",
        ])
        .env("DSPEC_TEST_TOKEN", "s3cr3t-value-42")
        .current_dir(root())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts dspec");
    let kept_pid = kept.id();
    let out = kept.wait_with_output().expect("waits");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept (label dspec.run="));
    assert!(labelled(kept_pid) >= 3, "--keep left nothing");

    let dry = dspec(&["clean", "--dry-run"]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would remove container"));
    assert!(labelled(kept_pid) >= 3, "--dry-run removed something");

    let out = dspec(&["clean"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        labelled(kept_pid),
        0,
        "clean left the finished run's resources"
    );
    assert!(
        labelled(live.id()) >= 2,
        "clean removed a live run's resources"
    );

    Command::new("kill")
        .args(["-INT", &live.id().to_string()])
        .status()
        .expect("kill");
    assert_eq!(live.wait().expect("waits").code(), Some(130));
    assert_eq!(labelled(live.id()), 0);
}
