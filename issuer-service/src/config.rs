//! The issuer's directory: `config.json`, the sealed keys, and (by default) the SQLite file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerConfig {
    /// The credential issuer identifier and public base URL (OpenID4VCI `credential_issuer`).
    pub issuer_url: String,
    /// Where `serve` listens.
    pub listen: String,
    /// `sqlite://…` (default: `issuer.db` in the directory) or `postgres://…`.
    pub database_url: String,
    /// The issuer's DID (`did:alliance:…` when registered, else `did:key:…`).
    pub did: String,
    /// The verification method that signs credentials.
    pub verification_method: String,
    /// Sealed signing key, relative to the directory.
    pub key_file: String,
    /// Sealed recovery key (did:alliance only), relative to the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_key_file: Option<String>,
    /// The registry's API, for status list anchors and key rotation (did:alliance only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_api: Option<String>,
    /// Display name in the issuer metadata.
    pub display_name: String,
    pub offer_ttl_s: u64,
    pub token_ttl_s: u64,
    pub nonce_ttl_s: u64,
    /// Wrong transaction codes tolerated before an offer is locked.
    pub max_tx_code_attempts: u64,
    /// Most proofs (so credentials) in one credential request.
    pub batch_size: u64,
    /// Entries per status list (at least 131,072: the W3C minimum, for herd privacy).
    pub status_list_size: u64,
    /// A status list is re-signed (and re-anchored) when older than this, so verifiers'
    /// freshness policies are met.
    pub status_refresh_s: u64,
}

impl IssuerConfig {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("config.json")
    }

    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let p = Self::path(dir);
        let text = std::fs::read_to_string(&p).map_err(|e| {
            anyhow::anyhow!(
                "reading {}: {e} (run `alliance-issuer init` first)",
                p.display()
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is malformed: {e}", p.display()))
    }

    /// Writes the configuration whole or not at all (a temporary file renamed over it).
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = Self::path(dir);
        let tmp = path.with_extension("json.tmp");
        {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }
}
