//! Connection failures, and a fake daemon on loopback for API-version handling.

use std::time::{Duration, Instant};

use dspec::engine::docker::{DockerApi, EngineError, connect_to};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub async fn unreachable_unix() {
    let t = Instant::now();
    let err = connect_to("unix:///nonexistent.sock").await.unwrap_err();
    let elapsed = t.elapsed();
    println!("  {err} ({} ms)", elapsed.as_millis());
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
    assert!(elapsed < Duration::from_secs(5));
}

pub async fn unreachable_tcp() {
    let t = Instant::now();
    let err = connect_to("tcp://127.0.0.1:1").await.unwrap_err();
    let elapsed = t.elapsed();
    println!("  {err} ({} ms)", elapsed.as_millis());
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
    assert!(elapsed < Duration::from_secs(5));
}

/// A loopback listener that accepts connections and never answers.
pub async fn unreachable_silent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let t = Instant::now();
    let err = connect_to(&format!("tcp://{addr}")).await.unwrap_err();
    let elapsed = t.elapsed();
    holder.abort();
    println!("  {err} ({} ms)", elapsed.as_millis());
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
    assert!(elapsed < Duration::from_millis(5500), "{elapsed:?}");
}

/// A tiny HTTP server on loopback answering `/_ping` and `/version` like a daemon would.
pub async fn fake_daemon(
    api_version: &'static str,
    ping_status: u16,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let (status, body) = if path.ends_with("/_ping") {
                    (ping_status, "OK".to_string())
                } else if path.ends_with("/version") {
                    (
                        200,
                        format!(
                            r#"{{"Version":"19.03.0-fake","ApiVersion":"{api_version}","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}}"#
                        ),
                    )
                } else if let Some(rest) = path.split("/containers/").nth(1) {
                    let name = rest.split('/').next().unwrap_or("");
                    (404, format!(r#"{{"message":"No such container: {name}"}}"#))
                } else {
                    (404, r#"{"message":"No such image: x"}"#.to_string())
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("tcp://{addr}"), handle)
}

pub async fn fake_daemon_versions_and_errors() {
    let (host, server) = fake_daemon("1.41", 200).await;
    let engine = connect_to(&host).await.unwrap();
    let v = engine.versions();
    assert_eq!(
        (v.server_version.as_str(), v.api_version.as_str()),
        ("19.03.0-fake", "1.41")
    );
    assert_eq!(v.host, host);
    // Any 404 from this "daemon" is about the object asked for.
    let err = engine.inspect_container("c1").await.unwrap_err();
    assert!(
        matches!(err, EngineError::ContainerNotFound { .. }),
        "{err:?}"
    );
    assert_eq!(engine.inspect_image("i1").await.unwrap(), None);
    server.abort();

    let (host, server) = fake_daemon("1.41", 500).await;
    let err = connect_to(&host).await.unwrap_err();
    println!("  {err}");
    assert!(matches!(err, EngineError::Unreachable { .. }), "{err:?}");
    server.abort();
}

pub async fn fake_daemon_api_too_old() {
    let (host, server) = fake_daemon("1.40", 200).await;
    let err = connect_to(&host).await.unwrap_err();
    println!("  {err}");
    assert!(
        matches!(&err, EngineError::ApiTooOld { server, required } if server == "1.40" && required == "1.41"),
        "{err:?}"
    );
    server.abort();
}
