//! The envelope of a message without one, derived from its header: a table of header
//! sets with the reverse path, recipients and content (Bcc removed) each must give, and
//! the errors of those that name no usable sender or no recipient.

use std::borrow::Cow;

use smtp_io::message::{prepare, remove_bcc, Parts};
use smtp_io::{Error, IntoMessage, MessageError};
use smtp_proto::command::BodyType;
use smtp_proto::reply::ReplyCode;
use smtp_proto::{Capabilities, Reply};

/// One row: the message, then the reverse path, the recipients and the content the
/// derivation must give.
struct Row {
    name: &'static str,
    message: &'static [u8],
    from: &'static str,
    to: &'static [&'static str],
    content: &'static [u8],
}

const ROWS: &[Row] = &[
    Row {
        name: "To, Cc and a folded Bcc: every one a recipient, the Bcc field gone",
        message: b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n\
            Cc: Carol <carol@example.net>\r\nBcc: dave@example.net,\r\n  Eve <eve@example.net>\r\n\
            Subject: hi\r\n\r\nBcc: body text stays\r\n",
        from: "alice@example.org",
        to: &[
            "bob@example.net",
            "carol@example.net",
            "dave@example.net",
            "eve@example.net",
        ],
        content: b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n\
            Cc: Carol <carol@example.net>\r\nSubject: hi\r\n\r\nBcc: body text stays\r\n",
    },
    Row {
        name: "groups: members are recipients, an empty group names nobody",
        message: b"From: a@example.org\r\nTo: Team: Ed Jones <ed@example.net>, joe@example.net;, \
            solo@example.net\r\nCc: undisclosed-recipients:;\r\n\r\nx\r\n",
        from: "a@example.org",
        to: &["ed@example.net", "joe@example.net", "solo@example.net"],
        content: b"From: a@example.org\r\nTo: Team: Ed Jones <ed@example.net>, joe@example.net;, \
            solo@example.net\r\nCc: undisclosed-recipients:;\r\n\r\nx\r\n",
    },
    Row {
        name: "encoded display names, one with an encoded comma, and quoted names with commas",
        message: b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n\
            To: =?utf-8?q?Doe=2C_John?= <jd@example.net>, \"Roe, Rita\" <rr@example.net>\r\n\
            Cc: =?iso-8859-1?b?QW5kcuk=?= <andre@example.net>\r\n\r\nx\r\n",
        from: "joerg@example.org",
        to: &["jd@example.net", "rr@example.net", "andre@example.net"],
        content: b"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n\
            To: =?utf-8?q?Doe=2C_John?= <jd@example.net>, \"Roe, Rita\" <rr@example.net>\r\n\
            Cc: =?iso-8859-1?b?QW5kcuk=?= <andre@example.net>\r\n\r\nx\r\n",
    },
    Row {
        name: "quoted local parts, bare and in angle brackets, with escapes; comments ignored",
        message: b"From: \"john doe\"@example.org\r\nTo: \"a\\\"b\"@example.net, \
            Joe <\"x y\"@example.net>, (comment) plain@example.net (Plain)\r\n\r\nx\r\n",
        from: "\"john doe\"@example.org",
        to: &[
            "\"a\\\"b\"@example.net",
            "\"x y\"@example.net",
            "plain@example.net",
        ],
        content: b"From: \"john doe\"@example.org\r\nTo: \"a\\\"b\"@example.net, \
            Joe <\"x y\"@example.net>, (comment) plain@example.net (Plain)\r\n\r\nx\r\n",
    },
    Row {
        name: "internationalised addresses (RFC 6532) in From, To and Bcc",
        message: "From: Jörg <jörg@bücher.example>\r\nTo: 用户@例子.广告\r\n\
            Bcc: δοκιμή@παράδειγμα.δοκιμή\r\n\r\nx\r\n"
            .as_bytes(),
        from: "jörg@bücher.example",
        to: &["用户@例子.广告", "δοκιμή@παράδειγμα.δοκιμή"],
        content: "From: Jörg <jörg@bücher.example>\r\nTo: 用户@例子.广告\r\n\r\nx\r\n".as_bytes(),
    },
    Row {
        name: "duplicates removed (the domain's case aside), first place kept",
        message: b"From: a@example.org\r\nTo: b@example.net, B <b@EXAMPLE.net>\r\n\
            Cc: c@example.net, b@example.net\r\nBcc: B@example.net, c@example.net\r\n\r\nx\r\n",
        from: "a@example.org",
        to: &["b@example.net", "c@example.net", "B@example.net"],
        content: b"From: a@example.org\r\nTo: b@example.net, B <b@EXAMPLE.net>\r\n\
            Cc: c@example.net, b@example.net\r\n\r\nx\r\n",
    },
    Row {
        name: "Sender before From, whichever comes first",
        message: b"From: Boss <boss@example.org>, Deputy <deputy@example.org>\r\n\
            Sender: Secretary <sec@example.org>\r\nTo: b@example.net\r\n\r\nx\r\n",
        from: "sec@example.org",
        to: &["b@example.net"],
        content: b"From: Boss <boss@example.org>, Deputy <deputy@example.org>\r\n\
            Sender: Secretary <sec@example.org>\r\nTo: b@example.net\r\n\r\nx\r\n",
    },
    Row {
        name: "Resent-*: the most recent block's sender and recipients, every Resent-Bcc gone",
        message: b"Resent-Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nResent-From: r2@example.org\r\n\
            Resent-To: new2@example.net\r\nResent-Bcc: hidden2@example.net\r\n\
            Resent-Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nResent-From: r1@example.org\r\n\
            Resent-To: new1@example.net\r\nResent-Bcc: hidden1@example.net\r\n\
            From: a@example.org\r\nTo: old@example.net\r\nBcc: oldhidden@example.net\r\n\r\nx\r\n",
        from: "r2@example.org",
        to: &["new2@example.net", "hidden2@example.net"],
        content: b"Resent-Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nResent-From: r2@example.org\r\n\
            Resent-To: new2@example.net\r\n\
            Resent-Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nResent-From: r1@example.org\r\n\
            Resent-To: new1@example.net\r\n\
            From: a@example.org\r\nTo: old@example.net\r\n\r\nx\r\n",
    },
    Row {
        name: "Resent-Sender before Resent-From, Resent-Cc a recipient",
        message: b"Received: from x by y; Mon, 7 Dec 2026 10:00:00 +0000\r\n\
            Resent-From: list@example.org\r\nResent-Sender: owner@example.org\r\n\
            Resent-Cc: c@example.net\r\nFrom: a@example.org\r\nTo: b@example.net\r\n\r\nx\r\n",
        from: "owner@example.org",
        to: &["c@example.net"],
        content: b"Received: from x by y; Mon, 7 Dec 2026 10:00:00 +0000\r\n\
            Resent-From: list@example.org\r\nResent-Sender: owner@example.org\r\n\
            Resent-Cc: c@example.net\r\nFrom: a@example.org\r\nTo: b@example.net\r\n\r\nx\r\n",
    },
    Row {
        name: "bare LF line ends, a folded Bcc between fields, header field names in any case",
        message: b"from: a@example.org\nBCC: x@example.net,\n\ty@example.net\nto: b@example.net\n\
            bcc : z@example.net\n\nbody\n",
        from: "a@example.org",
        to: &[
            "x@example.net",
            "y@example.net",
            "b@example.net",
            "z@example.net",
        ],
        content: b"from: a@example.org\nto: b@example.net\n\nbody\n",
    },
    Row {
        name: "mixed line ends: a Bcc folded with LF, ended with CRLF, last in the header",
        message:
            b"From: a@example.org\r\nTo: b@example.net\nBcc: x@example.net,\n y@example.net\r\n\
            \r\nbody\n",
        from: "a@example.org",
        to: &["b@example.net", "x@example.net", "y@example.net"],
        content: b"From: a@example.org\r\nTo: b@example.net\n\r\nbody\n",
    },
    Row {
        name: "an empty Bcc first: removed; an obsolete source route dropped",
        message: b"Bcc:\r\nFrom: <@relay.example:a@example.org>\r\nTo: b@example.net\r\n\r\nx",
        from: "a@example.org",
        to: &["b@example.net"],
        content: b"From: <@relay.example:a@example.org>\r\nTo: b@example.net\r\n\r\nx",
    },
];

