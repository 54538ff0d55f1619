//! Why a SOCKS5 handshake failed: the proxy's own reason when it gave one (RFC 1928 §6
//! reply codes, RFC 1929 §2 status), else what was wrong with its bytes.

use std::{fmt, io};

/// Why the proxy did not open the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy refused the CONNECT request: its reply code (RFC 1928 §6), non-zero.
    /// [`ProxyError::reason`] says it in words.
    Refused {
        /// The REP field.
        code: u8,
    },
    /// The proxy refused our username and password (RFC 1929 §2: a non-zero status).
    AuthFailed {
        /// The STATUS field.
        status: u8,
    },
    /// The proxy accepts none of the methods offered (RFC 1928 §3, `X'FF'`): without
    /// credentials, it wants some; with them, it wants another method (GSSAPI...).
    NoAcceptableMethod {
        /// Whether username/password was offered.
        offered_credentials: bool,
    },
    /// The proxy chose a method that was not offered.
    UnexpectedMethod(u8),
    /// A reply of the wrong protocol version (5 for RFC 1928, 1 for RFC 1929's
    /// subnegotiation): not a SOCKS5 proxy.
    BadVersion {
        /// The version expected.
        expected: u8,
        /// The version received.
        got: u8,
    },
    /// The reply's address type is none of RFC 1928 §5's (1, 3, 4).
    BadAddressType(u8),
    /// The proxy closed the connection before its reply was complete.
    Closed,
    /// The SMTP server's host name cannot be sent: empty, or longer than the 255 octets
    /// of RFC 1928 §5's length field.
    InvalidName,
}

impl ProxyError {
    /// The proxy's reason for a refusal, as RFC 1928 §6 names its reply codes.
    pub fn reason(code: u8) -> &'static str {
        match code {
            0 => "succeeded",
            1 => "general SOCKS server failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unassigned reply code",
        }
    }

    /// Whether trying again later may succeed: the proxy could not reach the server
    /// (failure, unreachable, refused, TTL expired, an unassigned code), its ruleset
    /// refused (an administrator may change it), or it closed the connection early. Not
    /// a refused login, a proxy that lacks CONNECT or the address type, malformed
    /// replies or a name that cannot be sent.
    pub fn is_transient(&self) -> bool {
        match self {
            ProxyError::Refused { code } => !matches!(code, 7 | 8),
            ProxyError::Closed => true,
            _ => false,
        }
    }

    /// The `ProxyError` inside an `io::Error` a connector reported, if there is one.
    pub fn of(e: &io::Error) -> Option<&ProxyError> {
        e.get_ref()?.downcast_ref()
    }

    /// Whether another address of the same host may do better: the proxy was reached
    /// and refused to connect to this one (RFC 1928 §6). A connector that resolved the
    /// host tries its next address then, as TCP does.
    pub fn try_next_address(e: &io::Error) -> bool {
        matches!(ProxyError::of(e), Some(ProxyError::Refused { .. }))
    }

    /// The `io::ErrorKind` a connector reports it with.
    fn kind(&self) -> io::ErrorKind {
        match self {
            ProxyError::Refused { code: 5 } => io::ErrorKind::ConnectionRefused,
            ProxyError::Refused { .. } => io::ErrorKind::Other,
            ProxyError::AuthFailed { .. } | ProxyError::NoAcceptableMethod { .. } => {
                io::ErrorKind::PermissionDenied
            }
            ProxyError::Closed => io::ErrorKind::UnexpectedEof,
            ProxyError::InvalidName => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        }
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SOCKS proxy: ")?;
        match self {
            ProxyError::Refused { code } => {
                write!(f, "{} (reply code {code})", ProxyError::reason(*code))
            }
            ProxyError::AuthFailed { status } => {
                write!(f, "username/password refused (status {status})")
            }
            ProxyError::NoAcceptableMethod {
                offered_credentials: false,
            } => f.write_str("authentication required, and no credentials were given"),
            ProxyError::NoAcceptableMethod {
                offered_credentials: true,
            } => f.write_str("no acceptable authentication method (username/password offered)"),
            ProxyError::UnexpectedMethod(m) => {
                write!(f, "chose authentication method {m}, which was not offered")
            }
            ProxyError::BadVersion { expected, got } => {
                write!(f, "reply of version {got}, expected {expected}")
            }
            ProxyError::BadAddressType(t) => write!(f, "reply with address type {t}"),
            ProxyError::Closed => f.write_str("closed the connection during the handshake"),
            ProxyError::InvalidName => {
                f.write_str("the host name is empty or longer than 255 octets")
            }
        }
    }
}

impl std::error::Error for ProxyError {}

/// For connectors, which report `io::Error`: the `ProxyError` stays inside, and
/// [`Error::from_io`](crate::Error::from_io) takes it out again.
impl From<ProxyError> for io::Error {
    fn from(e: ProxyError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}
