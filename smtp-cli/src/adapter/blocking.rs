//! smtp-blocking: std I/O, no async runtime. Its calls block inside the futures of
//! [`Connection`], which therefore finish on their first poll.

use std::future::{ready, Future};
use std::io;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::Path;

use smtp_blocking::{Builder, Next, Socket};
use smtp_proto::command::Mechanism;
use smtp_proto::{Capabilities, Envelope, Report};

use super::{Adapter, Connection, Error};
use crate::session::Plan;

/// The blocking adapter.
pub struct Blocking;

fn builder(plan: &Plan) -> Builder {
    let mut b = Builder::new(plan.host());
    if let Some(port) = plan.port() {
        b = b.port(port);
    }
    if let Some(t) = plan.connect_timeout {
        b = b.connect_timeout(t);
    }
    if let Some(c) = &plan.tls_config {
        b = b.tls_config(c.clone());
    }
    *b.config_mut() = plan.config.clone();
    b
}

impl Adapter for Blocking {
    type Tcp = smtp_blocking::Connection<TcpStream>;
    type Unix = smtp_blocking::Connection<UnixStream>;

    fn block_on<T>(session: impl Future<Output = T>) -> io::Result<T> {
        // A plain parker: nothing in the session ever waits on it.
        Ok(smol::future::block_on(session))
    }

    fn connect_tcp(plan: &Plan) -> impl Future<Output = Result<Self::Tcp, Error>> {
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

    fn connect_unix(plan: &Plan, path: &Path) -> impl Future<Output = Result<Self::Unix, Error>> {
        let conn = UnixStream::connect(path)
            .map_err(Error::Io)
            .and_then(|s| builder(plan).connect_stream(s));
        ready(conn)
    }
}

impl<S: Socket> Connection for smtp_blocking::Connection<S> {
    fn capabilities(&self) -> &Capabilities {
        smtp_blocking::Connection::capabilities(self)
    }

    fn tls_version(&self) -> Option<&'static str> {
        smtp_blocking::Connection::tls_version(self)
    }

    fn auth_mechanism(&self) -> Option<Mechanism> {
        smtp_blocking::Connection::auth_mechanism(self)
    }

    fn send_repeated(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        n: usize,
        open: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> impl Future<Output = Result<(), Error>> {
        let mut left = n;
        let next = |_block: bool| match left.checked_sub(1) {
            Some(l) => {
                left = l;
                Next::Message((envelope.clone(), message, ()))
            }
            None => Next::End,
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
