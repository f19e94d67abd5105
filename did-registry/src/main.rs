//! `alliance-registry`: operator CLI of the Alliance ID DID registry.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use did_method::document::Service;
use did_method::operation::{Operation, OperationBody};
use did_method::proof::RegistryProof;
use did_method::state::recovery_commitment;
use did_method::{ChainId, Did, DidDocument, Genesis, SecretKey};
use did_registry::config::{self, InitOptions, NodeDir};
use registry_client::RegistryClient;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// A node allocates for every operation it parses, checks, gossips, executes and stores, on
/// many threads; mimalloc is faster at that than the system allocator (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "alliance-registry",
    version,
    about = "Alliance ID DID registry: run a validator, a local devnet, and manage did:alliance DIDs"
)]
struct Cli {
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
struct InitArgs {
    #[arg(long, default_value_t = 4)]
    validators: usize,
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value = "alliance-devnet")]
    chain_id: String,
    /// Root authorities of governance (each gets a key file).
    #[arg(long, default_value_t = 1)]
    authorities: usize,
    /// Authorities needed for governance (validator-set and authority changes).
    #[arg(long, default_value_t = 1)]
    threshold: u32,
    /// First port (each node uses two: API, p2p). Default: free ports.
    #[arg(long)]
    base_port: Option<u16>,
    #[arg(long, default_value_t = 1000)]
    propose_timeout_ms: u64,
    #[arg(long, default_value_t = 200)]
    vote_timeout_ms: u64,
    /// Minimum time between blocks in milliseconds (0: as fast as consensus goes).
    #[arg(long, default_value_t = 100)]
    block_time_ms: u64,
    /// How long a proposer with nothing to propose waits for operations before it proposes an
    /// empty block, in milliseconds from the previous block (at most half the propose
    /// timeout; 0: never waits, an idle chain then makes a block every block time).
    #[arg(long, default_value_t = 500)]
    empty_block_interval_ms: u64,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
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

