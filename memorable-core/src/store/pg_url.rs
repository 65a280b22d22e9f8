//! Where a PostgreSQL store lives: a `postgres://` / `postgresql://` URL, with the password
//! taken from the URL, `PGPASSWORD` or a `.pgpass` file (`PGPASSFILE`, else `~/.pgpass`), in
//! libpq's order. The password is never displayed: [`PgTarget`]'s `Display` and every error
//! built here show the URL without it.

#[cfg(feature = "postgres")]
use std::{path::PathBuf, str::FromStr, sync::Arc, time::Duration};

#[cfg(feature = "postgres")]
use crate::error::{Error, Result};

/// Whether a store location names a PostgreSQL database rather than a directory.
pub fn is_postgres_url(location: &str) -> bool {
    let lower = location.get(..13).unwrap_or(location).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The URL without its password (`postgres://app:***@host/db`), for logs and errors.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_owned() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let redacted = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.to_owned() };
            format!("{masked}{}", &authority[at..])
        }
        None => authority.to_owned(),
    };
    // A password may also come as a query parameter.
    let tail = &rest[authority_end..];
    let tail = match tail.find("password=") {
        Some(p) => {
            let end = tail[p..].find('&').map_or(tail.len(), |e| p + e);
            format!("{}password=***{}", &tail[..p], &tail[end..])
        }
        None => tail.to_owned(),
    };
    format!("{}{redacted}{tail}", &url[..scheme_end + 3])
}

#[cfg(feature = "postgres")]
/// A parsed PostgreSQL location, ready to connect (cheap to clone).
#[derive(Clone)]
pub struct PgTarget {
    config: Arc<postgres::Config>,
    shown: Arc<str>,
    tls: bool,
}

#[cfg(feature = "postgres")]
impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(feature = "postgres")]
impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgTarget({})", self.shown)
    }
}

#[cfg(feature = "postgres")]
impl PgTarget {
    pub fn parse(url: &str) -> Result<PgTarget> {
        let shown: Arc<str> = redact(url).into();
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| Error::InvalidConfig(format!("invalid PostgreSQL URL {shown}: {e}")))?;
        if config.get_user().is_none() {
            let user =
                std::env::var("PGUSER").ok().or_else(|| std::env::var("USER").ok()).ok_or_else(|| {
                    Error::InvalidConfig(format!("{shown} names no user (and PGUSER is not set)"))
                })?;
            config.user(&user);
        }
        if config.get_password().is_none() {
            if let Some(p) = std::env::var("PGPASSWORD").ok().or_else(|| pgpass(&config)) {
                config.password(p);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("memorable");
        let tls = !matches!(config.get_ssl_mode(), postgres::config::SslMode::Disable);
        Ok(PgTarget { config: Arc::new(config), shown, tls })
    }

    /// The same database, its connections named `name` (their `application_name`).
    pub fn named(&self, name: &str) -> PgTarget {
        let mut config = (*self.config).clone();
        config.application_name(name);
        PgTarget { config: Arc::new(config), shown: self.shown.clone(), tls: self.tls }
    }

    /// A new connection (TLS when the URL's `sslmode` asks for it or prefers it).
    pub fn connect(&self) -> Result<postgres::Client> {
        let connected = if self.tls {
            self.config.connect(tls_connector())
        } else {
            self.config.connect(postgres::NoTls)
        };
        connected.map_err(|e| {
            let reason = match e.as_db_error() {
                Some(db) => format!("{} ({})", db.message(), db.code().code()),
                None => e.to_string(),
            };
            Error::StoreUnavailable(format!("cannot connect to {}: {reason}", self.shown))
        })
    }
}

/// TLS as libpq's `sslmode=require` (and `prefer` when the server offers it): the
/// connection is encrypted, the server's certificate not checked against a CA (a
/// self-signed or private-CA server, as most managed databases, connects). Its signatures
/// are still verified.
#[cfg(feature = "postgres")]
fn tls_connector() -> tokio_postgres_rustls::MakeRustlsConnect {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// A server certificate check that accepts any certificate but verifies the handshake's
/// signatures (libpq's `require`: encryption without authentication of the server).
#[cfg(feature = "postgres")]
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

#[cfg(feature = "postgres")]
impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The password a `.pgpass` file holds for this host, port, database and user (libpq's
/// format: `host:port:db:user:password`, `*` matches anything, `\` escapes `:` and `\`).
fn pgpass(config: &postgres::Config) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default();
    let db = config.get_dbname().unwrap_or(user);
    let wanted = [host.as_str(), port.as_str(), db, user];
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            return None;
        }
        let matches = fields[..4].iter().zip(wanted).all(|(f, w)| f == "*" || f == w);
        matches.then(|| fields[4].clone())
    })
}

#[cfg(feature = "postgres")]
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().expect("one field").extend(chars.next()),
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_redacted() {
        assert!(is_postgres_url("postgres://h/db"));
        assert!(is_postgres_url("PostgreSQL://h/db"));
        assert!(!is_postgres_url("/var/lib/store"));
        assert_eq!(redact("postgres://app:s3cret@db:5432/mem"), "postgres://app:***@db:5432/mem");
        assert_eq!(
            redact("postgresql://app@db/mem?sslmode=require"),
            "postgresql://app@db/mem?sslmode=require"
        );
        assert_eq!(
            redact("postgres://db/mem?user=a&password=s3cret&sslmode=require"),
            "postgres://db/mem?user=a&password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://a:p@ss@db/mem"), "postgres://a:***@db/mem");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn pgpass_lines_split_with_escapes() {
        assert_eq!(split_pgpass(r"h:5432:db:u:pa\:ss"), ["h", "5432", "db", "u", "pa:ss"]);
        assert_eq!(split_pgpass("*:*:*:*:x"), ["*", "*", "*", "*", "x"]);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_bad_url_is_refused_without_its_password() {
        let e = PgTarget::parse("postgres://u:s3cret@host:notaport/db").unwrap_err();
        assert_eq!(e.code(), crate::error::ErrorCode::InvalidConfig);
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}

/// Test support: a database of a test's own on the cluster `MEMORABLE_TEST_PG_URL` names
/// (`None`, said, with `MEMORABLE_SKIP_PG=1`), dropped at the end.
#[cfg(all(test, feature = "postgres"))]
pub(crate) mod testing {
    pub struct TestDb {
        admin: String,
        name: String,
        pub url: String,
    }

    impl TestDb {
        pub fn create(tag: &str) -> Option<TestDb> {
            let Ok(admin) = std::env::var("MEMORABLE_TEST_PG_URL") else {
                assert_eq!(
                    std::env::var("MEMORABLE_SKIP_PG").as_deref(),
                    Ok("1"),
                    "MEMORABLE_TEST_PG_URL is not set (scripts/pg-cluster.sh start)"
                );
                eprintln!("MEMORABLE_SKIP_PG=1: {tag} skipped");
                return None;
            };
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            let name = format!("u_{tag}_{}_{nanos}", std::process::id());
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            Some(TestDb { admin, name, url })
        }
    }

    impl TestDb {
        pub fn name(&self) -> &str {
            &self.name
        }

        pub fn admin_url(&self) -> String {
            self.admin.clone()
        }

        /// The test database's URL with another role and password.
        pub fn url_as(&self, user: &str, password: &str) -> String {
            let host = self.url.split_once('@').expect("the URL names a user").1;
            format!("postgres://{user}:{password}@{host}")
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        }
    }
}
