//! One request, its redirects, and the exchanges they make: a fresh HTTP/1.1 connection
//! each (the requests of a spec are few; a connection pool would only hide a server that
//! closes connections early).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use super::{BODY_LIMIT, CertInfo, MAX_REDIRECTS, Request, Response, authority, cert, text};

/// Where an exchange goes.
#[derive(Clone, Debug, PartialEq)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// Path and query: `/a?b=c`.
    path: String,
}

impl Target {
    fn of(req: &Request) -> Result<Target, String> {
        parse_absolute(&req.url()).ok_or_else(|| format!("not a URL: {}", req.url()))
    }

    fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!(
            "{scheme}://{}{}",
            authority(&self.host, self.port),
            self.path
        )
    }

    /// The target a `Location` names, relative to this one.
    fn join(&self, location: &str) -> Option<Target> {
        if location.starts_with("http://") || location.starts_with("https://") {
            return parse_absolute(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            let scheme = if self.https { "https://" } else { "http://" };
            return parse_absolute(&format!("{scheme}{rest}"));
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Some(Target {
            path,
            ..self.clone()
        })
    }
}

fn parse_absolute(url: &str) -> Option<Target> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let (auth, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let default_port = if https { 443 } else { 80 };
    let (host, port) = if let Some(v6) = auth.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        (h.to_string(), port)
    } else {
        match auth.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (auth.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(Target {
        https,
        host,
        port,
        path,
    })
}

/// How far an exchange got, for the message of a timeout.
#[derive(Default)]
struct Progress {
    /// 0 connecting, 3 in the TLS handshake, 1 waiting for the response, 2 reading the body.
    phase: AtomicU64,
    status: AtomicU64,
    bytes: AtomicU64,
}

/// Sends `req` (following redirects when it asks to) within its timeout.
pub async fn send(req: &Request) -> Result<Response, String> {
    let progress = Arc::new(Progress::default());
    let started = Instant::now();
    let what = format!("{} {}", req.method, req.url());
    match tokio::time::timeout(req.timeout, exchanges(req, started, &progress)).await {
        Ok(r) => r.map_err(|e| format!("{what}: {e}")),
        Err(_) => {
            let after = super::super::actual::format_duration(req.timeout);
            Err(match progress.phase.load(Ordering::SeqCst) {
                0 => format!("{what}: could not connect within {after} (the request's `timeout`)"),
                3 => format!(
                    "{what}: no TLS handshake within {after} (the request's `timeout`): does the port speak TLS?"
                ),
                1 => format!(
                    "{what}: no response within {after} (the request's `timeout`): the server accepted the connection and answered nothing"
                ),
                _ => format!(
                    "{what}: the body did not end within {after} (the request's `timeout`): status {}, {} bytes of the body received",
                    progress.status.load(Ordering::SeqCst),
                    progress.bytes.load(Ordering::SeqCst)
                ),
            })
        }
    }
}

async fn exchanges(
    req: &Request,
    started: Instant,
    progress: &Progress,
) -> Result<Response, String> {
    let first = Target::of(req)?;
    let mut target = first.clone();
    let mut method = req.method.clone();
    let mut body = req.body.clone();
    let mut redirects = 0;
    loop {
        let same_origin =
            target.host == first.host && target.port == first.port && target.https == first.https;
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter(|(k, _)| {
                let k = k.to_ascii_lowercase();
                (body.is_some() || (k != "content-type" && k != "content-length"))
                    && (same_origin || k != "authorization")
            })
            .cloned()
            .collect();
        let ex = exchange(req, &method, &target, &headers, body.as_deref(), progress).await?;
        let location = ex
            .headers
            .iter()
            .find(|(k, _)| k == "location")
            .map(|(_, v)| v.clone());
        if req.follow_redirects
            && matches!(ex.status, 301 | 302 | 303 | 307 | 308)
            && let Some(location) = location
        {
            if redirects == MAX_REDIRECTS {
                return Err(format!(
                    "more than {MAX_REDIRECTS} redirects (the last to {location})"
                ));
            }
            redirects += 1;
            target = target.join(&location).ok_or_else(|| {
                format!("redirect {redirects} goes to {location:?}, which is not a URL")
            })?;
            if ex.status == 303 || (matches!(ex.status, 301 | 302) && method == "POST") {
                method = "GET".into();
                body = None;
            }
            continue;
        }
        let decoded = text::decode(
            &ex.bytes,
            ex.headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| v.as_str()),
        );
        return Ok(Response {
            method,
            url: target.url(),
            status: ex.status,
            version: ex.version,
            headers: ex.headers,
            bytes: ex.bytes,
            body: decoded,
            duration: started.elapsed(),
            redirects,
            cert: ex.cert,
        });
    }
}

/// What one exchange gave.
struct Exchange {
    status: u16,
    version: String,
    headers: Vec<(String, String)>,
    bytes: Vec<u8>,
    cert: Option<CertInfo>,
}

async fn exchange(
    req: &Request,
    method: &str,
    target: &Target,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    progress: &Progress,
) -> Result<Exchange, String> {
    progress.phase.store(0, Ordering::SeqCst);
    let auth = authority(&target.host, target.port);
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot connect to {auth}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if !target.https {
        let mut ex = roundtrip(TokioIo::new(tcp), method, target, headers, body, progress).await?;
        ex.cert = None;
        return Ok(ex);
    }
    progress.phase.store(3, Ordering::SeqCst);
    let config = tls_config(req)?;
    let name = ServerName::try_from(target.host.clone())
        .map_err(|e| format!("`{}` is not a TLS server name: {e}", target.host))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(&auth, &e.to_string(), req))?;
    let cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| cert::parse(c.as_ref()));
    let mut ex = roundtrip(TokioIo::new(tls), method, target, headers, body, progress).await?;
    ex.cert = match cert {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => Some(CertInfo::unreadable(e)),
        None => None,
    };
    Ok(ex)
}

