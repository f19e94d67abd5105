//! The operator CLI as a user runs it: `devnet`, `did create | update | resolve | prove |
//! deactivate`, `issuer accredit`, and `proof verify` with its exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::BIN;
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "alliance-registry {args:?} failed: {err}");
    out
}

fn wait_file(p: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !p.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pid_alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn devnet_did_lifecycle_and_offline_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut devnet = Command::new(BIN)
        .args(["devnet", "--validators", "4", "--dir"])
        .arg(d)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let info_path = d.join("devnet.json");
    wait_file(&info_path, Duration::from_secs(60));
    let info: Value = serde_json::from_slice(&std::fs::read(&info_path).unwrap()).unwrap();
    let api = info["nodes"][0]["api"].as_str().unwrap().to_owned();
    let api3 = info["nodes"][3]["api"].as_str().unwrap().to_owned();
    let registrar = info["registrarKey"].as_str().unwrap().to_owned();
    let genesis = info["genesis"].as_str().unwrap().to_owned();
    // Wait until the devnet commits.
    let deadline = Instant::now() + Duration::from_secs(60);
    while run(&[
        "did",
        "resolve",
        "did:alliance:alliance-devnet:11111111111111111111111",
        "--api",
        &api,
    ])
    .2
    .contains("cannot reach")
    {
        assert!(Instant::now() < deadline, "devnet API never came up");
        std::thread::sleep(Duration::from_millis(200));
    }

    let keys = d.join("issuer-keys.json");
    let keys_s = keys.to_str().unwrap();
    let did = ok(&[
        "did",
        "create",
        "--api",
        &api,
        "--registrar-key",
        &registrar,
        "--key-out",
        keys_s,
        "--service",
        "issuer,OID4VCI,https://issuer.example",
    ])
    .trim()
    .to_owned();
    assert!(did.starts_with("did:alliance:alliance-devnet:"), "{did}");
    // The key file exists, is private, and will not be overwritten.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&keys).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "key file must be private");
    let (code, _, err) = run(&[
        "did",
        "create",
        "--api",
        &api,
        "--registrar-key",
        &registrar,
        "--key-out",
        keys_s,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("refusing to overwrite"), "{err}");

    // Resolve on another node (it may be a block behind).
    let mut resolved = Value::Null;
    for _ in 0..50 {
        let (code, out, _) = run(&["did", "resolve", &did, "--api", &api3]);
        if code == 0 {
            resolved = serde_json::from_str(&out).unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        resolved["didDocument"]["service"][0]["serviceEndpoint"],
        "https://issuer.example"
    );

    // Prove and verify offline.
    let proof = d.join("proof.json");
    ok(&[
        "did",
        "prove",
        &did,
        "--api",
        &api3,
        "--out",
        proof.to_str().unwrap(),
    ]);
    let out = ok(&[
        "proof",
        "verify",
        proof.to_str().unwrap(),
        "--genesis",
        &genesis,
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["valid"], true);

    // A tampered proof fails with exit 1 and a reason.
    let mut p: Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    p["value"]["document"]["service"][0]["serviceEndpoint"] =
        Value::String("https://evil.example".into());
    let tampered = d.join("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec(&p).unwrap()).unwrap();
    let (code, out, _) = run(&[
        "proof",
        "verify",
        tampered.to_str().unwrap(),
        "--genesis",
        &genesis,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("INVALID") && out.contains("Merkle"), "{out}");
    // Under quorum: keep 2 of 4 signatures.
    let mut p: Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    p["certificate"]["signatures"]
        .as_array_mut()
        .unwrap()
        .truncate(2);
    std::fs::write(&tampered, serde_json::to_vec(&p).unwrap()).unwrap();
    let (code, out, _) = run(&[
        "proof",
        "verify",
        tampered.to_str().unwrap(),
        "--genesis",
        &genesis,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("not enough voting power"), "{out}");
    // A checkpoint, checked against the genesis, then used as the anchor.
    let cp = d.join("checkpoint.json");
    ok(&[
        "checkpoint",
        "--api",
        &api,
        "--genesis",
        &genesis,
        "--out",
        cp.to_str().unwrap(),
    ]);
    // A proof from a later block than the checkpoint's (an idle chain makes a block about
    // every 500 ms).
    let fresh = d.join("fresh-proof.json");
    let height_of = |p: &Path| -> u64 {
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["header"]["height"].as_u64().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        ok(&[
            "did",
            "prove",
            &did,
            "--api",
            &api,
            "--out",
            fresh.to_str().unwrap(),
        ]);
        if height_of(&fresh) > height_of(&cp) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chain made no block after the checkpoint"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(&[
        "proof",
        "verify",
        fresh.to_str().unwrap(),
        "--genesis",
        &genesis,
        "--checkpoint",
        cp.to_str().unwrap(),
    ]);
    // A proof older than the checkpoint is refused against it.
    let (code, out, _) = run(&[
        "proof",
        "verify",
        proof.to_str().unwrap(),
        "--genesis",
        &genesis,
        "--checkpoint",
        cp.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    // Another network's genesis.
    let other = tempfile::tempdir().unwrap();
    ok(&[
        "init",
        "--validators",
        "1",
        "--dir",
        other.path().to_str().unwrap(),
    ]);
    let (code, out, _) = run(&[
        "proof",
        "verify",
        proof.to_str().unwrap(),
        "--genesis",
        other.path().join("genesis.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    // Not a proof at all.
    let (code, out, _) = run(&["proof", "verify", &genesis, "--genesis", &genesis]);
    assert_eq!(code, 1);
    assert!(out.contains("not a registry proof"), "{out}");

    // Accredit the issuer (root authority), rotate its key, then deactivate.
    let authority = info["authorityKeys"][0].as_str().unwrap().to_owned();
    ok(&[
        "issuer",
        "accredit",
        &did,
        "--api",
        &api,
        "--authority-key",
        &authority,
        "--type",
        "DriverLicense",
    ]);
    let (code, _, err) = run(&[
        "issuer",
        "accredit",
        &did,
        "--api",
        &api,
        "--authority-key",
        keys_s,
        "--type",
        "X",
    ]);
    assert_eq!(code, 1, "a non-authority cannot accredit: {err}");
    // Governance through the CLI: hand root authority to a new key; the old one loses it.
    let new_root = d.join("new-root.key");
    let new_root_key = did_method::SecretKey::from_seed(&[77; 32]);
    std::fs::write(&new_root, format!("{}\n", new_root_key.to_multibase())).unwrap();
    let authorities = d.join("authorities.json");
    let new_pk = new_root_key.public_key().to_string();
    std::fs::write(
        &authorities,
        format!("[{{\"name\":\"new-root\",\"publicKey\":\"{new_pk}\"}}]"),
    )
    .unwrap();
    ok(&[
        "governance",
        "set-authorities",
        authorities.to_str().unwrap(),
        "--api",
        &api,
        "--threshold",
        "1",
        "--authority-key",
        &authority,
    ]);
    let (code, _, err) = run(&[
        "issuer",
        "withdraw",
        &did,
        "--api",
        &api,
        "--authority-key",
        &authority,
    ]);
    assert_eq!(code, 1, "the replaced authority can no longer act: {err}");
    ok(&[
        "issuer",
        "withdraw",
        &did,
        "--api",
        &api,
        "--authority-key",
        new_root.to_str().unwrap(),
        "--reason",
        "test",
    ]);
    ok(&[
        "did", "update", &did, "--api", &api, "--key", keys_s, "--rotate",
    ]);
    let k: Value = serde_json::from_slice(&std::fs::read(&keys).unwrap()).unwrap();
    assert_eq!(
        k["previousKeys"].as_array().unwrap().len(),
        1,
        "the old key is kept"
    );
    ok(&["did", "deactivate", &did, "--api", &api, "--key", keys_s]);
    let r: Value = serde_json::from_str(&ok(&["did", "resolve", &did, "--api", &api])).unwrap();
    assert_eq!(r["didDocumentMetadata"]["deactivated"], true);
    let (code, _, err) = run(&[
        "did", "update", &did, "--api", &api, "--key", keys_s, "--rotate",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("deactivated"), "{err}");

    // SIGTERM stops the devnet and every node process.
    let pids: Vec<u64> = info["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["pid"].as_u64().unwrap())
        .collect();
    unsafe {
        libc::kill(devnet.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = devnet.try_wait().unwrap() {
            assert!(status.success(), "devnet exit: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "devnet did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    for pid in pids {
        assert!(
            !pid_alive(pid),
            "node {pid} still running after devnet stopped"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_help_everywhere() {
    let (code, _, _) = run(&["did", "create"]);
    assert_eq!(code, 2);
    for sub in [
        &["--help"][..],
        &["init", "--help"],
        &["node", "--help"],
        &["devnet", "--help"],
        &["did", "create", "--help"],
        &["did", "update", "--help"],
        &["did", "deactivate", "--help"],
        &["did", "recover", "--help"],
        &["did", "resolve", "--help"],
        &["did", "prove", "--help"],
        &["issuer", "accredit", "--help"],
        &["governance", "set-validators", "--help"],
        &["governance", "set-authorities", "--help"],
        &["proof", "verify", "--help"],
        &["checkpoint", "--help"],
    ] {
        let (code, out, _) = run(sub);
        assert_eq!(code, 0, "{sub:?}");
        assert!(out.contains("Usage"), "{sub:?}: {out}");
    }
}
