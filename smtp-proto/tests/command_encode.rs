//! Exact wire bytes of every command and parameter (RFC 5321 §4.1.1, RFC 4954 §4,
//! RFC 3030 §2, RFC 3461 §4, RFC 6533 §3), and pipelining group ends (RFC 2920 §3.1).

use smtp_proto::command::{
    AddressErrorKind as K, BodyType, Command, EhloName, EnvId, ForwardPath, MailParams, Mailbox,
    Mechanism, Notify, Orcpt, OrcptType, RcptParams, Ret, ReversePath, VrfyArg,
};

fn wire(c: &Command<'_>) -> String {
    let mut out = Vec::new();
    c.encode(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn greetings() {
    let n = EhloName::new("client.example").unwrap();
    assert_eq!(wire(&Command::Ehlo(&n)), "EHLO client.example\r\n");
    assert_eq!(wire(&Command::Helo(&n)), "HELO client.example\r\n");
    assert_eq!(wire(&Command::Lhlo(&n)), "LHLO client.example\r\n");
    let lit = EhloName::new("[IPv6:2001:db8::1]").unwrap();
    assert_eq!(wire(&Command::Ehlo(&lit)), "EHLO [IPv6:2001:db8::1]\r\n");
}

#[test]
fn bare_verbs() {
    assert_eq!(wire(&Command::StartTls), "STARTTLS\r\n");
    assert_eq!(wire(&Command::Data), "DATA\r\n");
    assert_eq!(wire(&Command::Rset), "RSET\r\n");
    assert_eq!(wire(&Command::Noop), "NOOP\r\n");
    assert_eq!(wire(&Command::Quit), "QUIT\r\n");
    assert_eq!(wire(&Command::AuthCancel), "*\r\n");
}

#[test]
fn bdat() {
    assert_eq!(
        wire(&Command::Bdat {
            size: 42,
            last: true
        }),
        "BDAT 42 LAST\r\n"
    );
    assert_eq!(
        wire(&Command::Bdat {
            size: 42,
            last: false
        }),
        "BDAT 42\r\n"
    );
    assert_eq!(
        wire(&Command::Bdat {
            size: 0,
            last: true
        }),
        "BDAT 0 LAST\r\n"
    );
    assert_eq!(
        wire(&Command::Bdat {
            size: u64::MAX,
            last: false
        }),
        "BDAT 18446744073709551615\r\n"
    );
}

#[test]
fn vrfy() {
    let a = VrfyArg::new("John Smith").unwrap();
    assert_eq!(wire(&Command::Vrfy(&a)), "VRFY John Smith\r\n");
    assert!(!a.needs_smtputf8());
    let utf8 = VrfyArg::new("José").unwrap();
    assert!(utf8.needs_smtputf8());
    // RFC 6531 §3.7.4.2: non-ASCII text goes with the parameter.
    assert_eq!(wire(&Command::Vrfy(&utf8)), "VRFY José SMTPUTF8\r\n");
    assert_eq!(VrfyArg::new(&"v".repeat(500)).unwrap().as_str().len(), 500);
    let e = VrfyArg::new(&"v".repeat(501)).unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::TooLong { limit: 500 }, 500));
    assert_eq!(VrfyArg::new("").unwrap_err().kind(), K::Empty);
}

#[test]
fn auth() {
    let plain = Mechanism::PLAIN;
    let c = Command::Auth {
        mechanism: &plain,
        initial_response: None,
    };
    assert_eq!(wire(&c), "AUTH PLAIN\r\n");
    // RFC 4954 §4: an empty initial response is "=".
    let c = Command::Auth {
        mechanism: &plain,
        initial_response: Some(b""),
    };
    assert_eq!(wire(&c), "AUTH PLAIN =\r\n");
    let c = Command::Auth {
        mechanism: &plain,
        initial_response: Some(b"\0user\0pass"),
    };
    assert_eq!(wire(&c), "AUTH PLAIN AHVzZXIAcGFzcw==\r\n");
    let m = Mechanism::new("x-custom_1").unwrap();
    let c = Command::Auth {
        mechanism: &m,
        initial_response: Some(b"a"),
    };
    assert_eq!(wire(&c), "AUTH X-CUSTOM_1 YQ==\r\n");
}

#[test]
fn auth_response() {
    assert_eq!(wire(&Command::AuthResponse(b"")), "\r\n");
    assert_eq!(wire(&Command::AuthResponse(b"user")), "dXNlcg==\r\n");
    assert_eq!(
        wire(&Command::AuthResponse(&[0xff, 0xfe, 0x0d, 0x0a])),
        "//4NCg==\r\n"
    );
}

