//! `dspec check --report ...` end to end: every format written for a
//! failing and a passing run, valid against its schema, no secret inside;
//! GitHub annotations and step summary when GITHUB_ACTIONS=true.

mod common;

use std::path::PathBuf;
use std::process::Command;

const SECRET: &str = "s3cr3t-value-42";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(spec: &str, tag: &str) -> (Option<i32>, String, PathBuf) {
    common::require_docker();
    common::fixtures_dir();
    let dir = std::env::temp_dir().join(format!("dspec-reports-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let summary = dir.join("summary.md");
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never", spec])
        .arg("--report")
        .arg(format!("junit:{}", dir.join("junit.xml").display()))
        .arg("--report")
        .arg(format!("json:{}", dir.join("report.json").display()))
        .arg("--report")
        .arg(format!("markdown:{}", dir.join("report.md").display()))
        .env("DSPEC_TEST_TOKEN", SECRET)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .current_dir(root())
        .output()
        .expect("runs dspec");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code(), stdout, dir)
}

fn no_secret(dir: &std::path::Path, stdout: &str) {
    assert!(!stdout.contains(SECRET));
    for f in ["junit.xml", "report.json", "report.md", "summary.md"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!text.contains(SECRET), "the secret leaked into {f}");
    }
}

fn xmllint(file: &std::path::Path) {
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(root().join("tests/schemas/junit.xsd"))
        .arg(file)
        .output()
        .expect("xmllint is needed (apt-get install libxml2-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_failing_run_writes_every_report_and_github_annotations() {
    let (code, stdout, dir) = run("tests/specs/container_fail.dspec", "fail");
    assert_eq!(code, Some(1), "{stdout}");
    xmllint(&dir.join("junit.xml"));
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<failure")
            && junit.contains("<skipped")
            && junit.contains("classname=\"FX-4.AC1\""),
        "{junit}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "dspec-report/1");
    assert_eq!(json["summary"]["passed"], 1);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("❌") && md.contains("1 passed, 6 failed"),
        "{md}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert_eq!(summary, md);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::error file=tests/specs/container_fail.dspec,line=22,col=3,")),
        "{stdout}"
    );
    no_secret(&dir, &stdout);
}

#[test]
fn a_passing_run_writes_valid_reports() {
    let (code, stdout, dir) = run("tests/specs/image_pass.dspec", "pass");
    assert_eq!(code, Some(0), "{stdout}");
    xmllint(&dir.join("junit.xml"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["passed"], 50);
    assert!(!stdout.contains("::error"), "{stdout}");
    no_secret(&dir, &stdout);
}
