//! The spool end to end against smtp-sink: the built `smtp-send` with `--queue`, its
//! relay down (a closed loopback port) then back (the account file names the sink),
//! `--flush-queue` and `--list-queue`; what the sink got is checked by Message-ID.
//! (The same against Postfix, and the SIGKILL loop: tests/spool_interop.rs.)

mod common;

use common::spool::*;
use common::*;
use smtp_sink::{Action, Match, Sink};

fn ids(sink: &Sink) -> Vec<String> {
    let mut v: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m| m.accepted())
        .filter_map(|m| message_id(&m.content))
        .collect();
    v.sort();
    v
}

/// Relay down: spooled, exit 0, a note on standard error, listed; a flush before the
/// backoff sends nothing; relay back: `--flush-queue --ignore-backoff` delivers it
/// once, and a second flush has nothing left.
#[test]
fn relay_down_spools_exit_0_and_a_flush_delivers_once_when_it_is_back() {
    on_every_runtime(|runtime| {
        let spool = Spool::new();
        let mut cmd = spool.send(&["b@example.net"], &message("down-1@example.org"));
        cmd.args(["--runtime", runtime, "--json"]);
        let out = run(timed(cmd)).expect(0);
        assert!(out.stderr.contains("queued as "), "{out}");
        assert_eq!(
            out.json()["exit_code"],
            0,
            "the JSON says what the exit says"
        );
        let e = spool.entries();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0]["state"], "queued");
        assert_eq!(e[0]["envelope"]["to"][0], "b@example.net");
        assert!(e[0]["next_attempt"].as_u64() > e[0]["created"].as_u64());
        let listed = spool.list();
        assert!(listed.stdout.contains("<b@example.net>"), "{listed}");
        assert!(listed.stdout.contains("queued"), "{listed}");

        let sink = Sink::start().unwrap();
        spool.relay(&sink.addr().to_string());
        spool.flush(&["--runtime", runtime]).expect(0);
        assert!(ids(&sink).is_empty(), "not due yet: nothing sent");
        spool
            .flush(&["--ignore-backoff", "--runtime", runtime])
            .expect(0);
        assert_eq!(ids(&sink), ["down-1@example.org"]);
        assert!(spool.entries().is_empty());
        spool.flush(&["--ignore-backoff"]).expect(0);
        assert_eq!(ids(&sink).len(), 1, "sent once");
    });
}

/// One recipient taken, one deferred with 450: only the deferred one is spooled, and
/// the flush sends to it alone.
#[test]
fn a_partial_delivery_spools_only_the_deferred_recipients() {
    let sink = Sink::builder()
        .recipient(Match::LocalPrefix("busy".into()), Action::transient())
        .start()
        .unwrap();
    let spool = Spool::new();
    spool.relay(&sink.addr().to_string());
    let cmd = spool.send(
        &["ok@example.net", "busy@example.net"],
        &message("partial@example.org"),
    );
    let out = run(timed(cmd)).expect(0);
    assert!(out.stderr.contains("for 1 recipient(s)"), "{out}");
    let e = spool.entries();
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0]["envelope"]["to"],
        serde_json::json!(["busy@example.net"])
    );
    assert!(
        e[0]["last_error"].as_str().unwrap().contains("450"),
        "{e:?}"
    );

    let back = Sink::start().unwrap();
    spool.relay(&back.addr().to_string());
    spool.flush(&["--ignore-backoff"]).expect(0);
    let got = back.messages();
    assert_eq!(got.len(), 1);
    let to: Vec<&str> = got[0].accepted_recipients().map(|r| r.as_str()).collect();
    assert_eq!(to, ["busy@example.net"]);
    assert!(spool.entries().is_empty());
}

/// Cut after the end of data (the sink resets the connection before its reply): the
/// outcome is unknown, so the run exits 75 and the message is kept flagged unknown;
/// flushes never send it again, only `--resend-unknown` does.
#[test]
fn an_unknown_outcome_exits_75_is_kept_flagged_and_never_resent_unless_asked() {
    let cut = Sink::builder().reset_after_data_every(1).start().unwrap();
    let spool = Spool::new();
    spool.relay(&cut.addr().to_string());
    let out = run(timed(
        spool.send(&["b@example.net"], &message("unknown@example.org")),
    ))
    .expect(75);
    assert!(out.stderr.contains("flagged unknown"), "{out}");
    assert_eq!(
        spool.spooled(),
        [("unknown@example.org".into(), "unknown".into())]
    );
    assert!(spool.list().stdout.contains("unknown"));

    let back = Sink::start().unwrap();
    spool.relay(&back.addr().to_string());
    let out = spool.flush(&["--ignore-backoff"]).expect(0);
    assert!(out.stderr.contains("--resend-unknown"), "{out}");
    assert!(ids(&back).is_empty(), "an unknown outcome is never resent");
    spool.flush(&["--resend-unknown"]).expect(0);
    assert_eq!(ids(&back), ["unknown@example.org"]);
    assert!(spool.entries().is_empty());
}

