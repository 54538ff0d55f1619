//! Enhanced status codes (RFC 3463 §2, carried in replies as RFC 2034 §4 describes).

use core::fmt;

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
        let (rest, status) = status_code(text)?;
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
///
/// Written by hand rather than with nom: it runs on the first line of every reply, and
/// the combinators cost several times the scan (`tests::agrees_with_nom` keeps the two
/// equal).
fn status_code(input: &[u8]) -> Option<(&[u8], EnhancedStatus)> {
    let (&class, rest) = input.split_first()?;
    if !matches!(class, b'2' | b'4' | b'5') {
        return None;
    }
    let rest = rest.strip_prefix(b".")?;
    let (subject, rest) = number(rest)?;
    let rest = rest.strip_prefix(b".")?;
    let (detail, rest) = number(rest)?;
    // A fourth digit or any other character means this is not a status code.
    if !matches!(rest.first(), None | Some(b' ')) {
        return None;
    }
    let status = EnhancedStatus {
        class: class - b'0',
        subject,
        detail,
    };
    Some((rest, status))
}

/// `1*3digit`; the caller rejects a fourth digit.
fn number(input: &[u8]) -> Option<(u16, &[u8])> {
    let mut value = 0u16;
    let mut len = 0;
    for &d in input.iter().take(3) {
        if !d.is_ascii_digit() {
            break;
        }
        value = value * 10 + u16::from(d - b'0');
        len += 1;
    }
    if len == 0 {
        return None;
    }
    Some((value, input.get(len..)?))
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

    /// The grammar as first written with nom, kept as the reference for the hand-written
    /// parser.
    type Parts = (u8, u16, u16);

    fn nom_status(input: &[u8]) -> Option<(&[u8], Parts)> {
        use nom::bytes::complete::{tag, take_while_m_n};
        use nom::combinator::eof;
        use nom::IResult;
        fn number(input: &[u8]) -> IResult<&[u8], u16, ()> {
            let (rest, digits) = take_while_m_n(1, 3, |b: u8| b.is_ascii_digit())(input)?;
            let value = digits
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
            Ok((rest, value))
        }
        fn status(input: &[u8]) -> IResult<&[u8], Parts, ()> {
            let (input, class) = take_while_m_n(1, 1, |b| matches!(b, b'2' | b'4' | b'5'))(input)?;
            let (input, _) = tag(&b"."[..])(input)?;
            let (input, subject) = number(input)?;
            let (input, _) = tag(&b"."[..])(input)?;
            let (input, detail) = number(input)?;
            let input = match input.first() {
                Some(b' ') => input,
                _ => eof(input)?.0,
            };
            let class = class.first().map_or(0, |d| d - b'0');
            Ok((input, (class, subject, detail)))
        }
        status(input).ok()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The hand-written parser accepts exactly what the nom grammar accepts.
        #[test]
        fn agrees_with_nom(bytes in proptest::collection::vec(
            proptest::sample::select(&b"0123456789245. x"[..]), 0..12)) {
            let ours = super::status_code(&bytes)
                .map(|(rest, e)| (rest, (e.class(), e.subject(), e.detail())));
            proptest::prop_assert_eq!(ours, nom_status(&bytes));
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
