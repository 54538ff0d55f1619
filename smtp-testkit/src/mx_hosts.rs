//! The lab's MX hosts that Postfix cannot play ([`InProcess`], docs/mx-lab.md
//! "Addresses"), as small SMTP servers on their 127.0.0.x:25 addresses: a cut after the
//! end of data, STARTTLS refused or broken, a certificate served with another key,
//! REQUIRETLS in EHLO, a host that never greets. Each records what it was sent.
//! Binding port 25 needs root; tests that start one take turns (one address each).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::crypto::ring::{default_provider, sign::any_supported_type};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::mx_lab::{InProcess, MxLab};

/// What one client did on a connection: the command lines it sent (CRLF stripped),
/// the message contents it sent (up to the final dot), whether it completed TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Command lines, in order.
    pub commands: Vec<String>,
    /// Message contents, dot-stuffed as sent.
    pub messages: Vec<Vec<u8>>,
    /// Whether a TLS handshake completed.
    pub tls: bool,
}

/// A running in-process MX host; dropping it stops it and closes its connections.
pub struct MxHostServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MxHostServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MxHostServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A server configuration presenting `chain` and signing with `key`, the two not
/// checked against each other (a key mismatch is case 16).
fn tls_config(chain: &Path, key: &Path) -> Arc<ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
        .and_then(|it| it.collect::<Result<_, _>>())
        .unwrap_or_else(|e| panic!("{}: {e}", chain.display()));
    let key =
        PrivateKeyDer::from_pem_file(key).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
    let key = any_supported_type(&key).expect("a key ring signs with");
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Always(Arc::new(CertifiedKey::new(certs, key)))));
    Arc::new(config)
}

/// How a host behaves (from its [`InProcess`] role).
#[derive(Clone)]
struct Role {
    which: InProcess,
    name: String,
    tls: Option<Arc<ServerConfig>>,
}

impl MxHostServer {
    /// Starts `which` on its address, with the lab's certificates.
    ///
    /// # Panics
    /// If the address cannot be bound (port 25 needs root) or a lab file is missing.
    pub fn start(which: InProcess, lab: &MxLab) -> MxHostServer {
        let pki = lab.path("MX_LAB_PKI");
        let (name, tls) = match which {
            InProcess::EodReset => ("mx-eodreset.dns.test", None),
            InProcess::Starttls454 => ("mx-454.dane-ee.test", None),
            InProcess::TlsBroken => ("mx-tlsfail.dane-ee.test", None),
            InProcess::KeyMismatch => (
                "mx-mismatch.dane-ee.test",
                Some(tls_config(
                    &pki.join("mismatch.crt"),
                    &pki.join("mismatch-other.key"),
                )),
            ),
            InProcess::RequireTls => (
                "mx-requiretls.dane-ee.test",
                Some(tls_config(
                    &pki.join("good.chain.pem"),
                    &pki.join("good.key"),
                )),
            ),
            InProcess::Silent => ("mx-timeout.dns.test", None),
        };
        let role = Role {
            which,
            name: name.to_owned(),
            tls,
        };
        let addr = which.addr();
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr}: {e} (port 25 needs root)"));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, seen, open) = (stop.clone(), seen.clone(), open.clone());
            std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    if let Ok(clone) = tcp.try_clone() {
                        open.lock().expect("lock").push(clone);
                    }
                    let (role, seen) = (role.clone(), seen.clone());
                    std::thread::spawn(move || {
                        let mut s = Seen::default();
                        let end = tcp.try_clone();
                        // A client gone or a failed handshake ends the session.
                        let _ = serve(&role, tcp, &mut s);
                        // Closed here, not when Drop closes the copy kept above: the
                        // client sees the end at once (case 10's cut).
                        if let Ok(end) = end {
                            let _ = end.shutdown(Shutdown::Both);
                        }
                        seen.lock().expect("lock").push(s);
                    });
                }
            })
        };
        MxHostServer {
            addr,
            stop,
            seen,
            open,
            accept: Some(accept),
        }
    }

    /// What each connection saw, in the order they ended, once every connection
    /// accepted so far has ended (within 10 s): the client may be done before this
    /// server's thread has recorded the session, e.g. when it does not wait for QUIT's
    /// reply.
    pub fn seen(&self) -> Vec<Seen> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let accepted = self.open.lock().expect("lock").len();
            let seen = self.seen.lock().expect("lock").clone();
            if seen.len() >= accepted || Instant::now() >= deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for MxHostServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

