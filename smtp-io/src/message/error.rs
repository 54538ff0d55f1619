//! Why a message's envelope cannot be had from its header: the caller's mistake, found
//! before anything is sent.

use std::fmt;

use smtp_proto::command::AddressError;

/// Why the envelope of a message cannot be derived from its header (or a message
/// builder could not write it). Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageError {
    /// No `Sender` and no `From` (with `Resent-*` fields: no `Resent-Sender` and no
    /// `Resent-From` in the most recent block), or only empty groups there.
    NoSender,
    /// The field naming the sender holds several mailboxes (`From: a@x, b@y` needs a
    /// `Sender`, RFC 5322 §3.6.2): which one is the reverse path is the caller's call.
    SeveralSenders {
        /// The field (`From`, `Sender`, `Resent-From`, `Resent-Sender`).
        field: &'static str,
    },
    /// `To`, `Cc` and `Bcc` (or the `Resent-` ones) name nobody.
    NoRecipients,
    /// An address of the header is not one an SMTP command can carry (no domain, a
    /// display name without an address, a character RFC 5321 does not allow ...).
    Address {
        /// The field it is in.
        field: &'static str,
        /// The address as the header gave it (the display name when there was no
        /// address).
        address: String,
        /// Why RFC 5321 refuses it; `None` when there was no address at all.
        error: Option<AddressError>,
    },
    /// The message builder failed to write the message.
    Build(String),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::NoSender => {
                f.write_str("the message names no sender (no Sender or From field)")
            }
            MessageError::SeveralSenders { field } => write!(
                f,
                "{field} names several mailboxes: give the envelope explicitly or add a Sender"
            ),
            MessageError::NoRecipients => {
                f.write_str("the message names no recipient (To, Cc and Bcc are empty)")
            }
            MessageError::Address {
                field,
                address,
                error: Some(e),
            } => write!(f, "{field}: {address:?} is not an SMTP address: {e}"),
            MessageError::Address { field, address, .. } => {
                write!(f, "{field}: {address:?} has no address")
            }
            MessageError::Build(e) => write!(f, "the message could not be written: {e}"),
        }
    }
}

impl std::error::Error for MessageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MessageError::Address { error: Some(e), .. } => Some(e),
            _ => None,
        }
    }
}
