//! Inputs found by the cargo-fuzz targets in `fuzz/` (see fuzz/README.md), minimized,
//! each kept as a test named after what it broke. The checks are the fuzz target's own,
//! narrowed to the property that failed.

use smtp_proto::ehlo::Capabilities;
use smtp_proto::reply::{Reply, ReplyCode};

/// fuzz target `capabilities`, minimized input `"\nAUTH C\x8f C\x8f"`: a mechanism
/// holding invalid UTF-8 was stored lossily ("C\u{fffd}") but deduplicated on its raw
/// bytes, so the same name was listed once per occurrence ("each once" broke).
#[test]
fn capabilities_invalid_utf8_auth_mechanism_listed_once() {
    let reply = Reply::new(ReplyCode::OK, &[b"", b"AUTH C\x8f C\x8f", b"AUTH=c\x8f"]).unwrap();
    let caps = Capabilities::from_reply(&reply);
    let mechs: Vec<&str> = caps.auth_mechanisms().collect();
    assert_eq!(mechs, ["C\u{fffd}"]);
    assert!(caps.supports_auth("c\u{fffd}"));
}

/// fuzz target `capabilities` (CI run, input ending in `"\n "`): a line holding a single
/// space has neither keyword nor parameters. The parser skips it as blank, like an empty
/// line; the target's reference kept it as an unknown keyword `("", "")`. Blank lines add
/// nothing; the keywords around them are kept, in order.
#[test]
fn capabilities_line_of_one_space_is_blank() {
    let reply = Reply::new(ReplyCode::OK, &[b"mx", b"X-ONE a", b" ", b"", b"X-TWO"]).unwrap();
    let caps = Capabilities::from_reply(&reply);
    let kept: Vec<(&str, &str)> = caps.extensions().collect();
    assert_eq!(kept, [("X-ONE", "a"), ("X-TWO", "")]);
}

/// fuzz target `client_session` (its modelled server), a session with PIPELINING and
/// CHUNKING: the BDAT content held a NUL, so the transaction failed here before MAIL's
/// reply came; MAIL was then refused, and the reply to the RCPT behind it (a transaction
/// the server never opened) was reported as the recipient's. Also the transcript
/// `txn-mail-rejected-after-content-refused.txt`.
#[test]
fn client_session_rcpt_after_refused_mail_reports_nothing() {
    use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
    use smtp_proto::{
        Client, Config, Envelope, Event, Instant, Output, RecipientStatus, Report, TlsMode,
        TlsPolicy,
    };

    let mut config = Config::new(EhloName::new("client.example").unwrap());
    config.tls = TlsMode::StartTls(TlsPolicy::Disabled);
    let mut client = Client::new(config, Instant::ZERO);
    let env = Envelope::new(
        ReversePath::new("a@example.com").unwrap(),
        [ForwardPath::new("b@example.org").unwrap()],
    );
    let id = client.send(Instant::ZERO, env).unwrap();
    let mut report = Report::new(id, 1, false);
    let mut out = Vec::new();
    let mut drive = |client: &mut Client, input: &[u8], report: &mut Report| {
        client.handle_input(Instant::ZERO, input);
        loop {
            match client.poll_output(&mut out) {
                Output::Event(e) => {
                    assert!(
                        !matches!(e, Event::RecipientAccepted { .. }),
                        "reported: {e:?}"
                    );
                    report.apply(&e);
                }
                Output::SendBody { txn, .. } => {
                    // Refused here: NUL outside BINARYMIME.
                    client
                        .send_body(Instant::ZERO, txn, b"a\0\r\n", true, &mut out)
                        .unwrap();
                }
                _ => return,
            }
        }
    };
    drive(&mut client, b"220 mx\r\n", &mut report);
    drive(
        &mut client,
        b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
        &mut report,
    );
    drive(
        &mut client,
        b"550 5.7.1 no\r\n250 2.1.5 ok anyway\r\n",
        &mut report,
    );
    assert_eq!(report.recipients, [RecipientStatus::NotAttempted]);
    assert!(report.is_complete());
}

/// fuzz target `mx_parsers` (CI run): an MTA-STS policy response whose chunk-size line
/// (`10;x=y\r` and a long extension) ran past the 1,024-octet line cap. Fed whole, its LF
/// was found and the line taken; fed in pieces, the cap refused it first, so the result
/// depended on how the bytes were cut ("the same result however the response is cut").
/// The cap now counts the octets before the LF in both cases.
#[cfg(feature = "mx")]
#[test]
fn mx_parsers_chunk_line_over_the_cap_is_framing_however_cut() {
    use smtp_proto::command::Domain;
    use smtp_proto::mx::{PolicyGet, PolicyGetError};

    let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
        Transfer-Encoding: chunked\r\n\r\n10;x=y\r"
        .to_vec();
    response.extend(core::iter::repeat_n(b'H', 1100));
    response.extend_from_slice(b"1\r\nabcdefghijklmnop\r\n0\r\n\r\n");
    let domain = Domain::new("example.com").unwrap();
    for cut in [response.len(), 100, 1] {
        let mut get = PolicyGet::new(&domain);
        let mut result = None;
        for piece in response.chunks(cut) {
            match get.handle_input(piece) {
                Ok(None) => {}
                other => {
                    result = Some(other);
                    break;
                }
            }
        }
        assert_eq!(result, Some(Err(PolicyGetError::Framing)), "cut {cut}");
    }
}
