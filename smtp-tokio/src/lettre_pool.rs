//! lettre's `AsyncTransport` on [`Pool`] and [`LettrePool`] (feature `lettre`): a lettre
//! program keeps its `Message`s and its `send` calls, and gets pipelining, BDAT and
//! per-recipient results. `Ok` is a [`PoolReport`]; what `Ok` and `Err` mean (a partial
//! delivery is `Ok`) is [`smtp_io::message::lettre`]'s.

use lettre::address::Envelope;
use lettre::AsyncTransport;
use smtp_io::message::lettre::{parts, transport_result, TransportError};

use crate::{Builder, Error, Pool, PoolConfig, PoolReport};

#[async_trait::async_trait]
impl AsyncTransport for Pool {
    type Ok = PoolReport;
    type Error = TransportError;

    /// Sends `message` to its envelope ([`Pool::send_mail`]).
    async fn send(&self, message: lettre::Message) -> Result<PoolReport, TransportError> {
        transport_result(self.send_mail(message).await)
    }

    /// Sends `email` as given to `envelope`.
    async fn send_raw(
        &self,
        envelope: &Envelope,
        email: &[u8],
    ) -> Result<PoolReport, TransportError> {
        let message =
            parts(envelope, email).map_err(|e| TransportError::Session(Error::Message(e)))?;
        transport_result(self.send_mail(message).await)
    }

    /// [`Pool::close`]: takes no more messages, finishes those taken, then QUITs.
    async fn shutdown(&self) {
        self.close().await;
    }
}

smtp_io::lettre_pool!("mailer.send(email).await");

#[async_trait::async_trait]
impl AsyncTransport for LettrePool {
    type Ok = PoolReport;
    type Error = TransportError;

    /// As the pool's.
    async fn send(&self, message: lettre::Message) -> Result<PoolReport, TransportError> {
        AsyncTransport::send(&self.0, message).await
    }

    /// As the pool's.
    async fn send_raw(
        &self,
        envelope: &Envelope,
        email: &[u8],
    ) -> Result<PoolReport, TransportError> {
        self.0.send_raw(envelope, email).await
    }

    /// As the pool's.
    async fn shutdown(&self) {
        self.0.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    /// The switch the crate's documentation compiles (a doc test) is the README's, to
    /// the letter.
    #[test]
    fn the_readme_shows_the_lettre_switch_the_crate_docs_compile() {
        let readme = include_str!("../../README.md");
        assert!(readme.contains(include_str!("lettre-switch.md")));
    }
}