#[test]
fn encode_appends() {
    let mut out = b"RSET\r\n".to_vec();
    Command::Noop.encode(&mut out);
    Command::AuthResponse(b"ab").encode(&mut out);
    assert_eq!(out, b"RSET\r\nNOOP\r\nYWI=\r\n");
}

#[test]
fn mechanisms() {
    assert_eq!(Mechanism::PLAIN.as_str(), "PLAIN");
    assert_eq!(Mechanism::LOGIN.as_str(), "LOGIN");
    assert_eq!(Mechanism::XOAUTH2.as_str(), "XOAUTH2");
    assert_eq!(Mechanism::OAUTHBEARER.as_str(), "OAUTHBEARER");
    assert_eq!(Mechanism::CRAM_MD5.as_str(), "CRAM-MD5");
    assert_eq!(Mechanism::new("plain").unwrap(), Mechanism::PLAIN);
    assert_eq!(Mechanism::new("cram-md5").unwrap(), Mechanism::CRAM_MD5);
    assert_eq!(format!("{:?}", Mechanism::PLAIN), "Mechanism(\"PLAIN\")");
    assert!(Mechanism::new(&"A".repeat(20)).is_ok());
    let e = Mechanism::new(&"A".repeat(21)).unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::TooLong { limit: 20 }, 20));
    let e = Mechanism::new("PL AIN").unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::InvalidCharacter, 2));
    let e = Mechanism::new("PLAIN=").unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::InvalidCharacter, 5));
    assert_eq!(Mechanism::new("").unwrap_err().kind(), K::Empty);
    assert_eq!(Mechanism::new("é").unwrap_err().kind(), K::InvalidCharacter);
}

fn mail(from: &str, params: &MailParams) -> String {
    let from = ReversePath::new(from).unwrap();
    wire(&Command::Mail {
        from: &from,
        params,
    })
}

#[test]
fn mail_plain_and_null() {
    assert_eq!(mail("a@b", &MailParams::default()), "MAIL FROM:<a@b>\r\n");
    assert_eq!(mail("<>", &MailParams::default()), "MAIL FROM:<>\r\n");
    assert_eq!(mail("", &MailParams::default()), "MAIL FROM:<>\r\n");
    assert_eq!(
        mail("\"john smith\"@example.org", &MailParams::default()),
        "MAIL FROM:<\"john smith\"@example.org>\r\n"
    );
}

#[test]
fn mail_each_param() {
    let p = |f: fn(&mut MailParams)| {
        let mut params = MailParams::default();
        f(&mut params);
        mail("a@b", &params)
    };
    assert_eq!(p(|m| m.size = Some(0)), "MAIL FROM:<a@b> SIZE=0\r\n");
    assert_eq!(p(|m| m.size = Some(123)), "MAIL FROM:<a@b> SIZE=123\r\n");
    assert_eq!(
        p(|m| m.body = Some(BodyType::SevenBit)),
        "MAIL FROM:<a@b> BODY=7BIT\r\n"
    );
    assert_eq!(
        p(|m| m.body = Some(BodyType::EightBitMime)),
        "MAIL FROM:<a@b> BODY=8BITMIME\r\n"
    );
    assert_eq!(
        p(|m| m.body = Some(BodyType::BinaryMime)),
        "MAIL FROM:<a@b> BODY=BINARYMIME\r\n"
    );
    assert_eq!(p(|m| m.smtputf8 = true), "MAIL FROM:<a@b> SMTPUTF8\r\n");
    assert_eq!(
        p(|m| m.ret = Some(Ret::Full)),
        "MAIL FROM:<a@b> RET=FULL\r\n"
    );
    assert_eq!(
        p(|m| m.ret = Some(Ret::Headers)),
        "MAIL FROM:<a@b> RET=HDRS\r\n"
    );
    assert_eq!(
        p(|m| m.envid = Some(EnvId::new("QQ314159").unwrap())),
        "MAIL FROM:<a@b> ENVID=QQ314159\r\n"
    );
    assert_eq!(p(|m| m.requiretls = true), "MAIL FROM:<a@b> REQUIRETLS\r\n");
}

#[test]
fn mail_all_params_in_order() {
    let mut params = MailParams::default();
    params.size = Some(123);
    params.body = Some(BodyType::EightBitMime);
    params.smtputf8 = true;
    params.ret = Some(Ret::Headers);
    params.envid = Some(EnvId::new("id+1=x y").unwrap());
    params.requiretls = true;
    assert_eq!(
        mail("josé@example.org", &params),
        "MAIL FROM:<josé@example.org> SIZE=123 BODY=8BITMIME SMTPUTF8 RET=HDRS \
         ENVID=id+2B1+3Dx+20y REQUIRETLS\r\n"
    );
    let mut params = MailParams::default();
    params.size = Some(123);
    params.body = Some(BodyType::EightBitMime);
    params.smtputf8 = true;
    assert_eq!(
        mail("a@b", &params),
        "MAIL FROM:<a@b> SIZE=123 BODY=8BITMIME SMTPUTF8\r\n"
    );
}

