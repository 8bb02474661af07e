//! Which engine to talk to, and how: `--context`, `DOCKER_HOST`, `DOCKER_CONTEXT`, the current
//! context of the docker CLI's config, TLS material (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`,
//! a context's `tls/` folder), and where the engine's published ports are reached from here.
//!
//! The order is the docker CLI's: the `--context` flag, then `DOCKER_HOST`, then
//! `DOCKER_CONTEXT`, then `currentContext` of `config.json`, then the default engine.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// Socket used when no engine is named anywhere.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The engine a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Address in `DOCKER_HOST` syntax: `unix:///path` or `tcp://host:port`.
    pub host: String,
    /// Folder holding `ca.pem`, `cert.pem` and `key.pem` when the engine is spoken to over TLS.
    pub tls: Option<PathBuf>,
    /// The docker context it came from, when one was used.
    pub context: Option<String>,
    /// Chosen by dspec's `--context` flag, which programs dspec starts do not see.
    pub by_flag: bool,
}

/// How a variable is read (the process environment, or a map in tests).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Endpoint {
    /// A plain endpoint for `host`, with no TLS and no context.
    pub fn plain(host: &str) -> Endpoint {
        Endpoint {
            host: host.to_string(),
            tls: None,
            context: None,
            by_flag: false,
        }
    }

    /// Resolves the engine the way the docker CLI does. The error is one line for a user.
    pub fn resolve(context: Option<&str>, env: Env<'_>) -> Result<Endpoint, String> {
        let config = config_dir(env);
        let name = match context {
            Some(c) => Some(c.to_string()),
            None if env("DOCKER_HOST").is_some() => None,
            None => env("DOCKER_CONTEXT").or_else(|| current_context(&config)),
        };
        let endpoint = match name {
            Some(name) if name != "default" => from_context(&config, &name),
            _ => from_env(env, &config),
        };
        endpoint.map(|e| Endpoint {
            by_flag: context.is_some(),
            ..e
        })
    }

    /// A one-line description for messages: `tcp://h:2376 (TLS, context "ci")`.
    pub fn describe(&self) -> String {
        describe(&self.host, self.tls.is_some(), self.context.as_deref())
    }

    /// The engine machine's host name or address as written in a `tcp://` address; `None`
    /// for a Unix socket (the engine is on this machine, or its socket is forwarded here).
    pub fn tcp_host(&self) -> Option<&str> {
        let rest = self
            .host
            .strip_prefix("tcp://")
            .or_else(|| self.host.strip_prefix("http://"))
            .or_else(|| self.host.strip_prefix("https://"))?;
        let rest = rest.trim_end_matches('/');
        if let Some(v6) = rest.strip_prefix('[') {
            return v6.split_once(']').map(|(h, _)| h);
        }
        Some(rest.rsplit_once(':').map_or(rest, |(h, _)| h))
    }

    /// Whether published ports are reached on this machine's loopback: a Unix socket, or a
    /// `tcp://` engine at a loopback address.
    pub fn is_loopback(&self) -> bool {
        match self.tcp_host() {
            None => true,
            Some(h) => {
                h.eq_ignore_ascii_case("localhost")
                    || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
        }
    }

    /// Where ports are published and reached: `(probe host, publish IP)`.
    ///
    /// - A local engine (a Unix socket, or `tcp://` at a loopback address): both `127.0.0.1`.
    /// - A remote engine: ports are published on the engine's own address (so they are
    ///   reachable from here, but not on every interface of its machine), and probed at its
    ///   host as written in its address.
    /// - `DSPEC_PUBLISH_IP` overrides the publish address: `0.0.0.0` for an engine behind NAT
    ///   (probes still go to the engine's host), or a specific address, which probes then use.
    pub fn addresses(&self, env: Env<'_>) -> Result<(String, String), String> {
        let remote = self.tcp_host().filter(|_| !self.is_loopback());
        let probe = remote.unwrap_or("127.0.0.1").to_string();
        if let Some(ip) = env("DSPEC_PUBLISH_IP") {
            let ip = ip
                .parse::<IpAddr>()
                .map_err(|_| format!("DSPEC_PUBLISH_IP={ip:?} is not an IP address"))?;
            let probe = if ip.is_unspecified() {
                probe
            } else {
                ip.to_string()
            };
            return Ok((probe, ip.to_string()));
        }
        let Some(h) = remote else {
            return Ok((probe, "127.0.0.1".to_string()));
        };
        if let Ok(ip) = h.parse::<IpAddr>() {
            return Ok((probe, ip.to_string()));
        }
        let addrs = (h, 0)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve the engine's host {h:?}: {e}"))?;
        let mut addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        // IPv4 first: Docker publishes on it by default.
        addrs.sort_by_key(|ip| ip.is_ipv6());
        let ip = addrs
            .first()
            .ok_or_else(|| format!("the engine's host {h:?} has no address"))?;
        Ok((probe, ip.to_string()))
    }

    /// Variables for host commands: none when they would pick the same engine from the
    /// environment they inherit (so the docker CLI in them behaves exactly as in the user's
    /// shell), the engine's address when it came from dspec's own `--context` flag.
    pub fn command_env(&self) -> Vec<(String, String)> {
        if self.by_flag {
            self.child_env()
        } else {
            Vec::new()
        }
    }

    /// Variables for the Compose tool, so that it reaches this engine whatever it makes of
    /// contexts (docker-compose v1 reads `DOCKER_HOST` and the TLS variables only).
    pub fn child_env(&self) -> Vec<(String, String)> {
        let mut env = vec![("DOCKER_HOST".to_string(), self.host.clone())];
        match &self.tls {
            Some(dir) => {
                env.push(("DOCKER_TLS_VERIFY".into(), "1".into()));
                env.push(("DOCKER_CERT_PATH".into(), dir.display().to_string()));
            }
            None => env.push(("DOCKER_TLS_VERIFY".into(), String::new())),
        }
        env
    }
}

