//! Sendmail mode against Postfix (`scripts/test-servers`): the issue's `-t -i -f`
//! pipe on every runtime, every caller of the table, and the real callers from the
//! package registries — PHP's `mail()` (php-cli) and `git send-email` (git-email) —
//! pointed at a link named `sendmail`. What Postfix stored is read back by Message-ID
//! or recipient. Panics (never skips) when the servers are down.
#![cfg(feature = "interop")]

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::*;
use smtp_testkit::interop::{strip_postfix_headers, unique, Listener, TestServers};

/// A link named `sendmail` to the built `smtp-send`, in a directory of its own.
fn sendmail_link() -> PathBuf {
    let link = temp_file("placeholder", b"").with_file_name("sendmail");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("smtp-send"), &link).unwrap();
    link
}

/// The options that point our sendmail at Postfix with its CA trusted (STARTTLS is
/// opportunistic by default, so the session is encrypted and verified).
fn to_postfix(servers: &TestServers) -> Vec<String> {
    vec![
        "--server".into(),
        servers.addr(Listener::Postfix).to_string(),
        "--ca-file".into(),
        servers.var("SMTP_TEST_CA").into(),
    ]
}

/// An empty home: no account file is found, and nothing of the user's leaks in.
fn isolate(cmd: &mut Command) {
    let home = temp_file("none", b"").with_file_name("");
    cmd.env("XDG_CONFIG_HOME", &home)
        .env("HOME", &home)
        .env("USER", "tester")
        .timeout(std::time::Duration::from_secs(60));
}

fn header<'a>(stored: &'a str, name: &str) -> Vec<&'a str> {
    let head = stored.split("\n\n").next().unwrap_or_default();
    head.lines()
        .filter_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(": ")))
        .collect()
}

