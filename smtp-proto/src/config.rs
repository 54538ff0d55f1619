//! Session configuration.

use alloc::vec::Vec;
use core::fmt;
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
    /// TLS from the first byte (RFC 8314 implicit TLS, port 465): the client's first
    /// output is [`Output::StartTls`](crate::Output::StartTls), before it reads the
    /// greeting, and the caller hands back the handshake's outcome as for STARTTLS.
    Implicit,
    /// Cleartext at first, upgraded with STARTTLS according to the policy.
    StartTls(TlsPolicy),
}

/// RFC 5321 §4.5.3.2 client timeouts, each covering a whole reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// Each timeout with the name of its field, for [`ConfigError::Timeout`].
fn named(t: &Timeouts) -> [(&'static str, Duration); 8] {
    [
        ("timeouts.greeting", t.greeting),
        ("timeouts.mail", t.mail),
        ("timeouts.rcpt", t.rcpt),
        ("timeouts.data_init", t.data_init),
        ("timeouts.data_block", t.data_block),
        ("timeouts.data_end", t.data_end),
        ("timeouts.tls_handshake", t.tls_handshake),
        ("timeouts.command", t.command),
    ]
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
    /// The longest timeout [`Config::validate`] accepts: one day. A longer one is no real
    /// deadline (a silent server would hold the session for good), and an adapter's
    /// clock may not be able to represent it.
    pub const MAX: Duration = Duration::from_secs(24 * 60 * 60);

    /// Every timeout set to `d` (what a command-line `--timeout` means).
    pub const fn all(d: Duration) -> Self {
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
#[non_exhaustive]
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
    /// goes out as one `BDAT n LAST` in the same flight as MAIL and RCPT. Default 64 KiB;
    /// at least 1 (it is also the chunk size asked for then), at most `usize::MAX`.
    pub bdat_inline_limit: u64,
    /// The largest body chunk the core asks for at a time ([`Output::SendBody`](crate::Output::SendBody)).
    /// At least 1.
    pub body_chunk: usize,
    /// Abort a transaction when any recipient is rejected, instead of delivering to the
    /// accepted ones. With this on, DATA/BDAT wait for every RCPT reply.
    pub abort_on_rejected_recipient: bool,
    /// The timer table. Each timeout more than zero and at most [`Timeouts::MAX`].
    pub timeouts: Timeouts,
    /// Caps on reply lines and sizes.
    pub reply_limits: ReplyLimits,
    /// Most octets (commands and BDAT content) written and not yet answered. Bounds
    /// memory on both sides and keeps a blocking writer from deadlocking. At least 1.
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

    /// Checks that no field would make a session hang or loop. A [`Client`](crate::Client)
    /// built with a configuration this refuses ends at once, before writing anything,
    /// with [`Error::InvalidConfig`](crate::Error::InvalidConfig); adapters check before
    /// they connect.
    ///
    /// Every other value is safe: reply limits too small for real replies end the
    /// session with a reply error, and `max_auth_rounds` caps AUTH at any value.
    ///
    /// # Errors
    /// The first field found out of range, in declaration order.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let inline = self.bdat_inline_limit;
        if inline == 0 || usize::try_from(inline).is_err() {
            return Err(ConfigError::BdatInlineLimit(inline));
        }
        if self.body_chunk == 0 {
            return Err(ConfigError::ZeroBodyChunk);
        }
        if let Some((field, value)) = named(&self.timeouts)
            .into_iter()
            .find(|(_, d)| d.is_zero() || *d > Timeouts::MAX)
        {
            return Err(ConfigError::Timeout { field, value });
        }
        if self.window == 0 {
            return Err(ConfigError::ZeroWindow);
        }
        Ok(())
    }
}

/// A [`Config`] field that would make a session hang or loop; see [`Config::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `bdat_inline_limit` (the value) is 0, or more than `usize::MAX`: an inline
    /// message's content is asked for in chunks of that size, so one declared smaller
    /// than it is would be asked for in empty chunks without end.
    BdatInlineLimit(u64),
    /// `body_chunk` is 0: content would be asked for in empty chunks without end.
    ZeroBodyChunk,
    /// A timeout is zero (every reply overdue as soon as it is awaited) or longer than
    /// [`Timeouts::MAX`] (no real deadline).
    Timeout {
        /// The field, as `timeouts.greeting`.
        field: &'static str,
        /// Its value.
        value: Duration,
    },
    /// `window` is 0: with PIPELINING no command could ever be written, and nothing
    /// would be awaited either.
    ZeroWindow,
}

