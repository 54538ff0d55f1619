//! One spooled message as a file: a line of JSON (the envelope, how to reach the
//! server again, and the delivery state), a line end, then the message's bytes. The
//! file is read back with every field checked: a spool file is input like any other,
//! and a corrupt or hostile one is an [`EntryError`], never a panic.

use std::fmt;

use serde::{Deserialize, Serialize};
use smtp_proto::command::{ForwardPath, ReversePath};

pub(crate) use super::settings::Settings;

/// The format written; a file of another version is refused, not guessed at.
pub(crate) const VERSION: u32 = 1;

/// Longest header line read (the envelope of a message with thousands of recipients
/// fits many times over): a larger one is not a spool file of ours.
const MAX_HEADER: usize = 1 << 20;

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum State {
    /// Waiting for its next attempt.
    Queued,
    /// Handed to a session: from this mark on its end of data may have been sent. A
    /// file left in this state by a process that ended is [`State::Unknown`] in effect.
    InFlight,
    /// It may have been delivered (the connection failed after the end of data, or a
    /// flush ended while it was in flight): kept and listed, resent only when asked.
    Unknown,
}

/// The envelope: sender, the recipients still to deliver to, DSN parameters
/// (RFC 3461) as the options give them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    pub notify: Option<String>,
    pub ret: Option<String>,
    pub envid: Option<String>,
}

/// The header line of a spool file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub version: u32,
    /// When it was first spooled (Unix seconds): its lifetime counts from here.
    pub created: u64,
    /// Attempts so far, the first (before spooling) included.
    pub attempts: u32,
    /// Not tried again before this (Unix seconds).
    pub next_attempt: u64,
    pub state: State,
    /// What the last attempt met, for `--list-queue` and a bounce.
    pub last_error: Option<String>,
    pub envelope: Envelope,
    pub settings: Settings,
    /// The message's length: a shorter file was cut.
    pub size: u64,
}

/// A spooled message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub header: Header,
    pub message: Vec<u8>,
}

/// Why a spool file cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryError {
    /// No line end within [`MAX_HEADER`] octets.
    NoHeader,
    /// The header line is not our JSON.
    Header(String),
    /// Another format version.
    Version(u32),
    /// The message is not `size` octets long.
    Size { expected: u64, found: u64 },
    /// An address SMTP cannot carry.
    Address(String),
    /// No recipient left.
    NoRecipients,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::NoHeader => write!(f, "no header line within {MAX_HEADER} octets"),
            EntryError::Header(e) => write!(f, "bad header: {e}"),
            EntryError::Version(v) => write!(f, "format version {v}, expected {VERSION}"),
            EntryError::Size { expected, found } => {
                write!(f, "message of {found} octets, header says {expected}")
            }
            EntryError::Address(e) => write!(f, "bad address: {e}"),
            EntryError::NoRecipients => f.write_str("no recipient"),
        }
    }
}

