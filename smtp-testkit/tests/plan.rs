//! The adapters' replay holds them to what the transcripts say: the plan keeps the
//! transcript's flights (moving only what an adapter can send later), the server plays
//! it strictly, and the outcome check compares reports, replies and errors.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use smtp_proto::{
    Client, Error, Instant, MessageOutcome, RecipientStatus, Reply, ReplyCode, Report, Stage,
    TxnFailure,
};
use smtp_testkit::plan::{adapter_config, plan, NoPlan, Op, Turn, BYE, SECOND};
use smtp_testkit::scenario::{check, named, EndError, Outcome, Summary};
use smtp_testkit::server::ScriptedServer;
use smtp_testkit::transcript::Transcript;

fn say(s: &str) -> Turn {
    Turn::Say(s.as_bytes().to_vec())
}

fn expect(s: &str) -> Turn {
    Turn::Expect(s.as_bytes().to_vec())
}

fn reply(code: u16, text: &str) -> Reply {
    Reply::new(ReplyCode::new(code).unwrap(), &[text.as_bytes()]).unwrap()
}

/// The transcript pipelines QUIT behind RSET (`C: RSET\r\nQUIT\r\n`, one `S:` line with
/// both replies); an adapter's `quit` starts after `rset` returns, so the server answers
/// RSET first and QUIT once it has arrived.
#[test]
fn a_quit_pipelined_behind_rset_waits_for_the_reply_to_rset() {
    let s = named("misc-quit-after-queued-work.txt");
    assert!(matches!(s.ops(), [Op::Noop, Op::Rset, Op::Quit]));
    let turns = &s.plan.turns;
    let tail = &turns[turns.len() - 4..];
    assert_eq!(
        tail,
        [
            expect("RSET\r\n"),
            say("250 ok\r\n"),
            expect("QUIT\r\n"),
            say("221 bye\r\n")
        ],
        "{turns:?}"
    );
}

/// A transcript that leaves the session up ends with the test's own QUIT, answered, or
/// a close.
#[test]
fn a_session_left_up_ends_with_the_tests_own_quit_or_a_close() {
    let s = named("tls-disabled.txt");
    assert!(matches!(s.ops().last(), Some(Op::End { open: true })));
    let turns = &s.plan.turns;
    assert_eq!(
        turns[turns.len() - 3..],
        [Turn::MayClose, expect("QUIT\r\n"), Turn::Say(BYE.to_vec())]
    );
}

/// A session that ended under an operation that returned its results (here the
/// message's outcome is unknown) reports its error at the next call: the test's own end
/// must be a `quit` (nothing is written), not a drop.
#[test]
fn a_session_ended_under_an_operation_is_ended_by_a_call() {
    let s = named("time-data-end-eof.txt");
    assert!(matches!(s.ops().last(), Some(Op::End { open: false })));
    assert!(!s.plan.turns.contains(&Turn::MayClose));
}

/// Timers run on real time: timeouts scaled, a `T:` that must not fire a pause of half
/// its length, one that fires nothing at all (the server waits for the client to quit).
#[test]
fn timers_become_scaled_timeouts_and_pauses() {
    let t = named("time-defaults.txt");
    assert_eq!(
        adapter_config(&t.transcript).timeouts.greeting,
        SECOND * 300
    );
    let pauses: Vec<Duration> = t
        .plan
        .turns
        .iter()
        .filter_map(|turn| match turn {
            Turn::Pause(d) => Some(*d),
            _ => None,
        })
        .collect();
    assert_eq!(
        pauses,
        [
            SECOND * 299 / 2,
            SECOND * 100,
            SECOND * 119 / 2,
            Duration::from_secs(1)
        ]
    );
    let fires = named("time-ehlo-timeout.txt");
    assert!(!fires.plan.turns.iter().any(|t| matches!(t, Turn::Pause(_))));
    // Without T: lines, the transcript's own timeouts.
    let untimed = named("misc-noop.txt");
    assert_eq!(
        adapter_config(&untimed.transcript).timeouts.greeting,
        Duration::from_secs(300)
    );
}

