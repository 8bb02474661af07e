//! The bundled examples (`examples/web-api`, `examples/db-stack`, `examples/hardened`) pass
//! `dspec check` against the real engine, leave nothing behind, and never print the secret.
//! `examples/prepare.sh` builds their contexts first (serialised with `flock` across test
//! processes). Like every engine test, these fail — never skip — without Docker.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The token the hardened example receives through `secret("HARDENED_API_TOKEN")`.
const TOKEN: &str = "hx-7Qm2vTz9LpW4rK8sJd3Nc6Yb";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `examples/prepare.sh` once per test process, under a file lock shared with other test
/// processes (they may prepare at the same time).
fn prepare() {
    static PREPARED: OnceLock<()> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let script = root().join("examples").join("prepare.sh");
        // Shared by every checkout's suite: the example images are the engine's.
        let lock = std::env::temp_dir().join("dspec-examples-prepare.lock");
        let out = Command::new("flock")
            .args(["-w", "600"])
            .arg(&lock)
            .arg("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run flock ... bash {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "examples/prepare.sh failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprint!("{}", String::from_utf8_lossy(&out.stdout));
    });
}

/// `dspec check --color never examples/NAME`: (exit code, stdout + stderr).
fn check(name: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    common::require_docker();
    prepare();
    let dir = Path::new("examples").join(name);
    let child = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "-v", "--color", "never"])
        .arg(&dir)
        .envs(env.iter().copied())
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs dspec");
    let (out, all) = common::wait_leaving_nothing(child);
    (out.status.code(), all)
}

#[test]
fn web_api_example_passes() {
    let (code, all) = check("web-api", &[]);
    assert_eq!(code, Some(0), "{all}");
    // build.dspec 16 + runtime.dspec 17 + security.dspec 17
    assert!(all.contains("50 passed, 0 failed"), "{all}");
    for story in ["story WEB-1", "story WEB-2", "story WEB-3"] {
        assert!(all.contains(story), "{story} missing:\n{all}");
    }
}

#[test]
fn db_stack_example_passes() {
    let (code, all) = check("db-stack", &[]);
    assert_eq!(code, Some(0), "{all}");
    // dev-override.dspec 15 + persistence.dspec 15 + startup.dspec 18
    assert!(all.contains("48 passed, 0 failed"), "{all}");
    for story in ["story DB-1", "story DB-2", "story DB-3"] {
        assert!(all.contains(story), "{story} missing:\n{all}");
    }
}

#[test]
fn hardened_example_passes_and_never_prints_its_secret() {
    let (code, all) = check("hardened", &[("HARDENED_API_TOKEN", TOKEN)]);
    assert_eq!(code, Some(0), "{}", all.replace(TOKEN, "<TOKEN>"));
    // limits.dspec 10 + lockdown.dspec 17 + logs-secrets.dspec 10
    assert!(
        all.contains("37 passed, 0 failed"),
        "{}",
        all.replace(TOKEN, "<TOKEN>")
    );
    assert!(
        !all.contains(TOKEN),
        "the secret was printed:\n{}",
        all.replace(TOKEN, "<TOKEN>")
    );
    assert!(
        all.contains(r#"expect api.env.API_TOKEN == "***""#),
        "{}",
        all.replace(TOKEN, "<TOKEN>")
    );
}