#[derive(Subcommand)]
enum DidCmd {
    /// Register a new DID (needs a member registrar's key); prints the DID.
    Create {
        #[command(flatten)]
        api: Api,
        /// The registrar key that endorses the creation.
        #[arg(long)]
        registrar_key: PathBuf,
        /// Where to write the new DID's keys (update and recovery). Must not exist.
        #[arg(long)]
        key_out: PathBuf,
        /// A service to publish: ID,TYPE,ENDPOINT (repeatable), e.g. issuer,OID4VCI,https://issuer.example
        #[arg(long = "service")]
        services: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Update a DID: rotate its key and/or change services.
    Update {
        did: String,
        #[command(flatten)]
        api: Api,
        /// The DID's key file (from `did create`); rewritten when the key rotates.
        #[arg(long)]
        key: PathBuf,
        /// Replace the update/assertion key with a fresh one.
        #[arg(long)]
        rotate: bool,
        /// Add or replace a service: ID,TYPE,ENDPOINT
        #[arg(long = "add-service")]
        add_services: Vec<String>,
        /// Remove a service by its fragment ID.
        #[arg(long = "remove-service")]
        remove_services: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deactivate a DID for good (signed with the recovery key from the key file).
    Deactivate {
        did: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Take control back with the recovery key after the update key was lost or stolen.
    Recover {
        did: String,
        #[command(flatten)]
        api: Api,
        /// The key file holding the recovery key; rewritten with the new keys.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Resolve a DID (DID Resolution result as JSON).
    Resolve {
        did: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        height: Option<u64>,
    },
    /// Fetch a registry proof of a DID document (JSON) for offline verification.
    Prove {
        did: String,
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        height: Option<u64>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum GovernanceCmd {
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

#[derive(Subcommand)]
enum IssuerCmd {
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

#[derive(Subcommand)]
enum ProofCmd {
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

/// A DID's key file, written by `did create`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidKeys {
    did: String,
    update_key: String,
    recovery_key: String,
    /// Keys replaced by rotation, newest last (kept so nothing is ever lost).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    previous_keys: Vec<String>,
}

impl DidKeys {
    fn load(path: &Path) -> anyhow::Result<Self> {
        serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a DID key file", path.display()))
    }
    fn update(&self) -> anyhow::Result<SecretKey> {
        SecretKey::from_multibase(&self.update_key).context("update key")
    }
    fn recovery(&self) -> anyhow::Result<SecretKey> {
        SecretKey::from_multibase(&self.recovery_key).context("recovery key")
    }
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        Ok(config::write_private(
            path,
            &serde_json::to_vec_pretty(self)?,
        )?)
    }
}

fn parse_service(did: &Did, s: &str) -> anyhow::Result<Service> {
    let mut parts = s.splitn(3, ',');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(ty), Some(ep)) if !id.is_empty() && !ty.is_empty() && !ep.is_empty() => {
            Ok(Service {
                id: did.url(id.trim_start_matches('#')),
                type_: ty.to_owned(),
                service_endpoint: ep.to_owned(),
            })
        }
        _ => bail!("service {s:?} must be ID,TYPE,ENDPOINT"),
    }
}

const COMMIT_WAIT: Duration = Duration::from_secs(20);

/// Submits a DID operation, waits for its commit and reports it (`verb`: "updated", …).
async fn commit_did_op(
    client: &RegistryClient,
    op: &did_method::SignedOperation,
    did: &Did,
    verb: &str,
    json: bool,
) -> anyhow::Result<()> {
    let height = client.submit_and_commit(op, COMMIT_WAIT).await?;
    print_result(
        json,
        serde_json::json!({"did": did, "height": height, "operationId": op.id()}),
        format!("{verb} {did} at height {height}"),
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

async fn did_cmd(cmd: DidCmd) -> anyhow::Result<()> {
    match cmd {
        DidCmd::Create {
            api,
            registrar_key,
            key_out,
            services,
            json,
        } => {
            if key_out.exists() {
                bail!(
                    "{} already exists; refusing to overwrite a key file",
                    key_out.display()
                );
            }
            let client = api.client()?;
            let chain = client.genesis().await?.chain_id;
            let registrar = config::read_secret_key(&registrar_key)?;
            let mut rng = rand_core::OsRng;
            let update = SecretKey::generate(&mut rng);
            let recovery = SecretKey::generate(&mut rng);
            let commitment = recovery_commitment(&recovery.public_key());
            let did = Did::derive(&chain, &update.public_key(), &commitment.0);
            let mut document = DidDocument::with_single_key(&did, &update.public_key());
            for s in &services {
                document.service.push(parse_service(&did, s)?);
            }
            // Keys are saved before anything is submitted: a timeout never loses them.
            DidKeys {
                did: did.to_string(),
                update_key: update.to_multibase(),
                recovery_key: recovery.to_multibase(),
                previous_keys: vec![],
            }
            .save(&key_out)?;
            let op = Operation {
                chain_id: chain,
                sequence: 0,
                body: OperationBody::CreateDid {
                    did: did.clone(),
                    document,
                    initial_key: update.public_key(),
                    recovery_commitment: commitment,
                },
            }
            .sign(&[&update, &registrar]);
            let height = client.submit_and_commit(&op, COMMIT_WAIT).await?;
            print_result(
                json,
                serde_json::json!({"did": did, "height": height, "operationId": op.id(), "keyFile": key_out}),
                did.to_string(),
            );
        }
        DidCmd::Update {
            did,
            api,
            key,
            rotate,
            add_services,
            remove_services,
            json,
        } => {
            let did = Did::parse(&did)?;
            let client = api.client()?;
            let mut keys = DidKeys::load(&key)?;
            let current = keys.update()?;
            let rec = client.did_record(&did).await?;
            let mut doc = rec.document.clone();
            if rotate {
                let fresh = SecretKey::generate(&mut rand_core::OsRng);
                let services = doc.service.clone();
                doc = DidDocument::with_single_key(&did, &fresh.public_key());
                doc.service = services;
                keys.previous_keys.push(keys.update_key.clone());
                keys.update_key = fresh.to_multibase();
            }
            for s in &remove_services {
                let id = did.url(s.trim_start_matches('#'));
                let before = doc.service.len();
                doc.service.retain(|x| x.id != id);
                if doc.service.len() == before {
                    bail!("{did} has no service {s}");
                }
            }
            for s in &add_services {
                let svc = parse_service(&did, s)?;
                doc.service.retain(|x| x.id != svc.id);
                doc.service.push(svc);
            }
            if doc == rec.document {
                bail!("nothing to change: give --rotate, --add-service or --remove-service");
            }
            let op = Operation {
                chain_id: did.network().clone(),
                sequence: rec.sequence + 1,
                body: OperationBody::UpdateDid {
                    did: did.clone(),
                    document: doc,
                },
            }
            .sign(&[&current]);
            if rotate {
                // The new key is on disk (old one kept) before the rotation is submitted.
                keys.save(&key)?;
            }
            commit_did_op(&client, &op, &did, "updated", json).await?;
        }
        DidCmd::Deactivate {
            did,
            api,
            key,
            json,
        } => {
            let did = Did::parse(&did)?;
            let client = api.client()?;
            let keys = DidKeys::load(&key)?;
            let rec = client.did_record(&did).await?;
            let recovery = keys.recovery()?;
            let op = Operation {
                chain_id: did.network().clone(),
                sequence: rec.sequence + 1,
                body: OperationBody::DeactivateDid {
                    did: did.clone(),
                    recovery_key: recovery.public_key(),
                },
            }
            .sign(&[&recovery]);
            commit_did_op(&client, &op, &did, "deactivated", json).await?;
        }
        DidCmd::Recover {
            did,
            api,
            key,
            json,
        } => {
            let did = Did::parse(&did)?;
            let client = api.client()?;
            let mut keys = DidKeys::load(&key)?;
            let recovery = keys.recovery()?;
            let rec = client.did_record(&did).await?;
            let mut rng = rand_core::OsRng;
            let update = SecretKey::generate(&mut rng);
            let next_recovery = SecretKey::generate(&mut rng);
            let mut document = DidDocument::with_single_key(&did, &update.public_key());
            document.service = rec.document.service.clone();
            let op = Operation {
                chain_id: did.network().clone(),
                sequence: rec.sequence + 1,
                body: OperationBody::RecoverDid {
                    did: did.clone(),
                    recovery_key: recovery.public_key(),
                    document,
                    next_recovery_commitment: recovery_commitment(&next_recovery.public_key()),
                },
            }
            .sign(&[&recovery]);
            keys.previous_keys.push(keys.update_key.clone());
            keys.previous_keys.push(keys.recovery_key.clone());
            keys.update_key = update.to_multibase();
            keys.recovery_key = next_recovery.to_multibase();
            keys.save(&key)?;
            commit_did_op(&client, &op, &did, "recovered", json).await?;
        }
        DidCmd::Resolve { did, api, height } => {
            let client = api.client()?;
            let v = client.resolve(&did, height).await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        DidCmd::Prove {
            did,
            api,
            height,
            out,
        } => {
            let did = Did::parse(&did)?;
            let client = api.client()?;
            let proof = client.prove_did(&did, height).await?;
            let text = serde_json::to_string_pretty(&proof)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, text + "\n")
                        .with_context(|| format!("writing {}", p.display()))?;
                    eprintln!(
                        "wrote a proof of {did} at height {} to {}",
                        proof.header.height,
                        p.display()
                    );
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}

/// Builds an issuer operation for a DID.
type MakeBody = Box<dyn FnOnce(Did) -> OperationBody>;
/// Builds a governance operation from a JSON file's bytes.
type ParseBody = Box<dyn FnOnce(&[u8]) -> anyhow::Result<OperationBody>>;

async fn issuer_cmd(cmd: IssuerCmd) -> anyhow::Result<()> {
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

async fn governance_cmd(cmd: GovernanceCmd) -> anyhow::Result<()> {
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

fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    Ok(Genesis::from_json(
        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )?)
}

fn proof_verify(
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn node(dir: PathBuf) -> anyhow::Result<()> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    did_registry::node::run(NodeDir(dir), rx).await
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Init(a) => {
            let summary = config::init_network(
                &a.dir,
                &InitOptions {
                    validators: a.validators,
                    chain_id: ChainId::new(a.chain_id)?,
                    authorities: a.authorities,
                    threshold: a.threshold,
                    base_port: a.base_port,
                    propose_timeout_ms: a.propose_timeout_ms,
                    vote_timeout_ms: a.vote_timeout_ms,
                    block_time_ms: a.block_time_ms,
                    empty_block_interval_ms: a.empty_block_interval_ms,
                },
            )?;
            let human = format!(
                "wrote genesis {} for chain {} and {} validator directories under {}",
                summary.genesis.display(),
                summary.chain_id,
                summary.nodes.len(),
                a.dir.display()
            );
            print_result(a.json, serde_json::to_value(&summary)?, human);
        }
        Cmd::Node { dir } => {
            init_tracing();
            node(dir).await?;
        }
        Cmd::Devnet {
            validators,
            dir,
            chain_id,
        } => {
            init_tracing();
            did_registry::devnet::run(did_registry::devnet::DevnetOptions {
                validators,
                dir,
                chain_id: ChainId::new(chain_id)?,
                release_log_level: std::env::var("RUST_LOG")
                    .unwrap_or_else(|_| "info,arc_malachitebft=warn,libp2p=warn".into()),
            })
            .await?;
        }
        Cmd::Did(c) => did_cmd(c).await?,
        Cmd::Issuer(c) => issuer_cmd(c).await?,
        Cmd::Governance(c) => governance_cmd(c).await?,
        Cmd::Proof(ProofCmd::Verify {
            file,
            genesis,
            checkpoint,
            json,
        }) => {
            if !proof_verify(&file, &genesis, checkpoint.as_deref(), json)? {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Checkpoint {
            api,
            genesis,
            height,
            out,
            json,
        } => {
            let genesis = read_genesis(&genesis)?;
            let client = api.client()?;
            let cp = client.checkpoint(height).await?;
            let anchor = cp.verify(&genesis.trust_anchor()).map_err(|e| {
                anyhow::anyhow!("the node's checkpoint does not verify against the genesis: {e}")
            })?;
            config::write_json(&out, &cp)?;
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
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
