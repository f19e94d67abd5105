//! The node's HTTP API (axum). The OpenAPI document at `GET /openapi.json` describes it.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use did_method::operation::{MAX_OPERATION_BYTES, OpError, RejectKind};
use did_method::state::{self, DidRecord};
use did_method::{Did, Hash};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{App, AppError, OpStatus};

/// Largest request body accepted (a batch of operations).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most operations in one batch submission.
pub const MAX_BATCH: usize = 1_000;
/// Longest a submission may wait for its commit.
const MAX_WAIT: Duration = Duration::from_secs(30);

const OPENAPI: &str = include_str!("openapi.json");

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/operations", post(submit))
        .route("/v1/operations/batch", post(submit_batch))
        .route("/v1/operations/{id}", get(op_status))
        .route("/v1/internal/gossip", post(gossip))
        .route("/1.0/identifiers/{did}", get(resolve))
        .route("/v1/proofs", get(proof_by_key))
        .route("/v1/proofs/did/{did}", get(proof_did))
        .route("/v1/proofs/issuer/{did}", get(proof_issuer))
        .route("/v1/proofs/status/{did}", get(proof_status))
        .route("/v1/records", get(record_by_key))
        .route("/v1/blocks", get(block_range))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/validators", get(validators))
        .route("/v1/checkpoint", get(checkpoint))
        .route("/v1/genesis", get(genesis))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// An API error: HTTP status, a stable machine-readable code and a human reason.
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
        }
    }
    fn rejected(e: OpError) -> Self {
        let status = match e.kind {
            RejectKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RejectKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            RejectKind::Malformed => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, e.kind.as_str(), e.message)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            AppError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, "bad_request", m),
            AppError::Store(e) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.code, "message": self.message})),
        )
            .into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WaitQuery {
    /// Wait up to this many milliseconds for the operation to commit.
    wait_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HeightQuery {
    height: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyQuery {
    key: String,
    height: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StatusQuery {
    list_id: String,
    height: Option<u64>,
}

fn parse_did(s: &str) -> ApiResult<Did> {
    Did::parse(s).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_did", e.to_string()))
}

/// Query-string extractor whose rejection is an [`ApiError`] (JSON `{error, message}`),
/// not axum's plain-text default.
pub struct Q<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Q<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))
    }
}

fn status_json(id: &Hash, s: &OpStatus) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
    v["id"] = json!(id.to_hex());
    v
}

async fn wait_for(app: &App, id: Hash, wait: Duration) -> ApiResult<OpStatus> {
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    let mut rx = app.subscribe();
    loop {
        let s = app.status(&id)?;
        if !matches!(s, OpStatus::Pending) {
            return Ok(s);
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            _ => return Ok(app.status(&id)?),
        }
    }
}

async fn submit(
    State(app): State<Arc<App>>,
    Q(q): Q<WaitQuery>,
    body: Bytes,
) -> ApiResult<Response> {
    let app2 = app.clone();
    let permit = app.admission.acquire().await;
    let id = tokio::task::spawn_blocking(move || app2.submit_raw(&body, false))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(ApiError::rejected)?;
    drop(permit);
    let status = match q.wait_ms {
        Some(ms) => wait_for(&app, id, Duration::from_millis(ms)).await?,
        None => OpStatus::Pending,
    };
    let code = match status {
        OpStatus::Committed { .. } => StatusCode::OK,
        OpStatus::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::ACCEPTED,
    };
    Ok((code, Json(status_json(&id, &status))).into_response())
}

