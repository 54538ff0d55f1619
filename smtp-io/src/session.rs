//! The session every adapter drives.

use smtp_proto::session::Session;
use smtp_proto::{Config, Instant};

use crate::Error;

/// A session on a connection just opened, its first operation (connect) under way,
/// logging the conversation through `smtp_io::trace` with the `tracing` feature.
/// Its clock starts at [`Instant::ZERO`]: an adapter counts time from here.
pub fn new_session(config: Config) -> Session<Error> {
    #[allow(unused_mut)]
    let mut session = Session::new(config, Instant::ZERO);
    #[cfg(feature = "tracing")]
    session.set_log(crate::trace::LOG);
    session
}
