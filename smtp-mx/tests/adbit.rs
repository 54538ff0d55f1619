//! The AD-bit backend against a fake validating resolver on loopback: rcode and AD bit
//! mapped to the planner's terms, CNAME chains, TCP after truncation, the AD bit of a
//! resolver elsewhere ignored, and hostile answers turned into typed errors.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::dns::{fake, name, qname, record, response};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{tlsa, CNAME, MX, TLSA, TXT};
use hickory_proto::rr::RData as W;
use smtp_mx::dns::{AdBit, DnsError, Resolve};
use smtp_proto::mx::{DnsResult, RData, RType, Rcode, Security, Tlsa};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}

/// A resolver on `ip` answering every query with `answer(query)` on UDP.
fn resolver(ip: IpAddr, answer: impl Fn(&Message) -> Message + Send + 'static) -> AdBit {
    let (addr, _) = fake(
        ip,
        move |q| vec![bytes(&answer(q))],
        |_| unreachable!("no TCP"),
    );
    AdBit::new(addr)
}

/// An empty answer with TC set (RFC 2181 §9: ask again over TCP).
fn truncated(q: &Message) -> Vec<Vec<u8>> {
    let mut m = response(q, ResponseCode::NoError, true);
    m.metadata.truncation = true;
    vec![bytes(&m)]
}

fn mx_answer(q: &Message, ad: bool) -> Message {
    let mut m = response(q, ResponseCode::NoError, ad);
    m.add_answer(record(
        "example.test.",
        W::MX(MX::new(10, name("MX1.Example.Test."))),
    ));
    m.add_answer(record(
        "example.test.",
        W::MX(MX::new(20, name("mx2.example.test."))),
    ));
    m
}

fn mx_records() -> Vec<RData> {
    vec![
        RData::Mx {
            preference: 10,
            exchange: "mx1.example.test".into(),
        },
        RData::Mx {
            preference: 20,
            exchange: "mx2.example.test".into(),
        },
    ]
}

#[test]
fn ad_set_by_a_loopback_resolver_is_secure_and_clear_is_insecure() {
    for (ad, security) in [(true, Security::Secure), (false, Security::Insecure)] {
        let r = resolver(LOOPBACK, move |q| mx_answer(q, ad));
        let answer = r.resolve("example.test", RType::Mx, WAIT).unwrap();
        assert_eq!(
            answer,
            DnsResult::new(Rcode::NoError, security, mx_records())
        );
    }
}

#[test]
fn queries_ask_for_recursion_dnssec_records_and_the_ad_bit() {
    let (addr, log) = fake(
        LOOPBACK,
        |q| vec![bytes(&mx_answer(q, true))],
        |_| unreachable!(),
    );
    AdBit::new(addr)
        .resolve("example.test", RType::Mx, WAIT)
        .unwrap();
    let queries = log.lock().unwrap();
    let q = &queries[0];
    assert!(q.metadata.recursion_desired);
    assert!(q.metadata.authentic_data, "AD in the query (RFC 6840 §5.7)");
    assert!(q.edns.as_ref().unwrap().flags().dnssec_ok, "DO (RFC 3225)");
    assert_eq!(qname(q), "example.test.");
}

#[test]
fn ad_bit_of_a_resolver_elsewhere_is_not_trusted() {
    // This host's own non-loopback address: the path to it is not loopback.
    let probe = UdpSocket::bind("0.0.0.0:0").unwrap();
    probe.connect("192.0.2.1:53").unwrap();
    let ip = probe.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "no interface address: {ip}"
    );
    let r = resolver(ip, |q| mx_answer(q, true));
    assert!(!r.trusts_ad());
    let answer = r.resolve("example.test", RType::Mx, WAIT).unwrap();
    assert_eq!(
        answer,
        DnsResult::new(Rcode::NoError, Security::Insecure, mx_records())
    );
    assert!(AdBit::new("[::1]:53".parse().unwrap()).trusts_ad());
}

#[test]
fn servfail_and_refused_are_servfail_with_no_status() {
    for rcode in [
        ResponseCode::ServFail,
        ResponseCode::Refused,
        ResponseCode::FormErr,
    ] {
        let r = resolver(LOOPBACK, move |q| response(q, rcode, true));
        let answer = r.resolve("bogus.test", RType::Tlsa, WAIT).unwrap();
        assert_eq!(
            answer,
            DnsResult::new(Rcode::ServFail, Security::Indeterminate, vec![])
        );
    }
}

