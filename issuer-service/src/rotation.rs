//! Rotation of a `did:alliance` issuer's signing key through the registry.
//!
//! One procedure for both ways an operator rotates: `alliance-issuer rotate-key` with the
//! issuer stopped, and `POST /admin/keys/rotate` while it serves (then [`Issuer`] swaps
//! its signing key as soon as the registry has committed the update). The new key is sealed
//! and on disk *before* the registry hears of it, so the document never lists a key that
//! exists nowhere; a rotation interrupted after the registry commit is completed by running
//! it again, which adopts the sealed key the registry already lists instead of making
//! another.
//!
//! [`Issuer`]: crate::Issuer

use std::path::Path;
use std::time::Duration;

use did_method::document::VerificationMethod;
use did_method::state::DidRecord;
use did_method::{Did, DidDocument, Operation, OperationBody, PublicKey, SecretKey};

use crate::config::IssuerConfig;
use crate::keys;

/// Why a rotation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(
        "key rotation goes through the registry: this issuer has a did:key (init without --registry)"
    )]
    NoRegistry,
    #[error("{0} is deactivated")]
    Deactivated(String),
    #[error(
        "the key in {key_file} no longer controls {did}, and no sealed key here does; recover the DID with its recovery key"
    )]
    LostControl { key_file: String, did: String },
    #[error("registry: {0}")]
    Registry(String),
    #[error("{path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("the issuer's DID {0} is not a did:alliance DID")]
    BadDid(String),
}

/// The outcome: the key that now controls the DID and signs for the issuer.
pub struct Rotated {
    pub key: SecretKey,
    /// Its sealed file, in the issuer's directory.
    pub key_file: String,
    /// Its verification method (`did#key-N`).
    pub verification_method: String,
    /// The registry height of the update, or `None` when an interrupted rotation was
    /// completed (the update was already committed).
    pub height: Option<u64>,
}

fn registry_err(e: registry_client::ClientError) -> RotateError {
    RotateError::Registry(e.to_string())
}

/// The issuer's DID, a registry client, and the DID's current record.
async fn current_record(
    config: &IssuerConfig,
) -> Result<(Did, registry_client::RegistryClient, DidRecord), RotateError> {
    let api = config.registry_api.clone().ok_or(RotateError::NoRegistry)?;
    let did = Did::parse(&config.did).map_err(|_| RotateError::BadDid(config.did.clone()))?;
    let client =
        registry_client::RegistryClient::with_trust(&api, &config.trust()).map_err(registry_err)?;
    let record = client.did_record(&did).await.map_err(registry_err)?;
    if record.deactivated {
        return Err(RotateError::Deactivated(did.to_string()));
    }
    Ok((did, client, record))
}

/// At start: when `current` no longer controls the DID because a rotation was interrupted
/// after the registry committed it, the sealed key the registry lists (`Some`); `None` when
/// `current` is still the controller.
pub async fn complete_interrupted(
    dir: &Path,
    config: &IssuerConfig,
    current: &SecretKey,
    passphrase: &str,
) -> Result<Option<Rotated>, RotateError> {
    let (did, _, record) = current_record(config).await?;
    adopt_if_interrupted(dir, config, &did, &record.document, current, passphrase)
}

fn controls(doc: &DidDocument, k: &PublicKey) -> bool {
    doc.verification_method
        .iter()
        .any(|vm| vm.public_key_multibase == *k && doc.capability_invocation.contains(&vm.id))
}

/// Opens the sealed key `file` in the issuer's directory.
pub fn open_key(dir: &Path, file: &str, passphrase: &str) -> Result<SecretKey, RotateError> {
    let path = dir.join(file);
    let key_err = |reason: String| RotateError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| key_err(e.to_string()))?;
    keys::open(&text, passphrase).map_err(|e| key_err(e.to_string()))
}

/// `None` when `current` controls `doc`; else the sealed key in `dir` that does (an
/// interrupted rotation), or [`RotateError::LostControl`].
fn adopt_if_interrupted(
    dir: &Path,
    config: &IssuerConfig,
    did: &Did,
    doc: &DidDocument,
    current: &SecretKey,
    passphrase: &str,
) -> Result<Option<Rotated>, RotateError> {
    if controls(doc, &current.public_key()) {
        return Ok(None);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| RotateError::KeyFile {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("issuer-key") && name.ends_with(".json")) {
            continue;
        }
        let key = open_key(dir, &name, passphrase)?;
        if let Some(vm) = doc
            .verification_method
            .iter()
            .find(|vm| vm.public_key_multibase == key.public_key())
            .filter(|_| controls(doc, &key.public_key()))
        {
            tracing::info!(%did, vm = %vm.id, "completing an interrupted rotation");
            return Ok(Some(Rotated {
                verification_method: vm.id.clone(),
                key,
                key_file: name,
                height: None,
            }));
        }
    }
    Err(RotateError::LostControl {
        key_file: config.key_file.clone(),
        did: did.to_string(),
    })
}

