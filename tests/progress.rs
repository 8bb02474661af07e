//! Progress on standard error: per-file blocks in file order in a log (whatever order the
//! work finished in), every step with `-v`, and a live view on a terminal.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    common::require_docker();
    common::fixtures_dir();
    let out = cmd
        .current_dir(root())
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

fn dspec(args: &[&str]) -> (Output, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_dspec")).args(args))
}

/// Timings vary from run to run: `2.0s` → `T`.
fn untimed(s: &str) -> String {
    regex::Regex::new(r"\d+\.\ds")
        .unwrap()
        .replace_all(s, "T")
        .to_string()
}

const SPECS: &str = "tests/specs/progress";

#[test]
fn a_log_gets_one_block_per_file_in_file_order() {
    let (out, stdout, stderr) = dspec(&["check", "--color", "never", SPECS]);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        untimed(&stderr),
        "[1/2] tests/specs/progress/a_slow.dspec: 2 passed, 0 failed
  image prod: built in T
  container api: ready in T
  command wait: exited 0 in T
[2/2] tests/specs/progress/b_fast.dspec: 1 passed, 0 failed
  image bare: built in T
"
    );

    // With -v every step also shows as it happens: b_fast was done long before a_slow's
    // two-second wait, yet its block still comes second.
    let (out, _, stderr) = dspec(&["check", "-v", "--color", "never", SPECS]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let at = |s: &str| {
        stderr
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} missing:\n{stderr}"))
    };
    assert!(
        at("image bare: built in") < at("command wait: exited 0 in"),
        "{stderr}"
    );
    assert!(at("command wait: exited 0 in") < at("[1/2] "), "{stderr}");
    assert!(at("[1/2] ") < at("[2/2] "), "{stderr}");
    assert!(
        stderr.contains("waiting: expect api.status == \"running\" for 2s"),
        "{stderr}"
    );
}

#[test]
fn a_terminal_gets_a_live_view_that_leaves_only_the_report() {
    let dspec = env!("CARGO_BIN_EXE_dspec");
    // `script` runs dspec on a pseudo-terminal and copies what it shows.
    let (out, shown, stderr) = run(Command::new("script").args([
        "-qec",
        &format!("{dspec} check --color never {SPECS}"),
        "/dev/null",
    ]));
    assert_eq!(out.status.code(), Some(0), "{shown}{stderr}");
    assert!(shown.contains("\x1b[J"), "no redraw:\n{shown:?}");
    assert!(shown.contains(" busy · "), "{shown}");
    assert!(
        shown.contains("expect api.status == \"running\" for 2s  "),
        "no waiting row:\n{shown}"
    );
    assert!(
        untimed(&shown).contains("T / T"),
        "no elapsed / limit:\n{shown}"
    );
    // The report comes after the view is erased, and no per-file blocks are printed.
    let report = shown.rfind("\x1b[J").unwrap();
    assert!(shown[report..].contains("3 passed, 0 failed"), "{shown}");
    assert!(!shown.contains("[1/2] "), "{shown}");
}
