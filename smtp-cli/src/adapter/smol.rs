//! smtp-smol, on `smol::block_on`.

use std::future::Future;
use std::io;
use std::task::{Context, Poll};

use rustls::pki_types::CertificateDer;
use smol::io::{AsyncRead, AsyncWrite};
use smol::net::unix::UnixStream;
use smtp_proto::command::Mechanism;
use smtp_proto::{Capabilities, Envelope, Report};
use smtp_smol::Builder;

use super::{Adapter, Connection, Error};
use crate::session::Plan;

/// The smol adapter.
pub(crate) struct Smol;

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
            b.connector(move |_: &smtp_smol::Target| UnixStream::connect(path.clone()))
        }
        None => b,
    }
}

impl Adapter for Smol {
    type Conn = smtp_smol::Connection;

    fn block_on<T>(session: impl Future<Output = T>) -> io::Result<T> {
        Ok(smol::block_on(session))
    }

    async fn connect(plan: &Plan) -> Result<Self::Conn, Error> {
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
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection for smtp_smol::Connection<S> {
    fn capabilities(&self) -> &Capabilities {
        smtp_smol::Connection::capabilities(self)
    }

    fn tls_version(&self) -> Option<&'static str> {
        smtp_smol::Connection::tls_version(self)
    }

    fn peer_certificate(&self) -> Option<CertificateDer<'static>> {
        let chain = smtp_smol::Connection::peer_certificates(self)?;
        chain.first().cloned()
    }

    fn auth_mechanism(&self) -> Option<Mechanism> {
        smtp_smol::Connection::auth_mechanism(self)
    }

    async fn send_repeated(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        more: &mut dyn FnMut() -> bool,
        open: usize,
        on_report: &mut dyn FnMut(Result<Report, Error>),
    ) -> Result<(), Error> {
        let next =
            |_: &mut Context<'_>| Poll::Ready(more().then(|| (envelope.clone(), message, ())));
        smtp_smol::Connection::stream(self, open, next, |(), r| on_report(r)).await
    }

    async fn quit(self) -> Result<(), Error> {
        smtp_smol::Connection::quit(self).await
    }
}
