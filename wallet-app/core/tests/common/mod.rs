//! Test support for wallet-core's own tests: HTTP servers on loopback written in the test
//! (axum), a record of the requests they answered, and a small registry chain in memory
//! whose proofs are real.
//!
//! The chain runs did-method's own state transition over a Jellyfish Merkle tree in memory
//! and commits each block with a certificate signed by 3 of its 4 validators, so the
//! [`RegistryProof`]s it gives are what a node serves for the same state (the node adds
//! storage, networking and consensus, none of which a proof shows) and verify against its
//! genesis with verifier-lib. Only the transport differs: a test serves them itself.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use did_method::chain::{VoteType, operations_root, vote_sign_bytes};
use did_method::state::{self, Authority, BlockContext, Governance, Overlay, StateView};
use did_method::*;
use jmt::mock::MockTreeStore;
use jmt::{JellyfishMerkleTree, KeyHash};
use sha2::Sha256;

pub const T0: u64 = 1_700_000_000_000;

pub fn sk(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

/// Serves `router` on a loopback port of its own; its base URL (`http://127.0.0.1:PORT`).
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// One request a test server answered.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `METHOD /path?query`.
    pub line: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

/// What a test server saw, in order; shared with its handlers.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    pub fn push(&self, seen: Seen) {
        self.0.lock().unwrap().push(seen);
    }

    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    /// The request lines seen, e.g. `POST /token`.
    pub fn lines(&self) -> Vec<String> {
        self.all().into_iter().map(|s| s.line).collect()
    }

    /// The requests whose line starts with `prefix`.
    pub fn matching(&self, prefix: &str) -> Vec<Seen> {
        self.all()
            .into_iter()
            .filter(|s| s.line.starts_with(prefix))
            .collect()
    }
}

