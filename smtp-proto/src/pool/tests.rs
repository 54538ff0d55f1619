//! The pool's rules one at a time.

use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::output::TxnFailure;
use crate::reply::{Reply, ReplyCode};
use crate::report::{MessageOutcome, Report};
use crate::{Event, Stage, TxnId};
use alloc::string::String;

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

fn sends_to(actions: &[Action], conn: ConnId) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Send { conn: c, .. } if *c == conn))
        .count()
}

/// A pool of up to four connections filled to three messages each (every connection
/// counted slow to answer: `spread_after` zero).
fn filling() -> Pool {
    Pool::new(PoolConfig {
        fill: 3,
        max_in_flight: 10,
        spread_after: Duration::ZERO,
        ..config(4)
    })
}

#[test]
fn the_first_fill_concurrent_messages_go_to_one_connection_and_the_next_opens_another() {
    let mut p = filling();
    let first: Vec<_> = (0..3).map(|_| p.submit(T0).unwrap()).collect();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    p.handle_opened(T0, ConnId(0));
    let actions = drain(&mut p, T0);
    assert_eq!(sends_to(&actions, ConnId(0)), 3);
    assert_eq!(actions.len(), 3, "no second connection yet: {actions:?}");
    // The fourth joins the busy connection's next flight at once (no waiting for an
    // open), and another connection opens for what comes next.
    let fourth = p.submit(T0).unwrap();
    assert_eq!(
        drain(&mut p, T0),
        [
            Action::Send {
                conn: ConnId(0),
                msg: fourth
            },
            Action::Open(ConnId(1))
        ]
    );
    p.handle_opened(T0, ConnId(1));
    let next: Vec<_> = (0..3).map(|_| p.submit(T0).unwrap()).collect();
    let actions = drain(&mut p, T0);
    assert_eq!(sends_to(&actions, ConnId(1)), 3, "{actions:?}");
    assert_eq!(actions.len(), 3, "{actions:?}");
    // No connection below `fill`: the next goes to the emptiest with room, and takes
    // it past `fill`: every connection is, and a third opens.
    let eighth = p.submit(T0).unwrap();
    assert_eq!(
        drain(&mut p, T0),
        [
            Action::Send {
                conn: ConnId(1),
                msg: eighth
            },
            Action::Open(ConnId(2))
        ]
    );
    for m in first.into_iter().chain(next) {
        let conn = p.handed_to(m).unwrap();
        p.handle_report(at(1), conn, m, false, 0);
    }
    assert_eq!(p.status().in_flight, 2);
}

#[test]
fn one_caller_at_a_time_keeps_to_one_connection() {
    let mut q = filling();
    let mut actions = Vec::new();
    for i in 0..3 {
        let m = q.submit(at(i)).unwrap();
        actions.extend(drain(&mut q, at(i)));
        if i == 0 {
            assert_eq!(actions, [Action::Open(ConnId(0))]);
            q.handle_opened(at(i), ConnId(0));
            actions.extend(drain(&mut q, at(i)));
        }
        q.handle_report(at(i), ConnId(0), m, false, 0);
        actions.extend(drain(&mut q, at(i)));
    }
    let opens = actions.iter().filter(|a| matches!(a, Action::Open(_)));
    assert_eq!(opens.count(), 1, "{actions:?}");
}

