//! Governance on a real network: the root authority removes a member's validator; the
//! remaining members keep committing without it, and proofs made after the change still
//! verify offline against the genesis (the light client follows the validator-set change).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use std::time::Duration;

use common::*;
use did_method::{Operation, OperationBody, RegistryProof, ValidatorSet};

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_validator_by_governance_and_proving_across_the_change() {
    let mut net = Net::init(4);
    net.start_all();
    for k in 0..4 {
        net.wait_height(k, 1, T).await;
    }
    let genesis =
        did_method::Genesis::from_json(&std::fs::read(net.genesis_path()).unwrap()).unwrap();
    // The leaving member is not the one whose registrar key the test endorses creates with
    // (a removed member's registrar can no longer endorse).
    let leaving = genesis
        .validators
        .validators()
        .iter()
        .rfind(|v| v.registrar_key != net.registrar.public_key())
        .unwrap()
        .clone();
    let leaving_node = (0..4)
        .find(|k| {
            let key = read_key(&net.node_dir(*k).join("validator.key"));
            key.public_key() == leaving.public_key
        })
        .unwrap();
    let remaining: Vec<_> = genesis
        .validators
        .validators()
        .iter()
        .filter(|v| v.public_key != leaving.public_key)
        .cloned()
        .collect();
    let next = ValidatorSet::new(remaining).unwrap();

    // A member's key is not governance.
    let forged = Operation {
        chain_id: net.chain.clone(),
        sequence: 1,
        body: OperationBody::ChangeValidators {
            validators: next.clone(),
        },
    }
    .sign(&[&net.registrar]);
    let err = net
        .client(0)
        .submit_and_commit(&forged, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("governance"), "{err}");

    let op = Operation {
        chain_id: net.chain.clone(),
        sequence: 1,
        body: OperationBody::ChangeValidators {
            validators: next.clone(),
        },
    }
    .sign(&[&net.authority]);
    let changed_at = net
        .client(0)
        .submit_and_commit(&op, Duration::from_secs(20))
        .await
        .unwrap();
    let v: serde_json::Value = reqwest::get(format!("{}/v1/validators", net.apis[0]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["validators"].as_array().unwrap().len(), 3, "{v}");

    // The removed member stops; the others go on.
    net.kill9(leaving_node);
    let others: Vec<usize> = (0..4).filter(|k| *k != leaving_node).collect();
    let (did, create) = net.create_op(&key(42));
    let h = net
        .client(others[0])
        .submit_and_commit(&create, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(h > changed_at);
    for &k in &others {
        net.wait_height(k, h, T).await;
    }

    // A proof after the change carries the change and verifies against the genesis.
    let proof: RegistryProof = net
        .client(others[1])
        .prove_did(&did, Some(h))
        .await
        .unwrap();
    assert_eq!(proof.validator_updates.len(), 1);
    assert_eq!(proof.validator_updates[0].header.height, changed_at);
    proof.verify(&genesis.trust_anchor()).unwrap();
    // Without the change, the header's signers are not the genesis set.
    let mut stripped = proof.clone();
    stripped.validator_updates.clear();
    assert!(stripped.verify(&genesis.trust_anchor()).is_err());
    // A checkpoint after the change anchors proofs without walking the change again.
    let checkpoint = net.client(others[2]).checkpoint(None).await.unwrap();
    let anchor = checkpoint.verify(&genesis.trust_anchor()).unwrap();
    assert!(anchor.height >= h);
    assert_eq!(anchor.validators, next);
    let later = net.client(others[0]).prove_did(&did, None).await.unwrap();
    let mut bare = later.clone();
    bare.validator_updates.clear();
    if bare.header.height > anchor.height {
        bare.verify(&anchor).unwrap();
    }
    net.assert_no_fork(&others).await;
}
