//! smtp-smol, on `smol::block_on`.

use std::future::Future;
use std::io;
use std::path::Path;
use std::task::{Context, Poll};

use smol::io::{AsyncRead, AsyncWrite};
use smol::net::unix::UnixStream;
use smol::Async;
use smtp_proto::command::Mechanism;
use smtp_proto::{Capabilities, Envelope, Report};
use smtp_smol::Builder;

use super::{Adapter, Connection, Error};
use crate::session::Plan;

/// The smol adapter.
pub struct Smol;

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

impl Adapter for Smol {
    type Tcp = smtp_smol::Connection<Async<std::net::TcpStream>>;
    type Unix = smtp_smol::Connection<UnixStream>;

    fn block_on<T>(session: impl Future<Output = T>) -> io::Result<T> {
        Ok(smol::block_on(session))
    }

    async fn connect_tcp(plan: &Plan) -> Result<Self::Tcp, Error> {
        builder(plan).connect().await
    }

    async fn send_pooled(
        plan: &Plan,
        envelope: &Envelope,
        n: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> Result<(), Error> {
        let pool = smtp_smol::Pool::new(builder(plan), super::pool_config(plan));
        let messages = super::pooled_messages(plan, envelope, n);
        for r in pool.send_many(messages).await {
            on_report(r.map(|p| p.report));
        }
        pool.close().await;
        Ok(())
    }

    async fn connect_unix(plan: &Plan, path: &Path) -> Result<Self::Unix, Error> {
        let stream = UnixStream::connect(path).await.map_err(Error::Io)?;
        builder(plan).connect_stream(stream).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection for smtp_smol::Connection<S> {
    fn capabilities(&self) -> &Capabilities {
        smtp_smol::Connection::capabilities(self)
    }

    fn tls_version(&self) -> Option<&'static str> {
        smtp_smol::Connection::tls_version(self)
    }

    fn auth_mechanism(&self) -> Option<Mechanism> {
        smtp_smol::Connection::auth_mechanism(self)
    }

    async fn send_repeated(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        n: usize,
        open: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> Result<(), Error> {
        let mut left = n;
        let next = |_: &mut Context<'_>| {
            Poll::Ready(left.checked_sub(1).map(|l| {
                left = l;
                (envelope.clone(), message, ())
            }))
        };
        smtp_smol::Connection::stream(self, open, next, |(), r| on_report(r)).await
    }

    async fn quit(self) -> Result<(), Error> {
        smtp_smol::Connection::quit(self).await
    }
}
