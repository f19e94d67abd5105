//! `issuer`: accredit an issuer DID for credential types, or withdraw its accreditation
//! (signed by a root authority).

use std::path::PathBuf;

use clap::Subcommand;
use did_method::Did;
use did_method::operation::{Operation, OperationBody};
use did_registry::config;

use super::{Api, COMMIT_WAIT, print_result};

#[derive(Subcommand)]
pub(super) enum IssuerCmd {
    /// Accredit an issuer DID for credential types (signed by a root authority).
    Accredit {
        issuer: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        authority_key: PathBuf,
        /// Credential type (repeatable).
        #[arg(long = "type", required = true)]
        types: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Withdraw an issuer's accreditation.
    Withdraw {
        issuer: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        authority_key: PathBuf,
        #[arg(long, default_value = "withdrawn by the authority")]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

/// Builds an issuer operation for a DID.
type MakeBody = Box<dyn FnOnce(Did) -> OperationBody>;

pub(super) async fn run(cmd: IssuerCmd) -> anyhow::Result<()> {
    let (issuer, api, authority_key, json, body_of): (String, Api, PathBuf, bool, MakeBody) =
        match cmd {
            IssuerCmd::Accredit {
                issuer,
                api,
                authority_key,
                types,
                json,
            } => (
                issuer,
                api,
                authority_key,
                json,
                Box::new(move |d| OperationBody::AccreditIssuer {
                    issuer: d,
                    credential_types: types,
                    valid_until_ms: None,
                }),
            ),
            IssuerCmd::Withdraw {
                issuer,
                api,
                authority_key,
                reason,
                json,
            } => (
                issuer,
                api,
                authority_key,
                json,
                Box::new(move |d| OperationBody::WithdrawAccreditation { issuer: d, reason }),
            ),
        };
    let did = Did::parse(&issuer)?;
    let client = api.client()?;
    let authority = config::read_secret_key(&authority_key)?;
    let key = did_method::state::issuer_key(&did);
    let sequence = match client.record(&key).await {
        Ok(v) => v["sequence"].as_u64().unwrap_or(0) + 1,
        Err(registry_client::ClientError::Api { status: 404, .. }) => 0,
        Err(e) => return Err(e.into()),
    };
    let op = Operation {
        chain_id: did.network().clone(),
        sequence,
        body: body_of(did.clone()),
    }
    .sign(&[&authority]);
    let height = client.submit_and_commit(&op, COMMIT_WAIT).await?;
    print_result(
        json,
        serde_json::json!({"issuer": did, "height": height, "operationId": op.id()}),
        format!(
            "{} for {did} committed at height {height}",
            op.operation.body.name()
        ),
    );
    Ok(())
}
