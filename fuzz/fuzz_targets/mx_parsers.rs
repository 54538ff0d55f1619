//! The MX delivery parsers (smtp-proto feature `mx`) on hostile input: the `_mta-sts`
//! and `_smtp._tls` TXT records, the MTA-STS policy file, MX patterns, and the policy
//! fetch's HTTP/1.1 response.
//!
//! Input: raw bytes, given to every parser. For the TXT parsers they are split at NUL
//! into several TXT records. For `PolicyGet` they are the response, fed whole and then
//! in pieces cut at each byte equal to the first one (so that the cut points are the
//! fuzzer's to choose).
//!
//! Checks: no panic; a record's `id` is 1 to 32 ASCII alphanumerics; a TLSRPT record has
//! 1 to `MAX_RUA` URIs, each `mailto:` or `https:` and free of space and controls; a
//! policy's `max_age` is at most `MAX_STS_MAX_AGE`, an enforce or testing policy lists a
//! pattern, at most `MAX_STS_MX` patterns, and each pattern re-parses from its text to
//! an equal one; a pattern matches its own domain (or, for `*.d`, `x.d`) and never a
//! name one label deeper; `PolicyGet` gives the same result however the response is
//! cut, and a body is never over `MAX_POLICY_BODY`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::command::Domain;
use smtp_proto::mx::{
    parse_sts_policy, parse_sts_txt, parse_tlsrpt_txt, MxPattern, PolicyGet, StsMode,
    MAX_POLICY_BODY, MAX_RUA, MAX_STS_MAX_AGE, MAX_STS_MX,
};

fuzz_target!(|data: &[u8]| {
    let records: Vec<&[u8]> = data.split(|&b| b == 0).collect();

    if let Ok(r) = parse_sts_txt(records.iter().copied()) {
        assert!((1..=32).contains(&r.id.len()));
        assert!(r.id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    if let Ok(r) = parse_tlsrpt_txt(records.iter().copied()) {
        assert!(!r.rua.is_empty() && r.rua.len() <= MAX_RUA);
        for uri in &r.rua {
            let lower = uri.to_ascii_lowercase();
            assert!(lower.starts_with("mailto:") || lower.starts_with("https:"), "{uri}");
            assert!(uri.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{uri:?}");
        }
    }

    if let Ok(p) = parse_sts_policy(data) {
        assert!(p.max_age <= MAX_STS_MAX_AGE);
        assert!(p.mx.len() <= MAX_STS_MX);
        assert!(p.mode == StsMode::None || !p.mx.is_empty());
        for pattern in &p.mx {
            let text = pattern.to_string();
            assert_eq!(MxPattern::parse(&text).as_ref(), Ok(pattern));
            check_pattern(pattern, &text);
        }
    }

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pattern) = MxPattern::parse(text) {
            check_pattern(&pattern, &pattern.to_string());
        }
    }

    let domain = Domain::new("example.com").unwrap();
    let whole = feed(&domain, &[data]);
    let cut = data.first().copied().unwrap_or(b'\n');
    let pieces: Vec<&[u8]> = data.split_inclusive(|&b| b == cut).collect();
    assert_eq!(feed(&domain, &pieces), whole, "the result depends on the cuts");
    if let Ok(body) = &whole {
        assert!(body.len() <= MAX_POLICY_BODY);
    }
});

fn check_pattern(pattern: &MxPattern, text: &str) {
    let domain = text.strip_prefix("*.").unwrap_or(text);
    if pattern.is_wildcard() {
        assert!(pattern.matches(&format!("x.{domain}")), "{text}");
        assert!(!pattern.matches(domain), "{text}");
    } else {
        assert!(pattern.matches(&domain.to_ascii_uppercase()), "{text}");
    }
    assert!(!pattern.matches(&format!("a.b.{domain}")), "{text}");
}

fn feed(domain: &Domain, pieces: &[&[u8]]) -> Result<Vec<u8>, smtp_proto::mx::PolicyGetError> {
    let mut get = PolicyGet::new(domain);
    for piece in pieces {
        if let Some(body) = get.handle_input(piece)? {
            return Ok(body);
        }
    }
    get.handle_eof()
}
