//! Status lists under load and change, on the real `alliance-issuer` binary over loopback:
//! an issuer killed mid-issuance loses no record and reuses no index; concurrent issuances on
//! a crowded list never share an index; a full list rolls over to a new one; a changed list
//! size is refused at start and loses nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::collections::HashSet;
use std::process::Command;

use did_method::SecretKey;
use e2e::{Issuer, PASSPHRASE, bin, holder_net, present_and_verify, sd_jwt_claims};
use serde_json::{Value, json};
use verifier_lib::CheckKind;
use wallet_core::oid4vci::{self, Offer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_issuer_loses_no_issued_record_and_reuses_no_index() {
    let mut issuer = Issuer::start();
    issuer.define_types().await;
    let net = holder_net();
    let mut offers = vec![];
    for _ in 0..40 {
        offers.push(issuer.offer("LibraryCard").await);
    }
    // Wallets run concurrently; the issuer is killed (-9) in the middle.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = vec![];
    for (i, (link, pin)) in offers.into_iter().enumerate() {
        let (received, net) = (received.clone(), net.clone());
        tasks.push(tokio::spawn(async move {
            let key = SecretKey::from_seed(&[i as u8 + 1; 32]);
            if let Ok(offer) = Offer::resolve(&net, &link).await
                && let Ok(got) = oid4vci::receive(&net, &offer, Some(&pin), &[&key]).await
            {
                received
                    .lock()
                    .unwrap()
                    .extend(got.into_iter().map(|g| g.credential));
            }
        }));
    }
    // Kill once some wallets hold their credential and others are still in the flow.
    let start = std::time::Instant::now();
    while received.lock().unwrap().len() < 5 && start.elapsed() < std::time::Duration::from_secs(20)
    {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    issuer.kill();
    for t in tasks {
        t.await.unwrap();
    }
    issuer.serve();
    let issued = issuer.get_admin("/admin/issued").await;
    let issued = issued.as_array().unwrap();
    let ids: HashSet<&str> = issued.iter().filter_map(|r| r["id"].as_str()).collect();
    let indices: HashSet<(i64, i64)> = issued
        .iter()
        .map(|r| {
            (
                r["statusList"].as_i64().unwrap(),
                r["statusIndex"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(indices.len(), issued.len(), "a status index was used twice");
    for c in received.lock().unwrap().iter() {
        assert!(
            ids.contains(c["id"].as_str().unwrap()),
            "a credential a wallet holds has no record"
        );
    }
    // After the restart, issuance goes on with fresh indices (for a wallet of its own: the
    // connections of the first died with the process).
    let (link, pin) = issuer.offer("LibraryCard").await;
    let net = holder_net();
    let got = oid4vci::receive(
        &net,
        &Offer::resolve(&net, &link).await.unwrap(),
        Some(&pin),
        &[&SecretKey::from_seed(&[200; 32])],
    )
    .await
    .unwrap();
    assert!(!indices.contains(&status_entry(&got[0].credential)));
}

/// Concurrent issuances are committed together (group commit) and sign before they claim
/// their status index. On a list of 64 entries, 40 wallets at once must still each get a
/// credential with its own index (a taken index is signed again with another), each recorded
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_issuances_on_a_crowded_list_never_share_an_index() {
    let issuer = Issuer::start_configured(None, |c| c["statusListSize"] = json!(64));
    issuer.define_types().await;
    let net = holder_net();
    let mut offers = vec![];
    for i in 0..40 {
        offers.push((
            issuer
                .offer(if i % 2 == 0 {
                    "LibraryCard"
                } else {
                    "LibraryCardSdJwt"
                })
                .await,
            i,
        ));
    }
    let mut tasks = vec![];
    for ((link, pin), i) in offers {
        let net = net.clone();
        tasks.push(tokio::spawn(async move {
            let key = SecretKey::from_seed(&[i as u8 + 100; 32]);
            let offer = Offer::resolve(&net, &link).await.unwrap();
            oid4vci::receive(&net, &offer, Some(&pin), &[&key])
                .await
                .unwrap()
        }));
    }
    let mut entries = HashSet::new();
    for t in tasks {
        let got = t.await.unwrap();
        assert_eq!(got.len(), 1);
        let (list, index) = status_entry(&got[0].credential);
        assert!(
            (0..64).contains(&index),
            "index {index} is outside the list"
        );
        assert!(
            entries.insert((list, index)),
            "index {index} was given twice"
        );
    }
    let issued = issuer.get_admin("/admin/issued").await;
    let issued = issued.as_array().unwrap();
    assert_eq!(issued.len(), 40, "each issuance is recorded once");
    let recorded: HashSet<(i64, i64)> = issued
        .iter()
        .map(|r| {
            (
                r["statusList"].as_i64().unwrap(),
                r["statusIndex"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(recorded.len(), 40);
}

/// The status list number (0 for `…/status/revocation` or `…/status/token`, n for
/// `…-n`) and the index a credential of either format carries.
fn status_entry(c: &Value) -> (i64, i64) {
    let (uri, index) = match c.as_str() {
        // SD-JWT VC: the always-disclosed `status` claim of the issuer-signed JWT.
        Some(sd_jwt) => {
            let claims = sd_jwt_claims(sd_jwt);
            let s = &claims["status"]["status_list"];
            (
                s["uri"].as_str().unwrap().to_owned(),
                s["idx"].as_i64().unwrap(),
            )
        }
        None => (
            c["credentialStatus"][0]["statusListCredential"]
                .as_str()
                .unwrap()
                .to_owned(),
            c["credentialStatus"][0]["statusListIndex"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        ),
    };
    let last = uri.rsplit('/').next().unwrap();
    let list = last.rsplit_once('-').map_or(0, |(_, n)| n.parse().unwrap());
    (list, index)
}

/// When a list fills up the issuer opens the next one (…/status/revocation-1, token-1, …):
/// issuance never stops, every credential names its own list and index, each list is served,
/// and revoking a credential of a later list is what that list then says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_status_list_rolls_over_to_a_new_one() {
    let issuer = Issuer::start_configured(None, |c| c["statusListSize"] = json!(16));
    issuer.define_types().await;
    let net = holder_net();
    let holder = SecretKey::from_seed(&[77; 32]);
    let mut got = vec![];
    for i in 0..40 {
        let (link, pin) = issuer
            .offer(if i % 4 == 3 {
                "LibraryCardSdJwt"
            } else {
                "LibraryCard"
            })
            .await;
        let offer = Offer::resolve(&net, &link).await.unwrap();
        got.push(
            oid4vci::receive(&net, &offer, Some(&pin), &[&holder])
                .await
                .unwrap()
                .remove(0)
                .credential,
        );
    }
    let entries: Vec<(i64, i64)> = got.iter().map(status_entry).collect();
    let distinct: HashSet<_> = entries.iter().collect();
    assert_eq!(distinct.len(), 40, "a (list, index) was given twice");
    assert!(entries.iter().all(|(_, i)| (0..16).contains(i)));
    let lists = entries.iter().map(|(l, _)| *l).max().unwrap();
    assert!(lists >= 2, "40 credentials cannot fit in two lists of 16");
    for l in 1..=lists {
        for purpose in ["revocation", "suspension", "token"] {
            let r = reqwest::get(format!("{}/status/{purpose}-{l}", issuer.url))
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{purpose}-{l} is not served");
            let media = r.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(
                media.starts_with("application/statuslist+jwt"),
                purpose == "token",
                "{purpose}-{l}: {media}"
            );
        }
    }
    // Revoke a Data Integrity credential of the last list: its presentation is refused as
    // revoked; one of the first list still passes its status checks.
    let (late, early) = {
        let di = |l: i64| {
            got.iter()
                .zip(&entries)
                .find(|(c, (list, _))| c.is_object() && *list == l)
                .map(|(c, _)| c.clone())
                .unwrap()
        };
        (di(lists), di(0))
    };
    let (s, body) = issuer
        .admin(
            &format!("/admin/issued/{}/revoke", late["id"].as_str().unwrap()),
            json!({"reason": "test"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let v = present_and_verify(&net, &late, &holder).await;
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Status && c.reason.contains("revoked")),
        "{v:#?}"
    );
    let v = present_and_verify(&net, &early, &holder).await;
    assert!(v.failures().all(|c| c.kind != CheckKind::Status), "{v:#?}");
    // The opening of each list is audited.
    let audit = issuer.get_admin("/admin/audit").await;
    let opened = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "status_list.open")
        .count();
    assert_eq!(opened as i64, lists);
}

/// The status lists' size is fixed once lists exist (every issued index depends on it): an
/// issuer whose configuration was edited to another size refuses to start, says why, and
/// keeps its database as it was; with the size put back it serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_status_list_size_is_refused_at_start_and_loses_nothing() {
    let mut issuer = Issuer::start_configured(None, |c| c["statusListSize"] = json!(16));
    issuer.define_types().await;
    let (link, pin) = issuer.offer("LibraryCard").await;
    let holder = SecretKey::from_seed(&[78; 32]);
    let net = holder_net();
    let offer = Offer::resolve(&net, &link).await.unwrap();
    oid4vci::receive(&net, &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    issuer.kill();

    let config_path = issuer.path().join("config.json");
    let original = std::fs::read_to_string(&config_path).unwrap();
    let mut config: Value = serde_json::from_str(&original).unwrap();
    config["statusListSize"] = json!(32);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = Command::new(bin("alliance-issuer"))
        .args(["serve", "--dir", issuer.path().to_str().unwrap()])
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has 16 entries but statusListSize is 32")
            && stderr.contains("cannot change once lists exist"),
        "{stderr}"
    );

    // A configuration that is not JSON is refused with the file named.
    std::fs::write(&config_path, "{ not json").unwrap();
    let out = Command::new(bin("alliance-issuer"))
        .args(["serve", "--dir", issuer.path().to_str().unwrap()])
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json is malformed"), "{stderr}");

    // Put back, the issuer serves again and the credential issued before is still on record.
    std::fs::write(&config_path, &original).unwrap();
    issuer.serve();
    let issued = issuer.get_admin("/admin/issued").await;
    assert_eq!(issued.as_array().unwrap().len(), 1, "{issued}");
}