/// `doc` after a rotation to `key` as the method `vm`: it authenticates, controls the DID and
/// is the first assertion method; the method `old_vm` stays an assertion method unless
/// `retire_old`, which removes it. Everything else (other methods, services such as the
/// issuer's `OpenID4VCI` address, `alsoKnownAs`) is kept as it was.
fn rotated_document(
    doc: &DidDocument,
    did: &Did,
    vm: &str,
    key: &PublicKey,
    old_vm: &str,
    retire_old: bool,
) -> DidDocument {
    let mut next = doc.clone();
    next.verification_method.push(VerificationMethod {
        id: vm.to_owned(),
        type_: "Multikey".into(),
        controller: did.to_string(),
        public_key_multibase: *key,
    });
    next.assertion_method
        .retain(|id| !(retire_old && id == old_vm));
    next.assertion_method.insert(0, vm.to_owned());
    next.authentication = vec![vm.to_owned()];
    next.capability_invocation = vec![vm.to_owned()];
    if retire_old {
        next.verification_method.retain(|m| m.id != old_vm);
    }
    next
}

impl Rotated {
    /// Points `config` at the new key; returns the verification method it replaces.
    pub fn point_config(&self, config: &mut IssuerConfig) -> String {
        config.key_file = self.key_file.clone();
        std::mem::replace(
            &mut config.verification_method,
            self.verification_method.clone(),
        )
    }
}

/// Rotates from `current` (the key `config` names) to a new key, or completes an
/// interrupted rotation. Does not change `config`: the caller points it at the new key.
pub async fn rotate(
    dir: &Path,
    config: &IssuerConfig,
    current: &SecretKey,
    passphrase: &str,
    retire_old: bool,
) -> Result<Rotated, RotateError> {
    let (did, client, record) = current_record(config).await?;
    let doc = &record.document;
    if let Some(adopted) = adopt_if_interrupted(dir, config, &did, doc, current, passphrase)? {
        return Ok(adopted);
    }
    let new_key = SecretKey::generate(&mut rand_core::OsRng);
    let n = (1..)
        .find(|n| {
            let id = did.url(&format!("key-{n}"));
            !doc.verification_method.iter().any(|vm| vm.id == id)
                && !dir.join(format!("issuer-key-{n}.json")).exists()
        })
        .unwrap_or(2);
    let vm = did.url(&format!("key-{n}"));
    let key_file = format!("issuer-key-{n}.json");
    // Sealed and on disk before the registry hears of it.
    let sealed = keys::seal(&new_key, passphrase).map_err(|e| RotateError::KeyFile {
        path: key_file.clone(),
        reason: e.to_string(),
    })?;
    registry_client::files::write_private(&dir.join(&key_file), sealed.as_bytes()).map_err(
        |e| RotateError::KeyFile {
            path: key_file.clone(),
            reason: e.to_string(),
        },
    )?;
    let next = rotated_document(
        doc,
        &did,
        &vm,
        &new_key.public_key(),
        &config.verification_method,
        retire_old,
    );
    let genesis = client.genesis().await.map_err(registry_err)?;
    let op = Operation {
        chain_id: genesis.chain_id,
        sequence: record.sequence + 1,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: next,
        },
    }
    .sign(&[current]);
    let height = client
        .submit_and_commit(&op, Duration::from_secs(30))
        .await
        .map_err(|e| RotateError::Registry(format!("updating the issuer's DID document: {e}")))?;
    tracing::info!(%did, %vm, height, "the issuer's DID now signs with a new key");
    Ok(Rotated {
        key: new_key,
        key_file,
        verification_method: vm,
        height: Some(height),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use did_method::{ChainId, SecretKey};

    /// The document `init` registers (with its OpenID4VCI service), and its DID.
    fn registered() -> (Did, DidDocument) {
        let chain = ChainId::new("alliance-test").unwrap();
        let key = SecretKey::from_seed(&[1; 32]).public_key();
        let recovery = SecretKey::from_seed(&[2; 32]).public_key();
        let (did, op) = crate::identity::create(
            &chain,
            &key,
            did_method::state::recovery_commitment(&recovery),
            "https://issuer.agency.example",
        );
        let OperationBody::CreateDid { document, .. } = op.body else {
            panic!("not a creation");
        };
        (did, document)
    }

    #[test]
    fn rotation_moves_control_to_the_new_key_and_keeps_the_services() {
        let (did, doc) = registered();
        let k2 = SecretKey::from_seed(&[3; 32]).public_key();
        let k1 = did.url("key-1");
        let k2_id = did.url("key-2");
        let next = rotated_document(&doc, &did, &k2_id, &k2, &k1, false);
        next.validate(&did).unwrap();
        assert_eq!(next.service, doc.service);
        assert_eq!(
            next.service[0].service_endpoint,
            "https://issuer.agency.example"
        );
        assert_eq!(next.capability_invocation, vec![k2_id.clone()]);
        assert_eq!(next.authentication, vec![k2_id.clone()]);
        assert_eq!(next.assertion_method, vec![k2_id.clone(), k1.clone()]);
        assert!(controls(&next, &k2));
        assert!(!controls(
            &next,
            &doc.verification_method[0].public_key_multibase
        ));

        // Retiring the old key (after a compromise) removes it, and only it.
        let k3 = SecretKey::from_seed(&[4; 32]).public_key();
        let k3_id = did.url("key-3");
        let after = rotated_document(&next, &did, &k3_id, &k3, &k2_id, true);
        after.validate(&did).unwrap();
        assert_eq!(after.service, doc.service);
        assert_eq!(after.assertion_method, vec![k3_id.clone(), k1.clone()]);
        let ids: Vec<&str> = after
            .verification_method
            .iter()
            .map(|m| m.id.as_str())
            .collect();
        assert_eq!(ids, vec![k1.as_str(), k3_id.as_str()]);
    }
}
