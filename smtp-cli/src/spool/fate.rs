//! What one attempt did for each recipient, from the session's report and error: the
//! spool keeps exactly the recipients the server neither took nor refused for good,
//! and never offers again one it may have taken.

use smtp_proto::{MessageOutcome, RecipientStatus, Reply, Report, TxnFailure};

use super::bounce::Failed;
use crate::adapter::Error;
use crate::exit::{error_status, ExitStatus};
use crate::session::Outcome;

/// What became of one recipient.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fate {
    /// The server took responsibility for it.
    Delivered,
    /// Not delivered, worth trying again; the status says how the attempt failed
    /// (75, or a local or security problem that a later attempt may not have).
    Deferred { why: String, status: ExitStatus },
    /// Refused for good (RFC 3463 `status`, the server's words in `diagnostic`).
    Bounced { status: String, diagnostic: String },
    /// The connection failed after the end of data: maybe delivered
    /// (RFC 5321 §4.5.3.2.6). Never sent again unless asked.
    Unknown(String),
}

/// A recipient to try again, and why (with the status of the failure).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Deferred {
    pub rcpt: String,
    pub why: String,
    pub status: ExitStatus,
}

/// The recipients of one attempt, by fate (the delivered ones are done).
#[derive(Debug, Default)]
pub(crate) struct Sorted {
    /// Refused for good: a delivery report's.
    pub failed: Vec<Failed>,
    pub deferred: Vec<Deferred>,
    /// Maybe delivered, and the first reason given.
    pub unknown: Vec<String>,
    pub unknown_why: Option<String>,
}

impl Sorted {
    /// Each of `to` by its fate (in the same order).
    pub(crate) fn of(to: &[String], fates: Vec<Fate>) -> Sorted {
        let mut s = Sorted::default();
        for (rcpt, fate) in to.iter().cloned().zip(fates) {
            match fate {
                Fate::Delivered => {}
                Fate::Deferred { why, status } => s.deferred.push(Deferred { rcpt, why, status }),
                Fate::Bounced { status, diagnostic } => s.failed.push(Failed {
                    rcpt,
                    status,
                    diagnostic,
                }),
                Fate::Unknown(why) => {
                    s.unknown_why.get_or_insert(why);
                    s.unknown.push(rcpt);
                }
            }
        }
        s
    }
}

/// A reply on one line, as a delivery report's `Diagnostic-Code` takes it.
pub(crate) fn one_line(r: &Reply) -> String {
    r.to_string().replace(['\r', '\n'], " ")
}

/// The reply's RFC 3463 status, else its class's generic one (`5.0.0`).
fn status_of(r: &Reply) -> String {
    r.enhanced().map(|e| e.to_string()).unwrap_or_else(|| {
        let class = u16::from(r.code()) / 100;
        format!("{class}.0.0")
    })
}

fn of_reply(r: &Reply) -> Fate {
    if r.is_permanent() {
        Fate::Bounced {
            status: status_of(r),
            diagnostic: format!("smtp; {}", one_line(r)),
        }
    } else {
        Fate::Deferred {
            why: one_line(r),
            status: ExitStatus::TempFail,
        }
    }
}

/// A failed transaction, for the recipients it covers.
fn of_failure(f: &TxnFailure) -> Fate {
    match f {
        TxnFailure::Rejected { reply, .. } => of_reply(reply),
        // The server cannot take this message, now or later (RFC 1870, 6152, 6531).
        TxnFailure::Refused(e) => Fate::Bounced {
            status: "5.6.0".into(),
            diagnostic: format!("X-smtp-send; refused before sending: {e}"),
        },
        _ => Fate::Deferred {
            why: crate::output::failure_text(f),
            status: ExitStatus::TempFail,
        },
    }
}

fn of_outcome(o: Option<&MessageOutcome>) -> Fate {
    match o {
        Some(MessageOutcome::Accepted(_)) => Fate::Delivered,
        Some(MessageOutcome::Failed(f)) => of_failure(f),
        _ => Fate::Unknown("the connection failed after the end of the data".into()),
    }
}

