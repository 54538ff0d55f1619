//! The SOCKS5 conversation, sans-IO: method negotiation (RFC 1928 §3), username and
//! password (RFC 1929 §2) when the proxy chose it, then CONNECT (RFC 1928 §4) and its
//! reply (§6). It asks for no more bytes than the reply in progress still lacks, so
//! that what the SMTP server sends right after the reply (its greeting, maybe in the
//! same segment) stays in the stream for the session.

use super::proxy::Credentials;
use super::{Destination, ProxyError};

/// The most [`Next::Read`] asks for: a reply carrying a 255-octet name (RFC 1928 §6:
/// VER, REP, RSV, ATYP, the length, the name, the port).
pub const MAX_READ: usize = 4 + 1 + 255 + 2;

/// RFC 1928 §3's methods.
const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xFF;
/// RFC 1928 §4: CONNECT; §5's address types.
const CONNECT: u8 = 0x01;
const IPV4: u8 = 0x01;
const NAME: u8 = 0x03;
const IPV6: u8 = 0x04;

/// What the driver does next.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub enum Next {
    /// Write these bytes, all of them.
    Write(Vec<u8>),
    /// Read at most this many bytes (never more than [`MAX_READ`]) and pass them to
    /// [`Handshake::handle_input`] (an empty slice at the end of the stream).
    Read(usize),
    /// The proxy connected: the stream now carries the SMTP session.
    Done,
}

/// Which reply is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    /// The method the proxy chose (RFC 1928 §3: VER, METHOD).
    Method,
    /// The verdict on the credentials (RFC 1929 §2: VER, STATUS).
    Auth,
    /// The reply to CONNECT (RFC 1928 §6).
    Reply,
    /// Nothing: connected.
    Nothing,
}

/// One SOCKS5 handshake, from the greeting to the proxy's reply to CONNECT. Made by
/// [`Proxy::handshake`](super::Proxy::handshake).
pub struct Handshake {
    awaiting: Awaiting,
    /// Bytes to write, not yet taken by [`Handshake::poll`].
    out: Vec<u8>,
    /// The reply so far (at most [`MAX_READ`] bytes).
    reply: Vec<u8>,
    /// The CONNECT request, sent once the method (and the login) succeeded.
    request: Vec<u8>,
    credentials: Option<Credentials>,
    failed: Option<ProxyError>,
}

