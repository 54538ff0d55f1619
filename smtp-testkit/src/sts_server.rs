//! An HTTPS server for MTA-STS policy fetches (RFC 8461 §3.3) that picks its certificate
//! and its answer by the client's SNI, one entry per policy host.
//!
//! The lab (`scripts/mx-lab`, docs/mx-lab.md) runs it on 127.0.0.20:443 from the table the
//! script writes ([`StsServer::start_lab`]); tests of the server itself give it hosts made
//! with rcgen on a free port ([`StsServer::start`]). A std thread per connection, rustls
//! (ring) for TLS and a hand-written HTTP/1.1 responder: the server answers one request per
//! connection and closes it, which is all a policy fetch needs, and no runtime is imposed on
//! the three adapters' tests.
//!
//! A client without SNI, or with a name the table does not hold, gets no certificate: the
//! handshake fails, as it would against a host serving other names only.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::crypto::ring::{default_provider, sign::any_supported_type};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::mx_lab::MxLab;

/// The path of the policy (RFC 8461 §3.3); any other path is answered 404.
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";

/// How long a connection may take to send its request.
const REQUEST_PATIENCE: Duration = Duration::from_secs(10);
/// The largest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// What a policy host answers to `GET /.well-known/mta-sts.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// 200, `Content-Type: text/plain`, these bytes.
    Policy(Vec<u8>),
    /// This status and a short `text/plain` body.
    Status(u16),
    /// This status (a 3xx) with `Location`.
    Redirect {
        /// The status code.
        status: u16,
        /// The `Location` header's value.
        location: String,
    },
    /// 200 with another `Content-Type`.
    ContentType {
        /// The `Content-Type` header's value.
        content_type: String,
        /// The body.
        body: Vec<u8>,
    },
    /// 200, `text/plain`, the head at once, then one byte of the body every `pace`.
    Slow {
        /// The time between two bytes of the body.
        pace: Duration,
        /// The body.
        body: Vec<u8>,
    },
}

/// One policy host: the SNI name it answers, its certificate and its behaviour.
pub struct StsHost {
    name: String,
    cert: Arc<CertifiedKey>,
    behaviour: Behaviour,
}

impl fmt::Debug for StsHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of Debug output.
        f.debug_struct("StsHost")
            .field("name", &self.name)
            .field("behaviour", &self.behaviour)
            .finish_non_exhaustive()
    }
}

impl StsHost {
    /// A host presenting `chain` (leaf first) signed by `key`. The key is not checked
    /// against the leaf: a test may serve a certificate with another key on purpose.
    ///
    /// # Errors
    /// If rustls (ring) cannot sign with `key`.
    pub fn new(
        name: &str,
        chain: Vec<CertificateDer<'static>>,
        key: &PrivateKeyDer<'static>,
        behaviour: Behaviour,
    ) -> Result<StsHost, String> {
        let key = any_supported_type(key).map_err(|e| format!("{name}: key: {e}"))?;
        Ok(StsHost {
            name: name.to_ascii_lowercase(),
            cert: Arc::new(CertifiedKey::new(chain, key)),
            behaviour,
        })
    }

    /// A host whose chain and key are PEM files.
    ///
    /// # Errors
    /// If a file cannot be read or holds no certificate or key.
    pub fn from_pem_files(
        name: &str,
        chain: &Path,
        key: &Path,
        behaviour: Behaviour,
    ) -> Result<StsHost, String> {
        let certs = CertificateDer::pem_file_iter(chain)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", chain.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no certificate", chain.display()));
        }
        let key =
            PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
        StsHost::new(name, certs, &key, behaviour)
    }

    /// The SNI name (lower case).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it answers.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }
}

