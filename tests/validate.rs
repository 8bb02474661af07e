//! `dspec validate` and `dspec plan` on spec files: exit codes and the
//! rendered diagnostics (snapshots in tests/snapshots/).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dspec(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(args)
        .current_dir(dir)
        // The front end never needs an engine: point DOCKER_HOST nowhere.
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .env_remove("NO_COLOR")
        .output()
        .expect("runs dspec")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/cases").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "dspec"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_case_exits_2_with_its_diagnostic() {
    let dir = root().join("tests/cases/invalid");
    let files = cases("invalid");
    assert!(files.len() >= 40, "only {} invalid cases", files.len());
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let out = dspec(&dir, &["validate", "--color", "never", &file]);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} should be invalid:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{file}:")),
            "{name}: no file:line:col in\n{stderr}"
        );
        insta::assert_snapshot!(format!("invalid__{name}"), stderr);
    }
}

#[test]
fn valid_cases_and_examples_pass() {
    for f in cases("valid") {
        let out = dspec(&root(), &["validate", f.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}:\n{}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = dspec(&root(), &["validate", "examples"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every spec block of the language contract validates.
#[test]
fn language_contract_blocks_validate() {
    let lang = root().join("../shared/language.md");
    let Ok(text) = std::fs::read_to_string(&lang) else {
        // The contract lives beside the repository; examples/ holds copies.
        return;
    };
    let tmp = tempdir("lang");
    for (i, block) in blocks(&text, "dspec").iter().enumerate() {
        let f = tmp.join(format!("lang{i}.dspec"));
        std::fs::write(&f, block).unwrap();
        let out = dspec(&tmp, &["validate", f.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "block {i}:\n{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every ```dspec block in the book is a valid spec.
#[test]
fn book_blocks_validate() {
    let tmp = tempdir("book");
    let mut n = 0;
    for page in walk(&root().join("book/src"), "md") {
        let text = std::fs::read_to_string(&page).unwrap();
        for (i, block) in blocks(&text, "dspec").iter().enumerate() {
            let name = format!(
                "{}-{i}.dspec",
                page.strip_prefix(root().join("book/src"))
                    .unwrap()
                    .display()
                    .to_string()
                    .replace('/', "_")
            );
            let f = tmp.join(&name);
            std::fs::write(&f, block).unwrap();
            let out = dspec(&tmp, &["validate", &name]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} block {i}:\n{block}\n{}",
                page.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 20, "only {n} dspec blocks in the book");
}

#[test]
fn property_reference_is_generated_from_the_catalogue() {
    let page = root().join("book/src/reference/properties.md");
    let generated = dspec::compile::property::reference_markdown();
    if std::env::var_os("DSPEC_BLESS").is_some() {
        std::fs::write(&page, &generated).unwrap();
    }
    let current = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(
        current == generated,
        "book/src/reference/properties.md is stale: run `DSPEC_BLESS=1 cargo test --test validate`"
    );
}

#[test]
fn missing_path_is_reported() {
    let out = dspec(&root(), &["validate", "no/such/file.dspec"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DS0005") && err.contains("no/such/file.dspec"),
        "{err}"
    );
}

#[test]
fn validate_json_lists_spans() {
    let dir = root().join("tests/cases/invalid");
    let out = dspec(&dir, &["validate", "--format", "json", "many_errors.dspec"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["errors"], 6);
    let first = &doc["diagnostics"][0];
    assert_eq!(first["code"], "DS0103");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 3);
    assert_eq!(first["labels"][0]["start"], 27);
}

#[test]
fn plan_shows_shared_builds_and_waves() {
    let dir = root().join("tests/cases/plan");
    let out = dspec(&dir, &["plan", "--color", "never", "a.dspec", "b.dspec"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!("plan__two_files", stdout);

    let out = dspec(&dir, &["plan", "--format", "json", "a.dspec", "b.dspec"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let builds: Vec<&serde_json::Value> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "build")
        .collect();
    // a.dspec and b.dspec build the same prod stage: one build, two subjects.
    assert_eq!(
        builds.len(),
        2,
        "{}",
        serde_json::to_string_pretty(&doc["steps"]).unwrap()
    );
    assert_eq!(builds[0]["subjects"].as_array().unwrap().len(), 2);
}

#[test]
fn invalid_plan_exits_2() {
    let dir = root().join("tests/cases/invalid");
    let out = dspec(&dir, &["plan", "typo_property.dspec"]);
    assert_eq!(out.status.code(), Some(2));
}

fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start();
        match &mut cur {
            None if t.starts_with("```") && t[3..].trim() == lang => cur = Some(String::new()),
            Some(b) if t.starts_with("```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

fn walk(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p, ext));
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dspec-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
