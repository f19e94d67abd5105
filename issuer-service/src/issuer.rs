//! The issuer's logic, behind the HTTP layer: credential types, offers and their codes,
//! tokens and nonces, key proofs, building and signing credentials in both formats, status
//! lists (random indices, revocation, suspension, publication and anchoring).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::{Did, Hash, PublicKey, SecretKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;
use ssi::status::bitstring_status_list::{StatusList, StatusPurpose, StatusSize, TimeToLive};
use ssi::status::token_status_list;
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids;
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};
use verifier_lib::token_status;

use crate::config::IssuerConfig;
use crate::store::{Store, StoreError, now_ms};

/// OpenID4VCI error codes (and the admin API's), with a description for people.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct IssueError {
    pub code: &'static str,
    pub description: String,
    pub status: u16,
}

/// Why an issuer could not start ([`Issuer::new`]).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("registry client: {0}")]
    Registry(#[from] registry_client::ClientError),
    #[error(transparent)]
    IssuerUrl(#[from] registry_client::HttpsError),
    #[error(
        "status list {list} has {stored} entries but statusListSize is {configured}: the size cannot change once lists exist"
    )]
    StatusListSize {
        list: String,
        stored: i64,
        configured: i64,
    },
    #[error("status lists: {0}")]
    StatusLists(#[from] IssueError),
}

impl IssueError {
    pub fn new(status: u16, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            status,
        }
    }
}

impl From<StoreError> for IssueError {
    fn from(e: StoreError) -> Self {
        tracing::error!("storage: {e}");
        Self::new(500, "server_error", "storage error; nothing was issued")
    }
}

impl From<sqlx::Error> for IssueError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

pub const FORMAT_DI: &str = "ldp_vc";
pub const FORMAT_SD_JWT: &str = "dc+sd-jwt";
const PRE_AUTH_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// A credential type the agency issues (one OpenID4VCI credential configuration).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialType {
    /// Configuration id, e.g. `DriverLicense`.
    pub id: String,
    /// `ldp_vc` (W3C VC 2.0 + eddsa-rdfc-2022) or `dc+sd-jwt` (IETF SD-JWT VC).
    pub format: String,
    /// The VC type (`ldp_vc`) or `vct` (`dc+sd-jwt`) — also what the issuer is accredited for.
    pub credential_type: String,
    /// The claim names every credential of this type carries.
    pub claims: Vec<String>,
    /// Validity period of an issued credential, in days.
    pub validity_days: u64,
    /// Display name.
    pub name: String,
}

impl CredentialType {
    fn validate(&self) -> Result<(), IssueError> {
        let bad = |m: String| Err(IssueError::new(400, "invalid_request", m));
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return bad("id must be letters, digits, '_', '-' or '.'".into());
        }
        if self.format != FORMAT_DI && self.format != FORMAT_SD_JWT {
            return bad(format!("format must be {FORMAT_DI} or {FORMAT_SD_JWT}"));
        }
        if self.credential_type.is_empty() || self.credential_type == "VerifiableCredential" {
            return bad("credentialType must name the specific type".into());
        }
        const RESERVED: [&str; 12] = [
            "id", "iss", "vct", "iat", "exp", "nbf", "cnf", "sub", "status", "_sd", "_sd_alg",
            "type",
        ];
        if let Some(c) = self
            .claims
            .iter()
            .find(|c| c.is_empty() || RESERVED.contains(&c.as_str()) || c.starts_with('@'))
        {
            return bad(format!("claim name {c:?} is reserved"));
        }
        if self.validity_days == 0 || self.validity_days > 36_500 {
            return bad("validityDays must be 1..=36500".into());
        }
        Ok(())
    }
}

/// A created offer, as the admin API returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedOffer {
    pub offer_id: String,
    pub credential_offer: Value,
    /// `openid-credential-offer://?credential_offer=…` (by value).
    pub offer_uri: String,
    /// `openid-credential-offer://?credential_offer_uri=…` (by reference).
    pub offer_by_reference_uri: String,
    /// The transaction code (PIN) to give the citizen by another channel.
    pub tx_code: Option<String>,
    /// The by-reference link as an SVG QR code.
    pub qr_svg: String,
    pub expires_at_ms: i64,
}

/// One row of the issued-credentials record.
struct Issued<'a> {
    id: &'a str,
    offer_id: Option<&'a str>,
    credential_type: &'a str,
    format: &'a str,
    holder: &'a str,
    index: i64,
}

impl Issued<'_> {
    async fn insert(&self, conn: &mut sqlx::AnyConnection) -> Result<(), IssueError> {
        sqlx::query("INSERT INTO issued (id, offer_id, credential_type, format, holder, status_index, state, issued_ms) VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7)")
            .bind(self.id)
            .bind(self.offer_id)
            .bind(self.credential_type)
            .bind(self.format)
            .bind(self.holder)
            .bind(self.index)
            .bind(now_ms())
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Internal: the status index a prepared credential carries was claimed meanwhile.
const INDEX_TAKEN: &str = "status_index_taken";

/// The outcome of one issuing write: `None` when its status index was claimed by a
/// concurrent issuance meanwhile (sign again with another), else the result to return.
fn settle<T>(written: Result<T, IssueError>) -> Option<Result<T, IssueError>> {
    match written {
        Err(e) if e.code == INDEX_TAKEN => {
            tracing::info!("a status index was claimed meanwhile; signing again");
            None
        }
        done => Some(done),
    }
}

/// Every attempt found its index taken (8 in a row: the list is nearly full).
fn no_free_index() -> IssueError {
    IssueError::new(
        503,
        "server_error",
        "no free status index could be claimed; the status list is nearly full",
    )
}

/// A credential signed with a status index not yet claimed.
struct Prepared {
    credential: Value,
    id: String,
    index: i64,
    holder: String,
}

impl Prepared {
    /// Records the credential, claiming its status index. `false` (and nothing written) when
    /// another issuance claimed the index first: the caller rolls back and signs again.
    async fn record(
        &self,
        conn: &mut sqlx::AnyConnection,
        credential_type: &str,
        format: &str,
        offer_id: Option<&str>,
    ) -> Result<bool, IssueError> {
        let taken = sqlx::query("SELECT 1 FROM issued WHERE status_index = $1")
            .bind(self.index)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        if taken {
            return Ok(false);
        }
        Issued {
            id: &self.id,
            offer_id,
            credential_type,
            format,
            holder: &self.holder,
            index: self.index,
        }
        .insert(conn)
        .await?;
        Ok(true)
    }
}

pub struct Issuer {
    /// The configuration as loaded at start (after a live key rotation, the signing key
    /// and its verification method are [`Issuer::signer`]'s, and the file on disk).
    pub config: IssuerConfig,
    pub store: Store,
    signer: std::sync::RwLock<Arc<Signer>>,
    /// Key of the MAC on `c_nonce` values, derived from the signing key at start (a key
    /// rotation does not invalidate nonces in flight).
    nonce_key: zeroize::Zeroizing<[u8; 32]>,
    /// Where and how to seal a new key when rotating while serving (`serve` sets it).
    live_rotation: std::sync::OnceLock<LiveRotation>,
    pub did: String,
    rdfc: Rdfc2022,
    registry: Option<registry_client::RegistryClient>,
    /// One status publication at a time (anchor sequences stay in order).
    publish: tokio::sync::Mutex<()>,
    /// The number of the status lists new credentials go to (0, 1, …): when it is nearly
    /// full, the next is opened.
    open_list: std::sync::atomic::AtomicI64,
    /// How many credentials this process knows the open list holds (counted at start and
    /// when a list opens, then kept up to date); the next list opens at [`ROLLOVER_PERCENT`].
    open_count: std::sync::atomic::AtomicI64,
}

/// The key the issuer signs with now, and its verification method: read together, so a
/// credential is never signed by one key and labelled with another.
pub struct Signer {
    key: SecretKey,
    verification_method: String,
}

impl Signer {
    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }
}

