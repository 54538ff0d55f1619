//! Address literals: `[192.0.2.1]`, `[IPv6:2001:db8::1]` and `[tag:content]`
//! (RFC 5321 §4.1.3).

use super::chars::is_let_dig;
use super::error::{AddressError, AddressErrorKind};

/// Checks a whole address literal, brackets included. Error positions are relative to `s`.
pub(crate) fn validate(s: &str) -> Result<(), AddressError> {
    let err = |at: usize| AddressError::new(AddressErrorKind::InvalidLiteral, at);
    let b = s.as_bytes();
    let inner = match b {
        [b'[', inner @ .., b']'] => inner,
        _ => return Err(err(0)),
    };
    if inner.is_empty() {
        return Err(err(1));
    }
    let Some(colon) = inner.iter().position(|&c| c == b':') else {
        // No tag: only a bare IPv4 literal is allowed.
        return ipv4(inner).map_err(|at| err(at + 1));
    };
    let (tag, rest) = inner.split_at(colon);
    let content = rest.get(1..).unwrap_or_default();
    let content_at = colon + 2;
    // ABNF strings are case-insensitive, so "ipv6:" is the IPv6 tag too.
    if tag.eq_ignore_ascii_case(b"IPv6") {
        return ipv6(content).map_err(|at| err(at + content_at));
    }
    general(tag, content).map_err(|at| err(at + 1))
}

/// RFC 5321 §4.1.3 `IPv4-address-literal = Snum 3("." Snum)`, `Snum` 0..=255 in 1-3
/// digits. Returns the offset of the first bad byte on failure.
fn ipv4(s: &[u8]) -> Result<(), usize> {
    let mut at = 0usize;
    let mut parts = 0;
    for part in s.split(|&c| c == b'.') {
        parts += 1;
        if parts > 4 {
            // Point at the dot that starts the fifth part.
            return Err(at.saturating_sub(1));
        }
        if part.is_empty() {
            return Err(at);
        }
        if part.len() > 3 {
            return Err(at + 3);
        }
        let mut value = 0u16;
        for (i, &c) in part.iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(at + i);
            }
            value = value * 10 + u16::from(c - b'0');
        }
        if value > 255 {
            return Err(at);
        }
        at += part.len() + 1;
    }
    if parts == 4 {
        Ok(())
    } else {
        Err(s.len())
    }
}

/// RFC 5321 §4.1.3 `IPv6-addr`: the full form (8 groups), the compressed form (`::` and at
/// most 6 other groups), and both again with an IPv4 tail standing for the last two groups
/// (6 groups, or `::` and at most 4). RFC 5321 makes `::` stand for at least two groups,
/// which is stricter than RFC 4291; we follow RFC 5321 because this is its grammar.
fn ipv6(s: &[u8]) -> Result<(), usize> {
    if s.is_empty() {
        return Err(0);
    }
    let compressed = find_double_colon(s);
    let (head, tail, tail_at) = match compressed {
        Some(i) => {
            let tail = s.get(i + 2..).unwrap_or_default();
            if find_double_colon(tail).is_some() || tail.first() == Some(&b':') {
                return Err(i + 2);
            }
            (s.get(..i).unwrap_or_default(), tail, i + 2)
        }
        None => (s, &[][..], s.len()),
    };
    // The IPv4 tail, if any, sits after the last colon of the last segment.
    let last = if compressed.is_some() { tail } else { head };
    let last_at = if compressed.is_some() { tail_at } else { 0 };
    let v4 = last.contains(&b'.');
    let mut groups = 0usize;
    let (head_groups, tail_groups) = if v4 {
        let cut = last.iter().rposition(|&c| c == b':').map_or(0, |p| p + 1);
        let (hex, quad) = last.split_at(cut);
        ipv4(quad).map_err(|at| at + last_at + cut)?;
        groups += 2;
        // `hex` ends with the ':' that precedes the IPv4 part (or is empty).
        let hex = hex.strip_suffix(b":").unwrap_or(hex);
        if hex.is_empty() && cut != 0 {
            return Err(last_at);
        }
        if compressed.is_some() {
            (hex_groups(head, 0)?, hex_groups(hex, tail_at)?)
        } else {
            (hex_groups(hex, 0)?, 0)
        }
    } else {
        (hex_groups(head, 0)?, hex_groups(tail, tail_at)?)
    };
    groups += head_groups + tail_groups;
    let ok = match compressed {
        None => groups == 8,
        Some(_) => groups <= 6,
    };
    if ok {
        Ok(())
    } else {
        Err(s.len())
    }
}

fn find_double_colon(s: &[u8]) -> Option<usize> {
    s.windows(2).position(|w| w == b"::")
}

/// Counts the `IPv6-hex` groups (1 to 4 hex digits) in a colon-separated run; an empty
/// run has none. `base` is added to error offsets.
fn hex_groups(s: &[u8], base: usize) -> Result<usize, usize> {
    if s.is_empty() {
        return Ok(0);
    }
    let mut at = base;
    let mut n = 0;
    for group in s.split(|&c| c == b':') {
        if group.is_empty() || group.len() > 4 {
            return Err(at + group.len().min(4));
        }
        if let Some(i) = group.iter().position(|c| !c.is_ascii_hexdigit()) {
            return Err(at + i);
        }
        at += group.len() + 1;
        n += 1;
    }
    Ok(n)
}

/// RFC 5321 §4.1.3 `General-address-literal = Standardized-tag ":" 1*dcontent`, with
/// `Standardized-tag = Ldh-str` and `dcontent = %d33-90 / %d94-126`. Whether the tag is
/// registered with IANA is the server's business; we check only the syntax.
fn general(tag: &[u8], content: &[u8]) -> Result<(), usize> {
    match tag {
        [] => return Err(0),
        [.., last] if !is_let_dig(*last) => return Err(tag.len().saturating_sub(1)),
        _ => {}
    }
    if let Some(i) = tag.iter().position(|&c| !(is_let_dig(c) || c == b'-')) {
        return Err(i);
    }
    let content_at = tag.len() + 1;
    if content.is_empty() {
        return Err(content_at);
    }
    match content
        .iter()
        .position(|&c| !matches!(c, 33..=90 | 94..=126))
    {
        Some(i) => Err(content_at + i),
        None => Ok(()),
    }
}
