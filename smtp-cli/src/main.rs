//! `smtp-send`: a command-line SMTP/LMTP client for sysadmins, scripts and tests, on
//! any of the three adapters (smtp-blocking, smtp-tokio, smtp-smol). See `--help`.
//!
//! The tool is protocol-free: it maps options onto an adapter's `Builder`, and the
//! adapter's `Report`s and error onto output and a sysexits status (see [`exit`]).

mod adapter;
mod args;
mod config;
mod dkim;
mod exit;
mod message;
mod mx;
mod output;
mod requiretls;
mod sendmail;
mod serverinfo;
mod session;
mod spool;
mod tls;
mod transcript;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use smtp_proto::command::{EhloName, EnvId, ForwardPath, Mechanism, Notify, Ret, ReversePath};
use smtp_proto::{Config, Credentials, Timeouts, TlsMode, TlsPolicy};

use args::{Args, StartTls};
use exit::{ExitStatus, Failure, Invalid};
use sendmail::args::SendmailArgs;
use session::{Dsn, Outcome, Plan, Progress, Server};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parsed = if sendmail::invoked(&argv) {
        sendmail::command_line(&argv).map(|(a, sm)| (a, Some(sm)))
    } else {
        Args::try_parse_from(&argv).map(|a| (a, None))
    };
    let (args, sm) = match parsed {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Ok
            });
        }
    };
    ExitCode::from(run(args, sm.as_ref()))
}

pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "smtp-send: {line}");
}

fn run(mut args: Args, sm: Option<&SendmailArgs>) -> ExitStatus {
    if args.transcript {
        transcript::install(args.transcript_body);
    }
    // The command line's own connection options, before the account fills the rest:
    // what a spooled message is sent again with.
    if let Some(option) = mx::stray_option(&args) {
        let f = Failure::Usage(format!("{option} needs --mx"));
        return finish(&args, &Outcome::default(), Some(f));
    }
    let mut given = spool::Settings::given(&args);
    // A relay's option of the command line, beside the account's `mx = true`.
    let relay_option = (!args.mx).then(|| mx::relay_option(&args)).flatten();
    let message = match setup(&mut args, sm) {
        Ok(m) => m,
        Err(f) if args.mx => return mx::failed(&args, f),
        Err(f) => return finish(&args, &Outcome::default(), Some(f)),
    };
    // The flag's or the account's REQUIRETLS, beside a TLS option of the command line
    // asking for less (an account's is overridden, `requiretls`).
    if let Some(option) = requiretls::conflicting_option(&given).filter(|_| args.requiretls) {
        let f = Failure::Usage(format!(
            "--requiretls with {option}: REQUIRETLS needs verified TLS (RFC 8689 §4.1)"
        ));
        return finish(&args, &Outcome::default(), Some(f));
    }
    if let Some(option) = relay_option.filter(|_| args.mx) {
        let f = Failure::Usage(format!(
            "{option}: the account has mx = true (name a relay with --server)"
        ));
        return mx::failed(&args, f);
    }
    if args.mx {
        return mx::run(&args, message);
    }
    if args.flush_queue || args.list_queue {
        return spool::command(&args)
            .unwrap_or_else(|f| finish(&args, &Outcome::default(), Some(f)));
    }
    if args.queue.is_some() && (args.repeat > 1 || args.concurrency > 1) {
        let f = Failure::Usage("the spool (--queue, or the account's queue) takes one message: not with --repeat or --concurrency".into());
        return finish(&args, &Outcome::default(), Some(f));
    }
    given.config.clone_from(&args.config);
    given.account.clone_from(&args.account);
    let plan = match plan(&args, message) {
        Ok(p) => p,
        Err(f) => return finish(&args, &Outcome::default(), Some(f)),
    };
    if args.serverinfo {
        return serverinfo::run(&args, &plan);
    }
    let bar = Bar::new(&args);
    let mut left = plan.repeat;
    let mut more = || left.checked_sub(1).map(|l| left = l).is_some();
    let outcome = session::send(args.runtime, &plan, &bar, &mut more);
    bar.done();
    if plan.repeat > 1 {
        let secs = outcome.elapsed.as_secs_f64();
        let n = outcome.reports.len();
        let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
        say(&format!(
            "{n} messages in {secs:.2} s ({rate:.1} messages per second)"
        ));
    }
    if let Some(e) = &outcome.quit_error {
        say(&format!("warning: QUIT failed: {e}"));
    }
    let mut outcome = outcome;
    let fates = args
        .queue
        .is_some()
        .then(|| spool::fate::fates(&outcome, plan.to.len()));
    let failure = outcome
        .error
        .take()
        .map(|e| requiretls::unencrypted(plan.requiretls, Failure::Session(e)));
    finish_then(&args, &outcome, failure, |status| match fates {
        Some(fates) => spool::keep(&args, &given, &plan.message, &fates, status),
        None => status,
    })
}

