//! `dspec check` on images against the real engine: fixtures built FROM
//! scratch, every image property passing and failing.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `dspec check`; also asserts that the run left no container behind.
fn check(args: &[&str]) -> (Output, String, String) {
    common::require_docker();
    common::fixtures_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .arg("check")
        .arg("--color")
        .arg("never")
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs dspec");
    let pid = child.id();
    let out = child.wait_with_output().expect("waits for dspec");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let left = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=dspec.pid={pid}")])
        .output()
        .expect("docker ps");
    assert!(
        left.stdout.is_empty(),
        "containers left behind: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    (out, stdout, stderr)
}

#[test]
fn every_image_property_passes_on_the_prod_stage() {
    let (out, stdout, stderr) = check(&["tests/specs/image_pass.dspec"]);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("50 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("story FX-1"), "{stdout}");
    assert!(
        stdout.contains("✓ expect bare.file(\"/bin/sh\").exists == false"),
        "{stdout}"
    );
    let tagged = Command::new("docker")
        .args(["image", "inspect", "dspec-test/prod:tagged"])
        .output()
        .expect("docker");
    assert!(tagged.status.success(), "the `tag` setting was not applied");
}

#[test]
fn the_dev_stage_fails_at_the_right_lines() {
    let (out, stdout, stderr) = check(&["tests/specs/image_fail.dspec"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 passed, 5 failed"), "{stdout}");
    for (line, actual) in [
        ("10:10", "actual: \"\""),
        ("11:10", "actual: [\"/app/main.py\", \"/app/util.py\"]"),
        // The dev stage holds busybox and fixture-svc: about 3.4 MB (the fixture's size).
        ("12:10", "actual: 3.4"),
        ("13:10", "the image's environment has no `APP_ENV`"),
        ("14:10", "diff (- expected, + actual)"),
    ] {
        let at = stdout
            .find(&format!("tests/specs/image_fail.dspec:{line}"))
            .unwrap_or_else(|| panic!("no failure at {line}:\n{stdout}"));
        let block = &stdout[at..];
        let end = block.find("DS0401").unwrap_or(block.len());
        assert!(
            block[..end].contains(actual),
            "{line}: `{actual}` missing in\n{}",
            &block[..end]
        );
    }
    assert!(stdout.contains("expected: < 1MB (1000000 B)"), "{stdout}");
}

/// A tag of the eco fixture for one test (two suites at once must not retag each other's
/// build), removed afterwards.
struct EcoTag(String);

impl EcoTag {
    fn new() -> EcoTag {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        EcoTag(format!(
            "t{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ))
    }

    /// `eco_tag=...` for `--var`.
    fn var(&self) -> String {
        format!("eco_tag={}", self.0)
    }
}

impl Drop for EcoTag {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", &format!("dspec-test/eco:{}", self.0)])
            .output();
    }
}

/// Language v1 on an image without a shell: access by the image's USER, hashes, accounts,
/// groups, pip and npm packages, history, `based_on` (the derived build waits for the tag its
/// FROM names), and `ref`/`id` handed to a host command.
#[test]
fn v1_image_properties_hold_on_a_shell_less_image() {
    let tag = EcoTag::new();
    let (out, stdout, stderr) = check(&["--var", &tag.var(), "tests/specs/images_v1.dspec"]);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("37 passed, 0 failed"), "{stdout}");
}

/// Each v1 image property that does not hold says what the image has.
#[test]
fn v1_image_failures_show_what_the_image_has() {
    let tag = EcoTag::new();
    let (out, stdout, stderr) = check(&["--var", &tag.var(), "tests/specs/images_v1_fail.dspec"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 passed, 9 failed"), "{stdout}");
    for (line, actual) in [
        ("8:8", "actual: false"),
        (
            "9:8",
            "actual: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
        ),
        ("10:8", "the image's /etc/passwd has no account `nobody`"),
        ("11:8", "actual: \"0.30.1\""),
        ("12:8", "actual: false"),
        ("13:8", "actual: [\"@types/node\", \"debug\", \"express\"]"),
        ("14:8", "`/nope` does not exist in the image"),
        ("15:8", "actual: [\"appuser\"]"),
        ("16:8", "\"fastapi\""),
    ] {
        let at = stdout
            .find(&format!("tests/specs/images_v1_fail.dspec:{line}"))
            .unwrap_or_else(|| panic!("no failure at {line}:\n{stdout}"));
        let block = &stdout[at..];
        let end = block.find("DS0401").unwrap_or(block.len());
        assert!(
            block[..end].contains(actual),
            "{line}: `{actual}` missing in\n{}",
            &block[..end]
        );
    }
}

#[test]
fn a_failed_build_is_shown_once_and_dependents_point_at_it() {
    let (out, stdout, stderr) = check(&["tests/specs/build_fail.dspec"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches("× build of `broken` failed").count(),
        1,
        "{stdout}"
    );
    assert!(
        stdout.contains("missing.txt"),
        "the failing step's message: {stdout}"
    );
    assert!(stdout.contains("DS0402"), "{stdout}");
    assert_eq!(
        stdout
            .matches("not run: build of `broken` failed (tests/specs/build_fail.dspec:3:7)")
            .count(),
        2,
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ expect prod.user == \"appuser\""),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 2 failed"), "{stdout}");
}

#[test]
fn an_absent_image_is_an_infrastructure_error_never_a_pull() {
    let (out, stdout, stderr) = check(&["tests/specs/absent_image.dspec"]);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("DS0404") && stdout.contains("never pulls"),
        "{stdout}"
    );
}

#[test]
fn an_unreachable_daemon_exits_3() {
    common::fixtures_dir();
    for host in ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
            .args(["check", "tests/specs/image_pass.dspec"])
            .env("DOCKER_HOST", host)
            .current_dir(root())
            .output()
            .expect("runs dspec");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{host}: {stderr}");
        assert!(
            stderr.contains("DS0403") && stderr.contains("cannot reach the Docker engine"),
            "{stderr}"
        );
    }
}

#[test]
fn a_missing_base_image_fails_fast_without_a_pull() {
    let (out, stdout, stderr) = check(&["tests/specs/needs_pull.dspec"]);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("the base image `dspec-test/never-pulled:1` (FROM, line 1) is not in the engine; dspec never pulls"),
        "{stdout}"
    );
}

/// The stage images of a multi-stage build are the build cache: a second identical run is a
/// cache hit (its builder stage is not run again), and they carry a `dspec/` tag.
#[test]
fn a_second_identical_build_is_a_cache_hit() {
    let report =
        |n: u32| std::env::temp_dir().join(format!("dspec-stages-{}-{n}.json", std::process::id()));
    let stamp = |n: u32| -> String {
        let path = report(n);
        let (out, stdout, stderr) = check(&[
            "tests/specs/stages.dspec",
            "--report",
            &format!("json:{}", path.display()),
        ]);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        json["results"][0]["actual"].as_str().unwrap().to_string()
    };
    let first = stamp(1);
    let second = stamp(2);
    assert_eq!(
        first, second,
        "the builder stage ran again: its cache was removed"
    );
    let images = Command::new("docker")
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .output()
        .expect("docker images");
    let images = String::from_utf8_lossy(&images.stdout).to_string();
    assert!(
        images
            .lines()
            .any(|l| l.starts_with("dspec/") && l.contains("-stage")),
        "{images}"
    );
}
