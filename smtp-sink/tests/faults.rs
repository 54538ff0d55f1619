//! Each fault on cue, with the reply codes and what becomes of the connection; and the
//! sink's own life: loopback only, many connections, discarding, clean shutdown.

mod common;

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::{Closed, Raw};
use smtp_blocking::{Builder, ForwardPath, MessageOutcome, ReversePath, TlsPolicy};
use smtp_sink::{Cue, End, Sink};

const WAIT: Duration = Duration::from_secs(10);

/// MAIL, RCPT, DATA and a one-line body; the code after the end of data.
fn one_message(c: &mut Raw) -> u16 {
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n");
    assert_eq!([c.code(), c.code(), c.code()], [250, 250, 354]);
    c.send("Subject: t\r\n\r\nbody\r\n.\r\n");
    c.code()
}

fn end_of(sink: &Sink, connection: usize) -> Option<End> {
    assert!(sink.wait_for_idle(WAIT));
    sink.connections()[connection].end.clone()
}

#[test]
fn greeting_421_on_every_second_connection_then_closed() {
    let sink = Sink::builder().greeting_421_every(2).start().unwrap();
    let mut first = Raw::connect(&sink);
    assert_eq!(first.code(), 220);
    let mut second = Raw::connect(&sink);
    assert_eq!(second.code(), 421);
    assert_eq!(second.closed(), Closed::Eof);
    let mut third = Raw::connect(&sink);
    assert_eq!(third.code(), 220);
    drop((first, third));
    assert_eq!(end_of(&sink, 1), Some(End::Fault("421 greeting")));
}

#[test]
fn every_third_mail_gets_421_across_connections_and_closes() {
    let sink = Sink::builder().mail_421_every(3).start().unwrap();
    let mut a = Raw::connect(&sink);
    a.hello();
    assert_eq!(a.cmd("MAIL FROM:<s@x.test>"), 250);
    assert_eq!(a.cmd("RSET"), 250);
    let mut b = Raw::connect(&sink);
    b.hello();
    assert_eq!(b.cmd("MAIL FROM:<s@x.test>"), 250);
    assert_eq!(
        a.cmd("MAIL FROM:<s@x.test>"),
        421,
        "the third MAIL of the sink"
    );
    assert_eq!(a.closed(), Closed::Eof);
    assert_eq!(b.cmd("RSET"), 250, "the other connection lives on");
    assert_eq!(end_of_open(&sink, 0), Some(End::Fault("421 to MAIL")));
}

