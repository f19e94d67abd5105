//! The issuer as agencies run it and wallets reach it: the real `alliance-issuer` binary on a
//! SQLite file (and on PostgreSQL), over HTTP on loopback; the wallet side is `wallet-core`,
//! the business's `verifier-lib`. Issue → present → verify in both formats, then revoke,
//! suspend and lift the suspension; batch issuance; the VC-API issue endpoint.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::process::Command;

use did_method::SecretKey;
use e2e::{
    Issuer, bin, fresh_postgres_database, holder_net, now_ms, present_and_verify, sd_jwt_claims,
    unregistered_policy,
};
use serde_json::{Value, json};
use verifier_lib::{CheckKind, Verifier};
use wallet_core::oid4vci::{self, Offer};
use wallet_core::{present, staple};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_present_verify_then_revoke_in_both_formats() {
    let issuer = Issuer::start();
    lifecycle(&issuer).await;
    assert!(issuer.path().join("issuer.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_lifecycle_runs_on_postgresql() {
    let Some(db) = fresh_postgres_database().await else {
        return;
    };
    lifecycle(&Issuer::start_with(Some(&db))).await;
}

async fn lifecycle(issuer: &Issuer) {
    issuer.define_types().await;
    let net = holder_net();
    let holder = SecretKey::from_seed(&[42; 32]);

    // W3C VC + Data Integrity.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    assert!(offer.tx_code.is_some());
    let got = oid4vci::receive(&net, &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].format, "ldp_vc");
    let vc = got[0].credential.clone();
    assert_eq!(vc["credentialSubject"]["name"], "Ada");
    let v = present_and_verify(&net, &vc, &holder).await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());

    // Revoke through the CLI; a fresh bundle staples the new list and is refused.
    let id = vc["id"].as_str().unwrap();
    let out = Command::new(bin("alliance-issuer"))
        .args([
            "revoke",
            "--api",
            &issuer.url,
            "--api-key",
            &issuer.api_key,
            id,
            "--reason",
            "card lost",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = present_and_verify(&net, &vc, &holder).await;
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Status && c.reason.contains("revoked")),
        "{v:#?}"
    );

    // SD-JWT VC.
    let (link, pin) = issuer.offer("LibraryCardSdJwt").await;
    let offer = Offer::resolve(&net, &link).await.unwrap();
    let got = oid4vci::receive(&net, &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    assert_eq!(got[0].format, "dc+sd-jwt");
    let sd = got[0].credential.as_str().unwrap();
    let p = present::sd_jwt(
        sd,
        Some(&["name"]),
        &holder,
        "shop.example",
        "c-1",
        now_ms(),
    )
    .unwrap();
    // It carries a Token Status List reference, always disclosed; the wallet staples the
    // list token, served as application/statuslist+jwt.
    let payload = sd_jwt_claims(sd);
    let uri = payload["status"]["status_list"]["uri"].as_str().unwrap();
    assert_eq!(uri, format!("{}/status/token", issuer.url));
    let r = reqwest::get(uri).await.unwrap();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/statuslist+jwt"
    );
    let verifier = Verifier::new(unregistered_policy(), None);
    let sd_verdict = || async {
        let bundle = staple::bundle(&net, "http://127.0.0.1:9", &Value::String(p.clone()), None)
            .await
            .unwrap();
        let bundle = serde_json::to_value(&bundle).unwrap();
        assert!(bundle["statusLists"][uri].is_string(), "{bundle}");
        verifier.verify_bytes(&serde_json::to_vec(&bundle).unwrap(), now_ms())
    };
    let v = sd_verdict().await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    assert!(
        v.checks
            .iter()
            .any(|c| c.kind == CheckKind::Status && c.reason.starts_with("valid in")),
        "{v:#?}"
    );

    // Suspend, unsuspend, revoke: each is what the next stapled token says.
    let issued = issuer.get_admin("/admin/issued").await;
    let sd_id = issued
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["format"] == "dc+sd-jwt")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (action, expect) in [
        ("suspend", Some("suspended")),
        ("unsuspend", None),
        ("revoke", Some("revoked")),
    ] {
        let (code, body) = issuer
            .admin(
                &format!("/admin/issued/{sd_id}/{action}"),
                json!({"reason": "test"}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["published"], true, "{body}");
        let v = sd_verdict().await;
        match expect {
            Some(word) => assert!(
                v.failures()
                    .any(|c| c.kind == CheckKind::Status && c.reason.starts_with(word)),
                "{action}: {v:#?}"
            ),
            None => assert!(
                v.accepted(),
                "{action}: {:#?}",
                v.failures().collect::<Vec<_>>()
            ),
        }
    }

    // The audit log has every step, and the admin API needs its key.
    let log = issuer.get_admin("/admin/audit").await;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "credential_type.define",
        "offer.create",
        "token.grant",
        "credential.issue",
        "credential.revoke",
        "status_list.publish",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let r = reqwest::Client::new()
        .get(format!("{}/admin/audit", issuer.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = reqwest::Client::new()
        .get(format!("{}/admin/audit", issuer.url))
        .bearer_auth("aik_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_issuance_binds_each_key_with_its_own_status_index() {
    let issuer = Issuer::start();
    issuer.define_types().await;
    let net = holder_net();
    let keys: Vec<SecretKey> = (0..3)
        .map(|i| SecretKey::from_seed(&[60 + i; 32]))
        .collect();
    let refs: Vec<&SecretKey> = keys.iter().collect();
    let (link, pin) = issuer.offer("LibraryCard").await;
    let got = oid4vci::receive(
        &net,
        &Offer::resolve(&net, &link).await.unwrap(),
        Some(&pin),
        &refs,
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 3);
    let mut indices = std::collections::HashSet::new();
    for (c, k) in got.iter().zip(&keys) {
        assert_eq!(
            c.credential["credentialSubject"]["id"],
            verifier_lib::dids::did_key(&k.public_key()).0
        );
        indices.insert(
            c.credential["credentialStatus"][0]["statusListIndex"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(indices.len(), 3);
    let issued = issuer.get_admin("/admin/issued").await;
    assert_eq!(issued.as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vc_api_issues_signed_revocable_credentials_for_back_offices() {
    let issuer = Issuer::start();
    let net = holder_net();
    let holder = SecretKey::from_seed(&[5; 32]);
    let (holder_did, _) = verifier_lib::dids::did_key(&holder.public_key());
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", verifier_lib::contexts::ALLIANCE_CREDENTIALS_V1],
        "type": ["VerifiableCredential", "LibraryCard"],
        "credentialSubject": {"id": holder_did, "name": "Ada"},
    });
    let r = reqwest::Client::new()
        .post(format!("{}/credentials/issue", issuer.url))
        .json(&json!({"credential": unsigned}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        401,
        "the VC-API issue endpoint needs an API key"
    );
    let (s, v) = issuer
        .admin("/credentials/issue", json!({"credential": unsigned}))
        .await;
    assert_eq!(s, 201, "{v}");
    let vc = v["verifiableCredential"].clone();
    assert_eq!(vc["credentialStatus"].as_array().unwrap().len(), 2);
    let v = present_and_verify(&net, &vc, &holder).await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    // Recorded like an OpenID4VCI issuance, so it can be revoked.
    let issued = issuer.get_admin("/admin/issued").await;
    assert!(
        issued
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == vc["id"])
    );
    let (s, _) = issuer
        .admin(
            "/credentials/issue",
            json!({"credential": {"type": ["VerifiableCredential"]}}),
        )
        .await;
    assert_eq!(s, 400);
}