fn rcpt(to: &str, params: &RcptParams) -> String {
    let to = ForwardPath::new(to).unwrap();
    wire(&Command::Rcpt { to: &to, params })
}

#[test]
fn rcpt_plain_and_postmaster() {
    assert_eq!(rcpt("x@y", &RcptParams::default()), "RCPT TO:<x@y>\r\n");
    assert_eq!(rcpt("<x@y>", &RcptParams::default()), "RCPT TO:<x@y>\r\n");
    assert_eq!(
        rcpt("postmaster", &RcptParams::default()),
        "RCPT TO:<Postmaster>\r\n"
    );
    assert_eq!(
        rcpt("Postmaster@example.org", &RcptParams::default()),
        "RCPT TO:<Postmaster@example.org>\r\n"
    );
}

#[test]
fn notify_combinations() {
    let n = |notify| {
        rcpt("x@y", &{
            let mut rcpt_params = RcptParams::default();
            rcpt_params.notify = Some(notify);
            rcpt_params.orcpt = None;
            rcpt_params
        })
    };
    assert_eq!(n(Notify::never()), "RCPT TO:<x@y> NOTIFY=NEVER\r\n");
    let cases = [
        ((true, false, false), "SUCCESS"),
        ((false, true, false), "FAILURE"),
        ((false, false, true), "DELAY"),
        ((true, true, false), "SUCCESS,FAILURE"),
        ((true, false, true), "SUCCESS,DELAY"),
        ((false, true, true), "FAILURE,DELAY"),
        ((true, true, true), "SUCCESS,FAILURE,DELAY"),
    ];
    for ((s, f, d), text) in cases {
        let notify = Notify::on(s, f, d).unwrap();
        assert_eq!(
            (notify.success(), notify.failure(), notify.delay()),
            (s, f, d)
        );
        assert!(!notify.is_never());
        assert_eq!(n(notify), format!("RCPT TO:<x@y> NOTIFY={text}\r\n"));
    }
    assert_eq!(Notify::on(false, false, false), None);
    assert!(Notify::never().is_never());
}

#[test]
fn rcpt_notify_and_orcpt() {
    let mut params = RcptParams::default();
    params.notify = Notify::on(true, true, false);
    params.orcpt = Some(Orcpt::rfc822("x@y").unwrap());
    assert_eq!(
        rcpt("x@y", &params),
        "RCPT TO:<x@y> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y\r\n"
    );
    let mut params = RcptParams::default();
    params.notify = None;
    params.orcpt = Some(Orcpt::rfc822("a+b=c d@y").unwrap());
    assert_eq!(
        rcpt("x@y", &params),
        "RCPT TO:<x@y> ORCPT=rfc822;a+2Bb+3Dc+20d@y\r\n"
    );
}

#[test]
fn xtext_every_byte() {
    // RFC 3461 §4: 33..=126 except '+' and '=' pass; the rest become +HH, uppercase.
    let printable: String = (0x20u8..=0x7e).map(char::from).collect();
    let id = EnvId::new(&printable).unwrap();
    let mut params = MailParams::default();
    params.envid = Some(id);
    let line = mail("a@b", &params);
    let value = line
        .strip_prefix("MAIL FROM:<a@b> ENVID=")
        .and_then(|v| v.strip_suffix("\r\n"))
        .unwrap();
    let mut expected = String::new();
    for b in printable.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            expected.push(char::from(b));
        } else {
            expected.push_str(&format!("+{b:02X}"));
        }
    }
    assert_eq!(value, expected);
    assert!(value.starts_with("+20!\"#$%&'()*+2B,-./"));
    assert!(value.contains("<+3D>"));
}

#[test]
fn envid_limits() {
    assert!(EnvId::new(&"e".repeat(100)).is_ok());
    let e = EnvId::new(&"e".repeat(101)).unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::TooLong { limit: 100 }, 100));
    assert_eq!(EnvId::new("").unwrap_err().kind(), K::Empty);
    let e = EnvId::new("abé").unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::InvalidCharacter, 2));
    assert_eq!(EnvId::new("a b").unwrap().as_str(), "a b");
}

