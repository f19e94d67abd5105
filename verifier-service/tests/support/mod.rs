//! What the service's HTTP tests and its bench share: the service on a loopback port as a
//! business configures it, and a residence permit (SD-JWT VC of a did:key issuer) a wallet
//! holds.

#![allow(dead_code, clippy::unwrap_used)] // each user takes what it needs; support may panic

use did_method::SecretKey;
use serde_json::{Map, Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::dids::{did_key, jwk_of};
use verifier_lib::rdfc::Rdfc2022;
use verifier_lib::{Policy, Verifier, sdjwt};
use verifier_service::LedgerConfig;
use verifier_service::http::{Service, ServiceConfig, router};

pub const DID: &str = "did:alliance:z6MkShopExample";
pub const VCT: &str = "urn:alliance:vct:residence-permit";
pub const KEY: &str = "business-api-key-0123456789";

pub fn shop_key() -> SecretKey {
    SecretKey::from_seed(&[5; 32])
}

pub fn holder() -> SecretKey {
    SecretKey::from_seed(&[2; 32])
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A residence permit for [`holder`], its name and city disclosable.
pub fn permit() -> String {
    let issuer_key = SecretKey::from_seed(&[1; 32]);
    let (did, kid) = did_key(&issuer_key.public_key());
    let now = now_s();
    let claims: Map<String, Value> = json!({
        "iss": did, "vct": VCT, "iat": now - 100, "exp": now + 86_400,
        "cnf": {"jwk": jwk_of(&holder().public_key())},
        "name": "Ada", "city": "Hangzhou"
    })
    .as_object()
    .cloned()
    .unwrap();
    sdjwt::issue(&claims, &["/name", "/city"], &kid, &issuer_key).unwrap()
}

/// A wallet's answer to `req`: the permit presented with `reveal` disclosed, bound to the
/// request's nonce and client, without staples (the permit's issuer is a did:key).
pub fn permit_post(
    permit: &str,
    holder: &SecretKey,
    req: &oid4vp::AuthorizationRequest,
    reveal: &[&str],
) -> oid4vp::DirectPost {
    let p = sdjwt::present(
        permit,
        Some(reveal),
        holder,
        &req.client_id,
        &req.nonce,
        now_s(),
    )
    .unwrap();
    let mut token = oid4vp::VpToken::default();
    token.0.insert("permit".into(), vec![Value::String(p)]);
    oid4vp::DirectPost {
        vp_token: token,
        state: req.state.clone(),
        staples: None,
    }
}

/// The service on a free loopback port, signing with [`shop_key`]; its base URL. A did:key
/// issuer is not on the registry, so this business asks for no registry evidence.
pub async fn start(ledger: LedgerConfig) -> String {
    start_with(ledger, false).await
}

/// [`start`], asking for encrypted answers (`direct_post.jwt`) when `encrypted`.
pub async fn start_with(ledger: LedgerConfig, encrypted: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = ServiceConfig {
        did: DID.into(),
        name: Some("Example Shop".into()),
        kid: format!("{DID}#key-1"),
        key: shop_key(),
        public_url: base.clone(),
        api_key: KEY.into(),
        ledger,
        limits: oid4vp::Limits::default(),
        max_verifying: 2,
        fetch: None,
        encrypt_responses: encrypted,
    };
    let policy = Policy {
        require_accreditation: false,
        require_status_anchor: false,
        ..Policy::default()
    };
    let service = Service::new(
        config,
        std::sync::Arc::new(Verifier::new(policy, None)),
        Rdfc2022::new(PinnedContexts::standard()),
    );
    tokio::spawn(async move { axum::serve(listener, router(service)).await });
    base
}
