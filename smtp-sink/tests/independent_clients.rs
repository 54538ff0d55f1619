//! Clients that are not ours against the sink: Python's smtplib and swaks, run as
//! subprocesses. Neither is skipped: python3 must be on PATH, and swaks is installed with
//! apt-get when missing (CI runs as root on Debian); if that fails, the test fails.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{only_message, recipients, verbs};
use smtp_sink::{param, Action, Match, Sink, Transfer};

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// smtplib: STARTTLS verified against the sink's certificate, AUTH (smtplib picks PLAIN
/// from "PLAIN LOGIN"), one message to two recipients, one of them refused.
const SMTPLIB: &str = r#"
import smtplib, ssl, sys
port, der = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
ctx = ssl.create_default_context(cadata=der)
msg = sys.stdin.buffer.read()
with smtplib.SMTP("127.0.0.1", port, local_hostname="py.test") as s:
    s.starttls(context=ctx)
    s.login("alice", "secret")
    refused = s.sendmail("py@x.test", ["a@x.test", "gone@x.test"], msg)
    print(sorted((k, v[0]) for k, v in refused.items()))
"#;

#[test]
fn python_smtplib_starttls_auth_and_dot_stuffed_data() {
    let sink = Sink::builder()
        .user("alice", "secret")
        .recipient(Match::LocalPrefix("gone".into()), Action::permanent())
        .start()
        .unwrap();
    let msg = common::dotted_message("smtplib");
    let out = run(
        Command::new("python3")
            .args(["-c", SMTPLIB])
            .arg(sink.port().to_string())
            .arg(hex(&sink.trust_anchor())),
        &msg,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[('gone@x.test', 550)]",
        "smtplib saw the refusal"
    );
    let m = only_message(&sink);
    assert_eq!(m.content, msg, "smtplib's dot-stuffing undone exactly");
    assert_eq!(m.transfer, Transfer::Data);
    assert_eq!(recipients(&m), ["a@x.test", "gone@x.test"]);
    assert_eq!(
        param(&m.mail_params, "SIZE").and_then(|p| p.value.clone()),
        Some(msg.len().to_string())
    );
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("alice"));
    let c = &sink.connections()[0];
    assert_eq!(c.auth.as_ref().unwrap().mechanism, "PLAIN");
    assert_eq!(c.hello.as_deref(), Some("py.test"));
}

/// The swaks binary, installed with apt-get if missing (once per test process).
fn swaks() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let found = Command::new("swaks").arg("--version").output();
        if found.is_ok_and(|o| o.status.success()) {
            return;
        }
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        let install = ["install", "-y", "-q", "swaks", "libnet-ssleay-perl"];
        // A fresh machine may have no package lists yet.
        let installed = apt(&install) || (apt(&["update", "-qq"]) && apt(&install));
        assert!(
            installed,
            "swaks is not installed and `apt-get install -y swaks` failed (run as root on Debian)"
        );
    });
    "swaks"
}

/// Without a final line end: swaks adds CRLF before the end-of-data line.
const SWAKS_DATA: &str =
    "From: <swaks@x.test>\nTo: <a@x.test>\nSubject: swaks\n\nHello.\n.leading dot\n..two dots\nend";

fn swaks_data_file(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("smtp-sink-{name}-{}.eml", std::process::id()));
    std::fs::write(&path, SWAKS_DATA).unwrap();
    path
}

#[test]
fn swaks_starttls_auth_login_pipelined() {
    let sink = Sink::builder().user("alice", "secret").start().unwrap();
    let data = swaks_data_file("esmtp");
    let port = sink.port().to_string();
    run(
        Command::new(swaks())
            .args([
                "--server",
                "127.0.0.1",
                "--port",
                &port,
                "--helo",
                "swaks.test",
                "--from",
                "swaks@x.test",
                "--to",
                "a@x.test,b@x.test",
                "--tls",
                "--auth",
                "LOGIN",
                "--auth-user",
                "alice",
                "--auth-password",
                "secret",
                "--pipeline",
                "--data",
            ])
            .arg(format!("@{}", data.display())),
        b"",
    );
    let _ = std::fs::remove_file(data);
    assert!(sink.wait_for_idle(std::time::Duration::from_secs(10)));
    let m = only_message(&sink);
    // swaks sends CRLF lines and stuffs the leading dots; the sink undoes the stuffing.
    let sent = format!("{SWAKS_DATA}\n").replace('\n', "\r\n");
    assert_eq!(m.content, sent.as_bytes());
    assert_eq!(recipients(&m), ["a@x.test", "b@x.test"]);
    assert!(m.tls && m.auth_user.as_deref() == Some("alice"));
    let c = &sink.connections()[0];
    assert_eq!(c.auth.as_ref().unwrap().mechanism, "LOGIN");
    let v = verbs(c);
    assert_eq!(&v[..2], ["EHLO", "STARTTLS"]);
    // --pipeline: MAIL, both RCPTs and DATA in one flight, so fewer flights than
    // commands plus the content.
    assert!(c.client_flights < v.len() as u64, "{c:#?}");
}

#[test]
fn swaks_lmtp_sees_per_recipient_replies() {
    let sink = Sink::builder()
        .lmtp()
        .rule(smtp_sink::Rule::delivery(
            Match::LocalPrefix("full".into()),
            Action::reply(452, "4.2.2 Mailbox full"),
        ))
        .start()
        .unwrap();
    let data = swaks_data_file("lmtp");
    let port = sink.port().to_string();
    let out = Command::new(swaks())
        .args([
            "--server",
            "127.0.0.1",
            "--port",
            &port,
            "--protocol",
            "LMTP",
            "--from",
            "swaks@x.test",
            "--to",
            "ok@x.test,full@x.test",
            "--data",
        ])
        .arg(format!("@{}", data.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(data);
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(
        transcript.contains("<-  250 2.1.5 <ok@x.test> delivered"),
        "{transcript}"
    );
    assert!(
        transcript.contains("452 4.2.2 Mailbox full"),
        "{transcript}"
    );
    let m = only_message(&sink);
    assert_eq!(common::codes(&m.replies), [250, 452]);
    assert_eq!(verbs(&sink.connections()[0])[0], "LHLO");
}
