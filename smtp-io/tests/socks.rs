//! The SOCKS5 client (RFC 1928, RFC 1929) against scripted proxies: every script runs
//! whole (each proxy reply in one slice), byte by byte, and as a driver reads it (at
//! most what `Next::Read` asks, from a stream where the SMTP greeting follows the
//! proxy's last reply at once), which must leave that greeting in the stream.

use smtp_io::socks::{Destination, Next, Proxy, ProxyError, MAX_READ};

/// A step of a script: what the client writes, what the proxy sends, or its close.
#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    C(&'a [u8]),
    S(&'a [u8]),
    Eof,
}
use Step::{Eof, C, S};

const GREETING: &[u8] = b"220 mx.example ESMTP\r\n";

#[derive(Clone, Copy, Debug)]
enum Mode {
    Whole,
    ByteByByte,
    Driver,
}

/// Runs `script` for `url`, `destination` and `port` in `mode`: `Ok` once connected
/// (after the last step), else the handshake's error.
fn run(
    url: &str,
    destination: Destination,
    port: u16,
    script: &[Step<'_>],
    mode: Mode,
) -> Result<(), ProxyError> {
    let proxy: Proxy = url.parse().unwrap();
    let mut hs = proxy.handshake(destination, port)?;
    // Driver mode: the stream the proxy's bytes (and then the greeting) wait in.
    let mut stream: Vec<u8> = Vec::new();
    // What the driver polled while reading and has yet to act on.
    let mut polled: Option<Next> = None;
    for (i, step) in script.iter().enumerate() {
        // The greeting follows only a script's last reply, complete.
        let last_reply = i + 1 == script.len();
        let mut next = || polled.take().map_or_else(|| hs.poll(), Ok);
        match *step {
            C(expected) => {
                assert_eq!(next()?, Next::Write(expected.to_vec()), "step {i}");
            }
            Eof => {
                assert!(matches!(next()?, Next::Read(_)), "step {i}");
                hs.handle_input(&[])?;
            }
            S(bytes) => {
                let Next::Read(max) = next()? else {
                    panic!("step {i}: expected a read");
                };
                assert!(0 < max && max <= MAX_READ, "step {i}: read of {max}");
                match mode {
                    Mode::Whole => {
                        let mut with = bytes.to_vec();
                        if last_reply {
                            with.extend(GREETING);
                        }
                        let taken = hs.handle_input(&with)?;
                        assert_eq!(taken, bytes.len(), "step {i}: the proxy's bytes taken");
                    }
                    Mode::ByteByByte => {
                        for &b in bytes {
                            assert_eq!(hs.handle_input(&[b])?, 1, "step {i}");
                        }
                    }
                    Mode::Driver => {
                        stream.extend(bytes);
                        if last_reply {
                            stream.extend(GREETING);
                        }
                        let mut max = max;
                        // Read as an adapter does until the client wants to write or
                        // is done; never more than it asked for.
                        loop {
                            let n = max.min(stream.len());
                            let got: Vec<u8> = stream.drain(..n).collect();
                            assert_eq!(hs.handle_input(&got)?, n, "step {i}");
                            if stream.is_empty() {
                                break;
                            }
                            match hs.poll()? {
                                Next::Read(m) => max = m,
                                other => {
                                    polled = Some(other);
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let last = polled.take().map_or_else(|| hs.poll(), Ok);
    assert_eq!(last?, Next::Done, "connected after the script");
    assert!(hs.is_done());
    if let Mode::Driver = mode {
        assert_eq!(stream, GREETING, "the greeting stays in the stream");
    }
    assert_eq!(
        hs.handle_input(GREETING)?,
        0,
        "nothing taken once connected"
    );
    Ok(())
}

/// Runs the script in every mode; each must give `expected`.
fn check(
    url: &str,
    destination: Destination,
    port: u16,
    script: &[Step<'_>],
    expected: Result<(), ProxyError>,
) {
    for mode in [Mode::Whole, Mode::ByteByByte, Mode::Driver] {
        let got = run(url, destination.clone(), port, script, mode);
        assert_eq!(got, expected, "{mode:?}");
    }
}

/// [`check`] for a CONNECT to 127.0.0.1 port 25.
fn to_localhost(url: &str, script: &[Step<'_>], expected: Result<(), ProxyError>) {
    check(url, ip("127.0.0.1"), 25, script, expected);
}

fn ip(s: &str) -> Destination {
    Destination::Ip(s.parse().unwrap())
}

const LOCALHOST_25: &[u8] = &[5, 1, 0, 1, 127, 0, 0, 1, 0, 25];
const REPLY_OK_V4: &[u8] = &[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90];

#[test]
fn connect_to_an_ipv4_address_without_authentication() {
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(LOCALHOST_25), S(REPLY_OK_V4)];
    to_localhost("socks5://p:1080", &script, Ok(()));
}

#[test]
fn socks5h_sends_the_name_and_a_name_in_the_reply_is_read_whole() {
    let mut request = vec![5, 1, 0, 3, 14];
    request.extend(b"mx.example.org");
    request.extend(587u16.to_be_bytes());
    let mut reply = vec![5, 0, 0, 3, 9];
    reply.extend(b"proxy.lan");
    reply.extend([0, 1]);
    let destination = Proxy::parse("socks5h://p")
        .unwrap()
        .destination("mx.example.org");
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(&request), S(&reply)];
    check("socks5h://p", destination.unwrap(), 587, &script, Ok(()));
}

#[test]
fn ipv6_destination_and_reply() {
    let mut request = vec![5, 1, 0, 4];
    request.extend([0; 15]);
    request.extend([1, 0, 25]);
    let mut reply = vec![5, 0, 0, 4];
    reply.extend([0xfe; 16]);
    reply.extend([4, 0]);
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(&request), S(&reply)];
    check("socks5://p", ip("::1"), 25, &script, Ok(()));
}

#[test]
fn username_and_password_accepted() {
    let script = [
        C(&[5, 2, 0, 2]),
        S(&[5, 2]),
        C(b"\x01\x05alice\x06secret"),
        S(&[1, 0]),
        C(LOCALHOST_25),
        S(REPLY_OK_V4),
    ];
    to_localhost("socks5://alice:secret@p", &script, Ok(()));
}

#[test]
fn username_and_password_refused_with_the_status() {
    for status in [1, 2, 0xff] {
        let script = [
            C(&[5, 2, 0, 2]),
            S(&[5, 2]),
            C(b"\x01\x05alice\x05wrong"),
            S(&[1, status]),
        ];
        let e = ProxyError::AuthFailed { status };
        to_localhost("socks5://alice:wrong@p", &script, Err(e));
    }
}

#[test]
fn credentials_are_not_sent_when_the_proxy_wants_none() {
    let script = [
        C(&[5, 2, 0, 2]),
        S(&[5, 0]),
        C(LOCALHOST_25),
        S(REPLY_OK_V4),
    ];
    to_localhost("socks5://alice:secret@p", &script, Ok(()));
}

#[test]
fn every_reply_code_is_the_proxys_reason() {
    let reasons = [
        (1, "general SOCKS server failure"),
        (2, "connection not allowed by ruleset"),
        (3, "network unreachable"),
        (4, "host unreachable"),
        (5, "connection refused"),
        (6, "TTL expired"),
        (7, "command not supported"),
        (8, "address type not supported"),
        (9, "unassigned reply code"),
        (255, "unassigned reply code"),
    ];
    for (code, reason) in reasons {
        let reply = [5, code, 0, 1, 0, 0, 0, 0, 0, 0];
        let script = [C(&[5, 1, 0]), S(&[5, 0]), C(LOCALHOST_25), S(&reply)];
        let e = ProxyError::Refused { code };
        to_localhost("socks5://p", &script, Err(e.clone()));
        assert_eq!(ProxyError::reason(code), reason);
        assert!(e.to_string().contains(reason), "{e}");
        assert_eq!(e.is_transient(), !matches!(code, 7 | 8), "{code}");
    }
}

#[test]
fn a_refusal_is_reported_even_if_the_proxy_closes_after_the_code() {
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(LOCALHOST_25), S(&[5, 5]), Eof];
    let e = ProxyError::Refused { code: 5 };
    to_localhost("socks5://p", &script, Err(e));
}

#[test]
fn no_acceptable_method_says_whether_credentials_were_offered() {
    let script = [C(&[5, 1, 0]), S(&[5, 0xff])];
    let e = ProxyError::NoAcceptableMethod {
        offered_credentials: false,
    };
    to_localhost("socks5://p", &script, Err(e));
    let script = [C(&[5, 2, 0, 2]), S(&[5, 0xff])];
    let e = ProxyError::NoAcceptableMethod {
        offered_credentials: true,
    };
    to_localhost("socks5://u:p@p", &script, Err(e));
}

#[test]
fn a_method_not_offered_is_refused() {
    let script = [C(&[5, 1, 0]), S(&[5, 2])];
    let e = ProxyError::UnexpectedMethod(2);
    to_localhost("socks5://p", &script, Err(e));
    let script = [C(&[5, 2, 0, 2]), S(&[5, 1])];
    let e = ProxyError::UnexpectedMethod(1);
    to_localhost("socks5://u:p@p", &script, Err(e));
}

#[test]
fn a_reply_of_another_version_is_refused_at_its_first_byte() {
    let bad = |expected, got| Err(ProxyError::BadVersion { expected, got });
    // An SMTP server, not a proxy: its greeting's first byte.
    to_localhost("socks5://p", &[C(&[5, 1, 0]), S(b"2")], bad(5, b'2'));
    let script = [C(&[5, 1, 0]), S(&[4, 0])];
    to_localhost("socks5://p", &script, bad(5, 4));
    let script = [
        C(&[5, 2, 0, 2]),
        S(&[5, 2]),
        C(b"\x01\x01u\x01p"),
        S(&[5, 0]),
    ];
    to_localhost("socks5://u:p@p", &script, bad(1, 5));
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(LOCALHOST_25), S(&[4])];
    to_localhost("socks5://p", &script, bad(5, 4));
}

#[test]
fn a_reply_with_an_unknown_address_type_is_refused() {
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(LOCALHOST_25), S(&[5, 0, 0, 9])];
    let e = ProxyError::BadAddressType(9);
    to_localhost("socks5://p", &script, Err(e));
}

#[test]
fn a_truncated_reply_is_closed_not_a_panic() {
    let cases: [&[Step<'_>]; 4] = [
        &[C(&[5, 1, 0]), Eof],
        &[C(&[5, 1, 0]), S(&[5]), Eof],
        &[
            C(&[5, 1, 0]),
            S(&[5, 0]),
            C(LOCALHOST_25),
            S(&[5, 0, 0, 1, 10, 0]),
            Eof,
        ],
        &[
            C(&[5, 1, 0]),
            S(&[5, 0]),
            C(LOCALHOST_25),
            S(&[5, 0, 0, 3, 200, b'x']),
            Eof,
        ],
    ];
    for script in cases {
        to_localhost("socks5://p", script, Err(ProxyError::Closed));
    }
}

#[test]
fn the_longest_reply_fits_one_read_and_nothing_after_it_is_taken() {
    let mut reply = vec![5, 0, 0, 3, 255];
    reply.extend([b'n'; 255]);
    reply.extend([0, 25]);
    assert_eq!(reply.len(), MAX_READ);
    let script = [C(&[5, 1, 0]), S(&[5, 0]), C(LOCALHOST_25), S(&reply)];
    to_localhost("socks5://p", &script, Ok(()));
}

#[test]
fn a_name_that_cannot_be_sent_is_refused_before_anything_is_written() {
    let proxy = Proxy::parse("socks5h://p").unwrap();
    for name in [String::new(), "n".repeat(256)] {
        let e = proxy.handshake(Destination::Name(name), 25).unwrap_err();
        assert_eq!(e, ProxyError::InvalidName);
    }
    assert!(proxy
        .handshake(Destination::Name("n".repeat(255)), 25)
        .is_ok());
}

#[test]
fn after_a_failure_every_call_gives_the_error_again() {
    let proxy = Proxy::parse("socks5://p").unwrap();
    let mut hs = proxy.handshake(ip("127.0.0.1"), 25).unwrap();
    assert_eq!(hs.poll(), Ok(Next::Write(vec![5, 1, 0])));
    assert_eq!(
        hs.handle_input(&[6, 0]),
        Err(ProxyError::BadVersion {
            expected: 5,
            got: 6
        })
    );
    assert_eq!(
        hs.poll(),
        Err(ProxyError::BadVersion {
            expected: 5,
            got: 6
        })
    );
    assert!(hs.handle_input(&[5, 0]).is_err());
    assert!(!hs.is_done());
}

#[test]
fn debug_shows_no_credentials() {
    let proxy = Proxy::parse("socks5://alice:hunter2@p").unwrap();
    let mut hs = proxy.handshake(ip("127.0.0.1"), 25).unwrap();
    assert!(matches!(hs.poll(), Ok(Next::Write(_))));
    hs.handle_input(&[5, 2]).unwrap();
    for shown in [format!("{proxy:?}"), format!("{hs:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    /// Replies that start well (so that more than the first check is reached) and
    /// then go anywhere.
    fn proxy_bytes() -> impl Strategy<Value = Vec<u8>> {
        let start = prop_oneof![
            Just(Vec::new()),
            Just(vec![5, 0]),
            Just(vec![5, 2, 1, 0]),
            Just(vec![5, 0, 5, 0, 0]),
            Just(vec![5, 0, 5, 0, 0, 1]),
            Just(vec![5, 0, 5, 0, 0, 3]),
            // The longest names a reply can carry.
            (250u8..=255).prop_map(|len| vec![5, 0, 5, 0, 0, 3, len]),
            Just(vec![5, 0, 5, 0, 0, 4]),
            Just(vec![5, 2, 1, 0, 5, 0, 0, 3]),
        ];
        (start, proptest::collection::vec(any::<u8>(), 0..600)).prop_map(|(mut s, rest)| {
            s.extend(rest);
            s
        })
    }

    proptest! {
        /// Whatever a proxy sends, in whatever pieces: no panic, every read asked for
        /// is 1 to MAX_READ bytes, no byte is taken beyond what was given, and the
        /// handshake ends (done or an error) by the end of the bytes or at their end.
        #[test]
        fn any_reply_in_any_pieces_ends_in_done_or_an_error(
            bytes in proxy_bytes(),
            pieces in proptest::collection::vec(1usize..40, 1..64),
            auth in any::<bool>(),
            name in any::<bool>(),
        ) {
            let url = if auth { "socks5h://u:p@p" } else { "socks5h://p" };
            let proxy = Proxy::parse(url).unwrap();
            let destination = if name {
                Destination::Name("mx.example".into())
            } else {
                ip("192.0.2.1")
            };
            let mut hs = proxy.handshake(destination, 25).unwrap();
            let mut at = 0;
            let mut piece = pieces.iter().cycle();
            let ended = loop {
                match hs.poll() {
                    Err(e) => break Err(e),
                    Ok(Next::Done) => break Ok(()),
                    Ok(Next::Write(w)) => prop_assert!(!w.is_empty()),
                    Ok(Next::Read(max)) => {
                        prop_assert!((1..=MAX_READ).contains(&max), "read of {}", max);
                        let n = max.min(*piece.next().unwrap()).min(bytes.len() - at);
                        let taken = match hs.handle_input(&bytes[at..at + n]) {
                            Ok(taken) => taken,
                            Err(e) => break Err(e),
                        };
                        prop_assert_eq!(taken, n);
                        at += n;
                    }
                }
            };
            prop_assert!(at <= bytes.len());
            if ended.is_ok() {
                prop_assert!(hs.is_done());
            } else {
                prop_assert!(!hs.is_done());
                prop_assert!(hs.poll().is_err(), "the error stays");
            }
        }

        /// Handed everything at once, it takes at most what it was given.
        #[test]
        fn a_whole_slice_is_taken_at_most_whole(bytes in proxy_bytes()) {
            let proxy = Proxy::parse("socks5://p").unwrap();
            let mut hs = proxy.handshake(ip("192.0.2.1"), 25).unwrap();
            let _ = hs.poll();
            if let Ok(taken) = hs.handle_input(&bytes) {
                prop_assert!(taken <= bytes.len());
            }
        }
    }
}
