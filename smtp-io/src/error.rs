//! The adapters' error: the session could not start, or died. One type for the three
//! runtimes, so that a caller (the CLI's exit statuses, a retrying pool) classifies it
//! once.

use std::{fmt, io};

use smtp_proto::session::SessionError;
use smtp_proto::{Stage, TxnError, UsageError};

/// Why a connection could not be made, or why the session ended.
///
/// A message the server refuses is not an `Error`: it is in the
/// [`Report`](smtp_proto::Report).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Name resolution, connecting, reading or writing failed.
    Io(io::Error),
    /// The TLS handshake or a TLS record failed (certificate not trusted, wrong name...).
    #[cfg(feature = "rustls")]
    Tls(rustls::Error),
    /// A reply, the TLS handshake or a write did not complete before its deadline.
    Timeout {
        /// What was awaited.
        stage: Stage,
    },
    /// The SMTP session failed (never [`smtp_proto::Error::Timeout`]: that is [`Error::Timeout`]).
    Smtp(smtp_proto::Error),
    /// The call does not fit the session's state (e.g. after it ended cleanly).
    Usage(UsageError),
    /// The message cannot be sent as given (e.g. a NUL octet in `send_message`).
    Refused(TxnError),
    /// The message's envelope cannot be had from it (no sender, no recipient, an
    /// address SMTP cannot carry): nothing was sent.
    Message(crate::MessageError),
    /// The host is neither a DNS name nor an IP address, so TLS cannot verify it.
    InvalidHost(String),
    /// TLS is configured but the crate was built without the `rustls` feature.
    TlsUnavailable,
    /// An earlier operation on this connection did not complete: its future was dropped
    /// half-way (async adapters), or it panicked (in a body reader, for instance) and the
    /// caller caught the panic. A command may be half-written or a reply unread, so the
    /// connection is unusable and nothing more is written to it.
    Cancelled,
    /// The message waited in a pool's queue longer than the pool allows; it was never
    /// sent.
    PoolTimeout,
    /// The pool is closing: it takes no more messages.
    PoolClosed,
    /// The `Builder`'s credentials provider gave none; nothing was opened.
    Credentials(crate::CredentialsError),
    /// The SOCKS5 proxy of `Builder::proxy` did not open the connection: its reason
    /// (RFC 1928 §6 reply code, refused login) or what was wrong with its reply.
    Proxy(crate::socks::ProxyError),
    /// The `Builder`'s DKIM signer could not sign the message (no `From:` field, say);
    /// it was not sent.
    #[cfg(feature = "dkim")]
    Dkim(crate::dkim::DkimError),
}

impl Error {
    /// Whether trying again later may succeed: I/O failures, timeouts, 4xx replies.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Io(_) | Error::Timeout { .. } | Error::PoolTimeout => true,
            Error::Smtp(e) => e.is_transient(),
            Error::Credentials(e) => e.is_transient(),
            Error::Proxy(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether the same attempt will fail again: 5xx replies, TLS or AUTH that cannot be
    /// had, certificate failures, misuse. Malformed replies are neither transient nor
    /// permanent.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Smtp(e) => e.is_permanent(),
            Error::Io(_) | Error::Timeout { .. } | Error::PoolTimeout => false,
            Error::Credentials(e) => !e.is_transient(),
            Error::Proxy(e) => !e.is_transient(),
            _ => true,
        }
    }

    /// An I/O error, or the TLS or proxy error inside it: rustls streams report a
    /// failed handshake or record as an `io::Error` wrapping the `rustls::Error`, and
    /// the proxy connectors a failed SOCKS handshake as one wrapping the
    /// [`ProxyError`](crate::socks::ProxyError).
    pub fn from_io(e: io::Error) -> Error {
        if let Some(proxy) = crate::socks::ProxyError::of(&e) {
            return Error::Proxy(proxy.clone());
        }
        #[cfg(feature = "rustls")]
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Error::Tls(tls.clone());
        }
        Error::Io(e)
    }
}

