//! `smtp-send --mx` end to end against the MX-delivery lab (`scripts/mx-lab start`,
//! docs/mx-lab.md), on every runtime: the lab's DNS (unbound's AD bit with
//! `--resolver`, nsd and the root key with `--nameserver --trust-anchor`), its public CA
//! as `--ca-file`, `--allow-addresses 127.0.0.0/8`, and the plain TCP dialer (port 25 to
//! the addresses DNS gave). Each test checks the exit status, the `--json` recipients,
//! and what the lab's Postfix stored. Needs the lab (and root): it never skips.
#![cfg(feature = "mx-lab")]

mod common;

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use smtp_testkit::interop::unique;
use smtp_testkit::mx_hosts::MxHostServer;
use smtp_testkit::mx_lab::{received_by, InProcess, MxLab};
use smtp_testkit::sts_server::{read_table, StsServer};

/// How the CLI gets its DNS answers.
#[derive(Clone, Copy, Debug)]
enum Dns {
    /// `--resolver`: unbound, AD bit trusted.
    AdBit,
    /// `--nameserver --trust-anchor`: hickory validating from the lab's root key.
    Hickory,
}

/// Runs `test` on every runtime with each way of resolving.
fn on_every_runtime_and_resolver(test: impl Fn(&'static str, Dns)) {
    on_every_runtime(|runtime| {
        for dns in [Dns::AdBit, Dns::Hickory] {
            test(runtime, dns);
        }
    });
}

/// `smtp-send --mx` on `runtime` with the lab's DNS, roots and allow-list, sending
/// `message` (a file) to `to`, with `--json`.
fn mx_send(
    lab: &MxLab,
    runtime: &str,
    dns: Dns,
    message: &Path,
    to: &[&str],
) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("smtp-send").expect("the smtp-send binary");
    cmd.args(["--mx", "--runtime", runtime, "--json"]);
    match dns {
        Dns::AdBit => cmd.args(["--resolver", lab.var("MX_LAB_RESOLVER")]),
        Dns::Hickory => cmd
            .args(["--nameserver", lab.var("MX_LAB_NAMESERVER")])
            .args(["--trust-anchor", lab.var("MX_LAB_TRUST_ANCHOR")]),
    };
    cmd.args(["--allow-addresses", lab.var("MX_LAB_ALLOW_ADDRESSES")])
        .args(["--ca-file", lab.var("MX_LAB_CA")])
        .args(["--from", "sender@client.mx-lab.test"])
        .args(["--ehlo", "client.mx-lab.test", "--data"])
        .arg(message)
        .timeout(Duration::from_secs(120));
    for rcpt in to {
        cmd.args(["--to", rcpt]);
    }
    cmd
}

/// A message whose Message-ID no other run has used, as a file, and that id.
fn message(tag: &str) -> (PathBuf, String) {
    message_with(tag, "")
}

/// [`message`] with more header fields (each ending in CRLF).
fn message_with(tag: &str, fields: &str) -> (PathBuf, String) {
    let id = format!("{}@client.mx-lab.test", unique(tag));
    let text = format!(
        "From: sender@client.mx-lab.test\r\nSubject: {tag}\r\nMessage-ID: <{id}>\r\n{fields}\r\nHello {id}.\r\n"
    );
    (temp_file("mx.eml", text.as_bytes()), id)
}

/// A recipient no other run has used, in `domain`.
fn rcpt(domain: &str, runtime: &str) -> String {
    format!("{}@{domain}", unique(&format!("cli-{runtime}")))
}

/// The JSON of recipient `i`.
fn recipient(out: &Run, i: usize) -> Value {
    let v = out.json();
    assert_eq!(v["mx"], true, "{out}");
    v["recipients"][i].clone()
}

/// Where and how a recipient is expected delivered.
struct By<'a> {
    mx: &'a str,
    /// x of 127.0.0.x.
    listener: u8,
    policy: &'a str,
}

/// The lab's hosts as the tests expect them (docs/mx-lab.md).
const DANE_EE: By<'static> = By {
    mx: "mx.dane-ee.test",
    listener: 10,
    policy: "dane",
};
const STS_ENFORCE: By<'static> = By {
    mx: "mx-enforce.sts.test",
    listener: 10,
    policy: "sts",
};
const NO_POLICY: By<'static> = By {
    mx: "mx-good.dns.test",
    listener: 10,
    policy: "none",
};

