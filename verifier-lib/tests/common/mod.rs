//! Test support: a registry run by the real node code (`did_registry::app::App` over a real
//! redb store, in process), whose blocks are committed with certificates signed by 4 test
//! validators, so the proofs it serves are the ones a real network serves.
#![allow(dead_code)]

use did_method::chain::{VoteType, vote_sign_bytes};
use did_method::state::{Authority, Governance};
use did_method::*;
use did_registry::app::App;
use did_registry::consensus::Host;
use did_registry::store::Store;
use verifier_lib::RegistryPolicy;

pub const T0: u64 = 1_700_000_000_000;

pub fn sk(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

pub struct Chain {
    pub app: App,
    pub vals: Vec<SecretKey>,
    pub genesis: Genesis,
    _dir: tempfile::TempDir,
}

impl Chain {
    pub fn new() -> Self {
        let vals: Vec<SecretKey> = (1..=4).map(sk).collect();
        let set = ValidatorSet::new(
            vals.iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("m{i}"),
                    public_key: k.public_key(),
                    power: 10,
                    registrar_key: sk(50 + i as u8).public_key(),
                    operator_did: None,
                })
                .collect(),
        )
        .unwrap();
        let genesis = Genesis {
            chain_id: ChainId::new("verify-net").unwrap(),
            genesis_time_ms: T0,
            validators: set,
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
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.redb")).unwrap();
        let app = App::open(genesis.clone(), store, None).unwrap();
        Self {
            app,
            vals,
            genesis,
            _dir: dir,
        }
    }

    /// Commits `ops` in the next block (3 of 4 validators sign it); returns its height.
    pub fn block(&self, ops: Vec<SignedOperation>) -> u64 {
        for op in ops {
            self.app.submit(op, false).unwrap();
        }
        let h = self.app.next_height();
        let block = self
            .app
            .build_block(h, 0, T0 + h * 1000, &self.vals[0].public_key())
            .unwrap();
        let msg = vote_sign_bytes(
            &self.genesis.chain_id,
            VoteType::Precommit,
            h,
            0,
            Some(&block.id()),
        );
        let signatures = self.vals[..3]
            .iter()
            .map(|k| CommitSignature {
                validator: k.public_key(),
                signature: k.sign(&msg),
            })
            .collect();
        self.app
            .commit(
                &block,
                &CommitCertificate {
                    height: h,
                    round: 0,
                    block_id: block.id(),
                    signatures,
                },
            )
            .unwrap();
        h
    }

    pub fn prove(&self, key: &str) -> RegistryProof {
        serde_json::from_slice(&self.app.prove_json(key, None).unwrap()).unwrap()
    }

    pub fn op(&self, sequence: u64, body: OperationBody) -> Operation {
        Operation {
            chain_id: self.genesis.chain_id.clone(),
            sequence,
            body,
        }
    }
}

pub fn policy(chain: &Chain) -> RegistryPolicy {
    RegistryPolicy {
        anchor: chain.genesis.trust_anchor(),
        max_proof_age_ms: 60_000,
        clock_skew_ms: 5_000,
    }
}