trait Duplex: Read + Write {}
impl<T: Read + Write> Duplex for T {}

/// One CRLF-ended line, without its CRLF; `None` at the end of the stream.
fn line(r: &mut dyn Duplex) -> io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        if r.read(&mut b)? == 0 {
            return Ok(None);
        }
        out.push(b[0]);
        if out.ends_with(b"\r\n") {
            out.truncate(out.len() - 2);
            return Ok(Some(out));
        }
        if out.len() > 4096 {
            return Err(io::Error::other("line too long"));
        }
    }
}

fn serve(role: &Role, tcp: TcpStream, seen: &mut Seen) -> io::Result<()> {
    if role.which == InProcess::Silent {
        // Holds the connection open and says nothing until the client or Drop ends it.
        let mut tcp = tcp;
        let mut sink = [0u8; 512];
        while tcp.read(&mut sink)? > 0 {}
        return Ok(());
    }
    let mut plain = tcp;
    plain.write_all(format!("220 {} ESMTP in-process\r\n", role.name).as_bytes())?;
    let mut tls: Option<StreamOwned<ServerConnection, TcpStream>> = None;
    loop {
        let mut upgrade = None;
        let s: &mut dyn Duplex = match tls.as_mut() {
            Some(t) => t,
            None => &mut plain,
        };
        let Some(cmd) = line(s)? else { return Ok(()) };
        let text = String::from_utf8_lossy(&cmd).into_owned();
        seen.commands.push(text.clone());
        let verb = text
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let verb = verb.split(':').next().unwrap_or_default().to_owned();
        match verb.as_str() {
            "EHLO" => {
                let starttls = role.which != InProcess::EodReset && !seen.tls;
                let mut reply = format!("250-{}\r\n", role.name);
                if starttls {
                    reply.push_str("250-STARTTLS\r\n");
                }
                if role.which == InProcess::RequireTls && seen.tls {
                    reply.push_str("250-REQUIRETLS\r\n");
                }
                reply.push_str("250 8BITMIME\r\n");
                s.write_all(reply.as_bytes())?;
            }
            "STARTTLS" => match role.which {
                InProcess::Starttls454 => s.write_all(b"454 4.7.0 TLS not available\r\n")?,
                InProcess::TlsBroken => {
                    s.write_all(b"220 2.0.0 go ahead\r\n")?;
                    s.write_all(b"this is no TLS ServerHello\r\n")?;
                    return Ok(());
                }
                _ => {
                    let config = role.tls.clone().ok_or_else(|| io::Error::other("no TLS"))?;
                    s.write_all(b"220 2.0.0 go ahead\r\n")?;
                    upgrade = Some(config);
                }
            },
            "MAIL" | "RCPT" | "RSET" | "NOOP" => s.write_all(b"250 2.0.0 ok\r\n")?,
            "DATA" => {
                s.write_all(b"354 go ahead\r\n")?;
                let mut content = Vec::new();
                loop {
                    let Some(l) = line(s)? else { return Ok(()) };
                    if l == b"." {
                        break;
                    }
                    content.extend_from_slice(&l);
                    content.extend_from_slice(b"\r\n");
                }
                seen.messages.push(content);
                if role.which == InProcess::EodReset {
                    // Case 10: the end of data is never answered.
                    return Ok(());
                }
                s.write_all(b"250 2.0.0 queued in-process\r\n")?;
            }
            "QUIT" => {
                s.write_all(b"221 2.0.0 bye\r\n")?;
                return Ok(());
            }
            _ => s.write_all(b"502 5.5.2 not here\r\n")?,
        }
        s.flush()?;
        if let Some(config) = upgrade {
            let conn = ServerConnection::new(config).map_err(io::Error::other)?;
            let mut t = StreamOwned::new(conn, plain.try_clone()?);
            while t.conn.is_handshaking() {
                t.conn.complete_io(&mut t.sock)?;
            }
            seen.tls = true;
            tls = Some(t);
        }
    }
}
