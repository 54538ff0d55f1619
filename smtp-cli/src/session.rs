//! Runs the session on the chosen adapter ([`crate::adapter`]): the plan goes into its
//! `Builder`, its `Report`s and error come back. No protocol here: the adapters and the
//! core do it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smtp_proto::body::scan;
use smtp_proto::command::{BodyType, EnvId, ForwardPath, Notify, Ret, ReversePath};
use smtp_proto::{Capabilities, Config, Envelope, Recipient, Report};

use crate::adapter::{Adapter, Connection, Error};
use crate::args::Runtime;

/// Where to connect.
#[derive(Debug, Clone)]
pub(crate) enum Server {
    /// A host name or IP address, and the port if given.
    Tcp {
        /// Name or address (IPv6 without brackets).
        host: String,
        /// The port; `None` for the adapter's default (25, 465 with TLS, 24 with LMTP).
        port: Option<u16>,
    },
    /// A Unix socket (LMTP to a local delivery agent).
    Unix(PathBuf),
}

/// Everything the adapters need, from the command line.
pub(crate) struct Plan {
    pub server: Server,
    /// The core's whole configuration (TLS mode, credentials, LMTP, timeouts ...).
    pub config: Config,
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
    pub connect_timeout: Option<Duration>,
    /// `--proxy` (or the account's `proxy`): every adapter's `Builder::proxy`.
    pub proxy: Option<smtp_io::socks::Proxy>,
    pub from: ReversePath,
    pub to: Vec<ForwardPath>,
    pub dsn: Dsn,
    pub message: Vec<u8>,
    pub repeat: usize,
    /// Connections of the pool `--repeat` goes through (1: the one connection).
    pub concurrency: usize,
    /// `--requiretls` (or the account's): REQUIRETLS on every message's MAIL FROM
    /// (RFC 8689 §4.1); the core refuses a message it cannot send so.
    pub requiretls: bool,
}

impl Plan {
    /// The host for the adapter's `Builder`: also the name TLS verifies.
    pub(crate) fn host(&self) -> String {
        match &self.server {
            Server::Tcp { host, .. } => host.clone(),
            // Only TLS would use the name; over a local socket there is none by default.
            Server::Unix(_) => "localhost".to_owned(),
        }
    }

    /// The port given, if any (the adapter defaults to 25, 465 with TLS, 24 with LMTP).
    pub(crate) fn port(&self) -> Option<u16> {
        match self.server {
            Server::Tcp { port, .. } => port,
            Server::Unix(_) => None,
        }
    }

    /// The Unix socket to connect to, if the server is one: every adapter's `Builder`
    /// then opens it with a connector, for the session and a pool's connections alike.
    pub(crate) fn unix_path(&self) -> Option<&std::path::Path> {
        match &self.server {
            Server::Unix(path) => Some(path),
            Server::Tcp { .. } => None,
        }
    }

    /// What every adapter's `Builder::from_settings` takes: host, port, connect
    /// timeout, rustls configuration and the core's configuration. A Unix socket is
    /// the adapter's connector ([`Plan::unix_path`]).
    pub(crate) fn settings(&self) -> smtp_io::Settings {
        let mut settings = smtp_io::Settings::new(self.host());
        settings.port = self.port();
        if let Some(timeout) = self.connect_timeout {
            settings.connect_timeout = timeout;
        }
        settings.tls_config = self.tls_config.clone();
        settings.config = self.config.clone();
        settings
    }
}

/// The DSN parameters asked for (RFC 3461): NOTIFY for every recipient, RET, ENVID.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dsn {
    pub notify: Option<Notify>,
    pub ret: Option<Ret>,
    pub envid: Option<EnvId>,
}

/// What the session said about itself once set up.
#[derive(Debug, Clone, Default)]
pub(crate) struct Info {
    pub tls: Option<&'static str>,
    pub auth: Option<String>,
    pub capabilities: Vec<String>,
    /// The server's own certificate, when the session is encrypted (`--serverinfo`).
    pub certificate: Option<rustls::pki_types::CertificateDer<'static>>,
}

/// How the run went.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub info: Option<Info>,
    /// One per message that reached an outcome, in order.
    pub reports: Vec<Report>,
    /// What stopped the session, if anything.
    pub error: Option<Error>,
    /// QUIT failed after every message was handled: worth a warning, not a failure.
    pub quit_error: Option<Error>,
    /// From connecting to the end of the last message.
    pub elapsed: Duration,
}

/// Told of the reports as they come in (the progress bar).
pub(crate) trait Progress {
    /// `n` more messages reached an outcome.
    fn reports(&self, n: usize);
}

/// The capability keywords of the EHLO/LHLO reply.
fn keywords(caps: &Capabilities) -> Vec<String> {
    const TYPED: [&str; 11] = [
        "PIPELINING",
        "SIZE",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "BINARYMIME",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "REQUIRETLS",
        "AUTH",
    ];
    let mut v: Vec<String> = TYPED
        .iter()
        .filter(|k| caps.has_extension(k))
        .map(|k| k.to_string())
        .collect();
    v.extend(caps.extensions().map(|(k, _)| k.to_ascii_uppercase()));
    v
}