/// The end of connection `i`, waiting for it (other connections may stay open).
fn end_of_open(sink: &Sink, i: usize) -> Option<End> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(e) = sink.connections()[i].end.clone() {
            return Some(e);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn close_after_two_messages_comes_after_the_second_250() {
    let sink = Sink::builder().close_after_messages(2).start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(one_message(&mut c), 250);
    assert!(c.silent_for(Duration::from_millis(100)), "open after one");
    assert_eq!(one_message(&mut c), 250);
    assert_eq!(c.closed(), Closed::Eof);
    assert_eq!(sink.counts().accepted, 2);
    assert_eq!(end_of(&sink, 0), Some(End::Fault("close after messages")));
}

#[test]
fn reset_right_after_the_end_of_data_before_any_reply() {
    let sink = Sink::builder().reset_after_data_every(2).start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(one_message(&mut c), 250);
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n");
    assert_eq!([c.code(), c.code(), c.code()], [250, 250, 354]);
    c.send("Subject: t\r\n\r\nsecond\r\n.\r\n");
    assert_eq!(c.closed(), Closed::Reset);
    let m = sink.messages();
    assert_eq!(m.len(), 2);
    assert!(m[1].replies.is_empty() && !m[1].accepted());
    assert_eq!(m[1].content, b"Subject: t\r\n\r\nsecond\r\n");
    assert_eq!(end_of(&sink, 0), Some(End::Fault("reset after data")));
}

#[test]
fn reset_after_data_leaves_the_client_not_knowing() {
    let sink = Sink::builder().reset_after_data_every(1).start().unwrap();
    let mut conn = Builder::new("127.0.0.1")
        .port(sink.port())
        .starttls(TlsPolicy::Disabled)
        .connect()
        .unwrap();
    let report = conn.send_message(
        ReversePath::new("s@x.test").unwrap(),
        [ForwardPath::new("r@x.test").unwrap()],
        b"Subject: t\r\n\r\nbody\r\n",
    );
    assert_eq!(report.unwrap().outcome, Some(MessageOutcome::Unknown));
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn idle_connection_gets_421_and_is_closed_an_active_one_is_not() {
    let t = Duration::from_millis(500);
    let sink = Sink::builder().idle_timeout(t).start().unwrap();
    let mut busy = Raw::connect(&sink);
    busy.hello();
    let start = Instant::now();
    let mut idle = Raw::connect(&sink);
    idle.hello();
    for _ in 0..10 {
        std::thread::sleep(t / 5);
        assert_eq!(busy.cmd("NOOP"), 250);
    }
    let (code, text) = idle.reply();
    assert!(start.elapsed() >= t);
    assert_eq!(
        (code, text[0].as_str()),
        (421, "4.4.2 Idle timeout exceeded, closing connection")
    );
    assert_eq!(idle.closed(), Closed::Eof);
    assert_eq!(busy.cmd("NOOP"), 250, "the active connection lives on");
    assert_eq!(end_of_open(&sink, 1), Some(End::IdleTimeout));
}

#[test]
fn stalled_reply_never_comes_but_the_earlier_ones_do() {
    let sink = Sink::builder().stall(Cue::Rcpt, 2).start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\n");
    assert_eq!([c.code(), c.code()], [250, 250]);
    assert!(
        c.silent_for(Duration::from_millis(300)),
        "the second RCPT's reply is withheld"
    );
    drop(c);
    assert_eq!(end_of(&sink, 0), Some(End::ClientClosed));
}

#[test]
fn stalled_end_of_data_is_recorded_without_a_reply() {
    let sink = Sink::builder().stall(Cue::EndOfData, 1).start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    c.send("MAIL FROM:<s@x.test>\r\nRCPT TO:<r@x.test>\r\nDATA\r\n");
    assert_eq!([c.code(), c.code(), c.code()], [250, 250, 354]);
    c.send("x\r\n.\r\n");
    assert!(c.silent_for(Duration::from_millis(200)));
    assert!(sink.wait_for_messages(1, WAIT));
    assert!(sink.messages()[0].replies.is_empty());
}

#[test]
fn replies_are_delayed_once_per_flight() {
    let d = Duration::from_millis(200);
    let sink = Sink::builder().reply_delay(d).start().unwrap();
    let mut c = Raw::connect(&sink);
    let start = Instant::now();
    c.hello();
    assert!(start.elapsed() >= 2 * d, "greeting and EHLO each delayed");
    let start = Instant::now();
    c.send("NOOP\r\nNOOP\r\nNOOP\r\n");
    assert_eq!([c.code(), c.code(), c.code()], [250, 250, 250]);
    let took = start.elapsed();
    assert!(
        took >= d && took < 2 * d + d / 2,
        "one delay for the flight: {took:?}"
    );
}

#[test]
fn listens_on_loopback_only() {
    let sink = Sink::start().unwrap();
    assert!(sink.addr().ip().is_loopback());
    assert_eq!(sink.addr().ip().to_string(), "127.0.0.1");
}

#[test]
fn stop_closes_open_connections_frees_the_port_and_keeps_the_records() {
    let mut sink = Sink::start().unwrap();
    let port = sink.port();
    let mut c = Raw::connect(&sink);
    c.hello();
    assert_eq!(one_message(&mut c), 250);
    c.send("MAIL FROM:<s@x.test>\r\n");
    assert_eq!(c.code(), 250);
    sink.stop();
    assert!(matches!(c.closed(), Closed::Eof | Closed::Reset));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens"
    );
    TcpListener::bind(("127.0.0.1", port)).expect("the port is free again");
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.connections()[0].end, Some(End::Shutdown));
    sink.stop(); // again: nothing happens
}

#[test]
fn many_connections_at_once_each_message_recorded_once() {
    let sink = Sink::start().unwrap();
    let n = 40;
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let port = sink.port();
            std::thread::spawn(move || {
                let mut conn = Builder::new("127.0.0.1")
                    .port(port)
                    .starttls(TlsPolicy::Disabled)
                    .connect()
                    .unwrap();
                let msg = format!("Message-ID: <{i}@many.test>\r\nSubject: {i}\r\n\r\nbody\r\n");
                let report = conn
                    .send_message(
                        ReversePath::new("s@x.test").unwrap(),
                        [ForwardPath::new(&format!("r{i}@x.test")).unwrap()],
                        msg.as_bytes(),
                    )
                    .unwrap();
                assert!(report.all_delivered());
                conn.quit().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut ids: Vec<String> = sink
        .messages()
        .iter()
        .map(|m| m.header("message-id").unwrap())
        .collect();
    ids.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("<{i}@many.test>")).collect();
    want.sort();
    assert_eq!(ids, want);
    assert_eq!(sink.counts().connections, n);
}

#[test]
fn discarding_mode_counts_and_keeps_nothing() {
    let sink = Sink::builder().discard().start().unwrap();
    let mut c = Raw::connect(&sink);
    c.hello();
    for _ in 0..3 {
        assert_eq!(one_message(&mut c), 250);
    }
    assert_eq!(c.cmd("QUIT"), 221);
    let counts = sink.counts();
    assert_eq!(
        (
            counts.connections,
            counts.messages,
            counts.accepted,
            counts.recipients
        ),
        (1, 3, 3, 3)
    );
    assert_eq!(
        counts.content_octets,
        3 * "Subject: t\r\n\r\nbody\r\n".len() as u64
    );
    assert!(sink.messages().is_empty() && sink.connections().is_empty());
}

#[test]
fn idle_timeout_also_bounds_a_tls_handshake_that_never_starts() {
    let t = Duration::from_millis(300);
    let sink = Sink::builder()
        .implicit_tls()
        .idle_timeout(t)
        .start()
        .unwrap();
    let mut c = Raw::connect(&sink);
    let start = Instant::now();
    assert_eq!(c.closed(), Closed::Eof);
    assert!(start.elapsed() >= t);
    assert_eq!(end_of(&sink, 0), Some(End::IdleTimeout));
}
