//! hickory-resolver validating DNSSEC in process (RFC 4035 §5) from trust anchors the
//! caller gives, so no local validating resolver is needed. Tokio; a blocking
//! wrapper runs its own current-thread runtime for the blocking and smol adapters.
//!
//! Negative answers: hickory reports a denial with its proof when it has one; an
//! NXDOMAIN without (no SOA came) is taken as insecure. A NODATA without an SOA is no
//! denial at all (RFC 2308 §2.2 has the SOA in every NODATA a validating path can
//! read): hickory 0.26.3 gives one when it gives up on a CNAME chain (a loop, or more
//! links than it follows), and the planner would read it as an implicit MX (RFC 5321
//! §5.1), so it is a failed lookup.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS};
use hickory_proto::dnssec::{Proof, TrustAnchors};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, RData as Wire, Record, RecordType};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as HDnsError, NetError};
use hickory_resolver::{Resolver, TokioResolver};
use smtp_proto::mx::{DnsResult, RType, Rcode, Security};

use super::anchors::Anchor;
use super::{wire, AsyncResolve, DnsError, Resolve, Resolving};

/// Trust anchors from a file in zone-file format holding DS or DNSKEY records, as
/// unbound's `trust-anchor-file` (e.g. `. IN DS 20326 8 2 E06D…`).
#[derive(Clone, Debug, Default)]
pub struct TrustAnchorFile {
    keys: Vec<(Name, DNSKEY)>,
    ds: Vec<(Name, DS)>,
}

/// Why trust anchors could not be had.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrustAnchorError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is no zone file of DS and DNSKEY records.
    Parse(String),
    /// The file holds no DS or DNSKEY record.
    Empty,
    /// No DNSKEY served for a DS anchor's name matches it (RFC 4034 §5.1.4).
    NoKeyForDs(String),
    /// The DNSKEY lookup for a DS anchor failed.
    Lookup(DnsError),
}

impl fmt::Display for TrustAnchorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustAnchorError::Io(e) => write!(f, "trust anchor file: {e}"),
            TrustAnchorError::Parse(e) => write!(f, "trust anchor file: {e}"),
            TrustAnchorError::Empty => f.write_str("trust anchor file: no DS or DNSKEY record"),
            TrustAnchorError::NoKeyForDs(n) => write!(f, "no DNSKEY of {n} matches its DS anchor"),
            TrustAnchorError::Lookup(e) => write!(f, "DNSKEY lookup for a DS anchor: {e}"),
        }
    }
}

impl std::error::Error for TrustAnchorError {}

impl TrustAnchorFile {
    /// Reads `path`.
    ///
    /// # Errors
    /// [`TrustAnchorError::Io`], [`Parse`](TrustAnchorError::Parse) or
    /// [`Empty`](TrustAnchorError::Empty).
    pub fn read(path: &Path) -> Result<Self, TrustAnchorError> {
        Self::parse(&std::fs::read_to_string(path).map_err(TrustAnchorError::Io)?)
    }

    /// Parses a file's text; names are relative to the root.
    ///
    /// # Errors
    /// [`TrustAnchorError::Parse`] or [`Empty`](TrustAnchorError::Empty).
    pub fn parse(text: &str) -> Result<Self, TrustAnchorError> {
        let mut anchors = TrustAnchorFile::default();
        for anchor in super::anchors::parse(text).map_err(TrustAnchorError::Parse)? {
            match anchor {
                Anchor::Key(name, key) => anchors.keys.push((name, key)),
                Anchor::Ds(name, ds) => anchors.ds.push((name, ds)),
            }
        }
        if anchors.keys.is_empty() && anchors.ds.is_empty() {
            return Err(TrustAnchorError::Empty);
        }
        Ok(anchors)
    }
}

/// The hickory backend: a validating resolver asking `servers`.
#[derive(Clone)]
pub struct Hickory {
    resolver: Arc<TokioResolver>,
}

impl fmt::Debug for Hickory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hickory")
    }
}

fn config(servers: &[SocketAddr]) -> ResolverConfig {
    let name_servers = servers
        .iter()
        .map(|addr| {
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                .into_iter()
                .map(|mut c| {
                    c.port = addr.port();
                    c
                })
                .collect();
            NameServerConfig::new(addr.ip(), true, connections)
        })
        .collect();
    ResolverConfig::from_name_servers(name_servers)
}

fn builder(servers: &[SocketAddr]) -> hickory_resolver::ResolverBuilder<TokioRuntimeProvider> {
    let mut builder = Resolver::builder_with_config(config(servers), TokioRuntimeProvider::new());
    let options = builder.options_mut();
    // CNAMEs stay in the answer: the planner wants the chain and each link's status.
    options.preserve_intermediates = true;
    options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    // Names are absolute: no search list, no ndots guessing.
    options.ndots = 0;
    builder
}

