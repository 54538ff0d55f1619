//! Splitting DER (ITU-T X.690 §10) into elements, for the std companions that read a
//! little of a key or a certificate before a crypto library takes it: smtp-io's DKIM
//! keys (which algorithm a PKCS#8 key is, RFC 5958 §2; an RSA modulus's size,
//! RFC 8017 §A.1.2) and smtp-mx's DANE checks (a certificate's SubjectPublicKeyInfo
//! and issuer, RFC 5280 §4.1). It checks the encoding, never what it means: anything
//! that is not DER is `None`.

/// One DER element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Element<'a> {
    /// The tag (identifier octet): one octet, as every tag below 31 is.
    pub tag: u8,
    /// Tag, length and contents.
    pub whole: &'a [u8],
    /// The contents alone.
    pub contents: &'a [u8],
}

/// Splits the first element off `input`: the element and what follows it. `None` for
/// anything that is not DER (X.690 §10.1): a high tag number (more than one identifier
/// octet), BER's indefinite length, a length in more octets than it needs (a leading
/// zero octet, or the long form below 128), more than four length octets, or contents
/// past the end of `input`.
pub fn split(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (octets, after) = rest.split_at(count);
        rest = after;
        if octets[0] == 0 {
            return None;
        }
        let len = octets
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
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
    let whole = &input[..header + len];
    Some((
        Element {
            tag,
            whole,
            contents,
        },
        after,
    ))
}

/// [`split`], when the first element's tag is `tag`.
pub fn split_tagged(input: &[u8], tag: u8) -> Option<(Element<'_>, &[u8])> {
    split(input).filter(|(e, _)| e.tag == tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn short_and_long_lengths() {
        let (e, rest) = split(&[0x30, 0x01, 0x05, 0xff]).unwrap();
        assert_eq!(
            (e.tag, e.contents, e.whole.len(), rest),
            (0x30, &[5][..], 3, &[0xff][..])
        );
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(core::iter::repeat_n(7, 256));
        let (e, rest) = split(&long).unwrap();
        assert_eq!((e.contents.len(), e.whole.len(), rest.len()), (256, 260, 0));
        let mut just_long: Vec<u8> = vec![0x04, 0x81, 0x80];
        just_long.extend([7; 0x80]);
        assert_eq!(split(&just_long).map(|(e, _)| e.contents.len()), Some(0x80));
    }

    #[test]
    fn what_is_not_der_is_none() {
        assert!(split(&[]).is_none(), "empty");
        assert!(split(&[0x30]).is_none(), "no length");
        assert!(split(&[0x30, 0x80, 0, 0]).is_none(), "indefinite");
        assert!(
            split(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).is_none(),
            "long form < 128"
        );
        assert!(split(&[0x30, 0x82, 0x00, 0x80]).is_none(), "leading zero");
        assert!(
            split(&[0x30, 0x85, 1, 0, 0, 0, 0]).is_none(),
            "five length octets"
        );
        assert!(split(&[0x30, 0x05, 0x00]).is_none(), "past the end");
        assert!(split(&[0x30, 0x82, 0x01]).is_none(), "length cut");
        assert!(split(&[0x1f, 0x01, 0x00]).is_none(), "high tag");
    }

    #[test]
    fn split_tagged_checks_the_tag() {
        let input = [0x02, 0x01, 0x00, 0x30, 0x00];
        let (e, rest) = split_tagged(&input, 0x02).unwrap();
        assert_eq!((e.contents, rest), (&[0][..], &[0x30, 0][..]));
        assert!(split_tagged(&input, 0x30).is_none());
        assert_eq!(
            split_tagged(rest, 0x30).map(|(e, r)| (e.whole, r)),
            Some((rest, &[][..]))
        );
    }
}
