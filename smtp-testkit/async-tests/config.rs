// Shared by the configuration tests of smtp-tokio and smtp-smol, whose APIs are the
// same: each includes this file after `use <adapter crate> as adapter;` and `mod common;`
// (with `block_on`). Included, so no inner attributes or doc comments here.

use adapter::{Builder, Error, TlsPolicy, UsageError};

/// A port on 127.0.0.1 where nothing listens: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A window of 0 would leave a pipelining session with nothing to write and nothing to
/// wait for (smtp_proto::Config::validate). `connect` refuses it before it connects:
/// the error is the configuration's, not the refused TCP connection's.
#[test]
fn a_config_that_would_hang_is_refused_before_connecting() {
    let mut builder = Builder::new("127.0.0.1")
        .port(closed_port())
        .starttls(TlsPolicy::Disabled);
    builder.config_mut().window = 0;
    let refused = common::block_on(builder.connect());
    assert!(
        matches!(refused, Err(Error::Usage(UsageError::InvalidConfig(_)))),
        "{:?}",
        refused.err()
    );
}
