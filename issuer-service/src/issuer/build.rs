//! Building and signing credentials: W3C VC 2.0 with `eddsa-rdfc-2022` and SD-JWT VC, each
//! with its status entries, signed before the write that claims its status index (ADR
//! 0011); and the VC-API `POST /credentials/issue` for back-office credentials.

use did_method::PublicKey;
use serde_json::{Map, Value, json};
use verifier_lib::contexts::ALLIANCE_CREDENTIALS_V1;
use verifier_lib::dids;
use verifier_lib::rdfc::ProofOptions;
use verifier_lib::token_status;

use super::status::{TOKEN_LIST, list_id};
use super::{CredentialType, FORMAT_DI, IssueError, Issuer, Signer, rfc3339};
use crate::store::{NewIssued, Txn, now_ms};

/// Internal: the status index a prepared credential carries was claimed meanwhile.
pub(super) const INDEX_TAKEN: &str = "status_index_taken";

/// The outcome of one issuing write: `None` when its status index was claimed by a
/// concurrent issuance meanwhile (sign again with another), else the result to return.
pub(super) fn settle<T>(written: Result<T, IssueError>) -> Option<Result<T, IssueError>> {
    match written {
        Err(e) if e.code == INDEX_TAKEN => {
            tracing::info!("a status index was claimed meanwhile; signing again");
            None
        }
        done => Some(done),
    }
}

/// Every attempt found its index taken (8 in a row: the list is nearly full).
pub(super) fn no_free_index() -> IssueError {
    IssueError::new(
        503,
        "server_error",
        "no free status index could be claimed; the status list is nearly full",
    )
}

/// A credential signed with a status index not yet claimed.
pub(super) struct Prepared {
    pub(super) credential: Value,
    pub(super) id: String,
    pub(super) index: i64,
    holder: String,
}

impl Prepared {
    /// Records the credential, claiming its status index. `false` (and nothing written) when
    /// another issuance claimed the index first: the caller rolls back and signs again.
    pub(super) async fn record(
        &self,
        tx: &mut Txn<'_>,
        credential_type: &str,
        format: &str,
        offer_id: Option<&str>,
    ) -> Result<bool, IssueError> {
        Ok(tx
            .record_issued(&NewIssued {
                id: &self.id,
                offer_id,
                credential_type,
                format,
                holder: &self.holder,
                status_index: self.index,
            })
            .await?)
    }
}

pub(super) fn proof_options(signer: &Signer, now: i64) -> ProofOptions {
    ProofOptions {
        verification_method: signer.verification_method.clone(),
        proof_purpose: "assertionMethod".into(),
        created: rfc3339(now),
        challenge: None,
        domain: None,
        nonce: None,
    }
}

impl Issuer {
    /// Picks a status index free at this moment and signs the credential with it (nothing is
    /// written: [`Prepared::record`] claims the index in the issuing transaction).
    pub(super) async fn prepare(
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

    /// Builds and signs one credential of type `t` for `holder`, carrying status index
    /// `index`: a Data Integrity VC (`ldp_vc`) or an SD-JWT VC whose claims are each
    /// selectively disclosable.
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
                .write(move |mut tx| {
                    Box::pin(async move {
                        if !prepared.record(&mut tx, &specific, FORMAT_DI, None).await? {
                            return Err(IssueError::new(503, INDEX_TAKEN, "status index taken"));
                        }
                        tx.audit(
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
}
