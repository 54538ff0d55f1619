//! Address, domain, literal and EHLO-name validation (RFC 5321 §4.1.2, §4.1.3, §4.5.3.1;
//! RFC 6531 §3.3).

use smtp_proto::command::{
    AddressError, AddressErrorKind as K, Domain, EhloName, ForwardPath, Mailbox, ReversePath,
};

fn err<T: core::fmt::Debug>(r: Result<T, AddressError>) -> (K, usize) {
    let e = r.expect_err("value should be refused");
    (e.kind(), e.position())
}

// ---- dot-atom local parts ----

#[test]
fn dot_atom_valid() {
    for s in [
        "a@b",
        "first.last@example.org",
        "x!#$%&'*+-/=?^_`{|}~@example.org",
        "a.b.c.d@e",
        "1@2",
    ] {
        let m = Mailbox::new(s).unwrap();
        assert_eq!(m.as_str(), s);
        assert!(!m.needs_smtputf8());
    }
}

#[test]
fn dot_atom_parts() {
    let m = Mailbox::new("first.last@example.org").unwrap();
    assert_eq!(m.local_part(), "first.last");
    assert_eq!(m.domain().as_str(), "example.org");
    assert_eq!(m.to_string(), "first.last@example.org");
}

#[test]
fn dot_atom_leading_trailing_double_dot() {
    assert_eq!(err(Mailbox::new(".a@b")), (K::InvalidLocalPart, 0));
    assert_eq!(err(Mailbox::new("a.@b")), (K::InvalidLocalPart, 1));
    assert_eq!(err(Mailbox::new("a..b@c")), (K::InvalidLocalPart, 2));
    assert_eq!(err(Mailbox::new("@b")), (K::InvalidLocalPart, 0));
}

#[test]
fn unquoted_specials_refused() {
    assert_eq!(err(Mailbox::new("a b@c")), (K::InvalidCharacter, 1));
    assert_eq!(err(Mailbox::new("a<b@c")), (K::InvalidCharacter, 1));
    assert_eq!(err(Mailbox::new("a>b@c")), (K::InvalidCharacter, 1));
    assert_eq!(err(Mailbox::new("a\"b@c")), (K::InvalidCharacter, 1));
    assert_eq!(err(Mailbox::new("a,b@c")), (K::InvalidCharacter, 1));
    assert_eq!(err(Mailbox::new("a@b c")), (K::InvalidCharacter, 3));
    assert_eq!(err(Mailbox::new("a@b>")), (K::InvalidCharacter, 3));
    assert_eq!(err(Mailbox::new("a@b@c")), (K::InvalidCharacter, 3));
}

#[test]
fn missing_at_and_empty() {
    assert_eq!(err(Mailbox::new("")), (K::Empty, 0));
    assert_eq!(err(Mailbox::new("abc")), (K::MissingAt, 3));
    assert_eq!(err(Mailbox::new("a@")), (K::Empty, 2));
}

#[test]
fn source_route_refused() {
    assert!(Mailbox::new("@a,@b:c@d").is_err());
    assert!(ReversePath::new("<@a,@b:c@d>").is_err());
}

// ---- quoted local parts ----

