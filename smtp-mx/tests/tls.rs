//! The verifiers in full in-process handshakes (rustls server, smtp-mx client
//! configuration): DANE-EE and DANE-TA per RFC 7672 §3, WebPKI per RFC 8461 §4.2, and
//! the handshake signature checked for every requirement.

mod common;

use common::tls::{handshake, handshake_with, server, Ca, Cert, Leaf, BOTH, TLS12, TLS13};
use ring::digest;
use rustls::pki_types::ServerName;
use rustls::{RootCertStore, SupportedProtocolVersion};
use smtp_mx::tls::{any_certificate, client_config, spki_of, Roots, TlsSetup};
use smtp_proto::command::Domain;
use smtp_proto::mx::{TlsRequirement, TlsResultType, Tlsa, Verification};

fn domain(s: &str) -> Domain {
    Domain::new(s).unwrap()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

fn dane(tlsa: Vec<Tlsa>, ta_names: &[&str]) -> TlsRequirement {
    TlsRequirement::Dane {
        sni: domain("mx.example.test"),
        tlsa,
        ta_names: ta_names.iter().map(|n| domain(n)).collect(),
    }
}

fn setup(req: &TlsRequirement) -> TlsSetup {
    client_config(req, &Roots::new(RootCertStore::empty())).unwrap()
}

/// `3 1 1` for a certificate: SHA-256 of its SubjectPublicKeyInfo.
fn ee_spki(cert: &Cert) -> Tlsa {
    Tlsa::from_fields(3, 1, 1, sha256(spki_of(&cert.der).unwrap()))
}

/// A handshake of `setup` with a server presenting `chain` signed by its own key (the
/// leaf's).
fn run(setup: TlsSetup, chain: &[&Cert]) -> (TlsSetup, Result<(), rustls::Error>) {
    let ders: Vec<_> = chain.iter().map(|c| &c.der).collect();
    let result = handshake(&setup, server(&ders, &chain[0].key, BOTH));
    (setup, result)
}

fn connect(req: &TlsRequirement, chain: &[&Cert]) -> (TlsSetup, Result<(), rustls::Error>) {
    run(setup(req), chain)
}

/// The handshake failed, and the setup says why.
fn rejected(setup: &TlsSetup, result: Result<(), rustls::Error>, why: TlsResultType) {
    assert!(result.is_err(), "accepted; expected {why:?}");
    assert_eq!(setup.failure(), why);
}

fn verified(setup: &TlsSetup) -> Option<Verification> {
    setup.info().map(|i| i.verification)
}

#[test]
fn dane_ee_accepts_expired_self_signed_and_wrong_name_certificates() {
    // RFC 7672 §3.1.1: the key is all DANE-EE checks (hostile case 15).
    let expired = Leaf::expired(&["elsewhere.test"]).self_signed();
    for record in [
        ee_spki(&expired),
        Tlsa::from_fields(3, 0, 1, sha256(&expired.der)),
        Tlsa::from_fields(
            3,
            0,
            2,
            digest::digest(&digest::SHA512, &expired.der)
                .as_ref()
                .to_vec(),
        ),
        Tlsa::from_fields(3, 1, 0, spki_of(&expired.der).unwrap().to_vec()),
    ] {
        let (setup, result) = connect(&dane(vec![record.clone()], &[]), &[&expired]);
        result.unwrap_or_else(|e| panic!("{record:?}: {e}"));
        assert_eq!(verified(&setup), Some(Verification::Verified));
    }
}

#[test]
fn dane_ee_rejects_a_certificate_matching_no_record() {
    let shown = Leaf::current(&["mx.example.test"]).self_signed();
    let other = Leaf::current(&["mx.example.test"]).self_signed();
    let (setup, result) = connect(&dane(vec![ee_spki(&other)], &[]), &[&shown]);
    rejected(&setup, result, TlsResultType::ValidationFailure);
    assert_eq!(setup.info(), None);
}

/// Hostile case 16: the server shows a certificate it has no key for (a public
/// certificate replayed) and signs the handshake with a key of its own.
fn replayed(
    req: &TlsRequirement,
    shown: &Cert,
    versions: &[&'static SupportedProtocolVersion],
) -> TlsSetup {
    let own_key = Leaf::current(&["attacker.test"]).self_signed().key;
    let setup = setup(req);
    let result = handshake(&setup, server(&[&shown.der], &own_key, versions));
    assert!(
        result.is_err(),
        "{req:?} accepted a handshake signed by another key"
    );
    assert_eq!(setup.failure(), TlsResultType::ValidationFailure);
    assert_eq!(setup.info(), None);
    setup
}

#[test]
fn dane_ee_match_signed_by_another_key_is_rejected_over_tls12_and_tls13() {
    let public = Leaf::current(&["mx.example.test"]).self_signed();
    let req = dane(vec![ee_spki(&public)], &[]);
    // The same server with the right key passes: only the signature differs.
    connect(&req, &[&public]).1.unwrap();
    replayed(&req, &public, TLS13);
    replayed(&req, &public, TLS12);
}

#[test]
fn opportunistic_and_encrypt_only_accept_any_certificate_but_not_another_keys_signature() {
    let any = Leaf::expired(&["elsewhere.test"]).self_signed();
    for req in [TlsRequirement::Opportunistic, TlsRequirement::EncryptOnly] {
        let (setup, result) = connect(&req, &[&any]);
        result.unwrap();
        assert_eq!(verified(&setup), Some(Verification::NotChecked));
        replayed(&req, &any, TLS13);
        replayed(&req, &any, TLS12);
    }
}

/// `any_certificate` (smtp-send's `--insecure`): no chain, name or date checked, but a
/// handshake signed by another key than the certificate's is refused.
#[test]
fn any_certificate_takes_any_certificate_but_not_another_keys_signature() {
    let config = |verifier| {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        std::sync::Arc::new(config)
    };
    let name = ServerName::try_from("mx.example.test").unwrap();
    let shown = Leaf::expired(&["elsewhere.test"]).self_signed();
    let own = server(&[&shown.der], &shown.key, BOTH);
    handshake_with(config(any_certificate()), name.clone(), own).unwrap();
    let other_key = Leaf::current(&["attacker.test"]).self_signed().key;
    for versions in [TLS13, TLS12] {
        let replayed = server(&[&shown.der], &other_key, versions);
        let result = handshake_with(config(any_certificate()), name.clone(), replayed);
        assert!(
            result.is_err(),
            "a handshake signed by another key was taken"
        );
    }
}

#[test]
fn dane_ta_checks_the_chain_from_the_matching_anchor_and_the_leaf_name() {
    let ca = Ca::new("Private DANE CA");
    let leaf = Leaf::current(&["mx.example.test"]).issued_by(&ca);
    let ta = Tlsa::from_fields(2, 1, 1, sha256(spki_of(&ca.cert.der).unwrap()));
    // RFC 7672 §3.2.2: the leaf must match a reference identifier (hostile case 17).
    let (setup, result) = connect(
        &dane(vec![ta.clone()], &["mx.example.test"]),
        &[&leaf, &ca.cert],
    );
    result.unwrap();
    assert_eq!(verified(&setup), Some(Verification::Verified));
    let (setup, result) = connect(
        &dane(vec![ta.clone()], &["example.test", "other.test"]),
        &[&leaf, &ca.cert],
    );
    rejected(&setup, result, TlsResultType::CertificateHostMismatch);
    // A digest of the anchor needs the anchor in the chain.
    let (setup, result) = connect(&dane(vec![ta.clone()], &["mx.example.test"]), &[&leaf]);
    rejected(&setup, result, TlsResultType::ValidationFailure);
    // An anchor not matching the record is no anchor, even if it signed the leaf.
    let other = Ca::new("Other CA");
    let wrong = Tlsa::from_fields(2, 1, 1, sha256(spki_of(&other.cert.der).unwrap()));
    let (setup, result) = connect(&dane(vec![wrong], &["mx.example.test"]), &[&leaf, &ca.cert]);
    rejected(&setup, result, TlsResultType::ValidationFailure);
}

#[test]
fn dane_ta_full_records_need_not_be_sent() {
    let ca = Ca::new("Private DANE CA");
    let leaf = Leaf::current(&["mx.example.test"]).issued_by(&ca);
    // `2 0 0`: the whole anchor certificate; `2 1 0`: its key alone.
    for record in [
        Tlsa::from_fields(2, 0, 0, ca.cert.der.to_vec()),
        Tlsa::from_fields(2, 1, 0, spki_of(&ca.cert.der).unwrap().to_vec()),
    ] {
        let (setup, result) = connect(&dane(vec![record.clone()], &["mx.example.test"]), &[&leaf]);
        result.unwrap_or_else(|e| panic!("{record:?}: {e}"));
        assert_eq!(verified(&setup), Some(Verification::Verified));
        // The anchor's key did not sign this one.
        let stranger = Leaf::current(&["mx.example.test"]).issued_by(&Ca::new("Private DANE CA"));
        let (setup, result) = connect(&dane(vec![record], &["mx.example.test"]), &[&stranger]);
        rejected(&setup, result, TlsResultType::CertificateNotTrusted);
    }
}

#[test]
fn dane_ta_leaf_must_be_current() {
    let ca = Ca::new("Private DANE CA");
    let leaf = Leaf::expired(&["mx.example.test"]).issued_by(&ca);
    let ta = Tlsa::from_fields(2, 0, 1, sha256(&ca.cert.der));
    let (setup, result) = connect(&dane(vec![ta], &["mx.example.test"]), &[&leaf, &ca.cert]);
    rejected(&setup, result, TlsResultType::CertificateExpired);
}

#[test]
fn dane_ta_wildcard_is_one_whole_left_most_label() {
    let ca = Ca::new("Private DANE CA");
    let leaf = Leaf::current(&["*.example.test"]).issued_by(&ca);
    let ta = Tlsa::from_fields(2, 0, 1, sha256(&ca.cert.der));
    let (_, result) = connect(
        &dane(vec![ta.clone()], &["mx.example.test"]),
        &[&leaf, &ca.cert],
    );
    result.unwrap();
    for name in ["example.test", "a.mx.example.test"] {
        let (setup, result) = connect(&dane(vec![ta.clone()], &[name]), &[&leaf, &ca.cert]);
        assert!(result.is_err(), "{name}");
        assert_eq!(setup.failure(), TlsResultType::CertificateHostMismatch);
    }
    let partial = Leaf::current(&["m*.example.test"]).issued_by(&ca);
    let (_, result) = connect(&dane(vec![ta], &["mx.example.test"]), &[&partial, &ca.cert]);
    assert!(result.is_err(), "a partial wildcard matched");
}

#[test]
fn dane_ta_match_signed_by_another_key_is_rejected() {
    let ca = Ca::new("Private DANE CA");
    let leaf = Leaf::current(&["mx.example.test"]).issued_by(&ca);
    let req = dane(
        vec![Tlsa::from_fields(2, 0, 0, ca.cert.der.to_vec())],
        &["mx.example.test"],
    );
    replayed(&req, &leaf, TLS13);
    replayed(&req, &leaf, TLS12);
}

#[test]
fn dane_without_usable_records_builds_no_configuration() {
    // RFC 7672 §3.1.3: PKIX usages are not for SMTP; the planner asks encrypt-only then.
    let req = dane(vec![Tlsa::from_fields(1, 1, 1, vec![0; 32])], &[]);
    assert!(client_config(&req, &Roots::new(RootCertStore::empty())).is_err());
}

fn pkix(ca: &Ca, enforce: bool) -> TlsSetup {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert.der.clone()).unwrap();
    let req = TlsRequirement::Pkix {
        name: domain("mx.example.test"),
        enforce,
    };
    client_config(&req, &Roots::new(roots)).unwrap()
}

fn pkix_connect(ca: &Ca, enforce: bool, chain: &[&Cert]) -> (TlsSetup, Result<(), rustls::Error>) {
    run(pkix(ca, enforce), chain)
}

#[test]
fn pkix_failures_give_their_rfc8460_result_types() {
    let ca = Ca::new("Public Test CA");
    let right = Leaf::current(&["mx.example.test"]).issued_by(&ca);
    let (setup, result) = pkix_connect(&ca, true, &[&right, &ca.cert]);
    result.unwrap();
    assert_eq!(verified(&setup), Some(Verification::Verified));
    let cases = [
        (
            Leaf::current(&["other.test"]).issued_by(&ca),
            TlsResultType::CertificateHostMismatch,
        ),
        (
            Leaf::expired(&["mx.example.test"]).issued_by(&ca),
            TlsResultType::CertificateExpired,
        ),
        (
            Leaf::current(&["mx.example.test"]).self_signed(),
            TlsResultType::CertificateNotTrusted,
        ),
    ];
    for (leaf, expected) in cases {
        let (setup, result) = pkix_connect(&ca, true, &[&leaf, &ca.cert]);
        assert!(result.is_err(), "{expected:?}");
        assert_eq!(setup.failure(), expected);
        // MTA-STS testing (RFC 8461 §5): reported, not fatal.
        let (setup, result) = pkix_connect(&ca, false, &[&leaf, &ca.cert]);
        result.unwrap();
        assert_eq!(verified(&setup), Some(Verification::Failed(expected)));
    }
}

#[test]
fn pkix_testing_still_rejects_another_keys_signature() {
    let ca = Ca::new("Public Test CA");
    let right = Leaf::current(&["mx.example.test"]).issued_by(&ca);
    for enforce in [true, false] {
        let own_key = Leaf::current(&["x.test"]).self_signed().key;
        let setup = pkix(&ca, enforce);
        let result = handshake(&setup, server(&[&right.der, &ca.cert.der], &own_key, BOTH));
        rejected(&setup, result, TlsResultType::ValidationFailure);
    }
}

#[test]
fn sni_is_the_requirement_name_or_none() {
    let peer: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let name = |req: &TlsRequirement| setup(req).server_name(peer);
    assert_eq!(
        name(&TlsRequirement::Opportunistic),
        ServerName::IpAddress(peer.into())
    );
    let req = dane(vec![Tlsa::from_fields(3, 1, 1, vec![0; 32])], &[]);
    assert_eq!(name(&req), ServerName::try_from("mx.example.test").unwrap());
}
