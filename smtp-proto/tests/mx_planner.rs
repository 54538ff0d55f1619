//! Runs every planner transcript in `tests/mx/`: scripted DNS answers, policy fetches
//! and attempt outcomes go in (`<` lines), and every step the planner gives must be
//! the next `>` line, in order.
//!
//! | line | meaning |
//! |---|---|
//! | `# ...` | a comment |
//! | `domain NAME` | the recipient domain (default `example.com`) |
//! | `message to=A,B [requiretls] [tls-required-no]` | a message of the batch (default: one to `rcpt@DOMAIN`) |
//! | `config key=value ...` | `max_hosts`, `max_addresses`, `session_limit`, `max_cname`, `allow` (CIDRs, comma-separated), `dane_insecure_mx` |
//! | `cache id=ID mode=MODE max_age=N fetched=N mx=P,Q` | the caller's cached MTA-STS policy |
//! | `seed N`, `unix N` | the tie-breaking seed, the Unix time |
//! | `< dns NAME TYPE RCODE SECURITY [alias=NAME/SECURITY ...] [\| RECORD ...]` | the answer to the lookup of NAME/TYPE; records `mx PREF HOST`, `a IP`, `aaaa IP`, `txt TEXT`, `tlsa U S M LEN` |
//! | `< fetch ok BODY` / `< fetch err KIND` | the policy fetch (`\n` and `\r` in BODY are LF and CR) |
//! | `< connect-failed`, `< handshake-failed`, `< tls-failed RESULT [helo=H]` | the attempt's outcome |
//! | `< session tls=T [helo=H] \| MSG ...` | a session; each MSG is `RCPT-CODES OUTCOME` or `none` (see [`message`]) |
//! | `< timeout SECS` | the clock is at SECS; deadlines up to it pass |
//! | `< abandon` | the caller gives up ([`Planner::abandon`]) |
//! | `> ...` | the next step, as [`render`] writes it |
//!
//! `<` and `>` lines come after the header, without comments between them.
//! `MX_BLESS=1` rewrites a transcript's body with what the planner did, for writing
//! new ones: every line so written is to be reviewed.

mod common;

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use smtp_proto::command::{Domain, EhloName, ForwardPath, ReversePath};
use smtp_proto::mx::{
    parse_sts_policy, AttemptOutcome, Cidr, DnsResult, FetchError, FetchId, MessageMeta, MxConfig,
    MxEvent, Planner, PolicyGetError, QueryId, RData, RType, Rcode, RcptResult, Security,
    SentMessage, SessionOutcome, Step, StsCacheEntry, TlsInfo, TlsRequirement, TlsResultType, Tlsa,
    Verification,
};
use smtp_proto::report::{MessageOutcome, RecipientStatus};
use smtp_proto::{
    Config, Envelope, Instant, Reply, ReplyCode, Stage, TlsMode, TlsPolicy, TxnError, TxnFailure,
};

const RESULT_TYPES: [TlsResultType; 11] = [
    TlsResultType::StarttlsNotSupported,
    TlsResultType::CertificateHostMismatch,
    TlsResultType::CertificateExpired,
    TlsResultType::CertificateNotTrusted,
    TlsResultType::ValidationFailure,
    TlsResultType::TlsaInvalid,
    TlsResultType::DnssecInvalid,
    TlsResultType::DaneRequired,
    TlsResultType::StsPolicyFetchError,
    TlsResultType::StsPolicyInvalid,
    TlsResultType::StsWebpkiInvalid,
];

fn result_type(name: &str) -> TlsResultType {
    *RESULT_TYPES
        .iter()
        .find(|t| t.as_str() == name)
        .unwrap_or_else(|| panic!("unknown result type {name}"))
}

fn rtype(s: &str) -> RType {
    match s {
        "MX" => RType::Mx,
        "TXT" => RType::Txt,
        "A" => RType::A,
        "AAAA" => RType::Aaaa,
        "TLSA" => RType::Tlsa,
        _ => panic!("unknown type {s}"),
    }
}

