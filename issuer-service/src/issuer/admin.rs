//! The agency's administration: the issued-credentials record, signing-key rotation
//! (recorded after the CLI's `rotate-key`, or done live by `POST /admin/keys/rotate`), and
//! admin API keys (stored only as hashes).

use serde_json::{Value, json};

use super::{IssueError, Issuer, random_token, sha256_hex};
use crate::config::IssuerConfig;
use crate::store::{Store, StoreError};

impl Issuer {
    /// The issued-credentials record (of one offer, or all), oldest first.
    pub async fn issued(&self, offer: Option<&str>) -> Result<Vec<Value>, IssueError> {
        let size = self.config.status_list_size as i64;
        Ok(self
            .store
            .issued_credentials(offer)
            .await?
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id, "offerId": r.offer_id, "credentialType": r.credential_type,
                    "format": r.format, "holder": r.holder,
                    "statusList": r.status_index / size, "statusIndex": r.status_index % size,
                    "state": r.state, "issuedAtMs": r.issued_ms})
            })
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
        store.mark_status_lists_stale().await?;
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
        self.use_signer(rotated.key, vm.clone());
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

    /// The name of the admin API key `key`, if it is one.
    pub async fn api_key_actor(&self, key: &str) -> Result<Option<String>, IssueError> {
        Ok(self.store.api_key_name(&sha256_hex(key)).await?)
    }

    /// Creates an admin API key; returns it (shown once; only its hash is stored).
    pub async fn create_api_key(store: &Store, name: &str) -> Result<String, StoreError> {
        let key = format!("aik_{}", random_token(32));
        store.insert_api_key(name, &sha256_hex(&key)).await?;
        store
            .audit("init", "api_key.create", name, &json!({}))
            .await?;
        Ok(key)
    }
}
