//! Revocation and suspension, and publishing the lists: a status change is written with
//! its list's new bits in one transaction, then the list is re-signed, its hash anchored in
//! the registry, and only then served (ADR 0009). Lists are re-signed periodically too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::{Did, Hash};
use serde_json::{Value, json};
use ssi::status::bitstring_status_list::{StatusList, StatusPurpose, StatusSize, TimeToLive};
use ssi::status::token_status_list;
use verifier_lib::token_status;

use super::build::proof_options;
use super::status::{TOKEN_LIST, list_id};
use super::{FORMAT_DI, IssueError, Issuer, rfc3339};
use crate::store::now_ms;

impl Issuer {
    /// Revokes (for good), suspends or unsuspends an issued credential, then publishes.
    pub async fn set_status(
        &self,
        actor: &str,
        id: &str,
        action: &str,
        reason: &str,
    ) -> Result<Value, IssueError> {
        let issued = self.store.issued_status(id).await?.ok_or_else(|| {
            IssueError::new(404, "not_found", format!("no issued credential {id}"))
        })?;
        let (state, index, format) = (issued.state, issued.status_index, issued.format);
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
        let mut tx = self.store.begin().await?;
        let stored = tx.txn().status_bits(&list_id).await?;
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
        tx.txn().set_status_bits(&list_id, &encoded).await?;
        tx.txn().set_issued_state(id, new_state).await?;
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

    /// Re-signs and (with a registry) anchors every list that is missing or older than the
    /// refresh period; also forgets expired nonces and expires offers past their time.
    pub async fn refresh_status_lists(&self) -> Result<(), IssueError> {
        // Used nonces are kept only until they expire.
        self.store.remove_expired_nonces(now_ms()).await?;
        self.expire_offers().await?;
        let _guard = self.publish.lock().await;
        for list in self.store.status_list_ages().await? {
            if !list.published
                || list.updated_ms + (self.config.status_refresh_s as i64) * 1000 < now_ms()
            {
                self.publish_locked(&list.id).await?;
            }
        }
        Ok(())
    }

    /// Signs the list as it is now, anchors its hash (when a registry is configured), and only
    /// then serves it: what a wallet fetches is always what the registry anchors.
    pub(super) async fn publish_locked(&self, id: &str) -> Result<(), IssueError> {
        let list = self.store.status_list_to_sign(id).await?;
        let (bits, version, sequence, purpose) =
            (list.bits, list.version, list.anchor_sequence, list.purpose);
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
        self.store
            .record_published_status_list(id, &text, version + 1, next_sequence, now)
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
        self.store
            .published_status_list(purpose)
            .await?
            .ok_or_else(|| IssueError::new(404, "not_found", "no such status list"))?
            .ok_or_else(|| {
                IssueError::new(503, "not_published", "the status list is not published yet")
            })
    }
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
