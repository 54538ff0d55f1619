//! Each job through the chosen adapter's `mx::deliver`, with the resolver `--resolver`
//! or `--nameserver` asks for on that runtime, and the plain TCP dialer (port 25 to
//! the addresses DNS gave: nothing redirects a connection here). The jobs (one per
//! domain) run side by side, at most [`DOMAINS_AT_ONCE`] at once: on Tokio and smol as
//! futures of one task, on the blocking adapter in scoped threads.

use std::io;
use std::time::Duration;

use smtp_io::mx::{Delivered, MxJob};
use smtp_mx::dial::Dialer;
use smtp_mx::dns::{
    AdBit, AsyncResolve, BlockingHickory, DnsError, Hickory, Resolve, TrustAnchorError,
    TrustAnchorFile,
};
use smtp_mx::tls::Roots;
use smtp_proto::mx::{DnsResult, RType};

use super::concurrent::{joined, threads, DOMAINS_AT_ONCE};
use super::Dns;
use crate::args::Runtime;
use crate::exit::Failure;

/// Delivers `jobs` on `runtime`, up to [`DOMAINS_AT_ONCE`] at a time; one result per
/// job, in order.
pub(super) fn all(
    runtime: Runtime,
    dns: &Dns,
    roots: &Roots,
    jobs: &[MxJob<'_>],
) -> Result<Vec<Delivered>, Failure> {
    match runtime {
        Runtime::Blocking => blocking(dns, roots, jobs),
        Runtime::Tokio => tokio(dns, roots, jobs),
        Runtime::Smol => smol(dns, roots, jobs),
    }
}

/// What stops a run before any lookup: trust anchors that could not be made into
/// keys. A DS anchor no served key matches (a key rollover, or answers not from the
/// zone) and a failed DNSKEY lookup are for later (75); the rest as the file's errors.
fn anchors_failed(e: TrustAnchorError) -> Failure {
    let text = format!("--trust-anchor: {e}");
    match e {
        TrustAnchorError::Io(_) => Failure::Input(text),
        TrustAnchorError::NoKeyForDs(_) | TrustAnchorError::Lookup(_) => {
            Failure::Session(smtp_io::Error::Io(io::Error::other(text)))
        }
        _ => Failure::Usage(text),
    }
}

fn blocking_hickory(
    server: std::net::SocketAddr,
    anchors: &TrustAnchorFile,
) -> Result<BlockingHickory, Failure> {
    BlockingHickory::new(&[server], anchors).map_err(anchors_failed)
}

/// The blocking adapter's resolver.
enum Blocking {
    AdBit(AdBit),
    Hickory(BlockingHickory),
}

impl Resolve for Blocking {
    fn resolve(&self, name: &str, rtype: RType, timeout: Duration) -> Result<DnsResult, DnsError> {
        match self {
            Blocking::AdBit(r) => r.resolve(name, rtype, timeout),
            Blocking::Hickory(r) => r.resolve(name, rtype, timeout),
        }
    }
}

fn blocking(dns: &Dns, roots: &Roots, jobs: &[MxJob<'_>]) -> Result<Vec<Delivered>, Failure> {
    let resolver = match dns {
        Dns::AdBit(server) => Blocking::AdBit(AdBit::new(*server)),
        Dns::Hickory { server, anchors } => Blocking::Hickory(blocking_hickory(*server, anchors)?),
    };
    let dialer = Dialer::tcp();
    Ok(threads(jobs, DOMAINS_AT_ONCE, |job| {
        smtp_blocking::mx::deliver(job, &resolver, &dialer, roots)
    }))
}

fn tokio(dns: &Dns, roots: &Roots, jobs: &[MxJob<'_>]) -> Result<Vec<Delivered>, Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Session(smtp_io::Error::Io(e)))?;
    rt.block_on(async {
        let resolver: Box<dyn AsyncResolve> = match dns {
            Dns::AdBit(server) => Box::new(smtp_tokio::mx::unblocked(AdBit::new(*server))),
            Dns::Hickory { server, anchors } => Box::new(
                Hickory::new(&[*server], anchors)
                    .await
                    .map_err(anchors_failed)?,
            ),
        };
        let dialer = smtp_tokio::mx::tcp_dialer();
        let each = jobs
            .iter()
            .map(|job| smtp_tokio::mx::deliver(job, &*resolver, &dialer, roots));
        Ok(joined(each, DOMAINS_AT_ONCE).await)
    })
}

fn smol(dns: &Dns, roots: &Roots, jobs: &[MxJob<'_>]) -> Result<Vec<Delivered>, Failure> {
    // hickory needs Tokio: its blocking wrapper's own runtime, off smol's executor.
    let resolver: Box<dyn AsyncResolve> = match dns {
        Dns::AdBit(server) => Box::new(smtp_smol::mx::unblocked(AdBit::new(*server))),
        // Clones share the resolver's runtime and cache.
        Dns::Hickory { server, anchors } => Box::new(smtp_smol::mx::unblocked(blocking_hickory(
            *server, anchors,
        )?)),
    };
    let dialer = smtp_smol::mx::tcp_dialer();
    let each = jobs
        .iter()
        .map(|job| smtp_smol::mx::deliver(job, &*resolver, &dialer, roots));
    Ok(smol::block_on(joined(each, DOMAINS_AT_ONCE)))
}
