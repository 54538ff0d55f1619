//! What may be sent again, and when: written once for every adapter's pool.

use alloc::vec::Vec;
use core::time::Duration;

use crate::output::TxnFailure;
use crate::report::{MessageOutcome, Report};

/// Whether a message with this report certainly never reached the server, so that
/// sending it again (on another connection) cannot deliver it twice:
///
/// - the session ended before the end of its data ([`TxnFailure::SessionClosed`]: a
///   reset, a timeout before the end of data, a 421 to an earlier command), or
/// - the server answered 421 (RFC 5321 §3.8): it is closing and acted on nothing
///   written after the command the 421 answers, so the transaction was not delivered.
///
/// Never: [`MessageOutcome::Unknown`] (it may have been delivered, RFC 5321
/// §4.5.3.2.6), an acceptance (even for some recipients only: a partial delivery,
/// under LMTP too), or any other rejection (permanent, or a transient one the caller
/// decides about).
pub fn may_resend(report: &Report) -> bool {
    let never_delivered = |o: &MessageOutcome| match o {
        MessageOutcome::Failed(TxnFailure::SessionClosed) => true,
        MessageOutcome::Failed(TxnFailure::Rejected { reply, .. }) => reply.code().get() == 421,
        _ => false,
    };
    report.is_complete()
        && report.outcome.as_ref().is_some_and(never_delivered)
        && report.deliveries.iter().flatten().all(never_delivered)
}

/// How long to wait before attempt `attempt + 1`, after `attempt` (from 1) failed:
/// `base` doubled per attempt, capped at `max`, then "equal jitter" (half fixed, half
/// drawn from `random`), so that callers who failed together do not retry together.
pub(crate) fn backoff(base: Duration, max: Duration, attempt: u32, random: u64) -> Duration {
    let doubled = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let cap = doubled.min(max);
    let half = cap / 2;
    let span = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = if span == 0 { 0 } else { random % (span + 1) };
    half + Duration::from_nanos(jitter)
}

/// The recipients of a message (positions in its envelope) to send it to again, in a
/// new transaction of their own, after this report: those that failed for now only
/// ([`RecipientStatus::is_transient`](crate::report::RecipientStatus::is_transient):
/// a 4xx to RCPT, or not attempted after "too many recipients", RFC 5321
/// §4.5.3.1.10), provided the transaction got through with the others. Empty, so
/// that nothing is sent again:
///
/// - while the report is incomplete, or when any of its outcome is unknown (the
///   message may have been delivered, to whom is not known: RFC 5321 §4.5.3.2.6);
/// - when the transaction failed as a whole (MAIL, DATA or the content refused, the
///   session ended) rather than by refusing every recipient: the message itself is
///   the problem, or [`may_resend`] decides;
/// - for a recipient accepted, or refused for good. (Under LMTP a recipient accepted
///   at RCPT whose delivery failed is not sent again either: its delivery's reply
///   says why, RFC 2033 §4.2.)
pub(crate) fn transient_recipients(report: &Report) -> Vec<usize> {
    // An unknown outcome is neither accepted nor a refusal of every recipient, so
    // `got_through` below excludes it; under LMTP one delivery may be unknown while
    // another was accepted and a third refused (the outcome then being that refusal).
    let unknown = |o: &Option<MessageOutcome>| o == &Some(MessageOutcome::Unknown);
    if !report.is_complete() || report.deliveries.iter().any(unknown) {
        return Vec::new();
    }
    let accepted = |o: &Option<MessageOutcome>| o.as_ref().is_some_and(MessageOutcome::is_accepted);
    let got_through = accepted(&report.outcome)
        || report.deliveries.iter().any(accepted)
        || report.outcome == Some(MessageOutcome::Failed(TxnFailure::NoRecipients));
    if !got_through {
        return Vec::new();
    }
    report
        .recipients
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_transient())
        .map(|(i, _)| i)
        .collect()
}
