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

/// The command line of either mode, to b@example.net.
const NORMAL: [&str; 4] = ["--to", "b@example.net", "--body", "x"];
const SENDMAIL: [&str; 3] = ["--sendmail", "-i", "b@example.net"];

/// Account `bad` with `key = value` (a bad one), beside good ones: in either mode the
/// run exits 78 (EX_CONFIG) naming the file, the account, the key and (unless it is
/// withheld) the value, saying `why`, and sends nothing; the flag's name is not in it.
/// `flag`: the same value given as that option (the first of these arguments, with a
/// good file) exits with this status (64; 65 for an address), naming the option
/// instead.
fn bad_key(key: &str, value: &str, why: &str, flag: Option<(&[&str], i32)>) {
    let sink = Sink::start().unwrap();
    let from = if key == "from" {
        ""
    } else {
        "from = \"bad@example.org\"\n"
    };
    let extra = format!("[accounts.bad]\n{from}{key} = {value}\n");
    let config = config_file(&accounts(&sink, &extra));
    for mode in [&NORMAL[..], &SENDMAIL[..]] {
        let mut cmd = with_config(&config, &[&["--account", "bad"][..], mode].concat());
        cmd.write_stdin("Subject: s\n\nx\n");
        let out = run(cmd).expect(78);
        let named = format!("{}: account \"bad\": {key}", config.display());
        assert!(out.stderr.contains(&named), "{named}\n{out}");
        assert!(out.stderr.contains(why), "{why}\n{out}");
        assert!(!out.stderr.contains(&format!("--{key}")), "{out}");
        assert!(!out.stderr.contains("s3cret"), "a password shown\n{out}");
    }
    if let Some((args, code)) = flag {
        let good = config_file(&accounts(&sink, ""));
        let out = run(with_config(&good, args)).expect(code);
        assert!(out.stderr.contains(&format!("error: {}", args[0])), "{out}");
        assert!(out.stderr.contains(why), "{why}\n{out}");
    }
    assert!(sink.messages().is_empty());
}

#[test]
fn a_bad_queue_lifetime_key_is_78_naming_the_key_the_flag_64() {
    let why = "\"5x\": the unit is one of s, m, h, d";
    // The option is read when the spool is worked.
    let queue = temp_file("none", b"").with_file_name("queue");
    let queue = queue.to_str().unwrap();
    let flag = ["--queue-lifetime", "5x", "--flush-queue", "--queue", queue];
    bad_key("queue_lifetime", "\"5x\"", why, Some((&flag, 64)));
}

#[test]
fn a_bad_server_key_is_78_naming_the_key_the_flag_64() {
    let why = "\"mx.example:99999\": invalid port";
    bad_key(
        "server",
        "\"mx.example:99999\"",
        why,
        Some((
            &[&["--server", "mx.example:99999"][..], &NORMAL].concat(),
            64,
        )),
    );
}

#[test]
fn a_bad_timeout_key_is_78_naming_the_key_the_flag_64() {
    let why = "0: expected a positive number of seconds";
    let flag = [&["--timeout", "0"][..], &NORMAL].concat();
    bad_key("timeout", "0", why, Some((&flag, 64)));
}

#[test]
fn a_bad_ehlo_key_is_78_naming_the_key_the_flag_64() {
    bad_key(
        "ehlo",
        "\"bad name!\"",
        "\"bad name!\": ",
        Some((&[&["--ehlo", "bad name!"][..], &NORMAL].concat(), 64)),
    );
}

#[test]
fn a_bad_auth_key_is_78_naming_the_key_the_flag_64() {
    // Checked before any password is looked for; `--auth-mech` needs a user.
    let flag = [
        "--auth-mech",
        "NO SUCH",
        "--auth-user",
        "me",
        "--auth-password-env",
        "PW",
    ];
    let flag = [&flag[..], &NORMAL].concat();
    let value = "\"NO SUCH\"\nuser = \"me\"\npassword_env = \"PW\"";
    bad_key("auth", value, "\"NO SUCH\": ", Some((&flag, 64)));
}