fn body(stored: &str) -> &str {
    stored
        .split_once("\n\n")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

/// The issue's test on every runtime: `printf 'To: a@x\nBcc: b@y\n\nhi\n.\nmore\n' |
/// sendmail -t -i -f me@z` delivers to both recipients, the Bcc field absent from what
/// Postfix stored and the body whole (the lone dot is content).
#[test]
fn t_i_f_delivers_to_to_and_bcc_at_postfix_without_bcc_and_the_body_whole() {
    let servers = TestServers::get();
    on_every_runtime(|runtime| {
        let a = format!("{}@example.com", unique(&format!("sm-to-{runtime}")));
        let b = format!("{}@example.net", unique(&format!("sm-hidden-{runtime}")));
        let mut cmd = Command::new(sendmail_link());
        isolate(&mut cmd);
        cmd.args(to_postfix(&servers))
            .args(["--runtime", runtime, "-t", "-i", "-f", "me@z.example"])
            .write_stdin(format!("To: {a}\nBcc: {b}\n\nhi\n.\nmore\n"));
        run(cmd).expect(0);
        for stored in servers.postfix_messages(&[&a, &b]) {
            let stored = String::from_utf8_lossy(&stored).into_owned();
            assert_eq!(header(&stored, "Return-Path"), ["<me@z.example>"]);
            assert_eq!(header(&stored, "To"), [a.as_str()], "{stored}");
            // What was sent: without the fields Postfix adds (Return-Path,
            // X-Original-To, Delivered-To, Received), which name the recipient.
            let sent = String::from_utf8_lossy(strip_postfix_headers(stored.as_bytes()));
            let head = sent.split("\n\n").next().unwrap_or_default();
            let bcc = head
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:"));
            assert!(!bcc && !head.contains(&b), "{stored}");
            assert_eq!(body(&stored), "hi\n.\nmore\n", "{stored}");
        }
    });
}

/// Every command line of the callers' table delivers at Postfix, to the recipients it
/// names (bare names qualified with this host), each stored once.
#[test]
fn every_caller_of_the_table_delivers_at_postfix() {
    let servers = TestServers::get();
    for (caller, args, want) in CALLERS {
        let id = format!("{}@example.org", unique("sm-caller"));
        let message = CALLER_MESSAGE.replacen("\n\n", &format!("\nMessage-ID: <{id}>\n\n"), 1);
        let mut cmd = Command::new(sendmail_link());
        isolate(&mut cmd);
        cmd.args(to_postfix(&servers))
            .args(args)
            .write_stdin(message);
        let out = run(cmd);
        assert_eq!(out.code, 0, "{caller}: {out}");
        assert!(!out.stderr.contains("warning"), "{caller}: {out}");
        let stored = servers.postfix_with_message_id(&id, want.len());
        let mut got: Vec<String> = stored
            .iter()
            .map(|s| header(&String::from_utf8_lossy(s), "X-Original-To").concat())
            .collect();
        got.sort();
        for w in want {
            assert!(
                got.iter().any(|g| g.starts_with(w)),
                "{caller}: {w} not among {got:?}"
            );
        }
        for s in &stored {
            assert_eq!(body(&String::from_utf8_lossy(s)), "body\n", "{caller}");
        }
    }
}

/// PHP's own `mail()` (php-cli), with `sendmail_path` our link plus `-t -i` (PHP's
/// default arguments): PHP 8 writes its header with CRLF and the body with LF; Postfix
/// stores the message with the header PHP wrote and the body whole, lone dot included.
#[test]
fn php_mail_through_our_sendmail_reaches_postfix() {
    let servers = TestServers::get();
    let rcpt = format!("{}@example.com", unique("sm-php"));
    let link = sendmail_link();
    let path = format!(
        "{} -t -i {}",
        link.display(),
        to_postfix(&servers).join(" ")
    );
    let script = format!(
        r#"exit(mail("{rcpt}", "from php", "line one\n.\nline three\n", "From: php@example.org") ? 0 : 3);"#
    );
    let mut cmd = Command::new(php());
    isolate(&mut cmd);
    cmd.args(["-n", "-d"])
        .arg(format!("sendmail_path={path}"))
        .args(["-r", &script]);
    run(cmd).expect(0);
    let stored = servers.postfix_message(&rcpt);
    let stored = String::from_utf8_lossy(&stored).into_owned();
    assert_eq!(header(&stored, "Subject"), ["from php"], "{stored}");
    assert_eq!(header(&stored, "From"), ["php@example.org"], "{stored}");
    assert_eq!(header(&stored, "Return-Path"), ["<php@example.org>"]);
    assert_eq!(header(&stored, "Message-ID").len(), 1, "{stored}");
    assert_eq!(header(&stored, "Date").len(), 1, "{stored}");
    assert!(
        body(&stored).starts_with("line one\n.\nline three\n"),
        "{stored}"
    );
}

/// The real `git send-email` (git-email) with `--sendmail-cmd` our link: the patch
/// reaches Postfix from the sender git names (`-f`), with git's own Message-Id, the
/// diff whole.
#[test]
fn git_send_email_through_our_sendmail_reaches_postfix() {
    let servers = TestServers::get();
    let rcpt = format!("{}@example.com", unique("sm-git"));
    let link = sendmail_link();
    let repo = temp_file("f", b"hello from a patch\n").with_file_name("");
    let git = |args: &[&str]| {
        let mut cmd = Command::new(git_with_send_email());
        isolate(&mut cmd);
        cmd.current_dir(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Patch Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.org")
            .env("GIT_COMMITTER_NAME", "Patch Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.org")
            .args(args);
        run(cmd)
    };
    git(&["init", "-q"]).expect(0);
    git(&["add", "f"]).expect(0);
    git(&["commit", "-q", "-m", "a patch for the test"]).expect(0);
    git(&["format-patch", "-q", "-1", "-o", "out"]).expect(0);
    let patch = std::fs::read_dir(repo.join("out"))
        .unwrap()
        .next()
        .expect("a patch")
        .unwrap()
        .path();
    let sendmail_cmd = format!("{} {}", link.display(), to_postfix(&servers).join(" "));
    let out = git(&[
        "send-email",
        "--confirm=never",
        "--suppress-cc=all",
        "--from=Patch Author <author@example.org>",
        &format!("--to={rcpt}"),
        &format!("--sendmail-cmd={sendmail_cmd}"),
        patch.to_str().unwrap(),
    ])
    .expect(0);
    assert!(out.stdout.contains("Result: OK"), "{out}");
    let stored = servers.postfix_message(&rcpt);
    let stored = String::from_utf8_lossy(&stored).into_owned();
    assert_eq!(header(&stored, "Return-Path"), ["<author@example.org>"]);
    assert_eq!(
        header(&stored, "Subject"),
        ["[PATCH] a patch for the test"],
        "{stored}"
    );
    assert!(header(&stored, "X-Mailer")
        .concat()
        .starts_with("git-send-email"));
    assert!(body(&stored).contains("+hello from a patch\n"), "{stored}");
}

/// php-cli, which `scripts/test-servers` installs; the tests need it.
fn php() -> &'static Path {
    let php = Path::new("/usr/bin/php");
    assert!(
        php.exists(),
        "no {}: run scripts/test-servers start",
        php.display()
    );
    php
}

/// The `git` whose `send-email` the git-email package installs (Debian's, in
/// /usr/bin: a git built elsewhere looks for its commands in its own exec path).
fn git_with_send_email() -> &'static Path {
    let git = Path::new("/usr/bin/git");
    assert!(
        Path::new("/usr/lib/git-core/git-send-email").exists(),
        "no git send-email: run scripts/test-servers start"
    );
    git
}