/// A group of server lines is cut only where an operation ends: here the reply to the
/// last message, then the reply to the NOOP pipelined behind it.
#[test]
fn server_lines_are_cut_only_where_an_operation_ends() {
    let s = named("tls-nothing-pipelined-after-starttls.txt");
    let turns = &s.plan.turns;
    let cut = [
        expect("Hi\r\n.\r\n"),
        say("250 ok\r\n"),
        expect("NOOP\r\n"),
        say("250 ok\r\n"),
    ];
    assert!(turns.windows(4).any(|w| w == cut), "{turns:?}");
    // MAIL, RCPT and DATA's replies stay one write.
    assert!(
        turns.contains(&say("250 ok\r\n250 ok\r\n354 go\r\n")),
        "{turns:?}"
    );
}

#[test]
fn what_an_adapter_cannot_ask_for_is_skipped_with_its_reason() {
    let vrfy = Transcript::parse(
        "v.txt",
        "S: 220 x\\r\\nC: EHLO client.example\\r\\n\nvrfy: postmaster\n",
    );
    match plan(&vrfy) {
        Err(NoPlan::Skip(why)) => assert!(why.contains("VRFY"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// A plan the session cannot follow is a failure, not a skip.
#[test]
fn a_transcript_the_session_does_not_follow_is_broken() {
    let t = Transcript::parse(
        "wrong.txt",
        "config: tls=disabled\nS: 220 x\\r\\n\nC: HELO wrong\\r\\n\nS: 250 x\\r\\n\n",
    );
    match plan(&t) {
        Err(NoPlan::Broken(why)) => assert!(why.contains("other bytes than the"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// Plays the client of `misc-quit-after-queued-work.txt` over a socket, with RSET and
/// QUIT in one write when `ahead`.
fn quit_behind_rset(ahead: bool) -> Result<(), String> {
    let s = named("misc-quit-after-queued-work.txt");
    let server = ScriptedServer::play(s.name(), &s.plan);
    let mut c = TcpStream::connect(server.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let read = |c: &mut TcpStream, want: &str| {
        let mut got = vec![0; want.len()];
        c.read_exact(&mut got).map(|()| got == want.as_bytes())
    };
    read(&mut c, "220 mx.example.org\r\n").unwrap();
    c.write_all(b"EHLO client.example\r\n").unwrap();
    read(&mut c, "250-mx.example.org\r\n250 PIPELINING\r\n").unwrap();
    c.write_all(b"NOOP\r\n").unwrap();
    read(&mut c, "250 ok\r\n").unwrap();
    if ahead {
        c.write_all(b"RSET\r\nQUIT\r\n").unwrap();
    } else {
        c.write_all(b"RSET\r\n").unwrap();
        assert!(read(&mut c, "250 ok\r\n").unwrap());
        c.write_all(b"QUIT\r\n").unwrap();
        assert!(read(&mut c, "221 bye\r\n").unwrap());
    }
    drop(c);
    server.finish()
}

#[test]
fn the_server_passes_a_client_that_waits_for_each_reply() {
    quit_behind_rset(false).unwrap();
}

/// The server answers only what it has received: bytes sent before the reply that
/// allows them fail the replay.
#[test]
fn the_server_fails_a_client_that_writes_ahead_of_a_reply() {
    let err = quit_behind_rset(true).unwrap_err();
    assert!(err.contains("before the server's reply"), "{err}");
    assert!(err.contains("QUIT"), "{err}");
}

fn timeout(stage: Stage) -> Option<EndError> {
    Some(EndError::Smtp(Error::Timeout { stage }))
}

/// A transaction without a report passes only if the transcript says it was never
/// delivered (`txn-failed ... session-closed`): then its recipient lines are held to the
/// adapter's promise for an `Err`, not skipped.
#[test]
fn a_missing_report_fails_unless_the_transcript_never_delivered() {
    let died = named("time-data-timeout.txt");
    let outcome = Outcome {
        connected: true,
        error: timeout(Stage::Data),
        ..Outcome::default()
    };
    check(&died, &outcome).unwrap();

    let delivered = named("txn-per-recipient-events.txt");
    let outcome = Outcome {
        connected: true,
        error: timeout(Stage::Data),
        ..Outcome::default()
    };
    let err = check(&delivered, &outcome).unwrap_err();
    assert!(err.contains("no report for txn 0"), "{err}");
    assert!(err.contains("rcpt-accepted"), "{err}");
}

#[test]
fn command_replies_and_errors_are_compared() {
    let s = named("misc-noop.txt");
    let mut outcome = Outcome {
        connected: true,
        replies: vec![reply(250, "2.0.0 ok"), reply(502, "not implemented")],
        ..Outcome::default()
    };
    check(&s, &outcome).unwrap();
    outcome.replies[1] = reply(250, "ok");
    let err = check(&s, &outcome).unwrap_err();
    assert!(err.contains("reply NOOP 502"), "{err}");
    // The transcript leaves the session open: an error is a failure.
    outcome.replies[1] = reply(502, "not implemented");
    outcome.error = timeout(Stage::Quit);
    let err = check(&s, &outcome).unwrap_err();
    assert!(err.contains("leaves the session open"), "{err}");
}

#[test]
#[should_panic(expected = "only 149 transcripts replayed (floor 150)")]
fn fewer_transcripts_than_the_floor_fail() {
    Summary {
        ran: 149,
        ..Summary::default()
    }
    .assert(150);
}

#[test]
#[should_panic(expected = "no transcript matches TRANSCRIPT=nothing")]
fn a_filter_that_matches_nothing_fails() {
    Summary {
        filter: Some("nothing".into()),
        ..Summary::default()
    }
    .assert(150);
}

/// Reports are read both ways: a recipient the transcript never answers must be
/// reported not attempted.
#[test]
fn a_recipient_the_transcript_never_answers_must_be_not_attempted() {
    let s = named("txn-mail-rejected.txt");
    let mut client = Client::new(s.transcript.config(), Instant::ZERO);
    let txn = client.send(Instant::ZERO, s.messages[0].0.clone()).unwrap();
    let mut report = Report::new(txn, 1, false);
    report.outcome = Some(MessageOutcome::Failed(TxnFailure::Rejected {
        stage: Stage::Mail,
        reply: reply(550, "5.7.1 sender refused"),
    }));
    let mut outcome = Outcome {
        connected: true,
        reports: vec![report],
        ..Outcome::default()
    };
    check(&s, &outcome).unwrap();
    outcome.reports[0].recipients[0] = RecipientStatus::Accepted(reply(250, "ok"));
    let err = check(&s, &outcome).unwrap_err();
    assert!(err.contains("txn 0 recipient 0"), "{err}");
    assert!(err.contains("never answers it"), "{err}");
}

/// Plays the client of `tls-disabled.txt` up to the EHLO reply (all of it when
/// `finish`), then closes without QUIT.
fn close_after_ehlo(finish: bool) -> Result<(), String> {
    let s = named("tls-disabled.txt");
    let server = ScriptedServer::play(s.name(), &s.plan);
    let mut c = TcpStream::connect(server.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut greeting = [0; 26];
    c.read_exact(&mut greeting).unwrap();
    if finish {
        c.write_all(b"EHLO client.example\r\n").unwrap();
        let mut reply = [0; 34];
        c.read_exact(&mut reply).unwrap();
        assert_eq!(&reply[..], b"250-mx.example.org\r\n250 STARTTLS\r\n");
    } else {
        c.write_all(b"EHLO client").unwrap();
    }
    drop(c);
    server.finish()
}

#[test]
fn the_server_takes_a_close_for_the_tests_own_quit() {
    close_after_ehlo(true).unwrap();
}

#[test]
fn a_close_before_the_transcript_ends_fails() {
    let err = close_after_ehlo(false).unwrap_err();
    assert!(err.contains("client closed the connection"), "{err}");
}
