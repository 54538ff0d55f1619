//! The environment of the MX-delivery lab, `scripts/mx-lab start` (docs/mx-lab.md maps
//! each hostile case of direct MX delivery to the lab's names, addresses and certificates).
//!
//! The environment is read from `$MX_LAB_ENV`, else `$MX_LAB_DIR/env` (default
//! `/tmp/mx-lab/env`). If it is missing, or the lab's resolver or first MX host does not
//! answer, [`MxLab::get`] panics saying how to start the lab: lab tests never skip.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::interop::{parse_env, postfix_index};

/// The running lab, as its environment file describes it.
#[derive(Debug, Clone)]
pub struct MxLab {
    vars: HashMap<String, String>,
}

fn env_file() -> PathBuf {
    if let Some(f) = std::env::var_os("MX_LAB_ENV") {
        return f.into();
    }
    let dir = std::env::var_os("MX_LAB_DIR").unwrap_or_else(|| "/tmp/mx-lab".into());
    Path::new(&dir).join("env")
}

/// The lab's first MX host (Postfix, 127.0.0.10:25).
const FIRST_MX: &str = "127.0.0.10:25";

impl MxLab {
    /// Reads the environment file and checks that the resolver and the first MX host answer.
    ///
    /// # Panics
    /// If the lab is not running: lab tests must not pass without it.
    pub fn get() -> MxLab {
        let path = env_file();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the MX lab is not running ({}: {e}); start it with `bash scripts/mx-lab start` \
                 (as root; or set MX_LAB_DIR / MX_LAB_ENV)",
                path.display()
            )
        });
        let lab = MxLab {
            vars: parse_env(&text),
        };
        let mx: SocketAddr = FIRST_MX.parse().expect("address");
        if let Err(e) = TcpStream::connect_timeout(&mx, Duration::from_secs(3)) {
            panic!(
                "the MX lab's {mx} does not accept connections ({e}); `bash scripts/mx-lab start`"
            );
        }
        if let Err(e) = query_soa(lab.resolver()) {
            panic!(
                "the MX lab's resolver {} does not answer ({e}); `bash scripts/mx-lab start`",
                lab.resolver()
            );
        }
        lab
    }

    /// A variable of the environment file.
    ///
    /// # Panics
    /// If it is missing.
    pub fn var(&self, name: &str) -> &str {
        self.vars
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the MX lab's environment"))
    }

    /// A variable that names a file or directory.
    pub fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.var(name))
    }

    fn addr(&self, name: &str) -> SocketAddr {
        let v = self.var(name);
        v.parse()
            .unwrap_or_else(|e| panic!("{name}={v} is not an address: {e}"))
    }

    /// The validating resolver whose AD bit a client may trust (unbound, 127.0.0.3:53).
    pub fn resolver(&self) -> SocketAddr {
        self.addr("MX_LAB_RESOLVER")
    }

    /// The authoritative server, for in-process validation (nsd, 127.0.0.2:53).
    pub fn nameserver(&self) -> SocketAddr {
        self.addr("MX_LAB_NAMESERVER")
    }

    /// The lab root's trust anchor: its DNSKEY in zone-file format.
    pub fn trust_anchor(&self) -> PathBuf {
        self.path("MX_LAB_TRUST_ANCHOR")
    }

    /// Where the MTA-STS policy server belongs (127.0.0.20:443).
    pub fn sts_addr(&self) -> SocketAddr {
        self.addr("MX_LAB_STS_ADDR")
    }

    /// The "public" test CA: the WebPKI roots a client of the lab trusts.
    pub fn public_roots(&self) -> Vec<CertificateDer<'static>> {
        let ca = self.path("MX_LAB_CA");
        CertificateDer::pem_file_iter(&ca)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .unwrap_or_else(|e| panic!("{}: {e}", ca.display()))
    }

    /// The lab Postfix's stored copies of messages to `rcpt`, waiting up to `patience` for
    /// at least one (delivery into the Maildir is asynchronous). Empty if none came.
    pub fn delivered(&self, rcpt: &str, patience: Duration) -> Vec<Vec<u8>> {
        let maildir = self.path("MX_LAB_MAILDIR");
        let deadline = Instant::now() + patience;
        loop {
            if let Some(files) = postfix_index(&maildir).remove(rcpt) {
                return files
                    .iter()
                    .map(|f| std::fs::read(f).expect("read Maildir file"))
                    .collect();
            }
            if Instant::now() >= deadline {
                return Vec::new();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The lab's MX hosts that Postfix cannot play: the tests start an in-process server on
/// each address (docs/mx-lab.md, "Addresses"); the zones already point at them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InProcess {
    /// 127.0.0.31:25, `mx-eodreset.dns.test`: accepts up to the end of data, then closes
    /// without a reply (case 10).
    EodReset,
    /// 127.0.0.32:25, `mx-454.dane-ee.test`: advertises STARTTLS, answers it 454 (case 11).
    Starttls454,
    /// 127.0.0.33:25, `mx-tlsfail.dane-ee.test`: advertises STARTTLS, answers 220, then
    /// breaks the handshake (case 11).
    TlsBroken,
    /// 127.0.0.34:25, `mx-mismatch.dane-ee.test`: presents `pki/mismatch.crt` while signing
    /// with `pki/mismatch-other.key` (case 16).
    KeyMismatch,
    /// 127.0.0.35:25, `mx-requiretls.dane-ee.test`: STARTTLS with `pki/good.chain.pem`,
    /// REQUIRETLS in EHLO (cases 28, 29).
    RequireTls,
    /// 127.0.0.36:25, first address of `mx-timeout.dns.test`: accepts, never greets (case 8).
    Silent,
}

impl InProcess {
    /// Every one of them.
    pub const ALL: [InProcess; 6] = [
        InProcess::EodReset,
        InProcess::Starttls454,
        InProcess::TlsBroken,
        InProcess::KeyMismatch,
        InProcess::RequireTls,
        InProcess::Silent,
    ];

    /// The address its server binds (port 25: the planner always says 25).
    pub const fn addr(self) -> SocketAddr {
        let last = match self {
            InProcess::EodReset => 31,
            InProcess::Starttls454 => 32,
            InProcess::TlsBroken => 33,
            InProcess::KeyMismatch => 34,
            InProcess::RequireTls => 35,
            InProcess::Silent => 36,
        };
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, last), 25))
    }
}

/// Which lab listener received a stored message: `x` of 127.0.0.x, from the Received
/// header Postfix adds (`by listener-<x>.mx-lab.test`).
pub fn received_by(stored: &[u8]) -> Option<u8> {
    let text = String::from_utf8_lossy(stored);
    let rest = &text[text.find("by listener-")? + "by listener-".len()..];
    let end = rest.find(".mx-lab.test")?;
    rest[..end].parse().ok()
}

/// One DNS query (`. SOA`, recursion desired) over UDP: proof that a resolver answers.
fn query_soa(server: SocketAddr) -> std::io::Result<()> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_secs(3)))?;
    // ID 0x4d58, RD, one question: root, SOA (6), IN (1) (RFC 1035 §4.1).
    let query = [
        0x4d, 0x58, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1,
    ];
    sock.send_to(&query, server)?;
    let mut buf = [0u8; 512];
    let (n, _) = sock.recv_from(&mut buf)?;
    if n < 12 || buf[..2] != query[..2] || buf[3] & 0x0f != 0 {
        return Err(std::io::Error::other(format!(
            "unexpected answer {:02x?}",
            &buf[..n.min(12)]
        )));
    }
    Ok(())
}
