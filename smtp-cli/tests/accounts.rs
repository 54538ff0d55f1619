//! Accounts end to end: the built `smtp-send` with a TOML configuration (by `--config`
//! and at `$XDG_CONFIG_HOME/smtp-send/config.toml`) against smtp-sink. Which account
//! was used shows in what the sink saw: the EHLO name, MAIL FROM, AUTH.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::*;
use smtp_sink::Sink;

/// `[defaults]` naming the sink and two accounts, `home` the default.
fn accounts(sink: &Sink, extra: &str) -> String {
    format!(
        r#"
[defaults]
server = "127.0.0.1:{port}"
tls = "none"
default = "home"

[accounts.home]
from = "home@example.org"
ehlo = "home.example"

[accounts.work]
from = "Work@Example.org"
ehlo = "work.example"

[accounts.closed]
server = "127.0.0.1:1"
from = "closed@example.org"
{extra}
"#,
        port = sink.port()
    )
}

/// `smtp-send --config FILE` plus `args`, with no other configuration in reach.
fn with_config(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("smtp-send").expect("the smtp-send binary");
    let home = temp_file("none", b"").with_file_name("");
    cmd.env("XDG_CONFIG_HOME", &home)
        .env("HOME", &home)
        .arg("--config")
        .arg(config)
        .args(args)
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

/// The EHLO name and the sender of the sink's only message.
fn seen(sink: &Sink) -> (String, String) {
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    let conn = sink
        .connections()
        .into_iter()
        .find(|c| c.id == m.connection)
        .unwrap();
    (conn.hello.unwrap_or_default(), m.from.as_str().to_owned())
}

fn config_file(text: &str) -> PathBuf {
    temp_file("config.toml", text.as_bytes())
}

#[test]
fn the_default_account_and_one_picked_by_account() {
    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    run(with_config(&config, &["--to", "b@example.net"])).expect(0);
    assert_eq!(
        seen(&sink),
        ("home.example".into(), "home@example.org".into())
    );

    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    run(with_config(
        &config,
        &["--account", "work", "--to", "b@example.net"],
    ))
    .expect(0);
    assert_eq!(
        seen(&sink),
        ("work.example".into(), "Work@Example.org".into())
    );

    let out = run(with_config(
        &config,
        &["--account", "nope", "--to", "b@example.net"],
    ));
    // A configuration error: EX_CONFIG (78), as msmtp, not a usage error (64).
    assert!(out.expect(78).stderr.contains("no account \"nope\""));
}

/// `--from` (and `-f`) pick the account whose `from` it is, any case.
#[test]
fn the_sender_picks_the_account() {
    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    let args = ["--from", "work@example.org", "--to", "b@example.net"];
    run(with_config(&config, &args)).expect(0);
    assert_eq!(seen(&sink).0, "work.example");

    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    let mut cmd = with_config(
        &config,
        &["--sendmail", "-i", "-fwork@example.org", "b@x.example"],
    );
    cmd.write_stdin("Subject: s\n\nx\n");
    run(cmd).expect(0);
    assert_eq!(seen(&sink).0, "work.example");
}

/// In sendmail mode the message's `From:` picks the account when `-f` is not given.
#[test]
fn the_from_field_picks_the_account_in_sendmail_mode() {
    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    let mut cmd = with_config(&config, &["--sendmail", "-t", "-i"]);
    cmd.write_stdin("From: Me at work <work@example.org>\nTo: b@x.example\n\nx\n");
    run(cmd).expect(0);
    assert_eq!(
        seen(&sink),
        ("work.example".into(), "Work@Example.org".into())
    );
}

/// An account's keys beat `[defaults]` (its own server, closed: 75), the defaults fill
/// the rest, and flags beat both.
#[test]
fn defaults_merge_under_accounts_and_flags_override_both() {
    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    run(with_config(
        &config,
        &["--account", "closed", "--to", "b@example.net"],
    ))
    .expect(75);
    assert!(sink.messages().is_empty());

    let server = format!("127.0.0.1:{}", sink.port());
    let args = [
        "--account",
        "closed",
        "--server",
        &server,
        "--ehlo",
        "cli.example",
        "--from",
        "other@example.org",
        "--to",
        "b@example.net",
    ];
    run(with_config(&config, &args)).expect(0);
    assert_eq!(
        seen(&sink),
        ("cli.example".into(), "other@example.org".into())
    );
}

/// The file at `$XDG_CONFIG_HOME/smtp-send/config.toml` is read without `--config`.
#[test]
fn the_user_file_is_found_in_xdg_config_home() {
    let sink = Sink::start().unwrap();
    let file = temp_file("config.toml", accounts(&sink, "").as_bytes());
    let xdg = file.with_file_name("xdg");
    std::fs::create_dir_all(xdg.join("smtp-send")).unwrap();
    std::fs::rename(&file, xdg.join("smtp-send/config.toml")).unwrap();
    let mut cmd = Command::cargo_bin("smtp-send").unwrap();
    cmd.env("XDG_CONFIG_HOME", &xdg)
        .args(["--account", "work", "--to", "b@example.net"]);
    run(cmd).expect(0);
    assert_eq!(seen(&sink).0, "work.example");
}

/// `password_command`'s output (less its newline) is the password; it is never
/// printed, not even with --transcript and --json.
#[test]
fn password_command_is_used_and_never_printed() {
    let sink = Sink::builder().user("me", "s3cret-pw").start().unwrap();
    let extra = "[accounts.auth]\nfrom = \"auth@example.org\"\nuser = \"me\"\npassword_command = \"printf 's3cret-pw\\\\n'\"\n";
    let config = config_file(&accounts(&sink, extra));
    let args = [
        "--account",
        "auth",
        "--allow-plaintext-auth",
        "--transcript",
        "--json",
        "--to",
        "b@example.net",
    ];
    let out = run(with_config(&config, &args)).expect(0);
    let conns = sink.connections();
    let auth = conns[0].auth.as_ref().expect("authenticated");
    assert_eq!(auth.user, "me");
    assert!(
        !out.stdout.contains("s3cret") && !out.stderr.contains("s3cret"),
        "{out}"
    );
    let encoded = "czNjcmV0"; // base64 of the password's start, as AUTH PLAIN would show it
    assert!(!out.stderr.contains(encoded), "{out}");

    let extra = "[accounts.auth]\nfrom = \"auth@example.org\"\nuser = \"me\"\npassword_command = \"printf wrong\"\n";
    let config = config_file(&accounts(&sink, extra));
    run(with_config(&config, &args)).expect(77);
}

/// A password file readable by group or others is refused (78, EX_CONFIG: the
/// account's file is wrong), one readable only by its owner is used.
#[test]
fn a_password_file_readable_by_group_is_refused() {
    let sink = Sink::builder().user("me", "pw-in-file").start().unwrap();
    let pw = temp_file("pw", b"pw-in-file\n");
    let extra = format!(
        "[accounts.auth]\nfrom = \"auth@example.org\"\nuser = \"me\"\npassword_file = \"{}\"\n",
        pw.display()
    );
    let config = config_file(&accounts(&sink, &extra));
    let args = [
        "--account",
        "auth",
        "--allow-plaintext-auth",
        "--to",
        "b@example.net",
    ];
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(with_config(&config, &args)).expect(78);
    assert!(
        out.stderr.contains("readable by its group or others"),
        "{out}"
    );
    assert!(out.stderr.contains("chmod go-r"), "{out}");
    assert!(sink.messages().is_empty());
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(with_config(&config, &args)).expect(0);
    assert_eq!(
        sink.connections()
            .last()
            .unwrap()
            .auth
            .as_ref()
            .unwrap()
            .user,
        "me"
    );
}

/// An account's `proxy` is where its connections go: a proxy that cannot be reached
/// is 75, and the server is never reached directly.
#[test]
fn an_accounts_proxy_is_where_it_connects() {
    let sink = Sink::start().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let extra = format!(
        "[accounts.x]\nfrom = \"x@example.org\"\nproxy = \"socks5://127.0.0.1:{closed}\"\n"
    );
    let config = config_file(&accounts(&sink, &extra));
    let out = run(with_config(
        &config,
        &["--account", "x", "--to", "b@example.net"],
    ));
    out.expect(75);
    assert!(
        sink.connections().is_empty(),
        "the sink was reached directly"
    );
}

/// A password source without a user is refused (64) once the account had its say:
/// clap no longer requires `--auth-user` at parse time, since the account may give it.
#[test]
fn a_password_without_a_user_is_64() {
    let sink = Sink::start().unwrap();
    let config = config_file(&accounts(&sink, ""));
    let args = ["--auth-password-env", "X", "--to", "b@example.net"];
    let out = run(with_config(&config, &args)).expect(64);
    assert!(
        out.stderr.contains("--auth-password-env needs --auth-user"),
        "{out}"
    );
    assert!(sink.messages().is_empty());
}

/// Every error of the configuration file exits 78 (EX_CONFIG, as msmtp and sendmail),
/// in the normal mode and in sendmail mode: unreadable, not TOML, an unknown key, a
/// `password` key, `default` in an account, no such account (also without any file),
/// a proxy password in a file readable by its group. A wrong command line beside a good
/// file stays 64 (EX_USAGE). Nothing is sent.
#[test]
fn configuration_errors_are_78_command_line_errors_64() {
    let sink = Sink::start().unwrap();
    let good = accounts(&sink, "");
    let bad_files = [
        "[defaults\nserver = \"x\"\n".to_owned(),
        format!("{good}\n[accounts.x]\nfrobnicate = 1\n"),
        format!("{good}\n[accounts.x]\npassword = \"s3cret\"\n"),
        format!("{good}\n[accounts.x]\ndefault = \"home\"\n"),
    ];
    let normal = ["--to", "b@example.net", "--body", "x"];
    let sendmail = ["--sendmail", "-i", "b@example.net"];
    let either = |config: &Path, args: &[&str], code: i32| {
        for mode in [&normal[..], &sendmail[..]] {
            let mut cmd = with_config(config, &[args, mode].concat());
            cmd.write_stdin("Subject: s\n\nx\n");
            let out = run(cmd).expect(code);
            assert!(out.stderr.contains("error: "), "{out}");
        }
    };
    for text in &bad_files {
        either(&config_file(text), &[], 78);
    }
    let missing = temp_file("none", b"").with_file_name("no-such-config.toml");
    either(&missing, &[], 78);
    let config = config_file(&good);
    either(&config, &["--account", "nope"], 78);
    let proxy = "[accounts.p]\nfrom = \"p@example.org\"\nproxy = \"socks5://u:pw@127.0.0.1:1\"\n";
    let private = config_file(&accounts(&sink, proxy));
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o640)).unwrap();
    either(&private, &["--account", "p"], 78);

    // No file at all: --account names an account that cannot exist.
    let home = temp_file("none", b"").with_file_name("");
    for mode in [&normal[..], &sendmail[..]] {
        let mut cmd = Command::cargo_bin("smtp-send").unwrap();
        cmd.env("XDG_CONFIG_HOME", &home)
            .env("HOME", &home)
            .args(["--account", "work"])
            .args(mode)
            .write_stdin("Subject: s\n\nx\n")
            .timeout(std::time::Duration::from_secs(60));
        run(cmd).expect(78);
    }

    // The same good file with a wrong command line: 64.
    either(&config, &["--timeout", "0"], 64);
    let mut cmd = with_config(&config, &["--sendmail", "-i", "-f"]);
    cmd.write_stdin("Subject: s\n\nx\n");
    run(cmd).expect(64);
    assert!(sink.messages().is_empty());
}
