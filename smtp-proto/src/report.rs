//! Folding a transaction's events into one report: what adapters return from `send`.
//!
//! The folding is protocol knowledge (which events belong to which transaction, when a
//! transaction is over), so it lives here once instead of in every adapter.

use alloc::vec::Vec;

use crate::output::{Event, TxnFailure, TxnId};
use crate::reply::Reply;

/// What became of one recipient at RCPT time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientStatus {
    /// No reply: the transaction failed before, the session ended, or the server said
    /// "too many recipients" before this RCPT went out ([`Event::RecipientNotAttempted`]).
    /// Send it in another transaction.
    NotAttempted,
    /// Accepted with this reply.
    Accepted(Reply),
    /// Rejected with this reply; [`Reply::is_transient`] tells 4xx from 5xx.
    Rejected(Reply),
}

impl RecipientStatus {
    /// The reply, if there was one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            RecipientStatus::NotAttempted => None,
            RecipientStatus::Accepted(r) | RecipientStatus::Rejected(r) => Some(r),
        }
    }

    /// Whether this recipient failed for now only, so that sending to it again (in
    /// another transaction) may succeed: never attempted, rejected with 4xx, or rejected
    /// with a 552 that means "too many recipients", which RFC 5321 §4.5.3.1.10 has
    /// clients treat as 452. False when accepted or rejected for good.
    pub fn is_transient(&self) -> bool {
        match self {
            RecipientStatus::NotAttempted => true,
            RecipientStatus::Accepted(_) => false,
            RecipientStatus::Rejected(r) => r.is_transient() || too_many_recipients(r),
        }
    }
}

/// Whether a reply to RCPT says "too many recipients" (RFC 5321 §4.5.3.1.10) rather
/// than something about that recipient: a 452 or 552 with enhanced status X.5.3 ("too
/// many recipients", RFC 3463 §3.6), or a 452 with no enhanced status at all. Any other
/// 452/552 (say 4.2.2 or 5.2.2, mailbox full: RFC 3463 §3.3) concerns that recipient
/// alone, and the RCPTs after it still go out.
pub(crate) fn too_many_recipients(reply: &Reply) -> bool {
    match (reply.code().get(), reply.enhanced()) {
        (452 | 552, Some(e)) => e.subject() == 5 && e.detail() == 3,
        (452, None) => true,
        _ => false,
    }
}

/// What became of the message (or, under LMTP, of its delivery to one recipient).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Accepted with this reply.
    Accepted(Reply),
    /// Not delivered.
    Failed(TxnFailure),
    /// The connection failed after the end of data: it may have been delivered
    /// (RFC 5321 §4.5.3.2.6). Do not resend blindly.
    Unknown,
}

impl MessageOutcome {
    /// Whether the server accepted it.
    pub fn is_accepted(&self) -> bool {
        matches!(self, MessageOutcome::Accepted(_))
    }
}

/// Everything the server said about one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The transaction.
    pub txn: TxnId,
    /// One entry per envelope recipient, in order.
    pub recipients: Vec<RecipientStatus>,
    /// The message's outcome; `None` until known. Under LMTP it is the first failure,
    /// or the last acceptance when every accepted recipient got the message.
    pub outcome: Option<MessageOutcome>,
    /// Under LMTP: one entry per envelope recipient, `Some` for each accepted recipient
    /// once its outcome is known: its own final reply (or unknown, when the session
    /// ended while it was owed), or the failure of the whole transaction when that
    /// failed before the data was over (DATA or a BDAT chunk refused, the session
    /// ended first).
    pub deliveries: Vec<Option<MessageOutcome>>,
    lmtp: bool,
    finals_owed: Option<usize>,
}

impl Report {
    /// An empty report for `txn` with `recipients` envelope recipients.
    pub fn new(txn: TxnId, recipients: usize, lmtp: bool) -> Self {
        Report {
            txn,
            recipients: alloc::vec![RecipientStatus::NotAttempted; recipients],
            outcome: None,
            deliveries: if lmtp {
                alloc::vec![None; recipients]
            } else {
                Vec::new()
            },
            lmtp,
            finals_owed: None,
        }
    }

    /// Takes the event if it is about this transaction; returns whether it was.
    pub fn apply(&mut self, event: &Event) -> bool {
        // Only an event about this transaction is copied.
        event.txn() == Some(self.txn) && self.apply_owned(event.clone())
    }

