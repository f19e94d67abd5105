//! `governance`: replace the validator set or the root authorities, signed by enough root
//! authorities to meet the current threshold.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use did_method::SecretKey;
use did_method::operation::{Operation, OperationBody};
use did_registry::config;

use super::{Api, COMMIT_WAIT, print_result};

#[derive(Subcommand)]
pub(super) enum GovernanceCmd {
    /// Replace the validator set with the one in FILE (a JSON array of validators, as in
    /// genesis.json's "validators").
    SetValidators {
        file: PathBuf,
        #[command(flatten)]
        api: Api,
        /// Root authority key files (repeat until the threshold is met).
        #[arg(long = "authority-key", required = true)]
        authority_keys: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Replace the root authorities (FILE: JSON array of {name, publicKey}) and the threshold.
    SetAuthorities {
        file: PathBuf,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        threshold: u32,
        #[arg(long = "authority-key", required = true)]
        authority_keys: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// Builds a governance operation from a JSON file's bytes.
type ParseBody = Box<dyn FnOnce(&[u8]) -> anyhow::Result<OperationBody>>;

pub(super) async fn run(cmd: GovernanceCmd) -> anyhow::Result<()> {
    let (file, api, keys, json, body): (PathBuf, Api, Vec<PathBuf>, bool, ParseBody) = match cmd {
        GovernanceCmd::SetValidators {
            file,
            api,
            authority_keys,
            json,
        } => (
            file,
            api,
            authority_keys,
            json,
            Box::new(|bytes| {
                Ok(OperationBody::ChangeValidators {
                    validators: serde_json::from_slice(bytes)?,
                })
            }),
        ),
        GovernanceCmd::SetAuthorities {
            file,
            api,
            threshold,
            authority_keys,
            json,
        } => (
            file,
            api,
            authority_keys,
            json,
            Box::new(move |bytes| {
                Ok(OperationBody::ChangeGovernance {
                    authorities: serde_json::from_slice(bytes)?,
                    threshold,
                })
            }),
        ),
    };
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let body = body(&bytes)
        .with_context(|| format!("{} is not valid for this command", file.display()))?;
    let client = api.client()?;
    let genesis = client.genesis().await?;
    let gov = client.record(did_method::state::KEY_GOVERNANCE).await?;
    let sequence = gov["sequence"].as_u64().unwrap_or(0) + 1;
    let keys = keys
        .iter()
        .map(|k| config::read_secret_key(k).map_err(anyhow::Error::from))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let refs: Vec<&SecretKey> = keys.iter().collect();
    let op = Operation {
        chain_id: genesis.chain_id,
        sequence,
        body,
    }
    .sign(&refs);
    let height = client.submit_and_commit(&op, COMMIT_WAIT).await?;
    print_result(
        json,
        serde_json::json!({"operation": op.operation.body.name(), "height": height, "operationId": op.id()}),
        format!(
            "{} committed at height {height}; in force from height {}",
            op.operation.body.name(),
            height + 1
        ),
    );
    Ok(())
}
