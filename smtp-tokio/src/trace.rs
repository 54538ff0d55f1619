//! Debug logs of the conversation (feature `tracing`), with AUTH payloads redacted and
//! control bytes escaped, so that a log line can neither leak a secret nor forge a line.
//!
//! One event per line: `C: ` for what the client wrote, `S: ` for what the server sent
//! (the line end dropped when it is CRLF, anything else escaped). Message content is a
//! debug summary (line and octet counts); its lines themselves are trace-level events, so
//! a subscriber shows them only when asked to.

use smtp_proto::reply::Escaped;
use smtp_proto::Event;

/// A server line longer than this is logged in pieces: the buffer stays bounded whatever
/// the server sends (replies lines are at most 512 octets, RFC 5321 §4.5.3.1.5).
const MAX_PARTIAL: usize = 4096;

/// Whether an AUTH exchange is under way: every line written until its final reply is a
/// secret (the initial response, the answers to challenges).
#[derive(Default)]
pub(crate) struct Trace {
    redact: bool,
    /// The start of a server line whose end has not arrived yet.
    partial: Vec<u8>,
    /// The last command was DATA: content follows as is. Otherwise content comes in
    /// BDAT chunks, each written with its command first (RFC 3030 §2).
    in_data: bool,
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").unwrap_or(line)
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
                self.in_data = line.eq_ignore_ascii_case(b"DATA\r\n");
                tracing::debug!("C: {}", Escaped(trim_crlf(line)));
            }
        }
    }

    /// Message content as written (dot-stuffed, or after its BDAT command): a summary at
    /// debug level, the lines at trace level.
    pub(crate) fn body(&self, mut bytes: &[u8]) {
        if !self.in_data && bytes.len() > 5 && bytes[..5].eq_ignore_ascii_case(b"BDAT ") {
            let end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| i + 1);
            tracing::debug!("C: {}", Escaped(trim_crlf(&bytes[..end])));
            bytes = &bytes[end..];
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                tracing::trace!("C: {}", Escaped(trim_crlf(line)));
            }
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        tracing::debug!("C: <message data: {lines} lines, {} octets>", bytes.len());
    }

    /// Bytes read from the server, one event per complete line.
    pub(crate) fn read(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") || self.partial.len() >= MAX_PARTIAL {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if !self.partial.is_empty() {
            tracing::debug!("S: {}", Escaped(trim_crlf(&self.partial)));
            self.partial.clear();
        }
    }

    /// AUTH's final reply is in when it succeeded ...
    pub(crate) fn event(&mut self, event: &Event) {
        if matches!(event, Event::Authenticated(_)) {
            self.redact = false;
        }
    }

    /// ... or when the session ends (a failed AUTH ends it).
    pub(crate) fn closed(&mut self) {
        self.flush();
        self.redact = false;
    }
}
