//! The whole system, as the README demo runs it: a 4-validator devnet; an agency's issuer
//! registers its `did:alliance` DID, is accredited by the root authority, anchors its status
//! lists; a citizen receives credentials in both formats over OpenID4VCI; a business verifies
//! the presentations offline against the genesis alone; a revocation is then refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::process::Command;

use did_method::{Genesis, SecretKey};
use e2e::{Consortium, PASSPHRASE, bin, holder_net, now_ms, run};
use serde_json::{Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::Rdfc2022;
use verifier_lib::{CheckKind, Policy, Verifier};
use wallet_core::oid4vci::{self, Offer};
use wallet_core::{present, staple};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agency_issues_citizen_presents_business_verifies_offline() {
    let work = tempfile::tempdir().unwrap();
    let net = work.path().join("net");
    let consortium = Consortium::start(&net);
    let api0 = consortium.api(0);
    let api2 = consortium.api(2);
    let genesis: Genesis =
        serde_json::from_slice(&std::fs::read(net.join("genesis.json")).unwrap()).unwrap();

    // The agency's issuer, registered on chain and accredited for both of its types.
    let mut issuer = consortium.agency(
        "Test Agency",
        &["DriverLicense", "urn:alliance:vct:driver-license"],
    );
    let (admin, issuer_dir) = (issuer.api.clone(), issuer.path().to_owned());
    let url = admin.url.clone();
    let did = issuer.init["did"].as_str().unwrap().to_owned();
    assert!(did.starts_with("did:alliance:"));

    admin
        .define(&[
            json!({"id": "DriverLicense", "format": "ldp_vc", "credentialType": "DriverLicense", "claims": ["name", "licenseClass"], "validityDays": 1825, "name": "Driver licence"}),
            json!({"id": "DriverLicenseSdJwt", "format": "dc+sd-jwt", "credentialType": "urn:alliance:vct:driver-license", "claims": ["name", "licenseClass", "birthdate"], "validityDays": 1825, "name": "Driver licence"}),
        ])
        .await;
    let offer = |type_id: &'static str, claims: Value| {
        let admin = admin.clone();
        async move { admin.offer_with(type_id, claims).await }
    };
    let verifier = |challenge: &str| {
        Verifier::new(
            Policy {
                challenge: Some(challenge.into()),
                domain: Some("shop.example".into()),
                ..Policy::default()
            },
            Some(genesis.trust_anchor()),
        )
    };
    let holder = SecretKey::from_seed(&[11; 32]);
    let wallet = holder_net();
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    // The holder presents `vc` for `challenge` with freshly stapled proofs; the shop verifies.
    let verify_vc = |vc: Value, challenge: &'static str| {
        let (api2, rdfc, holder, wallet) = (api2.clone(), &rdfc, holder.clone(), &wallet);
        let verifier = verifier(challenge);
        async move {
            let vp = present::data_integrity(
                rdfc,
                std::slice::from_ref(&vc),
                &holder,
                challenge,
                "shop.example",
                now_ms(),
            )
            .unwrap();
            let b = serde_json::to_vec(&staple::bundle(wallet, &api2, &vp, None).await.unwrap())
                .unwrap();
            verifier.verify_bytes(&b, now_ms())
        }
    };

    // W3C VC with Data Integrity: accepted under the strict default policy.
    let (link, pin) = offer(
        "DriverLicense",
        json!({"name": "Ada Lovelace", "licenseClass": "B"}),
    )
    .await;
    let got = oid4vci::receive(
        &wallet,
        &Offer::resolve(&wallet, &link).await.unwrap(),
        Some(&pin),
        &[&holder],
    )
    .await
    .unwrap();
    let vc = got[0].credential.clone();
    let v = verify_vc(vc.clone(), "c-1").await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    for kind in [
        CheckKind::Accreditation,
        CheckKind::StatusAnchor,
        CheckKind::IssuerBinding,
        CheckKind::RegistryProof,
    ] {
        assert!(v.checks.iter().any(|c| c.kind == kind), "no {kind:?} check");
    }

    // SD-JWT VC with selective disclosure and key binding.
    let (link, pin) = offer(
        "DriverLicenseSdJwt",
        json!({"name": "Ada Lovelace", "licenseClass": "B", "birthdate": "1815-12-10"}),
    )
    .await;
    let got = oid4vci::receive(
        &wallet,
        &Offer::resolve(&wallet, &link).await.unwrap(),
        Some(&pin),
        &[&holder],
    )
    .await
    .unwrap();
    let sd = got[0].credential.as_str().unwrap();
    let p = present::sd_jwt(
        sd,
        Some(&["licenseClass"]),
        &holder,
        "shop.example",
        "c-2",
        now_ms(),
    )
    .unwrap();
    // The wallet staples the issuer's proofs and its Token Status List with its anchor.
    let b = staple::bundle(&wallet, &api2, &Value::String(p.clone()), None)
        .await
        .unwrap();
    let v = verifier("c-2").verify_bytes(&serde_json::to_vec(&b).unwrap(), now_ms());
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    assert!(
        v.checks
            .iter()
            .any(|c| c.kind == CheckKind::StatusAnchor && c.outcome == verifier_lib::Outcome::Pass),
        "{v:#?}"
    );

    // The agency suspends the SD-JWT VC: refused with that reason.
    let issued = admin.get_admin("/admin/issued").await;
    let sd_id = issued
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["format"] == "dc+sd-jwt")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, r) = admin
        .admin(
            &format!("/admin/issued/{sd_id}/suspend"),
            json!({"reason": "under review"}),
        )
        .await;
    assert_eq!(r["published"], true, "{r}");
    let b = staple::bundle(&wallet, &api2, &Value::String(p), None)
        .await
        .unwrap();
    let v = verifier("c-2").verify_bytes(&serde_json::to_vec(&b).unwrap(), now_ms());
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Status && c.reason.starts_with("suspended")),
        "{v:#?}"
    );

    // The agency revokes the W3C credential: a fresh presentation is refused.
    let (_, r) = admin
        .admin(
            &format!("/admin/issued/{}/revoke", vc["id"].as_str().unwrap()),
            json!({"reason": "withdrawn"}),
        )
        .await;
    assert_eq!(r["published"], true, "{r}");
    let v = verify_vc(vc, "c-3").await;
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Status && c.reason.contains("revoked")),
        "{v:#?}"
    );

    // Key rotation through the registry. A credential signed by the first key...
    let receive_di = |name: &'static str| {
        let (offer, wallet) = (&offer, &wallet);
        let holder = holder.clone();
        async move {
            let (link, pin) =
                offer("DriverLicense", json!({"name": name, "licenseClass": "A"})).await;
            oid4vci::receive(
                wallet,
                &Offer::resolve(wallet, &link).await.unwrap(),
                Some(&pin),
                &[&holder],
            )
            .await
            .unwrap()[0]
                .credential
                .clone()
        }
    };
    let signed_by = |vc: &Value| {
        vc["proof"]["verificationMethod"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = receive_di("Grace Hopper").await;
    assert_eq!(signed_by(&first), format!("{did}#key-1"));
    issuer.stop();
    let rotate = |retire: bool| {
        let mut cmd = Command::new(bin("alliance-issuer"));
        cmd.args([
            "rotate-key",
            "--dir",
            issuer_dir.to_str().unwrap(),
            "--json",
        ]);
        if retire {
            cmd.arg("--retire-old");
        }
        serde_json::from_str::<Value>(&run(&mut cmd)).unwrap()
    };
    let r = rotate(false);
    assert_eq!(r["verificationMethod"], format!("{did}#key-2"), "{r}");
    issuer.serve();
    // ...still verifies (the old key stays listed for assertion; the status list is re-signed
    // by the new key), and new credentials are signed by the new key.
    let v = verify_vc(first.clone(), "c-4").await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    let second = receive_di("Katherine Johnson").await;
    assert_eq!(signed_by(&second), format!("{did}#key-2"));
    let v = verify_vc(second.clone(), "c-5").await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    // The resolved document: key-2 controls the DID now.
    let doc: Value = reqwest::Client::new()
        .get(format!("{api0}/1.0/identifiers/{did}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["didDocument"]["capabilityInvocation"],
        json!([format!("{did}#key-2")])
    );

    // After a compromise of key-2: rotate to key-3 retiring key-2, this time while the issuer
    // serves (the admin API; no API key, no rotation). What key-2 signed is refused (its key
    // is gone from the issuer's document); key-1's credential still verifies.
    // The offline command refuses to rotate under a running issuer, and a second issuer
    // process cannot serve the same directory.
    for args in [vec!["rotate-key", "--retire-old"], vec!["serve"]] {
        let out = Command::new(bin("alliance-issuer"))
            .args(&args)
            .args(["--dir", issuer_dir.to_str().unwrap()])
            .env("ALLIANCE_ISSUER_PASSPHRASE", PASSPHRASE)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} ran under a serving issuer");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("an issuer is serving from"), "{args:?}: {err}");
    }
    let refused = reqwest::Client::new()
        .post(format!("{url}/admin/keys/rotate"))
        .json(&json!({"retireOld": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let (_, bad) = admin
        .admin("/admin/keys/rotate", json!({"retire": true}))
        .await;
    assert_eq!(bad["error"], "invalid_request", "{bad}");
    let (_, r) = admin
        .admin("/admin/keys/rotate", json!({"retireOld": true}))
        .await;
    assert_eq!(r["verificationMethod"], format!("{did}#key-3"), "{r}");
    assert_eq!(r["previous"], format!("{did}#key-2"), "{r}");
    // The configuration on disk follows, for the next start.
    let config: Value =
        serde_json::from_slice(&std::fs::read(issuer_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["verificationMethod"],
        format!("{did}#key-3"),
        "{config}"
    );
    let v = verify_vc(second, "c-6").await;
    assert!(
        v.failures().any(|c| c.kind == CheckKind::IssuerBinding),
        "{v:#?}"
    );
    let v = verify_vc(first, "c-7").await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    let third = receive_di("Dorothy Vaughan").await;
    assert_eq!(signed_by(&third), format!("{did}#key-3"));

    // A rotation interrupted after the registry committed it (the config still names the
    // previous key, as if the issuer died before writing it) is completed when the issuer
    // starts: it never signs with a key that no longer controls its DID.
    issuer.stop();
    let mut stale = config.clone();
    stale["verificationMethod"] = json!(format!("{did}#key-2"));
    stale["keyFile"] = json!("issuer-key-2.json");
    std::fs::write(
        issuer_dir.join("config.json"),
        serde_json::to_vec_pretty(&stale).unwrap(),
    )
    .unwrap();
    issuer.serve();
    let fourth = receive_di("Mary Jackson").await;
    assert_eq!(signed_by(&fourth), format!("{did}#key-3"));
    let v = verify_vc(fourth, "c-8").await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());
    let config: Value =
        serde_json::from_slice(&std::fs::read(issuer_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["keyFile"], "issuer-key-3.json", "{config}");
    let audit = admin.get_admin("/admin/audit").await;
    let rotations: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "key.rotate")
        .collect();
    assert_eq!(rotations.len(), 3, "{rotations:#?}");
}
