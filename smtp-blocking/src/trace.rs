//! Debug logging of commands and replies (feature `tracing`), with AUTH redacted, in the
//! same form as smtp-tokio and smtp-smol (one event per line, `C: `/`S: `).
//!
//! The core does not say which written bytes are SASL payloads, so this code assumes:
//! everything written from an `AUTH` command until the `Authenticated` event (or the end
//! of the session, which is what a failed AUTH causes) is secret, and so is the AUTH
//! line's initial response. Content is a line and octet count at debug level; its lines
//! are trace-level events. Without the feature every method is empty.

use smtp_proto::Event;

/// A server line longer than this is logged in pieces, so the buffer stays bounded.
#[cfg(feature = "tracing")]
const MAX_PARTIAL: usize = 4096;

#[derive(Default)]
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    in_auth: bool,
    /// The start of a server line whose end has not arrived yet.
    #[cfg(feature = "tracing")]
    partial: Vec<u8>,
    /// The last command was DATA: content follows as is. Otherwise content comes in
    /// BDAT chunks, each written with its command first (RFC 3030 §2).
    #[cfg(feature = "tracing")]
    in_data: bool,
}

#[cfg(feature = "tracing")]
fn trim_crlf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").unwrap_or(line)
}

#[cfg(feature = "tracing")]
impl Trace {
    pub(crate) fn sent(&mut self, bytes: &[u8]) {
        use smtp_proto::reply::Escaped;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let is_auth = line.len() > 5 && line[..5].eq_ignore_ascii_case(b"AUTH ");
            if is_auth {
                self.in_auth = true;
                // `AUTH MECH` is public; an initial response after it is not.
                let mut words = line[5..].trim_ascii().splitn(2, |&b| b == b' ');
                let mechanism = Escaped(words.next().unwrap_or_default());
                let hidden = if words.next().is_some() {
                    " <redacted>"
                } else {
                    ""
                };
                tracing::debug!("C: AUTH {mechanism}{hidden}");
            } else if self.in_auth {
                tracing::debug!("C: <redacted>");
            } else {
                self.in_data = line.eq_ignore_ascii_case(b"DATA\r\n");
                tracing::debug!("C: {}", Escaped(trim_crlf(line)));
            }
        }
    }

    /// Content as written (dot-stuffed, or after its BDAT command).
    pub(crate) fn content(&self, mut bytes: &[u8]) {
        use smtp_proto::reply::Escaped;
        if bytes.is_empty() {
            return;
        }
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
    pub(crate) fn received(&mut self, bytes: &[u8]) {
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") || self.partial.len() >= MAX_PARTIAL {
                let line = smtp_proto::reply::Escaped(trim_crlf(&self.partial));
                tracing::debug!("S: {line}");
                self.partial.clear();
            }
        }
    }

    pub(crate) fn event(&mut self, e: &Event) {
        if matches!(e, Event::Authenticated(_)) {
            self.in_auth = false;
        }
    }
}

#[cfg(not(feature = "tracing"))]
impl Trace {
    #[inline]
    pub(crate) fn sent(&mut self, _: &[u8]) {}
    #[inline]
    pub(crate) fn content(&self, _: &[u8]) {}
    #[inline]
    pub(crate) fn received(&mut self, _: &[u8]) {}
    #[inline]
    pub(crate) fn event(&mut self, _: &Event) {}
}
