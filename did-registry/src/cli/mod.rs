//! The operator CLI's command line and dispatch, and what every command group shares: the
//! node's API (`--api`, `--ca-cert`), how long a submission waits for its commit, and how a
//! result is printed (human text, or JSON with `--json`).
//!
//! One file per command group: `node` (init, node, devnet), `did`, `issuer`, `relying_party`, `governance`,
//! `proof` (offline proof checks and checkpoints).

mod did;
mod governance;
mod issuer;
mod node;
mod proof;
mod relying_party;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use registry_client::RegistryClient;

use did::DidCmd;
use governance::GovernanceCmd;
use issuer::IssuerCmd;
use node::InitArgs;
use proof::ProofCmd;
use relying_party::RelyingPartyCmd;

#[derive(Parser)]
#[command(
    name = "alliance-registry",
    version,
    about = "Alliance ID DID registry: run a validator, a local devnet, and manage did:alliance DIDs"
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a genesis and one directory (config + keys) per validator.
    Init(InitArgs),
    /// Run one validator node.
    Node {
        /// The node's directory (written by `init`), e.g. DIR/node-0.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Start a local consortium (separate processes on loopback) until Ctrl-C / SIGTERM.
    Devnet {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "alliance-devnet")]
        chain_id: String,
    },
    /// Create, update, deactivate, recover, resolve and prove DIDs.
    #[command(subcommand)]
    Did(DidCmd),
    /// Accredit issuers (root authorities).
    #[command(subcommand)]
    Issuer(IssuerCmd),
    /// Register businesses as relying parties: the claims they may ask holders for (root
    /// authorities).
    #[command(subcommand, name = "relying-party")]
    RelyingParty(RelyingPartyCmd),
    /// Change the validator set or the root authorities (needs the governance threshold).
    #[command(subcommand)]
    Governance(GovernanceCmd),
    /// Fetch a checkpoint (a later trust anchor), check it against the genesis, and save it.
    Checkpoint {
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        genesis: PathBuf,
        #[arg(long)]
        height: Option<u64>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check registry proofs offline.
    #[command(subcommand)]
    Proof(ProofCmd),
}

#[derive(Args)]
struct Api {
    /// A registry node's API URL, e.g. http://127.0.0.1:26600
    #[arg(long, env = "ALLIANCE_REGISTRY_API")]
    api: String,
    /// Also trust this CA certificate (PEM) for the node's HTTPS, e.g. the consortium's own
    /// CA; repeatable. ALLIANCE_CA_CERT names more (separated by ':').
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_cert: Vec<PathBuf>,
}

impl Api {
    fn client(&self) -> anyhow::Result<RegistryClient> {
        let trust = registry_client::Trust::from_env().with_ca_files(self.ca_cert.clone());
        Ok(RegistryClient::with_trust(&self.api, &trust)?)
    }
}

const COMMIT_WAIT: Duration = Duration::from_secs(20);

/// Builds an operation about a DID.
type MakeBody = Box<dyn FnOnce(did_method::Did) -> did_method::operation::OperationBody>;

/// Signs the operation `body_of` builds for `did` with a root authority's key, at the next
/// sequence of the record at `key`, submits it and waits for its commit; prints the result
/// with `did` under `label`.
async fn authority_op(
    api: &Api,
    authority_key: &std::path::Path,
    key: &str,
    did: did_method::Did,
    body_of: MakeBody,
    json: bool,
    label: &str,
) -> anyhow::Result<()> {
    let client = api.client()?;
    let authority = did_registry::config::read_secret_key(authority_key)?;
    let sequence = match client.record(key).await {
        Ok(v) => v["sequence"].as_u64().unwrap_or(0) + 1,
        Err(registry_client::ClientError::Api { status: 404, .. }) => 0,
        Err(e) => return Err(e.into()),
    };
    let op = did_method::operation::Operation {
        chain_id: did.network().clone(),
        sequence,
        body: body_of(did.clone()),
    }
    .sign(&[&authority]);
    let height = client.submit_and_commit(&op, COMMIT_WAIT).await?;
    print_result(
        json,
        serde_json::json!({label: did, "height": height, "operationId": op.id()}),
        format!(
            "{} for {did} committed at height {height}",
            op.operation.body.name()
        ),
    );
    Ok(())
}

fn print_result(json: bool, value: serde_json::Value, human: String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        println!("{human}");
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Init(a) => node::init(a)?,
        Cmd::Node { dir } => {
            node::init_tracing();
            node::node(dir).await?;
        }
        Cmd::Devnet {
            validators,
            dir,
            chain_id,
        } => node::devnet(validators, dir, chain_id).await?,
        Cmd::Did(c) => did::run(c).await?,
        Cmd::Issuer(c) => issuer::run(c).await?,
        Cmd::RelyingParty(c) => relying_party::run(c).await?,
        Cmd::Governance(c) => governance::run(c).await?,
        Cmd::Proof(ProofCmd::Verify {
            file,
            genesis,
            checkpoint,
            json,
        }) => {
            if !proof::verify(&file, &genesis, checkpoint.as_deref(), json)? {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Checkpoint {
            api,
            genesis,
            height,
            out,
            json,
        } => proof::checkpoint(api, &genesis, height, &out, json).await?,
    }
    Ok(ExitCode::SUCCESS)
}
