// `mx::deliver` end to end against the MX-delivery lab (scripts/mx-lab start,
// docs/mx-lab.md), shared by the three adapters' tests/mx_lab.rs (the AD-bit backend)
// and tests/mx_lab_hickory.rs (hickory validating in process): each includes this file
// after `use <adapter crate> as adapter;`, a `const BACKEND: Backend` and a
// `run_job(job, dns, roots)` running its `mx::deliver` with the plain TCP dialer and
// that backend asking `dns`. The production policy path (port 25 to the addresses the
// lab's DNS gives, DNSSEC statuses from the backend, the lab's public CA as WebPKI
// roots), each hostile case checked by the recipient's result, the TLS reporting
// results, and what the lab's Postfix stored. Both backends must give every case the
// same outcome. Case numbers are docs/mx-lab.md's. Included, so no inner attributes or
// doc comments at the top.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use adapter::mx::{Delivered, MxJob};
use adapter::smtp_proto::command::{Domain, EhloName, ForwardPath, ReversePath};
use adapter::smtp_proto::mx::{
    parse_sts_policy, MessageMeta, MxConfig, MxEvent, PolicyType, RcptResult, SkipReason,
    StsCacheEntry, StsMode, TlsResultType,
};
use adapter::smtp_proto::Config;
use adapter::Envelope;
use smtp_mx::tls::Roots;
use smtp_testkit::interop::unique;
use smtp_testkit::mx_hosts::MxHostServer;
use smtp_testkit::mx_lab::{received_by, InProcess, MxLab};
use smtp_testkit::sts_server::StsServer;

/// The DNS backend a suite runs the cases through.
#[allow(dead_code)]
enum Backend {
    /// The lab's validating resolver (unbound), its AD bit trusted: `run_job` gets
    /// its address.
    AdBit,
    /// hickory validating in process from the lab's root key (`MxLab::trust_anchor`):
    /// `run_job` gets the lab's authoritative nameserver.
    Hickory,
}

/// Where `BACKEND` asks: the lab's server for it, or a test's own.
fn dns_server(lab: &MxLab, own: Option<std::net::SocketAddr>) -> std::net::SocketAddr {
    own.unwrap_or_else(|| match BACKEND {
        Backend::AdBit => lab.resolver(),
        Backend::Hickory => lab.nameserver(),
    })
}

/// The policy server's address (127.0.0.20:443) and the in-process MX hosts' are one
/// each: the tests starting them take turns.
static STS: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    STS.lock().unwrap_or_else(|e| e.into_inner())
}

struct Sent {
    rcpt: String,
    result: RcptResult,
    events: Vec<MxEvent>,
}

/// How a test wants the message or the configuration changed.
#[derive(Clone, Default)]
struct Opts {
    requiretls: bool,
    /// How long a greeting may take (RFC 5321's five minutes otherwise).
    greeting: Option<Duration>,
    /// Without the lab's allow-list: the default address policy (case 6).
    default_addresses: bool,
    /// The seed ordering MX hosts of equal preference.
    seed: u64,
    /// `TLS-Required: No` (RFC 8689 §5).
    tls_required_no: bool,
    /// A stored MTA-STS policy.
    cached: Option<StsCacheEntry>,
    /// Another DNS server than the lab's, and how long a lookup may take.
    resolver: Option<(std::net::SocketAddr, Duration)>,
    /// How long the MTA-STS policy fetch may take.
    fetch: Option<Duration>,
}

fn send(lab: &MxLab, domain: &str, opts: Opts) -> Sent {
    let rcpt = format!("{}@{domain}", unique("mx"));
    let mut config = MxConfig::new(Config::new(
        EhloName::new("client.mx-lab.test").expect("name"),
    ));
    if let Some(t) = opts.greeting {
        config.session.timeouts.greeting = t;
    }
    if let Some((_, t)) = opts.resolver {
        config.dns_timeout = t;
    }
    if let Some(t) = opts.fetch {
        config.fetch_timeout = t;
    }
    if !opts.default_addresses {
        config.allow = vec![lab.var("MX_LAB_ALLOW_ADDRESSES").parse().expect("cidr")];
    }
    let mut envelope = Envelope::new(
        ReversePath::new("sender@client.mx-lab.test").expect("from"),
        [ForwardPath::new(&rcpt).expect("rcpt")],
    );
    envelope.requiretls = opts.requiretls;
    let body = format!(
        "From: sender@client.mx-lab.test\r\nTo: {rcpt}\r\nSubject: mx lab\r\n\r\nHello.\r\n"
    );
    let mut meta = MessageMeta::new(envelope);
    meta.tls_required_no = opts.tls_required_no;
    let job = MxJob::new(
        config,
        Domain::new(domain).expect("domain"),
        vec![(meta, body.as_bytes())],
    )
    .seed(opts.seed)
    .cached(opts.cached);
    let mut roots = rustls::RootCertStore::empty();
    for ca in lab.public_roots() {
        roots.add(ca).expect("lab CA");
    }
    let Delivered {
        mut outcome,
        events,
        ..
    } = run_job(
        &job,
        dns_server(lab, opts.resolver.map(|(a, _)| a)),
        Roots::new(roots),
    );
    let result = outcome.results.remove(0).remove(0);
    Sent {
        rcpt,
        result,
        events,
    }
}

