//! The service's HTTP edge (OpenID4VP 1.0 with `request_uri` and `direct_post`):
//!
//! | | |
//! |---|---|
//! | `POST /oid4vp/requests` | the business (its API key): a DCQL query and a purpose → the request's id, `openid4vp://` link, where its QR code is, expiry |
//! | `GET /oid4vp/requests/{id}/qr` | a screen: the link as a QR code (SVG) for a wallet on another device |
//! | `GET /oid4vp/requests/{id}/object` | the wallet: the request object, signed by the business's `did:alliance` key |
//! | `POST /oid4vp/responses/{id}` | the wallet: its answer (`direct_post` form), taken once |
//! | `GET /oid4vp/requests/{id}` | the business (its API key): the state and, once answered, the verdict with only the disclosed claims |
//!
//! Every body is bounded before it is read; verification runs on blocking threads, a bounded
//! number at a time.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use did_method::SecretKey;
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use verifier_lib::Verifier;
use verifier_lib::rdfc::Rdfc2022;

use crate::answer::verify_answer;
use crate::ledger::{Ledger, LedgerConfig, LedgerError, Outcome};

/// The business's side of the service.
pub struct ServiceConfig {
    /// The business's DID (its client identifier is `decentralized_identifier:<did>`).
    pub did: String,
    /// The name it gives itself to wallets (`client_metadata.client_name`).
    pub name: Option<String>,
    /// The verification method of `key` in the DID document (a DID URL).
    pub kid: String,
    pub key: SecretKey,
    /// The base URL wallets reach the service at (e.g. `https://shop.example`).
    pub public_url: String,
    /// The key the business's own software presents (`Authorization: Bearer …`) to create
    /// requests and read their outcome.
    pub api_key: String,
    pub ledger: LedgerConfig,
    pub limits: oid4vp::Limits,
    /// Answers verified at once; more wait.
    pub max_verifying: usize,
    /// Answers must come encrypted to a key of the request (`direct_post.jwt`, ECDH-ES on
    /// P-256 with A128GCM or A256GCM); otherwise they come as a plain form (`direct_post`).
    pub encrypt_responses: bool,
    /// Set: the registry evidence of a presentation that comes without its staple is fetched
    /// with it (ADR 0022); unset, such a presentation is refused for what it lacks.
    pub fetch: Option<evidence_fetch::Fetcher>,
}

/// The content encryptions an encrypted answer may use.
const ACCEPTED_ENC: [oid4vp::jwe::Enc; 2] = [oid4vp::jwe::Enc::A128Gcm, oid4vp::jwe::Enc::A256Gcm];

/// Answers whose missing evidence is fetched at once; more wait.
const MAX_FETCHING: usize = 8;
/// How long fetching the evidence of one answer may take.
const FETCH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

pub struct Service {
    config: ServiceConfig,
    ledger: Mutex<Ledger>,
    verifier: Arc<Verifier>,
    rdfc: Arc<Rdfc2022>,
    verifying: Semaphore,
    fetching: Semaphore,
}

/// The largest body of a request the business makes.
const MAX_CREATE_BYTES: usize = 96 * 1024;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn error(status: StatusCode, code: &str, description: impl std::fmt::Display) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "error_description": description.to_string()})),
    )
        .into_response()
}

fn ledger_error(e: &LedgerError) -> Response {
    let status = match e {
        LedgerError::Unknown => StatusCode::NOT_FOUND,
        LedgerError::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
        LedgerError::PurposeTooLong(_) => StatusCode::BAD_REQUEST,
        LedgerError::Expired | LedgerError::AlreadyAnswered => StatusCode::BAD_REQUEST,
    };
    error(status, "invalid_request", e)
}

impl Service {
    pub fn new(config: ServiceConfig, verifier: Arc<Verifier>, rdfc: Rdfc2022) -> Arc<Self> {
        Arc::new(Self {
            ledger: Mutex::new(Ledger::new(config.ledger)),
            verifying: Semaphore::new(config.max_verifying.max(1)),
            fetching: Semaphore::new(MAX_FETCHING),
            config,
            verifier,
            rdfc: Arc::new(rdfc),
        })
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn client_id(&self) -> String {
        oid4vp::AuthorizationRequest::client_id_for(&self.config.did)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url.trim_end_matches('/'))
    }

    /// The `openid4vp://` link of request `id`.
    fn link(&self, id: &str) -> String {
        oid4vp::RequestLink {
            client_id: self.client_id(),
            request_uri: self.url(&format!("/oid4vp/requests/{id}/object")),
        }
        .to_uri()
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        bool::from(given.as_bytes().ct_eq(self.config.api_key.as_bytes()))
    }
}

