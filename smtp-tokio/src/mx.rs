//! Delivery straight to a domain's MX hosts (feature `mx`): the I/O of
//! [`smtp_io::mx::Run`]'s orders on Tokio, the lookups and the policy fetch the
//! planner asks for together run at once.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use smtp_tokio::mx::{deliver, tcp_dialer, unblocked, MxJob};
//! use smtp_tokio::smtp_proto::command::{Domain, ForwardPath, ReversePath};
//! use smtp_tokio::smtp_proto::mx::{MessageMeta, MxConfig};
//! use smtp_tokio::smtp_proto::Config;
//! use smtp_tokio::{EhloName, Envelope};
//! use smtp_mx::dns::AdBit;
//! use smtp_mx::tls::{Roots, TlsSetup};
//!
//! let envelope = Envelope::new(
//!     ReversePath::new("alice@example.org")?,
//!     [ForwardPath::new("bob@example.net")?],
//! );
//! let message = b"From: alice@example.org\r\nTo: bob@example.net\r\n\r\nHello.\r\n";
//! let config = MxConfig::new(Config::new(EhloName::new("mail.example.org")?));
//! let job = MxJob::new(
//!     config,
//!     Domain::new("example.net")?,
//!     vec![(MessageMeta::new(envelope), &message[..])],
//! );
//! let resolver = unblocked(AdBit::new("127.0.0.1:53".parse()?));
//! let done = deliver(&job, &resolver, &tcp_dialer(), &Roots::webpki()).await;
//! println!("{:?}", done.outcome.results[0][0]);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use smtp_io::mx::{
    attempt_messages, attempt_settings, fetch_error, fetch_tls, not_ready, policy_read,
    session_outcome, Answer, Fetch, InFlight, Order, Run,
};
use smtp_mx::dial::Dialer;
use smtp_mx::dns::{AsyncResolve, DnsError, Job, Resolve, Resolving, Unblocked};
use smtp_mx::tls::{Roots, TlsSetup};
use smtp_proto::mx::{Attempt, AttemptOutcome, FetchError, PolicyGet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use smtp_io::mx::{Delivered, MxJob};

use crate::{Builder, Error};

/// How long a connection to an MX host may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a [`TcpDialer`] gives for one address.
pub type Dialing = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// The dialer [`deliver`] opens every connection with.
pub type TcpDialer = Dialer<Dialing>;

/// TCP to the address itself, within the timeout.
pub fn tcp_dialer() -> TcpDialer {
    Dialer::new(|addr: SocketAddr, timeout: Duration| -> Dialing {
        Box::pin(async move {
            tokio::time::timeout(timeout, TcpStream::connect(addr))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
        })
    })
}

/// A blocking resolver (the AD-bit stub) run on Tokio's blocking pool.
pub fn unblocked<R>(resolver: R) -> impl AsyncResolve
where
    R: Resolve + Clone + Send + Sync + 'static,
{
    Unblocked::new(resolver, |job: Job| -> Resolving<'static> {
        Box::pin(async move {
            tokio::task::spawn_blocking(job)
                .await
                .unwrap_or_else(|e| Err(DnsError::Resolver(e.to_string())))
        })
    })
}

