//! `request NAME = api.get("/x") { ... }`: one HTTP exchange with a container's published
//! port, made once by its plan step (after the requests it captures from); the checks read
//! it, and under `within`/`for` each sample makes it again.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::Ctx;
use super::actual::{Actual, resolve_text};
use super::http::{self, Response};
use super::observe::{ObsError, Observed};
use super::poll::{self, Sample};
use super::scheduler::{Output, Run, State};
use super::verdict::{evaluate, sampled};
use crate::ast::ModifierKind;
use crate::compile::value::{Text, TextPart};
use crate::compile::{Check, RequestSpec, SubjectSpec};
use crate::plan::{StepId, SubjectRef};
use crate::report::Outcome;
use crate::report::event::Activity;

/// What a request's step made: the request as sent (or why it could not be), and its
/// response (or why there is none).
#[derive(Debug)]
pub struct Made {
    pub request: Result<http::Request, String>,
    pub response: Result<Response, String>,
}

/// A `Request` step: prepares the request (its container's port, its captures, its secrets)
/// and makes it. A failure is kept for the checks to report; it does not stop the run.
pub(super) async fn setup(run: &Run, id: StepId) -> State {
    let subject = &run.plan.steps[id].subjects[0];
    let file = &run.program.files[subject.file];
    let Some(SubjectSpec::Request(spec)) = file.subject(&subject.name).map(|s| &s.spec) else {
        return State::Done;
    };
    run.progress(
        subject,
        Activity::Working {
            text: format!("{} {}", spec.method, spec.path),
        },
    );
    let started = Instant::now();
    let request = prepare(run, subject.file, spec).await.map_err(|e| {
        let port = spec.port.map(|p| format!(".port({p})")).unwrap_or_default();
        format!(
            "{} {}{port} {}: {e}",
            spec.method, spec.container, spec.path
        )
    });
    let response = match &request {
        Ok(r) => http::send(r).await.map_err(|e| run.ctx.redact(&e)),
        Err(e) => Err(e.clone()),
    };
    let text = match &response {
        Ok(r) => format!("{} {}", r.status, r.version),
        Err(_) => "failed".to_string(),
    };
    run.ready(subject, &text, started.elapsed());
    run.keep(id, Output::Request(Arc::new(Made { request, response })));
    State::Done
}

/// The request of `spec` as it goes on the wire: host port, captures and secrets resolved
/// (secret values are registered, so every output masks them).
async fn prepare(run: &Run, file: usize, spec: &RequestSpec) -> Result<http::Request, String> {
    let ctx = &run.ctx;
    let text = |t: &Text| resolve(run, file, t);
    // Captures first: a failed request they read is the cause to report.
    let path = text(&spec.path)?;
    let mut req = http::Request::new(&spec.method, &ctx.engine.versions().probe_host, 0, &path);
    for (k, v) in &spec.query {
        req.query.push((k.clone(), text(v)?));
    }
    for (k, v) in &spec.headers {
        req.headers.push((k.clone(), text(v)?));
    }
    if let Some(ct) = &spec.content_type
        && !spec
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req.headers.push(("Content-Type".into(), ct.clone()));
    }
    if let Some(b) = &spec.body {
        req.body = Some(text(b)?.into_bytes());
    } else if !spec.form.is_empty() {
        let mut pairs = Vec::new();
        for (k, v) in &spec.form {
            pairs.push((k.clone(), text(v)?));
        }
        req.body = Some(http::form_encode(&pairs).into_bytes());
    }
    if let Some((user, pw)) = &spec.basic_auth {
        let pw = text(pw)?;
        let token = http::base64(format!("{user}:{pw}").as_bytes());
        ctx.add_secret(&pw);
        ctx.add_secret(&token);
        req.headers
            .push(("Authorization".into(), format!("Basic {token}")));
    }
    req.https = spec.https;
    req.insecure = spec.insecure;
    req.cacert = spec.cacert.clone();
    req.follow_redirects = spec.follow_redirects;
    req.timeout = spec.timeout.unwrap_or(http::DEFAULT_TIMEOUT);
    let container = run
        .running(file, &spec.container)
        .ok_or_else(|| format!("container `{}` is not running", spec.container))?;
    req.port = super::container_probe::host_port(ctx, &container, spec.port)
        .await
        .map_err(|e| e.to_string())?;
    Ok(req)
}

