//! `mx::deliver` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md): the cases of smtp-testkit/async-tests/mx_lab.rs through this
//! adapter, DNSSEC validated in process by hickory (`BlockingHickory`, on its own
//! runtime) from the lab's root key, asking the lab's nameserver. Needs the lab (and
//! root): it never skips.

use std::net::SocketAddr;

use smtp_blocking as adapter;
use smtp_mx::dial::Dialer;
use smtp_mx::dns::{BlockingHickory, TrustAnchorFile};

const BACKEND: Backend = Backend::Hickory;

fn run_job(job: &MxJob<'_>, dns: SocketAddr, roots: Roots) -> Delivered {
    let anchors = TrustAnchorFile::read(&MxLab::get().trust_anchor()).expect("the lab's root key");
    let resolver = BlockingHickory::new(&[dns], &anchors).expect("a hickory resolver");
    adapter::mx::deliver(job, &resolver, &Dialer::tcp(), &roots)
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");
