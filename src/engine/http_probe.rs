//! The response owner's part of the catalogue (`status`, `header(NAME)`, `json`, `cert.*`,
//! `metric(SELECTOR)`...): every `HttpProp` and `CertProp` has its arm here. Request
//! subjects and the inline forms (`api.get("/x").status`) both answer through it.

use super::Ctx;
use super::actual::Actual;
use super::http::{self, Response};
use super::observe::{ObsError, Observed, arg_text, first, tail};
use crate::compile::PathStep;
use crate::compile::property::{CertProp, HttpProp, Key};

tokio::task_local! {
    /// The last response an inline form (`api.get("/x")`) got while a check was sampled.
    static LAST: std::cell::RefCell<Option<String>>;
}

/// Remembers what a failure of the current check shows of a response (see [`with_last`]).
pub fn remember(r: &Response) {
    let _ = LAST.try_with(|l| *l.borrow_mut() = Some(r.summary(300)));
}

/// Runs `f` (a check's sampling) and gives the summary of the last response an inline form
/// got meanwhile, for the evidence of a failure.
pub async fn with_last<F: std::future::Future>(f: F) -> (F::Output, Option<String>) {
    LAST.scope(std::cell::RefCell::new(None), async {
        let out = f.await;
        (out, LAST.with(|l| l.borrow_mut().take()))
    })
    .await
}

/// The response property `steps` names (and what follows it).
pub fn observe(ctx: &Ctx, r: &Response, steps: &[PathStep]) -> Observed {
    let Some((Key::Http(prop), args, rest)) = first(steps) else {
        return Err(ObsError::Missing("a response needs a property".into()));
    };
    let value = match prop {
        HttpProp::Status => Actual::Int(i64::from(r.status)),
        HttpProp::Body => Actual::Text(ctx.redact(&r.body)),
        HttpProp::Duration => Actual::Duration(r.duration),
        HttpProp::Version => Actual::Text(r.version.clone()),
        HttpProp::Redirects => Actual::Int(i64::from(r.redirects)),
        HttpProp::Url => Actual::Text(r.url.clone()),
        HttpProp::Headers => Actual::List(r.header_names()),
        HttpProp::Header => {
            let h = arg_text(args, 0);
            match r.header_joined(&h) {
                Some(v) => Actual::Text(ctx.redact(&v)),
                None => {
                    return Err(ObsError::Missing(format!(
                        "the response has no `{h}` header (status {}; its headers: {})",
                        r.status,
                        r.header_names().join(", ")
                    )));
                }
            }
        }
        HttpProp::Json => match serde_json::from_str::<serde_json::Value>(&r.body) {
            Ok(j) => Actual::Json(j),
            Err(e) => {
                return Err(ObsError::Missing(format!(
                    "the body is not JSON ({e}); status {}, body: {}",
                    r.status,
                    ctx.redact(&http::excerpt(&r.body, 120))
                )));
            }
        },
        HttpProp::Metric => {
            let sel = arg_text(args, 0);
            match crate::prometheus::sum(&r.body, &sel) {
                Ok(v) => Actual::Number(v),
                Err(e) => return Err(ObsError::Missing(format!("{e} (status {})", r.status))),
            }
        }
        HttpProp::Cert => {
            let Some(cert) = &r.cert else {
                return Err(ObsError::Missing(
                    "the request was not made over TLS: add `https` to the request".into(),
                ));
            };
            if let Some(e) = &cert.error {
                return Err(ObsError::Missing(format!(
                    "the server certificate could not be read: {e}"
                )));
            }
            let Some((Key::Cert(p), _, after)) = first(rest) else {
                return Err(ObsError::Missing(
                    "`cert` needs `.subject`, `.issuer` or `.days_left`".into(),
                ));
            };
            let v = match p {
                CertProp::Subject => Actual::Text(cert.subject.clone()),
                CertProp::Issuer => Actual::Text(cert.issuer.clone()),
                CertProp::DaysLeft => Actual::Int(cert.days_left()),
            };
            return tail(v, after);
        }
    };
    tail(value, rest)
}

/// The request of an inline form (`api.get("/x")`, `api.request("PATCH", "/x", BODY)`).
pub fn inline_request(
    method: &str,
    host: &str,
    port: u16,
    args: &[crate::compile::value::Val],
) -> http::Request {
    let (method, rest) = if method.is_empty() {
        (arg_text(args, 0), &args[args.len().min(1)..])
    } else {
        (method.to_string(), args)
    };
    let mut req = http::Request::new(&method, host, port, &arg_text(rest, 0));
    if rest.len() > 1 {
        req.body = Some(arg_text(rest, 1).into_bytes());
        req.headers
            .push(("Content-Type".into(), "application/json".into()));
    }
    req
}