fn rtype_name(t: RType) -> &'static str {
    match t {
        RType::Mx => "MX",
        RType::Txt => "TXT",
        RType::A => "A",
        RType::Aaaa => "AAAA",
        RType::Tlsa => "TLSA",
    }
}

fn security(s: &str) -> Security {
    match s {
        "secure" => Security::Secure,
        "insecure" => Security::Insecure,
        "bogus" => Security::Bogus,
        "indeterminate" => Security::Indeterminate,
        _ => panic!("unknown security {s}"),
    }
}

fn reply(code: u16) -> Reply {
    let text = format!("{}.0.0 reply {code}", code / 100);
    Reply::new(ReplyCode::new(code).unwrap(), &[text.as_bytes()]).unwrap()
}

struct Script {
    cfg: MxConfig,
    domain: Domain,
    batch: Vec<MessageMeta>,
    cache: Option<StsCacheEntry>,
    seed: u64,
    unix: u64,
    /// The `<` and `>` lines, in order.
    body: Vec<String>,
}

fn parse_script(text: &str) -> Script {
    let mut cfg = MxConfig::new(Config::new(EhloName::new("client.example").unwrap()));
    let mut domain = String::from("example.com");
    let mut messages: Vec<(Vec<String>, bool, bool)> = Vec::new();
    let mut cache_line = None;
    let (mut seed, mut unix) = (0, 1_000_000);
    let mut body = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('<') || line.starts_with('>') {
            body.push(line.to_string());
            continue;
        }
        assert!(body.is_empty(), "header line after the body: {line}");
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "domain" => domain = rest.to_string(),
            "seed" => seed = rest.parse().unwrap(),
            "unix" => unix = rest.parse().unwrap(),
            "cache" => cache_line = Some(rest.to_string()),
            "message" => {
                let mut to = Vec::new();
                let (mut rt, mut no) = (false, false);
                for w in rest.split_whitespace() {
                    match w {
                        "requiretls" => rt = true,
                        "tls-required-no" => no = true,
                        _ => {
                            to = w
                                .strip_prefix("to=")
                                .unwrap()
                                .split(',')
                                .filter(|t| !t.is_empty())
                                .map(String::from)
                                .collect()
                        }
                    }
                }
                messages.push((to, rt, no));
            }
            "config" => {
                for kv in rest.split_whitespace() {
                    let (k, v) = kv.split_once('=').unwrap();
                    match k {
                        "max_hosts" => cfg.max_hosts = v.parse().unwrap(),
                        "max_addresses" => cfg.max_addresses = v.parse().unwrap(),
                        "session_limit" => cfg.session_limit = v.parse().unwrap(),
                        "max_cname" => cfg.max_cname = v.parse().unwrap(),
                        "allow" => {
                            cfg.allow = v.split(',').map(|c| c.parse::<Cidr>().unwrap()).collect()
                        }
                        "dane_insecure_mx" => cfg.dane_insecure_mx = v.parse().unwrap(),
                        _ => panic!("unknown config {k}"),
                    }
                }
            }
            _ => panic!("unknown header line {line}"),
        }
    }
    if messages.is_empty() {
        messages.push((vec![format!("rcpt@{domain}")], false, false));
    }
    let batch = messages
        .into_iter()
        .map(|(to, rt, no)| {
            let to: Vec<ForwardPath> = to.iter().map(|t| ForwardPath::new(t).unwrap()).collect();
            let mut envelope =
                Envelope::new(ReversePath::new("sender@origin.example").unwrap(), to);
            envelope.requiretls = rt;
            let mut meta = MessageMeta::new(envelope);
            meta.tls_required_no = no;
            meta
        })
        .collect();
    let domain = Domain::new(&domain).unwrap();
    let cache = cache_line.map(|l| {
        let mut id = String::new();
        let (mut mode, mut max_age, mut fetched, mut mx) =
            ("enforce".to_string(), 0, 0, String::new());
        for kv in l.split_whitespace() {
            let (k, v) = kv.split_once('=').unwrap();
            match k {
                "id" => id = v.into(),
                "mode" => mode = v.into(),
                "max_age" => max_age = v.parse().unwrap(),
                "fetched" => fetched = v.parse().unwrap(),
                "mx" => mx = v.into(),
                _ => panic!("unknown cache key {k}"),
            }
        }
        let mut text = format!("version: STSv1\nmode: {mode}\nmax_age: {max_age}\n");
        for p in mx.split(',').filter(|p| !p.is_empty()) {
            text.push_str(&format!("mx: {p}\n"));
        }
        let policy = parse_sts_policy(text.as_bytes()).unwrap();
        StsCacheEntry {
            domain: domain.clone(),
            id,
            policy,
            fetched,
        }
    });
    Script {
        cfg,
        domain,
        batch,
        cache,
        seed,
        unix,
        body,
    }
}

