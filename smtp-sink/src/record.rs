//! What the sink received and answered, per connection and per message, kept until the
//! [`Sink`](crate::Sink) is dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use smtp_proto::command::{ForwardPath, ReversePath};
use smtp_proto::Reply;

/// One `KEYWORD[=value]` parameter of MAIL or RCPT, as received (keyword upper-cased).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param {
    /// The keyword, upper-cased (`SIZE`, `BODY`, `NOTIFY` ...).
    pub keyword: String,
    /// The value after `=`, if any, as received.
    pub value: Option<String>,
}

/// Looks a parameter up by keyword (any case).
pub fn param<'a>(params: &'a [Param], keyword: &str) -> Option<&'a Param> {
    params
        .iter()
        .find(|p| p.keyword.eq_ignore_ascii_case(keyword))
}

/// One RCPT command and the sink's reply to it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RcptRecord {
    /// The forward path.
    pub to: ForwardPath,
    /// Its parameters (`NOTIFY`, `ORCPT`).
    pub params: Vec<Param>,
    /// The reply it got.
    pub reply: Reply,
}

impl RcptRecord {
    /// Whether the sink accepted this recipient at RCPT.
    pub fn accepted(&self) -> bool {
        self.reply.is_positive()
    }
}

/// How the content came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// DATA, un-stuffed (RFC 5321 §4.5.2).
    Data,
    /// BDAT chunks (RFC 3030), byte for byte.
    Bdat {
        /// How many BDAT commands carried it.
        chunks: usize,
    },
}

/// One message whose end of data the sink reached.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageRecord {
    /// The message's number in the sink, from 1.
    pub id: u64,
    /// The [`ConnectionRecord::id`] it came on.
    pub connection: u64,
    /// The reverse path of MAIL.
    pub from: ReversePath,
    /// The parameters of MAIL.
    pub mail_params: Vec<Param>,
    /// Every RCPT of the transaction, accepted or not, in order.
    pub recipients: Vec<RcptRecord>,
    /// The content exactly as the client meant it: DATA un-stuffed, without the final
    /// `.` line; BDAT chunks joined.
    pub content: Vec<u8>,
    /// DATA or BDAT.
    pub transfer: Transfer,
    /// Whether the connection ran over TLS.
    pub tls: bool,
    /// The user the connection authenticated as.
    pub auth_user: Option<String>,
    /// The replies after the end of data: one under ESMTP, one per accepted recipient
    /// under LMTP; none when a fault withheld them (reset or stall).
    pub replies: Vec<Reply>,
}

impl MessageRecord {
    /// Whether the sink said it took the message (for at least one recipient).
    pub fn accepted(&self) -> bool {
        self.replies.iter().any(Reply::is_positive)
    }

    /// The recipients accepted at RCPT, in order.
    pub fn accepted_recipients(&self) -> impl Iterator<Item = &ForwardPath> {
        self.recipients
            .iter()
            .filter(|r| r.accepted())
            .map(|r| &r.to)
    }

    /// The value of the content's first header field `name` (any case), unfolded no
    /// further than its first line, e.g. for comparing `Message-ID`s.
    pub fn header(&self, name: &str) -> Option<String> {
        let header_end =
            memchr::memmem::find(&self.content, b"\r\n\r\n").map_or(self.content.len(), |i| i + 2);
        self.content[..header_end]
            .split(|&b| b == b'\n')
            .find_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|&b| b == b':')?;
                let (field, value) = (&line[..colon], &line[colon + 1..]);
                field
                    .eq_ignore_ascii_case(name.as_bytes())
                    .then(|| String::from_utf8_lossy(value).trim().to_string())
            })
    }
}

/// How TLS came up on a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// From the first byte (implicit TLS) rather than after STARTTLS.
    pub implicit: bool,
    /// The protocol version, e.g. `"TLSv1_3"`.
    pub version: String,
    /// Whether the handshake resumed a session of an earlier connection (the sink's
    /// rustls server keeps sessions in memory and issues TLS 1.3 tickets, rustls'
    /// defaults), rather than a full handshake.
    pub resumed: bool,
}

/// A successful AUTH.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthInfo {
    /// `PLAIN`, `LOGIN` or `XOAUTH2`.
    pub mechanism: String,
    /// The authentication identity.
    pub user: String,
    /// Which credentials matched: their position among the
    /// [`SinkBuilder::user`](crate::SinkBuilder::user) calls (the secret itself is not
    /// recorded), so that a test can tell which of several tokens a client used.
    pub credentials: usize,
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The client sent QUIT and got 221.
    Quit,
    /// The client closed (or reset) the connection without QUIT.
    ClientClosed,
    /// The sink closed it on a fault or rule: 421 greeting, 421 MAIL, close after k
    /// messages, reset after data.
    Fault(&'static str),
    /// No input for the idle timeout: 421 4.4.2, then closed.
    IdleTimeout,
    /// The sink stopped while the connection was open.
    Shutdown,
    /// An I/O or TLS error (text for diagnosis).
    Error(String),
}