/// The service's routes.
pub fn router(service: Arc<Service>) -> Router {
    let body_limit = service
        .config
        .limits
        .max_response_bytes
        .max(MAX_CREATE_BYTES)
        + 1024;
    Router::new()
        .route("/oid4vp/requests", post(create))
        .route("/oid4vp/requests/{id}", get(status))
        .route("/oid4vp/requests/{id}/object", get(request_object))
        .route("/oid4vp/requests/{id}/qr", get(qr))
        .route("/oid4vp/responses/{id}", post(respond))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(service)
}

async fn create(State(s): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    if !s.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required",
        );
    }
    if body.len() > MAX_CREATE_BYTES {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request is too large",
        );
    }
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body is not a JSON object",
        );
    };
    let Some(query) = doc.remove("dcql_query") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "dcql_query is missing",
        );
    };
    let query = match dcql::Query::from_value(query, &s.config.limits.dcql) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", e),
    };
    let purpose = match doc.remove("purpose") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p),
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "purpose is not text",
            );
        }
    };
    let mut random = [0u8; 32];
    OsRng.fill_bytes(&mut random);
    let now = now_ms();
    // Made before the ledger is locked: a key generation is not done under the lock.
    let key = s
        .config
        .encrypt_responses
        .then(|| oid4vp::jwe::DecryptionKey::generate("response-key", &mut OsRng));
    let created = {
        let mut ledger = s.ledger();
        let created = ledger.create(query, purpose, now, random);
        if let (Ok((id, _)), Some(key)) = (&created, key) {
            ledger.require_encryption(id, key);
        }
        created
    };
    let (id, _) = match created {
        Ok(c) => c,
        Err(e) => return ledger_error(&e),
    };
    let expires = now.saturating_add(s.config.ledger.ttl_ms);
    let body = json!({
        "id": id,
        "link": s.link(&id),
        "qrUri": s.url(&format!("/oid4vp/requests/{id}/qr")),
        "expiresMs": expires,
    });
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// The link as a QR code (SVG), for a wallet on another device. Drawn only when asked for:
/// drawing it took more than half of a whole request-and-answer cycle (docs/benchmarks.md).
/// No key is needed: the code holds only the link, which the request's id already gives.
async fn qr(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Response {
    let view = s.ledger().view(&id, now_ms());
    if let Err(e) = view {
        return ledger_error(&e);
    }
    match qrcode::QrCode::new(s.link(&id).as_bytes()) {
        Ok(q) => (
            [(header::CONTENT_TYPE, "image/svg+xml")],
            q.render::<qrcode::render::svg::Color>()
                .min_dimensions(256, 256)
                .build(),
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", e),
    }
}

async fn request_object(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Response {
    let now = now_ms();
    let fetched = s.ledger().fetch(&id, now);
    let (nonce, query, purpose, expires_ms) = match fetched {
        Ok(f) => f,
        Err(e) => return ledger_error(&e),
    };
    let mut client_metadata = json!({"vp_formats_supported": {
        "dc+sd-jwt": {"sd-jwt_alg_values": ["EdDSA"], "kb-jwt_alg_values": ["EdDSA"]},
        "ldp_vc": {"proof_type_values": ["DataIntegrityProof"], "cryptosuite_values": ["eddsa-rdfc-2022"]}
    }});
    if let Some(n) = &s.config.name {
        client_metadata["client_name"] = json!(n);
    }
    let key = s.ledger().decryption_key(&id);
    let response_mode = match &key {
        Some(k) => {
            client_metadata["jwks"] = json!({"keys": [k.public_jwk()]});
            client_metadata["encrypted_response_enc_values_supported"] =
                json!(ACCEPTED_ENC.map(oid4vp::jwe::Enc::name));
            oid4vp::ResponseMode::DirectPostJwt
        }
        None => oid4vp::ResponseMode::DirectPost,
    };
    let request = oid4vp::AuthorizationRequest {
        purpose,
        client_id: s.client_id(),
        response_mode,
        response_uri: s.url(&format!("/oid4vp/responses/{id}")),
        nonce,
        state: Some(id),
        dcql_query: query,
        client_metadata: Some(client_metadata),
        iat: Some((now / 1000) as i64),
        exp: Some((expires_ms / 1000) as i64),
    };
    let jwt = request.sign(&s.config.key, &s.config.kid);
    (
        [(header::CONTENT_TYPE, "application/oauth-authz-req+jwt")],
        jwt,
    )
        .into_response()
}

async fn respond(State(s): State<Arc<Service>>, Path(id): Path<String>, body: Bytes) -> Response {
    // An answer to no request that can take one is refused before its body is parsed.
    let answerable = s.ledger().answerable(&id, now_ms());
    if let Err(e) = answerable {
        return ledger_error(&e);
    }
    // Parsed (bounded) before the request is consumed: a malformed body changes nothing.
    let key = s.ledger().decryption_key(&id);
    let parsed = match &key {
        Some(k) => oid4vp::DirectPost::parse_encrypted(&body, k, &ACCEPTED_ENC, &s.config.limits),
        None => oid4vp::DirectPost::parse(&body, &s.config.limits),
    };
    let post = match parsed {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", e),
    };
    let now = now_ms();
    let taken = s.ledger().begin_answer(&id, now);
    let answering = match taken {
        Ok(a) => a,
        Err(e) => return ledger_error(&e),
    };
    let mut post = post;
    if let Some(fetcher) = &s.config.fetch
        && let Err(why) = fetch_missing(&s, fetcher, &mut post).await
    {
        s.ledger().finish(
            &answering.id,
            Outcome {
                accepted: false,
                reason: Some(why),
                claims: json!({}),
            },
        );
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the answer was not accepted",
        );
    }
    let Ok(_permit) = s.verifying.acquire().await else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "shutting down",
        );
    };
    let (verifier, rdfc, client_id, limits) = (
        s.verifier.clone(),
        s.rdfc.clone(),
        s.client_id(),
        s.config.limits,
    );
    let request = answering.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        verify_answer(&verifier, &rdfc, &request, &client_id, &post, &limits, now)
    })
    .await
    .unwrap_or_else(|_| Outcome {
        accepted: false,
        reason: Some("the verification failed".into()),
        claims: json!({}),
    });
    let accepted = outcome.accepted;
    s.ledger().finish(&answering.id, outcome);
    if accepted {
        (StatusCode::OK, axum::Json(json!({}))).into_response()
    } else {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the answer was not accepted",
        )
    }
}

