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

/// What the two async adapters' connector code shares, written once: expands (in the
/// adapter's connector module, `$read`/`$write` its runtime's I/O traits and
/// `$read_ext`/`$write_ext` their extension traits) to the public `Socket` trait and
/// `BoxSocket`, the crate's `Opening` and `Connector` types, the `connector` setter of
/// `$builder` (whose field `connector` holds an `Option<Connector>`), and its `proxy`
/// setter, whose connector opens a `$stream` to the proxy with `$tcp` (`async
/// fn(&str, u16) -> io::Result<$stream>`), resolves the host with `$resolve` (`async
/// fn(&str, u16) -> io::Result<impl Iterator<Item = SocketAddr>>`) under `socks5`,
/// and drives the [`socks::Handshake`](crate::socks::Handshake). A macro for the
/// reason [`builder_methods!`](crate::builder_methods) is one, and because the traits
/// differ by runtime.
#[macro_export]
macro_rules! async_connector {
    (
        $builder:ty,
        $read:path,
        $write:path,
        $read_ext:path,
        $write_ext:path,
        $stream:ty,
        $tcp:path,
        $resolve:path
    ) => {
        /// A stream a [`Connection`](crate::Connection) can run over, as a connector gives
        /// it: a byte stream of the runtime's that can move to and be shared with other
        /// threads (TCP, Unix sockets, an in-memory pipe, a TLS stream to a proxy ...).
        pub trait Socket: $read + $write + Unpin + Send + Sync {}

        impl<T: $read + $write + Unpin + Send + Sync> Socket for T {}

        /// The stream of a [`Connection`](crate::Connection) that
        /// [`Builder::connect`](crate::Builder::connect) opened: TCP's, or the connector's.
        pub type BoxSocket = Box<dyn Socket>;

        /// What one call of a connector gives.
        pub(crate) type Opening = ::std::pin::Pin<
            Box<dyn ::std::future::Future<Output = ::std::io::Result<BoxSocket>> + Send>,
        >;

        /// A `Builder`'s connector.
        pub(crate) type Connector = $crate::Connector<Opening>;

        impl $builder {
            /// Opens each connection's stream with `connector` instead of TCP: a Unix
            /// socket, a stream through a proxy, a test's in-memory pipe.
            /// [`Builder::connect`](crate::Builder::connect) and every connection of a
            /// [`Pool`](crate::Pool) built from this builder call it, with the builder's
            /// host, port and connect timeout ([`Target`](crate::Target)); the future it
            /// returns is bounded by that timeout. TLS, greeting, EHLO, STARTTLS and AUTH
            /// then run over the stream as over TCP (the certificate is still verified
            /// against the host).
            pub fn connector<F, Fut, S>(mut self, connector: F) -> Self
            where
                F: Fn(&$crate::Target) -> Fut + Send + Sync + 'static,
                Fut: ::std::future::Future<Output = ::std::io::Result<S>> + Send + 'static,
                S: Socket + 'static,
            {
                self.connector = Some(Connector::new(move |target| {
                    let opening = connector(target);
                    Box::pin(async move { Ok(Box::new(opening.await?) as BoxSocket) }) as Opening
                }));
                self
            }

            /// Connects through a SOCKS5 proxy (RFC 1928; RFC 1929 username and
            /// password when its URL has them): a [`connector`](Self::connector) opening
            /// a TCP connection to the proxy and asking it for the builder's host and
            /// port, all within the connect timeout. Under `socks5h://` the proxy
            /// resolves the host name; under `socks5://` it is resolved here and its
            /// first address sent. TLS still verifies the certificate against the host.
            /// A proxy that refuses is [`Error::Proxy`](crate::Error::Proxy) with its
            /// reason. Replaces any connector set before.
            pub fn proxy(self, proxy: $crate::socks::Proxy) -> Self {
                self.connector(move |target| through(proxy.clone(), target.clone()))
            }
        }

        /// The stream to `target` through `proxy` (RFC 1928): TCP to the proxy, then
        /// its handshake (the adapter bounds it all by the connect timeout). Under
        /// `socks5` the target's name is resolved here and each address asked for in
        /// turn while the proxy refuses (as TCP tries each).
        async fn through(
            proxy: $crate::socks::Proxy,
            target: $crate::Target,
        ) -> ::std::io::Result<$stream> {
            use $crate::socks::{Destination, ProxyError};
            let destinations: Vec<Destination> = match proxy.destination(&target.host) {
                Some(d) => vec![d],
                None => $resolve(&target.host, target.port)
                    .await?
                    .map(|a| Destination::Ip(a.ip()))
                    .collect(),
            };
            let mut last =
                ::std::io::Error::new(::std::io::ErrorKind::NotFound, "the host has no address");
            for destination in destinations {
                match proxy_handshake(&proxy, destination, target.port).await {
                    Err(e) if ProxyError::try_next_address(&e) => last = e,
                    done => return done,
                }
            }
            Err(last)
        }

        /// One connection to the proxy, asking for `destination`.
        async fn proxy_handshake(
            proxy: &$crate::socks::Proxy,
            destination: $crate::socks::Destination,
            port: u16,
        ) -> ::std::io::Result<$stream> {
            use $crate::socks::{Next, MAX_READ};
            use $read_ext as _;
            use $write_ext as _;
            let mut handshake = proxy.handshake(destination, port)?;
            let mut tcp = $tcp(proxy.host(), proxy.port()).await?;
            let mut buf = [0; MAX_READ];
            loop {
                match handshake.poll()? {
                    Next::Write(bytes) => tcp.write_all(&bytes).await?,
                    Next::Read(max) => {
                        let n = tcp.read(&mut buf[..max]).await?;
                        handshake.handle_input(&buf[..n])?;
                    }
                    Next::Done => return Ok(tcp),
                }
            }
        }
    };
}
