//! One report for a message sent in several attempts, each to some of its recipients
//! ([`PoolConfig::retry_transient_recipients`](super::PoolConfig)).

use alloc::boxed::Box;

use crate::output::TxnFailure;
use crate::report::{MessageOutcome, RecipientStatus, Report};

/// Folds an attempt's report into the message's report so far (`None` before the
/// first: the attempt's report is it). `only` maps the attempt's recipients to their
/// positions in the message's envelope (`None`: the same).
///
/// Each recipient of the attempt takes its status (and, under LMTP, its delivery)
/// from the attempt, since the attempt that carried it last is the one that settled it.
/// Without LMTP the status alone must not say more than happened: a recipient accepted
/// at RCPT in an attempt whose transaction then failed did not get the message, so it
/// is reported with the failure's reply ([`RecipientStatus::Rejected`]), or not
/// attempted if there was none (the session ended first).
///
/// The outcome stays a promise: unknown if any attempt's outcome is; else accepted if
/// an attempt was accepted (its recipients got the message; the others say why not);
/// else the last failure. Under LMTP, as in one transaction, the first failure (or
/// unknown delivery) stays, a refusal of every recipient aside.
pub(super) fn fold(into: &mut Option<Box<Report>>, attempt: Report, only: Option<&[usize]>) {
    let Some(merged) = into else {
        *into = Some(Box::new(attempt));
        return;
    };
    let lmtp = !attempt.deliveries.is_empty();
    let failure = match &attempt.outcome {
        Some(MessageOutcome::Failed(f)) => Some(f),
        _ => None,
    };
    for (i, status) in attempt.recipients.iter().enumerate() {
        let at = only.map_or(Some(i), |o| o.get(i).copied());
        let Some(slot) = at.and_then(|at| merged.recipients.get_mut(at)) else {
            continue;
        };
        *slot = match (status, failure) {
            (RecipientStatus::Accepted(_), Some(f)) if !lmtp => match f {
                TxnFailure::Rejected { reply, .. } => RecipientStatus::Rejected(reply.clone()),
                _ => RecipientStatus::NotAttempted,
            },
            _ => status.clone(),
        };
        if let (Some(d), Some(at)) = (attempt.deliveries.get(i), at) {
            if let Some(slot) = merged.deliveries.get_mut(at) {
                *slot = d.clone();
            }
        }
    }
    let Some(new) = attempt.outcome else {
        return;
    };
    let no_recipients = MessageOutcome::Failed(TxnFailure::NoRecipients);
    let keep = match &merged.outcome {
        None => false,
        Some(o) if *o == no_recipients => false,
        Some(MessageOutcome::Unknown) => true,
        Some(o) if lmtp => !o.is_accepted(),
        Some(o) => o.is_accepted() && matches!(new, MessageOutcome::Failed(_)),
    };
    if !keep {
        merged.outcome = Some(new);
    }
}
