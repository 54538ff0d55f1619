//! What is done to every whole message before an adapter sends it: DKIM signing
//! (feature `dkim`), when a signer was set on the `Builder`. One function,
//! [`Signing::sign`], that every send path of the three adapters calls (their
//! connections' batches and their pools' queues), so that no path sends unsigned.

use smtp_proto::Envelope;

use crate::Error;

/// The signing a `Builder` applies; without the `dkim` feature, none.
///
/// Kept by each adapter's `Builder` ([`Settings::signing`](crate::Settings::signing)),
/// and so by every connection and pool made from it.
#[derive(Clone, Debug, Default)]
pub struct Signing {
    #[cfg(feature = "dkim")]
    dkim: Option<crate::dkim::DkimSigner>,
}

impl Signing {
    /// Signing with `signer`.
    #[cfg(feature = "dkim")]
    pub fn dkim(signer: crate::dkim::DkimSigner) -> Self {
        Signing { dkim: Some(signer) }
    }

    /// Whether messages are signed (and so must be whole in memory before they go).
    pub fn is_on(&self) -> bool {
        #[cfg(feature = "dkim")]
        return self.dkim.is_some();
        #[cfg(not(feature = "dkim"))]
        false
    }

    /// The content to send instead of `content`, signed, or `None` when nothing is to
    /// be signed (send `content` as it is). `envelope` then declares the signed
    /// content: `SIZE=` its length (RFC 1870), `BODY=8BITMIME` if it has 8-bit octets
    /// and was declared 7BIT; a BINARYMIME body is signed byte for byte
    /// (`DkimSigner::sign_binary`).
    ///
    /// # Errors
    /// A NUL in text content: [`Error::Refused`], as `Envelope::for_message` refuses
    /// it; any other reason the signer gives: `Error::Dkim`. Nothing was sent.
    #[cfg_attr(not(feature = "dkim"), allow(unused_variables))]
    pub fn sign(&self, envelope: &mut Envelope, content: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        #[cfg(feature = "dkim")]
        if let Some(signer) = &self.dkim {
            use crate::dkim::DkimError;
            use smtp_proto::command::BodyType;
            let signed = match envelope.body {
                BodyType::BinaryMime => signer.sign_binary(content),
                _ => signer.sign(content),
            }
            .map_err(|e| match e {
                DkimError::Body(b) => Error::Refused(smtp_proto::TxnError::Body(b)),
                e => Error::Dkim(e),
            })?;
            if envelope.body == BodyType::SevenBit && !signed.is_ascii() {
                envelope.body = BodyType::EightBitMime;
            }
            envelope.size = Some(signed.len() as u64);
            return Ok(Some(signed));
        }
        Ok(None)
    }

    /// [`sign`](Self::sign) for a batch read into memory: each message's content to
    /// send, signed, and each envelope declaring it. All or nothing: the first
    /// message that cannot be signed fails the batch before anything is sent.
    ///
    /// # Errors
    /// As [`sign`](Self::sign).
    pub fn sign_all(
        &self,
        envelopes: &mut [Envelope],
        contents: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, Error> {
        envelopes
            .iter_mut()
            .zip(contents)
            .map(|(envelope, content)| Ok(self.sign(envelope, &content)?.unwrap_or(content)))
            .collect()
    }

    /// Refuses a connection's `stream` when messages are to be signed: it sends each
    /// message as it is read, so none could be (see `DkimError::Streamed`).
    ///
    /// # Errors
    /// `Error::Dkim(DkimError::Streamed)` when a signer is set.
    pub fn refuse_streaming(&self) -> Result<(), Error> {
        #[cfg(feature = "dkim")]
        if self.is_on() {
            return Err(Error::Dkim(crate::dkim::DkimError::Streamed));
        }
        Ok(())
    }
}
