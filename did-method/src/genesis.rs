//! A network's genesis: chain id, initial validators (the consortium members) and governance.
//! It is also the default trust anchor of an offline verifier.

use serde::{Deserialize, Serialize};

use crate::chain::{ChainId, ValidatorSet};
use crate::proof::TrustAnchor;
use crate::state::{Governance, KEY_GOVERNANCE, KEY_META, KEY_VALIDATORS, Meta, encode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid genesis: {0}")]
pub struct GenesisError(pub String);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: ChainId,
    pub genesis_time_ms: u64,
    pub validators: ValidatorSet,
    pub governance: Governance,
}

impl Genesis {
    pub fn from_json(bytes: &[u8]) -> Result<Self, GenesisError> {
        let g: Genesis = serde_json::from_slice(bytes).map_err(|e| GenesisError(e.to_string()))?;
        g.governance
            .validate()
            .map_err(|e| GenesisError(e.to_string()))?;
        g.validators
            .validate_keys()
            .map_err(|e| GenesisError(e.to_string()))?;
        for a in &g.governance.authorities {
            a.public_key
                .validate()
                .map_err(|e| GenesisError(format!("authority {}: {e}", a.name)))?;
        }
        Ok(g)
    }

    /// The state at version 0.
    pub fn initial_state(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            (KEY_VALIDATORS.to_owned(), encode(&self.validators)),
            (KEY_GOVERNANCE.to_owned(), encode(&self.governance)),
            (
                KEY_META.to_owned(),
                encode(&Meta {
                    height: 0,
                    time_ms: self.genesis_time_ms,
                }),
            ),
        ]
    }

    pub fn trust_anchor(&self) -> TrustAnchor {
        TrustAnchor {
            chain_id: self.chain_id.clone(),
            height: 0,
            time_ms: self.genesis_time_ms,
            validators: self.validators.clone(),
        }
    }
}