impl Hickory {
    /// A validating resolver asking `servers` (UDP, TCP when truncated), trusting the
    /// keys of `anchors`; a DS anchor is turned into its zone's key by asking `servers`
    /// for the zone's DNSKEY RRset and keeping the keys the DS digest matches.
    /// Needs a Tokio runtime (the lookups spawn on it).
    ///
    /// # Errors
    /// [`TrustAnchorError::NoKeyForDs`] or [`Lookup`](TrustAnchorError::Lookup) for a DS
    /// anchor; [`Lookup`](TrustAnchorError::Lookup) when hickory refuses the
    /// configuration.
    pub async fn new(
        servers: &[SocketAddr],
        anchors: &TrustAnchorFile,
    ) -> Result<Self, TrustAnchorError> {
        let mut trusted = TrustAnchors::empty();
        for (name, key) in &anchors.keys {
            trusted.insert_with_name(key.public_key(), LowerName::from(name.clone()));
        }
        if !anchors.ds.is_empty() {
            let plain = builder(servers).build().map_err(lookup_error)?;
            for (name, ds) in &anchors.ds {
                let keys = plain
                    .lookup(name.clone(), RecordType::DNSKEY)
                    .await
                    .map_err(lookup_error)?;
                let mut found = false;
                for key in keys.answers().iter().filter_map(dnskey) {
                    if ds.covers(name, key).unwrap_or(false) {
                        trusted.insert_with_name(key.public_key(), LowerName::from(name.clone()));
                        found = true;
                    }
                }
                if !found {
                    return Err(TrustAnchorError::NoKeyForDs(name.to_ascii()));
                }
            }
        }
        let resolver = builder(servers)
            .with_trust_anchor(Arc::new(trusted))
            .build()
            .map_err(lookup_error)?;
        Ok(Hickory {
            resolver: Arc::new(resolver),
        })
    }

    /// Looks up `name`'s `rtype` records.
    ///
    /// # Errors
    /// [`DnsError`]: a name that is no domain name, a timeout, or hickory's failure.
    pub async fn lookup(&self, name: &str, rtype: RType) -> Result<DnsResult, DnsError> {
        let qname = wire::name(name)?;
        match self.query(&qname, wire::record_type(rtype)).await? {
            Ok(lookup) => answer(lookup.answers(), &qname, rtype),
            Err(NetError::Dns(HDnsError::DnssecBogus)) => self.chase(qname, rtype).await,
            Err(e) => negative(e),
        }
    }

    /// One query to hickory, in a task of its own, so that a panic inside hickory is a
    /// failed lookup, not the caller's: hickory-net 0.26.3 debug-asserts something an
    /// NSEC3 denial in the root zone breaks (its closest-encloser walk reaching the
    /// root).
    async fn query(
        &self,
        qname: &Name,
        rtype: RecordType,
    ) -> Result<Result<hickory_resolver::lookup::Lookup, NetError>, DnsError> {
        let (resolver, query) = (self.resolver.clone(), qname.clone());
        let task = Task(tokio::spawn(
            async move { resolver.lookup(query, rtype).await },
        ));
        task.await
            .map_err(|e| DnsError::Resolver(format!("hickory lookup failed: {e}")))
    }

    /// A bogus answer for `qname`, asked again one CNAME at a time. hickory 0.26.3
    /// calls bogus a secure CNAME whose target has a secure denial of the type asked
    /// (a host with an A record and no AAAA, reached through a CNAME, as an MX host
    /// often is), while each half validates on its own, as a validating resolver
    /// reports it. So: the CNAME RRset alone, then the type at its target; the answer
    /// stays bogus unless the CNAME validates (RFC 4035 §5: each RRset on its own) and
    /// the target's answer is no bogus answer either. At most [`MAX_CHASE`] links.
    async fn chase(&self, qname: Name, rtype: RType) -> Result<DnsResult, DnsError> {
        let bogus = DnsResult::new(Rcode::ServFail, Security::Bogus, Vec::new());
        let mut aliases = Vec::new();
        let mut name = qname;
        for _ in 0..MAX_CHASE {
            let target = match self.query(&name, RecordType::CNAME).await? {
                Ok(lookup) => lookup.answers().iter().find_map(|r| match &r.data {
                    Wire::CNAME(c) if r.name == name && r.proof == Proof::Secure => {
                        Some(c.0.clone())
                    }
                    _ => None,
                }),
                Err(_) => None,
            };
            let Some(target) = target else {
                return Ok(bogus);
            };
            aliases.push((wire::text(&target), Security::Secure));
            name = target;
            let mut result = match self.query(&name, wire::record_type(rtype)).await? {
                Ok(lookup) => answer(lookup.answers(), &name, rtype)?,
                Err(NetError::Dns(HDnsError::DnssecBogus)) => continue,
                Err(e) => negative(e)?,
            };
            aliases.append(&mut result.aliases);
            result.aliases = aliases;
            return Ok(result);
        }
        Ok(bogus)
    }
}

/// The most CNAME links [`Hickory::chase`] asks for one at a time.
const MAX_CHASE: usize = 8;

/// A lookup task, aborted when its caller gives up on it (a timeout).
struct Task<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for Task<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

fn lookup_error(e: NetError) -> TrustAnchorError {
    TrustAnchorError::Lookup(DnsError::Resolver(e.to_string()))
}

