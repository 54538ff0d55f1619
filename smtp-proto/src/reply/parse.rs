//! The grammar of one reply line, once the framer has removed its line end.
//!
//! RFC 5321 §4.2: `Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//! Reply-code [ SP textstring ] CRLF`. Text is kept as raw bytes: servers send NUL,
//! 8-bit and invalid UTF-8, and the client acts on the code, never on the text
//! (RFC 5321 §4.2.1). Only a CR inside a line is refused, since RFC 5321 §2.3.8 allows
//! CR solely as part of CRLF and a stray CR could not be written back out as it came;
//! the reader checks that once per reply ([`has_bare_cr`]), not once per line.

use super::{enhanced_of, LineEnds, Reply, ReplyCode, ReplyLimits};
use alloc::boxed::Box;
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

/// The fast path of the reply reader: a whole reply that lies in `input` and breaks no
/// rule, read in one pass without the framer or nom. Returns the reply and the octets it
/// took, or `None` for anything else (incomplete, malformed, over a limit), which the
/// caller then hands to the general path, the framer plus the nom grammar, which judges
/// it and names the error. So this function only
/// has to be right when it says yes; `tests::fast_path_agrees_with_grammar` checks that
/// it then returns exactly what the general path would.
///
/// The rules it checks are the framer's and [`reply_line`]'s: a line ends at LF with an
/// optional CR before it, a CR anywhere else is refused, each line's wire length is at
/// most `max_line`, the reply at most `max_bytes` and `max_lines`; every line is three
/// digits then SP, `-` or the line end, with the first line's code on all of them.
pub(crate) fn whole_reply(input: &[u8], limits: &ReplyLimits) -> Option<(Reply, usize)> {
    let mut lines = 0;
    let mut pos = 0;
    // The first line's three digits as read (low 24 bits, little endian): later lines
    // must carry the same octets, which needs no decimal conversion per line.
    let mut first_digits = 0u32;
    // (start, end) of the first line's text in `input`, for its enhanced status.
    let mut first = (0, 0);
    let mut ends = LineEnds::default();
    // Every octet of the reply ORed together: no high bit means ASCII, so UTF-8.
    let mut high = 0u64;
    loop {
        let line = input.get(pos..)?;
        // Code and separator in one load: `NNN-`, `NNN ` or `NNN` plus a line end.
        let head = u32::from_le_bytes(line.get(..4)?.try_into().ok()?);
        let digits = head & 0x00ff_ffff;
        if crate::line::non_digits(u64::from(digits)) & 0x00f0_f0f0 != 0 {
            return None;
        }
        // Nothing past the line limit is scanned: such a line is an error anyway.
        let after_code = line.get(3..)?;
        let window = after_code
            .get(..limits.max_line.saturating_sub(3))
            .unwrap_or(after_code);
        let end = 3 + crate::line::find2_seen(window, b'\n', b'\r', &mut high)?;
        let wire = match (line.get(end), line.get(end + 1)) {
            (Some(b'\n'), _) => end + 1,
            (Some(b'\r'), Some(b'\n')) => end + 2,
            // A bare CR, or a CR that may be the first half of a CRLF still to come.
            _ => return None,
        };
        let (more, text_start) = match (head >> 24) as u8 {
            _ if end == 3 => (false, 3),
            b' ' => (false, 4),
            b'-' => (true, 4),
            _ => return None,
        };
        if lines == 0 {
            first_digits = digits;
            first = (text_start, end);
        } else if digits != first_digits {
            return None;
        }
        if lines >= limits.max_lines || wire > limits.max_line {
            return None;
        }
        lines += 1;
        pos += wire;
        ends.push(pos - 1);
        if pos > limits.max_bytes {
            return None;
        }
        if !more {
            break;
        }
    }
    let reply = input.get(..pos)?;
    let [a, b, c, _] = first_digits.to_le_bytes();
    let number = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    let code = ReplyCode::new(number)?;
    let enhanced = enhanced_of(code, input.get(first.0..first.1)?);
    // The wire bytes are kept as they are: one copy, no per-line work.
    let wire = Box::from(reply);
    let ascii = high & 0x8080_8080_8080_8080 == 0;
    Some((
        Reply::from_wire(code, enhanced, wire, lines, ends, ascii),
        pos,
    ))
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