fn tls_name(t: &TlsRequirement) -> String {
    match t {
        TlsRequirement::Opportunistic => "opportunistic".into(),
        TlsRequirement::EncryptOnly => "encrypt-only".into(),
        TlsRequirement::Pkix { name, enforce } => {
            format!(
                "pkix:{}:{}",
                name.as_str(),
                if *enforce { "enforce" } else { "testing" }
            )
        }
        TlsRequirement::Dane {
            sni,
            tlsa,
            ta_names,
        } => {
            let names: Vec<&str> = ta_names.iter().map(Domain::as_str).collect();
            format!(
                "dane:sni={}:names={}:tlsa={}",
                sni.as_str(),
                names.join(","),
                tlsa.len()
            )
        }
    }
}

fn tls_info(t: &Option<TlsInfo>) -> String {
    match t {
        None => "none".into(),
        Some(TlsInfo {
            verification: Verification::Verified,
        }) => "verified".into(),
        Some(TlsInfo {
            verification: Verification::NotChecked,
        }) => "not-checked".into(),
        Some(TlsInfo {
            verification: Verification::Failed(r),
        }) => format!("failed:{}", r.as_str()),
    }
}

fn opt<T: ToString>(o: Option<T>) -> String {
    o.map_or_else(|| "-".into(), |v| v.to_string())
}

fn status(r: &Reply) -> String {
    format!("{} {}", r.code().get(), opt(r.enhanced()))
}

/// The stable text form of a step (one or more lines).
fn render(step: &Step) -> Vec<String> {
    let one = |s: String| vec![format!("> {s}")];
    match step {
        Step::Lookup { name, rtype, .. } => one(format!("lookup {name} {}", rtype_name(*rtype))),
        Step::FetchPolicy { get, addrs, .. } => {
            let a: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
            one(format!("fetch {} {}", get.host(), a.join(",")))
        }
        Step::Attempt(a) => {
            let starttls = match a.config.tls {
                TlsMode::StartTls(TlsPolicy::Required) => "required",
                TlsMode::StartTls(TlsPolicy::Opportunistic) => "opportunistic",
                TlsMode::StartTls(TlsPolicy::Disabled) => "disabled",
                _ => "other",
            };
            let msgs: Vec<String> = a
                .messages
                .iter()
                .map(|m| {
                    let r: Vec<String> = m.recipients.iter().map(usize::to_string).collect();
                    format!("m{}:{}", m.index, r.join(","))
                })
                .collect();
            one(format!(
                "attempt {} {} {} starttls={starttls} policy={} {}",
                a.mx.as_str(),
                a.addr,
                tls_name(&a.tls),
                a.policy.as_str(),
                msgs.join(" ")
            ))
        }
        Step::Event(MxEvent::TlsReport(r)) => one(format!(
            "tlsrpt {} {} mx={} ip={} helo={}",
            r.policy.as_str(),
            r.result.map_or("success", |t| t.as_str()),
            opt(r.mx.as_ref().map(Domain::as_str)),
            opt(r.addr),
            opt(r.helo.as_deref()),
        )),
        Step::Event(MxEvent::CachePolicy(c)) => {
            let mx: Vec<String> = c.policy.mx.iter().map(ToString::to_string).collect();
            one(format!(
                "cache id={} mode={} max_age={} fetched={} mx={}",
                c.id,
                c.policy.mode.as_str(),
                c.policy.max_age,
                c.fetched,
                mx.join(",")
            ))
        }
        Step::Event(MxEvent::ReportTo(r)) => one(format!("report-to {}", r.rua.join(","))),
        Step::Event(MxEvent::HostSkipped { host, addr, reason }) => {
            one(format!("skipped {host} {} {reason:?}", opt(*addr)))
        }
        Step::Event(e) => one(format!("event {e:?}")),
        Step::Wait { .. } => one("wait".into()),
        Step::Done(outcome) => {
            let mut lines = vec!["> done".to_string()];
            for (m, rs) in outcome.results.iter().enumerate() {
                for (r, res) in rs.iter().enumerate() {
                    let text = match res {
                        RcptResult::Delivered {
                            mx,
                            reply,
                            policy,
                            tls,
                        } => format!(
                            "delivered {} {} policy={} tls={}",
                            mx.as_str(),
                            status(reply),
                            policy.as_str(),
                            tls_info(tls)
                        ),
                        RcptResult::Bounced { reply, mx } => {
                            format!(
                                "bounced {} mx={}",
                                status(reply),
                                opt(mx.as_ref().map(Domain::as_str))
                            )
                        }
                        RcptResult::Deferred { reason, reply } => {
                            format!("deferred {reason:?} {}", opt(reply.as_ref().map(status)))
                        }
                        RcptResult::Unknown { mx } => format!("unknown {}", mx.as_str()),
                    };
                    lines.push(format!(">   m{m}.{r} {text}"));
                }
            }
            lines
        }
    }
}

