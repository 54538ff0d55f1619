//! Sendmail mode end to end: the built `smtp-send`, invoked with `--sendmail` or
//! through a link named `sendmail`, fed a message on standard input as cron, PHP,
//! git send-email, mutt and mdadm feed it, against smtp-sink; what the sink stored
//! (envelope, DSN parameters, content) is checked.

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::*;
use smtp_sink::{MessageRecord, Sink};

/// An empty directory for `XDG_CONFIG_HOME` and `HOME`: no account file is found.
fn no_config() -> PathBuf {
    temp_file("none", b"").with_file_name("")
}

/// `smtp-send --sendmail --server SINK --starttls never` plus `args`.
fn sendmail(sink: &Sink, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("smtp-send").expect("the smtp-send binary");
    isolate(&mut cmd);
    cmd.args(["--sendmail", "--starttls", "never", "--server"])
        .arg(format!("127.0.0.1:{}", sink.port()))
        .args(args);
    cmd
}

fn isolate(cmd: &mut Command) {
    let home = no_config();
    cmd.env("XDG_CONFIG_HOME", &home)
        .env("HOME", &home)
        .env("USER", "tester")
        .timeout(std::time::Duration::from_secs(60));
}

fn only_message(sink: &Sink) -> MessageRecord {
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    messages.into_iter().next().unwrap()
}

fn recipients(m: &MessageRecord) -> Vec<String> {
    m.recipients
        .iter()
        .map(|r| r.to.as_str().to_owned())
        .collect()
}

fn text(m: &MessageRecord) -> String {
    String::from_utf8_lossy(&m.content).into_owned()
}

/// The test: `-t -i -f me@z` delivers to To and Bcc, without the Bcc field,
/// the body whole (the lone dot is content, dot-stuffed on the wire).
#[test]
fn t_i_f_delivers_to_to_and_bcc_without_the_bcc_field_and_the_body_whole() {
    let sink = Sink::start().unwrap();
    let mut cmd = sendmail(&sink, &["-t", "-i", "-f", "me@z.example"]);
    cmd.write_stdin("To: a@x.example\nBcc: b@y.example\n\nhi\n.\nmore\n");
    run(cmd).expect(0);
    let m = only_message(&sink);
    assert_eq!(m.from.as_str(), "me@z.example");
    assert_eq!(recipients(&m), ["a@x.example", "b@y.example"]);
    let c = text(&m);
    assert!(!c.to_ascii_lowercase().contains("bcc"), "{c}");
    assert!(c.ends_with("\r\n\r\nhi\r\n.\r\nmore\r\n"), "{c}");
    assert!(c.contains("To: a@x.example\r\n"), "{c}");
}

/// Without `-i`, a line of a single dot ends the message, as sendmail reads it.
#[test]
fn without_i_a_lone_dot_ends_the_input() {
    let sink = Sink::start().unwrap();
    let mut cmd = sendmail(&sink, &["-t", "-f", "me@z.example"]);
    cmd.write_stdin("To: a@x.example\nBcc: b@y.example\n\nhi\n.\nmore\n");
    run(cmd).expect(0);
    let c = text(&only_message(&sink));
    assert!(c.ends_with("\r\n\r\nhi\r\n"), "{c}");
    assert!(!c.contains("more"), "{c}");
}

/// Every command line of the table is accepted and delivers: the recipients
/// of the command line (a bare `root` qualified with this host), or of the header
/// with `-t`; no warning for any of them.
#[test]
fn every_invocation_of_the_callers_table_delivers() {
    for (caller, args, want) in CALLERS {
        let sink = Sink::start().unwrap();
        let mut cmd = sendmail(&sink, args);
        cmd.write_stdin(CALLER_MESSAGE);
        let out = run(cmd);
        assert_eq!(out.code, 0, "{caller}: {out}");
        assert!(!out.stderr.contains("warning"), "{caller}: {out}");
        let m = only_message(&sink);
        let got = recipients(&m);
        assert_eq!(got.len(), want.len(), "{caller}: {got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!(g.starts_with(w), "{caller}: {g} is not {w}");
        }
        assert!(text(&m).ends_with("\r\n\r\nbody\r\n"), "{caller}");
    }
}

/// cronie's own message: `To: root` and `From: root (Cron Daemon)` with `-t -f root`:
/// the bare names are qualified in the envelope and the header.
#[test]
fn cron_bare_names_are_qualified_in_envelope_and_header() {
    let sink = Sink::start().unwrap();
    let mut cmd = sendmail(&sink, CRONIE);
    cmd.write_stdin("From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@h> true\n\nout\n");
    run(cmd).expect(0);
    let m = only_message(&sink);
    assert!(m.from.as_str().starts_with("root@"), "{:?}", m.from);
    let to = recipients(&m);
    assert_eq!(to.len(), 1);
    assert!(to[0].starts_with("root@"), "{to:?}");
    let c = text(&m);
    assert!(c.contains(&format!("To: {}\r\n", to[0])), "{c}");
}

