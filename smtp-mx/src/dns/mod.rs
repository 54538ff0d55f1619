//! Answers to the planner's lookups (`(name, RType)` in, [`DnsResult`] out), with the
//! DNSSEC status the DANE rules depend on (RFC 7672 §2.1).
//!
//! Two traits, one per kind of adapter: [`Resolve`] blocks (smtp-blocking), and
//! [`AsyncResolve`] returns a boxed future (smtp-tokio, smtp-smol). Two backends:
//! [`AdBit`] (runtime-free: a stub asking a validating resolver, trusting its AD bit
//! only on loopback, as Postfix, Exim and mox do) and, with feature `hickory`,
//! `Hickory` (hickory-resolver validating in process from configurable trust anchors).
//! [`AdBit`] serves async adapters through their runtime's blocking pool
//! (`tokio::task::spawn_blocking`, `blocking::unblock`): see [`Unblocked`].

mod adbit;
#[cfg(feature = "hickory")]
mod anchors;
#[cfg(feature = "hickory")]
mod hickory;
mod wire;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use smtp_proto::mx::{DnsResult, RType, Rcode, Security};

pub use adbit::AdBit;
#[cfg(feature = "hickory")]
pub use hickory::{BlockingHickory, Hickory, TrustAnchorError, TrustAnchorFile};

/// A blocking resolver.
pub trait Resolve {
    /// Looks up `name`'s records of type `rtype`, giving up after `timeout`.
    ///
    /// # Errors
    /// [`DnsError`] when no usable answer came; [`DnsResult::from`] turns it into the
    /// SERVFAIL or timeout answer the planner takes.
    fn resolve(&self, name: &str, rtype: RType, timeout: Duration) -> Result<DnsResult, DnsError>;
}

/// What [`AsyncResolve::resolve`] returns.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = Result<DnsResult, DnsError>> + Send + 'a>>;

/// A resolver for async adapters.
pub trait AsyncResolve: Send + Sync {
    /// Looks up `name`'s records of type `rtype`, giving up after `timeout` (a backend
    /// without a timer of its own may leave the bound to the adapter's runtime).
    fn resolve<'a>(&'a self, name: &'a str, rtype: RType, timeout: Duration) -> Resolving<'a>;
}

/// A blocking [`Resolve`] as an [`AsyncResolve`], each lookup run by `spawn` (the
/// runtime's blocking pool: `tokio::task::spawn_blocking`, or for smol
/// `Box::pin(blocking::unblock(job))`). The resolver is cloned into each lookup.
///
/// ```no_run
/// use smtp_mx::dns::{AdBit, AsyncResolve, DnsError, Job, Resolving, Unblocked};
/// use smtp_proto::mx::RType;
/// use std::time::Duration;
///
/// let spawn = |job: Job| -> Resolving<'static> {
///     Box::pin(async move {
///         tokio::task::spawn_blocking(job)
///             .await
///             .map_err(|e| DnsError::Resolver(e.to_string()))?
///     })
/// };
/// let resolver = Unblocked::new(AdBit::new("127.0.0.1:53".parse().unwrap()), spawn);
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let answer = resolver.resolve("example.org", RType::Mx, Duration::from_secs(5)).await;
/// # });
/// ```
pub struct Unblocked<R, S> {
    resolver: R,
    spawn: S,
}

/// What an [`Unblocked`] spawner gets: one lookup to run to completion.
pub type Job = Box<dyn FnOnce() -> Result<DnsResult, DnsError> + Send>;

impl<R, S> Unblocked<R, S>
where
    R: Resolve + Clone + Send + Sync + 'static,
    S: Fn(Job) -> Resolving<'static> + Send + Sync,
{
    /// `resolver`'s lookups, each run by `spawn`.
    pub fn new(resolver: R, spawn: S) -> Self {
        Unblocked { resolver, spawn }
    }
}

impl<R, S> fmt::Debug for Unblocked<R, S>
where
    R: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unblocked")
            .field("resolver", &self.resolver)
            .finish_non_exhaustive()
    }
}

impl<R, S> AsyncResolve for Unblocked<R, S>
where
    R: Resolve + Clone + Send + Sync + 'static,
    S: Fn(Job) -> Resolving<'static> + Send + Sync,
{
    fn resolve<'a>(&'a self, name: &'a str, rtype: RType, timeout: Duration) -> Resolving<'a> {
        let resolver = self.resolver.clone();
        let name = name.to_owned();
        (self.spawn)(Box::new(move || resolver.resolve(&name, rtype, timeout)))
    }
}

/// Why a lookup gave no answer the planner can read as one.
#[derive(Debug)]
#[non_exhaustive]
pub enum DnsError {
    /// The name is no domain name.
    InvalidName(String),
    /// No answer before the deadline.
    Timeout,
    /// Sending or receiving failed.
    Io(io::Error),
    /// The resolver's answer could not be decoded, or did not answer the question
    /// asked (RFC 5452 §9.1: ID, name, type and class must match).
    Malformed(String),
    /// The backend failed otherwise (hickory-resolver's error text).
    Resolver(String),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::InvalidName(n) => write!(f, "{n:?} is not a domain name"),
            DnsError::Timeout => f.write_str("DNS lookup timed out"),
            DnsError::Io(e) => write!(f, "DNS transport: {e}"),
            DnsError::Malformed(why) => write!(f, "malformed DNS answer: {why}"),
            DnsError::Resolver(why) => write!(f, "DNS resolver: {why}"),
        }
    }
}

impl std::error::Error for DnsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DnsError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DnsError> for DnsResult {
    /// A timeout is [`Rcode::Timeout`], anything else [`Rcode::ServFail`]; the status
    /// of an answer never seen is [`Security::Indeterminate`], so that nothing is read
    /// as an insecure denial (RFC 7672 §2.1.1).
    fn from(e: DnsError) -> Self {
        let rcode = match e {
            DnsError::Timeout => Rcode::Timeout,
            _ => Rcode::ServFail,
        };
        DnsResult::new(rcode, Security::Indeterminate, Vec::new())
    }
}
