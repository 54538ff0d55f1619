//! The little DER (ITU-T X.690) a key loader must read before handing a key to the
//! crypto backend: which algorithm a PKCS#8 key is (RFC 5958 §2), how large an RSA
//! modulus is (RFC 8017 §A.1.2), so that a refusal can say why; and the
//! SubjectPublicKeyInfo of an RSA public key, the form of a DKIM record's `p=`
//! (RFC 6376 §3.6.1).

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-Ed25519, 1.3.101.112 (RFC 8410 §3).
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// The algorithm of a PKCS#8 private key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Rsa,
    Ed25519,
}

/// The contents of an element of tag `want`, and what follows it (DER as
/// [`smtp_proto::der`] splits it).
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (e, rest) = smtp_proto::der::split_tagged(input, want)?;
    Some((e.contents, rest))
}

/// PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING privateKey
/// ... }: the algorithm's OID and the private key's octets.
fn pkcs8(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (info, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(info, INTEGER)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (oid, _) = expect(algorithm, OID)?;
    let (key, _) = expect(rest, OCTET_STRING)?;
    Some((oid, key))
}

/// Which algorithm a PKCS#8 key is for, if RSA or Ed25519.
pub(crate) fn pkcs8_algorithm(der: &[u8]) -> Option<Algorithm> {
    match pkcs8(der)?.0 {
        RSA_ENCRYPTION => Some(Algorithm::Rsa),
        ED25519 => Some(Algorithm::Ed25519),
        _ => None,
    }
}

/// The modulus size of an RSAPrivateKey ::= SEQUENCE { version, modulus, ... }.
pub(crate) fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let (key, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(key, INTEGER)?;
    let (modulus, _) = expect(rest, INTEGER)?;
    // A positive INTEGER may start with a 0 octet so that its top bit is not a sign.
    let first = modulus.iter().position(|&b| b != 0)?;
    let significant = &modulus[first..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

/// The modulus size of an RSA key in PKCS#8.
pub(crate) fn pkcs8_rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    rsa_modulus_bits(pkcs8(der)?.1)
}

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

/// SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier { rsaEncryption, NULL },
/// BIT STRING RSAPublicKey } (RFC 5280 §4.1, RFC 8017 §A.1), around a PKCS#1 public key.
/// Keys up to 8192 bits (lengths below 65536) are all ring loads.
pub(crate) fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    let mut algorithm = vec![OID, RSA_ENCRYPTION.len() as u8];
    algorithm.extend_from_slice(RSA_ENCRYPTION);
    algorithm.extend_from_slice(&[0x05, 0x00]);
    let mut body = vec![SEQUENCE];
    push_len(&mut body, algorithm.len());
    body.extend_from_slice(&algorithm);
    // BIT STRING: a leading octet of unused bits (0), then the key.
    body.push(0x03);
    push_len(&mut body, rsa_public_key.len() + 1);
    body.push(0);
    body.extend_from_slice(rsa_public_key);
    let mut out = vec![SEQUENCE];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_skip_the_sign_octet() {
        // SEQUENCE { INTEGER 0, INTEGER 0x00 0x80 0x01 } : a 16-bit modulus.
        let key = [SEQUENCE, 8, INTEGER, 1, 0, INTEGER, 3, 0x00, 0x80, 0x01];
        assert_eq!(rsa_modulus_bits(&key), Some(16));
        let key = [SEQUENCE, 7, INTEGER, 1, 0, INTEGER, 2, 0x01, 0xff];
        assert_eq!(rsa_modulus_bits(&key), Some(9));
        assert_eq!(rsa_modulus_bits(&key[..6]), None);
    }

    #[test]
    fn spki_lengths_are_der() {
        let key = vec![0xab; 270];
        let spki = rsa_spki(&key);
        let (body, rest) = expect(&spki, SEQUENCE).unwrap();
        assert!(rest.is_empty());
        let (algorithm, rest) = expect(body, SEQUENCE).unwrap();
        assert_eq!(expect(algorithm, OID).unwrap().0, RSA_ENCRYPTION);
        let (bits, end) = expect(rest, 0x03).unwrap();
        assert_eq!((bits[0], &bits[1..], end.len()), (0, &key[..], 0));
    }
}
