//! HTTPS for every Alliance ID client: the registry client, the wallet's OpenID4VCI client,
//! the issuer's CLI.
//!
//! - **Whom a client trusts** ([`Trust`]): the platform's certificate verifier (on Linux the
//!   system's CA store), plus Mozilla's root certificates built in (so a machine without a CA
//!   store still reaches public servers), plus any CA files the operator names: a consortium
//!   that runs its own CA passes its root with `--ca-cert FILE` or [`CA_CERT_ENV`].
//! - **Certificate problems in words** ([`describe`]): "not issued by a CA this program
//!   trusts", "expired", "not for this host name", instead of a chain of library errors.
//! - **Plain `http://` on loopback only** ([`require_tls_or_loopback`]), where a protocol
//!   requires TLS (OpenID4VCI outside loopback): a remote `http://` URL is refused before any
//!   request is sent.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that names extra CA files (PEM), separated by `:` as in `PATH`.
pub const CA_CERT_ENV: &str = "ALLIANCE_CA_CERT";

/// Why a client could not be configured, or a URL is not allowed.
#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("cannot read the CA file {}: {source}", path.display())]
    ReadCa {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA file {} holds no PEM certificate ({reason})", path.display())]
    BadCa { path: PathBuf, reason: String },
    #[error("cannot set up the HTTPS client: {0}")]
    Build(String),
    #[error("{what} {url:?} is not a valid URL: {reason}")]
    BadUrl {
        what: String,
        url: String,
        reason: String,
    },
    #[error(
        "{what} {url} uses plain http://, which is allowed only on this computer (loopback); \
         it must be an https:// URL"
    )]
    PlainHttp { what: String, url: String },
}

/// The certificate authorities a client trusts: the platform's verifier and Mozilla's
/// roots, plus the CA files added here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    ca_files: Vec<PathBuf>,
}

impl Trust {
    /// The platform's verifier and Mozilla's roots only.
    pub fn system() -> Self {
        Self::default()
    }

    /// [`Trust::system`] plus the CA files named by [`CA_CERT_ENV`], if it is set.
    pub fn from_env() -> Self {
        let mut t = Self::default();
        if let Some(v) = std::env::var_os(CA_CERT_ENV) {
            t.ca_files
                .extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
        }
        t
    }

    /// Also trusts the certificates in the PEM file `path` (one CA or a bundle).
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        if !self.ca_files.contains(&path) {
            self.ca_files.push(path);
        }
        self
    }

    /// Adds every file of `paths` (e.g. a repeatable `--ca-cert` option).
    pub fn with_ca_files(self, paths: impl IntoIterator<Item = PathBuf>) -> Self {
        paths.into_iter().fold(self, Self::with_ca_file)
    }

    /// The extra CA files.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }

    /// An HTTP client that verifies servers with this trust and gives up on a request after
    /// `timeout`. Every CA file is read now: a missing or malformed one is an error here,
    /// not a failed handshake later.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, HttpsError> {
        self.builder()?
            .timeout(timeout)
            .build()
            .map_err(|e| HttpsError::Build(chain(&e)))
    }

    /// A client builder with this trust, for callers that set more options.
    pub fn builder(&self) -> Result<reqwest::ClientBuilder, HttpsError> {
        let mut roots = Vec::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 1);
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            // Mozilla's roots are well-formed; one the TLS library cannot read is skipped.
            if let Ok(c) = reqwest::Certificate::from_der(der) {
                roots.push(c);
            }
        }
        for path in &self.ca_files {
            roots.extend(read_ca_file(path)?);
        }
        Ok(reqwest::Client::builder()
            .tls_backend_rustls()
            .tls_certs_merge(roots))
    }
}

fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, HttpsError> {
    let pem = std::fs::read(path).map_err(|source| HttpsError::ReadCa {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| HttpsError::BadCa {
        path: path.to_owned(),
        reason,
    };
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(bad("no BEGIN CERTIFICATE block".into()));
    }
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(chain(&e)))?;
    if certs.is_empty() {
        return Err(bad("no certificate".into()));
    }
    Ok(certs)
}

/// Whether `url`'s host is this computer: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a).is_loopback(),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a).is_loopback(),
        None => false,
    }
}

