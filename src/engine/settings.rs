//! A container's settings in force, as the engine's inspect reports them (for containers and
//! stack services alike): what a checklist states is in force, not what a file asked for.

use super::actual::Actual;
use super::docker::ContainerInfo;
use super::observe::{ObsError, Observed, arg_text, first, map_property, tail};
use crate::compile::PathStep;
use crate::compile::property::{ContainerProp as C, Key, LimitsProp, MountProp};
use crate::compile::value::{Val, capability};

/// A setting of the container `info` describes (`prop` is one of the settings keys).
pub fn observe(info: &ContainerInfo, prop: C, args: &[Val], rest: &[PathStep]) -> Observed {
    let s = &info.settings;
    let list = |v: &[String]| Actual::List(v.to_vec());
    let value = match prop {
        C::Limits => {
            let Some((Key::Limits(limit), _, after)) = first(rest) else {
                return Err(ObsError::Missing(
                    "`limits` needs `.memory`, `.cpus` or `.pids`".into(),
                ));
            };
            let v = match limit {
                LimitsProp::Memory => s.memory.map_or(Actual::Unlimited, Actual::Size),
                LimitsProp::Cpus => s
                    .nano_cpus
                    .map_or(Actual::Unlimited, |n| Actual::Number(n as f64 / 1e9)),
                LimitsProp::Pids => s.pids.map_or(Actual::Unlimited, |p| Actual::Int(p as i64)),
            };
            return tail(v, after);
        }
        C::ReadOnly => Actual::Bool(s.read_only),
        C::Privileged => Actual::Bool(s.privileged),
        C::NoNewPrivileges => Actual::Bool(s.security_opt.iter().any(|o| {
            matches!(
                o.as_str(),
                "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
            )
        })),
        C::Init => Actual::Bool(s.init),
        C::User => Actual::Text(s.user.clone()),
        C::CapAdd => Actual::List(s.cap_add.iter().map(|c| capability(c)).collect()),
        C::CapDrop => Actual::List(s.cap_drop.iter().map(|c| capability(c)).collect()),
        C::SecurityOpt => list(&s.security_opt),
        C::Tmpfs => Actual::List(
            s.mounts
                .iter()
                .filter(|m| m.kind == "tmpfs")
                .map(|m| m.destination.clone())
                .collect(),
        ),
        C::Mounts => Actual::List(s.mounts.iter().map(|m| m.destination.clone()).collect()),
        C::Mount => {
            let path = arg_text(args, 0);
            let Some(m) = s
                .mounts
                .iter()
                .find(|m| m.destination == path.trim_end_matches('/') || m.destination == path)
            else {
                return Err(ObsError::Missing(format!(
                    "nothing is mounted at `{path}` (mounts: {})",
                    if s.mounts.is_empty() {
                        "none".to_string()
                    } else {
                        s.mounts
                            .iter()
                            .map(|m| m.destination.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            };
            let Some((Key::Mount(field), _, after)) = first(rest) else {
                return Err(ObsError::Missing(
                    "a mount needs `.type`, `.source` or `.read_only`".into(),
                ));
            };
            let v = match field {
                MountProp::Type => Actual::Text(m.kind.clone()),
                MountProp::Source => Actual::Text(m.source.clone()),
                MountProp::ReadOnly => Actual::Bool(m.read_only),
            };
            return tail(v, after);
        }
        C::Networks => list(&s.networks),
        C::Env => {
            return map_property(
                s.env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                "the container's environment",
                rest,
            );
        }
        C::Labels => {
            return map_property(
                info.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                "the container's labels",
                rest,
            );
        }
        C::RestartPolicy => Actual::Text(s.restart_policy.clone()),
        C::Image => Actual::Text(s.image.clone()),
        other => {
            return Err(ObsError::Internal(format!(
                "`{other:?}` is not a setting of the container"
            )));
        }
    };
    tail(value, rest)
}