/// A setting's text with its captures read from the requests made before, its host reads
/// done, and its secrets registered for masking.
fn resolve(run: &Run, file: usize, t: &Text) -> Result<String, String> {
    let mut out = String::new();
    for part in &t.parts {
        match part {
            TextPart::Capture {
                subject,
                path,
                text,
            } => {
                let made = run
                    .plan
                    .setup_step(&SubjectRef {
                        file,
                        name: subject.clone(),
                    })
                    .and_then(|s| run.request(s))
                    .ok_or_else(|| format!("`${{{text}}}`: request `{subject}` was not made"))?;
                let r = made.response.as_ref().map_err(|e| {
                    format!("request `{subject}` failed, so `${{{text}}}` has no value: {e}")
                })?;
                let value = super::http_probe::observe(&run.ctx, r, path).map_err(|e| {
                    format!(
                        "`${{{text}}}` has no value: {e} ({} {} answered {})",
                        r.method, r.url, r.status
                    )
                })?;
                out.push_str(&captured_text(&value));
            }
            TextPart::Secret { .. } => {
                let v = resolve_text(&Text {
                    parts: vec![part.clone()],
                })?;
                run.ctx.add_secret(&v);
                out.push_str(&v);
            }
            other => out.push_str(&resolve_text(&Text {
                parts: vec![other.clone()],
            })?),
        }
    }
    Ok(out)
}

/// A captured value as it goes into text: strings without their quotes, JSON as JSON.
fn captured_text(a: &Actual) -> String {
    match a {
        Actual::Text(s) | Actual::Json(serde_json::Value::String(s)) => s.clone(),
        Actual::Json(j) => j.to_string(),
        Actual::List(items) => items.join(","),
        other => other.to_string(),
    }
}

/// What a failure shows of a response: one evidence line per line of its summary, masked.
fn evidence(ctx: &Ctx, r: &Response) -> Vec<String> {
    vec![format!("last response: {}", ctx.redact(&r.summary(300)))]
}

fn observe(ctx: &Ctx, check: &Check, response: &Result<Response, String>) -> Observed {
    match response {
        Ok(r) => super::http_probe::observe(ctx, r, &check.path),
        Err(e) => Err(ObsError::Missing(ctx.redact(e))),
    }
}

/// Judges a check of a request: on the response its step got, or, under `within`/`for`, on
/// a new exchange per sample (never past the deadline).
pub(super) async fn check(ctx: &Ctx, check: &Check, made: &Made) -> Outcome {
    let modifier = check
        .modifier
        .as_ref()
        .map(|m| (m.kind, std::time::Duration::from_millis(m.duration_ms)));
    let Some((kind, limit)) = modifier else {
        let (_, mut outcome) = evaluate(ctx, check, observe(ctx, check, &made.response));
        if let (Outcome::Failed { evidence: ev, .. }, Ok(r)) = (&mut outcome, &made.response) {
            ev.extend(evidence(ctx, r));
        }
        return outcome;
    };
    let start = Instant::now();
    let until = start + limit;
    let last: Mutex<Option<Response>> = Mutex::new(None);
    let sampled_outcome = poll::sample(
        modifier,
        start,
        || async {
            let response = match &made.request {
                Ok(req) => {
                    let mut req = req.clone();
                    let left = until.saturating_duration_since(Instant::now());
                    req.timeout = match kind {
                        // A `for` sample still gets its whole timeout: the window is what
                        // it must hold over, not a deadline for the exchange.
                        ModifierKind::For => req.timeout,
                        _ => req
                            .timeout
                            .min(left)
                            .max(std::time::Duration::from_millis(100)),
                    };
                    http::send(&req).await
                }
                Err(e) => Err(e.clone()),
            };
            let observed = observe(ctx, check, &response);
            if let Ok(r) = response {
                *last.lock().expect("last response lock") = Some(r);
            }
            let (held, value) = evaluate(ctx, check, observed);
            Sample {
                held,
                value,
                held_since: None,
            }
        },
        |until| async move { tokio::time::sleep_until(until.into()).await },
    )
    .await;
    let shown = last
        .lock()
        .expect("last response lock")
        .as_ref()
        .map(|r| evidence(ctx, r))
        .unwrap_or_default();
    sampled(ctx, check, sampled_outcome, || async move { shown }).await
}
