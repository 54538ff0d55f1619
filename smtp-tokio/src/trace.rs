//! Debug logs of the conversation (feature `tracing`), with AUTH payloads redacted and
//! control bytes escaped, so that a log line can neither leak a secret nor forge a line.

use smtp_proto::reply::Escaped;
use smtp_proto::Event;

/// Whether an AUTH exchange is under way: every line written until its final reply is a
/// secret (the initial response, the answers to challenges).
#[derive(Default)]
pub(crate) struct Trace {
    redact: bool,
}

impl Trace {
    /// Commands the core wrote (never message content; see [`Trace::body`]).
    pub(crate) fn commands(&mut self, bytes: &[u8]) {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            if line.len() > 5 && line[..5].eq_ignore_ascii_case(b"AUTH ") {
                self.redact = true;
                let mut words = line[5..].trim_ascii().splitn(2, |&b| b == b' ');
                let mechanism = Escaped(words.next().unwrap_or_default());
                let hidden = if words.next().is_some() {
                    " <redacted>"
                } else {
                    ""
                };
                tracing::debug!("C: AUTH {mechanism}{hidden}");
            } else if self.redact {
                tracing::debug!("C: <redacted>");
            } else {
                tracing::debug!("C: {}", Escaped(line));
            }
        }
    }

    /// Message content: only its size is logged.
    pub(crate) fn body(&self, octets: usize) {
        tracing::debug!("C: <{octets} octets of content>");
    }

    /// Bytes read from the server, as they came.
    pub(crate) fn read(&self, bytes: &[u8]) {
        tracing::debug!("S: {}", Escaped(bytes));
    }

    /// AUTH's final reply is in when it succeeded ...
    pub(crate) fn event(&mut self, event: &Event) {
        if matches!(event, Event::Authenticated(_)) {
            self.redact = false;
        }
    }

    /// ... or when the session ends (a failed AUTH ends it).
    pub(crate) fn closed(&mut self) {
        self.redact = false;
    }
}
