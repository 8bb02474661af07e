//! The file reports (JUnit, JSON, Markdown, GitHub annotations) on results
//! built by hand from a compiled spec: no Docker needed.
//!
//! JUnit is validated with `xmllint` against `tests/schemas/junit.xsd`
//! (install `libxml2-utils`); JSON against
//! `tests/schemas/dspec-report-1.schema.json` with a small validator below.

// One `std::env::set_var` (unsafe since edition 2024) sets the secret below.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use dspec::compile::{self, Options, Program};
use dspec::engine::actual::Actual;
use dspec::parse;
use dspec::report::{self, CheckResult, Outcome, RunMeta, SetupFailure};
use dspec::source::SourceMap;
use serde_json::Value;

/// The secret's value in the host environment: no report may contain it.
const SECRET: &str = "s3cr3t-Tok3n-9f8e7d";
const SECRET_VAR: &str = "DSPEC_REPORTS_TEST_TOKEN";

const STORY: &str = r#"story "3.6.5" "Docker Build Testing & <Validation>"

image prod = existing "app:test"
image base = existing "base:1.0"
container api = run prod {
  env TOKEN = secret("DSPEC_REPORTS_TEST_TOKEN")
  publish 8000
}

criterion AC1 "Images are correctly sized" {
  expect prod.size < 200MB
  expect prod.layers <= 12
}

criterion AC2 "Health \"and\" 'secrets' | pipes" {
  expect api.health == "healthy" within 30s
  expect api.exec("printenv TOKEN").stdout == "nothing"
}

criterion AC3 "The base image is hardened" {
  expect base.user == "appuser"
}

criterion AC4 "Runs as a user" {
  expect prod.user == "appuser"
}
"#;

/// A file without a story; its name needs escaping in annotations.
const EXTRA_PATH: &str = "specs/extra,1.dspec";
const EXTRA: &str = r#"image tool = existing "tool:1"
expect tool.size < 1GB
"#;

const STORY_PATH: &str = "specs/story.dspec";

struct Fixture {
    program: Program,
    sources: SourceMap,
    meta: RunMeta,
}

fn fixture() -> Fixture {
    static SET: Once = Once::new();
    SET.call_once(|| {
        // SAFETY: set once, before any report is rendered, to a variable no
        // other test reads.
        unsafe { std::env::set_var(SECRET_VAR, SECRET) };
    });
    compiled(&[(STORY_PATH, STORY), (EXTRA_PATH, EXTRA)])
}

/// Spec files compiled through the library, with the run facts of a CI run.
fn compiled(files: &[(&str, &str)]) -> Fixture {
    let mut sources = SourceMap::new();
    let ids: Vec<_> = files
        .iter()
        .map(|(path, text)| sources.add(*path, text.to_string()))
        .collect();
    let mut asts = Vec::new();
    for id in ids {
        let (ast, diags) = parse::parse_file(sources.get(id));
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        asts.push(ast.expect("parses"));
    }
    let (program, diags) = compile::compile(&asts, &sources, &Options::default());
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(program.files.len(), files.len());
    Fixture {
        program,
        sources,
        meta: RunMeta {
            run_id: "run-0123abcd".into(),
            dspec_version: "0.1.0".into(),
            engine_version: "20.10.24".into(),
            api_version: "1.41".into(),
            engine_host: "unix:///var/run/docker.sock".into(),
            started_at: "2026-11-24T02:12:10Z".into(),
            duration_ms: 12_345,
            hostname: "ci-runner-7".into(),
        },
    }
}

/// Index of a check in a file, by its source text.
fn idx(p: &Program, file: usize, text: &str) -> usize {
    p.files[file]
        .checks
        .iter()
        .position(|c| c.text == text)
        .unwrap_or_else(|| panic!("no check `{text}`"))
}

fn result(file: usize, index: usize, outcome: Outcome, ms: u64) -> CheckResult {
    CheckResult {
        file,
        index,
        outcome,
        duration: Duration::from_millis(ms),
        quiet: false,
    }
}

fn passed(actual: Actual) -> Outcome {
    Outcome::Passed {
        actual: Some(actual),
        samples: 1,
        at_ms: None,
    }
}

