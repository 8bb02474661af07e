//! An engine that stops answering mid-run (it accepts connections and never answers): the
//! run stops within its `--timeout`, cleanup included, exits 3, names what it left in the
//! engine and says to run `dspec clean`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The proxy, killed when dropped.
struct Proxy(std::process::Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn labelled(pid: u32) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=dspec.pid={pid}")])
        .output()
        .expect("docker");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Starts the proxy in `dir`: its handle, its `DOCKER_HOST` and the file that freezes it.
fn proxy(dir: &std::path::Path) -> (Proxy, String, PathBuf) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let (port_file, freeze) = (dir.join("port"), dir.join("freeze"));
    let proxy = Proxy(
        Command::new("python3")
            .arg(root().join("tests/fixtures/hang_proxy.py"))
            .args(["/var/run/docker.sock"])
            .arg(&port_file)
            .arg(&freeze)
            .spawn()
            .expect("starts the proxy"),
    );
    let t = Instant::now();
    while !port_file.exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let port = std::fs::read_to_string(&port_file).expect("the proxy's port");
    (proxy, format!("tcp://127.0.0.1:{}", port.trim()), freeze)
}

/// Removes what a frozen run left (the engine itself is fine).
fn sweep(pid: u32) {
    let _clean = common::clean_lock();
    for id in labelled(pid) {
        let _ = Command::new("docker").args(["rm", "-f", &id]).output();
    }
    let _ = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .arg("clean")
        .output();
}

#[test]
fn a_hung_engine_is_exit_3_within_the_timeout() {
    common::require_docker();
    common::fixtures_dir();
    let dir = std::env::temp_dir().join(format!("dspec-hung-{}", std::process::id()));
    let (_proxy, host, freeze) = proxy(&dir);
    let limit = Duration::from_secs(20);
    let child = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args([
            "check",
            "--color",
            "never",
            "--timeout",
            "20s",
            "tests/specs/interrupt.dspec",
        ])
        .env("DOCKER_HOST", &host)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs dspec");
    let started = Instant::now();
    let pid = child.id();
    // Freeze the engine once the run has made its containers.
    while labelled(pid).len() < 2 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        labelled(pid).len() >= 2,
        "the run never started its containers"
    );
    std::fs::write(&freeze, "").unwrap();
    let out = child.wait_with_output().expect("waits");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    sweep(pid);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // --timeout bounds the whole run; a few seconds for the process to start and exit.
    assert!(
        took < limit + Duration::from_secs(8),
        "took {took:?}:\n{stderr}"
    );
    assert!(
        stderr.contains("left in the engine (it stopped answering): ")
            && stderr.contains("container dspec-")
            && stderr.contains("run `dspec clean` once the engine answers again"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error[DS0403]: the Docker engine stopped answering"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An engine lost while Compose brings a stack up is an infrastructure failure (exit 3), not
/// the stack's.
#[test]
fn an_engine_lost_during_compose_up_is_exit_3() {
    common::require_docker();
    common::fixtures_dir();
    let dir = std::env::temp_dir().join(format!("dspec-hung-up-{}", std::process::id()));
    let (_proxy, host, freeze) = proxy(&dir);
    let child = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args([
            "check",
            "--color",
            "never",
            "tests/specs/stack_interrupt.dspec",
        ])
        .env("DOCKER_HOST", &host)
        // Compose v1 gives up on an unanswered request after this many seconds.
        .env("COMPOSE_HTTP_TIMEOUT", "5")
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs dspec");
    let pid = child.id();
    // Freeze while `up` runs: dspec's override file exists only then.
    let started = Instant::now();
    let during_up = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .any(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.starts_with(&format!("dspec-{pid:x}-")) && n.ends_with("-labels.yml")
            })
    };
    while !during_up() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(during_up(), "the run never began `up`");
    std::fs::write(&freeze, "").unwrap();
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = std::fs::remove_file(&freeze);
    sweep(pid);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