/// Delivers `job`'s messages to its domain's MX hosts as the planner decides:
/// `resolver` answers its lookups, `dialer` opens every connection (port 25 to an MX
/// address, 443 to the MTA-STS policy host), `roots` are the WebPKI roots of the
/// policy fetch and of MTA-STS hosts. Returns once every recipient has its result.
pub async fn deliver(
    job: &MxJob<'_>,
    resolver: &(impl AsyncResolve + ?Sized),
    dialer: &TcpDialer,
    roots: &Roots,
) -> Delivered {
    let mut run = Run::new(job);
    let mut inflight = InFlight::new();
    loop {
        match run.poll() {
            Order::Lookup {
                id,
                name,
                rtype,
                timeout,
            } => inflight.push(async move {
                let answer = tokio::time::timeout(timeout, resolver.resolve(&name, rtype, timeout))
                    .await
                    .unwrap_or(Err(DnsError::Timeout));
                Answer::Dns(id, answer)
            }),
            Order::Fetch(fetch) => inflight.push(async move {
                let result =
                    tokio::time::timeout(fetch.timeout, fetch_policy(&fetch, dialer, roots))
                        .await
                        .unwrap_or(Err(FetchError::Timeout));
                Answer::Policy(fetch.id, result)
            }),
            Order::Attempt(attempt) => {
                // Lookups still running are answered while the session runs.
                let session = attempt_session(&attempt, job, dialer, roots);
                tokio::pin!(session);
                let outcome = loop {
                    tokio::select! {
                        outcome = &mut session => break outcome,
                        answer = inflight.next_answer() => run.answer(answer),
                    }
                };
                run.attempt(attempt.id, outcome);
            }
            Order::Sleep(d) => {
                tokio::select! {
                    answer = inflight.next_answer() => run.answer(answer),
                    () = tokio::time::sleep(d) => run.timeout(),
                }
            }
            Order::Done(done) => return done,
        }
    }
}

/// One SMTP session for the attempt.
async fn attempt_session(
    attempt: &Attempt,
    job: &MxJob<'_>,
    dialer: &TcpDialer,
    roots: &Roots,
) -> AttemptOutcome {
    let (settings, setup) = match attempt_settings(attempt, roots, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let Ok(stream) = dialer.dial(attempt.addr, CONNECT_TIMEOUT).await else {
        return AttemptOutcome::ConnectFailed;
    };
    // Commands are small and written whole: Nagle only adds round trips.
    let _ = stream.set_nodelay(true);
    let mut conn = match Builder::from_settings(settings)
        .connect_stream_named(stream)
        .await
    {
        Ok(conn) => conn,
        Err(e) => return not_ready(&e, &setup),
    };
    let messages = attempt_messages(attempt, job);
    let sent = conn.send_many(messages).await;
    let outcome = session_outcome(
        sent,
        attempt.messages.len(),
        conn.is_encrypted(),
        &setup,
        conn.server_name(),
    );
    // The results are in; QUIT is a courtesy (RFC 5321 §4.1.1.10) whose failure
    // changes none of them.
    let _ = conn.quit().await;
    outcome
}

/// The MTA-STS policy over HTTPS (RFC 8461 §3.3): each address in turn until one
/// connects (the caller bounds the whole by the fetch's deadline).
async fn fetch_policy(
    fetch: &Fetch,
    dialer: &TcpDialer,
    roots: &Roots,
) -> Result<Vec<u8>, FetchError> {
    let setup = fetch_tls(&fetch.get, roots)?;
    let name = smtp_io::tls::TlsSetup::new(fetch.get.host(), Some(setup.config()))
        .map_err(|_| FetchError::Certificate)?
        .name;
    for &ip in &fetch.addrs {
        let Ok(tcp) = dialer.dial(SocketAddr::new(ip, 443), fetch.timeout).await else {
            continue;
        };
        let connector = tokio_rustls::TlsConnector::from(setup.config());
        let mut stream = match connector.connect(name.clone(), tcp).await {
            Ok(s) => s,
            // A certificate refused ends the fetch; a connection lost moves on.
            Err(e) => match fetch_error(&Error::from_io(e), &setup) {
                FetchError::Unreachable => continue,
                other => return Err(other),
            },
        };
        let mut get = fetch.get.clone();
        return exchange(&mut stream, &mut get, &setup).await;
    }
    Err(FetchError::Unreachable)
}

/// Writes the request and reads the response into `get` until it has the body.
async fn exchange<S>(
    stream: &mut S,
    get: &mut PolicyGet,
    setup: &TlsSetup,
) -> Result<Vec<u8>, FetchError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = get.request();
    let written = async {
        stream.write_all(&request).await?;
        stream.flush().await
    };
    written
        .await
        .map_err(|e| fetch_error(&Error::from_io(e), setup))?;
    let mut buf = [0u8; 8192];
    loop {
        let read = stream.read(&mut buf).await.map(|n| &buf[..n]);
        if let Some(done) = policy_read(get, read, setup) {
            return done;
        }
    }
}
