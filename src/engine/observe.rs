//! Shared pieces of observing a property.

use super::actual::Actual;
use crate::compile::PathStep;
use crate::compile::value::Val;

/// Why a property could not be observed.
#[derive(Clone, Debug)]
pub enum ObsError {
    /// The property does not exist here (an unset variable, a missing
    /// file): the expectation fails with this message.
    Missing(String),
    /// The engine failed: an infrastructure error.
    Engine(String),
}

impl From<super::docker::EngineError> for ObsError {
    fn from(e: super::docker::EngineError) -> Self {
        ObsError::Engine(e.to_string())
    }
}

pub type Observed = Result<Actual, ObsError>;

/// Applies what follows a value: `.count` on lists, `[N]` on lists,
/// `.a.b[0]` on JSON.
pub fn tail(mut value: Actual, rest: &[PathStep]) -> Observed {
    for step in rest {
        value = match (&value, step) {
            (Actual::List(items), PathStep::Field { name, .. }) if name == "count" => {
                Actual::Int(items.len() as i64)
            }
            (Actual::List(items), PathStep::Index(Val::Int(i))) => match items.get(*i as usize) {
                Some(s) => Actual::Text(s.clone()),
                None => {
                    return Err(ObsError::Missing(format!(
                        "the list has {} items, no [{i}]",
                        items.len()
                    )));
                }
            },
            (Actual::Json(j), PathStep::Field { name, .. }) if name == "count" && j.is_array() => {
                Actual::Int(j.as_array().map(Vec::len).unwrap_or(0) as i64)
            }
            (Actual::Json(j), PathStep::Field { name, .. }) => match j.get(name) {
                Some(v) => Actual::Json(v.clone()),
                None => {
                    return Err(ObsError::Missing(format!(
                        "the JSON has no member `{name}`"
                    )));
                }
            },
            (Actual::Json(j), PathStep::Index(Val::Int(i))) => match j.get(*i as usize) {
                Some(v) => Actual::Json(v.clone()),
                None => return Err(ObsError::Missing(format!("the JSON has no element [{i}]"))),
            },
            (Actual::Json(j), PathStep::Index(Val::Text(k))) => match j.get(k.to_string()) {
                Some(v) => Actual::Json(v.clone()),
                None => return Err(ObsError::Missing(format!("the JSON has no member `{k}`"))),
            },
            (v, s) => return Err(ObsError::Missing(format!("cannot apply {s:?} to {v}"))),
        };
    }
    Ok(value)
}

/// The text of call argument `i` (`file("/app")`), host reads resolved;
/// empty when absent.
pub fn arg_text(args: &[Val], i: usize) -> String {
    match args.get(i) {
        Some(Val::Text(t)) => super::actual::resolve_text(t).unwrap_or_else(|_| t.to_string()),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Text from a process, trailing newlines removed (so `whoami` compares
/// with `"appuser"`).
pub fn process_text(s: &str) -> String {
    s.trim_end_matches(['\n', '\r']).to_string()
}
