//! The commands as the web view calls them, through Tauri's IPC on its mock runtime (no
//! window, real command handlers), on a real vault: redb files in a temporary directory and
//! the OS keyring when a Secret Service is there (`scripts/with-keyring.sh`, as
//! `scripts/test.sh` runs the suite), keyring-core's in-memory store otherwise. The commands
//! that need an issuer and a registry are tested end to end in `tests/` (crate `e2e`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyring_core::CredentialStore;
use serde_json::{Value, json};
use tauri::Manager;
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use wallet_vault::Item;

use crate::PendingLinks;
use crate::held::{Copy, FORMAT_DI, Held, IssuerProof, StatusSnapshot};
use crate::state::{Setup, Wallet};

fn store() -> Arc<CredentialStore> {
    if std::env::var_os("ALLIANCE_TEST_SECRET_SERVICE").is_some() {
        wallet_vault::keyring::system_store().unwrap()
    } else {
        keyring_core::mock::Store::new().unwrap()
    }
}

struct Harness {
    app: tauri::App<MockRuntime>,
    window: tauri::WebviewWindow<MockRuntime>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        Self::with_keyring(Ok(store()))
    }

    /// A wallet whose keyring is `store` (or is missing, and why).
    fn with_keyring(store: Result<Arc<CredentialStore>, crate::Failure>) -> Self {
        Self::at(tempfile::tempdir().unwrap(), store)
    }

    /// The wallet in `dir` (as a restart of the app finds it).
    fn at(dir: tempfile::TempDir, store: Result<Arc<CredentialStore>, crate::Failure>) -> Self {
        let setup = Setup {
            dir: dir.path().join("wallet"),
            store,
            network: None,
            net: wallet_core::Net::new(&registry_client::Trust::system()).unwrap(),
            documents: dir.path().join("Documents"),
        };
        let app = mock_builder()
            .manage(Wallet::open(setup))
            .manage(PendingLinks::default())
            .invoke_handler(crate::invoke_handler())
            .build(mock_context(noop_assets()))
            .unwrap();
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Self { app, window, dir }
    }

    fn request(&self, cmd: &str, body: tauri::ipc::InvokeBody) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body,
                headers: Default::default(),
                invoke_key: INVOKE_KEY.into(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.request(cmd, tauri::ipc::InvokeBody::Json(args))
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn code(&self, cmd: &str, args: Value) -> String {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should have failed, gave {v}"),
            Err(e) => e["code"].as_str().unwrap().to_owned(),
        }
    }

    fn wallet(&self) -> tauri::State<'_, Wallet> {
        self.app.state::<Wallet>()
    }

    /// Puts a held credential straight into the vault (what a receive leaves behind).
    fn hold(&self, title: &str, name: &str) -> String {
        let vault = self.wallet().vault().unwrap();
        let r = vault.reserve_keys(1).unwrap();
        let key_name = r.keys[0].0.clone();
        let did_key = verifier_lib::dids::did_key(&r.keys[0].1.public_key()).0;
        let held = Held {
            format: FORMAT_DI.into(),
            configuration_id: "licence".into(),
            title: title.into(),
            credential_type: "DriverLicense".into(),
            issuer_url: "https://agency.example".into(),
            issuer_name: "Transport Agency".into(),
            issuer_did: "did:alliance:devnet:x".into(),
            issuer_proof: IssuerProof::default(),
            labels: Default::default(),
            copies: vec![Copy {
                key: key_name.clone(),
                credential: json!({
                    "issuer": "did:alliance:devnet:x",
                    "validFrom": "2026-01-01T00:00:00Z",
                    "credentialSubject": {"id": did_key, "name": name},
                }),
                used: false,
            }],
            received_ms: 1,
            status: StatusSnapshot::default(),
        };
        let item = Item {
            id: uuid::Uuid::new_v4().to_string(),
            keys: vec![key_name],
            body: serde_json::to_value(&held).unwrap(),
        };
        vault.commit_item(r, &item).unwrap();
        item.id
    }
}

