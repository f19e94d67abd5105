//! HTTP: the OpenID4VCI endpoints (public), status lists (public), and the admin API
//! (API key), including the VC-API `POST /credentials/issue`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::issuer::{CredentialType, IssueError, Issuer};

type S = State<Arc<Issuer>>;

/// Largest request body accepted.
const MAX_BODY: usize = 256 * 1024;

impl IntoResponse for IssueError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (
            status,
            axum::Json(json!({"error": self.code, "error_description": self.description})),
        )
            .into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == 401 {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        r
    }
}

fn no_store(v: Value) -> Response {
    let mut r = axum::Json(v).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn router(issuer: Arc<Issuer>) -> Router {
    Router::new()
        .route("/.well-known/openid-credential-issuer", get(metadata))
        .route("/.well-known/oauth-authorization-server", get(as_metadata))
        .route("/.well-known/openid-configuration", get(as_metadata))
        .route("/token", post(token))
        .route("/nonce", post(nonce))
        .route("/credential", post(credential))
        .route("/offers/{id}", get(offer))
        .route("/status/{purpose}", get(status_list))
        .route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/admin/credential-types", get(list_types).post(define_type))
        .route("/admin/offers", post(create_offer))
        .route("/admin/issued", get(list_issued))
        .route("/admin/issued/{id}/{action}", post(set_status))
        .route("/admin/audit", get(audit))
        .route("/admin/keys/rotate", post(rotate_key))
        .route("/credentials/issue", post(vc_api_issue))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(issuer)
}

fn json_body(body: &Bytes) -> Result<Value, IssueError> {
    verifier_lib::input::parse_json(
        body,
        verifier_lib::input::Limits {
            max_bytes: MAX_BODY,
            max_depth: 32,
        },
    )
    .map_err(|e| IssueError::new(400, "invalid_request", e.to_string()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn admin(issuer: &Issuer, headers: &HeaderMap) -> Result<String, IssueError> {
    let key = bearer(headers).ok_or_else(|| {
        IssueError::new(
            401,
            "invalid_token",
            "the admin API needs an API key (Authorization: Bearer …)",
        )
    })?;
    issuer
        .api_key_actor(key)
        .await?
        .ok_or_else(|| IssueError::new(401, "invalid_token", "unknown API key"))
}

/// `GET /.well-known/openid-credential-issuer`: the metadata signed (`application/jwt`) when
/// the wallet's `Accept` prefers it, else plain JSON (OpenID4VCI 1.0 §12.2.2).
async fn metadata(State(i): S, headers: HeaderMap) -> Result<Response, IssueError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let mut r = if prefers_jwt(accept) {
        (
            [(header::CONTENT_TYPE, "application/jwt")],
            i.signed_metadata().await?,
        )
            .into_response()
    } else {
        axum::Json(i.metadata().await?).into_response()
    };
    // The answer depends on Accept: a cache must not hand one form to who asked the other.
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(r)
}

/// Whether an `Accept` header asks for `application/jwt` before `application/json`: named,
/// with a quality above zero and at least that of JSON (of `application/json` if named, else
/// of a wildcard that covers it). A wallet that does not name `application/jwt` gets JSON.
fn prefers_jwt(accept: Option<&str>) -> bool {
    let (mut jwt, mut json, mut wildcard) = (None::<f32>, None::<f32>, None::<f32>);
    for range in accept.unwrap_or("").split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        let slot = match media.as_str() {
            "application/jwt" => &mut jwt,
            "application/json" => &mut json,
            "application/*" | "*/*" => &mut wildcard,
            _ => continue,
        };
        *slot = Some(slot.map_or(q, |s| s.max(q)));
    }
    let json = json.or(wildcard).unwrap_or(0.0);
    jwt.is_some_and(|q| q > 0.0 && q >= json)
}

async fn as_metadata(State(i): S) -> Response {
    axum::Json(i.authorization_server_metadata()).into_response()
}

async fn token(State(i): S, headers: HeaderMap, body: Bytes) -> Result<Response, IssueError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(IssueError::new(
            400,
            "invalid_request",
            "the token request is form-encoded",
        ));
    }
    let mut form = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        if form.insert(k.to_string(), v.to_string()).is_some() {
            return Err(IssueError::new(
                400,
                "invalid_request",
                format!("parameter {k} is repeated"),
            ));
        }
    }
    Ok(no_store(i.token(&form).await?))
}