#[test]
fn nxdomain_and_nodata_keep_their_status() {
    let r = resolver(LOOPBACK, |q| response(q, ResponseCode::NXDomain, true));
    let answer = r.resolve("nowhere.test", RType::Mx, WAIT).unwrap();
    assert_eq!(
        answer,
        DnsResult::new(Rcode::NxDomain, Security::Secure, vec![])
    );
    let r = resolver(LOOPBACK, |q| response(q, ResponseCode::NoError, false));
    let answer = r
        .resolve("_25._tcp.mx.insecure.test", RType::Tlsa, WAIT)
        .unwrap();
    assert_eq!(
        answer,
        DnsResult::new(Rcode::NoError, Security::Insecure, vec![])
    );
}

#[test]
fn cname_chain_in_the_answer_is_followed() {
    let r = resolver(LOOPBACK, |q| {
        let mut m = response(q, ResponseCode::NoError, true);
        m.add_answer(record("alias.test.", W::CNAME(CNAME(name("Step.Test.")))));
        m.add_answer(record("step.test.", W::CNAME(CNAME(name("real.test.")))));
        // Not at the chain's end: not an answer.
        m.add_answer(record(
            "alias.test.",
            W::A(Ipv4Addr::new(192, 0, 2, 9).into()),
        ));
        m.add_answer(record(
            "real.test.",
            W::A(Ipv4Addr::new(192, 0, 2, 10).into()),
        ));
        m
    });
    let answer = r.resolve("alias.test", RType::A, WAIT).unwrap();
    assert_eq!(
        answer.aliases,
        vec![
            ("step.test".into(), Security::Secure),
            ("real.test".into(), Security::Secure)
        ]
    );
    assert_eq!(answer.records, vec![RData::A(Ipv4Addr::new(192, 0, 2, 10))]);
}

#[test]
fn cname_loop_is_malformed() {
    let r = resolver(LOOPBACK, |q| {
        let mut m = response(q, ResponseCode::NoError, true);
        m.add_answer(record("a.test.", W::CNAME(CNAME(name("b.test.")))));
        m.add_answer(record("b.test.", W::CNAME(CNAME(name("a.test.")))));
        m
    });
    let e = r.resolve("a.test", RType::Mx, WAIT).unwrap_err();
    assert!(matches!(e, DnsError::Malformed(_)), "{e:?}");
    assert_eq!(DnsResult::from(e).rcode, Rcode::ServFail);
}

#[test]
fn tlsa_txt_and_null_mx_records_are_read() {
    let r = resolver(LOOPBACK, |q| {
        let mut m = response(q, ResponseCode::NoError, true);
        let n = qname(q);
        match q.queries[0].query_type() {
            hickory_proto::rr::RecordType::TLSA => m.add_answer(record(
                &n,
                W::TLSA(TLSA::new(
                    tlsa::CertUsage::DaneEe,
                    tlsa::Selector::Spki,
                    tlsa::Matching::Sha256,
                    vec![7; 32],
                )),
            )),
            hickory_proto::rr::RecordType::TXT => m.add_answer(record(
                &n,
                W::TXT(TXT::new(vec!["v=STSv1; ".into(), "id=20260101".into()])),
            )),
            _ => m.add_answer(record(&n, W::MX(MX::new(0, name("."))))),
        };
        m
    });
    let tlsa = r
        .resolve("_25._tcp.mx.example.test", RType::Tlsa, WAIT)
        .unwrap();
    assert_eq!(
        tlsa.records,
        vec![RData::Tlsa(Tlsa::from_fields(3, 1, 1, vec![7; 32]))]
    );
    let txt = r
        .resolve("_mta-sts.example.test", RType::Txt, WAIT)
        .unwrap();
    assert_eq!(
        txt.records,
        vec![RData::Txt(b"v=STSv1; id=20260101".to_vec())]
    );
    let mx = r.resolve("nullmx.test", RType::Mx, WAIT).unwrap();
    assert_eq!(
        mx.records,
        vec![RData::Mx {
            preference: 0,
            exchange: String::new()
        }]
    );
}

#[test]
fn truncated_answer_is_asked_again_over_tcp() {
    let (addr, log) = fake(LOOPBACK, truncated, |q| bytes(&mx_answer(q, true)));
    let answer = AdBit::new(addr)
        .resolve("example.test", RType::Mx, WAIT)
        .unwrap();
    assert_eq!(
        answer,
        DnsResult::new(Rcode::NoError, Security::Secure, mx_records())
    );
    assert_eq!(log.lock().unwrap().len(), 2, "one UDP and one TCP query");
}

