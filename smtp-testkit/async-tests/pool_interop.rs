// Included by the async adapters' tests/pool_interop.rs: `adapter` is the adapter
// crate, `spawn_all` runs the futures as tasks on several threads and collects their
// outputs in order, `TAG` names the runtime.

use std::time::Duration;

use adapter::{Builder, ForwardPath, Pool, PoolConfig, ReversePath, Timeouts, TlsPolicy};
use smtp_testkit::interop::{unique, Listener, TestServers};

/// 1,000 tasks through a pool of 4 STARTTLS connections to Postfix: every report says
/// accepted, and Postfix stored exactly those messages, each once, with the Message-ID
/// sent.
#[test]
fn a_thousand_tasks_through_a_pool_of_four_to_postfix_are_each_stored_once() {
    let s = TestServers::get();
    let builder = Builder::new(s.host())
        .port(s.port(Listener::Postfix))
        .tls_config(s.tls_config())
        .starttls(TlsPolicy::Required)
        .timeouts(Timeouts::all(Duration::from_secs(30)));
    let config = PoolConfig {
        max_connections: 4,
        ..PoolConfig::default()
    };
    let rcpts: Vec<String> = (0..1000)
        .map(|i| format!("{}@example.com", unique(&format!("{TAG}-pool-{i}"))))
        .collect();
    let messages: Vec<(String, Vec<u8>)> = rcpts
        .iter()
        .enumerate()
        .map(|(i, rcpt)| {
            let id = format!("<{}@pool.{TAG}.test>", unique(&i.to_string()));
            let body = format!(
                "From: sender@example.org\r\nTo: {rcpt}\r\nMessage-ID: {id}\r\nSubject: {i}\r\n\r\nbody\r\n"
            );
            (id, body.into_bytes())
        })
        .collect();
    let results = spawn_all(
        builder,
        config,
        |pool: Pool, _i: usize, rcpt: String, body: Vec<u8>| async move {
            pool.send_message(
                ReversePath::new("sender@example.org").unwrap(),
                [ForwardPath::new(&rcpt).unwrap()],
                &body,
            )
            .await
        },
        rcpts.clone(),
        messages.iter().map(|(_, b)| b.clone()).collect(),
    );
    for (i, r) in results.iter().enumerate() {
        let p = r.as_ref().unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert!(p.report.all_delivered(), "message {i}: {p:?}");
    }
    let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    // Panics if one is missing or stored twice.
    let stored = s.postfix_messages(&refs);
    for (file, (id, _)) in stored.iter().zip(&messages) {
        let text = String::from_utf8_lossy(file);
        assert!(
            text.contains(&format!("Message-ID: {id}")),
            "{id} not in {text}"
        );
    }
}