#[test]
fn first_start_asks_for_a_pin_and_the_wallet_opens_locked_after() {
    let h = Harness::new();
    let s = h.ok("app_state", json!({}));
    assert_eq!(s["hasPin"], false);
    assert_eq!(s["locked"], true);
    assert_eq!(s["keyringProblem"], Value::Null);
    assert_eq!(h.code("list_cards", json!({})), "locked");
    let e = h.call("setup_pin", json!({"pin": "1234"})).unwrap_err();
    assert_eq!(e["code"], "pin_too_short");
    assert_eq!(e["params"]["min"], 6);
    h.ok("setup_pin", json!({"pin": "482915"}));
    assert_eq!(h.ok("list_cards", json!({})), json!([]));
    assert_eq!(h.code("setup_pin", json!({"pin": "999999"})), "pin_exists");
    h.ok("lock", json!({}));
    assert_eq!(h.ok("app_state", json!({}))["locked"], true);
    assert_eq!(h.code("card_details", json!({"id": "x"})), "locked");
}

#[test]
fn wrong_pins_say_how_many_tries_are_left_then_wait() {
    let h = Harness::new();
    h.ok("setup_pin", json!({"pin": "482915"}));
    h.ok("lock", json!({}));
    let e = h.call("unlock", json!({"pin": "000000"})).unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["params"]["triesLeft"].as_u64()),
        (Some("wrong_pin"), Some(2))
    );
    h.code("unlock", json!({"pin": "000001"}));
    let e = h.call("unlock", json!({"pin": "000002"})).unwrap_err();
    assert_eq!(e["code"], "pin_throttled");
    assert_eq!(e["params"]["waitS"], 30);
    // Even the right PIN waits.
    assert_eq!(h.code("unlock", json!({"pin": "482915"})), "pin_throttled");
    assert_eq!(h.ok("app_state", json!({}))["locked"], true);
}

#[test]
fn cards_and_details_show_what_is_held_and_deleting_removes_it() {
    let h = Harness::new();
    h.ok("setup_pin", json!({"pin": "482915"}));
    let id = h.hold("Driving licence", "Ana Example");
    let cards = h.ok("list_cards", json!({}));
    assert_eq!(cards[0]["id"], id.as_str());
    assert_eq!(cards[0]["title"], "Driving licence");
    assert_eq!(cards[0]["status"], "unknown");
    assert_eq!(cards[0]["mainClaims"][0]["value"], "Ana Example");
    let d = h.ok("card_details", json!({"id": id}));
    assert_eq!(d["claims"][0]["name"], "name");
    assert_eq!(d["issuerProof"]["registered"], false);
    assert_eq!(h.code("card_details", json!({"id": "nope"})), "not_found");

    h.ok("delete_card", json!({"id": id}));
    assert_eq!(h.ok("list_cards", json!({})), json!([]));
    let log = h.ok("activity", json!({}));
    assert_eq!(log[0]["kind"], "deleted");
    assert_eq!(log[0]["credential"], "Driving licence");
}

#[test]
fn a_backup_restores_into_another_wallet_which_then_asks_for_a_new_pin() {
    let h = Harness::new();
    h.ok("setup_pin", json!({"pin": "482915"}));
    h.hold("Library card", "Bo Example");
    assert_eq!(
        h.code("create_backup", json!({"passphrase": "short"})),
        "pin_too_short"
    );
    let path = h.ok(
        "create_backup",
        json!({"passphrase": "correct horse battery"}),
    );
    let path = path.as_str().unwrap();
    assert!(path.starts_with(h.dir.path().join("Documents").to_str().unwrap()));
    let file = std::fs::read(path).unwrap();
    assert!(!String::from_utf8_lossy(&file).contains("Bo Example"));
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&file);

    let other = Harness::new();
    let e = other
        .call(
            "restore_backup",
            json!({"fileBase64": b64, "passphrase": "wrong passphrase!", "replace": false}),
        )
        .unwrap_err();
    assert_eq!(e["code"], "wrong_passphrase");
    assert_eq!(
        other.code(
            "restore_backup",
            json!({"fileBase64": "bm90IGEgYmFja3Vw", "passphrase": "x", "replace": false})
        ),
        "bad_backup"
    );
    let n = other.ok(
        "restore_backup",
        json!({"fileBase64": b64, "passphrase": "correct horse battery", "replace": false}),
    );
    assert_eq!(n, 1);
    let s = other.ok("app_state", json!({}));
    assert_eq!(
        (s["hasPin"].as_bool(), s["locked"].as_bool()),
        (Some(false), Some(true))
    );
    other.ok("setup_pin", json!({"pin": "135790"}));
    assert_eq!(
        other.ok("list_cards", json!({}))[0]["title"],
        "Library card"
    );

    // The first wallet is not empty: restoring over it needs `replace`.
    assert_eq!(
        h.code(
            "restore_backup",
            json!({"fileBase64": b64, "passphrase": "correct horse battery", "replace": false})
        ),
        "wallet_not_empty"
    );
}

