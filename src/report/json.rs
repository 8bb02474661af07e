//! The JSON report (`dspec-report/1`): one document for tools.
//!
//! Units are in key names (`duration_ms`, `{"bytes": 3440000}`), values are
//! typed, and the format is versioned by its `schema` key. The schema is
//! `tests/schemas/dspec-report-1.schema.json`; the book documents each key.

use serde::Serialize;
use serde_json::{Value, json};

use super::facts::{self, Item};
use super::{RunMeta, RunReport, Summary};
use crate::actual::{Actual, format_duration};
use crate::compile::Program;
use crate::compile::types::Ty;
use crate::compile::value::Val;
use crate::source::SourceMap;

/// The value of the top-level `schema` key.
pub const SCHEMA: &str = "dspec-report/1";

#[derive(Serialize)]
struct Report<'a> {
    schema: &'static str,
    run: &'a RunMeta,
    summary: SummaryJson,
    setup_failures: Vec<SetupJson<'a>>,
    results: Vec<ResultJson<'a>>,
}

#[derive(Serialize)]
struct SummaryJson {
    passed: usize,
    failed: usize,
    errored: usize,
    skipped: usize,
    total: usize,
    duration_ms: u64,
}

#[derive(Serialize)]
struct SetupJson<'a> {
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    subject: &'a str,
    code: String,
    title: String,
    message: &'a str,
    output: &'a [String],
    infrastructure: bool,
    diagnostic: String,
}

#[derive(Serialize)]
struct ResultJson<'a> {
    id: String,
    file: &'a str,
    line: usize,
    column: usize,
    text: &'a str,
    story: Option<&'a str>,
    story_title: Option<&'a str>,
    criterion: Option<&'a str>,
    criterion_title: Option<&'a str>,
    subject: &'a str,
    subject_kind: &'static str,
    path: &'a str,
    action: bool,
    #[serde(rename = "type")]
    ty: &'static str,
    operator: Option<&'static str>,
    expected: Value,
    actual: Value,
    status: &'static str,
    message: Option<String>,
    blocked_by: Option<&'a str>,
    modifier: Option<ModifierJson>,
    at_ms: Option<u64>,
    duration_ms: u64,
    /// A time budget measured with nothing else of the run in flight.
    quiet: bool,
    attachments: Attachments,
}

#[derive(Serialize)]
struct ModifierJson {
    kind: &'static str,
    duration_ms: u64,
    samples: Option<u32>,
}

#[derive(Serialize)]
struct Attachments {
    evidence: Vec<String>,
    diff: Option<String>,
    diagnostic: Option<String>,
}

/// Renders the whole report as one pretty-printed JSON document.
pub fn render(run: &RunReport) -> String {
    let RunReport {
        program,
        sources,
        results,
        setup,
        meta,
    } = *run;
    let summary = Summary::from_results(results, setup);
    let groups = facts::groups(program, results, setup);
    let mut items = Vec::new();
    for g in &groups {
        for item in &g.items {
            items.push(result(item, program, sources));
        }
    }
    // Groups merge files that share a story: back to program order.
    items.sort_by_key(|a| (a.file_index, a.index));
    let setup_failures = setup
        .iter()
        .map(|s| {
            let f = facts::setup(program, sources, s);
            SetupJson {
                file: f.file.map(|f| f.path.as_str()),
                line: f.line,
                column: f.column,
                subject: &s.subject,
                code: f.code,
                title: f.title,
                message: &s.message,
                output: &s.output,
                infrastructure: s.infrastructure,
                diagnostic: f.diagnostic,
            }
        })
        .collect();
    let total = items.len();
    let report = Report {
        schema: SCHEMA,
        run: meta,
        summary: SummaryJson {
            passed: summary.passed,
            failed: summary.failed,
            errored: summary.errored,
            skipped: summary.skipped,
            total,
            duration_ms: meta.duration_ms,
        },
        setup_failures,
        results: items.into_iter().map(|i| i.json).collect(),
    };
    let mut out = serde_json::to_string_pretty(&report).expect("a report serializes");
    out.push('\n');
    out
}

struct Ordered<'a> {
    file_index: usize,
    index: usize,
    json: ResultJson<'a>,
}

