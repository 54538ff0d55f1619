//! `smtp-send --proxy` and the account's `proxy` key, through the SOCKS5 proxies
//! (microsocks) of `scripts/test-servers`, with and without authentication, to
//! Postfix, on every runtime; a proxy that refuses is 75 with its reason, a refused
//! proxy login 77. Panics (never skips) when the servers are down.
#![cfg(feature = "interop")]

mod common;

use std::os::unix::fs::PermissionsExt;

use assert_cmd::Command;
use common::*;
use smtp_testkit::interop::{assert_postfix_stored, unique, Listener, TestServers};

const PASSWORD_VAR: &str = "SMTP_SEND_TEST_PW";

/// `smtp-send` on `runtime` to Postfix by the name its certificate is for
/// (`localhost`: resolved here under `socks5://`, by the proxy under `socks5h://`),
/// STARTTLS and AUTH, no configuration file in reach.
fn to_postfix(s: &TestServers, runtime: &str, rcpt: &str) -> Command {
    let mut cmd = Command::cargo_bin("smtp-send").expect("the smtp-send binary");
    let server = format!("{}:{}", s.tls_name(), s.port(Listener::Postfix));
    let home = temp_file("none", b"").with_file_name("");
    cmd.env("XDG_CONFIG_HOME", &home)
        .env("HOME", &home)
        .args(["--runtime", runtime, "--server", &server])
        .args(["--from", "a@example.org", "--to", rcpt])
        .args(["--ca-file", s.var("SMTP_TEST_CA")])
        .args(["--auth-user", s.user(), "--auth-password-env", PASSWORD_VAR])
        .env(PASSWORD_VAR, s.password())
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

/// A message whose Message-ID no other run has used, in a file for `--data`.
fn message_file(tag: &str) -> (std::path::PathBuf, Vec<u8>) {
    let id = unique(tag);
    let message = format!("Message-ID: <{id}@example.org>\r\nSubject: {tag}\r\n\r\nHello\r\n");
    (temp_file("m.eml", message.as_bytes()), message.into_bytes())
}

fn rcpt(tag: &str) -> String {
    format!("{}@example.com", unique(tag))
}

#[test]
fn proxy_option_socks5h_without_authentication_to_postfix() {
    let s = TestServers::get();
    let proxy = s.socks_url("socks5h", None);
    on_every_runtime(|runtime| {
        let rcpt = rcpt(&format!("cli-proxy-{runtime}"));
        let (data, message) = message_file(&format!("cli-proxy-{runtime}"));
        let mut cmd = to_postfix(&s, runtime, &rcpt);
        cmd.args(["--proxy", &proxy, "--json", "--data"]).arg(&data);
        let out = run(cmd).expect(0);
        assert!(
            out.json()["tls"].as_str().unwrap().starts_with("TLSv1."),
            "{out}"
        );
        assert_postfix_stored(&s.postfix_message(&rcpt), &message);
    });
}

/// A private configuration file whose `[defaults]` have `proxy = "URL"`.
fn proxy_key(url: &str) -> std::path::PathBuf {
    let config = temp_file(
        "config.toml",
        format!("[defaults]\nproxy = \"{url}\"\n").as_bytes(),
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    config
}

#[test]
fn proxy_key_socks5_with_authentication_to_postfix() {
    let s = TestServers::get();
    let good = proxy_key(&s.socks_url("socks5", Some(s.socks_password())));
    // The key is used: with a wrong password the proxy refuses the login.
    let bad = proxy_key(&s.socks_url("socks5", Some("not-the-password")));
    on_every_runtime(|runtime| {
        let rcpt = rcpt(&format!("cli-proxy-key-{runtime}"));
        let (data, message) = message_file(&format!("cli-proxy-key-{runtime}"));
        let mut cmd = to_postfix(&s, runtime, &rcpt);
        cmd.arg("--config").arg(&bad).arg("--data").arg(&data);
        let out = run(cmd).expect(77);
        assert!(out.stderr.contains("username/password refused"), "{out}");
        let mut cmd = to_postfix(&s, runtime, &rcpt);
        cmd.arg("--config").arg(&good).arg("--data").arg(&data);
        let out = run(cmd).expect(0);
        assert!(!out.stderr.contains(s.socks_password()), "{out}");
        assert_postfix_stored(&s.postfix_message(&rcpt), &message);
    });
}

#[test]
fn a_proxy_that_refuses_is_75_with_its_reason() {
    let s = TestServers::get();
    let proxy = s.socks_url("socks5", None);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    on_every_runtime(|runtime| {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], closed));
        let mut cmd = send(runtime, addr, &["--to", "b@example.net", "--proxy", &proxy]);
        cmd.args(["--starttls", "never"]);
        let out = run(cmd).expect(75);
        assert!(
            out.stderr
                .contains("SOCKS proxy: connection refused (reply code 5)"),
            "{out}"
        );
    });
}

