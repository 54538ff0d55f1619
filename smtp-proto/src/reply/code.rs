//! The three-digit reply code (RFC 5321 §4.2, §4.2.1).

use core::fmt;

/// A reply code: `Reply-code = %x32-35 %x30-35 %x30-39` (RFC 5321 §4.2).
///
/// The first digit says whether the command succeeded (2), needs more input (3), failed
/// transiently (4) or failed permanently (5); RFC 5321 §4.2.1 tells clients to act on it
/// when they do not know the whole code. Codes outside the grammar cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 220 `<domain>` Service ready.
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221 `<domain>` Service closing transmission channel.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954 §6).
    pub const AUTH_OK: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 251 User not local; will forward.
    pub const USER_NOT_LOCAL: ReplyCode = ReplyCode(251);
    /// 252 Cannot VRFY user, but will accept message.
    pub const CANNOT_VERIFY: ReplyCode = ReplyCode(252);
    /// 334 Server challenge during AUTH (RFC 4954 §4).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input; end with `<CRLF>.<CRLF>`.
    pub const START_INPUT: ReplyCode = ReplyCode(354);
    /// 421 Service not available, closing transmission channel (RFC 5321 §3.8).
    pub const SERVICE_UNAVAILABLE: ReplyCode = ReplyCode(421);
    /// 450 Mailbox unavailable (busy or blocked), try again later.
    pub const MAILBOX_BUSY: ReplyCode = ReplyCode(450);
    /// 451 Local error in processing.
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452 Insufficient system storage, or too many recipients (RFC 5321 §4.5.3.1.10).
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 454 TLS or authentication temporarily unavailable (RFC 3207, RFC 4954).
    pub const TEMPORARY_AUTH_FAILURE: ReplyCode = ReplyCode(454);
    /// 500 Syntax error, command unrecognized.
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments.
    pub const PARAMETER_ERROR: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented.
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 530 Authentication required (RFC 4954 §6).
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    /// 535 Authentication credentials invalid (RFC 4954 §6).
    pub const AUTH_FAILED: ReplyCode = ReplyCode(535);
    /// 550 Mailbox unavailable.
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 552 Exceeded storage allocation (RFC 1870: message too large).
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 554 Transaction failed.
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);

    /// The code `code`, when its digits match `%x32-35 %x30-35 %x30-39`.
    pub const fn new(code: u16) -> Option<Self> {
        let (first, second, third) = (code / 100, code / 10 % 10, code % 10);
        if first >= 2 && first <= 5 && second <= 5 && third <= 9 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// The code as a number, e.g. 250.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The first digit: 2, 3, 4 or 5.
    pub const fn class(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// 2xx: the command succeeded.
    pub const fn is_positive(self) -> bool {
        self.class() == 2
    }

    /// 3xx: the server waits for more input.
    pub const fn is_intermediate(self) -> bool {
        self.class() == 3
    }

    /// 4xx: a transient failure; the same command may succeed later.
    pub const fn is_transient(self) -> bool {
        self.class() == 4
    }

    /// 5xx: a permanent failure.
    pub const fn is_permanent(self) -> bool {
        self.class() == 5
    }

    /// The three ASCII digits, as sent on the wire.
    pub const fn to_digits(self) -> [u8; 3] {
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<ReplyCode> for u16 {
    fn from(code: ReplyCode) -> u16 {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::ReplyCode;
    use alloc::string::ToString;

    #[test]
    fn grammar_bounds() {
        assert_eq!(ReplyCode::new(200).map(ReplyCode::get), Some(200));
        assert_eq!(ReplyCode::new(559).map(ReplyCode::get), Some(559));
        for bad in [0, 99, 199, 160, 260, 299, 600, 999, 1250, u16::MAX] {
            assert_eq!(ReplyCode::new(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_valid_code_is_accepted_and_only_those() {
        let mut count = 0;
        for n in 0..=u16::MAX {
            if let Some(code) = ReplyCode::new(n) {
                count += 1;
                assert_eq!(
                    code.to_digits(),
                    *code.to_string().as_bytes().first_chunk().unwrap()
                );
            }
        }
        assert_eq!(count, 4 * 6 * 10);
    }

    #[test]
    fn classes() {
        assert!(ReplyCode::OK.is_positive());
        assert!(ReplyCode::START_INPUT.is_intermediate());
        assert!(ReplyCode::SERVICE_UNAVAILABLE.is_transient());
        assert!(ReplyCode::MAILBOX_UNAVAILABLE.is_permanent());
        assert_eq!(ReplyCode::AUTH_OK.class(), 2);
        assert_eq!(ReplyCode::CLOSING.to_string(), "221");
    }

    #[test]
    fn into_u16_is_the_code() {
        assert_eq!(u16::from(ReplyCode::CLOSING), 221);
        assert_eq!(u16::from(ReplyCode::new(554).unwrap()), 554);
    }
}
