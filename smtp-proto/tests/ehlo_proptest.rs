//! Property tests of EHLO capabilities: keywords in any case, AUTH in both forms, and
//! arbitrary lines never panic.

use proptest::prelude::*;
use smtp_proto::ehlo::Capabilities;
use smtp_proto::reply::{Reply, ReplyCode, ReplyReader};

const TYPED: [&str; 10] = [
    "PIPELINING",
    "STARTTLS",
    "8BITMIME",
    "SMTPUTF8",
    "CHUNKING",
    "BINARYMIME",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "REQUIRETLS",
    "SIZE",
];

fn typed(caps: &Capabilities, keyword: &str) -> bool {
    match keyword {
        "PIPELINING" => caps.pipelining(),
        "STARTTLS" => caps.starttls(),
        "8BITMIME" => caps.eight_bit_mime(),
        "SMTPUTF8" => caps.smtputf8(),
        "CHUNKING" => caps.chunking(),
        "BINARYMIME" => caps.binary_mime(),
        "DSN" => caps.dsn(),
        "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes(),
        "REQUIRETLS" => caps.requiretls(),
        "SIZE" => caps.size_advertised(),
        other => panic!("{other}"),
    }
}

/// `s` with each letter's case chosen by `mask`.
fn mixed_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect()
}

fn mechanism() -> impl Strategy<Value = String> {
    "[A-Za-z0-9-]{1,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn typed_keywords_in_any_case(
        picks in prop::collection::vec((0..TYPED.len(), any::<u64>()), 0..12),
        unknown in prop::collection::vec(("X-[A-Z0-9]{1,8}", "[ -~]{0,20}"), 0..4),
    ) {
        let mut lines: Vec<Vec<u8>> = vec![b"mx.example hi".to_vec()];
        for (i, mask) in &picks {
            lines.push(mixed_case(TYPED[*i], *mask).into_bytes());
        }
        for (kw, params) in &unknown {
            let mut line = kw.clone().into_bytes();
            if !params.is_empty() {
                line.push(b' ');
                line.extend_from_slice(params.as_bytes());
            }
            lines.push(line);
        }
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let caps = Capabilities::from_reply(&Reply::new(ReplyCode::OK, &refs).unwrap());
        prop_assert_eq!(caps.domain(), "mx.example");
        for (i, keyword) in TYPED.iter().enumerate() {
            let sent = picks.iter().any(|(p, _)| *p == i);
            prop_assert_eq!(typed(&caps, keyword), sent, "{}", keyword);
            prop_assert_eq!(caps.has_extension(&keyword.to_ascii_lowercase()), sent);
        }
        let ext: Vec<(String, String)> = caps.extensions().map(|(k, p)| (k.to_string(), p.to_string())).collect();
        prop_assert_eq!(ext, unknown);
    }

    #[test]
    fn auth_forms_merge_case_insensitively(
        modern in prop::option::of(prop::collection::vec(mechanism(), 0..6)),
        legacy in prop::option::of(prop::collection::vec(mechanism(), 1..6)),
    ) {
        let mut lines: Vec<String> = vec!["mx".into()];
        if let Some(m) = &modern {
            lines.push(format!("AUTH {}", m.join(" ")).trim_end().to_string());
        }
        if let Some(l) = &legacy {
            lines.push(format!("auth={}", l.join(" ")));
        }
        let refs: Vec<&[u8]> = lines.iter().map(String::as_bytes).collect();
        let caps = Capabilities::from_reply(&Reply::new(ReplyCode::OK, &refs).unwrap());
        let mut want: Vec<String> = Vec::new();
        for m in modern.iter().flatten().chain(legacy.iter().flatten()) {
            let up = m.to_ascii_uppercase();
            if !want.contains(&up) {
                want.push(up);
            }
        }
        prop_assert_eq!(caps.auth_mechanisms().collect::<Vec<_>>(), want.iter().map(String::as_str).collect::<Vec<_>>());
        for m in modern.iter().flatten().chain(legacy.iter().flatten()) {
            prop_assert!(caps.supports_auth(&m.to_ascii_lowercase()));
        }
        prop_assert_eq!(caps.auth_advertised(), modern.is_some() || legacy.is_some());
        prop_assert_eq!(caps.extensions().count(), 0);
    }

    #[test]
    fn any_reply_text_gives_capabilities_without_panic(
        lines in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'), 0..60), 1..20),
    ) {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let reply = Reply::new(ReplyCode::OK, &refs).unwrap();
        let caps = Capabilities::from_reply(&reply);
        // Through the wire and back gives the same capabilities.
        let mut wire = Vec::new();
        reply.encode(&mut wire);
        let again = ReplyReader::default().read(&mut &wire[..]).unwrap().unwrap();
        prop_assert_eq!(Capabilities::from_reply(&again), caps.clone());
        let _ = (caps.domain(), caps.max_size(), caps.auth_mechanisms().count(), caps.extensions().count());
    }

    /// The reader records where lines end and the capabilities use that record instead
    /// of searching; replies of more lines than it holds, lines ending in LF alone and
    /// invalid UTF-8 take the searching path. Every path reads the same capabilities
    /// as a reply built from the lines (which records nothing).
    #[test]
    fn recorded_line_ends_read_like_a_search(
        lines in prop::collection::vec(line(), 0..40),
        lf_only in any::<u64>(),
        chunked in any::<bool>(),
    ) {
        let mut all: Vec<Vec<u8>> = vec![b"mx.example greets".to_vec()];
        all.extend(lines);
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        let want = view(&Capabilities::from(Reply::new(ReplyCode::OK, &refs).unwrap()));
        let mut wire = Vec::new();
        for (i, line) in all.iter().enumerate() {
            wire.extend_from_slice(if i + 1 < all.len() { b"250-" } else { b"250 " });
            wire.extend_from_slice(line);
            wire.extend_from_slice(if lf_only >> (i % 64) & 1 == 1 { b"\n" } else { b"\r\n" });
        }
        let mut reader = ReplyReader::new(smtp_proto::reply::ReplyLimits::new(4096, 1000, 1 << 20));
        let reply = if chunked {
            // Byte by byte: every line through the framer.
            let mut got = None;
            for b in &wire {
                if let Some(r) = reader.read(&mut &[*b][..]).unwrap() {
                    got = Some(r);
                }
            }
            got.unwrap()
        } else {
            reader.read(&mut &wire[..]).unwrap().unwrap()
        };
        prop_assert_eq!(view(&Capabilities::from_reply(&reply)), want.clone());
        prop_assert_eq!(view(&Capabilities::from(reply)), want);
    }
}