/// Sendmail mode's options and message, and the account, into `args`; the message of
/// sendmail mode (read from standard input) is returned.
fn setup(args: &mut Args, sm: Option<&SendmailArgs>) -> Result<Option<Vec<u8>>, Failure> {
    let mut message = None;
    if let Some(sm) = sm {
        for w in &sm.warnings {
            say(&format!("warning: {w}"));
        }
        // The message is standard input: an option that says otherwise would be lost.
        let other = [
            (args.data.is_some(), "--data"),
            (args.subject.is_some(), "--subject"),
            (args.body.is_some(), "--body"),
            (!args.header.is_empty(), "--header"),
            (!args.attach.is_empty(), "--attach"),
        ];
        if let Some((_, option)) = other.into_iter().find(|(given, _)| *given) {
            return Err(Failure::Usage(format!(
                "{option}: in sendmail mode the message is standard input"
            )));
        }
        sendmail::into_args(args, sm);
        // `-bp` and `-q` (or the long options) are the spool's: no message to read.
        if !args.list_queue && !args.flush_queue {
            message = Some(sendmail::read_stdin(sm)?);
        } else if let Some(to) = args.to.first() {
            // `-bp`/`-q` send nothing: a recipient would be silently dropped.
            return Err(Failure::Usage(format!(
                "{to}: listing or running the spool (-bp, -q) takes no recipients"
            )));
        }
    }
    if let Some(path) = config::locate(args.config.as_deref()) {
        let file = config::load(&path)?;
        let sender = args
            .from
            .clone()
            .or_else(|| message.as_deref().and_then(sendmail::header_sender));
        let chosen = file.choose(args.account.as_deref(), sender.as_deref())?;
        config::apply(args, &chosen, sm.is_some())?;
        // What is in effect, for the spool to read again at each attempt.
        args.config = Some(std::path::absolute(&path).unwrap_or(path));
        args.account = chosen.name;
    } else if let Some(name) = &args.account {
        // No such account, as msmtp says (EX_CONFIG) when it has no file to look in.
        return Err(Failure::Config(format!(
            "--account {name:?}: no configuration file (--config, \
             $XDG_CONFIG_HOME/smtp-send/config.toml or {})",
            config::SYSTEM_FILE
        )));
    }
    match (sm, message) {
        (Some(sm), Some(m)) => sendmail::prepare(args, sm, m).map(Some),
        _ => Ok(None),
    }
}

/// Prints the result and returns the exit status.
fn finish(args: &Args, outcome: &Outcome, failure: Option<Failure>) -> ExitStatus {
    finish_then(args, outcome, failure, |status| status)
}

/// [`finish`], with `then` deciding the status once the problems are printed (the
/// spool takes what is left to try), before the JSON (whose `exit_code` is the
/// process's).
fn finish_then(
    args: &Args,
    outcome: &Outcome,
    failure: Option<Failure>,
    then: impl FnOnce(ExitStatus) -> ExitStatus,
) -> ExitStatus {
    let status = exit::status(failure.as_ref(), &outcome.reports, args.repeat as usize);
    let error = failure.as_ref().map(|f| f.to_string());
    if let Some(e) = &error {
        say(&format!("error: {e}"));
    }
    for line in output::problems(outcome, &args.to) {
        say(&line);
    }
    let status = then(status);
    if args.json {
        let v = output::json(
            &output::escaped(args.server.as_deref().unwrap_or_default()),
            &args.to,
            outcome,
            error,
            status,
        );
        let _ = writeln!(std::io::stdout().lock(), "{v}");
    }
    status
}

