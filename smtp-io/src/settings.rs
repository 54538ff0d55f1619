//! What an adapter's `Builder` holds before it connects, and its constructor and setters.

use std::sync::Arc;
use std::time::Duration;

use smtp_proto::command::EhloName;
use smtp_proto::{Config, TlsMode, TlsPolicy};

#[cfg(feature = "rustls")]
use crate::tls::TlsSetup;
use crate::{CredentialsProvider, Target};

/// Where to connect and how to run the session: everything of an adapter's `Builder`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// The host: a name to resolve, or an IP address; TLS certificates are verified
    /// against it.
    pub host: String,
    /// The TCP port; `None`: [`Settings::port_or_default`].
    pub port: Option<u16>,
    /// The core's configuration.
    pub config: Config,
    /// How long name resolution plus the TCP connect may take.
    pub connect_timeout: Duration,
    /// The rustls configuration; `None`: [`tls::default_config`](crate::tls::default_config).
    #[cfg(feature = "rustls")]
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
    /// Where each connect gets its credentials; `None`: `config.credentials`, the same
    /// every time.
    pub credentials_provider: Option<Arc<dyn CredentialsProvider>>,
    /// What is done to each whole message before it is sent (DKIM signing).
    pub signing: crate::Signing,
}

impl Settings {
    /// Defaults: STARTTLS required, EHLO name `localhost`, RFC 5321 timeouts, 30 s to
    /// connect.
    pub fn new(host: String) -> Self {
        Settings {
            host,
            port: None,
            config: Config::new(EhloName::localhost()),
            connect_timeout: Duration::from_secs(30),
            #[cfg(feature = "rustls")]
            tls_config: None,
            credentials_provider: None,
            signing: crate::Signing::default(),
        }
    }

    /// What a connector is asked to reach: host, port (its default when none was
    /// given), connect timeout.
    pub fn target(&self) -> Target {
        Target::new(
            self.host.clone(),
            self.port_or_default(),
            self.connect_timeout,
        )
    }

    /// The configuration of the session about to start: `config`, with the
    /// credentials of the [`credentials_provider`](Self::credentials_provider) if there
    /// is one (called once per connect: a refreshed token for every connection).
    ///
    /// # Errors
    /// The provider's, as [`Error::Credentials`](crate::Error::Credentials).
    pub async fn session_config(&self) -> Result<Config, crate::Error> {
        let mut config = self.config.clone();
        if let Some(provider) = &self.credentials_provider {
            let credentials = provider
                .credentials()
                .await
                .map_err(crate::Error::Credentials)?;
            config.credentials = Some(credentials);
        }
        Ok(config)
    }

    /// The port given, else 465 with implicit TLS (RFC 8314), 24 with LMTP (RFC 2033),
    /// 25.
    pub fn port_or_default(&self) -> u16 {
        match (self.port, self.config.tls) {
            (Some(port), _) => port,
            (None, TlsMode::Implicit) => 465,
            (None, _) if self.config.lmtp => 24,
            (None, _) => 25,
        }
    }

    /// Whether the session may need TLS (everything but STARTTLS disabled).
    pub fn may_use_tls(&self) -> bool {
        self.config.tls != TlsMode::StartTls(TlsPolicy::Disabled)
    }

    /// Refuses, before anything is resolved or connected, a configuration under which
    /// a session could not make progress ([`Config::validate`]): the same
    /// [`UsageError::InvalidConfig`](smtp_proto::UsageError::InvalidConfig) the session
    /// would end with, without a connection opened for nothing.
    pub fn check(&self) -> Result<(), crate::Error> {
        self.config
            .validate()
            .map_err(|e| crate::Error::Usage(smtp_proto::UsageError::InvalidConfig(e)))
    }

    /// What a TLS handshake will need, if the session may use TLS: the host checked as
    /// a server name ([`Error::InvalidHost`](crate::Error::InvalidHost) before the
    /// session starts), and the configuration.
    #[cfg(feature = "rustls")]
    pub fn tls_setup(&self) -> Result<Option<TlsSetup>, crate::Error> {
        self.may_use_tls()
            .then(|| TlsSetup::new(&self.host, self.tls_config.clone()))
            .transpose()
    }
}