#[test]
fn quoted_local_parts() {
    for s in [
        "\"john smith\"@example.org",
        "\"a\\\"b\"@c",
        "\"a\\\\b\"@c",
        "\"a@b\"@c",
        "\"\"@c",
        "\"<>,;:\"@c",
    ] {
        let m = Mailbox::new(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(m.local_part().starts_with('"') && m.local_part().ends_with('"'));
    }
    let m = Mailbox::new("\"a@b\"@c").unwrap();
    assert_eq!(m.local_part(), "\"a@b\"");
    assert_eq!(m.domain().as_str(), "c");
}

#[test]
fn quoted_local_parts_invalid() {
    // Unterminated.
    assert_eq!(err(Mailbox::new("\"abc@d")), (K::InvalidLocalPart, 6));
    // Something other than '@' after the closing quote.
    assert_eq!(err(Mailbox::new("\"a\"b@c")), (K::InvalidCharacter, 3));
    // A quoted-pair must escape printable ASCII.
    assert_eq!(err(Mailbox::new("\"a\\é\"@c")), (K::InvalidCharacter, 3));
    // Controls stay refused inside quotes, escaped or not.
    assert_eq!(err(Mailbox::new("\"a\rb\"@c")), (K::ControlCharacter, 2));
    assert_eq!(err(Mailbox::new("\"a\\\nb\"@c")), (K::ControlCharacter, 3));
    assert_eq!(err(Mailbox::new("\"a\tb\"@c")), (K::ControlCharacter, 2));
}

// ---- length limits, RFC 5321 §4.5.3.1 ----

#[test]
fn local_part_64_and_65() {
    let ok = format!("{}@b", "a".repeat(64));
    assert!(Mailbox::new(&ok).is_ok());
    let long = format!("{}@b", "a".repeat(65));
    assert_eq!(err(Mailbox::new(&long)), (K::TooLong { limit: 64 }, 64));
    // Quotes count.
    let quoted = format!("\"{}\"@b", "a".repeat(63));
    assert_eq!(err(Mailbox::new(&quoted)), (K::TooLong { limit: 64 }, 64));
}

fn domain_of_len(n: usize) -> String {
    // Labels of up to 60 octets; the lengths used here never leave a trailing dot.
    let mut s = String::new();
    while s.len() < n {
        if !s.is_empty() {
            s.push('.');
        }
        let room = (n - s.len()).min(60);
        s.push_str(&"d".repeat(room));
    }
    assert_eq!(s.len(), n);
    assert!(!s.ends_with('.'));
    s
}

#[test]
fn domain_255_and_256() {
    let d = domain_of_len(255);
    assert_eq!(Domain::new(&d).unwrap().as_str(), d);
    let d = domain_of_len(256);
    assert_eq!(err(Domain::new(&d)), (K::TooLong { limit: 255 }, 255));
}

#[test]
fn label_63_and_64() {
    assert!(Domain::new(&format!("{}.com", "a".repeat(63))).is_ok());
    assert_eq!(
        err(Domain::new(&format!("x.{}.com", "a".repeat(64)))),
        (K::TooLong { limit: 63 }, 65)
    );
}

#[test]
fn path_limit_256() {
    // 64 + 1 + 189 = 254 octets, 256 with the brackets: the most a path may hold.
    let local = "l".repeat(64);
    let ok = format!("{local}@{}", domain_of_len(189));
    assert_eq!(ok.len(), 254);
    assert!(Mailbox::new(&ok).is_ok());
    let over = format!("{local}@{}", domain_of_len(190));
    assert_eq!(err(Mailbox::new(&over)), (K::TooLong { limit: 256 }, 254));
    // With brackets, positions refer to the bracketed input.
    assert_eq!(
        err(ReversePath::new(&format!("<{over}>"))),
        (K::TooLong { limit: 256 }, 255)
    );
}

// ---- domains ----

#[test]
fn domain_valid() {
    for s in [
        "example.org",
        "a",
        "a-b.c",
        "xn--bcher-kva.example",
        "123.example",
        "A.B.C",
    ] {
        let d = Domain::new(s).unwrap();
        assert!(!d.needs_smtputf8());
        assert!(!d.is_address_literal());
    }
}

#[test]
fn domain_invalid() {
    assert_eq!(err(Domain::new("")), (K::Empty, 0));
    assert_eq!(err(Domain::new("-a.b")), (K::InvalidDomain, 0));
    assert_eq!(err(Domain::new("a-.b")), (K::InvalidDomain, 1));
    assert_eq!(err(Domain::new("a..b")), (K::InvalidDomain, 2));
    assert_eq!(err(Domain::new(".a")), (K::InvalidDomain, 0));
    assert_eq!(err(Domain::new("a.")), (K::InvalidDomain, 2));
    assert_eq!(err(Domain::new("a_b.c")), (K::InvalidCharacter, 1));
    assert_eq!(err(Domain::new("a b")), (K::InvalidCharacter, 1));
    assert_eq!(err(Domain::new("a>b")), (K::InvalidCharacter, 1));
}

#[test]
fn idn_domain_needs_smtputf8() {
    let d = Domain::new("bücher.example").unwrap();
    assert!(d.needs_smtputf8());
    let d = Domain::new("例え.テスト").unwrap();
    assert!(d.needs_smtputf8());
    // Invisible or reordering characters are refused even though they are non-ASCII.
    assert_eq!(
        err(Domain::new("a\u{202e}b.example")),
        (K::InvalidCharacter, 1)
    );
    assert_eq!(err(Domain::new("a\u{a0}b")), (K::InvalidCharacter, 1));
    assert_eq!(err(Domain::new("a\u{3000}b")), (K::InvalidCharacter, 1));
}

#[test]
fn utf8_mailbox_needs_smtputf8() {
    let m = Mailbox::new("用户@例子.广告").unwrap();
    assert!(m.needs_smtputf8());
    let m = Mailbox::new("josé@example.org").unwrap();
    assert!(m.needs_smtputf8());
    assert!(!m.domain().needs_smtputf8());
    let m = Mailbox::new("jose@bücher.example").unwrap();
    assert!(m.needs_smtputf8());
    assert!(ReversePath::new("josé@example.org")
        .unwrap()
        .needs_smtputf8());
    assert!(ForwardPath::new("josé@example.org")
        .unwrap()
        .needs_smtputf8());
    assert!(!ForwardPath::new("jose@example.org")
        .unwrap()
        .needs_smtputf8());
}

#[test]
fn c1_controls_refused() {
    // U+0085 (NEL) and U+009B (CSI) are C1 controls.
    assert_eq!(err(Mailbox::new("a\u{85}b@c")), (K::ControlCharacter, 1));
    assert_eq!(err(Domain::new("ab\u{9b}c")), (K::ControlCharacter, 2));
}

// ---- address literals ----

#[test]
fn ipv4_literals() {
    for s in ["[192.0.2.1]", "[0.0.0.0]", "[255.255.255.255]", "[1.2.3.4]"] {
        let d = Domain::new(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(d.is_address_literal());
        assert!(!d.needs_smtputf8());
    }
    for (s, pos) in [
        ("[256.0.0.1]", 1),
        ("[1.2.3]", 6),
        ("[1.2.3.4.5]", 8),
        ("[1..3.4]", 3),
        ("[1.2.3.]", 7),
        ("[1234.1.1.1]", 4),
        ("[a.b.c.d]", 1),
        ("[]", 1),
        ("[1.2.3.4", 0),
        ("[ 1.2.3.4]", 1),
    ] {
        assert_eq!(err(Domain::new(s)), (K::InvalidLiteral, pos), "{s}");
    }
}

#[test]
fn ipv6_literals_valid() {
    for s in [
        "[IPv6:2001:db8:0:0:0:0:0:1]",
        "[IPv6:2001:db8::1]",
        "[IPv6:::]",
        "[IPv6:::1]",
        "[IPv6:fe80::]",
        "[ipv6:FE80::1]",
        "[IPv6:1:2:3:4:5:6:7:8]",
        "[IPv6:1:2:3::6:7:8]",
        "[IPv6:1:2:3:4:5:6:192.0.2.1]",
        "[IPv6:::ffff:192.0.2.1]",
        "[IPv6:::192.0.2.1]",
        "[IPv6:1:2:3:4::192.0.2.1]",
        "[IPv6:1::4:192.0.2.1]",
    ] {
        let d = Domain::new(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(d.is_address_literal());
    }
}

#[test]
fn ipv6_literals_invalid() {
    for s in [
        "[IPv6:]",
        "[IPv6:1:2:3:4:5:6:7]",
        "[IPv6:1:2:3:4:5:6:7:8:9]",
        "[IPv6:1::2::3]",
        "[IPv6:1:::2]",
        "[IPv6::1:2:3:4:5:6:7]",
        "[IPv6:1:2:3:4:5:6:7:]",
        "[IPv6:12345::1]",
        "[IPv6:g::1]",
        // RFC 5321: "::" stands for at least two groups, so 7 others is too many.
        "[IPv6:1:2:3:4:5:6::7]",
        "[IPv6:1:2:3:4:5:6:7::]",
        "[IPv6:1:2:3:4:5:192.0.2.1]",
        "[IPv6:1:2:3:4:5:6:7:192.0.2.1]",
        "[IPv6:1:2:3:4:5::192.0.2.1]",
        "[IPv6:::256.0.0.1]",
        "[IPv6:::1.2.3]",
        "[IPv6:192.0.2.1]",
        "[IPv6:1.2.3.4::]",
        "[IPv6::192.0.2.1]",
        "[IPv6:1::2:]",
    ] {
        assert_eq!(err(Domain::new(s)).0, K::InvalidLiteral, "{s}");
    }
}

#[test]
fn general_literals() {
    assert!(Domain::new("[x-tag:some-content]")
        .unwrap()
        .is_address_literal());
    assert!(Domain::new("[tag:!Z^~]").is_ok());
    for (s, pos) in [
        ("[:x]", 1),
        ("[tag-:x]", 4),
        ("[t_g:x]", 2),
        ("[tag:]", 5),
        ("[tag:a b]", 6),
        ("[tag:a\\b]", 6),
        ("[tag:a[b]", 6),
    ] {
        assert_eq!(err(Domain::new(s)), (K::InvalidLiteral, pos), "{s}");
    }
}

#[test]
fn mailbox_with_literal_domain() {
    let m = Mailbox::new("postmaster@[IPv6:2001:db8::1]").unwrap();
    assert!(m.domain().is_address_literal());
    assert_eq!(
        err(Mailbox::new("a@[IPv6:2001:db8::g]")),
        (K::InvalidLiteral, 18)
    );
}

#[test]
fn domain_from_ip() {
    use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let d = Domain::from_ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(d.as_str(), "[192.0.2.1]");
    assert_eq!(d, Domain::new("[192.0.2.1]").unwrap());
    let d = Domain::from_ip(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)));
    assert_eq!(d.as_str(), "[IPv6:2001:db8::1]");
    assert_eq!(d, Domain::new("[IPv6:2001:db8::1]").unwrap());
}

// ---- EHLO names ----

#[test]
fn ehlo_names() {
    assert_eq!(
        EhloName::new("mail.example.org").unwrap().as_str(),
        "mail.example.org"
    );
    assert!(EhloName::new("[192.0.2.1]").is_ok());
    assert!(EhloName::new("[IPv6:::1]").is_ok());
    assert_eq!(EhloName::localhost().as_str(), "localhost");
    // RFC 6531 §3.7.1: the greeting name must be ASCII (A-labels).
    assert_eq!(
        err(EhloName::new("bücher.example")),
        (K::InvalidCharacter, 1)
    );
    assert!(EhloName::new("xn--bcher-kva.example").is_ok());
    assert_eq!(err(EhloName::new("")), (K::Empty, 0));
    assert_eq!(err(EhloName::new("a b")), (K::InvalidCharacter, 1));
    assert_eq!(err(EhloName::new("-a")), (K::InvalidDomain, 0));
}

// ---- paths ----

#[test]
fn reverse_path() {
    assert_eq!(ReversePath::new("").unwrap(), ReversePath::Null);
    assert_eq!(ReversePath::new("<>").unwrap(), ReversePath::Null);
    assert!(!ReversePath::Null.needs_smtputf8());
    assert_eq!(ReversePath::Null.as_str(), "");
    let p = ReversePath::new("<a@b>").unwrap();
    assert_eq!(p, ReversePath::new("a@b").unwrap());
    assert_eq!(p.mailbox().unwrap().as_str(), "a@b");
    assert_eq!(err(ReversePath::new("<a@b")), (K::InvalidCharacter, 0));
    assert_eq!(err(ReversePath::new("<a..b@c>")), (K::InvalidLocalPart, 3));
    assert_eq!(err(ReversePath::new("<<>>")), (K::InvalidCharacter, 1));
}

#[test]
fn forward_path() {
    let p = ForwardPath::new("<x@y>").unwrap();
    assert_eq!(p.as_str(), "x@y");
    assert!(!p.is_postmaster());
    let p = ForwardPath::new("Postmaster").unwrap();
    assert!(p.is_postmaster());
    assert!(p.mailbox().is_none());
    assert_eq!(p.as_str(), "Postmaster");
    assert_eq!(
        ForwardPath::new("<postmaster>").unwrap(),
        ForwardPath::postmaster()
    );
    assert!(ForwardPath::new("Postmaster@example.org")
        .unwrap()
        .mailbox()
        .is_some());
    assert_eq!(err(ForwardPath::new("")), (K::Empty, 0));
    assert_eq!(err(ForwardPath::new("<>")), (K::Empty, 1));
    let m = Mailbox::new("a@b").unwrap();
    assert_eq!(ForwardPath::from(m.clone()).mailbox(), Some(&m));
}

#[test]
fn error_display_names_position_not_value() {
    let e = Mailbox::new("secret\r\n@x").unwrap_err();
    let text = e.to_string();
    assert_eq!(text, "control character at byte 6");
    assert!(!text.contains("secret"));
}
