//! An idle session is small: after the greeting and an 11-line EHLO reply, the client
//! holds at most 1 KiB of heap (lettre holds about 8 KiB, most of it a `BufReader`).

use smtp_proto::command::EhloName;
use smtp_proto::{Client, Config, Instant, Output, TlsMode};

const POSTFIX_EHLO: &[u8] = b"250-postfix.harness.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
250-VRFY\r\n250-ETRN\r\n250-AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5\r\n250-ENHANCEDSTATUSCODES\r\n\
250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

fn idle_client() -> Client {
    let mut config = Config::new(EhloName::new("client.harness.test").unwrap());
    config.tls = TlsMode::Implicit;
    let now = Instant::ZERO;
    let mut c = Client::new(config, now);
    let mut out = Vec::new();
    c.handle_input(now, b"220 postfix.harness.test ESMTP Postfix (harness)\r\n");
    while !matches!(c.poll_output(&mut out), Output::Wait { .. }) {}
    c.handle_input(now, POSTFIX_EHLO);
    while !matches!(c.poll_output(&mut out), Output::Wait { .. }) {}
    assert!(c.is_idle(), "the session is set up and idle");
    c
}

#[test]
fn idle_session_heap_is_at_most_one_kib() {
    let mut kept = None;
    let info = allocation_counter::measure(|| kept = Some(idle_client()));
    let client = kept.unwrap();
    println!(
        "size_of::<Client>() = {} bytes; heap held after EHLO = {} bytes in {} allocations (peak {} bytes)",
        std::mem::size_of::<Client>(),
        info.bytes_current,
        info.count_current,
        info.bytes_max
    );
    assert!(client.capabilities().chunking(), "the EHLO reply was read");
    assert!(
        info.bytes_current <= 1024,
        "idle session holds {} bytes of heap",
        info.bytes_current
    );
}