/// `--server` and the `server` key: `unix:PATH` or `/PATH`, `[v6]:port`, `host:port`,
/// `host`, or a bare IPv6.
pub(crate) fn parse_server(s: &str) -> Result<Server, Invalid> {
    let bad = |why: &str| Invalid::of(format!("{s:?}"), why);
    if let Some(path) = s.strip_prefix("unix:") {
        return Ok(Server::Unix(PathBuf::from(path)));
    }
    if s.starts_with('/') {
        return Ok(Server::Unix(PathBuf::from(s)));
    }
    let port = |p: &str| p.parse::<u16>().map_err(|_| bad("invalid port"));
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(port(p)?)),
            None if after.is_empty() => (host, None),
            None => return Err(bad("expected ':PORT' after ']'")),
        }
    } else if s.matches(':').count() > 1 {
        (s, None)
    } else if let Some((h, p)) = s.split_once(':') {
        (h, Some(port(p)?))
    } else {
        (s, None)
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    Ok(Server::Tcp {
        host: host.to_owned(),
        port,
    })
}

/// `option`'s seconds, if given.
fn seconds(option: &str, v: Option<f64>) -> Result<Option<Duration>, Failure> {
    v.map(|s| positive_seconds(s).map_err(|e| e.flag(option)))
        .transpose()
}

/// `--timeout` and the `timeout` key (also `--connect-timeout`): seconds, more than 0.
pub(crate) fn positive_seconds(s: f64) -> Result<Duration, Invalid> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Invalid::of(s, "expected a positive number of seconds"))
}

/// `--ehlo` and the `ehlo` key: the name sent with EHLO/LHLO.
pub(crate) fn ehlo_name(n: &str) -> Result<EhloName, Invalid> {
    EhloName::new(n).map_err(|e| Invalid::of(format!("{n:?}"), e))
}

/// `--auth-mech` and the `auth` key: a SASL mechanism's name.
pub(crate) fn mechanism(m: &str) -> Result<Mechanism, Invalid> {
    Mechanism::new(m).map_err(|e| Invalid::of(format!("{m:?}"), e))
}

/// `--proxy` and the `proxy` key; the URL is not shown (it may hold a password).
pub(crate) fn proxy(url: &str) -> Result<smtp_io::socks::Proxy, Invalid> {
    url.parse().map_err(Invalid::withheld)
}

/// `--from` and the `from` key: the envelope sender.
pub(crate) fn sender(from: &str) -> Result<ReversePath, Invalid> {
    ReversePath::new(from).map_err(|e| Invalid::of(format!("{from:?}"), e))
}

fn env_secret(var: &str) -> Result<String, Failure> {
    std::env::var(var).map_err(|_| Failure::Usage(format!("environment variable {var} is not set")))
}