fn tls_error(auth: &str, e: &str, req: &Request) -> String {
    let mut out = format!("TLS handshake with {auth} failed: {e}");
    if e.contains("certificate") || e.contains("Certificate") {
        out.push_str(match &req.cacert {
            Some(_) => "; the server's certificate is not signed by the `cacert` given (and must name the host it is reached at, 127.0.0.1 or localhost), or use `insecure`",
            None => "; the server's certificate is not trusted: trust its CA with `cacert \"PATH\"` or accept any with `insecure`",
        });
    } else if e.contains("corrupt message") || e.contains("InvalidContentType") || e.contains("eof")
    {
        out.push_str("; does the port speak TLS? (without `https` the request is plain HTTP)");
    }
    out
}

/// Sends the request on a connection and reads the response, its body up to [`BODY_LIMIT`].
async fn roundtrip<T>(
    io: T,
    method: &str,
    target: &Target,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    progress: &Progress,
) -> Result<Exchange, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let mut b = hyper::Request::builder()
        .method(
            hyper::Method::from_bytes(method.as_bytes())
                .map_err(|_| format!("`{method}` is not an HTTP method"))?,
        )
        .uri(target.path.as_str());
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !has("host") {
        b = b.header("host", authority(&target.host, target.port));
    }
    if !has("user-agent") {
        b = b.header("user-agent", concat!("dspec/", env!("CARGO_PKG_VERSION")));
    }
    if !has("accept") {
        b = b.header("accept", "*/*");
    }
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let request = b
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_vec())))
        .map_err(|e| format!("the request cannot be sent: {e}"))?;
    progress.phase.store(1, Ordering::SeqCst);
    let resp = sender.send_request(request).await.map_err(|e| {
        if e.is_incomplete_message() || e.is_canceled() || e.is_closed() || reset(&e) {
            "the connection closed without a response (is the process listening on that port?)"
                .to_string()
        } else if e.is_parse() {
            format!("the answer is not HTTP/1.x: {e}")
        } else {
            format!("sending the request: {e}")
        }
    })?;
    let status = resp.status().as_u16();
    progress.status.store(u64::from(status), Ordering::SeqCst);
    progress.phase.store(2, Ordering::SeqCst);
    let version = match resp.version() {
        hyper::Version::HTTP_09 => "HTTP/0.9",
        hyper::Version::HTTP_10 => "HTTP/1.0",
        hyper::Version::HTTP_11 => "HTTP/1.1",
        hyper::Version::HTTP_2 => "HTTP/2",
        hyper::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
    .to_string();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut incoming = resp.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| {
            format!(
                "reading the body (status {status}, {} bytes received): {e}",
                bytes.len()
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > BODY_LIMIT {
                return Err(format!(
                    "the body is larger than {} MiB, the most dspec reads (status {status}); it was not cut, the request fails",
                    BODY_LIMIT / (1024 * 1024)
                ));
            }
            bytes.extend_from_slice(&data);
            progress.bytes.store(bytes.len() as u64, Ordering::SeqCst);
        }
    }
    drop(conn);
    Ok(Exchange {
        status,
        version,
        headers,
        bytes,
        cert: None,
    })
}

/// Whether the peer reset or closed the connection (a port the engine's proxy accepts with
/// nothing listening behind it does that).
fn reset(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionAborted
            );
        }
        source = s.source();
    }
    false
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The TLS settings of a request: its `cacert` trusted, or (`insecure`) any certificate.
fn tls_config(req: &Request) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    if req.insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    let mut pinned = Vec::new();
    if let Some(path) = &req.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the `cacert` {}: {e}", path.display()))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("the `cacert` {}: {e}", path.display()))?;
            pinned.push(cert.clone());
            roots
                .add(cert)
                .map_err(|e| format!("the `cacert` {}: {e}", path.display()))?;
        }
        if roots.is_empty() {
            return Err(format!(
                "the `cacert` {} holds no PEM certificate",
                path.display()
            ));
        }
    }
    if pinned.is_empty() {
        return Ok(builder.with_root_certificates(roots).with_no_client_auth());
    }
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("TLS: {e}"))?;
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedOrCa { pinned, inner }))
        .with_no_client_auth())
}

/// `cacert`: a server certificate signed by one of its certificates, or one of them itself
/// (a self-signed certificate given as its own CA, as curl and Hurl accept it).
#[derive(Debug)]
struct PinnedOrCa {
    pinned: Vec<CertificateDer<'static>>,
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl rustls::client::danger::ServerCertVerifier for PinnedOrCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `insecure`: any certificate is accepted (the signatures of the handshake still are
/// checked, so the exchange is still TLS).
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
pub(super) fn join_for_test(base: &str, location: &str) -> Option<String> {
    parse_absolute(base)?.join(location).map(|t| t.url())
}
