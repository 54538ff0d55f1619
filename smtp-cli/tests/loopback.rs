//! `smtp-send` run as a process against the testkit's loopback servers: the scripted
//! server (every byte checked) and step servers (replies chosen per test). Each exit
//! status of the interface comes from a real cause here, on each of the three runtimes.

mod common;

use std::net::TcpListener;

use common::*;
use smtp_testkit::server::{ScriptedServer, Step, StepServer};
use smtp_testkit::transcript::Transcript;

/// `--data -`: standard input goes out with its line ends normalised and dot-stuffed,
/// byte for byte as the transcript says, on every runtime.
#[test]
fn data_from_standard_input_on_every_runtime() {
    let script = r"
S: 220 mx.example ESMTP\r\n
C: EHLO client.example\r\n
S: 250-mx.example\r\n250 PIPELINING\r\n
C: MAIL FROM:<a@example.org>\r\n
C: RCPT TO:<b@example.net>\r\n
C: DATA\r\n
S: 250 ok\r\n250 ok\r\n354 go\r\n
C: Subject: stdin\r\n\r\nline\r\n..dot\r\nlast\r\n.\r\n
S: 250 2.0.0 queued\r\n
C: QUIT\r\n
S: 221 bye\r\n
EOF
";
    on_every_runtime(|runtime| {
        against_script(runtime, script, |cmd| {
            cmd.args(["--to", "b@example.net", "--data", "-"])
                .write_stdin("Subject: stdin\n\nline\n.dot\r\nlast");
        })
        .expect(0);
    });
}