#[test]
fn orcpt_utf8_addr_xtext() {
    // RFC 6533 §3: non-QCHARs ('+', '=', '\', space, non-ASCII) as \x{HEX}, shortest form.
    let o = Orcpt::utf8("jo sé+\\=@例.jp").unwrap();
    assert_eq!(o.addr_type(), OrcptType::Utf8);
    let mut params = RcptParams::default();
    params.notify = None;
    params.orcpt = Some(o);
    assert_eq!(
        rcpt("x@y", &params),
        "RCPT TO:<x@y> ORCPT=utf-8;jo\\x{20}s\\x{E9}\\x{2B}\\x{5C}\\x{3D}@\\x{4F8B}.jp\r\n"
    );
    let o = Orcpt::utf8("\u{1F600}@x").unwrap();
    let mut params = RcptParams::default();
    params.notify = None;
    params.orcpt = Some(o);
    assert_eq!(
        rcpt("x@y", &params),
        "RCPT TO:<x@y> ORCPT=utf-8;\\x{1F600}@x\r\n"
    );
}

#[test]
fn orcpt_choice_and_limits() {
    let ascii = Mailbox::new("a@b").unwrap();
    assert_eq!(
        Orcpt::for_mailbox(&ascii).unwrap().addr_type(),
        OrcptType::Rfc822
    );
    let intl = Mailbox::new("ü@b").unwrap();
    let o = Orcpt::for_mailbox(&intl).unwrap();
    assert_eq!(o.addr_type(), OrcptType::Utf8);
    assert_eq!(o.address(), "ü@b");
    let e = Orcpt::rfc822("ü@b").unwrap_err();
    assert_eq!((e.kind(), e.position()), (K::InvalidCharacter, 0));
    assert_eq!(Orcpt::rfc822("").unwrap_err().kind(), K::Empty);
    // "rfc822;" is 7 octets, so 493 plain octets fit and 494 do not.
    assert!(Orcpt::rfc822(&"a".repeat(493)).is_ok());
    assert_eq!(
        Orcpt::rfc822(&"a".repeat(494)).unwrap_err().kind(),
        K::TooLong { limit: 500 }
    );
    // Escapes count after encoding: 165 spaces are 495 octets of xtext.
    assert_eq!(
        Orcpt::rfc822(&" ".repeat(165)).unwrap_err().kind(),
        K::TooLong { limit: 500 }
    );
}

#[test]
fn group_ends() {
    let n = EhloName::localhost();
    let from = ReversePath::Null;
    let to = ForwardPath::postmaster();
    let mp = MailParams::default();
    let rp = RcptParams::default();
    let v = VrfyArg::new("x").unwrap();
    let m = Mechanism::PLAIN;
    let ending = [
        Command::Ehlo(&n),
        Command::Helo(&n),
        Command::Lhlo(&n),
        Command::StartTls,
        Command::Auth {
            mechanism: &m,
            initial_response: None,
        },
        Command::AuthResponse(b""),
        Command::AuthCancel,
        Command::Data,
        Command::Noop,
        Command::Vrfy(&v),
        Command::Quit,
    ];
    for c in &ending {
        assert!(c.ends_group(), "{c:?}");
    }
    let open = [
        Command::Mail {
            from: &from,
            params: &mp,
        },
        Command::Rcpt {
            to: &to,
            params: &rp,
        },
        Command::Rset,
        Command::Bdat {
            size: 1,
            last: true,
        },
    ];
    for c in &open {
        assert!(!c.ends_group(), "{c:?}");
    }
}

#[test]
fn encoding_writes_only_into_out() {
    // With enough capacity reserved, encoding must neither reallocate `out` (same buffer,
    // same capacity) nor need any other growth: numbers and base64 are written in place.
    let from = ReversePath::new("sender@example.org").unwrap();
    let to = ForwardPath::new("rcpt@example.org").unwrap();
    let mut mp = MailParams::default();
    mp.size = Some(u64::MAX);
    mp.body = Some(BodyType::BinaryMime);
    mp.smtputf8 = true;
    mp.ret = Some(Ret::Full);
    mp.envid = Some(EnvId::new("x+y=z").unwrap());
    mp.requiretls = true;
    let mut rp = RcptParams::default();
    rp.notify = Notify::on(true, true, true);
    rp.orcpt = Some(Orcpt::utf8("ü@x").unwrap());
    let cmds = [
        Command::Mail {
            from: &from,
            params: &mp,
        },
        Command::Rcpt {
            to: &to,
            params: &rp,
        },
        Command::Bdat {
            size: 123_456,
            last: true,
        },
        Command::Auth {
            mechanism: &Mechanism::PLAIN,
            initial_response: Some(&[7; 200]),
        },
        Command::AuthResponse(&[9; 100]),
    ];
    let mut out = Vec::with_capacity(4096);
    let ptr = out.as_ptr();
    for c in &cmds {
        c.encode(&mut out);
    }
    assert_eq!(out.capacity(), 4096);
    assert_eq!(out.as_ptr(), ptr);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), cmds.len());
}