/// The envelope of the message: `BODY=8BITMIME` for 8-bit content, `SIZE=`, and
/// `SMTPUTF8` when the header has UTF-8 and the server offers it (RFC 6152, 1870, 6531).
fn envelope(plan: &Plan, caps: &Capabilities) -> Envelope {
    let mut env = envelope_of(
        &plan.message,
        &plan.from,
        &plan.to,
        &plan.dsn,
        caps.smtputf8(),
    );
    env.requiretls = plan.requiretls;
    env
}

/// The envelope of `message` from `from` to `to` with the DSN parameters; `SMTPUTF8`
/// asked when the header has UTF-8 and `smtputf8` says it may be (the server offers
/// it, or, before any server is known, a server lacking it is to refuse the message).
pub(crate) fn envelope_of(
    message: &[u8],
    from: &ReversePath,
    to: &[ForwardPath],
    dsn: &Dsn,
    smtputf8: bool,
) -> Envelope {
    let s = scan(message);
    let body = if s.has_8bit {
        BodyType::EightBitMime
    } else {
        BodyType::SevenBit
    };
    let header_end = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|sep| message.windows(sep.len()).position(|w| w == *sep))
        .min()
        .unwrap_or(message.len());
    let recipients = to.iter().map(|to| {
        let r = Recipient::new(to.clone());
        match dsn.notify {
            Some(n) => r.notify(n),
            None => r,
        }
    });
    let mut env = Envelope::new(from.clone(), recipients)
        .body(body)
        .size(s.normalized_len);
    env.ret = dsn.ret;
    env.envid = dsn.envid.clone();
    env.smtputf8 = !message[..header_end].is_ascii() && smtputf8;
    env
}

fn info_of(conn: &impl Connection) -> Info {
    Info {
        tls: conn.tls_version(),
        auth: conn.auth_mechanism().map(|m| m.as_str().to_owned()),
        capabilities: keywords(conn.capabilities()),
        certificate: conn.peer_certificate(),
    }
}

/// `--serverinfo`: connects, notes what the session offers, QUITs. A failed QUIT is
/// the second value (a warning: the information was had).
pub(crate) fn info<A: Adapter>(plan: &Plan) -> Result<(Info, Option<Error>), Error> {
    let session = async {
        let conn = A::connect(plan).await?;
        let info = info_of(&conn);
        Ok((info, conn.quit().await.err()))
    };
    A::block_on(session).map_err(Error::Io)?
}

/// Most messages of `--repeat` waiting for their outcome at once: the stream keeps the
/// pipeline full up to this (and the core's window), never draining it between batches.
pub(crate) const OPEN: usize = 10_000;

/// A [`Progress`] that shows nothing.
pub(crate) struct Quiet;

impl Progress for Quiet {
    fn reports(&self, _: usize) {}
}

/// Runs the plan on `runtime`'s adapter: connect, then the message while `more()` says
/// so (it is asked as the session is ready for each next one, never before the
/// session is set up), QUIT.
pub(crate) fn send(
    runtime: Runtime,
    plan: &Plan,
    progress: &dyn Progress,
    more: &mut dyn FnMut() -> bool,
) -> Outcome {
    match runtime {
        Runtime::Blocking => run::<crate::adapter::Blocking>(plan, progress, more),
        Runtime::Tokio => run::<crate::adapter::Tokio>(plan, progress, more),
        Runtime::Smol => run::<crate::adapter::Smol>(plan, progress, more),
    }
}

/// [`send`] on adapter `A`.
fn run<A: Adapter>(
    plan: &Plan,
    progress: &dyn Progress,
    more: &mut dyn FnMut() -> bool,
) -> Outcome {
    let session = async {
        let start = Instant::now();
        drive::<A, _>(A::connect(plan).await, plan, progress, more, start).await
    };
    A::block_on(session).unwrap_or_else(|e| Outcome {
        error: Some(Error::Io(e)),
        ..Outcome::default()
    })
}

/// The session once `connected`: every message, in batches, then QUIT.
async fn drive<A: Adapter, C: Connection>(
    connected: Result<C, Error>,
    plan: &Plan,
    progress: &dyn Progress,
    more: &mut dyn FnMut() -> bool,
    start: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let mut conn = match connected {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(e);
            out.elapsed = start.elapsed();
            return out;
        }
    };
    out.info = Some(info_of(&conn));
    let env = envelope(plan, conn.capabilities());
    let mut reports = Vec::with_capacity(plan.repeat);
    let mut refused = None;
    let mut on_report = |r: Result<Report, Error>| match r {
        Ok(report) => {
            progress.reports(1);
            reports.push(report);
        }
        Err(e) => {
            refused.get_or_insert(e);
        }
    };
    let streamed = if plan.concurrency > 1 {
        A::send_pooled(plan, &env, plan.repeat, &mut on_report).await
    } else {
        conn.send_repeated(&env, &plan.message, more, OPEN, &mut on_report)
            .await
    };
    if let Err(e) = streamed {
        // As `send_many` did: when the session died, only the messages that reached an
        // outcome the server gave are reported; the rest were not delivered.
        reports.retain(Report::reached_server);
        out.error = Some(e);
    }
    out.reports = reports;
    out.error = out.error.or(refused);
    out.elapsed = start.elapsed();
    if out.error.is_none() {
        if let Err(e) = conn.quit().await {
            // An error that ended the session before every message was settled (a
            // 421, a malformed reply after the data) is the run's; after, a warning.
            if out.reports.iter().all(Report::all_delivered) {
                out.quit_error = Some(e);
            } else {
                out.error = Some(e);
            }
        }
    }
    out
}
