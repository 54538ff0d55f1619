//! Running the built `smtp-send` and reading what it printed.
#![allow(dead_code)]

pub(crate) mod spool;

use std::net::SocketAddr;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use smtp_testkit::server::{ScriptedServer, Step};
use smtp_testkit::transcript::Transcript;

/// The runtimes, so that every test can run on each in turn.
pub(crate) const RUNTIMES: [&str; 3] = ["blocking", "tokio", "smol"];

/// Runs `test` once per runtime (`--runtime` value); every runtime runs even after one
/// failed, and the test fails naming each runtime it failed on.
pub(crate) fn on_every_runtime(test: impl Fn(&'static str)) {
    let failed: Vec<&str> = RUNTIMES
        .into_iter()
        .filter(|runtime| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(runtime))).is_err()
        })
        .collect();
    assert!(failed.is_empty(), "failed on --runtime {failed:?}");
}

/// `smtp-send --runtime R --server ADDR --from a@example.org` plus `args`.
pub(crate) fn send(runtime: &str, addr: SocketAddr, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("smtp-send").expect("the smtp-send binary");
    cmd.args(["--runtime", runtime, "--server", &addr.to_string()])
        .args(["--from", "a@example.org"])
        .args(args)
        .env_remove("SMTP_SEND_TEST_PW")
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

/// The exit status, stdout and stderr of a run, as text.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub(crate) fn of(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{self}"))
    }

    pub(crate) fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit status\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub(crate) fn run(mut cmd: impl std::borrow::BorrowMut<Command>) -> Run {
    Run::of(cmd.borrow_mut().output().expect("run smtp-send"))
}

/// Runs `smtp-send --runtime R --starttls never --ehlo client.example` (plus what
/// `args` adds) against a server replaying `script` (`S:`/`C:` lines), which must run to
/// its end: every byte the client writes is checked.
pub(crate) fn against_script(runtime: &str, script: &str, args: impl FnOnce(&mut Command)) -> Run {
    let server = ScriptedServer::start(&Transcript::parse("smtp-send", script));
    let mut cmd = send(runtime, server.addr(), &["--starttls", "never"]);
    cmd.args(["--ehlo", "client.example"]);
    args(&mut cmd);
    let out = run(cmd);
    if let Err(e) = server.finish() {
        panic!("the script did not run to its end: {e}\n{out}");
    }
    out
}

pub(crate) fn line(s: &str) -> Step {
    Step::Send(s.as_bytes().to_vec())
}

/// The client's next lines, exactly (each with its CRLF).
pub(crate) fn expect(lines: &[&str]) -> Vec<Step> {
    lines.iter().map(|l| Step::expect(l)).collect()
}

/// Greeting, EHLO (whatever host name) and its reply offering `caps` (e.g.
/// `["PIPELINING", "CHUNKING"]`).
pub(crate) fn session_start(caps: &[&str]) -> Vec<Step> {
    hello_start("EHLO ", caps)
}

/// [`session_start`] with another greeting command (`"LHLO "`).
pub(crate) fn hello_start(hello: &str, caps: &[&str]) -> Vec<Step> {
    let mut ehlo = String::new();
    if caps.is_empty() {
        ehlo.push_str("250 mx.example\r\n");
    } else {
        ehlo.push_str("250-mx.example\r\n");
        for (i, c) in caps.iter().enumerate() {
            let sep = if i + 1 == caps.len() { ' ' } else { '-' };
            ehlo.push_str(&format!("250{sep}{c}\r\n"));
        }
    }
    vec![
        line("220 mx.example ESMTP\r\n"),
        Step::expect_prefix(hello),
        Step::Send(ehlo.into_bytes()),
    ]
}

/// A file with these bytes in a fresh directory of the system's temporary directory.
pub(crate) fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "smtp-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp file");
    path
}

/// A PEM file holding `sink`'s certificate, for `--ca-file`.
pub(crate) fn sink_ca(sink: &smtp_sink::Sink) -> std::path::PathBuf {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(sink.trust_anchor());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    );
    temp_file("sink.pem", pem.as_bytes())
}

/// A three-line message.
pub(crate) const MESSAGE: &[u8] = b"Subject: t\r\n\r\nhi\r\n";

/// Expects one transaction pipelined with inline `BDAT ... LAST` ([`MESSAGE`] from
/// a@example.org to `rcpts`: MAIL, RCPT each, BDAT and the message's three lines), then
/// sends `replies`.
pub(crate) fn bdat_transaction(rcpts: &[&str], replies: &str) -> Vec<Step> {
    let mut steps = vec![Step::expect("MAIL FROM:<a@example.org>\r\n")];
    for r in rcpts {
        steps.push(Step::expect(&format!("RCPT TO:<{r}>\r\n")));
    }
    steps.push(Step::expect(&format!("BDAT {} LAST\r\n", MESSAGE.len())));
    steps.extend(message_lines());
    steps.push(line(replies));
    steps
}

/// [`MESSAGE`]'s lines, as the client sends them.
pub(crate) fn message_lines() -> Vec<Step> {
    expect(&["Subject: t\r\n", "\r\n", "hi\r\n"])
}

/// QUIT, its reply, then the connection is held until the client closes it.
pub(crate) fn quit() -> Vec<Step> {
    vec![Step::expect("QUIT\r\n"), line("221 bye\r\n"), Step::Hold]
}

/// cronie's command line.
pub(crate) const CRONIE: &[&str] = &[
    "-FCronDaemon",
    "-i",
    "-odi",
    "-oem",
    "-oi",
    "-t",
    "-f",
    "root",
];

/// What the callers of [`CALLERS`] pipe in (with `-t`, its `To:` is the recipient).
pub(crate) const CALLER_MESSAGE: &str =
    "From: app@example.org\nTo: to@example.net\nSubject: s\n\nbody\n";

/// The command lines real callers pass a sendmail (issue 18's table), each with the
/// recipients it must reach: a bare name is qualified with this host (`root@`), `-t`
/// takes the `To:` of [`CALLER_MESSAGE`].
#[allow(clippy::type_complexity)]
pub(crate) const CALLERS: [(&str, &[&str], &[&str]); 10] = [
    (
        "Debian cron",
        &["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"],
        &["root@"],
    ),
    ("cronie", CRONIE, &["to@example.net"]),
    (
        "systemd-cron",
        &["-i", "-B", "8BITMIME", "user"],
        &["user@"],
    ),
    ("anacron", &["-FAnacron", "-odi", "root"], &["root@"]),
    ("busybox", &["-ti"], &["to@example.net"]),
    ("mdadm", &["-t", "-fraid@host.example"], &["to@example.net"]),
    (
        "mailx",
        &["-i", "--", "rcpt@example.net"],
        &["rcpt@example.net"],
    ),
    (
        "git send-email",
        &[
            "-f",
            "sender@example.org",
            "-i",
            "r1@example.net",
            "r2@example.net",
        ],
        &["r1@example.net", "r2@example.net"],
    ),
    ("PHP mail()", &["-t", "-i"], &["to@example.net"]),
    (
        "mutt",
        &["-oem", "-oi", "-B8BITMIME", "--", "m@example.net"],
        &["m@example.net"],
    ),
];
