//! Accounts: a TOML file (`--config FILE`, else `$XDG_CONFIG_HOME/smtp-send/config.toml`,
//! else `/etc/smtp-send.toml`) with a `[defaults]` table and `[accounts.NAME]` tables.
//! One account is picked (`--account`, else the one whose `from` is the sender's
//! address, else `default = "NAME"` or the account named `default`), laid over the
//! defaults, and fills what the command line left unset: flags always win.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use smtp_io::socks::Proxy;

use crate::args::{Args, StartTls};
use crate::exit::{Failure, Invalid};

/// The system-wide file, used when the user has none.
pub(crate) const SYSTEM_FILE: &str = "/etc/smtp-send.toml";

/// `tls`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TlsKey {
    /// STARTTLS (policy: the `starttls` key).
    StartTls,
    /// Implicit TLS (RFC 8314), as `--tls`.
    Implicit,
    /// Cleartext, as `--starttls never`.
    None,
}

/// `starttls`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StartTlsKey {
    /// As `--starttls required`.
    Required,
    /// As `--starttls opportunistic`.
    Opportunistic,
}

/// `queue`: a spool directory, or `true` for this user's default one.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum QueueKey {
    /// `true`: the default spool; `false`: none.
    On(bool),
    /// The spool directory.
    Dir(PathBuf),
}

/// `queue_lifetime`: seconds, or a string as `--queue-lifetime` takes it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum LifetimeKey {
    /// Seconds.
    Seconds(u64),
    /// `"5d"`, `"12h"` ...
    Text(String),
}

/// The keys of `[defaults]` and of an account (`default` only in `[defaults]`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Account {
    pub server: Option<String>,
    pub tls: Option<TlsKey>,
    pub starttls: Option<StartTlsKey>,
    pub ca_file: Option<PathBuf>,
    pub user: Option<String>,
    pub auth: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A shell command whose standard output is the password (msmtp's `passwordeval`).
    pub password_command: Option<String>,
    pub ehlo: Option<String>,
    pub lmtp: Option<bool>,
    pub timeout: Option<f64>,
    pub proxy: Option<String>,
    pub from: Option<String>,
    pub queue: Option<QueueKey>,
    pub queue_lifetime: Option<LifetimeKey>,
    /// `true`: every message with REQUIRETLS, as `--requiretls` (sendmail mode's way to
    /// ask for it).
    pub requiretls: Option<bool>,
    /// `true`: straight to the recipients' MX hosts, as `--mx` (how sendmail mode, run
    /// by cron without options, delivers on a host without a relay). Not when the
    /// command line names a `--server`, or works the spool.
    pub mx: Option<bool>,
    /// With `mx`: as `--resolver`.
    pub resolver: Option<String>,
    /// With `mx`: as `--allow-addresses` (the command line's replace these).
    pub allow_addresses: Option<Vec<String>>,
    /// With `mx`: as `--sts-cache`.
    pub sts_cache: Option<PathBuf>,
    /// `[defaults]` only: the account used when none is picked.
    pub default: Option<String>,
}

impl Account {
    /// This account's keys, and `base`'s where this one has none.
    fn over(self, base: &Account) -> Account {
        macro_rules! or {
            ($($key:ident),*) => { Account { $($key: self.$key.or_else(|| base.$key.clone()),)* } };
        }
        or!(
            server,
            tls,
            starttls,
            ca_file,
            user,
            auth,
            password_env,
            password_file,
            password_command,
            ehlo,
            lmtp,
            timeout,
            proxy,
            from,
            queue,
            queue_lifetime,
            requiretls,
            mx,
            resolver,
            allow_addresses,
            sts_cache,
            default
        )
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Account,
    #[serde(default)]
    accounts: BTreeMap<String, Account>,
}

/// A configuration file, read and checked.
#[derive(Debug)]
pub(crate) struct Config {
    path: PathBuf,
    /// The system file: its password file may be readable by group (msmtp's convention
    /// of a `mail` group), not by others.
    system: bool,
    file: File,
}

/// The chosen account, laid over the defaults.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Chosen {
    /// The file it is in.
    pub path: PathBuf,
    /// Its name (`None`: the defaults alone).
    pub name: Option<String>,
    /// Its keys.
    pub account: Account,
}

