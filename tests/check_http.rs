//! `dspec check` on request subjects against the HTTP fixture service (tests/fixtures/http,
//! FROM scratch): the Hurl-level features hold, and each bad case fails with its reason.

mod common;

use std::process::{Command, Output};

/// The password of `basic_auth ... = secret("QA_PW")`: never shown.
const PASSWORD: &str = "qa-pass";

fn check(spec: &str, password: &str, extra: &[&str]) -> (Output, String) {
    let mut args = vec![spec];
    args.extend_from_slice(extra);
    common::dspec_check(&args, &[("QA_PW", password)], &[])
}

use common::failure_block as block;

#[test]
fn an_api_at_hurls_level_passes() {
    let (out, all) = check("tests/specs/http.dspec", PASSWORD, &[]);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("28 passed, 0 failed"), "{all}");
    assert!(!all.contains(PASSWORD) || all.contains("let pw"), "{all}");
}

#[test]
fn bad_exchanges_fail_with_their_reason_and_the_last_response() {
    let pw = "never-shown-pw-7";
    let dir = std::env::temp_dir().join(format!("dspec-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("r.xml");
    let json = dir.join("r.json");
    let md = dir.join("r.md");
    let (out, all) = check(
        "tests/specs/http_fail.dspec",
        pw,
        &[
            "--report",
            &format!("junit:{}", junit.display()),
            "--report",
            &format!("json:{}", json.display()),
            "--report",
            &format!("markdown:{}", md.display()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("0 passed, 14 failed"), "{all}");
    let at = |line: u32| block(&all, &format!("http_fail.dspec:{line}:8"));
    // Connection accepted by the engine's proxy, nothing listening behind it.
    assert!(at(31).contains("closed without a response"), "{}", at(31));
    assert!(at(32).contains("no response within 1s"), "{}", at(32));
    assert!(
        at(33).contains("the body did not end within 1s"),
        "{}",
        at(33)
    );
    assert!(at(34).contains("larger than 16 MiB"), "{}", at(34));
    assert!(at(35).contains("not JSON"), "{}", at(35));
    assert!(
        at(36).contains("metrics present: http_requests_total, process_resident_memory_bytes"),
        "{}",
        at(36)
    );
    assert!(at(37).contains("line 2 of the body"), "{}", at(37));
    // A capture from a request that did not give the value: the dependent fails with it.
    assert!(
        at(38).contains("`${login.json.token}` has no value") && at(38).contains("answered 401"),
        "{}",
        at(38)
    );
    // The last response is shown: method, URL, status, headers.
    assert!(at(39).contains("actual: 401"), "{}", at(39));
    assert!(
        at(39).contains("last response: PUT http://127.0.0.1:")
            && at(39).contains("www-authenticate: Basic"),
        "{}",
        at(39)
    );
    assert!(at(40).contains("more than 10 redirects"), "{}", at(40));
    assert!(at(41).contains("does the port speak TLS?"), "{}", at(41));
    assert!(at(42).contains("samples taken"), "{}", at(42));
    // The echoed Authorization header is masked: neither the password nor its base64.
    assert!(at(43).contains("authorization: Basic ***"), "{}", at(43));
    // An inline form shows its last response too.
    assert!(
        at(44).contains("last response: GET http://127.0.0.1:")
            && at(44).contains("www-authenticate: Bearer"),
        "{}",
        at(44)
    );
    let b64 = "cWE6bmV2ZXItc2hvd24tcHctNw=="; // qa:never-shown-pw-7
    for (name, text) in [
        ("console", all.clone()),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
        ("json", std::fs::read_to_string(&json).unwrap()),
        ("markdown", std::fs::read_to_string(&md).unwrap()),
    ] {
        assert!(
            !text.contains(pw) && !text.contains(b64),
            "{name} leaked the secret:\n{text}"
        );
        assert!(
            text.contains("PUT http://127.0.0.1:") && text.contains("401"),
            "{name} lacks the failed request:\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// TLS end to end: the host's `openssl s_server` (copied with its libraries into a FROM
/// scratch image) serves a self-signed certificate made now; `insecure` and `cacert` pass and
/// read the certificate, no trust fails saying how to trust it, plain HTTP to it fails.
#[test]
fn https_against_a_self_signed_server_in_a_container() {
    common::require_docker();
    let dir = std::env::temp_dir().join(format!("dspec-http-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"set -e
openssl="$(command -v openssl)"
for f in "$openssl" $(ldd "$openssl" | grep -o '/[^ ]*'); do
  mkdir -p "root$(dirname "$f")"; cp -L "$f" "root$f"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 40 \
  -subj "/CN=localhost/O=dspec tests" -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout root/key.pem -out root/cert.pem 2>/dev/null
cp root/cert.pem ca.pem
cat > Dockerfile <<'EOF2'
FROM scratch
COPY root/ /
EXPOSE 8443
HEALTHCHECK --interval=1s --timeout=2s --retries=5 CMD ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:8443", "-brief"]
ENTRYPOINT ["/usr/bin/openssl", "s_server", "-quiet", "-accept", "8443", "-cert", "/cert.pem", "-key", "/key.pem", "-www"]
EOF2
"#;
    let made = Command::new("bash")
        .args(["-c", script])
        .current_dir(&dir)
        .output()
        .expect("bash");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::write(
        dir.join("tls.dspec"),
        r#"image tls = build "."
container srv = run tls {
  publish 8443
  health_interval 200ms
}

request secure = srv.get("/") {
  https
  insecure
}
request pinned = srv.port(8443).get("/") {
  https
  cacert "ca.pem"
}
request untrusted = srv.get("/") { https }
request plain = srv.get("/") { timeout 2s }

expect secure.status == 200
expect secure.url matches /^https:\/\/127\.0\.0\.1:\d+\/$/
expect secure.cert.subject == "CN=localhost, O=dspec tests"
expect secure.cert.issuer == "CN=localhost, O=dspec tests"
expect secure.cert.days_left > 30
expect secure.cert.days_left < 41
expect pinned.status == 200
expect untrusted.status == 200
expect plain.status == 200
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dspec"))
        .args(["check", "--color", "never", "tls.dspec"])
        .current_dir(&dir)
        .output()
        .expect("runs dspec");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("7 passed, 2 failed"), "{all}");
    let untrusted = block(&all, "tls.dspec:25:8");
    assert!(
        untrusted.contains("not trusted") && untrusted.contains("cacert"),
        "{untrusted}"
    );
    let plain = block(&all, "tls.dspec:26:8");
    assert!(
        plain.contains("closed without a response") || plain.contains("not HTTP"),
        "{plain}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