fn parts(message: &'static [u8]) -> Result<Parts<'static>, MessageError> {
    message.into_mail_parts()
}

#[test]
fn each_header_set_gives_its_reverse_path_recipients_and_content() {
    for row in ROWS {
        let parts = parts(row.message).unwrap_or_else(|e| panic!("{}: {e}", row.name));
        assert_eq!(parts.from.as_str(), row.from, "{}", row.name);
        let to: Vec<&str> = parts.to.iter().map(|p| p.as_str()).collect();
        assert_eq!(to, row.to, "{}", row.name);
        assert_eq!(
            String::from_utf8_lossy(&parts.content),
            String::from_utf8_lossy(row.content),
            "{}",
            row.name
        );
    }
}

#[test]
fn owned_bytes_give_the_same_as_borrowed_ones() {
    for row in ROWS {
        let owned = row.message.to_vec().into_mail_parts().unwrap();
        let borrowed = parts(row.message).unwrap();
        assert_eq!(owned, borrowed, "{}", row.name);
        let text = String::from_utf8(row.message.to_vec()).unwrap();
        assert_eq!(text.into_mail_parts().unwrap(), borrowed, "{}", row.name);
    }
}

#[test]
fn no_usable_sender_or_no_recipient_is_a_typed_error() {
    let cases: &[(&[u8], MessageError)] = &[
        (b"To: b@example.net\r\n\r\nx", MessageError::NoSender),
        (
            b"From: undisclosed:;\r\nTo: b@example.net\r\n\r\nx",
            MessageError::NoSender,
        ),
        (
            b"From: a@example.org, c@example.org\r\nTo: b@example.net\r\n\r\nx",
            MessageError::SeveralSenders { field: "From" },
        ),
        (
            b"From: a@example.org\r\nSubject: s\r\nBcc:\r\n\r\nTo: b@example.net\r\n",
            MessageError::NoRecipients,
        ),
        (
            b"From: a@example.org\r\nTo: undisclosed-recipients:;\r\n\r\nx",
            MessageError::NoRecipients,
        ),
        // Resent-* fields without recipients: the original To is not used.
        (
            b"Resent-From: r@example.org\r\nFrom: a@example.org\r\nTo: b@example.net\r\n\r\nx",
            MessageError::NoRecipients,
        ),
        (
            b"Resent-To: n@example.net\r\nFrom: a@example.org\r\nTo: b@example.net\r\n\r\nx",
            MessageError::NoSender,
        ),
        (b"", MessageError::NoSender),
    ];
    for (message, want) in cases {
        let got = message.into_mail_parts().unwrap_err();
        assert_eq!(&got, want, "{}", String::from_utf8_lossy(message));
    }
}

#[test]
fn an_address_smtp_cannot_carry_is_an_error_naming_its_field() {
    let cases: &[(&[u8], &str, &str, bool)] = &[
        (
            b"From: a@example.org\r\nTo: Bob\r\n\r\nx",
            "To",
            "Bob",
            false,
        ),
        (
            b"From: a@example.org\r\nCc: <bob>\r\n\r\nx",
            "Cc",
            "bob",
            true,
        ),
        (
            b"From: Al <al@exa mple.org>\r\nTo: b@example.net\r\n\r\nx",
            "From",
            "al@exa mple.org",
            true,
        ),
    ];
    for (message, field, address, has_error) in cases {
        match message.into_mail_parts() {
            Err(MessageError::Address {
                field: f,
                address: a,
                error,
            }) => {
                assert_eq!((f, a.as_str()), (*field, *address));
                assert_eq!(error.is_some(), *has_error, "{address}");
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(message)),
        }
    }
}

#[test]
fn remove_bcc_keeps_borrowed_content_without_bcc_and_cuts_owned_content_in_place() {
    let plain: &[u8] = b"From: a@example.org\r\nTo: b@example.net\r\n\r\nBcc: not a field\r\n";
    assert!(matches!(remove_bcc(Cow::Borrowed(plain)), Cow::Borrowed(b) if b == plain));
    let with: &[u8] = b"From: a@example.org\r\nBcc: x@example.net\r\nTo: b@example.net\r\n\r\nx";
    let want: &[u8] = b"From: a@example.org\r\nTo: b@example.net\r\n\r\nx";
    assert_eq!(remove_bcc(Cow::Borrowed(with)), want);
    let owned = with.to_vec();
    let at = owned.as_ptr();
    match remove_bcc(Cow::Owned(owned)) {
        Cow::Owned(v) => {
            assert_eq!(v, want);
            assert_eq!(v.as_ptr(), at, "cut in place, not copied");
        }
        Cow::Borrowed(_) => panic!("owned content came back borrowed"),
    }
}

#[test]
fn prepare_declares_the_content_as_sent_without_its_bcc() {
    let caps = Capabilities::from_reply(
        &Reply::new(ReplyCode::OK, &[&b"mx"[..], b"SMTPUTF8", b"8BITMIME"]).unwrap(),
    );
    // Only the Bcc field is 8-bit: once it is gone, nothing asks for 8BITMIME or SMTPUTF8.
    let message =
        "From: a@example.org\r\nTo: b@example.net\r\nBcc: Jörg <j@example.net>\r\n\r\nx\r\n";
    let (envelope, content) = prepare(message, &caps).unwrap();
    assert_eq!(
        &content[..],
        b"From: a@example.org\r\nTo: b@example.net\r\n\r\nx\r\n"
    );
    assert_eq!(envelope.size, Some(content.len() as u64));
    assert_eq!(envelope.body, BodyType::SevenBit);
    assert!(!envelope.smtputf8);
    assert_eq!(envelope.recipients.len(), 2);
    // A UTF-8 header that stays asks for SMTPUTF8 when offered.
    let message = "From: Jörg <j@example.org>\r\nTo: b@example.net\r\n\r\nx\r\n";
    let (envelope, _) = prepare(message, &caps).unwrap();
    assert!(envelope.smtputf8 && envelope.body == BodyType::EightBitMime);
    // The usage errors are the adapters' `Error::Message`; a NUL octet is refused.
    let e = prepare(&b"To: b@example.net\r\n\r\nx"[..], &caps).unwrap_err();
    assert!(matches!(e, Error::Message(MessageError::NoSender)), "{e:?}");
    assert!(e.is_permanent());
    let e = prepare(&b"From: a@x.org\r\nTo: b@x.net\r\n\r\n\0"[..], &caps).unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e:?}");
}

#[test]
fn parts_with_an_envelope_of_the_callers_are_sent_as_given() {
    use smtp_proto::command::{ForwardPath, ReversePath};
    let content: &[u8] = b"From: a@example.org\r\nBcc: x@example.net\r\n\r\nx";
    let given = Parts {
        from: ReversePath::Null,
        to: vec![ForwardPath::new("y@example.net").unwrap()],
        content: Cow::Borrowed(content),
    };
    assert_eq!(given.clone().into_mail_parts().unwrap(), given);
}
