//! Server replies: reading them from the byte stream, and what they say.
//!
//! The client reads the server's bytes, in chunks of any size, into [`Reply`] values
//! (RFC 5321 §4.2), within [`ReplyLimits`]. A reply keeps its code, its
//! [`EnhancedStatus`] when it has one (RFC 2034), and the raw bytes of its text.

mod code;
mod enhanced;
mod error;
mod parse;
mod reader;
mod recent;

pub use self::code::ReplyCode;
pub use self::enhanced::EnhancedStatus;
pub use self::error::ReplyError;
pub(crate) use self::parse::WholeLine;
pub use self::reader::ReplyLimits;
unstable_pub! { pub use self::reader::ReplyReader; }
pub use crate::escape::Escaped;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

/// One complete server reply: a code and one or more lines of text.
///
/// Text is kept as the server sent it, NUL and invalid UTF-8 included; it never contains
/// CR or LF. Display it with `{}`, which escapes every control byte.
#[derive(Clone)]
pub struct Reply {
    code: ReplyCode,
    enhanced: Option<EnhancedStatus>,
    /// The reply as it came off the wire, codes and line ends included (or, for
    /// [`Reply::new`], as it would be written). One copy of the input, with no per-line
    /// work: the lines are found again when asked for ([`line_ranges`]), which is rare
    /// next to reading replies. Shared: the event carrying a reply and the report
    /// keeping it hold one copy, so a clone costs no allocation.
    wire: Arc<[u8]>,
    line_count: usize,
}

impl Reply {
    /// Builds a reply, e.g. for tests or a server-side writer.
    ///
    /// `lines` holds the text of each line, without code or separator. Fails with
    /// [`ReplyError::Malformed`] when there is no line or a line contains CR or LF.
    pub fn new(code: ReplyCode, lines: &[&[u8]]) -> Result<Reply, ReplyError> {
        if lines.is_empty() {
            return Err(ReplyError::Malformed {
                reason: "a reply has at least one line",
            });
        }
        if lines
            .iter()
            .any(|line| memchr::memchr2(b'\r', b'\n', line).is_some())
        {
            return Err(ReplyError::Malformed {
                reason: "CR or LF in reply text",
            });
        }
        let mut wire = Vec::new();
        encode_lines(code, lines.iter().copied(), lines.len(), &mut wire);
        let enhanced = lines.first().and_then(|first| enhanced_of(code, first));
        Ok(Self::from_wire(code, enhanced, wire.into(), lines.len()))
    }

    /// `wire` holds `line_count` well-formed reply lines of code `code`, each ending
    /// with LF or CRLF, with no other CR; `enhanced` is [`enhanced_of`] its first line.
    pub(crate) fn from_wire(
        code: ReplyCode,
        enhanced: Option<EnhancedStatus>,
        wire: Arc<[u8]>,
        line_count: usize,
    ) -> Self {
        Reply {
            code,
            enhanced,
            wire,
            line_count,
        }
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code at the start of the first line (RFC 2034 §4), when its
    /// class equals the code's first digit.
    pub fn enhanced(&self) -> Option<EnhancedStatus> {
        self.enhanced
    }

    /// The text of each line after `NNN-`, `NNN ` or `NNN`, as raw bytes (an enhanced
    /// status code stays in the text).
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        line_ranges(&self.wire).map(|range| self.wire.get(range).unwrap_or(&[]))
    }

    /// How many lines the reply has (at least one).
    pub fn line_count(&self) -> usize {
        self.line_count
    }

    /// The text of the first line.
    pub fn first_line(&self) -> &[u8] {
        self.lines().next().unwrap_or(&[])
    }

    /// The lines joined with `\n`, invalid UTF-8 replaced by U+FFFD.
    ///
    /// Control bytes are kept: use `Display` for text that goes to a terminal or a log.
    pub fn text_lossy(&self) -> String {
        let mut text = Vec::with_capacity(self.wire.len());
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                text.push(b'\n');
            }
            text.extend_from_slice(line);
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// 2xx: the command succeeded.
    pub fn is_positive(&self) -> bool {
        self.code.is_positive()
    }

