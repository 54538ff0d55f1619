//! Debug logs of the conversation (feature `tracing`), as [`smtp_proto::transcript`]
//! yields them: AUTH payloads redacted and control bytes escaped, so that a log line can
//! neither leak a secret nor forge a line.
//!
//! One event per line, target `smtp_io::trace` whichever adapter runs the session: `C: `
//! for what the client wrote, `S: ` for what the server sent. Message content is a debug
//! summary (line and octet counts); its lines themselves are trace-level events, so a
//! subscriber shows them only when asked to.

use smtp_proto::session::Log;
use smtp_proto::transcript::Line;

/// What a session logs through; [`new_session`](crate::new_session) sets it.
pub const LOG: Log = Log::new(line, debug, debug, trace);

fn line(line: Line<'_>) {
    if line.is_content() {
        tracing::trace!("{line}");
    } else {
        tracing::debug!("{line}");
    }
}

/// Commands, replies and the content summary are debug-level events: without a
/// subscriber that takes them, the session skips the transcript. Asked at every write,
/// read and chunk, so a subscriber switched on mid-session (a reloaded filter) gets the
/// rest of the conversation.
fn debug() -> bool {
    tracing::enabled!(tracing::Level::DEBUG)
}

/// Lines of message content are trace-level events.
fn trace() -> bool {
    tracing::enabled!(tracing::Level::TRACE)
}