/// Delivered: by `by.mx` at 127.0.0.`by.listener`, under `by.policy` with success, a
/// 250, and the message (by its Message-ID `id`) in the lab's Maildir, received by
/// that listener.
fn assert_delivered(lab: &MxLab, out: &Run, i: usize, rcpt: &str, by: By<'_>, id: &str) {
    let By {
        mx,
        listener,
        policy,
    } = by;
    let r = recipient(out, i);
    assert_eq!(r["address"], rcpt, "{out}");
    assert_eq!(r["outcome"], "delivered", "{out}");
    assert_eq!(r["mx"], mx, "{out}");
    assert_eq!(r["ip"], format!("127.0.0.{listener}"), "{out}");
    assert_eq!(r["tls"]["policy"], policy, "{out}");
    assert_eq!(r["tls"]["result"], "success", "{out}");
    assert_eq!(r["code"], 250, "{out}");
    let stored = lab.delivered(rcpt, Duration::from_secs(10));
    assert_eq!(stored.len(), 1, "one copy stored for {rcpt}\n{out}");
    let text = String::from_utf8_lossy(&stored[0]);
    assert!(text.contains(&format!("Message-ID: <{id}>")), "{text}");
    assert_eq!(received_by(&stored[0]), Some(listener), "{text}");
}

/// Nothing stored for `rcpt` (after a short wait: delivery into the Maildir is
/// asynchronous).
fn assert_not_stored(lab: &MxLab, rcpt: &str) {
    let stored = lab.delivered(rcpt, Duration::from_secs(2));
    assert!(stored.is_empty(), "{rcpt}: {} copies stored", stored.len());
}

/// RFC 7672: a secure MX, a TLSA record matching the host's certificate: delivered
/// under DANE, and stored. Also in-process validation (`--nameserver`).
#[test]
fn a_dane_domain_is_delivered_under_dane_with_either_resolver() {
    let lab = MxLab::get();
    on_every_runtime_and_resolver(|runtime, dns| {
        let to = rcpt("dane-ee.test", runtime);
        let (data, id) = message(&format!("dane-{runtime}-{dns:?}"));
        let out = run(mx_send(&lab, runtime, dns, &data, &[&to])).expect(0);
        assert_delivered(&lab, &out, 0, &to, DANE_EE, &id);
    });
}

/// The policy server (127.0.0.20:443) is one: the tests starting it take turns.
static STS: Mutex<()> = Mutex::new(());

/// The lab's MTA-STS policy server, for this test alone. The address may still be
/// held by another test process (the adapters' lab tests): try again for a while.
fn sts_server(lab: &MxLab) -> (MutexGuard<'static, ()>, StsServer) {
    let turn = STS.lock().unwrap_or_else(|e| e.into_inner());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let hosts = read_table(&lab.path("MX_LAB_STS_HOSTS"), &lab.path("MX_LAB_PKI"))
            .expect("the lab's MTA-STS table");
        match StsServer::start(lab.sts_addr(), hosts) {
            Ok(server) => return (turn, server),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!(
                "MTA-STS server on {}: {e} (port 443 needs root)",
                lab.sts_addr()
            ),
        }
    }
}

