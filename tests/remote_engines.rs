//! Remote engines: an engine reached over TLS (`DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`), the
//! same engine through a docker context made by the real docker CLI (`--context`,
//! `DOCKER_CONTEXT`), and what happens with a wrong CA or no TLS at all.
//!
//! The "remote" engine is this machine's own, behind a small TLS proxy that requires client
//! certificates, on a loopback port; the certificates come from `openssl`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`: `ca.pem`,
/// `cert.pem` and `key.pem` are the client's files as the docker CLI expects them.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        run(Command::new("openssl").args(args).current_dir(dir));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=dspec test CA",
            ][..],
            &ec,
            &["-keyout", "ca-key.pem", "-out", "ca.pem"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, key, cert, ext) in [
        (
            "localhost",
            "server-key.pem",
            "server-cert.pem",
            "server.ext",
        ),
        ("dspec client", "key.pem", "cert.pem", "client.ext"),
    ] {
        let subj = format!("/CN={name}");
        openssl(
            &[
                &["req", "-nodes", "-subj", &subj][..],
                &ec,
                &["-keyout", key, "-out", "req.csr"],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            cert,
            "-extfile",
            ext,
        ]);
    }
}

/// `tests/fixtures/tls_proxy.py` terminating TLS (client certificates required) in front of
/// the engine's socket.
struct TlsEngine {
    child: Child,
    port: u16,
}

impl TlsEngine {
    fn start(certs: &Path) -> TlsEngine {
        let socket = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
            .unwrap_or_else(|| "/var/run/docker.sock".to_string());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .arg(root().join("tests/fixtures/tls_proxy.py"))
            .arg(port.to_string())
            .args(["server-cert.pem", "server-key.pem", "ca.pem"].map(|f| certs.join(f)))
            .arg(socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start python3 tests/fixtures/tls_proxy.py: {e}"));
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        assert_eq!(line.trim(), "listening", "the TLS proxy did not start");
        TlsEngine { child, port }
    }

    fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsEngine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `dspec ARGS` with no engine variables but `env`, and an empty docker config dir unless
/// `env` names one.
fn dspec(args: &[&str], env: &[(&str, String)]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dspec"));
    cmd.current_dir(root())
        .args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONFIG")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, all)
}

fn temp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("remote-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn specs_run_on_an_engine_reached_over_tls_and_through_contexts() {
    common::require_docker();
    common::fixtures_dir();
    let certs = temp("certs");
    certificates(&certs);
    let engine = TlsEngine::start(&certs);
    let tls = |host: String| {
        vec![
            ("DOCKER_HOST", host),
            ("DOCKER_TLS_VERIFY", "1".to_string()),
            ("DOCKER_CERT_PATH", certs.display().to_string()),
        ]
    };

    // Containers, HTTP probes, a host command and a Compose stack, all over TLS; ports are
    // published on 127.0.0.2 and probed there.
    let mut env = tls(engine.host());
    env.push(("DSPEC_PUBLISH_IP", "127.0.0.2".to_string()));
    let (out, all) = dspec(
        &[
            "check",
            "-v",
            "--var",
            "probe=127.0.0.2",
            "tests/specs/remote.dspec",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains(&format!(
            "at {} (TLS); ports published on 127.0.0.2, probed at 127.0.0.2",
            engine.host()
        )),
        "{all}"
    );
    assert!(all.contains("7 passed, 0 failed"), "{all}");

    // The same engine as a docker context, made by the docker CLI itself.
    let config = temp("config");
    let c = |f: &str| certs.join(f).display().to_string();
    run(Command::new("docker")
        .arg("--config")
        .arg(&config)
        .args(["context", "create", "dspec-tls", "--docker"])
        .arg(format!(
            "host={},ca={},cert={},key={}",
            engine.host(),
            c("ca.pem"),
            c("cert.pem"),
            c("key.pem")
        )));
    let cfg = ("DOCKER_CONFIG", config.display().to_string());
    // The flag is dspec's own: Compose and the host command are pointed at the engine.
    let (out, all) = dspec(
        &[
            "--context",
            "dspec-tls",
            "check",
            "-v",
            "tests/specs/remote.dspec",
        ],
        std::slice::from_ref(&cfg),
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("7 passed, 0 failed"), "{all}");
    assert!(
        all.contains(&format!(
            "at {} (TLS, context \"dspec-tls\")",
            engine.host()
        )),
        "{all}"
    );
    let with_env = [cfg.clone(), ("DOCKER_CONTEXT", "dspec-tls".to_string())];
    let (out, all) = dspec(&["check", "-v", "examples/hello"], &with_env);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("context \"dspec-tls\""), "{all}");

    // An unknown --context is a usage error (exit 2) naming the contexts there are; an
    // unknown DOCKER_CONTEXT, a wrong CA, and plain HTTP to the TLS port: DS0403, exit 3.
    let (out, all) = dspec(
        &["--context", "nope", "check", "examples/hello"],
        std::slice::from_ref(&cfg),
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("there is no docker context `nope`")
            && all.contains("the contexts are: default, dspec-tls"),
        "{all}"
    );
    let (out, all) = dspec(
        &["check", "examples/hello"],
        &[cfg.clone(), ("DOCKER_CONTEXT", "nope".to_string())],
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("docker context \"nope\" not found (known: default, dspec-tls)"),
        "{all}"
    );
    let other = temp("other-ca");
    certificates(&other);
    let mut env = tls(engine.host());
    env[2].1 = other.display().to_string();
    let (out, all) = dspec(&["check", "examples/hello"], &env);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("error[DS0403]"), "{all}");
    let plain = [("DOCKER_HOST", engine.host())];
    let (out, all) = dspec(&["check", "examples/hello"], &plain);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("error[DS0403]"), "{all}");

    let _ = std::fs::remove_dir_all(certs);
    let _ = std::fs::remove_dir_all(other);
    let _ = std::fs::remove_dir_all(config);
}
