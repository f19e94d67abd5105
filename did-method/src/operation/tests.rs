//! Tests of the operation format: the JSON shape and its parse limits, a create's canonical
//! JSON, ids, and the stateless checks, one by one and in a batch.

use super::*;

fn chain() -> ChainId {
    ChainId::new("test-chain").unwrap()
}

/// How operation bodies were read before [`BodyFields`]: serde's internally tagged enum.
#[derive(Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum TaggedBody {
    CreateDid {
        did: Did,
        document: DidDocument,
        initial_key: PublicKey,
        recovery_commitment: Hash,
    },
    UpdateDid {
        did: Did,
        document: DidDocument,
    },
    DeactivateDid {
        did: Did,
        recovery_key: PublicKey,
    },
    RecoverDid {
        did: Did,
        recovery_key: PublicKey,
        document: DidDocument,
        next_recovery_commitment: Hash,
    },
    AccreditIssuer {
        issuer: Did,
        credential_types: Vec<String>,
        #[serde(default)]
        valid_until_ms: Option<u64>,
    },
    WithdrawAccreditation {
        issuer: Did,
        reason: String,
    },
    AccreditRelyingParty {
        relying_party: Did,
        scopes: Vec<crate::state::RelyingPartyScope>,
        #[serde(default)]
        valid_until_ms: Option<u64>,
    },
    WithdrawRelyingParty {
        relying_party: Did,
        reason: String,
    },
    AnchorStatusList {
        issuer: Did,
        list_id: String,
        list_hash: Hash,
    },
    ChangeValidators {
        validators: ValidatorSet,
    },
    ChangeGovernance {
        authorities: Vec<crate::state::Authority>,
        threshold: u32,
    },
}

impl TaggedBody {
    fn into_body(self) -> OperationBody {
        match self {
            Self::CreateDid {
                did,
                document,
                initial_key,
                recovery_commitment,
            } => OperationBody::CreateDid {
                did,
                document,
                initial_key,
                recovery_commitment,
            },
            Self::UpdateDid { did, document } => OperationBody::UpdateDid { did, document },
            Self::DeactivateDid { did, recovery_key } => {
                OperationBody::DeactivateDid { did, recovery_key }
            }
            Self::RecoverDid {
                did,
                recovery_key,
                document,
                next_recovery_commitment,
            } => OperationBody::RecoverDid {
                did,
                recovery_key,
                document,
                next_recovery_commitment,
            },
            Self::AccreditIssuer {
                issuer,
                credential_types,
                valid_until_ms,
            } => OperationBody::AccreditIssuer {
                issuer,
                credential_types,
                valid_until_ms,
            },
            Self::WithdrawAccreditation { issuer, reason } => {
                OperationBody::WithdrawAccreditation { issuer, reason }
            }
            Self::AccreditRelyingParty {
                relying_party,
                scopes,
                valid_until_ms,
            } => OperationBody::AccreditRelyingParty {
                relying_party,
                scopes,
                valid_until_ms,
            },
            Self::WithdrawRelyingParty {
                relying_party,
                reason,
            } => OperationBody::WithdrawRelyingParty {
                relying_party,
                reason,
            },
            Self::AnchorStatusList {
                issuer,
                list_id,
                list_hash,
            } => OperationBody::AnchorStatusList {
                issuer,
                list_id,
                list_hash,
            },
            Self::ChangeValidators { validators } => OperationBody::ChangeValidators { validators },
            Self::ChangeGovernance {
                authorities,
                threshold,
            } => OperationBody::ChangeGovernance {
                authorities,
                threshold,
            },
        }
    }
}

