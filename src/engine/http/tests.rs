//! The client against servers in this process (no Docker): the good cases and the bad ones.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Reads one request: its head and its body (by Content-Length).
async fn read_request(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap_or(0))
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A server answering every request with what `answer` makes of it.
async fn serve(answer: fn(&str) -> Vec<u8>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let req = read_request(&mut s).await;
                let _ = s.write_all(&answer(&req)).await;
                let _ = s.shutdown().await;
            });
        }
    });
    port
}

fn ok(body: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn req(port: u16, method: &str, path: &str) -> Request {
    let mut r = Request::new(method, "127.0.0.1", port, path);
    r.timeout = Duration::from_secs(2);
    r
}

#[tokio::test]
async fn sends_method_headers_query_and_body() {
    // The server echoes the request it got as the body.
    let port = serve(|r| {
        ok(
            r,
            "Content-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: session=x\r\n",
        )
    })
    .await;
    let mut r = req(port, "put", "/api/items/1");
    r.query = vec![("q".into(), "a chair".into()), ("limit".into(), "5".into())];
    r.headers = vec![("X-Trace".into(), "t1".into())];
    r.body = Some(b"{\"name\":\"stool\"}".to_vec());
    let resp = send(&r).await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.version, "HTTP/1.1");
    assert!(
        resp.body
            .starts_with("PUT /api/items/1?q=a%20chair&limit=5 HTTP/1.1\r\n"),
        "{}",
        resp.body
    );
    let lower = resp.body.to_lowercase();
    assert!(lower.contains("x-trace: t1"), "{}", resp.body);
    assert!(
        lower.contains(&format!("host: 127.0.0.1:{port}")),
        "{}",
        resp.body
    );
    assert!(lower.contains("content-length: 16"), "{}", resp.body);
    assert!(resp.body.ends_with("{\"name\":\"stool\"}"));
    assert_eq!(
        resp.header_joined("CONTENT-TYPE").as_deref(),
        Some("text/plain")
    );
    assert_eq!(resp.header_joined("set-cookie").unwrap(), "a=1\nsession=x");
    assert_eq!(
        resp.header_names(),
        vec!["content-length", "content-type", "set-cookie"]
    );
    assert_eq!(
        resp.url,
        format!("http://127.0.0.1:{port}/api/items/1?q=a%20chair&limit=5")
    );
    assert!(resp.summary(40).contains("PUT http://127.0.0.1"));
}

#[tokio::test]
async fn reads_chunked_bodies_and_decodes_their_charset() {
    let port = serve(|_| {
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n3\r\ncaf\r\n1\r\n\xe9\r\n0\r\n\r\n".to_vec()
    })
    .await;
    let resp = send(&req(port, "GET", "/")).await.unwrap();
    assert_eq!(resp.body, "café");
    assert_eq!(resp.bytes, b"caf\xe9");
}

#[tokio::test]
async fn follows_redirects_and_counts_them() {
    let port = serve(|r| {
        if r.starts_with("POST /login") {
            b"HTTP/1.1 302 Found\r\nLocation: /step\r\nContent-Length: 0\r\n\r\n".to_vec()
        } else if r.starts_with("GET /step") {
            b"HTTP/1.1 301 Moved\r\nLocation: dashboard\r\nContent-Length: 0\r\n\r\n".to_vec()
        } else if r.starts_with("GET /dashboard") {
            ok("dash", "")
        } else {
            b"HTTP/1.1 307 Again\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
    })
    .await;
    let mut r = req(port, "POST", "/login");
    r.body = Some(b"x".to_vec());
    let plain = send(&r).await.unwrap();
    assert_eq!((plain.status, plain.redirects), (302, 0));
    r.follow_redirects = true;
    let resp = send(&r).await.unwrap();
    assert_eq!((resp.status, resp.redirects), (200, 2));
    assert_eq!(resp.body, "dash");
    assert!(resp.url.ends_with("/dashboard"), "{}", resp.url);
    let mut looping = req(port, "GET", "/loop");
    looping.follow_redirects = true;
    let e = send(&looping).await.unwrap_err();
    assert!(e.contains("more than 10 redirects"), "{e}");
    assert_eq!(
        client::join_for_test("http://h:1/a/b?x", "c").unwrap(),
        "http://h:1/a/c"
    );
    assert_eq!(
        client::join_for_test("http://h:1/a", "https://o:2/z").unwrap(),
        "https://o:2/z"
    );
}

#[tokio::test]
async fn connection_refused_is_said() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let e = send(&req(port, "GET", "/")).await.unwrap_err();
    assert!(e.contains("cannot connect to 127.0.0.1"), "{e}");
    assert!(e.starts_with("GET http://127.0.0.1"), "{e}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let mut r = req(port, "GET", "/");
    r.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let e = send(&r).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(e.contains("no response within 300ms"), "{e}");
}

#[tokio::test]
async fn a_trickling_body_times_out_saying_how_much_came() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                read_request(&mut s).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    .await;
                for _ in 0..100 {
                    if s.write_all(b"x").await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
    });
    let mut r = req(port, "GET", "/");
    r.timeout = Duration::from_millis(400);
    let e = send(&r).await.unwrap_err();
    assert!(e.contains("the body did not end within 400ms"), "{e}");
    assert!(e.contains("status 200"), "{e}");
}

