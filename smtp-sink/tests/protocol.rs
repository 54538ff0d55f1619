//! The sink's protocol seen by a raw client: extensions on and off, parameters, command
//! order, AUTH exchanges, flights, STARTTLS hygiene, LMTP's greeting command.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::{only_message, Raw};
use smtp_sink::rustls::pki_types::ServerName;
use smtp_sink::rustls::{ClientConnection, StreamOwned};
use smtp_sink::{param, Extension, Sink, Transfer};

const WAIT: Duration = Duration::from_secs(10);

fn keywords(lines: &[String]) -> Vec<String> {
    lines[1..]
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn ehlo_offers_every_extension_and_each_can_be_switched_off() {
    let all = [
        (Extension::Pipelining, "PIPELINING"),
        (Extension::Size, "SIZE"),
        (Extension::EightBitMime, "8BITMIME"),
        (Extension::SmtpUtf8, "SMTPUTF8"),
        (Extension::Chunking, "CHUNKING"),
        (Extension::BinaryMime, "BINARYMIME"),
        (Extension::Dsn, "DSN"),
        (Extension::EnhancedStatusCodes, "ENHANCEDSTATUSCODES"),
        (Extension::StartTls, "STARTTLS"),
        (Extension::Auth, "AUTH"),
    ];
    let names: Vec<&str> = all.iter().map(|(_, n)| *n).collect();
    let sink = Sink::builder().user("u", "p").start().unwrap();
    assert_eq!(keywords(&Raw::connect(&sink).hello()), names);
    for (e, name) in all {
        let sink = Sink::builder().user("u", "p").disable(e).start().unwrap();
        let got = keywords(&Raw::connect(&sink).hello());
        // BINARYMIME goes with CHUNKING (RFC 3030 §3).
        let gone = |n: &str| n == name || (name == "CHUNKING" && n == "BINARYMIME");
        let want: Vec<&str> = names.iter().copied().filter(|n| !gone(n)).collect();
        assert_eq!(got, want, "without {e:?}");
    }
    // AUTH only once a user is given.
    let sink = Sink::start().unwrap();
    let got = keywords(&Raw::connect(&sink).hello());
    assert!(!got.iter().any(|k| k == "AUTH"), "{got:?}");
}

#[test]
fn switched_off_extensions_are_refused_when_used() {
    let cases: [(Extension, &[&str], u16); 6] = [
        (
            Extension::EightBitMime,
            &["MAIL FROM:<a@x.test> BODY=8BITMIME"],
            555,
        ),
        (Extension::SmtpUtf8, &["MAIL FROM:<a@x.test> SMTPUTF8"], 555),
        (Extension::Size, &["MAIL FROM:<a@x.test> SIZE=10"], 555),
        (
            Extension::Dsn,
            &["MAIL FROM:<a@x.test>", "RCPT TO:<b@x.test> NOTIFY=NEVER"],
            555,
        ),
        (Extension::StartTls, &["STARTTLS"], 502),
        (
            Extension::Chunking,
            &["MAIL FROM:<a@x.test>", "RCPT TO:<b@x.test>", "BDAT 0 LAST"],
            500,
        ),
    ];
    for (e, lines, code) in cases {
        for on in [true, false] {
            let b = Sink::builder();
            let sink = match on {
                true => b,
                false => b.disable(e),
            }
            .start()
            .unwrap();
            let mut c = Raw::connect(&sink);
            c.hello();
            let (last, before) = lines.split_last().unwrap();
            for l in before {
                assert_eq!(c.cmd(l), 250, "{l}");
            }
            let got = c.cmd(last);
            match on {
                true => assert!(matches!(got, 220 | 250), "{e:?} on: {last} got {got}"),
                false => assert_eq!(got, code, "{e:?} off: {last}"),
            }
        }
    }
}

#[test]
fn enhanced_status_codes_only_when_offered() {
    let sink = Sink::start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("NOOP\r\n");
    assert_eq!(c.reply().1, ["2.0.0 Ok"]);
    let sink = Sink::builder()
        .disable(Extension::EnhancedStatusCodes)
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("NOOP\r\n");
    assert_eq!(c.reply().1, ["Ok"]);
}

#[test]
fn size_limit_refuses_at_mail_and_after_data() {
    let sink = Sink::builder().max_size(20).start().unwrap();
    let mut c = Raw::connect(&sink);
    assert!(c.hello().contains(&"SIZE 20".to_string()));
    assert_eq!(c.cmd("MAIL FROM:<a@x.test> SIZE=21"), 552);
    assert_eq!(c.cmd("MAIL FROM:<a@x.test> SIZE=20"), 250);
    assert_eq!(c.cmd("RCPT TO:<b@x.test>"), 250);
    assert_eq!(c.cmd("DATA"), 354);
    c.send("0123456789\r\n0123456789\r\n.\r\n");
    assert_eq!(c.code(), 552);
    assert!(!only_message(&sink).accepted());
}

#[test]
fn dsn_and_body_parameters_are_recorded_as_sent() {
    let sink = Sink::start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(
        c.cmd("MAIL FROM:<a@x.test> BODY=BINARYMIME RET=HDRS ENVID=QQ+2Bx SIZE=3"),
        250
    );
    assert_eq!(
        c.cmd("RCPT TO:<b@x.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x.test"),
        250
    );
    // RFC 3030 §3: BINARYMIME content only with BDAT.
    assert_eq!(c.cmd("DATA"), 503);
    c.send("BDAT 3 LAST\r\n\0\r\n");
    assert_eq!(c.code(), 250);
    let m = only_message(&sink);
    let v = |ps: &[smtp_sink::Param], k: &str| param(ps, k).and_then(|p| p.value.clone());
    assert_eq!(v(&m.mail_params, "RET").as_deref(), Some("HDRS"));
    assert_eq!(v(&m.mail_params, "ENVID").as_deref(), Some("QQ+2Bx"));
    assert_eq!(v(&m.mail_params, "BODY").as_deref(), Some("BINARYMIME"));
    let r = &m.recipients[0].params;
    assert_eq!(v(r, "NOTIFY").as_deref(), Some("SUCCESS,FAILURE"));
    assert_eq!(v(r, "ORCPT").as_deref(), Some("rfc822;b@x.test"));
    assert_eq!(m.content, b"\0\r\n");
    assert_eq!(m.transfer, Transfer::Bdat { chunks: 1 });
}

#[test]
fn commands_out_of_order_are_refused_and_bdat_chunks_are_read_anyway() {
    let sink = Sink::start().unwrap();
    let mut c = Raw::connect(&sink);
    assert_eq!(c.code(), 220);
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>"), 503, "before EHLO");
    c.send("EHLO c.test\r\n");
    c.reply();
    assert_eq!(c.cmd("RCPT TO:<b@x.test>"), 503, "before MAIL");
    assert_eq!(c.cmd("DATA"), 503, "before MAIL");
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>"), 250);
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>"), 503, "nested MAIL");
    assert_eq!(c.cmd("DATA"), 554, "no recipients");
    // The chunk's 5 octets look like a command: they must be read as content.
    c.send("BDAT 5 LAST\r\nNOOP\n");
    assert_eq!(c.code(), 554);
    assert_eq!(c.cmd("RCPT TO:<not an address>"), 501);
    assert_eq!(c.cmd("RCPT TO:<b@x.test> FOO=1"), 555);
    assert_eq!(
        c.cmd("RCPT TO:<用户@x.test>"),
        553,
        "UTF-8 without SMTPUTF8"
    );
    assert_eq!(c.cmd("XYZZY"), 500);
    assert_eq!(c.cmd("QUIT"), 221);
    assert_eq!(c.closed(), common::Closed::Eof);
    assert!(sink.messages().is_empty());
}

#[test]
fn bdat_chunks_are_joined_byte_for_byte() {
    let sink = Sink::start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nBDAT 4\r\n.\r\n\rBDAT 3 LAST\r\n\n.\n");
    assert_eq!(c.code(), 250);
    assert_eq!(c.code(), 250);
    assert_eq!(c.code(), 250);
    assert_eq!(c.code(), 250);
    let m = only_message(&sink);
    assert_eq!(m.content, b".\r\n\r\n.\n");
    assert_eq!(m.transfer, Transfer::Bdat { chunks: 2 });
}

#[test]
fn a_pipelined_flight_is_answered_in_one_flight() {
    let sink = Sink::start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n");
    for want in [250, 250, 250, 354] {
        assert_eq!(c.code(), want);
    }
    c.send("x\r\n.\r\nQUIT\r\n");
    assert_eq!(c.code(), 250);
    assert_eq!(c.code(), 221);
    assert_eq!(c.closed(), common::Closed::Eof);
    assert!(sink.wait_for_idle(WAIT));
    let rec = &sink.connections()[0];
    // Greeting, EHLO, the MAIL..DATA flight, the content+QUIT flight.
    assert_eq!((rec.client_flights, rec.server_flights), (3, 4), "{rec:#?}");
}

#[test]
fn auth_exchanges_with_and_without_initial_response() {
    let sink = Sink::builder()
        .user("alice", "secret")
        .require_auth(true)
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>"), 530, "AUTH required first");
    assert_eq!(c.cmd("AUTH CRAM-MD5"), 504);
    assert_eq!(c.cmd("AUTH PLAIN"), 334);
    assert_eq!(c.cmd("*"), 501, "cancelled");
    assert_eq!(c.cmd("AUTH PLAIN !!!"), 501, "not base64");
    assert_eq!(c.cmd("AUTH LOGIN"), 334);
    assert_eq!(c.cmd("YWxpY2U="), 334); // alice
    assert_eq!(c.cmd("d3Jvbmc="), 535); // wrong
    assert_eq!(c.cmd("AUTH LOGIN YWxpY2U="), 334);
    assert_eq!(c.cmd("c2VjcmV0"), 235); // secret
    assert_eq!(
        c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="),
        503,
        "already done"
    );
    assert_eq!(c.cmd("MAIL FROM:<a@x.test>"), 250);
    assert!(sink.wait_for_messages(0, WAIT));
    let rec = &sink.connections()[0];
    assert_eq!(rec.auth.as_ref().unwrap().mechanism, "LOGIN");
    // Credentials never reach the record.
    let all = rec.commands.join("\n");
    assert!(
        !all.contains("YWxpY2U=") && !all.contains("c2VjcmV0"),
        "{all}"
    );
}

#[test]
fn auth_waits_for_tls_when_told_to() {
    let sink = Sink::builder()
        .user("alice", "secret")
        .auth_requires_tls(true)
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    assert!(!c.hello().iter().any(|l| l.starts_with("AUTH")));
    assert_eq!(c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="), 530);
}

#[test]
fn lmtp_wants_lhlo_and_esmtp_refuses_it() {
    let sink = Sink::builder().lmtp().start().unwrap();
    let mut c = Raw::connect(&sink);
    let (code, text) = c.reply();
    assert_eq!(code, 220);
    assert!(text[0].contains("LMTP"), "{text:?}");
    assert_eq!(c.cmd("EHLO c.test"), 500);
    assert_eq!(c.cmd("HELO c.test"), 500);
    c.send("LHLO c.test\r\n");
    assert_eq!(c.reply().0, 250);
    let sink = Sink::start().unwrap();
    let mut c = Raw::connect(&sink);
    assert_eq!(c.code(), 220);
    assert_eq!(c.cmd("LHLO c.test"), 500);
    assert_eq!(c.cmd("HELO c.test"), 250);
    // HELO: no extensions, so no parameters.
    assert_eq!(c.cmd("MAIL FROM:<a@x.test> SIZE=1"), 555);
}

#[test]
fn plaintext_pipelined_after_starttls_is_dropped() {
    let sink = Sink::start().unwrap();
    let tcp = TcpStream::connect(sink.addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut plain = tcp;
    let mut buf = [0u8; 512];
    let mut read_reply = |s: &mut dyn Read| {
        let mut got = Vec::new();
        while !got.ends_with(b"\r\n") || !is_last_line(&got) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(got).unwrap()
    };
    read_reply(&mut plain);
    plain.write_all(b"EHLO c.test\r\n").unwrap();
    read_reply(&mut plain);
    // An injected command after STARTTLS in the same packet (CVE-2011-0411).
    plain.write_all(b"STARTTLS\r\nNOOP injected\r\n").unwrap();
    assert!(read_reply(&mut plain).starts_with("220 "));
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(Arc::clone(&sink.client_config()), name).unwrap();
    let mut tls = StreamOwned::new(conn, plain);
    tls.write_all(b"EHLO c.test\r\n").unwrap();
    let ehlo = read_reply(&mut tls);
    assert!(
        ehlo.starts_with("250-"),
        "the first reply over TLS answers EHLO: {ehlo}"
    );
    assert!(!ehlo.contains("STARTTLS"));
    tls.write_all(b"QUIT\r\n").unwrap();
    assert!(read_reply(&mut tls).starts_with("221 "));
    let rec = &sink.connections()[0];
    assert!(
        !rec.commands.iter().any(|l| l.contains("injected")),
        "{rec:#?}"
    );
    assert!(rec.tls.is_some());
}

/// Whether the last line of `got` is a reply's last line (`ddd ` not `ddd-`).
fn is_last_line(got: &[u8]) -> bool {
    let body = &got[..got.len() - 2];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    got.get(start + 3) == Some(&b' ')
}

/// REQUIRETLS (RFC 8689), when asked for: offered and taken on MAIL only over TLS, the
/// parameter recorded; refused as unknown in cleartext, or when not asked for.
#[test]
fn requiretls_is_offered_and_taken_only_over_tls_when_asked_for() {
    use std::io::BufRead;
    let over_tls = |sink: &Sink, commands: &[&str]| -> Vec<(u16, Vec<String>)> {
        let tcp = TcpStream::connect(sink.addr()).unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = ClientConnection::new(Arc::clone(&sink.client_config()), name).unwrap();
        let mut tls = std::io::BufReader::new(StreamOwned::new(conn, tcp));
        let reply = |r: &mut std::io::BufReader<_>| {
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                assert!(r.read_line(&mut line).unwrap() > 0);
                let done = line.as_bytes()[3] == b' ';
                lines.push(line[4..].trim_end().to_string());
                if done {
                    return (line[..3].parse().unwrap(), lines);
                }
            }
        };
        let mut got = vec![reply(&mut tls)];
        for c in commands {
            tls.get_mut()
                .write_all(format!("{c}\r\n").as_bytes())
                .unwrap();
            got.push(reply(&mut tls));
        }
        got
    };
    let txn = [
        "EHLO c.test",
        "MAIL FROM:<a@x.test> REQUIRETLS",
        "RCPT TO:<b@y.test>",
        "DATA",
        "Subject: t\r\n\r\nhi\r\n.",
        "QUIT",
    ];
    let sink = Sink::builder()
        .implicit_tls()
        .requiretls(true)
        .start()
        .unwrap();
    let got = over_tls(&sink, &txn);
    assert!(
        keywords(&got[1].1).contains(&"REQUIRETLS".to_string()),
        "{got:?}"
    );
    let codes: Vec<u16> = got.iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, [220, 250, 250, 250, 354, 250, 221]);
    let m = only_message(&sink);
    assert!(
        m.tls && param(&m.mail_params, "REQUIRETLS").is_some(),
        "{m:?}"
    );

    // Not asked for: neither offered nor taken over TLS.
    let sink = Sink::builder().implicit_tls().start().unwrap();
    let got = over_tls(&sink, &txn[..2]);
    assert!(!keywords(&got[1].1).contains(&"REQUIRETLS".to_string()));
    assert_eq!(got[2].0, 555);

    // Asked for, in cleartext: neither.
    let sink = Sink::builder().requiretls(true).start().unwrap();
    let mut c = Raw::connect(&sink);
    assert!(!keywords(&c.hello()).contains(&"REQUIRETLS".to_string()));
    assert_eq!(c.cmd("MAIL FROM:<a@x.test> REQUIRETLS"), 555);
}
