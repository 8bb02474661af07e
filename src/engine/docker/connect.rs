//! Connecting to the daemon: the endpoint (see [`super::endpoint`]), plain or over TLS, version
//! negotiation and a fast reachability check.

use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use super::bollard_impl::Engine;
use super::endpoint::{Endpoint, has_port, process_env};
use super::errmap::{Subject, map_err};
use super::error::EngineError;
use super::types::Versions;

pub use super::endpoint::DEFAULT_HOST;

/// Lowest daemon API this layer supports (one-shot stats and the create `platform` need it).
pub const MIN_API_VERSION: (u32, u32) = (1, 41);

/// How long the first contact with the daemon may take before it counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Limit for receiving the response headers of one API call (streamed bodies — build output,
/// events, logs — are not limited by it). `stop` and `restart` raise it by their own timeout.
/// An engine that has not begun to answer a call in this time counts as lost.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the daemon listens, as parsed from `DOCKER_HOST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAddr {
    /// A Unix socket path.
    Unix(String),
    /// `host:port` (plain HTTP, or TLS when the endpoint has certificates).
    Tcp(String),
}

/// Parses a `DOCKER_HOST` value: `unix:///path` or `tcp://host[:port]` (port 2375 by default).
/// The error is a reason for [`EngineError::Unreachable`].
pub fn parse_docker_host(value: &str) -> Result<DaemonAddr, String> {
    let value = value.trim();
    if let Some(path) = value.strip_prefix("unix://") {
        if path.is_empty() {
            return Err("empty socket path".to_string());
        }
        return Ok(DaemonAddr::Unix(path.to_string()));
    }
    if let Some(addr) = value
        .strip_prefix("tcp://")
        .or_else(|| value.strip_prefix("http://"))
    {
        let addr = addr.trim_end_matches('/');
        if addr.is_empty() {
            return Err(format!("expected tcp://HOST[:PORT], got {value}"));
        }
        // Like the docker CLI, a missing port means 2375 (plain HTTP).
        if !has_port(addr) {
            return Ok(DaemonAddr::Tcp(format!("{addr}:2375")));
        }
        return Ok(DaemonAddr::Tcp(addr.to_string()));
    }
    Err(format!(
        "unsupported DOCKER_HOST {value:?} (only unix:// and tcp:// are supported)"
    ))
}

/// Connects to the engine that `context` (the `--context` flag), `DOCKER_HOST`,
/// `DOCKER_CONTEXT` or the docker CLI's current context name, as the docker CLI would.
///
/// Fails within about [`CONNECT_TIMEOUT`] with [`EngineError::Unreachable`] when no daemon
/// answers, and with [`EngineError::ApiTooOld`] when its API is older than 1.41.
pub async fn connect(context: Option<&str>) -> Result<Engine, EngineError> {
    let endpoint =
        Endpoint::resolve(context, &process_env).map_err(|reason| EngineError::Unreachable {
            host: context
                .map(|c| format!("context \"{c}\""))
                .or_else(|| process_env("DOCKER_HOST"))
                .unwrap_or_else(|| DEFAULT_HOST.to_string()),
            reason,
        })?;
    connect_endpoint(endpoint).await
}

/// Like [`connect`], with an explicit address in `DOCKER_HOST` syntax (no TLS).
pub async fn connect_to(host: &str) -> Result<Engine, EngineError> {
    connect_endpoint(Endpoint::plain(host)).await
}

