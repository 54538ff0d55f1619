//! `--transcript`: the adapters' trace events (feature `tracing`: one `C:`/`S:` line per
//! event, AUTH payloads already redacted and control bytes escaped by the adapter)
//! printed on standard error. Message data is a line count (debug level) unless
//! `--transcript-body` also takes its lines (trace level).

use std::fmt::{Debug, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Prints the adapters' conversation events; everything else is off.
struct Printer {
    body: bool,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

/// The adapters log the conversation through smtp-io, whichever runtime runs.
fn from_adapter(target: &str) -> bool {
    target == "smtp_io" || target.starts_with("smtp_io::")
}

impl Subscriber for Printer {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        // Hints too, not only events: the adapter asks `enabled!` before the content lines.
        let max = if self.body {
            Level::TRACE
        } else {
            Level::DEBUG
        };
        *meta.level() <= max && from_adapter(meta.target())
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut m = Message(String::new());
        event.record(&mut m);
        // The adapter escaped every byte that came from the wire; a line is one line.
        let _ = writeln!(std::io::stderr().lock(), "{}", m.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(if self.body {
            tracing::level_filters::LevelFilter::TRACE
        } else {
            tracing::level_filters::LevelFilter::DEBUG
        })
    }
}

/// Installs the printer for the whole process.
pub(crate) fn install(body: bool) {
    let _ = tracing::subscriber::set_global_default(Printer { body });
}
