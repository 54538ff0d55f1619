//! The `_mta-sts.<domain>` TXT record (RFC 8461 §3.1): whether a domain has an MTA-STS
//! policy, and the `id` that says when it changed.

use alloc::string::String;

use super::txt::{fields, the_record, TxtError};

/// The version tag a record must begin with (case-sensitive, RFC 8461 §3.1 `%s`).
const VERSION: &[u8] = b"v=STSv1";
/// The longest `id` (RFC 8461 §3.1: `1*32(ALPHA / DIGIT)`).
pub const MAX_STS_ID_LEN: usize = 32;

/// A valid `_mta-sts` record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StsRecord {
    /// The policy's instance identifier: 1 to 32 letters and digits.
    pub id: String,
}

/// Reads the `_mta-sts` record from a TXT answer's records (each its strings
/// concatenated). Exactly one record must begin with `v=STSv1`; several mean no policy
/// (RFC 8461 §3.1), as does none.
///
/// # Errors
/// [`TxtError::NoRecord`], [`TxtError::Multiple`], or why the one record is invalid:
/// [`Malformed`](TxtError::Malformed), [`Missing("id")`](TxtError::Missing),
/// [`Duplicate("id")`](TxtError::Duplicate), [`BadValue("id")`](TxtError::BadValue).
pub fn parse_sts_txt<'a, I>(txts: I) -> Result<StsRecord, TxtError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let record = the_record(txts, VERSION)?;
    let mut id = None;
    for field in fields(record, VERSION)? {
        let (name, value) = field?;
        // Field names are case-sensitive (`%s"id="`); other fields are extensions,
        // whose values only have to fit their rule.
        if name == b"id" {
            if value.is_empty()
                || value.len() > MAX_STS_ID_LEN
                || !value.iter().all(u8::is_ascii_alphanumeric)
            {
                return Err(TxtError::BadValue("id"));
            }
            if id.is_some() {
                return Err(TxtError::Duplicate("id"));
            }
            id = Some(value);
        } else if !value
            .iter()
            .all(|&b| matches!(b, 0x21..=0x3a | 0x3c | 0x3e..=0x7e))
        {
            // sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): no `=`, no `;`, no space.
            return Err(TxtError::Malformed);
        }
    }
    let id = id.ok_or(TxtError::Missing("id"))?;
    // All ASCII alphanumerics: valid UTF-8.
    Ok(StsRecord {
        id: String::from_utf8_lossy(id).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(txt: &str) -> Result<StsRecord, TxtError> {
        parse_sts_txt([txt.as_bytes()])
    }

    #[test]
    fn reads_the_id_with_any_spacing_and_a_trailing_delimiter() {
        for txt in [
            "v=STSv1; id=20160831085700Z;",
            "v=STSv1;id=20160831085700Z",
            "v=STSv1 ;\tid=20160831085700Z ; ",
            "v=STSv1; ext-1.x=abc; id=20160831085700Z",
        ] {
            assert_eq!(one(txt).unwrap().id, "20160831085700Z", "{txt}");
        }
    }

    #[test]
    fn the_id_is_one_to_thirty_two_alphanumerics() {
        assert_eq!(
            one(&["v=STSv1; id=", &"a".repeat(32)].concat())
                .unwrap()
                .id
                .len(),
            32
        );
        for bad in ["v=STSv1; id=", "v=STSv1; id=a-b", "v=STSv1; id=ü"] {
            assert!(one(bad).is_err(), "{bad}");
        }
        let long = ["v=STSv1; id=", &"a".repeat(33)].concat();
        assert_eq!(one(&long), Err(TxtError::BadValue("id")));
        assert_eq!(one("v=STSv1; x=1"), Err(TxtError::Missing("id")));
        assert_eq!(one("v=STSv1; id=1; id=2"), Err(TxtError::Duplicate("id")));
        assert_eq!(one("v=STSv1 id=1"), Err(TxtError::Malformed));
        assert_eq!(one("v=STSv1; id=1;; x=2"), Err(TxtError::Malformed));
        // Extension fields: a name of 1 to 32 letters, digits, `_-.` starting with a
        // letter or digit (RFC 8461 §3.1 sts-ext-name), and a value.
        let name32 = ["v=STSv1; id=1; ", &"a".repeat(32), "=1"].concat();
        assert!(one(&name32).is_ok());
        let name33 = ["v=STSv1; id=1; ", &"a".repeat(33), "=1"].concat();
        for bad in [
            "v=STSv1; id=1; x=",
            "v=STSv1; id=1; -a=1",
            "v=STSv1; id=1; a$=1",
            &name33,
        ] {
            assert_eq!(one(bad), Err(TxtError::Malformed), "{bad}");
        }
        // The version tag is case-sensitive.
        assert_eq!(one("v=stsv1; id=1"), Err(TxtError::NoRecord));
    }

    #[test]
    fn exactly_one_sts_record_among_the_txt_records() {
        let spf: &[u8] = b"v=spf1 -all";
        let a: &[u8] = b"v=STSv1; id=a";
        let b: &[u8] = b"v=STSv1; id=b";
        assert_eq!(parse_sts_txt([spf, a]).unwrap().id, "a");
        assert_eq!(parse_sts_txt([a, spf, b]), Err(TxtError::Multiple));
        assert_eq!(parse_sts_txt([spf]), Err(TxtError::NoRecord));
        let other: &[u8] = b"v=STSv10; id=c";
        assert_eq!(parse_sts_txt([other, a]).unwrap().id, "a");
    }
}
