//! Safe display of bytes that came from the server.
//!
//! Reply text is attacker-controlled (security.md, "Hostile replies"): it may carry NUL,
//! invalid UTF-8, or terminal escape sequences that rewrite a log viewer's screen. Every
//! display of server text goes through [`escape_bytes`], which keeps printable text as is
//! and writes everything else as a visible escape.

use core::fmt;

/// Displays bytes with every control byte, invalid UTF-8 byte and terminal-affecting
/// character escaped, so that the output is safe to print to a terminal or a log.
///
/// - ASCII controls (`\x00`–`\x1f`, including ESC and TAB), DEL and each byte of invalid
///   UTF-8 become `\xHH`;
/// - `\` becomes `\\`, so an escape in the output is never ambiguous;
/// - C1 controls (U+0080–U+009F) and the Unicode bidirectional overrides and isolates
///   become `\u{HHHH}`.
///
/// ```
/// use smtp_proto::reply::Escaped;
/// assert_eq!(Escaped(b"ok\x1b[2J\xff").to_string(), r"ok\x1b[2J\xff");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape_bytes(self.0, f)
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        escape_bytes(self.0, f)?;
        f.write_str("\"")
    }
}

/// Writes `bytes` to `f` escaped as described on [`Escaped`].
pub(crate) fn escape_bytes(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        escape_str(chunk.valid(), f)?;
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

/// Writes valid UTF-8, copying runs of safe characters in one call (the common case is
/// a whole line with nothing to escape).
fn escape_str(s: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if is_safe(c) {
            continue;
        }
        f.write_str(s.get(start..i).unwrap_or(""))?;
        if c == '\\' {
            f.write_str("\\\\")?;
        } else if c.is_ascii() {
            write!(f, "\\x{:02x}", c as u32)?;
        } else {
            write!(f, "\\u{{{:04x}}}", c as u32)?;
        }
        start = i + c.len_utf8();
    }
    f.write_str(s.get(start..).unwrap_or(""))
}

fn is_safe(c: char) -> bool {
    match c {
        '\\' => false,
        ' '..='~' => true,
        // C0, DEL and C1 controls: ESC starts terminal sequences, C1 CSI (U+009B) too.
        c if c.is_control() => false,
        // Bidirectional embeddings, overrides and isolates reorder what a reader sees.
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::Escaped;
    use alloc::format;
    use alloc::string::ToString;

    #[test]
    fn printable_ascii_and_utf8_unchanged() {
        assert_eq!(Escaped(b"250 Ok queued").to_string(), "250 Ok queued");
        assert_eq!(
            Escaped("h\u{e9}llo \u{4e16}".as_bytes()).to_string(),
            "h\u{e9}llo \u{4e16}"
        );
    }

    #[test]
    fn controls_escaped() {
        assert_eq!(
            Escaped(b"a\x00b\tc\r\n\x7f").to_string(),
            r"a\x00b\x09c\x0d\x0a\x7f"
        );
        assert_eq!(
            Escaped(b"\x1b]0;pwned\x07").to_string(),
            r"\x1b]0;pwned\x07"
        );
    }

    #[test]
    fn c1_and_bidi_escaped() {
        assert_eq!(
            Escaped("x\u{9b}31m".as_bytes()).to_string(),
            r"x\u{009b}31m"
        );
        assert_eq!(
            Escaped("\u{202e}abc".as_bytes()).to_string(),
            r"\u{202e}abc"
        );
    }

    #[test]
    fn invalid_utf8_as_hex() {
        assert_eq!(Escaped(b"\xff\xc3(ok").to_string(), r"\xff\xc3(ok");
        // A truncated sequence at the end.
        assert_eq!(Escaped(b"ab\xe4\xb8").to_string(), r"ab\xe4\xb8");
    }

    #[test]
    fn backslash_doubled() {
        assert_eq!(Escaped(br"a\x00").to_string(), r"a\\x00");
    }

    #[test]
    fn debug_quotes() {
        assert_eq!(format!("{:?}", Escaped(b"a\x01")), r#""a\x01""#);
    }
}
