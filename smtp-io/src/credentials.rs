//! Credentials fetched per connection: a [`CredentialsProvider`] the `Builder` calls
//! each time it connects, so that a short-lived secret (an OAuth 2.0 access token) can
//! be refreshed between connections, and every connection of a pool authenticates with
//! a current one.

use std::error::Error as StdError;
use std::fmt;
use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::Arc;

use smtp_proto::Credentials;

/// What [`CredentialsProvider::credentials`] returns: a boxed future, so that the trait
/// is object-safe and tied to no runtime.
pub type CredentialsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Credentials, CredentialsError>> + Send + 'a>>;

/// Where a `Builder` gets the credentials of each connection it opens (a pool opens
/// all of its connections through it). Called once per connect, before the socket is
/// opened: a failure ends that connect with
/// [`Error::Credentials`](crate::Error::Credentials) and nothing is opened.
///
/// A closure `Fn() -> Result<Credentials, CredentialsError>` is a provider (a
/// synchronous one: it runs on the connecting task, so it should not block for long
/// on an async runtime). A provider that must wait (an HTTP token refresh) implements
/// the trait and returns its future; the async adapters await it on their runtime, the
/// blocking adapter waits for it on the connecting thread, so that future must not need
/// a runtime of its own there.
pub trait CredentialsProvider: Send + Sync {
    /// The credentials for the connection being opened.
    fn credentials(&self) -> CredentialsFuture<'_>;
}

impl<F> CredentialsProvider for F
where
    F: Fn() -> Result<Credentials, CredentialsError> + Send + Sync,
{
    fn credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(ready(self()))
    }
}

/// Says only that it is a provider: what it holds may be secret.
impl fmt::Debug for dyn CredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialsProvider")
    }
}

/// Why a [`CredentialsProvider`] gave no credentials, and whether trying again later
/// may help (the token service was unreachable) or not (the grant was revoked). Its
/// text is the provider's error's: it must not contain the secret.
#[derive(Clone)]
pub struct CredentialsError {
    source: Arc<dyn StdError + Send + Sync>,
    transient: bool,
}

impl CredentialsError {
    /// A failure that may not happen again: a pool retries the connect later.
    pub fn transient(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        CredentialsError {
            source: source.into().into(),
            transient: true,
        }
    }

    /// A failure that will happen again: a pool does not retry.
    pub fn permanent(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        CredentialsError {
            source: source.into().into(),
            transient: false,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Debug for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsError")
            .field("source", &self.source)
            .field("transient", &self.transient)
            .finish()
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no credentials: {}", self.source)
    }
}

impl StdError for CredentialsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on::block_on;

    #[test]
    fn a_closure_is_a_provider_and_its_error_keeps_its_class() {
        let ok = || Credentials::oauth2("u", "t").map_err(CredentialsError::permanent);
        let p: Arc<dyn CredentialsProvider> = Arc::new(ok);
        assert!(matches!(
            block_on(p.credentials()),
            Ok(Credentials::OAuth2 { .. })
        ));
        assert_eq!(format!("{p:?}"), "CredentialsProvider");
        let down = CredentialsError::transient("token service unreachable");
        assert!(down.is_transient());
        assert_eq!(
            down.to_string(),
            "no credentials: token service unreachable"
        );
        assert!(!CredentialsError::permanent("revoked").is_transient());
    }
}
