//! Trust anchor files as unbound's `trust-anchor-file` reads them: zone-file lines
//! (RFC 1035 §5.1) of DS (RFC 4034 §5.3) or DNSKEY (RFC 4034 §2.2) records, TTL and
//! class optional, `;` comments, parentheses across lines. Other types are skipped.

use base64::Engine;
use hickory_proto::dnssec::rdata::{DNSKEY, DS};
use hickory_proto::dnssec::{Algorithm, DigestType, PublicKeyBuf};
use hickory_proto::rr::Name;

/// One anchor record.
pub(crate) enum Anchor {
    Key(Name, DNSKEY),
    Ds(Name, DS),
}

/// The file's records, each as its whitespace-separated fields.
fn records(text: &str) -> Result<Vec<Vec<&str>>, String> {
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut open = false;
    for line in text.lines() {
        let line = line.split(';').next().unwrap_or("");
        for field in line.split_whitespace() {
            // Parentheses may touch a field: `( 257 3 8` or `...AwEAAa )`.
            let (opens, rest) = match field.strip_prefix('(') {
                Some(rest) => (true, rest),
                None => (false, field),
            };
            let (rest, closes) = match rest.strip_suffix(')') {
                Some(rest) => (rest, true),
                None => (rest, false),
            };
            if opens {
                open = true;
            }
            if !rest.is_empty() {
                current.push(rest);
            }
            if closes {
                if !open {
                    return Err("unbalanced ')'".into());
                }
                open = false;
            }
        }
        if !open && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if open {
        return Err("unclosed '('".into());
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(field: Option<&&str>, what: &str) -> Result<T, String> {
    field
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("bad {what}"))
}

fn hex(digits: &str) -> Result<Vec<u8>, String> {
    if !digits.len().is_multiple_of(2) || !digits.is_ascii() {
        return Err("bad DS digest".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| "bad DS digest".into()))
        .collect()
}

/// The DS and DNSKEY records of `text`.
pub(crate) fn parse(text: &str) -> Result<Vec<Anchor>, String> {
    let mut anchors = Vec::new();
    for fields in records(text)? {
        let owner = Name::from_ascii(fields[0]).map_err(|e| format!("{}: {e}", fields[0]))?;
        let mut owner = owner;
        owner.set_fqdn(true);
        // Owner [TTL] [class] type: skip a TTL and the class IN.
        let mut rest = &fields[1..];
        if rest.first().is_some_and(|f| f.parse::<u32>().is_ok()) {
            rest = &rest[1..];
        }
        if rest.first().is_some_and(|f| f.eq_ignore_ascii_case("IN")) {
            rest = &rest[1..];
        }
        let Some((rtype, data)) = rest.split_first() else {
            return Err(format!("{owner}: no type"));
        };
        if rtype.eq_ignore_ascii_case("DNSKEY") {
            let flags: u16 = number(data.first(), "DNSKEY flags")?;
            let algorithm: u8 = number(data.get(2), "DNSKEY algorithm")?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(data.get(3..).unwrap_or_default().concat())
                .map_err(|e| format!("DNSKEY key: {e}"))?;
            if data.len() < 4 || key.is_empty() {
                return Err(format!("{owner}: short DNSKEY"));
            }
            let key = PublicKeyBuf::new(key, Algorithm::from_u8(algorithm));
            anchors.push(Anchor::Key(owner, DNSKEY::with_flags(flags, key)));
        } else if rtype.eq_ignore_ascii_case("DS") {
            let tag: u16 = number(data.first(), "DS key tag")?;
            let algorithm: u8 = number(data.get(1), "DS algorithm")?;
            let digest_type: u8 = number(data.get(2), "DS digest type")?;
            let digest = hex(&data.get(3..).unwrap_or_default().concat())?;
            if digest.is_empty() {
                return Err(format!("{owner}: short DS"));
            }
            let ds = DS::new(
                tag,
                Algorithm::from_u8(algorithm),
                DigestType::from(digest_type),
                digest,
            );
            anchors.push(Anchor::Ds(owner, ds));
        }
    }
    Ok(anchors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_span_parentheses_and_skip_comments() {
        let text =
            "; root\n. 172800 IN DNSKEY ( 257 3 8\n AwEA ; key\n AQ== )\nx. IN DS 1 8 2 ab\n";
        let r = records(text).unwrap();
        assert_eq!(
            r[0],
            [".", "172800", "IN", "DNSKEY", "257", "3", "8", "AwEA", "AQ=="]
        );
        assert_eq!(r[1], ["x.", "IN", "DS", "1", "8", "2", "ab"]);
        assert!(records(". DS ( 1").is_err());
        assert!(records(". DS 1 )").is_err());
    }
}
