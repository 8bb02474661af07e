//! Shared pieces of observing a property.

use std::sync::Arc;

use super::actual::Actual;
use super::docker::EngineError;
use crate::compile::PathStep;
use crate::compile::property::{EnvMapProp, JsonProp, Key, LabelMapProp, ListProp};
use crate::compile::value::Val;

/// Why a property could not be observed.
#[derive(Clone, Debug)]
pub enum ObsError {
    /// The property does not exist here (an unset variable, a missing
    /// file): the expectation fails with this message.
    Missing(String),
    /// The engine failed: an infrastructure error, with the engine's own error.
    Engine(Arc<EngineError>),
    /// dspec could not observe it for a reason of its own (an image it could not read).
    Internal(String),
}

impl From<EngineError> for ObsError {
    fn from(e: EngineError) -> Self {
        ObsError::Engine(Arc::new(e))
    }
}

impl std::fmt::Display for ObsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObsError::Missing(m) | ObsError::Internal(m) => f.write_str(m),
            ObsError::Engine(e) => write!(f, "{e}"),
        }
    }
}

pub type Observed = Result<Actual, ObsError>;

/// The first step of a path when it is a property: its key, its arguments and the steps
/// after it.
pub fn first(steps: &[PathStep]) -> Option<(Key, &[Val], &[PathStep])> {
    match steps.split_first()? {
        (PathStep::Field { key, args, .. }, rest) => Some((*key, args.as_slice(), rest)),
        (PathStep::Index(_) | PathStep::Each, _) => None,
    }
}

/// Applies what follows a value: `.count` on lists, `[N]` on lists,
/// `.a.b[0]` on JSON.
pub fn tail(mut value: Actual, rest: &[PathStep]) -> Observed {
    for (n, step) in rest.iter().enumerate() {
        value = match (&value, step) {
            // `[*]`: what follows, for every element; the answers as a JSON array.
            (Actual::Json(serde_json::Value::Array(items)), PathStep::Each) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match tail(Actual::Json(item.clone()), &rest[n + 1..]) {
                        Ok(Actual::Json(v)) => out.push(v),
                        Ok(other) => out.push(serde_json::Value::String(other.to_string())),
                        Err(ObsError::Missing(m)) => {
                            return Err(ObsError::Missing(format!("element [{i}]: {m}")));
                        }
                        Err(e) => return Err(e),
                    }
                }
                return Ok(Actual::Json(serde_json::Value::Array(out)));
            }
            (Actual::Json(j), PathStep::Each) => {
                return Err(ObsError::Missing(format!(
                    "`[*]` needs a JSON array, not {}",
                    json_kind(j)
                )));
            }
            (
                Actual::List(items),
                PathStep::Field {
                    key: Key::List(ListProp::Count),
                    ..
                },
            ) => Actual::Int(items.len() as i64),
            (Actual::List(items), PathStep::Index(Val::Int(i))) => match items.get(*i as usize) {
                Some(s) => Actual::Text(s.clone()),
                None => {
                    return Err(ObsError::Missing(format!(
                        "the list has {} items, no [{i}]",
                        items.len()
                    )));
                }
            },
            // `.count` of a JSON array is its length (a member named `count` of an object
            // is that member): only the value can tell.
            (Actual::Json(serde_json::Value::Array(a)), PathStep::Field { name, .. })
                if name == "count" =>
            {
                Actual::Int(a.len() as i64)
            }
            (
                Actual::Json(j),
                PathStep::Field {
                    key: Key::Json(JsonProp::Member) | Key::List(ListProp::Count),
                    name,
                    ..
                },
            ) => match j.get(name) {
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

/// "an object", "a string"... for messages.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A map's property (an environment, labels): `.NAME` or `["NAME"]` is a value, `.count`
/// the number of entries, and the map itself (the path ends on it) the list of its names.
/// `what` names the map in messages (`the image's environment`).
pub fn map_property<'a>(
    entries: impl Iterator<Item = (&'a str, &'a str)>,
    what: &str,
    rest: &[PathStep],
) -> Observed {
    let entries: Vec<(&str, &str)> = entries.collect();
    let key = match rest.first() {
        None => {
            let names = entries.iter().map(|(k, _)| k.to_string()).collect();
            return Ok(Actual::List(names));
        }
        Some(PathStep::Field {
            key: Key::EnvMap(EnvMapProp::Count) | Key::LabelMap(LabelMapProp::Count),
            ..
        }) => return tail(Actual::Int(entries.len() as i64), &rest[1..]),
        Some(PathStep::Field { name, .. }) => name.clone(),
        Some(PathStep::Index(Val::Text(k))) => k.to_string(),
        Some(PathStep::Index(other)) => {
            return Err(ObsError::Missing(format!(
                "{what} is indexed by name, not {other}"
            )));
        }
        Some(PathStep::Each) => {
            return Err(ObsError::Missing(format!("{what} is a map, not an array")));
        }
    };
    match entries.iter().find(|(k, _)| *k == key) {
        Some((_, v)) => tail(Actual::Text(v.to_string()), &rest[1..]),
        None => Err(ObsError::Missing(format!("{what} has no `{key}`"))),
    }
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
