//! `alliance-verify` as a user runs it: exit codes, human and JSON verdicts, and the VC-API
//! server over real HTTP on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use did_method::SecretKey;
use serde_json::{Value, json};
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids::did_key;
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};

const BIN: &str = env!("CARGO_BIN_EXE_alliance-verify");

/// A did:key issuer's credential presented by a did:key holder (no registry needed).
fn presentation(challenge: &str) -> Value {
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let issuer = SecretKey::from_seed(&[1; 32]);
    let holder = SecretKey::from_seed(&[2; 32]);
    let (issuer_did, issuer_vm) = did_key(&issuer.public_key());
    let (holder_did, holder_vm) = did_key(&holder.public_key());
    let vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
        "type": ["VerifiableCredential", "LibraryCard"],
        "issuer": issuer_did,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": holder_did, "name": "Ada"},
    });
    let opts = |vm: String, purpose: &str, challenge: Option<String>| ProofOptions {
        verification_method: vm,
        proof_purpose: purpose.into(),
        created: "2025-06-01T00:00:00Z".into(),
        challenge,
        domain: None,
        nonce: None,
    };
    let vc = rdfc
        .sign(&vc, &issuer, &opts(issuer_vm, "assertionMethod", None))
        .unwrap();
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder_did,
        "verifiableCredential": [vc],
    });
    rdfc.sign(
        &vp,
        &holder,
        &opts(holder_vm, "authentication", Some(challenge.into())),
    )
    .unwrap()
}

