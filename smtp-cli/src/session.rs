//! Runs the session on the chosen adapter: options go into its `Builder`, its `Report`s
//! and error come back in one shape. No protocol here: the adapters and the core do it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smtp_proto::body::scan;
use smtp_proto::command::{BodyType, EhloName, ForwardPath, Mechanism, ReversePath};
use smtp_proto::{Capabilities, Credentials, Envelope, Report, Timeouts, TlsPolicy};

use crate::exit::SessionError;

/// Where to connect.
#[derive(Debug, Clone)]
pub enum Server {
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
pub struct Plan {
    pub server: Server,
    pub implicit_tls: bool,
    pub starttls: TlsPolicy,
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
    pub credentials: Option<Credentials>,
    pub auth_mech: Option<Mechanism>,
    pub allow_plaintext_auth: bool,
    pub ehlo: Option<EhloName>,
    pub lmtp: bool,
    pub pipelining: bool,
    pub chunking: bool,
    pub timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub from: ReversePath,
    pub to: Vec<ForwardPath>,
    pub message: Vec<u8>,
    pub repeat: usize,
}

/// What the session said about itself once set up.
#[derive(Debug, Clone, Default)]
pub struct Info {
    pub tls: Option<&'static str>,
    pub auth: Option<String>,
    pub capabilities: Vec<String>,
}

/// How the run went.
#[derive(Debug, Default)]
pub struct Outcome {
    pub info: Option<Info>,
    /// One per message that reached an outcome, in order.
    pub reports: Vec<Report>,
    /// What stopped the session, if anything.
    pub error: Option<SessionError>,
    /// QUIT failed after every message was handled: worth a warning, not a failure.
    pub quit_error: Option<SessionError>,
    /// From connecting to the end of the last message.
    pub elapsed: Duration,
}

/// Told of each batch of messages sent (the progress bar).
pub trait Progress {
    /// Messages per `send_many` call: small enough for a moving bar, large enough to
    /// keep the pipeline full.
    fn batch(&self) -> usize;
    fn sent(&self, n: usize);
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
    let s = scan(&plan.message);
    let body = if s.has_8bit {
        BodyType::EightBitMime
    } else {
        BodyType::SevenBit
    };
    let header_end = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|sep| plan.message.windows(sep.len()).position(|w| w == *sep))
        .min()
        .unwrap_or(plan.message.len());
    let mut env = Envelope::new(plan.from.clone(), plan.to.clone())
        .body(body)
        .size(s.normalized_len);
    env.smtputf8 = !plan.message[..header_end].is_ascii() && caps.smtputf8();
    env
}

macro_rules! from_adapter_error {
    ($krate:ident) => {
        impl From<$krate::Error> for SessionError {
            fn from(e: $krate::Error) -> Self {
                use $krate::Error as E;
                match e {
                    E::Io(e) => SessionError::Io(e),
                    E::Tls(e) => SessionError::Tls(e),
                    E::Timeout { stage } => SessionError::Timeout(stage),
                    E::Smtp(e) => SessionError::Smtp(e),
                    E::Usage(e) => SessionError::Usage(e),
                    E::Refused(e) => SessionError::Refused(e),
                    E::InvalidHost(h) => SessionError::InvalidHost(h),
                    other => SessionError::Other(other.to_string()),
                }
            }
        }
    };
}

from_adapter_error!(smtp_tokio);
from_adapter_error!(smtp_smol);

impl From<smtp_blocking::Error> for SessionError {
    fn from(e: smtp_blocking::Error) -> Self {
        use smtp_blocking::Error as E;
        match e {
            E::Io(e) => SessionError::Io(e),
            E::Tls(e) => SessionError::Tls(e),
            E::Timeout { stage } => SessionError::Timeout(stage),
            E::Smtp(e) => SessionError::Smtp(e),
            E::Usage(e) => SessionError::Usage(e),
            E::Refused(e) => SessionError::Refused(e),
            E::InvalidHost(h) => SessionError::InvalidHost(h),
            other => SessionError::Other(other.to_string()),
        }
    }
}