/// A line of an EHLO reply: a typed keyword in any case (with parameters sometimes),
/// AUTH in either form, an unknown keyword, or any octets but CR and LF.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            0..TYPED.len(),
            any::<u64>(),
            prop::option::of("[ -~]{0,12}")
        )
            .prop_map(|(i, mask, params)| {
                let mut l = mixed_case(TYPED[i], mask);
                if let Some(p) = params {
                    l.push(' ');
                    l.push_str(&p);
                }
                l.into_bytes()
            }),
        (prop::bool::ANY, prop::collection::vec(mechanism(), 0..4)).prop_map(|(legacy, m)| {
            let sep = if legacy { "=" } else { " " };
            format!("auth{sep}{}", m.join(" ")).into_bytes()
        }),
        ("[A-Z][A-Z0-9-]{0,20}", "[ -~]{0,20}").prop_map(|(k, p)| format!("{k} {p}").into_bytes()),
        prop::collection::vec(
            any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
            0..30
        ),
    ]
}

/// Everything the capabilities tell, for comparing two of them.
#[derive(Debug, Clone, PartialEq)]
struct View {
    domain: String,
    flags: Vec<bool>,
    auth: bool,
    max_size: Option<u64>,
    mechanisms: Vec<String>,
    extensions: Vec<(String, String)>,
}

fn view(c: &Capabilities) -> View {
    View {
        domain: c.domain().to_string(),
        flags: TYPED.iter().map(|k| typed(c, k)).collect(),
        auth: c.auth_advertised(),
        max_size: c.max_size(),
        mechanisms: c.auth_mechanisms().map(str::to_string).collect(),
        extensions: c
            .extensions()
            .map(|(k, p)| (k.to_string(), p.to_string()))
            .collect(),
    }
}