/// Reads the lab's table (`<dir>/sts/hosts`, written by `scripts/mx-lab`): one host a line,
/// `<sni-name> <certificate> <behaviour> [arguments]`, the certificate being
/// `<pki>/<certificate>.chain.pem` and `.key`, the behaviours `policy <file>`,
/// `status <code>`, `redirect <code> <location>`, `type <content-type> <file>` and
/// `slow <ms-per-byte> <file>`, files relative to the table's directory.
///
/// # Errors
/// On a line it cannot read or a file it cannot load, naming it.
pub fn read_table(table: &Path, pki: &Path) -> Result<Vec<StsHost>, String> {
    let text = std::fs::read_to_string(table).map_err(|e| format!("{}: {e}", table.display()))?;
    let dir = table.parent().unwrap_or(Path::new("."));
    let file = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    let mut hosts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let bad = || format!("{}:{}: cannot read {line:?}", table.display(), n + 1);
        let behaviour = match words.as_slice() {
            [] => continue,
            [_, _, "policy", f] => Behaviour::Policy(file(f)?),
            [_, _, "status", code] => Behaviour::Status(code.parse().map_err(|_| bad())?),
            [_, _, "redirect", code, location] => Behaviour::Redirect {
                status: code.parse().map_err(|_| bad())?,
                location: location.to_string(),
            },
            [_, _, "type", content_type, f] => Behaviour::ContentType {
                content_type: content_type.to_string(),
                body: file(f)?,
            },
            [_, _, "slow", ms, f] => Behaviour::Slow {
                pace: Duration::from_millis(ms.parse().map_err(|_| bad())?),
                body: file(f)?,
            },
            _ => return Err(bad()),
        };
        let cert = words[1];
        hosts.push(StsHost::from_pem_files(
            words[0],
            &pki.join(format!("{cert}.chain.pem")),
            &pki.join(format!("{cert}.key")),
            behaviour,
        )?);
    }
    Ok(hosts)
}

/// A request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The SNI name the client sent (lower case).
    pub sni: String,
    /// The request line, e.g. `GET /.well-known/mta-sts.txt HTTP/1.1`.
    pub line: String,
    /// The `Host` header, if any.
    pub host: Option<String>,
}

/// The running server. Dropping it stops it (connections in progress end at their next
/// write).
pub struct StsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Request>>>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for StsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Certificates by SNI name.
#[derive(Debug)]
struct BySni(HashMap<String, Arc<CertifiedKey>>);

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0
            .get(&hello.server_name()?.to_ascii_lowercase())
            .cloned()
    }
}

impl StsServer {
    /// Listens on `addr` (port 0: a free port) and serves `hosts`.
    ///
    /// # Errors
    /// If `addr` cannot be bound, or two hosts have the same name.
    pub fn start(addr: SocketAddr, hosts: Vec<StsHost>) -> io::Result<StsServer> {
        let mut certs = HashMap::new();
        let mut behaviours = HashMap::new();
        for h in hosts {
            if certs.insert(h.name.clone(), h.cert).is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("policy host {} listed twice", h.name),
                ));
            }
            behaviours.insert(h.name, h.behaviour);
        }
        let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(BySni(certs)));
        let config = Arc::new(config);
        let behaviours = Arc::new(behaviours);
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    let conn = Connection {
                        config: config.clone(),
                        behaviours: behaviours.clone(),
                        requests: requests.clone(),
                        stop: stop.clone(),
                    };
                    std::thread::spawn(move || {
                        // A failed handshake or a client gone is the client's business.
                        let _ = conn.serve(tcp);
                    });
                }
            })
        };
        Ok(StsServer {
            addr,
            stop,
            requests,
            accept: Some(accept),
        })
    }

    /// The lab's server: on `MX_LAB_STS_ADDR` (127.0.0.20:443), serving the lab's table.
    ///
    /// # Panics
    /// If the table cannot be read or the address cannot be bound (port 443 needs root).
    pub fn start_lab(lab: &MxLab) -> StsServer {
        let hosts = read_table(&lab.path("MX_LAB_STS_HOSTS"), &lab.path("MX_LAB_PKI"))
            .unwrap_or_else(|e| panic!("the lab's MTA-STS table: {e}"));
        let addr = lab.sts_addr();
        StsServer::start(addr, hosts)
            .unwrap_or_else(|e| panic!("MTA-STS server on {addr}: {e} (port 443 needs root)"))
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for StsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// What one connection's thread needs.
struct Connection {
    config: Arc<ServerConfig>,
    behaviours: Arc<HashMap<String, Behaviour>>,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Connection {
    fn serve(self, tcp: TcpStream) -> io::Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        tcp.set_read_timeout(Some(REQUEST_PATIENCE))?;
        let conn = ServerConnection::new(self.config.clone()).map_err(io::Error::other)?;
        let mut tls = StreamOwned::new(conn, tcp);
        let head = read_head(&mut tls)?;
        // The handshake is done once the request is read: the name is known.
        let sni = tls
            .conn
            .server_name()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = String::from_utf8_lossy(&head);
        let mut lines = text.split("\r\n");
        let line = lines.next().unwrap_or_default().to_string();
        let host = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.trim().to_string());
        let is_policy = line.split(' ').take(2).eq(["GET", POLICY_PATH]);
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Request {
                sni: sni.clone(),
                line,
                host,
            });
        let not_found = Behaviour::Status(404);
        let behaviour = match self.behaviours.get(&sni) {
            Some(b) if is_policy => b,
            _ => &not_found,
        };
        self.respond(&mut tls, behaviour)?;
        tls.conn.send_close_notify();
        tls.flush()?;
        let _ = tls.sock.shutdown(Shutdown::Both);
        Ok(())
    }

    fn respond(&self, w: &mut impl Write, behaviour: &Behaviour) -> io::Result<()> {
        match behaviour {
            Behaviour::Policy(body) => write_response(w, 200, "text/plain", &[], body),
            Behaviour::Status(code) => {
                let body = format!("{code} {}\n", reason(*code));
                write_response(w, *code, "text/plain", &[], body.as_bytes())
            }
            Behaviour::Redirect { status, location } => {
                let body = format!("see {location}\n");
                write_response(
                    w,
                    *status,
                    "text/plain",
                    &[("Location", location)],
                    body.as_bytes(),
                )
            }
            Behaviour::ContentType { content_type, body } => {
                write_response(w, 200, content_type, &[], body)
            }
            Behaviour::Slow { pace, body } => {
                write_head(w, 200, "text/plain", &[], body.len())?;
                for b in body {
                    if self.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(*pace);
                    w.write_all(&[*b])?;
                    w.flush()?;
                }
                Ok(())
            }
        }
    }
}

