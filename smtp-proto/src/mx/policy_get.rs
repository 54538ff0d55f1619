//! The MTA-STS policy fetch as a sans-IO HTTP/1.1 exchange (RFC 8461 §3.3): request
//! bytes out, response bytes in, the policy body or a typed error back. The caller
//! opens the connection to `mta-sts.<domain>:443` and runs TLS with WebPKI
//! verification for that name; this type knows nothing of either.

use alloc::string::String;
use alloc::vec::Vec;

use super::tls::TlsResultType;
use crate::command::Domain;

/// The policy's path (RFC 8461 §3.3).
pub const POLICY_PATH: &str = "/.well-known/mta-sts.txt";
/// The largest policy body accepted (RFC 8461 §3.3 suggests 64 KiB).
pub const MAX_POLICY_BODY: usize = 64 * 1024;
/// The largest response head accepted (status line and header fields).
pub const MAX_POLICY_HEAD: usize = 16 * 1024;
/// The most header fields accepted.
const MAX_HEADERS: usize = 64;
/// The longest chunk-size line (size, extensions, CRLF) accepted.
const MAX_CHUNK_LINE: usize = 1024;

/// Why the fetch failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyGetError {
    /// The response head is not HTTP/1.x.
    MalformedHead,
    /// The head is longer than [`MAX_POLICY_HEAD`] or has too many fields.
    HeadTooLarge,
    /// The status was not 200; a redirect (3xx) is a failure too (RFC 8461 §3.3:
    /// "HTTP 3xx redirects MUST NOT be followed").
    Status(u16),
    /// No `Content-Type`, or one other than `text/plain` (RFC 8461 §3.2).
    ContentType,
    /// The body is longer than [`MAX_POLICY_BODY`].
    TooLarge,
    /// A bad `Content-Length`, an unknown `Transfer-Encoding`, or bad chunked framing.
    Framing,
    /// The connection ended before the whole body arrived.
    Truncated,
}

impl PolicyGetError {
    /// The RFC 8460 §4.3.2.2 result type for reports: a body that is no policy
    /// (wrong type, too large) is `sts-policy-invalid`, anything else
    /// `sts-policy-fetch-error`.
    pub fn result_type(self) -> TlsResultType {
        match self {
            PolicyGetError::ContentType | PolicyGetError::TooLarge => {
                TlsResultType::StsPolicyInvalid
            }
            _ => TlsResultType::StsPolicyFetchError,
        }
    }
}

#[derive(Clone, Debug)]
enum State {
    Head,
    /// `Content-Length`: this many body bytes still to come.
    Length(usize),
    /// Chunked: waiting for a chunk-size line.
    ChunkSize,
    /// Chunked: this many bytes of the current chunk still to come.
    ChunkData(usize),
    /// Chunked: the CRLF after a chunk's data.
    ChunkEnd,
    /// Chunked: trailer lines until an empty one.
    Trailer,
    /// Neither: the body runs to the end of the connection (RFC 9112 §6.3 rule 8).
    UntilEof,
    Done,
    Failed(PolicyGetError),
}

/// `domain`'s policy host, `mta-sts.<domain>` (RFC 8461 §3.3), lower-case, without a
/// trailing dot: the one place it is made (the planner's lookups, the exchange).
pub(crate) fn policy_host(domain: &str) -> String {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    let mut host = String::with_capacity(8 + d.len());
    host.push_str("mta-sts.");
    host.push_str(d);
    host.make_ascii_lowercase();
    host
}

/// One `GET /.well-known/mta-sts.txt` exchange.
///
/// ```
/// use smtp_proto::command::Domain;
/// use smtp_proto::mx::PolicyGet;
///
/// let mut get = PolicyGet::new(&Domain::new("example.com").unwrap());
/// assert_eq!(get.host(), "mta-sts.example.com");
/// assert!(get.request().starts_with(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n"));
/// let response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
/// assert_eq!(get.handle_input(response), Ok(Some(b"hello".to_vec())));
/// ```
#[derive(Clone, Debug)]
pub struct PolicyGet {
    host: String,
    state: State,
    /// Bytes received but not yet consumed (the head, a partial chunk line).
    pending: Vec<u8>,
    body: Vec<u8>,
}