/// A 5xx at a flush: a delivery report (RFC 3464) in DIR/bounces naming the refused
/// recipient, the message gone from the queue, exit 69; the other recipient got it.
#[test]
fn a_5xx_during_a_flush_writes_a_bounce_and_exits_69() {
    let spool = Spool::new();
    spool.spool(
        &["ok@example.net", "gone@example.net"],
        "bounce@example.org",
    );
    let sink = Sink::builder()
        .recipient(Match::LocalPrefix("gone".into()), Action::permanent())
        .start()
        .unwrap();
    spool.relay(&sink.addr().to_string());
    spool.flush(&["--ignore-backoff"]).expect(69);
    assert!(spool.entries().is_empty());
    let bounces = spool.files("bounces", "eml");
    assert_eq!(bounces.len(), 1);
    let blocks = delivery_status(&std::fs::read(&bounces[0]).unwrap());
    assert_eq!(
        blocks.len(),
        2,
        "per message, then one recipient: {blocks:?}"
    );
    let r = &blocks[1];
    assert_eq!(
        field(r, "Final-Recipient"),
        Some("rfc822; gone@example.net")
    );
    assert_eq!(field(r, "Action"), Some("failed"));
    assert!(field(r, "Status").unwrap().starts_with("5."), "{r:?}");
    assert!(
        field(r, "Diagnostic-Code").unwrap().starts_with("smtp; 55"),
        "{r:?}"
    );
    let to: Vec<String> = sink.messages()[0]
        .accepted_recipients()
        .map(|r| r.as_str().to_owned())
        .collect();
    assert_eq!(to, ["ok@example.net"]);
}

/// Past its lifetime a queued message bounces without another attempt: Status 4.4.7,
/// the last error in the diagnostic, exit 69.
#[test]
fn a_message_past_its_lifetime_bounces_with_4_4_7_and_exits_69() {
    let spool = Spool::new();
    spool.spool(&["b@example.net"], "old@example.org");
    let sink = Sink::start().unwrap();
    spool.relay(&sink.addr().to_string());
    spool.flush(&["--queue-lifetime", "1h"]).expect(0);
    assert_eq!(spool.entries().len(), 1, "within its lifetime: kept");
    spool.flush(&["--queue-lifetime", "0s"]).expect(69);
    assert!(sink.messages().is_empty(), "no attempt once expired");
    assert!(spool.entries().is_empty());
    let bounce = std::fs::read(&spool.files("bounces", "eml")[0]).unwrap();
    let blocks = delivery_status(&bounce);
    assert_eq!(field(&blocks[1], "Status"), Some("4.4.7"));
    assert!(
        field(&blocks[1], "Diagnostic-Code")
            .unwrap()
            .contains("Connection refused"),
        "{blocks:?}"
    );
}

/// Two flushes at once over many messages (the sink slow to reply, so that they
/// overlap): every message arrives exactly once.
#[test]
fn two_flushes_at_once_send_each_message_once() {
    let spool = Spool::new();
    let n = 12;
    for i in 0..n {
        let cmd = spool.send(
            &["b@example.net"],
            &message(&format!("twice-{i}@example.org")),
        );
        run(timed(cmd)).expect(0);
    }
    let sink = Sink::builder()
        .reply_delay(std::time::Duration::from_millis(5))
        .start()
        .unwrap();
    spool.relay(&sink.addr().to_string());
    spool.flush_twice_at_once();
    let got = ids(&sink);
    let mut want: Vec<String> = (0..n).map(|i| format!("twice-{i}@example.org")).collect();
    want.sort();
    assert_eq!(got, want, "each once");
    assert!(spool.entries().is_empty());
}

