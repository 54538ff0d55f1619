//! `--dkim-key`, `--dkim-selector`, `--dkim-domain`: the message is signed once, before
//! the session, with smtp-io's DKIM signer, so that every copy of `--repeat` (on the
//! session's connection or a pool's) carries the signature and the envelope's SIZE= and
//! BODY= are those of the signed message.

use smtp_io::dkim::{DkimError, DkimSigner};

use crate::args::Args;
use crate::exit::Failure;

/// `message`, signed if the three options are given (clap requires all three or none).
pub(crate) fn sign(args: &Args, message: Vec<u8>) -> Result<Vec<u8>, Failure> {
    let (Some(path), Some(selector), Some(domain)) =
        (&args.dkim_key, &args.dkim_selector, &args.dkim_domain)
    else {
        return Ok(message);
    };
    let pem = std::fs::read(path)
        .map_err(|e| Failure::Input(format!("cannot read {}: {e}", path.display())))?;
    let signer = DkimSigner::from_pem(pem, domain.as_str(), selector.as_str()).map_err(|e| {
        let option = match e {
            DkimError::InvalidDomain => format!("--dkim-domain {domain:?}"),
            DkimError::InvalidSelector => format!("--dkim-selector {selector:?}"),
            _ => format!("--dkim-key {}", path.display()),
        };
        Failure::Usage(format!("{option}: {e}"))
    })?;
    signer
        .sign(&message)
        .map_err(|e| Failure::Data(format!("DKIM: {e}")))
}
