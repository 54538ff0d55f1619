//! The `_smtp._tls.<domain>` TXT record (RFC 8460 §3): where a domain wants its TLS
//! reports.

use alloc::string::String;
use alloc::vec::Vec;

use super::txt::{fields, the_record, trim_wsp, TxtError};

/// The version tag a record must begin with (RFC 8460 §3, case-sensitive).
const VERSION: &[u8] = b"v=TLSRPTv1";
/// The most `rua` URIs kept; more make the record invalid (a bound on hostile input).
pub const MAX_RUA: usize = 16;

/// A valid TLSRPT record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsRptRecord {
    /// The aggregate report URIs, `mailto:` or `https:` (RFC 8460 §3), in order.
    pub rua: Vec<String>,
}

/// Reads the TLSRPT record from a TXT answer's records. Exactly one must begin with
/// `v=TLSRPTv1` (RFC 8460 §3: otherwise the domain does not implement TLSRPT).
///
/// # Errors
/// [`TxtError::NoRecord`], [`TxtError::Multiple`], [`Malformed`](TxtError::Malformed),
/// [`Missing("rua")`](TxtError::Missing), [`Duplicate("rua")`](TxtError::Duplicate), or
/// [`BadValue("rua")`](TxtError::BadValue) for a URI that is neither `mailto:` nor
/// `https:`, holds a space or control character, or is one too many.
pub fn parse_tlsrpt_txt<'a, I>(txts: I) -> Result<TlsRptRecord, TxtError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let record = the_record(txts, VERSION)?;
    let mut rua = None;
    for field in fields(record, VERSION)? {
        let (name, value) = field?;
        if name != b"rua" {
            continue; // tlsrpt-extension
        }
        if rua.is_some() {
            return Err(TxtError::Duplicate("rua"));
        }
        let mut uris = Vec::new();
        // tlsrpt-rua = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
        for uri in value.split(|&b| b == b',').map(trim_wsp) {
            if uris.len() == MAX_RUA || !is_report_uri(uri) {
                return Err(TxtError::BadValue("rua"));
            }
            uris.push(String::from_utf8_lossy(uri).into_owned());
        }
        rua = Some(uris);
    }
    let rua = rua.ok_or(TxtError::Missing("rua"))?;
    Ok(TlsRptRecord { rua })
}

/// A `mailto:` or `https:` URI (RFC 8460 §3) of visible ASCII.
fn is_report_uri(uri: &[u8]) -> bool {
    let rest = [&b"mailto:"[..], b"https:"].iter().find_map(|scheme| {
        let head = uri.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &uri[scheme.len()..])
    });
    rest.is_some_and(|r| !r.is_empty() && r.iter().all(|&b| matches!(b, 0x21..=0x7e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(txt: &str) -> Result<TlsRptRecord, TxtError> {
        parse_tlsrpt_txt([txt.as_bytes()])
    }

    #[test]
    fn reads_every_rua_uri() {
        let r = one("v=TLSRPTv1; rua=mailto:tls@example.com , https://r.example/x;").unwrap();
        assert_eq!(r.rua, ["mailto:tls@example.com", "https://r.example/x"]);
    }

    #[test]
    fn refuses_missing_duplicate_or_foreign_uris_and_two_records() {
        assert_eq!(one("v=TLSRPTv1; x=1"), Err(TxtError::Missing("rua")));
        assert_eq!(
            one("v=TLSRPTv1; rua=ftp://x"),
            Err(TxtError::BadValue("rua"))
        );
        assert_eq!(
            one("v=TLSRPTv1; rua=mailto:"),
            Err(TxtError::BadValue("rua"))
        );
        assert_eq!(
            one("v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d"),
            Err(TxtError::Duplicate("rua"))
        );
        let many = ["v=TLSRPTv1; rua=", &["mailto:a@b"; 17].join(",")].concat();
        assert_eq!(one(&many), Err(TxtError::BadValue("rua")));
        let r: &[u8] = b"v=TLSRPTv1; rua=mailto:a@b";
        assert_eq!(parse_tlsrpt_txt([r, r]), Err(TxtError::Multiple));
    }
}
