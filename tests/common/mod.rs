//! Shared helpers for dspec's integration tests: `mod common;` in a test file.
//!
//! - [`fixtures_dir`] runs `tests/fixtures/prepare.sh` once per test process, serialised across
//!   concurrent test processes (of every checkout) with `flock(1)` on a lock file in the temp dir.
//! - [`require_docker`] makes an engine test fail (never skip) when the daemon does not answer.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository's `tests/fixtures` directory, prepared (fixture-svc compiled, busybox copied,
/// `.pyc` files compiled, nested `.git` created). Panics with prepare.sh's output if it fails.
pub fn fixtures_dir() -> PathBuf {
    static PREPARED: OnceLock<PathBuf> = OnceLock::new();
    PREPARED.get_or_init(prepare).clone()
}

fn prepare() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures");
    let script = dir.join("prepare.sh");
    let lock = lock_file();
    // flock -w: wait up to 10 minutes for another test process that is preparing right now.
    let locked = Command::new("flock")
        .arg("-w")
        .arg("600")
        .arg(&lock)
        .arg("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output();
    let out = match locked {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("warning: `flock` not found (util-linux); running prepare.sh without a lock");
            Command::new("bash")
                .arg(&script)
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()))
        }
        Err(e) => panic!(
            "cannot run flock {} bash {}: {e}",
            lock.display(),
            script.display()
        ),
    };
    assert!(
        out.status.success(),
        "fixture preparation failed ({}): {}\n{}{}",
        out.status,
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    dir
}

/// In the system's temp dir, not the checkout's target dir: the fixture images are the
/// engine's, shared by every checkout's test suite running at the same time.
fn lock_file() -> PathBuf {
    std::env::temp_dir().join("dspec-fixtures-prepare.lock")
}

/// Panics unless the Docker daemon answers. Engine tests are never skipped: a missing daemon is
/// a failure, in CI (`CI` set) and locally alike.
pub fn require_docker() {
    if let Err(why) = docker_status() {
        let hint = if std::env::var_os("CI").is_some() {
            "Docker is required in CI (CI is set). Start the Docker daemon before running the \
             tests (see .ci/run)."
        } else {
            "Start the Docker daemon (e.g. `sudo service docker start`) and make sure this user \
             can reach /var/run/docker.sock. These tests are never skipped."
        };
        panic!("dspec's engine tests need Docker, but `docker info` failed: {why}\n{hint}");
    }
}

/// The cached result of [`probe_docker`]: Ok(server version) or Err(why).
fn docker_status() -> &'static Result<String, String> {
    static STATUS: OnceLock<Result<String, String>> = OnceLock::new();
    STATUS.get_or_init(probe_docker)
}

/// Runs `docker info --format {{.ServerVersion}}` with a 30 s deadline; Ok(server version).
fn probe_docker() -> Result<String, String> {
    let child = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return Err(format!("cannot run `docker`: {e}")),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("`docker info` did not answer within 30 s".to_string());
            }
            Err(e) => return Err(format!("waiting for `docker info`: {e}")),
        }
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child
        .wait_with_output()
        .map_err(|e| format!("reading `docker info` output: {e}"))?;
    let version = String::from_utf8_lossy(&stdout).trim().to_string();
    // Old clients exit 0 and print an empty version when the daemon is down.
    if status.success() && !version.is_empty() {
        Ok(version)
    } else {
        Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&stderr).trim()
        ))
    }
}

/// Containers, networks and volumes a dspec process left: by its pid label and by the name
/// prefix of its run (`dspec-<pid hex>-`), Compose projects included.
pub fn leftovers(pid: u32) -> Vec<String> {
    let mut found = Vec::new();
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=dspec.pid={pid}")])
        .output()
        .expect("docker ps");
    found.extend(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string),
    );
    let prefix = format!("dspec-{pid:x}-");
    for kind in ["network", "volume"] {
        let out = Command::new("docker")
            .args([kind, "ls", "--format", "{{.Name}}"])
            .output()
            .expect("docker ls");
        found.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|n| n.starts_with(&prefix))
                .map(str::to_string),
        );
    }
    found
}

/// The text of every `*.dspec` file under `dirs` (relative to the repository), recursively.
pub fn spec_texts(dirs: &[&str]) -> Vec<String> {
    fn collect(dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|e| e == "dspec") {
                out.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in dirs {
        collect(&root.join(dir), &mut out);
    }
    out
}

/// Waits for a `dspec` process and asserts that its run left nothing in the engine; returns
/// its output and its stdout and stderr together.
pub fn wait_leaving_nothing(child: std::process::Child) -> (Output, String) {
    let pid = child.id();
    let out = child.wait_with_output().expect("waits for dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(leftovers(pid), Vec::<String>::new(), "left behind:\n{all}");
    (out, all)
}

/// A fresh, empty folder `dspec-test-NAME-PID` under the system's temp dir.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dspec-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
    d
}

/// `dspec check --color never ARGS` from the repository root with extra environment variables,
/// once the engine answers and the fixtures are built; its output and its stdout and stderr
/// together. Panics when a value of `secrets` shows in the output.
pub fn dspec_check(args: &[&str], env: &[(&str, &str)], secrets: &[&str]) -> (Output, String) {
    let (_, out, all) = dspec_check_pid(args, env, secrets);
    (out, all)
}

/// [`dspec_check`], with the pid of the dspec process (its resources carry `dspec.pid`).
pub fn dspec_check_pid(
    args: &[&str],
    env: &[(&str, &str)],
    secrets: &[&str],
) -> (u32, Output, String) {
    require_docker();
    fixtures_dir();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never"])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs dspec");
    let pid = child.id();
    let out = child.wait_with_output().expect("waits for dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in secrets {
        assert!(!all.contains(s), "the secret {s:?} leaked:\n{all}");
    }
    (pid, out, all)
}

/// The failure block of the diagnostic at `file:line:col` in a console report.
pub fn failure_block<'a>(all: &'a str, at: &str) -> &'a str {
    let i = all
        .find(at)
        .unwrap_or_else(|| panic!("nothing at {at}:\n{all}"));
    let rest = &all[i..];
    &rest[..rest[1..].find("DS04").map(|j| j + 1).unwrap_or(rest.len())]
}

/// Held by every test that runs `dspec clean` or inspects what a finished run left (`--keep`,
/// a killed run): `clean` removes every finished run's leftovers, so two such tests — in this
/// process or in another test suite running at the same time — must not overlap. An exclusive
/// `flock(1)` on a file in the system's temp dir, held by a child process until this drops.
pub struct CleanLock(std::process::Child);

impl Drop for CleanLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Waits for the [`CleanLock`].
pub fn clean_lock() -> CleanLock {
    use std::io::BufRead;
    let path = std::env::temp_dir().join("dspec-tests-clean.lock");
    let mut child = Command::new("flock")
        .arg(&path)
        .args(["sh", "-c", "echo locked; exec cat >/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("flock(1) (package util-linux) runs");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("flock's stdout");
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads from flock");
    assert_eq!(
        line.trim(),
        "locked",
        "flock did not take {}",
        path.display()
    );
    CleanLock(child)
}
