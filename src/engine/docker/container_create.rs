//! Creating containers: [`ContainerSpec`] → the daemon's create body.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    MountVolumeOptions, NetworkingConfig, PortBinding,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::bollard_impl::Engine;
use super::errmap::Subject;
use super::error::EngineError;
use super::types::{ContainerSpec, HealthOverride};

/// `docker create`; returns the new container's ID.
pub(crate) async fn create_container(
    engine: &Engine,
    spec: &ContainerSpec,
) -> Result<String, EngineError> {
    let mut opts = CreateContainerOptionsBuilder::default();
    if let Some(name) = &spec.name {
        opts = opts.name(name);
    }
    let created = engine
        .docker
        .create_container(
            Some(opts.build()),
            create_body(spec, &engine.versions().publish_ip),
        )
        .await
        .map_err(|e| engine.err(e, Subject::Create(&spec.image)))?;
    Ok(created.id)
}

/// The create body for `spec`, its ports published on the engine machine's `publish_ip`.
pub(crate) fn create_body(spec: &ContainerSpec, publish_ip: &str) -> ContainerCreateBody {
    let mut exposed_ports = Vec::new();
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.publish {
        let key = format!("{}/{}", p.container_port, p.proto);
        let binding = PortBinding {
            host_ip: Some(publish_ip.to_string()),
            host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
        };
        if !exposed_ports.contains(&key) {
            exposed_ports.push(key.clone());
        }
        port_bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }

    let labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    let mounts: Vec<Mount> = spec
        .volumes
        .iter()
        .map(|(name, path)| Mount {
            typ: Some(MountType::VOLUME),
            source: Some(name.clone()),
            target: Some(path.clone()),
            // Labels are applied when the daemon creates the volume, so clean-up finds it.
            volume_options: Some(MountVolumeOptions {
                labels: Some(labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let binds: Vec<String> = spec
        .binds
        .iter()
        .map(|(host, container, ro)| {
            let mode = if *ro { ":ro" } else { "" };
            format!("{host}:{container}{mode}")
        })
        .collect();

    let host_config = HostConfig {
        memory: spec.memory.map(|m| m as i64),
        nano_cpus: spec.nano_cpus.map(|n| n as i64),
        pids_limit: spec.pids_limit,
        readonly_rootfs: spec.read_only.then_some(true),
        tmpfs: non_empty(spec.tmpfs.iter().cloned().collect::<HashMap<_, _>>()),
        binds: non_empty_vec(binds),
        mounts: non_empty_vec(mounts),
        port_bindings: non_empty(port_bindings),
        network_mode: spec.network.clone(),
        cap_add: non_empty_vec(spec.cap_add.clone()),
        cap_drop: non_empty_vec(spec.cap_drop.clone()),
        security_opt: spec
            .no_new_privileges
            .then(|| vec!["no-new-privileges".to_string()]),
        init: spec.init.then_some(true),
        extra_hosts: non_empty_vec(
            spec.extra_hosts
                .iter()
                .map(|(name, addr)| format!("{name}:{addr}"))
                .collect(),
        ),
        ..Default::default()
    };

    let networking_config = spec.network.as_ref().map(|net| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            net.clone(),
            EndpointSettings {
                aliases: non_empty_vec(spec.network_aliases.clone()),
                ..Default::default()
            },
        )])),
    });

    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.cmd.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: non_empty_vec(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        user: spec.user.clone(),
        working_dir: spec.workdir.clone(),
        labels: non_empty(labels),
        exposed_ports: non_empty_vec(exposed_ports),
        stop_signal: spec.stop_signal.clone(),
        healthcheck: health_config(&spec.health),
        open_stdin: spec.stdin.then_some(true),
        stdin_once: spec.stdin.then_some(true),
        attach_stdin: spec.stdin.then_some(true),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

/// The health check overrides: `NONE` disables it; otherwise only what is given is set (the
/// daemon keeps the image's test and the rest).
fn health_config(h: &HealthOverride) -> Option<HealthConfig> {
    let nanos =
        |d: Option<std::time::Duration>| d.map(|d| d.as_nanos().min(i64::MAX as u128) as i64);
    if h.disable {
        return Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    }
    if *h == HealthOverride::default() {
        return None;
    }
    Some(HealthConfig {
        interval: nanos(h.interval),
        timeout: nanos(h.timeout),
        retries: h.retries.map(i64::from),
        start_period: nanos(h.start_period),
        ..Default::default()
    })
}

fn non_empty<K, V>(m: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

fn non_empty_vec<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::super::types::{PortSpec, Proto};
    use super::*;
    use std::time::Duration;

    #[test]
    fn publishes_on_loopback_only() {
        let spec = ContainerSpec {
            image: "img".into(),
            publish: vec![
                PortSpec {
                    container_port: 8000,
                    proto: Proto::Tcp,
                    host_port: None,
                },
                PortSpec {
                    container_port: 53,
                    proto: Proto::Udp,
                    host_port: Some(5353),
                },
            ],
            ..Default::default()
        };
        let body = create_body(&spec, "127.0.0.1");
        let ports = body.host_config.unwrap().port_bindings.unwrap();
        let b = &ports["8000/tcp"].as_ref().unwrap()[0];
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b.host_port.as_deref(), Some(""));
        let b = &ports["53/udp"].as_ref().unwrap()[0];
        assert_eq!(b.host_port.as_deref(), Some("5353"));
        let mut exposed = body.exposed_ports.unwrap();
        exposed.sort();
        assert_eq!(exposed, vec!["53/udp", "8000/tcp"]);
    }

    #[test]
    fn maps_hardening_and_mounts() {
        let spec = ContainerSpec {
            image: "img".into(),
            env: vec![("A".into(), "1".into())],
            labels: [("dspec.run".to_string(), "r1".to_string())].into(),
            read_only: true,
            no_new_privileges: true,
            init: true,
            cap_drop: vec!["ALL".into()],
            tmpfs: vec![("/tmp".into(), "size=1m".into())],
            binds: vec![("/h".into(), "/c".into(), true)],
            volumes: vec![("data".into(), "/data".into())],
            network: Some("net1".into()),
            network_aliases: vec!["db".into()],
            health: HealthOverride {
                interval: Some(Duration::from_millis(100)),
                ..HealthOverride::default()
            },
            ..Default::default()
        };
        let body = create_body(&spec, "127.0.0.1");
        assert_eq!(body.env, Some(vec!["A=1".to_string()]));
        assert_eq!(body.healthcheck.unwrap().interval, Some(100_000_000));
        let hc = body.host_config.unwrap();
        assert_eq!(hc.readonly_rootfs, Some(true));
        assert_eq!(hc.init, Some(true));
        assert_eq!(hc.security_opt, Some(vec!["no-new-privileges".to_string()]));
        assert_eq!(hc.binds, Some(vec!["/h:/c:ro".to_string()]));
        assert_eq!(hc.network_mode.as_deref(), Some("net1"));
        let mount = &hc.mounts.unwrap()[0];
        assert_eq!(mount.source.as_deref(), Some("data"));
        let vol_labels = mount
            .volume_options
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        assert_eq!(vol_labels["dspec.run"], "r1");
        let eps = body.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(eps["net1"].aliases, Some(vec!["db".to_string()]));
    }
}