    /// [`apply`](Self::apply) of an event the caller is done with: its reply moves into
    /// the report, no copy made (a session's own report takes every event so).
    pub(crate) fn apply_owned(&mut self, event: Event) -> bool {
        match event {
            Event::RecipientAccepted { txn, rcpt, reply } if txn == self.txn => {
                if let Some(slot) = self.recipients.get_mut(rcpt) {
                    *slot = RecipientStatus::Accepted(reply);
                }
            }
            Event::RecipientRejected { txn, rcpt, reply } if txn == self.txn => {
                if let Some(slot) = self.recipients.get_mut(rcpt) {
                    *slot = RecipientStatus::Rejected(reply);
                }
            }
            Event::RecipientNotAttempted { txn, rcpt } if txn == self.txn => {
                if let Some(slot) = self.recipients.get_mut(rcpt) {
                    *slot = RecipientStatus::NotAttempted;
                }
            }
            Event::MessageAccepted { txn, rcpt, reply } if txn == self.txn => {
                self.record(rcpt, MessageOutcome::Accepted(reply))
            }
            Event::TransactionFailed { txn, rcpt, failure } if txn == self.txn => {
                self.record(rcpt, MessageOutcome::Failed(failure))
            }
            Event::OutcomeUnknown { txn, rcpt } if txn == self.txn => {
                self.record(rcpt, MessageOutcome::Unknown)
            }
            _ => return false,
        }
        true
    }

    fn record(&mut self, rcpt: Option<usize>, outcome: MessageOutcome) {
        match rcpt {
            Some(r) if self.lmtp => {
                let owed = *self.finals_owed.get_or_insert_with(|| {
                    self.recipients
                        .iter()
                        .filter(|s| matches!(s, RecipientStatus::Accepted(_)))
                        .count()
                });
                if let Some(slot) = self.deliveries.get_mut(r) {
                    *slot = Some(outcome.clone());
                }
                let keep_first_failure = matches!(
                    self.outcome,
                    Some(MessageOutcome::Failed(_) | MessageOutcome::Unknown)
                );
                if !keep_first_failure {
                    self.outcome = Some(outcome);
                }
                self.finals_owed = Some(owed.saturating_sub(1));
            }
            _ => {
                // Under LMTP an outcome for the whole transaction (a failure before the
                // end of data) is each accepted recipient's outcome too.
                for (slot, status) in self.deliveries.iter_mut().zip(&self.recipients) {
                    if slot.is_none() && matches!(status, RecipientStatus::Accepted(_)) {
                        *slot = Some(outcome.clone());
                    }
                }
                self.outcome = Some(outcome);
                self.finals_owed = Some(0);
            }
        }
    }

    /// Whether every outcome is in.
    pub fn is_complete(&self) -> bool {
        self.finals_owed == Some(0)
    }

    /// Whether the message got past its envelope to an outcome the server gave
    /// (accepted, refused, or maybe delivered: [`MessageOutcome::Unknown`]), as opposed
    /// to failing only because the session ended first. Adapters return such a report
    /// rather than the session's error, so that the caller does not send it twice.
    pub fn reached_server(&self) -> bool {
        let closed = MessageOutcome::Failed(TxnFailure::SessionClosed);
        self.is_complete() && self.outcome.as_ref() != Some(&closed)
    }

