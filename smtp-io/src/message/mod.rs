//! Messages as callers already have them: RFC 5322 bytes, a mail-builder
//! `MessageBuilder` (feature `mail-builder`), a lettre `Message` (feature `lettre`), or
//! [`Parts`] with an envelope of the caller's. [`IntoMessage`] turns each into its
//! envelope's addresses and the content to send; [`prepare`] (what every adapter's
//! `send_mail` calls) adds what `Envelope::for_message` derives from the content.
//!
//! A message without an envelope of its own gets one from its header, as a submission
//! agent (`sendmail -t`) does: `Sender`, else `From`, for the reverse path; `To`, `Cc`
//! and `Bcc` for the recipients, or the `Resent-` fields of the most recent block when
//! there are any (RFC 5322 §3.6.6); duplicates removed; `Bcc` and `Resent-Bcc` removed
//! from the content ([`remove_bcc`]). The header is parsed by `mail-parser`. No usable
//! sender, or no recipient, is a [`MessageError`] and nothing is sent.
//!
//! # Memory
//!
//! The content is held whole before anything is sent: `SIZE=` goes with MAIL FROM
//! (RFC 1870), before the first octet of content, and removing `Bcc` changes it. Each
//! input is held once:
//!
//! - bytes given by reference are sent from the caller's buffer, unless they have a
//!   `Bcc` field: then one copy without it is made;
//! - owned bytes (`Vec<u8>`, `String`) lose their `Bcc` fields in place;
//! - a `MessageBuilder` is written once into a buffer (its writer pushes into an
//!   `io::Write`, the connections pull), which then loses its `Bcc` fields in place;
//! - a lettre `Message` is formatted once (`Message::formatted`; lettre has no
//!   streaming writer), with lettre's envelope; lettre already removed `Bcc` unless
//!   the caller asked it to keep it (`keep_bcc`), which is respected.
//!
//! A pool keeps each message's content shared by its attempts (`Arc<[u8]>`): the
//! content is copied there once and the input's buffer freed.

mod derive;
mod error;
#[cfg(feature = "lettre")]
pub mod lettre;
#[cfg(feature = "mail-builder")]
mod mail_builder;
mod raw;

use std::borrow::Cow;
use std::ops::Range;

use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::{Capabilities, Envelope};

pub use error::MessageError;

use crate::Error;

/// A message to send: turns into its envelope's addresses and its content.
///
/// Implemented for RFC 5322 bytes (`&[u8]`, `&[u8; N]`, `Vec<u8>`, `&Vec<u8>`,
/// `Cow<[u8]>`, `&str`, `String`: envelope derived from the header, see the
/// [module](self)), mail-builder's `MessageBuilder` (feature `mail-builder`: the same
/// derivation on what it writes), lettre's `Message` and `&Message` (feature `lettre`:
/// its own envelope) and [`Parts`] (an envelope of the caller's, content as given).
/// `'a` is how long the content may stay borrowed from the input.
pub trait IntoMessage<'a> {
    /// The envelope's addresses and the content to send.
    ///
    /// # Errors
    /// When the envelope cannot be had from the message (see [`MessageError`]).
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError>;
}

/// A message's reverse path, recipients and content: what [`IntoMessage`] gives, and a
/// message with an envelope of the caller's (its content is sent as given, `Bcc`
/// included: see [`remove_bcc`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts<'a> {
    /// The reverse path (`MAIL FROM`).
    pub from: ReversePath,
    /// The recipients (`RCPT TO`), in order.
    pub to: Vec<ForwardPath>,
    /// The content, RFC 5322 bytes.
    pub content: Cow<'a, [u8]>,
}

impl<'a> Parts<'a> {
    /// A message with an envelope of the caller's: `content` is sent as given.
    pub fn new(
        from: ReversePath,
        to: impl IntoIterator<Item = ForwardPath>,
        content: impl Into<Cow<'a, [u8]>>,
    ) -> Parts<'a> {
        let to = to.into_iter().collect();
        let content = content.into();
        Parts { from, to, content }
    }

    /// The envelope derived from the header of `content`, whose `Bcc` and
    /// `Resent-Bcc` fields are removed (see the [module](self)).
    ///
    /// # Errors
    /// No usable sender or no recipient, or an address that SMTP cannot carry.
    pub fn from_header(content: impl Into<Cow<'a, [u8]>>) -> Result<Parts<'a>, MessageError> {
        let content = content.into();
        let derived = derive::derive(&content);
        let (from, to) = derived.envelope?;
        let content = cut(content, &derived.bcc);
        Ok(Parts { from, to, content })
    }
}

impl<'a> IntoMessage<'a> for Parts<'a> {
    fn into_mail_parts(self) -> Result<Parts<'a>, MessageError> {
        Ok(self)
    }
}

/// The message's envelope and the content to send: the addresses from
/// [`IntoMessage::into_mail_parts`], then `BODY=`, `SIZE=` and SMTPUTF8 from the content as
/// [`Envelope::for_message`] derives them against `caps` (what the server offers).
/// What every adapter's `send_mail` does before sending.
///
/// # Errors
/// [`Error::Message`] when the envelope cannot be had from the message,
/// [`Error::Refused`] when the content cannot be sent (a NUL octet).
pub fn prepare<'a>(
    message: impl IntoMessage<'a>,
    caps: &Capabilities,
) -> Result<(Envelope, Cow<'a, [u8]>), Error> {
    let Parts { from, to, content } = message.into_mail_parts().map_err(Error::Message)?;
    let envelope = Envelope::for_message(from, to, &content, caps).map_err(Error::Refused)?;
    Ok((envelope, content))
}

/// `content` without its `Bcc` and `Resent-Bcc` fields (each with its continuation
/// lines and line end, whatever the line ends are): borrowed content without them
/// stays borrowed, owned content is cut in place.
pub fn remove_bcc(content: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let ranges = match mail_parser::MessageParser::new().parse_headers(&content[..]) {
        Some(m) => derive::bcc_fields(m.headers()),
        None => return content,
    };
    cut(content, &ranges)
}

/// `content` without the `ranges` (in order, not overlapping).
fn cut<'a>(content: Cow<'a, [u8]>, ranges: &[Range<usize>]) -> Cow<'a, [u8]> {
    if ranges.is_empty() {
        return content;
    }
    let kept = |len: usize| {
        let mut at = 0;
        let mut keep = Vec::with_capacity(ranges.len() + 1);
        for r in ranges {
            keep.push(at..r.start);
            at = r.end;
        }
        keep.push(at..len);
        keep
    };
    match content {
        Cow::Borrowed(b) => {
            let keep = kept(b.len());
            let len = keep.iter().map(|r| r.len()).sum();
            let mut out = Vec::with_capacity(len);
            for r in keep {
                out.extend_from_slice(&b[r]);
            }
            Cow::Owned(out)
        }
        Cow::Owned(mut v) => {
            let mut to = 0;
            for r in kept(v.len()) {
                let n = r.len();
                v.copy_within(r, to);
                to += n;
            }
            v.truncate(to);
            Cow::Owned(v)
        }
    }
}
