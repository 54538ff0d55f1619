//! rustls (ring provider) for implicit TLS and STARTTLS.

use std::time::Instant;

use rustls::{ClientConnection, StreamOwned};

use crate::driver::{is_timeout, Socket};
use crate::Error;

/// A TLS session over the caller's socket.
pub(crate) type TlsStream<S> = StreamOwned<ClientConnection, S>;

pub(crate) use smtp_io::tls::TlsSetup;

/// Runs the client handshake to completion or until `deadline`.
pub(crate) fn handshake<S: Socket>(
    sock: S,
    setup: &TlsSetup,
    deadline: Instant,
) -> Result<TlsStream<S>, Error> {
    let conn =
        ClientConnection::new(setup.config.clone(), setup.name.clone()).map_err(Error::Tls)?;
    let mut s = StreamOwned::new(conn, sock);
    while s.conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                stage: smtp_proto::Stage::TlsHandshake,
            });
        }
        s.sock.set_timeout(Some(left)).map_err(Error::Io)?;
        match s.conn.complete_io(&mut s.sock) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from_io(e)),
        }
    }
    Ok(s)
}
