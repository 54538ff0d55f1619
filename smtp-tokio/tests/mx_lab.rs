//! `mx::deliver` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md): the cases of smtp-testkit/async-tests/mx_lab.rs through this
//! adapter, the AD bit of the lab's validating resolver trusted. Needs the lab (and root): it never skips.

mod common;

use std::net::SocketAddr;

use common::block_on;
use smtp_mx::dns::AdBit;
use smtp_tokio as adapter;

const BACKEND: Backend = Backend::AdBit;

fn run_job(job: &MxJob<'_>, dns: SocketAddr, roots: Roots) -> Delivered {
    let resolver = adapter::mx::unblocked(AdBit::new(dns));
    block_on(adapter::mx::deliver(
        job,
        &resolver,
        &adapter::mx::tcp_dialer(),
        &roots,
    ))
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");