/// The app restarted after the keyring lost the wallet's data key (a reset keyring, the
/// profile copied to another computer).
fn with_data_key_lost(h: Harness, store: &Arc<CredentialStore>) -> Harness {
    let profile = h.wallet().vault_any().unwrap().profile().to_owned();
    // The first app's database closes (a restart is a new process; the mock app may outlive
    // its handle here).
    h.wallet().set_vault(None);
    let Harness { app, window, dir } = h;
    drop(window);
    drop(app);
    wallet_vault::Keyring::new(store.clone(), &profile)
        .delete("data-key")
        .unwrap();
    Harness::at(dir, Ok(store.clone()))
}

#[test]
fn a_wallet_whose_key_left_the_keyring_says_so_and_its_backup_brings_it_back() {
    let s = store();
    let h = Harness::with_keyring(Ok(s.clone()));
    h.ok("setup_pin", json!({"pin": "482915"}));
    h.hold("Library card", "Bo Example");
    let path = h.ok(
        "create_backup",
        json!({"passphrase": "correct horse battery"}),
    );
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(path.as_str().unwrap()).unwrap());

    let h = with_data_key_lost(h, &s);
    let st = h.ok("app_state", json!({}));
    assert_eq!(st["walletUnreadable"]["code"], "key_lost");
    assert!(
        st["walletUnreadable"]["message"]
            .as_str()
            .unwrap()
            .contains("restore it from a backup")
    );
    assert_eq!(st["keyringProblem"], Value::Null);
    // Replacing what cannot be read needs the holder's consent, as over a full wallet.
    let args = |replace: bool| json!({"fileBase64": b64, "passphrase": "correct horse battery", "replace": replace});
    assert_eq!(h.code("restore_backup", args(false)), "wallet_not_empty");
    assert_eq!(h.ok("restore_backup", args(true)), 1);
    let st = h.ok("app_state", json!({}));
    assert_eq!(st["walletUnreadable"], Value::Null);
    assert_eq!(st["hasPin"], false);
    h.ok("setup_pin", json!({"pin": "135790"}));
    assert_eq!(h.ok("list_cards", json!({}))[0]["title"], "Library card");
    // A readable wallet is never thrown away by "start again".
    assert_eq!(h.code("start_over", json!({})), "wallet_readable");
    assert_eq!(h.ok("list_cards", json!({})).as_array().unwrap().len(), 1);
}