/// The constructor and setters every adapter's `Builder` has, written once: expands,
/// inside `impl Builder`, to `new(host)`, `from_settings` and chainable methods on its
/// field `$settings` (a [`Settings`]), and `tls_config` with the `rustls` feature. The
/// `Builder`'s other fields, named after it (an adapter's connector), start as their
/// `Default`.
///
/// A macro because the methods must be the `Builder`'s own: a crate can add inherent
/// methods only to its own types, and setters from a shared trait would work only
/// where the caller imports that trait (`Builder::new(host).port(587)` would not
/// compile with the adapter's `Builder` alone in scope).
///
/// ```
/// use smtp_io::Settings;
///
/// /// An adapter's builder.
/// pub struct Builder {
///     settings: Settings,
/// }
///
/// impl Builder {
///     smtp_io::builder_methods!(settings);
/// }
///
/// let b = Builder::new("mx.example").lmtp(true);
/// assert_eq!(b.settings.port_or_default(), 24);
/// ```
#[macro_export]
macro_rules! builder_methods {
    ($settings:ident $(, $other:ident)*) => {
        /// Connects to `host` (a name to resolve, or an IP address); TLS certificates
        /// are verified against it. Defaults: port 25 (465 with implicit TLS, 24 with
        /// LMTP), STARTTLS required, EHLO name `localhost`, RFC 5321 timeouts, 30 s to
        /// connect.
        pub fn new(host: impl Into<String>) -> Self {
            Self::from_settings($crate::Settings::new(host.into()))
        }

        /// A builder with these settings, as the setters below would leave them (one
        /// place for a program that keeps its own settings, such as smtp-send's).
        pub fn from_settings(settings: $crate::Settings) -> Self {
            Self {
                $settings: settings,
                $($other: ::std::default::Default::default(),)*
            }
        }

        /// The TCP port; default 25, or 465 with implicit TLS, or 24 with LMTP.
        pub fn port(mut self, port: u16) -> Self {
            self.$settings.port = Some(port);
            self
        }

        /// TLS from the first byte (RFC 8314).
        pub fn implicit_tls(mut self) -> Self {
            self.$settings.config.tls = $crate::smtp_proto::TlsMode::Implicit;
            self
        }

        /// Cleartext first, then STARTTLS according to `policy` (RFC 3207).
        pub fn starttls(mut self, policy: $crate::smtp_proto::TlsPolicy) -> Self {
            self.$settings.config.tls = $crate::smtp_proto::TlsMode::StartTls(policy);
            self
        }

        /// Authenticate with these, on every connection (only over TLS unless
        /// [`allow_plaintext_auth`](Self::allow_plaintext_auth)). Replaces a
        /// [`credentials_provider`](Self::credentials_provider).
        pub fn credentials(mut self, credentials: $crate::smtp_proto::Credentials) -> Self {
            self.$settings.config.credentials = Some(credentials);
            self.$settings.credentials_provider = None;
            self
        }

        /// Authenticate with what `provider` gives, asked once per connect (each
        /// connection of a pool too), so that a token can be refreshed; a provider's
        /// error fails that connect with `Error::Credentials`
        /// before anything is opened. Replaces [`credentials`](Self::credentials).
        pub fn credentials_provider(
            mut self,
            provider: impl $crate::CredentialsProvider + 'static,
        ) -> Self {
            self.$settings.config.credentials = None;
            self.$settings.credentials_provider = Some(::std::sync::Arc::new(provider));
            self
        }

        /// The name sent with EHLO or LHLO.
        pub fn ehlo_name(mut self, name: $crate::smtp_proto::command::EhloName) -> Self {
            self.$settings.config.ehlo_name = name;
            self
        }

        /// Speak LMTP (RFC 2033).
        pub fn lmtp(mut self, on: bool) -> Self {
            self.$settings.config.lmtp = on;
            self
        }

        /// Use PIPELINING when offered (default on).
        pub fn pipelining(mut self, on: bool) -> Self {
            self.$settings.config.pipelining = on;
            self
        }

        /// Use CHUNKING (BDAT) when offered (default on).
        pub fn chunking(mut self, on: bool) -> Self {
            self.$settings.config.chunking = on;
            self
        }

        /// Allow credentials on a cleartext session (default off).
        pub fn allow_plaintext_auth(mut self, on: bool) -> Self {
            self.$settings.config.allow_plaintext_auth = on;
            self
        }

        /// The reply deadlines.
        pub fn timeouts(mut self, timeouts: $crate::smtp_proto::Timeouts) -> Self {
            self.$settings.config.timeouts = timeouts;
            self
        }

        /// The bound on connecting (default 30 s).
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$settings.connect_timeout = timeout;
            self
        }

        /// The core's whole configuration, for what has no method here (AUTH
        /// preference, window, limits ...).
        pub fn config_mut(&mut self) -> &mut $crate::smtp_proto::Config {
            &mut self.$settings.config
        }

        $crate::__tls_config_setter!($settings);
        $crate::__dkim_signer_setter!($settings);
    };
}

