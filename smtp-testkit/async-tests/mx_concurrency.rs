// The lookups the MX planner asks for together (the MX, `_mta-sts` and `_smtp._tls`
// records, RFC 8461 §3 and RFC 8460 §3 next to RFC 5321 §5.1) run at once in an async
// adapter's `mx::deliver`: shared by smtp-tokio's and smtp-smol's tests/
// mx_concurrency.rs, each including it after `use <adapter crate> as adapter;` and
// its tests' `block_on`, running the adapter's `mx::deliver`. The
// resolver holds every answer back until all three lookups have started: run one at
// a time, the first would time out and the delivery be deferred. No network: the MX
// lookup's NXDOMAIN bounces the recipient before any connection. Included, so no
// inner attributes or doc comments at the top.

use std::sync::Mutex;
use std::task::{Poll, Waker};
use std::time::Duration;

use adapter::mx::{Delivered, MxJob};
use adapter::smtp_proto::command::{Domain, EhloName, ForwardPath, ReversePath};
use adapter::smtp_proto::mx::{
    DnsResult, MessageMeta, MxConfig, RType, Rcode, RcptResult, Security,
};
use adapter::smtp_proto::Config;
use adapter::Envelope;
use smtp_mx::dns::{AsyncResolve, Resolving};

/// Answers NXDOMAIN to every lookup once `together` lookups have started.
struct Barrier {
    together: usize,
    state: Mutex<Asked>,
}

#[derive(Default)]
struct Asked {
    /// Every lookup started.
    lookups: Vec<(String, RType)>,
    /// Those waiting for the others.
    waiting: Vec<Waker>,
}

fn deliver_with(job: &MxJob<'_>, resolver: &Barrier) -> Delivered {
    block_on(adapter::mx::deliver(
        job,
        resolver,
        &adapter::mx::tcp_dialer(),
        &smtp_mx::tls::Roots::webpki(),
    ))
}

impl Barrier {
    fn new(together: usize) -> Self {
        Barrier {
            together,
            state: Mutex::new(Asked::default()),
        }
    }

    fn asked(&self) -> Vec<(String, RType)> {
        self.state.lock().unwrap().lookups.clone()
    }
}

impl AsyncResolve for Barrier {
    fn resolve<'a>(&'a self, name: &'a str, rtype: RType, _timeout: Duration) -> Resolving<'a> {
        self.state
            .lock()
            .unwrap()
            .lookups
            .push((name.to_owned(), rtype));
        Box::pin(std::future::poll_fn(move |cx| {
            let mut state = self.state.lock().unwrap();
            if state.lookups.len() >= self.together {
                for waker in state.waiting.drain(..) {
                    waker.wake();
                }
                return Poll::Ready(Ok(DnsResult::new(
                    Rcode::NxDomain,
                    Security::Secure,
                    Vec::new(),
                )));
            }
            state.waiting.push(cx.waker().clone());
            Poll::Pending
        }))
    }
}

#[test]
fn the_lookups_the_planner_asks_for_together_run_at_once() {
    let mut config = MxConfig::new(Config::new(EhloName::new("client.example").unwrap()));
    // One at a time, the MX lookup would wait this long for the others, time out,
    // and defer the recipient.
    config.dns_timeout = Duration::from_secs(2);
    let envelope = Envelope::new(
        ReversePath::new("sender@example.org").unwrap(),
        [ForwardPath::new("rcpt@example.net").unwrap()],
    );
    let job = MxJob::new(
        config,
        Domain::new("example.net").unwrap(),
        vec![(MessageMeta::new(envelope), &b"Hi\r\n"[..])],
    );
    let barrier = Barrier::new(3);
    let Delivered { outcome, .. } = deliver_with(&job, &barrier);
    match &outcome.results[0][0] {
        RcptResult::Bounced { reply, mx: None } => {
            assert!(reply.to_string().contains("5.1.2"), "{reply}")
        }
        other => panic!("want the NXDOMAIN bounce, got {other:?}"),
    }
    let mut asked = barrier.asked();
    asked.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        asked,
        [
            ("_mta-sts.example.net".to_owned(), RType::Txt),
            ("_smtp._tls.example.net".to_owned(), RType::Txt),
            ("example.net".to_owned(), RType::Mx),
        ]
    );
}