/// The adapter's `Builder` with the plan's options (the adapters share this API).
macro_rules! builder {
    ($krate:ident, $plan:expr) => {{
        let p: &Plan = $plan;
        let host = match &p.server {
            Server::Tcp { host, .. } => host.clone(),
            // Only TLS would use the name; over a local socket there is none by default.
            Server::Unix(_) => "localhost".to_owned(),
        };
        let mut b = $krate::Builder::new(host)
            .lmtp(p.lmtp)
            .pipelining(p.pipelining)
            .chunking(p.chunking)
            .allow_plaintext_auth(p.allow_plaintext_auth);
        if let Server::Tcp {
            port: Some(port), ..
        } = p.server
        {
            b = b.port(port);
        }
        b = if p.implicit_tls {
            b.implicit_tls()
        } else {
            b.starttls(p.starttls)
        };
        if let Some(c) = &p.tls_config {
            b = b.tls_config(c.clone());
        }
        if let Some(c) = &p.credentials {
            b = b.credentials(c.clone());
        }
        if let Some(m) = &p.auth_mech {
            b.config_mut().auth_preference = vec![m.clone()];
        }
        if let Some(name) = &p.ehlo {
            b = b.ehlo_name(name.clone());
        }
        if let Some(t) = p.timeout {
            b = b.timeouts(Timeouts::all(t));
        }
        if let Some(t) = p.connect_timeout {
            b = b.connect_timeout(t);
        }
        b
    }};
}

/// The session once connected: every message, in batches, then QUIT. `$($aw)*` is
/// `.await` for the async adapters and nothing for the blocking one.
macro_rules! session {
    ($connected:expr, $plan:expr, $progress:expr, $start:expr; $($aw:tt)*) => {{
        let plan: &Plan = $plan;
        let mut out = Outcome::default();
        let mut conn = match $connected {
            Ok(c) => c,
            Err(e) => {
                out.error = Some(e.into());
                out.elapsed = $start.elapsed();
                return out;
            }
        };
        out.info = Some(Info {
            tls: conn.tls_version(),
            auth: conn.auth_mechanism().map(|m| m.as_str().to_owned()),
            capabilities: keywords(conn.capabilities()),
        });
        let env = envelope(plan, conn.capabilities());
        let mut left = plan.repeat;
        while left > 0 {
            let n = left.min($progress.batch().max(1));
            let batch = (0..n).map(|_| (env.clone(), &plan.message[..]));
            match conn.send_many(batch) $($aw)* {
                Ok(reports) => out.reports.extend(reports),
                Err(e) => {
                    out.error = Some(e.into());
                    break;
                }
            }
            $progress.sent(n);
            left -= n;
        }
        out.elapsed = $start.elapsed();
        if out.error.is_none() {
            if let Err(e) = conn.quit() $($aw)* {
                let e: SessionError = e.into();
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
    }};
}

/// On smtp-tokio, in a current-thread runtime.
pub fn run_tokio(plan: &Plan, progress: &dyn Progress) -> Outcome {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Outcome {
                error: Some(SessionError::Io(e)),
                ..Outcome::default()
            }
        }
    };
    rt.block_on(async {
        let start = Instant::now();
        let b = builder!(smtp_tokio, plan);
        match &plan.server {
            Server::Tcp { .. } => session!(b.connect().await, plan, progress, start; .await),
            Server::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await;
                let conn = match stream {
                    Ok(s) => b.connect_stream(s).await,
                    Err(e) => Err(smtp_tokio::Error::Io(e)),
                };
                session!(conn, plan, progress, start; .await)
            }
        }
    })
}

/// On smtp-smol.
pub fn run_smol(plan: &Plan, progress: &dyn Progress) -> Outcome {
    smol::block_on(async {
        let start = Instant::now();
        let b = builder!(smtp_smol, plan);
        match &plan.server {
            Server::Tcp { .. } => session!(b.connect().await, plan, progress, start; .await),
            Server::Unix(path) => {
                let stream = smol::net::unix::UnixStream::connect(path).await;
                let conn = match stream {
                    Ok(s) => b.connect_stream(s).await,
                    Err(e) => Err(smtp_smol::Error::Io(e)),
                };
                session!(conn, plan, progress, start; .await)
            }
        }
    })
}

/// On smtp-blocking: no runtime at all.
pub fn run_blocking(plan: &Plan, progress: &dyn Progress) -> Outcome {
    let start = Instant::now();
    let b = builder!(smtp_blocking, plan);
    match &plan.server {
        Server::Tcp { .. } => session!(b.connect(), plan, progress, start;),
        Server::Unix(path) => {
            let conn = match std::os::unix::net::UnixStream::connect(path) {
                Ok(s) => b.connect_stream(s),
                Err(e) => Err(smtp_blocking::Error::Io(e)),
            };
            session!(conn, plan, progress, start;)
        }
    }
}