#[tokio::test]
async fn an_oversize_body_fails_naming_the_bound() {
    let port = serve(|_| {
        let mut v = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            BODY_LIMIT + 10
        )
        .into_bytes();
        v.resize(v.len() + BODY_LIMIT + 10, b'a');
        v
    })
    .await;
    let mut r = req(port, "GET", "/");
    r.timeout = Duration::from_secs(20);
    let e = send(&r).await.unwrap_err();
    assert!(e.contains("larger than 16 MiB"), "{e}");
}

#[tokio::test]
async fn a_closed_connection_and_garbage_are_said() {
    let port = serve(|_| Vec::new()).await;
    let e = send(&req(port, "GET", "/")).await.unwrap_err();
    assert!(e.contains("closed without a response"), "{e}");
    let port = serve(|_| b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()).await;
    let e = send(&req(port, "GET", "/")).await.unwrap_err();
    assert!(e.contains("not HTTP"), "{e}");
}

#[test]
fn encodes() {
    assert_eq!(base64(b"qa:qa-pass"), "cWE6cWEtcGFzcw==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(form_encode(&[("a b".into(), "c&d".into())]), "a%20b=c%26d");
    assert_eq!(excerpt("a\nb", 10), "a\\nb");
    assert_eq!(excerpt("abcdef", 3), "abc…");
}

/// A self-signed certificate for 127.0.0.1 and localhost, made by openssl now.
fn self_signed(dir: &std::path::Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-days",
            "40",
            "-subj",
            "/CN=localhost/O=dspec tests",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?
        .status
        .success();
    ok.then_some((cert, key))
}

#[tokio::test]
async fn https_with_insecure_cacert_and_without() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::env::temp_dir().join(format!("dspec-http-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = self_signed(&dir).expect("openssl makes a certificate");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls.write_all(&ok("secure", "")).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let mut r = req(port, "GET", "/health");
    r.https = true;
    let e = send(&r).await.unwrap_err();
    assert!(e.contains("not trusted") && e.contains("insecure"), "{e}");
    r.insecure = true;
    let resp = send(&r).await.unwrap();
    assert_eq!(resp.body, "secure");
    let c = resp.cert.clone().unwrap();
    assert_eq!(c.subject, "CN=localhost, O=dspec tests");
    assert_eq!(c.issuer, c.subject);
    assert!((39..=40).contains(&c.days_left()), "{}", c.days_left());
    assert!(resp.url.starts_with("https://"));
    r.insecure = false;
    r.cacert = Some(cert.clone());
    assert_eq!(send(&r).await.unwrap().status, 200);
    // Plain HTTP to the TLS port, and TLS to a plain port.
    let plain = req(port, "GET", "/");
    assert!(send(&plain).await.is_err());
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(&ok("x", "")).await;
        }
    });
    let mut wrong = req(http_port, "GET", "/");
    wrong.https = true;
    wrong.insecure = true;
    let e = send(&wrong).await.unwrap_err();
    assert!(
        e.contains("TLS handshake") && e.contains("speak TLS"),
        "{e}"
    );
    let mut silent = req(port, "GET", "/");
    silent.https = true;
    silent.insecure = true;
    silent.port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        });
        p
    };
    silent.timeout = Duration::from_millis(300);
    let e = send(&silent).await.unwrap_err();
    assert!(e.contains("no TLS handshake within 300ms"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
