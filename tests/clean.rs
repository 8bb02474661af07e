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
    let _clean = common::clean_lock();
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

/// Liveness does not depend on the binary's name: a live run of a renamed dspec keeps its
/// containers through a `dspec clean`.
#[test]
fn a_renamed_binary_s_live_run_survives_a_clean() {
    let _clean = common::clean_lock();
    common::require_docker();
    common::fixtures_dir();
    let dir = std::env::temp_dir().join(format!("dspec-renamed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let runner = dir.join("acceptance-runner");
    std::fs::copy(env!("CARGO_BIN_EXE_dspec"), &runner).unwrap();
    let mut live = Command::new(&runner)
        .args(["check", "tests/specs/interrupt.dspec"])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts the renamed dspec");
    let started = Instant::now();
    while labelled(live.id()) < 2 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(labelled(live.id()) >= 2, "the live run never started");
    let out = dspec(&["clean"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        labelled(live.id()) >= 2,
        "clean removed a live run's resources:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Command::new("kill")
        .args(["-INT", &live.id().to_string()])
        .status()
        .expect("kill");
    assert_eq!(live.wait().expect("waits").code(), Some(130));
    assert_eq!(labelled(live.id()), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Compose override file lives only while `up` runs; a killed run's is removed by
/// `dspec clean`; `--keep` names the stack's network too.
#[test]
fn compose_override_files_never_stay_behind() {
    let _clean = common::clean_lock();
    common::require_docker();
    common::fixtures_dir();
    let overrides = |pid: u32| -> Vec<PathBuf> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                n.starts_with(&format!("dspec-{pid:x}-")) && n.ends_with("-labels.yml")
            })
            .collect()
    };
    // --keep: the stack stays, the file does not; the summary names its network.
    let kept = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args([
            "check",
            "--keep",
            "--color",
            "never",
            "tests/specs/stack_named.dspec",
        ])
        .env("DSPEC_NAMED_SUFFIX", format!("keep{}", std::process::id()))
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts dspec");
    let pid = kept.id();
    let out = kept.wait_with_output().expect("waits");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(overrides(pid), Vec::<PathBuf>::new(), "{stdout}");
    let networks = Command::new("docker")
        .args(["network", "ls", "--format", "{{.Name}}"])
        .output()
        .expect("docker");
    let network = String::from_utf8_lossy(&networks.stdout)
        .lines()
        .find(|n| n.starts_with(&format!("dspec-{pid:x}-")))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no network of the kept stack:\n{stdout}"));
    let network_id = Command::new("docker")
        .args(["network", "inspect", "--format", "{{.Id}}", &network])
        .output()
        .expect("docker");
    let network_id = String::from_utf8_lossy(&network_id.stdout)
        .trim()
        .to_string();
    let kept_line = stdout
        .lines()
        .find(|l| l.starts_with("kept (label"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(kept_line.contains(&network_id), "{kept_line}");

    // SIGKILL during `up`: the file stays; `clean` removes it and the stack's leftovers.
    let killed = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args([
            "check",
            "--color",
            "never",
            "tests/specs/stack_interrupt.dspec",
        ])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts dspec");
    let kpid = killed.id();
    let started = Instant::now();
    while overrides(kpid).is_empty() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let files = overrides(kpid);
    assert!(!files.is_empty(), "the run never wrote its override file");
    Command::new("kill")
        .args(["-KILL", &kpid.to_string()])
        .status()
        .expect("kill");
    let mut killed = killed;
    let _ = killed.wait();
    // Compose itself may still finish `up` for a moment: let it, then clean.
    std::thread::sleep(Duration::from_secs(5));
    let out = dspec(&["clean"]);
    assert_eq!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("removed file"), "{said}");
    assert_eq!(overrides(kpid), Vec::<PathBuf>::new(), "{said}");
    assert_eq!(overrides(pid), Vec::<PathBuf>::new(), "{said}");
}
