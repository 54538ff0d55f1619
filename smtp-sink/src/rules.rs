//! Rules: what the sink answers to a sender, a recipient or a message.

use std::fmt;
use std::sync::Arc;

use smtp_proto::{Reply, ReplyCode};

/// Which addresses a rule applies to. Comparisons ignore ASCII case.
#[derive(Clone)]
pub enum Match {
    /// Every address (the null reverse path included).
    Any,
    /// This address exactly (without angle brackets).
    Address(String),
    /// Addresses whose local part starts with this.
    LocalPrefix(String),
    /// Addresses at this domain.
    Domain(String),
    /// Addresses for which the function returns true.
    Custom(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl Match {
    /// `addr` is the path without angle brackets (`""` for the null reverse path).
    pub(crate) fn matches(&self, addr: &str) -> bool {
        let (local, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
        match self {
            Match::Any => true,
            Match::Address(a) => a.eq_ignore_ascii_case(addr),
            Match::LocalPrefix(p) => local
                .get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p)),
            Match::Domain(d) => d.eq_ignore_ascii_case(domain),
            Match::Custom(f) => f(addr),
        }
    }
}

impl fmt::Debug for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Match::Any => f.write_str("Any"),
            Match::Address(a) => f.debug_tuple("Address").field(a).finish(),
            Match::LocalPrefix(p) => f.debug_tuple("LocalPrefix").field(p).finish(),
            Match::Domain(d) => f.debug_tuple("Domain").field(d).finish(),
            Match::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// What the sink answers when a rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The usual positive reply.
    Accept,
    /// This reply: positive (2xx, accepted), transient (4xx) or permanent (5xx).
    Reply(Reply),
}

impl Action {
    /// `code` with `text` (which may start with an enhanced status code, e.g.
    /// `"5.1.1 No such user"`).
    ///
    /// # Panics
    /// If `code` is not a 2xx, 4xx or 5xx reply code or `text` has CR or LF: a mistake
    /// in the test that sets the rule.
    pub fn reply(code: u16, text: &str) -> Self {
        let code = ReplyCode::new(code)
            .filter(|c| matches!(c.get() / 100, 2 | 4 | 5))
            .unwrap_or_else(|| panic!("smtp-sink: {code} is not a 2xx/4xx/5xx reply code"));
        let reply = Reply::new(code, &[text.as_bytes()])
            .unwrap_or_else(|e| panic!("smtp-sink: bad reply text {text:?}: {e}"));
        Action::Reply(reply)
    }

    /// A transient refusal: `450 4.2.0 Mailbox temporarily unavailable`.
    pub fn transient() -> Self {
        Self::reply(450, "4.2.0 Mailbox temporarily unavailable")
    }

    /// A permanent refusal: `550 5.1.1 Mailbox unavailable`.
    pub fn permanent() -> Self {
        Self::reply(550, "5.1.1 Mailbox unavailable")
    }
}

/// What a rule looks at.
#[derive(Clone, Debug)]
pub(crate) enum When {
    Sender(Match),
    Recipient(Match),
    Delivery(Match),
    LargerThan(u64),
    Contains(Vec<u8>),
}

/// One rule: when it applies and what the sink then answers. Rules are tried in the order
/// given to the builder; the first that matches decides.
#[derive(Clone, Debug)]
pub struct Rule {
    pub(crate) when: When,
    pub(crate) action: Action,
}

impl Rule {
    /// At MAIL, for a reverse path that matches.
    pub fn sender(matching: Match, action: Action) -> Self {
        Rule {
            when: When::Sender(matching),
            action,
        }
    }

    /// At RCPT, for a forward path that matches.
    pub fn recipient(matching: Match, action: Action) -> Self {
        Rule {
            when: When::Recipient(matching),
            action,
        }
    }

    /// After the end of data, for an accepted recipient that matches: under LMTP that
    /// recipient's reply; under ESMTP the message's reply, if any accepted recipient
    /// matches.
    pub fn delivery(matching: Match, action: Action) -> Self {
        Rule {
            when: When::Delivery(matching),
            action,
        }
    }

    /// After the end of data, for content of more than `octets` octets.
    pub fn larger_than(octets: u64, action: Action) -> Self {
        Rule {
            when: When::LargerThan(octets),
            action,
        }
    }

    /// After the end of data, for content that contains `needle`.
    pub fn content_contains(needle: impl Into<Vec<u8>>, action: Action) -> Self {
        Rule {
            when: When::Contains(needle.into()),
            action,
        }
    }

    pub(crate) fn needs_content(&self) -> bool {
        matches!(self.when, When::Contains(_))
    }
}

/// The first sender rule matching `from`.
pub(crate) fn for_sender<'a>(rules: &'a [Rule], from: &str) -> Option<&'a Action> {
    rules.iter().find_map(|r| match &r.when {
        When::Sender(m) if m.matches(from) => Some(&r.action),
        _ => None,
    })
}

/// The first recipient rule matching `to`.
pub(crate) fn for_recipient<'a>(rules: &'a [Rule], to: &str) -> Option<&'a Action> {
    rules.iter().find_map(|r| match &r.when {
        When::Recipient(m) if m.matches(to) => Some(&r.action),
        _ => None,
    })
}

/// The first end-of-data rule that matches a message of `size` octets with `content`
/// (empty when not kept), delivered to any of `recipients`.
pub(crate) fn for_delivery<'a, 'r>(
    rules: &'a [Rule],
    size: u64,
    content: &[u8],
    recipients: impl Iterator<Item = &'r str> + Clone,
) -> Option<&'a Action> {
    rules.iter().find_map(|r| {
        let hit = match &r.when {
            When::Delivery(m) => recipients.clone().any(|to| m.matches(to)),
            When::LargerThan(n) => size > *n,
            When::Contains(needle) => memchr::memmem::find(content, needle).is_some(),
            When::Sender(_) | When::Recipient(_) => false,
        };
        hit.then_some(&r.action)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_ignore_case_and_split_at_the_last_at() {
        assert!(Match::Address("A@Example.org".into()).matches("a@example.ORG"));
        assert!(Match::LocalPrefix("reject".into()).matches("Rejected@x.test"));
        assert!(!Match::LocalPrefix("reject".into()).matches("rej@x.test"));
        assert!(Match::Domain("x.test".into()).matches("\"a@b\"@X.test"));
        assert!(!Match::Domain("x.test".into()).matches("a@y.test"));
        assert!(Match::Any.matches(""));
    }

    #[test]
    fn first_matching_rule_decides() {
        let rules = [
            Rule::recipient(Match::Address("a@x.test".into()), Action::transient()),
            Rule::recipient(Match::Any, Action::permanent()),
        ];
        assert_eq!(
            for_recipient(&rules, "a@x.test"),
            Some(&Action::transient())
        );
        assert_eq!(
            for_recipient(&rules, "b@x.test"),
            Some(&Action::permanent())
        );
        assert_eq!(for_sender(&rules, "a@x.test"), None);
    }
}