impl fmt::Display for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "account {n:?}"),
            None => f.write_str("[defaults]"),
        }
    }
}

/// Where the configuration is: `explicit` (`--config`), else the user's file, else the
/// system's; `None` when no file exists (and none was named).
pub(crate) fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    let user_dir = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    let user = user_dir.map(|d| d.join("smtp-send").join("config.toml"));
    user.into_iter()
        .chain([PathBuf::from(SYSTEM_FILE)])
        .find(|p| p.exists())
}

/// Reads and checks the file at `path`.
pub(crate) fn load(path: &Path) -> Result<Config, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Config(format!("cannot read {}: {e}", path.display())))?;
    let file: File = toml::from_str(&text).map_err(|e| {
        let hint = if e.message().contains("unknown field `password`") {
            " (no password in the file: use password_file, password_env or password_command)"
        } else {
            ""
        };
        Failure::Config(format!("{}: {}{hint}", path.display(), e.message().trim()))
    })?;
    for (name, a) in &file.accounts {
        if a.default.is_some() {
            return Err(Failure::Config(format!(
                "{}: `default` belongs in [defaults], not in [accounts.{name}]",
                path.display()
            )));
        }
    }
    let system = path == Path::new(SYSTEM_FILE);
    Ok(Config {
        path: path.to_owned(),
        system,
        file,
    })
}

impl Config {
    /// The account to use: `name` (`--account`), else the one whose `from` is `sender`
    /// (any case), else the default one, else the defaults alone.
    pub(crate) fn choose(
        &self,
        name: Option<&str>,
        sender: Option<&str>,
    ) -> Result<Chosen, Failure> {
        let accounts = &self.file.accounts;
        let defaults = &self.file.defaults;
        let by_from = || {
            let sender = sender?;
            accounts.iter().find(|(_, a)| {
                a.from
                    .as_deref()
                    .is_some_and(|f| f.eq_ignore_ascii_case(sender))
            })
        };
        let named = |n: &str, why: &str| {
            accounts.get_key_value(n).ok_or_else(|| {
                Failure::Config(format!("{}: no account {n:?} ({why})", self.path.display()))
            })
        };
        let found = if let Some(n) = name {
            Some(named(n, "--account")?)
        } else if let Some(found) = by_from() {
            Some(found)
        } else if let Some(n) = &defaults.default {
            Some(named(n, "default in [defaults]")?)
        } else {
            accounts.get_key_value("default")
        };
        let chosen = match found {
            Some((n, a)) => Chosen {
                path: self.path.clone(),
                name: Some(n.clone()),
                account: a.clone().over(defaults),
            },
            None => Chosen {
                path: self.path.clone(),
                name: None,
                account: defaults.clone(),
            },
        };
        if let Some(p) = &chosen.account.password_file {
            check_private(p, self.system)?;
        }
        self.check_requiretls(&chosen)?;
        // A proxy URL with a password makes this file hold one.
        let proxy = chosen.account.proxy.as_deref();
        if proxy
            .and_then(|u| u.parse::<Proxy>().ok())
            .is_some_and(|p| p.user().is_some())
        {
            check_private(&self.path, self.system)?;
        }
        Ok(chosen)
    }
}