/// Reads up to the blank line ending the request head.
fn read_head(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too long",
            ));
        }
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

fn write_response(
    w: &mut impl Write,
    status: u16,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> io::Result<()> {
    write_head(w, status, content_type, extra, body.len())?;
    w.write_all(body)?;
    w.flush()
}

fn write_head(
    w: &mut impl Write,
    status: u16,
    content_type: &str,
    extra: &[(&str, &str)],
    length: usize,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n",
        reason(status)
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A response as [`fetch`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The status code.
    pub status: u16,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body (everything after the head, up to the end of the connection).
    pub body: Vec<u8>,
}

impl Fetched {
    /// The first header field named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why [`fetch`] failed.
#[derive(Debug)]
pub enum FetchError {
    /// The TLS handshake or record layer failed (e.g. the certificate was refused).
    Tls(rustls::Error),
    /// The connection failed.
    Io(io::Error),
    /// The response is not HTTP/1.1 as the server writes it.
    Http(String),
}

impl From<io::Error> for FetchError {
    fn from(e: io::Error) -> FetchError {
        // rustls reports its errors through io::Error; keep them typed.
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => FetchError::Tls(tls.clone()),
            None => FetchError::Io(e),
        }
    }
}

/// A minimal HTTPS client for tests of the server: connects to `addr`, sends SNI `name`,
/// verifies the certificate for `name` against `roots` only (WebPKI, ring), `GET path`
/// with `Host: name`, and reads the response to the end of the connection.
///
/// # Errors
/// See [`FetchError`].
pub fn fetch(
    addr: SocketAddr,
    name: &str,
    roots: Vec<CertificateDer<'static>>,
    path: &str,
) -> Result<Fetched, FetchError> {
    let config = crate::tls::client_config_trusting(roots);
    let server_name = rustls::pki_types::ServerName::try_from(name.to_string())
        .map_err(|e| FetchError::Http(format!("{name}: {e}")))?;
    let conn = rustls::ClientConnection::new(config, server_name).map_err(FetchError::Tls)?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(REQUEST_PATIENCE))?;
    let mut tls = StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
    )?;
    tls.flush()?;
    let mut all = Vec::new();
    tls.read_to_end(&mut all)?;
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| FetchError::Http("no end of head".into()))?;
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| FetchError::Http(format!("status line of {head:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    Ok(Fetched {
        status,
        headers,
        body: all[split + 4..].to_vec(),
    })
}
