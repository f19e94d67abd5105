//! Invalid operations sent to a real node are refused at submit time with a clear reason
//! and change no state.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use std::time::Duration;

use common::*;
use did_method::{ChainId, DidDocument, Operation, OperationBody};
use serde_json::Value;

async fn post_raw(api: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{api}/v1/operations"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_operations_are_rejected_with_reason_and_change_nothing() {
    let mut net = Net::init(4);
    net.start_all();
    net.wait_height(0, 1, Duration::from_secs(60)).await;
    let api = net.apis[0].clone();
    let owner = key(1);
    let (did, create) = net.create_op(&owner);
    net.client(0)
        .submit_and_commit(&create, Duration::from_secs(20))
        .await
        .unwrap();
    let record_before = net.client(0).did_record(&did).await.unwrap();

    let expect = |(status, v): (u16, Value), code: u16, error: &str| {
        assert_eq!(status, code, "{v}");
        assert_eq!(v["error"], error, "{v}");
        assert!(
            !v["message"].as_str().unwrap_or_default().is_empty(),
            "a reason is given: {v}"
        );
    };

    // Bad signature: a signed field changed after signing.
    let doc = DidDocument::with_single_key(&did, &key(2).public_key());
    let mut op = Operation {
        chain_id: net.chain.clone(),
        sequence: 1,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: doc.clone(),
        },
    }
    .sign(&[&owner]);
    op.operation.sequence = 2;
    expect(
        post_raw(&api, serde_json::to_vec(&op).unwrap()).await,
        422,
        "bad_signature",
    );
    // The client can ask later why it was refused.
    let status = net.client(0).status(&op.id().to_hex()).await.unwrap();
    assert_eq!(status["status"], "rejected", "{status}");
    assert_eq!(status["reason"], "bad_signature", "{status}");

    // Replayed sequence: the create again, and an update with an old sequence.
    expect(
        post_raw(&api, serde_json::to_vec(&create).unwrap()).await,
        422,
        "bad_sequence",
    );
    let stale = Operation {
        chain_id: net.chain.clone(),
        sequence: 0,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: doc.clone(),
        },
    }
    .sign(&[&owner]);
    expect(
        post_raw(&api, serde_json::to_vec(&stale).unwrap()).await,
        422,
        "bad_sequence",
    );

    // Wrong chain id.
    let other = Operation {
        chain_id: ChainId::new("other-net").unwrap(),
        sequence: 1,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: doc.clone(),
        },
    }
    .sign(&[&owner]);
    expect(
        post_raw(&api, serde_json::to_vec(&other).unwrap()).await,
        422,
        "wrong_chain",
    );

    // Update by a non-controller.
    let intruder = Operation {
        chain_id: net.chain.clone(),
        sequence: 1,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: doc.clone(),
        },
    }
    .sign(&[&key(666)]);
    expect(
        post_raw(&api, serde_json::to_vec(&intruder).unwrap()).await,
        422,
        "unauthorized",
    );

    // Create without a registrar's endorsement.
    let (_, mut unendorsed) = net.create_op(&key(3));
    unendorsed.signatures.truncate(1);
    expect(
        post_raw(&api, serde_json::to_vec(&unendorsed).unwrap()).await,
        422,
        "missing_endorsement",
    );

    // Malformed JSON, unknown fields, and oversize.
    expect(
        post_raw(&api, b"{\"operation\": ".to_vec()).await,
        400,
        "malformed",
    );
    let mut v = serde_json::to_value(&create).unwrap();
    v["operation"]["evil"] = Value::Bool(true);
    expect(
        post_raw(&api, serde_json::to_vec(&v).unwrap()).await,
        400,
        "malformed",
    );
    let mut big = serde_json::to_value(&create).unwrap();
    big["operation"]["body"]["document"]["alsoKnownAs"] =
        Value::Array(vec![Value::String("x".repeat(100 * 1024))]);
    expect(
        post_raw(&api, serde_json::to_vec(&big).unwrap()).await,
        413,
        "too_large",
    );
    let (status, _) = post_raw(&api, vec![b' '; 9 * 1024 * 1024]).await;
    assert_eq!(status, 413);

    // The same refusals in one batch request: each gets its own reason, in order (the
    // batch's signatures are verified together, then one by one to find the bad one).
    let v = net
        .client(0)
        .submit_batch(&[
            op.clone(),
            other.clone(),
            intruder.clone(),
            unendorsed.clone(),
        ])
        .await
        .unwrap();
    let reasons: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(
        reasons,
        [
            "bad_signature",
            "wrong_chain",
            "unauthorized",
            "missing_endorsement"
        ],
        "{v}"
    );

    // Nothing changed: same record, and nothing is pending.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(net.client(0).did_record(&did).await.unwrap(), record_before);
    let health = net.client(0).health().await.unwrap();
    assert_eq!(health["mempool"], 0, "{health}");
    let metrics = reqwest::get(format!("{api}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("alliance_registry_operations_rejected_total{reason=\"bad_signature\"}"),
        "{metrics}"
    );

    // And the legitimate update still goes through with sequence 1.
    let good = Operation {
        chain_id: net.chain.clone(),
        sequence: 1,
        body: OperationBody::UpdateDid {
            did: did.clone(),
            document: doc,
        },
    }
    .sign(&[&owner]);
    net.client(0)
        .submit_and_commit(&good, Duration::from_secs(20))
        .await
        .unwrap();
    // A batch mixing good and forged operations: the good ones are admitted and commit,
    // the forged one is refused.
    let (fresh_did, fresh) = net.create_op(&key(4));
    let (forged_did, mut forged) = net.create_op(&key(5));
    forged.operation.sequence = 7;
    let (later_did, later) = net.create_op(&key(6));
    let v = net
        .client(0)
        .submit_batch(&[fresh, forged, later])
        .await
        .unwrap();
    let statuses: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "rejected", "pending"], "{v}");
    assert_eq!(v["results"][1]["reason"], "bad_signature", "{v}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for did in [&fresh_did, &later_did] {
        while net.client(0).did_record(did).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{did} never committed"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(net.client(0).did_record(&forged_did).await.is_err());

    // Bad query strings get the same JSON error shape.
    let r = reqwest::get(format!("{api}/v1/proofs?key=x&height=abc"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "bad_query", "{v}");
    let r = reqwest::get(format!("{api}/v1/records?key=did/x&height=999999999"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Resolution errors are clear too.
    let r = reqwest::get(format!("{api}/1.0/identifiers/did:alliance:test-net:nope"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = reqwest::get(format!("{api}/1.0/identifiers/did:web:example.com"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 501);
    let unknown = did_method::Did::derive(&net.chain, &key(9).public_key(), &[0; 32]);
    let r = reqwest::get(format!("{api}/1.0/identifiers/{unknown}"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["didResolutionMetadata"]["error"], "notFound");
}
