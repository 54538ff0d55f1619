//! From a session's report to each recipient's fate (RFC 5321 §4.2.1, §4.5.3.2.6).

use alloc::vec::Vec;

use super::types::{RcptResult, SentMessage};
use crate::command::Domain;
use crate::error::{Stage, TxnError};
use crate::mx::planner::types::PolicyType;
use crate::mx::tls::TlsInfo;
use crate::output::TxnFailure;
use crate::reply::Reply;
use crate::report::{MessageOutcome, RecipientStatus};

/// What one attempt did for one recipient.
#[derive(Debug)]
pub(super) enum Fate {
    Final(RcptResult),
    /// Not delivered here; another host may take it (the last 4xx, if any).
    Retry(Option<Reply>),
    /// The server lacks REQUIRETLS (or TLS): another host may have it (RFC 8689 §4.2.1).
    NeedsRequireTls,
}

pub(super) struct Context<'a> {
    pub(super) mx: &'a Domain,
    pub(super) policy: PolicyType,
    pub(super) tls: Option<TlsInfo>,
}

/// The fate of each of a message's `n` recipients in this attempt.
pub(super) fn fold(report: Option<&SentMessage>, n: usize, cx: &Context<'_>) -> Vec<Fate> {
    let Some(report) = report else {
        return (0..n).map(|_| Fate::Retry(None)).collect();
    };
    let outcome = report.outcome.as_ref();
    (0..n)
        .map(|i| {
            let status = report
                .recipients
                .get(i)
                .unwrap_or(&RecipientStatus::NotAttempted);
            fate(status, outcome, cx)
        })
        .collect()
}

fn fate(status: &RecipientStatus, outcome: Option<&MessageOutcome>, cx: &Context<'_>) -> Fate {
    let bounce = |reply: &Reply| {
        Fate::Final(RcptResult::Bounced {
            reply: reply.clone(),
            mx: Some(cx.mx.clone()),
        })
    };
    // RCPT refused: 5xx is final for this recipient whatever became of the message.
    if let RecipientStatus::Rejected(reply) = status {
        return match status.is_transient() {
            true => Fate::Retry(Some(reply.clone())),
            false => bounce(reply),
        };
    }
    let accepted = matches!(status, RecipientStatus::Accepted(_));
    match outcome {
        Some(MessageOutcome::Accepted(reply)) if accepted => Fate::Final(RcptResult::Delivered {
            mx: cx.mx.clone(),
            reply: reply.clone(),
            policy: cx.policy,
            tls: cx.tls,
        }),
        // Cut after the end of data: maybe delivered. Never resent (RFC 5321
        // §4.5.3.2.6 warns of duplicates).
        Some(MessageOutcome::Unknown) if accepted => {
            Fate::Final(RcptResult::Unknown { mx: cx.mx.clone() })
        }
        Some(MessageOutcome::Failed(TxnFailure::Rejected { stage, reply })) => {
            // A 5xx to MAIL refuses the message for every recipient; to DATA or the
            // end of data, for those that were in the transaction.
            if reply.is_permanent() && (accepted || *stage == Stage::Mail) {
                bounce(reply)
            } else if reply.is_transient() {
                Fate::Retry(Some(reply.clone()))
            } else {
                Fate::Retry(None)
            }
        }
        Some(MessageOutcome::Failed(TxnFailure::Refused(TxnError::NeedsRequireTls))) => {
            Fate::NeedsRequireTls
        }
        // Refused before anything was sent because this server lacks an extension the
        // message needs, or is too small for it: final, as the server's 5xx would be.
        Some(MessageOutcome::Failed(TxnFailure::Refused(e))) => {
            let (code, text) = match e {
                TxnError::TooLarge { .. } => (552, "5.3.4 message too big for the MX"),
                TxnError::NeedsSmtpUtf8 => (553, "5.6.7 the MX lacks SMTPUTF8"),
                TxnError::Needs8BitMime | TxnError::NeedsBinaryMime => {
                    (554, "5.6.3 the MX cannot take the message's encoding")
                }
                _ => (554, "5.5.0 the MX cannot take the message"),
            };
            Fate::Final(RcptResult::Bounced {
                reply: super::local_reply(code, text),
                mx: Some(cx.mx.clone()),
            })
        }
        // Accepted at RCPT but the message's fate unknown to the report (incomplete),
        // the session closed before the end of data, or not attempted: nothing was
        // delivered, another host may take it.
        _ => Fate::Retry(None),
    }
}