/// `tls_config`, for [`builder_methods!`], when smtp-io has rustls.
#[cfg(feature = "rustls")]
#[doc(hidden)]
#[macro_export]
macro_rules! __tls_config_setter {
    ($settings:ident) => {
        /// The rustls configuration (trust anchors, client certificate ...); default:
        /// the webpki-roots trust anchors on the ring provider.
        pub fn tls_config(
            mut self,
            config: ::std::sync::Arc<$crate::rustls::ClientConfig>,
        ) -> Self {
            self.$settings.tls_config = Some(config);
            self
        }
    };
}

/// Nothing without rustls.
#[cfg(not(feature = "rustls"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __tls_config_setter {
    ($settings:ident) => {};
}

/// `dkim_signer`, for [`builder_methods!`], when smtp-io has DKIM signing.
#[cfg(feature = "dkim")]
#[doc(hidden)]
#[macro_export]
macro_rules! __dkim_signer_setter {
    ($settings:ident) => {
        /// Signs every message with DKIM before it is sent (RFC 6376): on every
        /// connection made from this builder and every pool made from it, in every
        /// method that sends a message (a streamed body is read into memory once to be
        /// signed). `SIZE=` and `BODY=` are declared for the signed content.
        pub fn dkim_signer(mut self, signer: $crate::dkim::DkimSigner) -> Self {
            self.$settings.signing = $crate::Signing::dkim(signer);
            self
        }
    };
}

