//! `mx::deliver` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md): the cases of smtp-testkit/async-tests/mx_lab.rs through this
//! adapter, the AD bit of the lab's validating resolver trusted. Needs the lab (and
//! root): it never skips.

use std::net::SocketAddr;

use smtp_blocking as adapter;
use smtp_mx::dial::Dialer;
use smtp_mx::dns::AdBit;

const BACKEND: Backend = Backend::AdBit;

fn run_job(job: &MxJob<'_>, dns: SocketAddr, roots: Roots) -> Delivered {
    adapter::mx::deliver(job, &AdBit::new(dns), &Dialer::tcp(), &roots)
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");
