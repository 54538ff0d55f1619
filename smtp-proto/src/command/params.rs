//! ESMTP parameters of MAIL and RCPT: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030),
//! SMTPUTF8 (RFC 6531), the DSN parameters RET, ENVID, NOTIFY, ORCPT (RFC 3461) and
//! REQUIRETLS (RFC 8689).

use alloc::string::String;
use alloc::vec::Vec;

use super::chars::{check_len, reject_controls};
use super::error::{AddressError, AddressErrorKind};
use super::itoa::write_u64;
use super::path::Mailbox;
use super::xtext;

/// RFC 3461 §4.4: an ENVID is at most 100 characters before xtext encoding.
pub const MAX_ENVID_LEN: usize = 100;
/// RFC 3461 §4.2: the ORCPT value (`addr-type;xtext`) is at most 500 characters.
pub const MAX_ORCPT_LEN: usize = 500;

/// The `BODY=` parameter of MAIL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyType {
    /// `BODY=7BIT` (RFC 6152 §2): plain 7-bit content.
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152 §2): 8-bit MIME content in CRLF lines.
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030 §3): arbitrary bytes, sent with BDAT only.
    BinaryMime,
}

impl BodyType {
    /// The parameter value as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SevenBit => "7BIT",
            Self::EightBitMime => "8BITMIME",
            Self::BinaryMime => "BINARYMIME",
        }
    }
}

/// The `RET=` parameter of MAIL (RFC 3461 §4.3): how much of the message a failure
/// notice returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: the headers only.
    Headers,
}

impl Ret {
    /// The parameter value as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Headers => "HDRS",
        }
    }
}

/// The `NOTIFY=` parameter of RCPT (RFC 3461 §4.1): `NEVER`, or a non-empty combination
/// of `SUCCESS`, `FAILURE` and `DELAY`. Both constructors keep it so; no other value can
/// be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Notify {
    // Bit 0 success, 1 failure, 2 delay; 0 means NEVER.
    bits: u8,
}

impl Notify {
    const SUCCESS: u8 = 1;
    const FAILURE: u8 = 2;
    const DELAY: u8 = 4;

    /// `NOTIFY=NEVER`: no notification at all.
    pub const fn never() -> Self {
        Self { bits: 0 }
    }

    /// `NOTIFY=` the chosen conditions, in the order SUCCESS, FAILURE, DELAY. `None` when
    /// none is chosen: that is [`never`](Self::never), which must be asked for by name.
    pub const fn on(success: bool, failure: bool, delay: bool) -> Option<Self> {
        let mut bits = 0;
        if success {
            bits |= Self::SUCCESS;
        }
        if failure {
            bits |= Self::FAILURE;
        }
        if delay {
            bits |= Self::DELAY;
        }
        if bits == 0 {
            None
        } else {
            Some(Self { bits })
        }
    }

    /// Whether this is `NEVER`.
    pub const fn is_never(self) -> bool {
        self.bits == 0
    }

    /// Whether a success notice is asked for.
    pub const fn success(self) -> bool {
        self.bits & Self::SUCCESS != 0
    }

    /// Whether a failure notice is asked for.
    pub const fn failure(self) -> bool {
        self.bits & Self::FAILURE != 0
    }

    /// Whether a delay notice is asked for.
    pub const fn delay(self) -> bool {
        self.bits & Self::DELAY != 0
    }

    pub(crate) fn encode(self, out: &mut Vec<u8>) {
        if self.is_never() {
            out.extend_from_slice(b"NEVER");
            return;
        }
        let mut first = true;
        for (set, word) in [
            (self.success(), &b"SUCCESS"[..]),
            (self.failure(), b"FAILURE"),
            (self.delay(), b"DELAY"),
        ] {
            if set {
                if !first {
                    out.push(b',');
                }
                out.extend_from_slice(word);
                first = false;
            }
        }
    }
}

/// The `ENVID=` parameter of MAIL (RFC 3461 §4.4): an envelope identifier returned in
/// delivery status notifications.
///
/// Printable US-ASCII (space included), 1 to 100 characters; sent as xtext, so `+`, `=`
/// and space go out as `+2B`, `+3D`, `+20`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnvId(String);

impl EnvId {
    /// Checks `s` and builds an envelope identifier.
    ///
    /// # Errors
    /// A control character, [`Empty`](AddressErrorKind::Empty),
    /// [`TooLong`](AddressErrorKind::TooLong) over 100 octets, or
    /// [`InvalidCharacter`](AddressErrorKind::InvalidCharacter) at the first non-ASCII
    /// byte.
    pub fn new(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        check_len(s, MAX_ENVID_LEN)?;
        if let Some(i) = s.bytes().position(|b| !b.is_ascii()) {
            return Err(AddressError::new(AddressErrorKind::InvalidCharacter, i));
        }
        Ok(Self(String::from(s)))
    }

    /// The identifier as given, before xtext encoding.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        xtext::encode(out, self.0.as_bytes());
    }
}

/// The `ORCPT=` parameter of RCPT (RFC 3461 §4.2): the recipient's original address, as
/// the sender knew it, returned in delivery status notifications.
///
/// Two address types are offered. `rfc822` (RFC 3461) takes ASCII only; non-ASCII
/// addresses use the `utf-8` type with `utf-8-addr-xtext` (RFC 6533 §3), which escapes
/// every non-ASCII character as `\x{HEX}` and so stays ASCII: it can be sent whether or
/// not the server offers SMTPUTF8. [`Orcpt::for_mailbox`] picks the right one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Orcpt {
    addr_type: OrcptType,
    address: String,
}