struct Runner {
    planner: Planner,
    now: Instant,
    unix: u64,
    lookups: VecDeque<(String, RType, QueryId)>,
    fetch: Option<FetchId>,
    attempt: Option<(smtp_proto::mx::AttemptId, usize)>,
    log: Vec<String>,
    done: bool,
}

impl Runner {
    fn drain(&mut self) {
        loop {
            let step = self.planner.poll();
            self.log.extend(render(&step));
            match step {
                Step::Lookup {
                    id, name, rtype, ..
                } => self.lookups.push_back((name, rtype, id)),
                Step::FetchPolicy { id, .. } => self.fetch = Some(id),
                Step::Attempt(a) => self.attempt = Some((a.id, a.messages.len())),
                Step::Event(_) => {}
                Step::Wait { .. } => return,
                Step::Done(_) => {
                    self.done = true;
                    return;
                }
            }
        }
    }

    fn input(&mut self, line: &str) {
        let rest = line.strip_prefix("< ").unwrap();
        let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
        match word {
            "dns" => {
                let (head, records) = args.split_once('|').unwrap_or((args, ""));
                let mut words = head.split_whitespace();
                let name = words.next().unwrap().to_string();
                let t = rtype(words.next().unwrap());
                let rcode = match words.next().unwrap() {
                    "noerror" => Rcode::NoError,
                    "nxdomain" => Rcode::NxDomain,
                    "servfail" => Rcode::ServFail,
                    "timeout" => Rcode::Timeout,
                    r => panic!("unknown rcode {r}"),
                };
                let sec = security(words.next().unwrap());
                let aliases = words
                    .map(|w| {
                        let (n, s) = w.strip_prefix("alias=").unwrap().split_once('/').unwrap();
                        (n.to_string(), security(s))
                    })
                    .collect();
                let records = records
                    .split('|')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(record)
                    .collect();
                let i = self
                    .lookups
                    .iter()
                    .position(|(n, r, _)| *n == name && *r == t)
                    .unwrap_or_else(|| panic!("no lookup of {name} {t:?} outstanding"));
                let (_, _, id) = self.lookups.remove(i).unwrap();
                let mut answer = DnsResult::new(rcode, sec, records);
                answer.aliases = aliases;
                self.planner.handle_dns(self.now, id, answer);
            }
            "fetch" => {
                let id = self.fetch.take().expect("no fetch outstanding");
                let (kind, arg) = args.split_once(' ').unwrap_or((args, ""));
                let result = match (kind, arg) {
                    ("ok", body) => Ok(body.replace("\\r", "\r").replace("\\n", "\n").into_bytes()),
                    ("err", "unreachable") => Err(FetchError::Unreachable),
                    ("err", "certificate") => Err(FetchError::Certificate),
                    ("err", "timeout") => Err(FetchError::Timeout),
                    ("err", "content-type") => Err(FetchError::Http(PolicyGetError::ContentType)),
                    ("err", s) => Err(FetchError::Http(PolicyGetError::Status(
                        s.strip_prefix("status:").unwrap().parse().unwrap(),
                    ))),
                    _ => panic!("bad fetch line {line}"),
                };
                self.planner.handle_policy(self.now, self.unix, id, result);
            }
            "timeout" => {
                self.now = Instant::from_duration(Duration::from_secs(args.parse().unwrap()));
                self.planner.handle_timeout(self.now);
            }
            "abandon" => self.planner.abandon(),
            _ => {
                let (id, n) = self.attempt.take().expect("no attempt outstanding");
                let outcome = attempt_outcome(word, args, n);
                self.planner.handle_attempt(self.now, id, outcome);
            }
        }
    }
}

