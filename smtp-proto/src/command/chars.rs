//! Character classes shared by the argument grammars, and the control-byte scan that
//! runs before any grammar.

use super::error::{AddressError, AddressErrorKind};

/// Refuses the first control character in `s`: C0 (which includes CR, LF and NUL), DEL,
/// and C1 (U+0080..=U+009F, encoded in UTF-8 as `C2 80`..`C2 9F`).
///
/// This runs on the whole input before any grammar so that an injection attempt is always
/// reported as [`AddressErrorKind::ControlCharacter`] at the position of the control byte,
/// whatever else is wrong with the value (RFC 5321 §2.3.8: CR and LF only as a pair, and
/// only as the line end the encoder adds).
pub(crate) fn reject_controls(s: &str) -> Result<(), AddressError> {
    let bytes = s.as_bytes();
    let mut prev = 0u8;
    for (i, &b) in bytes.iter().enumerate() {
        if b < 0x20 || b == 0x7f {
            return Err(AddressError::new(AddressErrorKind::ControlCharacter, i));
        }
        // `s` is valid UTF-8, so `C2` followed by 80..=9F is exactly a C1 code point.
        if prev == 0xc2 && (0x80..=0x9f).contains(&b) {
            return Err(AddressError::new(
                AddressErrorKind::ControlCharacter,
                i.saturating_sub(1),
            ));
        }
        prev = b;
    }
    Ok(())
}

/// Refuses an empty value or one longer than `limit` octets.
pub(crate) fn check_len(s: &str, limit: usize) -> Result<(), AddressError> {
    if s.is_empty() {
        return Err(AddressError::new(AddressErrorKind::Empty, 0));
    }
    if s.len() > limit {
        return Err(AddressError::new(
            AddressErrorKind::TooLong { limit },
            limit,
        ));
    }
    Ok(())
}

/// RFC 5321 §4.1.2 `Let-dig`.
pub(crate) const fn is_let_dig(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// RFC 5322 §3.2.3 `atext`, which RFC 5321 §4.1.2 `Atom` uses (ASCII part only).
pub(crate) const fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        )
}

/// Non-ASCII characters that RFC 6531's `UTF8-non-ascii` admits but that only serve to
/// deceive a reader: Unicode white space (an invisible separator) and the bidirectional
/// formatting controls that reorder displayed text. Refused in addresses and domains.
pub(crate) fn is_deceptive(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}