/// The address type of an [`Orcpt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrcptType {
    /// `rfc822`: an ASCII Internet mail address (RFC 3461 §4.2).
    Rfc822,
    /// `utf-8`: an internationalised address (RFC 6533 §3).
    Utf8,
}

impl OrcptType {
    /// The addr-type as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rfc822 => "rfc822",
            Self::Utf8 => "utf-8",
        }
    }
}

impl Orcpt {
    /// `ORCPT=rfc822;<xtext>` for an ASCII address. The address is not required to be a
    /// valid [`Mailbox`] (it is the original, possibly foreign, form), only printable.
    ///
    /// # Errors
    /// A control character, [`Empty`](AddressErrorKind::Empty),
    /// [`InvalidCharacter`](AddressErrorKind::InvalidCharacter) at the first non-ASCII
    /// byte (use [`Orcpt::utf8`]), or [`TooLong`](AddressErrorKind::TooLong) when the
    /// encoded value exceeds 500 octets.
    pub fn rfc822(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        check_len(s, usize::MAX)?;
        if let Some(i) = s.bytes().position(|b| !b.is_ascii()) {
            return Err(AddressError::new(AddressErrorKind::InvalidCharacter, i));
        }
        let encoded = OrcptType::Rfc822.as_str().len() + 1 + xtext::encoded_len(s.as_bytes());
        Self::build(OrcptType::Rfc822, s, encoded)
    }

    /// `ORCPT=utf-8;<utf-8-addr-xtext>` for any address, ASCII or not (RFC 6533 §3).
    ///
    /// # Errors
    /// A control character, [`Empty`](AddressErrorKind::Empty), or
    /// [`TooLong`](AddressErrorKind::TooLong) when the encoded value exceeds 500 octets.
    pub fn utf8(s: &str) -> Result<Self, AddressError> {
        reject_controls(s)?;
        check_len(s, usize::MAX)?;
        let encoded = OrcptType::Utf8.as_str().len() + 1 + xtext::utf8_addr_encoded_len(s);
        Self::build(OrcptType::Utf8, s, encoded)
    }

    /// The ORCPT for a mailbox: `rfc822` if it is ASCII, `utf-8` otherwise.
    ///
    /// # Errors
    /// [`TooLong`](AddressErrorKind::TooLong) when the encoded value exceeds 500 octets,
    /// which a heavily escaped non-ASCII mailbox can.
    pub fn for_mailbox(m: &Mailbox) -> Result<Self, AddressError> {
        if m.needs_smtputf8() {
            Self::utf8(m.as_str())
        } else {
            Self::rfc822(m.as_str())
        }
    }

    fn build(addr_type: OrcptType, s: &str, encoded: usize) -> Result<Self, AddressError> {
        if encoded > MAX_ORCPT_LEN {
            // The input offset where the limit is crossed is not meaningful after
            // escaping; report the end of the input.
            return Err(AddressError::new(
                AddressErrorKind::TooLong {
                    limit: MAX_ORCPT_LEN,
                },
                s.len(),
            ));
        }
        Ok(Self {
            addr_type,
            address: String::from(s),
        })
    }

    /// The address type.
    pub fn addr_type(&self) -> OrcptType {
        self.addr_type
    }

    /// The address as given, before encoding.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.addr_type.as_str().as_bytes());
        out.push(b';');
        match self.addr_type {
            OrcptType::Rfc822 => xtext::encode(out, self.address.as_bytes()),
            OrcptType::Utf8 => xtext::encode_utf8_addr(out, &self.address),
        }
    }
}

/// The parameters of one MAIL command, written in this order after the path:
/// `SIZE`, `BODY`, `SMTPUTF8`, `RET`, `ENVID`, `REQUIRETLS`.
///
/// The encoder writes what is set; deciding that the server offers each extension is the
/// client's job (RFC 5321 §4.1.1.2: parameters only for advertised extensions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailParams {
    /// `SIZE=n`, the message size in octets (RFC 1870 §6).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531 §3.4): required when an address or header needs UTF-8.
    pub smtputf8: bool,
    /// `RET=` (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 §4.4).
    pub envid: Option<EnvId>,
    /// `REQUIRETLS` (RFC 8689 §4.1).
    pub requiretls: bool,
}

impl MailParams {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        if let Some(size) = self.size {
            out.extend_from_slice(b" SIZE=");
            write_u64(out, size);
        }
        if let Some(body) = self.body {
            out.extend_from_slice(b" BODY=");
            out.extend_from_slice(body.as_str().as_bytes());
        }
        if self.smtputf8 {
            out.extend_from_slice(b" SMTPUTF8");
        }
        if let Some(ret) = self.ret {
            out.extend_from_slice(b" RET=");
            out.extend_from_slice(ret.as_str().as_bytes());
        }
        if let Some(envid) = &self.envid {
            out.extend_from_slice(b" ENVID=");
            envid.encode(out);
        }
        if self.requiretls {
            out.extend_from_slice(b" REQUIRETLS");
        }
    }
}

/// The parameters of one RCPT command, written in this order after the path:
/// `NOTIFY`, `ORCPT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RcptParams {
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<Orcpt>,
}

impl RcptParams {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        if let Some(notify) = self.notify {
            out.extend_from_slice(b" NOTIFY=");
            notify.encode(out);
        }
        if let Some(orcpt) = &self.orcpt {
            out.extend_from_slice(b" ORCPT=");
            orcpt.encode(out);
        }
    }
}
