//! `proof verify` and `checkpoint`: check a registry proof offline against the genesis (or a
//! checkpoint checked against it), and fetch, check and save a checkpoint.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use did_method::Genesis;
use did_method::proof::RegistryProof;
use did_registry::config;

use super::{Api, print_result};

#[derive(Subcommand)]
pub(super) enum ProofCmd {
    /// Verify a registry proof offline against a genesis (exit 0 valid, 1 invalid).
    Verify {
        file: PathBuf,
        #[arg(long)]
        genesis: PathBuf,
        /// A checkpoint (from `checkpoint`) to verify the proof against, itself checked
        /// against the genesis first.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    Ok(Genesis::from_json(
        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )?)
}

pub(super) fn verify(
    file: &Path,
    genesis: &Path,
    checkpoint: Option<&Path>,
    json: bool,
) -> anyhow::Result<bool> {
    let genesis = read_genesis(genesis)?;
    let anchor = match checkpoint {
        None => Ok(genesis.trust_anchor()),
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_slice::<did_method::Checkpoint>(&bytes)
                .map_err(|e| format!("not a checkpoint: {e}"))
                .and_then(|cp| {
                    cp.verify(&genesis.trust_anchor())
                        .map_err(|e| format!("checkpoint: {e}"))
                })
        }
    };
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let outcome = anchor.and_then(|anchor| {
        serde_json::from_slice::<RegistryProof>(&text)
            .map_err(|e| format!("not a registry proof: {e}"))
            .and_then(|p| p.verify(&anchor).map_err(|e| e.to_string()))
    });
    match outcome {
        Ok(entry) => {
            let value = serde_json::json!({"valid": true, "key": entry.key, "height": entry.height, "blockId": entry.block_id, "value": entry.value});
            print_result(
                json,
                value,
                format!(
                    "valid: {} at height {} (block {})",
                    entry.key, entry.height, entry.block_id
                ),
            );
            Ok(true)
        }
        Err(reason) => {
            print_result(
                json,
                serde_json::json!({"valid": false, "reason": reason}),
                format!("INVALID: {reason}"),
            );
            Ok(false)
        }
    }
}

pub(super) async fn checkpoint(
    api: Api,
    genesis: &Path,
    height: Option<u64>,
    out: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let genesis = read_genesis(genesis)?;
    let client = api.client()?;
    let cp = client.checkpoint(height).await?;
    let anchor = cp.verify(&genesis.trust_anchor()).map_err(|e| {
        anyhow::anyhow!("the node's checkpoint does not verify against the genesis: {e}")
    })?;
    config::write_json(out, &cp)?;
    print_result(
        json,
        serde_json::json!({"height": anchor.height, "validators": anchor.validators.len(), "file": out}),
        format!(
            "checkpoint at height {} ({} validators) verified against the genesis and written to {}",
            anchor.height,
            anchor.validators.len(),
            out.display()
        ),
    );
    Ok(())
}