/// Connects to `endpoint`.
pub async fn connect_endpoint(endpoint: Endpoint) -> Result<Engine, EngineError> {
    let host = endpoint.describe();
    let host = host.as_str();
    let unreachable = |reason: String| EngineError::Unreachable {
        host: host.to_string(),
        reason,
    };
    let (probe_host, publish_ip) = endpoint.addresses(&process_env).map_err(unreachable)?;
    let timeout_secs = REQUEST_TIMEOUT.as_secs();
    let docker = match (
        parse_docker_host(&endpoint.host).map_err(unreachable)?,
        &endpoint.tls,
    ) {
        (DaemonAddr::Unix(path), _) => {
            Docker::connect_with_unix(&path, timeout_secs, API_DEFAULT_VERSION)
        }
        (DaemonAddr::Tcp(addr), None) => {
            Docker::connect_with_http(&addr, timeout_secs, API_DEFAULT_VERSION)
        }
        (DaemonAddr::Tcp(addr), Some(dir)) => Docker::connect_with_ssl(
            &addr,
            &dir.join("key.pem"),
            &dir.join("cert.pem"),
            &dir.join("ca.pem"),
            timeout_secs,
            API_DEFAULT_VERSION,
        ),
    }
    .map_err(|e| map_err(e, host, Subject::Other))?;

    let handshake = async {
        docker.ping().await?;
        // Lowers bollard's client version to the daemon's (cheap: one GET /version).
        let docker = docker.negotiate_version().await?;
        let version = docker.version().await?;
        Ok::<_, bollard::errors::Error>((docker, version))
    };
    let (docker, version) = match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
        Err(_) => {
            return Err(unreachable(format!(
                "no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => {
            return Err(match map_err(e, host, Subject::Other) {
                // Any other failure of the very first calls also means "not a usable daemon".
                EngineError::Api { status, message } => {
                    unreachable(format!("unexpected answer (HTTP {status}): {message}"))
                }
                other => other,
            });
        }
        Ok(Ok(v)) => v,
    };

    let api_version = version.api_version.unwrap_or_default();
    if !api_at_least(&api_version, MIN_API_VERSION) {
        return Err(EngineError::ApiTooOld {
            server: api_version,
            required: format!("{}.{}", MIN_API_VERSION.0, MIN_API_VERSION.1),
        });
    }
    let versions = Versions {
        host: endpoint.host.clone(),
        probe_host,
        publish_ip,
        child_env: endpoint.child_env(),
        command_env: endpoint.command_env(),
        tls: endpoint.tls.is_some(),
        context: endpoint.context.clone(),
        server_version: version.version.unwrap_or_default(),
        api_version,
        min_api_version: version.min_api_version.unwrap_or_default(),
        os: version.os.unwrap_or_default(),
        arch: version.arch.unwrap_or_default(),
    };
    Ok(Engine::new(docker, versions))
}

/// True when `version` (`"1.41"`) is at least `min`.
pub fn api_at_least(version: &str, min: (u32, u32)) -> bool {
    let mut parts = version.trim().splitn(2, '.');
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    match (major, minor) {
        (Some(major), Some(minor)) => (major, minor) >= min,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_host() {
        assert_eq!(
            parse_docker_host("unix:///var/run/docker.sock"),
            Ok(DaemonAddr::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            parse_docker_host("tcp://127.0.0.1:2375"),
            Ok(DaemonAddr::Tcp("127.0.0.1:2375".into()))
        );
        assert_eq!(
            parse_docker_host("http://localhost:2375/"),
            Ok(DaemonAddr::Tcp("localhost:2375".into()))
        );
        assert_eq!(
            parse_docker_host("tcp://localhost"),
            Ok(DaemonAddr::Tcp("localhost:2375".into()))
        );
        assert!(parse_docker_host("tcp://").is_err());
        assert!(parse_docker_host("ssh://me@host").is_err());
        assert!(parse_docker_host("unix://").is_err());
    }

    #[test]
    fn compares_api_versions_numerically() {
        assert!(api_at_least("1.41", (1, 41)));
        assert!(api_at_least("1.100", (1, 41)));
        assert!(api_at_least("2.0", (1, 41)));
        assert!(!api_at_least("1.40", (1, 41)));
        assert!(!api_at_least("1.9", (1, 41)));
        assert!(!api_at_least("", (1, 41)));
    }
}