/// Each recipient's fate in one message's report.
fn of_report(r: &Report) -> Vec<Fate> {
    let finals = crate::output::has_finals(r);
    r.recipients
        .iter()
        .enumerate()
        .map(|(i, rcpt)| match rcpt {
            RecipientStatus::Rejected(reply) if rcpt.is_transient() => Fate::Deferred {
                why: one_line(reply),
                status: ExitStatus::TempFail,
            },
            RecipientStatus::Rejected(reply) => of_reply(reply),
            // LMTP (RFC 2033 §4.2): each accepted recipient has its own final reply.
            RecipientStatus::Accepted(_) if finals => {
                of_outcome(r.deliveries.get(i).and_then(Option::as_ref))
            }
            RecipientStatus::Accepted(_) => of_outcome(r.outcome.as_ref()),
            // Not part of a transaction that went on: a refusal of the whole message
            // is its, anything else leaves it to try again.
            RecipientStatus::NotAttempted => match r.outcome.as_ref() {
                Some(MessageOutcome::Failed(f)) => match of_failure(f) {
                    Fate::Bounced { status, diagnostic } => Fate::Bounced { status, diagnostic },
                    _ => Fate::Deferred {
                        why: "not tried: the transaction failed".into(),
                        status: ExitStatus::TempFail,
                    },
                },
                _ => Fate::Deferred {
                    why: "not tried".into(),
                    status: ExitStatus::TempFail,
                },
            },
        })
        .collect()
}

/// The fate of each of `n` recipients of the one message of `outcome`.
pub(crate) fn fates(outcome: &Outcome, n: usize) -> Vec<Fate> {
    if let Some(report) = outcome.reports.first() {
        return of_report(report);
    }
    // No report: the session ended before the message had an outcome, so it was not
    // delivered to anyone.
    let fate = match &outcome.error {
        Some(e) => of_error(e),
        None => Fate::Deferred {
            why: "no outcome".into(),
            status: ExitStatus::TempFail,
        },
    };
    vec![fate; n]
}

fn of_error(e: &Error) -> Fate {
    use smtp_proto::Error as E;
    match (error_status(e), e) {
        (
            ExitStatus::Unavailable,
            Error::Smtp(E::ServiceUnavailable(r) | E::Rejected { reply: r, .. }),
        ) => of_reply(r),
        (ExitStatus::Unavailable, e) => Fate::Bounced {
            status: "5.0.0".into(),
            diagnostic: format!("X-smtp-send; {e}"),
        },
        (status, e) => Fate::Deferred {
            why: e.to_string(),
            status,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::tests::{accepted, failed, rcpt_no, rcpt_ok, reply, report, txn};
    use smtp_proto::Event;

    fn outcome(rcpts: usize, events: &[Event]) -> Outcome {
        Outcome {
            reports: vec![report(rcpts, false, events)],
            ..Outcome::default()
        }
    }

    #[test]
    fn accepted_deferred_and_refused_recipients_each_keep_their_fate() {
        let refused = Event::RecipientRejected {
            txn: txn(),
            rcpt: 2,
            reply: reply(550, "5.1.1 no such user"),
        };
        let o = outcome(3, &[rcpt_ok(0), rcpt_no(1, 450), refused, accepted(None)]);
        let f = fates(&o, 3);
        assert_eq!(f[0], Fate::Delivered);
        assert!(matches!(&f[1], Fate::Deferred { why, .. } if why.contains("450")));
        assert_eq!(
            f[2],
            Fate::Bounced {
                status: "5.1.1".into(),
                diagnostic: "smtp; 550 5.1.1 no such user".into()
            }
        );
    }

    #[test]
    fn a_cut_after_the_data_is_unknown_never_deferred() {
        let cut = Event::OutcomeUnknown {
            txn: txn(),
            rcpt: None,
        };
        let f = fates(&outcome(2, &[rcpt_ok(0), rcpt_no(1, 451), cut]), 2);
        assert!(matches!(f[0], Fate::Unknown(_)), "{f:?}");
        assert!(matches!(f[1], Fate::Deferred { .. }), "{f:?}");
    }

    #[test]
    fn a_message_refused_at_the_end_of_data_is_each_recipients_fate() {
        let o = outcome(1, &[rcpt_ok(0), failed(None, 554)]);
        assert!(matches!(fates(&o, 1)[0], Fate::Bounced { ref status, .. } if status == "5.0.0"));
        let o = outcome(1, &[rcpt_ok(0), failed(None, 451)]);
        assert!(matches!(fates(&o, 1)[0], Fate::Deferred { .. }));
    }

    #[test]
    fn no_report_the_error_decides_for_every_recipient() {
        let refused = Outcome {
            error: Some(Error::Io(std::io::ErrorKind::ConnectionRefused.into())),
            ..Outcome::default()
        };
        let f = fates(&refused, 2);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| matches!(
            f,
            Fate::Deferred {
                status: ExitStatus::TempFail,
                ..
            }
        )));
        let gone = Outcome {
            error: Some(Error::Smtp(smtp_proto::Error::ServiceUnavailable(reply(
                554, "go away",
            )))),
            ..Outcome::default()
        };
        assert!(matches!(fates(&gone, 1)[0], Fate::Bounced { .. }));
    }
}