/// How [`smtp_proto::session::Session`] builds and keeps this error: the adapters'
/// sessions are `Session<Error>`.
impl SessionError for Error {
    /// Timeouts get their own variant.
    fn from_core(e: smtp_proto::Error) -> Error {
        match e {
            smtp_proto::Error::Timeout { stage } => Error::Timeout { stage },
            e => Error::Smtp(e),
        }
    }

    fn from_usage(e: UsageError) -> Error {
        Error::Usage(e)
    }

    fn cancelled() -> Error {
        Error::Cancelled
    }

    /// A copy for every later call on a dead connection (`io::Error` is not `Clone`).
    fn duplicate(&self) -> Error {
        match self {
            Error::Io(e) => Error::Io(io::Error::new(e.kind(), e.to_string())),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => Error::Tls(e.clone()),
            Error::Timeout { stage } => Error::Timeout { stage: *stage },
            Error::Smtp(e) => Error::Smtp(e.clone()),
            Error::Usage(e) => Error::Usage(e.clone()),
            Error::Refused(e) => Error::Refused(e.clone()),
            Error::Message(e) => Error::Message(e.clone()),
            Error::InvalidHost(h) => Error::InvalidHost(h.clone()),
            Error::TlsUnavailable => Error::TlsUnavailable,
            Error::Cancelled => Error::Cancelled,
            Error::PoolTimeout => Error::PoolTimeout,
            Error::PoolClosed => Error::PoolClosed,
            Error::Credentials(e) => Error::Credentials(e.clone()),
            Error::Proxy(e) => Error::Proxy(e.clone()),
            #[cfg(feature = "dkim")]
            Error::Dkim(e) => Error::Dkim(e.clone()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => write!(f, "TLS error: {e}"),
            Error::Timeout { stage } => write!(f, "timed out waiting for {stage}"),
            Error::Smtp(e) => write!(f, "{e}"),
            Error::Usage(e) => write!(f, "{e}"),
            Error::Refused(e) => write!(f, "message refused: {e}"),
            Error::Message(e) => write!(f, "{e}"),
            Error::InvalidHost(h) => write!(f, "{h:?} is not a valid TLS server name"),
            Error::TlsUnavailable => f.write_str("TLS needed but built without the rustls feature"),
            Error::Cancelled => f.write_str("an earlier operation did not complete"),
            Error::PoolTimeout => f.write_str("waited too long for a pooled connection; not sent"),
            Error::PoolClosed => f.write_str("the pool is closed"),
            Error::Credentials(e) => write!(f, "{e}"),
            Error::Proxy(e) => write!(f, "{e}"),
            #[cfg(feature = "dkim")]
            Error::Dkim(e) => write!(f, "{e}"),
        }
    }
}

/// A session that did not get ready: why, and the name the server announced before
/// it failed (`Client::server_name`: its EHLO reply's or its greeting's), which an MX
/// delivery reports as `receiving-mx-helo` (RFC 8460 §4.3) when TLS failed there.
#[derive(Debug)]
#[non_exhaustive]
pub struct NotReady {
    /// Why the session did not get ready.
    pub error: Error,
    /// The server's announced name, if its greeting came.
    pub server_name: Option<String>,
}

impl From<Error> for NotReady {
    /// A failure before the server said anything.
    fn from(error: Error) -> Self {
        NotReady {
            error,
            server_name: None,
        }
    }
}

impl From<NotReady> for Error {
    fn from(e: NotReady) -> Self {
        e.error
    }
}

impl NotReady {
    /// `error`, after the session's server announced `server_name`.
    pub fn new(error: Error, server_name: Option<&str>) -> Self {
        NotReady {
            error,
            server_name: server_name.map(str::to_owned),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            #[cfg(feature = "rustls")]
            Error::Tls(e) => Some(e),
            Error::Smtp(e) => Some(e),
            Error::Usage(e) => Some(e),
            Error::Message(e) => Some(e),
            Error::Credentials(e) => Some(e),
            Error::Proxy(e) => Some(e),
            #[cfg(feature = "dkim")]
            Error::Dkim(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::reply::ReplyCode;
    use smtp_proto::Reply;

    fn reply(code: u16) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), &[&b"x"[..]]).unwrap()
    }