impl PolicyGet {
    /// The exchange for `domain`'s policy, at `mta-sts.<domain>` (RFC 8461 §3.3).
    pub fn new(domain: &Domain) -> Self {
        PolicyGet {
            host: policy_host(domain.as_str()),
            state: State::Head,
            pending: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The host to connect to (port 443), and the name its certificate must carry.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request to write: no body, `Connection: close`.
    pub fn request(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.host.len());
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(POLICY_PATH.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
        out
    }

    /// Takes bytes read from the connection. Returns the body once it is complete
    /// (later bytes are ignored), `None` while more is needed.
    ///
    /// # Errors
    /// [`PolicyGetError`]; every later call returns the same error.
    pub fn handle_input(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, PolicyGetError> {
        match self.state {
            State::Failed(e) => return Err(e),
            State::Done => return Ok(None),
            _ => {}
        }
        self.pending.extend_from_slice(bytes);
        match self.advance() {
            Ok(true) => {
                self.state = State::Done;
                self.pending = Vec::new();
                Ok(Some(core::mem::take(&mut self.body)))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                self.state = State::Failed(e);
                self.pending = Vec::new();
                self.body = Vec::new();
                Err(e)
            }
        }
    }

    /// The connection ended: the body, when it was to run to the end of the connection.
    ///
    /// # Errors
    /// [`PolicyGetError::Truncated`] when more was owed, or the earlier error.
    pub fn handle_eof(&mut self) -> Result<Vec<u8>, PolicyGetError> {
        match self.state {
            State::UntilEof => {
                self.state = State::Done;
                Ok(core::mem::take(&mut self.body))
            }
            State::Failed(e) => Err(e),
            _ => {
                self.state = State::Failed(PolicyGetError::Truncated);
                Err(PolicyGetError::Truncated)
            }
        }
    }

    /// Consumes what `pending` allows; `Ok(true)` when the body is complete.
    fn advance(&mut self) -> Result<bool, PolicyGetError> {
        loop {
            match self.state {
                State::Head => {
                    let Some((used, next)) = self.parse_head()? else {
                        return Ok(false);
                    };
                    self.pending.drain(..used);
                    self.state = next;
                }
                State::Length(0) => return Ok(true),
                State::Length(n) => {
                    let take = n.min(self.pending.len());
                    self.push_body(take)?;
                    self.state = State::Length(n - take);
                    if take == 0 {
                        return Ok(false);
                    }
                }
                State::UntilEof => {
                    let take = self.pending.len();
                    self.push_body(take)?;
                    return Ok(false);
                }
                State::ChunkSize => {
                    let Some(line) = self.line()? else {
                        return Ok(false);
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailer
                    } else if size > MAX_POLICY_BODY - self.body.len() {
                        return Err(PolicyGetError::TooLarge);
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkData(n) => {
                    let take = n.min(self.pending.len());
                    self.push_body(take)?;
                    if take == n {
                        self.state = State::ChunkEnd;
                    } else {
                        self.state = State::ChunkData(n - take);
                        return Ok(false);
                    }
                }
                State::ChunkEnd => {
                    let Some(line) = self.line()? else {
                        return Ok(false);
                    };
                    if !line.is_empty() {
                        return Err(PolicyGetError::Framing);
                    }
                    self.state = State::ChunkSize;
                }
                State::Trailer => {
                    let Some(line) = self.line()? else {
                        return Ok(false);
                    };
                    if line.is_empty() {
                        return Ok(true);
                    }
                }
                State::Done | State::Failed(_) => return Ok(false),
            }
        }
    }

    /// Moves `n` pending bytes to the body, within the cap.
    fn push_body(&mut self, n: usize) -> Result<(), PolicyGetError> {
        if self.body.len() + n > MAX_POLICY_BODY {
            return Err(PolicyGetError::TooLarge);
        }
        self.body.extend(self.pending.drain(..n));
        Ok(())
    }

    /// Takes one CRLF-ended line from `pending`, without its CRLF. The cap counts the
    /// octets before the LF, so a line is refused alike whether its LF came in the same
    /// read or a later one.
    fn line(&mut self) -> Result<Option<Vec<u8>>, PolicyGetError> {
        match memchr::memchr(b'\n', &self.pending) {
            Some(lf) if lf > MAX_CHUNK_LINE => Err(PolicyGetError::Framing),
            Some(lf) => {
                let mut line: Vec<u8> = self.pending.drain(..=lf).collect();
                line.pop();
                if line.pop() != Some(b'\r') {
                    return Err(PolicyGetError::Framing);
                }
                Ok(Some(line))
            }
            None if self.pending.len() > MAX_CHUNK_LINE => Err(PolicyGetError::Framing),
            None => Ok(None),
        }
    }

    /// The head, once complete: its length and the body's framing (RFC 9112 §6.3).
    fn parse_head(&self) -> Result<Option<(usize, State)>, PolicyGetError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let used = match response.parse(&self.pending) {
            Ok(httparse::Status::Complete(n)) if n <= MAX_POLICY_HEAD => n,
            Ok(httparse::Status::Partial) if self.pending.len() <= MAX_POLICY_HEAD => {
                return Ok(None)
            }
            Ok(_) | Err(httparse::Error::TooManyHeaders) => {
                return Err(PolicyGetError::HeadTooLarge)
            }
            Err(_) => return Err(PolicyGetError::MalformedHead),
        };
        let code = response.code.ok_or(PolicyGetError::MalformedHead)?;
        if code != 200 {
            return Err(PolicyGetError::Status(code));
        }
        let mut content_type = None;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-type") {
                if content_type.replace(h.value).is_some() {
                    return Err(PolicyGetError::ContentType);
                }
            } else if h.name.eq_ignore_ascii_case("content-length") {
                let n = content_length(h.value)?;
                // Repeated fields must agree (RFC 9112 §6.3 rule 5).
                if length.is_some_and(|l| l != n) {
                    return Err(PolicyGetError::Framing);
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // Only `chunked`, and only once: anything else is a coding we cannot read.
                if chunked || !h.value.eq_ignore_ascii_case(b"chunked") {
                    return Err(PolicyGetError::Framing);
                }
                chunked = true;
            }
        }
        if !content_type.is_some_and(is_text_plain) {
            return Err(PolicyGetError::ContentType);
        }
        let next = match (chunked, length) {
            // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3 rule 3).
            (true, _) => State::ChunkSize,
            (false, Some(n)) if n > MAX_POLICY_BODY => return Err(PolicyGetError::TooLarge),
            (false, Some(n)) => State::Length(n),
            (false, None) => State::UntilEof,
        };
        Ok(Some((used, next)))
    }
}

/// `text/plain`, with or without parameters (RFC 8461 §3.2; media types are
/// case-insensitive, RFC 9110 §8.3.1).
fn is_text_plain(value: &[u8]) -> bool {
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    super::txt::trim_wsp(media).eq_ignore_ascii_case(b"text/plain")
}

fn content_length(value: &[u8]) -> Result<usize, PolicyGetError> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return Err(PolicyGetError::Framing);
    }
    value.iter().try_fold(0usize, |n, d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
            .ok_or(PolicyGetError::Framing)
    })
}

