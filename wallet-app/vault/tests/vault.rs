//! The vault as the wallet uses it, on real redb files in a temporary directory and
//! keyring-core's in-memory store (the same API as the OS keyring; `secret_service.rs` runs
//! against a real Secret Service).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use std::path::Path;
use std::sync::Arc;

use keyring_core::CredentialStore;
use serde_json::json;
use wallet_vault::{ErrorKind, Item, Vault, VaultError, backup, profile};

fn store() -> Arc<CredentialStore> {
    keyring_core::mock::Store::new().unwrap()
}

/// Receives an item with `n` keys, as the app does: reserve, receive, commit.
fn receive(v: &Vault, id: &str, n: usize, claims: serde_json::Value) -> Item {
    let r = v.reserve_keys(n).unwrap();
    let item = Item {
        id: id.into(),
        keys: r.keys.iter().map(|(k, _)| k.clone()).collect(),
        body: json!({"claims": claims}),
    };
    v.commit_item(r, &item).unwrap();
    item
}

/// Every file under `dir`, concatenated.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.extend(std::fs::read(p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_received_credential_is_kept_sealed_and_its_keys_only_in_the_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    assert!(v.is_empty().unwrap());
    let item = receive(&v, "c1", 5, json!({"given_name": "Meilin Zhang-Example"}));
    let key = v.holder_key(&item.keys[0]).unwrap();
    v.log(
        1_000,
        json!({"kind": "received", "from": "Transport Agency"}),
    )
    .unwrap();
    drop(v);

    // Nothing readable on disk: no claim, no key seed.
    let disk = all_bytes(dir.path());
    assert!(!contains(&disk, b"Meilin"));
    assert!(!contains(&disk, b"Transport Agency"));
    assert!(!contains(&disk, &key.to_seed_bytes()));

    // Reopened: the same item, the same key.
    let v = Vault::open(dir.path(), s).unwrap();
    assert_eq!(v.items().unwrap(), vec![item.clone()]);
    assert_eq!(
        v.holder_key(&item.keys[0]).unwrap().public_key(),
        key.public_key()
    );
    assert_eq!(v.activity().unwrap()[0].entry["from"], "Transport Agency");
}

#[test]
fn a_receive_interrupted_before_its_commit_leaves_no_key_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    let r = v.reserve_keys(3).unwrap();
    let names: Vec<String> = r.keys.iter().map(|(n, _)| n.clone()).collect();
    // The process dies here: the reservation is never committed or released.
    std::mem::forget(r);
    drop(v);
    let v = Vault::open(dir.path(), s).unwrap();
    assert!(v.is_empty().unwrap());
    for n in &names {
        assert!(matches!(v.holder_key(n), Err(VaultError::MissingSecret(_))));
    }
}

#[test]
fn deleting_a_credential_removes_its_keys_from_the_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(dir.path(), store()).unwrap();
    let a = receive(&v, "a", 2, json!({}));
    let b = receive(&v, "b", 1, json!({}));
    v.delete_item("a").unwrap();
    assert_eq!(v.items().unwrap(), vec![b.clone()]);
    assert!(v.holder_key(&a.keys[0]).is_err());
    assert!(v.holder_key(&b.keys[0]).is_ok());
    assert_eq!(v.delete_item("a").unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn an_item_must_use_exactly_its_reserved_keys_and_keep_them() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(dir.path(), store()).unwrap();
    let r = v.reserve_keys(2).unwrap();
    let wrong = Item {
        id: "x".into(),
        keys: vec![r.keys[0].0.clone()],
        body: json!({}),
    };
    assert!(v.commit_item(r, &wrong).is_err());
    let mut item = receive(&v, "y", 1, json!({}));
    item.body = json!({"status": "revoked"});
    v.update_item(&item).unwrap();
    assert_eq!(v.item("y").unwrap().body["status"], "revoked");
    item.keys.push("key/other".into());
    assert!(v.update_item(&item).is_err());
}

#[test]
fn a_lost_data_key_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    receive(&v, "c", 1, json!({}));
    let profile = v.profile().to_owned();
    drop(v);
    wallet_vault::Keyring::new(s.clone(), &profile)
        .delete("data-key")
        .unwrap();
    let e = Vault::open(dir.path(), s).err().unwrap();
    assert!(matches!(e, VaultError::DataKeyLost), "{e}");
    assert!(e.to_string().contains("restore it from a backup"));
}

