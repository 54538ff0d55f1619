//! What the run prints: one JSON object (`--json`), or short lines on standard error.

use serde_json::{json, Value};
use smtp_proto::reply::Escaped;
use smtp_proto::{MessageOutcome, RecipientStatus, Reply, Report, TxnFailure};

use crate::exit::ExitStatus;
use crate::session::Outcome;

/// Code, enhanced status and text of a reply; the text without the enhanced status
/// (it has its own field), lines joined with `\n`.
pub(crate) fn reply_parts(r: &Reply) -> (Value, Value, Value) {
    let enhanced = r.enhanced().map(|e| e.to_string());
    let mut lines: Vec<String> = r
        .lines()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    if let (Some(e), Some(first)) = (&enhanced, lines.first_mut()) {
        if let Some(rest) = first.strip_prefix(e.as_str()) {
            *first = rest.trim_start().to_owned();
        }
    }
    (
        json!(u16::from(r.code())),
        json!(enhanced),
        json!(lines.join("\n")),
    )
}

pub(crate) fn failure_text(f: &TxnFailure) -> String {
    match f {
        TxnFailure::Rejected { stage, .. } => format!("{stage} refused"),
        TxnFailure::NoRecipients => "no recipient was accepted".into(),
        TxnFailure::RecipientRejected => "a recipient was rejected".into(),
        TxnFailure::Refused(e) => format!("refused before sending: {e}"),
        TxnFailure::SessionClosed => "the session ended before the end of the message".into(),
        _ => "failed".into(),
    }
}

/// The reply a failure is reported with: the server's, or for a REQUIRETLS message the
/// core would not begin, the `5.7.30` an MTA would give (RFC 8689 §5).
fn refusal(f: &TxnFailure) -> Option<Reply> {
    match f {
        TxnFailure::Rejected { reply, .. } => Some(reply.clone()),
        TxnFailure::Refused(e) => crate::requiretls::refused_transaction(e),
        _ => None,
    }
}

/// `accepted`, `code`, `enhanced`, `text` of a message outcome (or an LMTP delivery).
fn outcome_fields(o: Option<&MessageOutcome>) -> (Value, Value, Value, Value) {
    match o {
        Some(MessageOutcome::Accepted(r)) => {
            let (c, e, t) = reply_parts(r);
            (json!(true), c, e, t)
        }
        Some(MessageOutcome::Failed(f)) => match refusal(f) {
            Some(reply) => {
                let (c, e, t) = reply_parts(&reply);
                (json!(false), c, e, t)
            }
            None => (
                json!(false),
                Value::Null,
                Value::Null,
                json!(failure_text(f)),
            ),
        },
        Some(MessageOutcome::Unknown) => (
            Value::Null,
            Value::Null,
            Value::Null,
            json!("outcome unknown: the connection failed after the end of the data"),
        ),
        None => (Value::Null, Value::Null, Value::Null, json!("no outcome")),
    }
}

/// Whether final replies came per recipient (LMTP after the data, RFC 2033 §4.2).
pub(crate) fn has_finals(report: &Report) -> bool {
    report.deliveries.iter().any(Option::is_some)
}

/// Under LMTP, what became of the message for accepted recipient `i`: its own final
/// reply, or the message's outcome when the message failed as a whole (no final reply
/// came for anyone, e.g. DATA refused).
fn delivery(report: &Report, i: usize) -> Option<&MessageOutcome> {
    if has_finals(report) {
        report.deliveries.get(i).and_then(Option::as_ref)
    } else {
        report.outcome.as_ref()
    }
}

fn message_json(report: &Report, to: &[String]) -> Value {
    let lmtp = !report.deliveries.is_empty();
    let recipients: Vec<Value> = report
        .recipients
        .iter()
        .enumerate()
        .map(|(i, status)| {
            let address = to.get(i).cloned().unwrap_or_default();
            let (accepted, (code, enhanced, text)) = match status {
                RecipientStatus::Accepted(r) => (json!(true), reply_parts(r)),
                RecipientStatus::Rejected(r) => (json!(false), reply_parts(r)),
                RecipientStatus::NotAttempted => {
                    (Value::Null, (Value::Null, Value::Null, Value::Null))
                }
            };
            let mut v = json!({
                "address": address,
                "accepted": accepted,
                "code": code,
                "enhanced": enhanced,
                "text": text,
            });
            if lmtp {
                let (delivered, code, enhanced, text) = match status {
                    RecipientStatus::Accepted(_) => outcome_fields(delivery(report, i)),
                    _ => (json!(false), Value::Null, Value::Null, Value::Null),
                };
                v["delivery"] = json!({
                    "delivered": delivered,
                    "code": code,
                    "enhanced": enhanced,
                    "text": text,
                });
            }
            v
        })
        .collect();
    let (accepted, code, enhanced, text) = outcome_fields(report.outcome.as_ref());
    json!({
        "recipients": recipients,
        "accepted": accepted,
        "code": code,
        "enhanced": enhanced,
        "text": text,
    })
}