/// Never shows the credentials.
impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("awaiting", &self.awaiting)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Handshake {
    pub(super) fn new(
        destination: Destination,
        port: u16,
        credentials: Option<Credentials>,
    ) -> Result<Handshake, ProxyError> {
        // RFC 1928 §4: VER, CMD, RSV, ATYP, DST.ADDR, DST.PORT.
        let mut request = vec![5, CONNECT, 0];
        match destination {
            Destination::Ip(std::net::IpAddr::V4(a)) => {
                request.push(IPV4);
                request.extend(a.octets());
            }
            Destination::Ip(std::net::IpAddr::V6(a)) => {
                request.push(IPV6);
                request.extend(a.octets());
            }
            Destination::Name(name) => {
                let len = u8::try_from(name.len())
                    .ok()
                    .filter(|&l| l > 0)
                    .ok_or(ProxyError::InvalidName)?;
                request.push(NAME);
                request.push(len);
                request.extend(name.as_bytes());
            }
        }
        request.extend(port.to_be_bytes());
        // RFC 1928 §3: VER, NMETHODS, METHODS.
        let out = match credentials {
            Some(_) => vec![5, 2, NO_AUTH, USER_PASSWORD],
            None => vec![5, 1, NO_AUTH],
        };
        Ok(Handshake {
            awaiting: Awaiting::Method,
            out,
            reply: Vec::new(),
            request,
            credentials,
            failed: None,
        })
    }

    /// What to do next: bytes to write first, then a read. The handshake's error once
    /// it failed (again on every call).
    pub fn poll(&mut self) -> Result<Next, ProxyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if !self.out.is_empty() {
            return Ok(Next::Write(std::mem::take(&mut self.out)));
        }
        Ok(match self.needed() {
            0 => Next::Done,
            n => Next::Read(n - self.reply.len()),
        })
    }

    /// Takes the proxy's bytes: at most what the reply in progress lacks. Returns how
    /// many it took; the rest (once the handshake is done, the SMTP server's first
    /// bytes) is the caller's. An empty slice means the stream ended:
    /// [`ProxyError::Closed`].
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<usize, ProxyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if bytes.is_empty() && self.awaiting != Awaiting::Nothing {
            return Err(self.fail(ProxyError::Closed));
        }
        let mut taken = 0;
        while self.awaiting != Awaiting::Nothing && taken < bytes.len() {
            let want = self.needed() - self.reply.len();
            let n = want.min(bytes.len() - taken);
            self.reply.extend_from_slice(&bytes[taken..taken + n]);
            taken += n;
            if let Err(e) = self.check() {
                return Err(self.fail(e));
            }
        }
        Ok(taken)
    }

    /// Whether the proxy connected.
    pub fn is_done(&self) -> bool {
        self.awaiting == Awaiting::Nothing && self.failed.is_none()
    }

    fn fail(&mut self, e: ProxyError) -> ProxyError {
        self.failed = Some(e.clone());
        e
    }

    /// The length of the whole reply awaited, as far as its bytes so far tell (0 once
    /// done).
    fn needed(&self) -> usize {
        match self.awaiting {
            Awaiting::Method | Awaiting::Auth => 2,
            Awaiting::Nothing => 0,
            // VER, REP, RSV, ATYP, then the address and the port: ATYP says how long.
            Awaiting::Reply => match self.reply.get(3) {
                None => 4,
                Some(&IPV4) => 4 + 4 + 2,
                Some(&IPV6) => 4 + 16 + 2,
                Some(_) => match self.reply.get(4) {
                    None => 5,
                    Some(&len) => 5 + usize::from(len) + 2,
                },
            },
        }
    }

    /// Checks the reply so far (the version and verdict as soon as they are in, so that
    /// a refusal is reported even if the proxy closes without the rest) and, once it is
    /// complete, moves on.
    fn check(&mut self) -> Result<(), ProxyError> {
        let r = &self.reply;
        let version = match self.awaiting {
            Awaiting::Auth => 1,
            _ => 5,
        };
        if let Some(&got) = r.first() {
            if got != version {
                return Err(ProxyError::BadVersion {
                    expected: version,
                    got,
                });
            }
        }
        match (self.awaiting, r.get(1).copied()) {
            (Awaiting::Auth, Some(status)) if status != 0 => {
                return Err(ProxyError::AuthFailed { status })
            }
            (Awaiting::Reply, Some(code)) if code != 0 => return Err(ProxyError::Refused { code }),
            _ => {}
        }
        if let (Awaiting::Reply, Some(&atyp)) = (self.awaiting, r.get(3)) {
            if !matches!(atyp, IPV4 | NAME | IPV6) {
                return Err(ProxyError::BadAddressType(atyp));
            }
        }
        if r.len() < self.needed() {
            return Ok(());
        }
        self.awaiting = match self.awaiting {
            Awaiting::Method => match r[1] {
                NO_AUTH => self.send_request(),
                USER_PASSWORD if self.credentials.is_some() => self.send_credentials(),
                NO_ACCEPTABLE => {
                    return Err(ProxyError::NoAcceptableMethod {
                        offered_credentials: self.credentials.is_some(),
                    })
                }
                m => return Err(ProxyError::UnexpectedMethod(m)),
            },
            Awaiting::Auth => self.send_request(),
            Awaiting::Reply | Awaiting::Nothing => Awaiting::Nothing,
        };
        self.reply.clear();
        Ok(())
    }

    fn send_request(&mut self) -> Awaiting {
        self.out = std::mem::take(&mut self.request);
        Awaiting::Reply
    }

    /// RFC 1929 §2: VER 1, ULEN, UNAME, PLEN, PASSWD (lengths checked when parsed).
    fn send_credentials(&mut self) -> Awaiting {
        if let Some(c) = self.credentials.take() {
            for field in [c.user.as_bytes(), c.password.as_bytes()] {
                self.out.push(field.len() as u8);
                self.out.extend_from_slice(field);
            }
            self.out.insert(0, 1);
        }
        Awaiting::Auth
    }
}