#[test]
fn wrong_pins_are_counted_across_restarts_and_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    assert!(matches!(v.check_pin("123456", 0), Err(VaultError::NoPin)));
    v.set_pin("482915").unwrap();
    v.check_pin("482915", 0).unwrap();
    assert!(matches!(
        v.check_pin("000000", 1_000),
        Err(VaultError::WrongPin { tries_left: 2 })
    ));
    assert!(matches!(
        v.check_pin("000000", 2_000),
        Err(VaultError::WrongPin { tries_left: 1 })
    ));
    drop(v);
    let v = Vault::open(dir.path(), s).unwrap();
    assert!(matches!(
        v.check_pin("000000", 3_000),
        Err(VaultError::Throttled { wait_s: 30 })
    ));
    // Even the right PIN waits out the delay.
    assert!(matches!(
        v.check_pin("482915", 10_000),
        Err(VaultError::Throttled { wait_s: 23 })
    ));
    v.check_pin("482915", 33_000).unwrap();
    // A success clears the count.
    assert!(matches!(
        v.check_pin("000000", 34_000),
        Err(VaultError::WrongPin { tries_left: 2 })
    ));
}

#[test]
fn a_backup_restores_every_key_and_credential_into_an_empty_wallet_elsewhere() {
    let home = tempfile::tempdir().unwrap();
    let v = Vault::open(home.path(), store()).unwrap();
    let a = receive(&v, "a", 5, json!({"name": "A"}));
    let b = receive(&v, "b", 1, json!({"name": "B"}));
    v.log(5, json!({"kind": "presented", "to": "Shop"}))
        .unwrap();
    v.set_settings(&json!({"language": "zh-CN"})).unwrap();
    let key_a = v.holder_key(&a.keys[3]).unwrap();
    let file = backup::export(&v, "correct horse battery", 42).unwrap();
    assert!(!contains(&file, b"Shop"));
    assert!(!contains(&file, &key_a.to_seed_bytes()));

    // Another machine: another directory and another keyring.
    let other = tempfile::tempdir().unwrap();
    let s2 = store();
    let r = backup::restore(other.path(), &s2, &file, "correct horse battery", false).unwrap();
    assert_eq!(r.items().unwrap(), vec![a.clone(), b]);
    assert_eq!(
        r.holder_key(&a.keys[3]).unwrap().public_key(),
        key_a.public_key()
    );
    assert_eq!(r.activity().unwrap()[0].entry["to"], "Shop");
    assert_eq!(r.settings().unwrap()["language"], "zh-CN");
}

#[test]
fn a_wrong_passphrase_or_a_damaged_file_changes_nothing() {
    let src = tempfile::tempdir().unwrap();
    let v = Vault::open(src.path(), store()).unwrap();
    receive(&v, "a", 1, json!({}));
    let file = backup::export(&v, "correct horse battery", 1).unwrap();

    let dst = tempfile::tempdir().unwrap();
    let s = store();
    let current = Vault::open(dst.path(), s.clone()).unwrap();
    let mine = receive(&current, "mine", 1, json!({"kept": true}));
    drop(current);
    let before = all_bytes(dst.path());

    let e = backup::restore(dst.path(), &s, &file, "wrong passphrase!", true)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::WrongPassphrase, "{e}");
    let mut damaged = file.clone();
    let mid = damaged.len() / 2;
    damaged[mid] = if damaged[mid] == b'A' { b'B' } else { b'A' };
    let e = backup::restore(dst.path(), &s, &damaged, "correct horse battery", true)
        .err()
        .unwrap();
    assert!(
        matches!(e.kind(), ErrorKind::WrongPassphrase | ErrorKind::BadBackup),
        "{e}"
    );
    let e = backup::restore(dst.path(), &s, b"{\"not\": 1}", "x", true)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::BadBackup);
    assert!(e.to_string().contains("not a wallet backup"), "{e}");

    assert_eq!(all_bytes(dst.path()), before);
    let current = Vault::open(dst.path(), s.clone()).unwrap();
    assert_eq!(current.items().unwrap(), vec![mine]);
    drop(current);

    // A wallet with credentials is replaced only when asked.
    let e = backup::restore(dst.path(), &s, &file, "correct horse battery", false)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NotEmpty);
    let r = backup::restore(dst.path(), &s, &file, "correct horse battery", true).unwrap();
    assert_eq!(r.items().unwrap().len(), 1);
    assert_eq!(r.items().unwrap()[0].id, "a");
}