/// A run with every kind of outcome. Secrets are masked as the engine
/// masks them (`***`).
fn failing_run(p: &Program) -> (Vec<CheckResult>, Vec<SetupFailure>) {
    let results = vec![
        result(
            0,
            idx(p, 0, "expect prod.size < 200MB"),
            Outcome::Failed {
                actual: Some(Actual::Size(231_400_112)),
                message: String::new(),
                samples: 1,
                at_ms: None,
                evidence: Vec::new(),
            },
            12,
        ),
        result(
            0,
            idx(p, 0, "expect prod.layers <= 12"),
            passed(Actual::Int(7)),
            3,
        ),
        result(
            0,
            idx(p, 0, r#"expect api.health == "healthy" within 30s"#),
            Outcome::Failed {
                actual: Some(Actual::Text("starting".into())),
                message: "disk 100% full, <health> & \"checks\" failing".into(),
                samples: 15,
                at_ms: Some(30_004),
                evidence: vec![
                    "log tail:\nERROR boot <failed> & \"retrying\"\n\u{1b}[31mred\u{1b}[0m bell\u{7} nul\u{0} token=***".into(),
                    "health log: exit 1: curl: (7) refused".into(),
                ],
            },
            30_010,
        ),
        result(
            0,
            idx(p, 0, r#"expect api.exec("printenv TOKEN").stdout == "nothing""#),
            Outcome::Errored {
                message: "exec create failed: token *** rejected".into(),
            },
            40,
        ),
        result(
            0,
            idx(p, 0, r#"expect base.user == "appuser""#),
            Outcome::Skipped {
                subject: "base".into(),
                reason: "image `base:1.0` is not in the engine".into(),
            },
            0,
        ),
        result(
            0,
            idx(p, 0, r#"expect prod.user == "appuser""#),
            passed(Actual::Text("appuser".into())),
            2,
        ),
        result(
            1,
            idx(p, 1, "expect tool.size < 1GB"),
            passed(Actual::Size(5_000_000)),
            1,
        ),
    ];
    let setup = vec![SetupFailure {
        file: 0,
        subject: "base".into(),
        message: "image `base:1.0` is not in the engine; dspec never pulls".into(),
        output: vec!["pull it first: docker pull base:1.0".into()],
        infrastructure: true,
    }];
    (results, setup)
}

/// Every expectation passes.
fn passing_run(p: &Program) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for (fi, f) in p.files.iter().enumerate() {
        for c in &f.checks {
            let actual = match c.text.as_str() {
                t if t.contains(".size") => Actual::Size(1_000_000),
                t if t.contains(".layers") => Actual::Int(3),
                t if t.contains("within") => Actual::Text("healthy".into()),
                _ => Actual::Text("appuser".into()),
            };
            out.push(result(fi, c.index, passed(actual), 5));
        }
    }
    out
}

struct Reports {
    junit: String,
    json: String,
    markdown: String,
    github: String,
}

fn run<'a>(
    f: &'a Fixture,
    results: &'a [CheckResult],
    setup: &'a [SetupFailure],
) -> report::RunReport<'a> {
    report::RunReport {
        program: &f.program,
        sources: &f.sources,
        results,
        setup,
        meta: &f.meta,
    }
}

fn reports(f: &Fixture, results: &[CheckResult], setup: &[SetupFailure]) -> Reports {
    let run = run(f, results, setup);
    Reports {
        junit: report::junit::render(&run),
        json: report::json::render(&run),
        markdown: report::markdown::render(&run),
        github: report::github::annotations(&run),
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write_tmp(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reports");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes");
    path
}

// ---------------------------------------------------------------- JUnit --

fn xmllint(args: &[&str]) -> std::process::Output {
    match Command::new("xmllint").args(args).output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run xmllint ({e}): the JUnit tests need it; install libxml2-utils \
             (apt-get install libxml2-utils)"
        ),
    }
}