fn result<'a>(item: &Item<'a>, program: &Program, sources: &'a SourceMap) -> Ordered<'a> {
    let check = item.check;
    let criterion = item.criterion();
    let expected = if check.action_only {
        Value::Null
    } else {
        match item.expected_value() {
            Some(v) => expected_json(v),
            // A bare boolean property: `expect prod.built`.
            None if check.predicate.is_none() => Value::Bool(true),
            None => Value::Null,
        }
    };
    let actual = item
        .actual()
        .map(|a| actual_json(item, a))
        .unwrap_or(Value::Null);
    let blocked_by = match &item.result.outcome {
        super::Outcome::Skipped { subject, .. } => Some(subject.as_str()),
        _ => None,
    };
    let not_passed = !item.result.outcome.passed();
    Ordered {
        file_index: item.result.file,
        index: item.result.index,
        json: ResultJson {
            id: item.id(),
            file: item.path(),
            line: check.line as usize,
            column: check.column as usize,
            text: &check.text,
            story: item.file.story.as_ref().map(|s| s.id.as_str()),
            story_title: item.file.story.as_ref().and_then(|s| s.title.as_deref()),
            criterion: criterion.map(|c| c.id.as_str()),
            criterion_title: criterion.and_then(|c| c.title.as_deref()),
            subject: &check.subject,
            subject_kind: check.subject_kind.word(),
            path: check.path_text(sources),
            action: check.action_only,
            ty: ty_name(check.ty),
            operator: item.operator(),
            expected,
            actual,
            status: item.status(),
            message: if not_passed {
                item.summary_line(sources)
            } else {
                None
            },
            blocked_by,
            modifier: check.modifier.as_ref().map(|m| ModifierJson {
                kind: m.kind.word(),
                duration_ms: m.duration_ms,
                samples: item.samples(),
            }),
            at_ms: item.at_ms(),
            duration_ms: item.result.duration.as_millis() as u64,
            quiet: item.result.quiet,
            attachments: Attachments {
                evidence: item.evidence().to_vec(),
                diff: item.diff(),
                diagnostic: item.diagnostic(program, sources),
            },
        },
    }
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Bool => "bool",
        Ty::Int => "int",
        Ty::Size => "size",
        Ty::Duration => "duration",
        Ty::Percent => "percent",
        Ty::Number => "number",
        Ty::Mode => "mode",
        Ty::Text => "text",
        Ty::Json => "json",
        Ty::List => "list",
        Ty::Obj(_) => "object",
    }
}

/// Milliseconds as an integer when whole, else with microsecond precision.
fn ms_number(ms: f64) -> Value {
    if ms.fract() == 0.0 && ms >= 0.0 && ms < u64::MAX as f64 {
        json!(ms as u64)
    } else {
        json!((ms * 1000.0).round() / 1000.0)
    }
}

/// An expected value, typed. Texts keep `***` for secrets and `${env:X}`
/// for host reads: the report shows the spec, never the host's values.
fn expected_json(v: &Val) -> Value {
    match v {
        Val::Text(t) => Value::String(t.to_string()),
        Val::Int(n) => json!(n),
        Val::Float(x) => json!(x),
        Val::Mode(m) => json!({"mode": m, "text": format!("0o{m:o}")}),
        Val::Size { bytes, text } => json!({"bytes": bytes, "text": text}),
        Val::Duration { ms, text } => json!({"ms": ms, "text": text}),
        Val::Percent(p) => json!({"percent": p, "text": v.to_string()}),
        Val::Bool(b) => json!(b),
        Val::Regex(r) => json!({"regex": r}),
        Val::PortMap { host, container } => json!({"host_port": host, "container_port": container}),
        Val::Range(a, b) => json!({"from": expected_json(a), "to": expected_json(b)}),
        Val::List(items) => Value::Array(items.iter().map(expected_json).collect()),
        Val::Url { subject, port } => {
            json!({"url_of": subject, "port": port, "text": v.to_string()})
        }
        Val::Subject(name) => json!({"subject": name}),
        Val::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), expected_json(v)))
                .collect(),
        ),
        Val::Null => Value::Null,
        Val::StackNetwork { subject, network } => {
            json!({"stack": subject, "network": network, "text": v.to_string()})
        }
        Val::ImageRef { subject, id } => {
            json!({"image_of": subject, "id": id, "text": v.to_string()})
        }
    }
}

/// An observed value, typed; sizes shown in the author's unit family.
fn actual_json(item: &Item<'_>, a: &Actual) -> Value {
    match a {
        Actual::Bool(b) => json!(b),
        Actual::Int(n) => json!(n),
        Actual::Size(b) => json!({"bytes": b, "text": item.size_text(*b)}),
        Actual::Duration(d) => {
            let mut o = serde_json::Map::new();
            o.insert("ms".into(), ms_number(d.as_secs_f64() * 1000.0));
            o.insert("text".into(), Value::String(format_duration(*d)));
            Value::Object(o)
        }
        Actual::Percent(p) => json!({"percent": p, "text": a.to_string()}),
        Actual::Number(n) => json!(n),
        Actual::Unlimited => json!("unlimited"),
        Actual::Mode(m) => json!({"mode": m, "text": a.to_string()}),
        Actual::Text(t) => Value::String(t.clone()),
        Actual::Json(j) => j.clone(),
        Actual::List(items) => json!(items),
    }
}