#[test]
fn a_bad_proxy_key_is_78_without_showing_the_url_the_flag_64() {
    // The URL (and its password) never shown: what is wrong with it is.
    let url = "http://u:s3cret@p:1";
    let flag = [&["--proxy", url][..], &NORMAL].concat();
    bad_key(
        "proxy",
        &format!("\"{url}\""),
        ": invalid proxy URL: the scheme must be socks5",
        Some((&flag, 64)),
    );
}

#[test]
fn a_bad_from_key_is_78_naming_the_key_the_flag_65() {
    // An address the flag gives is data (65), as it always was.
    let flag = [&["--from", "a@@example.org"][..], &NORMAL].concat();
    bad_key(
        "from",
        "\"a@@example.org\"",
        "\"a@@example.org\": ",
        Some((&flag, 65)),
    );
}

#[test]
fn a_missing_ca_file_is_78_naming_the_key_the_flag_64() {
    let missing = temp_file("none", b"").with_file_name("no-such-ca.pem");
    let path = missing.display().to_string();
    bad_key(
        "ca_file",
        &format!("\"{path}\""),
        &format!("{path}: "),
        Some((&[&["--ca-file", &path][..], &NORMAL].concat(), 64)),
    );
}

#[test]
fn a_bad_resolver_key_with_mx_is_78_naming_the_key_the_flag_64() {
    let flag = [&["--resolver", "resolver.example", "--mx"][..], &NORMAL].concat();
    bad_key(
        "resolver",
        "\"resolver.example\"\nmx = true",
        "\"resolver.example\": expected ADDR[:PORT]",
        Some((&flag, 64)),
    );
}

#[test]
fn a_bad_allow_addresses_key_with_mx_is_78_naming_the_key_the_flag_64() {
    let flag = [&["--allow-addresses", "10.0.0.0/33", "--mx"][..], &NORMAL].concat();
    bad_key(
        "allow_addresses",
        "[\"127.0.0.0/8\", \"10.0.0.0/33\"]\nmx = true",
        "\"10.0.0.0/33\": ",
        Some((&flag, 64)),
    );
}

/// A key the command line overrides is not used, so not checked: an account with a
/// bad server, ehlo, timeout, from and queue_lifetime sends through the sink when the
/// flags give all five (msmtp would refuse the file; here a flag is the way around a
/// wrong account). The account's `mx = true` yields to `--server` likewise, its bad
/// resolver unchecked.
#[test]
fn keys_the_command_line_overrides_are_not_checked() {
    let sink = Sink::start().unwrap();
    let extra = "[accounts.bad]\nfrom = \"a@@example.org\"\nserver = \"mx.example:99999\"\n\
                 ehlo = \"bad name!\"\ntimeout = 0\nqueue_lifetime = \"5x\"\nmx = true\n\
                 resolver = \"resolver.example\"\n";
    let config = config_file(&accounts(&sink, extra));
    let server = format!("127.0.0.1:{}", sink.port());
    let flags = [
        "--account",
        "bad",
        "--server",
        &server,
        "--from",
        "cli@example.org",
        "--ehlo",
        "cli.example",
        "--timeout",
        "30",
        "--queue-lifetime",
        "1h",
    ];
    run(with_config(&config, &[&flags[..], &NORMAL].concat())).expect(0);
    assert_eq!(
        seen(&sink),
        ("cli.example".into(), "cli@example.org".into())
    );
    // Without --server the account's (bad) server is used: 78.
    let out = run(with_config(
        &config,
        &[&flags[..2], &flags[4..], &NORMAL].concat(),
    ));
    assert!(
        out.expect(78).stderr.contains("resolver"),
        "mx = true applies"
    );
}

/// `mx = true` means no relay: a relay's option of the command line beside it (and no
/// `--server`) is a usage error (64), not silently dropped.
#[test]
fn a_relay_option_beside_the_accounts_mx_is_64() {
    let config = config_file("[defaults]\nfrom = \"a@example.org\"\nmx = true\n");
    for option in [&["--tls"][..], &["--starttls", "never"], &["--lmtp"]] {
        let out = run(with_config(&config, &[option, &NORMAL[..]].concat())).expect(64);
        assert!(
            out.stderr
                .contains(&format!("{}: the account has mx = true", option[0])),
            "{out}"
        );
    }
}