/// RFC 8461: an `enforce` policy fetched over HTTPS, applied (the MX matches, its
/// certificate verifies: sts, success), and stored in `--sts-cache`; a second run with
/// the same file takes it from there: no second request reaches the policy server,
/// while a run without the file fetches it again.
#[test]
fn an_sts_domain_is_delivered_under_its_policy_and_the_cache_file_spares_the_refetch() {
    let lab = MxLab::get();
    let (_turn, sts) = sts_server(&lab);
    let fetches = || {
        sts.requests()
            .iter()
            .filter(|r| r.sni == "mta-sts.enforce.sts.test")
            .count()
    };
    on_every_runtime(|runtime| {
        let cache = temp_file("sts.cache", b"");
        std::fs::remove_file(&cache).expect("no cache file yet");
        let before = fetches();
        for n in 0..2 {
            let to = rcpt("enforce.sts.test", runtime);
            let (data, id) = message(&format!("sts-{runtime}-{n}"));
            let mut cmd = mx_send(&lab, runtime, Dns::AdBit, &data, &[&to]);
            cmd.arg("--sts-cache").arg(&cache);
            let out = run(cmd).expect(0);
            assert_delivered(&lab, &out, 0, &to, STS_ENFORCE, &id);
            assert_eq!(fetches(), before + 1, "run {n}: one fetch in all\n{out}");
            let text = std::fs::read_to_string(&cache).expect("the cache file");
            assert!(text.starts_with("# smtp-mx sts-cache 1\n"), "{text}");
            let line = text
                .lines()
                .find(|l| l.starts_with("enforce.sts.test "))
                .unwrap_or_else(|| panic!("no entry for enforce.sts.test:\n{text}"));
            assert!(line.contains(" enforce "), "{line}");
        }
        // Without the cache file the policy is fetched again: the count above would
        // have seen a refetch.
        let to = rcpt("enforce.sts.test", runtime);
        let (data, _) = message(&format!("sts-{runtime}-nocache"));
        run(mx_send(&lab, runtime, Dns::AdBit, &data, &[&to])).expect(0);
        assert_eq!(fetches(), before + 2);
    });
}

/// RFC 7672 §2.2: a TLSA record that matches no certificate of the host (reached
/// through an insecure MX, §2.2.1) and a DANE-TA certificate for another name: never
/// delivered anyway, deferred (75) with the DANE failure reported; and a bogus MX
/// RRset (DNSSEC validation fails): deferred, no connection at all. Nothing stored.
#[test]
fn a_dane_mismatch_or_bogus_dnssec_is_deferred_with_75() {
    let lab = MxLab::get();
    on_every_runtime_and_resolver(|runtime, dns| {
        let mismatch = rcpt("danefail.insecure.test", runtime);
        let wrongname = rcpt("wrongname.dane-ta.test", runtime);
        let bogus = rcpt("bogus.test", runtime);
        let (data, _) = message(&format!("danefail-{runtime}"));
        let out = run(mx_send(
            &lab,
            runtime,
            dns,
            &data,
            &[&mismatch, &wrongname, &bogus],
        ))
        .expect(75);
        for (i, mx, ip, result) in [
            (
                0,
                "mx-badtlsa.dane-ee.test",
                "127.0.0.10",
                "validation-failure",
            ),
            (
                1,
                "mx-wrongname.dane-ta.test",
                "127.0.0.21",
                "certificate-host-mismatch",
            ),
        ] {
            let r = recipient(&out, i);
            assert_eq!(r["outcome"], "deferred", "{dns:?}: {out}");
            assert_eq!(r["reason"], "no-host", "{dns:?}: {out}");
            assert_eq!(r["mx"], mx, "{dns:?}: {out}");
            assert_eq!(r["ip"], ip, "{dns:?}: {out}");
            assert_eq!(r["tls"]["policy"], "dane", "{dns:?}: {out}");
            assert_eq!(r["tls"]["result"], result, "{dns:?}: {out}");
        }
        let r = recipient(&out, 2);
        assert_eq!(r["outcome"], "deferred", "{dns:?}: {out}");
        // Both its MX and its MTA-STS record are bogus, looked up at once: the MX
        // lookup is the reason, whichever fails first.
        assert_eq!(r["reason"], "mx-lookup", "{dns:?}: {out}");
        assert_eq!(r["mx"], Value::Null, "{dns:?}: {out}");
        for to in [&mismatch, &wrongname, &bogus] {
            assert_not_stored(&lab, to);
        }
    });
}

/// RFC 8689 §5: `TLS-Required: No` in the message's header: the DANE failure that
/// defers the same domain above does not stop it; delivered with opportunistic TLS
/// (policy none), and stored.
#[test]
fn tls_required_no_delivers_past_a_dane_failure() {
    let lab = MxLab::get();
    on_every_runtime(|runtime| {
        let to = rcpt("danefail.insecure.test", runtime);
        let (data, id) = message_with(&format!("tlsrequired-{runtime}"), "TLS-Required: No\r\n");
        let out = run(mx_send(&lab, runtime, Dns::AdBit, &data, &[&to])).expect(0);
        let by = By {
            mx: "mx-badtlsa.dane-ee.test",
            listener: 10,
            policy: "none",
        };
        assert_delivered(&lab, &out, 0, &to, by, &id);
    });
}