    /// 3xx: the server waits for more input.
    pub fn is_intermediate(&self) -> bool {
        self.code.is_intermediate()
    }

    /// 4xx: a transient failure.
    pub fn is_transient(&self) -> bool {
        self.code.is_transient()
    }

    /// 5xx: a permanent failure.
    pub fn is_permanent(&self) -> bool {
        self.code.is_permanent()
    }

    /// Appends the reply in wire form (RFC 5321 §4.2), each line ending with CRLF.
    ///
    /// A last line without text is written `NNN` with no space, as the grammar has it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_lines(self.code, self.lines(), self.line_count, out);
    }
}

/// Two replies are equal when their codes and the text of their lines are: how the
/// server ended its lines (CRLF or LF) or wrote an empty last line (`250` or `250 `)
/// does not matter.
impl PartialEq for Reply {
    fn eq(&self, other: &Reply) -> bool {
        self.code == other.code
            && self.enhanced == other.enhanced
            && self.line_count == other.line_count
            && self.lines().eq(other.lines())
    }
}

impl Eq for Reply {}

/// Writes `count` lines of text as reply lines of `code` (RFC 5321 §4.2): `NNN-text`
/// before the last, `NNN text` (or `NNN` when empty) last, each ending with CRLF.
fn encode_lines<'a>(
    code: ReplyCode,
    lines: impl Iterator<Item = &'a [u8]>,
    count: usize,
    out: &mut Vec<u8>,
) {
    let digits = code.to_digits();
    let last = count.saturating_sub(1);
    for (i, line) in lines.enumerate() {
        out.reserve(line.len() + 6);
        out.extend_from_slice(&digits);
        if i < last {
            out.push(b'-');
        } else if !line.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
}

/// The range of each line's text in `wire`, reply lines as [`Reply`] keeps them: past
/// the code and its separator, before the line end. A CR only ever comes right before
/// an LF there, so stripping one CR before each LF gives the text back.
pub(crate) fn line_ranges(wire: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut pos = 0;
    core::iter::from_fn(move || {
        let line = wire.get(pos..).filter(|rest| !rest.is_empty())?;
        let lf = memchr::memchr(b'\n', line).unwrap_or(line.len());
        let end = if lf > 0 && line.get(lf - 1) == Some(&b'\r') {
            lf - 1
        } else {
            lf
        };
        // `NNN-text`, `NNN text`, or a bare `NNN`.
        let start = end.min(4);
        let range = pos + start..pos + end;
        pos += lf + 1;
        Some(range)
    })
}

/// The enhanced status of a reply whose first line's text is `first`.
///
/// RFC 2034 §4: the status code starts the text; RFC 3463 §2 requires its class to match
/// the reply's first digit, else it is ordinary text.
pub(crate) fn enhanced_of(code: ReplyCode, first: &[u8]) -> Option<EnhancedStatus> {
    // Cheap pre-check: most lines without a status start with a letter.
    if !matches!(first.first(), Some(b'2' | b'4' | b'5')) {
        return None;
    }
    EnhancedStatus::parse_prefix(first)
        .map(|(status, _)| status)
        .filter(|status| status.class() == code.class())
}

/// Shows the lines as escaped strings, so that `{:?}` of server text is readable and as
/// safe for a terminal as `{}`.
impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct LinesDebug<'a>(&'a Reply);
        impl fmt::Debug for LinesDebug<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.lines().map(Escaped)).finish()
            }
        }
        f.debug_struct("Reply")
            .field("code", &self.code.get())
            .field("enhanced", &self.enhanced)
            .field("lines", &LinesDebug(self))
            .finish()
    }
}

