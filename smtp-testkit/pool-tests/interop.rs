// Included by every adapter's tests/pool_interop.rs (blocking, Tokio, smol): `adapter`
// is the adapter crate, `TAG` names it. A pool of 4 STARTTLS connections to Postfix of
// `scripts/test-servers start`, and the judgement of what Postfix stored.

use std::time::Duration;

use adapter::{Builder, PoolConfig, PoolReport, Timeouts, TlsPolicy};
use smtp_testkit::interop::{unique, Listener, TestServers};

/// `n` messages for Postfix through a pool of 4, each to a recipient of its own (so
/// that Postfix's copy can be found) with a Message-ID of its own.
struct PostfixRun {
    servers: TestServers,
    builder: Builder,
    config: PoolConfig,
    rcpts: Vec<String>,
    ids: Vec<String>,
    bodies: Vec<Vec<u8>>,
}

impl PostfixRun {
    fn new(n: usize) -> Self {
        let servers = TestServers::get();
        let builder = Builder::new(servers.host())
            .port(servers.port(Listener::Postfix))
            .tls_config(servers.tls_config())
            .starttls(TlsPolicy::Required)
            .timeouts(Timeouts::all(Duration::from_secs(30)));
        let mut config = PoolConfig::default();
        config.max_connections = 4;
        let rcpts: Vec<String> = (0..n)
            .map(|i| format!("{}@example.com", unique(&format!("{TAG}-pool-{i}"))))
            .collect();
        let ids: Vec<String> = (0..n)
            .map(|i| format!("<{}@pool.{TAG}.test>", unique(&i.to_string())))
            .collect();
        let bodies = rcpts
            .iter()
            .zip(&ids)
            .enumerate()
            .map(|(i, (rcpt, id))| {
                format!(
                    "From: sender@example.org\r\nTo: {rcpt}\r\nMessage-ID: {id}\r\nSubject: {i}\r\n\r\nbody\r\n"
                )
                .into_bytes()
            })
            .collect();
        PostfixRun {
            servers,
            builder,
            config,
            rcpts,
            ids,
            bodies,
        }
    }

    /// Every report says accepted, and Postfix stored exactly those messages, each once,
    /// with the Message-ID sent.
    fn check(&self, results: &[Result<PoolReport, adapter::Error>]) {
        assert_eq!(results.len(), self.rcpts.len());
        for (i, r) in results.iter().enumerate() {
            let p = r.as_ref().unwrap_or_else(|e| panic!("message {i}: {e}"));
            assert!(p.report.all_delivered(), "message {i}: {p:?}");
        }
        let refs: Vec<&str> = self.rcpts.iter().map(String::as_str).collect();
        // Panics if one is missing or stored twice.
        let stored = self.servers.postfix_messages(&refs);
        for (file, id) in stored.iter().zip(&self.ids) {
            let text = String::from_utf8_lossy(file);
            assert!(
                text.contains(&format!("Message-ID: {id}")),
                "{id} not in {text}"
            );
        }
    }
}