/// RFC 7505: a lone null MX is 556 5.1.10 without a connection; exit 69.
#[test]
fn a_null_mx_domain_bounces_556_with_69() {
    let lab = MxLab::get();
    on_every_runtime_and_resolver(|runtime, dns| {
        let to = rcpt("nullmx.dns.test", runtime);
        let (data, _) = message(&format!("nullmx-{runtime}"));
        let out = run(mx_send(&lab, runtime, dns, &data, &[&to])).expect(69);
        let r = recipient(&out, 0);
        assert_eq!(r["outcome"], "bounced", "{out}");
        assert_eq!(r["code"], 556, "{out}");
        assert_eq!(r["enhanced"], "5.1.10", "{out}");
        assert_eq!(r["mx"], Value::Null, "{out}");
        assert_eq!(r["tls"], Value::Null, "{out}");
        assert!(
            out.stderr.contains(&format!("<{to}> bounced: 556 5.1.10")),
            "{out}"
        );
    });
}

/// Several domains in one run, two recipients in one of them: each recipient gets its
/// own domain's result in `--to` order (DANE, no policy, null MX, bogus), the
/// delivered ones are stored, and the run exits 75 (a deferral wins over a bounce).
#[test]
fn mixed_domains_in_one_run_each_get_their_own_result() {
    let lab = MxLab::get();
    on_every_runtime(|runtime| {
        let dane1 = rcpt("dane-ee.test", runtime);
        let plain = rcpt("good.dns.test", runtime);
        let null = rcpt("nullmx.dns.test", runtime);
        let dane2 = rcpt("DANE-EE.test", runtime);
        let bogus = rcpt("bogus-sigs.test", runtime);
        let (data, id) = message(&format!("mixed-{runtime}"));
        let to = [&dane1[..], &plain, &null, &dane2, &bogus];
        let out = run(mx_send(&lab, runtime, Dns::AdBit, &data, &to)).expect(75);
        assert_delivered(&lab, &out, 0, &dane1, DANE_EE, &id);
        assert_delivered(&lab, &out, 1, &plain, NO_POLICY, &id);
        assert_eq!(recipient(&out, 2)["outcome"], "bounced", "{out}");
        assert_eq!(recipient(&out, 2)["code"], 556, "{out}");
        let r = recipient(&out, 3);
        assert_eq!(r["outcome"], "delivered", "{out}");
        assert_eq!(r["tls"]["policy"], "dane", "{out}");
        assert_eq!(recipient(&out, 4)["outcome"], "deferred", "{out}");
        // Its MX and its MTA-STS record are both bogus, and the two lookups run at
        // once (smtp_io::mx::InFlight): the MX lookup is the reason, whichever fails
        // first.
        assert_eq!(recipient(&out, 4)["reason"], "mx-lookup", "{out}");
        let v = out.json();
        let reports = v["tls_reports"].as_array().expect("tls_reports");
        let dane_sessions = reports
            .iter()
            .filter(|r| r["domain"] == "dane-ee.test" && r["result"] == "success")
            .count();
        assert_eq!(
            dane_sessions, 1,
            "one session for both dane-ee.test recipients: {out}"
        );
        assert_eq!(v["recipients"].as_array().map(Vec::len), Some(5), "{out}");
    });
}

/// The default address policy refuses loopback: without `--allow-addresses` the lab's
/// MX host is never tried, and the recipient is deferred.
#[test]
fn without_allow_addresses_a_loopback_mx_is_refused_and_deferred() {
    let lab = MxLab::get();
    on_every_runtime(|runtime| {
        let to = rcpt("good.dns.test", runtime);
        let (data, _) = message(&format!("refused-{runtime}"));
        let mut cmd = assert_cmd::Command::cargo_bin("smtp-send").expect("smtp-send");
        cmd.args(["--mx", "--runtime", runtime, "--json"])
            .args(["--resolver", lab.var("MX_LAB_RESOLVER")])
            .args(["--from", "sender@client.mx-lab.test", "--to", &to, "--data"])
            .arg(&data);
        let out = run(cmd).expect(75);
        let r = recipient(&out, 0);
        assert_eq!(r["outcome"], "deferred", "{out}");
        assert_eq!(r["mx"], Value::Null, "no attempt: {out}");
        assert_not_stored(&lab, &to);
    });
}

