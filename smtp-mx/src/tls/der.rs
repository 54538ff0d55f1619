//! Just enough DER (X.690 §10) to find a certificate's SubjectPublicKeyInfo and issuer
//! (RFC 5280 §4.1): what a TLSA selector 1 record hashes (RFC 6698 §2.1.2) and what a
//! DANE-TA anchor given only by its key is named after, from the elements
//! [`smtp_proto::der`] splits. Anything unexpected is `None`; the chain checks that
//! matter are rustls-webpki's.

use smtp_proto::der::{split, split_tagged, Element};

const SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT`, the version of a v2/v3 certificate.
const VERSION: u8 = 0xa0;
const INTEGER: u8 = 0x02;

/// `input` as exactly one element with tag `tag`.
fn only(input: &[u8], tag: u8) -> Option<Element<'_>> {
    match split(input)? {
        (e, []) if e.tag == tag => Some(e),
        _ => None,
    }
}

/// The fields of a certificate's `tbsCertificate` up to the SPKI (RFC 5280 §4.1):
/// version (optional), serialNumber, signature, issuer, validity, subject,
/// subjectPublicKeyInfo.
fn tbs_fields(cert: &[u8]) -> Option<[Element<'_>; 6]> {
    let cert = only(cert, SEQUENCE)?;
    let (tbs, _) = split_tagged(cert.contents, SEQUENCE)?;
    let mut rest = tbs.contents;
    if rest.first() == Some(&VERSION) {
        rest = split(rest)?.1;
    }
    let mut field = |tag: u8| {
        let (e, after) = split_tagged(rest, tag)?;
        rest = after;
        Some(e)
    };
    Some([
        field(INTEGER)?,
        field(SEQUENCE)?,
        field(SEQUENCE)?,
        field(SEQUENCE)?,
        field(SEQUENCE)?,
        field(SEQUENCE)?,
    ])
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
