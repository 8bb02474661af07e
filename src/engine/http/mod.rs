//! dspec's HTTP client: HTTP/1.1 on hyper, TLS on rustls (ring), for requests to the ports a
//! run published. Bodies are read up to [`BODY_LIMIT`] and the bound is reported, never
//! silently cut; text is decoded by the response's charset; redirects are followed (and
//! counted) on request; every exchange is bounded by its timeout.
//!
//! - `client`: one exchange (connect, TLS, send, read), and the redirect loop.
//! - `text`: charset-aware decoding of bodies.
//! - `cert`: the few facts of a server certificate dspec exposes (subject, issuer, expiry).
//! - the Prometheus text exposition format and its selectors are [`crate::prometheus`].

mod cert;
mod client;
mod text;

use std::path::PathBuf;
use std::time::Duration;

pub use cert::CertInfo;
pub use client::send;

/// The most of a body dspec reads: 16 MiB.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Redirects followed at most.
pub const MAX_REDIRECTS: u32 = 10;
/// The timeout of a request that names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// One request, as the settings of a `request` subject (or an inline `api.get(...)`) make it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`...: upper case.
    pub method: String,
    pub host: String,
    pub port: u16,
    /// The path as written, with its own query if any: `/api/items?x=1`.
    pub path: String,
    /// `query K = V`: appended to the path's query, percent-encoded.
    pub query: Vec<(String, String)>,
    /// Headers as written (names keep their case on the wire).
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub https: bool,
    /// Accept any server certificate.
    pub insecure: bool,
    /// PEM files of the certificates to trust.
    pub cacert: Option<PathBuf>,
    pub follow_redirects: bool,
    pub timeout: Duration,
}

impl Request {
    /// A plain request to `host:port`: no headers, no body, the default timeout.
    pub fn new(method: &str, host: &str, port: u16, path: &str) -> Request {
        Request {
            method: method.to_ascii_uppercase(),
            host: host.to_string(),
            port,
            path: path.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            https: false,
            insecure: false,
            cacert: None,
            follow_redirects: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The URL it goes to (before redirects): `http://127.0.0.1:32768/api?q=1`.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        let mut path = if self.path.starts_with('/') {
            self.path.clone()
        } else {
            format!("/{}", self.path)
        };
        for (i, (k, v)) in self.query.iter().enumerate() {
            let sep = if i == 0 && !path.contains('?') {
                '?'
            } else {
                '&'
            };
            path.push(sep);
            path.push_str(&percent_encode(k));
            path.push('=');
            path.push_str(&percent_encode(v));
        }
        format!("{scheme}://{}{path}", authority(&self.host, self.port))
    }
}

/// One HTTP exchange: the last response when redirects were followed.
#[derive(Clone, Debug)]
pub struct Response {
    pub method: String,
    /// Where the last response came from.
    pub url: String,
    pub status: u16,
    /// `HTTP/1.1`, `HTTP/1.0`.
    pub version: String,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as received (at most [`BODY_LIMIT`] bytes).
    pub bytes: Vec<u8>,
    /// The body decoded by its charset (UTF-8 unless the Content-Type says otherwise).
    pub body: String,
    /// From sending the (first) request to the last byte of the (last) body.
    pub duration: Duration,
    /// Redirects followed.
    pub redirects: u32,
    /// The server certificate of an `https` exchange.
    pub cert: Option<CertInfo>,
}

impl Response {
    /// Every value of a header, joined by `, ` as HTTP allows (set-cookie by newlines).
    pub fn header_joined(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            return None;
        }
        let sep = if name.eq_ignore_ascii_case("set-cookie") {
            "\n"
        } else {
            ", "
        };
        Some(values.join(sep))
    }

    /// The distinct header names, lower-cased, in the order received.
    pub fn header_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, _) in &self.headers {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }

    /// What a failure shows of the response: the request line, the status, the headers and
    /// the start of the body (the caller masks secrets).
    pub fn summary(&self, body_chars: usize) -> String {
        let mut out = format!(
            "{} {} -> {} {}",
            self.method, self.url, self.version, self.status
        );
        if self.redirects > 0 {
            out.push_str(&format!(
                " (after {} redirect{})",
                self.redirects,
                if self.redirects == 1 { "" } else { "s" }
            ));
        }
        for (k, v) in self.headers.iter().take(20) {
            out.push_str(&format!("\n  {k}: {v}"));
        }
        let excerpt = excerpt(&self.body, body_chars);
        if !excerpt.is_empty() {
            out.push_str(&format!("\n  body ({} bytes): {excerpt}", self.bytes.len()));
        }
        out
    }
}

/// The start of a body on one line: at most `chars` characters, control characters escaped.
pub fn excerpt(body: &str, chars: usize) -> String {
    let mut out = String::new();
    for (i, c) in body.chars().enumerate() {
        if i == chars {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
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

/// Percent-encodes a query key or value (unreserved characters stay).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `application/x-www-form-urlencoded` of `form K = V` pairs.
pub fn form_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Base64 (standard alphabet, padded): for `basic_auth`.
pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests;
