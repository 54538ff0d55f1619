//! Session configuration.

use alloc::vec::Vec;
use core::time::Duration;

use crate::command::{EhloName, Mechanism};
use crate::reply::ReplyLimits;
use crate::secret::Credentials;

/// What to do about STARTTLS on a connection that starts in cleartext (RFC 3207).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsPolicy {
    /// Upgrade or fail: a missing or refused STARTTLS ends the session with
    /// [`Error::TlsRequired`](crate::Error::TlsRequired). Never falls back to cleartext.
    Required,
    /// Upgrade when the server offers it; otherwise go on in cleartext (credentials are
    /// still withheld unless [`Config::allow_plaintext_auth`] is set).
    Opportunistic,
    /// Never send STARTTLS.
    Disabled,
}

/// How the connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// The connection is already encrypted when the session starts (RFC 8314 implicit
    /// TLS, port 465): the adapter completed the handshake before the greeting.
    Implicit,
    /// Cleartext at first, upgraded with STARTTLS according to the policy.
    StartTls(TlsPolicy),
}

/// RFC 5321 §4.5.3.2 client timeouts, each covering a whole reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the 220 greeting (§4.5.3.2.1: 5 minutes).
    pub greeting: Duration,
    /// MAIL (§4.5.3.2.2: 5 minutes).
    pub mail: Duration,
    /// Each RCPT (§4.5.3.2.3: 5 minutes).
    pub rcpt: Duration,
    /// DATA, waiting for 354 (§4.5.3.2.4: 2 minutes).
    pub data_init: Duration,
    /// Each block of content written, and each non-final BDAT reply (§4.5.3.2.5: 3 minutes).
    pub data_block: Duration,
    /// The reply to the end of data or to `BDAT LAST` (§4.5.3.2.6: 10 minutes).
    pub data_end: Duration,
    /// The TLS handshake after STARTTLS (not in RFC 5321; ours: 1 minute).
    pub tls_handshake: Duration,
    /// Every other command: EHLO, STARTTLS, AUTH, RSET, NOOP, VRFY, QUIT (5 minutes).
    pub command: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        Timeouts {
            greeting: Duration::from_secs(5 * MIN),
            mail: Duration::from_secs(5 * MIN),
            rcpt: Duration::from_secs(5 * MIN),
            data_init: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            data_end: Duration::from_secs(10 * MIN),
            tls_handshake: Duration::from_secs(MIN),
            command: Duration::from_secs(5 * MIN),
        }
    }
}

impl Timeouts {
    /// Every timeout set to `d` (what a command-line `--timeout` means).
    pub fn all(d: Duration) -> Self {
        Timeouts {
            greeting: d,
            mail: d,
            rcpt: d,
            data_init: d,
            data_block: d,
            data_end: d,
            tls_handshake: d,
            command: d,
        }
    }
}

/// Everything the client needs to know before the first byte.
#[derive(Clone, Debug)]
pub struct Config {
    /// The name sent with EHLO, HELO or LHLO.
    pub ehlo_name: EhloName,
    /// Implicit TLS or a STARTTLS policy. Default: STARTTLS required.
    pub tls: TlsMode,
    /// Speak LMTP (RFC 2033): LHLO, and one final reply per accepted recipient.
    pub lmtp: bool,
    /// Authenticate with these after EHLO (and after TLS, unless plaintext is allowed).
    pub credentials: Option<Credentials>,
    /// SASL mechanisms in order of preference; the first one the server also offers wins.
    pub auth_preference: Vec<Mechanism>,
    /// Allow credentials on a cleartext session. Off by default (RFC 4954 §9).
    pub allow_plaintext_auth: bool,
    /// Use PIPELINING (RFC 2920) when the server offers it. Default: on.
    pub pipelining: bool,
    /// Use CHUNKING/BDAT (RFC 3030) when the server offers it. Default: on.
    pub chunking: bool,
    /// With PIPELINING and CHUNKING, a body of at most this many octets (declared size)
    /// goes out as one `BDAT n LAST` in the same flight as MAIL and RCPT. Default 64 KiB.
    pub bdat_inline_limit: u64,
    /// The largest body chunk the core asks for at a time ([`Output::SendBody`](crate::Output::SendBody)).
    pub body_chunk: usize,
    /// Abort a transaction when any recipient is rejected, instead of delivering to the
    /// accepted ones. With this on, DATA/BDAT wait for every RCPT reply.
    pub abort_on_rejected_recipient: bool,
    /// The timer table.
    pub timeouts: Timeouts,
    /// Caps on reply lines and sizes.
    pub reply_limits: ReplyLimits,
    /// Most octets (commands and BDAT content) written and not yet answered. Bounds
    /// memory on both sides and keeps a blocking writer from deadlocking.
    pub window: usize,
    /// Most server challenges in one AUTH exchange.
    pub max_auth_rounds: u8,
}

impl Config {
    /// A configuration with the defaults: STARTTLS required, pipelining and chunking on,
    /// RFC 5321 timeouts, no credentials.
    pub fn new(ehlo_name: EhloName) -> Self {
        Config {
            ehlo_name,
            tls: TlsMode::StartTls(TlsPolicy::Required),
            lmtp: false,
            credentials: None,
            auth_preference: default_auth_preference(),
            allow_plaintext_auth: false,
            pipelining: true,
            chunking: true,
            bdat_inline_limit: 64 * 1024,
            body_chunk: 64 * 1024,
            abort_on_rejected_recipient: false,
            timeouts: Timeouts::default(),
            reply_limits: ReplyLimits::default(),
            window: 1024 * 1024,
            max_auth_rounds: 8,
        }
    }
}

/// Strongest first: token mechanisms, then challenge-response, then the cleartext ones.
fn default_auth_preference() -> Vec<Mechanism> {
    let mut v = Vec::new();
    for name in ["OAUTHBEARER", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN"] {
        if let Ok(m) = Mechanism::new(name) {
            v.push(m);
        }
    }
    v
}
