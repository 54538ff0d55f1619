//! A caller's way to open a connection's byte stream (a Unix socket, a stream through
//! a proxy, a test's in-memory pipe), kept in a `Builder` so that `connect` and every
//! connection of a pool use it. TLS, when configured, still runs on top of it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a connector is asked to reach: the `Builder`'s host and port (the port its
/// default when none was given), and how long connecting may take.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The host given to `Builder::new`; TLS verifies the server's certificate against
    /// it whatever the connector reaches.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The `Builder`'s connect timeout. The async adapters bound the connector's future
    /// by it; a blocking connector must bound itself.
    pub connect_timeout: Duration,
}

impl Target {
    /// A target (for a connector's own tests: a `Builder` makes them).
    pub fn new(host: impl Into<String>, port: u16, connect_timeout: Duration) -> Self {
        Target {
            host: host.into(),
            port,
            connect_timeout,
        }
    }
}

/// A shared connector function; `O` is what one call gives: the blocking adapter's
/// `io::Result` of a boxed socket, the async adapters' boxed future of one. Cloning
/// shares the function, so a `Builder`'s clones (a pool's connections) call the same.
pub struct Connector<O>(Arc<dyn Fn(&Target) -> O + Send + Sync>);

impl<O> Connector<O> {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&Target) -> O + Send + Sync + 'static) -> Self {
        Connector(Arc::new(f))
    }

    /// Asks it to open a stream to `target`.
    pub fn open(&self, target: &Target) -> O {
        (self.0)(target)
    }
}

impl<O> Clone for Connector<O> {
    fn clone(&self) -> Self {
        Connector(self.0.clone())
    }
}

impl<O> fmt::Debug for Connector<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Connector")
    }
}