async fn submit_many(app: Arc<App>, body: Bytes, from_peer: bool) -> ApiResult<Vec<Value>> {
    let ops: Vec<&serde_json::value::RawValue> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("expected a JSON array of operations: {e}"),
        )
    })?;
    if ops.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("at most {MAX_BATCH} operations per batch"),
        ));
    }
    let count = ops.len();
    drop(ops);
    let permit_owner = app.clone();
    let _permit = permit_owner.admission.acquire().await;
    tokio::task::spawn_blocking(move || {
        // Parsed again inside the blocking task (the borrowed slices cannot cross into it);
        // each operation is then taken from its own bytes, which are also what is gossiped.
        let ops: Vec<&serde_json::value::RawValue> =
            serde_json::from_slice(&body).unwrap_or_default();
        debug_assert_eq!(ops.len(), count);
        let raws: Vec<&[u8]> = ops.iter().map(|raw| raw.get().as_bytes()).collect();
        app.submit_raw_many(&raws, from_peer)
            .into_iter()
            .map(|verdict| match verdict {
                Ok(id) => json!({"id": id.to_hex(), "status": "pending"}),
                Err(e) => json!({"status": "rejected", "reason": e.kind, "message": e.message}),
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

async fn submit_batch(State(app): State<Arc<App>>, body: Bytes) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "results": submit_many(app, body, false).await? }),
    ))
}

async fn gossip(State(app): State<Arc<App>>, body: Bytes) -> ApiResult<StatusCode> {
    submit_many(app, body, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn op_status(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Q(q): Q<WaitQuery>,
) -> ApiResult<Response> {
    let id = Hash::from_hex(&id)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()))?;
    let s = match q.wait_ms {
        Some(ms) => wait_for(&app, id, Duration::from_millis(ms)).await?,
        None => app.status(&id)?,
    };
    let code = if s == OpStatus::Unknown {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    Ok((code, Json(status_json(&id, &s))).into_response())
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// DID resolution in the W3C DID Resolution / Universal Resolver shape.
async fn resolve(
    State(app): State<Arc<App>>,
    Path(did): Path<String>,
    Q(q): Q<HeightQuery>,
) -> Response {
    let meta_err = |status: StatusCode, error: &str, message: String| {
        (
            status,
            [(header::CONTENT_TYPE, "application/did-resolution+json")],
            Json(json!({
                "@context": "https://w3id.org/did-resolution/v1",
                "didDocument": null,
                "didResolutionMetadata": {"error": error, "errorMessage": message},
                "didDocumentMetadata": {}
            })),
        )
            .into_response()
    };
    let parsed = match Did::parse(&did) {
        Ok(d) => d,
        Err(did_method::did::DidError::NotAlliance(_)) => {
            return meta_err(
                StatusCode::NOT_IMPLEMENTED,
                "methodNotSupported",
                format!("{did} is not a did:alliance DID"),
            );
        }
        Err(e) => return meta_err(StatusCode::BAD_REQUEST, "invalidDid", e.to_string()),
    };
    if parsed.network() != app.chain_id() {
        return meta_err(
            StatusCode::NOT_FOUND,
            "notFound",
            format!(
                "{did} belongs to network {}, this is {}",
                parsed.network(),
                app.chain_id()
            ),
        );
    }
    let found: Result<Option<(DidRecord, u64)>, AppError> = app.did_record(&parsed, q.height);
    match found {
        Ok(Some((rec, height))) => {
            let status = if rec.deactivated {
                StatusCode::GONE
            } else {
                StatusCode::OK
            };
            let body = json!({
                "@context": "https://w3id.org/did-resolution/v1",
                "didDocument": rec.document,
                "didResolutionMetadata": {"contentType": "application/did+ld+json", "height": height},
                "didDocumentMetadata": {
                    "created": rfc3339(rec.created_ms),
                    "updated": rfc3339(rec.updated_ms),
                    "deactivated": rec.deactivated,
                    "versionId": rec.sequence.to_string(),
                    "createdHeight": rec.created_height,
                    "updatedHeight": rec.updated_height,
                }
            });
            (
                status,
                [(header::CONTENT_TYPE, "application/did-resolution+json")],
                Json(body),
            )
                .into_response()
        }
        Ok(None) => meta_err(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("{did} is not registered"),
        ),
        Err(AppError::NotFound(m)) => meta_err(StatusCode::NOT_FOUND, "notFound", m),
        Err(e) => meta_err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internalError",
            e.to_string(),
        ),
    }
}

async fn prove(app: Arc<App>, key: String, height: Option<u64>) -> ApiResult<Response> {
    // Short, bounded reads from redb: served on the runtime thread without a hand-off.
    let bytes = app.prove_json(&key, height)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn proof_by_key(State(app): State<Arc<App>>, Q(q): Q<KeyQuery>) -> ApiResult<Response> {
    prove(app, q.key, q.height).await
}

async fn proof_did(
    State(app): State<Arc<App>>,
    Path(did): Path<String>,
    Q(q): Q<HeightQuery>,
) -> ApiResult<Response> {
    let did = parse_did(&did)?;
    prove(app, state::did_key(&did), q.height).await
}

async fn proof_issuer(
    State(app): State<Arc<App>>,
    Path(did): Path<String>,
    Q(q): Q<HeightQuery>,
) -> ApiResult<Response> {
    let did = parse_did(&did)?;
    prove(app, state::issuer_key(&did), q.height).await
}

async fn proof_status(
    State(app): State<Arc<App>>,
    Path(did): Path<String>,
    Q(q): Q<StatusQuery>,
) -> ApiResult<Response> {
    let did = parse_did(&did)?;
    prove(app, state::status_key(&did, &q.list_id), q.height).await
}

async fn record_by_key(State(app): State<Arc<App>>, Q(q): Q<KeyQuery>) -> ApiResult<Json<Value>> {
    match app.record(&q.key, q.height)? {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no record at {}", q.key),
        )),
    }
}