/// A file in the spool that is not a valid entry (cut, or hostile) is named, left
/// alone, and makes the flush exit 75; the good one beside it is delivered.
#[test]
fn a_corrupt_spool_file_is_reported_not_sent_and_not_a_panic() {
    let spool = Spool::new();
    spool.spool(&["b@example.net"], "good@example.org");
    let bad = spool.dir.join("0.msg");
    std::fs::write(&bad, b"{\"version\":1,\"size\":99999}\nRCPT TO:<x@y>\r\n").unwrap();
    let sink = Sink::start().unwrap();
    spool.relay(&sink.addr().to_string());
    let out = spool.flush(&["--ignore-backoff"]).expect(75);
    assert!(out.stderr.contains("0.msg"), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    assert_eq!(ids(&sink), ["good@example.org"]);
    assert!(bad.exists(), "left for a human");
    assert!(spool.list().stdout.contains("unreadable"));
}

/// Sendmail mode with the account's `queue = true`: the relay down, the message is
/// spooled (exit 0) into this user's default spool, `$XDG_STATE_HOME/smtp-send/queue`,
/// created 0700; `--flush-queue` with the same account file finds it there and
/// delivers it, Bcc removed, to every recipient `-t` read.
#[test]
fn sendmail_mode_with_queue_true_spools_into_the_private_default_spool() {
    use std::os::unix::fs::PermissionsExt;
    let spool = Spool::new();
    spool.account(&closed_port(), "queue = true\n");
    let home = spool.config.with_file_name("");
    let state = home.join("state");
    let sendmail = |args: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("smtp-send"));
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("XDG_STATE_HOME", &state)
            .arg("--config")
            .arg(&spool.config)
            .args(args);
        timed(cmd)
    };
    let mut cmd = sendmail(&["--sendmail", "-t", "-i", "-f", "me@example.org"]);
    cmd.write_stdin("To: a@example.net\nBcc: b@example.net\nMessage-ID: <sm@example.org>\n\nhi\n");
    let out = run(cmd).expect(0);
    let dir = state.join("smtp-send").join("queue");
    assert!(out.stderr.contains(&dir.display().to_string()), "{out}");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "msg"))
            .count(),
        1
    );

    let sink = Sink::start().unwrap();
    spool.relay(&sink.addr().to_string());
    std::fs::write(
        &spool.config,
        format!(
            "{}queue = true\n",
            std::fs::read_to_string(&spool.config).unwrap()
        ),
    )
    .unwrap();
    run(sendmail(&["--flush-queue", "--ignore-backoff"])).expect(0);
    let got = sink.messages();
    assert_eq!(got.len(), 1);
    let to: Vec<&str> = got[0].accepted_recipients().map(|r| r.as_str()).collect();
    assert_eq!(to, ["a@example.net", "b@example.net"]);
    assert_eq!(got[0].from.as_str(), "me@example.org");
    assert!(!String::from_utf8_lossy(&got[0].content).contains("Bcc"));
    assert_eq!(
        message_id(&got[0].content).as_deref(),
        Some("sm@example.org")
    );
}

