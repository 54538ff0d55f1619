//! The `v=...; key=value; ...` shape that the `_mta-sts` (RFC 8461 §3.1) and
//! `_smtp._tls` (RFC 8460 §3) TXT records share.

/// Why no single record of a kind could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxtError {
    /// No TXT record starts with the version tag: the domain publishes none.
    NoRecord,
    /// More than one does: RFC 8461 §3.1 and RFC 8460 §3 both say to assume none.
    Multiple,
    /// The record is not `version 1*(delim field) [delim]`.
    Malformed,
    /// A required field is missing.
    Missing(&'static str),
    /// A field that may appear once appeared twice.
    Duplicate(&'static str),
    /// A field's value is not what its grammar allows.
    BadValue(&'static str),
}

/// The one record among `txts` that begins with `version` (followed by the field
/// delimiter or the end): records that do not are someone else's and discarded.
pub(crate) fn the_record<'a, I>(txts: I, version: &[u8]) -> Result<&'a [u8], TxtError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut found = None;
    for txt in txts {
        let Some(rest) = txt.strip_prefix(version) else {
            continue;
        };
        if !matches!(rest.first(), None | Some(b';' | b' ' | b'\t')) {
            continue; // `v=STSv10`: another version
        }
        if found.replace(txt).is_some() {
            return Err(TxtError::Multiple);
        }
    }
    found.ok_or(TxtError::NoRecord)
}

/// One `name=value` field of a record.
pub(crate) type Field<'a> = Result<(&'a [u8], &'a [u8]), TxtError>;

/// The fields after the version tag as `(name, value)` pairs, delimited by
/// `*WSP ";" *WSP` with an optional delimiter at the end. `record` starts with `version`.
pub(crate) fn fields<'a>(
    record: &'a [u8],
    version: &[u8],
) -> Result<impl Iterator<Item = Field<'a>>, TxtError> {
    let rest = record.get(version.len()..).ok_or(TxtError::Malformed)?;
    let rest = trim_wsp(rest);
    // The version is followed by at least one field (RFC 8461 §3.1, RFC 8460 §3).
    let rest = rest.strip_prefix(b";").ok_or(TxtError::Malformed)?;
    let mut parts = rest.split(|&b| b == b';').peekable();
    Ok(core::iter::from_fn(move || {
        let part = trim_wsp(parts.next()?);
        // Only the trailing delimiter may leave an empty field.
        if part.is_empty() && parts.peek().is_none() {
            return None;
        }
        Some(field(part))
    }))
}

fn field(part: &[u8]) -> Field<'_> {
    let eq = part
        .iter()
        .position(|&b| b == b'=')
        .ok_or(TxtError::Malformed)?;
    let (name, value) = (&part[..eq], &part[eq + 1..]);
    if !is_ext_name(name) || value.is_empty() {
        return Err(TxtError::Malformed);
    }
    Ok((name, value))
}

/// `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`: the extension-name rule of
/// RFC 8461 §3.1 and RFC 8460 §3 (the known names fit it too).
pub(crate) fn is_ext_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest.len() <= 31
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
        None => false,
    }
}

pub(crate) fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}
