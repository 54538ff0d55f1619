//! Debug logging of commands and replies (feature `tracing`), with AUTH redacted.
//!
//! The core does not say which written bytes are SASL payloads, so this code assumes:
//! everything written from an `AUTH` command until the `Authenticated` event (or the end
//! of the session, which is what a failed AUTH causes) is secret, and so is the AUTH
//! line's initial response. Content is logged as a length only. Without the feature
//! every method is empty.

use smtp_proto::Event;

#[derive(Default)]
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    in_auth: bool,
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
                let words: Vec<&[u8]> = line.trim_ascii_end().splitn(3, |&b| b == b' ').collect();
                let redacted = if words.len() > 2 { " [redacted]" } else { "" };
                tracing::debug!(target: "smtp", "C: AUTH {}{redacted}", Escaped(words[1]));
            } else if self.in_auth {
                tracing::debug!(target: "smtp", "C: [redacted AUTH response]");
            } else {
                tracing::debug!(target: "smtp", "C: {}", Escaped(line));
            }
        }
    }

    pub(crate) fn content(&self, n: usize) {
        if n > 0 {
            tracing::debug!(target: "smtp", "C: [{n} octets of content]");
        }
    }

    pub(crate) fn received(&self, bytes: &[u8]) {
        tracing::debug!(target: "smtp", "S: {}", smtp_proto::reply::Escaped(bytes));
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
    pub(crate) fn content(&self, _: usize) {}
    #[inline]
    pub(crate) fn received(&self, _: &[u8]) {}
    #[inline]
    pub(crate) fn event(&mut self, _: &Event) {}
}