#[test]
fn a_refused_proxy_login_is_77_with_its_reason_and_no_password_shown() {
    let s = TestServers::get();
    let proxy = s.socks_url("socks5h", Some("not-the-password"));
    on_every_runtime(|runtime| {
        let mut cmd = to_postfix(&s, runtime, "b@example.net");
        cmd.args(["--proxy", &proxy]);
        let out = run(cmd).expect(77);
        assert!(out.stderr.contains("username/password refused"), "{out}");
        assert!(!out.stderr.contains("not-the-password"), "{out}");
    });
}

#[test]
fn a_bad_proxy_url_or_a_proxy_to_a_unix_socket_is_64_before_anything_is_opened() {
    on_every_runtime(|runtime| {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
        let bad = ["--to", "b@x", "--proxy", "http://u:secret@p:1"];
        let out = run(send(runtime, addr, &bad)).expect(64);
        assert!(out.stderr.contains("--proxy: invalid proxy URL"), "{out}");
        assert!(!out.stderr.contains("secret"), "{out}");
        let mut cmd = Command::cargo_bin("smtp-send").expect("the smtp-send binary");
        cmd.args([
            "--runtime",
            runtime,
            "--lmtp",
            "--server",
            "/run/nothing.sock",
        ])
        .args(["--from", "a@x", "--to", "b@x", "--proxy", "socks5://p:1"]);
        let out = run(cmd).expect(64);
        assert!(out.stderr.contains("Unix socket"), "{out}");
    });
}

#[test]
fn sendmail_mode_takes_proxy_too() {
    let s = TestServers::get();
    let good = s.socks_url("socks5h", None);
    // The option is used: a login the proxy refuses is its 77.
    let bad = s.socks_url("socks5h", Some("not-the-password"));
    on_every_runtime(|runtime| {
        let rcpt = rcpt(&format!("cli-proxy-sendmail-{runtime}"));
        let id = unique("cli-proxy-sendmail");
        let sendmail = |proxy: &str| {
            let mut cmd = Command::cargo_bin("smtp-send").expect("the smtp-send binary");
            let server = format!("{}:{}", s.tls_name(), s.port(Listener::Postfix));
            let home = temp_file("none", b"").with_file_name("");
            cmd.env("XDG_CONFIG_HOME", &home)
                .env("HOME", &home)
                .args(["--sendmail", "--runtime", runtime, "--server", &server])
                .args(["--ca-file", s.var("SMTP_TEST_CA"), "--proxy", proxy])
                .args(["-f", "a@example.org", "-i", &rcpt])
                .write_stdin(format!("Subject: {id}\n\nthrough the proxy\n"))
                .timeout(std::time::Duration::from_secs(60));
            run(cmd)
        };
        sendmail(&bad).expect(77);
        sendmail(&good).expect(0);
        let stored = String::from_utf8_lossy(&s.postfix_message(&rcpt)).into_owned();
        assert!(stored.contains(&id), "{stored}");
    });
}
