//! The validated constructors of `smtp_proto::command` on arbitrary strings.
//!
//! Input: one selector byte, then a string (invalid UTF-8 is replaced, so every input is
//! tried). Bit 0 of the selector splices CR, LF or NUL into the string at a position the
//! next byte picks, so that injection attempts are common rather than rare.
//!
//! Checks: no constructor (address, domain, EHLO name, mechanism, VRFY, ENVID, ORCPT)
//! accepts a string holding CR, LF or NUL; every command built from an accepted value
//! encodes to exactly one line: a single CRLF at its end and no other control byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::command::{
    Command, Domain, EhloName, EnvId, ForwardPath, MailParams, Mailbox, Mechanism, Notify, Orcpt,
    RcptParams, ReversePath, VrfyArg,
};

/// Encodes `cmd` and checks it is one CRLF-terminated line with no other control byte.
fn one_line(what: &str, input: &str, cmd: &Command<'_>) {
    let mut out = Vec::new();
    cmd.encode(&mut out);
    let Some(line) = out.strip_suffix(b"\r\n") else {
        panic!("{what}({input:?}) encodes without CRLF: {out:?}");
    };
    assert!(
        !line.iter().any(|&b| b < 0x20 || b == 0x7f),
        "{what}({input:?}) encodes a control byte: {out:?}"
    );
}

fn accepted(what: &str, s: &str) {
    assert!(
        !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0),
        "{what} accepted {s:?}, which holds CR, LF or NUL"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mut s = String::from_utf8_lossy(rest).into_owned();
    if control & 1 == 1 && !s.is_empty() {
        let at = usize::from(control >> 3) % (s.len() + 1);
        let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        let bad = ["\r", "\n", "\0", "\r\n"][usize::from(control >> 1) & 3];
        s.insert_str(at, bad);
    }
    let s = s.as_str();
    let mail = MailParams::default();
    let rcpt = RcptParams::default();

    if let Ok(name) = EhloName::new(s) {
        accepted("EhloName::new", s);
        one_line("EhloName", s, &Command::Ehlo(&name));
        one_line("EhloName", s, &Command::Helo(&name));
        one_line("EhloName", s, &Command::Lhlo(&name));
    }
    if let Ok(domain) = Domain::new(s) {
        accepted("Domain::new", s);
        assert!(!domain.to_string().contains(['\r', '\n', '\0']));
        if let Ok(name) = EhloName::from_domain(domain) {
            one_line("EhloName::from_domain", s, &Command::Ehlo(&name));
        }
    }
    if let Ok(m) = Mailbox::new(s) {
        accepted("Mailbox::new", s);
        let from = ReversePath::from(m.clone());
        one_line(
            "Mailbox",
            s,
            &Command::Mail {
                from: &from,
                params: &mail,
            },
        );
        if let Ok(orcpt) = Orcpt::for_mailbox(&m) {
            let mut params = RcptParams::default();
            params.notify = Notify::on(true, true, true);
            params.orcpt = Some(orcpt);
            let to = ForwardPath::from(m);
            one_line(
                "Orcpt::for_mailbox",
                s,
                &Command::Rcpt {
                    to: &to,
                    params: &params,
                },
            );
        }
    }
    if let Ok(from) = ReversePath::new(s) {
        accepted("ReversePath::new", s);
        one_line(
            "ReversePath",
            s,
            &Command::Mail {
                from: &from,
                params: &mail,
            },
        );
    }
    if let Ok(to) = ForwardPath::new(s) {
        accepted("ForwardPath::new", s);
        one_line(
            "ForwardPath",
            s,
            &Command::Rcpt {
                to: &to,
                params: &rcpt,
            },
        );
    }
    if let Ok(mechanism) = Mechanism::new(s) {
        accepted("Mechanism::new", s);
        for initial_response in [None, Some(&b""[..]), Some(s.as_bytes())] {
            one_line(
                "Mechanism",
                s,
                &Command::Auth {
                    mechanism: &mechanism,
                    initial_response,
                },
            );
        }
    }
    if let Ok(arg) = VrfyArg::new(s) {
        accepted("VrfyArg::new", s);
        one_line("VrfyArg", s, &Command::Vrfy(&arg));
    }
    let from = ReversePath::Null;
    if let Ok(envid) = EnvId::new(s) {
        accepted("EnvId::new", s);
        let mut params = MailParams::default();
        params.envid = Some(envid);
        one_line(
            "EnvId",
            s,
            &Command::Mail {
                from: &from,
                params: &params,
            },
        );
    }
    let to = ForwardPath::postmaster();
    for (what, orcpt) in [
        ("Orcpt::rfc822", Orcpt::rfc822(s)),
        ("Orcpt::utf8", Orcpt::utf8(s)),
    ] {
        if let Ok(orcpt) = orcpt {
            accepted(what, s);
            let mut params = RcptParams::default();
            params.notify = None;
            params.orcpt = Some(orcpt);
            one_line(
                what,
                s,
                &Command::Rcpt {
                    to: &to,
                    params: &params,
                },
            );
        }
    }
    // Base64 keeps any bytes on one line.
    one_line("AuthResponse", s, &Command::AuthResponse(s.as_bytes()));
});
