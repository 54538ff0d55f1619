//! The envelope of one transaction: who sends, who receives, and how the body is declared.

use alloc::vec::Vec;

use crate::command::{BodyType, EnvId, ForwardPath, Notify, Orcpt, RcptParams, Ret, ReversePath};

/// One recipient and its DSN options (RFC 3461 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
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
