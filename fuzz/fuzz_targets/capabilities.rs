//! EHLO/LHLO capability parsing on raw EHLO replies.
//!
//! Input: the raw bytes of an EHLO reply (`250-domain\r\n250-KEYWORD params\r\n...`).
//! When they parse as a reply, that reply is used; otherwise the bytes are split into
//! lines (CR and LF dropped) and each line is one line of a 250 reply, so that inputs
//! the reader would refuse still reach the capability parser.
//!
//! Checks: no panic; the domain is the first word of the first line; every line whose
//! keyword has no typed accessor is kept, in order, with its parameters, and
//! `has_extension` finds it; AUTH mechanisms are uppercase, free of whitespace, distinct
//! and at most `MAX_AUTH_MECHANISMS`; a typed flag is set exactly when its keyword is
//! advertised (both ways); the SIZE maximum is the last SIZE line's number (RFC 1870
//! §4: one to twenty digits, 0 meaning no fixed maximum), read here independently; every
//! mechanism listed was named on an AUTH line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::ehlo::{Capabilities, MAX_AUTH_MECHANISMS};
use smtp_proto::reply::{Reply, ReplyCode, ReplyLimits, ReplyReader};

/// The keywords with typed accessors (a copy, so that a keyword dropped from the parser's
/// table shows up as a lost unknown keyword).
const TYPED: [&str; 11] = [
    "PIPELINING",
    "STARTTLS",
    "SIZE",
    "8BITMIME",
    "SMTPUTF8",
    "CHUNKING",
    "BINARYMIME",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "REQUIRETLS",
    "AUTH",
];

fn flag(caps: &Capabilities, keyword: &str) -> bool {
    match keyword {
        "PIPELINING" => caps.pipelining(),
        "STARTTLS" => caps.starttls(),
        "SIZE" => caps.size_advertised(),
        "8BITMIME" => caps.eight_bit_mime(),
        "SMTPUTF8" => caps.smtputf8(),
        "CHUNKING" => caps.chunking(),
        "BINARYMIME" => caps.binary_mime(),
        "DSN" => caps.dsn(),
        "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes(),
        "REQUIRETLS" => caps.requiretls(),
        "AUTH" => caps.auth_advertised(),
        _ => unreachable!(),
    }
}

fn reply_from(data: &[u8]) -> Reply {
    let mut reader = ReplyReader::new(ReplyLimits::new(4096, 1000, 1 << 20));
    let mut input = data;
    if let Ok(Some(reply)) = reader.read(&mut input) {
        return reply;
    }
    let mut lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.contains(&b'\r'))
        .collect();
    if lines.is_empty() {
        lines.push(b"");
    }
    Reply::new(ReplyCode::OK, &lines).expect("lines without CR or LF")
}

fuzz_target!(|data: &[u8]| {
    let reply = reply_from(data);
    let caps = Capabilities::from_reply(&reply);
    let mut lines = reply.lines();
    let first = lines.next().unwrap_or(&[]);
    let domain = first.split(|&b| b == b' ').next().unwrap_or(&[]);
    assert_eq!(caps.domain(), String::from_utf8_lossy(domain));

    // What the parser must have kept as unknown keywords, in reply order.
    let mut unknown: Vec<(String, String)> = Vec::new();
    let mut advertised: Vec<&str> = Vec::new();
    let mut size: Option<Option<u64>> = None;
    let mut auth_words: Vec<String> = Vec::new();
    for line in lines {
        let mut parts = line.splitn(2, |&b| b == b' ');
        let keyword = parts.next().unwrap_or(&[]);
        let params = parts.next().unwrap_or(&[]);
        // A line with neither keyword nor parameters ("" or " ") is blank: skipped.
        if keyword.is_empty() && params.is_empty() {
            continue;
        }
        let is_legacy_auth = keyword.len() >= 5 && keyword[..5].eq_ignore_ascii_case(b"AUTH=");
        let typed = TYPED
            .iter()
            .find(|t| t.as_bytes().eq_ignore_ascii_case(keyword));
        let mut words = |list: &[u8]| {
            for w in list
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
            {
                auth_words.push(String::from_utf8_lossy(w).to_ascii_uppercase());
            }
        };
        if is_legacy_auth {
            assert!(caps.auth_advertised());
            advertised.push("AUTH");
            words(&keyword[5..]);
            words(params);
        } else if let Some(t) = typed {
            assert!(flag(&caps, t), "{t} advertised but its flag is unset");
            assert!(caps.has_extension(t));
            advertised.push(t);
            if *t == "SIZE" {
                size = Some(size_reference(params));
            }
            if *t == "AUTH" {
                words(params);
            }
        } else {
            unknown.push((
                String::from_utf8_lossy(keyword).into_owned(),
                String::from_utf8_lossy(params).into_owned(),
            ));
        }
    }
    let kept: Vec<(String, String)> = caps
        .extensions()
        .map(|(k, p)| (k.to_owned(), p.to_owned()))
        .collect();
    assert_eq!(kept, unknown, "unknown keywords lost or changed");
    for (k, _) in &kept {
        assert!(caps.has_extension(k), "has_extension({k:?}) is false");
    }

    let mechs: Vec<&str> = caps.auth_mechanisms().collect();
    assert!(mechs.len() <= MAX_AUTH_MECHANISMS);
    for (i, m) in mechs.iter().enumerate() {
        assert!(!m.is_empty());
        assert!(!m
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_lowercase()));
        assert!(caps.supports_auth(m));
        assert!(
            mechs[..i].iter().all(|o| !o.eq_ignore_ascii_case(m)),
            "mechanism {m:?} listed twice"
        );
    }
    if !mechs.is_empty() {
        assert!(caps.auth_advertised());
    }
    // The other way: a flag is set only by its keyword.
    for t in TYPED {
        assert_eq!(
            flag(&caps, t),
            advertised.contains(&t),
            "{t}: flag and reply disagree"
        );
    }
    assert_eq!(
        caps.max_size(),
        size.flatten(),
        "SIZE maximum (the last SIZE line's)"
    );
    for m in &mechs {
        assert!(
            auth_words.iter().any(|w| w == m),
            "mechanism {m:?} named on no AUTH line: {auth_words:?}"
        );
    }
});

/// RFC 1870 §4: `SIZE` then SP and the maximum in digits; 0 (or no number) means no
/// fixed maximum; the first word only, at most 20 digits, within u64.
fn size_reference(params: &[u8]) -> Option<u64> {
    let digits = params.split(|&b| b == b' ').next().unwrap_or(&[]);
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
}