#[test]
fn with_fill_zero_messages_spread_and_another_opens_while_every_connection_is_busy() {
    let mut p = Pool::new(PoolConfig {
        fill: 0,
        spread_after: Duration::ZERO,
        ..config(4)
    });
    let a = p.submit(T0).unwrap();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    // A second caller while the first connection opens: no second open yet.
    let b = p.submit(T0).unwrap();
    assert_eq!(drain(&mut p, T0), []);
    p.handle_opened(T0, ConnId(0));
    assert_eq!(
        drain(&mut p, T0),
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
    p.handle_opened(T0, ConnId(1));
    let c = p.submit(T0).unwrap();
    assert_eq!(
        drain(&mut p, T0),
        [
            Action::Send {
                conn: ConnId(1),
                msg: c
            },
            Action::Open(ConnId(2))
        ],
        "the idle connection first"
    );
}

#[test]
fn fill_is_at_most_max_in_flight() {
    let p = Pool::new(PoolConfig {
        fill: 50,
        max_in_flight: 4,
        ..config(2)
    });
    assert_eq!(p.config().fill, 4);
    assert_eq!(PoolConfig::default().fill, 32);
    assert_eq!(
        PoolConfig::default().spread_after,
        Duration::from_millis(10)
    );
}

#[test]
fn below_fill_the_fullest_connection_takes_the_message_and_the_other_falls_idle_and_retires() {
    let mut p = filling();
    let msgs: Vec<_> = (0..4).map(|_| p.submit(T0).unwrap()).collect();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(1));
    let fifth = p.submit(T0).unwrap();
    assert_eq!(sends_to(&drain(&mut p, T0), ConnId(1)), 1);
    // Connection 0 answers three of its four: it has 1, connection 1 has 1; the next
    // goes to the older, and once connection 0 is the fuller, to it alone.
    for &m in &msgs[..3] {
        p.handle_report(at(10), ConnId(0), m, false, 0);
    }
    let _ = drain(&mut p, at(10));
    let mut later = Vec::new();
    for _ in 0..2 {
        later.push(p.submit(at(10)).unwrap());
        assert_eq!(sends_to(&drain(&mut p, at(10)), ConnId(0)), 1);
    }
    p.handle_report(at(20), ConnId(1), fifth, false, 0);
    let _ = drain(&mut p, at(20));
    // Connection 1 is idle, connection 0 below `fill`: it takes the load.
    for i in 0..4u64 {
        let now = at(20 + i);
        let done = if i == 0 { msgs[3] } else { later.remove(0) };
        p.handle_report(now, ConnId(0), done, false, 0);
        later.push(p.submit(now).unwrap());
        let actions = drain(&mut p, now);
        assert_eq!(sends_to(&actions, ConnId(0)), 1, "{actions:?}");
    }
    // Idle, it gives its buffers back first (`trim_after`), then closes.
    let trim = at(20) + p.config().trim_after;
    assert_eq!(p.poll_timeout(), Some(trim));
    assert_eq!(drain(&mut p, trim), [Action::Trim(ConnId(1))]);
    let idle = at(20) + p.config().max_idle;
    assert_eq!(p.poll_timeout(), Some(idle));
    assert_eq!(drain(&mut p, idle), [Action::Close(ConnId(1))]);
    assert_eq!(p.status().open, 1);
}

#[test]
fn a_connection_that_stops_answering_takes_nothing_more_once_another_below_fill_is_open() {
    let mut p = filling();
    let _stuck: Vec<_> = (0..4).map(|_| p.submit(T0).unwrap()).collect();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    assert_eq!(sends_to(&drain(&mut p, T0), ConnId(0)), 4);
    p.handle_opened(at(100), ConnId(1));
    // Connection 0 never answers; connection 1 does, and takes every later message.
    for i in 0..20 {
        let now = at(100 + i);
        let m = p.submit(now).unwrap();
        assert_eq!(
            drain(&mut p, now),
            [Action::Send {
                conn: ConnId(1),
                msg: m
            }]
        );
        p.handle_report(now, ConnId(1), m, false, 0);
        let _ = drain(&mut p, now);
    }
    assert_eq!(p.status().in_flight, 4);
}

/// A pool of up to four connections that fill to ten messages while they answer within
/// 10 ms, to three once slower.
fn prompt() -> Pool {
    Pool::new(PoolConfig {
        fill: 3,
        max_in_flight: 10,
        spread_after: Duration::from_millis(10),
        ..config(4)
    })
}