/// The `--json` object.
pub(crate) fn json(
    server: &str,
    to: &[String],
    outcome: &Outcome,
    error: Option<String>,
    exit: ExitStatus,
) -> Value {
    let info = outcome.info.clone().unwrap_or_default();
    json!({
        "server": server,
        "tls": info.tls,
        "auth": info.auth,
        "capabilities": info.capabilities,
        "messages": outcome.reports.iter().map(|r| message_json(r, to)).collect::<Vec<_>>(),
        "error": error,
        "exit_code": exit.code(),
    })
}

/// Lines for standard error: every recipient or message that was not accepted (the
/// first few of a `--repeat` run), escaped since reply text comes from the server.
pub(crate) fn problems(outcome: &Outcome, to: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for (n, report) in outcome.reports.iter().enumerate() {
        if report.all_delivered() {
            continue;
        }
        if lines.len() >= 10 {
            lines.push("... (more messages not accepted)".into());
            break;
        }
        let tag = if outcome.reports.len() > 1 {
            format!("message {}: ", n + 1)
        } else {
            String::new()
        };
        for (i, status) in report.recipients.iter().enumerate() {
            let address = to.get(i).map(String::as_str).unwrap_or("?");
            match status {
                RecipientStatus::Rejected(r) => {
                    lines.push(format!("{tag}<{address}> rejected: {r}"));
                }
                RecipientStatus::Accepted(_) => {
                    if let Some(Some(o)) = report.deliveries.get(i) {
                        if !o.is_accepted() {
                            lines.push(format!(
                                "{tag}<{address}> not delivered: {}",
                                describe(Some(o))
                            ));
                        }
                    }
                }
                // Left out of a message that went ahead (the server took no more
                // recipients, RFC 5321 §4.5.3.1.10); when the message failed as a
                // whole, the line below says why.
                RecipientStatus::NotAttempted if went_ahead(report) => {
                    lines.push(format!(
                        "{tag}<{address}> not attempted: the server took no more recipients"
                    ));
                }
                RecipientStatus::NotAttempted => {}
            }
        }
        // Over SMTP, and under LMTP for a message that failed as a whole (refused
        // before sending, at MAIL or at DATA): no final reply came per recipient.
        if !has_finals(report) {
            if let Some(o) = &report.outcome {
                if !o.is_accepted() {
                    lines.push(format!("{tag}message not accepted: {}", describe(Some(o))));
                }
            }
        }
    }
    lines
}

/// Whether the message was delivered to some recipients (and so did not fail as a
/// whole).
fn went_ahead(report: &Report) -> bool {
    if has_finals(report) {
        report
            .deliveries
            .iter()
            .flatten()
            .any(MessageOutcome::is_accepted)
    } else {
        report
            .outcome
            .as_ref()
            .is_some_and(MessageOutcome::is_accepted)
    }
}

fn describe(o: Option<&MessageOutcome>) -> String {
    match o {
        Some(MessageOutcome::Accepted(r)) => r.to_string(),
        Some(MessageOutcome::Failed(f)) => match refusal(f) {
            Some(reply) => reply.to_string(),
            None => failure_text(f),
        },
        Some(MessageOutcome::Unknown) => {
            "outcome unknown (the connection failed after the end of the data)".into()
        }
        None => "no outcome".into(),
    }
}

/// The server as given, escaped for a terminal.
pub(crate) fn escaped(s: &str) -> String {
    Escaped(s.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use smtp_proto::command::{EhloName, ForwardPath, ReversePath};
    use smtp_proto::reply::ReplyCode;
    use smtp_proto::{Client, Config, Envelope, Event, Instant, TxnId};

    use super::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), &[text.as_bytes()]).unwrap()
    }

    /// The first transaction of a fresh client: the same id every time.
    fn txn() -> TxnId {
        let mut client = Client::new(Config::new(EhloName::localhost()), Instant::ZERO);
        let to = [ForwardPath::new("b@example.net").unwrap()];
        let envelope = Envelope::new(ReversePath::new("a@example.org").unwrap(), to);
        client.send(Instant::ZERO, envelope).unwrap()
    }

    fn problems_of(events: &[Event]) -> Vec<String> {
        let mut report = Report::new(txn(), 3, false);
        for e in events {
            assert!(report.apply(e));
        }
        let outcome = Outcome {
            info: None,
            reports: vec![report],
            error: None,
            quit_error: None,
            elapsed: Duration::ZERO,
        };
        problems(&outcome, &["a@x".into(), "b@x".into(), "c@x".into()])
    }

    /// After "452 4.5.3 too many recipients" the message goes to the first recipient;
    /// the third was never tried, and the user is told so.
    #[test]
    fn recipients_never_tried_are_named_when_the_message_went_ahead() {
        let lines = problems_of(&[
            Event::RecipientAccepted {
                txn: txn(),
                rcpt: 0,
                reply: reply(250, "ok"),
            },
            Event::RecipientRejected {
                txn: txn(),
                rcpt: 1,
                reply: reply(452, "4.5.3 too many"),
            },
            Event::RecipientNotAttempted {
                txn: txn(),
                rcpt: 2,
            },
            Event::MessageAccepted {
                txn: txn(),
                rcpt: None,
                reply: reply(250, "queued"),
            },
        ]);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("<b@x> rejected: 452"), "{lines:?}");
        assert!(lines[1].starts_with("<c@x> not attempted"), "{lines:?}");
    }
}