#[test]
fn a_create_written_around_its_documents_canonical_json_is_its_canonical_json() {
    use crate::document::Service;
    for i in 0..300u64 {
        let chain = ChainId::new(["alliance-devnet", "a", "net-2"][i as usize % 3]).unwrap();
        let key = SecretKey::from_seed(&[(i % 200) as u8 + 1; 32]).public_key();
        let (did, mut op) = Operation::create_single_key(&chain, &key, Hash([i as u8; 32]));
        let OperationBody::CreateDid { document, .. } = &mut op.body else {
            unreachable!()
        };
        for n in 0..i % 4 {
            document
                .also_known_as
                .push(format!("https://e.example/{n}?q=\"\\\u{7}é\u{1F600}"));
            document.service.push(Service {
                id: format!("{did}#s{n}"),
                type_: "LinkedDomains".into(),
                service_endpoint: format!("https://{n}.example/\u{2028}"),
            });
        }
        op.sequence = match i % 5 {
            0 => MAX_SAFE_INTEGER,
            1 => MAX_SAFE_INTEGER + 1 + i,
            _ => i * 7_919,
        };
        let facts = DocumentFacts::of(&op).unwrap();
        assert_eq!(
            op.canonical_around(facts.canonical.as_deref()),
            op.canonical(),
            "{op:?}"
        );
        assert_eq!(op.canonical_around(None), op.canonical());
    }
    // Other operations are canonicalized whole, whatever is given.
    let key = SecretKey::from_seed(&[3; 32]);
    let deactivate = sample(&key).operation;
    assert_eq!(
        deactivate.canonical_around(Some(b"{}")),
        deactivate.canonical()
    );
}

#[test]
fn bodies_are_read_as_the_internally_tagged_form_reads_them() {
    use serde_json::{Value, json};
    let sk = SecretKey::from_seed(&[4; 32]);
    let key = sk.public_key();
    let did = Did::derive(&chain(), &key, &[0; 32]);
    let document = DidDocument::with_single_key(&did, &key);
    let validators = ValidatorSet::new(vec![crate::chain::Validator {
        name: "m0".into(),
        public_key: key,
        power: 1,
        registrar_key: key,
        operator_did: None,
    }])
    .unwrap();
    let bodies = [
        OperationBody::CreateDid {
            did: did.clone(),
            document: document.clone(),
            initial_key: key,
            recovery_commitment: Hash([1; 32]),
        },
        OperationBody::UpdateDid {
            did: did.clone(),
            document: document.clone(),
        },
        OperationBody::DeactivateDid {
            did: did.clone(),
            recovery_key: key,
        },
        OperationBody::RecoverDid {
            did: did.clone(),
            recovery_key: key,
            document,
            next_recovery_commitment: Hash([2; 32]),
        },
        OperationBody::AccreditIssuer {
            issuer: did.clone(),
            credential_types: vec!["DriverLicense".into()],
            valid_until_ms: Some(5),
        },
        OperationBody::AccreditIssuer {
            issuer: did.clone(),
            credential_types: vec![],
            valid_until_ms: None,
        },
        OperationBody::WithdrawAccreditation {
            issuer: did.clone(),
            reason: "r".into(),
        },
        OperationBody::AccreditRelyingParty {
            relying_party: did.clone(),
            scopes: vec![crate::state::RelyingPartyScope {
                credential_type: "DriverLicense".into(),
                claims: vec!["birthdate".into(), "*".into()],
            }],
            valid_until_ms: Some(9),
        },
        OperationBody::WithdrawRelyingParty {
            relying_party: did.clone(),
            reason: "r".into(),
        },
        OperationBody::AnchorStatusList {
            issuer: did.clone(),
            list_id: "https://l.example/1".into(),
            list_hash: Hash([3; 32]),
        },
        OperationBody::ChangeValidators { validators },
        OperationBody::ChangeGovernance {
            authorities: vec![crate::state::Authority {
                name: "root".into(),
                public_key: key,
                did: None,
            }],
            threshold: 1,
        },
    ];
    // Each member any body has, with a value of its type.
    let mut all = serde_json::Map::new();
    for b in &bodies {
        if let Value::Object(o) = serde_json::to_value(b).unwrap() {
            all.extend(o.into_iter().filter(|(k, _)| k != "type"));
        }
    }
    let judge = |text: &str| {
        let ours = serde_json::from_str::<OperationBody>(text);
        let theirs = serde_json::from_str::<TaggedBody>(text);
        assert_eq!(ours.is_ok(), theirs.is_ok(), "{text}: {ours:?}");
        let accepted = theirs.is_ok();
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            assert_eq!(ours, theirs.into_body());
            let again: OperationBody =
                serde_json::from_slice(&serde_json::to_vec(&ours).unwrap()).unwrap();
            assert_eq!(again, ours);
        }
        accepted
    };
    let mut accepted = 0;
    for body in &bodies {
        let Value::Object(o) = serde_json::to_value(body).unwrap() else {
            unreachable!()
        };
        let text = |m: &serde_json::Map<String, Value>| Value::Object(m.clone()).to_string();
        // As written (type first), in canonical order (type last), and as each is
        // written back.
        accepted += usize::from(judge(&text(&o)));
        let canonical = String::from_utf8(crate::jcs(&o).unwrap()).unwrap();
        accepted += usize::from(judge(&canonical));
        assert_eq!(
            serde_json::from_str::<OperationBody>(&canonical).unwrap(),
            *body
        );
        // Each member left out, set to null, or given another type's name.
        for k in o.keys() {
            let mut m = o.clone();
            m.remove(k);
            judge(&text(&m));
            let mut m = o.clone();
            m.insert(k.clone(), Value::Null);
            judge(&text(&m));
        }
        for kind in BODY_VARIANTS.iter().chain(&["nope", ""]) {
            let mut m = o.clone();
            m.insert("type".into(), json!(kind));
            judge(&text(&m));
        }
        let mut m = o.clone();
        m.insert("type".into(), json!(7));
        judge(&text(&m));
        // Every other body's members added, as values and as nulls; unknown names.
        for (k, v) in all.iter().chain([(&"evil".to_string(), &json!(true))]) {
            if o.contains_key(k) {
                continue;
            }
            for v in [v.clone(), Value::Null] {
                let mut m = o.clone();
                m.insert(k.clone(), v);
                judge(&text(&m));
            }
        }
        // A member twice, type twice.
        let t = text(&o);
        judge(&t.replacen('{', "{\"type\":\"createDid\",", 1));
        let first = o.keys().find(|k| *k != "type").unwrap();
        judge(&t.replacen('{', &format!("{{\"{first}\":{},", o[first]), 1));
    }
    assert_eq!(accepted, 2 * bodies.len());
    for text in ["{}", "[]", "null", "{\"type\":null}", "\"createDid\""] {
        judge(text);
    }
    // The array form serde's tagged enum also read is refused.
    for body in &bodies {
        let Value::Object(o) = serde_json::to_value(body).unwrap() else {
            unreachable!()
        };
        let mut items = vec![o["type"].clone()];
        items.extend(o.into_iter().filter(|(k, _)| k != "type").map(|(_, v)| v));
        let text = Value::Array(items).to_string();
        let err = serde_json::from_str::<OperationBody>(&text).unwrap_err();
        assert!(err.to_string().contains("an operation body"), "{err}");
    }
}