#[test]
fn a_connection_answering_promptly_fills_to_max_in_flight_before_another_opens() {
    let mut p = prompt();
    let first: Vec<_> = (0..10).map(|_| p.submit(T0).unwrap()).collect();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    p.handle_opened(T0, ConnId(0));
    let actions = drain(&mut p, T0);
    assert_eq!(sends_to(&actions, ConnId(0)), 10);
    assert_eq!(
        actions.len(),
        10,
        "past fill, no second connection: {actions:?}"
    );
    // Its answers come within 10 ms of the oldest: the callers' next messages join
    // its next flight, and nothing opens.
    for m in first {
        let now = at(5);
        p.handle_report(now, ConnId(0), m, false, 0);
        let _ = drain(&mut p, now);
        let next = p.submit(now).unwrap();
        assert_eq!(
            drain(&mut p, now),
            [Action::Send {
                conn: ConnId(0),
                msg: next
            }]
        );
    }
    // One more finds its pipeline full: it waits, and only then another opens.
    let _eleventh = p.submit(at(6)).unwrap();
    assert_eq!(drain(&mut p, at(6)), [Action::Open(ConnId(1))]);
}

#[test]
fn a_connection_slow_to_answer_fills_to_fill_only_and_the_load_returns_once_it_answers() {
    let mut p = prompt();
    let first: Vec<_> = (0..5).map(|_| p.submit(T0).unwrap()).collect();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let actions = drain(&mut p, T0);
    assert_eq!(sends_to(&actions, ConnId(0)), 5);
    assert_eq!(actions.len(), 5, "{actions:?}");
    // 10 ms without an answer: past `fill`, it counts as full. The next message joins
    // its flight (nothing else has room) and another connection opens.
    let sixth = p.submit(at(10)).unwrap();
    assert_eq!(
        drain(&mut p, at(10)),
        [
            Action::Send {
                conn: ConnId(0),
                msg: sixth
            },
            Action::Open(ConnId(1))
        ]
    );
    p.handle_opened(at(11), ConnId(1));
    let seventh = p.submit(at(11)).unwrap();
    assert_eq!(
        drain(&mut p, at(11)),
        [Action::Send {
            conn: ConnId(1),
            msg: seventh
        }]
    );
    // Connection 0 answers everything: both answer promptly again, and the fuller
    // (connection 1) takes what comes, up to `max_in_flight`; connection 0 falls idle.
    for m in first.into_iter().chain([sixth]) {
        p.handle_report(at(12), ConnId(0), m, false, 0);
    }
    let _ = drain(&mut p, at(12));
    for _ in 0..9 {
        let m = p.submit(at(12)).unwrap();
        assert_eq!(
            drain(&mut p, at(12)),
            [Action::Send {
                conn: ConnId(1),
                msg: m
            }]
        );
    }
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
    // Idle, it gives its buffers back first (`trim_after`), then closes.
    let trim = at(10) + q.config().trim_after;
    assert_eq!(q.poll_timeout(), Some(trim));
    assert_eq!(drain(&mut q, trim), [Action::Trim(ConnId(0))]);
    let idle = at(10) + q.config().max_idle;
    assert_eq!(q.poll_timeout(), Some(idle));
    assert_eq!(drain(&mut q, idle), [Action::Close(ConnId(0))]);
}

/// A pool of `config` whose one connection, open at T0, answered a message at `when`.
fn answered_at(config: PoolConfig, when: Instant) -> Pool {
    let mut p = Pool::new(config);
    let m = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    p.handle_report(when, ConnId(0), m, false, 0);
    let _ = drain(&mut p, when);
    p
}

/// One connection, open at T0, that answered one message at 10 ms.
fn answered_one(trim_after: Duration) -> Pool {
    let config = PoolConfig {
        trim_after,
        ..config(1)
    };
    answered_at(config, at(10))
}

