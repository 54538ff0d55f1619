//! `--mx`: each recipient's message delivered straight to its domain's MX hosts, as an
//! MTA's outbound side does it (RFC 5321 §5.1), under DANE (RFC 7672) and MTA-STS (RFC
//! 8461). Protocol-free like the rest of the tool: the recipients are grouped per
//! domain, each domain is one `MxJob` for the chosen adapter's `mx::deliver`
//! ([`deliver`]; up to 8 domains at once, [`concurrent`]), and its per-recipient results are printed ([`output`]) and mapped to
//! an exit status. MTA-STS policies are kept between runs in `--sts-cache`'s file.

mod concurrent;
mod deliver;
mod output;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use smtp_io::mx::{Delivered, MxJob};
use smtp_mx::dns::TrustAnchorFile;
use smtp_mx::sts_cache::{FileStsCache, StsCache};
use smtp_mx::tls::Roots;
use smtp_proto::command::{Domain, EhloName, ForwardPath, ReversePath};
use smtp_proto::mx::{Cidr, MessageMeta, MxConfig, MxEvent, RcptResult};
use smtp_proto::{Config, Timeouts};

use crate::args::Args;
use crate::exit::{ExitStatus, Failure, Invalid};
use crate::say;
use crate::session::{envelope_of, Dsn};

/// How DNS answers are had, with their DNSSEC status.
pub(crate) enum Dns {
    /// `--resolver`: a validating resolver whose AD bit is trusted on loopback.
    AdBit(SocketAddr),
    /// `--nameserver` and `--trust-anchor`: validation in process (hickory).
    Hickory {
        server: SocketAddr,
        anchors: TrustAnchorFile,
    },
}

/// The recipients of one domain: one job.
struct Group {
    domain: Domain,
    /// Indexes into the recipients (`--to`), in order.
    rcpts: Vec<usize>,
}

/// Everything from the command line, checked, before any lookup.
struct MxPlan {
    from: ReversePath,
    to: Vec<ForwardPath>,
    groups: Vec<Group>,
    config: MxConfig,
    roots: Roots,
    dns: Dns,
    dsn: Dsn,
    message: Vec<u8>,
    /// `--requiretls` (RFC 8689 §4).
    requiretls: bool,
    /// The message's `TLS-Required: No` (RFC 8689 §5).
    tls_required_no: bool,
}

/// The default resolver: a validating one on this machine (as Postfix, Exim and mox
/// expect one).
const DEFAULT_RESOLVER: &str = "127.0.0.1";

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address; port 53 by default. An
/// address, not a name: names need a resolver first.
/// Also the `resolver` key's.
pub(crate) fn dns_server(s: &str) -> Result<SocketAddr, Invalid> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
    bare.unwrap_or(s)
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| Invalid::of(format!("{s:?}"), "expected ADDR[:PORT]"))
}

/// `--allow-addresses` and the `allow_addresses` key: a range in CIDR notation.
pub(crate) fn cidr(s: &str) -> Result<Cidr, Invalid> {
    s.parse().map_err(|e| Invalid::of(format!("{s:?}"), e))
}

/// The EHLO name: `--ehlo` (or the account's), else this host's name when it is one,
/// else `localhost`. An MX host may judge a client by it (RFC 5321 §4.1.4).
fn ehlo(args: &Args) -> Result<EhloName, Failure> {
    if let Some(n) = &args.ehlo {
        return crate::ehlo_name(n).map_err(|e| e.flag("--ehlo"));
    }
    let host = crate::message::local_host();
    Ok(EhloName::new(&host)
        .ok()
        .filter(|_| host.contains('.'))
        .unwrap_or_else(EhloName::localhost))
}

/// The recipients grouped per domain (any case), in the order of first appearance.
fn groups(to: &[ForwardPath]) -> Result<Vec<Group>, Failure> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, rcpt) in to.iter().enumerate() {
        let Some(mailbox) = rcpt.mailbox() else {
            return Err(Failure::Data(format!(
                "--to {:?}: --mx needs a domain to look up",
                rcpt.as_str()
            )));
        };
        let domain = mailbox.domain();
        if domain.is_address_literal() {
            return Err(Failure::Data(format!(
                "--to {:?}: an address literal has no MX hosts",
                rcpt.as_str()
            )));
        }
        let lower = domain.as_str().to_ascii_lowercase();
        match groups.iter_mut().find(|g| g.domain.as_str() == lower) {
            Some(g) => g.rcpts.push(i),
            None => groups.push(Group {
                domain: Domain::new(&lower).map_err(|e| Failure::Data(format!("{lower}: {e}")))?,
                rcpts: vec![i],
            }),
        }
    }
    Ok(groups)
}