fn sample(sk: &SecretKey) -> SignedOperation {
    let did = Did::derive(&chain(), &sk.public_key(), &[0; 32]);
    Operation {
        chain_id: chain(),
        sequence: 1,
        body: OperationBody::DeactivateDid {
            did,
            recovery_key: sk.public_key(),
        },
    }
    .sign(&[sk])
}

#[test]
fn checking_many_at_once_gives_each_the_verdict_it_gets_alone() {
    let good: Vec<SignedOperation> = (1..=6)
        .map(|i| sample(&SecretKey::from_seed(&[i; 32])))
        .collect();
    let mut forged = sample(&SecretKey::from_seed(&[20; 32]));
    forged.signatures[0].signature = good[0].signatures[0].signature;
    let mut other_chain = sample(&SecretKey::from_seed(&[21; 32]));
    other_chain.operation.chain_id = ChainId::new("other-chain").unwrap();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut weak = sample(&SecretKey::from_seed(&[22; 32]));
    weak.signatures[0].key = PublicKey::from_bytes(&identity).unwrap();
    let mixed = vec![
        good[0].clone(),
        forged,
        good[1].clone(),
        other_chain,
        weak,
        good[2].clone(),
    ];
    let verdicts = |ops: Vec<SignedOperation>| -> (Vec<_>, Vec<_>) {
        let alone: Vec<_> = ops
            .iter()
            .cloned()
            .map(|o| o.check(&chain()).map(|c| c.id()))
            .collect();
        let together = check_all(ops, &chain())
            .into_iter()
            .map(|r| r.map(|c| c.id()));
        (alone, together.collect())
    };
    let (alone, together) = verdicts(mixed);
    assert_eq!(alone, together);
    let kinds: Vec<_> = together
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            None,
            Some(RejectKind::BadSignature),
            None,
            Some(RejectKind::WrongChain),
            Some(RejectKind::BadSignature),
            None
        ]
    );
    // When all are good the batch answers for all of them.
    let (alone, together) = verdicts(good.clone());
    assert_eq!(alone, together);
    assert!(together.iter().all(|r| r.is_ok()));
    assert!(check_all(vec![], &chain()).is_empty());
}

