//! Capabilities of every EHLO/LHLO reply recorded from real servers
//! (`tests/data/ehlo/`), read through the reply reader under every chunking.

use smtp_proto::ehlo::{Capabilities, Hello};
use smtp_proto::reply::{Reply, ReplyCode, ReplyReader};

/// What each recorded reply must yield.
struct Expected {
    file: &'static str,
    wire: &'static [u8],
    domain: &'static str,
    pipelining: bool,
    starttls: bool,
    max_size: Option<u64>,
    eight_bit_mime: bool,
    smtputf8: bool,
    chunking: bool,
    dsn: bool,
    enhanced_status_codes: bool,
    auth: &'static [&'static str],
    extensions: &'static [(&'static str, &'static str)],
}

macro_rules! data {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("data/ehlo/", $name, ".txt")) as &[u8],
        )
    };
}

fn expected() -> Vec<Expected> {
    let postfix = |(file, wire), starttls, auth: &'static [&'static str]| Expected {
        file,
        wire,
        domain: "postfix.harness.test",
        pipelining: true,
        starttls,
        max_size: Some(10_240_000),
        eight_bit_mime: true,
        smtputf8: true,
        chunking: true,
        dsn: true,
        enhanced_status_codes: true,
        auth,
        extensions: &[("VRFY", ""), ("ETRN", "")],
    };
    let exim = |(file, wire), starttls| Expected {
        file,
        wire,
        domain: "exim.harness.test",
        pipelining: true,
        starttls,
        max_size: Some(52_428_800),
        eight_bit_mime: true,
        smtputf8: true,
        chunking: true,
        dsn: true,
        enhanced_status_codes: false,
        auth: &["PLAIN", "LOGIN", "CRAM-MD5"],
        extensions: &[("PIPECONNECT", ""), ("PRDR", ""), ("HELP", "")],
    };
    let opensmtpd = |(file, wire), starttls, auth: &'static [&'static str]| Expected {
        file,
        wire,
        domain: "opensmtpd.harness.test",
        pipelining: false,
        starttls,
        max_size: Some(36_700_160),
        eight_bit_mime: true,
        smtputf8: false,
        chunking: false,
        dsn: true,
        enhanced_status_codes: true,
        auth,
        extensions: &[("HELP", "")],
    };
    let aiosmtpd = |(file, wire), starttls, auth: &'static [&'static str]| Expected {
        file,
        wire,
        domain: "aiosmtpd.harness.test",
        pipelining: false,
        starttls,
        max_size: Some(33_554_432),
        eight_bit_mime: true,
        smtputf8: true,
        chunking: false,
        dsn: false,
        enhanced_status_codes: false,
        auth,
        extensions: &[("HELP", "")],
    };
    let nodemailer = |(file, wire), starttls, auth: &'static [&'static str]| Expected {
        file,
        wire,
        domain: "nodemailer.harness.test",
        pipelining: true,
        starttls,
        max_size: Some(10_485_760),
        eight_bit_mime: true,
        smtputf8: true,
        chunking: false,
        dsn: true,
        enhanced_status_codes: true,
        auth,
        extensions: &[],
    };
    let postfix_auth = &["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"];
    let node_auth = &["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"];
    vec![
        postfix(data!("postfix-plain"), true, &[]),
        postfix(data!("postfix-tls"), false, postfix_auth),
        // Both `AUTH` and legacy `AUTH=` lines, merged into one list.
        postfix(data!("postfix-smtps"), false, postfix_auth),
        exim(data!("exim-plain"), true),
        exim(data!("exim-tls"), false),
        exim(data!("exim-smtps"), false),
        opensmtpd(data!("opensmtpd-plain"), true, &[]),
        opensmtpd(data!("opensmtpd-tls"), false, &["PLAIN", "LOGIN"]),
        opensmtpd(data!("opensmtpd-smtps"), false, &["PLAIN", "LOGIN"]),
        aiosmtpd(data!("aiosmtpd-plain"), true, &[]),
        aiosmtpd(data!("aiosmtpd-tls"), false, &["LOGIN", "PLAIN"]),
        aiosmtpd(data!("aiosmtpd-smtps"), false, &["LOGIN", "PLAIN"]),
        aiosmtpd(data!("aiosmtpd-lmtp"), false, &[]),
        nodemailer(data!("nodemailer-plain"), true, node_auth),
        nodemailer(data!("nodemailer-tls"), false, node_auth),
        nodemailer(data!("nodemailer-smtps"), false, node_auth),
        nodemailer(data!("nodemailer-lmtp"), false, &[]),
        Expected {
            file: "coremail-seed",
            wire: include_bytes!("data/ehlo/coremail-seed.txt"),
            domain: "mail",
            pipelining: true,
            starttls: true,
            max_size: None,
            eight_bit_mime: true,
            smtputf8: true,
            chunking: false,
            dsn: false,
            enhanced_status_codes: false,
            auth: &["LOGIN", "PLAIN"],
            extensions: &[("coremail", "abcdefg")],
        },
    ]
}

