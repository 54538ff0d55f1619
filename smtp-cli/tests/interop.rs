//! `smtp-send` against the real servers of `scripts/test-servers` (Postfix, aiosmtpd,
//! LMTP): STARTTLS + AUTH, implicit TLS, LMTP, exit statuses from real refusals, what the
//! servers stored, and `--repeat 100`, each on every runtime. Panics (never skips) when
//! the servers are down.
#![cfg(feature = "interop")]

mod common;

use common::*;
use smtp_testkit::interop::{
    assert_aiosmtpd_stored, assert_postfix_stored, unique, Listener, TestServers,
};

const PASSWORD_VAR: &str = "SMTP_SEND_TEST_PW";

/// `smtp-send` to `listener` with the servers' CA trusted.
fn to(
    servers: &TestServers,
    runtime: &str,
    listener: Listener,
    args: &[&str],
) -> assert_cmd::Command {
    let mut cmd = send(runtime, servers.addr(listener), args);
    cmd.args(["--ca-file", servers.var("SMTP_TEST_CA")]);
    cmd
}

/// A message for `--data` whose Message-ID no other run has used, and its file: what
/// the server stored is compared with these bytes.
fn message_file(tag: &str) -> (std::path::PathBuf, Vec<u8>) {
    let id = unique(tag);
    let message =
        format!("Message-ID: <{id}@example.org>\r\nSubject: {tag}\r\n\r\nHello\r\n.dot\r\n");
    (temp_file("m.eml", message.as_bytes()), message.into_bytes())
}

fn with_login(cmd: &mut assert_cmd::Command, servers: &TestServers, password: &str) {
    cmd.args([
        "--auth-user",
        servers.user(),
        "--auth-password-env",
        PASSWORD_VAR,
    ])
    .env(PASSWORD_VAR, password);
}

/// STARTTLS + AUTH on Postfix: accepted (0), stored byte for byte, and the JSON names the
/// TLS version and mechanism; the password is nowhere in the output.
#[test]
fn postfix_starttls_auth() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let rcpt = format!("{}@example.com", unique(&format!("cli-{runtime}")));
        let (data, message) = message_file(&format!("cli-starttls-{runtime}"));
        let mut cmd = to(&servers, runtime, Listener::Postfix, &["--to", &rcpt]);
        with_login(&mut cmd, &servers, servers.password());
        cmd.args(["--json", "--transcript", "--data"]).arg(&data);
        let out = run(cmd).expect(0);
        let v = out.json();
        assert!(v["tls"].as_str().unwrap().starts_with("TLSv1."), "{out}");
        assert!(v["auth"].is_string(), "{out}");
        assert!(
            v["capabilities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "PIPELINING"),
            "{out}"
        );
        assert_eq!(v["messages"][0]["accepted"], true, "{out}");
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains(servers.password()), "password shown:\n{out}");
        assert_postfix_stored(&servers.postfix_message(&rcpt), &message);
    });
}

/// Postfix offers STARTTLS but not REQUIRETLS: with `--requiretls` the session is
/// encrypted and verified, then no MAIL FROM is sent (the transcript shows none); the
/// message is refused `550 5.7.30`, exit 69, and Postfix stored nothing for the
/// recipient.
#[test]
fn postfix_without_requiretls_is_sent_no_mail_from_5_7_30_exit_69() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let rcpt = format!("{}@example.com", unique(&format!("cli-reqtls-{runtime}")));
        let (data, _) = message_file(&format!("cli-reqtls-{runtime}"));
        let mut cmd = to(&servers, runtime, Listener::Postfix, &["--to", &rcpt]);
        with_login(&mut cmd, &servers, servers.password());
        cmd.args(["--requiretls", "--json", "--transcript", "--data"])
            .arg(&data);
        let out = run(cmd).expect(69);
        let v = out.json();
        assert!(v["tls"].as_str().unwrap().starts_with("TLSv1."), "{out}");
        assert_eq!(v["messages"][0]["enhanced"], "5.7.30", "{out}");
        assert!(out.stderr.contains("STARTTLS"), "{out}");
        assert!(!out.stderr.contains("MAIL FROM"), "{out}");
        assert!(!servers.postfix_has(&rcpt), "{rcpt} was delivered");
    });
}

/// Implicit TLS (Postfix wrappermode): `--tls`, the JSON shows the version, and Postfix
/// stored the message byte for byte.
#[test]
fn postfix_implicit_tls() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let rcpt = format!("{}@example.com", unique(&format!("cli-tls-{runtime}")));
        let (data, message) = message_file(&format!("cli-tls-{runtime}"));
        let mut cmd = to(
            &servers,
            runtime,
            Listener::PostfixTls,
            &["--to", &rcpt, "--tls", "--json"],
        );
        cmd.arg("--data").arg(&data);
        with_login(&mut cmd, &servers, servers.password());
        let out = run(cmd).expect(0);
        assert!(out.json()["tls"].is_string(), "{out}");
        assert_postfix_stored(&servers.postfix_message(&rcpt), &message);
    });
}

/// `--data FILE` reaches aiosmtpd byte for byte (line ends normalised by the server's
/// storage aside, as the testkit compares).
#[test]
fn aiosmtpd_stores_the_file_as_sent() {
    let servers = TestServers::get();
    let message = b"Subject: file\r\n\r\n.leading dot\r\nend\r\n";
    let data = temp_file("m.eml", message);
    on_every_runtime(|runtime| {
        let rcpt = format!("{}@example.com", unique(&format!("cli-data-{runtime}")));
        let mut cmd = to(&servers, runtime, Listener::Aiosmtpd, &["--to", &rcpt]);
        cmd.arg("--data").arg(&data);
        with_login(&mut cmd, &servers, servers.password());
        run(cmd).expect(0);
        assert_aiosmtpd_stored(&servers.aiosmtpd_message(&rcpt), message);
    });
}

