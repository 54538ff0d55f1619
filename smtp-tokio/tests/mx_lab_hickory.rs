//! The hickory backend (in-process DNSSEC validation from the lab's root key) against
//! the MX-delivery lab (`scripts/mx-lab start`, docs/mx-lab.md): the cases of
//! smtp-testkit/async-tests/mx_lab.rs through this adapter with `Hickory` asking the
//! lab's nameserver, and its answers compared with the AD-bit backend's through the
//! lab's validating unbound: both must give the planner the same answers, CNAME links
//! and DNSSEC statuses, bogus ones included. Needs the lab (and root): it never skips.

mod common;

use std::net::SocketAddr;

use common::block_on;
use smtp_mx::dns::{AdBit, Hickory, Resolve, TrustAnchorFile};
use smtp_proto::mx::{RType, Rcode, Security};
use smtp_tokio as adapter;

const BACKEND: Backend = Backend::Hickory;

fn run_job(job: &MxJob<'_>, dns: SocketAddr, roots: Roots) -> Delivered {
    let anchors = TrustAnchorFile::read(&MxLab::get().trust_anchor()).expect("the lab's root key");
    block_on(async {
        let resolver = Hickory::new(&[dns], &anchors)
            .await
            .expect("a hickory resolver");
        adapter::mx::deliver(job, &resolver, &adapter::mx::tcp_dialer(), &roots).await
    })
}

include!("../../smtp-testkit/async-tests/mx_lab.rs");

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hickory_and_a_validating_resolver_agree_on_the_labs_answers() {
    let lab = MxLab::get();
    let anchors = TrustAnchorFile::read(&lab.trust_anchor()).expect("the lab's root key");
    let hickory = Hickory::new(&[lab.nameserver()], &anchors)
        .await
        .expect("a hickory resolver");
    let adbit = AdBit::new(lab.resolver());
    let agreeing = [
        // Case 5: an MX host reached through a CNAME, with an A and no AAAA: a secure
        // CNAME and a secure NODATA (hickory 0.26.3 alone calls the AAAA answer bogus).
        ("mx-alias.dns.test", RType::Aaaa),
        ("mx-alias.dns.test", RType::A),
        ("cname.dns.test", RType::Mx),
        ("mx-good.dns.test", RType::Aaaa),
    ];
    for (name, rtype) in agreeing {
        let ours = hickory.lookup(name, rtype).await.expect("an answer");
        let theirs =
            tokio::task::block_in_place(|| adbit.resolve(name, rtype, TIMEOUT)).expect("an answer");
        assert_eq!(ours, theirs, "{name} {rtype:?}");
    }
    // Cases 2 and 12: bogus stays bogus (a validating resolver says SERVFAIL, which
    // the AD-bit backend cannot tell from other failures: Indeterminate).
    let bogus = [
        ("bogus.test", RType::Mx),
        ("bogus-sigs.test", RType::Mx),
        ("_25._tcp.mx.bogus-tlsa.test", RType::Tlsa),
    ];
    for (name, rtype) in bogus {
        let ours = hickory.lookup(name, rtype).await.expect("an answer");
        assert_eq!(
            (ours.rcode, ours.security),
            (Rcode::ServFail, Security::Bogus),
            "{name}"
        );
        let theirs =
            tokio::task::block_in_place(|| adbit.resolve(name, rtype, TIMEOUT)).expect("an answer");
        assert_eq!(theirs.rcode, Rcode::ServFail, "{name}");
    }
    let alias = hickory
        .lookup("mx-alias.dns.test", RType::Aaaa)
        .await
        .unwrap();
    assert_eq!(
        (alias.rcode, alias.security),
        (Rcode::NoError, Security::Secure)
    );
    assert_eq!(
        alias.aliases,
        [("mx-good.dns.test".to_owned(), Security::Secure)]
    );
    let bogus = hickory.lookup("bogus.test", RType::Mx).await.unwrap();
    assert_eq!(
        (bogus.rcode, bogus.security),
        (Rcode::ServFail, Security::Bogus)
    );
}