fn block_json(app: &App, height: u64) -> ApiResult<Json<Value>> {
    match app.block(height)? {
        Some((b, cert)) => Ok(Json(json!({
            "blockId": b.id(),
            "operationIds": b.operations.iter().map(|o| o.id()).collect::<Vec<_>>(),
            "header": b.header,
            "operations": b.operations,
            "certificate": cert,
        }))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no block at height {height}"),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RangeQuery {
    from: u64,
    limit: Option<u64>,
}

/// Most headers in one range answer.
const MAX_RANGE: u64 = 1_000;

/// Headers (with block ids) from `from`, at most `limit` (≤ 1000): for audits and fork checks.
async fn block_range(State(app): State<Arc<App>>, Q(q): Q<RangeQuery>) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100).min(MAX_RANGE);
    let from = q.from.max(1);
    let to = from.saturating_add(limit).min(app.height() + 1);
    let app2 = app.clone();
    let headers = tokio::task::spawn_blocking(move || app2.headers(from, to))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    let items: Vec<Value> = headers
        .into_iter()
        .map(|h| json!({"height": h.height, "blockId": h.hash(), "header": h}))
        .collect();
    Ok(Json(json!({ "blocks": items })))
}

async fn latest_block(State(app): State<Arc<App>>) -> ApiResult<Json<Value>> {
    let h = app.height();
    block_json(&app, h)
}

async fn block(State(app): State<Arc<App>>, Path(height): Path<u64>) -> ApiResult<Json<Value>> {
    block_json(&app, height)
}

async fn validators(State(app): State<Arc<App>>, Q(q): Q<HeightQuery>) -> ApiResult<Json<Value>> {
    let h = q.height.unwrap_or(app.height() + 1).max(1);
    let set = app.validators_at(h)?;
    Ok(Json(
        json!({"height": h, "hash": set.hash(), "totalPower": set.total_power(), "validators": set}),
    ))
}

async fn checkpoint(State(app): State<Arc<App>>, Q(q): Q<HeightQuery>) -> ApiResult<Json<Value>> {
    let cp = app.checkpoint(q.height)?;
    Ok(Json(serde_json::to_value(cp).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })?))
}

async fn genesis(State(app): State<Arc<App>>) -> Json<Value> {
    Json(serde_json::to_value(app.genesis()).unwrap_or(Value::Null))
}

async fn health(State(app): State<Arc<App>>) -> Json<Value> {
    let header = app.latest_header();
    Json(json!({
        "status": "ok",
        "chainId": app.chain_id(),
        "height": app.height(),
        "latestBlockId": header.as_ref().map(|h| h.hash()),
        "latestBlockTime": header.as_ref().map(|h| rfc3339(h.time_ms)),
        "mempool": app.mempool_len(),
    }))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.encode(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[allow(dead_code)]
const _: () = assert!(MAX_OPERATION_BYTES < MAX_BODY_BYTES);
