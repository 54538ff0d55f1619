//! DKIM signing (feature `dkim`): what `DkimSigner` signs verifies with mail-auth's
//! verifier and with dkimpy (an independent implementation), for RSA and Ed25519 keys
//! and the line ends and octets messages come with; an alteration after signing fails
//! both; the signature has the tags and header list RFC 6376 and RFC 8301 call for.
#![cfg(feature = "dkim")]

use smtp_io::dkim::{DkimError, DkimSigner};
use smtp_testkit::dkim::{dkimpy_verify, mail_auth_verify};

const DOMAIN: &str = "example.org";
const SELECTOR: &str = "sel1";

fn key(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/dkim/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn signer(name: &str) -> DkimSigner {
    DkimSigner::from_pem(key(name), DOMAIN, SELECTOR).expect("key loads")
}

/// Each key the signer takes: RSA in PKCS#8 and PKCS#1, Ed25519.
const KEYS: [&str; 3] = ["rsa2048.pem", "rsa2048-pkcs1.pem", "ed25519.pem"];

/// Message content as applications hand it over.
fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "crlf",
            b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: CRLF\r\n\
              \r\nHello,\r\n\r\nBob.\r\n"
                .to_vec(),
        ),
        (
            "bare-lf",
            b"From: alice@example.org\nTo: bob@example.net\nCc: carol@example.net\n\
              Subject: LF\n\nline one\nline two\n\n\n"
                .to_vec(),
        ),
        (
            "dot-leading",
            b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: dots\r\n\r\n\
              .\r\n..two dots\r\n.leading dot\nlast line without end"
                .to_vec(),
        ),
        (
            "8-bit",
            "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: 8bit\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, naïve café — ✓\r\nmixed\rends\n"
                .as_bytes()
                .to_vec(),
        ),
    ]
}

fn verify_both(signer: &DkimSigner, signed: &[u8]) -> Result<(), String> {
    let record = signer.dns_record();
    mail_auth_verify(signed, DOMAIN, SELECTOR, &record)?;
    dkimpy_verify(signed, &record)
}

fn fails_both(signer: &DkimSigner, altered: &[u8], what: &str) {
    let record = signer.dns_record();
    assert!(
        mail_auth_verify(altered, DOMAIN, SELECTOR, &record).is_err(),
        "mail-auth passed {what}"
    );
    assert!(
        dkimpy_verify(altered, &record).is_err(),
        "dkimpy passed {what}"
    );
}

#[test]
fn every_key_and_body_verifies_with_mail_auth_and_dkimpy() {
    for name in KEYS {
        let signer = signer(name);
        for (kind, body) in bodies() {
            let signed = signer.sign(&body).unwrap();
            verify_both(&signer, &signed).unwrap_or_else(|e| panic!("{name} {kind}: {e}"));
        }
    }
}

