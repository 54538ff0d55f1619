//! The last two one-line replies read, shared by the next ones that come byte for byte
//! the same: a server answers every RCPT of every message alike (`250 2.1.5 Ok`), and
//! often every message alike too, so most replies a session keeps (in events and
//! reports) cost a comparison of a few octets instead of an allocation. Two, not one:
//! the RCPT replies and the final reply alternate, message after message.

use super::parse::WholeLine;
use super::Reply;

/// Longer replies are copied each time: memory stays small, and such replies are rare
/// and rarely alike.
const MAX_KEPT: usize = 128;

/// The two replies most recently read, the latest first.
#[derive(Debug, Clone, Default)]
pub(super) struct Recent {
    replies: [Option<Reply>; 2],
}

impl Recent {
    /// `line`'s reply: a share of a recent one with the same octets, or a new copy.
    pub(super) fn reply(&mut self, line: WholeLine<'_>) -> Reply {
        if line.wire.len() > MAX_KEPT {
            return line.to_reply();
        }
        let same = |r: &Option<Reply>| r.as_ref().is_some_and(|r| *r.wire == *line.wire);
        if same(&self.replies[0]) {
            if let Some(r) = &self.replies[0] {
                return r.clone();
            }
        }
        if !same(&self.replies[1]) {
            self.replies[1] = Some(line.to_reply());
        }
        // The older one (just read again, or replaced by this one) becomes the latest.
        self.replies.swap(0, 1);
        match &self.replies[0] {
            Some(r) => r.clone(),
            None => line.to_reply(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::parse::whole_line;
    use crate::reply::ReplyLimits;
    use alloc::sync::Arc;

    fn read(recent: &mut Recent, input: &[u8]) -> Reply {
        let line = whole_line(input, &ReplyLimits::default()).expect("one-line reply");
        recent.reply(line)
    }

    /// Replies alike share one copy, alternating ones too; a reply that differs by one
    /// octet, or a line end, is its own, and the same as the grammar reads it.
    #[test]
    fn alike_replies_share_one_copy_and_others_are_their_own() {
        let mut recent = Recent::default();
        let rcpt = read(&mut recent, b"250 2.1.5 Ok\r\n");
        let last = read(&mut recent, b"250 2.0.0 2048 octets received\r\n");
        for _ in 0..3 {
            let again = read(&mut recent, b"250 2.1.5 Ok\r\n");
            assert!(Arc::ptr_eq(&again.wire, &rcpt.wire));
            let again = read(&mut recent, b"250 2.0.0 2048 octets received\r\n");
            assert!(Arc::ptr_eq(&again.wire, &last.wire));
        }
        for other in [
            &b"250 2.1.5 OK\r\n"[..],
            b"250 2.1.5 Ok\n",
            b"550 2.1.5 Ok\r\n",
        ] {
            let reply = read(&mut recent, other);
            assert!(!Arc::ptr_eq(&reply.wire, &rcpt.wire));
            assert_eq!(*reply.wire, *other);
            let mut general = crate::reply::ReplyReader::default();
            assert_eq!(general.read(&mut &other[..]), Ok(Some(reply)));
        }
        // The latest two are kept: the first one is gone, and read anew.
        let anew = read(&mut recent, b"250 2.1.5 Ok\r\n");
        assert!(!Arc::ptr_eq(&anew.wire, &rcpt.wire));
        assert_eq!(anew, rcpt);
    }

    /// A long reply is not kept: its copy goes with the reply.
    #[test]
    fn a_long_reply_is_not_kept() {
        let mut recent = Recent::default();
        let mut long = b"250 ".to_vec();
        long.resize(MAX_KEPT + 10, b'x');
        long.extend_from_slice(b"\r\n");
        let first = read(&mut recent, &long);
        let second = read(&mut recent, &long);
        assert!(!Arc::ptr_eq(&first.wire, &second.wire));
        assert!(recent.replies.iter().all(Option::is_none));
    }
}