    /// Whether the message went to every recipient (under LMTP: every delivery succeeded).
    pub fn all_delivered(&self) -> bool {
        self.is_complete()
            && self
                .outcome
                .as_ref()
                .is_some_and(MessageOutcome::is_accepted)
            && self
                .recipients
                .iter()
                .all(|r| matches!(r, RecipientStatus::Accepted(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::ReplyCode;

    fn reply(code: u16, text: &str) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), &[text.as_bytes()]).unwrap()
    }

    #[test]
    fn lmtp_a_transaction_failure_is_the_outcome_of_every_accepted_recipient() {
        let txn = TxnId(1);
        let mut report = Report::new(txn, 3, true);
        for (rcpt, code) in [(0, 250), (1, 550), (2, 250)] {
            let reply = reply(code, "x");
            assert!(report.apply(&if code == 250 {
                Event::RecipientAccepted { txn, rcpt, reply }
            } else {
                Event::RecipientRejected { txn, rcpt, reply }
            }));
        }
        let failure = TxnFailure::Rejected {
            stage: crate::Stage::DataBlock,
            reply: reply(552, "5.3.4 message too big"),
        };
        assert!(report.apply(&Event::TransactionFailed {
            txn,
            rcpt: None,
            failure: failure.clone(),
        }));
        assert!(report.is_complete());
        let failed = Some(MessageOutcome::Failed(failure));
        assert_eq!(report.deliveries, [failed.clone(), None, failed]);
    }

    #[test]
    fn too_many_recipients_only_with_x_5_3_or_a_bare_452() {
        assert!(too_many_recipients(&reply(
            452,
            "4.5.3 too many recipients"
        )));
        assert!(too_many_recipients(&reply(
            552,
            "5.5.3 too many recipients"
        )));
        assert!(too_many_recipients(&reply(452, "too many recipients")));
        assert!(!too_many_recipients(&reply(452, "4.2.2 mailbox full")));
        assert!(!too_many_recipients(&reply(552, "5.2.2 mailbox full")));
        assert!(!too_many_recipients(&reply(552, "mailbox full")));
        assert!(!too_many_recipients(&reply(
            451,
            "4.5.3 too many recipients"
        )));
        assert!(!too_many_recipients(&reply(
            550,
            "5.5.3 too many recipients"
        )));
        // Both parts of X.5.3 must match: subject 5 with another detail, or detail 3
        // with another subject, is about something else (RFC 3463 §3.6, §3.3).
        assert!(!too_many_recipients(&reply(452, "4.5.1 bad syntax")));
        assert!(!too_many_recipients(&reply(552, "5.5.2 bad syntax")));
        assert!(!too_many_recipients(&reply(452, "4.2.3 too long")));
        assert!(!too_many_recipients(&reply(552, "5.3.3 no such feature")));
    }

    #[test]
    fn a_too_many_552_is_a_transient_rejection_and_untried_recipients_are_not_attempted() {
        let txn = TxnId(3);
        let events = [
            rcpt_accepted(txn, 0),
            rcpt_rejected(txn, 1, 552, "5.5.3 too many recipients"),
            Event::RecipientNotAttempted { txn, rcpt: 2 },
        ];
        let report = report_of(txn, 3, false, &events);
        assert!(matches!(report.recipients[1], RecipientStatus::Rejected(_)));
        assert!(report.recipients[1].is_transient());
        assert_eq!(report.recipients[2], RecipientStatus::NotAttempted);
        assert!(report.recipients[2].is_transient());
        assert!(!report.recipients[0].is_transient());
        let full = RecipientStatus::Rejected(reply(552, "5.2.2 mailbox full"));
        assert!(!full.is_transient());
        assert!(RecipientStatus::Rejected(reply(452, "4.2.2 mailbox full")).is_transient());
    }

    /// A report for `txn` with `n` recipients after `events`, each of them taken.
    fn report_of(txn: TxnId, n: usize, lmtp: bool, events: &[Event]) -> Report {
        let mut report = Report::new(txn, n, lmtp);
        for e in events {
            assert!(report.apply(e), "{e:?}");
        }
        report
    }

    fn rcpt_accepted(txn: TxnId, rcpt: usize) -> Event {
        let reply = reply(250, "ok");
        Event::RecipientAccepted { txn, rcpt, reply }
    }

    fn rcpt_rejected(txn: TxnId, rcpt: usize, code: u16, text: &str) -> Event {
        let reply = reply(code, text);
        Event::RecipientRejected { txn, rcpt, reply }
    }

    /// An LMTP report for `txn` whose recipients were all accepted.
    fn lmtp_accepted(txn: TxnId, n: usize) -> Report {
        let events: Vec<_> = (0..n).map(|rcpt| rcpt_accepted(txn, rcpt)).collect();
        report_of(txn, n, true, &events)
    }

    fn delivered(txn: TxnId, rcpt: usize, text: &str) -> Event {
        Event::MessageAccepted {
            txn,
            rcpt: Some(rcpt),
            reply: reply(250, text),
        }
    }

    fn refused(txn: TxnId, rcpt: usize) -> (Event, TxnFailure) {
        let failure = TxnFailure::Rejected {
            stage: crate::Stage::DataEnd,
            reply: reply(452, "4.2.2 mailbox full"),
        };
        let event = Event::TransactionFailed {
            txn,
            rcpt: Some(rcpt),
            failure: failure.clone(),
        };
        (event, failure)
    }

    #[test]
    fn lmtp_outcome_keeps_the_first_failure_over_later_deliveries() {
        let txn = TxnId(2);
        let mut report = lmtp_accepted(txn, 3);
        assert!(report.apply(&delivered(txn, 0, "r0 ok")));
        let (event, failure) = refused(txn, 1);
        assert!(report.apply(&event));
        assert!(!report.is_complete());
        assert!(report.apply(&delivered(txn, 2, "r2 ok")));
        assert!(report.is_complete());
        assert_eq!(report.outcome, Some(MessageOutcome::Failed(failure)));
        assert!(!report.all_delivered());
    }

    #[test]
    fn lmtp_outcome_keeps_an_unknown_delivery_over_later_ones() {
        let txn = TxnId(2);
        let mut report = lmtp_accepted(txn, 2);
        assert!(report.apply(&Event::OutcomeUnknown { txn, rcpt: Some(0) }));
        assert!(report.apply(&delivered(txn, 1, "r1 ok")));
        assert_eq!(report.outcome, Some(MessageOutcome::Unknown));
    }

    #[test]
    fn lmtp_outcome_is_the_last_acceptance_when_every_delivery_succeeded() {
        let txn = TxnId(2);
        let mut report = lmtp_accepted(txn, 2);
        assert!(report.apply(&delivered(txn, 0, "r0 ok")));
        assert!(!report.is_complete());
        assert!(!report.all_delivered());
        assert!(report.apply(&delivered(txn, 1, "r1 ok")));
        assert!(report.is_complete());
        assert_eq!(
            report.outcome,
            Some(MessageOutcome::Accepted(reply(250, "r1 ok")))
        );
        assert!(report.all_delivered());
    }

    #[test]
    fn all_delivered_needs_every_recipient_accepted_not_only_the_message() {
        let txn = TxnId(4);
        let events = [
            rcpt_accepted(txn, 0),
            rcpt_rejected(txn, 1, 550, "5.1.1 no such user"),
            Event::MessageAccepted {
                txn,
                rcpt: None,
                reply: reply(250, "queued"),
            },
        ];
        let mut report = report_of(txn, 2, false, &events);
        assert!(report.is_complete());
        assert!(report.outcome.as_ref().unwrap().is_accepted());
        assert!(!report.all_delivered());
        report.recipients[1] = RecipientStatus::Accepted(reply(250, "ok"));
        assert!(report.all_delivered());
    }

    #[test]
    fn all_delivered_needs_the_outcome_and_an_accepted_one() {
        let txn = TxnId(4);
        let owed = report_of(txn, 1, false, &[rcpt_accepted(txn, 0)]);
        assert!(!owed.all_delivered());
        let failure = TxnFailure::Rejected {
            stage: crate::Stage::DataEnd,
            reply: reply(554, "5.6.0 no"),
        };
        let failed = Event::TransactionFailed {
            txn,
            rcpt: None,
            failure,
        };
        let refused = report_of(txn, 1, false, &[rcpt_accepted(txn, 0), failed]);
        assert!(refused.is_complete());
        assert!(!refused.all_delivered());
    }

    /// Only LMTP has per-recipient final replies: a plain SMTP report takes a message
    /// outcome as the whole transaction's, even one that names a recipient.
    #[test]
    fn without_lmtp_one_message_outcome_completes_the_report() {
        let txn = TxnId(6);
        let events = [
            rcpt_accepted(txn, 0),
            rcpt_accepted(txn, 1),
            delivered(txn, 0, "queued"),
        ];
        let report = report_of(txn, 2, false, &events);
        assert!(report.is_complete());
        assert!(report.all_delivered());
        assert!(report.deliveries.is_empty());
    }

    #[test]
    fn events_of_another_transaction_are_not_taken() {
        let mut report = Report::new(TxnId(1), 1, true);
        let other = TxnId(2);
        let events = [
            rcpt_accepted(other, 0),
            rcpt_rejected(other, 0, 550, "no"),
            Event::RecipientNotAttempted {
                txn: other,
                rcpt: 0,
            },
            delivered(other, 0, "ok"),
            refused(other, 0).0,
            Event::OutcomeUnknown {
                txn: other,
                rcpt: None,
            },
            Event::Ready,
        ];
        for e in &events {
            assert!(!report.apply(e), "{e:?}");
        }
        assert_eq!(report, Report::new(TxnId(1), 1, true));
    }

    #[test]
    fn recipient_status_reply_is_the_reply_it_holds() {
        let ok = reply(250, "ok");
        let no = reply(550, "no");
        assert_eq!(RecipientStatus::NotAttempted.reply(), None);
        assert_eq!(RecipientStatus::Accepted(ok.clone()).reply(), Some(&ok));
        assert_eq!(RecipientStatus::Rejected(no.clone()).reply(), Some(&no));
    }

    #[test]
    fn message_outcome_is_accepted_only_when_accepted() {
        assert!(MessageOutcome::Accepted(reply(250, "ok")).is_accepted());
        assert!(!MessageOutcome::Unknown.is_accepted());
        assert!(!MessageOutcome::Failed(TxnFailure::SessionClosed).is_accepted());
    }

    fn report_after(event: impl FnOnce(TxnId) -> Event) -> Report {
        let mut report = Report::new(TxnId(7), 1, false);
        assert!(report.apply(&event(TxnId(7))));
        report
    }

    #[test]
    fn reached_server_only_for_outcomes_the_server_gave() {
        assert!(!Report::new(TxnId(7), 1, false).reached_server());
        let unknown = report_after(|txn| Event::OutcomeUnknown { txn, rcpt: None });
        assert!(unknown.reached_server());
        let refused = report_after(|txn| Event::TransactionFailed {
            txn,
            rcpt: None,
            failure: TxnFailure::NoRecipients,
        });
        assert!(refused.reached_server());
        let closed = report_after(|txn| Event::TransactionFailed {
            txn,
            rcpt: None,
            failure: TxnFailure::SessionClosed,
        });
        assert!(!closed.reached_server());
    }
}
