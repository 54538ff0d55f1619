//! Commands the client sends, and the validated values they carry.
//!
//! Every argument type here checks its value when it is built and has no public fields,
//! so a command can only carry values that encode to one well-formed line. In
//! particular CR, LF, NUL and every other control character are refused at construction
//! (RFC 5321 §2.3.8), with an [`AddressError`] naming the byte's offset. That closes the
//! command-injection class behind Go issue 21159, PHPMailer CVE-2015-8476, Python
//! bpo-43124, aiosmtplib GHSA-v3q9-hj7j-63hq and Nodemailer GHSA-c7w3-x93f-qmm8 /
//! GHSA-vvjj-xcjg-gr5g.
//!
//! ```
//! use smtp_proto::command::ReversePath;
//!
//! assert!(ReversePath::new("alice@example.org").is_ok());
//! assert!(ReversePath::new("a@b>\r\nDATA").is_err());
//! ```

/// `PartialEq`, `Eq` and `Hash` by the value's own text (`as_str`), for the types whose
/// other fields are derived from that text (a [`Domain`], a mailbox), so that copies
/// sharing a larger text compare as copies of their own do.
macro_rules! eq_and_hash_by_text {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $t {}

        impl core::hash::Hash for $t {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }
    };
}

mod chars;
mod domain;
mod error;
mod itoa;
mod literal;
mod local_part;
mod mechanism;
mod params;
mod path;
mod vrfy;
// `Command` is public with the `unstable` feature only (lib.rs, "Stability").
#[cfg_attr(not(feature = "unstable"), allow(unreachable_pub, dead_code))]
mod wire;
mod xtext;

pub use domain::{Domain, EhloName, MAX_DOMAIN_LEN, MAX_LABEL_LEN};
pub use error::{AddressError, AddressErrorKind};
pub use local_part::MAX_LOCAL_PART_LEN;
pub use mechanism::{Mechanism, MAX_MECHANISM_LEN};
pub use params::{
    BodyType, EnvId, MailParams, Notify, Orcpt, OrcptType, RcptParams, Ret, MAX_ENVID_LEN,
    MAX_ORCPT_LEN,
};
pub use path::{ForwardPath, Mailbox, ReversePath, MAX_PATH_LEN};
pub use vrfy::{VrfyArg, MAX_VRFY_LEN};
unstable_pub! { pub use wire::Command; }