fn dnskey(record: &Record) -> Option<&DNSKEY> {
    match &record.data {
        Wire::DNSSEC(DNSSECRData::DNSKEY(key)) => Some(key),
        _ => None,
    }
}

fn security(proof: Proof) -> Security {
    match proof {
        Proof::Secure => Security::Secure,
        Proof::Insecure => Security::Insecure,
        Proof::Bogus => Security::Bogus,
        Proof::Indeterminate => Security::Indeterminate,
    }
}

/// The weaker of two statuses: an RRset is as secure as its least secure record.
fn weaker(a: Security, b: Security) -> Security {
    let rank = |s| match s {
        Security::Secure => 3,
        Security::Insecure => 2,
        Security::Indeterminate => 1,
        Security::Bogus => 0,
    };
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

/// The CNAME chain from `qname` and the records at its end, each with its proof.
fn answer(records: &[Record], qname: &Name, rtype: RType) -> Result<DnsResult, DnsError> {
    let (aliases, at_end) = wire::chain(records, qname, rtype, |r| security(r.proof))?;
    let status = at_end
        .iter()
        .map(|r| security(r.proof))
        .reduce(weaker)
        .unwrap_or(Security::Indeterminate);
    Ok(DnsResult {
        rcode: Rcode::NoError,
        security: status,
        aliases,
        records: at_end
            .iter()
            .filter_map(|r| wire::rdata(&r.data, rtype))
            .collect(),
    })
}

/// hickory's errors that are answers: denials (with their proof when hickory has one)
/// and validation failures.
fn negative(e: NetError) -> Result<DnsResult, DnsError> {
    let denial = |code: ResponseCode, status| {
        let rcode = match code {
            ResponseCode::NXDomain => Rcode::NxDomain,
            ResponseCode::NoError => Rcode::NoError,
            _ => Rcode::ServFail,
        };
        Ok(DnsResult::new(rcode, status, Vec::new()))
    };
    match e {
        NetError::Dns(HDnsError::Nsec {
            response, proof, ..
        }) => denial(response.metadata.response_code, security(proof)),
        NetError::Dns(HDnsError::NoRecordsFound(no)) => match no.soa {
            Some(soa) => denial(no.response_code, security(soa.proof)),
            None if no.response_code == ResponseCode::NoError => Ok(DnsResult::new(
                Rcode::ServFail,
                Security::Indeterminate,
                Vec::new(),
            )),
            None => denial(no.response_code, Security::Insecure),
        },
        // RFC 4035 §5.5: bogus data is no answer, and says so.
        NetError::Dns(HDnsError::DnssecBogus) => {
            Ok(DnsResult::new(Rcode::ServFail, Security::Bogus, Vec::new()))
        }
        NetError::Dns(HDnsError::ResponseCode(_)) => Ok(DnsResult::new(
            Rcode::ServFail,
            Security::Indeterminate,
            Vec::new(),
        )),
        NetError::Timeout => Err(DnsError::Timeout),
        e => Err(DnsError::Resolver(e.to_string())),
    }
}

impl AsyncResolve for Hickory {
    fn resolve<'a>(&'a self, name: &'a str, rtype: RType, timeout: Duration) -> Resolving<'a> {
        Box::pin(async move {
            tokio::time::timeout(timeout, self.lookup(name, rtype))
                .await
                .unwrap_or(Err(DnsError::Timeout))
        })
    }
}

/// [`Hickory`] for blocking callers: lookups run on a current-thread Tokio runtime of
/// its own. Clones share the runtime and the resolver's cache, so that a clone can go
/// to each lookup of an async runtime's blocking pool (smtp-smol's `mx::unblocked`).
#[derive(Clone)]
pub struct BlockingHickory {
    runtime: Arc<OwnRuntime>,
    hickory: Hickory,
}

/// The runtime of a [`BlockingHickory`], shut down without waiting when the last clone
/// goes: dropping a Tokio runtime the plain way panics inside another runtime's context,
/// where an async caller may well drop its resolver.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("taken only on drop")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for BlockingHickory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlockingHickory")
    }
}

impl BlockingHickory {
    /// [`Hickory::new`] on a runtime of its own.
    ///
    /// # Errors
    /// As [`Hickory::new`]; [`TrustAnchorError::Io`] when no runtime could be made.
    pub fn new(
        servers: &[SocketAddr],
        anchors: &TrustAnchorFile,
    ) -> Result<Self, TrustAnchorError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(TrustAnchorError::Io)?;
        let hickory = runtime.block_on(Hickory::new(servers, anchors))?;
        Ok(BlockingHickory {
            runtime: Arc::new(OwnRuntime(Some(runtime))),
            hickory,
        })
    }
}

impl Resolve for BlockingHickory {
    fn resolve(&self, name: &str, rtype: RType, timeout: Duration) -> Result<DnsResult, DnsError> {
        self.runtime
            .get()
            .block_on(AsyncResolve::resolve(&self.hickory, name, rtype, timeout))
    }
}