async fn nonce(State(i): S) -> Result<Response, IssueError> {
    Ok(no_store(i.nonce().await?))
}

async fn credential(State(i): S, headers: HeaderMap, body: Bytes) -> Result<Response, IssueError> {
    let token = bearer(&headers).map(str::to_owned);
    let body = json_body(&body)
        .map_err(|e| IssueError::new(400, "invalid_credential_request", e.description))?;
    Ok(no_store(i.credential(token.as_deref(), &body).await?))
}

async fn offer(State(i): S, Path(id): Path<String>) -> Result<Response, IssueError> {
    Ok(no_store(i.offer_by_reference(&id).await?))
}

async fn status_list(State(i): S, Path(purpose): Path<String>) -> Result<Response, IssueError> {
    let text = i.status_list(&purpose).await?;
    let media = if crate::issuer::is_token_list(&purpose) {
        verifier_lib::token_status::MEDIA_TYPE
    } else {
        "application/vc+ld+json"
    };
    Ok(([(header::CONTENT_TYPE, media)], text).into_response())
}

async fn list_types(State(i): S, headers: HeaderMap) -> Result<Response, IssueError> {
    admin(&i, &headers).await?;
    Ok(axum::Json(json!(i.types().await?)).into_response())
}

async fn define_type(State(i): S, headers: HeaderMap, body: Bytes) -> Result<Response, IssueError> {
    let actor = admin(&i, &headers).await?;
    let t: CredentialType = serde_json::from_value(json_body(&body)?)
        .map_err(|e| IssueError::new(400, "invalid_request", e.to_string()))?;
    i.define_type(&actor, t.clone()).await?;
    Ok((StatusCode::CREATED, axum::Json(json!(t))).into_response())
}

async fn create_offer(
    State(i): S,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, IssueError> {
    let actor = admin(&i, &headers).await?;
    let b = json_body(&body)?;
    let type_id = b
        .get("credentialType")
        .and_then(Value::as_str)
        .ok_or_else(|| IssueError::new(400, "invalid_request", "credentialType is required"))?;
    let claims = b
        .get("claims")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| IssueError::new(400, "invalid_request", "claims must be an object"))?;
    let tx = b.get("txCode").and_then(Value::as_bool).unwrap_or(true);
    let o = i.create_offer(&actor, type_id, claims, tx).await?;
    Ok((StatusCode::CREATED, no_store(json!(o))).into_response())
}