    #[test]
    fn io_and_timeouts_are_transient_and_smtp_errors_keep_the_cores_class() {
        let io = Error::Io(io::ErrorKind::ConnectionReset.into());
        let timeout = Error::from_core(smtp_proto::Error::Timeout {
            stage: Stage::Greeting,
        });
        for e in [&io, &timeout] {
            assert!(e.is_transient() && !e.is_permanent(), "{e:?}");
        }
        for code in [421, 554] {
            let core = smtp_proto::Error::ServiceUnavailable(reply(code));
            let e = Error::from_core(core.clone());
            assert!(matches!(e, Error::Smtp(_)));
            assert_eq!(e.is_transient(), core.is_transient(), "{code}");
            assert_eq!(e.is_permanent(), core.is_permanent(), "{code}");
        }
        let down = Error::Credentials(crate::CredentialsError::transient("unreachable"));
        assert!(down.is_transient() && !down.is_permanent());
        let revoked = Error::Credentials(crate::CredentialsError::permanent("revoked"));
        assert_eq!(revoked.duplicate().to_string(), "no credentials: revoked");
        for e in [
            revoked,
            Error::Usage(UsageError::Closed),
            Error::InvalidHost("a b".into()),
            Error::TlsUnavailable,
            Error::Cancelled,
        ] {
            assert!(e.is_permanent() && !e.is_transient(), "{e:?}");
        }
    }

    #[test]
    fn a_core_timeout_becomes_the_timeout_variant_with_its_stage() {
        let e = Error::from_core(smtp_proto::Error::Timeout { stage: Stage::Mail });
        assert!(matches!(e, Error::Timeout { stage: Stage::Mail }));
        assert_eq!(
            e.to_string(),
            format!("timed out waiting for {}", Stage::Mail)
        );
    }

    #[test]
    fn a_duplicate_keeps_the_variant_and_the_text() {
        for e in [
            Error::Io(io::Error::new(io::ErrorKind::BrokenPipe, "gone")),
            Error::Timeout { stage: Stage::Rcpt },
            Error::Cancelled,
            Error::InvalidHost("a b".into()),
        ] {
            let d = e.duplicate();
            assert_eq!(d.to_string(), e.to_string());
            assert_eq!(
                std::mem::discriminant(&d),
                std::mem::discriminant(&e),
                "{e:?}"
            );
        }
        let d = Error::Io(io::Error::new(io::ErrorKind::BrokenPipe, "gone")).duplicate();
        assert!(matches!(d, Error::Io(e) if e.kind() == io::ErrorKind::BrokenPipe));
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn the_tls_error_inside_an_io_error_is_taken_out() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let e = Error::from_io(io::Error::new(io::ErrorKind::InvalidData, tls.clone()));
        assert!(matches!(e, Error::Tls(t) if t == tls));
        let plain = Error::from_io(io::ErrorKind::UnexpectedEof.into());
        assert!(matches!(plain, Error::Io(_)));
    }

    #[test]
    fn the_proxy_error_inside_an_io_error_is_taken_out_and_keeps_its_class() {
        use crate::socks::ProxyError;
        let refused = ProxyError::Refused { code: 5 };
        let io: io::Error = refused.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused);
        let e = Error::from_io(io);
        assert!(matches!(&e, Error::Proxy(p) if *p == refused), "{e:?}");
        assert!(e.is_transient() && !e.is_permanent());
        assert_eq!(e.duplicate().to_string(), e.to_string());
        assert!(e.to_string().contains("connection refused"), "{e}");
        let login = Error::from_io(ProxyError::AuthFailed { status: 1 }.into());
        assert!(login.is_permanent() && !login.is_transient(), "{login:?}");
        let no_connect = Error::from_io(ProxyError::Refused { code: 7 }.into());
        assert!(no_connect.is_permanent(), "{no_connect:?}");
    }
}