#[test]
fn a_connection_idle_for_trim_after_is_trimmed_once_and_again_only_after_it_was_used() {
    let mut p = answered_one(Duration::from_millis(100));
    assert_eq!(p.poll_timeout(), Some(at(110)), "the trim is a deadline");
    assert_eq!(drain(&mut p, at(109)), [], "not before trim_after");
    assert_eq!(drain(&mut p, at(110)), [Action::Trim(ConnId(0))]);
    assert_eq!(p.conns[0].in_flight.capacity(), 0, "its room given back");
    assert_eq!(drain(&mut p, at(500)), [], "once per idle period");
    assert_eq!(
        p.poll_timeout(),
        Some(at(10) + p.config().max_idle),
        "no trim pending"
    );
    // Used again: trimmed again once idle for trim_after after its last report.
    let m = p.submit(at(600)).unwrap();
    let _ = drain(&mut p, at(600));
    assert_eq!(drain(&mut p, at(900)), [], "busy: not trimmed");
    p.handle_report(at(900), ConnId(0), m, false, 0);
    let _ = drain(&mut p, at(900));
    assert_eq!(p.poll_timeout(), Some(at(1000)));
    assert_eq!(drain(&mut p, at(1000)), [Action::Trim(ConnId(0))]);
}

#[test]
fn a_connection_that_takes_a_message_at_its_trim_moment_is_not_trimmed() {
    let mut p = answered_one(Duration::from_millis(100));
    let m = p.submit(at(110)).unwrap();
    assert_eq!(
        drain(&mut p, at(110)),
        [Action::Send {
            conn: ConnId(0),
            msg: m
        }]
    );
    p.handle_report(at(120), ConnId(0), m, false, 0);
    let _ = drain(&mut p, at(120));
    assert_eq!(drain(&mut p, at(219)), [], "idle since its last report");
    assert_eq!(drain(&mut p, at(220)), [Action::Trim(ConnId(0))]);
}

#[test]
fn the_room_for_messages_in_flight_stays_between_bursts_until_the_trim() {
    let mut p = answered_one(Duration::from_millis(100));
    let msgs: Vec<_> = (0..20).map(|_| p.submit(at(20)).unwrap()).collect();
    let _ = drain(&mut p, at(20));
    for &m in &msgs {
        p.handle_report(at(30), ConnId(0), m, false, 0);
    }
    let _ = drain(&mut p, at(30));
    assert!(
        p.conns[0].in_flight.capacity() >= 20,
        "kept for the next burst"
    );
    assert_eq!(drain(&mut p, at(130)), [Action::Trim(ConnId(0))]);
    assert_eq!(p.conns[0].in_flight.capacity(), 0);
}

