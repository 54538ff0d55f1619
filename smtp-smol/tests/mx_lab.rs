//! `mx::deliver` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md): the cases of smtp-testkit/async-tests/mx_lab.rs through this
//! adapter. Needs the lab (and root): it never skips.

mod common;

use common::block_on;
use smtp_smol as adapter;

fn run_job(job: &MxJob<'_>, resolver: AdBit, roots: Roots) -> Delivered {
    let resolver = adapter::mx::unblocked(resolver);
    block_on(adapter::mx::deliver(
        job,
        &resolver,
        &adapter::mx::tcp_dialer(),
        &roots,
    ))
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");
