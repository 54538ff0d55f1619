//! Bare local names (`root`, as cron gives them on the command line and in `To:`) made
//! addresses SMTP can carry (RFC 5321 §4.1.2: a mailbox has a domain) by adding this
//! host's name, as sendmail does with its own name.

/// `addr@host` for a bare `addr`; anything else as given (the null path `<>` and `""`
/// included).
pub(crate) fn address(addr: &str, host: &str) -> String {
    if is_bare(addr) {
        format!("{addr}@{host}")
    } else {
        addr.to_owned()
    }
}

fn is_bare(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"@<>()\",:;[]\\".contains(&b))
}

/// The address fields of a CRLF message's header (`From`, `Sender`, `To`, `Cc`, `Bcc`
/// and their `Resent-` forms) with their bare names qualified: `root`,
/// `root (Cron Daemon)` and `"Cron Daemon" <root>` alike. Other fields, the body, and
/// anything that is not a bare name (groups, quoted names with commas) are untouched.
pub(crate) fn header(message: &[u8], host: &str) -> Vec<u8> {
    const FIELDS: [&str; 5] = ["from", "sender", "to", "cc", "bcc"];
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut in_address_field = false;
    let mut rest = message;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(rest.len(), |i| i + 2);
        let (line, after) = rest.split_at(end);
        rest = after;
        if line == b"\r\n" {
            out.extend_from_slice(line);
            out.extend_from_slice(rest);
            break;
        }
        let text = String::from_utf8_lossy(line);
        let continued = line.starts_with(b" ") || line.starts_with(b"\t");
        let (name, value) = match text.split_once(':') {
            Some((n, v)) if !continued => (Some(n), v),
            _ => (None, &text[..]),
        };
        if let Some(n) = name {
            let n = n.trim().to_ascii_lowercase();
            in_address_field = FIELDS.contains(&n.strip_prefix("resent-").unwrap_or(&n));
        }
        if !in_address_field || !line.is_ascii() {
            out.extend_from_slice(line);
            continue;
        }
        if let Some(n) = name {
            out.extend_from_slice(n.as_bytes());
            out.push(b':');
        }
        let items: Vec<String> = value.split(',').map(|i| item(i, host)).collect();
        out.extend_from_slice(items.join(",").as_bytes());
    }
    out
}

/// One comma-separated item of an address field, its bare name qualified.
fn item(item: &str, host: &str) -> String {
    if let Some(open) = item.rfind('<') {
        if let Some(close) = item[open..].find('>') {
            let inner = &item[open + 1..open + close];
            if is_bare(inner) {
                return format!("{}<{inner}@{host}{}", &item[..open], &item[open + close..]);
            }
        }
        return item.to_owned();
    }
    // `root`, `root (comment)`: the first word, when it is the only address there.
    let lead = item.len() - item.trim_start().len();
    let word_end = item[lead..]
        .find(|c: char| c.is_whitespace() || c == '(')
        .map_or(item.len(), |i| lead + i);
    let word = &item[lead..word_end];
    let after = item[word_end..].trim();
    if is_bare(word) && (after.is_empty() || after.starts_with('(')) {
        format!("{}@{host}{}", &item[..word_end], &item[word_end..])
    } else {
        item.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_get_the_host() {
        assert_eq!(address("root", "h.example"), "root@h.example");
        assert_eq!(address("a@b", "h.example"), "a@b");
        assert_eq!(address("<>", "h.example"), "<>");
        assert_eq!(address("", "h.example"), "");
    }

    #[test]
    fn address_fields_of_the_header_only() {
        let m = b"To: root, a@b\r\nCc: \"Cron Daemon\" <root>,\r\n  x (the x)\r\n\
                  From: root (Cron Daemon)\r\nSubject: root\r\n\r\nTo: root\r\n";
        let q = header(m, "h");
        assert_eq!(
            String::from_utf8(q).unwrap(),
            "To: root@h, a@b\r\nCc: \"Cron Daemon\" <root@h>,\r\n  x@h (the x)\r\n\
             From: root@h (Cron Daemon)\r\nSubject: root\r\n\r\nTo: root\r\n"
        );
        let untouched = b"To: \"Doe, J\" <j@x>, group: a@b;\r\n\r\n";
        assert_eq!(header(untouched, "h"), untouched);
    }
}
