//! Just enough DER (X.690 §10) to find a certificate's SubjectPublicKeyInfo and issuer
//! (RFC 5280 §4.1): what a TLSA selector 1 record hashes (RFC 6698 §2.1.2) and what a
//! DANE-TA anchor given only by its key is named after. Anything unexpected is `None`;
//! the chain checks that matter are rustls-webpki's.

/// One DER element: its whole encoding, and where its contents start in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    /// Tag, length and contents.
    pub(crate) whole: &'a [u8],
    /// The contents alone.
    pub(crate) contents: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT`, the version of a v2/v3 certificate.
const VERSION: u8 = 0xa0;
const INTEGER: u8 = 0x02;

/// Splits the first element off `input`: the element and what follows it. Only the
/// single-byte tags certificates use up to the SPKI; definite lengths in their shortest
/// form (DER), at most four length bytes.
fn next(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag number form: never in a certificate's header fields
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        // 0x80 is BER's indefinite length; more than 4 bytes is no certificate.
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        // DER: no leading zero byte, and the long form only for lengths over 127.
        if bytes[0] == 0 {
            return None;
        }
        let len = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        if len < 0x80 {
            return None;
        }
        len
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let (contents, after) = rest.split_at(len);
    Some((
        Element {
            whole: &input[..header + len],
            contents,
        },
        after,
    ))
}

/// `input` as exactly one element with tag `tag`.
fn only(input: &[u8], tag: u8) -> Option<Element<'_>> {
    match next(input)? {
        (e, []) if input[0] == tag => Some(e),
        _ => None,
    }
}

/// The fields of a certificate's `tbsCertificate` up to the SPKI (RFC 5280 §4.1):
/// version (optional), serialNumber, signature, issuer, validity, subject,
/// subjectPublicKeyInfo.
fn tbs_fields(cert: &[u8]) -> Option<[Element<'_>; 6]> {
    let cert = only(cert, SEQUENCE)?;
    let (tbs, _) = next(cert.contents)?;
    if tbs.whole[0] != SEQUENCE {
        return None;
    }
    let mut rest = tbs.contents;
    if rest.first() == Some(&VERSION) {
        rest = next(rest)?.1;
    }
    let tags = [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE, SEQUENCE];
    let mut fields = [Element {
        whole: &[],
        contents: &[],
    }; 6];
    for (field, tag) in fields.iter_mut().zip(tags) {
        let (e, after) = next(rest)?;
        if e.whole[0] != tag {
            return None;
        }
        *field = e;
        rest = after;
    }
    Some(fields)
}

/// The DER SubjectPublicKeyInfo of a DER certificate: what TLSA selector 1 selects.
pub(crate) fn spki(cert: &[u8]) -> Option<Element<'_>> {
    tbs_fields(cert).map(|f| f[5])
}

/// The issuer Name of a DER certificate.
pub(crate) fn issuer(cert: &[u8]) -> Option<Element<'_>> {
    tbs_fields(cert).map(|f| f[2])
}

/// `input` as exactly one SEQUENCE (a SubjectPublicKeyInfo from a `2 1 0` record).
pub(crate) fn sequence(input: &[u8]) -> Option<Element<'_>> {
    only(input, SEQUENCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_and_definite() {
        assert_eq!(
            next(&[0x30, 0x01, 0x05, 0xff]).map(|(e, r)| (e.contents, r)),
            Some((&[0x05][..], &[0xff][..]))
        );
        assert!(next(&[0x30, 0x80, 0x00, 0x00]).is_none(), "indefinite");
        assert!(
            next(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).is_none(),
            "long form < 128"
        );
        assert!(next(&[0x30, 0x82, 0x00, 0x80]).is_none(), "leading zero");
        assert!(next(&[0x30, 0x05, 0x00]).is_none(), "past the end");
        assert!(next(&[0x1f, 0x01, 0x00]).is_none(), "high tag");
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7; 0x80]);
        assert_eq!(next(&long).map(|(e, _)| e.contents.len()), Some(0x80));
    }
}