/// mutt's `-N` and `-R`, and `-V`, are the envelope's DSN parameters.
#[test]
fn n_r_v_are_the_dsn_parameters() {
    let sink = Sink::start().unwrap();
    let args = [
        "-oi",
        "-N",
        "failure,delay",
        "-R",
        "hdrs",
        "-Venv42",
        "a@example.net",
    ];
    let mut cmd = sendmail(&sink, &args);
    cmd.write_stdin("Subject: s\n\nx\n");
    run(cmd).expect(0);
    let m = only_message(&sink);
    let ret = smtp_sink::param(&m.mail_params, "RET").expect("RET");
    assert_eq!(ret.value.as_deref(), Some("HDRS"));
    let envid = smtp_sink::param(&m.mail_params, "ENVID").expect("ENVID");
    assert_eq!(envid.value.as_deref(), Some("env42"));
    let notify = smtp_sink::param(&m.recipients[0].params, "NOTIFY").expect("NOTIFY");
    assert_eq!(notify.value.as_deref(), Some("FAILURE,DELAY"));
}

/// `From:` (with `-F`'s name), `Date:` and `Message-ID:` are added when missing and
/// only then; PHP's CRLF header with an LF body goes out with CRLF throughout.
#[test]
fn missing_fields_are_added_given_ones_kept_and_line_ends_normalised() {
    let sink = Sink::start().unwrap();
    let mut cmd = sendmail(
        &sink,
        &["-t", "-i", "-F", "Cron Daemon", "-f", "me@z.example"],
    );
    cmd.write_stdin("To: a@x.example\r\nSubject: php\r\n\r\nline 1\nline 2\n");
    run(cmd).expect(0);
    let c = text(&only_message(&sink));
    assert!(
        c.contains("From: \"Cron Daemon\" <me@z.example>\r\n"),
        "{c}"
    );
    assert!(c.contains("\r\nDate: ") || c.starts_with("Date: "), "{c}");
    assert_eq!(c.matches("Message-ID: ").count(), 1, "{c}");
    assert!(c.ends_with("\r\n\r\nline 1\r\nline 2\r\n"), "{c}");
    assert!(!c.replace("\r\n", "").contains('\n'), "bare LF left: {c:?}");

    let sink = Sink::start().unwrap();
    let given = "From: x@y.example\nDate: Thu, 01 Jan 2026 00:00:00 +0000\n\
                 Message-ID: <given@y.example>\nTo: a@x.example\n\nb\n";
    let mut cmd = sendmail(&sink, &["-t", "-i"]);
    cmd.write_stdin(given);
    run(cmd).expect(0);
    let m = only_message(&sink);
    assert_eq!(text(&m), given.replace('\n', "\r\n"));
    assert_eq!(m.from.as_str(), "x@y.example", "the sender from From:");
}

/// An unknown option is a warning on standard error, and the message still goes.
#[test]
fn an_unknown_option_is_a_warning_not_a_lost_message() {
    let sink = Sink::start().unwrap();
    let mut cmd = sendmail(&sink, &["-Q", "--frobnicate", "-i", "a@example.net"]);
    cmd.write_stdin("Subject: s\n\nx\n");
    let out = run(cmd).expect(0);
    assert!(
        out.stderr.contains("warning: ignoring unknown option -Q"),
        "{out}"
    );
    assert!(out.stderr.contains("--frobnicate"), "{out}");
    assert_eq!(recipients(&only_message(&sink)), ["a@example.net"]);
}

/// Invoked through a link named `sendmail`, without `--sendmail`: sendmail's options.
#[test]
fn a_link_named_sendmail_is_sendmail_mode() {
    let sink = Sink::start().unwrap();
    let link = temp_file("placeholder", b"").with_file_name("sendmail");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("smtp-send"), &link).unwrap();
    let mut cmd = Command::new(&link);
    isolate(&mut cmd);
    cmd.args(["--starttls", "never", "--server"])
        .arg(format!("127.0.0.1:{}", sink.port()))
        .args(["-ti", "-fme@z.example"])
        .write_stdin("To: a@x.example, c@x.example\n\nhi\n");
    run(cmd).expect(0);
    let m = only_message(&sink);
    assert_eq!(recipients(&m), ["a@x.example", "c@x.example"]);
    assert_eq!(m.from.as_str(), "me@z.example");
}