/// The credentials of `--auth-*`; the secret never appears in an error.
fn credentials(args: &Args) -> Result<Option<Credentials>, Failure> {
    let Some(user) = &args.auth_user else {
        let password = [
            (args.auth_password_env.is_some(), "--auth-password-env"),
            (args.auth_password_file.is_some(), "--auth-password-file"),
            (args.xoauth2_token_env.is_some(), "--xoauth2-token-env"),
            (args.auth_mech.is_some(), "--auth-mech"),
        ];
        return match password.into_iter().find(|(given, _)| *given) {
            Some((_, option)) => Err(Failure::Usage(format!(
                "{option} needs --auth-user (or the account's user)"
            ))),
            None => Ok(None),
        };
    };
    let bad = |e: smtp_proto::CredentialsError| Failure::Usage(format!("credentials: {e}"));
    if let Some(var) = &args.xoauth2_token_env {
        let token = env_secret(var)?;
        return Credentials::oauth2(user.clone(), token)
            .map(Some)
            .map_err(bad);
    }
    let password = if let Some(var) = &args.auth_password_env {
        env_secret(var)?
    } else if let Some(path) = &args.auth_password_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
        text.lines().next().unwrap_or_default().to_owned()
    } else if let Some(command) = &args.password_command {
        config::password_from_command(command)?.0
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {user}: "))
            .map_err(|e| Failure::Input(format!("cannot read the password: {e}")))?
    } else {
        return Err(Failure::Usage(
            "--auth-user needs --auth-password-env, --auth-password-file or \
             --xoauth2-token-env when standard input is not a terminal"
                .into(),
        ));
    };
    Credentials::password(user.clone(), password)
        .map(Some)
        .map_err(bad)
}

/// A value needed from the command line or the account.
fn needed<'a>(value: &'a Option<String>, option: &str, key: &str) -> Result<&'a str, Failure> {
    value
        .as_deref()
        .ok_or_else(|| Failure::Usage(format!("{option} is needed (or the account's {key})")))
}

/// `--notify`, `--ret`, `--envid` (sendmail's `-N`, `-R`, `-V`): RFC 3461's parameters.
fn dsn(args: &Args) -> Result<Dsn, Failure> {
    let bad = |option: &str, v: &str| Failure::Usage(format!("{option} {v:?}: see --help"));
    let notify = match args.notify.as_deref() {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("never") => Some(Notify::never()),
        Some(v) => {
            let mut on = [false; 3];
            for word in v.split(',').map(str::trim) {
                let i = ["success", "failure", "delay"]
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case(word))
                    .ok_or_else(|| bad("--notify", v))?;
                on[i] = true;
            }
            Some(Notify::on(on[0], on[1], on[2]).ok_or_else(|| bad("--notify", v))?)
        }
    };
    let ret = match args.ret.as_deref() {
        None => None,
        Some(v) if v.eq_ignore_ascii_case("full") => Some(Ret::Full),
        Some(v) if v.eq_ignore_ascii_case("hdrs") => Some(Ret::Headers),
        Some(v) => return Err(bad("--ret", v)),
    };
    let envid = args
        .envid
        .as_deref()
        .map(|v| EnvId::new(v).map_err(|e| Failure::Usage(format!("--envid {v:?}: {e}"))))
        .transpose()?;
    Ok(Dsn { notify, ret, envid })
}

