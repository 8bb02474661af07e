//! Verdicts: an observation judged against its expectation, sampled values turned into an
//! outcome, and secrets masked in everything shown.

use super::Ctx;
use super::actual::{Actual, format_duration, holds};
use super::observe::{ObsError, Observed};
use super::poll::Sampled;
use crate::ast::ModifierKind;
use crate::compile::Check;
use crate::report::Outcome;

/// Masks secrets in a JSON value: in its strings and keys, and a number (or a boolean) whose
/// text is a secret becomes the string `***`.
fn redact_json(ctx: &Ctx, j: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match j {
        J::String(s) => J::String(ctx.redact(&s)),
        J::Array(a) => J::Array(a.into_iter().map(|v| redact_json(ctx, v)).collect()),
        J::Object(o) => J::Object(
            o.into_iter()
                .map(|(k, v)| (ctx.redact(&k), redact_json(ctx, v)))
                .collect(),
        ),
        J::Number(n) if ctx.is_secret(&n.to_string()) => J::String("***".into()),
        J::Bool(b) if ctx.is_secret(&b.to_string()) => J::String("***".into()),
        other => other,
    }
}

/// An observed value with its secrets masked.
fn redacted(ctx: &Ctx, a: Actual) -> Actual {
    match a {
        Actual::Text(t) => Actual::Text(ctx.redact(&t)),
        Actual::Json(j) => Actual::Json(redact_json(ctx, j)),
        Actual::List(l) => Actual::List(l.iter().map(|s| ctx.redact(s)).collect()),
        other => other,
    }
}

/// Turns an observation into whether it held and its outcome (one sample).
pub fn evaluate(ctx: &Ctx, check: &Check, observed: Observed) -> (bool, Outcome) {
    let failed = |actual: Option<Actual>, message: String| Outcome::Failed {
        actual,
        message,
        samples: 1,
        at_ms: None,
        evidence: Vec::new(),
    };
    let passed = |actual: Actual| Outcome::Passed {
        actual: Some(actual),
        samples: 1,
        at_ms: None,
    };
    match observed.map(|a| redacted(ctx, a)) {
        Err(e @ (ObsError::Engine(_) | ObsError::Internal(_))) => (
            false,
            Outcome::Errored {
                message: ctx.redact(&e.to_string()),
            },
        ),
        Err(ObsError::Missing(message)) => (false, failed(None, ctx.redact(&message))),
        Ok(actual) if check.action_only => (true, passed(actual)),
        Ok(actual) => {
            let verdict = match &check.predicate {
                None => Ok(actual == Actual::Bool(true)),
                Some(p) => holds(&actual, p.op, p.value.as_ref()),
            };
            match verdict {
                Ok(true) => (true, passed(actual)),
                Ok(false) => (false, failed(Some(actual), String::new())),
                Err(message) => (false, failed(Some(actual), message)),
            }
        }
    }
}

/// Puts the sampling facts and, on failure, the (masked) evidence into an outcome. A
/// `within` condition that first held after its deadline fails, saying when it held.
pub async fn sampled<F>(
    ctx: &Ctx,
    check: &Check,
    sampled: Sampled<Outcome>,
    evidence: impl FnOnce() -> F,
) -> Outcome
where
    F: std::future::Future<Output = Vec<String>>,
{
    let mut outcome = sampled.value;
    let within = check
        .modifier
        .as_ref()
        .filter(|m| m.kind == ModifierKind::Within);
    let at_ms = sampled.at.as_millis() as u64;
    if let (Some(m), Outcome::Passed { actual, .. }) = (within, &outcome)
        && sampled.held
        && at_ms > m.duration_ms
    {
        outcome = Outcome::Failed {
            actual: actual.clone(),
            message: format!(
                "it first held at {}, after the deadline {}{}",
                format_duration(sampled.at),
                m.text,
                if check.anchored() {
                    " (counted from the subject's start or its last action)"
                } else {
                    ""
                }
            ),
            samples: sampled.samples,
            at_ms: Some(at_ms),
            evidence: Vec::new(),
        };
    }
    match &mut outcome {
        Outcome::Passed {
            samples, at_ms: a, ..
        } => {
            *samples = sampled.samples;
            if within.is_some() {
                *a = Some(at_ms);
            }
        }
        Outcome::Failed {
            samples,
            at_ms: a,
            evidence: ev,
            ..
        } => {
            *samples = sampled.samples;
            *a = Some(at_ms);
            ev.extend(evidence().await.iter().map(|e| ctx.redact(e)));
        }
        _ => {}
    }
    outcome
}