fn assert_valid_junit(file: &Path) {
    let xsd = root().join("tests/schemas/junit.xsd");
    let out = xmllint(&[
        "--noout",
        "--schema",
        xsd.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{} does not validate against junit.xsd:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
}

/// The string value of an XPath expression.
fn xpath(file: &Path, expr: &str) -> String {
    let out = xmllint(&[
        "--xpath",
        &format!("string({expr})"),
        file.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // xmllint ends its answer with a newline of its own.
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}

fn xcount(file: &Path, expr: &str) -> String {
    let out = xmllint(&["--xpath", &format!("count({expr})"), file.to_str().unwrap()]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn junit_validates_and_counts_are_right() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let r = reports(&f, &results, &setup);
    let file = write_tmp("failing.junit.xml", &r.junit);
    assert_valid_junit(&file);

    assert_eq!(xpath(&file, "/testsuites/@name"), "dspec");
    assert_eq!(xpath(&file, "/testsuites/@tests"), "7");
    assert_eq!(xpath(&file, "/testsuites/@failures"), "2");
    assert_eq!(xpath(&file, "/testsuites/@errors"), "1");
    assert_eq!(xpath(&file, "/testsuites/@skipped"), "1");
    assert_eq!(xpath(&file, "/testsuites/@time"), "12.345");
    assert_eq!(
        xpath(&file, "/testsuites/@timestamp"),
        "2026-11-24T02:12:10Z"
    );
    assert_eq!(xcount(&file, "//testsuite"), "2");
    assert_eq!(xcount(&file, "//testcase"), "7");

    // The story's suite: name, counts, properties.
    let story = "/testsuites/testsuite[1]";
    assert_eq!(
        xpath(&file, &format!("{story}/@name")),
        "3.6.5 Docker Build Testing & <Validation>"
    );
    for (attr, want) in [
        ("tests", "6"),
        ("failures", "2"),
        ("errors", "1"),
        ("skipped", "1"),
        ("hostname", "ci-runner-7"),
        ("file", STORY_PATH),
        ("timestamp", "2026-11-24T02:12:10Z"),
    ] {
        assert_eq!(xpath(&file, &format!("{story}/@{attr}")), want, "{attr}");
    }
    for (name, want) in [
        ("dspec.version", "0.1.0"),
        ("engine.version", "20.10.24"),
        ("run.id", "run-0123abcd"),
    ] {
        assert_eq!(
            xpath(
                &file,
                &format!("{story}/properties/property[@name='{name}']/@value")
            ),
            want
        );
    }
    // The file without a story is named by its path.
    assert_eq!(xpath(&file, "/testsuites/testsuite[2]/@name"), EXTRA_PATH);
    assert_eq!(
        xpath(&file, "/testsuites/testsuite[2]/testcase/@classname"),
        "extra,1._"
    );

    // The failing expectation: classname, file, line, failure.
    let case = "//testcase[@name='expect prod.size < 200MB']";
    assert_eq!(xpath(&file, &format!("{case}/@classname")), "3.6.5.AC1");
    assert_eq!(xpath(&file, &format!("{case}/@file")), STORY_PATH);
    assert_eq!(xpath(&file, &format!("{case}/@line")), "11");
    assert_eq!(xpath(&file, &format!("{case}/@time")), "0.012");
    assert_eq!(
        xpath(&file, &format!("{case}/failure/@type")),
        "ExpectationFailed"
    );
    let message = xpath(&file, &format!("{case}/failure/@message"));
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("< 200MB") && message.contains("231.4MB"),
        "{message}"
    );
    let body = xpath(&file, &format!("{case}/failure"));
    assert!(body.contains("DS0401"), "{body}");
    assert!(body.contains("specs/story.dspec:11"), "{body}");
    assert!(body.contains("expected: < 200MB (200000000 B)"), "{body}");

    // Escaping round-trips: the parser gives back the original text.
    let health = r#"//testcase[@classname='3.6.5.AC2'][1]"#;
    assert_eq!(
        xpath(&file, &format!("{health}/@name")),
        r#"expect api.health == "healthy" within 30s"#
    );
    let message = xpath(&file, &format!("{health}/failure/@message"));
    assert!(
        message.contains(r#"disk 100% full, <health> & "checks" failing"#),
        "{message}"
    );
    let out = xpath(&file, &format!("{health}/system-out"));
    assert!(out.contains(r#"ERROR boot <failed> & "retrying""#), "{out}");
    assert!(out.contains("red bell nul"), "control characters: {out:?}");

    // Engine error, skip, and the setup failure once in system-err.
    let exec = r#"//testcase[@classname='3.6.5.AC2'][2]"#;
    assert_eq!(xpath(&file, &format!("{exec}/error/@type")), "EngineError");
    let skip = xpath(&file, "//testcase[@classname='3.6.5.AC3']/skipped/@message");
    assert!(skip.starts_with("not run: image `base:1.0`"), "{skip}");
    assert!(skip.contains("specs/story.dspec:4:7"), "{skip}");
    let err = xpath(&file, &format!("{story}/system-err"));
    assert!(err.contains("DS0404"), "{err}");
    assert!(err.contains("dspec never pulls"), "{err}");
    assert_eq!(r.junit.matches("dspec never pulls").count(), 1);
}

#[test]
fn junit_of_a_passing_run_validates() {
    let f = fixture();
    let results = passing_run(&f.program);
    let r = reports(&f, &results, &[]);
    let file = write_tmp("passing.junit.xml", &r.junit);
    assert_valid_junit(&file);
    assert_eq!(xpath(&file, "/testsuites/@tests"), "7");
    assert_eq!(xpath(&file, "/testsuites/@failures"), "0");
    assert_eq!(xcount(&file, "//failure | //error | //skipped"), "0");
}

#[test]
fn junit_of_an_empty_run_validates() {
    let f = fixture();
    let mut meta = f.meta.clone();
    meta.started_at.clear();
    let xml = report::junit::render(&report::RunReport {
        program: &f.program,
        sources: &f.sources,
        results: &[],
        setup: &[],
        meta: &meta,
    });
    let file = write_tmp("empty.junit.xml", &xml);
    assert_valid_junit(&file);
    assert_eq!(xpath(&file, "/testsuites/@tests"), "0");
}

// ----------------------------------------------------------------- JSON --

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("tests/schemas/dspec-report-1.schema.json"))
        .expect("schema file");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// A validator for the part of JSON Schema the report's schema uses:
/// `$ref` (local), `type`, `const`, `enum`, `required`, `properties`,
/// `additionalProperties: false`, `items`, `anyOf`, `oneOf`, `minimum`,
/// `pattern`. Returns the first problem found.
fn validate(root: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else {
        return Ok(());
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let mut target = root;
        for part in r.trim_start_matches("#/").split('/') {
            target = target
                .get(part)
                .ok_or_else(|| format!("unresolved $ref {r}"))?;
        }
        validate(root, target, v, at)?;
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {v} is not of type {types:?}"));
        }
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return Err(format!("{at}: {v} is not {c}"));
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {options:?}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        return Err(format!("{at}: {n} < {min}"));
    }
    if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str())
        && !regex::Regex::new(p).expect("pattern").is_match(text)
    {
        return Err(format!("{at}: {text:?} does not match /{p}/"));
    }
    if let Some(obj) = v.as_object() {
        if let Some(Value::Array(req)) = s.get("required") {
            for k in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(k) {
                    return Err(format!("{at}: missing key `{k}`"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, val, &format!("{at}.{k}"))?,
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: unexpected key `{k}`"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(root, items, item, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(Value::Array(options)) = s.get("anyOf")
        && !options.iter().any(|o| validate(root, o, v, at).is_ok())
    {
        return Err(format!("{at}: {v} matches none of anyOf"));
    }
    if let Some(Value::Array(options)) = s.get("oneOf") {
        let n = options
            .iter()
            .filter(|o| validate(root, o, v, at).is_ok())
            .count();
        if n != 1 {
            return Err(format!("{at}: {v} matches {n} of oneOf"));
        }
    }
    Ok(())
}

fn assert_matches_schema(doc: &Value) {
    let schema = schema();
    if let Err(e) = validate(&schema, &schema, doc, "$") {
        panic!("the report does not match its schema: {e}\n{doc:#}");
    }
}

/// The validator itself rejects what it should.
#[test]
fn the_json_validator_rejects_bad_documents() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let good: Value = serde_json::from_str(&reports(&f, &results, &setup).json).unwrap();
    let schema = schema();
    let mut bad = good.clone();
    bad["schema"] = "dspec-report/2".into();
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good.clone();
    bad["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("duration_ms");
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good.clone();
    bad["results"][0]["status"] = "flaky".into();
    assert!(validate(&schema, &schema, &bad, "$").is_err());
    let mut bad = good;
    bad["summary"]["passed"] = (-1).into();
    assert!(validate(&schema, &schema, &bad, "$").is_err());
}

fn by_text<'a>(doc: &'a Value, text: &str) -> &'a Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["text"] == text)
        .unwrap_or_else(|| panic!("no result `{text}`"))
}

#[test]
fn json_is_one_typed_document_that_matches_its_schema() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let r = reports(&f, &results, &setup);
    let doc: Value = serde_json::from_str(&r.json).expect("one JSON document");
    assert_matches_schema(&doc);

    assert_eq!(doc["schema"], "dspec-report/1");
    assert_eq!(doc["run"]["run_id"], "run-0123abcd");
    assert_eq!(doc["run"]["dspec_version"], "0.1.0");
    let s = &doc["summary"];
    assert_eq!(
        (
            &s["passed"],
            &s["failed"],
            &s["errored"],
            &s["skipped"],
            &s["total"]
        ),
        (
            &Value::from(3),
            &Value::from(2),
            &Value::from(1),
            &Value::from(1),
            &Value::from(7)
        )
    );
    assert_eq!(s["duration_ms"], 12_345);
    assert_eq!(doc["results"].as_array().unwrap().len(), 7);

    let size = by_text(&doc, "expect prod.size < 200MB");
    assert_eq!(size["id"], "specs/story.dspec#0");
    assert_eq!(size["file"], STORY_PATH);
    assert_eq!(size["line"], 11);
    assert_eq!(size["column"], 3);
    assert_eq!(size["story"], "3.6.5");
    assert_eq!(size["criterion"], "AC1");
    assert_eq!(size["criterion_title"], "Images are correctly sized");
    assert_eq!(size["subject"], "prod");
    assert_eq!(size["path"], "size");
    assert_eq!(size["type"], "size");
    assert_eq!(size["operator"], "<");
    assert_eq!(
        size["expected"],
        serde_json::json!({"bytes": 200_000_000, "text": "200MB"})
    );
    assert_eq!(
        size["actual"],
        serde_json::json!({"bytes": 231_400_112, "text": "231.4MB"})
    );
    assert_eq!(size["status"], "failed");
    assert_eq!(size["modifier"], Value::Null);
    assert_eq!(size["duration_ms"], 12);
    assert!(
        size["attachments"]["diagnostic"]
            .as_str()
            .unwrap()
            .contains("DS0401")
    );

    let health = by_text(&doc, r#"expect api.health == "healthy" within 30s"#);
    assert_eq!(health["expected"], "healthy");
    assert_eq!(health["actual"], "starting");
    assert_eq!(
        health["modifier"],
        serde_json::json!({"kind": "within", "duration_ms": 30_000, "samples": 15})
    );
    assert_eq!(health["at_ms"], 30_004);
    assert_eq!(
        health["attachments"]["evidence"].as_array().unwrap().len(),
        2
    );

    let layers = by_text(&doc, "expect prod.layers <= 12");
    assert_eq!(layers["status"], "passed");
    assert_eq!(layers["expected"], 12);
    assert_eq!(layers["actual"], 7);
    assert_eq!(layers["message"], Value::Null);

    let exec = by_text(
        &doc,
        r#"expect api.exec("printenv TOKEN").stdout == "nothing""#,
    );
    assert_eq!(exec["status"], "errored");
    assert_eq!(exec["actual"], Value::Null);

    let skipped = by_text(&doc, r#"expect base.user == "appuser""#);
    assert_eq!(skipped["status"], "skipped");
    assert_eq!(skipped["blocked_by"], "base");

    let extra = by_text(&doc, "expect tool.size < 1GB");
    assert_eq!(extra["story"], Value::Null);
    assert_eq!(extra["criterion"], Value::Null);

    let setup = &doc["setup_failures"][0];
    assert_eq!(setup["subject"], "base");
    assert_eq!(setup["code"], "DS0404");
    assert_eq!(setup["line"], 4);
    assert_eq!(setup["infrastructure"], true);
}

/// When python3 has `jsonschema`, the full validator agrees (it is not
/// needed: the validator above runs everywhere).
#[test]
fn json_validates_with_python_jsonschema_when_available() {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 jsonschema not available: covered by the Rust validator");
        return;
    }
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let failing = write_tmp("failing.json", &reports(&f, &results, &setup).json);
    let passing = write_tmp(
        "passing.json",
        &reports(&f, &passing_run(&f.program), &[]).json,
    );
    let schema = root().join("tests/schemas/dspec-report-1.schema.json");
    let script = "import json,sys,jsonschema\n\
        s=json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(s)\n\
        for p in sys.argv[2:]:\n    jsonschema.Draft202012Validator(s).validate(json.load(open(p)))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(&failing)
        .arg(&passing)
        .output()
        .expect("runs python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------- Markdown --

#[test]
fn markdown_is_an_acceptance_report() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let md = reports(&f, &results, &setup).markdown;
    assert!(md.contains("❌ Not accepted"), "{md}");
    assert!(
        md.contains("## Story 3.6.5 — Docker Build Testing \\& \\<Validation\\>"),
        "{md}"
    );
    assert!(md.contains("| Criterion | Title | Result |"), "{md}");
    assert!(
        md.contains("| AC1 | Images are correctly sized | ❌ 1 of 2 passed (1 failed) |"),
        "{md}"
    );
    // A pipe in a title is escaped so the table keeps three columns.
    assert!(
        md.contains("| AC2 | Health \"and\" 'secrets' \\| pipes | ❌ 0 of 2 passed (2 failed) |"),
        "{md}"
    );
    // A criterion with a skipped expectation fails.
    assert!(
        md.contains("| AC3 | The base image is hardened | ❌ 0 of 1 passed (1 not run) |"),
        "{md}"
    );
    assert!(
        md.contains("| AC4 | Runs as a user | ✅ 1 of 1 passed |"),
        "{md}"
    );
    assert!(md.contains("### Failed expectations"), "{md}");
    assert!(
        md.contains("#### ❌ AC1: `expect prod.size < 200MB` failed"),
        "{md}"
    );
    assert!(
        md.contains("- **Expected:** `< 200MB (200000000 B)`"),
        "{md}"
    );
    assert!(md.contains("- **Actual:** `231.4MB (231400112 B)`"), "{md}");
    assert!(md.contains("- **Spec:** `specs/story.dspec:11:3`"), "{md}");
    assert!(md.contains(
            "- **Not run:** image `base:1.0` is not in the engine (subject `base` at `specs/story.dspec:4:7`)"
        ), "{md}");
    assert!(md.contains("### Setup failures"), "{md}");
    // Run facts.
    for fact in [
        "| Date | 2026-11-24T02:12:10Z |",
        "| dspec | 0.1.0 |",
        "| Engine | Docker 20.10.24 (API 1.41) |",
        "| Run id | run-0123abcd |",
        "| Expectations | 7 expectations: 3 passed, 2 failed, 1 errored, 1 not run |",
        "| Duration | 12.35s |",
    ] {
        assert!(md.contains(fact), "{fact} missing:\n{md}");
    }
    // Every table row has three cells.
    for line in md.lines().filter(|l| l.starts_with("| AC")) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 4, "{line}");
    }
    // No raw HTML from the spec or the logs outside code blocks.
    let mut in_code = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code {
            assert!(
                !line.contains("<Validation>") && !line.contains("<health>"),
                "{line}"
            );
        }
    }
}

#[test]
fn markdown_of_a_passing_run() {
    let f = fixture();
    let md = reports(&f, &passing_run(&f.program), &[]).markdown;
    assert!(md.contains("✅ Accepted"), "{md}");
    assert!(!md.contains('❌'), "{md}");
    assert!(!md.contains("Failed expectations"), "{md}");
    assert!(md.contains("| AC2 |"), "{md}");
}

// --------------------------------------------------------------- GitHub --

#[test]
fn github_annotations_are_well_formed_and_escaped() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let gh = reports(&f, &results, &setup).github;
    let shape = regex::Regex::new(
        r"^::error file=[^,:\r\n]+,line=[1-9][0-9]*,col=[1-9][0-9]*,title=[^,:\r\n]+::[^\r\n]+$",
    )
    .unwrap();
    let lines: Vec<&str> = gh.lines().collect();
    // The setup failure, then one per expectation that did not pass.
    assert_eq!(lines.len(), 1 + 4, "{gh}");
    for l in &lines {
        assert!(shape.is_match(l), "malformed: {l}");
        // `::error PROPERTIES::MESSAGE`: properties cannot hold `::`.
        let message = l["::error ".len()..].split_once("::").unwrap().1;
        // Every `%` starts an escape.
        for (i, _) in message.match_indices('%') {
            let esc = &message[i..(i + 3).min(message.len())];
            assert!(matches!(esc, "%25" | "%0A" | "%0D"), "{esc} in {l}");
        }
    }
    assert!(
        lines[0].starts_with("::error file=specs/story.dspec,line=4,col=7,title=DS0404 "),
        "{}",
        lines[0]
    );
    let size = lines
        .iter()
        .find(|l| l.contains("prod.size"))
        .expect("size annotation");
    assert_eq!(
        *size,
        "::error file=specs/story.dspec,line=11,col=3,title=DS0401 expectation failed in AC1\
         ::expect prod.size < 200MB%0Aexpected: < 200MB (200000000 B)%0Aactual: 231.4MB (231400112 B)"
    );
    let health = lines.iter().find(|l| l.contains("api.health")).unwrap();
    assert!(health.contains("disk 100%25 full"), "{health}");
    assert!(
        gh.contains("title=DS0401 expectation could not be observed in AC2::"),
        "{gh}"
    );
    assert!(
        gh.contains("title=DS0402 expectation not run in AC3::"),
        "{gh}"
    );
}

#[test]
fn github_escapes_properties() {
    let f = fixture();
    let results = vec![result(
        1,
        idx(&f.program, 1, "expect tool.size < 1GB"),
        Outcome::Failed {
            actual: Some(Actual::Size(2_000_000_000)),
            message: "line one\nline two: 5%".into(),
            samples: 1,
            at_ms: None,
            evidence: vec![],
        },
        1,
    )];
    let gh = reports(&f, &results, &[]).github;
    assert_eq!(
        gh,
        "::error file=specs/extra%2C1.dspec,line=2,col=1,title=DS0401 expectation failed\
         ::expect tool.size < 1GB%0Aexpected: < 1GB (1000000000 B)%0Aactual: 2GB (2000000000 B)\
         %0Aline one%0Aline two: 5%25\n"
    );
}

#[test]
fn a_passing_run_has_no_annotations() {
    let f = fixture();
    assert_eq!(reports(&f, &passing_run(&f.program), &[]).github, "");
}

// -------------------------------------------------------------- Secrets --

#[test]
fn no_report_contains_the_secret() {
    let f = fixture();
    assert_eq!(std::env::var(SECRET_VAR).as_deref(), Ok(SECRET));
    let (mut results, setup) = failing_run(&f.program);
    // The exec that printed the secret, as the engine reports it: masked.
    let exec = idx(
        &f.program,
        0,
        r#"expect api.exec("printenv TOKEN").stdout == "nothing""#,
    );
    results.retain(|r| !(r.file == 0 && r.index == exec));
    results.push(result(
        0,
        exec,
        Outcome::Failed {
            actual: Some(Actual::Text("***".into())),
            message: "stdout was *** (masked)".into(),
            samples: 1,
            at_ms: None,
            evidence: vec!["log tail:\nstarting with TOKEN=***".into()],
        },
        9,
    ));
    for (name, r) in [
        ("failing", reports(&f, &results, &setup)),
        ("passing", reports(&f, &passing_run(&f.program), &[])),
    ] {
        for (format, text) in [
            ("junit", &r.junit),
            ("json", &r.json),
            ("markdown", &r.markdown),
            ("github", &r.github),
        ] {
            assert!(
                !text.contains(SECRET),
                "the {name} {format} report shows the secret:\n{text}"
            );
        }
        if name == "failing" {
            assert!(r.junit.contains("***"), "masked value kept");
            assert!(r.json.contains("\"actual\": \"***\""), "{}", r.json);
            assert!(r.markdown.contains("`\"***\"`"), "{}", r.markdown);
            assert!(r.github.contains("actual: \"***\""), "{}", r.github);
        }
    }
}

/// Every format renders the same counts, whichever the run.
#[test]
fn formats_agree_on_counts() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let r = reports(&f, &results, &setup);
    let doc: Value = serde_json::from_str(&r.json).unwrap();
    let failing = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "passed")
        .count();
    assert_eq!(failing, 4);
    assert_eq!(r.github.lines().count(), failing + setup.len());
    assert_eq!(
        r.markdown.matches("\n#### ❌ ").count(),
        failing + setup.len()
    );

    let passing = reports(&f, &passing_run(&f.program), &[]);
    let doc: Value = serde_json::from_str(&passing.json).unwrap();
    assert_matches_schema(&doc);
    assert_eq!(doc["summary"]["passed"], 7);
    assert_eq!(doc["setup_failures"], serde_json::json!([]));
}

/// Actions, booleans, modes, fractional durations and multi-line texts.
#[test]
fn typed_values_actions_and_diffs() {
    let f = compiled(&[(
        "specs/types.dspec",
        r#"image app = existing "app:1"
container c = run app { publish 8000 }

criterion AC1 "Typed values" {
  expect app.built
  expect app.file("/app").mode == 0o755
  expect c.get("/health").duration < 500ms
  do c.restart()
  expect c.exec("cat /etc/motd").stdout == "line one\nline two\n"
}
"#,
    )]);
    let p = &f.program;
    let results = vec![
        result(
            0,
            idx(p, 0, "expect app.built"),
            passed(Actual::Bool(true)),
            1,
        ),
        result(
            0,
            idx(p, 0, r#"expect app.file("/app").mode == 0o755"#),
            Outcome::Failed {
                actual: Some(Actual::Mode(0o700)),
                message: String::new(),
                samples: 1,
                at_ms: None,
                evidence: vec![],
            },
            1,
        ),
        result(
            0,
            idx(p, 0, r#"expect c.get("/health").duration < 500ms"#),
            passed(Actual::Duration(Duration::from_micros(1_500))),
            2,
        ),
        result(
            0,
            idx(p, 0, "do c.restart()"),
            Outcome::Passed {
                actual: None,
                samples: 1,
                at_ms: None,
            },
            900,
        ),
        result(
            0,
            idx(
                p,
                0,
                r#"expect c.exec("cat /etc/motd").stdout == "line one\nline two\n""#,
            ),
            Outcome::Failed {
                actual: Some(Actual::Text("line one\nline 2\n".into())),
                message: String::new(),
                samples: 1,
                at_ms: None,
                evidence: vec![],
            },
            3,
        ),
    ];
    let r = reports(&f, &results, &[]);
    let doc: Value = serde_json::from_str(&r.json).unwrap();
    assert_matches_schema(&doc);
    let built = by_text(&doc, "expect app.built");
    assert_eq!(
        (&built["operator"], &built["expected"]),
        (&"==".into(), &true.into())
    );
    assert_eq!(built["actual"], true);
    let mode = by_text(&doc, r#"expect app.file("/app").mode == 0o755"#);
    assert_eq!(
        mode["expected"],
        serde_json::json!({"mode": 493, "text": "0o755"})
    );
    assert_eq!(
        mode["actual"],
        serde_json::json!({"mode": 448, "text": "0o700"})
    );
    let duration = by_text(&doc, r#"expect c.get("/health").duration < 500ms"#);
    assert_eq!(
        duration["expected"],
        serde_json::json!({"ms": 500, "text": "500ms"})
    );
    assert_eq!(
        duration["actual"],
        serde_json::json!({"ms": 1.5, "text": "1.5ms"})
    );
    let action = by_text(&doc, "do c.restart()");
    assert_eq!(action["action"], true);
    assert_eq!(action["operator"], Value::Null);
    assert_eq!(action["expected"], Value::Null);
    assert_eq!(action["duration_ms"], 900);
    let motd = &doc["results"][4];
    assert_eq!(motd["expected"], "line one\nline two\n");
    assert_eq!(
        motd["attachments"]["diff"],
        "--- expected\n+++ actual\n line one\n-line two\n+line 2\n"
    );

    let file = write_tmp("types.junit.xml", &r.junit);
    assert_valid_junit(&file);
    assert_eq!(
        xpath(&file, "//testcase[@name='do c.restart()']/@classname"),
        "types.AC1"
    );
    assert!(
        xpath(&file, "//testcase[5]/system-out").contains("-line two\n+line 2"),
        "{}",
        r.junit
    );
    assert!(
        r.markdown.contains("- **Expected:** `== 0o755`"),
        "{}",
        r.markdown
    );
    assert!(
        r.markdown.contains("- **Actual:** `0o700`"),
        "{}",
        r.markdown
    );
    assert_eq!(r.github.lines().count(), 2, "{}", r.github);
}

// ----------------------------------------------------------------- Book --

/// The block after `opening` in a book page.
fn block<'a>(page: &'a str, opening: &str) -> &'a str {
    let start = page.find(opening).expect("block") + opening.len();
    let end = start + page[start..].find("\n```\n").expect("block end") + 1;
    &page[start..end]
}

/// The examples of book/src/reports.md are what the reporters write for
/// the page's spec.
#[test]
fn book_examples_match_the_reports() {
    let page = std::fs::read_to_string(root().join("book/src/reports.md")).expect("book page");
    let f = compiled(&[(STORY_PATH, block(&page, "```dspec\n"))]);
    let p = &f.program;
    let results = vec![
        result(
            0,
            idx(p, 0, "expect prod.size < 200MB"),
            Outcome::Failed {
                actual: Some(Actual::Size(231_400_112)),
                message: String::new(),
                samples: 1,
                at_ms: None,
                evidence: vec![],
            },
            12,
        ),
        result(
            0,
            idx(p, 0, "expect prod.layers <= 12"),
            passed(Actual::Int(7)),
            3,
        ),
        result(
            0,
            idx(p, 0, r#"expect api.health == "healthy" within 30s"#),
            Outcome::Failed {
                actual: Some(Actual::Text("starting".into())),
                message: String::new(),
                samples: 15,
                at_ms: Some(30_004),
                evidence: vec![
                    "log tail:\nlistening on :8000\nwarming cache (this takes a while)".into(),
                ],
            },
            30_010,
        ),
        result(
            0,
            idx(p, 0, r#"expect base.user == "appuser""#),
            Outcome::Skipped {
                subject: "base".into(),
                reason: "image `base:1.0` is not in the engine".into(),
            },
            0,
        ),
    ];
    let setup = vec![SetupFailure {
        file: 0,
        subject: "base".into(),
        message: "image `base:1.0` is not in the engine; dspec never pulls".into(),
        output: vec![],
        infrastructure: true,
    }];
    let mut f = f;
    f.meta.duration_ms = 31_204;
    let r = reports(&f, &results, &setup);
    assert_eq!(
        block(&page, "```xml\n"),
        r.junit,
        "the JUnit example is stale"
    );
    assert_eq!(
        block(&page, "```text\n::error"),
        &r.github["::error".len()..],
        "the annotations example is stale"
    );
    for line in block(&page, "````markdown\n").lines() {
        assert!(
            line == "..." || r.markdown.lines().any(|l| l == line),
            "the Markdown example has `{line}`, the report does not:\n{}",
            r.markdown
        );
    }
    let doc: Value = serde_json::from_str(&r.json).unwrap();
    let book: Value = serde_json::from_str(&block(&page, "```json\n").replace("\\n...\"", "\""))
        .expect("the JSON example parses");
    // The book shows one result, and shortens the diagnostics.
    let mut real = doc.clone();
    real["results"] = Value::Array(vec![doc["results"][0].clone()]);
    let shorten = |full: &mut Value, short: &Value| {
        assert!(
            full.as_str().unwrap().starts_with(short.as_str().unwrap()),
            "{full}"
        );
        *full = short.clone();
    };
    shorten(
        &mut real["setup_failures"][0]["diagnostic"],
        &book["setup_failures"][0]["diagnostic"],
    );
    shorten(
        &mut real["results"][0]["attachments"]["diagnostic"],
        &book["results"][0]["attachments"]["diagnostic"],
    );
    assert_eq!(book, real, "the JSON example is stale");
}

/// The console report and the Markdown report of the failing run, whole: a change to what a
/// user reads shows up as a snapshot diff.
#[test]
fn human_and_markdown_reports_snapshot() {
    let f = fixture();
    let (results, setup) = failing_run(&f.program);
    let (human, _) = report::human::render_report(
        &run(&f, &results, &setup),
        &dspec::diag::RenderOptions::plain(),
    );
    insta::assert_snapshot!("human_report_of_a_failing_run", human);
    let r = reports(&f, &results, &setup);
    insta::assert_snapshot!("markdown_report_of_a_failing_run", r.markdown);
}
