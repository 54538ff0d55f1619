//! `--requiretls` through a relay (`--server`, an account, sendmail mode): RFC 8689
//! §4.1's originating client. The message goes with `REQUIRETLS` on MAIL FROM over
//! verified TLS, or not at all: a relay without REQUIRETLS gets no MAIL FROM and the
//! message is refused `5.7.30` (exit 69). Against smtp-sink (STARTTLS with its own
//! certificate, trusted by `--ca-file`; REQUIRETLS when asked for), on every runtime.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::*;
use smtp_sink::{param, Extension, Sink};

/// A relay offering STARTTLS (and REQUIRETLS once encrypted when `requiretls`), and
/// a `--ca-file` trusting its certificate.
fn relay(requiretls: bool) -> (Sink, PathBuf) {
    let sink = Sink::builder().requiretls(requiretls).start().unwrap();
    let ca = sink_ca(&sink);
    (sink, ca)
}

/// `smtp-send --runtime R --server SINK --ca-file CA --to b@example.net` plus `args`,
/// with no configuration file in reach.
fn to_relay(runtime: &str, sink: &Sink, ca: &Path, args: &[&str]) -> Command {
    let mut cmd = send(runtime, sink.addr(), &["--to", "b@example.net"]);
    isolated(&mut cmd);
    cmd.arg("--ca-file").arg(ca).args(args);
    cmd
}

/// No configuration file but the one a test names.
fn isolated(cmd: &mut Command) {
    let home = temp_file("none", b"").with_file_name("");
    cmd.env("XDG_CONFIG_HOME", &home).env("HOME", &home);
}

/// Whether any connection to the sink got as far as MAIL.
fn mail_seen(sink: &Sink) -> bool {
    sink.connections()
        .iter()
        .flat_map(|c| &c.commands)
        .any(|l| l.to_ascii_uppercase().starts_with("MAIL"))
}

/// Every message the sink stored came over TLS with `REQUIRETLS` on MAIL FROM; how many.
fn stored_under_requiretls(sink: &Sink) -> usize {
    let messages = sink.messages();
    for m in &messages {
        assert!(m.tls, "not over TLS: {m:?}");
        assert!(param(&m.mail_params, "REQUIRETLS").is_some(), "{m:?}");
    }
    messages.len()
}

/// The case the option exists for: the relay offers REQUIRETLS, the message goes with
/// it over verified STARTTLS; alone, and through a pool (`--repeat`, `--concurrency`).
#[test]
fn delivered_with_requiretls_on_mail_from_over_verified_starttls_on_every_runtime() {
    on_every_runtime(|runtime| {
        let (sink, ca) = relay(true);
        let out = run(to_relay(runtime, &sink, &ca, &["--requiretls", "--json"])).expect(0);
        assert_eq!(out.json()["messages"][0]["accepted"], true, "{out}");
        assert_eq!(stored_under_requiretls(&sink), 1, "{out}");

        let (sink, ca) = relay(true);
        let pool = ["--requiretls", "--repeat", "6", "--concurrency", "2"];
        let out = run(to_relay(runtime, &sink, &ca, &pool)).expect(0);
        assert_eq!(stored_under_requiretls(&sink), 6, "{out}");
    });
}

/// The relay's certificate is verified: without `--ca-file` the sink's (not among the
/// Mozilla roots) fails the handshake, 76, and no MAIL FROM is sent, even from an
/// account saying `starttls = "opportunistic"`.
#[test]
fn an_unverified_relay_certificate_is_76_and_nothing_is_sent_on_every_runtime() {
    on_every_runtime(|runtime| {
        let (sink, _) = relay(true);
        let mut cmd = send(runtime, sink.addr(), &["--to", "b@example.net"]);
        isolated(&mut cmd);
        let out = run(cmd.arg("--requiretls")).expect(76);
        assert!(out.stderr.contains("certificate"), "{out}");
        let config = temp_file("config.toml", b"[defaults]\nstarttls = \"opportunistic\"\n");
        let mut cmd = send(runtime, sink.addr(), &["--to", "b@example.net"]);
        isolated(&mut cmd);
        cmd.arg("--config").arg(&config).arg("--requiretls");
        run(cmd).expect(76);
        assert!(!mail_seen(&sink), "{out}");
    });
}

/// A relay without REQUIRETLS (over TLS all the same) is sent no MAIL FROM; the
/// message is refused `550 5.7.30` (RFC 8689 §5), exit 69, on standard error and in
/// `--json`; through a pool too.
#[test]
fn a_relay_without_requiretls_gets_no_mail_from_and_it_is_5_7_30_exit_69_on_every_runtime() {
    on_every_runtime(|runtime| {
        let (sink, ca) = relay(false);
        let out = run(to_relay(runtime, &sink, &ca, &["--requiretls", "--json"])).expect(69);
        assert!(!mail_seen(&sink), "{:?}", sink.connections());
        assert!(sink.connections()[0].tls.is_some(), "STARTTLS was done");
        assert!(out.stderr.contains("5.7.30"), "{out}");
        let v = out.json();
        let m = &v["messages"][0];
        assert_eq!(m["accepted"], false, "{v}");
        assert_eq!(m["code"], 550, "{v}");
        assert_eq!(m["enhanced"], "5.7.30", "{v}");
        assert!(m["text"].as_str().unwrap().contains("REQUIRETLS"), "{v}");
        assert_eq!(v["exit_code"], 69, "{v}");

        let (sink, ca) = relay(false);
        let pool = ["--requiretls", "--repeat", "4", "--concurrency", "2"];
        let out = run(to_relay(runtime, &sink, &ca, &pool)).expect(69);
        assert!(!mail_seen(&sink), "{out}");
    });
}

