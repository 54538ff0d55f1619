// Included by every adapter's src/pool.rs tests (blocking, Tokio, smol), where the
// pool's map of connections is in reach (`pool.shared.lock().conns`): `block_on` runs
// a test and `aw!` awaits only for the async pools. A connection that died (its open
// failed, its session ended) leaves the pool's map, so that a long-lived pool facing
// a failing server does not keep a channel per connection it ever tried.

use std::time::Duration;

use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::pool::PoolConfig;
use smtp_proto::Envelope;

fn envelope() -> Envelope {
    Envelope::new(
        ReversePath::new("app@example.org").unwrap(),
        [ForwardPath::new("user@example.net").unwrap()],
    )
}

fn to(port: u16) -> crate::Builder {
    crate::Builder::new("127.0.0.1")
        .port(port)
        .starttls(crate::TlsPolicy::Disabled)
}

/// Polls `pool`'s status until `done` (at most 5 s).
macro_rules! settle {
    ($pool:expr, $done:expr) => {
        for _ in 0..500 {
            if $done(&$pool.status()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
}

/// The size of the pool's map of connections.
fn lines(pool: &Pool) -> usize {
    pool.shared.lock().conns.len()
}

/// No connection open nor opening.
fn gone(s: &smtp_proto::pool::Status) -> bool {
    s.open + s.opening == 0
}

#[test]
fn connections_that_failed_to_open_leave_the_pools_map() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = PoolConfig::default();
    config.max_attempts = 3;
    config.backoff_base = Duration::from_millis(1);
    config.backoff_max = Duration::from_millis(5);
    block_on(async {
        let pool = Pool::new(to(port), config);
        let sent = aw!(pool.send(envelope(), b"x\r\n".as_slice()));
        assert!(sent.is_err(), "{sent:?}");
        settle!(pool, gone);
        assert_eq!(lines(&pool), 0, "{:?}", pool.status());
        aw!(pool.close());
    });
}

#[test]
fn connections_whose_session_ended_leave_the_pools_map() {
    let sink = smtp_sink::Sink::builder()
        .close_after_messages(1)
        .start()
        .unwrap();
    block_on(async {
        let pool = Pool::new(to(sink.port()), PoolConfig::default());
        for _ in 0..3 {
            let sent = aw!(pool.send(envelope(), b"x\r\n".as_slice()));
            // A message may go out on a connection the server closed a moment before,
            // and end unknown: what matters here is that each ends.
            sent.unwrap();
        }
        // The server closed each connection after its message; the pool noticed (a
        // spare one it opened meanwhile may be open).
        let alive = |s: &smtp_proto::pool::Status| lines(&pool) == s.open + s.opening;
        settle!(pool, alive);
        assert!(
            alive(&pool.status()),
            "{} {:?}",
            lines(&pool),
            pool.status()
        );
        // At least the first died, the last message going out on another.
        assert!(sink.connections().len() >= 2);
        aw!(pool.close());
    });
}

/// How many times a connection ended its stream on the pool's trim.
fn trims(pool: &Pool) -> usize {
    pool.shared.lock().trimmed
}

/// Polls `trims` until it is `n` (at most 5 s).
fn trimmed(pool: &Pool, n: usize) -> usize {
    for _ in 0..500 {
        if trims(pool) >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    trims(pool)
}

#[test]
fn an_idle_connection_gives_its_buffers_back_after_trim_after_and_stays_open() {
    let sink = smtp_sink::Sink::builder().start().unwrap();
    let mut config = PoolConfig::default();
    config.trim_after = Duration::from_millis(50);
    block_on(async {
        let pool = Pool::new(to(sink.port()), config);
        let sent = aw!(pool.send(envelope(), b"x\r\n".as_slice()));
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(
            trimmed(&pool, 1),
            1,
            "trimmed once idle: {:?}",
            pool.status()
        );
        // Once per idle period: not again while it idles.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(trims(&pool), 1);
        // Still open, it takes the next message, and is trimmed again after it.
        let sent = aw!(pool.send(envelope(), b"x\r\n".as_slice()));
        assert!(sent.is_ok(), "{sent:?}");
        assert_eq!(pool.status().open, 1, "{:?}", pool.status());
        assert_eq!(trimmed(&pool, 2), 2, "{:?}", pool.status());
        aw!(pool.close());
    });
    assert_eq!(sink.connections().len(), 1, "one connection throughout");
}

/// Before its trim a connection's stream stays open while idle, and it still reads the
/// server: a close while idle is noticed (the connection leaves the pool), and the next
/// message opens another.
#[test]
fn a_server_closing_an_idle_connection_before_its_trim_is_noticed() {
    let sink = smtp_sink::Sink::builder()
        .idle_timeout(Duration::from_millis(300))
        .start()
        .unwrap();
    let mut config = PoolConfig::default();
    config.trim_after = Duration::from_secs(60);
    block_on(async {
        let pool = Pool::new(to(sink.port()), config);
        let sent = aw!(pool.send(envelope(), b"x\r\n".as_slice()));
        assert!(sent.is_ok(), "{sent:?}");
        settle!(pool, gone);
        assert!(gone(&pool.status()), "{:?}", pool.status());
        assert_eq!(trims(&pool), 0, "not trimmed: its stream was open");
        let sent = aw!(pool.send(envelope(), b"x\r\n".as_slice()));
        assert_eq!(
            sent.map(|r| r.attempts).ok(),
            Some(1),
            "on a new connection"
        );
        aw!(pool.close());
    });
    assert_eq!(sink.connections().len(), 2);
}
