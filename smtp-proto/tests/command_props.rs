//! Property tests: no constructor accepts CR, LF or NUL anywhere, and every command built
//! from accepted values encodes to exactly one line.

use proptest::prelude::*;
use smtp_proto::command::{
    AddressError, AddressErrorKind, BodyType, Command, Domain, EhloName, EnvId, ForwardPath,
    MailParams, Mailbox, Mechanism, Notify, Orcpt, RcptParams, Ret, ReversePath, VrfyArg,
};

/// Encodes `cmd` and checks it is one line: a single CRLF, at the end, and no NUL.
fn one_line(cmd: &Command<'_>) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    cmd.encode(&mut out);
    prop_assert!(out.ends_with(b"\r\n"), "{out:?}");
    prop_assert_eq!(out.iter().filter(|&&b| b == b'\r').count(), 1);
    prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    prop_assert!(!out.contains(&0));
    Ok(())
}

/// Builds the command(s) each accepted value can appear in and checks their encoding.
/// Returns how many constructors accepted `s`.
fn encode_all_accepted(s: &str) -> Result<usize, TestCaseError> {
    let mut accepted = 0;
    let mp = MailParams::default();
    let rp = RcptParams::default();
    if let Ok(from) = ReversePath::new(s) {
        accepted += 1;
        one_line(&Command::Mail {
            from: &from,
            params: &mp,
        })?;
    }
    if let Ok(to) = ForwardPath::new(s) {
        accepted += 1;
        one_line(&Command::Rcpt {
            to: &to,
            params: &rp,
        })?;
    }
    if let Ok(m) = Mailbox::new(s) {
        accepted += 1;
        let from = ReversePath::from(m.clone());
        one_line(&Command::Mail {
            from: &from,
            params: &mp,
        })?;
        if let Ok(orcpt) = Orcpt::for_mailbox(&m) {
            let mut params = RcptParams::default();
            params.notify = Notify::on(true, true, true);
            params.orcpt = Some(orcpt);
            one_line(&Command::Rcpt {
                to: &ForwardPath::from(m),
                params: &params,
            })?;
        }
    }
    if let Ok(d) = Domain::new(s) {
        accepted += 1;
        if let Ok(m) = Mailbox::new(&format!("x@{}", d.as_str())) {
            one_line(&Command::Rcpt {
                to: &ForwardPath::from(m),
                params: &rp,
            })?;
        }
    }
    if let Ok(n) = EhloName::new(s) {
        accepted += 1;
        one_line(&Command::Ehlo(&n))?;
        one_line(&Command::Helo(&n))?;
        one_line(&Command::Lhlo(&n))?;
    }
    if let Ok(m) = Mechanism::new(s) {
        accepted += 1;
        one_line(&Command::Auth {
            mechanism: &m,
            initial_response: Some(s.as_bytes()),
        })?;
    }
    if let Ok(v) = VrfyArg::new(s) {
        accepted += 1;
        one_line(&Command::Vrfy(&v))?;
    }
    if let Ok(e) = EnvId::new(s) {
        accepted += 1;
        let mut params = MailParams::default();
        params.size = Some(s.len() as u64);
        params.body = Some(BodyType::BinaryMime);
        params.smtputf8 = true;
        params.ret = Some(Ret::Full);
        params.envid = Some(e);
        params.requiretls = true;
        one_line(&Command::Mail {
            from: &ReversePath::Null,
            params: &params,
        })?;
    }
    for orcpt in [Orcpt::rfc822(s), Orcpt::utf8(s)].into_iter().flatten() {
        accepted += 1;
        let mut params = RcptParams::default();
        params.notify = Some(Notify::never());
        params.orcpt = Some(orcpt);
        one_line(&Command::Rcpt {
            to: &ForwardPath::postmaster(),
            params: &params,
        })?;
    }
    Ok(accepted)
}

type Ctor = fn(&str) -> Result<(), AddressError>;

