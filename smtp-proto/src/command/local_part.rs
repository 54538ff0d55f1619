//! The local part of a mailbox (RFC 5321 §4.1.2 `Local-part`, RFC 6531 §3.3).

use super::chars::{is_atext, is_deceptive};
use super::error::{AddressError, AddressErrorKind};

/// RFC 5321 §4.5.3.1.1: the maximum length of a local part, quotes included.
pub const MAX_LOCAL_PART_LEN: usize = 64;

/// Reads the local part at the start of `s` and returns the offset of the `@` after it.
/// `s` must already be free of control characters.
///
/// `Local-part = Dot-string / Quoted-string`. The `@` cannot appear in a dot-string, so
/// the first `@` ends it; in a quoted string it may appear, so the closing quote does.
pub(crate) fn parse(s: &str) -> Result<usize, AddressError> {
    let at = if s.starts_with('"') {
        quoted_string(s)?
    } else {
        dot_string(s)?
    };
    if at > MAX_LOCAL_PART_LEN {
        return Err(AddressError::new(
            AddressErrorKind::TooLong {
                limit: MAX_LOCAL_PART_LEN,
            },
            MAX_LOCAL_PART_LEN,
        ));
    }
    match s.as_bytes().get(at) {
        Some(b'@') => Ok(at),
        Some(_) => Err(AddressError::new(AddressErrorKind::InvalidCharacter, at)),
        None => Err(AddressError::new(AddressErrorKind::MissingAt, at)),
    }
}

/// `Dot-string = Atom *("." Atom)`, `Atom = 1*atext`, with RFC 6531's `UTF8-non-ascii`
/// added to `atext`. Returns the offset where it stops (at an `@` or the end).
fn dot_string(s: &str) -> Result<usize, AddressError> {
    let local = |i| AddressError::new(AddressErrorKind::InvalidLocalPart, i);
    let mut prev_dot = true; // at the start, a dot would begin an empty atom
    for (i, c) in s.char_indices() {
        match c {
            '@' => {
                if i == 0 {
                    // "@b": nothing before the `@`.
                    return Err(local(0));
                }
                if prev_dot {
                    // "a.@b": point at the trailing dot.
                    return Err(local(i - 1));
                }
                return Ok(i);
            }
            '.' => {
                if prev_dot {
                    // Leading or doubled dot: ".a@b", "a..b@c".
                    return Err(local(i));
                }
                prev_dot = true;
            }
            c if c.is_ascii() && is_atext(c as u8) => prev_dot = false,
            c if !c.is_ascii() && !is_deceptive(c) => prev_dot = false,
            _ => return Err(AddressError::new(AddressErrorKind::InvalidCharacter, i)),
        }
    }
    // No `@`: the caller reports it as missing.
    Ok(s.len())
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE` where `qtextSMTP` is printable ASCII but
/// `"` and `\` (plus RFC 6531's `UTF8-non-ascii`) and `quoted-pairSMTP = "\" %d32-126`.
/// Returns the offset just past the closing quote.
fn quoted_string(s: &str) -> Result<usize, AddressError> {
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok(i + 1),
            '\\' => match chars.next() {
                Some((_, ' '..='~')) => {}
                Some((j, _)) => {
                    return Err(AddressError::new(AddressErrorKind::InvalidCharacter, j))
                }
                None => break,
            },
            c if c.is_ascii() || !is_deceptive(c) => {}
            _ => return Err(AddressError::new(AddressErrorKind::InvalidCharacter, i)),
        }
    }
    // No closing quote.
    Err(AddressError::new(
        AddressErrorKind::InvalidLocalPart,
        s.len(),
    ))
}