/// A recipient Postfix refuses with 550 5.1.1: 69, while the other gets the message byte
/// for byte and the refused one gets nothing.
#[test]
fn postfix_refused_recipient_is_69() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let good = format!("{}@example.com", unique(&format!("cli-good-{runtime}")));
        let bad = format!("{}@example.com", unique(&format!("reject-cli-{runtime}")));
        let (data, message) = message_file(&format!("cli-refused-{runtime}"));
        let mut cmd = to(
            &servers,
            runtime,
            Listener::Postfix,
            &["--to", &good, "--to", &bad, "--json"],
        );
        cmd.arg("--data").arg(&data);
        with_login(&mut cmd, &servers, servers.password());
        let out = run(cmd).expect(69);
        let r = &out.json()["messages"][0]["recipients"];
        assert_eq!(r[1]["code"], 550, "{out}");
        assert_eq!(r[1]["enhanced"], "5.1.1", "{out}");
        assert_postfix_stored(&servers.postfix_message(&good), &message);
        // Postfix queued one file for both recipients: once the accepted one's copy is
        // delivered, a copy for the refused one would be there too.
        assert!(!servers.postfix_has(&bad), "{bad} got a copy");
    });
}

/// LMTP: the refused recipient is refused after the data, in its own reply: 69, and the
/// JSON has the delivery per recipient.
#[test]
fn lmtp_per_recipient_delivery() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let good = format!("{}@example.com", unique(&format!("cli-lmtp-{runtime}")));
        let bad = format!("{}@example.com", unique(&format!("reject-lmtp-{runtime}")));
        let cmd = to(
            &servers,
            runtime,
            Listener::Lmtp,
            &[
                "--lmtp",
                "--json",
                "--starttls",
                "never",
                "--to",
                &good,
                "--to",
                &bad,
            ],
        );
        let out = run(cmd).expect(69);
        let r = &out.json()["messages"][0]["recipients"];
        assert_eq!(r[0]["delivery"]["delivered"], true, "{out}");
        assert_eq!(r[1]["delivery"]["delivered"], false, "{out}");
        assert_eq!(r[1]["delivery"]["code"], 550, "{out}");
    });
}

/// Postfix's certificate without `--ca-file` (not in the Mozilla roots): 76.
#[test]
fn untrusted_certificate_is_76() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let rcpt = format!(
            "{}@example.com",
            unique(&format!("cli-untrusted-{runtime}"))
        );
        let cmd = send(runtime, servers.addr(Listener::Postfix), &["--to", &rcpt]);
        let out = run(cmd).expect(76);
        assert!(out.stderr.contains("certificate"), "{out}");
        assert!(!servers.postfix_has(&rcpt));
    });
}

/// A wrong password (535), and credentials on a cleartext session: 77; the password is
/// in no error message.
#[test]
fn authentication_failures_are_77() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let rcpt = format!("{}@example.com", unique(&format!("cli-badpw-{runtime}")));
        // Postfix: the harness's aiosmtpd listeners never answer a failed AUTH.
        let mut cmd = to(&servers, runtime, Listener::Postfix, &["--to", &rcpt]);
        cmd.args(["--json", "--transcript"]);
        with_login(&mut cmd, &servers, "wrong-Pa55word");
        let out = run(cmd).expect(77);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!all.contains("wrong-Pa55word"), "password shown:\n{out}");

        let mut cmd = to(&servers, runtime, Listener::Postfix, &["--to", &rcpt]);
        cmd.args(["--starttls", "never"]);
        with_login(&mut cmd, &servers, servers.password());
        run(cmd).expect(77);
    });
}

/// `--repeat 100` (and `extra`) to Postfix (STARTTLS, AUTH) on every runtime: every
/// message accepted, and Postfix stored 100 copies, each byte for byte.
fn postfix_repeat_100_with(tag: &str, extra: &[&str]) {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let rcpt = format!("{}@example.com", unique(&format!("{tag}-{runtime}")));
        let (data, message) = message_file(&format!("{tag}-{runtime}"));
        let mut args = vec!["--to", &rcpt, "--repeat", "100", "--json"];
        args.extend(extra);
        let mut cmd = to(&servers, runtime, Listener::Postfix, &args);
        cmd.arg("--data").arg(&data);
        with_login(&mut cmd, &servers, servers.password());
        let out = run(cmd).expect(0);
        let messages = out.json()["messages"].as_array().unwrap().clone();
        assert_eq!(messages.len(), 100);
        assert!(messages.iter().all(|m| m["accepted"] == true), "{out}");
        assert!(out.stderr.contains("100 messages in"), "{out}");
        for stored in servers.postfix_copies(&rcpt, 100) {
            assert_postfix_stored(&stored, &message);
        }
    });
}

/// `--repeat 100` on one Postfix connection.
#[test]
fn postfix_repeat_100() {
    postfix_repeat_100_with("cli-repeat", &[]);
}

/// `--repeat 100 --concurrency 4`: through a pool of 4 connections, each set up with
/// STARTTLS and AUTH.
#[test]
fn postfix_repeat_100_through_a_pool_of_four() {
    postfix_repeat_100_with("cli-pool", &["--concurrency", "4"]);
}