impl Config {
    /// An account asking for REQUIRETLS and, in the same file, for cleartext or
    /// opportunistic STARTTLS contradicts itself (RFC 8689 §4.1: verified TLS only).
    /// `--requiretls` on the command line overrides those keys instead, as flags do.
    fn check_requiretls(&self, chosen: &Chosen) -> Result<(), Failure> {
        let a = &chosen.account;
        let weaker = match (a.tls, a.starttls) {
            (Some(TlsKey::None), _) => Some("tls = \"none\""),
            (Some(TlsKey::Implicit), _) => None,
            (_, Some(StartTlsKey::Opportunistic)) => Some("starttls = \"opportunistic\""),
            _ => None,
        };
        match weaker {
            Some(key) if a.requiretls == Some(true) => Err(Failure::Config(format!(
                "{}: {chosen} has requiretls = true and {key}: REQUIRETLS needs verified TLS",
                self.path.display()
            ))),
            _ => Ok(()),
        }
    }
}

/// A password file must not be readable by others, nor (a user's) by its group: a
/// password anyone on the machine can read is no secret (as msmtp refuses it).
pub(crate) fn check_private(path: &Path, system: bool) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
    let mode = meta.permissions().mode();
    let (mask, who) = if system {
        (0o004, "others")
    } else {
        (0o044, "its group or others")
    };
    if mode & mask != 0 {
        return Err(Failure::Config(format!(
            "{} holds a password and is readable by {who} (mode {:o}): \
             refusing to use it; run chmod {} {}",
            path.display(),
            mode & 0o777,
            if system { "o-r" } else { "go-r" },
            path.display()
        )));
    }
    Ok(())
}

/// A password read from `password_command`: never shown.
pub(crate) struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Runs `command` with `sh -c` and returns its standard output less the trailing line
/// end. Its standard error goes to ours; its output is never printed.
pub(crate) fn password_from_command(command: &str) -> Result<Secret, Failure> {
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| Failure::Input(format!("cannot run password_command: {e}")))?;
    if !out.status.success() {
        return Err(Failure::Input(format!(
            "password_command failed ({})",
            out.status
        )));
    }
    let mut text = String::from_utf8(out.stdout)
        .map_err(|_| Failure::Input("password_command's output is not UTF-8".into()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(Secret(text))
}

/// Fills what the command line left unset in `args` from the chosen account.
///
/// Each key that fills an option is checked here, by the option's own parser, and a
/// bad value is the file's error (78, naming the file, the account and the key), not
/// the command line's (64). A key the command line overrides is neither used nor
/// checked: the command line is what runs (msmtp checks the whole file; here a flag
/// is the way around an account that is wrong, as it is the way around one that is
/// right). `sendmail`: the account's `from` is qualified as sendmail mode's
/// (`root` is `root@` this host).
pub(crate) fn apply(args: &mut Args, chosen: &Chosen, sendmail: bool) -> Result<(), Failure> {
    let a = &chosen.account;
    let bad = |key: &'static str| {
        move |e: Invalid| {
            Failure::Config(format!(
                "{}: {chosen}: {}",
                chosen.path.display(),
                e.named(key)
            ))
        }
    };
    // Straight to the MX hosts unless the command line names a relay or works the
    // spool; then the account's relay keys do not apply (`crate::mx`).
    if a.mx == Some(true)
        && args.server.is_none()
        && !(args.flush_queue || args.list_queue || args.serverinfo)
    {
        args.mx = true;
    }
    if args.mx {
        checked(&mut args.resolver, &a.resolver, |r| {
            crate::mx::dns_server(r).map_err(bad("resolver"))
        })?;
        if args.allow_addresses.is_empty() {
            for range in a.allow_addresses.iter().flatten() {
                crate::mx::cidr(range).map_err(bad("allow_addresses"))?;
            }
            args.allow_addresses = a.allow_addresses.clone().unwrap_or_default();
        }
        fill(&mut args.sts_cache, &a.sts_cache);
    } else {
        checked(&mut args.server, &a.server, |s| {
            crate::parse_server(s).map_err(bad("server"))
        })?;
        checked(&mut args.proxy, &a.proxy, |p| {
            crate::proxy(p).map_err(bad("proxy"))
        })?;
    }
    checked(&mut args.from, &a.from, |f| {
        let f = if sendmail {
            crate::sendmail::qualified(f)
        } else {
            f.clone()
        };
        crate::sender(&f).map_err(bad("from"))
    })?;
    checked(&mut args.ca_file, &a.ca_file, |p| {
        crate::tls::ca_certs(p).map_err(bad("ca_file"))
    })?;
    checked(&mut args.auth_mech, &a.auth, |m| {
        crate::mechanism(m).map_err(bad("auth"))
    })?;
    checked(&mut args.ehlo, &a.ehlo, |n| {
        crate::ehlo_name(n).map_err(bad("ehlo"))
    })?;
    checked(&mut args.timeout, &a.timeout, |&t| {
        crate::positive_seconds(t).map_err(bad("timeout"))
    })?;
    if args.queue.is_none() {
        args.queue = match &a.queue {
            Some(QueueKey::Dir(dir)) => Some(dir.clone()),
            Some(QueueKey::On(true)) => crate::spool::default_dir(),
            Some(QueueKey::On(false)) | None => None,
        };
    }
    if args.queue_lifetime.is_none() {
        args.queue_lifetime = match &a.queue_lifetime {
            Some(LifetimeKey::Seconds(s)) => Some(s.to_string()),
            Some(LifetimeKey::Text(t)) => {
                crate::spool::parse_lifetime(t).map_err(bad("queue_lifetime"))?;
                Some(t.clone())
            }
            None => None,
        };
    }
    if a.lmtp == Some(true) {
        args.lmtp = true;
    }
    if a.requiretls == Some(true) {
        args.requiretls = true;
    }
    if !args.tls && args.starttls.is_none() {
        match a.tls {
            Some(TlsKey::Implicit) => args.tls = true,
            Some(TlsKey::None) => args.starttls = Some(StartTls::Never),
            Some(TlsKey::StartTls) | None => {
                args.starttls = a.starttls.map(|s| match s {
                    StartTlsKey::Required => StartTls::Required,
                    StartTlsKey::Opportunistic => StartTls::Opportunistic,
                });
            }
        }
    }
    // The user and the password come together: a user of the command line does not
    // take the account's password.
    if args.auth_user.is_none() {
        fill(&mut args.auth_user, &a.user);
        let given = args.auth_password_env.is_some()
            || args.auth_password_file.is_some()
            || args.xoauth2_token_env.is_some();
        if !given {
            fill(&mut args.auth_password_env, &a.password_env);
            fill(&mut args.auth_password_file, &a.password_file);
            fill(&mut args.password_command, &a.password_command);
        }
    }
    Ok(())
}

