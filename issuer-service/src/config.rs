//! The issuer's directory: `config.json`, the sealed keys, and (by default) the SQLite file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why the issuer's configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {error} (run `alliance-issuer init` first)")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is malformed: {error}")]
    Malformed {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error("writing {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

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
    /// Extra CA certificates (PEM files) trusted for the registry's HTTPS, besides the
    /// platform's and Mozilla's (and those `ALLIANCE_CA_CERT` names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certs: Vec<PathBuf>,
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
    /// Whom the issuer trusts when it reaches the registry over HTTPS.
    pub fn trust(&self) -> registry_client::Trust {
        registry_client::Trust::from_env().with_ca_files(self.ca_certs.iter().cloned())
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join("config.json")
    }

    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(error) => return Err(ConfigError::Read { path, error }),
        };
        serde_json::from_str(&text).map_err(|error| ConfigError::Malformed { path, error })
    }

    /// Writes the configuration whole or not at all (a temporary file renamed over it).
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = Self::path(dir);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|error| ConfigError::Malformed {
            path: path.clone(),
            error,
        })?;
        let write = || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|error| ConfigError::Write {
            path: path.clone(),
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IssuerConfig {
        IssuerConfig {
            issuer_url: "https://issuer.example".into(),
            listen: "127.0.0.1:0".into(),
            database_url: "sqlite://issuer.db".into(),
            did: "did:key:z6Mk".into(),
            verification_method: "did:key:z6Mk#z6Mk".into(),
            key_file: "signing-key-1.sealed".into(),
            recovery_key_file: None,
            registry_api: None,
            ca_certs: vec![],
            display_name: "Agency".into(),
            offer_ttl_s: 600,
            token_ttl_s: 300,
            nonce_ttl_s: 300,
            max_tx_code_attempts: 5,
            batch_size: 10,
            status_list_size: 131_072,
            status_refresh_s: 3600,
        }
    }

    #[test]
    fn a_missing_configuration_says_to_run_init() {
        let dir = tempfile::tempdir().unwrap();
        let e = IssuerConfig::load(dir.path()).unwrap_err();
        assert!(matches!(e, ConfigError::Read { .. }));
        assert!(
            e.to_string().contains("run `alliance-issuer init` first"),
            "{e}"
        );
    }

    #[test]
    fn a_malformed_or_unknown_field_configuration_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(IssuerConfig::path(dir.path()), "{ not json").unwrap();
        let e = IssuerConfig::load(dir.path()).unwrap_err();
        assert!(matches!(e, ConfigError::Malformed { .. }));
        assert!(e.to_string().contains("config.json is malformed"), "{e}");

        let mut v = serde_json::to_value(sample()).unwrap();
        v["statusListSise"] = 16.into();
        std::fs::write(IssuerConfig::path(dir.path()), v.to_string()).unwrap();
        let e = IssuerConfig::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("statusListSise"), "{e}");
    }

    #[test]
    fn saving_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = sample();
        c.save(dir.path()).unwrap();
        c.verification_method = "did:key:z6Mk#key-2".into();
        c.save(dir.path()).unwrap();
        let back = IssuerConfig::load(dir.path()).unwrap();
        assert_eq!(back.verification_method, "did:key:z6Mk#key-2");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
    }

    #[test]
    fn a_failed_save_names_the_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let c = sample();
        c.save(dir.path()).unwrap();
        // The temporary file cannot be created where a directory of that name stands.
        std::fs::create_dir(IssuerConfig::path(dir.path()).with_extension("json.tmp")).unwrap();
        let mut changed = sample();
        changed.display_name = "Other".into();
        let e = changed.save(dir.path()).unwrap_err();
        assert!(matches!(e, ConfigError::Write { .. }));
        assert!(e.to_string().contains("config.json"), "{e}");
        assert_eq!(
            IssuerConfig::load(dir.path()).unwrap().display_name,
            "Agency"
        );
    }
}
