//! The pool's rules one at a time.

use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::output::TxnFailure;
use crate::reply::{Reply, ReplyCode};
use crate::report::{MessageOutcome, Report};
use crate::{Event, Stage, TxnId};

const T0: Instant = Instant::ZERO;

fn at(ms: u64) -> Instant {
    Instant::from_duration(Duration::from_millis(ms))
}

fn drain(p: &mut Pool, now: Instant) -> Vec<Action> {
    core::iter::from_fn(|| p.poll_action(now)).collect()
}

fn config(conns: usize) -> PoolConfig {
    PoolConfig {
        max_connections: conns,
        ..PoolConfig::default()
    }
}

#[test]
fn a_hundred_callers_on_one_connection_go_out_together_up_to_max_in_flight() {
    let mut p = Pool::new(PoolConfig {
        max_in_flight: 60,
        ..config(1)
    });
    let msgs: Vec<_> = (0..100).map(|_| p.submit(T0).unwrap()).collect();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    p.handle_opened(T0, ConnId(0));
    let sends = drain(&mut p, T0);
    assert_eq!(sends.len(), 60, "the window of messages, at once");
    assert!(sends.iter().all(|a| matches!(
        a,
        Action::Send {
            conn: ConnId(0),
            ..
        }
    )));
    p.handle_report(at(50), ConnId(0), msgs[0], false, 0);
    let next = drain(&mut p, at(50));
    assert_eq!(next.len(), 2, "{next:?}");
    assert!(next.contains(&Action::Done {
        msg: msgs[0],
        end: End::Report,
        attempts: 1
    }));
    assert!(next.contains(&Action::Send {
        conn: ConnId(0),
        msg: msgs[60]
    }));
}

#[test]
fn another_connection_opens_only_while_every_open_one_is_busy() {
    let mut p = Pool::new(config(4));
    let a = p.submit(T0).unwrap();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    // A second caller while the first connection opens: no second open yet.
    let b = p.submit(T0).unwrap();
    assert_eq!(drain(&mut p, T0), []);
    p.handle_opened(T0, ConnId(0));
    let actions = drain(&mut p, T0);
    assert_eq!(
        actions,
        [
            Action::Send {
                conn: ConnId(0),
                msg: a
            },
            Action::Send {
                conn: ConnId(0),
                msg: b
            },
            Action::Open(ConnId(1)),
        ]
    );
    // One caller at a time keeps to one connection.
    let mut q = Pool::new(config(4));
    for i in 0..3 {
        let m = q.submit(at(i)).unwrap();
        let actions = drain(&mut q, at(i));
        if i == 0 {
            assert_eq!(actions[0], Action::Open(ConnId(0)));
            q.handle_opened(at(i), ConnId(0));
            drain(&mut q, at(i));
        }
        q.handle_report(at(i), ConnId(0), m, false, 0);
        drain(&mut q, at(i));
    }
    assert_eq!(q.status().open, 1);
}

#[test]
fn a_connection_idle_past_check_after_is_checked_before_it_takes_a_message() {
    let mut p = Pool::new(config(1));
    let a = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    p.handle_report(T0, ConnId(0), a, false, 0);
    let _ = drain(&mut p, T0);
    let later = T0 + p.config().check_after;
    let b = p.submit(later).unwrap();
    assert_eq!(drain(&mut p, later), [Action::Check(ConnId(0))]);
    // The NOOP got 421: the connection is dead, another opens for the message.
    p.handle_checked(later, ConnId(0), false);
    assert_eq!(drain(&mut p, later), [Action::Open(ConnId(1))]);
    p.handle_opened(later, ConnId(1));
    assert_eq!(
        drain(&mut p, later),
        [Action::Send {
            conn: ConnId(1),
            msg: b
        }]
    );
}

#[test]
fn a_connection_idle_past_max_idle_is_closed_and_one_past_max_messages_retires() {
    let mut p = Pool::new(PoolConfig {
        max_messages: 1,
        ..config(1)
    });
    let a = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    let b = p.submit(T0).unwrap();
    assert_eq!(
        drain(&mut p, T0),
        [],
        "the only connection took its one message"
    );
    p.handle_report(at(10), ConnId(0), a, false, 0);
    let actions = drain(&mut p, at(10));
    assert!(actions.contains(&Action::Close(ConnId(0))), "{actions:?}");
    assert!(actions.contains(&Action::Open(ConnId(1))), "{actions:?}");
    p.handle_opened(at(10), ConnId(1));
    assert_eq!(
        drain(&mut p, at(10)),
        [Action::Send {
            conn: ConnId(1),
            msg: b
        }]
    );

    let mut q = Pool::new(config(1));
    let m = q.submit(T0).unwrap();
    let _ = drain(&mut q, T0);
    q.handle_opened(T0, ConnId(0));
    let _ = drain(&mut q, T0);
    q.handle_report(at(10), ConnId(0), m, false, 0);
    let _ = drain(&mut q, at(10));
    let idle = at(10) + q.config().max_idle;
    assert_eq!(q.poll_timeout(), Some(idle));
    assert_eq!(drain(&mut q, idle), [Action::Close(ConnId(0))]);
}