/// The WebPKI roots of MTA-STS (the policy host, the MX hosts): Mozilla's, and
/// `--ca-file`'s.
fn roots(args: &Args) -> Result<Roots, Failure> {
    let mut store = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = &args.ca_file {
        for cert in crate::tls::ca_certs(path).map_err(|e| e.flag("--ca-file"))? {
            store
                .add(cert)
                .map_err(|e| Failure::Usage(format!("--ca-file {}: {e}", path.display())))?;
        }
    }
    Ok(Roots::new(store))
}

fn dns(args: &Args) -> Result<Dns, Failure> {
    let Some(ns) = &args.nameserver else {
        let server = args.resolver.as_deref().unwrap_or(DEFAULT_RESOLVER);
        return Ok(Dns::AdBit(
            dns_server(server).map_err(|e| e.flag("--resolver"))?,
        ));
    };
    let server = dns_server(ns).map_err(|e| e.flag("--nameserver"))?;
    let path = args
        .trust_anchor
        .as_deref()
        .ok_or_else(|| Failure::Usage("--nameserver needs --trust-anchor".into()))?;
    let anchors = TrustAnchorFile::read(path).map_err(|e| {
        let text = format!("--trust-anchor {}: {e}", path.display());
        match e {
            smtp_mx::dns::TrustAnchorError::Io(_) => Failure::Input(text),
            _ => Failure::Usage(text),
        }
    })?;
    Ok(Dns::Hickory { server, anchors })
}