#[test]
fn a_wallet_whose_key_left_the_keyring_can_start_again_empty() {
    let s = store();
    let h = Harness::with_keyring(Ok(s.clone()));
    h.ok("setup_pin", json!({"pin": "482915"}));
    h.hold("Library card", "Bo Example");
    let h = with_data_key_lost(h, &s);
    assert_eq!(h.code("setup_pin", json!({"pin": "135790"})), "no_wallet");
    h.ok("start_over", json!({}));
    let st = h.ok("app_state", json!({}));
    assert_eq!(
        (st["walletUnreadable"].clone(), st["hasPin"].clone()),
        (Value::Null, json!(false))
    );
    h.ok("setup_pin", json!({"pin": "135790"}));
    assert_eq!(h.ok("list_cards", json!({})), json!([]));
    // The old wallet's files are gone; one profile remains.
    let files: Vec<_> = std::fs::read_dir(h.dir.path().join("wallet"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".redb"))
        .collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn presenting_offline_before_any_status_check_says_what_to_do() {
    let h = Harness::new();
    h.ok("setup_pin", json!({"pin": "482915"}));
    let id = h.hold("Driving licence", "Ana");
    let args = json!({"id": id, "reveal": [], "challenge": "c-123", "audience": "shop.example"});
    assert_eq!(h.code("present", args), "never_checked_offline");
    let bad = json!({"id": id, "reveal": [], "challenge": "", "audience": "shop.example"});
    let e = h.call("present", bad).unwrap_err();
    assert_eq!(
        (e["code"].as_str(), e["params"]["param"].as_str()),
        (Some("bad_request_param"), Some("challenge"))
    );
}

#[test]
fn a_qr_image_is_read_to_its_offer_link() {
    let h = Harness::new();
    h.ok("setup_pin", json!({"pin": "482915"}));
    let link =
        "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fagency.example%2Fo%2F1";
    let img = qrcode::QrCode::new(link.as_bytes())
        .unwrap()
        .render::<image::Luma<u8>>()
        .module_dimensions(5, 5)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let got = h
        .request("decode_qr", tauri::ipc::InvokeBody::Raw(png.into_inner()))
        .unwrap();
    assert_eq!(got, link);
    let e = h
        .request("decode_qr", tauri::ipc::InvokeBody::Raw(b"GIF89a".to_vec()))
        .unwrap_err();
    assert_eq!(e["code"], "qr_unreadable");
}

#[test]
fn language_and_offer_links_and_bad_offers() {
    let h = Harness::new();
    h.ok("setup_pin", json!({"pin": "482915"}));
    h.ok("set_language", json!({"language": "zh-CN"}));
    assert_eq!(h.ok("app_state", json!({}))["language"], "zh-CN");
    assert_eq!(
        h.code("set_language", json!({"language": "fr"})),
        "bad_request_param"
    );
    // No network configured: receiving says so plainly.
    assert_eq!(
        h.code("inspect_offer", json!({"link": "hello"})),
        "bad_offer"
    );
    assert_eq!(
        h.ok("app_state", json!({}))["networkProblem"]["code"],
        "no_network"
    );
    // A link the app was opened with is handed over once.
    h.app
        .state::<PendingLinks>()
        .0
        .lock()
        .unwrap()
        .push("openid-credential-offer://?x".into());
    assert_eq!(
        h.ok("take_offer_link", json!({})),
        "openid-credential-offer://?x"
    );
    assert_eq!(h.ok("take_offer_link", json!({})), Value::Null);
}

#[test]
fn without_a_keyring_nothing_is_stored_and_the_reason_is_given() {
    let h = Harness::with_keyring(Err(crate::Failure::new(
        "no_keyring",
        "no keyring service is available",
    )));
    assert_eq!(
        h.ok("app_state", json!({}))["keyringProblem"]["code"],
        "no_keyring"
    );
    assert_eq!(h.code("setup_pin", json!({"pin": "482915"})), "no_keyring");
    assert!(!h.dir.path().join("wallet").exists());
}

/// A command the handler knows but the build does not declare, or the window's capability does
/// not allow, fails only when the holder reaches it ("not allowed"): all three lists agree.
#[test]
fn every_command_the_app_handles_is_declared_and_allowed_to_its_window() {
    let handled: Vec<&str> = include_str!("lib.rs")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("commands::")?.strip_suffix(','))
        .collect();
    assert!(handled.len() >= 23, "{handled:?}");
    let build = include_str!("../build.rs");
    let allowed = include_str!("../capabilities/main.json");
    for c in handled {
        assert!(
            build.contains(&format!("\"{c}\"")),
            "build.rs does not declare {c}"
        );
        let permission = format!("\"allow-{}\"", c.replace('_', "-"));
        assert!(
            allowed.contains(&permission),
            "capabilities/main.json does not allow {c}"
        );
    }
}

#[test]
fn a_business_request_is_looked_at_only_in_an_open_wallet_and_never_answered_blindly() {
    let h = Harness::new();
    let link = json!({"link": "openid4vp://?client_id=decentralized_identifier%3Adid%3Aalliance%3Anet%3Ax&request_uri=http%3A%2F%2F127.0.0.1%3A9%2Fo"});
    h.ok("setup_pin", json!({"pin": "482915"}));
    h.ok("lock", json!({}));
    assert_eq!(h.code("inspect_request", link.clone()), "locked");
    h.ok("unlock", json!({"pin": "482915"}));
    // No consortium network configured: nothing to prove the business against.
    assert_eq!(h.code("inspect_request", link), "no_network");
    // An answer to a request never looked at (or looked at too long ago) is refused.
    assert_eq!(
        h.code("share_request", json!({"requestId": "nope", "picks": {}})),
        "request_gone"
    );
    h.ok("decline_request", json!({"requestId": "nope"}));
}
