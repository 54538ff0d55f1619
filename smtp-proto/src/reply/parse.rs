//! The grammar of one reply line, once the framer has removed its line end.
//!
//! RFC 5321 §4.2: `Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//! Reply-code [ SP textstring ] CRLF`. Text is kept as raw bytes: servers send NUL,
//! 8-bit and invalid UTF-8, and the client acts on the code, never on the text
//! (RFC 5321 §4.2.1). Only a CR inside a line is refused, since RFC 5321 §2.3.8 allows
//! CR solely as part of CRLF and a stray CR could not be written back out as it came;
//! the reader checks that once per reply ([`has_bare_cr`]), not once per line.

use nom::bytes::complete::take;
use nom::IResult;

/// A reply line split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplyLine<'a> {
    /// The three digits as a number; not yet checked against the code grammar, so that a
    /// continuation line can report the code it carried.
    pub code: u16,
    /// `-` followed the code: more lines follow.
    pub more: bool,
    /// Everything after the separator.
    pub text: &'a [u8],
}

/// Splits `line` (without its line end) into code, separator and text.
pub(crate) fn reply_line(line: &[u8]) -> Result<ReplyLine<'_>, &'static str> {
    let (rest, code) = three_digits(line).map_err(|_| "reply code is not three digits")?;
    let (more, text) = match rest.split_first() {
        None => (false, rest),
        Some((b' ', text)) => (false, text),
        Some((b'-', text)) => (true, text),
        Some(_) => return Err("reply code not followed by SP, \"-\" or the line end"),
    };
    Ok(ReplyLine { code, more, text })
}

/// The reason given when reply text holds a CR.
pub(crate) const BARE_CR: &str = "CR inside a reply line";

/// Whether reply text (lines joined, line ends removed) holds a CR.
pub(crate) fn has_bare_cr(text: &[u8]) -> bool {
    memchr::memchr(b'\r', text).is_some()
}

fn three_digits(input: &[u8]) -> IResult<&[u8], u16, ()> {
    let (rest, digits) = take(3usize)(input)?;
    match *digits {
        [a @ b'0'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => Ok((
            rest,
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        )),
        _ => Err(nom::Err::Error(())),
    }
}

#[cfg(test)]
mod tests {
    use super::{reply_line, ReplyLine};

    fn ok(line: &[u8], code: u16, more: bool, text: &[u8]) {
        assert_eq!(reply_line(line), Ok(ReplyLine { code, more, text }));
    }

    #[test]
    fn forms() {
        ok(b"250 Ok", 250, false, b"Ok");
        ok(b"250-PIPELINING", 250, true, b"PIPELINING");
        ok(b"250", 250, false, b"");
        ok(b"250 ", 250, false, b"");
        ok(b"250-", 250, true, b"");
        ok(b"250  two spaces", 250, false, b" two spaces");
        ok(b"550 \x00\xff\x1b[31m", 550, false, b"\x00\xff\x1b[31m");
        // The digits are checked against the code grammar by the reader, not here.
        ok(b"999 x", 999, false, b"x");
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"2",
            b"25",
            b"25 ok",
            b"2500 ok",
            b"250ok",
            b"250\tok",
            b"abc ok",
            b" 250 ok",
        ] {
            assert!(reply_line(bad).is_err(), "{:?}", crate::reply::Escaped(bad));
        }
    }

    #[test]
    fn bare_cr() {
        assert!(super::has_bare_cr(b"a\rb"));
        assert!(super::has_bare_cr(b"ok\r"));
        assert!(!super::has_bare_cr(b"ok\n250 x"));
    }
}