/// `HOST`, `HOST (TLS)`, `HOST (TLS, context "NAME")`.
pub fn describe(host: &str, tls: bool, context: Option<&str>) -> String {
    let mut extra = Vec::new();
    if tls {
        extra.push("TLS".to_string());
    }
    if let Some(c) = context {
        extra.push(format!("context \"{c}\""));
    }
    if extra.is_empty() {
        host.to_string()
    } else {
        format!("{host} ({})", extra.join(", "))
    }
}

/// `DOCKER_CONFIG`, else `~/.docker`.
fn config_dir(env: Env<'_>) -> PathBuf {
    match env("DOCKER_CONFIG") {
        Some(d) => PathBuf::from(d),
        None => env("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".docker"),
    }
}

/// `currentContext` of `config.json`, when set.
fn current_context(config: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config.join("config.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The default engine: `DOCKER_HOST` (or the default socket), over TLS when
/// `DOCKER_TLS_VERIFY` is set, with the certificates of `DOCKER_CERT_PATH` (or `~/.docker`).
fn from_env(env: Env<'_>, config: &Path) -> Result<Endpoint, String> {
    let host = env("DOCKER_HOST").unwrap_or_else(|| DEFAULT_HOST.to_string());
    if env("DOCKER_TLS_VERIFY").is_none() {
        if env("DOCKER_TLS").is_some() {
            return Err(
                "DOCKER_TLS without DOCKER_TLS_VERIFY (TLS without checking the engine's certificate) is not supported: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH".into(),
            );
        }
        return Ok(Endpoint::plain(&host));
    }
    if host.starts_with("unix://") {
        return Ok(Endpoint::plain(&host));
    }
    let dir = env("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| config.to_path_buf());
    check_tls_dir(&dir, "DOCKER_CERT_PATH")?;
    Ok(Endpoint {
        host: with_default_port(&host, 2376),
        tls: Some(dir),
        context: None,
        by_flag: false,
    })
}

/// The endpoint of the context `name`, read from `contexts/meta/*/meta.json` (the folder name
/// is a digest of the name; scanning avoids computing it) and its `contexts/tls/` folder.
fn from_context(config: &Path, name: &str) -> Result<Endpoint, String> {
    let meta_root = config.join("contexts").join("meta");
    let mut known = Vec::new();
    let entries = std::fs::read_dir(&meta_root)
        .into_iter()
        .flatten()
        .flatten();
    for entry in entries {
        let Ok(text) = std::fs::read_to_string(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(meta) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(this) = meta.get("Name").and_then(|n| n.as_str()) else {
            continue;
        };
        if this != name {
            known.push(this.to_string());
            continue;
        }
        let docker = meta.pointer("/Endpoints/docker");
        let host = docker
            .and_then(|d| d.get("Host"))
            .and_then(|h| h.as_str())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("docker context \"{name}\" has no docker endpoint host"))?;
        if docker
            .and_then(|d| d.get("SkipTLSVerify"))
            .and_then(|s| s.as_bool())
            .unwrap_or(false)
        {
            return Err(format!(
                "docker context \"{name}\" skips TLS verification, which dspec does not support: recreate it with the engine's CA (docker context create ... --docker \"host=...,ca=...,cert=...,key=...\")"
            ));
        }
        let tls_dir = config
            .join("contexts")
            .join("tls")
            .join(entry.file_name())
            .join("docker");
        let tls = if tls_dir.join("ca.pem").exists() || tls_dir.join("cert.pem").exists() {
            check_tls_dir(&tls_dir, &format!("docker context \"{name}\""))?;
            Some(tls_dir)
        } else {
            None
        };
        let host = if tls.is_some() {
            with_default_port(host, 2376)
        } else {
            host.to_string()
        };
        return Ok(Endpoint {
            host,
            tls,
            context: Some(name.to_string()),
            by_flag: false,
        });
    }
    known.sort();
    let known = if known.is_empty() {
        format!("no contexts in {}", meta_root.display())
    } else {
        format!("known: default, {}", known.join(", "))
    };
    Err(format!("docker context \"{name}\" not found ({known})"))
}

/// The names of the docker contexts in the docker CLI's config (without `default`), sorted.
pub fn context_names(env: Env<'_>) -> Vec<String> {
    let meta_root = config_dir(env).join("contexts").join("meta");
    let mut names: Vec<String> = std::fs::read_dir(&meta_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("meta.json")).ok()?;
            let meta: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some(meta.get("Name")?.as_str()?.to_string())
        })
        .collect();
    names.sort();
    names
}

/// Fails unless `dir` holds the three files a TLS connection needs.
fn check_tls_dir(dir: &Path, from: &str) -> Result<(), String> {
    let missing: Vec<&str> = ["ca.pem", "cert.pem", "key.pem"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "TLS needs ca.pem, cert.pem and key.pem in {} (from {from}); missing: {}",
            dir.display(),
            missing.join(", ")
        ))
    }
}

