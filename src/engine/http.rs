//! A small HTTP/1.0 client for probing published ports on 127.0.0.1 (no
//! extra crates: one request, `Connection: close`, body read to the end).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP exchange.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub duration: Duration,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `method path` to `host:port` and reads the whole answer.
pub async fn request(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Response, String> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let body = body.unwrap_or("");
        let authority = authority(host, port);
        let mut req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: dspec\r\nAccept: */*\r\nConnection: close\r\n"
        );
        if method != "GET" || !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("reading the response: {e}"))?;
        Ok::<Vec<u8>, String>(raw)
    };
    let raw = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no response within {}s", timeout.as_secs_f64()))??;
    let mut r = parse(&raw)?;
    r.duration = started.elapsed();
    Ok(r)
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    if raw.is_empty() {
        return Err("the connection closed without a response (is the process listening?)".into());
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .ok_or("the response has no header end")?;
    let head = String::from_utf8_lossy(&raw[..split.0]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split.1..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
        duration: Duration::ZERO,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..i])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        let end = (start + size).min(b.len());
        out.extend_from_slice(&b[start..end]);
        b = &b[(end + 2).min(b.len())..];
    }
    out
}

/// `host:port`, with an IPv6 address in brackets: what follows `http://` and goes in `Host:`.
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether `/proc/PID` on this machine is a process of the container `id`: its cgroup path
/// names the container (`/docker/ID` or `docker-ID.scope`, cgroup v1 and v2). False for a
/// remote engine, whose PIDs mean nothing here, or when `/proc` is not the engine's.
pub fn is_process_of(pid: i64, id: &str) -> bool {
    pid > 0
        && id.len() >= 12
        && std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(id))
}

/// Whether a process in the container's network namespace listens on TCP
/// `port` (IPv4 or IPv6), read from the host's `/proc/PID/net/tcp{,6}`.
/// None when those files cannot be read (a remote or rootless engine).
pub fn listening_in_namespace(pid: i64, port: u16) -> Option<bool> {
    if pid <= 0 {
        return Some(false);
    }
    let mut readable = false;
    for file in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 || cols[3] != "0A" {
                continue; // 0A = LISTEN
            }
            let local_port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                return Some(true);
            }
        }
    }
    readable.then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_headers_and_body() {
        let r =
            parse(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":\"ok\"}")
                .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.body, "{\"status\":\"ok\"}");
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, "abcde");
        assert!(parse(b"").is_err());
    }

    #[test]
    fn reads_listening_sockets_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i64;
        assert_eq!(listening_in_namespace(me, port), Some(true));
        drop(l);
        assert_eq!(listening_in_namespace(me, port), Some(false));
        // This process is no container's.
        assert!(!is_process_of(me, &"0".repeat(64)));
        assert!(!is_process_of(me, ""));
    }
}