#[test]
fn a_connection_being_checked_or_closed_is_not_trimmed() {
    // Checked: the check comes first (check_after below trim_after).
    let checked = PoolConfig {
        check_after: Duration::from_millis(50),
        trim_after: Duration::from_millis(100),
        ..config(1)
    };
    let mut p = answered_at(checked, T0);
    let _b = p.submit(at(60)).unwrap();
    assert_eq!(drain(&mut p, at(60)), [Action::Check(ConnId(0))]);
    assert_eq!(drain(&mut p, at(200)), [], "being checked");
    // Closed: max_idle comes before trim_after.
    let closed = PoolConfig {
        max_idle: Duration::from_millis(50),
        trim_after: Duration::from_millis(50),
        ..config(1)
    };
    let mut q = answered_at(closed, T0);
    assert_eq!(drain(&mut q, at(50)), [Action::Close(ConnId(0))]);
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

/// The id of a message that ended means nothing more, even once a later message took
/// its place in the pool: a late cancel or report under it reaches no other message.
#[test]
fn the_id_of_an_ended_message_reaches_no_later_message() {
    let mut p = Pool::new(config(1));
    let old = p.submit(T0).unwrap();
    let other = p.submit(T0).unwrap();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    p.handle_opened(T0, ConnId(0));
    assert_eq!(drain(&mut p, T0).len(), 2, "both sent");
    p.handle_report(at(1), ConnId(0), old, false, 0);
    let done = Action::Done {
        msg: old,
        end: End::Report,
        attempts: 1,
    };
    assert_eq!(drain(&mut p, at(1)), [done]);
    let new = p.submit(at(2)).unwrap();
    assert_ne!(new, old);
    assert!(new > old && new > other, "ids keep submission order");
    assert_eq!(new.get(), 2);
    let send = Action::Send {
        conn: ConnId(0),
        msg: new,
    };
    assert_eq!(drain(&mut p, at(2)), [send]);
    // Late calls under the old id: nothing happens to `new`.
    assert!(!p.cancel(old));
    p.handle_report(at(3), ConnId(0), old, true, 0);
    p.handle_withdrawn(at(3), ConnId(0), old);
    assert_eq!(drain(&mut p, at(3)), []);
    assert_eq!(p.handed_to(new), Some(ConnId(0)));
    p.handle_report(at(4), ConnId(0), new, false, 0);
    let done = Action::Done {
        msg: new,
        end: End::Report,
        attempts: 1,
    };
    assert_eq!(drain(&mut p, at(4)), [done], "not cancelled, sent once");
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

#[test]
fn a_cancelled_message_withdrawn_from_its_connection_ends_without_done_and_others_go_on() {
    let mut p = Pool::new(config(1));
    let a = p.submit(T0).unwrap();
    let b = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    assert_eq!(drain(&mut p, T0).len(), 2);
    assert!(!p.cancel(b), "a connection has it");
    assert_eq!(p.handed_to(b), Some(ConnId(0)));
    p.handle_withdrawn(T0, ConnId(0), b);
    assert_eq!(p.handed_to(b), None);
    assert_eq!(p.status().in_flight, 1);
    assert_eq!(drain(&mut p, T0), [], "no Done for a withdrawn message");
    p.handle_report(at(5), ConnId(0), a, false, 0);
    let c = p.submit(at(5)).unwrap();
    assert_eq!(
        drain(&mut p, at(5)),
        [
            Action::Done {
                msg: a,
                end: End::Report,
                attempts: 1
            },
            Action::Send {
                conn: ConnId(0),
                msg: c
            }
        ],
        "the connection goes on"
    );
    // Withdrawn without a cancel (say a connection giving its queue back), a message
    // waits again, that attempt not counted.
    p.handle_withdrawn(at(5), ConnId(0), c);
    assert_eq!(
        drain(&mut p, at(5)),
        [Action::Send {
            conn: ConnId(0),
            msg: c
        }]
    );
    p.handle_report(at(6), ConnId(0), c, false, 0);
    assert_eq!(
        drain(&mut p, at(6)),
        [Action::Done {
            msg: c,
            end: End::Report,
            attempts: 1
        }]
    );
}

const RCPTS: usize = 3;

/// A report of `statuses.len()` recipients (250, 450 or 550 each), then `outcome`
/// (`None`: every recipient refused).
fn report_of(statuses: &[u16], outcome: Option<MessageOutcome>) -> Report {
    let txn = TxnId(0);
    let mut r = Report::new(txn, statuses.len(), false);
    for (rcpt, &code) in statuses.iter().enumerate() {
        let reply = reply(code);
        r.apply(&if code == 250 {
            Event::RecipientAccepted { txn, rcpt, reply }
        } else {
            Event::RecipientRejected { txn, rcpt, reply }
        });
    }
    let failure = MessageOutcome::Failed(TxnFailure::NoRecipients);
    let event = match outcome.unwrap_or(failure) {
        MessageOutcome::Accepted(reply) => Event::MessageAccepted {
            txn,
            rcpt: None,
            reply,
        },
        MessageOutcome::Failed(failure) => Event::TransactionFailed {
            txn,
            rcpt: None,
            failure,
        },
        MessageOutcome::Unknown => Event::OutcomeUnknown { txn, rcpt: None },
    };
    r.apply(&event);
    r
}

fn accepted(code: u16) -> Option<MessageOutcome> {
    Some(MessageOutcome::Accepted(reply(code)))
}

fn envelope(n: usize) -> Envelope {
    let to = (0..n).map(|i| {
        let addr = alloc::format!("r{i}@example.net");
        crate::command::ForwardPath::new(&addr).unwrap()
    });
    Envelope::new(
        crate::command::ReversePath::new("a@example.org").unwrap(),
        to,
    )
}

fn rcpts(e: &Envelope) -> Vec<String> {
    e.recipients
        .iter()
        .map(|r| r.path.as_str().into())
        .collect()
}

/// One message on one connection, with transient recipients retried.
fn retrying(max_attempts: u32) -> (Pool, MessageId) {
    let mut p = Pool::new(PoolConfig {
        retry_transient_recipients: true,
        max_attempts,
        ..config(1)
    });
    let m = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    (p, m)
}

#[test]
fn only_the_recipients_that_failed_for_now_are_sent_again_and_the_report_merges() {
    let (mut p, m) = retrying(3);
    let first = report_of(&[250, 450, 550], accepted(250));
    assert_eq!(p.handle_report_of(T0, ConnId(0), m, first, 7), None);
    assert_eq!(drain(&mut p, T0), [], "after the backoff");
    let later = p.poll_timeout().unwrap();
    assert_eq!(
        drain(&mut p, later),
        [Action::Send {
            conn: ConnId(0),
            msg: m
        }],
        "on the same connection: it is sound"
    );
    let env = p.attempt_envelope(m, &envelope(RCPTS));
    assert_eq!(
        rcpts(&env),
        ["r1@example.net"],
        "neither the accepted nor the refused"
    );
    let second = report_of(&[250], accepted(251));
    assert_eq!(p.handle_report_of(later, ConnId(0), m, second, 7), None);
    assert_eq!(
        drain(&mut p, later),
        [Action::Done {
            msg: m,
            end: End::Report,
            attempts: 2
        }]
    );
    let report = p.take_report(m).unwrap();
    assert_eq!(
        report.recipients,
        report_of(&[250, 250, 550], None).recipients
    );
    assert_eq!(report.outcome, accepted(251));
    assert_eq!(p.take_report(m), None, "once");
}

#[test]
fn recipients_are_retried_only_when_asked_and_within_max_attempts() {
    let mut p = Pool::new(config(1));
    let m = p.submit(T0).unwrap();
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    let first = report_of(&[250, 450], accepted(250));
    assert_eq!(
        p.handle_report_of(T0, ConnId(0), m, first.clone(), 7),
        Some(first),
        "off by default: the report is the message's"
    );
    assert_eq!(
        drain(&mut p, T0),
        [Action::Done {
            msg: m,
            end: End::Report,
            attempts: 1
        }]
    );
    assert_eq!(p.take_report(m), None);

    let (mut p, m) = retrying(2);
    let _ = p.handle_report_of(
        T0,
        ConnId(0),
        m,
        report_of(&[450, 250, 451], accepted(250)),
        7,
    );
    let later = p.poll_timeout().unwrap();
    let _ = drain(&mut p, later);
    let env = p.attempt_envelope(m, &envelope(RCPTS));
    assert_eq!(rcpts(&env), ["r0@example.net", "r2@example.net"]);
    // Still 4xx for one, and no attempt left: the message ends with it.
    let second = report_of(&[250, 452], accepted(250));
    assert_eq!(p.handle_report_of(later, ConnId(0), m, second, 7), None);
    assert_eq!(
        drain(&mut p, later),
        [Action::Done {
            msg: m,
            end: End::Report,
            attempts: 2
        }]
    );
    let report = p.take_report(m).unwrap();
    assert_eq!(
        report.recipients,
        report_of(&[250, 250, 452], None).recipients
    );
}

#[test]
fn nothing_is_sent_again_after_an_unknown_outcome_or_a_failure_of_the_whole_transaction() {
    let unknown = report_of(&[250, 450], Some(MessageOutcome::Unknown));
    assert_eq!(transient_recipients(&unknown), []);
    let data_refused = MessageOutcome::Failed(TxnFailure::Rejected {
        stage: Stage::DataEnd,
        reply: reply(451),
    });
    assert_eq!(
        transient_recipients(&report_of(&[250, 450], Some(data_refused))),
        []
    );
    assert_eq!(transient_recipients(&Report::new(TxnId(0), 2, false)), []);
    let closed = MessageOutcome::Failed(TxnFailure::SessionClosed);
    assert_eq!(transient_recipients(&report_of(&[450], Some(closed))), []);
    // Every recipient refused: those refused for now only go again.
    assert_eq!(
        transient_recipients(&report_of(&[550, 450, 421], None)),
        [1, 2]
    );
    assert_eq!(
        transient_recipients(&report_of(&[250, 450], accepted(250))),
        [1]
    );

    let (mut p, m) = retrying(3);
    let r = report_of(&[250, 450], Some(MessageOutcome::Unknown));
    assert_eq!(p.handle_report_of(T0, ConnId(0), m, r.clone(), 7), Some(r));
    assert_eq!(
        drain(&mut p, T0),
        [Action::Done {
            msg: m,
            end: End::Report,
            attempts: 1
        }]
    );
}

#[test]
fn a_later_attempt_that_fails_or_ends_unknown_never_makes_the_report_promise_more() {
    // Refused at the end of data after its RCPT was accepted: that recipient did not
    // get the message, and says so with the reply.
    let (mut p, m) = retrying(3);
    let _ = p.handle_report_of(T0, ConnId(0), m, report_of(&[250, 450], accepted(250)), 7);
    let later = p.poll_timeout().unwrap();
    let _ = drain(&mut p, later);
    let refused = MessageOutcome::Failed(TxnFailure::Rejected {
        stage: Stage::DataEnd,
        reply: reply(554),
    });
    let _ = p.handle_report_of(later, ConnId(0), m, report_of(&[250], Some(refused)), 7);
    let _ = drain(&mut p, later);
    let report = p.take_report(m).unwrap();
    assert_eq!(report.recipients, report_of(&[250, 554], None).recipients);
    assert_eq!(report.outcome, accepted(250));

    // Unknown: the message's outcome is unknown.
    let (mut p, m) = retrying(3);
    let _ = p.handle_report_of(T0, ConnId(0), m, report_of(&[250, 450], accepted(250)), 7);
    let later = p.poll_timeout().unwrap();
    let _ = drain(&mut p, later);
    let unknown = Some(MessageOutcome::Unknown);
    let _ = p.handle_report_of(later, ConnId(0), m, report_of(&[250], unknown.clone()), 7);
    let _ = drain(&mut p, later);
    assert_eq!(p.take_report(m).unwrap().outcome, unknown);

    // Every recipient refused at first, then accepted: accepted.
    let (mut p, m) = retrying(3);
    let _ = p.handle_report_of(T0, ConnId(0), m, report_of(&[450, 550], None), 7);
    let later = p.poll_timeout().unwrap();
    let _ = drain(&mut p, later);
    let env = p.attempt_envelope(m, &envelope(2));
    assert_eq!(rcpts(&env), ["r0@example.net"]);
    let _ = p.handle_report_of(later, ConnId(0), m, report_of(&[250], accepted(250)), 7);
    let _ = drain(&mut p, later);
    let report = p.take_report(m).unwrap();
    assert_eq!(report.recipients, report_of(&[250, 550], None).recipients);
    assert_eq!(report.outcome, accepted(250));
}

#[test]
fn under_lmtp_one_unknown_delivery_keeps_every_recipient_from_being_sent_again() {
    let txn = TxnId(0);
    let mut r = Report::new(txn, 4, true);
    for rcpt in 0..3 {
        r.apply(&Event::RecipientAccepted {
            txn,
            rcpt,
            reply: reply(250),
        });
    }
    r.apply(&Event::RecipientRejected {
        txn,
        rcpt: 3,
        reply: reply(450),
    });
    r.apply(&Event::MessageAccepted {
        txn,
        rcpt: Some(0),
        reply: reply(250),
    });
    let failure = TxnFailure::Rejected {
        stage: Stage::DataEnd,
        reply: reply(452),
    };
    r.apply(&Event::TransactionFailed {
        txn,
        rcpt: Some(1),
        failure,
    });
    let mut delivered_or_refused = r.clone();
    r.apply(&Event::OutcomeUnknown { txn, rcpt: Some(2) });
    assert!(r.is_complete());
    assert_eq!(transient_recipients(&r), []);
    delivered_or_refused.apply(&Event::MessageAccepted {
        txn,
        rcpt: Some(2),
        reply: reply(250),
    });
    assert_eq!(
        transient_recipients(&delivered_or_refused),
        [3],
        "one delivery accepted: the recipient refused for now goes again"
    );
}

/// An id hashes as its number alone, one `u64`: what an adapter's map of ids (a
/// multiply per `u64`) hashes fastest; its slot would add a write of bytes.
#[test]
fn a_message_id_hashes_as_one_u64_its_number() {
    #[derive(Default)]
    struct Writes(Vec<u64>, usize);
    impl core::hash::Hasher for Writes {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.1 += bytes.len();
        }
        fn write_u64(&mut self, n: u64) {
            self.0.push(n);
        }
    }
    let mut p = Pool::new(config(1));
    let ids: Vec<_> = (0..3).map(|_| p.submit(T0).unwrap()).collect();
    for id in ids {
        let mut h = Writes::default();
        core::hash::Hash::hash(&id, &mut h);
        assert_eq!((h.0, h.1), (alloc::vec![id.get()], 0));
    }
}

#[test]
fn connections_idle_since_different_moments_are_each_trimmed_at_theirs() {
    // `fill` 0, `spread_after` zero: the second message goes to a second connection.
    let mut p = Pool::new(PoolConfig {
        fill: 0,
        spread_after: Duration::ZERO,
        trim_after: Duration::from_millis(100),
        ..config(2)
    });
    let a = p.submit(T0).unwrap();
    assert_eq!(drain(&mut p, T0), [Action::Open(ConnId(0))]);
    p.handle_opened(T0, ConnId(0));
    let _ = drain(&mut p, T0);
    p.handle_opened(T0, ConnId(1));
    let b = p.submit(T0).unwrap();
    assert_eq!(
        drain(&mut p, T0),
        [Action::Send {
            conn: ConnId(1),
            msg: b
        }]
    );
    p.handle_report(at(10), ConnId(0), a, false, 0);
    let _ = drain(&mut p, at(10));
    p.handle_report(at(50), ConnId(1), b, false, 0);
    let _ = drain(&mut p, at(50));
    assert_eq!(p.poll_timeout(), Some(at(110)));
    assert_eq!(drain(&mut p, at(110)), [Action::Trim(ConnId(0))]);
    assert_eq!(p.poll_timeout(), Some(at(150)));
    assert_eq!(drain(&mut p, at(149)), []);
    assert_eq!(drain(&mut p, at(150)), [Action::Trim(ConnId(1))]);
    // Used again after both were trimmed: trimmed again at its own moment.
    let c = p.submit(at(200)).unwrap();
    let sent = drain(&mut p, at(200));
    let [Action::Send { conn, msg }] = sent[..] else {
        panic!("{sent:?}");
    };
    assert_eq!(msg, c);
    p.handle_report(at(220), conn, c, false, 0);
    let _ = drain(&mut p, at(220));
    assert_eq!(drain(&mut p, at(319)), []);
    assert_eq!(drain(&mut p, at(320)), [Action::Trim(conn)]);
}
