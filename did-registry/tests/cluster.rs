//! A real 4-validator network of `alliance-registry` processes: writes, resolution on every
//! node, offline proofs, crash of one validator, loss of quorum, and no fork.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use std::time::Duration;

use common::*;
use did_method::state;
use did_method::{DidDocument, Operation, OperationBody, RegistryProof};

const T: Duration = Duration::from_secs(60);

/// An idle network does not write a block every block time (100 ms): a proposer with an empty
/// mempool waits for operations (500 ms from the previous block by default) before it
/// proposes an empty block. The chain keeps going, and an operation still commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_chain_writes_few_blocks_and_still_commits() {
    let mut net = Net::init(4);
    net.start_all();
    for k in 0..4 {
        net.wait_height(k, 2, T).await;
    }
    let before = net.height(0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = net.height(0).await.unwrap();
    assert!(after > before, "an idle chain must keep committing blocks");
    assert!(
        after - before <= 12,
        "{} blocks in 3 s on an idle chain (a block every 100 ms would be about 30)",
        after - before
    );
    let (did, op) = net.create_op(&key(5));
    let height = net
        .client(2)
        .submit_and_commit(&op, Duration::from_secs(20))
        .await
        .unwrap();
    net.wait_height(0, height, T).await;
    let r = net.client(0).resolve(&did.to_string(), None).await.unwrap();
    assert_eq!(r["didDocument"]["id"], did.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_resolve_everywhere_and_prove_offline() {
    let mut net = Net::init(4);
    net.start_all();
    for k in 0..4 {
        net.wait_height(k, 1, T).await;
    }
    let (did, op) = net.create_op(&key(1));
    let height = net
        .client(1)
        .submit_and_commit(&op, Duration::from_secs(20))
        .await
        .unwrap();
    for k in 0..4 {
        net.wait_height(k, height, T).await;
        let r = net.client(k).resolve(&did.to_string(), None).await.unwrap();
        assert_eq!(r["didDocument"]["id"], did.to_string(), "node {k}");
        assert_eq!(r["didDocumentMetadata"]["deactivated"], false);
        assert_eq!(r["didDocumentMetadata"]["versionId"], "0");
    }
    // The proof from any node verifies offline against the genesis alone.
    let genesis =
        did_method::Genesis::from_json(&std::fs::read(net.genesis_path()).unwrap()).unwrap();
    let proof = net.client(3).prove_did(&did, None).await.unwrap();
    let entry = proof.verify(&genesis.trust_anchor()).unwrap();
    let rec: state::DidRecord = entry.record().unwrap().unwrap();
    assert_eq!(rec.document.id, did.to_string());
    // A proof at the height before creation shows the DID absent.
    let before = net
        .client(0)
        .prove_did(&did, Some(height - 1))
        .await
        .unwrap();
    assert!(
        before
            .verify(&genesis.trust_anchor())
            .unwrap()
            .value
            .is_none()
    );

    // Update, then history stays provable: the old version at the old height.
    let new_key = key(2);
    let doc = DidDocument::with_single_key(&did, &new_key.public_key());
    let upd = Operation {
        chain_id: net.chain.clone(),
        sequence: 1,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: doc,
        },
    }
    .sign(&[&key(1)]);
    let h2 = net
        .client(2)
        .submit_and_commit(&upd, Duration::from_secs(20))
        .await
        .unwrap();
    let old: RegistryProof = net.client(0).prove_did(&did, Some(height)).await.unwrap();
    let old_rec: state::DidRecord = old
        .verify(&genesis.trust_anchor())
        .unwrap()
        .record()
        .unwrap()
        .unwrap();
    assert!(old_rec.document.can_invoke(&key(1).public_key()));
    net.wait_height(0, h2, T).await;
    let new: RegistryProof = net.client(0).prove_did(&did, Some(h2)).await.unwrap();
    let new_rec: state::DidRecord = new
        .verify(&genesis.trust_anchor())
        .unwrap()
        .record()
        .unwrap()
        .unwrap();
    assert!(new_rec.document.can_invoke(&new_key.public_key()) && new_rec.sequence == 1);
    net.assert_no_fork(&[0, 1, 2, 3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_one_validator_during_writes_loses_nothing_and_it_catches_up() {
    let mut net = Net::init(4);
    net.start_all();
    for k in 0..4 {
        net.wait_height(k, 1, T).await;
    }
    let mut committed = vec![];
    for i in 0..60u64 {
        if i == 20 {
            net.kill9(3);
        }
        let (did, op) = net.create_op(&key(100 + i));
        let node = (i % 3) as usize;
        let h = net
            .client(node)
            .submit_and_commit(&op, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("op {i}: {e}\n{}", net.log_tail(node)));
        committed.push((did, h));
    }
    // Everything reported committed is on every live node.
    let top = committed.iter().map(|(_, h)| *h).max().unwrap();
    for k in 0..3 {
        net.wait_height(k, top, T).await;
        for (did, _) in &committed {
            net.client(k)
                .resolve(&did.to_string(), None)
                .await
                .unwrap_or_else(|e| panic!("node {k} lost {did}: {e}"));
        }
    }
    // The killed node restarts from its store and WAL and catches up.
    let target = net.height(0).await.unwrap();
    net.start(3);
    net.wait_height(3, target, T).await;
    for (did, _) in &committed {
        net.client(3)
            .resolve(&did.to_string(), None)
            .await
            .unwrap_or_else(|e| panic!("restarted node lacks {did}: {e}"));
    }
    net.assert_no_fork(&[0, 1, 2, 3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_four_down_halts_then_resumes_without_fork() {
    let mut net = Net::init(4);
    net.start_all();
    for k in 0..4 {
        net.wait_height(k, 3, T).await;
    }
    net.kill9(2);
    net.kill9(3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stalled = net.height(0).await.unwrap();
    // An operation is admitted but cannot commit without quorum.
    let (did, op) = net.create_op(&key(7));
    let v = net
        .client(0)
        .submit(&op, Some(Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(v["status"], "pending", "{v}");
    assert!(
        net.height(0).await.unwrap() <= stalled + 1,
        "committed without quorum"
    );
    assert!(
        net.height(1).await.unwrap() <= stalled + 1,
        "committed without quorum"
    );
    // Both return: commits resume and the pending operation lands.
    net.start(2);
    net.start(3);
    net.wait_height(0, stalled + 3, T).await;
    let id = op.id().to_hex();
    let mut status = serde_json::Value::Null;
    for _ in 0..200 {
        status = net.client(0).status(&id).await.unwrap();
        if status["status"] == "committed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "committed", "{status}");
    let h = status["height"].as_u64().unwrap();
    for k in 0..4 {
        net.wait_height(k, h, T).await;
        net.client(k).resolve(&did.to_string(), None).await.unwrap();
    }
    net.assert_no_fork(&[0, 1, 2, 3]).await;
}