fn crlf(lf: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lf.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_suffix(b"\n").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Feeds `chunks` in order; returns the replies and the bytes left unread.
fn read_chunks(chunks: &[&[u8]]) -> (Vec<Reply>, Vec<u8>) {
    let mut reader = ReplyReader::default();
    let mut replies = Vec::new();
    let mut left = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        if !replies.is_empty() {
            // Once the reply is out, the reader is not asked again: the rest is the caller's.
            left.extend_from_slice(input);
            continue;
        }
        if let Some(reply) = reader.read(&mut input).expect("recorded reply parses") {
            replies.push(reply);
            left.extend_from_slice(input);
        } else {
            assert!(input.is_empty());
        }
    }
    (replies, left)
}

fn check(e: &Expected, caps: &Capabilities) {
    let f = e.file;
    assert_eq!(caps.domain(), e.domain, "{f}");
    assert_eq!(caps.pipelining(), e.pipelining, "{f} pipelining");
    assert_eq!(caps.starttls(), e.starttls, "{f} starttls");
    assert_eq!(caps.size_advertised(), e.max_size.is_some(), "{f} size");
    assert_eq!(caps.max_size(), e.max_size, "{f} max_size");
    assert_eq!(caps.eight_bit_mime(), e.eight_bit_mime, "{f} 8bitmime");
    assert_eq!(caps.smtputf8(), e.smtputf8, "{f} smtputf8");
    assert_eq!(caps.chunking(), e.chunking, "{f} chunking");
    assert!(!caps.binary_mime(), "{f} binarymime");
    assert_eq!(caps.dsn(), e.dsn, "{f} dsn");
    assert_eq!(
        caps.enhanced_status_codes(),
        e.enhanced_status_codes,
        "{f} enhancedstatuscodes"
    );
    assert!(!caps.requiretls(), "{f} requiretls");
    assert_eq!(
        caps.auth_mechanisms().collect::<Vec<_>>(),
        e.auth,
        "{f} auth"
    );
    assert_eq!(caps.auth_advertised(), !e.auth.is_empty(), "{f} auth");
    for mech in e.auth {
        assert!(caps.supports_auth(&mech.to_ascii_lowercase()), "{f} {mech}");
    }
    assert_eq!(
        caps.extensions().collect::<Vec<_>>(),
        e.extensions,
        "{f} ext"
    );
    for (kw, _) in e.extensions {
        assert!(caps.has_extension(&kw.to_ascii_lowercase()), "{f} {kw}");
    }
    assert_eq!(caps.has_extension("STARTTLS"), e.starttls, "{f}");
    assert!(!caps.has_extension("X-NOT-THERE"), "{f}");
}

