//! The message to send: a file or standard input as is, one built with mail-builder
//! from `--subject`/`--body`/`--header`/`--attach`, or a short test message.

use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use mail_builder::headers::text::Text;
use mail_builder::MessageBuilder;

use crate::args::Args;
use crate::exit::Failure;

/// The message bytes for these arguments.
pub(crate) fn load(args: &Args) -> Result<Vec<u8>, Failure> {
    if let Some(path) = &args.data {
        return read_data(path);
    }
    let built = args.subject.is_some()
        || args.body.is_some()
        || !args.header.is_empty()
        || !args.attach.is_empty();
    let mut builder = MessageBuilder::new()
        .from(args.from.as_deref().unwrap_or_default())
        .to(args.to.iter().map(String::as_str).collect::<Vec<_>>());
    let host = local_host();
    let (subject, body) = if built {
        (args.subject.clone(), args.body.clone().unwrap_or_default())
    } else {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        (
            Some(format!("smtp-send test message from {host}")),
            format!(
                "This is a test message sent by smtp-send {} from {host} at {} (Unix time).\r\n",
                env!("CARGO_PKG_VERSION"),
                secs,
            ),
        )
    };
    if let Some(subject) = subject {
        builder = builder.subject(subject);
    }
    for header in &args.header {
        let (name, value) = parse_header(header)?;
        builder = builder.header(name.to_owned(), Text::new(value.to_owned()));
    }
    builder = builder.text_body(body);
    for path in &args.attach {
        let content = std::fs::read(path)
            .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        builder = builder.attachment(content_type(path), name, content);
    }
    builder
        .write_to_vec()
        .map_err(|e| Failure::Data(format!("cannot build the message: {e}")))
}

fn read_data(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin().lock().read_to_end(&mut data).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut data).map(|_| ()))
    };
    result.map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
    Ok(data)
}

/// `Name: value`: the name printable ASCII without `:` (RFC 5322 §2.2), the value
/// without line breaks (a header cannot smuggle another one in).
fn parse_header(h: &str) -> Result<(&str, &str), Failure> {
    let bad = || Failure::Usage(format!("--header {h:?}: expected 'Name: value'"));
    let (name, value) = h.split_once(':').ok_or_else(bad)?;
    let name = name.trim();
    let value = value.trim();
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !name_ok || value.contains(['\r', '\n']) {
        return Err(bad());
    }
    Ok((name, value))
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        _ => "application/octet-stream",
    }
}

/// This machine's name, for the test message.
pub(crate) fn local_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked() {
        assert_eq!(parse_header("X-Test: a b").unwrap(), ("X-Test", "a b"));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": empty name").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("X-A: one\r\nX-B: two").is_err());
    }
}