/// The code and text, one line per reply line as on the wire (`250-a`, `250 b`), with
/// every control byte, invalid UTF-8 and terminal escape written as an escape.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.line_count.saturating_sub(1);
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let sep = if i < last { "-" } else { " " };
            write!(f, "{}{sep}", self.code)?;
            crate::escape::escape_bytes(line, f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn reply(code: u16, lines: &[&[u8]]) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), lines).unwrap()
    }

    #[test]
    fn accessors() {
        let r = reply(550, &[b"5.1.1 <x@y>: unknown", b"second"]);
        assert_eq!(r.code(), ReplyCode::MAILBOX_UNAVAILABLE);
        assert_eq!(r.enhanced().unwrap().to_string(), "5.1.1");
        assert_eq!(r.line_count(), 2);
        assert_eq!(
            r.lines().collect::<Vec<_>>(),
            vec![&b"5.1.1 <x@y>: unknown"[..], b"second"]
        );
        assert_eq!(r.text_lossy(), "5.1.1 <x@y>: unknown\nsecond");
        assert!(r.is_permanent() && !r.is_transient() && !r.is_positive());
    }

    #[test]
    fn enhanced_only_when_class_matches() {
        assert!(reply(250, &[b"2.0.0 Ok"]).enhanced().is_some());
        assert!(reply(250, &[b"5.0.0 Ok"]).enhanced().is_none());
        assert!(reply(354, &[b"2.0.0 go"]).enhanced().is_none());
        // Only the first line is looked at.
        assert!(reply(250, &[b"x", b"2.0.0 Ok"]).enhanced().is_none());
    }

    #[test]
    fn empty_lines() {
        let r = reply(250, &[b""]);
        assert_eq!(r.line_count(), 1);
        assert_eq!(r.lines().collect::<Vec<_>>(), vec![&b""[..]]);
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out, b"250\r\n");
        let r = reply(250, &[b"", b""]);
        out.clear();
        r.encode(&mut out);
        assert_eq!(out, b"250-\r\n250\r\n");
    }

    /// Equality is the code and the text of every line: a reply that differs in any of
    /// them alone is another reply.
    #[test]
    fn replies_differing_in_code_or_any_line_are_not_equal() {
        let base = reply(250, &[b"a", b"b"]);
        assert_eq!(base, reply(250, &[b"a", b"b"]));
        assert_ne!(base, reply(251, &[b"a", b"b"]), "code");
        assert_ne!(base, reply(250, &[b"a", b"c"]), "last line");
        assert_ne!(base, reply(250, &[b"a"]), "one line fewer");
        assert_ne!(base, reply(250, &[b"a", b"b", b""]), "one empty line more");
        assert_ne!(
            reply(550, &[b"5.1.1 no such user"]),
            reply(550, &[b"4.2.2 no such user"]),
            "enhanced status"
        );
    }

    #[test]
    fn new_rejects_line_breaks_and_no_lines() {
        let code = ReplyCode::OK;
        assert!(Reply::new(code, &[]).is_err());
        assert!(Reply::new(code, &[b"a\rb"]).is_err());
        assert!(Reply::new(code, &[b"ok", b"a\n250 forged"]).is_err());
    }

    #[test]
    fn encode_wire_form() {
        let mut out = Vec::new();
        reply(250, &[b"mx", b"SIZE 10", b"8BITMIME"]).encode(&mut out);
        assert_eq!(out, b"250-mx\r\n250-SIZE 10\r\n250 8BITMIME\r\n");
    }

    #[test]
    fn debug_is_readable_and_escaped() {
        let r = reply(250, &[b"a\x1b", b"b"]);
        assert_eq!(
            alloc::format!("{r:?}"),
            r#"Reply { code: 250, enhanced: None, lines: ["a\x1b", "b"] }"#
        );
    }

    #[test]
    fn display_escapes() {
        let r = reply(550, &[b"bad \x1b[2J\x00", b"\xff end"]);
        assert_eq!(r.to_string(), "550-bad \\x1b[2J\\x00\n550 \\xff end");
    }
}
