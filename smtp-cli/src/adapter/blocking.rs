//! smtp-blocking: std I/O, no async runtime. Its calls block inside the futures of
//! [`Connection`], which therefore finish on their first poll.

use std::future::{ready, Future};
use std::io;
use std::os::unix::net::UnixStream;

use rustls::pki_types::CertificateDer;
use smtp_blocking::{Builder, Next, Socket};
use smtp_proto::command::Mechanism;
use smtp_proto::{Capabilities, Envelope, Report};

use super::{Adapter, Connection, Error};
use crate::session::Plan;

/// The blocking adapter.
pub(crate) struct Blocking;

/// The plan's builder: its settings, and a connector opening its Unix socket or
/// going through its proxy if it has one (for the session and every connection of a
/// pool).
fn builder(plan: &Plan) -> Builder {
    let b = Builder::from_settings(plan.settings());
    if let Some(proxy) = &plan.proxy {
        return b.proxy(proxy.clone());
    }
    match plan.unix_path() {
        Some(path) => {
            let path = path.to_owned();
            b.connector(move |_: &smtp_blocking::Target| UnixStream::connect(&path))
        }
        None => b,
    }
}

impl Adapter for Blocking {
    type Conn = smtp_blocking::Connection;

    fn block_on<T>(session: impl Future<Output = T>) -> io::Result<T> {
        // A plain parker: nothing in the session ever waits on it.
        Ok(smol::future::block_on(session))
    }

    fn connect(plan: &Plan) -> impl Future<Output = Result<Self::Conn, Error>> {
        ready(builder(plan).connect())
    }

    fn send_pooled(
        plan: &Plan,
        envelope: &Envelope,
        n: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> impl Future<Output = Result<(), Error>> {
        let pool = smtp_blocking::Pool::new(builder(plan), super::pool_config(plan));
        let messages = super::pooled_messages(plan, envelope, n);
        for r in pool.send_many(messages) {
            on_report(r.map(|p| p.report));
        }
        pool.close();
        ready(Ok(()))
    }
}

impl<S: Socket> Connection for smtp_blocking::Connection<S> {
    fn capabilities(&self) -> &Capabilities {
        smtp_blocking::Connection::capabilities(self)
    }

    fn tls_version(&self) -> Option<&'static str> {
        smtp_blocking::Connection::tls_version(self)
    }

    fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
        let chain = smtp_blocking::Connection::peer_certificates(self)?;
        chain.first().cloned()
    }

    fn auth_mechanism(&self) -> Option<Mechanism> {
        smtp_blocking::Connection::auth_mechanism(self)
    }

    fn send_repeated(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        more: &mut dyn FnMut() -> bool,
        open: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> impl Future<Output = Result<(), Error>> {
        let next = |_block: bool| {
            if more() {
                Next::Message((envelope.clone(), message, ()))
            } else {
                Next::End
            }
        };
        ready(smtp_blocking::Connection::stream(
            self,
            open,
            next,
            |(), r| on_report(r),
        ))
    }

    fn quit(self) -> impl Future<Output = Result<(), Error>> {
        ready(smtp_blocking::Connection::quit(self))
    }
}
