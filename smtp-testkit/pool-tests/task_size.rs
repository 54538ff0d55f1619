// Included by the async adapters' src/pool.rs tests (Tokio, smol), where the
// connection task's future is in reach.

/// An idle pooled connection waits in its task: that future holds the connection and
/// a small wait, the stream's far larger future being boxed only while busy (before,
/// the task held every future it awaited inline: 5,376 bytes with a 1,312-byte
/// `Connection`).
#[test]
fn a_connection_tasks_future_holds_little_more_than_its_connection() {
    use smtp_proto::pool::{Action, Pool as Core, PoolConfig};
    use smtp_proto::Instant;

    let mut core = Core::new(PoolConfig::default());
    core.submit(Instant::ZERO).unwrap();
    let Some(Action::Open(id)) = core.poll_action(Instant::ZERO) else {
        panic!("the core opens a connection for the message");
    };
    let open = Box::pin(crate::Builder::new("127.0.0.1").connect());
    let task = super::connection(std::sync::Weak::new(), id, open, inbox::channel().1);
    let task = std::mem::size_of_val(&task);
    let conn = std::mem::size_of::<crate::Connection>();
    assert!(
        task <= conn + 512,
        "{task} bytes for a {conn}-byte connection"
    );
}
