//! What `--mx` prints per recipient: the MX host and address used, the TLS policy
//! applied (`dane`, `sts`, `none`) and its result (`success` or an RFC 8460 §4.3
//! result type), and the outcome with the reply; as a line on standard error, or in
//! the `--json` object with every TLS reporting result.

use serde_json::{json, Value};
use smtp_io::mx::Delivered;
use smtp_proto::mx::{DeferReason, MxEvent, PolicyType, RcptResult, TlsReport, Verification};
use smtp_proto::Reply;

use super::MxPlan;
use crate::exit::ExitStatus;
use crate::output::reply_parts;

/// One recipient's result, with the attempt it came from.
pub(super) struct Recipient<'a> {
    pub address: &'a str,
    pub domain: &'a str,
    pub result: &'a RcptResult,
    /// The TLS reporting result of the session that gave the result (for a deferred
    /// recipient, of the last attempt), if any was made.
    pub attempt: Option<&'a TlsReport>,
}

/// The recipients in `--to` order, each with its domain's result.
pub(super) fn recipients<'a>(plan: &'a MxPlan, done: &'a [Delivered]) -> Vec<Recipient<'a>> {
    let mut out: Vec<Option<Recipient<'a>>> = (0..plan.to.len()).map(|_| None).collect();
    for (group, delivered) in plan.groups.iter().zip(done) {
        // One message per job: results[0][r] is the group's r-th recipient.
        let Some(results) = delivered.outcome.results.first() else {
            continue;
        };
        for (&i, result) in group.rcpts.iter().zip(results) {
            out[i] = Some(Recipient {
                address: plan.to[i].as_str(),
                domain: group.domain.as_str(),
                result,
                attempt: attempt(&delivered.events, result),
            });
        }
    }
    out.into_iter().flatten().collect()
}

/// The TLS report of the session `result` came from: the last one at its MX host;
/// for a deferred recipient, the last report (a session's, or a policy failure's).
fn attempt<'a>(events: &'a [MxEvent], result: &RcptResult) -> Option<&'a TlsReport> {
    let mut reports = events.iter().filter_map(|e| match e {
        MxEvent::TlsReport(r) => Some(r),
        _ => None,
    });
    let mx = match result {
        RcptResult::Delivered { mx, .. }
        | RcptResult::Unknown { mx }
        | RcptResult::Bounced { mx: Some(mx), .. } => mx,
        RcptResult::Bounced { mx: None, .. } => return None,
        RcptResult::Deferred { .. } => return reports.next_back(),
    };
    reports.rfind(|r| r.mx.as_ref() == Some(mx))
}

/// `dane`, `sts` or `none`.
fn policy_name(p: PolicyType) -> &'static str {
    match p {
        PolicyType::Tlsa => "dane",
        PolicyType::Sts => "sts",
        PolicyType::NoPolicyFound => "none",
    }
}

fn outcome_name(r: &RcptResult) -> &'static str {
    match r {
        RcptResult::Delivered { .. } => "delivered",
        RcptResult::Bounced { .. } => "bounced",
        RcptResult::Deferred { .. } => "deferred",
        RcptResult::Unknown { .. } => "unknown",
    }
}

fn defer_reason(r: DeferReason) -> &'static str {
    match r {
        DeferReason::MxLookup => "mx-lookup",
        DeferReason::CnameChain => "cname-chain",
        DeferReason::StsLookup => "sts-lookup",
        DeferReason::StsNoMatchingMx => "sts-no-matching-mx",
        DeferReason::NoHost => "no-host",
        DeferReason::Transient => "transient",
        _ => "other",
    }
}

/// The policy and its result: the attempt's report, else (no report came) what the
/// delivering session's TLS says.
fn tls(r: &Recipient<'_>) -> Option<(&'static str, &'static str)> {
    if let Some(a) = r.attempt {
        let result = a.result.map_or("success", |t| t.as_str());
        return Some((policy_name(a.policy), result));
    }
    match r.result {
        RcptResult::Delivered { policy, tls, .. } => {
            let result = match tls.map(|t| t.verification) {
                Some(Verification::Failed(t)) => t.as_str(),
                Some(_) => "success",
                None => "starttls-not-supported",
            };
            Some((policy_name(*policy), result))
        }
        _ => None,
    }
}