/// 0 and the JSON shape: one recipient accepted, one refused with 550 (which makes 69).
#[test]
fn json_shape_and_a_refused_recipient_is_69() {
    on_every_runtime(|runtime| {
        let mut steps = session_start(&["PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"]);
        steps.extend(bdat_transaction(
            &["b@example.net", "rejected@example.net"],
            "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n250 2.0.0 queued as X\r\n",
        ));
        steps.extend(quit());
        let server = StepServer::start(steps);
        let data = temp_file("m.eml", MESSAGE);
        let mut cmd = send(runtime, server.addr(), &["--to", "b@example.net"]);
        cmd.args([
            "--to",
            "rejected@example.net",
            "--starttls",
            "never",
            "--json",
        ])
        .arg("--data")
        .arg(&data);
        let out = run(cmd).expect(69);
        let addr = server.addr();
        server.finish().expect("the server saw the transaction");
        let v = out.json();
        assert_eq!(v["server"], addr.to_string());
        assert!(v["tls"].is_null() && v["auth"].is_null(), "{v}");
        let caps: Vec<&str> = v["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(caps, ["PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"]);
        let m = &v["messages"][0];
        assert_eq!(v["messages"].as_array().unwrap().len(), 1);
        assert_eq!(m["accepted"], true);
        assert_eq!(m["code"], 250);
        assert_eq!(m["enhanced"], "2.0.0");
        assert_eq!(m["text"], "queued as X");
        let r = &m["recipients"];
        assert_eq!(r[0]["address"], "b@example.net");
        assert_eq!(r[0]["accepted"], true);
        assert_eq!(r[0]["code"], 250);
        assert_eq!(r[1]["address"], "rejected@example.net");
        assert_eq!(r[1]["accepted"], false);
        assert_eq!(r[1]["code"], 550);
        assert_eq!(r[1]["enhanced"], "5.1.1");
        assert_eq!(r[1]["text"], "no such user");
        assert!(r[1].get("delivery").is_none(), "no LMTP fields over SMTP");
        assert!(out.stderr.contains("rejected@example.net"), "{out}");
    });
}

/// LMTP: a delivery per recipient; one is deferred with 452, so the run is 75.
#[test]
fn lmtp_deliveries_in_json_and_a_deferred_delivery_is_75() {
    on_every_runtime(|runtime| {
        let mut steps = hello_start("LHLO ", &["PIPELINING", "ENHANCEDSTATUSCODES"]);
        steps.extend(expect(&[
            "MAIL FROM:<a@example.org>\r\n",
            "RCPT TO:<b@example.net>\r\n",
            "RCPT TO:<c@example.net>\r\n",
            "DATA\r\n",
        ]));
        steps.push(line("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"));
        steps.extend(message_lines());
        steps.extend(expect(&[".\r\n"]));
        steps.push(line("250 2.0.0 delivered\r\n452 4.2.2 mailbox full\r\n"));
        steps.extend(quit());
        let server = StepServer::start(steps);
        let data = temp_file("m.eml", MESSAGE);
        let mut cmd = send(
            runtime,
            server.addr(),
            &["--lmtp", "--json", "--starttls", "never"],
        );
        cmd.args(["--to", "b@example.net", "--to", "c@example.net", "--data"])
            .arg(&data);
        let out = run(cmd).expect(75);
        server.finish().expect("the server saw the transaction");
        let v = out.json();
        let r = &v["messages"][0]["recipients"];
        assert_eq!(r[0]["delivery"]["delivered"], true);
        assert_eq!(r[0]["delivery"]["code"], 250);
        assert_eq!(r[1]["accepted"], true, "accepted at RCPT");
        assert_eq!(r[1]["delivery"]["delivered"], false);
        assert_eq!(r[1]["delivery"]["code"], 452);
        assert_eq!(r[1]["delivery"]["enhanced"], "4.2.2");
        assert_eq!(r[1]["delivery"]["text"], "mailbox full");
        assert_eq!(v["messages"][0]["accepted"], false);
    });
}

/// A message refused before anything of it is sent (a UTF-8 address, and the server does
/// not offer SMTPUTF8: RFC 6531 §3.4) is 69 under LMTP as under SMTP: only another server
/// could take it. Nothing but the greeting's exchange and QUIT goes out.
#[test]
fn a_message_refused_before_sending_is_69_over_smtp_and_lmtp() {
    for (hello, lmtp) in [("EHLO", &[][..]), ("LHLO", &["--lmtp"][..])] {
        let script = format!(
            r"
S: 220 mx.example ESMTP\r\n
C: {hello} client.example\r\n
S: 250-mx.example\r\n250 PIPELINING\r\n
C: QUIT\r\n
S: 221 bye\r\n
EOF
"
        );
        on_every_runtime(|runtime| {
            let data = temp_file("m.eml", MESSAGE);
            let out = against_script(runtime, &script, |cmd| {
                cmd.args(lmtp)
                    .args(["--to", "jörg@example.net", "--json", "--data"])
                    .arg(&data);
            })
            .expect(69);
            assert_eq!(out.json()["exit_code"], 69, "{out}");
            assert!(out.stderr.contains("needs SMTPUTF8"), "{hello}: {out}");
        });
    }
}

/// Under LMTP, a DATA refused with 554 refuses the message for every recipient at once
/// (no per-recipient replies follow, RFC 2033 §4.2): 69, as over SMTP.
#[test]
fn a_message_refused_at_data_under_lmtp_is_69() {
    let script = r"
S: 220 lmtp.example LMTP\r\n
C: LHLO client.example\r\n
S: 250 lmtp.example\r\n
C: MAIL FROM:<a@example.org>\r\n
S: 250 ok\r\n
C: RCPT TO:<b@example.net>\r\n
S: 250 ok\r\n
C: DATA\r\n
S: 554 5.6.0 no\r\n
C: QUIT\r\n
S: 221 bye\r\n
EOF
";
    on_every_runtime(|runtime| {
        let data = temp_file("m.eml", MESSAGE);
        let out = against_script(runtime, script, |cmd| {
            cmd.args(["--lmtp", "--to", "b@example.net", "--json", "--data"])
                .arg(&data);
        })
        .expect(69);
        assert!(out.stderr.contains("554 5.6.0 no"), "{out}");
        let v = out.json();
        let delivery = &v["messages"][0]["recipients"][0]["delivery"];
        assert_eq!(delivery["delivered"], false, "{out}");
        assert_eq!(delivery["code"], 554, "{out}");
    });
}

/// `--repeat 100`: a hundred messages on the one connection the server accepts.
#[test]
fn repeat_sends_a_hundred_messages_on_one_connection() {
    on_every_runtime(|runtime| {
        let mut steps = session_start(&["PIPELINING", "CHUNKING"]);
        steps.extend(bdat_transaction(
            &["b@example.net"],
            "250 ok\r\n250 ok\r\n250 queued\r\n",
        ));
        for _ in 1..100 {
            // The core pipelines an RSET ahead of each later MAIL: the previous BDAT
            // LAST is unanswered when it goes out.
            steps.push(Step::expect("RSET\r\n"));
            steps.extend(bdat_transaction(
                &["b@example.net"],
                "250 reset\r\n250 ok\r\n250 ok\r\n250 queued\r\n",
            ));
        }
        steps.extend(quit());
        let server = StepServer::start(steps);
        let data = temp_file("m.eml", MESSAGE);
        let mut cmd = send(runtime, server.addr(), &["--to", "b@example.net"]);
        cmd.args(["--repeat", "100", "--json", "--starttls", "never", "--data"])
            .arg(&data);
        let out = run(cmd).expect(0);
        server.finish().expect("the server saw 100 transactions");
        let messages = out.json()["messages"].as_array().unwrap().clone();
        assert_eq!(messages.len(), 100);
        assert!(messages.iter().all(|m| m["accepted"] == true));
        assert!(out.stderr.contains("100 messages in"), "{out}");
        assert!(out.stderr.contains("messages per second"), "{out}");
    });
}

/// The password, and its base64 forms, appear nowhere: not in the transcript, the JSON
/// or the error after the server refuses it (which is 77).
#[test]
fn refused_credentials_are_77_and_the_password_never_shows() {
    on_every_runtime(|runtime| {
        let mut steps = session_start(&["AUTH PLAIN LOGIN"]);
        steps.extend([
            Step::expect("AUTH PLAIN AGFsaWNlAHMzY3JldC1wdw==\r\n"),
            line("535 5.7.8 bad credentials\r\n"),
        ]);
        steps.extend(quit());
        let server = StepServer::start(steps);
        let mut cmd = send(runtime, server.addr(), &["--to", "b@example.net"]);
        cmd.args(["--starttls", "never", "--allow-plaintext-auth"])
            .args(["--auth-mech", "PLAIN", "--auth-user", "alice"])
            .args(["--auth-password-env", "SMTP_SEND_TEST_PW"])
            .args(["--transcript", "--json"])
            .env("SMTP_SEND_TEST_PW", "s3cret-pw");
        let out = run(cmd).expect(77);
        server.finish().expect("the server saw AUTH, then QUIT");
        let all = format!("{}{}", out.stdout, out.stderr);
        // s3cret-pw, and PLAIN's \0alice\0s3cret-pw, in base64.
        for secret in ["s3cret-pw", "czNjcmV0LXB3", "AGFsaWNlAHMzY3JldC1wdw=="] {
            assert!(!all.contains(secret), "{secret} shown:\n{out}");
        }
        assert!(out.stderr.contains("C: AUTH PLAIN <redacted>"), "{out}");
        assert!(out.stderr.contains("S: 535 5.7.8 bad credentials"), "{out}");
        assert!(
            out.json()["error"].as_str().unwrap().contains("535"),
            "{out}"
        );
    });
}

/// Credentials with no TLS to protect them are withheld: 77.
#[test]
fn credentials_on_a_cleartext_session_are_77() {
    on_every_runtime(|runtime| {
        let mut steps = session_start(&["AUTH PLAIN"]);
        steps.extend(quit());
        let server = StepServer::start(steps);
        let mut cmd = send(runtime, server.addr(), &["--to", "b@example.net"]);
        cmd.args(["--starttls", "opportunistic", "--auth-user", "alice"])
            .args(["--auth-password-env", "SMTP_SEND_TEST_PW"])
            .env("SMTP_SEND_TEST_PW", "s3cret-pw");
        let out = run(cmd).expect(77);
        server.finish().expect("the server saw no AUTH, only QUIT");
        assert!(out.stderr.contains("credentials withheld"), "{out}");
        assert!(!out.stderr.contains("s3cret-pw"), "{out}");
    });
}

/// 76: a malformed reply, bytes after the 220 to STARTTLS, TLS required and not offered.
#[test]
fn protocol_errors_and_security_aborts_are_76() {
    let injection = {
        let mut s = session_start(&["STARTTLS"]);
        s.extend([
            Step::expect("STARTTLS\r\n"),
            line("220 go\r\n250 injected\r\n"),
            Step::Hold,
        ]);
        s
    };
    let no_starttls = {
        let mut s = session_start(&["PIPELINING"]);
        s.extend(quit());
        s
    };
    let cases: Vec<(Vec<Step>, &[&str], &str)> = vec![
        (
            vec![line("hello there\r\n"), Step::Hold],
            &[],
            "malformed reply",
        ),
        (injection, &[], "response injection"),
        (
            no_starttls,
            &["--starttls", "required"],
            "does not offer STARTTLS",
        ),
    ];
    for (steps, args, says) in cases {
        on_every_runtime(|runtime| {
            let server = StepServer::start(steps.clone());
            let mut cmd = send(runtime, server.addr(), &["--to", "b@example.net"]);
            cmd.args(args);
            let out = run(cmd).expect(76);
            server.finish().expect("the server's steps");
            assert!(out.stderr.contains(says), "{says}: {out}");
        });
    }
}

/// 76: the server's certificate is not trusted (the testkit's own, not among the Mozilla
/// roots) under implicit TLS.
#[test]
fn an_untrusted_certificate_is_76() {
    let script = "config: tls=implicit\nS: 220 mx.example ESMTP\\r\\n\n";
    on_every_runtime(|runtime| {
        let server = ScriptedServer::start(&Transcript::parse("untrusted", script));
        let out = run(send(
            runtime,
            server.addr(),
            &["--to", "b@example.net", "--tls"],
        ))
        .expect(76);
        assert!(out.stderr.contains("certificate"), "{out}");
    });
}

/// 75: a 421 greeting, a refused connection.
#[test]
fn temporary_failures_are_75() {
    on_every_runtime(|runtime| {
        let busy = StepServer::start(vec![line("421 4.3.2 try later\r\n"), Step::Hold]);
        let out = run(send(runtime, busy.addr(), &["--to", "b@example.net"])).expect(75);
        assert!(out.stderr.contains("421"), "{out}");

        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let out = run(send(runtime, closed, &["--to", "b@example.net"])).expect(75);
        assert!(out.stderr.to_lowercase().contains("refused"), "{out}");
    });
}

/// 75 when the server never answers and the reply deadline passes, on every runtime
/// (the blocking runtime, the default, once exited 70 here).
#[test]
fn a_server_that_never_answers_is_75() {
    on_every_runtime(|runtime| {
        let silent = StepServer::silent();
        let mut cmd = send(runtime, silent.addr(), &["--to", "b@example.net"]);
        cmd.args(["--timeout", "1", "--json"]);
        let out = run(cmd).expect(75);
        assert!(out.stderr.contains("timed out"), "{out}");
        assert_eq!(out.json()["exit_code"], 75, "{out}");
    });
}

/// 65: an address that is not one, a NUL in the message; 74: a message that cannot be
/// read; 64: a wrong command line. None of them connects.
#[test]
fn local_errors_are_64_65_74() {
    let nowhere = "127.0.0.1:9".parse().unwrap();
    on_every_runtime(|runtime| {
        let out = run(send(runtime, nowhere, &["--to", "not an address"])).expect(65);
        assert!(out.stderr.contains("--to"), "{out}");
        let nul = temp_file("nul.eml", b"Subject: x\r\n\r\nNUL \0 here\r\n");
        let mut cmd = send(runtime, nowhere, &["--to", "b@example.net", "--data"]);
        cmd.arg(&nul);
        run(cmd).expect(65);
        let mut cmd = send(runtime, nowhere, &["--to", "b@example.net", "--data"]);
        cmd.arg(nul.with_file_name("missing.eml"));
        let out = run(cmd).expect(74);
        assert!(out.stderr.contains("missing.eml"), "{out}");
        run(send(runtime, nowhere, &[])).expect(64); // no --to
        run(send(
            runtime,
            nowhere,
            &["--to", "b@example.net", "--frobnicate"],
        ))
        .expect(64);
        let mut cmd = send(runtime, nowhere, &["--to", "b@example.net"]);
        cmd.args(["--header", "no colon here"]);
        run(cmd).expect(64);
    });
}

/// A built message: mail-builder's Date and Message-ID, the given headers, the text and
/// the attachment, seen in the transcript of the content (`--transcript-body`). The server
/// never answers the data, so the outcome is unknown: 75.
#[test]
fn built_message_content_and_an_unanswered_message_is_75() {
    on_every_runtime(|runtime| {
        let mut steps = session_start(&["PIPELINING", "CHUNKING"]);
        steps.push(Step::Hold);
        let server = StepServer::start(steps);
        let attachment = temp_file("notes.txt", b"attached text\n");
        let mut cmd = send(runtime, server.addr(), &["--to", "b@example.net"]);
        cmd.args([
            "--starttls",
            "never",
            "--timeout",
            "1",
            "--transcript",
            "--transcript-body",
        ])
        .args(["--subject", "Build test", "--body", "Hello body"])
        .args(["--header", "X-Test: yes", "--attach"])
        .arg(&attachment);
        let out = run(cmd).expect(75);
        for want in [
            "C: Subject: Build test",
            "C: X-Test: yes",
            "C: Date: ",
            "C: Message-ID: <",
            "C: From: <a@example.org>",
            "C: To: <b@example.net>",
            "notes.txt",
            "Hello body",
            "C: BDAT ",
            "timed out",
        ] {
            assert!(out.stderr.contains(want), "{want:?} missing:\n{out}");
        }
    });
}

/// `--repeat 60 --concurrency 3`: the messages go through a pool of at most 3
/// connections beside the session's own, every one accepted and stored once, on every
/// runtime (the blocking one included: its pool is threads).
#[test]
fn repeat_through_a_pool_of_three_on_every_runtime() {
    on_every_runtime(|runtime| {
        let sink = smtp_sink::Sink::start().unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], sink.port()));
        let data = temp_file("pool.eml", MESSAGE);
        let mut cmd = send(
            runtime,
            addr,
            &[
                "--to",
                "b@example.net",
                "--repeat",
                "60",
                "--concurrency",
                "3",
            ],
        );
        cmd.args(["--starttls", "never", "--json"])
            .arg("--data")
            .arg(&data);
        let out = run(cmd).expect(0);
        let messages = out.json()["messages"].as_array().unwrap().clone();
        assert_eq!(messages.len(), 60, "{out}");
        assert!(messages.iter().all(|m| m["accepted"] == true), "{out}");
        assert_eq!(sink.messages().len(), 60, "each stored once");
        let conns = sink.connections();
        // The session's own connection (the first) sets up and QUITs; the pool's carry
        // every message.
        assert!(conns[0].messages.is_empty(), "{:?}", conns[0]);
        let pool = &conns[1..];
        assert!(
            (1..=3).contains(&pool.len()),
            "{} pool connections",
            pool.len()
        );
        assert_eq!(pool.iter().map(|c| c.messages.len()).sum::<usize>(), 60);
    });
}