#[test]
fn replacing_a_wallet_removes_the_old_ones_keys_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    let old = receive(&v, "old", 2, json!({}));
    let file = backup::export(&v, "correct horse battery", 1).unwrap();
    let old_profile = v.profile().to_owned();
    drop(v);
    let r = backup::restore(dir.path(), &s, &file, "correct horse battery", true).unwrap();
    assert_ne!(r.profile(), old_profile);
    let old_keys = wallet_vault::Keyring::new(s.clone(), &old_profile);
    for k in old.keys.iter().map(String::as_str).chain(["data-key"]) {
        assert!(old_keys.get(k).is_err(), "{k} left behind");
    }
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!files.iter().any(|f| f.contains(&old_profile)), "{files:?}");
}

#[test]
fn a_restore_interrupted_before_its_switch_leaves_the_old_wallet_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    let kept = receive(&v, "kept", 1, json!({}));
    let profile = v.profile().to_owned();
    drop(v);
    // A restore that died after building its new profile, before the switch.
    let half = "0f0e0d0c-half-made";
    std::fs::write(
        dir.path().join("switch.json"),
        format!(r#"{{"from":"{profile}","to":"{half}"}}"#),
    )
    .unwrap();
    let partial = wallet_vault::Keyring::new(s.clone(), half);
    partial.put("data-key", &[9; 32]).unwrap();
    std::fs::write(dir.path().join(format!("wallet-{half}.redb")), b"").unwrap();

    let v = Vault::open(dir.path(), s).unwrap();
    assert_eq!(v.profile(), profile);
    assert_eq!(v.items().unwrap(), vec![kept]);
    assert!(partial.get("data-key").is_err());
    assert!(!dir.path().join("switch.json").exists());
    assert!(!dir.path().join(format!("wallet-{half}.redb")).exists());
}

#[test]
fn wiping_removes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    let it = receive(&v, "x", 1, json!({}));
    let kr = wallet_vault::Keyring::new(s.clone(), v.profile());
    drop(v);
    profile::wipe(dir.path(), &s).unwrap();
    assert!(kr.get(&it.keys[0]).is_err());
    assert!(kr.get("data-key").is_err());
    let v = Vault::open(dir.path(), s).unwrap();
    assert!(v.is_empty().unwrap());
}

#[test]
fn an_altered_or_moved_record_is_refused_not_misread() {
    use redb::{ReadableDatabase, TableDefinition};
    const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
    let dir = tempfile::tempdir().unwrap();
    let s = store();
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    receive(&v, "a", 1, json!({"claim": "A"}));
    receive(&v, "b", 1, json!({"claim": "B"}));
    let db_path = dir.path().join(format!("wallet-{}.redb", v.profile()));
    drop(v);

    type Change<'a> = &'a dyn Fn(&mut Vec<u8>, &[u8]) -> (String, Vec<u8>);
    let edit = |f: Change| {
        let db = redb::Database::open(&db_path).unwrap();
        let (a, b) = {
            let tx = db.begin_read().unwrap();
            let t = tx.open_table(ITEMS).unwrap();
            let a = t.get("a").unwrap().unwrap().value().to_vec();
            let b = t.get("b").unwrap().unwrap().value().to_vec();
            (a, b)
        };
        let mut a2 = a.clone();
        let (slot, bytes) = f(&mut a2, &b);
        let tx = db.begin_write().unwrap();
        tx.open_table(ITEMS)
            .unwrap()
            .insert(slot.as_str(), bytes.as_slice())
            .unwrap();
        tx.commit().unwrap();
        a
    };

    // One bit of record a flipped.
    let original = edit(&|a, _| {
        a[40] ^= 1;
        ("a".into(), a.clone())
    });
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    let e = v.item("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(v.items().is_err());
    assert_eq!(v.item("b").unwrap().body["claims"]["claim"], "B");
    drop(v);

    // Record b copied over a's slot: sealed for another place, so refused.
    edit(&|_, b| ("a".into(), b.to_vec()));
    let v = Vault::open(dir.path(), s.clone()).unwrap();
    assert_eq!(v.item("a").unwrap_err().kind(), ErrorKind::Corrupt);
    drop(v);

    // Put back, it reads again.
    edit(&|_, _| ("a".into(), original.clone()));
    let v = Vault::open(dir.path(), s).unwrap();
    assert_eq!(v.item("a").unwrap().body["claims"]["claim"], "A");
}