fn reply(r: &RcptResult) -> Option<&Reply> {
    match r {
        RcptResult::Delivered { reply, .. } | RcptResult::Bounced { reply, .. } => Some(reply),
        RcptResult::Deferred { reply, .. } => reply.as_ref(),
        RcptResult::Unknown { .. } => None,
    }
}

fn mx_of<'a>(r: &'a Recipient<'a>) -> Option<&'a str> {
    match r.result {
        RcptResult::Delivered { mx, .. } | RcptResult::Unknown { mx } => Some(mx.as_str()),
        RcptResult::Bounced { mx, .. } => mx.as_ref().map(|m| m.as_str()),
        RcptResult::Deferred { .. } => r.attempt.and_then(|a| a.mx.as_ref()).map(|m| m.as_str()),
    }
}

/// The recipient on one line (server text escaped by `Reply`'s Display).
pub(super) fn line(r: &Recipient<'_>) -> String {
    let mut s = format!("<{}> {}", r.address, outcome_name(r.result));
    if let RcptResult::Deferred { reason, .. } = r.result {
        s.push_str(&format!(" ({})", defer_reason(*reason)));
    }
    if let Some(mx) = mx_of(r) {
        let by = match r.result {
            RcptResult::Deferred { .. } => "last tried",
            _ => "by",
        };
        s.push_str(&format!(" {by} {mx}"));
        if let Some(ip) = r.attempt.and_then(|a| a.addr) {
            s.push_str(&format!(" [{ip}]"));
        }
    }
    if let Some((policy, result)) = tls(r) {
        s.push_str(&format!(", TLS policy {policy}: {result}"));
    }
    match (r.result, reply(r.result)) {
        (_, Some(reply)) => s.push_str(&format!(": {}", reply.to_string().replace('\n', " / "))),
        (RcptResult::Unknown { .. }, _) => {
            s.push_str(": the connection failed after the end of the data");
        }
        _ => {}
    }
    s
}

fn recipient_json(r: &Recipient<'_>) -> Value {
    let (code, enhanced, text) = match reply(r.result) {
        Some(reply) => reply_parts(reply),
        None => (Value::Null, Value::Null, Value::Null),
    };
    let text = match (r.result, text) {
        (RcptResult::Unknown { .. }, _) => {
            json!("outcome unknown: the connection failed after the end of the data")
        }
        (_, t) => t,
    };
    let reason = match r.result {
        RcptResult::Deferred { reason, .. } => json!(defer_reason(*reason)),
        _ => Value::Null,
    };
    json!({
        "address": r.address,
        "domain": r.domain,
        "outcome": outcome_name(r.result),
        "mx": mx_of(r),
        "ip": r.attempt.and_then(|a| a.addr).map(|ip| ip.to_string()),
        "tls": tls(r).map(|(policy, result)| json!({ "policy": policy, "result": result })),
        "code": code,
        "enhanced": enhanced,
        "text": text,
        "reason": reason,
    })
}

fn report_json(r: &TlsReport) -> Value {
    json!({
        "domain": r.policy_domain.as_str(),
        "policy": policy_name(r.policy),
        "result": r.result.map_or("success", |t| t.as_str()),
        "mx": r.mx.as_ref().map(|m| m.as_str()),
        "ip": r.addr.map(|ip| ip.to_string()),
        "helo": r.helo,
    })
}

/// The `--json` object of `--mx`: `requiretls` (whether `--requiretls` asked for RFC
/// 8689's REQUIRETLS), `recipients` in `--to` order, `tls_reports` (every TLS
/// reporting result of the run, RFC 8460 §4.3), `error`, `exit_code`.
pub(super) fn json(
    recipients: &[Recipient<'_>],
    done: &[Delivered],
    requiretls: bool,
    error: Option<String>,
    exit: ExitStatus,
) -> Value {
    let reports: Vec<Value> = done
        .iter()
        .flat_map(|d| &d.events)
        .filter_map(|e| match e {
            MxEvent::TlsReport(r) => Some(report_json(r)),
            _ => None,
        })
        .collect();
    json!({
        "mx": true,
        "requiretls": requiretls,
        "recipients": recipients.iter().map(recipient_json).collect::<Vec<_>>(),
        "tls_reports": reports,
        "error": error,
        "exit_code": exit.code(),
    })
}