impl Entry {
    /// The file's bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut header = self.header.clone();
        header.size = self.message.len() as u64;
        // Serialising plain data cannot fail; JSON escapes every control character, so
        // the line has no line end inside.
        let mut out = serde_json::to_vec(&header).unwrap_or_default();
        out.push(b'\n');
        out.extend_from_slice(&self.message);
        out
    }

    /// Reads a file's bytes, checking everything a flush relies on.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
        let end = bytes
            .iter()
            .take(MAX_HEADER)
            .position(|&b| b == b'\n')
            .ok_or(EntryError::NoHeader)?;
        let (line, rest) = bytes.split_at(end);
        let message = &rest[1..];
        // The version first, so that another format says so rather than "bad header".
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let v: Versioned =
            serde_json::from_slice(line).map_err(|e| EntryError::Header(e.to_string()))?;
        if v.version != VERSION {
            return Err(EntryError::Version(v.version));
        }
        let header: Header =
            serde_json::from_slice(line).map_err(|e| EntryError::Header(e.to_string()))?;
        if header.size != message.len() as u64 {
            return Err(EntryError::Size {
                expected: header.size,
                found: message.len() as u64,
            });
        }
        let env = &header.envelope;
        if env.to.is_empty() {
            return Err(EntryError::NoRecipients);
        }
        ReversePath::new(&env.from)
            .map_err(|e| EntryError::Address(format!("{:?}: {e}", env.from)))?;
        for to in &env.to {
            ForwardPath::new(to).map_err(|e| EntryError::Address(format!("{to:?}: {e}")))?;
        }
        Ok(Entry {
            header,
            message: message.to_vec(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::args::StartTls;

    pub(crate) fn sample() -> Entry {
        Entry {
            header: Header {
                version: VERSION,
                created: 1_700_000_000,
                attempts: 1,
                next_attempt: 1_700_000_060,
                state: State::Queued,
                last_error: Some("451 4.3.0 try later".into()),
                envelope: Envelope {
                    from: "a@example.org".into(),
                    to: vec!["b@example.net".into(), "c@example.net".into()],
                    notify: Some("failure".into()),
                    ret: None,
                    envid: Some("env1".into()),
                },
                settings: Settings {
                    server: Some("mx.example:587".into()),
                    starttls: Some(StartTls::Required),
                    auth_user: Some("me".into()),
                    auth_password_env: Some("PW".into()),
                    ..Settings::default()
                },
                size: 0,
            },
            message: b"Subject: s\r\n\r\nline\nwith \"quotes\" and {braces}\r\n".to_vec(),
        }
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let e = sample();
        let bytes = e.to_bytes();
        let back = Entry::parse(&bytes).unwrap();
        assert_eq!(back.message, e.message);
        assert_eq!(back.header.envelope, e.header.envelope);
        assert_eq!(back.header.settings, e.header.settings);
        assert_eq!(back.header.size, e.message.len() as u64);
        assert_eq!(back.to_bytes(), bytes);
    }

    /// `--requiretls` is kept with a spooled message (sent again with it); a file written
    /// before the field existed reads as without it.
    #[test]
    fn requiretls_is_kept_and_a_file_without_it_reads_as_off() {
        let mut e = sample();
        e.header.settings.requiretls = true;
        assert!(
            Entry::parse(&e.to_bytes())
                .unwrap()
                .header
                .settings
                .requiretls
        );
        let good = sample().to_bytes();
        let nl = good.iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&good[..nl]).unwrap();
        let older = header.replace(",\"requiretls\":false", "");
        assert_ne!(older, header);
        let back = Entry::parse(&[older.as_bytes(), &good[nl..]].concat()).unwrap();
        assert!(!back.header.settings.requiretls);
    }

    #[test]
    fn hostile_and_corrupt_files_are_typed_errors() {
        let good = sample().to_bytes();
        let nl = good.iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&good[..nl]).unwrap();
        let with = |h: &str| [h.as_bytes(), &good[nl..]].concat();
        assert_eq!(Entry::parse(b""), Err(EntryError::NoHeader));
        assert_eq!(Entry::parse(&[b'{'; 2 << 20]), Err(EntryError::NoHeader));
        assert!(matches!(
            Entry::parse(b"not json\nbody"),
            Err(EntryError::Header(_))
        ));
        assert!(matches!(
            Entry::parse(&with(
                &header.replace("\"state\":\"queued\"", "\"state\":\"x\"")
            )),
            Err(EntryError::Header(_))
        ));
        assert!(matches!(
            Entry::parse(&with(
                &header.replace("\"created\"", "\"extra\":1,\"created\"")
            )),
            Err(EntryError::Header(_))
        ));
        assert_eq!(
            Entry::parse(&with(&header.replace("\"version\":1", "\"version\":7"))),
            Err(EntryError::Version(7))
        );
        assert!(matches!(
            Entry::parse(&good[..good.len() - 3]),
            Err(EntryError::Size { .. })
        ));
        assert!(matches!(
            Entry::parse(&with(&header.replace("b@example.net", "b@exa mple.net"))),
            Err(EntryError::Address(_))
        ));
        assert!(matches!(
            Entry::parse(&with(
                &header.replace("a@example.org", "a\\r\\nRCPT TO:<x@y>")
            )),
            Err(EntryError::Address(_))
        ));
        let no_rcpt = header.replace("[\"b@example.net\",\"c@example.net\"]", "[]");
        assert_eq!(Entry::parse(&with(&no_rcpt)), Err(EntryError::NoRecipients));
        assert!(matches!(
            Entry::parse(&[&[0xff, 0xfe][..], b"\n"].concat()),
            Err(EntryError::Header(_))
        ));
    }
}