/// A relay that does not offer STARTTLS at all: the session stays unencrypted, so
/// nothing is sent; 5.7.30, exit 69 as for a relay without REQUIRETLS.
#[test]
fn a_relay_without_starttls_gets_no_mail_from_and_it_is_5_7_30_exit_69_on_every_runtime() {
    on_every_runtime(|runtime| {
        let sink = Sink::builder()
            .requiretls(true)
            .disable(Extension::StartTls)
            .start()
            .unwrap();
        let ca = sink_ca(&sink);
        let out = run(to_relay(runtime, &sink, &ca, &["--requiretls", "--json"])).expect(69);
        assert!(!mail_seen(&sink), "{out}");
        assert!(out.stderr.contains("5.7.30"), "{out}");
        assert_eq!(out.json()["exit_code"], 69, "{out}");
    });
}

/// The command line asking for verified TLS and, at once, for less: 64 before any
/// connection, naming both options; so is a message saying `TLS-Required: No` (RFC
/// 8689 §5), in relay mode as with `--mx`.
#[test]
fn conflicting_tls_options_or_tls_required_no_beside_requiretls_are_64() {
    let (sink, ca) = relay(true);
    for extra in [
        &["--starttls", "never"][..],
        &["--starttls", "opportunistic"],
        &["--insecure"],
    ] {
        let mut args = vec!["--requiretls", "--subject", "s", "--body", "b"];
        args.extend(extra);
        let mut cmd = to_relay("blocking", &sink, &ca, &[]);
        // --insecure conflicts with --ca-file: a command line of its own.
        if extra == ["--insecure"] {
            cmd = send("blocking", sink.addr(), &["--to", "b@example.net"]);
            isolated(&mut cmd);
        }
        let out = run(cmd.args(&args)).expect(64);
        assert!(
            out.stderr.contains("--requiretls") && out.stderr.contains(extra[0]),
            "{extra:?}: {out}"
        );
    }
    let data = temp_file("no.eml", b"Subject: t\r\nTLS-Required: No\r\n\r\nhi\r\n");
    let mut cmd = to_relay("blocking", &sink, &ca, &["--requiretls", "--data"]);
    let out = run(cmd.arg(&data)).expect(64);
    assert!(out.stderr.contains("TLS-Required: No"), "{out}");
    assert!(sink.connections().is_empty(), "nothing connected");
    // The message alone goes (RFC 8689 §5 asks nothing of a relay's submission).
    let mut cmd = to_relay("blocking", &sink, &ca, &["--data"]);
    run(cmd.arg(&data)).expect(0);
}

/// The account's TLS settings fill what the command line left unset, and
/// `--requiretls` sets TLS: `tls = "none"` or `starttls = "opportunistic"` in the
/// file is overridden by the flag (STARTTLS required and verified). The account's
/// own `requiretls = true` asks for REQUIRETLS, the form sendmail mode has; beside a
/// `tls = "none"` or `starttls = "opportunistic"` of the same file it is a
/// contradiction of the file: 78, nothing sent.
#[test]
fn the_flag_overrides_the_accounts_tls_the_accounts_requiretls_key_conflicting_in_the_file_is_78() {
    let (sink, ca) = relay(true);
    let account = |extra: &str| {
        let text = format!(
            "[defaults]\nserver = \"127.0.0.1:{}\"\nfrom = \"a@example.org\"\n\
             ca_file = {:?}\n{extra}\n",
            sink.port(),
            ca
        );
        temp_file("config.toml", text.as_bytes())
    };
    let smtp_send = |config: &Path, args: &[&str]| {
        let mut cmd = Command::cargo_bin("smtp-send").unwrap();
        isolated(&mut cmd);
        cmd.arg("--config").arg(config).args(args);
        run(cmd.timeout(std::time::Duration::from_secs(60)))
    };
    let message = ["--to", "b@example.net", "--subject", "s", "--body", "b"];
    let with_flag: Vec<&str> = message.iter().copied().chain(["--requiretls"]).collect();
    for tls in ["tls = \"none\"", "starttls = \"opportunistic\""] {
        smtp_send(&account(tls), &with_flag).expect(0);
    }
    assert_eq!(stored_under_requiretls(&sink), 2);

    let sendmail = |config: &Path| {
        let mut cmd = Command::cargo_bin("smtp-send").unwrap();
        isolated(&mut cmd);
        cmd.arg("--sendmail")
            .arg("--config")
            .arg(config)
            .args(["-i", "b@example.net"])
            .write_stdin("Subject: s\n\nbody\n");
        run(cmd.timeout(std::time::Duration::from_secs(60)))
    };
    sendmail(&account("requiretls = true")).expect(0);
    assert_eq!(stored_under_requiretls(&sink), 3);

    for tls in ["tls = \"none\"", "starttls = \"opportunistic\""] {
        let config = account(&format!("requiretls = true\n{tls}"));
        let out = sendmail(&config).expect(78);
        assert!(out.stderr.contains("requiretls"), "{out}");
        smtp_send(&config, &message).expect(78);
    }
    assert_eq!(stored_under_requiretls(&sink), 3, "nothing more sent");
}
