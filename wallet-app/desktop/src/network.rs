//! The consortium the wallet trusts: its genesis (the trust anchor every registry proof is
//! checked against, offline) and the registry nodes it asks for proofs. A proof is believed
//! because it verifies against the genesis, never because of who served it: any member's node
//! will do, and the wallet tries them in turn.
//!
//! The network file is the consortium's (shipped with the app, or written by an operator):
//! `{"chainId": …, "genesis": {…} | "path/to/genesis.json", "registries": ["https://…"]}`.
//! A local devnet's `devnet.json` is read as well (its `nodes[].api` are the registries).

use std::path::Path;

use did_method::{Genesis, RegistryProof, TrustAnchor, VerifiedEntry};
use registry_client::RegistryClient;
use serde_json::Value;
use wallet_core::Net;

use crate::error::Failure;

/// Largest network file read.
const MAX_FILE: u64 = 4 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Network {
    pub chain_id: String,
    pub genesis: Genesis,
    pub registries: Vec<String>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Failure {
    Failure::new(
        "bad_network_file",
        format!("the network file {} is not usable: {why}", path.display()),
    )
    .with("path", path.display().to_string())
}

impl Network {
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let meta = std::fs::metadata(path).map_err(|e| bad(path, e))?;
        if meta.len() > MAX_FILE {
            return Err(bad(path, "it is too large"));
        }
        let v: Value = serde_json::from_slice(&std::fs::read(path).map_err(|e| bad(path, e))?)
            .map_err(|e| bad(path, e))?;
        let genesis = match &v["genesis"] {
            Value::String(p) => {
                let gp = path.parent().unwrap_or(Path::new(".")).join(p);
                Genesis::from_json(&std::fs::read(&gp).map_err(|e| bad(&gp, e))?)
                    .map_err(|e| bad(&gp, e))?
            }
            Value::Object(_) => {
                Genesis::from_json(v["genesis"].to_string().as_bytes()).map_err(|e| bad(path, e))?
            }
            _ => return Err(bad(path, "it has no genesis")),
        };
        let mut registries: Vec<String> = v["registries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if registries.is_empty() {
            registries = v["nodes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n["api"].as_str())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
        }
        if registries.is_empty() {
            return Err(bad(path, "it names no registry node"));
        }
        Ok(Self {
            chain_id: genesis.chain_id.to_string(),
            genesis,
            registries,
        })
    }

    pub fn anchor(&self) -> TrustAnchor {
        self.genesis.trust_anchor()
    }

    /// The proof of `key` from the first registry node that answers, verified against the
    /// genesis; with the proof itself (to staple or cache).
    pub async fn prove(
        &self,
        net: &Net,
        key: &str,
    ) -> Result<(VerifiedEntry, RegistryProof), Failure> {
        let anchor = self.anchor();
        let mut last = None;
        for api in &self.registries {
            let client: RegistryClient = match net.registry(api) {
                Ok(c) => c,
                Err(e) => {
                    last = Some(Failure::from(e));
                    continue;
                }
            };
            match client.prove_key(key, None).await {
                Ok(proof) => match proof.verify(&anchor) {
                    Ok(entry) => return Ok((entry, proof)),
                    Err(e) => {
                        tracing::warn!(%api, "a registry node served a proof that does not verify: {e}");
                        last = Some(Failure::new(
                            "bad_proof",
                            format!(
                                "the registry node {api} served a proof that does not verify: {e}"
                            ),
                        ));
                    }
                },
                Err(e) => {
                    last = Some(
                        Failure::new("offline", format!("no registry node answered: {e}"))
                            .with("detail", e.to_string()),
                    );
                }
            }
        }
        Err(last.unwrap_or_else(|| Failure::new("offline", "no registry node answered")))
    }
}