/// The TLS reporting results, in order: policy type, result type, MX host.
fn reports(s: &Sent) -> Vec<(PolicyType, Option<TlsResultType>, Option<String>)> {
    s.events
        .iter()
        .filter_map(|e| match e {
            MxEvent::TlsReport(r) => Some((
                r.policy,
                r.result,
                r.mx.as_ref().map(|m| m.as_str().to_owned()),
            )),
            _ => None,
        })
        .collect()
}

/// Each failed TLS report's MX host and `receiving-mx-helo` (RFC 8460 §4.3): the
/// name the server announced before TLS failed. Postfix's listeners announce
/// `listener-<x>.mx-lab.test`, the in-process hosts their MX name.
fn failure_helos(s: &Sent) -> Vec<(String, Option<String>)> {
    s.events
        .iter()
        .filter_map(|e| match e {
            MxEvent::TlsReport(r) if r.result.is_some() => Some((
                r.mx.as_ref().map(|m| m.as_str().to_owned())?,
                r.helo.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// (`mx`, `Some(helo)`), for comparing with [`failure_helos`].
fn helo(mx: &str, helo: &str) -> (String, Option<String>) {
    (mx.to_owned(), Some(helo.to_owned()))
}

fn skipped(s: &Sent) -> Vec<(String, SkipReason)> {
    s.events
        .iter()
        .filter_map(|e| match e {
            MxEvent::HostSkipped { host, reason, .. } => Some((host.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// Delivered by `mx`, and stored by Postfix once, through listener 127.0.0.`listener`
/// (over TLS when `tls`).
#[track_caller]
fn assert_delivered(lab: &MxLab, s: &Sent, mx: &str, listener: u8, tls: bool) {
    match &s.result {
        RcptResult::Delivered { mx: by, .. } => assert_eq!(by.as_str(), mx, "{}", s.rcpt),
        other => panic!(
            "{}: want delivered by {mx}, got {other:?}; events {:?}",
            s.rcpt, s.events
        ),
    }
    let stored = lab.delivered(&s.rcpt, Duration::from_secs(10));
    assert_eq!(stored.len(), 1, "{}: copies stored", s.rcpt);
    assert_eq!(received_by(&stored[0]), Some(listener), "{}", s.rcpt);
    let text = String::from_utf8_lossy(&stored[0]);
    assert_eq!(text.contains("(using TLS"), tls, "{}: TLS\n{text}", s.rcpt);
}

/// Not stored anywhere.
#[track_caller]
fn assert_not_stored(lab: &MxLab, s: &Sent) {
    let stored = lab.delivered(&s.rcpt, Duration::from_secs(2));
    assert!(
        stored.is_empty(),
        "{}: stored {} copies",
        s.rcpt,
        stored.len()
    );
}

#[track_caller]
fn assert_deferred(lab: &MxLab, s: &Sent) {
    assert!(
        matches!(s.result, RcptResult::Deferred { .. }),
        "{}: want deferred, got {:?}",
        s.rcpt,
        s.result
    );
    assert_not_stored(lab, s);
}

/// Bounced with a reply carrying `code` and `status`.
#[track_caller]
fn assert_bounced(lab: &MxLab, s: &Sent, code: &str, status: &str) {
    match &s.result {
        RcptResult::Bounced { reply, .. } => {
            let text = reply.to_string();
            assert!(
                text.starts_with(code) && text.contains(status),
                "{}: {text}",
                s.rcpt
            );
        }
        other => panic!("{}: want bounced {status}, got {other:?}", s.rcpt),
    }
    assert_not_stored(lab, s);
}

const NONE: PolicyType = PolicyType::NoPolicyFound;
const TLSA: PolicyType = PolicyType::Tlsa;
const STS_: PolicyType = PolicyType::Sts;

fn r(
    p: PolicyType,
    t: Option<TlsResultType>,
    mx: &str,
) -> (PolicyType, Option<TlsResultType>, Option<String>) {
    (p, t, Some(mx.to_owned()))
}

#[test]
fn case_1_a_lone_null_mx_bounces_5_1_10_without_an_attempt_and_a_null_mx_among_others_is_ignored() {
    let lab = MxLab::get();
    let s = send(&lab, "nullmx.dns.test", Opts::default());
    assert_bounced(&lab, &s, "556", "5.1.10");
    assert_eq!(reports(&s), vec![], "no attempt, no session to report");

    let s = send(&lab, "nullmix.dns.test", Opts::default());
    assert_delivered(&lab, &s, "mx-good.dns.test", 10, true);
    assert_eq!(reports(&s), vec![r(NONE, None, "mx-good.dns.test")]);
}

#[test]
fn case_3_nxdomain_bounces_5_1_2_nodata_is_the_implicit_mx_and_one_without_addresses_bounces() {
    let lab = MxLab::get();
    let s = send(&lab, "missing.dns.test", Opts::default());
    assert_bounced(&lab, &s, "5", "5.1.2");
    assert_eq!(reports(&s), vec![]);

    let s = send(&lab, "nodata.dns.test", Opts::default());
    assert_delivered(&lab, &s, "nodata.dns.test", 10, true);
    assert_eq!(reports(&s), vec![r(NONE, None, "nodata.dns.test")]);

    let s = send(&lab, "noaddr.dns.test", Opts::default());
    assert!(
        !matches!(s.result, RcptResult::Delivered { .. }),
        "{:?}",
        s.result
    );
    assert_not_stored(&lab, &s);
}

#[test]
fn case_8_a_refused_first_address_moves_to_the_second_and_a_host_with_both_refused_to_the_next() {
    let lab = MxLab::get();
    let s = send(&lab, "twoaddr.dns.test", Opts::default());
    assert_delivered(&lab, &s, "mx-twoaddr.dns.test", 42, true);
    assert_eq!(reports(&s), vec![r(NONE, None, "mx-twoaddr.dns.test")]);

    let s = send(&lab, "bothfail.dns.test", Opts::default());
    assert_delivered(&lab, &s, "mx-good.dns.test", 10, true);
    assert_eq!(reports(&s), vec![r(NONE, None, "mx-good.dns.test")]);
}

#[test]
fn case_9_greeting_421_or_554_and_rcpt_450_move_to_the_next_mx_and_rcpt_550_is_final() {
    let lab = MxLab::get();
    for domain in ["greet421.dns.test", "greet554.dns.test"] {
        let s = send(&lab, domain, Opts::default());
        assert_delivered(&lab, &s, "mx-good.dns.test", 10, true);
        // The refused greeting got no session: only mx-good's is reported.
        assert_eq!(
            reports(&s),
            vec![r(NONE, None, "mx-good.dns.test")],
            "{domain}"
        );
    }
    let s = send(&lab, "rcpt450.dns.test", Opts::default());
    assert_delivered(&lab, &s, "mx-good.dns.test", 10, true);
    assert_eq!(
        reports(&s),
        vec![
            r(NONE, None, "mx-450.dns.test"),
            r(NONE, None, "mx-good.dns.test")
        ]
    );

    let s = send(&lab, "rcpt550.dns.test", Opts::default());
    match &s.result {
        RcptResult::Bounced { mx: Some(mx), .. } => assert_eq!(mx.as_str(), "mx-550.dns.test"),
        other => panic!("{other:?}"),
    }
    assert_bounced(&lab, &s, "550", "5.1.1");
    assert_eq!(
        reports(&s),
        vec![r(NONE, None, "mx-550.dns.test")],
        "mx-good not tried"
    );

    let s = send(&lab, "sessionlimit.dns.test", Opts::default());
    assert_deferred(&lab, &s);
    assert_eq!(
        reports(&s),
        vec![
            r(NONE, None, "mx-450.dns.test"),
            r(NONE, None, "mx-450b.dns.test")
        ],
        "mx-good beyond the session limit"
    );
}

#[test]
fn case_11_a_dane_host_without_starttls_is_never_used_in_cleartext() {
    let lab = MxLab::get();
    let s = send(&lab, "nostarttls.dane-ee.test", Opts::default());
    assert_deferred(&lab, &s);
    assert_eq!(
        reports(&s),
        vec![r(
            TLSA,
            Some(TlsResultType::StarttlsNotSupported),
            "mx-nostarttls.dane-ee.test"
        )]
    );
    assert_eq!(
        failure_helos(&s),
        vec![helo(
            "mx-nostarttls.dane-ee.test",
            "listener-15.mx-lab.test"
        )]
    );
}

#[test]
fn case_12_a_bogus_tlsa_lookup_makes_the_host_unusable_not_dane_free() {
    let lab = MxLab::get();
    let s = send(&lab, "bogus-tlsa.test", Opts::default());
    assert_delivered(&lab, &s, "mx.dane-ee.test", 10, true);
    assert_eq!(
        skipped(&s),
        vec![("mx.bogus-tlsa.test".to_owned(), SkipReason::TlsaUnavailable)]
    );
    assert_eq!(
        reports(&s),
        vec![
            r(
                TLSA,
                Some(TlsResultType::DnssecInvalid),
                "mx.bogus-tlsa.test"
            ),
            r(TLSA, None, "mx.dane-ee.test")
        ]
    );

    let s = send(&lab, "only.bogus-tlsa.test", Opts::default());
    assert_deferred(&lab, &s);
}

#[test]
fn case_13_insecure_or_denied_tlsa_means_opportunistic_tls() {
    let lab = MxLab::get();
    for (domain, mx, listener) in [
        ("insecure.test", "mx.insecure.test", 10),
        ("notlsa.dane-ee.test", "mx-notlsa.dane-ee.test", 12),
        ("insecurehost.dane-ee.test", "mx.insecure.test", 10),
    ] {
        let s = send(&lab, domain, Opts::default());
        assert_delivered(&lab, &s, mx, listener, true);
        assert_eq!(reports(&s), vec![r(NONE, None, mx)], "{domain}");
    }
}

#[test]
fn case_14_only_unusable_tlsa_requires_tls_without_verifying_it() {
    let lab = MxLab::get();
    let s = send(&lab, "unusable.dane-ee.test", Opts::default());
    assert_delivered(&lab, &s, "mx-unusable.dane-ee.test", 14, true);
    assert_eq!(
        reports(&s),
        vec![r(
            TLSA,
            Some(TlsResultType::TlsaInvalid),
            "mx-unusable.dane-ee.test"
        )]
    );

    let s = send(&lab, "unusable-notls.dane-ee.test", Opts::default());
    assert_deferred(&lab, &s);
}

#[test]
fn case_15_dane_ee_accepts_expired_self_signed_and_wrong_name_certificates_it_pins() {
    let lab = MxLab::get();
    for (domain, listener) in [
        ("expired.dane-ee.test", 13),
        ("selfsigned.dane-ee.test", 14),
        ("wrongname.dane-ee.test", 12),
        ("dane-ee.test", 10),
        ("full.dane-ee.test", 10),
        ("sha512.dane-ee.test", 10),
        ("multi.dane-ee.test", 10),
    ] {
        let s = send(&lab, domain, Opts::default());
        let mx = match &s.result {
            RcptResult::Delivered { mx, .. } => mx.as_str().to_owned(),
            other => panic!("{domain}: {other:?}"),
        };
        assert_delivered(&lab, &s, &mx, listener, true);
        assert_eq!(reports(&s), vec![r(TLSA, None, &mx)], "{domain}");
    }
}

#[test]
fn case_17_dane_ta_checks_the_chain_to_the_pinned_ca_and_the_names() {
    let lab = MxLab::get();
    for domain in [
        "dane-ta.test",
        "nexthop.dane-ta.test",
        "fullca.dane-ta.test",
    ] {
        let s = send(&lab, domain, Opts::default());
        let mx = match &s.result {
            RcptResult::Delivered { mx, .. } => mx.as_str().to_owned(),
            other => panic!("{domain}: {other:?}"),
        };
        assert_eq!(reports(&s), vec![r(TLSA, None, &mx)], "{domain}");
    }
    for domain in [
        "wrongname.dane-ta.test",
        "nexthop-ta.insecure.test",
        "publicta.dane-ta.test",
    ] {
        let s = send(&lab, domain, Opts::default());
        assert_deferred(&lab, &s);
        let reps = reports(&s);
        assert!(
            !reps.is_empty() && reps.iter().all(|(p, t, _)| *p == TLSA && t.is_some()),
            "{domain}: {reps:?}"
        );
    }
}

#[test]
fn case_19_an_insecure_mx_rrset_with_secure_tlsa_at_the_host_still_gets_dane() {
    let lab = MxLab::get();
    let s = send(&lab, "daneonly.insecure.test", Opts::default());
    assert_delivered(&lab, &s, "mx.dane-ee.test", 10, true);
    assert_eq!(reports(&s), vec![r(TLSA, None, "mx.dane-ee.test")]);

    let s = send(&lab, "danefail.insecure.test", Opts::default());
    assert_deferred(&lab, &s);
    assert_eq!(
        reports(&s),
        vec![r(
            TLSA,
            Some(TlsResultType::ValidationFailure),
            "mx-badtlsa.dane-ee.test"
        )]
    );
}

#[test]
fn case_18_an_sts_enforced_host_failing_dane_is_not_rescued_by_webpki() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let s = send(&lab, "stsdane.dane-ee.test", Opts::default());
    assert_deferred(&lab, &s);
    assert_eq!(
        reports(&s),
        vec![r(
            TLSA,
            Some(TlsResultType::ValidationFailure),
            "mx-badtlsa.dane-ee.test"
        )]
    );
}

#[test]
fn case_20_a_policy_host_with_a_bad_certificate_gives_no_policy() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    for d in ["cert-untrusted", "cert-wrongname", "cert-expired"] {
        let domain = format!("{d}.sts.test");
        let s = send(&lab, &domain, Opts::default());
        let mx = format!("mx-{d}.sts.test");
        assert_delivered(&lab, &s, &mx, 12, true);
        let reps = reports(&s);
        assert!(
            reps.contains(&(STS_, Some(TlsResultType::StsWebpkiInvalid), None)),
            "{domain}: {reps:?}"
        );
        assert!(reps.contains(&r(NONE, None, &mx)), "{domain}: {reps:?}");
    }
}

#[test]
fn case_21_redirects_error_statuses_and_other_types_give_no_policy() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    for d in [
        "http-redirect",
        "http-404",
        "http-500",
        "http-type",
        "http-big",
    ] {
        let domain = format!("{d}.sts.test");
        let s = send(&lab, &domain, Opts::default());
        let mx = format!("mx-{d}.sts.test");
        assert_delivered(&lab, &s, &mx, 12, true);
        let reps = reports(&s);
        assert!(
            reps.iter()
                .any(|(p, t, mx)| *p == STS_ && t.is_some() && mx.is_none()),
            "{domain}: the failed fetch reported: {reps:?}"
        );
    }
}

#[test]
fn case_23_enforce_needs_a_listed_mx_wildcards_match_one_label_and_testing_reports() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let s = send(&lab, "enforce.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-enforce.sts.test", 10, true);
    assert_eq!(reports(&s), vec![r(STS_, None, "mx-enforce.sts.test")]);

    let s = send(&lab, "wild.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx.wild.sts.test", 10, true);
    assert_eq!(reports(&s), vec![r(STS_, None, "mx.wild.sts.test")]);

    for domain in [
        "nomatch.sts.test",
        "wild-apex.sts.test",
        "wild-deep.sts.test",
    ] {
        let s = send(&lab, domain, Opts::default());
        assert_deferred(&lab, &s);
    }

    let s = send(&lab, "testing.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-testing.sts.test", 12, true);
    assert_eq!(
        reports(&s),
        vec![r(
            STS_,
            Some(TlsResultType::CertificateHostMismatch),
            "mx-testing.sts.test"
        )]
    );
}

#[test]
fn case_24_enforce_skips_a_host_without_starttls_or_with_another_names_certificate() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let s = send(&lab, "notls.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-notls-good.sts.test", 10, true);
    assert_eq!(
        reports(&s),
        vec![
            r(
                STS_,
                Some(TlsResultType::StarttlsNotSupported),
                "mx-notls.sts.test"
            ),
            r(STS_, None, "mx-notls-good.sts.test")
        ]
    );
    assert_eq!(
        failure_helos(&s),
        vec![helo("mx-notls.sts.test", "listener-15.mx-lab.test")]
    );

    let s = send(&lab, "wrongcert.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-wrongcert-good.sts.test", 10, true);
    assert_eq!(
        reports(&s),
        vec![
            r(
                STS_,
                Some(TlsResultType::CertificateHostMismatch),
                "mx-wrongcert.sts.test"
            ),
            r(STS_, None, "mx-wrongcert-good.sts.test")
        ]
    );
    // The certificate failed the handshake: the name is the one EHLO's reply gave.
    assert_eq!(
        failure_helos(&s),
        vec![helo("mx-wrongcert.sts.test", "listener-12.mx-lab.test")]
    );
}

#[test]
fn case_27_requiretls_without_dane_or_an_enforced_policy_bounces_5_7_30() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let opts = Opts {
        requiretls: true,
        ..Opts::default()
    };
    for domain in ["good.dns.test", "testing.sts.test", "insecure.test"] {
        let s = send(&lab, domain, opts.clone());
        assert_bounced(&lab, &s, "5", "5.7.30");
    }
}

#[test]
fn case_28_requiretls_to_verified_hosts_none_offering_it_bounces_5_7_30() {
    let lab = MxLab::get();
    let s = send(
        &lab,
        "dane-ee.test",
        Opts {
            requiretls: true,
            ..Opts::default()
        },
    );
    assert_bounced(&lab, &s, "5", "5.7.30");
}

#[test]
fn case_8_a_host_that_never_greets_times_out_and_the_next_host_delivers() {
    let lab = MxLab::get();
    let _turn = turn();
    let silent = MxHostServer::start(InProcess::Silent, &lab);
    let opts = Opts {
        greeting: Some(Duration::from_secs(2)),
        ..Opts::default()
    };
    let s = send(&lab, "timeout.dns.test", opts);
    // A greeting that never comes is a failed handshake: the next host (the planner's
    // rule), not the host's second address.
    assert_delivered(&lab, &s, "mx-good.dns.test", 10, true);
    assert_eq!(reports(&s), vec![r(NONE, None, "mx-good.dns.test")]);
    drop(silent);
}

#[test]
fn case_10_a_cut_after_the_end_of_data_is_unknown_and_never_resent_to_the_next_mx() {
    let lab = MxLab::get();
    let _turn = turn();
    let server = MxHostServer::start(InProcess::EodReset, &lab);
    let s = send(&lab, "eodreset.dns.test", Opts::default());
    match &s.result {
        RcptResult::Unknown { mx } => assert_eq!(mx.as_str(), "mx-eodreset.dns.test"),
        other => panic!("{}: want unknown, got {other:?}", s.rcpt),
    }
    assert_not_stored(&lab, &s);
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].messages.len(), 1, "the content reached the host");
    let reps = reports(&s);
    assert!(
        reps.iter()
            .all(|(_, _, mx)| mx.as_deref() == Some("mx-eodreset.dns.test")),
        "mx-good never tried: {reps:?}"
    );
}

#[test]
fn case_11_starttls_refused_or_broken_at_a_dane_host_is_never_followed_by_cleartext() {
    let lab = MxLab::get();
    let _turn = turn();
    for (which, domain, mx, result) in [
        (
            InProcess::Starttls454,
            "starttls454.dane-ee.test",
            "mx-454.dane-ee.test",
            TlsResultType::StarttlsNotSupported,
        ),
        (
            InProcess::TlsBroken,
            "tlsfail.dane-ee.test",
            "mx-tlsfail.dane-ee.test",
            TlsResultType::ValidationFailure,
        ),
    ] {
        let server = MxHostServer::start(which, &lab);
        let s = send(&lab, domain, Opts::default());
        assert_deferred(&lab, &s);
        assert_eq!(reports(&s), vec![r(TLSA, Some(result), mx)], "{domain}");
        assert_eq!(failure_helos(&s), vec![helo(mx, mx)], "{domain}");
        let seen = server.seen();
        assert!(!seen.is_empty(), "{domain}: the host was tried");
        for conn in &seen {
            assert!(
                conn.commands
                    .iter()
                    .all(|c| !c.to_ascii_uppercase().starts_with("MAIL")),
                "{domain}: MAIL in cleartext: {conn:?}"
            );
        }
    }
}

#[test]
fn case_16_a_pinned_certificate_whose_handshake_another_key_signs_is_rejected() {
    let lab = MxLab::get();
    let _turn = turn();
    let server = MxHostServer::start(InProcess::KeyMismatch, &lab);
    let s = send(&lab, "mismatch.dane-ee.test", Opts::default());
    assert_deferred(&lab, &s);
    assert_eq!(
        reports(&s),
        vec![r(
            TLSA,
            Some(TlsResultType::ValidationFailure),
            "mx-mismatch.dane-ee.test"
        )]
    );
    assert_eq!(
        failure_helos(&s),
        vec![helo("mx-mismatch.dane-ee.test", "mx-mismatch.dane-ee.test")]
    );
    let seen = server.seen();
    assert!(!seen.is_empty() && seen.iter().all(|c| !c.tls), "{seen:?}");
    assert!(
        seen.iter().any(|c| c
            .commands
            .iter()
            .any(|l| l.eq_ignore_ascii_case("STARTTLS"))),
        "the handshake was tried: {seen:?}"
    );
}

#[test]
fn case_28_requiretls_moves_past_a_verified_host_without_it_to_one_offering_it() {
    let lab = MxLab::get();
    let _turn = turn();
    let server = MxHostServer::start(InProcess::RequireTls, &lab);
    let opts = Opts {
        requiretls: true,
        ..Opts::default()
    };
    let s = send(&lab, "requiretls.dane-ee.test", opts);
    match &s.result {
        RcptResult::Delivered { mx, .. } => assert_eq!(mx.as_str(), "mx-requiretls.dane-ee.test"),
        other => panic!("{}: {other:?}", s.rcpt),
    }
    let seen = server.seen();
    let delivered: Vec<_> = seen.iter().filter(|c| !c.messages.is_empty()).collect();
    assert_eq!(delivered.len(), 1, "{seen:?}");
    assert!(delivered[0].tls);
    assert!(
        delivered[0]
            .commands
            .iter()
            .any(|c| c.starts_with("MAIL FROM:") && c.contains("REQUIRETLS")),
        "{:?}",
        delivered[0].commands
    );
    assert_not_stored(&lab, &s);
    assert_eq!(
        reports(&s).last(),
        Some(&r(TLSA, None, "mx-requiretls.dane-ee.test"))
    );
}

/// A stored `enforce` policy for `domain` listing `mx`, fetched now for record `id`.
fn cached_enforce(domain: &str, mx: &str, id: &str) -> StsCacheEntry {
    let text = format!("version: STSv1\nmode: enforce\nmx: {mx}\nmax_age: 86400\n");
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    StsCacheEntry {
        domain: Domain::new(domain).expect("domain"),
        id: id.to_owned(),
        policy: parse_sts_policy(text.as_bytes()).expect("policy"),
        fetched: unix,
    }
}

fn cached_policies(s: &Sent) -> Vec<StsCacheEntry> {
    s.events
        .iter()
        .filter_map(|e| match e {
            MxEvent::CachePolicy(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn case_2_a_bogus_mx_rrset_defers_without_an_attempt_or_a_fallback_to_the_address() {
    let lab = MxLab::get();
    for domain in ["bogus.test", "bogus-sigs.test", "bogus-ds.test"] {
        let s = send(&lab, domain, Opts::default());
        assert_deferred(&lab, &s);
        assert!(
            reports(&s).iter().all(|(_, _, mx)| mx.is_none()),
            "{domain}: no session: {:?}",
            reports(&s)
        );
    }
}

#[test]
fn case_4_an_ip_literal_mx_target_is_skipped() {
    let lab = MxLab::get();
    let s = send(&lab, "ipmx.dns.test", Opts::default());
    assert!(
        !matches!(s.result, RcptResult::Delivered { .. }),
        "{:?}",
        s.result
    );
    assert_not_stored(&lab, &s);
    assert_eq!(reports(&s), vec![]);
    assert!(skipped(&s)
        .iter()
        .any(|(_, why)| *why == SkipReason::IpLiteral));

    let s = send(&lab, "ipmx2.dns.test", Opts::default());
    assert_delivered(&lab, &s, "mx-good.dns.test", 10, true);
    assert_eq!(reports(&s), vec![r(NONE, None, "mx-good.dns.test")]);
}

#[test]
fn case_5_cnames_are_followed_under_the_original_domains_policy_and_loops_defer() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let s = send(&lab, "cname.dns.test", Opts::default());
    assert_delivered(&lab, &s, "mx-alias.dns.test", 10, true);
    assert_eq!(reports(&s), vec![r(STS_, None, "mx-alias.dns.test")]);
    for domain in ["loop1.dns.test", "chain0.dns.test"] {
        let s = send(&lab, domain, Opts::default());
        assert_deferred(&lab, &s);
    }
}

#[test]
fn case_6_loopback_mx_addresses_are_refused_by_the_default_address_policy() {
    let lab = MxLab::get();
    let opts = Opts {
        default_addresses: true,
        ..Opts::default()
    };
    let s = send(&lab, "good.dns.test", opts);
    assert_deferred(&lab, &s);
    assert_eq!(reports(&s), vec![]);
    assert!(
        skipped(&s)
            .iter()
            .any(|(_, why)| *why == SkipReason::AddressRefused),
        "{:?}",
        skipped(&s)
    );
}

#[test]
fn case_7_tied_hosts_are_shuffled_by_the_seed_and_hosts_beyond_the_cap_are_not_tried() {
    let lab = MxLab::get();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let opts = Opts {
            seed,
            ..Opts::default()
        };
        let s = send(&lab, "ties.dns.test", opts);
        match &s.result {
            RcptResult::Delivered { mx, .. } => seen.insert(mx.as_str().to_owned()),
            other => panic!("seed {seed}: {other:?}"),
        };
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["mx-tie-a.dns.test", "mx-tie-b.dns.test"]
    );

    let s = send(&lab, "many.dns.test", Opts::default());
    assert_deferred(&lab, &s);
    assert!(
        reports(&s)
            .iter()
            .all(|(_, _, mx)| mx.as_deref() != Some("mx-good.dns.test")),
        "{:?}",
        reports(&s)
    );
}

#[test]
fn case_22_invalid_policies_are_none_and_valid_ones_in_any_line_ending_are_enforced() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    for d in [
        "syn-nover",
        "syn-nomode",
        "syn-maxage",
        "syn-nomx",
        "syn-dupmode",
        "twotxt",
        "badid",
    ] {
        let domain = format!("{d}.sts.test");
        let s = send(&lab, &domain, Opts::default());
        let mx = format!("mx-{d}.sts.test");
        assert_delivered(&lab, &s, &mx, 12, true);
        assert!(
            reports(&s).contains(&r(NONE, None, &mx)),
            "{domain}: {:?}",
            reports(&s)
        );
    }
    for d in ["syn-crlf", "syn-lf", "syn-unknown"] {
        let domain = format!("{d}.sts.test");
        let s = send(&lab, &domain, Opts::default());
        assert_deferred(&lab, &s);
        let mx = format!("mx-{d}.sts.test");
        assert_eq!(
            reports(&s),
            vec![r(STS_, Some(TlsResultType::CertificateHostMismatch), &mx)],
            "{domain}"
        );
    }
}

#[test]
fn case_20_a_cached_policy_is_still_enforced_when_the_policy_host_is_untrusted() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let opts = Opts {
        cached: Some(cached_enforce(
            "cert-untrusted.sts.test",
            "mx-cert-untrusted.sts.test",
            "1",
        )),
        ..Opts::default()
    };
    let s = send(&lab, "cert-untrusted.sts.test", opts);
    assert_deferred(&lab, &s);
}

#[test]
fn case_25_the_cache_outlives_the_record_survives_a_failed_refetch_and_mode_none_clears() {
    let lab = MxLab::get();
    let _turn = turn();
    let sts = StsServer::start_lab(&lab);
    // TXT gone, cached policy valid: enforced.
    let opts = Opts {
        cached: Some(cached_enforce("notxt.sts.test", "mx-notxt.sts.test", "1")),
        ..Opts::default()
    };
    let s = send(&lab, "notxt.sts.test", opts);
    assert_deferred(&lab, &s);
    // No cache and no TXT: no policy.
    let s = send(&lab, "notxt.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-notxt.sts.test", 12, true);

    // A new id: refetched, and the new policy handed out for the cache.
    let before = sts.requests().len();
    let opts = Opts {
        cached: Some(cached_enforce(
            "enforce.sts.test",
            "mx.other.example",
            "old",
        )),
        ..Opts::default()
    };
    let s = send(&lab, "enforce.sts.test", opts);
    assert_delivered(&lab, &s, "mx-enforce.sts.test", 10, true);
    assert!(sts.requests()[before..]
        .iter()
        .any(|q| q.sni == "mta-sts.enforce.sts.test"));
    let cached = cached_policies(&s);
    assert!(
        cached.len() == 1 && cached[0].id != "old" && cached[0].policy.mode == StsMode::Enforce,
        "{cached:?}"
    );

    // The refetch fails: the old policy is kept and enforced.
    let opts = Opts {
        cached: Some(cached_enforce(
            "refetchfail.sts.test",
            "mx-refetchfail.sts.test",
            "1",
        )),
        ..Opts::default()
    };
    let s = send(&lab, "refetchfail.sts.test", opts);
    assert_deferred(&lab, &s);

    // mode: none clears, and delivers.
    let s = send(&lab, "none.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-none.sts.test", 12, true);

    // TXT SERVFAIL without a cache: deferred.
    let s = send(&lab, "txtfail.sts.test", Opts::default());
    assert_deferred(&lab, &s);
}

#[test]
fn case_26_a_policy_host_on_a_refused_address_is_not_fetched() {
    let lab = MxLab::get();
    let _turn = turn();
    let sts = StsServer::start_lab(&lab);
    let s = send(&lab, "refusedaddr.sts.test", Opts::default());
    assert_delivered(&lab, &s, "mx-refusedaddr.sts.test", 12, true);
    assert!(
        sts.requests()
            .iter()
            .all(|q| !q.sni.contains("refusedaddr")),
        "{:?}",
        sts.requests()
    );
}

#[test]
fn case_29_tls_required_no_relaxes_dane_and_sts_but_requiretls_wins() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    for (domain, mx, listener, tls) in [
        ("stsdane.dane-ee.test", "mx-badtlsa.dane-ee.test", 10, true),
        (
            "danefail.insecure.test",
            "mx-badtlsa.dane-ee.test",
            10,
            true,
        ),
        ("wrongcert.sts.test", "mx-wrongcert.sts.test", 12, true),
        (
            "unusable-notls.dane-ee.test",
            "mx-unusable-notls.dane-ee.test",
            15,
            false,
        ),
    ] {
        let opts = Opts {
            tls_required_no: true,
            ..Opts::default()
        };
        let s = send(&lab, domain, opts);
        assert_delivered(&lab, &s, mx, listener, tls);

        let opts = Opts {
            tls_required_no: true,
            requiretls: true,
            ..Opts::default()
        };
        let s = send(&lab, domain, opts);
        assert!(
            !matches!(s.result, RcptResult::Delivered { .. }),
            "{domain}: {:?}",
            s.result
        );
        assert_not_stored(&lab, &s);
    }
}

#[test]
fn case_2_an_mx_lookup_that_times_out_defers_without_an_attempt() {
    let lab = MxLab::get();
    // A resolver that never answers: a UDP socket bound and never read.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let opts = Opts {
        resolver: Some((silent.local_addr().expect("addr"), Duration::from_secs(1))),
        ..Opts::default()
    };
    let s = send(&lab, "good.dns.test", opts);
    match &s.result {
        RcptResult::Deferred { reason, .. } => {
            assert_eq!(*reason, adapter::smtp_proto::mx::DeferReason::MxLookup)
        }
        other => panic!("{other:?}"),
    }
    assert_not_stored(&lab, &s);
    assert!(reports(&s).iter().all(|(_, _, mx)| mx.is_none()));
}

#[test]
fn case_21_a_policy_body_slower_than_the_fetch_deadline_gives_no_policy() {
    let lab = MxLab::get();
    let _turn = turn();
    let _sts = StsServer::start_lab(&lab);
    let opts = Opts {
        fetch: Some(Duration::from_secs(2)),
        ..Opts::default()
    };
    let s = send(&lab, "http-slow.sts.test", opts);
    assert_delivered(&lab, &s, "mx-http-slow.sts.test", 12, true);
    let reps = reports(&s);
    assert!(
        reps.contains(&(STS_, Some(TlsResultType::StsPolicyFetchError), None)),
        "{reps:?}"
    );
    assert!(
        reps.contains(&r(NONE, None, "mx-http-slow.sts.test")),
        "{reps:?}"
    );
}