/// `--server unix:PATH`: the session, and with `--concurrency` every connection of the
/// pool, reach the Unix socket (the adapter's connector opens it), and every message is
/// stored once.
#[test]
fn a_unix_socket_server_serves_the_session_and_every_pooled_connection() {
    on_every_runtime(|runtime| {
        let sink = smtp_sink::Sink::start().unwrap();
        let path = smtp_testkit::forward::unix_forwarder(sink.addr());
        let data = temp_file("m.eml", MESSAGE);
        let mut cmd = assert_cmd::Command::cargo_bin("smtp-send").unwrap();
        cmd.args(["--runtime", runtime, "--server"])
            .arg(format!("unix:{}", path.display()))
            .args(["--from", "a@example.org", "--to", "b@example.net"])
            .args(["--repeat", "4", "--concurrency", "2"])
            .args(["--starttls", "never", "--data"])
            .arg(&data)
            .timeout(std::time::Duration::from_secs(60));
        Run::of(cmd.output().unwrap()).expect(0);
        assert!(sink.wait_for_idle(std::time::Duration::from_secs(10)));
        let stored = sink.messages();
        assert_eq!(stored.len(), 4, "{runtime}");
        assert!(stored.iter().all(|m| m.content == MESSAGE), "{runtime}");
    });
}
