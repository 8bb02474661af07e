//! Container state: the daemon's inspect answer → [`ContainerInfo`].

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, Health, HealthStatusEnum};

use super::timestamp::parse_rfc3339;
use super::types::{
    ContainerInfo, ContainerSettings, HealthInfo, HealthProbe, HealthStatus, MountInfo,
};

/// Maps an inspect answer.
pub(crate) fn container_info(c: ContainerInspectResponse) -> ContainerInfo {
    let state = c.state.unwrap_or_default();
    let config = c.config.unwrap_or_default();
    let labels = config
        .labels
        .clone()
        .map(|l| l.into_iter().collect())
        .unwrap_or_default();
    let host = c.host_config.unwrap_or_default();
    let positive = |n: Option<i64>| n.filter(|n| *n > 0);
    let nano_cpus = positive(host.nano_cpus)
        .or_else(
            || match (positive(host.cpu_quota), positive(host.cpu_period)) {
                (Some(q), Some(p)) => Some(q * 1_000_000_000 / p),
                _ => None,
            },
        )
        .map(|n| n as u64);
    let mut mounts: Vec<MountInfo> = c
        .mounts
        .unwrap_or_default()
        .into_iter()
        .map(|m| MountInfo {
            kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
            source: m
                .name
                .filter(|n| !n.is_empty())
                .or(m.source)
                .unwrap_or_default(),
            destination: m.destination.unwrap_or_default(),
            read_only: m.rw == Some(false),
            options: String::new(),
        })
        .collect();
    // `--tmpfs` mounts are not in `Mounts`: they are in the host config.
    for (dest, opts) in host.tmpfs.clone().unwrap_or_default() {
        mounts.push(MountInfo {
            kind: "tmpfs".into(),
            source: String::new(),
            destination: dest,
            read_only: opts.split(',').any(|o| o == "ro"),
            options: opts,
        });
    }
    mounts.sort_by(|a, b| a.destination.cmp(&b.destination));
    let mut networks: Vec<String> = Vec::new();
    let mut host_ports = BTreeMap::new();
    let mut ip_addresses = BTreeMap::new();
    if let Some(net) = c.network_settings {
        for (port, bindings) in net.ports.unwrap_or_default() {
            // Ports bound on IPv4 and IPv6 come twice with the same host port; the first
            // parseable one is kept (publishing is on 127.0.0.1 only anyway).
            let host_port = bindings
                .unwrap_or_default()
                .iter()
                .find_map(|b| b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok()));
            if let Some(host_port) = host_port {
                host_ports.insert(port, host_port);
            }
        }
        for (name, endpoint) in net.networks.unwrap_or_default() {
            networks.push(name.clone());
            if let Some(ip) = endpoint.ip_address.filter(|ip| !ip.is_empty()) {
                ip_addresses.insert(name, ip);
            }
        }
    }
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code.unwrap_or(0),
        oom_killed: state.oom_killed.unwrap_or(false),
        restart_count: c.restart_count.unwrap_or(0),
        error: state.error.unwrap_or_default(),
        health: state.health.and_then(health_info),
        started_at: state.started_at.as_deref().and_then(parse_rfc3339),
        finished_at: state.finished_at.as_deref().and_then(parse_rfc3339),
        host_ports,
        ip_addresses,
        pid: state.pid.unwrap_or(0),
        labels,
        settings: ContainerSettings {
            image: c.image.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            env: config
                .env
                .unwrap_or_default()
                .iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv.clone(), String::new()),
                })
                .collect(),
            memory: positive(host.memory).map(|m| m as u64),
            nano_cpus,
            pids: positive(host.pids_limit).map(|p| p as u64),
            read_only: host.readonly_rootfs.unwrap_or(false),
            privileged: host.privileged.unwrap_or(false),
            init: host.init.unwrap_or(false),
            cap_add: host.cap_add.unwrap_or_default(),
            cap_drop: host.cap_drop.unwrap_or_default(),
            security_opt: host.security_opt.unwrap_or_default(),
            mounts,
            networks: {
                networks.sort();
                networks
            },
            restart_policy: host
                .restart_policy
                .and_then(|r| r.name)
                .map(|n| n.to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "no".into()),
        },
    }
}

fn health_info(h: Health) -> Option<HealthInfo> {
    let status = match h.status? {
        HealthStatusEnum::STARTING => HealthStatus::Starting,
        HealthStatusEnum::HEALTHY => HealthStatus::Healthy,
        HealthStatusEnum::UNHEALTHY => HealthStatus::Unhealthy,
        // "none"/"" mean "no health check".
        HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => return None,
    };
    Some(HealthInfo {
        status,
        failing_streak: h.failing_streak.unwrap_or(0),
        log: h
            .log
            .unwrap_or_default()
            .into_iter()
            .map(|r| HealthProbe {
                exit_code: r.exit_code.unwrap_or(-1),
                output: r.output.unwrap_or_default(),
                start: r.start.as_deref().and_then(parse_rfc3339),
                end: r.end.as_deref().and_then(parse_rfc3339),
            })
            .collect(),
    })
}

/// Parses the status of a `health_status: healthy` event action.
pub(crate) fn health_from_action(action: &str) -> Option<HealthStatus> {
    let status = action
        .strip_prefix("health_status")?
        .trim_start_matches(':')
        .trim();
    Some(match status {
        "healthy" => HealthStatus::Healthy,
        "unhealthy" => HealthStatus::Unhealthy,
        "starting" => HealthStatus::Starting,
        _ => HealthStatus::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerState, ContainerStateStatusEnum, HealthcheckResult, NetworkSettings, PortBinding,
    };
    use std::collections::HashMap;

    #[test]
    fn maps_state_ports_and_health() {
        let c = ContainerInspectResponse {
            id: Some("abc".into()),
            name: Some("/web".into()),
            state: Some(ContainerState {
                status: Some(ContainerStateStatusEnum::RUNNING),
                running: Some(true),
                started_at: Some("2024-05-01T12:00:00.1Z".into()),
                finished_at: Some("0001-01-01T00:00:00Z".into()),
                health: Some(Health {
                    status: Some(HealthStatusEnum::HEALTHY),
                    failing_streak: Some(0),
                    log: Some(vec![HealthcheckResult {
                        exit_code: Some(0),
                        output: Some("ok".into()),
                        start: Some("2024-05-01T12:00:01+00:00".into()),
                        end: None,
                    }]),
                }),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                ports: Some(HashMap::from([
                    (
                        "8000/tcp".to_string(),
                        Some(vec![PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some("32768".into()),
                        }]),
                    ),
                    ("9000/tcp".to_string(), None),
                ])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let info = container_info(c);
        assert_eq!(info.name, "web");
        assert_eq!(info.status, "running");
        assert!(info.running);
        assert!(info.started_at.is_some());
        assert_eq!(info.finished_at, None);
        assert_eq!(info.host_ports.get("8000/tcp"), Some(&32768));
        assert_eq!(info.host_ports.get("9000/tcp"), None);
        let health = info.health.unwrap();
        assert_eq!(health.status, HealthStatus::Healthy);
        assert_eq!(health.log[0].output, "ok");
        assert!(health.log[0].start.is_some());
    }

    #[test]
    fn parses_event_actions() {
        assert_eq!(
            health_from_action("health_status: healthy"),
            Some(HealthStatus::Healthy)
        );
        assert_eq!(
            health_from_action("health_status: unhealthy"),
            Some(HealthStatus::Unhealthy)
        );
        assert_eq!(health_from_action("die"), None);
    }
}
