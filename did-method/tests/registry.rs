//! The registry state machine and the light-client proof check, on a small in-memory chain
//! (a Jellyfish Merkle tree in memory; certificates signed by test validators).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::collections::HashMap;

use did_method::chain::{ChainError, VoteType, operations_root, vote_sign_bytes};
use did_method::proof::{ProofError, ValidatorUpdate};
use did_method::state::{self, Authority, BlockContext, DidRecord, Governance, Overlay, StateView};
use did_method::*;
use jmt::mock::MockTreeStore;
use jmt::{JellyfishMerkleTree, KeyHash};
use sha2::Sha256;

struct Mem(HashMap<String, Vec<u8>>);
impl StateView for Mem {
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }
}

struct TestChain {
    chain: ChainId,
    vals: Vec<SecretKey>,
    registrar: SecretKey,
    authorities: Vec<SecretKey>,
    genesis: Genesis,
    set: ValidatorSet,
    store: MockTreeStore,
    state: Mem,
    blocks: Vec<(Header, CommitCertificate)>,
}

fn sk(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

impl TestChain {
    fn new() -> Self {
        let chain = ChainId::new("test-net").unwrap();
        let vals: Vec<SecretKey> = (1..=4).map(sk).collect();
        let registrar = sk(50);
        let set = ValidatorSet::new(
            vals.iter()
                .enumerate()
                .map(|(i, k)| Validator {
                    name: format!("member-{i}"),
                    public_key: k.public_key(),
                    power: 10,
                    registrar_key: if i == 0 {
                        registrar.public_key()
                    } else {
                        sk(60 + i as u8).public_key()
                    },
                    operator_did: None,
                })
                .collect(),
        )
        .unwrap();
        let authorities = vec![sk(100), sk(101), sk(102)];
        let governance = Governance {
            authorities: authorities
                .iter()
                .enumerate()
                .map(|(i, k)| Authority {
                    name: format!("root-{i}"),
                    public_key: k.public_key(),
                    did: None,
                })
                .collect(),
            threshold: 2,
            sequence: 0,
        };
        let genesis = Genesis {
            chain_id: chain.clone(),
            genesis_time_ms: 1_700_000_000_000,
            validators: set.clone(),
            governance,
        };
        let store = MockTreeStore::default();
        let mut state = Mem(HashMap::new());
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
        for (k, v) in init {
            state.0.insert(k, v);
        }
        Self {
            chain,
            vals,
            registrar,
            authorities,
            genesis,
            set,
            store,
            state,
            blocks: vec![],
        }
    }

    fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Executes `ops` as the next block; returns each op's result. Certificate signed by `signers`.
    fn block_signed_by(
        &mut self,
        ops: Vec<SignedOperation>,
        signers: &[usize],
    ) -> Vec<Result<(), OpError>> {
        let height = self.height() + 1;
        let ctx = BlockContext {
            chain_id: self.chain.clone(),
            height,
            time_ms: 1_700_000_000_000 + height * 1000,
        };
        let mut results = vec![];
        let mut overlay = Overlay::new(&self.state);
        let mut included = vec![];
        for op in ops {
            let r = op.clone().check(&self.chain).and_then(|c| {
                let mut attempt = Overlay::new(&overlay);
                state::execute(&mut attempt, &c, &ctx)?;
                let writes = attempt.into_writes();
                for (k, v) in writes {
                    state::StateAccess::put(&mut overlay, k, v);
                }
                Ok(())
            });
            if r.is_ok() {
                included.push(op);
            }
            results.push(r);
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
        for (k, v) in writes {
            self.state.0.insert(k, v);
        }
        let next_set = state::validators(&self.state).unwrap();
        let header = Header {
            chain_id: self.chain.clone(),
            height,
            time_ms: ctx.time_ms,
            prev_hash: self
                .blocks
                .last()
                .map(|(h, _)| h.hash())
                .unwrap_or(Hash::ZERO),
            operations_root: operations_root(&included.iter().map(|o| o.id()).collect::<Vec<_>>()),
            state_root: Hash(root.0),
            validators_hash: self.set.hash(),
            next_validators_hash: next_set.hash(),
            proposer: self.vals[0].public_key(),
        };
        let id = header.hash();
        let msg = vote_sign_bytes(&self.chain, VoteType::Precommit, height, 0, Some(&id));
        let signatures = signers
            .iter()
            .map(|&i| CommitSignature {
                validator: self.vals[i].public_key(),
                signature: self.vals[i].sign(&msg),
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
        results
    }

    fn block(&mut self, ops: Vec<SignedOperation>) -> Vec<Result<(), OpError>> {
        let n = self.set.len();
        self.block_signed_by(ops, &(0..n.min(3)).collect::<Vec<_>>())
    }

    fn prove(&self, key: &str, height: u64) -> RegistryProof {
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

    /// Governance (2 of 3 authorities) replaces validator 3 with a newcomer (seed 40); the
    /// newcomer then signs in its place. Returns the change height and the new set, after one
    /// more block signed by the new set.
    fn replace_member_3(&mut self) -> (u64, ValidatorSet) {
        let mut vals: Vec<Validator> = self.set.validators().to_vec();
        vals.retain(|v| v.public_key != self.vals[3].public_key());
        vals.push(Validator {
            name: "newcomer".into(),
            public_key: sk(40).public_key(),
            power: 10,
            registrar_key: sk(41).public_key(),
            operator_did: None,
        });
        let next = ValidatorSet::new(vals).unwrap();
        let authorities = [self.authorities[0].clone(), self.authorities[1].clone()];
        let op = self
            .op(
                1,
                OperationBody::ChangeValidators {
                    validators: next.clone(),
                },
            )
            .sign(&[&authorities[0], &authorities[1]]);
        assert_eq!(self.block(vec![op]), vec![Ok(())]);
        let change = self.height();
        self.vals[3] = sk(40);
        self.block_signed_by(vec![], &[0, 1, 3]);
        (change, next)
    }

    fn op(&self, sequence: u64, body: OperationBody) -> Operation {
        Operation {
            chain_id: self.chain.clone(),
            sequence,
            body,
        }
    }

    /// Creates a DID; returns (did, update key, recovery key).
    fn create_did(&mut self, seed: u8) -> (Did, SecretKey, SecretKey) {
        let key = sk(seed);
        let recovery = sk(seed.wrapping_add(1));
        let commitment = state::recovery_commitment(&recovery.public_key());
        let did = Did::derive(&self.chain, &key.public_key(), &commitment.0);
        let doc = DidDocument::with_single_key(&did, &key.public_key());
        let op = self
            .op(
                0,
                OperationBody::CreateDid {
                    did: did.clone(),
                    document: doc,
                    initial_key: key.public_key(),
                    recovery_commitment: commitment,
                },
            )
            .sign(&[&key, &self.registrar.clone()]);
        let r = self.block(vec![op]);
        assert_eq!(r, vec![Ok(())]);
        (did, key, recovery)
    }

    fn record(&self, did: &Did) -> DidRecord {
        serde_json::from_slice(&self.state.get(&state::did_key(did)).unwrap()).unwrap()
    }
}

fn kind(r: &[Result<(), OpError>]) -> RejectKind {
    r[0].as_ref().unwrap_err().kind
}

#[test]
fn create_update_rotate_deactivate_lifecycle() {
    let mut c = TestChain::new();
    let (did, key, recovery) = c.create_did(10);
    assert_eq!(c.record(&did).sequence, 0);
    // Rotate to a new key.
    let new_key = sk(20);
    let mut doc = DidDocument::with_single_key(&did, &new_key.public_key());
    doc.service.push(document::Service {
        id: did.url("issuer"),
        type_: "OID4VCI".into(),
        service_endpoint: "https://issuer.example".into(),
    });
    let op = c
        .op(
            1,
            OperationBody::UpdateDid {
                did: did.clone(),
                document: doc.clone(),
            },
        )
        .sign(&[&key]);
    assert_eq!(c.block(vec![op.clone()]), vec![Ok(())]);
    assert_eq!(c.record(&did).document, doc);
    // Replay of the same operation is refused.
    assert_eq!(kind(&c.block(vec![op])), RejectKind::BadSequence);
    // The old key no longer controls the DID.
    let op = c
        .op(
            2,
            OperationBody::UpdateDid {
                did: did.clone(),
                document: doc.clone(),
            },
        )
        .sign(&[&key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    // Deactivation is final: the update key alone cannot do it (a thief could), the
    // recovery key can.
    let op = c
        .op(
            2,
            OperationBody::DeactivateDid {
                did: did.clone(),
                recovery_key: new_key.public_key(),
            },
        )
        .sign(&[&new_key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    let op = c
        .op(
            2,
            OperationBody::DeactivateDid {
                did: did.clone(),
                recovery_key: recovery.public_key(),
            },
        )
        .sign(&[&new_key]);
    assert_eq!(
        kind(&c.block(vec![op])),
        RejectKind::Unauthorized,
        "must be signed by the recovery key"
    );
    let op = c
        .op(
            2,
            OperationBody::DeactivateDid {
                did: did.clone(),
                recovery_key: recovery.public_key(),
            },
        )
        .sign(&[&recovery]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    assert!(c.record(&did).deactivated);
    let op = c
        .op(
            3,
            OperationBody::UpdateDid {
                did: did.clone(),
                document: doc,
            },
        )
        .sign(&[&new_key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Deactivated);
}

#[test]
fn create_rules() {
    let mut c = TestChain::new();
    let key = sk(10);
    let commitment = state::recovery_commitment(&sk(11).public_key());
    let did = Did::derive(&c.chain, &key.public_key(), &commitment.0);
    let doc = DidDocument::with_single_key(&did, &key.public_key());
    let body = OperationBody::CreateDid {
        did: did.clone(),
        document: doc.clone(),
        initial_key: key.public_key(),
        recovery_commitment: commitment,
    };
    // Without a registrar's endorsement.
    let op = c.op(0, body.clone()).sign(&[&key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::MissingEndorsement);
    // Endorsed by a key that is no registrar.
    let op = c.op(0, body.clone()).sign(&[&key, &sk(99)]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::MissingEndorsement);
    // Not signed by the initial key.
    let op = c.op(0, body.clone()).sign(&[&c.registrar.clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    // A DID not derived from its key.
    let other = Did::derive(&c.chain, &sk(12).public_key(), &commitment.0);
    let op = c
        .op(
            0,
            OperationBody::CreateDid {
                did: other.clone(),
                document: DidDocument::with_single_key(&other, &key.public_key()),
                initial_key: key.public_key(),
                recovery_commitment: commitment,
            },
        )
        .sign(&[&key, &c.registrar.clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    // Wrong chain id.
    let op = Operation {
        chain_id: ChainId::new("other-net").unwrap(),
        sequence: 0,
        body: body.clone(),
    }
    .sign(&[&key, &c.registrar.clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::WrongChain);
    // Valid, then again: already exists.
    let op = c.op(0, body).sign(&[&key, &c.registrar.clone()]);
    assert_eq!(c.block(vec![op.clone()]), vec![Ok(())]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::AlreadyExists);
}

#[test]
fn recovery_takes_control_back() {
    let mut c = TestChain::new();
    let (did, _lost, recovery) = c.create_did(10);
    let fresh = sk(30);
    let next_recovery = state::recovery_commitment(&sk(31).public_key());
    let doc = DidDocument::with_single_key(&did, &fresh.public_key());
    // A wrong recovery key is refused.
    let op = c
        .op(
            1,
            OperationBody::RecoverDid {
                did: did.clone(),
                recovery_key: sk(77).public_key(),
                document: doc.clone(),
                next_recovery_commitment: next_recovery,
            },
        )
        .sign(&[&sk(77)]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    let op = c
        .op(
            1,
            OperationBody::RecoverDid {
                did: did.clone(),
                recovery_key: recovery.public_key(),
                document: doc.clone(),
                next_recovery_commitment: next_recovery,
            },
        )
        .sign(&[&recovery]);
    assert_eq!(c.block(vec![op.clone()]), vec![Ok(())]);
    let rec = c.record(&did);
    assert!(rec.document.can_invoke(&fresh.public_key()));
    assert_eq!(rec.recovery_commitment, next_recovery);
    // The used recovery key cannot be used again.
    let op = c
        .op(
            2,
            OperationBody::RecoverDid {
                did: did.clone(),
                recovery_key: recovery.public_key(),
                document: doc,
                next_recovery_commitment: state::recovery_commitment(&sk(32).public_key()),
            },
        )
        .sign(&[&recovery]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
}

#[test]
fn accreditation_and_status_anchor() {
    let mut c = TestChain::new();
    let (issuer, key, _) = c.create_did(10);
    let body = OperationBody::AccreditIssuer {
        issuer: issuer.clone(),
        credential_types: vec!["DriverLicense".into()],
        valid_until_ms: None,
    };
    // Not a root authority.
    let op = c.op(0, body.clone()).sign(&[&key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    let op = c.op(0, body).sign(&[&c.authorities[0].clone()]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let acc: state::Accreditation =
        serde_json::from_slice(&c.state.get(&state::issuer_key(&issuer)).unwrap()).unwrap();
    assert!(acc.covers("DriverLicense", u64::MAX - 1));
    assert!(!acc.covers("Passport", u64::MAX - 1));
    assert_eq!(acc.authority, "root-0");

    let anchor = OperationBody::AnchorStatusList {
        issuer: issuer.clone(),
        list_id: "https://issuer.example/status/1".into(),
        list_hash: Hash([7; 32]),
    };
    let op = c.op(0, anchor.clone()).sign(&[&sk(99)]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    let op = c.op(0, anchor).sign(&[&key]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);

    let op = c
        .op(
            1,
            OperationBody::WithdrawAccreditation {
                issuer: issuer.clone(),
                reason: "audit".into(),
            },
        )
        .sign(&[&c.authorities[1].clone()]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let acc: state::Accreditation =
        serde_json::from_slice(&c.state.get(&state::issuer_key(&issuer)).unwrap()).unwrap();
    assert!(acc.withdrawn() && !acc.covers("DriverLicense", u64::MAX - 1));
    // The grant stays on record beside the withdrawal.
    assert_eq!(acc.authority, "root-0");
    assert_eq!(acc.withdrawal.as_ref().unwrap().authority, "root-1");
    assert_eq!(acc.withdrawal.as_ref().unwrap().reason, "audit");
}

fn rp_scope(t: &str, claims: &[&str]) -> state::RelyingPartyScope {
    state::RelyingPartyScope {
        credential_type: t.into(),
        claims: claims.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn a_root_authority_registers_a_relying_party_for_claims_and_withdraws_it_provably() {
    let mut c = TestChain::new();
    let (shop, key, _) = c.create_did(10);
    let body = |scopes| OperationBody::AccreditRelyingParty {
        relying_party: shop.clone(),
        scopes,
        valid_until_ms: None,
    };
    let good = vec![rp_scope(
        "DriverLicense",
        &["birthdate", "address.locality"],
    )];
    // The business cannot register itself.
    let op = c.op(0, body(good.clone())).sign(&[&key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    // Malformed scopes are refused whoever signs.
    let root = c.authorities[0].clone();
    for bad in [
        vec![],
        vec![rp_scope("DriverLicense", &[])],
        vec![rp_scope("", &["birthdate"])],
        vec![rp_scope("DriverLicense", &["address..locality"])],
        vec![rp_scope("DriverLicense", &["address.*"])],
        vec![
            rp_scope("DriverLicense", &["birthdate"]),
            rp_scope("DriverLicense", &["*"]),
        ],
    ] {
        let op = c.op(0, body(bad.clone())).sign(&[&root]);
        assert_eq!(kind(&c.block(vec![op])), RejectKind::Malformed, "{bad:?}");
    }
    // A DID that is not registered cannot be a relying party.
    let stranger = Did::derive(&c.chain, &sk(77).public_key(), &[1; 32]);
    let op = c
        .op(
            0,
            OperationBody::AccreditRelyingParty {
                relying_party: stranger,
                scopes: good.clone(),
                valid_until_ms: None,
            },
        )
        .sign(&[&root]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::NotFound);

    let op = c.op(0, body(good)).sign(&[&root]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let key_rp = state::relying_party_key(&shop);
    assert!(key_rp.starts_with("verifier/did:alliance:"));
    let rec: state::RelyingPartyAccreditation =
        serde_json::from_slice(&c.state.get(&key_rp).unwrap()).unwrap();
    assert!(rec.in_force(u64::MAX - 1));
    let scope = rec.scope("DriverLicense").unwrap();
    assert!(scope.covers_claim("birthdate") && scope.covers_claim("address.locality"));
    assert!(!scope.covers_claim("family_name") && !scope.covers_all());
    assert!(rec.scope("Passport").is_none());
    assert_eq!(rec.authority, "root-0");

    // Provable like any record, against the genesis alone.
    let proof = c.prove(&key_rp, c.height());
    let entry = proof.verify(&c.genesis.trust_anchor()).unwrap();
    let proven: state::RelyingPartyAccreditation = entry.record().unwrap().unwrap();
    assert_eq!(proven, rec);

    // Re-registering replaces the scopes (next sequence); withdrawing keeps the grant on record.
    let wider = vec![rp_scope("DriverLicense", &["*"])];
    let op = c.op(1, body(wider)).sign(&[&root]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let withdraw = |c: &TestChain, seq| {
        c.op(
            seq,
            OperationBody::WithdrawRelyingParty {
                relying_party: shop.clone(),
                reason: "complaints".into(),
            },
        )
    };
    let op = withdraw(&c, 2).sign(&[&key]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    let op = withdraw(&c, 2).sign(&[&c.authorities[2].clone()]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let rec: state::RelyingPartyAccreditation =
        serde_json::from_slice(&c.state.get(&key_rp).unwrap()).unwrap();
    assert!(rec.withdrawn() && !rec.in_force(u64::MAX - 1));
    assert!(rec.scope("DriverLicense").unwrap().covers_all());
    assert_eq!(rec.withdrawal.as_ref().unwrap().authority, "root-2");
    let op = withdraw(&c, 3).sign(&[&root]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::NotFound);
}

#[test]
fn proof_verifies_and_every_tamper_fails() {
    let mut c = TestChain::new();
    let (did, _, _) = c.create_did(10);
    c.block(vec![]);
    let anchor = c.genesis.trust_anchor();
    let key = state::did_key(&did);
    let proof = c.prove(&key, 2);
    let entry = proof.verify(&anchor).unwrap();
    assert_eq!(entry.height, 2);
    let rec: DidRecord = entry.record().unwrap().unwrap();
    assert_eq!(rec.document.id, did.to_string());

    // Survives JSON round trip.
    let json = serde_json::to_string(&proof).unwrap();
    let back: RegistryProof = serde_json::from_str(&json).unwrap();
    back.verify(&anchor).unwrap();

    // Non-existence is provable too.
    let absent = c.prove("did/did:alliance:test-net:11111111111111111111", 2);
    assert!(absent.value.is_none());
    absent.verify(&anchor).unwrap();

    // Tampered value.
    let mut p = proof.clone();
    p.value.as_mut().unwrap()["deactivated"] = serde_json::json!(true);
    assert!(matches!(p.verify(&anchor), Err(ProofError::Merkle(_))));
    // Claiming absence of a present key.
    let mut p = proof.clone();
    p.value = None;
    assert!(matches!(p.verify(&anchor), Err(ProofError::Merkle(_))));
    // Another key with this value.
    let mut p = proof.clone();
    p.key = "did/did:alliance:test-net:other".into();
    assert!(matches!(p.verify(&anchor), Err(ProofError::Merkle(_))));
    // Tampered header (state root): certificate no longer matches.
    let mut p = proof.clone();
    p.header.state_root = Hash([1; 32]);
    assert!(matches!(
        p.verify(&anchor),
        Err(ProofError::Header {
            source: ChainError::BlockIdMismatch { .. },
            ..
        })
    ));
    // Header and certificate both rewritten: signatures fail.
    let mut p = proof.clone();
    p.header.time_ms += 1;
    p.certificate.block_id = p.header.hash();
    assert!(matches!(
        p.verify(&anchor),
        Err(ProofError::Header {
            source: ChainError::BadSignature(_),
            ..
        })
    ));
    // Under quorum: two of four.
    let mut p = proof.clone();
    p.certificate.signatures.truncate(2);
    assert!(matches!(
        p.verify(&anchor),
        Err(ProofError::Header {
            source: ChainError::UnderQuorum {
                signed: 20,
                total: 40
            },
            ..
        })
    ));
    // Duplicate signer padding.
    let mut p = proof.clone();
    p.certificate.signatures.truncate(2);
    p.certificate
        .signatures
        .push(p.certificate.signatures[0].clone());
    assert!(matches!(
        p.verify(&anchor),
        Err(ProofError::Header {
            source: ChainError::DuplicateSigner(_),
            ..
        })
    ));
    // Signed by strangers.
    let mut p = proof.clone();
    p.certificate.signatures[0].validator = sk(200).public_key();
    assert!(matches!(
        p.verify(&anchor),
        Err(ProofError::Header {
            source: ChainError::UnknownValidator(_),
            ..
        })
    ));
    // Wrong chain id in the anchor.
    let mut other = anchor.clone();
    other.chain_id = ChainId::new("other-net").unwrap();
    assert!(matches!(
        proof.verify(&other),
        Err(ProofError::WrongChain { .. })
    ));
    // Wrong validator set in the anchor.
    let mut other = anchor.clone();
    other.validators = ValidatorSet::new(vec![Validator {
        name: "x".into(),
        public_key: sk(200).public_key(),
        power: 1,
        registrar_key: sk(201).public_key(),
        operator_did: None,
    }])
    .unwrap();
    assert!(matches!(
        proof.verify(&other),
        Err(ProofError::Header {
            source: ChainError::WrongValidatorSet { .. },
            ..
        })
    ));
    // Tampered Merkle path: the leaf's value hash changed, a sibling's hash changed, or the
    // encoding cut short.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let text = did_method::proof::merkle_proof_to_text(&proof.merkle_proof);
    let bytes = b64.decode(&text).unwrap();
    assert_eq!(bytes[0], 1, "an inclusion proof carries its leaf");
    let with = |b: &[u8]| {
        let mut v = serde_json::to_value(&proof).unwrap();
        v["merkleProof"] = serde_json::json!(b64.encode(b));
        serde_json::from_value::<RegistryProof>(v)
    };
    let mut leaf = bytes.clone();
    leaf[40] ^= 1;
    assert!(matches!(
        with(&leaf).unwrap().verify(&anchor),
        Err(ProofError::Merkle(_))
    ));
    // The first sibling: variant byte at 69; an internal or leaf node has hashes after it.
    if bytes.len() > 70 && bytes[69] != 0 {
        let mut sib = bytes.clone();
        sib[75] ^= 0x80;
        assert!(matches!(
            with(&sib).unwrap().verify(&anchor),
            Err(ProofError::Merkle(_))
        ));
    }
    assert!(with(&bytes[..bytes.len() - 1]).is_err());
    // Not a proof at all.
    let mut v = serde_json::to_value(&proof).unwrap();
    v["merkleProof"] = serde_json::json!("not base64 !");
    assert!(serde_json::from_value::<RegistryProof>(v).is_err());
    // Compact: the whole proof stays small enough for a QR sequence.
    assert!(serde_json::to_vec(&proof).unwrap().len() < 4_000);
}

#[test]
fn light_client_follows_validator_set_changes() {
    let mut c = TestChain::new();
    let (did, _, _) = c.create_did(10);
    // Governance replaces member 3 with a new validator: needs 2 of 3 authorities.
    let newcomer = sk(40);
    let mut vals: Vec<Validator> = c.set.validators().to_vec();
    vals.retain(|v| v.public_key != c.vals[3].public_key());
    vals.push(Validator {
        name: "newcomer".into(),
        public_key: newcomer.public_key(),
        power: 10,
        registrar_key: sk(41).public_key(),
        operator_did: None,
    });
    let next = ValidatorSet::new(vals).unwrap();
    let op = c
        .op(
            1,
            OperationBody::ChangeValidators {
                validators: next.clone(),
            },
        )
        .sign(&[&c.authorities[0].clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Governance);
    let op = c
        .op(
            1,
            OperationBody::ChangeValidators {
                validators: next.clone(),
            },
        )
        .sign(&[&c.authorities[0].clone(), &c.authorities[2].clone()]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let change_height = c.height();
    assert_eq!(c.set, next);
    // The next block is signed by the new set (members 0, 1 and the newcomer).
    c.vals[3] = newcomer;
    c.block_signed_by(vec![], &[0, 1, 3]);
    let h = c.height();
    let anchor = c.genesis.trust_anchor();
    let mut proof = c.prove(&state::did_key(&did), h);
    // Without the update the header's set is not the trusted one.
    assert!(matches!(
        proof.verify(&anchor),
        Err(ProofError::Header {
            source: ChainError::WrongValidatorSet { .. },
            ..
        })
    ));
    let (uh, ucert) = c.blocks[change_height as usize - 1].clone();
    proof.validator_updates.push(ValidatorUpdate {
        header: uh.clone(),
        certificate: ucert.clone(),
        next_validators: next.clone(),
    });
    proof.verify(&anchor).unwrap();
    // A forged new set does not match the committed hash.
    let mut forged = proof.clone();
    forged.validator_updates[0].next_validators = c.genesis.validators.clone();
    assert!(matches!(
        forged.verify(&anchor),
        Err(ProofError::Update {
            source: ChainError::NextValidatorsMismatch,
            ..
        })
    ));
}

#[test]
fn governance_can_replace_its_authorities_with_threshold() {
    let mut c = TestChain::new();
    let newcomer = sk(110);
    let authorities = vec![
        state::Authority {
            name: "root-0".into(),
            public_key: c.authorities[0].public_key(),
            did: None,
        },
        state::Authority {
            name: "new-root".into(),
            public_key: newcomer.public_key(),
            did: None,
        },
    ];
    let body = OperationBody::ChangeGovernance {
        authorities: authorities.clone(),
        threshold: 2,
    };
    // One of three authorities is below the threshold of two.
    let op = c.op(1, body.clone()).sign(&[&c.authorities[0].clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Governance);
    // A threshold above the number of authorities is refused.
    let bad = OperationBody::ChangeGovernance {
        authorities: authorities.clone(),
        threshold: 3,
    };
    let op = c
        .op(1, bad)
        .sign(&[&c.authorities[0].clone(), &c.authorities[1].clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Governance);
    let op = c
        .op(1, body)
        .sign(&[&c.authorities[0].clone(), &c.authorities[1].clone()]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
    let gov: state::Governance =
        serde_json::from_slice(&c.state.get(state::KEY_GOVERNANCE).unwrap()).unwrap();
    assert_eq!(gov.authorities, authorities);
    // The removed authority can no longer accredit; the new one can.
    let (issuer, _, _) = c.create_did(10);
    let accredit = OperationBody::AccreditIssuer {
        issuer,
        credential_types: vec!["T".into()],
        valid_until_ms: None,
    };
    let op = c.op(0, accredit.clone()).sign(&[&c.authorities[1].clone()]);
    assert_eq!(kind(&c.block(vec![op])), RejectKind::Unauthorized);
    let op = c.op(0, accredit).sign(&[&newcomer]);
    assert_eq!(c.block(vec![op]), vec![Ok(())]);
}

#[test]
fn checkpoint_anchor_after_a_validator_change_accepts_the_proof() {
    let mut c = TestChain::new();
    let (did, _, _) = c.create_did(10);
    let (change, next) = c.replace_member_3();
    let mut proof = c.prove(&state::did_key(&did), c.height());
    let (uh, ucert) = c.blocks[change as usize - 1].clone();
    proof.validator_updates.push(ValidatorUpdate {
        header: uh.clone(),
        certificate: ucert,
        next_validators: next.clone(),
    });
    // A verifier whose anchor is a checkpoint at the change height already trusts `next`.
    let checkpoint = TrustAnchor {
        chain_id: c.chain.clone(),
        height: change,
        time_ms: uh.time_ms,
        validators: next,
    };
    proof.verify(&checkpoint).unwrap();
    proof.verify(&c.genesis.trust_anchor()).unwrap();
}

#[test]
fn checkpoint_proves_itself_from_genesis_and_anchors_later_proofs() {
    let mut c = TestChain::new();
    let (did, _, _) = c.create_did(10);
    let (change, next) = c.replace_member_3();
    let cp_height = c.height();
    let (ch, ccert) = c.blocks[change as usize - 1].clone();
    let (h, cert) = c.blocks[cp_height as usize - 1].clone();
    let checkpoint = Checkpoint {
        header: h,
        certificate: cert,
        validator_updates: vec![ValidatorUpdate {
            header: ch,
            certificate: ccert,
            next_validators: next.clone(),
        }],
        next_validators: next.clone(),
    };
    let anchor = checkpoint.verify(&c.genesis.trust_anchor()).unwrap();
    assert_eq!(anchor.height, cp_height);
    // JSON round trip.
    let back: Checkpoint =
        serde_json::from_str(&serde_json::to_string(&checkpoint).unwrap()).unwrap();
    assert_eq!(back.verify(&c.genesis.trust_anchor()).unwrap(), anchor);
    // A later proof needs no validator updates against the checkpoint's anchor.
    c.block_signed_by(vec![], &[0, 1, 3]);
    let proof = c.prove(&state::did_key(&did), c.height());
    assert!(proof.validator_updates.is_empty());
    proof.verify(&anchor).unwrap();
    assert!(proof.verify(&c.genesis.trust_anchor()).is_err());
    // A forged next set, or a checkpoint without its validator change, fails.
    let mut forged = checkpoint.clone();
    forged.next_validators = c.genesis.validators.clone();
    assert!(forged.verify(&c.genesis.trust_anchor()).is_err());
    let mut missing = checkpoint.clone();
    missing.validator_updates.clear();
    assert!(missing.verify(&c.genesis.trust_anchor()).is_err());
}
