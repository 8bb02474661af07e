//! A Compose stack's resolved configuration (`compose config`): typed keys normalised so that
//! Compose v1 and v2 give the same answers, and any key raw through `.json`.

use std::time::Duration;

use serde_json::Value as Json;

use super::Ctx;
use super::actual::Actual;
use super::observe::{ObsError, Observed, arg_text, first, map_property, tail};
use crate::compile::PathStep;
use crate::compile::property::{
    DependencyProp, HealthcheckProp, Key, LimitsProp, LoggingProp, NetworkConfigProp,
    ServiceConfigProp as S, StackConfigProp, VolumeConfigProp,
};
use crate::compile::value::capability;

/// A property of the resolved config `config` (`rest` follows `config`).
pub fn observe(ctx: &Ctx, config: &Json, rest: &[PathStep]) -> Observed {
    let Some((Key::StackConfig(prop), args, rest)) = first(rest) else {
        return Err(ObsError::Missing(
            "`config` needs `.service(NAME)`, `.network(NAME)`, `.volume(NAME)` or `.json`".into(),
        ));
    };
    match prop {
        StackConfigProp::Json => tail(Actual::Json(config.clone()), rest),
        StackConfigProp::Service => {
            let svc = section(config, "services", "service", &arg_text(args, 0))?;
            let Some((Key::ServiceConfig(field), args, after)) = first(rest) else {
                return Err(ObsError::Missing(
                    "a service config needs a property".into(),
                ));
            };
            service(ctx, svc, field, args, after)
        }
        StackConfigProp::Network => {
            let name = arg_text(args, 0);
            let n = section(config, "networks", "network", &name)?;
            let Some((Key::NetworkConfig(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing(
                    "a network config needs a property".into(),
                ));
            };
            let v = match field {
                NetworkConfigProp::Driver => Actual::Text(text_or(n.get("driver"), "bridge")),
                NetworkConfigProp::Json => Actual::Json(n.clone()),
            };
            tail(v, after)
        }
        StackConfigProp::Volume => {
            let name = arg_text(args, 0);
            let v = section(config, "volumes", "volume", &name)?;
            let Some((Key::VolumeConfig(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing("a volume config needs a property".into()));
            };
            let value = match field {
                VolumeConfigProp::Driver => Actual::Text(text_or(v.get("driver"), "local")),
                VolumeConfigProp::Json => Actual::Json(v.clone()),
            };
            tail(value, after)
        }
    }
}

/// `config[kind][name]`, or why there is none (the names there are listed). A network or a
/// volume declared without settings (`backend:`) is an empty object.
fn section<'a>(config: &'a Json, kind: &str, noun: &str, name: &str) -> Result<&'a Json, ObsError> {
    static EMPTY: Json = Json::Null;
    let all = config.get(kind).and_then(Json::as_object);
    match all.and_then(|m| m.get(name)) {
        Some(v) => Ok(if v.is_null() { &EMPTY } else { v }),
        None => {
            let names: Vec<&str> = all
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            Err(ObsError::Missing(format!(
                "the stack has no {noun} `{name}` ({kind}: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )))
        }
    }
}

/// A string value, or `default` when it is absent or null.
fn text_or(v: Option<&Json>, default: &str) -> String {
    match v {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => default.to_string(),
        Some(other) => other.to_string(),
    }
}

/// A string or a list of strings, as a list (`tmpfs: /tmp` and `tmpfs: [/tmp]`).
fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Bytes of a Compose memory value: a number of bytes, or a string with a unit `b k m g`
/// (powers of 1024, as Docker reads them: `512m` is 512 MiB).
fn memory_of(v: Option<&Json>) -> Option<u64> {
    match v? {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => {
            let s = s.trim().to_ascii_lowercase();
            let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let unit = &s[digits.len()..];
            let n: f64 = digits.parse().ok()?;
            let mult = match unit.trim_end_matches('b') {
                "" => 1.0,
                "k" => 1024.0,
                "m" => 1024.0 * 1024.0,
                "g" => 1024.0 * 1024.0 * 1024.0,
                "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
                _ => return None,
            };
            Some((n * mult) as u64)
        }
        _ => None,
    }
}

/// A number that Compose may write as a string (`cpus: "0.5"`).
fn number_of(v: Option<&Json>) -> Option<f64> {
    match v? {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A mount written `SOURCE:TARGET[:ro]` whatever syntax the file used; a named volume by its
/// name, and `:rw` left out.
fn volume_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.strip_suffix(":rw").unwrap_or(s).to_string(),
        Json::Object(o) => {
            let target = o.get("target").and_then(Json::as_str).unwrap_or("");
            // A named volume's source is its name; a bind's, the host path.
            let ro = o.get("read_only").and_then(Json::as_bool) == Some(true);
            let mut out = match o.get("source").and_then(Json::as_str) {
                Some(src) if !src.is_empty() => format!("{src}:{target}"),
                _ => target.to_string(),
            };
            if ro {
                out.push_str(":ro");
            }
            out
        }
        other => other.to_string(),
    }
}

/// A command as Compose resolved it: a list, or a string split like a shell.
fn command_of(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => crate::compile::argv::split(s).unwrap_or_else(|_| vec![s.clone()]),
        other => strings(other),
    }
}

pub(super) fn list_of(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => s.clone(),
                Json::Object(o) => {
                    // Long port and volume syntax.
                    if let Some(t) = o.get("target") {
                        let published = o
                            .get("published")
                            .map(|p| p.to_string().trim_matches('"').to_string())
                            .unwrap_or_default();
                        let ip = o
                            .get("host_ip")
                            .and_then(Json::as_str)
                            .map(|s| format!("{s}:"))
                            .unwrap_or_default();
                        let source = o.get("source").and_then(Json::as_str);
                        match source {
                            Some(s) => format!("{s}:{}", t.as_str().unwrap_or("")),
                            None => format!("{ip}{published}:{t}"),
                        }
                    } else {
                        i.to_string()
                    }
                }
                other => other.to_string(),
            })
            .collect(),
        Some(Json::Object(o)) => o.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn duration_of(v: Option<&Json>) -> Option<Duration> {
    let s = v?.as_str()?;
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "us" => n / 1e6,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// One service's resolved config property.
fn service(
    ctx: &Ctx,
    svc: &Json,
    field: S,
    args: &[crate::compile::value::Val],
    after: &[PathStep],
) -> Observed {
    let deploy_limit = |key: &str| {
        svc.get("deploy")
            .and_then(|d| d.get("resources"))
            .and_then(|r| r.get("limits"))
            .and_then(|l| l.get(key))
    };
    let value = match field {
        S::Env => {
            let env: Vec<(String, String)> = match svc.get("environment") {
                Some(Json::Object(o)) => o
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Json::String(s) => s.clone(),
                            Json::Null => String::new(),
                            other => other.to_string(),
                        };
                        (k.clone(), ctx.redact(&v))
                    })
                    .collect(),
                Some(Json::Array(a)) => a
                    .iter()
                    .filter_map(Json::as_str)
                    .map(|kv| match kv.split_once('=') {
                        Some((k, v)) => (k.to_string(), ctx.redact(v)),
                        None => (kv.to_string(), String::new()),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            return map_property(
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                "the service's environment",
                after,
            );
        }
        S::Ports => Actual::List(list_of(svc.get("ports"))),
        S::Image => Actual::Text(text_or(svc.get("image"), "")),
        S::DependsOn => {
            let deps = svc.get("depends_on");
            let Some(name) = args.first().map(|_| arg_text(args, 0)) else {
                return tail(Actual::List(list_of(deps)), after);
            };
            let condition = match deps {
                Some(Json::Object(o)) => o.get(&name).map(|d| {
                    d.get("condition")
                        .and_then(Json::as_str)
                        .unwrap_or("service_started")
                        .to_string()
                }),
                Some(Json::Array(a)) => a
                    .iter()
                    .any(|d| d.as_str() == Some(&name))
                    .then(|| "service_started".to_string()),
                _ => None,
            };
            let Some(condition) = condition else {
                let on = list_of(deps);
                return Err(ObsError::Missing(format!(
                    "the service does not depend on `{name}` (it depends on {})",
                    if on.is_empty() {
                        "nothing".to_string()
                    } else {
                        on.join(", ")
                    }
                )));
            };
            return match first(after) {
                Some((Key::Dependency(DependencyProp::Condition), _, rest)) => {
                    tail(Actual::Text(condition), rest)
                }
                _ => Err(ObsError::Missing("a dependency needs `.condition`".into())),
            };
        }
        S::Networks => Actual::List(list_of(svc.get("networks"))),
        S::Volumes => Actual::List(match svc.get("volumes") {
            Some(Json::Array(items)) => items.iter().map(volume_text).collect(),
            _ => Vec::new(),
        }),
        S::ReadOnly => Actual::Bool(svc.get("read_only").and_then(Json::as_bool) == Some(true)),
        S::Tmpfs => Actual::List(strings(svc.get("tmpfs"))),
        S::Restart => Actual::Text(text_or(svc.get("restart"), "no")),
        S::ContainerName => match svc.get("container_name").and_then(Json::as_str) {
            Some(n) => Actual::Text(n.to_string()),
            None => {
                return Err(ObsError::Missing(
                    "the service sets no `container_name`".into(),
                ));
            }
        },
        S::SecurityOpt => Actual::List(strings(svc.get("security_opt"))),
        S::CapAdd => Actual::List(
            strings(svc.get("cap_add"))
                .iter()
                .map(|c| capability(c))
                .collect(),
        ),
        S::CapDrop => Actual::List(
            strings(svc.get("cap_drop"))
                .iter()
                .map(|c| capability(c))
                .collect(),
        ),
        S::User => Actual::Text(text_or(svc.get("user"), "")),
        S::Profiles => Actual::List(strings(svc.get("profiles"))),
        S::Command => Actual::List(command_of(svc.get("command"))),
        S::Logging => {
            let Some((Key::Logging(LoggingProp::Driver), _, rest)) = first(after) else {
                return Err(ObsError::Missing("`logging` needs `.driver`".into()));
            };
            return match svc
                .get("logging")
                .and_then(|l| l.get("driver"))
                .and_then(Json::as_str)
            {
                Some(d) => tail(Actual::Text(d.to_string()), rest),
                None => Err(ObsError::Missing(
                    "the service sets no logging driver (the engine's default applies)".into(),
                )),
            };
        }
        S::Limits => {
            let Some((Key::Limits(limit), _, rest)) = first(after) else {
                return Err(ObsError::Missing(
                    "`limits` needs `.memory`, `.cpus` or `.pids`".into(),
                ));
            };
            let v = match limit {
                LimitsProp::Memory => memory_of(svc.get("mem_limit"))
                    .or_else(|| memory_of(deploy_limit("memory")))
                    .map_or(Actual::Unlimited, Actual::Size),
                LimitsProp::Cpus => number_of(svc.get("cpus"))
                    .or_else(|| number_of(deploy_limit("cpus")))
                    .filter(|c| *c > 0.0)
                    .map_or(Actual::Unlimited, Actual::Number),
                LimitsProp::Pids => number_of(svc.get("pids_limit"))
                    .or_else(|| number_of(deploy_limit("pids")))
                    .filter(|p| *p > 0.0)
                    .map_or(Actual::Unlimited, |p| Actual::Int(p as i64)),
            };
            return tail(v, rest);
        }
        S::Json => Actual::Json(svc.clone()),
        S::Healthcheck => {
            let h = svc
                .get("healthcheck")
                .ok_or_else(|| ObsError::Missing("the service has no healthcheck".into()))?;
            let Some((Key::Healthcheck(f), _, rest)) = first(after) else {
                return Err(ObsError::Missing("no healthcheck field".into()));
            };
            let duration = |key: &str, default: u64| {
                Actual::Duration(duration_of(h.get(key)).unwrap_or(Duration::from_secs(default)))
            };
            let v = match f {
                HealthcheckProp::Test => Actual::List(list_of(h.get("test"))),
                HealthcheckProp::Retries => {
                    Actual::Int(h.get("retries").and_then(Json::as_i64).unwrap_or(3))
                }
                HealthcheckProp::Interval => duration("interval", 30),
                HealthcheckProp::Timeout => duration("timeout", 30),
                HealthcheckProp::StartPeriod => duration("start_period", 0),
            };
            return tail(v, rest);
        }
    };
    tail(value, after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_reads_like_docker() {
        assert_eq!(memory_of(Some(&Json::from("512m"))), Some(512 << 20));
        assert_eq!(memory_of(Some(&Json::from("1g"))), Some(1 << 30));
        assert_eq!(memory_of(Some(&Json::from("256mb"))), Some(256 << 20));
        assert_eq!(memory_of(Some(&Json::from(536870912u64))), Some(512 << 20));
        assert_eq!(memory_of(Some(&Json::from("lots"))), None);
    }

    /// The same service as Compose v1 prints it (YAML, short forms) and as v2 prints it with
    /// `--format json` (long forms, bytes as strings): the typed keys agree.
    #[test]
    fn compose_v1_and_v2_give_the_same_answers() {
        let v1: Json = yaml_serde::from_str(
            "services:\n  web:\n    mem_limit: 512m\n    cpus: 0.5\n    restart: always\n    \
             depends_on:\n      db:\n        condition: service_healthy\n    \
             volumes:\n    - data:/var/lib/x:rw\n    - /srv:/app:ro\n    command: run --fast\n",
        )
        .unwrap();
        let v2 = serde_json::json!({"services": {"web": {
            "mem_limit": "536870912",
            "cpus": 0.5,
            "restart": "always",
            "depends_on": {"db": {"condition": "service_healthy", "required": true}},
            "volumes": [
                {"type": "volume", "source": "data", "target": "/var/lib/x", "volume": {}},
                {"type": "bind", "source": "/srv", "target": "/app", "read_only": true}
            ],
            "command": ["run", "--fast"]
        }}});
        let ctx_free = |config: &Json, path: &[(Key, Vec<crate::compile::value::Val>)]| {
            let steps: Vec<PathStep> = path
                .iter()
                .map(|(k, a)| PathStep::Field {
                    name: String::new(),
                    key: *k,
                    args: a.clone(),
                })
                .collect();
            let svc = &config["services"]["web"];
            let Some((Key::ServiceConfig(f), args, after)) = first(&steps) else {
                unreachable!()
            };
            let ctx = crate::engine::Ctx::new(std::sync::Arc::new(
                crate::engine::fake::FakeEngine::new(crate::engine::fake::Script::default()),
            ));
            service(&ctx, svc, f, args, after).unwrap()
        };
        use crate::compile::value::{Text, Val};
        let cases: Vec<Vec<(Key, Vec<Val>)>> = vec![
            vec![
                (Key::ServiceConfig(S::Limits), vec![]),
                (Key::Limits(LimitsProp::Memory), vec![]),
            ],
            vec![
                (Key::ServiceConfig(S::Limits), vec![]),
                (Key::Limits(LimitsProp::Cpus), vec![]),
            ],
            vec![(Key::ServiceConfig(S::Restart), vec![])],
            vec![
                (
                    Key::ServiceConfig(S::DependsOn),
                    vec![Val::Text(Text::lit("db"))],
                ),
                (Key::Dependency(DependencyProp::Condition), vec![]),
            ],
            vec![(Key::ServiceConfig(S::Volumes), vec![])],
            vec![(Key::ServiceConfig(S::Command), vec![])],
        ];
        for c in &cases {
            assert_eq!(ctx_free(&v1, c), ctx_free(&v2, c), "{c:?}");
        }
        assert_eq!(
            ctx_free(&v1, &cases[4]),
            Actual::List(vec!["data:/var/lib/x".into(), "/srv:/app:ro".into()])
        );
    }

    #[test]
    fn volumes_read_the_same_from_both_syntaxes() {
        assert_eq!(
            volume_text(&Json::from("data:/var/lib/x:rw")),
            "data:/var/lib/x"
        );
        let long = serde_json::json!({"type": "bind", "source": "/srv", "target": "/app", "read_only": true});
        assert_eq!(volume_text(&long), "/srv:/app:ro");
    }
}
