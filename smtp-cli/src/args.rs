//! The command line (clap derive). Names and meanings are the tool's interface.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Sends a message over SMTP or LMTP and says, by exit status (sysexits) and optionally
/// as JSON, what the server answered for every recipient.
#[derive(Debug, Parser)]
#[command(name = "smtp-send", version, about, max_term_width = 100)]
pub(crate) struct Args {
    /// The server: HOST, HOST:PORT, `[IPv6]:PORT`, or (LMTP) the path of a Unix socket
    /// (starting with `/` or `unix:`). Needed here or in the account.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,

    /// Deliver straight to each recipient domain's MX hosts (RFC 5321 §5.1) instead of
    /// a `--server`: recipients grouped per domain, DANE (RFC 7672) on a DNSSEC-secure
    /// chain, MTA-STS (RFC 8461), null MX (RFC 7505). TLS follows the domain's policy,
    /// not `--starttls`/`--insecure`; `--ca-file` adds roots for MTA-STS checks. Exit
    /// 0 when every recipient was delivered, 75 when any was deferred (or its outcome is
    /// unknown), else 69 when any bounced. Domains are delivered side by side, at most 8
    /// at once. Ignores the account's server, TLS, login and queue. Also the account's
    /// `mx = true` (with `resolver`, `allow_addresses`, `sts_cache`), unless a
    /// --server is given; in sendmail mode too.
    #[arg(long, conflicts_with_all = [
        "server", "insecure", "tls", "starttls", "lmtp", "proxy", "queue", "flush_queue",
        "list_queue", "serverinfo", "repeat", "concurrency", "sendmail", "auth_user",
        "auth_password_env", "auth_password_file", "xoauth2_token_env", "auth_mech",
        "allow_plaintext_auth", "connect_timeout",
    ])]
    pub mx: bool,

    /// With --mx: the validating DNS resolver whose AD bit is trusted (DNSSEC), on
    /// loopback (from another address no answer counts as secure, so no DANE);
    /// default 127.0.0.1, port 53.
    #[arg(
        long,
        value_name = "ADDR[:PORT]",
        requires = "mx",
        conflicts_with = "nameserver"
    )]
    pub resolver: Option<String>,

    /// With --mx: validate DNSSEC here instead (hickory-resolver), asking this server
    /// (port 53 by default) and trusting the keys of --trust-anchor.
    #[arg(long, value_name = "ADDR[:PORT]", requires_all = ["mx", "trust_anchor"])]
    pub nameserver: Option<String>,

    /// With --nameserver: the DNSSEC trust anchors, DS or DNSKEY records in zone-file
    /// format (as unbound's `trust-anchor-file`).
    #[arg(long, value_name = "FILE", requires = "nameserver")]
    pub trust_anchor: Option<PathBuf>,

    /// With --mx: admit MX addresses in this range, which the default refuses
    /// (loopback, private, link-local), e.g. `127.0.0.0/8` for a lab (repeatable).
    #[arg(long, value_name = "CIDR", requires = "mx")]
    pub allow_addresses: Vec<String>,

    /// With --mx: keep MTA-STS policies in this file between runs (fetched again only
    /// when the domain's policy id changes or the policy expires).
    #[arg(long, value_name = "FILE", requires = "mx")]
    pub sts_cache: Option<PathBuf>,

    /// REQUIRETLS (RFC 8689): the message goes with REQUIRETLS on MAIL FROM, over
    /// verified TLS only. Through a relay (--server, the account's; also its
    /// `requiretls` key): STARTTLS required (or --tls), the certificate verified; a
    /// relay without STARTTLS or REQUIRETLS is sent no MAIL FROM and the message is
    /// refused `550 5.7.30` (exit 69). Overrides the account's `tls`/`starttls`; beside
    /// --insecure or --starttls never|opportunistic, exit 64. With --mx: only to MX
    /// hosts whose TLS is verified (DANE on a DNSSEC-secure MX, or an MTA-STS `enforce`
    /// policy listing the host) and that offer REQUIRETLS; a recipient no such host
    /// could take is bounced `550 5.7.30`, one whose qualifying host failed otherwise
    /// is deferred. Refused beside a `TLS-Required: No` header field (64).
    #[arg(long, conflicts_with = "insecure")]
    pub requiretls: bool,

    /// The envelope sender (MAIL FROM); `<>` or an empty string for the null path.
    /// Needed here or as the account's `from`; it also picks the account whose `from`
    /// it is.
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,

    /// An envelope recipient (RCPT TO); repeat for several.
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,

    /// The configuration file (TOML) of the accounts; default
    /// `$XDG_CONFIG_HOME/smtp-send/config.toml`, else `/etc/smtp-send.toml`. An error
    /// in it (unreadable, invalid, a bad value of the account's, no such account, a
    /// password readable by others) exits 78 (EX_CONFIG); a wrong command line, 64. A
    /// key a flag overrides is not checked.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Use this account of the configuration file. Its keys fill what the command line
    /// leaves unset.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,

    /// Behave as sendmail: the message on standard input, sendmail's options (`-t`,
    /// `-f`, `-i` ...; `-bp` is --list-queue, `-q` --flush-queue). Also when invoked
    /// by the name `sendmail` (or `mailq`, which lists the spool).
    #[arg(long)]
    pub sendmail: bool,

    /// DSN: when to notify the sender (RFC 3461): `never`, or a comma-separated list of
    /// `success`, `failure`, `delay`. Sendmail mode: `-N`.
    #[arg(long, value_name = "WHEN")]
    pub notify: Option<String>,

    /// DSN: what a notice returns, `full` or `hdrs`. Sendmail mode: `-R`.
    #[arg(long, value_name = "WHAT")]
    pub ret: Option<String>,

    /// DSN: the envelope identifier. Sendmail mode: `-V`.
    #[arg(long, value_name = "ID")]
    pub envid: Option<String>,

    /// Print what the server offers (capabilities, TLS version, the certificate's
    /// subject, issuer and expiry) and exit; nothing is sent.
    #[arg(long, conflicts_with_all = ["sendmail", "repeat", "data", "subject", "body", "header", "attach"])]
    pub serverinfo: bool,

    /// Spool the message into DIR when sending fails for now (connection refused,
    /// timeout, 4xx, 421): exit 0 with a note on standard error, and `--flush-queue`
    /// sends it again. Only the recipients left are spooled; a message whose outcome
    /// is unknown (the connection failed after its end of data) is kept flagged, never
    /// sent again unless `--resend-unknown`. Also the account's `queue` key (`true`:
    /// this user's default spool).
    #[arg(long, value_name = "DIR")]
    pub queue: Option<PathBuf>,

    /// Send again the spooled messages that are due (--queue DIR, the account's queue,
    /// else `$XDG_STATE_HOME/smtp-send/queue` or `~/.local/state/smtp-send/queue`),
    /// for cron or a systemd timer. Exit 0 when each was delivered (or none was due),
    /// 69 when one bounced (a delivery report is written into DIR/bounces), 75 when
    /// one stays queued.
    #[arg(long, conflicts_with_all = ["sendmail", "serverinfo", "list_queue", "to", "data", "subject", "body", "header", "attach"])]
    pub flush_queue: bool,

    /// Show the spool (as mailq): each message's id, size, age, sender, recipients,
    /// attempts, state (queued, in flight, unknown) and last error.
    #[arg(long, conflicts_with_all = ["sendmail", "serverinfo", "to", "data", "subject", "body", "header", "attach"])]
    pub list_queue: bool,

    /// With --flush-queue: send again the messages whose outcome is unknown too (they
    /// may reach their recipients twice).
    #[arg(long, requires = "flush_queue")]
    pub resend_unknown: bool,

    /// With --flush-queue: send every queued message now, whatever its next attempt
    /// time (after the relay came back).
    #[arg(long, requires = "flush_queue")]
    pub ignore_backoff: bool,

    /// How long a spooled message is tried before it bounces: seconds, or e.g. `5d`,
    /// `12h`, `30m` (default 5d; the account's `queue_lifetime`).
    #[arg(long, value_name = "DURATION")]
    pub queue_lifetime: Option<String>,

    /// The account's `password_command` (never from the command line).
    #[arg(skip)]
    pub password_command: Option<String>,

    /// Send this file's bytes as the message (`-`: standard input). Line ends are
    /// normalised and dot-stuffing is done on the wire.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["subject", "body", "header", "attach"])]
    pub data: Option<PathBuf>,

    /// Build a message with this Subject.
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,

    /// Build a message with this text body.
    #[arg(long, value_name = "TEXT")]
    pub body: Option<String>,

    /// A header of the built message, `Name: value` (repeatable).
    #[arg(long, value_name = "NAME: VALUE")]
    pub header: Vec<String>,

    /// Attach this file to the built message (repeatable).
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,

    /// Sign the message with DKIM (RFC 6376) with the private key in this PEM file: RSA
    /// (PKCS#8 or PKCS#1) of 2048 bits or more, or Ed25519 (PKCS#8). Needs
    /// --dkim-selector and --dkim-domain.
    #[arg(
        long,
        value_name = "FILE",
        requires = "dkim_selector",
        requires = "dkim_domain"
    )]
    pub dkim_key: Option<PathBuf>,

    /// The DKIM selector (`s=`): the key is published at S._domainkey.D.
    #[arg(
        long,
        value_name = "S",
        requires = "dkim_key",
        requires = "dkim_domain"
    )]
    pub dkim_selector: Option<String>,

    /// The DKIM signing domain (`d=`).
    #[arg(
        long,
        value_name = "D",
        requires = "dkim_key",
        requires = "dkim_selector"
    )]
    pub dkim_domain: Option<String>,

    /// Implicit TLS (RFC 8314); the port defaults to 465.
    #[arg(long, conflicts_with = "starttls")]
    pub tls: bool,

    /// STARTTLS policy. Default: `required` when credentials are given, otherwise
    /// `opportunistic`.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub starttls: Option<StartTls>,

    /// Trust the certificates in this PEM file (instead of the Mozilla roots; with --mx,
    /// besides them).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Do not verify the server's certificate (a warning goes to standard error).
    #[arg(long, conflicts_with = "ca_file")]
    pub insecure: bool,

    /// The user name to authenticate as.
    #[arg(long, value_name = "USER")]
    pub auth_user: Option<String>,

    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["auth_password_file", "xoauth2_token_env"])]
    pub auth_password_env: Option<String>,

    /// Read the password from this file (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "xoauth2_token_env")]
    pub auth_password_file: Option<PathBuf>,

    /// Authenticate with XOAUTH2, the OAuth 2.0 access token from this variable.
    #[arg(long, value_name = "VAR")]
    pub xoauth2_token_env: Option<String>,

    /// Use this SASL mechanism only (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER).
    #[arg(long, value_name = "NAME")]
    pub auth_mech: Option<String>,

    /// Allow credentials on a session that is not encrypted.
    #[arg(long)]
    pub allow_plaintext_auth: bool,

    /// The name sent with EHLO/LHLO (default: `localhost`).
    #[arg(long, value_name = "NAME")]
    pub ehlo: Option<String>,

    /// Speak LMTP (RFC 2033); the port defaults to 24.
    #[arg(long)]
    pub lmtp: bool,

    /// Do not use PIPELINING even when offered.
    #[arg(long)]
    pub no_pipelining: bool,

    /// Do not use CHUNKING (BDAT) even when offered.
    #[arg(long)]
    pub no_chunking: bool,

    /// The adapter that runs the session.
    #[arg(long, value_enum, default_value_t = Runtime::Blocking)]
    pub runtime: Runtime,

    /// Replaces every per-command timeout (seconds).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// How long name resolution and the TCP connect (and a proxy's handshake) may take
    /// (seconds).
    #[arg(long, value_name = "SECONDS")]
    pub connect_timeout: Option<f64>,

    /// Connect through a SOCKS5 proxy: `socks5://[USER:PASS@]HOST:PORT` (the server's
    /// name resolved here) or `socks5h://...` (resolved by the proxy). TLS is still
    /// verified against the server's name.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// Send the message N times on one connection (pipelined where the server allows).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,

    /// Send the --repeat messages through a pool of N connections, pipelining each.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,

    /// Print the session on standard error as C:/S: lines (AUTH payloads redacted).
    #[arg(long)]
    pub transcript: bool,

    /// With --transcript, show the message data itself instead of a line count.
    #[arg(long, requires = "transcript")]
    pub transcript_body: bool,

    /// Print one JSON object describing the session on standard output.
    #[arg(long)]
    pub json: bool,
}

/// `--starttls` (also in a spool file, by the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StartTls {
    /// Fail (exit 76) unless the session can be encrypted.
    Required,
    /// Use STARTTLS when offered; go on in cleartext otherwise.
    Opportunistic,
    /// Never use STARTTLS.
    Never,
}

/// `--runtime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Runtime {
    /// smtp-blocking (std I/O, no async runtime).
    Blocking,
    /// smtp-tokio on a current-thread Tokio runtime.
    Tokio,
    /// smtp-smol.
    Smol,
}
