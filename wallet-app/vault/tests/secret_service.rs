//! The vault on the OS keyring itself: a real Secret Service (gnome-keyring on a private
//! D-Bus session, started by `scripts/with-keyring.sh`, which `scripts/test.sh` runs these
//! under), and the refusal to store keys on a machine that has none.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use std::process::Command;

use serde_json::json;
use wallet_vault::keyring::system_store;
use wallet_vault::{ErrorKind, Item, Vault, backup};

#[test]
fn keys_live_in_the_secret_service_across_connections_and_leave_with_their_credential() {
    if std::env::var_os("ALLIANCE_TEST_SECRET_SERVICE").is_none() {
        eprintln!(
            "no Secret Service here: run under scripts/with-keyring.sh (scripts/test.sh does)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(dir.path(), system_store().unwrap()).unwrap();
    let r = v.reserve_keys(2).unwrap();
    let item = Item {
        id: "licence".into(),
        keys: r.keys.iter().map(|(n, _)| n.clone()).collect(),
        body: json!({"claims": {"name": "Ana"}}),
    };
    let public = r.keys[1].1.public_key();
    v.commit_item(r, &item).unwrap();
    let profile = v.profile().to_owned();
    drop(v);

    // A new connection to the Secret Service (as after a restart) finds the same keys.
    let v = Vault::open(dir.path(), system_store().unwrap()).unwrap();
    assert_eq!(v.profile(), profile);
    assert_eq!(v.holder_key(&item.keys[1]).unwrap().public_key(), public);

    // Backup and restore into another directory on the same keyring service.
    let file = backup::export(&v, "correct horse battery", 1).unwrap();
    let other = tempfile::tempdir().unwrap();
    let r = backup::restore(
        other.path(),
        &system_store().unwrap(),
        &file,
        "correct horse battery",
        false,
    )
    .unwrap();
    assert_eq!(r.holder_key(&item.keys[1]).unwrap().public_key(), public);
    drop(r);

    v.delete_item("licence").unwrap();
    let e = v.holder_key(&item.keys[1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLost, "{e}");
}

#[test]
fn without_a_keyring_service_the_vault_refuses_to_store_keys() {
    if std::env::var_os("ALLIANCE_NO_KEYRING_CHILD").is_some() {
        let Err(e) = system_store() else {
            panic!("a Secret Service was reachable")
        };
        assert_eq!(e.kind(), ErrorKind::NoKeyring, "{e}");
        assert!(e.to_string().contains("will not store keys"), "{e}");
        println!("no-keyring-refused");
        return;
    }
    // In a child process whose environment reaches no session bus.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "without_a_keyring_service_the_vault_refuses_to_store_keys",
            "--nocapture",
        ])
        .env("ALLIANCE_NO_KEYRING_CHILD", "1")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env("XDG_RUNTIME_DIR", empty.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("no-keyring-refused"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
