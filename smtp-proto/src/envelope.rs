//! The envelope of one transaction: who sends, who receives, and how the body is declared.

use alloc::vec::Vec;

use crate::body::{scan, BodyError};
use crate::command::{BodyType, EnvId, ForwardPath, Notify, Orcpt, RcptParams, Ret, ReversePath};
use crate::ehlo::Capabilities;
use crate::error::TxnError;

/// One recipient and its DSN options (RFC 3461 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recipient {
    /// The forward path.
    pub path: ForwardPath,
    /// `NOTIFY=` and `ORCPT=`.
    pub params: RcptParams,
}

impl Recipient {
    /// A recipient without DSN options.
    pub fn new(path: ForwardPath) -> Self {
        Recipient {
            path,
            params: RcptParams::default(),
        }
    }

    /// Asks for delivery status notifications.
    pub fn notify(mut self, notify: Notify) -> Self {
        self.params.notify = Some(notify);
        self
    }

    /// Records the original recipient address.
    pub fn orcpt(mut self, orcpt: Orcpt) -> Self {
        self.params.orcpt = Some(orcpt);
        self
    }
}

impl From<ForwardPath> for Recipient {
    fn from(path: ForwardPath) -> Self {
        Recipient::new(path)
    }
}

/// Everything MAIL and RCPT say about a message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// The reverse path (`MAIL FROM:<...>`, or the null path for bounces).
    pub from: ReversePath,
    /// The recipients, in RCPT order. Events refer to them by index.
    pub recipients: Vec<Recipient>,
    /// How the content is encoded. 7BIT sends no `BODY=`.
    pub body: BodyType,
    /// The content's size in octets when known: sent as `SIZE=` (RFC 1870) and checked
    /// against the server's maximum.
    pub size: Option<u64>,
    /// Ask for SMTPUTF8 even if no address needs it (UTF-8 in the headers, RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461).
    pub envid: Option<EnvId>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
}

impl Envelope {
    /// A 7-bit envelope of unknown size, without DSN options.
    pub fn new(
        from: ReversePath,
        recipients: impl IntoIterator<Item = impl Into<Recipient>>,
    ) -> Self {
        Envelope {
            from,
            recipients: recipients.into_iter().map(Into::into).collect(),
            body: BodyType::SevenBit,
            size: None,
            smtputf8: false,
            ret: None,
            envid: None,
            requiretls: false,
        }
    }

    /// The envelope of a whole RFC 5322 message: `BODY=8BITMIME` if any octet is 8-bit
    /// (RFC 6152), `SIZE=` its length once line ends are CRLF (RFC 1870), and `SMTPUTF8`
    /// if its header has UTF-8 and `caps` offers it (RFC 6531 §3.4). A NUL octet is
    /// refused with [`TxnError::Body`] (RFC 5321 §2.3.8 allows none in text).
    pub fn for_message(
        from: ReversePath,
        recipients: impl IntoIterator<Item = impl Into<Recipient>>,
        message: &[u8],
        caps: &Capabilities,
    ) -> Result<Self, TxnError> {
        if let Some(offset) = message.iter().position(|&b| b == 0) {
            let offset = offset as u64;
            return Err(TxnError::Body(BodyError::Nul { offset }));
        }
        let scan = scan(message);
        let body = match scan.has_8bit {
            true => BodyType::EightBitMime,
            false => BodyType::SevenBit,
        };
        // The header ends at the first empty line, whichever line end it uses.
        let header_end = [&b"\r\n\r\n"[..], b"\n\n"]
            .iter()
            .filter_map(|sep| message.windows(sep.len()).position(|w| w == *sep))
            .min()
            .unwrap_or(message.len());
        let mut envelope = Envelope::new(from, recipients)
            .body(body)
            .size(scan.normalized_len);
        envelope.smtputf8 = !message[..header_end].is_ascii() && caps.smtputf8();
        Ok(envelope)
    }

    /// Declares the body type.
    pub fn body(mut self, body: BodyType) -> Self {
        self.body = body;
        self
    }

    /// Declares the size.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Whether SMTPUTF8 is needed: asked for, or an address that is not ASCII.
    pub fn needs_smtputf8(&self) -> bool {
        self.smtputf8
            || self.from.needs_smtputf8()
            || self.recipients.iter().any(|r| r.path.needs_smtputf8())
    }

    /// Whether any DSN parameter is set.
    pub fn uses_dsn(&self) -> bool {
        self.ret.is_some()
            || self.envid.is_some()
            || self
                .recipients
                .iter()
                .any(|r| r.params.notify.is_some() || r.params.orcpt.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{Reply, ReplyCode};

    fn caps(lines: &[&[u8]]) -> Capabilities {
        Capabilities::from_reply(&Reply::new(ReplyCode::OK, lines).unwrap())
    }

    fn message(body: &[u8], caps: &Capabilities) -> Result<Envelope, TxnError> {
        let from = ReversePath::new("a@example.org").unwrap();
        let to = ForwardPath::new("b@example.net").unwrap();
        Envelope::for_message(from, [to], body, caps)
    }

    #[test]
    fn seven_bit_message_size_counts_crlf() {
        let e = message(b"Subject: x\n\nhi\n", &caps(&[b"mx", b"SMTPUTF8"])).unwrap();
        assert_eq!(e.body, BodyType::SevenBit);
        assert_eq!(e.size, Some(18));
        assert!(!e.smtputf8);
        assert_eq!(e.recipients.len(), 1);
    }

    #[test]
    fn eight_bit_body_declares_8bitmime_not_smtputf8() {
        let msg = "Subject: x\r\n\r\nh\u{e9}\r\n".as_bytes();
        let e = message(msg, &caps(&[b"mx", b"SMTPUTF8"])).unwrap();
        assert_eq!(e.body, BodyType::EightBitMime);
        assert_eq!(e.size, Some(msg.len() as u64));
        assert!(!e.smtputf8);
    }

    #[test]
    fn utf8_header_asks_smtputf8_only_when_offered() {
        let msg = "Subject: h\u{e9}\r\n\r\nhi\r\n".as_bytes();
        assert!(message(msg, &caps(&[b"mx", b"SMTPUTF8"])).unwrap().smtputf8);
        assert!(!message(msg, &caps(&[b"mx"])).unwrap().smtputf8);
        // An LF-only header ends at its first empty line too.
        let msg = "Subject: x\n\nh\u{e9}\r\n\r\n".as_bytes();
        assert!(!message(msg, &caps(&[b"mx", b"SMTPUTF8"])).unwrap().smtputf8);
    }

    #[test]
    fn nul_is_refused_with_its_offset() {
        let got = message(b"Subject: x\r\n\r\na\0b\r\n", &caps(&[b"mx"]));
        assert_eq!(got, Err(TxnError::Body(BodyError::Nul { offset: 15 })));
    }
}