/// Nothing without DKIM signing.
#[cfg(not(feature = "dkim"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __dkim_signer_setter {
    ($settings:ident) => {};
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Builder {
        settings: Settings,
    }

    // The macro writes `pub` methods, as an adapter's `Builder` needs them.
    #[allow(unreachable_pub)]
    impl Builder {
        builder_methods!(settings);
    }

    #[test]
    fn default_ports_and_setters() {
        let b = |f: fn(Builder) -> Builder| f(Builder::new("mx.example")).settings;
        assert_eq!(b(|b| b).port_or_default(), 25);
        assert_eq!(b(|b| b.implicit_tls()).port_or_default(), 465);
        assert_eq!(b(|b| b.implicit_tls().lmtp(true)).port_or_default(), 465);
        assert_eq!(b(|b| b.lmtp(true)).port_or_default(), 24);
        assert_eq!(b(|b| b.lmtp(true).port(2525)).port_or_default(), 2525);
        assert!(b(|b| b).may_use_tls());
        assert!(!b(|b| b.starttls(TlsPolicy::Disabled)).may_use_tls());
        let s = b(|b| {
            b.pipelining(false)
                .chunking(false)
                .allow_plaintext_auth(true)
                .connect_timeout(Duration::from_secs(3))
                .ehlo_name(EhloName::new("c.example").unwrap())
                .timeouts(smtp_proto::Timeouts::all(Duration::from_secs(9)))
                .credentials(smtp_proto::Credentials::password("u", "p").unwrap())
        });
        let mut with_window = Builder {
            settings: s.clone(),
        };
        with_window.config_mut().window = 7;
        assert_eq!(with_window.settings.config.window, 7);
        assert_eq!(s.config.ehlo_name.as_str(), "c.example");
        assert_eq!(s.config.timeouts.greeting, Duration::from_secs(9));
        assert!(s.config.credentials.is_some());
        assert!(!s.config.pipelining && !s.config.chunking && s.config.allow_plaintext_auth);
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn the_provider_is_asked_per_session_and_the_last_of_credentials_and_provider_wins() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let provider = move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            smtp_proto::Credentials::oauth2("alice", format!("token-{n}"))
                .map_err(crate::CredentialsError::permanent)
        };
        let fixed = smtp_proto::Credentials::password("u", "static-secret").unwrap();
        let b = Builder::new("mx.example")
            .credentials(fixed.clone())
            .credentials_provider(provider);
        assert!(b.settings.config.credentials.is_none());
        let token = |c: Config| match c.credentials {
            Some(smtp_proto::Credentials::OAuth2 { token, .. }) => token.expose().to_vec(),
            other => panic!("{other:?}"),
        };
        let first = crate::block_on(b.settings.session_config()).unwrap();
        let second = crate::block_on(b.settings.session_config()).unwrap();
        assert_eq!(token(first), b"token-1");
        assert_eq!(token(second), b"token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let debug = format!("{:?}", b.settings);
        assert!(debug.contains("CredentialsProvider"), "{debug}");
        let b = b.credentials(fixed);
        assert!(b.settings.credentials_provider.is_none());
        let config = crate::block_on(b.settings.session_config()).unwrap();
        assert!(matches!(
            config.credentials,
            Some(smtp_proto::Credentials::Password { .. })
        ));
        assert!(!format!("{:?}", b.settings).contains("static-secret"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_provider_error_is_the_connects_error() {
        let b = Builder::new("mx.example")
            .credentials_provider(|| Err(crate::CredentialsError::transient("token service down")));
        let e = crate::block_on(b.settings.session_config()).unwrap_err();
        assert!(matches!(e, crate::Error::Credentials(_)), "{e:?}");
        assert!(e.is_transient());
    }

    #[cfg(feature = "dkim")]
    #[test]
    fn a_dkim_signer_turns_signing_on_and_its_key_stays_out_of_debug() {
        let pem = include_str!("../testdata/dkim/ed25519.pem");
        let signer = crate::dkim::DkimSigner::from_pem(pem, "example.org", "sel").unwrap();
        let b = Builder::new("mx.example");
        assert!(!b.settings.signing.is_on());
        let b = b.dkim_signer(signer);
        assert!(b.settings.signing.is_on());
        let debug = format!("{:?}", b.settings);
        assert!(debug.contains("example.org"), "{debug}");
        let secret: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for w in secret.as_bytes().chunks_exact(8) {
            assert!(!debug.contains(std::str::from_utf8(w).unwrap()), "{debug}");
        }
    }

    #[test]
    fn the_target_is_host_default_port_and_timeout() {
        let b = Builder::new("mx.example").implicit_tls();
        let t = b.settings.target();
        assert_eq!((t.host.as_str(), t.port), ("mx.example", 465));
        assert_eq!(t.connect_timeout, Duration::from_secs(30));
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn a_tls_setup_with_the_given_configuration_only_when_tls_may_be_used() {
        let own = Arc::new((*crate::tls::default_config().unwrap()).clone());
        let b = Builder::new("mx.example").tls_config(own.clone());
        let setup = b.settings.tls_setup().unwrap().expect("STARTTLS required");
        assert!(Arc::ptr_eq(&setup.config, &own));
        let cleartext = b.starttls(TlsPolicy::Disabled).settings;
        assert!(cleartext.tls_setup().unwrap().is_none());
        let bad = Settings::new("not a host".into()).tls_setup();
        assert!(matches!(bad, Err(crate::Error::InvalidHost(_))));
    }
}
