//! Which header fields a signature covers (RFC 6376 §5.4).

/// The fields signed when present: RFC 6376 §5.4.1's list. Never Return-Path or
/// Received (added and reordered in transit), nor Bcc (removed before sending).
pub(crate) const SIGNED: [&str; 23] = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// The fields listed once more than they occur (RFC 6376 §8.15), so that a copy
/// added in transit, or one added where there was none, breaks the signature.
pub(crate) const OVERSIGNED: [&str; 6] = ["From", "To", "Cc", "Subject", "Date", "Reply-To"];

/// The list to hand mail-auth's signer for a message with these field names.
///
/// mail-auth signs every occurrence of a listed name, then appends once each listed
/// entry that matched nothing (the first entry of a name takes every occurrence). So a
/// present field is listed once; an over-signed one is listed twice when present (its
/// occurrences, plus one) and once when absent (its absence signed); any other absent
/// field is left out.
pub(crate) fn to_sign<'a>(names: impl Iterator<Item = &'a [u8]> + Clone) -> Vec<&'static str> {
    let present = |field: &str| {
        names
            .clone()
            .any(|n| n.eq_ignore_ascii_case(field.as_bytes()))
    };
    let mut list = Vec::new();
    for field in SIGNED {
        let over = OVERSIGNED.contains(&field);
        match (present(field), over) {
            (true, true) => list.extend([field, field]),
            (true, false) | (false, true) => list.push(field),
            (false, false) => {}
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_fields_once_oversigned_ones_twice_absent_oversigned_once() {
        let names: Vec<&[u8]> = vec![b"from", b"To", b"Received", b"Bcc", b"List-Id", b"X-A"];
        let list = to_sign(names.iter().copied());
        let want = [
            "From", "From", "Reply-To", "Subject", "Date", "To", "To", "Cc", "List-Id",
        ];
        assert_eq!(list, want);
        for never in ["Return-Path", "Received", "Bcc"] {
            assert!(!SIGNED.contains(&never));
        }
    }
}