/// The DSN parameters (RFC 3461: NOTIFY, RET, ENVID) are spooled with the message and
/// sent again with it.
#[test]
fn dsn_parameters_are_spooled_and_sent_again() {
    let spool = Spool::new();
    let mut cmd = spool.send(&["b@example.net"], &message("dsn@example.org"));
    cmd.args([
        "--notify",
        "failure,delay",
        "--ret",
        "hdrs",
        "--envid",
        "env-7",
    ]);
    run(timed(cmd)).expect(0);
    let sink = Sink::start().unwrap();
    spool.relay(&sink.addr().to_string());
    spool.flush(&["--ignore-backoff"]).expect(0);
    let m = &sink.messages()[0];
    let param = |params, name| {
        smtp_sink::param(params, name)
            .and_then(|p| p.value.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(param(&m.mail_params, "RET"), "HDRS");
    assert_eq!(param(&m.mail_params, "ENVID"), "env-7");
    assert_eq!(param(&m.recipients[0].params, "NOTIFY"), "FAILURE,DELAY");
}

/// The mark comes before the transaction: while the server withholds its reply to
/// MAIL, the entry is already in flight on disk, `--list-queue` says so, and a second
/// flush leaves it alone. The flush killed there (SIGKILL), the message is "unknown":
/// listed so, and a later flush to a working relay does not send it.
#[test]
fn a_message_is_in_flight_before_its_transaction_and_unknown_after_a_crash() {
    let spool = Spool::new();
    spool.spool(&["b@example.net"], "crash@example.org");
    let stalled = Sink::builder()
        .stall(smtp_sink::Cue::Mail, 1)
        .start()
        .unwrap();
    spool.relay(&stalled.addr().to_string());
    let mut flush = spool
        .command(&["--flush-queue", "--ignore-backoff"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while spool.entries()[0]["state"] != "in-flight" {
        assert!(
            std::time::Instant::now() < deadline,
            "never marked in flight"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(spool.list().stdout.contains("in-flight"));
    spool.flush(&["--ignore-backoff"]).expect(0);
    assert_eq!(
        stalled.connections().len(),
        1,
        "the second flush kept off it"
    );
    flush.kill().unwrap();
    flush.wait().unwrap();

    let listed = spool.list();
    assert!(listed.stdout.contains("unknown"), "{listed}");
    let back = Sink::start().unwrap();
    spool.relay(&back.addr().to_string());
    spool.flush(&["--ignore-backoff"]).expect(0);
    assert!(ids(&back).is_empty(), "never resent after a crash");
    assert_eq!(
        spool.spooled(),
        [("crash@example.org".into(), "in-flight".into())]
    );
}

/// The wire, as transcripts: the first attempt, where one recipient gets a 450, and
/// the flush, which sends the message again to that recipient only, with the options
/// it was spooled with (`--ehlo`); each script runs whole, byte for byte.
#[test]
fn transcripts_first_attempt_450_for_one_recipient_then_the_flush_sends_to_it_alone() {
    use smtp_testkit::server::ScriptedServer;
    use smtp_testkit::transcript::Transcript;
    const HELLO: &str = r"S: 220 mx.example ESMTP\r\n
C: EHLO client.example\r\n
S: 250-mx.example\r\n250 PIPELINING\r\n
C: MAIL FROM:<a@example.org>\r\n
";
    const DATA: &str = r"C: Message-ID: <wire@example.org>\r\nSubject: spool wire@example.org\r\n\r\nbody of wire@example.org\r\n.\r\n
S: 250 2.0.0 queued\r\n
C: QUIT\r\n
S: 221 bye\r\n
EOF
";
    let first = format!(
        r"{HELLO}C: RCPT TO:<ok@example.net>\r\n
C: RCPT TO:<busy@example.net>\r\n
C: DATA\r\n
S: 250 ok\r\n250 ok\r\n450 4.2.1 busy\r\n354 go\r\n
{DATA}"
    );
    let again = format!(
        r"{HELLO}C: RCPT TO:<busy@example.net>\r\n
C: DATA\r\n
S: 250 ok\r\n250 ok\r\n354 go\r\n
{DATA}"
    );
    let spool = Spool::new();
    let server = ScriptedServer::start(&Transcript::parse("first", &first));
    spool.relay(&server.addr().to_string());
    let mut cmd = spool.send(
        &["ok@example.net", "busy@example.net"],
        &message("wire@example.org"),
    );
    cmd.args(["--ehlo", "client.example"]);
    let out = run(timed(cmd)).expect(0);
    server
        .finish()
        .unwrap_or_else(|e| panic!("first attempt: {e}\n{out}"));

    let server = ScriptedServer::start(&Transcript::parse("again", &again));
    spool.relay(&server.addr().to_string());
    let out = spool.flush(&["--ignore-backoff"]).expect(0);
    server
        .finish()
        .unwrap_or_else(|e| panic!("flush: {e}\n{out}"));
    assert!(spool.entries().is_empty());
}

/// LMTP (RFC 2033 §4.2): after the data, one recipient's final reply is 250, the
/// other's 452: only the second is spooled, and the run exits 0.
#[test]
fn lmtp_a_452_after_the_data_spools_only_that_recipient() {
    use smtp_testkit::server::ScriptedServer;
    use smtp_testkit::transcript::Transcript;
    let script = r"
S: 220 lmtp.example LMTP\r\n
C: LHLO client.example\r\n
S: 250-lmtp.example\r\n250 PIPELINING\r\n
C: MAIL FROM:<a@example.org>\r\n
C: RCPT TO:<ok@example.net>\r\n
C: RCPT TO:<full@example.net>\r\n
C: DATA\r\n
S: 250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n
C: Message-ID: <lmtp@example.org>\r\nSubject: spool lmtp@example.org\r\n\r\nbody of lmtp@example.org\r\n.\r\n
S: 250 2.0.0 delivered\r\n452 4.2.2 mailbox full\r\n
C: QUIT\r\n
S: 221 bye\r\n
EOF
";
    let spool = Spool::new();
    let server = ScriptedServer::start(&Transcript::parse("lmtp", script));
    spool.relay(&server.addr().to_string());
    let mut cmd = spool.send(
        &["ok@example.net", "full@example.net"],
        &message("lmtp@example.org"),
    );
    cmd.args(["--lmtp", "--ehlo", "client.example"]);
    let out = run(timed(cmd)).expect(0);
    server.finish().unwrap_or_else(|e| panic!("{e}\n{out}"));
    let e = spool.entries();
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0]["envelope"]["to"],
        serde_json::json!(["full@example.net"])
    );
    assert_eq!(e[0]["settings"]["lmtp"], true);
    assert!(
        e[0]["last_error"].as_str().unwrap().contains("452"),
        "{e:?}"
    );
}

/// A spooled message went to a relay: once the account says `mx = true` (and still
/// names the relay), `--flush-queue` sends it to that relay, not to MX hosts nor
/// failing for want of a `--server`.
#[test]
fn a_spooled_message_goes_to_the_accounts_relay_after_it_says_mx() {
    let spool = Spool::new();
    spool.spool(&["b@example.net"], "mx-later@example.org");
    let sink = Sink::start().unwrap();
    spool.account(&sink.addr().to_string(), "mx = true\n");
    spool.flush(&["--ignore-backoff"]).expect(0);
    assert_eq!(ids(&sink), ["mx-later@example.org"]);
    assert!(spool.entries().is_empty());
}
