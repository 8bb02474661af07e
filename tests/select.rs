//! Selection and sharding for CI: --partition, --only, @tag, --fail-fast,
//! --timeout and --jobs against the real engine (cheap FROM-scratch image).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Eight independent specs over the bundled hello example.
fn suite(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dspec-suite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = root().join("examples/hello");
    for i in 1..=8 {
        std::fs::write(
            dir.join(format!("s{i}.dspec")),
            format!(
                "story \"S-{i}\" \"story {i}\"\nimage hello = build \"{}\"\n\
                 criterion AC1 \"size\" {{\n  expect hello.size < 1MB\n}}\n\
                 @tag smoke\ncriterion AC2 \"user\" {{\n  expect hello.user == \"1000\"\n}}\n",
                ctx.display()
            ),
        )
        .unwrap();
    }
    dir
}

fn check(dir: &Path, args: &[&str]) -> (Output, String) {
    common::require_docker();
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never"])
        .args(args)
        .arg(dir)
        .output()
        .expect("runs dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, all)
}

fn stories(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("story "))
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn four_partitions_run_every_spec_exactly_once() {
    let dir = suite("partition");
    for kind in ["hash", "slice"] {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for k in 1..=4 {
            let (out, all) = check(&dir, &["--partition", &format!("{kind}:{k}/4")]);
            assert_eq!(out.status.code(), Some(0), "{all}");
            for s in stories(&all) {
                *seen.entry(s).or_default() += 1;
            }
        }
        let want: BTreeMap<String, usize> = (1..=8).map(|i| (format!("S-{i}"), 1)).collect();
        assert_eq!(seen, want, "{kind}");
    }
}

#[test]
fn only_selects_by_tag_story_and_criterion() {
    let dir = suite("only");
    let (out, all) = check(&dir, &["--only", "tag(smoke) & (story(S-1) | story(S-2))"]);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(stories(&all), ["S-1", "S-2"]);
    assert!(
        all.contains("2 passed, 0 failed") && !all.contains("hello.size"),
        "{all}"
    );
    let (_, all) = check(&dir, &["--only", "!criterion(AC2) & file(s3.dspec)"]);
    assert!(
        all.contains("1 passed, 0 failed") && all.contains("hello.size"),
        "{all}"
    );
    let (out, all) = check(&dir, &["--only", "crit(AC1)"]);
    assert_eq!(out.status.code(), Some(2), "{all}");
}

#[test]
fn jobs_bound_the_run_and_it_still_passes() {
    let dir = suite("jobs");
    let (out, all) = check(&dir, &["--jobs", "1"]);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("16 passed, 0 failed"), "{all}");
}

#[test]
fn fail_fast_and_timeout_stop_the_run() {
    common::fixtures_dir();
    let spec = root().join("tests/specs/image_fail.dspec");
    let (out, all) = check(Path::new(&spec), &["--fail-fast"]);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("not run: --fail-fast stopped the run"),
        "{all}"
    );
    let spec = root().join("tests/specs/interrupt.dspec");
    let (out, all) = check(Path::new(&spec), &["--timeout", "5s"]);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("not run: the run hit its --timeout"), "{all}");
}

/// A selection that matches nothing (a misspelt tag) must not pass silently.
#[test]
fn a_selection_of_nothing_fails_unless_allowed() {
    let dir = suite("empty");
    let (out, all) = check(&dir, &["--only", "tag(nope)"]);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("nothing to run: no expectation is selected by --only")
            && all.contains("--allow-empty"),
        "{all}"
    );
    let (out, all) = check(&dir, &["--only", "tag(nope)", "--allow-empty"]);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("0 passed, 0 failed"), "{all}");
}