/// `--mx` has its own destinations and TLS rules: `--server` or `--insecure` beside it
/// is a usage error (64), and nothing is sent.
#[test]
fn mx_with_server_or_insecure_is_a_usage_error() {
    for extra in [&["--server", "127.0.0.10"][..], &["--insecure"]] {
        let mut cmd = assert_cmd::Command::cargo_bin("smtp-send").expect("smtp-send");
        cmd.args([
            "--mx",
            "--from",
            "a@client.mx-lab.test",
            "--to",
            "b@dane-ee.test",
        ])
        .args(["--body", "x"])
        .args(extra);
        let out = run(cmd).expect(64);
        assert!(out.stderr.contains("cannot be used with"), "{out}");
    }
}

/// A `--sts-cache` file that is no cache file (another program's, say) stops the run
/// before any lookup (74: its policies may be what protects a first contact) and is
/// left as it was; an unreadable line in a cache file is a warning, and the run goes on.
#[test]
fn a_foreign_sts_cache_file_is_74_and_untouched_a_corrupt_line_a_warning() {
    let lab = MxLab::get();
    on_every_runtime(|runtime| {
        let foreign = temp_file("sts.cache", b"not a cache\n");
        let to = rcpt("dane-ee.test", runtime);
        let (data, id) = message(&format!("cache-{runtime}"));
        let mut cmd = mx_send(&lab, runtime, Dns::AdBit, &data, &[&to]);
        cmd.arg("--sts-cache").arg(&foreign);
        let out = run(cmd).expect(74);
        assert_eq!(out.json()["recipients"], serde_json::json!([]), "{out}");
        assert!(out.stderr.contains("not a cache file"), "{out}");
        let left = std::fs::read_to_string(&foreign).expect("still there");
        assert_eq!(left, "not a cache\n");
        assert_not_stored(&lab, &to);

        let corrupt = temp_file("sts.cache", b"# smtp-mx sts-cache 1\ngarbage\n");
        let mut cmd = mx_send(&lab, runtime, Dns::AdBit, &data, &[&to]);
        cmd.arg("--sts-cache").arg(&corrupt);
        let out = run(cmd).expect(0);
        assert!(out.stderr.contains("1 unreadable lines ignored"), "{out}");
        assert_delivered(&lab, &out, 0, &to, DANE_EE, &id);
    });
}

/// RFC 8689 §4.2.1 with `--requiretls`: `requiretls.dane-ee.test`'s first MX host
/// (Postfix, DANE-verified, no REQUIRETLS) cannot take the message, its second
/// (in-process on 127.0.0.35, DANE-verified, REQUIRETLS after STARTTLS) takes it with
/// REQUIRETLS on MAIL FROM, over TLS. Nothing reaches Postfix; `--json` says
/// `requiretls`.
#[test]
fn requiretls_goes_only_to_a_verified_host_offering_it() {
    let lab = MxLab::get();
    let server = MxHostServer::start(InProcess::RequireTls, &lab);
    on_every_runtime_and_resolver(|runtime, dns| {
        let to = rcpt("requiretls.dane-ee.test", runtime);
        let (data, id) = message(&format!("requiretls-{runtime}-{dns:?}"));
        let mut cmd = mx_send(&lab, runtime, dns, &data, &[&to]);
        cmd.arg("--requiretls");
        let out = run(cmd).expect(0);
        assert_eq!(out.json()["requiretls"], true, "{out}");
        let r = recipient(&out, 0);
        assert_eq!(r["outcome"], "delivered", "{dns:?}: {out}");
        assert_eq!(r["mx"], "mx-requiretls.dane-ee.test", "{dns:?}: {out}");
        assert_eq!(r["ip"], "127.0.0.35", "{dns:?}: {out}");
        assert_eq!(r["tls"]["policy"], "dane", "{dns:?}: {out}");
        assert_eq!(r["tls"]["result"], "success", "{dns:?}: {out}");
        assert_eq!(r["code"], 250, "{dns:?}: {out}");
        let seen = server.seen();
        let took: Vec<_> = seen
            .iter()
            .filter(|c| {
                c.messages
                    .iter()
                    .any(|m| String::from_utf8_lossy(m).contains(&id))
            })
            .collect();
        assert_eq!(took.len(), 1, "{seen:?}");
        assert!(took[0].tls, "{:?}", took[0]);
        let mail = took[0]
            .commands
            .iter()
            .find(|c| c.starts_with("MAIL FROM:"));
        assert!(
            mail.is_some_and(|m| m.ends_with(" REQUIRETLS")),
            "{:?}",
            took[0].commands
        );
        assert_not_stored(&lab, &to);
    });
}

