//! The reply grammar, and the one fast path beside it.
//!
//! RFC 5321 §4.2: `Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//! Reply-code [ SP textstring ] CRLF`. The framer ([`crate::line`]) cuts the stream into
//! lines; [`reply_line`], written with nom, splits each into code, separator and text.
//! Text is kept as raw bytes: servers send NUL, 8-bit and invalid UTF-8, and the client
//! acts on the code, never on the text (RFC 5321 §4.2.1). Only a CR inside a line is
//! refused, since RFC 5321 §2.3.8 allows CR solely as part of CRLF and a stray CR could
//! not be written back out as it came.
//!
//! [`whole_line`] reads the replies a session gets per message (`250 2.0.0 Ok`) without
//! the framer; the reader's `fast_path_agrees_with_grammar` test keeps it equal to the
//! grammar.

use super::{enhanced_of, Reply, ReplyCode, ReplyLimits};
use alloc::sync::Arc;
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::combinator::{eof, value};
use nom::{IResult, Parser};

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
    let (text, more) =
        separator(rest).map_err(|_| "reply code not followed by SP, \"-\" or the line end")?;
    Ok(ReplyLine { code, more, text })
}

/// `Reply-code`: three digits, as a number.
fn three_digits(input: &[u8]) -> IResult<&[u8], u16, ()> {
    let (rest, digits) = take_while_m_n(3, 3, |b: u8| b.is_ascii_digit())(input)?;
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok((rest, code))
}

/// `"-"` (more lines follow), `SP`, or the end of the line; true for `"-"`.
fn separator(input: &[u8]) -> IResult<&[u8], bool, ()> {
    alt((
        value(true, tag(&b"-"[..])),
        value(false, tag(&b" "[..])),
        value(false, eof),
    ))
    .parse(input)
}

/// The reason given when reply text holds a CR.
pub(crate) const BARE_CR: &str = "CR inside a reply line";

/// Whether a line's text (line end removed) holds a CR.
pub(crate) fn has_bare_cr(text: &[u8]) -> bool {
    memchr::memchr(b'\r', text).is_some()
}

/// The fast path of the reply reader: a whole one-line reply at the front of `input`
/// that breaks no rule, or `None` for anything else (a multiline reply, incomplete,
/// malformed, over a limit), which the caller hands to the grammar, which judges it and
/// names the error. So this only has to be right when it says yes.
///
/// The rules are the framer's and [`reply_line`]'s: the line ends at LF with an optional
/// CR before it and holds no other CR; it takes at most `max_line` and `max_bytes`
/// octets; it is three digits of a valid code, then SP or the line end.
#[inline]
pub(crate) fn whole_line<'a>(input: &'a [u8], limits: &ReplyLimits) -> Option<WholeLine<'a>> {
    if limits.max_lines == 0 {
        return None;
    }
    // Nothing past the limits is scanned: such a line is an error anyway.
    let window = input
        .get(..limits.max_line.min(limits.max_bytes))
        .unwrap_or(input);
    let end = crate::swar::find2(window, b'\n', b'\r')?;
    let used = match (window.get(end), window.get(end + 1)) {
        (Some(b'\n'), _) => end + 1,
        (Some(b'\r'), Some(b'\n')) => end + 2,
        // A bare CR, or a CR that may be the first half of a CRLF still to come.
        _ => return None,
    };
    let line = window.get(..end)?;
    let (&[a, b, c], rest) = line.split_first_chunk::<3>()?;
    let text = match rest.split_first() {
        None => rest,
        Some((b' ', text)) => text,
        _ => return None,
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    let number = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    let code = ReplyCode::new(number)?;
    let wire = window.get(..used)?;
    Some(WholeLine { code, text, wire })
}

/// A whole one-line reply found by [`whole_line`], not copied yet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WholeLine<'a> {
    /// Its code.
    pub(crate) code: ReplyCode,
    /// Its text.
    pub(crate) text: &'a [u8],
    /// The line as it came, line end included: what it takes of the input.
    pub(crate) wire: &'a [u8],
}

impl WholeLine<'_> {
    /// The reply: one exact allocation.
    pub(crate) fn to_reply(self) -> Reply {
        let enhanced = enhanced_of(self.code, self.text);
        Reply::from_wire(self.code, enhanced, Arc::from(self.wire), 1)
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
