//! Helpers shared by the sink's integration tests: messages, record checks, and a raw
//! line client that sees reply codes and how the connection ends.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use smtp_sink::{ConnectionRecord, MessageRecord, Sink};

/// A message whose body has lines DATA must stuff: one led by a dot, one of two dots,
/// and one that is a lone dot.
pub(crate) fn dotted_message(tag: &str) -> Vec<u8> {
    format!(
        "From: <sender@example.org>\r\nTo: <a@x.test>\r\nSubject: {tag}\r\nMessage-ID: <{tag}@sink.test>\r\n\r\n\
         Hello.\r\n.leading dot\r\n..two dots\r\n.\r\nafter the lone dot\r\n"
    )
    .into_bytes()
}

/// The verbs of a connection's commands (`***` for AUTH responses).
pub(crate) fn verbs(c: &ConnectionRecord) -> Vec<String> {
    c.commands
        .iter()
        .map(|l| l.split(' ').next().unwrap_or("").to_ascii_uppercase())
        .collect()
}

/// The only message the sink recorded.
pub(crate) fn only_message(sink: &Sink) -> MessageRecord {
    let m = sink.messages();
    assert_eq!(m.len(), 1, "{m:#?}");
    m.into_iter().next().unwrap()
}

/// The recipients of `m`, as text.
pub(crate) fn recipients(m: &MessageRecord) -> Vec<&str> {
    m.recipients.iter().map(|r| r.to.as_str()).collect()
}

/// The codes of `replies`.
pub(crate) fn codes<'a>(
    replies: impl IntoIterator<Item = &'a smtp_sink::smtp_proto::Reply>,
) -> Vec<u16> {
    replies.into_iter().map(|r| r.code().get()).collect()
}

/// A client that writes lines and reads replies, and tells how the connection ended.
pub(crate) struct Raw {
    r: BufReader<TcpStream>,
}

/// How a connection ended, as the client sees it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// EOF: an orderly close.
    Eof,
    /// ECONNRESET.
    Reset,
}

impl Raw {
    pub(crate) fn connect(sink: &Sink) -> Raw {
        let s = TcpStream::connect(sink.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw {
            r: BufReader::new(s),
        }
    }

    pub(crate) fn send(&mut self, text: &str) {
        self.r.get_mut().write_all(text.as_bytes()).unwrap();
    }

    /// Reads one reply: its code and its lines' text.
    pub(crate) fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.r.read_line(&mut line).expect("reply");
            assert!(n > 0, "connection closed while a reply was expected");
            assert!(line.ends_with("\r\n"), "{line:?}");
            let code = line[..3].parse().unwrap();
            lines.push(line[4..line.len() - 2].to_string());
            if line.as_bytes()[3] == b' ' {
                return (code, lines);
            }
        }
    }

    /// Reads one reply and returns its code.
    pub(crate) fn code(&mut self) -> u16 {
        self.reply().0
    }

    /// Sends `line` + CRLF and returns the code of the reply.
    pub(crate) fn cmd(&mut self, line: &str) -> u16 {
        self.send(&format!("{line}\r\n"));
        self.code()
    }

    /// Greeting and EHLO: the EHLO keywords.
    pub(crate) fn hello(&mut self) -> Vec<String> {
        assert_eq!(self.code(), 220);
        self.send("EHLO client.test\r\n");
        let (code, lines) = self.reply();
        assert_eq!(code, 250);
        lines
    }

    /// Waits for the end of the connection: nothing more may arrive first.
    pub(crate) fn closed(&mut self) -> Closed {
        let mut rest = Vec::new();
        match self.r.read_to_end(&mut rest) {
            Ok(_) => {
                assert!(rest.is_empty(), "more before the close: {rest:?}");
                Closed::Eof
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => Closed::Reset,
            Err(e) => panic!("waiting for the close: {e}"),
        }
    }

    /// Whether nothing arrives within `d` (and the connection stays open).
    pub(crate) fn silent_for(&mut self, d: Duration) -> bool {
        self.r.get_ref().set_read_timeout(Some(d)).unwrap();
        let mut b = [0u8; 1];
        let silent = matches!(self.r.read(&mut b), Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
        self.r
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        silent
    }
}
