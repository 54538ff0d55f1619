//! `mx::deliver` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md): the cases of smtp-testkit/async-tests/mx_lab.rs through this
//! adapter. Needs the lab (and root): it never skips.

use smtp_blocking as adapter;
use smtp_mx::dial::Dialer;

fn run_job(job: &MxJob<'_>, resolver: AdBit, roots: Roots) -> Delivered {
    adapter::mx::deliver(job, &resolver, &Dialer::tcp(), &roots)
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");
