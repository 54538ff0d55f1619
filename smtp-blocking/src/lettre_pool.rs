//! lettre's `Transport` on [`Pool`] and [`LettrePool`] (feature `lettre`): a lettre
//! program keeps its `Message`s and its `send` calls, and gets pipelining, BDAT and
//! per-recipient results. `Ok` is a [`PoolReport`]; what `Ok` and `Err` mean (a partial
//! delivery is `Ok`) is [`smtp_io::message::lettre`]'s.

use lettre::address::Envelope;
use lettre::Transport;
use smtp_io::message::lettre::{parts, transport_result, TransportError};

use crate::{Builder, Error, Pool, PoolConfig, PoolReport};

impl Transport for Pool {
    type Ok = PoolReport;
    type Error = TransportError;

    /// Sends `message` to its envelope ([`Pool::send_mail`]).
    fn send(&self, message: &lettre::Message) -> Result<PoolReport, TransportError> {
        transport_result(self.send_mail(message))
    }

    /// Sends `email` as given to `envelope`.
    fn send_raw(&self, envelope: &Envelope, email: &[u8]) -> Result<PoolReport, TransportError> {
        let message =
            parts(envelope, email).map_err(|e| TransportError::Session(Error::Message(e)))?;
        transport_result(self.send_mail(message))
    }

    /// [`Pool::close`]: takes no more messages, finishes those taken, then QUITs.
    fn shutdown(&self) {
        self.close();
    }
}

smtp_io::lettre_pool!("mailer.send(&email)");

impl Transport for LettrePool {
    type Ok = PoolReport;
    type Error = TransportError;

    /// As the pool's.
    fn send(&self, message: &lettre::Message) -> Result<PoolReport, TransportError> {
        Transport::send(&self.0, message)
    }

    /// As the pool's.
    fn send_raw(&self, envelope: &Envelope, email: &[u8]) -> Result<PoolReport, TransportError> {
        self.0.send_raw(envelope, email)
    }

    /// As the pool's.
    fn shutdown(&self) {
        self.0.shutdown();
    }
}