fn plan(args: &Args, message: Option<Vec<u8>>) -> Result<MxPlan, Failure> {
    if args.to.is_empty() {
        return Err(Failure::Usage("--to is needed".into()));
    }
    let from = crate::needed(&args.from, "--from", "from")?;
    let from = crate::sender(from).map_err(|e| Failure::Data(e.named("--from")))?;
    let to = args
        .to
        .iter()
        .map(|a| ForwardPath::new(a).map_err(|e| Failure::Data(format!("--to {a:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let groups = groups(&to)?;
    let mut config = MxConfig::new(Config::new(ehlo(args)?));
    for cidr in &args.allow_addresses {
        config
            .allow
            .push(self::cidr(cidr).map_err(|e| e.flag("--allow-addresses"))?);
    }
    if let Some(t) = crate::seconds("--timeout", args.timeout)? {
        config.session.timeouts = Timeouts::all(t);
    }
    config.session.pipelining = !args.no_pipelining;
    config.session.chunking = !args.no_chunking;
    let roots = roots(args)?;
    let dns = dns(args)?;
    let dsn = crate::dsn(args)?;
    let message = match message {
        Some(m) => m,
        None => crate::message::load(args)?,
    };
    if let Some(offset) = message.iter().position(|&b| b == 0) {
        return Err(Failure::Data(format!(
            "the message has a NUL octet at offset {offset}"
        )));
    }
    let tls_required_no = crate::requiretls::tls_required_no(args.requiretls, &message)?;
    let message = crate::dkim::sign(args, message)?;
    Ok(MxPlan {
        from,
        to,
        groups,
        config,
        roots,
        dns,
        dsn,
        message,
        requiretls: args.requiretls,
        tls_required_no,
    })
}

/// The stored MTA-STS policies (`--sts-cache`). An unreadable file stops the run: the
/// policies it holds are what protects a first contact from a downgrade.
fn open_cache(args: &Args) -> Result<Option<FileStsCache>, Failure> {
    let Some(path) = &args.sts_cache else {
        return Ok(None);
    };
    let cache = FileStsCache::open(path)
        .map_err(|e| Failure::Input(format!("--sts-cache {}: {e}", path.display())))?;
    if cache.skipped() > 0 {
        say(&format!(
            "warning: --sts-cache {}: {} unreadable lines ignored",
            path.display(),
            cache.skipped()
        ));
    }
    Ok(Some(cache))
}

/// `--mx`: delivers, prints, and returns the exit status.
pub(crate) fn run(args: &Args, message: Option<Vec<u8>>) -> ExitStatus {
    let plan = match plan(args, message) {
        Ok(p) => p,
        Err(f) => return finish(args, None, Some(f)),
    };
    let mut cache = match open_cache(args) {
        Ok(c) => c,
        Err(f) => return finish(args, None, Some(f)),
    };
    // RFC 5321 §5.1: MX hosts of equal preference in random order.
    let seeds = RandomState::new();
    let jobs: Vec<MxJob<'_>> = plan
        .groups
        .iter()
        .map(|g| {
            let to: Vec<ForwardPath> = g.rcpts.iter().map(|&i| plan.to[i].clone()).collect();
            let mut envelope = envelope_of(&plan.message, &plan.from, &to, &plan.dsn, true);
            // RFC 8689 §4.2.1: the planner sends it only to hosts that qualify.
            envelope.requiretls = plan.requiretls;
            let mut meta = MessageMeta::new(envelope);
            meta.tls_required_no = plan.tls_required_no;
            let messages = vec![(meta, plan.message.as_slice())];
            MxJob::new(plan.config.clone(), g.domain.clone(), messages)
                .cached(cache.as_ref().and_then(|c| c.get(&g.domain)))
                .seed(seeds.hash_one(g.domain.as_str()))
        })
        .collect();
    let delivered = match deliver::all(args.runtime, &plan.dns, &plan.roots, &jobs) {
        Ok(d) => d,
        Err(f) => return finish(args, None, Some(f)),
    };
    if let Some(cache) = &mut cache {
        store_policies(cache, &delivered);
    }
    finish(args, Some((&plan, &delivered)), None)
}

/// The first option only `--mx` takes, when given without it. clap's `requires`
/// alone lets it through beside `--server` (which `--mx` conflicts with).
pub(crate) fn stray_option(args: &Args) -> Option<&'static str> {
    [
        (args.resolver.is_some(), "--resolver"),
        (args.nameserver.is_some(), "--nameserver"),
        (args.trust_anchor.is_some(), "--trust-anchor"),
        (!args.allow_addresses.is_empty(), "--allow-addresses"),
        (args.sts_cache.is_some(), "--sts-cache"),
    ]
    .into_iter()
    .find(|(given, _)| *given && !args.mx)
    .map(|(_, option)| option)
}

/// The first option of the command line that only a relay takes (those `--mx`
/// conflicts with), for the account's `mx = true`: the command line asked for a relay.
pub(crate) fn relay_option(args: &Args) -> Option<&'static str> {
    [
        (args.tls, "--tls"),
        (args.starttls.is_some(), "--starttls"),
        (args.insecure, "--insecure"),
        (args.lmtp, "--lmtp"),
        (args.proxy.is_some(), "--proxy"),
        (args.queue.is_some(), "--queue"),
        (args.auth_user.is_some(), "--auth-user"),
        (args.auth_password_env.is_some(), "--auth-password-env"),
        (args.auth_password_file.is_some(), "--auth-password-file"),
        (args.xoauth2_token_env.is_some(), "--xoauth2-token-env"),
        (args.auth_mech.is_some(), "--auth-mech"),
        (args.allow_plaintext_auth, "--allow-plaintext-auth"),
        (args.connect_timeout.is_some(), "--connect-timeout"),
        (args.repeat > 1, "--repeat"),
        (args.concurrency > 1, "--concurrency"),
    ]
    .into_iter()
    .find(|(given, _)| *given)
    .map(|(_, option)| option)
}

/// A run stopped before `--mx` began (the account or sendmail mode's input).
pub(crate) fn failed(args: &Args, f: Failure) -> ExitStatus {
    finish(args, None, Some(f))
}

/// Each policy fetched (or withdrawn) into the cache; a failed write is a warning (the
/// mail went as the policy said).
fn store_policies(cache: &mut FileStsCache, delivered: &[Delivered]) {
    let entries = delivered.iter().flat_map(|d| &d.events);
    for e in entries {
        if let MxEvent::CachePolicy(entry) = e {
            if let Err(e) = cache.put(entry.clone()) {
                say(&format!(
                    "warning: --sts-cache {}: {e}",
                    cache.path().display()
                ));
            }
        }
    }
}

/// The exit status of the recipients' results: 75 when any is deferred or unknown
/// (trying again later may deliver it), else 69 when any bounced, else 0.
fn status(results: &[&RcptResult]) -> ExitStatus {
    let temp = results
        .iter()
        .any(|r| matches!(r, RcptResult::Deferred { .. } | RcptResult::Unknown { .. }));
    let bounced = results
        .iter()
        .any(|r| matches!(r, RcptResult::Bounced { .. }));
    match (temp, bounced) {
        (true, _) => ExitStatus::TempFail,
        (false, true) => ExitStatus::Unavailable,
        (false, false) => ExitStatus::Ok,
    }
}

/// Prints every recipient's result (standard error, or `--json` on standard output)
/// and returns the exit status.
fn finish(
    args: &Args,
    done: Option<(&MxPlan, &[Delivered])>,
    failure: Option<Failure>,
) -> ExitStatus {
    let recipients = done
        .map(|(plan, d)| output::recipients(plan, d))
        .unwrap_or_default();
    let results: Vec<&RcptResult> = recipients.iter().map(|r| r.result).collect();
    let status = match &failure {
        Some(f) => crate::exit::status(Some(f), &[], 0),
        None => status(&results),
    };
    let error = failure.as_ref().map(ToString::to_string);
    if let Some(e) = &error {
        say(&format!("error: {e}"));
    }
    for r in &recipients {
        say(&output::line(r));
    }
    if args.json {
        let reports = done.map(|(_, d)| d).unwrap_or_default();
        let v = output::json(&recipients, reports, args.requiretls, error, status);
        let _ = writeln!(std::io::stdout().lock(), "{v}");
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("smtp-send").chain(argv.iter().copied()))
    }

    /// `--mx` has its own TLS rules and its own destinations: a relay, `--insecure`
    /// or a login beside it is a usage error (exit 64), before anything is sent.
    #[test]
    fn mx_with_server_insecure_or_a_relay_option_is_a_usage_error() {
        let base = ["--mx", "--from", "a@example.org", "--to", "b@example.net"];
        for extra in [
            &["--server", "mx.example.net"][..],
            &["--insecure"],
            &["--tls"],
            &["--starttls", "never"],
            &["--auth-user", "me"],
            &["--proxy", "socks5://127.0.0.1:1080"],
        ] {
            let argv: Vec<&str> = base.iter().chain(extra).copied().collect();
            let e = parse(&argv).expect_err(&format!("{argv:?}"));
            assert!(e.use_stderr(), "{argv:?}: an error, exit 64");
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{argv:?}"
            );
        }
        assert!(parse(&base).is_ok());
        // The MX options need --mx; --nameserver needs its anchors.
        for argv in [
            &["--resolver", "127.0.0.1"][..],
            &["--allow-addresses", "127.0.0.0/8"],
            &["--sts-cache", "f"],
            &["--mx", "--nameserver", "127.0.0.2"],
            &[
                "--mx",
                "--nameserver",
                "127.0.0.2",
                "--resolver",
                "127.0.0.3",
                "--trust-anchor",
                "k",
            ],
        ] {
            assert!(parse(argv).is_err(), "{argv:?}");
        }
        // Beside --server, clap lets them through: the run refuses them.
        for option in ["--resolver", "--sts-cache"] {
            let argv = ["--server", "x", option, "127.0.0.1"];
            let args = parse(&argv).expect("clap takes it");
            assert_eq!(stray_option(&args), Some(option));
        }
        let args = parse(&["--server", "x", "--allow-addresses", "127.0.0.0/8"]).unwrap();
        assert_eq!(stray_option(&args), Some("--allow-addresses"));
        // --requiretls serves a relay too (crate::requiretls).
        let args = parse(&["--server", "x", "--requiretls"]).unwrap();
        assert_eq!(stray_option(&args), None);
        assert_eq!(stray_option(&parse(&base).unwrap()), None);
    }

    /// RFC 8689: `--requiretls` beside a message saying `TLS-Required: No` is refused
    /// while planning (64, before any lookup); either alone is planned as asked.
    #[test]
    fn requiretls_beside_tls_required_no_is_a_usage_error_either_alone_is_planned() {
        let base = ["--mx", "--from", "a@example.org", "--to", "b@example.net"];
        let with = |extra: &[&'static str]| {
            let argv: Vec<&str> = base.iter().chain(extra).copied().collect();
            parse(&argv).unwrap()
        };
        let no = b"Subject: x\r\nTLS-Required: No\r\n\r\nbody\r\n".to_vec();
        let plain = b"Subject: x\r\n\r\nbody\r\n".to_vec();
        let refused = plan(&with(&["--requiretls"]), Some(no.clone())).err();
        assert!(
            matches!(&refused, Some(Failure::Usage(t)) if t.contains("TLS-Required: No")),
            "{refused:?}"
        );
        let p = plan(&with(&["--requiretls"]), Some(plain)).expect("planned");
        assert!(p.requiretls && !p.tls_required_no);
        let p = plan(&with(&[]), Some(no)).expect("planned");
        assert!(!p.requiretls && p.tls_required_no);
    }

    #[test]
    fn dns_servers_are_addresses_with_port_53_by_default() {
        let s = |t: &str| dns_server(t).ok();
        assert_eq!(s("127.0.0.3"), Some("127.0.0.3:53".parse().unwrap()));
        assert_eq!(s("127.0.0.3:5353"), Some("127.0.0.3:5353".parse().unwrap()));
        assert_eq!(s("::1"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(s("[::1]"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(s("[::1]:54"), Some("[::1]:54".parse().unwrap()));
        assert_eq!(s("resolver.example"), None);
        assert_eq!(s("127.0.0.3:x"), None);
    }

    #[test]
    fn recipients_are_grouped_per_domain_in_any_case_and_need_a_domain() {
        let to: Vec<ForwardPath> = ["a@X.example", "b@y.example", "c@x.EXAMPLE"]
            .iter()
            .map(|a| ForwardPath::new(a).unwrap())
            .collect();
        let g = groups(&to).unwrap();
        let got: Vec<(&str, &[usize])> = g
            .iter()
            .map(|g| (g.domain.as_str(), &g.rcpts[..]))
            .collect();
        assert_eq!(got, [("x.example", &[0, 2][..]), ("y.example", &[1][..])]);
        for bad in ["postmaster", "a@[127.0.0.1]"] {
            assert!(groups(&[ForwardPath::new(bad).unwrap()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn tls_required_no_is_read_from_the_header_in_any_case_with_crlf_or_lf() {
        let tls_required_no = |m| crate::requiretls::tls_required_no(false, m).unwrap();
        for m in [
            &b"Subject: x\r\nTLS-Required: No\r\n\r\nbody\r\n"[..],
            b"Subject: x\ntls-required:  no \n\nbody\n",
        ] {
            assert!(tls_required_no(m), "{:?}", String::from_utf8_lossy(m));
        }
        for m in [
            &b"Subject: x\r\nTLS-Required: Yes\r\n\r\nbody\r\n"[..],
            b"Subject: x\r\n\r\nTLS-Required: No\r\n",
            b"Subject: x\n\nTLS-Required: No\n",
        ] {
            assert!(!tls_required_no(m), "{:?}", String::from_utf8_lossy(m));
        }
    }

    #[test]
    fn deferred_or_unknown_is_75_over_bounced_69_over_delivered_0() {
        let reply = crate::exit::tests::reply;
        let mx = Domain::new("mx.example").unwrap();
        let delivered = RcptResult::Delivered {
            mx: mx.clone(),
            reply: reply(250, "ok"),
            policy: smtp_proto::mx::PolicyType::NoPolicyFound,
            tls: None,
        };
        let bounced = RcptResult::Bounced {
            reply: reply(556, "5.1.10 null MX"),
            mx: None,
        };
        let deferred = RcptResult::Deferred {
            reason: smtp_proto::mx::DeferReason::MxLookup,
            reply: None,
        };
        let unknown = RcptResult::Unknown { mx };
        assert_eq!(status(&[&delivered]), ExitStatus::Ok);
        assert_eq!(status(&[&delivered, &bounced]), ExitStatus::Unavailable);
        assert_eq!(status(&[&bounced, &deferred]), ExitStatus::TempFail);
        assert_eq!(status(&[&delivered, &unknown]), ExitStatus::TempFail);
    }
}
