//! The envelope of a message that brings none, derived from its header as a submission
//! agent does (`sendmail -t`): the reverse path from `Sender`, else `From`; the
//! recipients from `To`, `Cc` and `Bcc`; with `Resent-*` fields, from the most recent
//! block of them instead (RFC 5322 §3.6.6). The header is parsed by `mail-parser`
//! (groups, display names, encoded words, comments, folding, any line end); this file
//! only chooses among its fields and turns its addresses into SMTP paths.

use std::collections::HashSet;
use std::ops::Range;

use mail_parser::{Addr, Address, Header, HeaderName, HeaderValue, MessageParser};
use smtp_proto::command::{ForwardPath, ReversePath};

use super::MessageError;

/// What the header says: the reverse path and recipients (or why there are none), and
/// where the fields that must not be sent are.
pub(crate) struct Derived {
    /// The reverse path and the recipients, duplicates removed.
    pub envelope: Result<(ReversePath, Vec<ForwardPath>), MessageError>,
    /// Every `Bcc` and `Resent-Bcc` field, its continuation lines and line end
    /// included, in order.
    pub bcc: Vec<Range<usize>>,
}

/// Reads the header of `content` (up to its first empty line).
pub(crate) fn derive(content: &[u8]) -> Derived {
    let parsed = MessageParser::new().parse_headers(content);
    let headers = parsed.as_ref().map_or(&[][..], |m| m.headers());
    Derived {
        envelope: envelope(content, headers),
        bcc: bcc_fields(headers),
    }
}