/// Everything from the command line, checked, before any connection. `message` is
/// sendmail mode's (else the options say where it is).
pub(crate) fn plan(args: &Args, message: Option<Vec<u8>>) -> Result<Plan, Failure> {
    let server = parse_server(needed(&args.server, "--server", "server")?)
        .map_err(|e| e.flag("--server"))?;
    let proxy = args
        .proxy
        .as_deref()
        .map(|url| proxy(url).map_err(|e| e.flag("--proxy")))
        .transpose()?;
    if let (Some(_), Server::Unix(path)) = (&proxy, &server) {
        return Err(Failure::Usage(format!(
            "--proxy: the server is a Unix socket ({}), not reached through a proxy",
            path.display()
        )));
    }
    // --serverinfo sends nothing: the null path stands for the unused sender.
    let (from, to) = if args.serverinfo {
        (String::new(), Vec::new())
    } else {
        if args.to.is_empty() {
            return Err(Failure::Usage("--to is needed".into()));
        }
        (
            needed(&args.from, "--from", "from")?.to_owned(),
            args.to.clone(),
        )
    };
    let from = sender(&from).map_err(|e| Failure::Data(e.named("--from")))?;
    let to = to
        .iter()
        .map(|a| ForwardPath::new(a).map_err(|e| Failure::Data(format!("--to {a:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let ehlo = args
        .ehlo
        .as_deref()
        .map(|n| ehlo_name(n).map_err(|e| e.flag("--ehlo")))
        .transpose()?;
    let auth_mech = args
        .auth_mech
        .as_deref()
        .map(|m| mechanism(m).map_err(|e| e.flag("--auth-mech")))
        .transpose()?;
    if args.insecure {
        say("warning: --insecure: the server's certificate is not verified");
    }
    let verifier = tls::verifier(args.ca_file.as_deref(), args.insecure)?;
    let tls_config = verifier.map(tls::config).transpose()?;
    let timeout = seconds("--timeout", args.timeout)?;
    let connect_timeout = seconds("--connect-timeout", args.connect_timeout)?;
    let dsn = dsn(args)?;
    let message = match message {
        Some(m) => m,
        None if args.serverinfo => Vec::new(),
        None => message::load(args)?,
    };
    if let Some(offset) = message.iter().position(|&b| b == 0) {
        return Err(Failure::Data(format!(
            "the message has a NUL octet at offset {offset}"
        )));
    }
    requiretls::tls_required_no(args.requiretls, &message)?;
    let message = dkim::sign(args, message)?;
    let credentials = credentials(args)?;
    let mut config = Config::new(ehlo.unwrap_or_else(EhloName::localhost));
    config.tls = match args.starttls {
        _ if args.tls => TlsMode::Implicit,
        // RFC 8689 §4.1: REQUIRETLS goes over TLS only, verified (a weaker option of
        // the command line was refused; the account's yields).
        _ if args.requiretls => TlsMode::StartTls(TlsPolicy::Required),
        Some(StartTls::Required) => TlsMode::StartTls(TlsPolicy::Required),
        Some(StartTls::Opportunistic) => TlsMode::StartTls(TlsPolicy::Opportunistic),
        Some(StartTls::Never) => TlsMode::StartTls(TlsPolicy::Disabled),
        None if credentials.is_some() => TlsMode::StartTls(TlsPolicy::Required),
        None => TlsMode::StartTls(TlsPolicy::Opportunistic),
    };
    config.credentials = credentials;
    if let Some(m) = auth_mech {
        config.auth_preference = vec![m];
    }
    config.allow_plaintext_auth = args.allow_plaintext_auth;
    config.lmtp = args.lmtp;
    config.pipelining = !args.no_pipelining;
    config.chunking = !args.no_chunking;
    if let Some(t) = timeout {
        config.timeouts = Timeouts::all(t);
    }
    Ok(Plan {
        server,
        config,
        tls_config,
        connect_timeout,
        proxy,
        from,
        to,
        dsn,
        message,
        repeat: args.repeat as usize,
        concurrency: args.concurrency as usize,
        requiretls: args.requiretls,
    })
}

/// The `--repeat` progress bar, shown only on a terminal.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(args: &Args) -> Bar {
        let show = args.repeat > 1 && !args.transcript && std::io::stderr().is_terminal();
        Bar(show.then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(u64::from(args.repeat)),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} messages, {per_sec}, {eta}")
            {
                bar.set_style(style);
            }
            bar
        }))
    }

    fn done(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn reports(&self, n: usize) {
        if let Some(b) = &self.0 {
            b.inc(n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        let tcp = |s: &str| match parse_server(s).unwrap() {
            Server::Tcp { host, port } => (host, port),
            Server::Unix(p) => panic!("{p:?}"),
        };
        assert_eq!(tcp("mx.example"), ("mx.example".into(), None));
        assert_eq!(tcp("mx.example:587"), ("mx.example".into(), Some(587)));
        assert_eq!(tcp("[::1]:2525"), ("::1".into(), Some(2525)));
        assert_eq!(tcp("::1"), ("::1".into(), None));
        assert!(matches!(
            parse_server("/run/lmtp").unwrap(),
            Server::Unix(_)
        ));
        assert!(matches!(
            parse_server("unix:sock").unwrap(),
            Server::Unix(_)
        ));
        assert!(parse_server("mx:99999").is_err());
        assert!(parse_server(":25").is_err());
    }
}