struct LiveRotation {
    dir: std::path::PathBuf,
    passphrase: zeroize::Zeroizing<String>,
}

/// A status list is left for the next once this full: herd privacy needs lists well
/// populated, and random probing for a free index stays cheap below it.
const ROLLOVER_PERCENT: i64 = 90;

fn proof_options(signer: &Signer, now: i64) -> ProofOptions {
    ProofOptions {
        verification_method: signer.verification_method.clone(),
        proof_purpose: "assertionMethod".into(),
        created: rfc3339(now),
        challenge: None,
        domain: None,
        nonce: None,
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn random_digits(n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + (OsRng.next_u32() % 10) as u8))
        .collect()
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Percent-encodes a query value.
fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Issuer {
    pub async fn new(config: IssuerConfig, key: SecretKey) -> Result<Arc<Self>, StartError> {
        registry_client::https::require_tls_or_loopback(
            "the issuer URL (issuerUrl in config.json)",
            &config.issuer_url,
        )?;
        let store = Store::open(&config.database_url).await?;
        let registry = match &config.registry_api {
            Some(api) => Some(registry_client::RegistryClient::with_trust(
                api,
                &config.trust(),
            )?),
            None => None,
        };
        let did = config.did.clone();
        let nonce_key = zeroize::Zeroizing::new(
            Sha256::new()
                .chain_update(b"alliance-issuer/nonce/v1\0")
                .chain_update(key.to_seed_bytes())
                .finalize()
                .into(),
        );
        let issuer = Arc::new(Self {
            rdfc: Rdfc2022::new(PinnedContexts::standard()),
            store,
            signer: std::sync::RwLock::new(Arc::new(Signer {
                key,
                verification_method: config.verification_method.clone(),
            })),
            nonce_key,
            live_rotation: std::sync::OnceLock::new(),
            did,
            registry,
            publish: tokio::sync::Mutex::new(()),
            open_list: std::sync::atomic::AtomicI64::new(0),
            open_count: std::sync::atomic::AtomicI64::new(0),
            config,
        });
        issuer.ensure_status_lists().await?;
        Ok(issuer)
    }

    /// The key the issuer signs with now.
    pub fn signer(&self) -> Arc<Signer> {
        self.signer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Lets `POST /admin/keys/rotate` rotate the key while serving: new keys are sealed
    /// with `passphrase` into `dir`, and the configuration there is updated.
    pub fn enable_live_rotation(
        &self,
        dir: std::path::PathBuf,
        passphrase: zeroize::Zeroizing<String>,
    ) {
        let _ = self.live_rotation.set(LiveRotation { dir, passphrase });
    }

    pub fn status_url(&self, purpose: &str) -> String {
        format!("{}/status/{purpose}", self.config.issuer_url)
    }

    // ---------------------------------------------------------------- credential types

    pub async fn define_type(&self, actor: &str, t: CredentialType) -> Result<(), IssueError> {
        t.validate()?;
        let def = serde_json::to_string(&t)
            .map_err(|e| IssueError::new(400, "invalid_request", e.to_string()))?;
        let exists = sqlx::query("SELECT id FROM credential_types WHERE id = $1")
            .bind(&t.id)
            .fetch_optional(&self.store.pool)
            .await?
            .is_some();
        if exists {
            sqlx::query("UPDATE credential_types SET definition = $1 WHERE id = $2")
                .bind(&def)
                .bind(&t.id)
                .execute(&self.store.pool)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO credential_types (id, definition, created_ms) VALUES ($1, $2, $3)",
            )
            .bind(&t.id)
            .bind(&def)
            .bind(now_ms())
            .execute(&self.store.pool)
            .await?;
        }
        self.store
            .audit(
                actor,
                if exists {
                    "credential_type.update"
                } else {
                    "credential_type.define"
                },
                &t.id,
                &serde_json::to_value(&t).unwrap_or_default(),
            )
            .await?;
        Ok(())
    }

    pub async fn types(&self) -> Result<Vec<CredentialType>, IssueError> {
        let rows = sqlx::query("SELECT definition FROM credential_types ORDER BY id")
            .fetch_all(&self.store.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.get::<String, _>(0)).ok())
            .collect())
    }

    pub async fn get_type(&self, id: &str) -> Result<CredentialType, IssueError> {
        let row = sqlx::query("SELECT definition FROM credential_types WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or_else(|| {
                IssueError::new(
                    400,
                    "unknown_credential_configuration",
                    format!("no credential type {id}"),
                )
            })?;
        serde_json::from_str(&row.get::<String, _>(0))
            .map_err(|e| IssueError::new(500, "server_error", e.to_string()))
    }

    // ---------------------------------------------------------------- metadata

    pub async fn metadata(&self) -> Result<Value, IssueError> {
        let base = &self.config.issuer_url;
        let mut configs = Map::new();
        for t in self.types().await? {
            let claims: Vec<Value> = t
                .claims
                .iter()
                .map(|c| {
                    let path = if t.format == FORMAT_DI {
                        json!(["credentialSubject", c])
                    } else {
                        json!([c])
                    };
                    json!({"path": path, "mandatory": true})
                })
                .collect();
            let mut c = json!({
                "format": t.format,
                "scope": t.id,
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}},
                "credential_metadata": {"display": [{"name": t.name, "locale": "en"}], "claims": claims},
            });
            if t.format == FORMAT_DI {
                c["cryptographic_binding_methods_supported"] = json!(["did:key", "did:jwk"]);
                c["credential_signing_alg_values_supported"] = json!(["eddsa-rdfc-2022"]);
                c["credential_definition"] = json!({
                    "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
                    "type": ["VerifiableCredential", t.credential_type],
                });
            } else {
                c["cryptographic_binding_methods_supported"] = json!(["jwk"]);
                c["credential_signing_alg_values_supported"] = json!(["EdDSA"]);
                c["vct"] = json!(t.credential_type);
            }
            configs.insert(t.id.clone(), c);
        }
        Ok(json!({
            "credential_issuer": base,
            "credential_endpoint": format!("{base}/credential"),
            "nonce_endpoint": format!("{base}/nonce"),
            "batch_credential_issuance": {"batch_size": self.config.batch_size},
            "display": [{"name": self.config.display_name, "locale": "en"}],
            "credential_configurations_supported": configs,
        }))
    }

    pub fn authorization_server_metadata(&self) -> Value {
        let base = &self.config.issuer_url;
        json!({
            "issuer": base,
            "token_endpoint": format!("{base}/token"),
            "grant_types_supported": [PRE_AUTH_GRANT],
            "pre-authorized_grant_anonymous_access_supported": true,
        })
    }

    // ---------------------------------------------------------------- offers

    pub async fn create_offer(
        &self,
        actor: &str,
        type_id: &str,
        claims: Map<String, Value>,
        with_tx_code: bool,
    ) -> Result<CreatedOffer, IssueError> {
        let t = self.get_type(type_id).await?;
        for c in &t.claims {
            if !claims.contains_key(c) {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    format!("claim {c} is missing"),
                ));
            }
        }
        if let Some(extra) = claims.keys().find(|k| !t.claims.contains(k)) {
            return Err(IssueError::new(
                400,
                "invalid_request",
                format!("claim {extra} is not defined for {type_id}"),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let code = random_token(32);
        let tx_code = with_tx_code.then(|| random_digits(6));
        let expires = now_ms() + (self.config.offer_ttl_s as i64) * 1000;
        let mut grant = json!({"pre-authorized_code": code});
        if tx_code.is_some() {
            grant["tx_code"] = json!({"input_mode": "numeric", "length": 6, "description": "The 6-digit code the agency gave you"});
        }
        let offer = json!({
            "credential_issuer": self.config.issuer_url,
            "credential_configuration_ids": [type_id],
            "grants": {PRE_AUTH_GRANT: grant},
        });
        sqlx::query("INSERT INTO offers (id, code_hash, tx_code_hash, credential_type, claims, offer_json, state, failed_attempts, expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, 'offered', 0, $7, $8)")
            .bind(&id)
            .bind(sha256_hex(&code))
            .bind(tx_code.as_ref().map(|p| sha256_hex(&format!("{code}:{p}"))))
            .bind(type_id)
            .bind(Value::Object(claims.clone()).to_string())
            .bind(offer.to_string())
            .bind(expires)
            .bind(now_ms())
            .execute(&self.store.pool)
            .await?;
        let by_ref_url = format!("{}/offers/{id}", self.config.issuer_url);
        let offer_uri = format!(
            "openid-credential-offer://?credential_offer={}",
            query_value(&offer.to_string())
        );
        let by_ref = format!(
            "openid-credential-offer://?credential_offer_uri={}",
            query_value(&by_ref_url)
        );
        let qr_svg = qrcode::QrCode::new(by_ref.as_bytes())
            .map(|q| {
                q.render::<qrcode::render::svg::Color>()
                    .min_dimensions(256, 256)
                    .build()
            })
            .map_err(|e| IssueError::new(500, "server_error", format!("QR code: {e}")))?;
        // The audit log names the offer and what it is for, never the codes.
        self.store.audit(actor, "offer.create", &id, &json!({"credentialType": type_id, "txCode": tx_code.is_some(), "expiresAtMs": expires})).await?;
        Ok(CreatedOffer {
            offer_id: id,
            credential_offer: offer,
            offer_uri,
            offer_by_reference_uri: by_ref,
            tx_code,
            qr_svg,
            expires_at_ms: expires,
        })
    }

    /// Offers never redeemed (or locked by wrong PINs) whose time is up become `expired`, and
    /// the citizen's claims they held are erased: an agency keeps personal data only as long
    /// as an offer can still be used. The row stays (code hash and audit trail).
    pub async fn expire_offers(&self) -> Result<u64, IssueError> {
        let done = sqlx::query("UPDATE offers SET state = 'expired', claims = '{}', offer_json = NULL WHERE state IN ('offered', 'locked') AND expires_ms < $1")
            .bind(now_ms())
            .execute(&self.store.pool)
            .await?
            .rows_affected();
        if done > 0 {
            self.store
                .audit("issuer", "offer.expire", "offers", &json!({"count": done}))
                .await?;
        }
        Ok(done)
    }

    /// The offer object for a by-reference link (only while it can still be redeemed).
    pub async fn offer_by_reference(&self, id: &str) -> Result<Value, IssueError> {
        let row = sqlx::query("SELECT offer_json, state, expires_ms FROM offers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or_else(|| IssueError::new(404, "not_found", "no such offer"))?;
        let (json, state, expires): (Option<String>, String, i64) =
            (row.get(0), row.get(1), row.get(2));
        match json {
            Some(j) if state == "offered" && expires >= now_ms() => serde_json::from_str(&j)
                .map_err(|e| IssueError::new(500, "server_error", e.to_string())),
            _ => Err(IssueError::new(
                404,
                "not_found",
                "the offer was used or has expired",
            )),
        }
    }

    // ---------------------------------------------------------------- token and nonce

    /// The token endpoint: redeems a pre-authorized code (once) with its transaction code.
    pub async fn token(
        &self,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<Value, IssueError> {
        let grant = form.get("grant_type").map(String::as_str);
        if grant != Some(PRE_AUTH_GRANT) {
            return Err(IssueError::new(
                400,
                "unsupported_grant_type",
                "only the pre-authorized code grant is supported",
            ));
        }
        let code = form.get("pre-authorized_code").ok_or_else(|| {
            IssueError::new(400, "invalid_request", "pre-authorized_code is missing")
        })?;
        let row = sqlx::query("SELECT id, tx_code_hash, state, failed_attempts, expires_ms FROM offers WHERE code_hash = $1")
            .bind(sha256_hex(code))
            .fetch_optional(&self.store.read)
            .await?
            .ok_or_else(|| IssueError::new(400, "invalid_grant", "unknown pre-authorized code"))?;
        let (id, tx_hash, state, _failed, expires): (String, Option<String>, String, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        if state != "offered" {
            self.store
                .audit(
                    "wallet",
                    "token.refused",
                    &id,
                    &json!({"reason": format!("offer is {state}")}),
                )
                .await?;
            return Err(IssueError::new(
                400,
                "invalid_grant",
                match state.as_str() {
                    "locked" => "too many wrong transaction codes; ask the agency for a new offer"
                        .to_string(),
                    "expired" => "the offer has expired".to_string(),
                    _ => "the pre-authorized code was already used".to_string(),
                },
            ));
        }
        if expires < now_ms() {
            return Err(IssueError::new(
                400,
                "invalid_grant",
                "the offer has expired",
            ));
        }
        match (&tx_hash, form.get("tx_code")) {
            (Some(_), None) => {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    "this offer needs its transaction code (tx_code)",
                ));
            }
            (None, Some(_)) => {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    "this offer has no transaction code",
                ));
            }
            (Some(h), Some(pin)) => {
                let given = sha256_hex(&format!("{code}:{pin}"));
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    given.as_bytes(),
                    h.as_bytes(),
                )) {
                    // Counted and locked atomically (one write job): concurrent wrong
                    // guesses can neither undo a lock nor reopen a redeemed offer.
                    let max = self.config.max_tx_code_attempts as i64;
                    let offer_id = id.clone();
                    let (failed, lock) = self
                        .store
                        .write(move |c| {
                            Box::pin(async move {
                                sqlx::query("UPDATE offers SET failed_attempts = failed_attempts + 1 WHERE id = $1 AND state = 'offered'")
                                    .bind(&offer_id)
                                    .execute(&mut *c)
                                    .await?;
                                sqlx::query("UPDATE offers SET state = 'locked' WHERE id = $1 AND state = 'offered' AND failed_attempts >= $2")
                                    .bind(&offer_id)
                                    .bind(max)
                                    .execute(&mut *c)
                                    .await?;
                                let row = sqlx::query(
                                    "SELECT failed_attempts, state FROM offers WHERE id = $1",
                                )
                                .bind(&offer_id)
                                .fetch_one(&mut *c)
                                .await?;
                                let (failed, state): (i64, String) = (row.get(0), row.get(1));
                                let lock = state == "locked";
                                Store::audit_on(
                                    c,
                                    "wallet",
                                    "token.wrong_tx_code",
                                    &offer_id,
                                    &json!({"failedAttempts": failed, "locked": lock}),
                                )
                                .await?;
                                Ok::<_, IssueError>((failed, lock))
                            })
                        })
                        .await?;
                    let left = self
                        .config
                        .max_tx_code_attempts
                        .saturating_sub(failed as u64);
                    return Err(IssueError::new(
                        400,
                        "invalid_grant",
                        if lock {
                            "wrong transaction code; the offer is now locked".to_string()
                        } else {
                            format!("wrong transaction code ({left} attempts left)")
                        },
                    ));
                }
            }
            (None, None) => {}
        }
        let token = random_token(32);
        let token_hash = sha256_hex(&token);
        let expires_ms = now_ms() + (self.config.token_ttl_s as i64) * 1000;
        self.store
            .write(move |c| {
                Box::pin(async move {
                    let used = sqlx::query("UPDATE offers SET state = 'redeemed', offer_json = NULL WHERE id = $1 AND state = 'offered'")
                        .bind(&id)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                    if used != 1 {
                        return Err(IssueError::new(
                            400,
                            "invalid_grant",
                            "the pre-authorized code was already used",
                        ));
                    }
                    sqlx::query("INSERT INTO access_tokens (token_hash, offer_id, expires_ms, used) VALUES ($1, $2, $3, 0)")
                        .bind(token_hash)
                        .bind(&id)
                        .bind(expires_ms)
                        .execute(&mut *c)
                        .await?;
                    Store::audit_on(c, "wallet", "token.grant", &id, &json!({})).await?;
                    Ok(())
                })
            })
            .await?;
        Ok(
            json!({"access_token": token, "token_type": "Bearer", "expires_in": self.config.token_ttl_s}),
        )
    }

    /// A fresh `c_nonce`: its expiry and a MAC under a key derived from the issuer's key, so
    /// issuing one writes nothing; it is recorded as used in the transaction that issues
    /// credentials against it (single use).
    pub async fn nonce(&self) -> Result<Value, IssueError> {
        let mut body = [0u8; 24];
        body[..8]
            .copy_from_slice(&(now_ms() + (self.config.nonce_ttl_s as i64) * 1000).to_be_bytes());
        OsRng.fill_bytes(&mut body[8..]);
        let mut out = body.to_vec();
        out.extend_from_slice(&self.nonce_mac(&body)[..16]);
        Ok(json!({"c_nonce": URL_SAFE_NO_PAD.encode(out)}))
    }

    fn nonce_mac(&self, body: &[u8]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(&self.nonce_key[..]) {
            Ok(m) => m,
            Err(_) => return [0; 32],
        };
        hmac::Mac::update(&mut mac, body);
        mac.finalize().into_bytes().into()
    }

    /// The nonce's expiry (ms) if this issuer made it and it has not expired.
    fn check_nonce(&self, nonce: &str) -> Option<i64> {
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if raw.len() != 40 {
            return None;
        }
        let (body, tag) = raw.split_at(24);
        let expected = self.nonce_mac(body);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(tag, &expected[..16])) {
            return None;
        }
        let expires = i64::from_be_bytes(body[..8].try_into().ok()?);
        (expires >= now_ms()).then_some(expires)
    }

    // ---------------------------------------------------------------- credential endpoint

    /// Checks one `openid4vci-proof+jwt`; returns the key it proves possession of and its nonce.
    fn check_proof(&self, jwt: &str) -> Result<(PublicKey, String), IssueError> {
        let bad = |m: &str| IssueError::new(400, "invalid_proof", m.to_owned());
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("the proof is not a compact JWS"));
        };
        let decode = |x: &str| {
            URL_SAFE_NO_PAD
                .decode(x)
                .map_err(|_| bad("the proof is not base64url"))
        };
        let header: Value =
            serde_json::from_slice(&decode(h)?).map_err(|_| bad("the proof header is not JSON"))?;
        let claims: Value = serde_json::from_slice(&decode(p)?)
            .map_err(|_| bad("the proof claims are not JSON"))?;
        if header["typ"] != PROOF_TYP {
            return Err(bad("proof typ must be openid4vci-proof+jwt"));
        }
        if !matches!(header["alg"].as_str(), Some("EdDSA" | "Ed25519")) {
            return Err(bad("proof alg must be EdDSA"));
        }
        let key = match (header.get("kid").and_then(Value::as_str), header.get("jwk")) {
            (Some(kid), None) => {
                dids::resolve(
                    kid,
                    dids::Relationship::Authentication,
                    &verifier_lib::RegistryEvidence::default(),
                )
                .map_err(|e| bad(&format!("proof kid: {e}")))?
                .key
            }
            (None, Some(jwk)) => {
                dids::public_key_from_jwk(jwk).map_err(|e| bad(&format!("proof jwk: {e}")))?
            }
            _ => return Err(bad("the proof header must have exactly one of kid and jwk")),
        };
        let sig = did_method::Signature::from_slice(&decode(s)?)
            .map_err(|_| bad("the proof signature is malformed"))?;
        key.verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| bad("the proof signature does not verify"))?;
        if claims["aud"] != self.config.issuer_url.as_str() {
            return Err(bad("the proof's aud is not this issuer"));
        }
        if claims.get("iss").is_some() {
            return Err(bad("an anonymous pre-authorized proof must not carry iss"));
        }
        let iat = claims["iat"]
            .as_i64()
            .ok_or_else(|| bad("the proof has no iat"))?;
        let now_s = now_ms() / 1000;
        if iat > now_s + 60 || iat < now_s - self.config.nonce_ttl_s as i64 {
            return Err(bad("the proof's iat is outside the accepted window"));
        }
        let nonce = claims["nonce"]
            .as_str()
            .ok_or_else(|| bad("the proof has no nonce"))?;
        Ok((key, nonce.to_owned()))
    }

    /// The credential endpoint: one credential per proven key, recorded before it is returned.
    pub async fn credential(
        &self,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<Value, IssueError> {
        let token = bearer
            .ok_or_else(|| IssueError::new(401, "invalid_token", "an access token is required"))?;
        let row =
            sqlx::query("SELECT offer_id, expires_ms FROM access_tokens WHERE token_hash = $1")
                .bind(sha256_hex(token))
                .fetch_optional(&self.store.read)
                .await?
                .ok_or_else(|| IssueError::new(401, "invalid_token", "unknown access token"))?;
        let (offer_id, expires): (String, i64) = (row.get(0), row.get(1));
        if expires < now_ms() {
            return Err(IssueError::new(
                401,
                "invalid_token",
                "the access token has expired",
            ));
        }
        let offer = sqlx::query("SELECT credential_type, claims, state FROM offers WHERE id = $1")
            .bind(&offer_id)
            .fetch_one(&self.store.read)
            .await?;
        let (type_id, claims, state): (String, String, String) =
            (offer.get(0), offer.get(1), offer.get(2));
        if state != "redeemed" {
            return Err(IssueError::new(
                400,
                "credential_request_denied",
                "the credentials of this offer were already issued",
            ));
        }
        let requested = body
            .get("credential_configuration_id")
            .and_then(Value::as_str);
        if body.get("credential_identifier").is_some() || requested.is_none() {
            return Err(IssueError::new(
                400,
                "invalid_credential_request",
                "give credential_configuration_id",
            ));
        }
        if requested != Some(type_id.as_str()) {
            return Err(IssueError::new(
                400,
                "unknown_credential_configuration",
                format!("this offer is for {type_id}"),
            ));
        }
        let proofs: Vec<&str> = match body.get("proofs").and_then(|p| p.as_object()) {
            Some(m) if m.len() == 1 => m
                .get("jwt")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .ok_or_else(|| {
                    IssueError::new(400, "invalid_proof", "only jwt proofs are supported")
                })?,
            _ => {
                return Err(IssueError::new(
                    400,
                    "invalid_proof",
                    "proofs must hold one proof type",
                ));
            }
        };
        if proofs.is_empty() {
            return Err(IssueError::new(
                400,
                "invalid_proof",
                "no proof of possession",
            ));
        }
        if proofs.len() as u64 > self.config.batch_size {
            return Err(IssueError::new(
                400,
                "invalid_credential_request",
                format!("at most {} proofs", self.config.batch_size),
            ));
        }
        let mut keys = vec![];
        let mut nonce = None;
        for p in proofs {
            let (k, n) = self.check_proof(p)?;
            if nonce.as_ref().is_some_and(|x| *x != n) {
                return Err(IssueError::new(
                    400,
                    "invalid_proof",
                    "the proofs of one request carry one nonce",
                ));
            }
            nonce = Some(n);
            if keys.contains(&k) {
                return Err(IssueError::new(
                    400,
                    "invalid_proof",
                    "each proof must be for a different key",
                ));
            }
            keys.push(k);
        }
        let nonce = nonce.unwrap_or_default();
        let nonce_expires = self.check_nonce(&nonce).ok_or_else(|| {
            IssueError::new(
                400,
                "invalid_nonce",
                "the nonce is unknown or expired; fetch a new one",
            )
        })?;
        let t = self.get_type(&type_id).await?;
        let claims: Map<String, Value> = serde_json::from_str(&claims)
            .map_err(|e| IssueError::new(500, "server_error", e.to_string()))?;
        // Signing (a JSON-LD canonicalization for `ldp_vc`, about a millisecond) happens
        // before the transaction, so the database's single writer is held only for the
        // writes and the commit. The status index each credential carries is claimed by the
        // insert (a unique constraint); if another issuance took it meanwhile, everything is
        // rolled back and signed again with fresh indices.
        for _attempt in 0..8 {
            let mut prepared = Vec::with_capacity(keys.len());
            for k in &keys {
                prepared.push(self.prepare(&t, &claims, k).await?);
            }
            let (offer_id, type_id, nonce) = (offer_id.clone(), type_id.clone(), nonce.clone());
            let size = self.config.status_list_size as i64;
            let (t_id, t_format) = (t.id.clone(), t.format.clone());
            let written = self
                .store
                .write(move |c| {
                    Box::pin(async move {
                        let done = sqlx::query(
                            "UPDATE offers SET state = 'issued' WHERE id = $1 AND state = 'redeemed'",
                        )
                        .bind(&offer_id)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                        if done != 1 {
                            return Err(IssueError::new(
                                400,
                                "credential_request_denied",
                                "the credentials of this offer were already issued",
                            ));
                        }
                        // The nonce is used up with this issuance (a second use is refused).
                        let fresh =
                            sqlx::query("INSERT INTO nonces (nonce, expires_ms) VALUES ($1, $2)")
                                .bind(&nonce)
                                .bind(nonce_expires)
                                .execute(&mut *c)
                                .await;
                        match fresh {
                            Ok(_) => {}
                            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                                return Err(IssueError::new(
                                    400,
                                    "invalid_nonce",
                                    "the nonce was already used; fetch a new one",
                                ));
                            }
                            Err(e) => return Err(e.into()),
                        }
                        for p in &prepared {
                            if !p.record(c, &t_id, &t_format, Some(&offer_id)).await? {
                                // Rolled back (the savepoint): signed again with other indices.
                                return Err(IssueError::new(503, INDEX_TAKEN, "status index taken"));
                            }
                            Store::audit_on(
                                c,
                                "wallet",
                                "credential.issue",
                                &p.id,
                                &json!({"offer": offer_id, "type": type_id, "statusList": p.index / size, "statusIndex": p.index % size}),
                            )
                            .await?;
                        }
                        Ok(prepared)
                    })
                })
                .await;
            if let Some(done) = settle(written) {
                let prepared = done?;
                self.counted(prepared.iter().map(|p| p.index));
                return Ok(json!({"credentials": prepared
                    .into_iter()
                    .map(|p| json!({"credential": p.credential}))
                    .collect::<Vec<_>>()}));
            }
        }
        Err(no_free_index())
    }

    /// Picks a status index free at this moment and signs the credential with it (nothing is
    /// written: [`Prepared::record`] claims the index in the issuing transaction).
    async fn prepare(
        &self,
        t: &CredentialType,
        claims: &Map<String, Value>,
        holder: &PublicKey,
    ) -> Result<Prepared, IssueError> {
        let (holder_did, _) = dids::did_key(holder);
        let index = self.free_index().await?;
        let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let credential = self.build(t, claims, holder, &id, index)?;
        Ok(Prepared {
            credential,
            id,
            index,
            holder: holder_did,
        })
    }

    /// A random status index no issued credential has at this moment (the insert that claims
    /// it is checked by a unique constraint as well), in the open list. Indices are global:
    /// list `n` holds `n × size ..= n × size + size - 1`. The next list is opened when the
    /// open one is [`ROLLOVER_PERCENT`] full (or 64 random tries all hit taken entries).
    async fn free_index(&self) -> Result<i64, IssueError> {
        let size = self.config.status_list_size as i64;
        for _ in 0..3 {
            let list = self.open_list.load(std::sync::atomic::Ordering::SeqCst);
            let count = self.open_count.load(std::sync::atomic::Ordering::SeqCst);
            if count * 100 < size * ROLLOVER_PERCENT {
                for _ in 0..64 {
                    let index = list * size + (OsRng.next_u64() % size as u64) as i64;
                    let taken = sqlx::query("SELECT 1 FROM issued WHERE status_index = $1")
                        .bind(index)
                        .fetch_optional(&self.store.read)
                        .await?
                        .is_some();
                    if !taken {
                        return Ok(index);
                    }
                }
            }
            self.open_next_list(list).await?;
        }
        Err(no_free_index())
    }

    /// Opens list `full + 1` (its revocation, suspension and token lists, created in one
    /// transaction), unless another issuance already did, publishes it, and only then sends
    /// new credentials to it. A publication that fails (registry down) is retried by the
    /// periodic refresh.
    async fn open_next_list(&self, full: i64) -> Result<(), IssueError> {
        let _guard = self.publish.lock().await;
        if self.open_list.load(std::sync::atomic::Ordering::SeqCst) != full {
            return Ok(());
        }
        let next = full + 1;
        let mut tx = self.store.pool.begin().await?;
        for purpose in LISTS {
            self.insert_list(&mut tx, purpose, next).await?;
        }
        Store::audit_tx(
            &mut tx,
            "issuer",
            "status_list.open",
            &self.status_url(&list_id("revocation", next)),
            &json!({"list": next, "previousList": full}),
        )
        .await?;
        tx.commit().await?;
        for purpose in LISTS {
            let id = list_id(purpose, next);
            if let Err(e) = self.publish_locked(&id).await {
                tracing::warn!(list = %id, error = %e.description, "a new status list is not published yet; the refresh will retry");
            }
        }
        self.open_count.store(
            self.count_in_list(next).await?,
            std::sync::atomic::Ordering::SeqCst,
        );
        self.open_list
            .store(next, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// Creates status list `list` of `purpose` with every entry 0, unless it exists.
    async fn insert_list(
        &self,
        conn: &mut sqlx::AnyConnection,
        purpose: &str,
        list: i64,
    ) -> Result<(), IssueError> {
        // One bit per index in the Bitstring lists, two in the Token Status List.
        let per_byte = if purpose == TOKEN_LIST { 4 } else { 8 };
        let bytes = vec![0u8; (self.config.status_list_size as usize).div_ceil(per_byte)];
        sqlx::query("INSERT INTO status_lists (id, purpose, size, bits, credential, version, anchor_sequence, anchored_version, updated_ms) VALUES ($1, $2, $3, $4, NULL, 0, 0, 0, 0) ON CONFLICT (id) DO NOTHING")
            .bind(list_id(purpose, list))
            .bind(purpose)
            .bind(self.config.status_list_size as i64)
            .bind(URL_SAFE_NO_PAD.encode(bytes))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The list a global status index is in, and its index in that list.
    fn split_index(&self, index: i64) -> (i64, i64) {
        let size = self.config.status_list_size as i64;
        (index / size, index % size)
    }

    /// The revocation and suspension entries of a credential with status index `index`.
    fn status_entries(&self, index: i64) -> Value {
        let (list, index) = self.split_index(index);
        let entry = |purpose: &str| {
            let url = self.status_url(&list_id(purpose, list));
            json!({
                "id": format!("{url}#{index}"),
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": index.to_string(),
                "statusListCredential": url,
            })
        };
        json!([entry("revocation"), entry("suspension")])
    }

    fn build(
        &self,
        t: &CredentialType,
        claims: &Map<String, Value>,
        holder: &PublicKey,
        id: &str,
        index: i64,
    ) -> Result<Value, IssueError> {
        let now = now_ms();
        let until = now + (t.validity_days as i64) * 86_400_000;
        let sign_err = |e: String| IssueError::new(500, "server_error", format!("signing: {e}"));
        if t.format == FORMAT_DI {
            let (holder_did, _) = dids::did_key(holder);
            let mut subject = claims.clone();
            subject.insert("id".into(), json!(holder_did));
            let vc = json!({
                "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
                "id": id,
                "type": ["VerifiableCredential", t.credential_type],
                "issuer": self.did,
                "validFrom": rfc3339(now),
                "validUntil": rfc3339(until),
                "credentialSubject": subject,
                "credentialStatus": self.status_entries(index),
            });
            let signer = self.signer();
            self.rdfc
                .sign(&vc, &signer.key, &proof_options(&signer, now))
                .map_err(|e| sign_err(e.to_string()))
        } else {
            let mut c = claims.clone();
            c.insert("iss".into(), json!(self.did));
            c.insert("vct".into(), json!(t.credential_type));
            c.insert("iat".into(), json!(now / 1000));
            c.insert("exp".into(), json!(until / 1000));
            c.insert("cnf".into(), json!({"jwk": dids::jwk_of(holder)}));
            // Always disclosed (SD-JWT VC: `status` is never selectively disclosable).
            c.insert(
                "status".into(),
                {
                    let (list, idx) = self.split_index(index);
                    token_status::Reference {
                        idx: idx as usize,
                        uri: self.status_url(&list_id(TOKEN_LIST, list)),
                    }
                }
                .to_claim(),
            );
            let disclosable: Vec<String> = t
                .claims
                .iter()
                .map(|n| format!("/{}", n.replace('~', "~0").replace('/', "~1")))
                .collect();
            let refs: Vec<&str> = disclosable.iter().map(String::as_str).collect();
            let signer = self.signer();
            verifier_lib::sdjwt::issue(&c, &refs, &signer.verification_method, &signer.key)
                .map(Value::String)
                .map_err(|e| sign_err(e.to_string()))
        }
    }

    /// VC-API `POST /credentials/issue`: signs a back-office credential as this issuer, with
    /// status entries, and records it.
    pub async fn issue_vc_api(&self, actor: &str, credential: &Value) -> Result<Value, IssueError> {
        let Some(obj) = credential.as_object() else {
            return Err(IssueError::new(
                400,
                "invalid_request",
                "credential must be a JSON object",
            ));
        };
        if obj.contains_key("proof") {
            return Err(IssueError::new(
                400,
                "invalid_request",
                "the credential already has a proof",
            ));
        }
        let types: Vec<String> = match obj.get("type") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => vec![],
        };
        let Some(specific) = types.iter().find(|t| *t != "VerifiableCredential") else {
            return Err(IssueError::new(
                400,
                "invalid_request",
                "type must name VerifiableCredential and a specific type",
            ));
        };
        let now = now_ms();
        let mut vc = obj.clone();
        vc.insert("issuer".into(), json!(self.did));
        vc.entry("validFrom").or_insert_with(|| json!(rfc3339(now)));
        let holder = vc
            .get("credentialSubject")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let id = vc
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("urn:uuid:{}", uuid::Uuid::new_v4()));
        vc.insert("id".into(), json!(id));
        // As for the credential endpoint: signed first, the index claimed by the insert.
        for _attempt in 0..8 {
            let index = self.free_index().await?;
            vc.insert("credentialStatus".into(), self.status_entries(index));
            let signer = self.signer();
            let signed = self
                .rdfc
                .sign(
                    &Value::Object(vc.clone()),
                    &signer.key,
                    &proof_options(&signer, now),
                )
                .map_err(|e| IssueError::new(400, "invalid_request", e.to_string()))?;
            let prepared = Prepared {
                credential: signed,
                id: id.clone(),
                index,
                holder: holder.clone(),
            };
            let (actor, specific) = (actor.to_owned(), specific.clone());
            let size = self.config.status_list_size as i64;
            let written = self
                .store
                .write(move |c| {
                    Box::pin(async move {
                        if !prepared.record(c, &specific, FORMAT_DI, None).await? {
                            return Err(IssueError::new(503, INDEX_TAKEN, "status index taken"));
                        }
                        Store::audit_on(
                            c,
                            &actor,
                            "credential.issue",
                            &prepared.id,
                            &json!({"via": "vc-api", "type": specific, "statusList": prepared.index / size, "statusIndex": prepared.index % size}),
                        )
                        .await?;
                        Ok(prepared.credential)
                    })
                })
                .await;
            if let Some(done) = settle(written) {
                let signed = done?;
                self.counted([index]);
                return Ok(json!({"verifiableCredential": signed}));
            }
        }
        Err(no_free_index())
    }

    // ---------------------------------------------------------------- status

    /// Revokes (for good), suspends or unsuspends an issued credential, then publishes.
    pub async fn set_status(
        &self,
        actor: &str,
        id: &str,
        action: &str,
        reason: &str,
    ) -> Result<Value, IssueError> {
        let row = sqlx::query("SELECT state, status_index, format FROM issued WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or_else(|| {
                IssueError::new(404, "not_found", format!("no issued credential {id}"))
            })?;
        let (state, index, format): (String, i64, String) = (row.get(0), row.get(1), row.get(2));
        let (new_state, purpose, bit) = match (action, state.as_str()) {
            (_, "revoked") => {
                return Err(IssueError::new(
                    409,
                    "conflict",
                    "the credential is revoked; that is final",
                ));
            }
            ("revoke", _) => ("revoked", "revocation", 1u8),
            ("suspend", "valid") => ("suspended", "suspension", 1),
            ("unsuspend", "suspended") => ("valid", "suspension", 0),
            ("suspend", s) | ("unsuspend", s) => {
                return Err(IssueError::new(
                    409,
                    "conflict",
                    format!("the credential is {s}"),
                ));
            }
            _ => {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    "action must be revoke, suspend or unsuspend",
                ));
            }
        };
        // Data Integrity credentials: one bit in the revocation or suspension Bitstring list;
        // SD-JWT VCs: a two-bit status in the Token Status List.
        let (list_no, local) = self.split_index(index);
        let list_id = list_id(
            if format == FORMAT_DI {
                purpose
            } else {
                TOKEN_LIST
            },
            list_no,
        );
        let _guard = self.publish.lock().await;
        let mut tx = self.store.pool.begin().await?;
        let list = sqlx::query("SELECT bits FROM status_lists WHERE id = $1")
            .bind(&list_id)
            .fetch_one(&mut *tx)
            .await?;
        let stored = list.get::<String, _>(0);
        let encoded = if format == FORMAT_DI {
            let mut bits = self.decode_bits(&stored)?;
            let one = StatusSize::try_from(1u8)
                .map_err(|_| IssueError::new(500, "server_error", "status size"))?;
            bits.set(one, local as usize, bit)
                .map_err(|_| IssueError::new(500, "server_error", "status index out of range"))?;
            self.encode_bits(&bits)?
        } else {
            let mut list = decode_token_bits(&stored)?;
            let value = match new_state {
                "revoked" => token_status::INVALID,
                "suspended" => token_status::SUSPENDED,
                _ => token_status::VALID,
            };
            list.set(local as usize, value)
                .map_err(|_| IssueError::new(500, "server_error", "status index out of range"))?;
            URL_SAFE_NO_PAD.encode(list.as_bytes())
        };
        sqlx::query("UPDATE status_lists SET bits = $1 WHERE id = $2")
            .bind(encoded)
            .bind(&list_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE issued SET state = $1 WHERE id = $2")
            .bind(new_state)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.store
            .audit(
                actor,
                &format!("credential.{action}"),
                id,
                &json!({"reason": reason, "statusList": list_no, "statusIndex": local}),
            )
            .await?;
        let published = self.publish_locked(&list_id).await;
        Ok(
            json!({"id": id, "state": new_state, "published": published.is_ok(), "publishError": published.err().map(|e| e.to_string())}),
        )
    }

    fn decode_bits(&self, b64: &str) -> Result<StatusList, IssueError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| IssueError::new(500, "server_error", "stored status bits are corrupt"))?;
        Ok(StatusList::from_bytes(bytes, TimeToLive::default()))
    }

    fn encode_bits(&self, list: &StatusList) -> Result<String, IssueError> {
        let one = StatusSize::try_from(1u8)
            .map_err(|_| IssueError::new(500, "server_error", "status size"))?;
        let n = self.config.status_list_size as usize;
        let mut bytes = vec![0u8; n.div_ceil(8)];
        for (i, v) in list.iter(one).enumerate().take(n) {
            if v != 0 {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Makes sure every list up to the last one opened exists in all three purposes (a crash
    /// while a list was being opened is completed here), that the configured list size is
    /// the one the lists were made with, and counts the open list.
    async fn ensure_status_lists(&self) -> Result<(), StartError> {
        let size = self.config.status_list_size as i64;
        let rows = sqlx::query("SELECT id, size FROM status_lists")
            .fetch_all(&self.store.pool)
            .await?;
        let mut last = 0;
        for r in &rows {
            let (id, stored): (String, i64) = (r.get(0), r.get(1));
            if stored != size {
                return Err(StartError::StatusListSize {
                    list: id,
                    stored,
                    configured: size,
                });
            }
            if let Some((_, n)) = id.rsplit_once('-')
                && let Ok(n) = n.parse::<i64>()
            {
                last = last.max(n);
            }
        }
        let mut tx = self.store.pool.begin().await?;
        for list in 0..=last {
            for purpose in LISTS {
                self.insert_list(&mut tx, purpose, list).await?;
            }
        }
        tx.commit().await?;
        self.open_list
            .store(last, std::sync::atomic::Ordering::SeqCst);
        let count = self.count_in_list(last).await?;
        self.open_count
            .store(count, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// How many issued credentials list `list` holds.
    async fn count_in_list(&self, list: i64) -> Result<i64, IssueError> {
        let size = self.config.status_list_size as i64;
        Ok(sqlx::query(
            "SELECT COUNT(*) FROM issued WHERE status_index >= $1 AND status_index < $2",
        )
        .bind(list * size)
        .bind(list * size + size)
        .fetch_one(&self.store.read)
        .await?
        .get::<i64, _>(0))
    }

    /// Counts credentials just recorded towards the open list's fill.
    fn counted(&self, indices: impl IntoIterator<Item = i64>) {
        let size = self.config.status_list_size as i64;
        let open = self.open_list.load(std::sync::atomic::Ordering::SeqCst);
        let n = indices.into_iter().filter(|i| i / size == open).count() as i64;
        self.open_count
            .fetch_add(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Re-signs and (with a registry) anchors every list that is missing or older than the
    /// refresh period.
    pub async fn refresh_status_lists(&self) -> Result<(), IssueError> {
        // Used nonces are kept only until they expire.
        sqlx::query("DELETE FROM nonces WHERE expires_ms < $1")
            .bind(now_ms())
            .execute(&self.store.pool)
            .await?;
        self.expire_offers().await?;
        let _guard = self.publish.lock().await;
        let lists = sqlx::query("SELECT id, updated_ms, credential FROM status_lists ORDER BY id")
            .fetch_all(&self.store.pool)
            .await?;
        for row in lists {
            let (id, updated, credential): (String, i64, Option<String>) =
                (row.get(0), row.get(1), row.get(2));
            if credential.is_none()
                || updated + (self.config.status_refresh_s as i64) * 1000 < now_ms()
            {
                self.publish_locked(&id).await?;
            }
        }
        Ok(())
    }

    /// Signs the list as it is now, anchors its hash (when a registry is configured), and only
    /// then serves it: what a wallet fetches is always what the registry anchors.
    async fn publish_locked(&self, id: &str) -> Result<(), IssueError> {
        let row = sqlx::query(
            "SELECT bits, version, anchor_sequence, purpose FROM status_lists WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&self.store.pool)
        .await?;
        let (bits, version, sequence, purpose): (String, i64, i64, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let purpose = purpose.as_str();
        let now = now_ms();
        let url = self.status_url(id);
        let signer = self.signer();
        let text = if purpose == TOKEN_LIST {
            let list = decode_token_bits(&bits)?;
            let iat_s = (now / 1000) as u64;
            token_status::sign(
                &token_status::TokenClaims {
                    iss: &self.did,
                    sub: &url,
                    iat_s,
                    // Valid until two refresh periods have passed: a wallet can always staple
                    // a token that has not expired.
                    exp_s: iat_s + 2 * self.config.status_refresh_s,
                    ttl_s: TOKEN_TTL_S,
                    list: &list,
                },
                &signer.verification_method,
                &signer.key,
            )
            .map_err(|e| IssueError::new(500, "server_error", e.to_string()))?
        } else {
            let list = self.decode_bits(&bits)?;
            let p = if purpose == "revocation" {
                StatusPurpose::Revocation
            } else {
                StatusPurpose::Suspension
            };
            let subject = serde_json::to_value(list.to_credential_subject(None, p))
                .map_err(|e| IssueError::new(500, "server_error", e.to_string()))?;
            let unsigned = json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": url,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": self.did,
                "validFrom": rfc3339(now),
                "credentialSubject": subject,
            });
            let signed = self
                .rdfc
                .sign(&unsigned, &signer.key, &proof_options(&signer, now))
                .map_err(|e| IssueError::new(500, "server_error", e.to_string()))?;
            serde_json::to_string(&signed)
                .map_err(|e| IssueError::new(500, "server_error", e.to_string()))?
        };
        let mut next_sequence = sequence;
        if let (Some(registry), Ok(did)) = (&self.registry, Did::parse(&self.did)) {
            let genesis = registry
                .genesis()
                .await
                .map_err(|e| IssueError::new(503, "registry_unavailable", e.to_string()))?;
            let op = did_method::operation::Operation {
                chain_id: genesis.chain_id,
                sequence: sequence as u64,
                body: did_method::operation::OperationBody::AnchorStatusList {
                    issuer: did,
                    list_id: url.clone(),
                    list_hash: Hash::digest(text.as_bytes()),
                },
            }
            .sign(&[&signer.key]);
            registry
                .submit_and_commit(&op, std::time::Duration::from_secs(20))
                .await
                .map_err(|e| {
                    IssueError::new(503, "registry_unavailable", format!("anchoring {url}: {e}"))
                })?;
            next_sequence += 1;
        }
        sqlx::query("UPDATE status_lists SET credential = $1, version = $2, anchor_sequence = $3, anchored_version = $2, updated_ms = $4 WHERE id = $5")
            .bind(&text)
            .bind(version + 1)
            .bind(next_sequence)
            .bind(now)
            .bind(id)
            .execute(&self.store.pool)
            .await?;
        self.store
            .audit(
                "issuer",
                "status_list.publish",
                &url,
                &json!({"version": version + 1, "anchored": self.registry.is_some()}),
            )
            .await?;
        Ok(())
    }

    /// The status list credential exactly as anchored.
    pub async fn status_list(&self, purpose: &str) -> Result<String, IssueError> {
        let row = sqlx::query("SELECT credential FROM status_lists WHERE id = $1")
            .bind(purpose)
            .fetch_optional(&self.store.read)
            .await?
            .ok_or_else(|| IssueError::new(404, "not_found", "no such status list"))?;
        row.get::<Option<String>, _>(0).ok_or_else(|| {
            IssueError::new(503, "not_published", "the status list is not published yet")
        })
    }

    pub async fn issued(&self, offer: Option<&str>) -> Result<Vec<Value>, IssueError> {
        let rows = sqlx::query("SELECT id, offer_id, credential_type, format, holder, status_index, state, issued_ms FROM issued WHERE ($1 IS NULL OR offer_id = $1) ORDER BY issued_ms, id")
            .bind(offer)
            .fetch_all(&self.store.pool)
            .await?;
        let size = self.config.status_list_size as i64;
        Ok(rows
            .iter()
            .map(|r| json!({
                "id": r.get::<String, _>(0), "offerId": r.get::<Option<String>, _>(1), "credentialType": r.get::<String, _>(2),
                "format": r.get::<String, _>(3), "holder": r.get::<String, _>(4),
                "statusList": r.get::<i64, _>(5) / size, "statusIndex": r.get::<i64, _>(5) % size,
                "state": r.get::<String, _>(6), "issuedAtMs": r.get::<i64, _>(7)}))
            .collect())
    }

    /// After a rotation: the status lists are due to be re-signed with the new key (at once
    /// when serving, else when `serve` starts), and the audit log records it, by `actor`
    /// (`operator` for the CLI) with `details`.
    pub async fn record_rotation(
        store: &Store,
        actor: &str,
        next: &str,
        details: &Value,
    ) -> Result<(), IssueError> {
        sqlx::query("UPDATE status_lists SET updated_ms = 0")
            .execute(&store.pool)
            .await?;
        store.audit(actor, "key.rotate", next, details).await?;
        Ok(())
    }

    /// Rotates the signing key while serving (`POST /admin/keys/rotate`): the same procedure
    /// as `alliance-issuer rotate-key` ([`crate::rotation`]), then the new key signs from the
    /// next credential on, and the status lists are re-signed and re-anchored with it at
    /// once. Status publication waits meanwhile: no anchor is signed by a key the registry
    /// has just stopped accepting.
    pub async fn rotate_live(&self, actor: &str, retire_old: bool) -> Result<Value, IssueError> {
        let live = self.live_rotation.get().ok_or_else(|| {
            IssueError::new(
                409,
                "rotation_unavailable",
                "this issuer was not started by `alliance-issuer serve` from its directory",
            )
        })?;
        let guard = self.publish.lock().await;
        let current = self.signer();
        let config_err =
            |e: crate::config::ConfigError| IssueError::new(500, "server_error", e.to_string());
        let mut config = IssuerConfig::load(&live.dir).map_err(config_err)?;
        // The file on disk names the key this process signs with (it may have been edited).
        config.verification_method = current.verification_method.clone();
        let rotated = crate::rotation::rotate(
            &live.dir,
            &config,
            &current.key,
            &live.passphrase,
            retire_old,
        )
        .await
        .map_err(|e| {
            use crate::rotation::RotateError as R;
            let (status, code) = match &e {
                R::Registry(_) => (503, "registry_unavailable"),
                R::KeyFile { .. } => (500, "server_error"),
                R::NoRegistry | R::Deactivated(_) | R::LostControl { .. } | R::BadDid(_) => {
                    (409, "rotation_refused")
                }
            };
            IssueError::new(status, code, e.to_string())
        })?;
        let previous = rotated.point_config(&mut config);
        config.save(&live.dir).map_err(config_err)?;
        let vm = rotated.verification_method.clone();
        *self
            .signer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(Signer {
            key: rotated.key,
            verification_method: vm.clone(),
        });
        let details = json!({"previous": previous, "previousRetired": retire_old});
        Self::record_rotation(&self.store, actor, &vm, &details).await?;
        drop(guard);
        // Re-signed by the new key now; if the registry is busy, the refresher retries.
        if let Err(e) = self.refresh_status_lists().await {
            tracing::warn!("status lists not yet re-signed after the rotation: {e}");
        }
        Ok(json!({
            "did": self.did,
            "verificationMethod": vm,
            "previous": previous,
            "previousRetired": retire_old,
            "height": rotated.height,
        }))
    }

    pub async fn api_key_actor(&self, key: &str) -> Result<Option<String>, IssueError> {
        Ok(sqlx::query("SELECT name FROM api_keys WHERE key_hash = $1")
            .bind(sha256_hex(key))
            .fetch_optional(&self.store.read)
            .await?
            .map(|r| r.get::<String, _>(0)))
    }

    /// Creates an admin API key; returns it (shown once; only its hash is stored).
    pub async fn create_api_key(store: &Store, name: &str) -> Result<String, StoreError> {
        let key = format!("aik_{}", random_token(32));
        sqlx::query(
            "INSERT INTO api_keys (id, name, key_hash, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(name)
        .bind(sha256_hex(&key))
        .bind(now_ms())
        .execute(&store.pool)
        .await?;
        store
            .audit("init", "api_key.create", name, &json!({}))
            .await?;
        Ok(key)
    }
}

/// The Token Status List of SD-JWT VCs (its id, and the last segment of its URL).
pub const TOKEN_LIST: &str = "token";
/// Every list an issuer keeps: Bitstring revocation and suspension lists for Data Integrity
/// credentials, and the Token Status List for SD-JWT VCs.
const LISTS: [&str; 3] = ["revocation", "suspension", TOKEN_LIST];

/// The id (and last path segment of the URL) of status list number `list` of `purpose`:
/// the purpose alone for the first list (`revocation`), then `revocation-1`, `revocation-2`…
pub fn list_id(purpose: &str, list: i64) -> String {
    if list == 0 {
        purpose.to_owned()
    } else {
        format!("{purpose}-{list}")
    }
}

/// Whether the status list with this id is a Token Status List (`token`, `token-1`, …).
pub fn is_token_list(id: &str) -> bool {
    id == TOKEN_LIST
        || id
            .strip_prefix("token-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}
/// How long a wallet or verifier may cache a Status List Token before fetching it again.
const TOKEN_TTL_S: u64 = 300;

/// The stored two-bit statuses of the Token Status List.
fn decode_token_bits(b64: &str) -> Result<token_status_list::BitString, IssueError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| IssueError::new(500, "server_error", "stored status bits are corrupt"))?;
    let two = token_status_list::StatusSize::try_from(2u8)
        .map_err(|_| IssueError::new(500, "server_error", "status size"))?;
    Ok(token_status_list::BitString::from_parts(two, bytes))
}