/// One connection: what the client said and what the sink answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionRecord {
    /// The connection's number in the sink, from 1.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The name given with the last EHLO, HELO or LHLO.
    pub hello: Option<String>,
    /// How TLS came up, if it did.
    pub tls: Option<TlsInfo>,
    /// The successful AUTH, if any.
    pub auth: Option<AuthInfo>,
    /// Every command line, in order, without line end; AUTH credentials are replaced
    /// by `***`. Message content is not included.
    pub commands: Vec<String>,
    /// Every reply the sink gave, in order, greeting included.
    pub replies: Vec<Reply>,
    /// The [`MessageRecord::id`]s of the messages that came on it.
    pub messages: Vec<u64>,
    /// How many times the client sent after having received something: its flights,
    /// counted as smtp-bench's proxy counts them.
    pub client_flights: u64,
    /// How many times the sink wrote replies (one write per flight).
    pub server_flights: u64,
    /// Why it ended; `None` while open.
    pub end: Option<End>,
}

/// Counts kept in every mode, the only record in discarding mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Connections accepted.
    pub connections: u64,
    /// Messages whose end of data was reached.
    pub messages: u64,
    /// Of those, messages accepted (for at least one recipient).
    pub accepted: u64,
    /// Recipients accepted at RCPT.
    pub recipients: u64,
    /// Content octets received (after un-stuffing).
    pub content_octets: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    connections: AtomicU64,
    messages: AtomicU64,
    accepted: AtomicU64,
    recipients: AtomicU64,
    content_octets: AtomicU64,
}

impl Counters {
    pub(crate) fn connection(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn message(&self, octets: u64, accepted: bool) -> u64 {
        self.content_octets.fetch_add(octets, Ordering::Relaxed);
        self.accepted
            .fetch_add(u64::from(accepted), Ordering::Relaxed);
        self.messages.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn recipient(&self) {
        self.recipients.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> Counts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            connections: g(&self.connections),
            messages: g(&self.messages),
            accepted: g(&self.accepted),
            recipients: g(&self.recipients),
            content_octets: g(&self.content_octets),
        }
    }
}

#[derive(Debug, Default)]
struct Records {
    connections: Vec<ConnectionRecord>,
    messages: Vec<MessageRecord>,
}

/// The records, shared by the connections and the [`Sink`](crate::Sink) handle.
#[derive(Debug, Default)]
pub(crate) struct Store {
    records: Mutex<Records>,
    changed: Condvar,
    pub(crate) counters: Counters,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Records> {
        // A panic while holding the lock leaves records that are still readable.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a connection record; connections are numbered from 1 in order.
    pub(crate) fn open(&self, record: ConnectionRecord) {
        self.lock().connections.push(record);
        self.changed.notify_all();
    }

    /// Changes connection `id`'s record.
    pub(crate) fn update(&self, id: u64, f: impl FnOnce(&mut ConnectionRecord)) {
        let mut r = self.lock();
        if let Some(c) = r.connections.iter_mut().rev().find(|c| c.id == id) {
            f(c);
        }
        drop(r);
        self.changed.notify_all();
    }

    /// Adds a message record and notes it on its connection.
    pub(crate) fn message(&self, m: MessageRecord) {
        let mut r = self.lock();
        if let Some(c) = r
            .connections
            .iter_mut()
            .rev()
            .find(|c| c.id == m.connection)
        {
            c.messages.push(m.id);
        }
        r.messages.push(m);
        drop(r);
        self.changed.notify_all();
    }

    /// Marks every open connection as ended by `end` (the sink stopped).
    pub(crate) fn end_all(&self, end: End) {
        for c in self
            .lock()
            .connections
            .iter_mut()
            .filter(|c| c.end.is_none())
        {
            c.end = Some(end.clone());
        }
        self.changed.notify_all();
    }

    pub(crate) fn connections(&self) -> Vec<ConnectionRecord> {
        self.lock().connections.clone()
    }

    pub(crate) fn messages(&self) -> Vec<MessageRecord> {
        let mut m = self.lock().messages.clone();
        m.sort_by_key(|m| m.id);
        m
    }

    pub(crate) fn counts(&self) -> Counts {
        self.counters.get()
    }

    /// Waits until `ready` holds for the records or `timeout` passes; whether it held.
    pub(crate) fn wait(
        &self,
        timeout: Duration,
        ready: impl Fn(&[ConnectionRecord], &[MessageRecord], Counts) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut r = self.lock();
        loop {
            if ready(&r.connections, &r.messages, self.counters.get()) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Counters change without the lock: wake up now and then to look again.
            let step = left.min(Duration::from_millis(20));
            r = match self.changed.wait_timeout(r, step) {
                Ok((r, _)) => r,
                Err(e) => e.into_inner().0,
            };
        }
    }
}