#[test]
fn every_recorded_reply_whole_and_bare_lf() {
    let all = expected();
    assert_eq!(all.len(), 18);
    for e in &all {
        for wire in [crlf(e.wire), e.wire.to_vec()] {
            let (replies, left) = read_chunks(&[&wire]);
            assert_eq!(replies.len(), 1, "{}", e.file);
            assert!(left.is_empty());
            let reply = &replies[0];
            assert_eq!(reply.code(), ReplyCode::OK);
            assert_eq!(
                reply.line_count(),
                e.wire.split(|&b| b == b'\n').count() - 1
            );
            check(e, &Capabilities::from_reply(reply));
        }
    }
}

#[test]
fn every_recorded_reply_one_byte_at_a_time() {
    for e in &expected() {
        let wire = crlf(e.wire);
        let chunks: Vec<&[u8]> = wire.chunks(1).collect();
        let (replies, _) = read_chunks(&chunks);
        check(e, &Capabilities::from_reply(&replies[0]));
    }
}

#[test]
fn every_recorded_reply_split_everywhere_with_trailing_data() {
    const NEXT: &[u8] = b"221 2.0.0 Bye\r\n";
    for e in &expected() {
        let mut wire = crlf(e.wire);
        let reply_len = wire.len();
        wire.extend_from_slice(NEXT);
        let whole = read_chunks(&[&wire]).0;
        for i in 0..=wire.len() {
            let (a, b) = wire.split_at(i);
            let (replies, left) = read_chunks(&[a, b]);
            assert_eq!(replies, whole, "{} split at {i}", e.file);
            // The reader stops at the end of the EHLO reply, leaving the next one intact.
            assert_eq!(left, &wire[reply_len..], "{} split at {i}", e.file);
            check(e, &Capabilities::from_reply(&replies[0]));
        }
    }
}

#[test]
fn encode_of_a_recorded_reply_is_the_recording() {
    for e in &expected() {
        let wire = crlf(e.wire);
        let (replies, _) = read_chunks(&[&wire]);
        let mut out = Vec::new();
        replies[0].encode(&mut out);
        assert_eq!(out, wire, "{}", e.file);
    }
}

/// Feeds `chunks` to [`ReplyReader::read_ehlo`], as the client does with the reply to
/// its EHLO; returns the capabilities and the bytes left unread.
fn read_ehlo_chunks(chunks: &[&[u8]]) -> (Capabilities, Vec<u8>) {
    let mut reader = ReplyReader::default();
    let mut caps = None;
    let mut left = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        while !input.is_empty() {
            if caps.is_some() {
                left.extend_from_slice(input);
                break;
            }
            match reader.read_ehlo(&mut input).expect("recorded reply parses") {
                Some(Hello::Capabilities(c)) => caps = Some(c),
                Some(Hello::Other(reply)) => panic!("not positive: {reply}"),
                None => assert!(input.is_empty()),
            }
        }
    }
    (caps.expect("a whole reply"), left)
}

/// `read_ehlo`, what the client does, gives what reading a reply and then its
/// capabilities gives, for every recording, whole, one byte at a time and split
/// anywhere, with the next reply left unread.
#[test]
fn every_recorded_reply_through_read_ehlo() {
    const NEXT: &[u8] = b"221 2.0.0 Bye\r\n";
    for e in &expected() {
        for wire in [crlf(e.wire), e.wire.to_vec()] {
            let (replies, _) = read_chunks(&[&wire]);
            let two_pass = Capabilities::from(replies[0].clone());
            let (whole, left) = read_ehlo_chunks(&[&wire]);
            check(e, &whole);
            assert_eq!(whole, two_pass, "{}", e.file);
            assert!(left.is_empty());
            let bytes: Vec<&[u8]> = wire.chunks(1).collect();
            assert_eq!(read_ehlo_chunks(&bytes).0, two_pass, "{}", e.file);
            let mut with_next = wire.clone();
            with_next.extend_from_slice(NEXT);
            for i in 0..=with_next.len() {
                let (a, b) = with_next.split_at(i);
                let (caps, left) = read_ehlo_chunks(&[a, b]);
                assert_eq!(caps, two_pass, "{} split at {i}", e.file);
                assert_eq!(left, NEXT, "{} split at {i}", e.file);
            }
        }
    }
}