#[test]
fn a_message_never_delivered_is_sent_again_after_a_backoff_up_to_max_attempts() {
    let mut p = Pool::new(PoolConfig {
        max_attempts: 2,
        ..config(1)
    });
    let m = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    p.handle_report(T0, ConnId(0), m, true, 0);
    p.handle_closed(T0, ConnId(0));
    assert_eq!(drain(&mut p, T0), [], "the backoff first");
    let retry = p.poll_timeout().unwrap();
    assert!(retry > T0 && retry <= T0 + p.config().backoff_base);
    assert_eq!(drain(&mut p, retry), [Action::Open(ConnId(1))]);
    p.handle_opened(retry, ConnId(1));
    assert_eq!(
        drain(&mut p, retry),
        [Action::Send {
            conn: ConnId(1),
            msg: m
        }]
    );
    p.handle_report(retry, ConnId(1), m, true, 0);
    assert_eq!(
        drain(&mut p, retry),
        [
            Action::Done {
                msg: m,
                end: End::Report,
                attempts: 2
            },
            Action::Close(ConnId(1))
        ],
        "a connection that gave a resendable report takes nothing more"
    );
}

#[test]
fn waiting_messages_fail_after_max_attempts_opens_fail_and_time_out_after_max_wait() {
    let mut p = Pool::new(PoolConfig {
        max_attempts: 2,
        ..config(1)
    });
    let m = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_open_failed(T0, ConnId(0), false, 7);
    let again = p.poll_timeout().unwrap();
    assert_eq!(drain(&mut p, again), [Action::Open(ConnId(1))]);
    p.handle_open_failed(again, ConnId(1), false, 7);
    assert_eq!(
        drain(&mut p, again),
        [Action::Done {
            msg: m,
            end: End::OpenFailed,
            attempts: 0
        }]
    );
    let mut q = Pool::new(config(1));
    let n = q.submit(T0).unwrap();
    let _ = drain(&mut q, T0);
    let late = T0 + q.config().max_wait;
    assert_eq!(
        drain(&mut q, late),
        [Action::Done {
            msg: n,
            end: End::TimedOut,
            attempts: 0
        }]
    );
}

#[test]
fn the_queue_bound_refuses_and_cancel_withdraws_a_waiting_message() {
    let mut p = Pool::new(PoolConfig {
        max_queued: 2,
        ..config(1)
    });
    let a = p.submit(T0).unwrap();
    p.submit(T0).unwrap();
    assert_eq!(p.submit(T0), Err(SubmitError::Full));
    assert!(p.cancel(a));
    assert_eq!(p.status().queued, 1);
    p.submit(T0).unwrap();
    p.close();
    assert_eq!(p.submit(T0), Err(SubmitError::Closed));
}

fn report(outcome: MessageOutcome) -> Report {
    let mut r = Report::new(TxnId(0), 1, false);
    let event = match outcome {
        MessageOutcome::Accepted(reply) => Event::MessageAccepted {
            txn: TxnId(0),
            rcpt: None,
            reply,
        },
        MessageOutcome::Failed(failure) => Event::TransactionFailed {
            txn: TxnId(0),
            rcpt: None,
            failure,
        },
        MessageOutcome::Unknown => Event::OutcomeUnknown {
            txn: TxnId(0),
            rcpt: None,
        },
    };
    r.apply(&event);
    r
}

fn reply(code: u16) -> Reply {
    Reply::new(ReplyCode::new(code).unwrap(), &[b"x"]).unwrap()
}

#[test]
fn only_a_message_that_never_reached_the_server_may_be_resent() {
    let closed = MessageOutcome::Failed(TxnFailure::SessionClosed);
    assert!(may_resend(&report(closed)));
    let r421 = TxnFailure::Rejected {
        stage: Stage::Mail,
        reply: reply(421),
    };
    assert!(may_resend(&report(MessageOutcome::Failed(r421))));
    assert!(!may_resend(&report(MessageOutcome::Unknown)));
    assert!(!may_resend(&report(MessageOutcome::Accepted(reply(250)))));
    let r451 = TxnFailure::Rejected {
        stage: Stage::Mail,
        reply: reply(451),
    };
    assert!(!may_resend(&report(MessageOutcome::Failed(r451))));
    let r550 = TxnFailure::Rejected {
        stage: Stage::DataEnd,
        reply: reply(550),
    };
    assert!(!may_resend(&report(MessageOutcome::Failed(r550))));
    assert!(!may_resend(&Report::new(TxnId(0), 1, false)), "incomplete");
}

#[test]
fn backoff_doubles_within_its_cap_with_half_of_it_jittered() {
    let (base, max) = (Duration::from_millis(100), Duration::from_secs(1));
    for random in [0, 1, u64::MAX, 123_456_789] {
        for attempt in 1..10 {
            let cap = (base * (1 << (attempt - 1))).min(max);
            let d = backoff(base, max, attempt, random);
            assert!(d >= cap / 2 && d <= cap, "{attempt} {random}: {d:?}");
        }
    }
    assert_ne!(backoff(base, max, 3, 1), backoff(base, max, 3, 99_999_999));
}
