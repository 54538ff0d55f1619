//! What every adapter's `Connection` reads from its session, written once.

/// The methods every adapter's `Connection` has that read its
/// [`Session`](smtp_proto::session::Session) (`self.$session`, a field path such as
/// `driver.session`): `capabilities`, `server_name`, `is_encrypted`, `auth_mechanism`. A macro for the
/// reason [`builder_methods!`](crate::builder_methods) is one: they must be the
/// `Connection`'s own methods.
#[macro_export]
macro_rules! session_accessors {
    ($($session:ident).+) => {
        /// What the server offered in its last EHLO/LHLO reply.
        pub fn capabilities(&self) -> &$crate::smtp_proto::Capabilities {
            self.$($session).+.client().capabilities()
        }

        /// The name the server announced itself with: its EHLO reply's domain, or its
        /// greeting's in a session HELO opened (RFC 8460 §4.3 reports it as
        /// `receiving-mx-helo`). As the server sent it, not checked.
        pub fn server_name(&self) -> Option<&str> {
            self.$($session).+.client().server_name()
        }

        /// Whether the session runs over TLS.
        pub fn is_encrypted(&self) -> bool {
            self.$($session).+.client().is_encrypted()
        }

        /// The SASL mechanism the session authenticated with.
        pub fn auth_mechanism(&self) -> Option<$crate::smtp_proto::command::Mechanism> {
            self.$($session).+.client().auth_mechanism().cloned()
        }
    };
}

/// The methods every adapter's `Connection` has that describe its TLS session, from
/// `self.$driver.tls_state()` (`Option<&rustls::CommonState>`, `None` without TLS):
/// `tls_version`, `tls_resumed` and `peer_certificates`.
#[macro_export]
macro_rules! tls_accessors {
    ($($driver:ident).+) => {
        /// The TLS protocol version (`"TLSv1.3"`, `"TLSv1.2"`) when the session runs
        /// over TLS, implicit or after STARTTLS.
        pub fn tls_version(&self) -> Option<&'static str> {
            self.$($driver).+.tls_state().map(|s| $crate::tls::describe(s).0)
        }

        /// Whether the TLS handshake resumed a session of an earlier connection (an
        /// abbreviated handshake: no certificate sent or verified again), when the
        /// session runs over TLS. Connections opened from one `Builder` (and its clones,
        /// a pool's) share one rustls configuration and so its session cache: from the
        /// second on, they resume when the server allows.
        pub fn tls_resumed(&self) -> Option<bool> {
            self.$($driver).+.tls_state().map(|s| $crate::tls::describe(s).1)
        }

        /// The certificate chain the server presented, its own certificate first (DER),
        /// when the session runs over TLS: what `smtp-send --serverinfo` prints the
        /// subject, issuer and expiry of. A resumed session gives the chain of the
        /// handshake it resumed. Verified or not as the `Builder`'s TLS configuration
        /// says: the default one verifies it against the WebPKI roots.
        pub fn peer_certificates(
            &self,
        ) -> Option<&[$crate::rustls::pki_types::CertificateDer<'static>]> {
            self.$($driver).+.tls_state().and_then(|s| s.peer_certificates())
        }
    };
}

#[cfg(test)]
mod tests {
    use smtp_proto::command::EhloName;
    use smtp_proto::session::{Io, Session};
    use smtp_proto::{Config, Instant, TlsMode, TlsPolicy};

    use crate::Error;

    struct Driver {
        session: Session<Error>,
    }

    struct Connection {
        driver: Driver,
    }

    // The macro writes `pub` methods, as an adapter's `Connection` needs them.
    #[allow(unreachable_pub)]
    impl Connection {
        session_accessors!(driver.session);
    }

    #[test]
    fn the_accessors_read_the_session() {
        let mut config = Config::new(EhloName::localhost());
        config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
        let now = Instant::ZERO;
        let mut session = Session::<Error>::new(config, now);
        let mut server = [
            &b"220 mx.example ESMTP\r\n"[..],
            b"250-mx.example\r\n250 PIPELINING\r\n",
        ]
        .into_iter();
        loop {
            match session.poll_io() {
                Io::Write { .. } => session.handle_written(),
                Io::Read { .. } => session.handle_input(now, server.next().expect("a reply")),
                Io::Done => break,
                other => panic!("{other:?}"),
            }
        }
        session.finish_connect().unwrap();
        let conn = Connection {
            driver: Driver { session },
        };
        assert!(conn.capabilities().pipelining());
        assert_eq!(conn.server_name(), Some("mx.example"));
        assert!(!conn.is_encrypted());
        assert_eq!(conn.auth_mechanism(), None);
    }
}