#[test]
fn a_binarymime_body_is_signed_as_given_and_verifies() {
    for name in ["rsa2048.pem", "ed25519.pem"] {
        let signer = signer(name);
        let msg = b"From: alice@example.org\nTo: bob@example.net\n\n\x00\x01binary\nx\r\n";
        let signed = signer.sign_binary(msg).unwrap();
        assert!(signed.ends_with(b"\n\x00\x01binary\nx\r\n"), "body changed");
        verify_both(&signer, &signed).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Line ends are made what the wire carries, and the signature is prepended: the
/// content after the signature field is the CRLF form of the message.
#[test]
fn the_signed_content_is_the_crlf_message_after_the_signature() {
    let signer = signer("ed25519.pem");
    let msg = b"From: a@example.org\nDate: x\nMessage-ID: <m@example.org>\n\nbody\r.\n";
    let signed = signer.sign(msg).unwrap();
    let field_end = field_end(&signed);
    assert!(signed.starts_with(b"DKIM-Signature: "));
    assert_eq!(
        &signed[field_end..],
        b"From: a@example.org\r\nDate: x\r\nMessage-ID: <m@example.org>\r\n\r\nbody\r\n.\r\n"
    );
}

#[test]
fn an_alteration_after_signing_fails_both_verifiers() {
    for name in ["rsa2048.pem", "ed25519.pem"] {
        let signer = signer(name);
        let (_, body) = &bodies()[0];
        let signed = signer.sign(body).unwrap();
        let s = String::from_utf8(signed.clone()).unwrap();
        verify_both(&signer, &signed).unwrap();
        let body_changed = s.replace("Hello,", "Hullo,");
        fails_both(&signer, body_changed.as_bytes(), "a changed body");
        let subject_changed = s.replace("Subject: CRLF", "Subject: crlf!");
        fails_both(&signer, subject_changed.as_bytes(), "a changed Subject");
        // Over-signing (RFC 6376 §8.15): a verifier takes a field's occurrences from
        // the bottom, so a From added on top would go unseen without the extra entry.
        let second_from = format!("From: mallory@example.com\r\n{s}");
        fails_both(&signer, second_from.as_bytes(), "a From added on top");
        let reply_to = s.replace(
            "\r\n\r\nHello",
            "\r\nReply-To: mallory@example.com\r\n\r\nHello",
        );
        fails_both(&signer, reply_to.as_bytes(), "an added Reply-To");
        // A field that is not signed may be added: the test above fails for the
        // signature, not for any change at all.
        let unsigned = s.replace("\r\n\r\nHello", "\r\nX-Note: added\r\n\r\nHello");
        verify_both(&signer, unsigned.as_bytes()).unwrap();
    }
}

/// Where the signature field (the first one, folded over lines) ends.
fn field_end(signed: &[u8]) -> usize {
    signed
        .windows(3)
        .position(|w| w[..2] == *b"\r\n" && w[2] != b' ' && w[2] != b'\t')
        .expect("a field end")
        + 2
}

/// The value of a tag of the signature field, unfolded.
fn tag(signed: &[u8], name: &str) -> Option<String> {
    let s = String::from_utf8_lossy(&signed[..field_end(signed)]);
    let field = s.trim_end();
    let unfolded: String = field.split("\r\n").collect::<Vec<_>>().concat();
    unfolded
        .trim_start_matches("DKIM-Signature:")
        .split(';')
        .map(str::trim)
        .find_map(|t| {
            t.strip_prefix(&format!("{name}="))
                .map(|v| v.replace([' ', '\t'], ""))
        })
}

#[test]
fn tags_are_relaxed_with_a_timestamp_and_no_body_length() {
    for (name, a) in [
        ("rsa2048.pem", "rsa-sha256"),
        ("ed25519.pem", "ed25519-sha256"),
    ] {
        let signer = signer(name);
        assert_eq!(signer.algorithm(), a);
        let signed = signer.sign(&bodies()[0].1).unwrap();
        assert_eq!(tag(&signed, "a").as_deref(), Some(a));
        assert_eq!(tag(&signed, "c").as_deref(), Some("relaxed/relaxed"));
        assert_eq!(tag(&signed, "d").as_deref(), Some(DOMAIN));
        assert_eq!(tag(&signed, "s").as_deref(), Some(SELECTOR));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let t: u64 = tag(&signed, "t").expect("t=").parse().unwrap();
        assert!(t.abs_diff(now) < 60, "t={t}, now {now}");
        assert_eq!(tag(&signed, "l"), None, "no l= (RFC 6376 §8.2)");
        assert_eq!(tag(&signed, "x"), None);
    }
}

/// RFC 6376 §5.4.1's fields that are present, From/To/Cc/Subject/Date/Reply-To once
/// more (§8.15); never Bcc, Received or Return-Path; Date and Message-ID added when
/// missing and signed.
#[test]
fn the_header_list_signs_present_fields_and_oversigns() {
    let signer = signer("ed25519.pem");
    let msg = b"Return-Path: <a@example.org>\r\nReceived: from x by y\r\n\
        From: a@example.org\r\nTo: b@example.net\r\nTo: c@example.net\r\nBcc: d@example.net\r\n\
        Subject: s\r\nList-Id: <l.example.org>\r\nX-Other: o\r\nMIME-Version: 1.0\r\n\r\nbody\r\n";
    let signed = signer.sign(msg).unwrap();
    let h = tag(&signed, "h").unwrap().to_ascii_lowercase();
    let mut got: Vec<&str> = h.split(':').collect();
    got.sort_unstable();
    let mut want = vec![
        "from",
        "from",
        "to",
        "to",
        "to",
        "subject",
        "subject",
        "date",
        "date",
        "message-id",
        "reply-to",
        "cc",
        "list-id",
        "mime-version",
    ];
    want.sort_unstable();
    assert_eq!(got, want, "h={h}");
    let s = String::from_utf8(signed).unwrap();
    assert!(s.contains("\r\nDate: "), "{s}");
    assert!(s.contains(&format!("@{DOMAIN}>\r\n")), "{s}");
    assert_eq!(s.matches("Message-ID: <").count(), 1);
    verify_both(&signer, s.as_bytes()).unwrap();
}

#[test]
fn keys_load_or_are_refused_with_a_reason() {
    for name in KEYS {
        signer(name);
    }
    let load = |name: &str| DkimSigner::from_pem(key(name), DOMAIN, SELECTOR).map(|_| ());
    assert_eq!(
        load("rsa1024.pem"),
        Err(DkimError::RsaTooSmall { bits: 1024 })
    );
    assert_eq!(
        load("rsa512.pem"),
        Err(DkimError::RsaForbidden { bits: 512 })
    );
    assert_eq!(load("ec.pem"), Err(DkimError::UnsupportedKey));
    assert_eq!(
        DkimSigner::from_pem("not a key", DOMAIN, SELECTOR).map(|_| ()),
        Err(DkimError::Pem)
    );
    let pem = key("ed25519.pem");
    for bad in ["", "a..b", "a;b", "a\r\nb", "a b", "é.example"] {
        assert_eq!(
            DkimSigner::from_pem(&pem, bad, SELECTOR).map(|_| ()),
            Err(DkimError::InvalidDomain),
            "{bad:?}"
        );
        assert_eq!(
            DkimSigner::from_pem(&pem, DOMAIN, bad).map(|_| ()),
            Err(DkimError::InvalidSelector),
            "{bad:?}"
        );
    }
    // PKCS#8 and PKCS#1 forms of one key sign alike: the same public record.
    assert_eq!(
        signer("rsa2048.pem").dns_record(),
        signer("rsa2048-pkcs1.pem").dns_record()
    );
}

#[test]
fn messages_without_from_or_with_nul_are_refused() {
    let signer = signer("ed25519.pem");
    assert_eq!(
        signer.sign(b"To: b@example.net\r\n\r\nbody\r\n"),
        Err(DkimError::NoFrom)
    );
    assert!(matches!(
        signer.sign(b"From: a@example.org\r\n\r\nnul\0\r\n"),
        Err(DkimError::Body(_))
    ));
}

/// The secret key is nowhere in the signer's Debug: not its PEM, not a run of its
/// base64, not its DER bytes written as numbers.
#[test]
fn debug_shows_no_secret() {
    for name in KEYS {
        let pem = String::from_utf8(key(name)).unwrap();
        let signer = signer(name);
        for debug in [format!("{signer:?}"), format!("{signer:#?}")] {
            assert!(
                debug.contains(DOMAIN) && debug.contains(SELECTOR),
                "{debug}"
            );
            assert!(!debug.contains("PRIVATE"), "{debug}");
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            for window in b64.as_bytes().chunks(12) {
                let w = std::str::from_utf8(window).unwrap();
                assert!(w.len() < 12 || !debug.contains(w), "{debug} holds {w}");
            }
            assert!(debug.len() < 300, "{debug}");
        }
    }
}