/// Usage errors are 64 (sendmail's EX_USAGE): no recipient anywhere, a value missing,
/// a message option (`--subject`) where the message is standard input. Nothing is sent.
#[test]
fn no_recipient_a_missing_value_or_a_message_option_is_64() {
    let sink = Sink::start().unwrap();
    let other_message = ["-i", "a@example.net", "--subject", "s"];
    for args in [&["-i"][..], &["-i", "-f"], &other_message] {
        let mut cmd = sendmail(&sink, args);
        cmd.write_stdin("Subject: s\n\nx\n");
        run(cmd).expect(64);
    }
    assert!(sink.messages().is_empty());
}

/// A mode other than delivering (`-bm`), listing (`-bp`) or running (`-q`) the spool
/// is refused with 64 and a message naming it, as msmtp refuses it: standard input,
/// a message with a recipient, is never taken for mail. So are `-q`'s selections, two
/// modes at once, and a recipient beside `-bp` or `-q` (it would be dropped).
#[test]
fn other_b_modes_q_selections_and_recipients_beside_bp_or_q_are_64() {
    let sink = Sink::start().unwrap();
    for mode in ["-bs", "-bd", "-bt", "-bv", "-bi", "-bD"] {
        let mut cmd = sendmail(&sink, &[mode, "-t", "a@example.net"]);
        cmd.write_stdin("To: b@example.net\nSubject: s\n\nx\n");
        let out = run(cmd).expect(64);
        assert!(
            out.stderr.contains(&format!("{mode}: unsupported mode")),
            "{out}"
        );
    }
    for args in [
        &["-qRexample.net"][..],
        &["-q30x"],
        &["-bp", "-q"],
        &["-q", "a@example.net"],
        &["-bp", "a@example.net"],
    ] {
        let mut cmd = sendmail(&sink, args);
        cmd.write_stdin("To: b@example.net\nSubject: s\n\nx\n");
        let out = run(cmd).expect(64);
        assert!(out.stderr.contains("error: "), "{args:?}: {out}");
    }
    assert!(sink.messages().is_empty());
}

/// The spool's Message-IDs the sink took.
fn sink_ids(sink: &Sink) -> Vec<String> {
    let mut v: Vec<String> = sink
        .messages()
        .iter()
        .filter_map(|m| common::spool::message_id(&m.content))
        .collect();
    v.sort();
    v
}

/// `sendmail -bp`, and a link named `mailq`, list the spool as `--list-queue` does;
/// standard input is not read for a message.
#[test]
fn bp_and_a_link_named_mailq_list_the_spool() {
    let spool = common::spool::Spool::new();
    spool.spool(&["b@example.net"], "listed@example.org");
    let listed = |out: &Run| {
        assert!(out.stdout.contains("<b@example.net>"), "{out}");
        assert!(out.stdout.contains("queued"), "{out}");
    };
    let mut cmd = common::spool::timed(spool.command(&["--sendmail", "-bp"]));
    cmd.write_stdin("To: c@example.net\n\nnot a message to send\n");
    listed(&run(cmd).expect(0));

    let link = temp_file("placeholder", b"").with_file_name("mailq");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("smtp-send"), &link).unwrap();
    let mut cmd = spool.command(&[]);
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<_> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    cmd = std::process::Command::new(&link);
    cmd.args(args).envs(envs);
    listed(&run(common::spool::timed(cmd)).expect(0));
    assert_eq!(spool.entries().len(), 1, "nothing spooled or sent");
}

/// `sendmail -q` runs the spool once, as `--flush-queue` (backoff honoured,
/// `--ignore-backoff` accepted beside it); `-q30m`, an interval for a daemon, runs it
/// once too. On every runtime.
#[test]
fn q_and_q_with_an_interval_run_the_spool_once() {
    on_every_runtime(|runtime| {
        let spool = common::spool::Spool::new();
        spool.spool(&["b@example.net"], &format!("q-{runtime}@example.org"));
        let sink = Sink::start().unwrap();
        spool.relay(&sink.addr().to_string());
        let q = |args: &[&str]| {
            let all = [&["--sendmail", "--runtime", runtime][..], args].concat();
            run(common::spool::timed(spool.command(&all)))
        };
        q(&["-q"]).expect(0);
        assert!(sink_ids(&sink).is_empty(), "not due yet: nothing sent");
        q(&["-q", "--ignore-backoff"]).expect(0);
        assert_eq!(sink_ids(&sink), [format!("q-{runtime}@example.org")]);
        assert!(spool.entries().is_empty());

        spool.relay(&common::spool::closed_port());
        spool.spool(&["c@example.net"], &format!("q30m-{runtime}@example.org"));
        spool.relay(&sink.addr().to_string());
        q(&["-q30m", "--ignore-backoff"]).expect(0);
        assert_eq!(sink_ids(&sink).len(), 2, "{:?}", sink_ids(&sink));
        assert!(spool.entries().is_empty());
    });
}