fn record(r: &str) -> RData {
    let (kind, rest) = r.split_once(' ').unwrap();
    match kind {
        "mx" => {
            let (p, e) = rest.split_once(' ').unwrap();
            RData::Mx {
                preference: p.parse().unwrap(),
                exchange: if e == "." {
                    String::new()
                } else {
                    e.to_string()
                },
            }
        }
        "a" => RData::A(rest.parse().unwrap()),
        "aaaa" => RData::Aaaa(rest.parse().unwrap()),
        "txt" => RData::Txt(rest.as_bytes().to_vec()),
        "tlsa" => {
            let f: Vec<usize> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            RData::Tlsa(Tlsa::from_fields(
                f[0] as u8,
                f[1] as u8,
                f[2] as u8,
                vec![0xab; f[3]],
            ))
        }
        _ => panic!("unknown record {r}"),
    }
}

fn attempt_outcome(word: &str, args: &str, n: usize) -> AttemptOutcome {
    let helo = |s: &str| {
        s.split_whitespace()
            .find_map(|w| w.strip_prefix("helo="))
            .map(String::from)
    };
    match word {
        "connect-failed" => AttemptOutcome::ConnectFailed,
        "handshake-failed" => AttemptOutcome::HandshakeFailed,
        "tls-failed" => {
            let t = args.split_whitespace().next().unwrap();
            AttemptOutcome::TlsFailed {
                result: result_type(t),
                helo: helo(args),
            }
        }
        "session" => {
            let mut parts = args.split('|');
            let head = parts.next().unwrap();
            let tls = match head
                .split_whitespace()
                .find_map(|w| w.strip_prefix("tls="))
                .unwrap()
            {
                "none" => None,
                "verified" => Some(TlsInfo {
                    verification: Verification::Verified,
                }),
                "not-checked" => Some(TlsInfo {
                    verification: Verification::NotChecked,
                }),
                f => Some(TlsInfo {
                    verification: Verification::Failed(result_type(
                        f.strip_prefix("failed:").unwrap(),
                    )),
                }),
            };
            let messages: Vec<Option<SentMessage>> = parts.map(|p| message(p.trim())).collect();
            assert_eq!(
                messages.len(),
                n,
                "the session names {} messages, the attempt has {n}",
                messages.len()
            );
            AttemptOutcome::Session(SessionOutcome::new(tls, helo(head), messages))
        }
        _ => panic!("unknown input {word}"),
    }
}