/// An axum middleware that records each request (method, path and query, headers, body)
/// into `log` before the handler sees it.
pub async fn record(
    axum::extract::State(log): axum::extract::State<Log>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    log.push(Seen {
        line: format!(
            "{} {}",
            parts.method,
            parts.uri.path_and_query().map_or("", |p| p.as_str())
        ),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// `router` with every request recorded into a new [`Log`].
pub fn recorded(router: axum::Router) -> (axum::Router, Log) {
    let log = Log::default();
    let router = router.layer(axum::middleware::from_fn_with_state(log.clone(), record));
    (router, log)
}

struct Mem(HashMap<String, Vec<u8>>);

impl StateView for Mem {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
}

/// A registry chain in memory: 4 validators (seeds 1–4, registrar keys 50–53), one root
/// authority (seed 100), blocks one second apart from [`T0`].
pub struct Chain {
    pub genesis: Genesis,
    vals: Vec<SecretKey>,
    set: ValidatorSet,
    store: MockTreeStore,
    state: Mem,
    blocks: Vec<(Header, CommitCertificate)>,
}

impl Chain {
    pub fn new() -> Self {
        let vals: Vec<SecretKey> = (1..=4).map(sk).collect();
        let set = ValidatorSet::new(
            vals.iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("member-{i}"),
                    public_key: k.public_key(),
                    power: 10,
                    registrar_key: sk(50 + i as u8).public_key(),
                    operator_did: None,
                })
                .collect(),
        )
        .unwrap();
        let genesis = Genesis {
            chain_id: ChainId::new("wallet-test-net").unwrap(),
            genesis_time_ms: T0,
            validators: set.clone(),
            governance: Governance {
                authorities: vec![Authority {
                    name: "root".into(),
                    public_key: sk(100).public_key(),
                    did: None,
                }],
                threshold: 1,
                sequence: 0,
            },
        };
        let store = MockTreeStore::default();
        let init = genesis.initial_state();
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&store);
        let (_, batch) = tree
            .put_value_set(
                init.iter()
                    .map(|(k, v)| (KeyHash::with::<Sha256>(k), Some(v.clone()))),
                0,
            )
            .unwrap();
        store.write_tree_update_batch(batch).unwrap();
        Self {
            genesis,
            vals,
            set,
            store,
            state: Mem(init.into_iter().collect()),
            blocks: vec![],
        }
    }

    pub fn op(&self, sequence: u64, body: OperationBody) -> Operation {
        Operation {
            chain_id: self.genesis.chain_id.clone(),
            sequence,
            body,
        }
    }

    /// Commits `ops` (each must execute) in the next block; returns its height.
    pub fn block(&mut self, ops: Vec<SignedOperation>) -> u64 {
        let chain = self.genesis.chain_id.clone();
        let height = self.blocks.len() as u64 + 1;
        let ctx = BlockContext {
            chain_id: chain.clone(),
            height,
            time_ms: T0 + height * 1000,
        };
        let mut overlay = Overlay::new(&self.state);
        let mut ids = vec![];
        for op in ops {
            ids.push(op.id());
            let checked = op.check(&chain).unwrap();
            state::execute(&mut overlay, &checked, &ctx).unwrap();
        }
        state::finish_block(&mut overlay, &ctx);
        let writes = overlay.into_writes();
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&self.store);
        let (root, batch) = tree
            .put_value_set(
                writes
                    .iter()
                    .map(|(k, v)| (KeyHash::with::<Sha256>(k), Some(v.clone()))),
                height,
            )
            .unwrap();
        self.store.write_tree_update_batch(batch).unwrap();
        self.state.0.extend(writes);
        let next_set = state::validators(&self.state).unwrap();
        let header = Header {
            chain_id: chain.clone(),
            height,
            time_ms: ctx.time_ms,
            prev_hash: self.blocks.last().map_or(Hash::ZERO, |(h, _)| h.hash()),
            operations_root: operations_root(&ids),
            state_root: Hash(root.0),
            validators_hash: self.set.hash(),
            next_validators_hash: next_set.hash(),
            proposer: self.vals[0].public_key(),
        };
        let id = header.hash();
        let msg = vote_sign_bytes(&chain, VoteType::Precommit, height, 0, Some(&id));
        let signatures = self.vals[..3]
            .iter()
            .map(|k| CommitSignature {
                validator: k.public_key(),
                signature: k.sign(&msg),
            })
            .collect();
        self.blocks.push((
            header,
            CommitCertificate {
                height,
                round: 0,
                block_id: id,
                signatures,
            },
        ));
        self.set = next_set;
        height
    }

    /// The proof of `key` at `height`, as a node serves it at `GET /v1/proofs?key=…`.
    pub fn prove(&self, key: &str, height: u64) -> RegistryProof {
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&self.store);
        let (value, merkle_proof) = tree
            .get_with_proof(KeyHash::with::<Sha256>(key), height)
            .unwrap();
        let (header, certificate) = self.blocks[height as usize - 1].clone();
        RegistryProof {
            key: key.to_owned(),
            value: value.map(|v| serde_json::from_slice(&v).unwrap()),
            header,
            certificate,
            validator_updates: vec![],
            merkle_proof,
        }
    }

    /// The newest height.
    pub fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// A did:alliance issuer (key seed `seed`), created with a member registrar's
    /// endorsement, in a block of its own.
    pub fn create_issuer(&mut self, seed: u8) -> (Did, SecretKey) {
        let key = sk(seed);
        let (did, create) = Operation::create_single_key(
            &self.genesis.chain_id,
            &key.public_key(),
            state::recovery_commitment(&sk(seed.wrapping_add(1)).public_key()),
        );
        self.block(vec![create.sign(&[&key, &sk(50)])]);
        (did, key)
    }

    /// The root authority's accreditation of `issuer` for `types`, signed.
    pub fn accredit(&self, issuer: &Did, types: &[&str]) -> SignedOperation {
        self.op(
            0,
            OperationBody::AccreditIssuer {
                issuer: issuer.clone(),
                credential_types: types.iter().map(|t| t.to_string()).collect(),
                valid_until_ms: None,
            },
        )
        .sign(&[&sk(100)])
    }

    /// `issuer`'s anchor number `sequence` (0 first) of the list served at `list_id` whose
    /// bytes are `list`, signed by `key`.
    pub fn anchor(
        &self,
        issuer: &Did,
        key: &SecretKey,
        sequence: u64,
        list_id: &str,
        list: &str,
    ) -> SignedOperation {
        self.op(
            sequence,
            OperationBody::AnchorStatusList {
                issuer: issuer.clone(),
                list_id: list_id.into(),
                list_hash: Hash::digest(list.as_bytes()),
            },
        )
        .sign(&[key])
    }
}
