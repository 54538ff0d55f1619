//! The SubjectPublicKeyInfo the DANE verifier hashes for selector 1 (RFC 6698 §2.1.2),
//! found by smtp-mx's small DER walker, is the one an X.509 parser finds.

use proptest::prelude::*;
use rcgen::{CertificateParams, DnType, KeyPair, SerialNumber, SignatureAlgorithm};
use smtp_mx::tls::spki_of;
use x509_parser::prelude::{FromDer, X509Certificate};

fn algorithm(i: usize) -> &'static SignatureAlgorithm {
    [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ][i % 3]
}

fn cert(alg: usize, names: Vec<String>, cn: String, serial: Vec<u8>) -> Vec<u8> {
    let key = KeyPair::generate_for(algorithm(alg)).unwrap();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.self_signed(&key).unwrap().der().to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    // Names and serials of every size move the SPKI and need long-form lengths
    // (one and two length bytes) in the enclosing SEQUENCEs.
    #[test]
    fn spki_matches_x509_parser(
        alg in 0usize..3,
        names in proptest::collection::vec("[a-z]{1,60}\\.test", 0..12),
        cn in "[a-zA-Z ]{1,200}",
        serial in proptest::collection::vec(1u8..=255, 1..20),
    ) {
        let der = cert(alg, names, cn, serial);
        let (_, parsed) = X509Certificate::from_der(&der).unwrap();
        prop_assert_eq!(spki_of(&der), Some(parsed.tbs_certificate.subject_pki.raw));
    }

    // Cut or altered certificates: no panic, and anything found lies inside the input
    // and is what the parser finds whenever the parser still accepts the certificate.
    #[test]
    fn damaged_certificates_give_none_or_the_parsers_spki(
        alg in 0usize..3,
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut der = cert(alg, vec!["mx.example.test".into()], "mx".into(), vec![7]);
        let at = flip.index(der.len());
        der[at] = byte;
        der.truncate(cut.index(der.len() + 1));
        if let Some(spki) = spki_of(&der) {
            let start = spki.as_ptr() as usize - der.as_ptr() as usize;
            prop_assert!(start + spki.len() <= der.len());
            if let Ok((_, parsed)) = X509Certificate::from_der(&der) {
                prop_assert_eq!(spki, parsed.tbs_certificate.subject_pki.raw);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = spki_of(&bytes);
    }
}
