//! Delivery straight to a domain's MX hosts (feature `mx`): the I/O of
//! [`smtp_io::mx::Run`]'s orders on this thread.
//!
//! ```no_run
//! use smtp_blocking::mx::{deliver, MxJob};
//! use smtp_blocking::smtp_proto::command::{Domain, ForwardPath, ReversePath};
//! use smtp_blocking::smtp_proto::mx::{MessageMeta, MxConfig};
//! use smtp_blocking::{Config, EhloName, Envelope};
//! use smtp_mx::dial::Dialer;
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
//! let resolver = AdBit::new("127.0.0.1:53".parse()?);
//! let done = deliver(&job, &resolver, &Dialer::tcp(), &Roots::webpki());
//! println!("{:?}", done.outcome.results[0][0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use smtp_io::mx::{
    attempt_messages, attempt_settings, fetch_error, fetch_tls, not_ready, policy_read,
    session_outcome, Fetch, Order, Run,
};
use smtp_mx::dial::Dialer;
use smtp_mx::dns::Resolve;
use smtp_mx::tls::{Roots, TlsSetup};
use smtp_proto::mx::{Attempt, AttemptOutcome, FetchError, PolicyGet};

pub use smtp_io::mx::{Delivered, MxJob};

use crate::driver::Socket;
use crate::Builder;

/// How long a connection to an MX host may take to open (RFC 5321 §4.5.3.2 gives the
/// greeting five minutes; a connect is not worth as long).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Delivers `job`'s messages to its domain's MX hosts as the planner decides:
/// `resolver` answers its lookups, `dialer` opens every connection (port 25 to an MX
/// address, 443 to the MTA-STS policy host), `roots` are the WebPKI roots of the
/// policy fetch and of MTA-STS hosts. Returns once every recipient has its result.
pub fn deliver(
    job: &MxJob<'_>,
    resolver: &impl Resolve,
    dialer: &Dialer<io::Result<TcpStream>>,
    roots: &Roots,
) -> Delivered {
    let mut run = Run::new(job);
    loop {
        match run.poll() {
            Order::Lookup {
                id,
                name,
                rtype,
                timeout,
            } => {
                let answer = resolver.resolve(&name, rtype, timeout);
                run.dns(id, answer);
            }
            Order::Fetch(fetch) => {
                let result = fetch_policy(&fetch, dialer, roots);
                run.policy(fetch.id, result);
            }
            Order::Attempt(attempt) => {
                let outcome = attempt_session(&attempt, job, dialer, roots);
                run.attempt(attempt.id, outcome);
            }
            Order::Sleep(d) => {
                std::thread::sleep(d);
                run.timeout();
            }
            Order::Done(done) => return done,
        }
    }
}

/// One SMTP session for the attempt.
fn attempt_session(
    attempt: &Attempt,
    job: &MxJob<'_>,
    dialer: &Dialer<io::Result<TcpStream>>,
    roots: &Roots,
) -> AttemptOutcome {
    let (settings, setup) = match attempt_settings(attempt, roots, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let Ok(stream) = dialer.dial(attempt.addr, CONNECT_TIMEOUT) else {
        return AttemptOutcome::ConnectFailed;
    };
    // Commands are small and written whole: Nagle only adds round trips.
    let _ = stream.set_nodelay(true);
    let mut conn = match Builder::from_settings(settings).connect_stream_named(stream) {
        Ok(conn) => conn,
        Err(e) => return not_ready(&e, &setup),
    };
    let messages = attempt_messages(attempt, job);
    let sent = conn.send_many(messages);
    let outcome = session_outcome(
        sent,
        attempt.messages.len(),
        conn.is_encrypted(),
        &setup,
        conn.server_name(),
    );
    // The results are in; QUIT is a courtesy (RFC 5321 §4.1.1.10) whose failure
    // changes none of them.
    let _ = conn.quit();
    outcome
}

/// The MTA-STS policy over HTTPS (RFC 8461 §3.3): each address in turn until one
/// connects, within the fetch's deadline.
fn fetch_policy(
    fetch: &Fetch,
    dialer: &Dialer<io::Result<TcpStream>>,
    roots: &Roots,
) -> Result<Vec<u8>, FetchError> {
    let deadline = Instant::now() + fetch.timeout;
    let setup = fetch_tls(&fetch.get, roots)?;
    let mut last = FetchError::Unreachable;
    for &ip in &fetch.addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FetchError::Timeout);
        }
        let Ok(tcp) = dialer.dial(SocketAddr::new(ip, 443), left) else {
            continue;
        };
        let tls = smtp_io::tls::TlsSetup::new(fetch.get.host(), Some(setup.config()))
            .map_err(|_| FetchError::Certificate)?;
        let mut stream = match crate::tls::handshake(tcp, &tls, deadline) {
            Ok(s) => s,
            // A certificate refused or a timeout ends the fetch; a connection lost
            // moves on to the next address.
            Err(e) => match fetch_error(&e, &setup) {
                FetchError::Unreachable => {
                    last = FetchError::Unreachable;
                    continue;
                }
                other => return Err(other),
            },
        };
        // One fresh exchange per fetch: the sans-IO reader holds no state of an
        // earlier address.
        let mut get = fetch.get.clone();
        return exchange(&mut stream, &mut get, &setup, deadline);
    }
    Err(last)
}

/// Writes the request and reads the response into `get` until it has the body, each
/// read bounded by what is left of `deadline`.
fn exchange<S: Socket>(
    stream: &mut crate::tls::TlsStream<S>,
    get: &mut PolicyGet,
    setup: &TlsSetup,
    deadline: Instant,
) -> Result<Vec<u8>, FetchError> {
    let bound = |stream: &mut crate::tls::TlsStream<S>| {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FetchError::Timeout);
        }
        stream
            .sock
            .set_timeout(Some(left))
            .map_err(|_| FetchError::Unreachable)
    };
    bound(stream)?;
    let written = stream
        .write_all(&get.request())
        .and_then(|()| stream.flush());
    written.map_err(|e| fetch_error(&crate::Error::from_io(e), setup))?;
    let mut buf = [0u8; 8192];
    loop {
        bound(stream)?;
        let read = stream.read(&mut buf).map(|n| &buf[..n]);
        if let Some(done) = policy_read(get, read, setup) {
            return done;
        }
    }
}
