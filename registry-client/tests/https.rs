//! The registry client over real HTTPS on loopback: a consortium CA and server certificates
//! made here (rcgen), a TLS server (rustls), and the client trusting the CA file or not.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::routing::get;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use registry_client::https::{self, Trust};
use registry_client::{ErrorKind, RegistryClient};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;

/// A certificate authority of a consortium, made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Test Consortium Root CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// A server certificate for `names`, valid now unless `expired`.
    fn server_cert(&self, names: &[&str], expired: bool) -> (CertificateDer<'static>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.der().clone(), key)
    }

    fn write_pem(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("consortium-ca.pem");
        std::fs::write(&path, self.cert.pem()).unwrap();
        path
    }
}

/// An HTTPS listener: TCP accept, then the TLS handshake; a failed handshake (a client that
/// refused our certificate) is dropped and the next connection awaited.
struct TlsListener {
    tcp: TcpListener,
    tls: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.tls.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A node-like HTTPS server on loopback answering `/health`; returns its base URL.
async fn serve_https(cert: CertificateDer<'static>, key: KeyPair, ca: &Ca) -> String {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert, ca.cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        tls: TlsAcceptor::from(Arc::new(config)),
    };
    let app = axum::Router::new().route(
        "/health",
        get(|| async { Json(json!({"status": "ok", "height": 7})) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("https://localhost:{port}")
}

fn client(base: &str, trust: &Trust) -> RegistryClient {
    RegistryClient::with_http(base, trust.client(Duration::from_secs(5)).unwrap()).unwrap()
}

#[tokio::test]
async fn a_node_behind_the_consortiums_own_ca_is_reached_once_its_ca_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let ca_file = ca.write_pem(dir.path());
    let (cert, key) = ca.server_cert(&["localhost", "127.0.0.1"], false);
    let base = serve_https(cert, key, &ca).await;

    // Trusted: the CA file passed as --ca-cert would be.
    let trusted = Trust::system().with_ca_file(&ca_file);
    let health = client(&base, &trusted).health().await.unwrap();
    assert_eq!(health["height"], 7);
    // The same by IP address (the certificate names 127.0.0.1 too).
    let by_ip = base.replace("localhost", "127.0.0.1");
    assert_eq!(
        client(&by_ip, &trusted).health().await.unwrap()["status"],
        "ok"
    );

    // Not trusted: refused, with the certificate problem and the remedy in words.
    let e = client(&base, &Trust::system()).health().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Certificate, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("not issued by a certificate authority this program trusts"),
        "{text}"
    );
    assert!(text.contains("--ca-cert"), "{text}");
    assert!(text.contains(&base), "{text}");
}

#[tokio::test]
async fn an_expired_or_misnamed_certificate_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let trust = Trust::system().with_ca_file(ca.write_pem(dir.path()));

    let (cert, key) = ca.server_cert(&["localhost"], true);
    let expired = serve_https(cert, key, &ca).await;
    let e = client(&expired, &trust).health().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Certificate, "{e}");
    assert!(e.to_string().contains("has expired"), "{e}");

    let (cert, key) = ca.server_cert(&["registry.other.example"], false);
    let misnamed = serve_https(cert, key, &ca).await;
    let e = client(&misnamed, &trust).health().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Certificate, "{e}");
    assert!(e.to_string().contains("not for this host name"), "{e}");
}

#[tokio::test]
async fn the_ca_file_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let ca_file = ca.write_pem(dir.path());
    let (cert, key) = ca.server_cert(&["localhost"], false);
    let base = serve_https(cert, key, &ca).await;
    let joined = std::env::join_paths([dir.path().join("absent-but-unused"), ca_file]).unwrap();
    let trust = {
        // `from_env` splits the variable like PATH; the first entry is a missing file, which
        // must be reported rather than skipped.
        let _guard = EnvVar::set(https::CA_CERT_ENV, &joined);
        Trust::from_env()
    };
    assert_eq!(trust.ca_files().len(), 2);
    assert!(trust.client(Duration::from_secs(5)).is_err());
    let only_ca = Trust::system().with_ca_file(&trust.ca_files()[1]);
    assert_eq!(
        client(&base, &only_ca).health().await.unwrap()["status"],
        "ok"
    );
}

/// Sets an environment variable for the guard's life.
struct EnvVar(&'static str);

impl EnvVar {
    fn set(name: &'static str, value: &std::ffi::OsStr) -> Self {
        // Edition 2024: set_var is unsafe because other threads may read the environment;
        // this test binary's other tests never read this variable.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(name, value)
        };
        Self(name)
    }
}

impl Drop for EnvVar {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        unsafe {
            std::env::remove_var(self.0)
        };
    }
}