fn setup() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!({"presentation": presentation("c-1")})).unwrap(),
    )
    .unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"requireAccreditation": false, "requireStatusAnchor": false}"#,
    )
    .unwrap();
    let (f, p) = (
        file.to_string_lossy().into_owned(),
        policy.to_string_lossy().into_owned(),
    );
    (dir, f, p)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn accepts_with_exit_0_and_lists_the_checks() {
    let (_d, file, policy) = setup();
    let (code, out, err) = run(&[
        &file,
        "--policy",
        &policy,
        "--challenge",
        "c-1",
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ACCEPTED"), "{out}");
    assert!(out.contains("issuer_binding"), "{out}");

    let (code, out, _) = run(&[
        &file,
        "--policy",
        &policy,
        "--nonce",
        "c-1",
        "--json",
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"], true);
    assert!(v["errors"].as_array().unwrap().is_empty());
}

#[test]
fn rejects_with_exit_1_and_the_reason() {
    let (_d, file, policy) = setup();
    let (code, out, _) = run(&[
        &file,
        "--policy",
        &policy,
        "--challenge",
        "other",
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("REJECTED"), "{out}");
    assert!(
        out.contains("FAIL  challenge") && out.contains("expected other"),
        "{out}"
    );
    // The default policy requires accreditation: a did:key issuer cannot have it.
    let (code, out, _) = run(&[
        &file,
        "--challenge",
        "c-1",
        "--json",
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["check"] == "accreditation"),
        "{v:#}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let (_d, file, policy) = setup();
    assert_eq!(run(&["/nonexistent/bundle.json"]).0, 2);
    assert_eq!(run(&[&file, "--no-such-flag"]).0, 2);
    assert_eq!(run(&[&file, "--challenge", "a", "--nonce", "b"]).0, 2);
    assert_eq!(run(&[&file, "--at", "yesterday"]).0, 2);
    let bad_policy = format!("{policy}.bad");
    std::fs::write(&bad_policy, r#"{"requireAcreditation": false}"#).unwrap();
    let (code, _, err) = run(&[&file, "--policy", &bad_policy]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown field"), "{err}");
    assert_eq!(run(&["--help"]).0, 0);
    assert_eq!(run(&["serve", "--help"]).0, 0);
}

#[test]
fn serves_the_vc_api_verify_endpoints() {
    let (_d, _file, policy) = setup();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--policy", &policy])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let client = reqwest::Client::new();
        let vp = presentation("c-9");
        let ok = client
            .post(format!("{url}/presentations/verify"))
            .json(&json!({"verifiablePresentation": vp, "options": {"challenge": "c-9"}}))
            .send()
            .await
            .unwrap();
        let ok_status = ok.status().as_u16();
        let ok_body: Value = ok.json().await.unwrap();
        let bad = client
            .post(format!("{url}/presentations/verify"))
            .json(&json!({"verifiablePresentation": vp, "options": {"challenge": "c-10"}}))
            .send()
            .await
            .unwrap();
        let bad_status = bad.status().as_u16();
        let bad_body: Value = bad.json().await.unwrap();
        let dup = client
            .post(format!("{url}/credentials/verify"))
            .header("content-type", "application/json")
            .body(r#"{"verifiableCredential": {}, "verifiableCredential": {}}"#)
            .send()
            .await
            .unwrap();
        let dup_status = dup.status().as_u16();
        let dup_body: Value = dup.json().await.unwrap();
        let vc = vp["verifiableCredential"][0].clone();
        let cred = client
            .post(format!("{url}/credentials/verify"))
            .json(&json!({"verifiableCredential": vc}))
            .send()
            .await
            .unwrap();
        let cred_status = cred.status().as_u16();
        (
            ok_status,
            ok_body,
            bad_status,
            bad_body,
            dup_status,
            dup_body,
            cred_status,
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    let (ok_status, ok_body, bad_status, bad_body, dup_status, dup_body, cred_status) = result;
    assert_eq!(ok_status, 200, "{ok_body:#}");
    assert_eq!(ok_body["verified"], true);
    assert_eq!(bad_status, 400);
    assert!(
        bad_body["errors"].to_string().contains("expected c-10"),
        "{bad_body:#}"
    );
    assert_eq!(dup_status, 400);
    assert!(
        dup_body["errors"]
            .to_string()
            .contains("duplicate JSON key"),
        "{dup_body:#}"
    );
    assert_eq!(
        cred_status, 200,
        "a bare credential verifies on /credentials/verify"
    );
}

/// A frame drawn as a QR code (level M, as the wallet draws it), `module` pixels a module,
/// encoded as PNG or JPEG.
fn qr_image(text: &str, module: u32, format: image::ImageFormat) -> Vec<u8> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(module, module)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A directory of images of `frames`, written out of order under names that do not give the
/// order away, with a repeat of one frame (as a JPEG larger than the side the reader scales
/// images down to, like a camera still) and files holding no frame: a picture with no QR
/// code, a QR code of a link, a text file.
fn frame_dir(frames: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let n = frames.len();
    for (k, i) in (0..n).rev().enumerate() {
        let png = qr_image(&frames[(i + 1) % n], 4, image::ImageFormat::Png);
        std::fs::write(dir.path().join(format!("shot-{k:02}.png")), png).unwrap();
    }
    let again = qr_image(&frames[0], 24, image::ImageFormat::Jpeg);
    std::fs::write(dir.path().join("again.jpg"), again).unwrap();
    let plain = image::GrayImage::from_fn(300, 200, |x, y| image::Luma([((x + y) % 256) as u8]));
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(plain)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    std::fs::write(dir.path().join("holiday.png"), png.into_inner()).unwrap();
    let link = qr_image("https://shop.example/menu", 4, image::ImageFormat::Png);
    std::fs::write(dir.path().join("menu.png"), link).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
    dir
}

fn frames_of(file: &str) -> Vec<String> {
    let bytes = std::fs::read(file).unwrap();
    let frames = verifier_lib::qr_frames::encode(&bytes).unwrap();
    assert!(
        frames.len() >= 2,
        "the test bundle should need several frames"
    );
    frames
}

#[test]
fn a_bundle_read_from_qr_frames_gets_the_files_verdict() {
    let (_d, file, policy) = setup();
    let frames = frames_of(&file);
    let dir = frame_dir(&frames);
    let dir_arg = dir.path().to_string_lossy().into_owned();
    for (challenge, expected) in [("c-1", 0), ("other", 1)] {
        for json in [false, true] {
            let mut common = vec![
                "--policy",
                &policy,
                "--challenge",
                challenge,
                "--at",
                "2026-01-01T00:00:00Z",
            ];
            if json {
                common.push("--json");
            }
            let from_file = run(&[&[file.as_str()], common.as_slice()].concat());
            let from_frames =
                run(&[&["--qr-frames", dir_arg.as_str()], common.as_slice()].concat());
            assert_eq!(from_file.0, expected, "{from_file:?}");
            assert_eq!(from_frames.0, from_file.0, "{from_frames:?}");
            assert_eq!(
                from_frames.1, from_file.1,
                "the same verdict, printed the same"
            );
            // What was skipped is said, and why.
            let notes = &from_frames.2;
            assert!(
                notes.contains("holiday.png: skipped (no QR code found)"),
                "{notes}"
            );
            assert!(
                notes
                    .contains("menu.png: skipped (its QR code is not a presentation bundle frame)"),
                "{notes}"
            );
            assert!(
                notes.contains("notes.txt: skipped (not a PNG or JPEG image)"),
                "{notes}"
            );
            // Every frame image was read, the large JPEG too (scaled down first).
            assert!(
                !notes.contains("shot-") && !notes.contains("again.jpg"),
                "{notes}"
            );
        }
    }
}

#[test]
fn missing_or_mixed_qr_frames_are_usage_errors_naming_the_problem() {
    let (d, file, policy) = setup();
    let frames = frames_of(&file);
    let total = frames.len();
    let args = |dir: &tempfile::TempDir| {
        run(&[
            "--qr-frames",
            &dir.path().to_string_lossy(),
            "--policy",
            &policy,
            "--challenge",
            "c-1",
        ])
    };

    // Frame 2 never photographed.
    let mut without_2 = frames.clone();
    without_2.remove(1);
    let dir = frame_dir(&without_2);
    let (code, out, err) = args(&dir);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "no verdict: {out}");
    assert!(
        err.contains(&format!("frames [2] are missing (of {total})")),
        "{err}"
    );

    // A frame of another bundle among them.
    let other = d.path().join("other.json");
    std::fs::write(
        &other,
        serde_json::to_vec(&json!({"presentation": presentation("c-2")})).unwrap(),
    )
    .unwrap();
    let other_frames = frames_of(&other.to_string_lossy());
    let mut mixed = frames.clone();
    mixed.push(other_frames[1].clone());
    let dir = frame_dir(&mixed);
    let (code, out, err) = args(&dir);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("frames of different bundles are mixed"),
        "{err}"
    );

    // No frame at all, a directory that does not exist, or both a FILE and frames.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "not an image").unwrap();
    let (code, _, err) = args(&empty);
    assert_eq!(code, 2);
    assert!(err.contains("no presentation bundle frame"), "{err}");
    assert_eq!(run(&["--qr-frames", "/nonexistent/frames"]).0, 2);
    let (code, _, err) = run(&[&file, "--qr-frames", &d.path().to_string_lossy()]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn serves_openid4vp_requests_signed_with_the_businesss_key() {
    let d = tempfile::tempdir().unwrap();
    let key = SecretKey::from_seed(&[5; 32]);
    let key_file = d.path().join("shop.key");
    registry_client::files::write_secret_key(&key_file, &key).unwrap();
    let api_key_file = d.path().join("api-key");
    std::fs::write(&api_key_file, "shop-api-key-0123456789\n").unwrap();
    let (k, a) = (key_file.to_str().unwrap(), api_key_file.to_str().unwrap());
    let did = "did:alliance:z6MkShopExample";

    // Flags that cannot work are usage errors, before anything is served.
    let (code, _, err) = run(&["serve", "--oid4vp-did", did]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&[
        "serve",
        "--oid4vp-did",
        did,
        "--oid4vp-key",
        k,
        "--api-key-file",
        a,
        "--public-url",
        "http://shop.example",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--public-url"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--oid4vp-did",
            did,
            "--oid4vp-key",
            k,
        ])
        .args(["--api-key-file", a, "--public-url", &public])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let created: Value = client
            .post(format!("{public}/oid4vp/requests"))
            .bearer_auth("shop-api-key-0123456789")
            .json(&json!({"dcql_query": {"credentials": [{"id": "licence", "format": "ldp_vc",
                "meta": {"type_values": [["https://w3id.org/alliance-id/credentials#DriverLicense"]]}}]}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let link = oid4vp::RequestLink::parse(created["link"].as_str().unwrap_or_default(), &oid4vp::Limits::default()).unwrap();
        let object = client.get(&link.request_uri).send().await.unwrap().bytes().await.unwrap();
        (link, object)
    });
    let _ = child.kill();
    let _ = child.wait();
    let (link, object) = result;
    assert_eq!(link.client_id, format!("decentralized_identifier:{did}"));
    let signed = oid4vp::SignedRequest::parse(&object, &oid4vp::Limits::default()).unwrap();
    signed.verify_signature(&key.public_key()).unwrap();
    assert_eq!(signed.kid, format!("{did}#key-1"));
    assert!(signed.request.response_uri.starts_with(&public));
}