/// Every `Bcc` and `Resent-Bcc` field (RFC 5322 §3.6.3: their recipients must not be
/// disclosed to the others; older `Resent-Bcc` blocks would disclose them as much).
pub(crate) fn bcc_fields(headers: &[Header<'_>]) -> Vec<Range<usize>> {
    headers
        .iter()
        .filter(|h| matches!(h.name, HeaderName::Bcc | HeaderName::ResentBcc))
        .map(|h| h.offset_field as usize..h.offset_end as usize)
        .collect()
}

fn envelope(
    content: &[u8],
    headers: &[Header<'_>],
) -> Result<(ReversePath, Vec<ForwardPath>), MessageError> {
    // RFC 5322 §3.6.6: a resent message goes to the most recent block's recipients.
    let (fields, senders, recipients) = match resent_block(headers) {
        Some(block) => (
            block,
            [HeaderName::ResentSender, HeaderName::ResentFrom],
            [
                HeaderName::ResentTo,
                HeaderName::ResentCc,
                HeaderName::ResentBcc,
            ],
        ),
        None => (
            headers,
            [HeaderName::Sender, HeaderName::From],
            [HeaderName::To, HeaderName::Cc, HeaderName::Bcc],
        ),
    };
    let from = sender(content, fields, senders)?;
    let mut seen = HashSet::new();
    let mut to = Vec::new();
    for h in fields.iter().filter(|h| recipients.contains(&h.name)) {
        for addr in addresses(&h.value) {
            let Some(mailbox) = mailbox(content, h, addr)? else {
                continue;
            };
            let path = ForwardPath::new(&mailbox).map_err(|e| bad(h, &mailbox, e))?;
            if seen.insert(dedup_key(&mailbox)) {
                to.push(path);
            }
        }
    }
    if to.is_empty() {
        return Err(MessageError::NoRecipients);
    }
    Ok((from, to))
}

/// `Sender`, else `From` (or their `Resent-` forms): the first of them present with a
/// mailbox, which must be alone in it (RFC 5322 §3.6.2).
fn sender(
    content: &[u8],
    fields: &[Header<'_>],
    names: [HeaderName<'static>; 2],
) -> Result<ReversePath, MessageError> {
    for name in names {
        let mut found = Vec::new();
        for h in fields.iter().filter(|h| h.name == name) {
            for addr in addresses(&h.value) {
                if let Some(mailbox) = mailbox(content, h, addr)? {
                    found.push((h, mailbox));
                }
            }
        }
        match &found[..] {
            [] => continue,
            [(h, mailbox)] => return ReversePath::new(mailbox).map_err(|e| bad(h, mailbox, e)),
            [(h, _), ..] => {
                let field = h.name.as_static_str();
                return Err(MessageError::SeveralSenders { field });
            }
        }
    }
    Err(MessageError::NoSender)
}

/// The most recent block of `Resent-*` fields: the first one, and the `Resent-*` fields
/// right after it until one that a block has once (date, from, sender, message-id)
/// comes again (RFC 5322 §3.6.6: blocks are prepended, each with one `Resent-Date` and
/// one `Resent-From`).
fn resent_block<'h, 'x>(headers: &'h [Header<'x>]) -> Option<&'h [Header<'x>]> {
    let start = headers.iter().position(|h| is_resent(&h.name))?;
    let mut once = Vec::new();
    let mut end = start;
    for h in &headers[start..] {
        if !is_resent(&h.name) {
            break;
        }
        let single = matches!(
            h.name,
            HeaderName::ResentDate
                | HeaderName::ResentFrom
                | HeaderName::ResentSender
                | HeaderName::ResentMessageId
        );
        if single {
            if once.contains(&h.name) {
                break;
            }
            once.push(h.name.clone());
        }
        end += 1;
    }
    Some(&headers[start..end])
}

fn is_resent(name: &HeaderName<'_>) -> bool {
    match name {
        HeaderName::ResentTo
        | HeaderName::ResentFrom
        | HeaderName::ResentBcc
        | HeaderName::ResentCc
        | HeaderName::ResentSender
        | HeaderName::ResentDate
        | HeaderName::ResentMessageId => true,
        HeaderName::Other(n) => n
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("resent-")),
        _ => false,
    }
}

/// The addresses of a field, group members included (an empty group, such as
/// `undisclosed-recipients:;`, names nobody).
fn addresses<'v, 'x>(value: &'v HeaderValue<'x>) -> Vec<&'v Addr<'x>> {
    match value {
        HeaderValue::Address(Address::List(list)) => list.iter().collect(),
        HeaderValue::Address(Address::Group(groups)) => {
            groups.iter().flat_map(|g| g.addresses.iter()).collect()
        }
        _ => Vec::new(),
    }
}

/// The mailbox (`local@domain`) of one address of field `h`, or `None` for an empty
/// entry. An entry with a display name and no address is an error: it names somebody
/// this message cannot reach.
fn mailbox(
    content: &[u8],
    h: &Header<'_>,
    addr: &Addr<'_>,
) -> Result<Option<String>, MessageError> {
    let Some(address) = addr.address.as_deref() else {
        return match addr.name.as_deref() {
            None | Some("") => Ok(None),
            Some(name) => Err(MessageError::Address {
                field: h.name.as_static_str(),
                address: name.to_string(),
                error: None,
            }),
        };
    };
    let Some(domain) = address.strip_prefix('@') else {
        return Ok(Some(address.to_string()));
    };
    // RFC 5322 §4.4 obs-route (`<@a,@b:user@c>`): RFC 5321 §4.1.1.3 says not to send
    // it, and the mailbox after it is the address.
    if let Some((_, mailbox)) = domain.split_once(':') {
        return Ok(Some(mailbox.to_string()));
    }
    // mail-parser reads a quoted local part outside angle brackets
    // (`"john doe"@example.com`) as the display name `john doe` and the address
    // `@example.com`: the field's text, a closing quote right before that address,
    // tells it apart from a display name, and the quoted string is put back.
    let raw = content
        .get(h.offset_start as usize..h.offset_end as usize)
        .unwrap_or_default();
    let quoted = format!("\"{address}");
    let name = addr.name.as_deref().unwrap_or_default();
    if name.is_empty() || !contains(raw, quoted.as_bytes()) {
        return Ok(Some(address.to_string()));
    }
    let mut mailbox = String::with_capacity(name.len() + address.len() + 4);
    mailbox.push('"');
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            mailbox.push('\\');
        }
        mailbox.push(c);
    }
    mailbox.push('"');
    mailbox.push_str(address);
    Ok(Some(mailbox))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Two addresses are the same recipient when their local parts are equal and their
/// domains equal but for case (RFC 5321 §2.4: only the domain is case-insensitive).
fn dedup_key(mailbox: &str) -> (String, String) {
    let (local, domain) = mailbox.rsplit_once('@').unwrap_or((mailbox, ""));
    (local.to_string(), domain.to_lowercase())
}

fn bad(h: &Header<'_>, mailbox: &str, e: smtp_proto::command::AddressError) -> MessageError {
    MessageError::Address {
        field: h.name.as_static_str(),
        address: mailbox.to_string(),
        error: Some(e),
    }
}