/// RFC 8689 §4.2.1 with `--requiretls`: a DANE-verified host without REQUIRETLS
/// (`dane-ee.test`, Postfix) and a domain with no verified TLS at all (`good.dns.test`)
/// cannot take the message: each recipient is bounced `550 5.7.30`, exit 69, and
/// nothing is stored. Without `--requiretls` the same run delivers both (the other
/// tests here): the bounce is REQUIRETLS's.
#[test]
fn requiretls_to_hosts_that_cannot_take_it_bounces_5_7_30_with_69() {
    let lab = MxLab::get();
    on_every_runtime_and_resolver(|runtime, dns| {
        let dane = rcpt("dane-ee.test", runtime);
        let plain = rcpt("good.dns.test", runtime);
        let (data, _) = message(&format!("requiretls-refused-{runtime}-{dns:?}"));
        let mut cmd = mx_send(&lab, runtime, dns, &data, &[&dane, &plain]);
        cmd.arg("--requiretls");
        let out = run(cmd).expect(69);
        assert_eq!(out.json()["requiretls"], true, "{out}");
        for (i, to) in [&dane, &plain].into_iter().enumerate() {
            let r = recipient(&out, i);
            assert_eq!(r["address"], to.as_str(), "{out}");
            assert_eq!(r["outcome"], "bounced", "{dns:?}: {out}");
            assert_eq!(r["code"], 550, "{dns:?}: {out}");
            assert_eq!(r["enhanced"], "5.7.30", "{dns:?}: {out}");
            assert!(
                out.stderr.contains(&format!("<{to}> bounced: 550 5.7.30")),
                "{out}"
            );
        }
        for to in [&dane, &plain] {
            assert_not_stored(&lab, to);
        }
    });
}

/// `--requiretls` asks for verified TLS, `TLS-Required: No` (RFC 8689) for none: given
/// both, the sender is asked to choose (64) and nothing is sent.
#[test]
fn requiretls_beside_tls_required_no_is_a_usage_error() {
    let lab = MxLab::get();
    let to = rcpt("dane-ee.test", "any");
    let (data, _) = message_with("requiretls-conflict", "TLS-Required: No\r\n");
    let mut cmd = mx_send(&lab, "blocking", Dns::AdBit, &data, &[&to]);
    cmd.arg("--requiretls");
    let out = run(cmd).expect(64);
    assert!(out.stderr.contains("TLS-Required: No"), "{out}");
    assert_eq!(out.json()["recipients"], serde_json::json!([]), "{out}");
    assert_not_stored(&lab, &to);
}

