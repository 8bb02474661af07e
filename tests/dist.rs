//! The distribution files: the install script against a local copy of a release (a good and a
//! tampered checksum), the GitHub Action's inputs, the pre-commit hooks' commands, the GitLab
//! template, the image's Dockerfile, and the crate's metadata. No network, no engine.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const DSPEC: &str = env!("CARGO_BIN_EXE_dspec");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

use common::tempdir;

fn sh(dir: &Path, script: &str) -> std::process::Output {
    Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .unwrap()
}

fn yaml(path: &str) -> yaml_serde::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A release folder as the release workflow writes it, for this machine's target, holding
/// the test binary.
fn fake_release(dir: &Path) -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("no release target for {other}"),
    };
    let target = match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no release target for {other}"),
    };
    let name = format!("dspec-{target}");
    let stage = dir.join(&name);
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(DSPEC, stage.join("dspec")).unwrap();
    let out = sh(
        dir,
        &format!(
            "tar -czf {name}.tar.gz {name} && rm -r {name} && \
             (sha256sum {name}.tar.gz || shasum -a 256 {name}.tar.gz) > {name}.tar.gz.sha256"
        ),
    );
    assert!(out.status.success(), "{out:?}");
    name
}

fn install(release: &Path, into: &Path) -> std::process::Output {
    Command::new("sh")
        .arg(root().join("dist/install.sh"))
        .env(
            "DSPEC_DOWNLOAD_URL",
            format!("file://{}", release.display()),
        )
        .env("DSPEC_INSTALL_DIR", into)
        .env_remove("GITHUB_PATH")
        .output()
        .unwrap()
}

#[test]
fn the_install_script_checks_the_checksum() {
    let dir = tempdir("install");
    let release = dir.join("release");
    std::fs::create_dir_all(&release).unwrap();
    let name = fake_release(&release);
    let bin = dir.join("bin");
    let out = install(&release, &bin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("dspec {}", env!("CARGO_PKG_VERSION"))),
        "{stderr}"
    );
    let v = Command::new(bin.join("dspec"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(v.status.success());

    // A tampered archive is refused and nothing is installed.
    std::fs::remove_file(bin.join("dspec")).unwrap();
    let archive = release.join(format!("{name}.tar.gz"));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).unwrap();
    let out = install(&release, &bin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(!bin.join("dspec").exists());

    // A missing checksum file is refused too.
    std::fs::remove_file(release.join(format!("{name}.tar.gz.sha256"))).unwrap();
    let out = install(&release, &bin);
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_action_installs_then_runs_check_with_its_inputs() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_mapping().unwrap();
    for input in [
        "version",
        "command",
        "paths",
        "only",
        "partition",
        "reports",
        "args",
    ] {
        assert!(inputs.contains_key(input), "input {input} missing");
    }
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let install = steps[0]["run"].as_str().unwrap();
    assert!(install.contains("dist/install.sh"), "{install}");
    assert!(root().join("dist/install.sh").is_file());
    let run = steps[1]["run"].as_str().unwrap();
    for flag in ["--only", "--partition", "--report"] {
        assert!(run.contains(flag), "{flag} not passed:\n{run}");
    }
    // Every `shell` step says which shell it runs in (composite actions require it).
    for s in steps {
        assert!(s["shell"].as_str().is_some(), "{s:?}");
    }
}

#[test]
fn the_pre_commit_hooks_run_dspec_commands_that_exist() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_sequence().unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"dspec-fmt") && ids.contains(&"dspec-validate"),
        "{ids:?}"
    );
    let dir = tempdir("hooks");
    std::fs::write(
        dir.join("a.dspec"),
        "image app = build \".\"\nexpect app.size < 1MB\n",
    )
    .unwrap();
    for h in hooks {
        assert_eq!(h["files"].as_str(), Some(r"\.dspec$"));
        let entry = h["entry"].as_str().unwrap();
        let mut words = entry.split_whitespace();
        assert_eq!(words.next(), Some("dspec"));
        // pre-commit appends the file names.
        let out = Command::new(DSPEC)
            .args(words)
            .arg("a.dspec")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{entry}: {out:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_gitlab_template_verifies_the_download_and_reports_junit() {
    let t = yaml("ci/gitlab/dspec.gitlab-ci.yml");
    let install = yaml_serde::to_string(&t[".dspec-install"]).unwrap();
    assert!(install.contains("sha256sum -c"), "{install}");
    assert!(install.contains("releases/latest/download"), "{install}");
    assert_eq!(t[".dspec-check"]["extends"], ".dspec-install");
    assert_eq!(t[".dspec-validate"]["extends"], ".dspec-install");
    assert_eq!(
        t[".dspec-check"]["artifacts"]["reports"]["junit"],
        "reports/dspec-junit.xml"
    );
    let check = yaml_serde::to_string(&t[".dspec-check"]["script"]).unwrap();
    assert!(
        check.contains("CI_NODE_INDEX") && check.contains("--partition"),
        "{check}"
    );
}

#[test]
fn the_release_workflow_builds_every_target_the_installers_download() {
    let wf = yaml(".github/workflows/release.yml");
    let targets: Vec<String> = wf["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    let install = std::fs::read_to_string(root().join("dist/install.sh")).unwrap();
    for t in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(targets.iter().any(|x| x == t), "{t} not built: {targets:?}");
    }
    for os in ["unknown-linux-musl", "apple-darwin"] {
        assert!(install.contains(os), "install.sh does not know {os}");
    }
    let build = std::fs::read_to_string(root().join("dist/build.sh")).unwrap();
    assert!(build.contains(".tar.gz.sha256"));
}

#[test]
fn the_image_is_from_scratch_and_not_root() {
    let text = std::fs::read_to_string(root().join("dist/Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .filter(|l| !l.starts_with(' '))
        .collect();
    assert_eq!(instructions[0], "FROM scratch", "{instructions:?}");
    assert!(
        instructions.iter().any(|l| l.starts_with("USER 65532")),
        "{instructions:?}"
    );
    // One COPY: the binary, nothing else.
    assert_eq!(
        instructions
            .iter()
            .filter(|l| l.starts_with("COPY"))
            .count(),
        1
    );
}

#[test]
fn cargo_metadata_is_complete() {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for key in [
        "license =",
        "repository =",
        "readme =",
        "keywords =",
        "categories =",
        "rust-version =",
        "[profile.dist]",
        "[lints.rust]",
    ] {
        assert!(text.contains(key), "Cargo.toml lacks {key}");
    }
    for f in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(root().join(f).is_file(), "{f} missing");
    }
}
