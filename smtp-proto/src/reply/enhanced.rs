//! Enhanced status codes (RFC 3463 §2, carried in replies as RFC 2034 §4 describes).

use core::fmt;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::combinator::eof;
use nom::IResult;

/// An enhanced status code `class.subject.detail`, e.g. `5.1.1` (RFC 3463 §2).
///
/// `class` is 2, 4 or 5; `subject` and `detail` are 0 to 999, written with one to three
/// digits. A longer digit string is rejected, never saturated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedStatus {
    /// The status `class.subject.detail`, when class is 2, 4 or 5 and the others ≤ 999.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<Self> {
        if matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999 {
            Some(Self {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    /// Parses a status code at the start of a reply line's text.
    ///
    /// RFC 2034 §4 puts the code first, followed by SP and the text; so the code must be
    /// followed by SP or by the end of the text. Returns the status and the text after
    /// the separating space.
    pub fn parse_prefix(text: &[u8]) -> Option<(Self, &[u8])> {
        let (rest, status) = status_code(text).ok()?;
        Some((status, rest.strip_prefix(b" ").unwrap_or(rest)))
    }

    /// 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
    pub fn class(&self) -> u8 {
        self.class
    }

    /// The subject, 0 to 999 (RFC 3463 §3: 1 addressing, 2 mailbox, 7 security, ...).
    pub fn subject(&self) -> u16 {
        self.subject
    }

    /// The detail, 0 to 999.
    pub fn detail(&self) -> u16 {
        self.detail
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// `status-code = class "." subject "." detail`, then SP or end of text (not consumed).
fn status_code(input: &[u8]) -> IResult<&[u8], EnhancedStatus, ()> {
    let (input, class) = take_while_m_n(1, 1, |b| matches!(b, b'2' | b'4' | b'5'))(input)?;
    let (input, _) = tag(&b"."[..])(input)?;
    let (input, subject) = number(input)?;
    let (input, _) = tag(&b"."[..])(input)?;
    let (input, detail) = number(input)?;
    // A fourth digit or any other character means this is not a status code.
    let (input, _) = end_or_space(input)?;
    let class = class.first().map_or(0, |d| d - b'0');
    Ok((
        input,
        EnhancedStatus {
            class,
            subject,
            detail,
        },
    ))
}

/// `1*3digit`; the caller rejects a fourth digit.
fn number(input: &[u8]) -> IResult<&[u8], u16, ()> {
    let (rest, digits) = take_while_m_n(1, 3, |b: u8| b.is_ascii_digit())(input)?;
    let value = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok((rest, value))
}

fn end_or_space(input: &[u8]) -> IResult<&[u8], &[u8], ()> {
    match input.first() {
        Some(b' ') => Ok((input, input)),
        _ => eof(input),
    }
}

#[cfg(test)]
mod tests {
    use super::EnhancedStatus;
    use alloc::string::ToString;

    fn parse(s: &[u8]) -> Option<(u8, u16, u16, &[u8])> {
        EnhancedStatus::parse_prefix(s).map(|(e, r)| (e.class(), e.subject(), e.detail(), r))
    }

    #[test]
    fn valid() {
        assert_eq!(parse(b"2.0.0 Ok"), Some((2, 0, 0, &b"Ok"[..])));
        assert_eq!(
            parse(b"5.7.11 Encryption required"),
            Some((5, 7, 11, &b"Encryption required"[..]))
        );
        assert_eq!(parse(b"4.999.999"), Some((4, 999, 999, &b""[..])));
        assert_eq!(parse(b"5.001.010 x"), Some((5, 1, 10, &b"x"[..])));
    }

    #[test]
    fn invalid() {
        for bad in [
            &b""[..],
            b"3.0.0 x",
            b"1.0.0",
            b"2.0",
            b"2.0.",
            b"2..0",
            b"2.1000.0",
            b"2.0.1000",
            b"2.0.0000",
            b"2.0.0x",
            b"2.0.0.1",
            b"2.0.0\tx",
            b"22.0.0",
            b"2.a.0",
            b" 2.0.0",
            b"postfix.example",
        ] {
            assert_eq!(
                EnhancedStatus::parse_prefix(bad),
                None,
                "{:?}",
                crate::reply::Escaped(bad)
            );
        }
    }

    #[test]
    fn every_prefix_of_a_line() {
        let full = b"5.1.1 User unknown";
        for i in 0..=full.len() {
            let cut = full.get(..i).unwrap();
            match EnhancedStatus::parse_prefix(cut) {
                None => assert!(i < 5, "cut at {i}"),
                Some((e, _)) => assert_eq!(e.to_string(), "5.1.1"),
            }
        }
    }

    #[test]
    fn new_bounds() {
        assert!(EnhancedStatus::new(2, 999, 999).is_some());
        assert!(EnhancedStatus::new(3, 0, 0).is_none());
        assert!(EnhancedStatus::new(5, 1000, 0).is_none());
        assert!(EnhancedStatus::new(5, 0, 1000).is_none());
        assert_eq!(EnhancedStatus::new(5, 1, 1).unwrap().to_string(), "5.1.1");
    }
}