/// Relays on in-process MX addresses to the lab's Postfix (127.0.0.10:25) that hold
/// each connection unanswered until every one of them has accepted a connection: a
/// barrier between domains. A relay left alone for [`Gate::PATIENCE`] closes its
/// connection instead, so a client that takes the domains one after another fails
/// there (its next MX host takes the mail) rather than hangs.
struct Gate {
    addrs: Vec<SocketAddr>,
    accepted: Arc<(Mutex<Vec<bool>>, Condvar)>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Gate {
    const PATIENCE: Duration = Duration::from_secs(30);
    const UPSTREAM: &'static str = "127.0.0.10:25";

    fn start(addrs: &[SocketAddr]) -> Gate {
        let accepted = Arc::new((Mutex::new(vec![false; addrs.len()]), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = addrs
            .iter()
            .enumerate()
            .map(|(k, &addr)| {
                let listener = TcpListener::bind(addr)
                    .unwrap_or_else(|e| panic!("{addr}: {e} (port 25 needs root)"));
                let (accepted, stop) = (accepted.clone(), stop.clone());
                std::thread::spawn(move || {
                    for client in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(client) = client else { continue };
                        let accepted = accepted.clone();
                        std::thread::spawn(move || Gate::relay(k, client, &accepted));
                    }
                })
            })
            .collect();
        Gate {
            addrs: addrs.to_vec(),
            accepted,
            stop,
            threads,
        }
    }

    /// Marks relay `k` as reached, waits for the others, then copies both ways.
    fn relay(k: usize, client: TcpStream, accepted: &(Mutex<Vec<bool>>, Condvar)) {
        let (lock, cv) = accepted;
        let mut all = lock.lock().unwrap_or_else(|e| e.into_inner());
        all[k] = true;
        cv.notify_all();
        let (all, _) = cv
            .wait_timeout_while(all, Gate::PATIENCE, |a| !a.iter().all(|&x| x))
            .unwrap_or_else(|e| e.into_inner());
        let met = all.iter().all(|&x| x);
        drop(all);
        if !met {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let Ok(upstream) = TcpStream::connect(Gate::UPSTREAM) else {
            return;
        };
        let (Ok(mut c_in), Ok(mut u_out)) = (client.try_clone(), upstream.try_clone()) else {
            return;
        };
        let up = std::thread::spawn(move || {
            let _ = io::copy(&mut c_in, &mut u_out);
            let _ = u_out.shutdown(Shutdown::Write);
        });
        let (mut u_in, mut c_out) = (upstream, client);
        let _ = io::copy(&mut u_in, &mut c_out);
        let _ = c_out.shutdown(Shutdown::Write);
        let _ = up.join();
    }

    /// Forgets every relay's first connection (for the next run).
    fn reset(&self) {
        let mut all = self.accepted.0.lock().unwrap_or_else(|e| e.into_inner());
        all.iter_mut().for_each(|x| *x = false);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for addr in &self.addrs {
            let _ = TcpStream::connect_timeout(addr, Duration::from_secs(1));
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The domains of one run are delivered side by side: the MX hosts of
/// `eodreset.dns.test` (127.0.0.31) and `starttls454.dane-ee.test` (127.0.0.32) are
/// gated relays to Postfix that answer only once both have a connection, which a run
/// taking the domains one after another never gives (the first domain's host then
/// closes after 30 s and its backup MX, mx-good, takes the mail). Each recipient is
/// delivered by its domain's first MX host, in `--to` order, stored once.
#[test]
fn domains_of_one_run_are_delivered_side_by_side() {
    let lab = MxLab::get();
    let gate = Gate::start(&[InProcess::EodReset.addr(), InProcess::Starttls454.addr()]);
    on_every_runtime(|runtime| {
        gate.reset();
        let a = rcpt("eodreset.dns.test", runtime);
        let b = rcpt("starttls454.dane-ee.test", runtime);
        let (data, id) = message(&format!("side-by-side-{runtime}"));
        let out = run(mx_send(&lab, runtime, Dns::AdBit, &data, &[&a, &b])).expect(0);
        for (i, to, mx, ip, policy) in [
            (0, &a, "mx-eodreset.dns.test", "127.0.0.31", "none"),
            (1, &b, "mx-454.dane-ee.test", "127.0.0.32", "dane"),
        ] {
            let r = recipient(&out, i);
            assert_eq!(r["address"], to.as_str(), "{out}");
            assert_eq!(r["outcome"], "delivered", "{out}");
            assert_eq!(r["mx"], mx, "{out}");
            assert_eq!(r["ip"], ip, "{out}");
            assert_eq!(r["tls"]["policy"], policy, "{out}");
            assert_eq!(r["tls"]["result"], "success", "{out}");
            let stored = lab.delivered(to, Duration::from_secs(10));
            assert_eq!(stored.len(), 1, "one copy stored for {to}\n{out}");
            assert!(String::from_utf8_lossy(&stored[0]).contains(&id));
        }
    });
}

/// How sendmail mode is asked to deliver straight to the MX hosts.
#[derive(Clone, Copy, Debug)]
enum SendmailMx {
    /// `sendmail --mx` with the lab's options, no configuration file.
    Flag,
    /// A plain `sendmail -t` whose configuration file says `mx = true` (with the lab's
    /// resolver, allow-list and CA as keys, and a relay `server` that `mx` overrides:
    /// closed, it would be 75).
    Key,
}

/// `sendmail -t -i --runtime R --json` (a link named `sendmail`) as `how` says, the
/// message on standard input: its `From:` the sender, its `To:` the recipients.
fn sendmail_mx(lab: &MxLab, runtime: &str, how: SendmailMx, to: &[&str]) -> (Run, String) {
    let link = temp_file("placeholder", b"").with_file_name("sendmail");
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("smtp-send"), &link).unwrap();
    let home = link.with_file_name("home");
    let mut cmd = assert_cmd::Command::new(&link);
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .args(["-t", "-i", "--runtime", runtime, "--json"])
        .timeout(Duration::from_secs(120));
    match how {
        SendmailMx::Flag => cmd
            .args(["--mx", "--resolver", lab.var("MX_LAB_RESOLVER")])
            .args(["--allow-addresses", lab.var("MX_LAB_ALLOW_ADDRESSES")])
            .args(["--ca-file", lab.var("MX_LAB_CA")])
            .args(["--ehlo", "client.mx-lab.test"]),
        SendmailMx::Key => {
            let config = format!(
                "[defaults]\nmx = true\nserver = \"127.0.0.1:1\"\nresolver = \"{}\"\n\
                 allow_addresses = [\"{}\"]\nca_file = \"{}\"\nehlo = \"client.mx-lab.test\"\n",
                lab.var("MX_LAB_RESOLVER"),
                lab.var("MX_LAB_ALLOW_ADDRESSES"),
                lab.var("MX_LAB_CA"),
            );
            cmd.arg("-C")
                .arg(temp_file("config.toml", config.as_bytes()))
        }
    };
    let id = format!(
        "{}@client.mx-lab.test",
        unique(&format!("sendmail-{runtime}"))
    );
    let text = format!(
        "From: sender@client.mx-lab.test\nTo: {}\nSubject: cron\nMessage-ID: <{id}>\n\nHello {id}.\n",
        to.join(", ")
    );
    cmd.write_stdin(text);
    (run(cmd), id)
}

/// Sendmail mode delivers through `--mx`'s path, by the option or by the account's
/// `mx = true`, on every runtime, with `--mx`'s exit statuses: a DANE domain
/// delivered (0) and stored; a null MX bounced and a bogus domain deferred in one run
/// (75: the deferral wins), nothing stored. `--mx` conflicts with the spool, so a
/// deferral is not spooled here either: the exit status tells the caller.
#[test]
fn sendmail_mode_delivers_to_mx_hosts_by_the_option_or_the_accounts_mx_key() {
    let lab = MxLab::get();
    on_every_runtime(|runtime| {
        for how in [SendmailMx::Flag, SendmailMx::Key] {
            let to = rcpt("dane-ee.test", runtime);
            let (out, id) = sendmail_mx(&lab, runtime, how, &[&to]);
            let out = out.expect(0);
            assert_delivered(&lab, &out, 0, &to, DANE_EE, &id);

            let null = rcpt("nullmx.dns.test", runtime);
            let bogus = rcpt("bogus.test", runtime);
            let (out, _) = sendmail_mx(&lab, runtime, how, &[&null, &bogus]);
            let out = out.expect(75);
            assert_eq!(recipient(&out, 0)["outcome"], "bounced", "{how:?}: {out}");
            assert_eq!(recipient(&out, 0)["code"], 556, "{how:?}: {out}");
            assert_eq!(recipient(&out, 1)["outcome"], "deferred", "{how:?}: {out}");
            for to in [&null, &bogus] {
                assert_not_stored(&lab, to);
            }
        }
    });
}