/// Parses `url` and requires `https://`, or `http://` to this computer (loopback), as
/// OpenID4VCI requires of an issuer outside development. `what` names the URL in the error
/// ("the credential issuer", "the token endpoint").
pub fn require_tls_or_loopback(what: &str, url: &str) -> Result<url::Url, HttpsError> {
    let parsed = url::Url::parse(url).map_err(|e| HttpsError::BadUrl {
        what: what.to_owned(),
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(HttpsError::PlainHttp {
            what: what.to_owned(),
            url: url.to_owned(),
        }),
        other => Err(HttpsError::BadUrl {
            what: what.to_owned(),
            url: url.to_owned(),
            reason: format!("the scheme must be https, not {other}"),
        }),
    }
}

/// What went wrong with a request, in words: a certificate problem is named plainly (with
/// what to do about a private CA); other failures give their cause chain, deduplicated.
pub fn describe(e: &reqwest::Error) -> String {
    if let Some(problem) = certificate_problem(e) {
        return problem;
    }
    if e.is_timeout() {
        return format!("no answer in time ({})", chain(e));
    }
    chain(e)
}

/// The certificate problem behind `e`, if the failure was the server's certificate.
pub fn certificate_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(rustls::Error::InvalidCertificate(c)) = err.downcast_ref::<rustls::Error>() {
            return Some(certificate_words(c));
        }
        cur = next_cause(err);
    }
    None
}

fn certificate_words(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    let what = match c {
        C::UnknownIssuer => format!(
            "the server's certificate is not issued by a certificate authority this program \
             trusts (if your consortium runs its own CA, pass its certificate with --ca-cert \
             FILE or {CA_CERT_ENV})"
        ),
        C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (or this computer's clock is wrong)".into()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the server's certificate is not for this host name".into()
        }
        C::Revoked => "the server's certificate has been revoked".into(),
        C::BadSignature => "the server's certificate has a bad signature".into(),
        C::BadEncoding => "the server's certificate is malformed".into(),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not for TLS servers".into()
        }
        other => format!("the server's certificate was refused ({other:?})"),
    };
    format!("certificate problem: {what}")
}

/// The error `err` wraps: its `source()`, except for an `io::Error`, whose `source()` skips
/// the error it carries (where a TLS error sits, sometimes in a second `io::Error`).
fn next_cause<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match err.downcast_ref::<std::io::Error>() {
        Some(io) => match io.get_ref() {
            Some(inner) => Some(inner),
            None => err.source(),
        },
        None => err.source(),
    }
}

/// The error and its sources, each said once.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![];
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = next_cause(err);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "https://agency.example/",
            "http://127.0.0.1:8080/x",
            "http://127.3.4.5/",
            "http://localhost:9/",
            "http://[::1]:9/",
        ] {
            require_tls_or_loopback("the credential issuer", ok).unwrap();
        }
        let e =
            require_tls_or_loopback("the credential issuer", "http://agency.example/").unwrap_err();
        assert!(matches!(e, HttpsError::PlainHttp { .. }));
        assert!(e.to_string().contains("https://"), "{e}");
        for bad in ["ftp://agency.example/", "not a url", "http://10.0.0.1/"] {
            assert!(require_tls_or_loopback("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ca_files_from_the_environment_and_options() {
        let t = Trust::system()
            .with_ca_file("/a.pem")
            .with_ca_files(["/b.pem".into(), "/a.pem".into()]);
        assert_eq!(t.ca_files(), [PathBuf::from("/a.pem"), "/b.pem".into()]);
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_when_the_client_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Trust::system().with_ca_file(dir.path().join("absent.pem"));
        assert!(matches!(
            missing.client(Duration::from_secs(1)),
            Err(HttpsError::ReadCa { .. })
        ));
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = Trust::system()
            .with_ca_file(&junk)
            .client(Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(e, HttpsError::BadCa { .. }), "{e}");
        assert!(e.to_string().contains("junk.pem"), "{e}");
    }
}

/// Why a response's body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("{url} answered more than {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("cannot read the answer of {url}: {source}")]
    Read {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

/// A response's body, at most `max` bytes whatever the server says or does not say of its
/// length: read chunk by chunk, refused as soon as it is larger.
pub async fn read_bounded(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    let url = resp.url().to_string();
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge { url, max });
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > max {
                    return Err(BodyError::TooLarge { url, max });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(source) => return Err(BodyError::Read { url, source }),
        }
    }
}