/// `none` (the session ended before it), or `CODES OUTCOME`: CODES the RCPT replies
/// (`250,450`, `-` for not attempted), OUTCOME `accepted:CODE`, `unknown`, `closed`,
/// `rejected:STAGE:CODE` (STAGE `mail`, `data`, `data-end`), `requiretls`, `no-recipients`,
/// `refused:KIND` (refused locally: `too-large`, `smtputf8`, `8bitmime`, `dsn`) or `open`
/// (no outcome).
fn message(text: &str) -> Option<SentMessage> {
    if text == "none" {
        return None;
    }
    let (codes, outcome) = text.split_once(' ').unwrap();
    let recipients = codes
        .split(',')
        .map(|c| match c {
            "-" => RecipientStatus::NotAttempted,
            c => {
                let code: u16 = c.parse().unwrap();
                match code < 300 {
                    true => RecipientStatus::Accepted(reply(code)),
                    false => RecipientStatus::Rejected(reply(code)),
                }
            }
        })
        .collect();
    let mut o = outcome.split(':');
    let outcome = match o.next().unwrap() {
        "accepted" => Some(MessageOutcome::Accepted(reply(
            o.next().unwrap().parse().unwrap(),
        ))),
        "unknown" => Some(MessageOutcome::Unknown),
        "closed" => Some(MessageOutcome::Failed(TxnFailure::SessionClosed)),
        "requiretls" => Some(MessageOutcome::Failed(TxnFailure::Refused(
            TxnError::NeedsRequireTls,
        ))),
        "no-recipients" => Some(MessageOutcome::Failed(TxnFailure::NoRecipients)),
        "refused" => Some(MessageOutcome::Failed(TxnFailure::Refused(
            match o.next().unwrap() {
                "too-large" => TxnError::TooLarge { size: 2, max: 1 },
                "smtputf8" => TxnError::NeedsSmtpUtf8,
                "8bitmime" => TxnError::Needs8BitMime,
                "dsn" => TxnError::NeedsDsn,
                k => panic!("unknown refusal {k}"),
            },
        ))),
        "rejected" => {
            let stage = match o.next().unwrap() {
                "mail" => Stage::Mail,
                "data" => Stage::Data,
                "data-end" => Stage::DataEnd,
                s => panic!("unknown stage {s}"),
            };
            let reply = reply(o.next().unwrap().parse().unwrap());
            Some(MessageOutcome::Failed(TxnFailure::Rejected {
                stage,
                reply,
            }))
        }
        "open" => None,
        x => panic!("unknown outcome {x}"),
    };
    Some(SentMessage::new(recipients, outcome))
}

fn run(script: &Script) -> Vec<String> {
    let planner = Planner::new(
        &script.cfg,
        script.domain.clone(),
        script.batch.clone(),
        script.cache.clone(),
        script.seed,
        Instant::ZERO,
        script.unix,
    );
    let mut r = Runner {
        planner,
        now: Instant::ZERO,
        unix: script.unix,
        lookups: VecDeque::new(),
        fetch: None,
        attempt: None,
        log: Vec::new(),
        done: false,
    };
    r.drain();
    for line in script.body.iter().filter(|l| l.starts_with('<')) {
        assert!(!r.done, "input after done: {line}");
        r.log.push(line.clone());
        r.input(line);
        r.drain();
    }
    r.log
}

fn paths() -> Vec<std::path::PathBuf> {
    common::txt_files(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mx"))
}

#[test]
fn every_planner_transcript() {
    let only = std::env::var("TRANSCRIPT").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in paths() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        ran += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let script = parse_script(&text);
        let log = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&script))) {
            Ok(log) => log,
            Err(e) => {
                let msg = e.downcast_ref::<String>().cloned().unwrap_or_default();
                failures.push(format!("{name}: panicked: {msg}"));
                continue;
            }
        };
        if log != script.body && std::env::var_os("MX_BLESS").is_some() {
            // For writing a new transcript: the header kept, the body replaced by what
            // the planner did. Review every line before committing it.
            let header: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with('<') && !l.starts_with('>'))
                .collect();
            let mut out = header.join("\n");
            out.push('\n');
            out.push_str(&log.join("\n"));
            out.push('\n');
            std::fs::write(&path, out).unwrap();
            continue;
        }
        if log != script.body {
            let at = log
                .iter()
                .zip(&script.body)
                .position(|(a, b)| a != b)
                .unwrap_or(log.len().min(script.body.len()));
            failures.push(format!(
                "{name}: differs at line {} of the body\n  expected: {:?}\n  actual:   {:?}\n--- actual transcript:\n{}",
                at + 1,
                script.body.get(at),
                log.get(at),
                log.join("\n")
            ));
        }
    }
    assert!(ran > 0, "no transcript ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} transcripts failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn at_least_forty_transcripts() {
    let n = paths().len();
    assert!(n >= 40, "only {n} planner transcripts");
}