const CTORS: &[Ctor] = &[
    |s| Mailbox::new(s).map(drop),
    |s| Domain::new(s).map(drop),
    |s| EhloName::new(s).map(drop),
    |s| ReversePath::new(s).map(drop),
    |s| ForwardPath::new(s).map(drop),
    |s| EnvId::new(s).map(drop),
    |s| Orcpt::rfc822(s).map(drop),
    |s| Orcpt::utf8(s).map(drop),
    |s| Mechanism::new(s).map(drop),
    |s| VrfyArg::new(s).map(drop),
];

/// Characters that make up addresses, domains, literals and their near misses.
fn addressy() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[a-zA-Z0-9.@\\-_+=\"\\\\ <>\\[\\]:é例\u{1F600}\u{85}\u{202e}\t]{0,40}",
    )
    .unwrap()
}

/// Anything: arbitrary Unicode or address-like text.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), addressy()]
}

/// Well-formed mailboxes (dot-atom or quoted local part, name or literal domain).
fn mailbox() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-z0-9é]{1,5}){0,2}",
        "\"([ a-z@<>.,]|\\\\[\\\\\"])*\"",
    ];
    let domain = prop_oneof![
        "[a-z0-9ü]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z]{2,5}){0,3}",
        "\\[(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\\]",
        "\\[IPv6:[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}\\]",
        "\\[IPv6:([0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,2})?::([0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,2})?\\]",
    ];
    (local, domain).prop_map(|(l, d)| format!("{l}@{d}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// (d) A CR, LF or NUL inserted anywhere is refused by every constructor, as a
    /// control character at or before the insertion point.
    #[test]
    fn no_constructor_accepts_cr_lf_nul(
        base in any_text(),
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec!['\r', '\n', '\0']),
    ) {
        let boundaries: Vec<usize> =
            (0..=base.len()).filter(|&i| base.is_char_boundary(i)).collect();
        let i = *at.get(&boundaries);
        let mut s = base.clone();
        s.insert(i, bad);
        for ctor in CTORS {
            let e = ctor(&s).expect_err("control byte accepted");
            prop_assert_eq!(e.kind(), AddressErrorKind::ControlCharacter);
            prop_assert!(e.position() <= i);
            let b = s.as_bytes()[e.position()];
            prop_assert!(b < 0x20 || b == 0x7f || b == 0xc2, "byte {b:#x} in {s:?}");
        }
    }

    /// Every accepted value encodes to exactly one CRLF-terminated line with no NUL.
    #[test]
    fn accepted_values_encode_to_one_line(s in any_text()) {
        encode_all_accepted(&s)?;
    }

    /// The same over well-formed mailboxes, which must all be accepted, so the property
    /// above is not vacuous.
    #[test]
    fn wellformed_mailboxes_accepted_and_one_line(s in mailbox()) {
        prop_assert!(Mailbox::new(&s).is_ok(), "{s:?}: {:?}", Mailbox::new(&s));
        prop_assert!(encode_all_accepted(&s)? >= 3);
    }

    /// Constructors never panic, and errors point inside (or just past) the input.
    #[test]
    fn errors_point_into_input(s in any_text()) {
        for ctor in CTORS {
            if let Err(e) = ctor(&s) {
                prop_assert!(e.position() <= s.len(), "{e:?} for {s:?}");
            }
        }
    }

    /// AUTH lines carry any bytes as one base64 line.
    #[test]
    fn auth_bytes_one_line(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        one_line(&Command::AuthResponse(&bytes))?;
        one_line(&Command::Auth { mechanism: &Mechanism::PLAIN, initial_response: Some(&bytes) })?;
    }

    /// BDAT writes the decimal size.
    #[test]
    fn bdat_size(size in any::<u64>(), last in any::<bool>()) {
        let mut out = Vec::new();
        Command::Bdat { size, last }.encode(&mut out);
        let expected = format!("BDAT {size}{}\r\n", if last { " LAST" } else { "" });
        prop_assert_eq!(out, expected.into_bytes());
    }
}
