//! `dspec check` on running containers, one-off runs and host commands
//! against the real engine, with the fixture service's knobs.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "s3cr3t-value-42";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(spec: &str) -> (Output, String) {
    common::require_docker();
    common::fixtures_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never", spec])
        .env("DSPEC_TEST_TOKEN", SECRET)
        .current_dir(root())
        .output()
        .expect("runs dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(SECRET), "the secret leaked:\n{all}");
    (out, all)
}

fn labelled(filter: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in [
        &["ps", "-aq"][..],
        &["network", "ls", "-q"][..],
        &["volume", "ls", "-q"][..],
    ] {
        let out = Command::new("docker")
            .args(kind)
            .args(["--filter", &format!("label={filter}")])
            .output()
            .expect("docker");
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    found
}

/// The failure block of the diagnostic at `file:line:col`.
fn block<'a>(all: &'a str, at: &str) -> &'a str {
    let i = all
        .find(at)
        .unwrap_or_else(|| panic!("nothing at {at}:\n{all}"));
    let rest = &all[i..];
    &rest[..rest[1..].find("DS04").map(|j| j + 1).unwrap_or(rest.len())]
}

#[test]
fn a_healthy_container_passes_every_property() {
    let (out, all) = check("tests/specs/container_pass.dspec");
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("41 passed, 0 failed"), "{all}");
}

#[test]
fn broken_containers_fail_with_evidence() {
    let (out, all) = check("tests/specs/container_fail.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("1 passed, 7 failed"), "{all}");
    let sick = block(&all, "container_fail.dspec:22:10");
    assert!(
        sick.contains("actual: \"unhealthy\"")
            && sick.contains("health log")
            && sick.contains("exit 1"),
        "{sick}"
    );
    assert!(
        sick.contains("within 3s:") && sick.contains("samples taken; last seen at"),
        "{sick}"
    );
    let noisy = block(&all, "container_fail.dspec:26:10");
    assert!(noisy.contains("ERROR something failed"), "{noisy}");
    let stubborn = block(&all, "container_fail.dspec:30:10");
    assert!(
        stubborn.contains("actual: 3") && stubborn.contains("expected: == 0"),
        "{stubborn}"
    );
    let hungry = block(&all, "container_fail.dspec:33:10");
    assert!(
        hungry.contains("expected: < 50MB (50000000 B)") && hungry.contains("first broken at"),
        "{hungry}"
    );
    // The crashing container is a setup failure shown once, with exit code and log tail.
    assert_eq!(
        all.matches("× container `crash` could not run").count(),
        1,
        "{all}"
    );
    assert!(
        all.contains("exited with code 4 before it was ready") && all.contains("exiting early"),
        "{all}"
    );
    assert!(
        all.contains(
            "not run: container `crash` could not be set up (tests/specs/container_fail.dspec:15:11)"
        ),
        "{all}"
    );
    assert!(all.contains("actual: \"token=***\""), "{all}");
}

#[test]
fn one_off_runs_and_host_commands() {
    let (out, all) = check("tests/specs/oneoff.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("9 passed, 2 failed"), "{all}");
    let plain = block(&all, "oneoff.dspec:21:10");
    assert!(plain.contains("actual: \"secret is ***\""), "{plain}");
    assert!(
        all.contains("× host command `slow` could not run")
            && all.contains("did not finish within 0.5s"),
        "{all}"
    );
}

/// Interrupts a run at several points; nothing of it may remain.
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    common::require_docker();
    common::fixtures_dir();
    for delay in [
        Duration::from_millis(300),
        Duration::from_secs(3),
        Duration::from_secs(8),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dspec"))
            .args(["check", "--color", "never", "tests/specs/interrupt.dspec"])
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts dspec");
        let label = format!("dspec.pid={}", child.id());
        std::thread::sleep(delay);
        let seen_before = labelled(&label).len();
        let signal = if delay.as_secs() == 3 {
            "-TERM"
        } else {
            "-INT"
        };
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill");
        let started = Instant::now();
        let status = child.wait().expect("waits");
        assert_eq!(status.code(), Some(130), "after {delay:?}");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "cleanup took {:?}",
            started.elapsed()
        );
        assert_eq!(
            labelled(&label),
            Vec::<String>::new(),
            "left behind after {delay:?} (had {seen_before})"
        );
    }
}

/// Files run concurrently and reuse subject names: their containers,
/// networks and stacks never collide.
#[test]
fn several_files_with_the_same_names_run_together() {
    common::require_docker();
    common::fixtures_dir();
    let dir = std::env::temp_dir().join(format!("dspec-same-names-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=3 {
        std::fs::write(
            dir.join(format!("s{i}.dspec")),
            format!(
                "image prod = build \"{}\" {{ target \"prod\" }}\n\
                 container api = run prod {{ publish 8000; volume \"data\" at \"/data\" }}\n\
                 container peer = run prod\n\
                 expect api.health == \"healthy\" within 30s\n\
                 expect peer.exec([\"/app/fixture-svc\", \"probe\", \"api:8000\"]).exit_code == 0\n",
                root().join("tests/fixtures/app").display()
            ),
        )
        .unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never"])
        .arg(&dir)
        .output()
        .expect("runs dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("6 passed, 0 failed"), "{all}");
}