async fn list_issued(
    State(i): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, IssueError> {
    admin(&i, &headers).await?;
    Ok(axum::Json(json!(i.issued(q.get("offer").map(String::as_str)).await?)).into_response())
}

async fn set_status(
    State(i): S,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, IssueError> {
    let actor = admin(&i, &headers).await?;
    let reason = if body.is_empty() {
        String::new()
    } else {
        json_body(&body)?
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Ok(axum::Json(i.set_status(&actor, &id, &action, &reason).await?).into_response())
}

/// `POST /admin/keys/rotate` `{"retireOld": bool}` (body optional): rotates the signing key
/// through the registry while serving.
async fn rotate_key(State(i): S, headers: HeaderMap, body: Bytes) -> Result<Response, IssueError> {
    let actor = admin(&i, &headers).await?;
    let retire_old = if body.is_empty() {
        false
    } else {
        let v = json_body(&body)?;
        if let Some(unknown) = v
            .as_object()
            .and_then(|o| o.keys().find(|k| k.as_str() != "retireOld"))
        {
            return Err(IssueError::new(
                400,
                "invalid_request",
                format!("unknown field {unknown:?}; expected {{\"retireOld\": true|false}}"),
            ));
        }
        match v.get("retireOld") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(IssueError::new(
                    400,
                    "invalid_request",
                    "retireOld must be true or false",
                ));
            }
        }
    };
    Ok(axum::Json(i.rotate_live(&actor, retire_old).await?).into_response())
}

async fn audit(
    State(i): S,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, IssueError> {
    admin(&i, &headers).await?;
    let since = q.get("sinceMs").and_then(|s| s.parse().ok()).unwrap_or(0);
    let limit = q
        .get("limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
        .min(10_000);
    Ok(axum::Json(json!(i.store.audit_log(since, limit).await?)).into_response())
}

async fn vc_api_issue(
    State(i): S,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, IssueError> {
    let actor = admin(&i, &headers).await?;
    let b = json_body(&body)?;
    let c = b
        .get("credential")
        .ok_or_else(|| IssueError::new(400, "invalid_request", "credential is required"))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(i.issue_vc_api(&actor, c).await?),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issuer::testing::issuer;

    #[test]
    fn the_jwt_is_served_only_to_who_prefers_it() {
        for (accept, jwt) in [
            (None, false),
            (Some(""), false),
            (Some("application/json"), false),
            (Some("*/*"), false),
            (Some("application/jwt"), true),
            (Some("Application/JWT"), true),
            (Some("application/jwt, application/json;q=0.5"), true),
            (Some("application/json;q=0.5, application/jwt"), true),
            (Some("application/jwt;q=0.5, application/json"), false),
            (Some("application/jwt;q=0.5, */*;q=0.1"), true),
            (Some("application/jwt;q=0.5, */*"), false),
            (Some("application/jwt, */*"), true),
            (Some("application/jwt;q=0"), false),
            (Some("application/jwt;q=nonsense"), false),
            (Some("text/html, application/jwt ; q=0.9"), true),
        ] {
            assert_eq!(prefers_jwt(accept), jwt, "Accept: {accept:?}");
        }
    }

    /// The router on a loopback port: its base URL (the server stops with the runtime).
    async fn serve(issuer: Arc<Issuer>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(issuer)).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn metadata_is_json_unless_the_wallet_asks_for_the_signed_jwt() {
        let f = issuer(|_| {}).await;
        let base = serve(f.issuer.clone()).await;
        let url = format!("{base}/.well-known/openid-credential-issuer");
        let client = reqwest::Client::new();
        let get = |accept: Option<&'static str>| {
            let mut req = client.get(&url);
            if let Some(a) = accept {
                req = req.header(header::ACCEPT, a);
            }
            async move {
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 200);
                assert_eq!(r.headers()[header::VARY], "accept");
                let ct = r.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .to_owned();
                (ct, r.text().await.unwrap())
            }
        };
        let expected = f.issuer.metadata().await.unwrap();
        for accept in [None, Some("application/json"), Some("*/*")] {
            let (ct, body) = get(accept).await;
            assert_eq!(ct, "application/json", "Accept: {accept:?}");
            assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), expected);
        }
        for accept in ["application/jwt", "application/jwt, application/json;q=0.5"] {
            let (ct, body) = get(Some(accept)).await;
            assert_eq!(ct, "application/jwt", "Accept: {accept}");
            let header: Value = serde_json::from_slice(
                &base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    body.split('.').next().unwrap(),
                )
                .unwrap(),
            )
            .unwrap();
            assert_eq!(header["typ"], crate::issuer::SIGNED_METADATA_TYP);
            assert_eq!(header["kid"], f.issuer.signer().verification_method());
            assert_eq!(body.split('.').count(), 3);
        }
    }
}