#[test]
fn datagrams_not_answering_the_question_are_ignored() {
    // RFC 5452 §9.1: another ID, or our ID for another question, is no answer.
    let (addr, _) = fake(
        LOOPBACK,
        |q| {
            let mut wrong_id = response(q, ResponseCode::NXDomain, true);
            wrong_id.metadata.id = q.metadata.id.wrapping_add(1);
            let mut other = q.clone();
            other.queries[0].set_name(name("attacker.test."));
            let wrong_question = response(&other, ResponseCode::NXDomain, true);
            let mut wrong_id_bytes = bytes(&wrong_id);
            wrong_id_bytes.truncate(5); // undecodable, and not ours
            vec![
                bytes(&wrong_id),
                bytes(&wrong_question),
                wrong_id_bytes,
                bytes(&mx_answer(q, true)),
            ]
        },
        |_| unreachable!(),
    );
    let answer = AdBit::new(addr)
        .resolve("example.test", RType::Mx, WAIT)
        .unwrap();
    assert_eq!(answer.records, mx_records());
}

#[test]
fn undecodable_answer_with_our_id_is_malformed() {
    let (addr, _) = fake(
        LOOPBACK,
        |q| {
            let mut cut = bytes(&mx_answer(q, true));
            cut.truncate(cut.len() - 3);
            vec![cut]
        },
        |_| unreachable!(),
    );
    let e = AdBit::new(addr)
        .resolve("example.test", RType::Mx, WAIT)
        .unwrap_err();
    assert!(matches!(e, DnsError::Malformed(_)), "{e:?}");
}

#[test]
fn tcp_answer_to_another_question_is_malformed() {
    let (addr, _) = fake(LOOPBACK, truncated, |q| {
        let mut m = mx_answer(q, true);
        m.metadata.id = m.metadata.id.wrapping_add(1);
        bytes(&m)
    });
    let e = AdBit::new(addr)
        .resolve("example.test", RType::Mx, WAIT)
        .unwrap_err();
    assert!(matches!(e, DnsError::Malformed(_)), "{e:?}");
}

#[test]
fn silence_is_a_timeout_within_the_bound() {
    let (addr, _) = fake(LOOPBACK, |_| vec![], |_| unreachable!());
    let start = Instant::now();
    let e = AdBit::new(addr)
        .resolve("example.test", RType::Mx, Duration::from_millis(300))
        .unwrap_err();
    assert!(matches!(e, DnsError::Timeout), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(DnsResult::from(e).rcode, Rcode::Timeout);
}

#[test]
fn a_name_that_is_no_domain_is_refused_before_sending() {
    let r = AdBit::new(SocketAddr::from((LOOPBACK, 9)));
    let e = r.resolve("a..b", RType::Mx, WAIT).unwrap_err();
    assert!(matches!(e, DnsError::InvalidName(_)), "{e:?}");
}

#[test]
fn unblocked_serves_an_async_adapter_from_the_runtimes_blocking_pool() {
    use smtp_mx::dns::{AsyncResolve, Job, Resolving, Unblocked};
    let r = resolver(LOOPBACK, |q| mx_answer(q, true));
    let spawn = |job: Job| -> Resolving<'static> {
        Box::pin(async move {
            tokio::task::spawn_blocking(job)
                .await
                .map_err(|e| DnsError::Resolver(e.to_string()))?
        })
    };
    let unblocked = Unblocked::new(r, spawn);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(unblocked.resolve("example.test", RType::Mx, WAIT))
        .unwrap();
    assert_eq!(
        answer,
        DnsResult::new(Rcode::NoError, Security::Secure, mx_records())
    );
}

/// An answer with a CNAME chain, for the damaged-answer property below.
fn chained_answer(q: &Message) -> Message {
    let mut m = response(q, ResponseCode::NoError, true);
    m.add_answer(record(&qname(q), W::CNAME(CNAME(name("step.test.")))));
    m.add_answer(record("step.test.", W::CNAME(CNAME(name("real.test.")))));
    m.add_answer(record(
        "real.test.",
        W::MX(MX::new(5, name("mx.real.test."))),
    ));
    m
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    // Hostile input gets a typed error, never a panic: damaged answers carrying our ID
    // (so they are not dropped as another question's) give a result or a DnsError.
    #[test]
    fn damaged_answers_give_a_result_or_a_typed_error(
        chained in proptest::bool::ANY,
        flips in proptest::collection::vec((2usize..400, proptest::num::u8::ANY), 0..4),
        cut in 2usize..400,
    ) {
        let (addr, _) = fake(
            LOOPBACK,
            move |q| {
                let m = if chained { chained_answer(q) } else { mx_answer(q, true) };
                let mut b = bytes(&m);
                for &(at, value) in &flips {
                    if at < b.len() {
                        b[at] = value;
                    }
                }
                b.truncate(cut.max(2));
                vec![b]
            },
            |_| Vec::new(),
        );
        let r = AdBit::new(addr).resolve("example.test", RType::Mx, Duration::from_millis(300));
        if let Ok(answer) = r {
            proptest::prop_assert!(answer.aliases.len() <= 16);
        }
    }
}