/// Whether `host[:port]` (no scheme; `[v6]` or `[v6]:port` for IPv6) names a port.
pub(super) fn has_port(addr: &str) -> bool {
    if let Some(v6) = addr.strip_prefix('[') {
        v6.split_once(']').is_some_and(|(_, p)| p.starts_with(':'))
    } else {
        addr.rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    }
}

/// `tcp://host` → `tcp://host:PORT`; other forms unchanged.
fn with_default_port(host: &str, port: u16) -> String {
    let Some(rest) = host.strip_prefix("tcp://") else {
        return host.to_string();
    };
    let rest = rest.trim_end_matches('/');
    if has_port(rest) {
        host.to_string()
    } else {
        format!("tcp://{rest}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dspec-endpoint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn context(config: &Path, dir: &str, name: &str, host: &str, tls: bool, skip: bool) {
        let meta = config.join("contexts/meta").join(dir);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip}}
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if tls {
            let t = config.join("contexts/tls").join(dir).join("docker");
            std::fs::create_dir_all(&t).unwrap();
            for f in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(t.join(f), "x").unwrap();
            }
        }
    }

    #[test]
    fn default_is_the_socket_and_docker_host_wins_over_contexts() {
        let cfg = temp("order");
        context(&cfg, "aaa", "remote", "tcp://10.1.2.3:2375", false, false);
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        let c = cfg.display().to_string();

        let e = Endpoint::resolve(None, &env_of(&[])).unwrap();
        assert_eq!(e, Endpoint::plain(DEFAULT_HOST));
        // config.json's current context
        let e = Endpoint::resolve(None, &env_of(&[("DOCKER_CONFIG", &c)])).unwrap();
        assert_eq!(e.host, "tcp://10.1.2.3:2375");
        assert_eq!(e.context.as_deref(), Some("remote"));
        // DOCKER_HOST beats DOCKER_CONTEXT and the current context
        let env = env_of(&[
            ("DOCKER_CONFIG", &c),
            ("DOCKER_CONTEXT", "remote"),
            ("DOCKER_HOST", "unix:///tmp/x.sock"),
        ]);
        assert_eq!(
            Endpoint::resolve(None, &env).unwrap().host,
            "unix:///tmp/x.sock"
        );
        assert!(
            Endpoint::resolve(None, &env)
                .unwrap()
                .command_env()
                .is_empty()
        );
        // ...and the flag beats DOCKER_HOST; host commands are told, as they cannot see it
        let e = Endpoint::resolve(Some("remote"), &env).unwrap();
        assert_eq!(e.host, "tcp://10.1.2.3:2375");
        assert_eq!(e.command_env(), e.child_env());
        // "default" is the environment's engine
        let e = Endpoint::resolve(Some("default"), &env).unwrap();
        assert_eq!(e.host, "unix:///tmp/x.sock");
        let _ = std::fs::remove_dir_all(cfg);
    }

    #[test]
    fn contexts_with_tls_and_errors() {
        let cfg = temp("ctx");
        context(&cfg, "d1", "secure", "tcp://build-host", true, false);
        context(&cfg, "d2", "lax", "tcp://h:2376", false, true);
        let c = cfg.display().to_string();
        let env = env_of(&[("DOCKER_CONFIG", &c)]);
        let e = Endpoint::resolve(Some("secure"), &env).unwrap();
        assert_eq!(e.host, "tcp://build-host:2376");
        assert_eq!(e.tls, Some(cfg.join("contexts/tls/d1/docker")));
        assert_eq!(
            e.describe(),
            "tcp://build-host:2376 (TLS, context \"secure\")"
        );
        let err = Endpoint::resolve(Some("lax"), &env).unwrap_err();
        assert!(err.contains("skips TLS verification"), "{err}");
        let err = Endpoint::resolve(Some("nope"), &env).unwrap_err();
        assert_eq!(
            err,
            "docker context \"nope\" not found (known: default, lax, secure)"
        );
        let _ = std::fs::remove_dir_all(cfg);
    }

    #[test]
    fn tls_from_the_environment() {
        let certs = temp("certs");
        let p = certs.display().to_string();
        let env = env_of(&[
            ("DOCKER_HOST", "tcp://10.0.0.5"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", &p),
        ]);
        let err = from_env(&env, &config_dir(&env)).unwrap_err();
        assert!(err.contains("missing: ca.pem, cert.pem, key.pem"), "{err}");
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(certs.join(f), "x").unwrap();
        }
        let e = from_env(&env, &config_dir(&env)).unwrap();
        assert_eq!(e.host, "tcp://10.0.0.5:2376");
        assert_eq!(e.tls.as_deref(), Some(certs.as_path()));
        assert_eq!(
            e.child_env(),
            vec![
                ("DOCKER_HOST".into(), "tcp://10.0.0.5:2376".into()),
                ("DOCKER_TLS_VERIFY".into(), "1".into()),
                ("DOCKER_CERT_PATH".into(), p.clone()),
            ]
        );
        let err = from_env(&env_of(&[("DOCKER_TLS", "1")]), Path::new("/nonexistent")).unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        let _ = std::fs::remove_dir_all(certs);
    }

    #[test]
    fn probes_go_to_the_engine_host_unless_it_is_local() {
        let none = env_of(&[]);
        for (host, probe, publish) in [
            (DEFAULT_HOST, "127.0.0.1", "127.0.0.1"),
            ("tcp://127.0.0.1:2376", "127.0.0.1", "127.0.0.1"),
            ("tcp://localhost:2375", "127.0.0.1", "127.0.0.1"),
            ("tcp://[::1]:2375", "127.0.0.1", "127.0.0.1"),
            ("tcp://10.0.0.5:2376", "10.0.0.5", "10.0.0.5"),
            ("tcp://[fd00::5]:2376", "fd00::5", "fd00::5"),
        ] {
            let e = Endpoint::plain(host);
            let want = (probe.to_string(), publish.to_string());
            assert_eq!(e.addresses(&none).unwrap(), want, "{host}");
        }
        let e = Endpoint::plain("tcp://10.0.0.5:2376");
        let any = env_of(&[("DSPEC_PUBLISH_IP", "0.0.0.0")]);
        let want = ("10.0.0.5".to_string(), "0.0.0.0".to_string());
        assert_eq!(e.addresses(&any).unwrap(), want);
        let local = Endpoint::plain(DEFAULT_HOST);
        let second = env_of(&[("DSPEC_PUBLISH_IP", "127.0.0.2")]);
        let want = ("127.0.0.2".to_string(), "127.0.0.2".to_string());
        assert_eq!(local.addresses(&second).unwrap(), want);
        let bad = env_of(&[("DSPEC_PUBLISH_IP", "everywhere")]);
        assert!(e.addresses(&bad).is_err());
    }

    #[test]
    fn default_ports() {
        assert_eq!(with_default_port("tcp://h", 2376), "tcp://h:2376");
        assert_eq!(with_default_port("tcp://h:1234", 2376), "tcp://h:1234");
        assert_eq!(with_default_port("tcp://[::1]", 2376), "tcp://[::1]:2376");
        assert_eq!(with_default_port("tcp://[::1]:9", 2376), "tcp://[::1]:9");
        assert_eq!(with_default_port("unix:///s", 2376), "unix:///s");
    }
}