/// The size of a chunk-size line: hex digits, then optional `;extensions`.
fn chunk_size(line: &[u8]) -> Result<usize, PolicyGetError> {
    let hex = line.split(|&b| b == b';').next().unwrap_or_default();
    let hex = super::txt::trim_wsp(hex);
    // More than 8 hex digits is more than the body cap can ever hold.
    if hex.is_empty() || hex.len() > 8 {
        return Err(PolicyGetError::Framing);
    }
    hex.iter().try_fold(0usize, |n, &d| {
        let v = (d as char).to_digit(16).ok_or(PolicyGetError::Framing)?;
        Ok(n * 16 + v as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get() -> PolicyGet {
        PolicyGet::new(&Domain::new("Example.COM").unwrap())
    }

    fn whole(response: &[u8]) -> Result<Vec<u8>, PolicyGetError> {
        let mut g = get();
        match g.handle_input(response)? {
            Some(body) => Ok(body),
            None => g.handle_eof(),
        }
    }

    fn bytewise(response: &[u8]) -> Result<Vec<u8>, PolicyGetError> {
        let mut g = get();
        for b in response {
            if let Some(body) = g.handle_input(core::slice::from_ref(b))? {
                return Ok(body);
            }
        }
        g.handle_eof()
    }

    const HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n";

    #[test]
    fn the_request_names_the_policy_host_and_path() {
        let req = get().request();
        assert_eq!(
            req,
            b"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com\r\nAccept: text/plain\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn reads_content_length_chunked_and_until_eof_bodies_in_any_cut() {
        let cases = [
            [HEAD, "Content-Length: 6\r\n\r\nabcdef"].concat(),
            [
                HEAD,
                "Transfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n4\r\ncdef\r\n0\r\nT: 1\r\n\r\n",
            ]
            .concat(),
            [
                HEAD,
                "Content-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n",
            ]
            .concat(),
            [HEAD, "\r\nabcdef"].concat(),
        ];
        for c in &cases {
            assert_eq!(whole(c.as_bytes()).as_deref(), Ok(&b"abcdef"[..]), "{c:?}");
            assert_eq!(
                bytewise(c.as_bytes()).as_deref(),
                Ok(&b"abcdef"[..]),
                "{c:?}"
            );
        }
    }

    #[test]
    fn only_a_200_text_plain_response_within_the_cap_is_a_policy() {
        let redirect = "HTTP/1.1 301 Moved\r\nLocation: https://x/\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(whole(redirect.as_bytes()), Err(PolicyGetError::Status(301)));
        let e = whole(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(e, Err(PolicyGetError::Status(404)));
        let html = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1\r\n\r\nx";
        assert_eq!(whole(html.as_bytes()), Err(PolicyGetError::ContentType));
        let untyped = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        assert_eq!(whole(untyped.as_bytes()), Err(PolicyGetError::ContentType));
        let big = [HEAD, "Content-Length: 65537\r\n\r\n"].concat();
        assert_eq!(whole(big.as_bytes()), Err(PolicyGetError::TooLarge));
        let unbounded = [HEAD, "\r\n", &"x".repeat(MAX_POLICY_BODY + 1)].concat();
        assert_eq!(
            bytewise(unbounded.as_bytes()),
            Err(PolicyGetError::TooLarge)
        );
        let exact = [HEAD, "\r\n", &"x".repeat(MAX_POLICY_BODY)].concat();
        assert_eq!(
            whole(exact.as_bytes()).map(|b| b.len()),
            Ok(MAX_POLICY_BODY)
        );
        // Two chunks of 32 KiB fill the cap; one byte more is refused.
        let chunks = [HEAD, "Transfer-Encoding: chunked\r\n\r\n8000\r\n"].concat();
        let mut g = get();
        assert_eq!(g.handle_input(chunks.as_bytes()), Ok(None));
        let more = ["x".repeat(0x8000), "\r\n8001\r\n".into()].concat();
        assert_eq!(
            g.handle_input(more.as_bytes()),
            Err(PolicyGetError::TooLarge)
        );
    }

    #[test]
    fn bad_framing_truncation_and_garbage_are_errors() {
        let cases: &[(&str, PolicyGetError)] = &[
            ("garbage\r\n\r\n", PolicyGetError::MalformedHead),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1x\r\n\r\n", PolicyGetError::Framing),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", PolicyGetError::Framing),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\n", PolicyGetError::Framing),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", PolicyGetError::Framing),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", PolicyGetError::Framing),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nab", PolicyGetError::Truncated),
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", PolicyGetError::Truncated),
        ];
        for (response, err) in cases {
            assert_eq!(whole(response.as_bytes()), Err(*err), "{response:?}");
        }
        let endless = ["HTTP/1.1 200 OK\r\nX: ", &"y".repeat(MAX_POLICY_HEAD)].concat();
        assert_eq!(whole(endless.as_bytes()), Err(PolicyGetError::HeadTooLarge));
    }

    #[test]
    fn host_caps_errors_and_what_comes_after_the_end() {
        assert_eq!(get().host(), "mta-sts.example.com");
        assert_eq!(MAX_POLICY_BODY, 65_536);
        assert_eq!(
            PolicyGetError::ContentType.result_type(),
            TlsResultType::StsPolicyInvalid
        );
        assert_eq!(
            PolicyGetError::TooLarge.result_type(),
            TlsResultType::StsPolicyInvalid
        );
        assert_eq!(
            PolicyGetError::Status(301).result_type(),
            TlsResultType::StsPolicyFetchError
        );
        // An error sticks; after the body, more input is ignored.
        let mut g = get();
        assert_eq!(
            g.handle_input(b"junk\r\n\r\n"),
            Err(PolicyGetError::MalformedHead)
        );
        let ok = [HEAD, "Content-Length: 1\r\n\r\nx"].concat();
        assert_eq!(
            g.handle_input(ok.as_bytes()),
            Err(PolicyGetError::MalformedHead)
        );
        assert_eq!(g.handle_eof(), Err(PolicyGetError::MalformedHead));
        let mut g = get();
        assert_eq!(g.handle_input(ok.as_bytes()), Ok(Some(b"x".to_vec())));
        assert_eq!(g.handle_input(b"HTTP/1.1 404 x\r\n\r\n"), Ok(None));
    }

    #[test]
    fn limits_hold_exactly_at_their_values() {
        // A body of exactly 64 KiB, by Content-Length or in two chunks.
        let x = "x".repeat(0x8000);
        let length = [HEAD, "Content-Length: 65536\r\n\r\n", &x, &x].concat();
        assert_eq!(
            whole(length.as_bytes()).map(|b| b.len()),
            Ok(MAX_POLICY_BODY)
        );
        let chunked = [
            HEAD,
            "Transfer-Encoding: chunked\r\n\r\n8000\r\n",
            &x,
            "\r\n8000\r\n",
            &x,
            "\r\n0\r\n\r\n",
        ]
        .concat();
        assert_eq!(
            whole(chunked.as_bytes()).map(|b| b.len()),
            Ok(MAX_POLICY_BODY)
        );
        // Content-Length: 1 to 19 digits; chunk sizes: 1 to 8 hex digits.
        let cl = |v: &str| {
            whole(
                [HEAD, "Content-Length: ", v, "\r\n\r\nabcde"]
                    .concat()
                    .as_bytes(),
            )
        };
        assert_eq!(cl("0000000000000000005"), Ok(b"abcde".to_vec()));
        assert_eq!(cl("00000000000000000005"), Err(PolicyGetError::Framing));
        assert_eq!(cl(""), Err(PolicyGetError::Framing));
        let chunk = |size: &str| {
            let r = [
                HEAD,
                "Transfer-Encoding: chunked\r\n\r\n",
                size,
                "\r\nabcde\r\n0\r\n\r\n",
            ];
            whole(r.concat().as_bytes())
        };
        assert_eq!(chunk("00000005"), Ok(b"abcde".to_vec()));
        assert_eq!(chunk("000000005"), Err(PolicyGetError::Framing));
        assert_eq!(chunk(""), Err(PolicyGetError::Framing));
        // A chunk-size line may run to MAX_CHUNK_LINE octets before its LF.
        let start = [HEAD, "Transfer-Encoding: chunked\r\n\r\n5;"].concat();
        let mut g = get();
        assert_eq!(g.handle_input(start.as_bytes()), Ok(None));
        assert_eq!(
            g.handle_input("e".repeat(MAX_CHUNK_LINE - 2).as_bytes()),
            Ok(None)
        );
        assert_eq!(g.handle_input(b"e"), Err(PolicyGetError::Framing));
        // The same cap when the LF arrives in the same read as the line.
        let line = |n: usize| {
            let r = [
                HEAD,
                "Transfer-Encoding: chunked\r\n\r\n5;",
                &"e".repeat(n),
                "\r\nabcde\r\n0\r\n\r\n",
            ]
            .concat();
            (whole(r.as_bytes()), bytewise(r.as_bytes()))
        };
        let fits = Ok(b"abcde".to_vec());
        assert_eq!(line(MAX_CHUNK_LINE - 3), (fits.clone(), fits));
        let over = Err(PolicyGetError::Framing);
        assert_eq!(line(MAX_CHUNK_LINE - 2), (over.clone(), over));
        // A complete head over MAX_POLICY_HEAD is refused too.
        let big = [
            HEAD,
            "X: ",
            &"y".repeat(MAX_POLICY_HEAD),
            "\r\nContent-Length: 0\r\n\r\n",
        ]
        .concat();
        assert_eq!(whole(big.as_bytes()), Err(PolicyGetError::HeadTooLarge));
    }
}