/// Fills in the staple of each presentation that came without one, fetched from the
/// registry nodes and the issuers' own addresses (bounded in time and count); why not, if it
/// cannot be.
async fn fetch_missing(
    s: &Service,
    fetcher: &evidence_fetch::Fetcher,
    post: &mut oid4vp::DirectPost,
) -> Result<(), String> {
    let mut missing = Vec::new();
    for (id, presentations) in &post.vp_token.0 {
        for (i, p) in presentations.iter().enumerate() {
            let stapled = post
                .staples
                .as_ref()
                .and_then(|st| st.get(id))
                .and_then(|a| a.get(i))
                .is_some_and(Value::is_object);
            if !stapled {
                missing.push((id.clone(), i, p.clone()));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let Ok(_permit) = s.fetching.acquire().await else {
        return Err("the service is shutting down".into());
    };
    let fetched = tokio::time::timeout(FETCH_DEADLINE, async {
        let mut out = Vec::new();
        for (id, i, p) in &missing {
            let bundle = fetcher.bundle(p, None).await.map_err(|e| {
                format!("the registry evidence of the presentation for \"{id}\" could not be fetched: {e}")
            })?;
            out.push((id.clone(), *i, bundle));
        }
        Ok::<_, String>(out)
    })
    .await
    .map_err(|_| "fetching the registry evidence took too long".to_owned())??;
    let staples = post.staples.get_or_insert_with(|| json!({}));
    for (id, i, bundle) in fetched {
        let proofs: Vec<Value> = bundle
            .registry_proofs
            .iter()
            .filter_map(|r| serde_json::from_str(r.get()).ok())
            .collect();
        let staple = json!({"registryProofs": proofs, "statusLists": bundle.status_lists});
        let Some(by_id) = staples.as_object_mut() else {
            return Err("the answer's staples are not an object".into());
        };
        let list = by_id.entry(id).or_insert_with(|| json!([]));
        if let Value::Array(a) = list {
            while a.len() <= i {
                a.push(Value::Null);
            }
            a[i] = staple;
        }
    }
    Ok(())
}

async fn status(
    State(s): State<Arc<Service>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !s.authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required",
        );
    }
    let view = s.ledger().view(&id, now_ms());
    match view {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => ledger_error(&e),
    }
}
