//! What users expect of a command line, on the built binary: completions and a manual page,
//! help with examples, exit codes and environment variables, options only where they apply,
//! `-q`, colour by stream and by the usual variables, closed pipes, standard input, `validate`'s
//! CI formats, usage errors that explain themselves, and `dspec.toml`.
//!
//! No Docker engine is needed, except by the tests named `*_engine`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const DSPEC: &str = env!("CARGO_BIN_EXE_dspec");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command with a clean environment for colour, CI and dspec's settings.
fn cmd(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(DSPEC);
    c.args(args).current_dir(dir).stdin(Stdio::null());
    for v in [
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "GITHUB_ACTIONS",
        "DSPEC_CONFIG",
        "DSPEC_PATHS",
        "DSPEC_JOBS",
        "DSPEC_REPORT",
        "DSPEC_COLOR",
        "DSPEC_CONTEXT",
    ] {
        c.env_remove(v);
    }
    c
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Run {
    let out: Output = c.output().expect("runs dspec");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

fn dspec(dir: &Path, args: &[&str]) -> Run {
    run(&mut cmd(dir, args))
}

/// Runs with `input` on standard input.
fn dspec_stdin(dir: &Path, args: &[&str], input: &str) -> Run {
    let mut child = cmd(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs dspec");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// A fresh folder under the system's temp dir, with a `.git` so that no `dspec.toml` above it
/// is found.
fn tempdir(name: &str) -> PathBuf {
    let d = common::tempdir(&format!("cli-{name}"));
    std::fs::create_dir_all(d.join(".git")).unwrap();
    d
}

const VALID: &str = "image app = build \".\"\nexpect app.size < 10MB\n";
const UNFORMATTED: &str = "image app = build \".\"\nexpect   app.size<10MB\n";
const INVALID: &str = "image app = build \".\"\nexpect app.sise < 10MB\n";
const WARNING: &str =
    "image app = build \".\"\nimage unused = build \".\"\nexpect app.size < 10MB\n";

// ------------------------------------------------------------ completions, man, help --

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef dspec"),
        ("fish", "complete -c dspec"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = dspec(&root(), &["completions", shell]);
        assert_eq!(r.code, Some(0), "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(marker), "{shell}:\n{}", r.stdout);
        for sub in ["validate", "check", "fmt", "explain", "completions"] {
            assert!(r.stdout.contains(sub), "{shell} misses {sub}");
        }
    }
    let r = dspec(&root(), &["completions", "tcsh"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn a_manual_page_and_one_per_command() {
    let r = dspec(&root(), &["man"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH dspec"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Exit codes"), "{}", r.stdout);
    let dir = tempdir("man");
    let r = dspec(&dir, &["man", "--dir", "pages"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for page in [
        "dspec.1",
        "dspec-check.1",
        "dspec-validate.1",
        "dspec-fmt.1",
    ] {
        let text = std::fs::read_to_string(dir.join("pages").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let check = std::fs::read_to_string(dir.join("pages/dspec-check.1")).unwrap();
    assert!(check.contains("partition"), "{check}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn help_has_examples_exit_codes_and_the_environment() {
    let r = dspec(&root(), &["--help"]);
    assert_eq!(r.code, Some(0));
    for part in [
        "Examples:",
        "Exit codes:",
        "130",
        "Environment:",
        "NO_COLOR",
        "DOCKER_HOST",
        "DSPEC_CONFIG",
        "completions",
        "man",
    ] {
        assert!(r.stdout.contains(part), "{part} missing:\n{}", r.stdout);
    }
    // -h is short and points at --help.
    let r = dspec(&root(), &["-h"]);
    assert!(!r.stdout.contains("Environment:"), "{}", r.stdout);
    assert!(r.stdout.contains("dspec --help"), "{}", r.stdout);
    for sub in [
        "validate", "check", "fmt", "plan", "clean", "init", "explain",
    ] {
        let r = dspec(&root(), &[sub, "--help"]);
        assert_eq!(r.code, Some(0), "{sub}");
        assert!(r.stdout.contains("Examples:"), "{sub}:\n{}", r.stdout);
        assert!(r.stdout.contains("Exit codes:"), "{sub}:\n{}", r.stdout);
    }
}

#[test]
fn options_show_only_where_they_apply_and_the_default_path_once() {
    let help = |sub: &str| dspec(&root(), &[sub, "--help"]).stdout;
    for sub in ["fmt", "explain"] {
        let h = help(sub);
        assert!(!h.contains("--context"), "{sub}:\n{h}");
        assert!(!h.contains("--var"), "{sub}:\n{h}");
    }
    assert!(help("check").contains("--context"));
    assert!(help("check").contains("--var"));
    assert!(help("validate").contains("--var"));
    assert!(!help("validate").contains("--context"));
    assert!(help("clean").contains("--context"));
    assert!(!help("clean").contains("--var"));
    let fmt = help("fmt");
    assert_eq!(fmt.matches("else `specs/`").count(), 1, "{fmt}");
    assert!(!fmt.contains("(default `specs/`)"), "{fmt}");
    assert!(!fmt.contains("[default: specs]"), "{fmt}");
    // Before the command, still accepted where they apply; refused elsewhere.
    let dir = tempdir("before");
    std::fs::write(dir.join("a.dspec"), VALID).unwrap();
    let r = dspec(&dir, &["--var", "x=1", "validate", "a.dspec"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = dspec(&dir, &["--var", "x=1", "fmt", "a.dspec"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("`--var` does not apply to `dspec fmt`"),
        "{}",
        r.stderr
    );
    let r = dspec(&dir, &["fmt", "--var", "x=1", "a.dspec"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn quiet_drops_status_lines_not_errors() {
    let dir = tempdir("quiet");
    std::fs::write(dir.join("a.dspec"), VALID).unwrap();
    std::fs::write(dir.join("b.dspec"), UNFORMATTED).unwrap();
    let r = dspec(&dir, &["validate", "a.dspec"]);
    assert!(r.stderr.contains("valid: 1 file"), "{}", r.stderr);
    let r = dspec(&dir, &["-q", "validate", "a.dspec"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""));
    let r = dspec(&dir, &["fmt", "--quiet", "b.dspec"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""));
    assert_eq!(std::fs::read_to_string(dir.join("b.dspec")).unwrap(), VALID);
    std::fs::write(dir.join("c.dspec"), INVALID).unwrap();
    let r = dspec(&dir, &["validate", "-q", "c.dspec"]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("DS0201"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

// --------------------------------------------------------------------------- colour --

fn has_escapes(s: &str) -> bool {
    s.contains('\x1b')
}

#[test]
fn colour_follows_no_color_clicolor_and_clicolor_force() {
    let dir = tempdir("colour");
    std::fs::write(dir.join("c.dspec"), INVALID).unwrap();
    let stderr = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = cmd(&dir, &[args, &["validate", "c.dspec"]].concat());
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c).stderr
    };
    // Into a pipe: no colour by default; CLICOLOR_FORCE forces it.
    assert!(!has_escapes(&stderr(&[], &[])));
    assert!(has_escapes(&stderr(&[("CLICOLOR_FORCE", "1")], &[])));
    assert!(!has_escapes(&stderr(&[("CLICOLOR_FORCE", "0")], &[])));
    // NO_COLOR wins over CLICOLOR_FORCE; --color wins over both.
    assert!(!has_escapes(&stderr(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[]
    )));
    assert!(has_escapes(&stderr(
        &[("NO_COLOR", "1")],
        &["--color", "always"]
    )));
    assert!(!has_escapes(&stderr(
        &[("CLICOLOR_FORCE", "1")],
        &["--color", "never"]
    )));
    // DSPEC_COLOR and dspec.toml's color are defaults for --color.
    assert!(has_escapes(&stderr(&[("DSPEC_COLOR", "always")], &[])));
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `sh -c SCRIPT` on a pseudo-terminal (`script`); returns what the terminal showed.
fn on_terminal(dir: &Path, script: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut c = Command::new("script");
    c.args(["-qec", script, "/dev/null"])
        .current_dir(dir)
        .stdin(Stdio::null());
    for v in [
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "GITHUB_ACTIONS",
        "CI",
    ] {
        c.env_remove(v);
    }
    c.env("TERM", "xterm");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script(1) is needed (bsdutils)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn colour_is_decided_per_stream_and_term_dumb_turns_it_off() {
    let dir = tempdir("streams");
    std::fs::write(dir.join("c.dspec"), INVALID).unwrap();
    std::fs::write(dir.join("u.dspec"), UNFORMATTED).unwrap();
    // Diagnostics on the terminal are coloured...
    let (code, shown) = on_terminal(&dir, &format!("{DSPEC} validate c.dspec"), &[]);
    assert_eq!(code, Some(2), "{shown}");
    assert!(has_escapes(&shown), "{shown:?}");
    // ...but not with TERM=dumb.
    let (_, shown) = on_terminal(
        &dir,
        &format!("{DSPEC} validate c.dspec"),
        &[("TERM", "dumb")],
    );
    assert!(!has_escapes(&shown), "{shown:?}");
    // ...nor with CLICOLOR=0 or NO_COLOR, even on a terminal.
    for env in [("CLICOLOR", "0"), ("NO_COLOR", "1")] {
        let (_, shown) = on_terminal(&dir, &format!("{DSPEC} validate c.dspec"), &[env]);
        assert!(!has_escapes(&shown), "{env:?}: {shown:?}");
    }
    // stdout to a file, stderr on the terminal: the diff in the file has no escapes; on the
    // terminal it is coloured.
    let (code, _) = on_terminal(
        &dir,
        &format!("{DSPEC} fmt --check u.dspec > diff.txt"),
        &[],
    );
    assert_eq!(code, Some(1));
    let diff = std::fs::read_to_string(dir.join("diff.txt")).unwrap();
    assert!(
        diff.contains("+expect app.size < 10MB") && !has_escapes(&diff),
        "{diff:?}"
    );
    let (_, shown) = on_terminal(
        &dir,
        &format!("{DSPEC} fmt --check u.dspec 2>/dev/null"),
        &[],
    );
    assert!(
        shown.contains("\x1b[32m+expect app.size < 10MB"),
        "{shown:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_colours_its_report_by_stdout_not_stderr_engine() {
    common::require_docker();
    // The report goes to a file while progress is on the terminal: no escape codes in the
    // file. On the terminal, the report is coloured.
    let dir = tempdir("check-colour");
    let hello = root().join("examples/hello");
    let (code, _) = on_terminal(
        &dir,
        &format!("{DSPEC} check {} > report.txt", hello.display()),
        &[],
    );
    assert_eq!(code, Some(0));
    let report = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    assert!(report.contains("16 passed, 0 failed"), "{report}");
    assert!(!has_escapes(&report), "{report:?}");
    let (code, shown) = on_terminal(
        &dir,
        &format!("{DSPEC} check {} 2>/dev/null", hello.display()),
        &[],
    );
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.contains("\x1b[32m✓\x1b[0m"), "{shown:?}");
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------------ pipes and stdin --

/// `dspec ARGS | head -1` in bash: dspec's own exit code and what it wrote on stderr.
fn into_head(dir: &Path, args: &str) -> (i32, String) {
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("{DSPEC} {args} 2>err.txt | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}"),
        ])
        .current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (
        code,
        std::fs::read_to_string(dir.join("err.txt")).unwrap_or_default(),
    )
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    let dir = tempdir("pipes");
    // Big enough that the diff does not fit in the pipe's buffer.
    let mut big = String::new();
    for i in 0..3000 {
        big.push_str(&format!(
            "image   a{i} = build \".\"\nexpect a{i}.size<1MB\n"
        ));
    }
    std::fs::write(dir.join("big.dspec"), &big).unwrap();
    for (args, want) in [
        ("fmt --check big.dspec", 1),
        ("validate --format sarif big.dspec", 0),
        ("validate --format short big.dspec", 0),
        ("validate --format json big.dspec", 0),
        ("plan big.dspec", 0),
        ("plan --format json big.dspec", 0),
        ("completions bash", 0),
        ("man", 0),
        ("--help", 0),
        ("explain --list", 0),
    ] {
        let (code, err) = into_head(&dir, args);
        assert!(!err.contains("panicked"), "{args}: {err}");
        assert_eq!(code, want, "{args}: {err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fmt_and_validate_read_standard_input() {
    let dir = tempdir("stdin");
    let r = dspec_stdin(&dir, &["fmt", "-"], UNFORMATTED);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (Some(0), VALID),
        "{}",
        r.stderr
    );
    let r = dspec_stdin(&dir, &["fmt", "-"], VALID);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), VALID));
    let r = dspec_stdin(&dir, &["fmt", "--check", "-"], UNFORMATTED);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stdout.starts_with("--- <stdin>\n+++ <stdin> (formatted)"),
        "{}",
        r.stdout
    );
    let r = dspec_stdin(&dir, &["fmt", "--check", "-"], VALID);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""));
    let r = dspec_stdin(&dir, &["validate", "-"], VALID);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("valid: 1 file"), "{}", r.stderr);
    let r = dspec_stdin(&dir, &["validate", "--format", "short", "-"], INVALID);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stdout.starts_with("<stdin>:2:12: error[DS0201]: "),
        "{}",
        r.stdout
    );
    let r = dspec_stdin(&dir, &["fmt", "-"], "image = \n");
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("<stdin>:1:"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_json_report_on_standard_output_engine() {
    common::require_docker();
    let dir = tempdir("report-stdout");
    let hello = root().join("examples/hello");
    let r = dspec(
        &dir,
        &[
            "check",
            "--color",
            "never",
            hello.to_str().unwrap(),
            "--report",
            "json:-",
        ],
    );
    let r2 = r.stdout.clone();
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r2).expect("stdout is the JSON report");
    assert_eq!(doc["schema"], "dspec-report/1");
    assert_eq!(doc["summary"]["passed"], 16);
    assert!(r.stderr.contains("16 passed, 0 failed"), "{}", r.stderr);
    assert!(!dir.join("-").exists());
    let r = dspec(
        &dir,
        &[
            "check",
            hello.to_str().unwrap(),
            "--report",
            "json:-",
            "--report",
            "junit:-",
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("only one --report"), "{}", r.stderr);
    // The same from dspec.toml's reports, and from DSPEC_REPORT over it; --report over both.
    std::fs::write(dir.join("dspec.toml"), "reports = [\"json:-\"]\njobs = 1\n").unwrap();
    let r = dspec(
        &dir,
        &["check", "--color", "never", hello.to_str().unwrap()],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("stdout is the JSON report");
    let r = run(cmd(&dir, &["check", hello.to_str().unwrap()]).env("DSPEC_REPORT", "markdown:-"));
    assert!(r.stdout.starts_with("# "), "{}", r.stdout);
    let r = dspec(
        &dir,
        &[
            "check",
            hello.to_str().unwrap(),
            "--report",
            "junit:out/j.xml",
        ],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("16 passed, 0 failed"), "{}", r.stdout);
    assert!(dir.join("out/j.xml").is_file());
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------------ validate in CI --

#[test]
fn validate_annotates_in_github_actions() {
    let dir = tempdir("gha");
    std::fs::write(dir.join("c.dspec"), INVALID).unwrap();
    std::fs::write(dir.join("w.dspec"), WARNING).unwrap();
    let r = run(cmd(&dir, &["validate", "c.dspec", "w.dspec"]).env("GITHUB_ACTIONS", "true"));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stdout
            .contains("::error file=c.dspec,line=2,col=12,title=DS0201 unknown property::"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("::warning file=w.dspec,line=2,col=7,title=DS0301 subject never used::"),
        "{}",
        r.stdout
    );
    // With a document on stdout, the annotations go to stderr.
    let r =
        run(cmd(&dir, &["validate", "--format", "json", "c.dspec"]).env("GITHUB_ACTIONS", "true"));
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("stdout stays JSON");
    assert!(r.stderr.contains("::error file=c.dspec"), "{}", r.stderr);
    // Not in GitHub Actions: no workflow commands.
    let r = dspec(&dir, &["validate", "c.dspec"]);
    assert!(!r.stdout.contains("::error") && !r.stderr.contains("::error"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn validate_writes_sarif() {
    let dir = tempdir("sarif");
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    std::fs::write(dir.join("specs/c.dspec"), INVALID).unwrap();
    std::fs::write(dir.join("specs/w.dspec"), WARNING).unwrap();
    let r = dspec(&dir, &["validate", "--format", "sarif"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("SARIF is JSON");
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run0 = &doc["runs"][0];
    let driver = &run0["tool"]["driver"];
    assert_eq!(driver["name"], "dspec");
    let rules = driver["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "DS0201"));
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{results:#?}");
    let err = results.iter().find(|r| r["ruleId"] == "DS0201").unwrap();
    assert_eq!(err["level"], "error");
    assert_eq!(
        rules[err["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "DS0201"
    );
    let loc = &err["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "specs/c.dspec");
    assert_eq!(loc["region"]["startLine"], 2);
    assert_eq!(loc["region"]["startColumn"], 12);
    assert!(
        err["message"]["text"]
            .as_str()
            .unwrap()
            .contains("no property `sise`")
    );
    let warn = results.iter().find(|r| r["ruleId"] == "DS0301").unwrap();
    assert_eq!(warn["level"], "warning");
    // A clean run is a document with no results.
    std::fs::remove_file(dir.join("specs/c.dspec")).unwrap();
    std::fs::remove_file(dir.join("specs/w.dspec")).unwrap();
    std::fs::write(dir.join("specs/a.dspec"), VALID).unwrap();
    let r = dspec(&dir, &["validate", "--format", "sarif"]);
    assert_eq!(r.code, Some(0));
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn validate_short_and_strict() {
    let dir = tempdir("short");
    std::fs::write(dir.join("c.dspec"), INVALID).unwrap();
    std::fs::write(dir.join("w.dspec"), WARNING).unwrap();
    let r = dspec(
        &dir,
        &["validate", "--format", "short", "c.dspec", "w.dspec"],
    );
    assert_eq!(r.code, Some(2));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].starts_with("c.dspec:2:12: error[DS0201]: an image has no property `sise`"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("w.dspec:2:7: warning[DS0301]: "),
        "{}",
        lines[1]
    );
    // Warnings alone pass, and fail with --strict (exit 1).
    let r = dspec(&dir, &["validate", "w.dspec"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = dspec(&dir, &["validate", "--strict", "w.dspec"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("failed (--strict)"), "{}", r.stderr);
    let r = dspec(&dir, &["validate", "--strict", "c.dspec"]);
    assert_eq!(r.code, Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

// ----------------------------------------------------------------- usage errors --

#[test]
fn an_unknown_context_is_a_usage_error_listing_the_contexts() {
    let dir = tempdir("contexts");
    let meta = dir.join("config/contexts/meta/abc");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        r#"{"Name":"staging","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:1"}}}"#,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    std::fs::write(dir.join("specs/a.dspec"), VALID).unwrap();
    for args in [
        &["check", "--context", "stagin"][..],
        &["--context", "stagin", "check"][..],
        &["clean", "--context", "stagin"][..],
        &["init", "--context", "stagin", "--from-image", "x"][..],
    ] {
        let r = run(cmd(&dir, args).env("DOCKER_CONFIG", dir.join("config")));
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("there is no docker context `stagin`; did you mean `staging`?"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("default, staging"), "{}", r.stderr);
        assert!(!r.stderr.contains("DS0403"), "{}", r.stderr);
    }
    let r = run(cmd(&dir, &["check"])
        .env("DOCKER_CONFIG", dir.join("config"))
        .env("DSPEC_CONTEXT", "nope"));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn no_specs_folder_says_what_the_default_is() {
    let dir = tempdir("nospecs");
    for sub in ["validate", "check", "fmt"] {
        let r = dspec(&dir, &[sub]);
        assert_eq!(r.code, Some(2), "{sub}");
        assert!(
            r.stderr
                .contains("there is no `specs/` folder here: `specs/` is the default"),
            "{sub}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("dspec {sub} path/to/specs")),
            "{}",
            r.stderr
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_lists_codes_and_drops_fences_on_a_terminal() {
    let r = dspec(&root(), &["explain", "--list"]);
    assert_eq!(r.code, Some(0));
    assert!(
        r.stdout.contains("DS0201  unknown property"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.lines().count() >= 20, "{}", r.stdout);
    let r = dspec(&root(), &["explain"]);
    assert_eq!(r.code, Some(2));
    // Into a pipe: Markdown. On a terminal: no fences, the examples indented.
    let r = dspec(&root(), &["explain", "DS0201"]);
    assert!(r.stdout.contains("```text"), "{}", r.stdout);
    let (code, shown) = on_terminal(&root(), &format!("{DSPEC} explain DS0201"), &[]);
    assert_eq!(code, Some(0));
    assert!(!shown.contains("```"), "{shown}");
    assert!(shown.contains("    expect app.size < 200MB"), "{shown}");
}

// ----------------------------------------------------------------------- dspec.toml --

#[test]
fn dspec_toml_gives_defaults_the_environment_and_flags_override() {
    let dir = tempdir("config");
    std::fs::create_dir_all(dir.join("checks")).unwrap();
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::write(
        dir.join("checks/v.dspec"),
        "let tag = \"none\"\nimage app = existing \"app:${tag}\"\nexpect app.size < 10MB\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("dspec.toml"),
        "paths = [\"checks\"]\n[vars]\ntag = \"file\"\n",
    )
    .unwrap();
    // From a subfolder: the file's paths, relative to the file, shown from here.
    let deeper = dir.join("sub/deeper");
    let r = dspec(&deeper, &["validate", "--format", "short"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("valid: 1 file"), "{}", r.stderr);
    let plan = |extra: &[&str], env: &[(&str, &str)]| {
        let mut c = cmd(&deeper, &[&["plan", "../../checks"][..], extra].concat());
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c).stdout
    };
    assert!(plan(&[], &[]).contains("app:file"), "{}", plan(&[], &[]));
    assert!(plan(&[], &[("DSPEC_VAR_tag", "env")]).contains("app:env"));
    assert!(plan(&["--var", "tag=flag"], &[("DSPEC_VAR_tag", "env")]).contains("app:flag"));
    // DSPEC_PATHS over the file, arguments over both.
    let r = run(cmd(&deeper, &["validate"]).env("DSPEC_PATHS", "../../nowhere"));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("nowhere"), "{}", r.stderr);
    let r = run(cmd(&deeper, &["validate", "../../checks/v.dspec"]).env("DSPEC_PATHS", "x"));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // An unknown key is an error at its line; so is a bad environment value.
    std::fs::write(dir.join("dspec.toml"), "paths = [\"checks\"]\njbos = 2\n").unwrap();
    let r = dspec(&deeper, &["validate"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("../../dspec.toml:2:1: unknown field `jbos`"),
        "{}",
        r.stderr
    );
    // Commands that need no settings do not read it.
    assert_eq!(dspec(&deeper, &["explain", "--list"]).code, Some(0));
    std::fs::write(dir.join("dspec.toml"), "paths = [\"checks\"]\n").unwrap();
    let r = run(cmd(&deeper, &["validate"]).env("DSPEC_TIMEOUT", "soon"));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("DSPEC_TIMEOUT"), "{}", r.stderr);
    // DSPEC_CONFIG names a file explicitly.
    std::fs::write(dir.join("other.toml"), "paths = [\"checks/v.dspec\"]\n").unwrap();
    let r = run(cmd(&dir, &["validate"]).env("DSPEC_CONFIG", "other.toml"));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(dir);
}
