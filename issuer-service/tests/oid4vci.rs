//! The issuer as agencies run it and wallets reach it: the real `alliance-issuer` binary with
//! a real SQLite file, over HTTP on loopback; the wallet side is `wallet-core`. Issue → present
//! → verify in both formats, revocation, and every refusal of the OpenID4VCI flow.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use did_method::SecretKey;
use serde_json::{Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::Rdfc2022;
use verifier_lib::{CheckKind, Policy, Verdict, Verifier};
use wallet_core::oid4vci::{self, Offer};
use wallet_core::{WalletError, present, staple};

const BIN: &str = env!("CARGO_BIN_EXE_alliance-issuer");
const PASS: &str = "agency passphrase 1";

struct Issuer {
    child: Child,
    url: String,
    api_key: String,
    dir: tempfile::TempDir,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Below the kernel's ephemeral range, so no outgoing connection takes it before the
/// issuer binds it.
fn free_port() -> u16 {
    did_registry::config::free_port(&[]).unwrap()
}

fn spawn_serve(dir: &std::path::Path) -> Child {
    let mut child = Command::new(BIN)
        .args(["serve", "--dir", dir.to_str().unwrap()])
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASS)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    child
}

impl Issuer {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// An issuer on the database at `database_url` (default: a SQLite file in its directory).
    fn start_with(database_url: Option<&str>) -> Self {
        Self::start_configured(database_url, |_| {})
    }

    /// As [`Self::start_with`], with `edit` applied to `config.json` before the first start.
    fn start_configured(database_url: Option<&str>, edit: impl FnOnce(&mut Value)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{}", free_port());
        let mut args = vec![
            "init",
            "--dir",
            dir.path().to_str().unwrap(),
            "--issuer-url",
            &url,
            "--json",
            "--name",
            "Test Agency",
        ];
        if let Some(db) = database_url {
            args.extend(["--database-url", db]);
        }
        let out = Command::new(BIN)
            .args(args)
            .env("ALLIANCE_ISSUER_PASSPHRASE", PASS)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let config_path = dir.path().join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
        edit(&mut config);
        std::fs::write(&config_path, config.to_string()).unwrap();
        let child = spawn_serve(dir.path());
        Self {
            child,
            url,
            api_key: v["adminApiKey"].as_str().unwrap().to_owned(),
            dir,
        }
    }

    async fn admin(&self, path: &str, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get_admin(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn define_types(&self) {
        for t in [
            json!({"id": "LibraryCard", "format": "ldp_vc", "credentialType": "LibraryCard", "claims": ["name", "cardNumber"], "validityDays": 365, "name": "Library card"}),
            json!({"id": "LibraryCardSdJwt", "format": "dc+sd-jwt", "credentialType": "urn:test:library-card", "claims": ["name", "cardNumber"], "validityDays": 365, "name": "Library card"}),
        ] {
            let (s, v) = self.admin("/admin/credential-types", t).await;
            assert_eq!(s, 201, "{v}");
        }
    }

    async fn offer(&self, type_id: &str) -> (String, String) {
        let (s, v) = self.admin("/admin/offers", json!({"credentialType": type_id, "claims": {"name": "Ada", "cardNumber": "L-1815"}})).await;
        assert_eq!(s, 201, "{v}");
        (
            v["offerByReferenceUri"].as_str().unwrap().to_owned(),
            v["txCode"].as_str().unwrap().to_owned(),
        )
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn policy() -> Policy {
    Policy {
        challenge: Some("c-1".into()),
        domain: Some("shop.example".into()),
        require_accreditation: false,
        require_status_anchor: false,
        ..Policy::default()
    }
}

/// The holder presents `vc` (challenge `c-1`, domain `shop.example`) with freshly stapled
/// status lists; the verifier's verdict under [`policy`].
async fn present_and_verify(vc: &Value, holder: &SecretKey) -> Verdict {
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let vp = present::data_integrity(
        &rdfc,
        std::slice::from_ref(vc),
        holder,
        "c-1",
        "shop.example",
        now_ms(),
    )
    .unwrap();
    let bundle = staple::bundle(&holder_net(), "http://127.0.0.1:9", &vp, None)
        .await
        .unwrap();
    Verifier::new(policy(), None).verify_bytes(&serde_json::to_vec(&bundle).unwrap(), now_ms())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_present_verify_then_revoke_in_both_formats() {
    let issuer = Issuer::start();
    lifecycle(&issuer).await;
    assert!(issuer.dir.path().join("issuer.db").exists());
}

/// A fresh, empty PostgreSQL database on the server at `ALLIANCE_TEST_POSTGRES_URL`
/// (`scripts/test.sh` starts a throwaway server on loopback and sets it).
async fn fresh_postgres_database() -> Option<String> {
    let Ok(base) = std::env::var("ALLIANCE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests: run them through scripts/test.sh"
        );
        eprintln!(
            "ALLIANCE_TEST_POSTGRES_URL is not set: PostgreSQL test not run (scripts/test.sh sets it)"
        );
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("issuer_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap();
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    Some(format!("{server}/{name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_lifecycle_runs_on_postgresql() {
    let Some(db) = fresh_postgres_database().await else {
        return;
    };
    lifecycle(&Issuer::start_with(Some(&db))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_and_lockout_hold_on_postgresql() {
    let Some(db) = fresh_postgres_database().await else {
        return;
    };
    let issuer = Issuer::start_with(Some(&db));
    issuer.define_types().await;
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    let code = offer.pre_authorized_code.clone();
    let token_url = issuer.url.clone();
    // Wrong PINs lock the offer after five attempts; then even the right PIN is refused.
    for _ in 0..5 {
        let (s, body) = token(&token_url, &code, Some("000000")).await;
        assert_eq!(s, 400, "{body}");
    }
    let (s, body) = token(&token_url, &code, Some(&pin)).await;
    assert_eq!(s, 400, "{body}");
    // A fresh offer: the code works once, never twice.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    let (s, _) = token(&token_url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(s, 200);
    let (s, body) = token(&token_url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(s, 400, "{body}");
}

async fn lifecycle(issuer: &Issuer) {
    issuer.define_types().await;
    let holder = SecretKey::from_seed(&[42; 32]);

    // W3C VC + Data Integrity.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    assert!(offer.tx_code.is_some());
    let got = oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].format, "ldp_vc");
    let vc = got[0].credential.clone();
    assert_eq!(vc["credentialSubject"]["name"], "Ada");
    let v = present_and_verify(&vc, &holder).await;
    assert!(v.accepted(), "{:#?}", v.failures().collect::<Vec<_>>());

    // Revoke through the CLI; a fresh bundle staples the new list and is refused.
    let id = vc["id"].as_str().unwrap();
    let out = Command::new(BIN)
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
    let v = present_and_verify(&vc, &holder).await;
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Status && c.reason.contains("revoked")),
        "{v:#?}"
    );

    // SD-JWT VC.
    let (link, pin) = issuer.offer("LibraryCardSdJwt").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    let got = oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&holder])
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
    let payload = sd.split('~').next().unwrap().split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    let uri = payload["status"]["status_list"]["uri"].as_str().unwrap();
    assert_eq!(uri, format!("{}/status/token", issuer.url));
    let r = reqwest::get(uri).await.unwrap();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/statuslist+jwt"
    );
    let verifier = Verifier::new(policy(), None);
    let sd_verdict = || async {
        let bundle = staple::bundle(
            &holder_net(),
            "http://127.0.0.1:9",
            &Value::String(p.clone()),
            None,
        )
        .await
        .unwrap();
        assert!(bundle.status_lists.contains_key(uri), "{bundle:?}");
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

async fn token(url: &str, code: &str, pin: Option<&str>) -> (u16, Value) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair(
        "grant_type",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    );
    form.append_pair("pre-authorized_code", code);
    if let Some(p) = pin {
        form.append_pair("tx_code", p);
    }
    let r = reqwest::Client::new()
        .post(format!("{url}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_codes_wrong_pins_and_bad_proofs_are_refused() {
    let issuer = Issuer::start();
    issuer.define_types().await;
    let holder = SecretKey::from_seed(&[7; 32]);

    // A code works once.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    let (s, v) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    // The by-reference link is gone once redeemed.
    assert!(matches!(
        Offer::resolve(&holder_net(), &link).await,
        Err(WalletError::Refused { .. })
    ));

    // Wrong PINs count down, then lock the offer even for the right PIN.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let (s, v) = token(&issuer.url, &offer.pre_authorized_code, Some(wrong)).await;
    assert_eq!(s, 400);
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("4 attempts left"),
        "{v}"
    );
    for _ in 0..4 {
        token(&issuer.url, &offer.pre_authorized_code, Some(wrong)).await;
    }
    let (_, v) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("too many wrong"),
        "{v}"
    );
    let (s, v) = token(&issuer.url, "no-such-code", Some(&pin)).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")));

    // Bad proofs of possession.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    let (_, t) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    let access = t["access_token"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let nonce = || async {
        let v: Value = client
            .post(format!("{}/nonce", issuer.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["c_nonce"].as_str().unwrap().to_owned()
    };
    let send = |proof: String| {
        let client = client.clone();
        let url = issuer.url.clone();
        let access = access.clone();
        async move {
            let r = client
                .post(format!("{url}/credential"))
                .bearer_auth(access)
                .json(&json!({"credential_configuration_id": "LibraryCard", "proofs": {"jwt": [proof]}}))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (
                s,
                v["error"].as_str().unwrap_or("").to_owned(),
                v["error_description"].as_str().unwrap_or("").to_owned(),
            )
        }
    };
    let now = now_ms() / 1000;
    // Signed by another key than the one it names.
    let p = oid4vci::proof_jwt(&holder, &issuer.url, &nonce().await, now);
    let (h, rest) = p.split_once('.').unwrap();
    let other = oid4vci::proof_jwt(&SecretKey::from_seed(&[8; 32]), &issuer.url, "x", now);
    let forged = format!(
        "{h}.{}.{}",
        rest.split('.').next().unwrap(),
        other.rsplit('.').next().unwrap()
    );
    assert_eq!(send(forged).await.1, "invalid_proof");
    // For another issuer.
    assert_eq!(
        send(oid4vci::proof_jwt(
            &holder,
            "https://other.example",
            &nonce().await,
            now
        ))
        .await
        .1,
        "invalid_proof"
    );
    // A nonce the issuer never gave.
    assert_eq!(
        send(oid4vci::proof_jwt(&holder, &issuer.url, "made-up", now))
            .await
            .1,
        "invalid_nonce"
    );
    // An old proof.
    let (_, code, d) = send(oid4vci::proof_jwt(
        &holder,
        &issuer.url,
        &nonce().await,
        now - 3600,
    ))
    .await;
    assert_eq!(code, "invalid_proof", "{d}");
    // Without a token.
    let r = client
        .post(format!("{}/credential", issuer.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A good proof still works after the refusals, once.
    let used = nonce().await;
    let (s, code, d) = send(oid4vci::proof_jwt(&holder, &issuer.url, &used, now)).await;
    assert_eq!((s, code.as_str()), (200, ""), "{d}");
    let (_, code, _) = send(oid4vci::proof_jwt(
        &holder,
        &issuer.url,
        &nonce().await,
        now,
    ))
    .await;
    assert_eq!(code, "credential_request_denied");
    // A nonce is good for one issuance: replayed on another offer, it is refused.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    let (_, t) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    let replay = oid4vci::proof_jwt(&holder, &issuer.url, &used, now);
    let r = client
        .post(format!("{}/credential", issuer.url))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .json(&json!({"credential_configuration_id": "LibraryCard", "proofs": {"jwt": [replay]}}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_nonce", "{v}");
    assert!(
        v["error_description"]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_issuance_binds_each_key_with_its_own_status_index() {
    let issuer = Issuer::start();
    issuer.define_types().await;
    let keys: Vec<SecretKey> = (0..3)
        .map(|i| SecretKey::from_seed(&[60 + i; 32]))
        .collect();
    let refs: Vec<&SecretKey> = keys.iter().collect();
    let (link, pin) = issuer.offer("LibraryCard").await;
    let got = oid4vci::receive(
        &holder_net(),
        &Offer::resolve(&holder_net(), &link).await.unwrap(),
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
async fn a_killed_issuer_loses_no_issued_record_and_reuses_no_index() {
    let mut issuer = Issuer::start();
    issuer.define_types().await;
    let mut offers = vec![];
    for _ in 0..40 {
        offers.push(issuer.offer("LibraryCard").await);
    }
    // Wallets run concurrently; the issuer is killed (-9) in the middle.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = vec![];
    for (i, (link, pin)) in offers.into_iter().enumerate() {
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            let key = SecretKey::from_seed(&[i as u8 + 1; 32]);
            if let Ok(offer) = Offer::resolve(&holder_net(), &link).await
                && let Ok(got) = oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&key]).await
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
    issuer.child.kill().unwrap();
    issuer.child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    issuer.child = spawn_serve(issuer.dir.path());
    let issued = issuer.get_admin("/admin/issued").await;
    let issued = issued.as_array().unwrap();
    let ids: std::collections::HashSet<&str> =
        issued.iter().filter_map(|r| r["id"].as_str()).collect();
    let indices: std::collections::HashSet<(i64, i64)> = issued
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
    // After the restart, issuance goes on with fresh indices.
    let (link, pin) = issuer.offer("LibraryCard").await;
    let got = oid4vci::receive(
        &holder_net(),
        &Offer::resolve(&holder_net(), &link).await.unwrap(),
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
        tasks.push(tokio::spawn(async move {
            let key = SecretKey::from_seed(&[i as u8 + 100; 32]);
            let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
            oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&key])
                .await
                .unwrap()
        }));
    }
    let mut entries = std::collections::HashSet::new();
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
    let recorded: std::collections::HashSet<(i64, i64)> = issued
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
            let jwt = sd_jwt.split('~').next().unwrap();
            let payload = jwt.split('.').nth(1).unwrap();
            let claims: Value = serde_json::from_slice(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                    .unwrap(),
            )
            .unwrap();
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
        let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
        got.push(
            oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&holder])
                .await
                .unwrap()
                .remove(0)
                .credential,
        );
    }
    let entries: Vec<(i64, i64)> = got.iter().map(status_entry).collect();
    let distinct: std::collections::HashSet<_> = entries.iter().collect();
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
    let v = present_and_verify(&late, &holder).await;
    assert!(
        v.failures()
            .any(|c| c.kind == CheckKind::Status && c.reason.contains("revoked")),
        "{v:#?}"
    );
    let v = present_and_verify(&early, &holder).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vc_api_issues_signed_revocable_credentials_for_back_offices() {
    let issuer = Issuer::start();
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
    let v = present_and_verify(&vc, &holder).await;
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

/// An offer never redeemed is expired at the next refresh (here: the next start) and the
/// citizen's claims it held are erased; the code is then refused with that reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_offers_lose_their_personal_data() {
    let mut issuer = Issuer::start();
    issuer.define_types().await;
    // Offers live one second from now on.
    let cfg = issuer.dir.path().join("config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    c["offerTtlS"] = json!(1);
    std::fs::write(&cfg, serde_json::to_string_pretty(&c).unwrap()).unwrap();
    let _ = issuer.child.kill();
    let _ = issuer.child.wait();
    issuer.child = spawn_serve(issuer.dir.path());
    let (link, pin) = issuer.offer("LibraryCard").await;
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let _ = issuer.child.kill();
    let _ = issuer.child.wait();
    issuer.child = spawn_serve(issuer.dir.path());

    sqlx::any::install_default_drivers();
    let db = format!("sqlite://{}", issuer.dir.path().join("issuer.db").display());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT state, claims FROM offers")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, vec![("expired".to_string(), "{}".to_string())]);
    let (s, body) = token(&issuer.url, &offer.pre_authorized_code, Some(&pin)).await;
    assert_eq!(s, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    let log = issuer.get_admin("/admin/audit").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "offer.expire"),
        "{log}"
    );
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
    let offer = Offer::resolve(&holder_net(), &link).await.unwrap();
    oid4vci::receive(&holder_net(), &offer, Some(&pin), &[&holder])
        .await
        .unwrap();
    let _ = issuer.child.kill();
    let _ = issuer.child.wait();

    let config_path = issuer.dir.path().join("config.json");
    let original = std::fs::read_to_string(&config_path).unwrap();
    let mut config: Value = serde_json::from_str(&original).unwrap();
    config["statusListSize"] = json!(32);
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--dir", issuer.dir.path().to_str().unwrap()])
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASS)
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
    let out = Command::new(BIN)
        .args(["serve", "--dir", issuer.dir.path().to_str().unwrap()])
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.json is malformed"), "{stderr}");

    // Put back, the issuer serves again and the credential issued before is still on record.
    std::fs::write(&config_path, &original).unwrap();
    issuer.child = spawn_serve(issuer.dir.path());
    let issued = issuer.get_admin("/admin/issued").await;
    assert_eq!(issued.as_array().unwrap().len(), 1, "{issued}");
}

/// The holder's network: the system's trust (these tests run over loopback `http://`).
fn holder_net() -> wallet_core::Net {
    wallet_core::Net::new(&wallet_core::Trust::system()).unwrap()
}
