//! `mx::deliver` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md): the cases of smtp-testkit/async-tests/mx_lab.rs through this
//! adapter, DNSSEC validated in process by hickory from the lab's root key, asking the
//! lab's nameserver: `BlockingHickory` (hickory on a runtime of its own) on smol's
//! blocking pool. Needs the lab (and root): it never skips.

mod common;

use std::net::SocketAddr;

use common::block_on;
use smtp_mx::dns::{BlockingHickory, TrustAnchorFile};
use smtp_smol as adapter;

const BACKEND: Backend = Backend::Hickory;

fn run_job(job: &MxJob<'_>, dns: SocketAddr, roots: Roots) -> Delivered {
    let anchors = TrustAnchorFile::read(&MxLab::get().trust_anchor()).expect("the lab's root key");
    let resolver = BlockingHickory::new(&[dns], &anchors).expect("a hickory resolver");
    let resolver = adapter::mx::unblocked(resolver);
    block_on(adapter::mx::deliver(
        job,
        &resolver,
        &adapter::mx::tcp_dialer(),
        &roots,
    ))
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");
