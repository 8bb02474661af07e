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
    common::dspec_check(&[spec], &[("DSPEC_TEST_TOKEN", SECRET)], &[SECRET])
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

use common::failure_block as block;

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
    // `within 3s` counts from the start: the third failed probe (unhealthy) comes at about
    // 3 s, so the last value seen is `starting` or `unhealthy`.
    let sick = block(&all, "container_fail.dspec:22:10");
    assert!(
        (sick.contains("actual: \"unhealthy\"") || sick.contains("actual: \"starting\""))
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

/// The `held at` time of a passed `within` line, in seconds.
fn held_at(all: &str, line: &str) -> f64 {
    let l = all
        .lines()
        .find(|l| l.contains(line) && l.contains("held at"))
        .unwrap_or_else(|| panic!("no `held at` on `{line}`:\n{all}"));
    let t = l.split("held at ").nth(1).unwrap().trim();
    let t = t.split_whitespace().next().unwrap();
    if let Some(ms) = t.strip_suffix("ms") {
        ms.parse::<f64>().unwrap() / 1000.0
    } else {
        t.trim_end_matches('s').parse().unwrap()
    }
}

/// `within` counts from the container's start: a container healthy only after 2.5 s fails
/// `within 2s` (setup does not wait for health first), passes `within 30s` saying when it
/// held, and a 30 s health interval does not stop "serving within 5 s".
#[test]
fn within_counts_from_the_start_of_the_container() {
    let (out, all) = check("tests/specs/timing.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("3 passed, 1 failed"), "{all}");
    let late = block(&all, "timing.dspec:16:10");
    assert!(late.contains("actual: \"starting\""), "{late}");
    let held = held_at(&all, "expect late.health == \"healthy\" within 30s");
    assert!((2.5..30.0).contains(&held), "held at {held}s:\n{all}");
    let serving = held_at(
        &all,
        "expect serving.get(\"/live\").status == 200 within 5s",
    );
    assert!(serving < 5.0, "{all}");
    assert!(
        all.contains("expect late.startup > 2s  (measured alone)"),
        "{all}"
    );
}

/// A container named only in another's settings is started (and ready) before it.
#[test]
fn a_container_named_in_settings_is_set_up_first() {
    let (out, all) = check("tests/specs/refers.dspec");
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("2 passed, 0 failed"), "{all}");
    assert!(!all.contains("never used"), "{all}");
    let plan = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["plan", "tests/specs/refers.dspec"])
        .current_dir(root())
        .output()
        .expect("runs dspec plan");
    let plan = String::from_utf8_lossy(&plan.stdout).to_string();
    let step = |what: &str| -> String {
        plan.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}`:\n{plan}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let ready = step("wait until container upstream is ready");
    let api = plan
        .lines()
        .find(|l| l.contains("start container api"))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(
        api.contains(&format!("after {ready}")) || api.contains(&format!(" {ready}")),
        "{plan}"
    );
}

/// A time budget is measured alone: nothing else of the run overlaps its measurement.
#[test]
fn a_time_budget_is_measured_with_nothing_else_in_flight() {
    let dir = std::env::temp_dir().join(format!("dspec-quiet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cmd = |name: &str| {
        format!(
            "command {name} = host \"echo {name} start $(date +%s%N) >> times; sleep 1; echo {name} end $(date +%s%N) >> times\"\n"
        )
    };
    let spec = format!(
        "{}{}{}expect a.exit_code == 0\nexpect b.duration < 60s\nexpect c.exit_code == 0\n",
        cmd("a"),
        cmd("b"),
        cmd("c")
    );
    std::fs::write(dir.join("quiet.dspec"), spec).unwrap();
    let (out, all) = check(dir.join("quiet.dspec").to_str().unwrap());
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("expect b.duration < 60s  (measured alone)"),
        "{all}"
    );
    let times = std::fs::read_to_string(dir.join("times")).unwrap();
    let at = |what: &str| -> u128 {
        times
            .lines()
            .find(|l| l.starts_with(what))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no `{what}` in:\n{times}"))
    };
    for other in ["a", "c"] {
        let (s, e) = (at(&format!("{other} start")), at(&format!("{other} end")));
        let (bs, be) = (at("b start"), at("b end"));
        assert!(e <= bs || s >= be, "{other} overlapped b:\n{times}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Host processes whose command line mentions `marker`.
fn host_processes(marker: &str) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .expect("ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(marker) && !l.contains("ps -eo"))
        .map(str::to_string)
        .collect()
}

/// Execs and host commands are bounded and killed with everything they started; a shell
/// that exits is done even when it left a background process.
#[test]
fn execs_and_host_commands_never_outlive_their_limits() {
    // Sleeps of this run only: `sleep 3PPPPPN`.
    let base = format!("3{:05}", std::process::id() % 100_000);
    let var = format!("base={base}");
    let (out, all) = common::dspec_check(
        &["--var", &var, "tests/specs/bounded.dspec"],
        &[("DSPEC_TEST_TOKEN", SECRET)],
        &[SECRET],
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("2 passed, 3 failed"), "{all}");
    assert!(all.contains("✓ expect bg.stdout == \"started\""), "{all}");
    assert!(
        all.contains("✓ expect api.exec([\"sh\", \"-c\", \"ps"),
        "{all}"
    );
    assert!(
        all.contains("did not finish within 1s (its `timeout`); it was killed"),
        "{all}"
    );
    assert!(
        all.contains(&format!(
            "`sleep {base}4` did not finish within 2s (killed)"
        )),
        "{all}"
    );
    // The `within 3s` attempt was cut at its deadline, not after the sleep.
    assert!(
        all.contains(&format!("`sh -c sleep {base}5` did not finish within")),
        "{all}"
    );
    assert_eq!(
        host_processes(&format!("sleep {base}")),
        Vec::<String>::new()
    );
}

/// A host command's children go with it when the run is interrupted or hits `--timeout`.
#[test]
fn host_command_children_die_with_the_run() {
    common::require_docker();
    let dir = std::env::temp_dir().join(format!("dspec-hostkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, how) in ["-TERM", "--timeout"].iter().enumerate() {
        // Unique to this test process, so that no other run's processes can be mistaken.
        let marker = format!("sleep 4{:05}{i}", std::process::id() % 100_000);
        let spec = dir.join(format!("k{i}.dspec"));
        std::fs::write(
            &spec,
            format!("command c = host \"{marker}1 & {marker}2\"\nexpect c.exit_code == 0\n"),
        )
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dspec"));
        cmd.args(["check", "--color", "never"]);
        if *how == "--timeout" {
            cmd.args(["--timeout", "3s"]);
        }
        let child = cmd
            .arg(&spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs dspec");
        // Wait until the command runs, then stop dspec (or let --timeout do it).
        let t = Instant::now();
        while host_processes(&marker).len() < 2 && t.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(host_processes(&marker).len() >= 2, "the command never ran");
        if *how == "-TERM" {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill");
        }
        let out = child.wait_with_output().expect("waits");
        let expected = if *how == "-TERM" { 130 } else { 1 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(host_processes(&marker), Vec::<String>::new(), "after {how}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Secrets are masked whatever shape they come back in (a trailing newline, one line of a
/// PEM key, a JSON number), and control characters from containers reach no output raw.
#[test]
fn hostile_output_is_masked_and_escaped() {
    common::require_docker();
    common::fixtures_dir();
    let pem = "-----BEGIN TEST KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA\n-----END TEST KEY-----";
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never", "tests/specs/hostile.dspec"])
        .env("DSPEC_SECRET_NL", "nl-secret-77\n")
        .env("DSPEC_SECRET_PEM", pem)
        .env("DSPEC_SECRET_NUM", "918273645")
        .current_dir(root())
        .output()
        .expect("runs dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("0 passed, 5 failed"), "{all}");
    for leak in [
        "nl-secret-77",
        "MIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA",
        "918273645",
    ] {
        assert!(!all.contains(leak), "`{leak}` leaked:\n{all}");
    }
    assert!(all.contains("actual: \"***\""), "{all}");
    for raw in ['\u{1b}', '\u{7}'] {
        assert!(
            !all.contains(raw),
            "a raw {raw:?} reached the output:\n{all:?}"
        );
    }
    assert!(all.contains("\\u{1b}[31mred"), "{all}");
}

/// Consecutive expectations of one action call share its one performance (an exec counting
/// its runs sees one run for three expectations); after `stop` the exited container's status,
/// exit code, files and logs stay readable.
#[test]
fn consecutive_calls_share_one_performance_and_a_stopped_container_stays_readable() {
    let (out, all) = check("tests/specs/shared_actions.dspec");
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("13 passed, 0 failed"), "{all}");
}

/// JSON literals compare structurally (`==`) and as a recursive subset (`contains`); `[*]`
/// maps over arrays; `contains /re/` holds when some element matches.
#[test]
fn json_literals_each_and_regex_contains() {
    let (out, all) = check("tests/specs/json.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("11 passed, 4 failed"), "{all}");
    for (at, actual) in [
        ("json.dspec:23:10", "expected: == {\"status\": \"ok\"}"),
        ("json.dspec:24:10", "\"db\":{\"ms\":3,\"up\":true}"),
        ("json.dspec:25:10", "actual: [\"chair\",\"stool\"]"),
        (
            "json.dspec:26:10",
            "element [0]: the JSON has no member `price`",
        ),
    ] {
        let b = block(&all, at);
        assert!(b.contains(actual), "{at}: `{actual}` missing in\n{b}");
    }
}

/// `file(P).writable` on a tmpfs mount point: the archive endpoint shows the root-owned
/// directory the tmpfs hides, but the tmpfs belongs to the user its `uid=`/`gid=` name.
#[test]
fn a_tmpfs_mount_point_is_writable_by_its_owner() {
    let (out, all) = check("tests/specs/tmpfs_owner.dspec");
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("5 passed, 0 failed"), "{all}");
}

/// A container's settings in force come from the engine (no shell needed); the v1 settings
/// set them; a missing limit reads as `unlimited` and fails every comparison.
#[test]
fn settings_in_force_are_read_from_the_engine() {
    let (out, all) = check("tests/specs/settings.dspec");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("32 passed, 2 failed"), "{all}");
    let unlimited = block(&all, "settings.dspec:58:10");
    assert!(
        unlimited.contains("actual: unlimited") && unlimited.contains("there is no limit"),
        "{unlimited}"
    );
    // appuser owns the file, but the root filesystem is read-only.
    let read_only = block(&all, "settings.dspec:59:10");
    assert!(read_only.contains("actual: false"), "{read_only}");
}
