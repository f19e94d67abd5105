//! `did`: create, update, deactivate, recover, resolve and prove DIDs. A DID's keys live in a
//! key file written before anything is submitted, so a timeout never loses them.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use did_method::document::Service;
use did_method::operation::{Operation, OperationBody};
use did_method::state::recovery_commitment;
use did_method::{Did, DidDocument, SecretKey};
use did_registry::config;
use registry_client::RegistryClient;
use serde::{Deserialize, Serialize};

use super::{Api, COMMIT_WAIT, print_result};

#[derive(Subcommand)]
pub(super) enum DidCmd {
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

pub(super) async fn run(cmd: DidCmd) -> anyhow::Result<()> {
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