#[test]
fn known_operations_are_not_verified_again_and_the_rest_are_checked() {
    let good: Vec<SignedOperation> = (1..=3)
        .map(|i| sample(&SecretKey::from_seed(&[i; 32])))
        .collect();
    let known_id = good[1].id();
    let mut forged = sample(&SecretKey::from_seed(&[20; 32]));
    forged.signatures[0].signature = good[0].signatures[0].signature;
    let mut other_chain = good[2].clone();
    other_chain.operation.chain_id = ChainId::new("other-chain").unwrap();
    // A known operation whose fields were changed after its id was taken is another
    // operation: checked, never waved through on the stale id.
    let mut changed = good[1].clone();
    let _ = changed.id();
    changed.operation.sequence += 1;
    let ops = vec![
        good[0].clone(),
        good[1].clone(),
        forged,
        other_chain,
        changed,
    ];
    let out = check_all_except(ops, &chain(), |op| op.id() == known_id);
    assert!(matches!(&out[0], Ok(Screened::Checked(c)) if c.id() == good[0].id()));
    assert!(matches!(&out[1], Ok(Screened::Known(op)) if op.id() == known_id));
    assert!(matches!(&out[2], Err(e) if e.kind == RejectKind::BadSignature));
    assert!(matches!(&out[3], Err(e) if e.kind == RejectKind::WrongChain));
    assert!(matches!(&out[4], Err(e) if e.kind == RejectKind::BadSignature));
}

#[test]
fn check_accepts_valid_and_id_ignores_signatures() {
    let sk = SecretKey::from_seed(&[1; 32]);
    let op = sample(&sk);
    let id = op.id();
    let checked = op.clone().check(&chain()).unwrap();
    assert_eq!(checked.id(), id);
    let unsigned = SignedOperation::new(op.operation.clone(), vec![]);
    assert_eq!(unsigned.id(), id);
    assert_eq!(
        unsigned.check(&chain()).unwrap_err().kind,
        RejectKind::BadSignature
    );
}

#[test]
fn check_rejects_tampering_wrong_chain_and_duplicates() {
    let sk = SecretKey::from_seed(&[1; 32]);
    let mut op = sample(&sk);
    op.operation.sequence = 2;
    assert_eq!(
        op.check(&chain()).unwrap_err().kind,
        RejectKind::BadSignature
    );
    let op = sample(&sk);
    assert_eq!(
        op.check(&ChainId::new("other").unwrap()).unwrap_err().kind,
        RejectKind::WrongChain
    );
    let mut op = sample(&sk);
    op.signatures.push(op.signatures[0].clone());
    assert_eq!(
        op.check(&chain()).unwrap_err().kind,
        RejectKind::BadSignature
    );
}

#[test]
fn json_shape_and_parse_limits() {
    let sk = SecretKey::from_seed(&[1; 32]);
    let op = sample(&sk);
    let json = serde_json::to_value(&op).unwrap();
    assert_eq!(json["operation"]["body"]["type"], "deactivateDid");
    assert_eq!(json["operation"]["chainId"], "test-chain");
    let bytes = serde_json::to_vec(&op).unwrap();
    assert_eq!(SignedOperation::from_json(&bytes).unwrap(), op);
    assert_eq!(
        SignedOperation::from_json(b"{not json").unwrap_err().kind,
        RejectKind::Malformed
    );
    let big = vec![b' '; MAX_OPERATION_BYTES + 1];
    assert_eq!(
        SignedOperation::from_json(&big).unwrap_err().kind,
        RejectKind::TooLarge
    );
    let mut extra = json.clone();
    extra["operation"]["extra"] = serde_json::json!(1);
    assert!(SignedOperation::from_json(&serde_json::to_vec(&extra).unwrap()).is_err());
}
