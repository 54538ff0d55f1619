//! `xtext` (RFC 3461 §4) and `utf-8-addr-xtext` (RFC 6533 §3): the encodings of DSN
//! parameter values. Both write straight into the caller's buffer.

use alloc::vec::Vec;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3461 §4 `xchar`: `!`..=`~` except `+` and `=`, which carry the encoding.
const fn is_xchar(b: u8) -> bool {
    matches!(b, 33..=126) && b != b'+' && b != b'='
}

/// Appends `s` as xtext: every byte that is not an `xchar` becomes `+HH`, uppercase hex
/// (RFC 3461 §4 `hexchar`).
pub(crate) fn encode(out: &mut Vec<u8>, s: &[u8]) {
    for &b in s {
        if is_xchar(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'+', hex(b >> 4), hex(b & 0xf)]);
        }
    }
}

/// The length [`encode`] would append.
pub(crate) fn encoded_len(s: &[u8]) -> usize {
    s.iter().map(|&b| if is_xchar(b) { 1 } else { 3 }).sum()
}

/// RFC 6533 §3 `QCHAR`: printable ASCII except `+`, `=` and `\`, which it escapes.
const fn is_qchar(c: char) -> bool {
    matches!(c, '!'..='~') && !matches!(c, '+' | '=' | '\\')
}

/// Appends `s` as `utf-8-addr-xtext`: every character that is not a `QCHAR` becomes
/// `\x{HEX}` with the code point in uppercase hex and no leading zeros (RFC 6533 §3
/// `EmbeddedUnicodeChar`, shortest form). The result is ASCII `xtext`, so it can be sent
/// without SMTPUTF8.
pub(crate) fn encode_utf8_addr(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        if is_qchar(c) {
            out.push(c as u8);
        } else {
            out.extend_from_slice(b"\\x{");
            let cp = u32::from(c);
            let digits = hex_digits(cp);
            for shift in (0..digits).rev() {
                out.push(hex((cp >> (shift * 4)) as u8 & 0xf));
            }
            out.push(b'}');
        }
    }
}

/// The length [`encode_utf8_addr`] would append.
pub(crate) fn utf8_addr_encoded_len(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if is_qchar(c) {
                1
            } else {
                4 + hex_digits(u32::from(c)) as usize
            }
        })
        .sum()
}

/// How many hex digits `cp` needs, at least one.
fn hex_digits(cp: u32) -> u32 {
    (32 - cp.leading_zeros()).div_ceil(4).max(1)
}

fn hex(nibble: u8) -> u8 {
    HEX.get(usize::from(nibble & 0xf)).copied().unwrap_or(b'0')
}