/// [`fill`], once `check` took the key's value.
fn checked<T: Clone, U>(
    flag: &mut Option<T>,
    key: &Option<T>,
    check: impl FnOnce(&T) -> Result<U, Failure>,
) -> Result<(), Failure> {
    if let (None, Some(value)) = (&flag, key) {
        check(value)?;
        *flag = Some(value.clone());
    }
    Ok(())
}

fn fill<T: Clone>(flag: &mut Option<T>, key: &Option<T>) {
    if flag.is_none() {
        flag.clone_from(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;

    fn config(text: &str) -> Config {
        Config {
            path: "test.toml".into(),
            system: false,
            file: toml::from_str(text).unwrap(),
        }
    }

    const FILE: &str = r#"
        [defaults]
        server = "mx.example:587"
        timeout = 30
        default = "home"

        [accounts.home]
        from = "me@home.example"
        user = "me"

        [accounts.work]
        server = "smtp.work.example"
        from = "Me@Work.example"
        lmtp = true
    "#;

    #[test]
    fn account_by_name_over_the_defaults() {
        let c = config(FILE).choose(Some("work"), None).unwrap();
        assert_eq!(c.name.as_deref(), Some("work"));
        assert_eq!(c.account.server.as_deref(), Some("smtp.work.example"));
        assert_eq!(c.account.timeout, Some(30.0), "from [defaults]");
        assert_eq!(c.account.lmtp, Some(true));
        assert!(config(FILE).choose(Some("nope"), None).is_err());
    }

    #[test]
    fn account_by_sender_address_any_case() {
        let c = config(FILE).choose(None, Some("me@work.EXAMPLE")).unwrap();
        assert_eq!(c.name.as_deref(), Some("work"));
        let c = config(FILE).choose(None, Some("other@x")).unwrap();
        assert_eq!(c.name.as_deref(), Some("home"), "default = \"home\"");
    }

    #[test]
    fn the_account_named_default_else_the_defaults_alone() {
        let c = config("[accounts.default]\nserver = \"a\"\n[accounts.b]\nserver = \"b\"")
            .choose(None, None)
            .unwrap();
        assert_eq!(c.name.as_deref(), Some("default"));
        let c = config("[defaults]\nserver = \"d\"\n[accounts.b]\nserver = \"b\"")
            .choose(None, None)
            .unwrap();
        assert_eq!(c.name, None);
        assert_eq!(c.account.server.as_deref(), Some("d"));
    }

    #[test]
    fn queue_is_a_directory_or_true_for_the_default_and_fills_queue_options() {
        let c = config("[defaults]\nqueue = \"/var/spool/x\"\nqueue_lifetime = \"2d\"")
            .choose(None, None)
            .unwrap();
        let mut args = <Args as clap::Parser>::try_parse_from(["smtp-send"]).unwrap();
        apply(&mut args, &c, false).unwrap();
        assert_eq!(args.queue, Some(PathBuf::from("/var/spool/x")));
        assert_eq!(args.queue_lifetime.as_deref(), Some("2d"));
        let c = config("[defaults]\nqueue = true\nqueue_lifetime = 60")
            .choose(None, None)
            .unwrap();
        let mut args =
            <Args as clap::Parser>::try_parse_from(["smtp-send", "--queue-lifetime", "1h"])
                .unwrap();
        apply(&mut args, &c, false).unwrap();
        assert_eq!(args.queue, crate::spool::default_dir());
        assert_eq!(args.queue_lifetime.as_deref(), Some("1h"), "the flag wins");
        let c = config("[defaults]\nqueue = false")
            .choose(None, None)
            .unwrap();
        let mut args = <Args as clap::Parser>::try_parse_from(["smtp-send"]).unwrap();
        apply(&mut args, &c, false).unwrap();
        assert_eq!(args.queue, None);
        assert!(toml::from_str::<File>("[defaults]\nqueue = 3").is_err());
    }

    /// `requiretls = true` sets the flag; beside `tls = "none"` or `starttls =
    /// "opportunistic"` of the same account (or its defaults) the file contradicts
    /// itself (78); implicit TLS or required STARTTLS go with it.
    #[test]
    fn the_requiretls_key_sets_the_flag_and_beside_weaker_tls_is_a_config_error() {
        let c = config("[defaults]\nrequiretls = true")
            .choose(None, None)
            .unwrap();
        let mut args = Args::try_parse_from(["smtp-send"]).unwrap();
        apply(&mut args, &c, false).unwrap();
        assert!(args.requiretls);
        for weaker in ["tls = \"none\"", "starttls = \"opportunistic\""] {
            let text = format!("[defaults]\n{weaker}\n[accounts.a]\nrequiretls = true");
            let e = config(&text).choose(Some("a"), None).unwrap_err();
            assert!(
                matches!(&e, Failure::Config(t) if t.contains("requiretls")),
                "{e:?}"
            );
        }
        // Verified TLS either way; cleartext without REQUIRETLS asked.
        for (tls, requiretls) in [
            ("tls = \"implicit\"", true),
            ("starttls = \"required\"", true),
            ("tls = \"none\"", false),
        ] {
            let text = format!("[defaults]\n{tls}\n[accounts.a]\nrequiretls = {requiretls}");
            assert!(config(&text).choose(Some("a"), None).is_ok(), "{tls}");
        }
    }

    /// A bad value is the file's error naming the key, when the key fills an option;
    /// a flag given instead leaves it unused and unchecked.
    #[test]
    fn a_bad_value_is_a_config_error_unless_a_flag_overrides_it() {
        let c = config("[accounts.w]\ntimeout = 0\nehlo = \"a b\"")
            .choose(Some("w"), None)
            .unwrap();
        let mut args = Args::try_parse_from(["smtp-send", "--ehlo", "x.example"]).unwrap();
        let e = apply(&mut args, &c, false).unwrap_err();
        assert!(
            matches!(&e, Failure::Config(t) if t == "test.toml: account \"w\": timeout 0: expected a positive number of seconds"),
            "{e:?}"
        );
        let mut args =
            Args::try_parse_from(["smtp-send", "--ehlo", "x.example", "--timeout", "5"]).unwrap();
        apply(&mut args, &c, false).unwrap();
        assert_eq!(args.timeout, Some(5.0));
    }

    #[test]
    fn the_proxy_key_fills_an_unset_proxy_flag() {
        let chosen = config("[defaults]\nproxy = \"socks5h://p:1080\"")
            .choose(None, None)
            .unwrap();
        let mut args = Args::try_parse_from(["smtp-send"]).unwrap();
        apply(&mut args, &chosen, false).unwrap();
        assert_eq!(args.proxy.as_deref(), Some("socks5h://p:1080"));
        let mut args = Args::try_parse_from(["smtp-send", "--proxy", "socks5://q:1"]).unwrap();
        apply(&mut args, &chosen, false).unwrap();
        assert_eq!(args.proxy.as_deref(), Some("socks5://q:1"), "the flag wins");
    }

    #[test]
    fn a_proxy_password_makes_the_file_private() {
        let dir = scratch("proxy");
        let p = dir.join("c.toml");
        let text = "[defaults]\nproxy = \"socks5://u:secret@p:1080\"\n";
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&p)
            .unwrap()
            .choose(None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("readable by") && !e.contains("secret"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(&p).unwrap().choose(None, None).is_ok());
        std::fs::write(&p, "[defaults]\nproxy = \"socks5://p:1080\"\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&p).unwrap().choose(None, None).is_ok(), "no password");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fresh directory of this test process.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("smtp-send-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn unknown_keys_and_a_password_key_are_refused() {
        let dir = scratch("cfg");
        let p = dir.join("c.toml");
        std::fs::write(&p, "[defaults]\npassword = \"x\"\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("password_command") && !e.contains("\"x\""),
            "{e}"
        );
        std::fs::write(&p, "[accounts.a]\nservr = \"x\"\n").unwrap();
        assert!(load(&p).is_err());
        std::fs::write(&p, "[accounts.a]\ndefault = \"a\"\n").unwrap();
        assert!(load(&p).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_password_file_readable_by_others_is_refused_by_group_only_for_a_user() {
        let dir = scratch("pw");
        let p = dir.join("pw");
        std::fs::write(&p, "secret\n").unwrap();
        let mode = |m: u32| std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m));
        mode(0o600).unwrap();
        assert!(check_private(&p, false).is_ok());
        assert!(check_private(&p, true).is_ok());
        mode(0o640).unwrap();
        let e = check_private(&p, false).unwrap_err().to_string();
        assert!(
            e.contains("readable by its group or others") && !e.contains("secret"),
            "{e}"
        );
        assert!(
            check_private(&p, true).is_ok(),
            "the system's: group may read"
        );
        mode(0o604).unwrap();
        assert!(check_private(&p, false).is_err());
        assert!(check_private(&p, true).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn password_command_output_less_its_line_end_and_never_in_debug() {
        let s = password_from_command("printf 'pa ss\\n'").unwrap();
        assert_eq!(s.0, "pa ss");
        assert!(!format!("{s:?}").contains("pa ss"));
        assert!(password_from_command("exit 3").is_err());
    }
}