impl ConfigError {
    /// The name of the field at fault, as in [`Config`] (`timeouts.greeting` ...).
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::BdatInlineLimit(_) => "bdat_inline_limit",
            ConfigError::ZeroBodyChunk => "body_chunk",
            ConfigError::Timeout { field, .. } => field,
            ConfigError::ZeroWindow => "window",
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Config::{}: ", self.field())?;
        match self {
            ConfigError::BdatInlineLimit(v) => {
                write!(f, "{v} is not between 1 and the largest chunk in memory")
            }
            ConfigError::ZeroBodyChunk => f.write_str("0 would ask for empty chunks without end"),
            ConfigError::Timeout { value, .. } if value.is_zero() => {
                f.write_str("0 makes every reply overdue at once")
            }
            ConfigError::Timeout { value, .. } => write!(
                f,
                "{value:?} is over the longest accepted, {:?}",
                Timeouts::MAX
            ),
            ConfigError::ZeroWindow => f.write_str("0 would never let a pipelined command out"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

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

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    fn config() -> Config {
        Config::new(EhloName::localhost())
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
    }

    #[test]
    fn each_field_that_would_hang_is_refused_and_its_smallest_good_value_accepted() {
        let check = |f: fn(&mut Config, bool), want: ConfigError| {
            let mut bad = config();
            f(&mut bad, true);
            assert_eq!(bad.validate(), Err(want));
            let mut good = config();
            f(&mut good, false);
            assert_eq!(good.validate(), Ok(()), "{want:?}");
        };
        check(
            |c, bad| c.window = usize::from(!bad),
            ConfigError::ZeroWindow,
        );
        check(
            |c, bad| c.body_chunk = usize::from(!bad),
            ConfigError::ZeroBodyChunk,
        );
        check(
            |c, bad| c.bdat_inline_limit = u64::from(!bad),
            ConfigError::BdatInlineLimit(0),
        );
        check(
            |c, bad| c.timeouts.data_end = Duration::from_nanos(u64::from(!bad)),
            ConfigError::Timeout {
                field: "timeouts.data_end",
                value: Duration::ZERO,
            },
        );
        let over = Timeouts::MAX + Duration::from_nanos(1);
        check(
            |c, bad| {
                let d = Timeouts::MAX + Duration::from_nanos(1);
                c.timeouts.command = if bad { d } else { Timeouts::MAX };
            },
            ConfigError::Timeout {
                field: "timeouts.command",
                value: over,
            },
        );
    }

    #[test]
    fn every_timeout_is_checked_and_named() {
        let set: [fn(&mut Timeouts, Duration); 8] = [
            |t, d| t.greeting = d,
            |t, d| t.mail = d,
            |t, d| t.rcpt = d,
            |t, d| t.data_init = d,
            |t, d| t.data_block = d,
            |t, d| t.data_end = d,
            |t, d| t.tls_handshake = d,
            |t, d| t.command = d,
        ];
        let names = named(&Timeouts::default()).map(|(n, _)| n);
        for (set, name) in set.into_iter().zip(names) {
            let mut c = config();
            set(&mut c.timeouts, Duration::ZERO);
            let e = c.validate().unwrap_err();
            assert_eq!(e.field(), name);
            assert!(e
                .to_string()
                .starts_with(&alloc::format!("invalid Config::{name}: 0")));
        }
    }

    #[test]
    fn the_message_names_the_field_and_why() {
        assert_eq!(
            ConfigError::ZeroWindow.to_string(),
            "invalid Config::window: 0 would never let a pipelined command out"
        );
        assert_eq!(
            ConfigError::BdatInlineLimit(0).to_string(),
            "invalid Config::bdat_inline_limit: 0 is not between 1 and the largest chunk in memory"
        );
    }
}
