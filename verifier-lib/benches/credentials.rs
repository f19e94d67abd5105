//! Verification benchmark (release), the verifier's half of the credential bench
//! (docs/benchmarks.md): single-core offline verification of
//! (a) a Data Integrity presentation holding one credential, with its stapled registry proofs
//!     and status list, through `Verifier::verify_bytes`;
//! (b) an SD-JWT VC with a key-binding JWT, with its stapled registry proofs;
//! (c) ssi's own verification of a bare Data Integrity credential of the same shape (the
//!     baseline), and ours of the same bare credential; (a) and (c) take turns in quarter-second
//!     slices, so their ratio is measured under the same machine conditions;
//! (e) one Ed25519 signature check, this machine's yardstick, in turns with (b);
//! (p) the parts of (a), each measured alone.
//! The registry behind the stapled proofs is the node's own code in process
//! (`tests/common`). Ends with `verifier-bench di_vp_per_s=… sdjwt_vp_per_s=… ssi_di_vc_per_s=…`;
//! `scripts/bench-credentials.sh` runs it and the issuance half (d, the `e2e` crate's
//! `issuance` bench) and prints the combined `credential-bench …` line.
//!
//! `cargo bench -p verifier-lib --bench credentials [-- --seconds S] [-- --only a|b|c|e|p[,…]]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use did_method::state::{self, recovery_commitment};
use did_method::*;
use serde_json::{Value, json};
use ssi::claims::VerificationParameters;
use ssi::claims::data_integrity::DataIntegrity;
use ssi::claims::data_integrity::suites::EdDsaRdfc2022;
use ssi::claims::vc::v2::JsonCredential;
use ssi::dids::{DIDKey, VerificationMethodDIDResolver};
use ssi::status::bitstring_status_list::{StatusList, StatusPurpose, TimeToLive};
use ssi::verification_methods::Multikey;
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids::{did_key, jwk_of};
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};
use verifier_lib::{Policy, Verifier, sdjwt};

const LIST: &str = "https://issuer.example/status/1";
const TOKEN_LIST: &str = "https://issuer.example/status/token";

/// The allocator docs/verifier.md advises integrators to use (JSON-LD processing allocates
/// heavily); the ssi baseline (c) runs under the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Runs `f` repeatedly for `secs` seconds on this thread; returns operations per second.
/// With `--only X` (or `--only X,Y`), runs only the measurements whose names start with `(X)`
/// (or `(Y)`), for profiling and for comparing builds.
fn rate(name: &str, secs: f64, f: impl Fn() -> bool) -> f64 {
    let [r] = rates_interleaved([(name, &f)], secs);
    r
}

/// [`rate`] for several measurements at once, taking turns in slices of a quarter second
/// until each had `secs` seconds; returns their rates in order (NaN for those `--only`
/// leaves out).
fn rates_interleaved<const N: usize>(
    measures: [(&str, &dyn Fn() -> bool); N],
    secs: f64,
) -> [f64; N] {
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let run: [bool; N] = std::array::from_fn(|i| {
        only.is_none_or(|o| {
            o.split(',')
                .any(|o| measures[i].0.starts_with(&format!("({o})")))
        })
    });
    for ((name, f), run) in measures.iter().zip(run) {
        for _ in 0..if run { 20 } else { 0 } {
            assert!(f(), "{name}: verification failed");
        }
    }
    let mut n = [0u64; N];
    let mut spent = [Duration::ZERO; N];
    let slice = Duration::from_millis(250);
    while (0..N).any(|i| run[i] && spent[i] < Duration::from_secs_f64(secs)) {
        for (i, (name, f)) in measures.iter().enumerate() {
            if !run[i] {
                continue;
            }
            let start = Instant::now();
            while start.elapsed() < slice {
                assert!(f(), "{name}: verification failed");
                n[i] += 1;
            }
            spent[i] += start.elapsed();
        }
    }
    std::array::from_fn(|i| {
        if !run[i] {
            return f64::NAN;
        }
        let r = n[i] as f64 / spent[i].as_secs_f64();
        println!(
            "{:<48} {r:>10.0}/s  ({:.1} µs each)",
            measures[i].0,
            1e6 / r
        );
        r
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: f64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);

    // The registry: an accredited did:alliance issuer with an anchored status list.
    let chain = Chain::new();
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let issuer_key = sk(10);
    let (issuer, create) = Operation::create_single_key(
        &chain.genesis.chain_id,
        &issuer_key.public_key(),
        recovery_commitment(&sk(11).public_key()),
    );
    chain.block(vec![create.sign(&[&issuer_key, &sk(50)])]);
    let vm = issuer.url("key-1");
    let opts = |vm: &str, purpose: &str, created: u64, challenge: Option<&str>| ProofOptions {
        verification_method: vm.into(),
        proof_purpose: purpose.into(),
        created: rfc3339(created),
        challenge: challenge.map(str::to_owned),
        domain: challenge.map(|_| "verifier.example".to_owned()),
        nonce: None,
    };
    let subject = serde_json::to_value(
        StatusList::from_bytes(vec![0u8; 16 * 1024], TimeToLive::default())
            .to_credential_subject(None, StatusPurpose::Revocation),
    )
    .unwrap();
    let list = rdfc
        .sign(
            &json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "id": LIST,
                "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                "issuer": issuer.to_string(),
                "validFrom": rfc3339(T0),
                "credentialSubject": subject,
            }),
            &issuer_key,
            &opts(&vm, "assertionMethod", T0, None),
        )
        .unwrap();
    let list_text = serde_json::to_string(&list).unwrap();
    // The Token Status List of SD-JWT VCs, as the issuer serves it (131,072 two-bit entries).
    let token_list_text = verifier_lib::token_status::sign(
        &verifier_lib::token_status::TokenClaims {
            iss: &issuer.to_string(),
            sub: TOKEN_LIST,
            iat_s: T0 / 1000,
            exp_s: T0 / 1000 + 86_400,
            ttl_s: 300,
            list: &ssi::status::token_status_list::BitString::new_valid(
                ssi::status::token_status_list::StatusSize::try_from(2u8).unwrap(),
                131_072,
            ),
        },
        &vm,
        &issuer_key,
    )
    .unwrap();
    let ops = vec![
        chain
            .op(
                0,
                OperationBody::AccreditIssuer {
                    issuer: issuer.clone(),
                    credential_types: vec![
                        "DriverLicense".into(),
                        "urn:alliance:vct:driver-license".into(),
                    ],
                    valid_until_ms: None,
                },
            )
            .sign(&[&sk(100)]),
        chain
            .op(
                0,
                OperationBody::AnchorStatusList {
                    issuer: issuer.clone(),
                    list_id: LIST.into(),
                    list_hash: Hash::digest(list_text.as_bytes()),
                },
            )
            .sign(&[&issuer_key]),
        chain
            .op(
                0,
                OperationBody::AnchorStatusList {
                    issuer: issuer.clone(),
                    list_id: TOKEN_LIST.into(),
                    list_hash: Hash::digest(token_list_text.as_bytes()),
                },
            )
            .sign(&[&issuer_key]),
    ];
    let h = chain.block(ops);
    let now = T0 + h * 1000 + 500;
    let proofs: Vec<RegistryProof> = [
        state::did_key(&issuer),
        state::issuer_key(&issuer),
        state::status_key(&issuer, LIST),
        state::status_key(&issuer, TOKEN_LIST),
    ]
    .iter()
    .map(|k| chain.prove(k))
    .collect();

    // (a) Data Integrity presentation bundle.
    let holder_key = sk(20);
    let (holder, holder_vm) = did_key(&holder_key.public_key());
    let credential = |issuer: &str| {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
            "id": "urn:uuid:6f1c1a2e-5d0b-4a57-9b7e-3c1f4a3b2d10",
            "type": ["VerifiableCredential", "DriverLicense"],
            "issuer": issuer,
            "validFrom": rfc3339(T0),
            "validUntil": rfc3339(T0 + 20 * 365 * 86_400_000),
            "credentialSubject": {"id": holder, "name": "Ada Lovelace", "licenseClass": "B",
                                  "birthDate": "1815-12-10", "address": {"locality": "London", "country": "GB"}},
            "credentialStatus": {"id": format!("{LIST}#42"), "type": "BitstringStatusListEntry",
                                 "statusPurpose": "revocation", "statusListIndex": "42", "statusListCredential": LIST},
        })
    };
    let vc = rdfc
        .sign(
            &credential(&issuer.to_string()),
            &issuer_key,
            &opts(&vm, "assertionMethod", T0, None),
        )
        .unwrap();
    let vp = rdfc
        .sign(
            &json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"],
                    "holder": holder, "verifiableCredential": [vc]}),
            &holder_key,
            &opts(&holder_vm, "authentication", now - 1000, Some("c-1")),
        )
        .unwrap();
    let di_bundle = serde_json::to_vec(&json!({
        "presentation": vp, "registryProofs": proofs, "statusLists": {LIST: list_text},
    }))
    .unwrap();
    let policy = Policy {
        challenge: Some("c-1".into()),
        domain: Some("verifier.example".into()),
        ..Policy::default()
    };
    let verifier = Verifier::new(policy.clone(), Some(chain.genesis.trust_anchor()));
    let verify_di = || verifier.verify_bytes(&di_bundle, now).accepted();

    // (a) broken down: where a presentation's time goes.
    {
        let policy = verifier.policy().registry(chain.genesis.trust_anchor());
        rate("(p) part: 3 registry proofs", secs / 2.0, || {
            let mut checks = vec![];
            verifier_lib::RegistryEvidence::verify(&proofs, &policy, now, &mut checks);
            checks
                .iter()
                .all(|c| c.outcome == verifier_lib::Outcome::Pass)
        });
        let list_v: Value = serde_json::from_str(&list_text).unwrap_or_default();
        let ik = issuer_key.public_key();
        rate(
            "(p) part: status list credential signature",
            secs / 2.0,
            || rdfc.verify(&list_v, &ik).is_ok(),
        );
        let vc_v = vp["verifiableCredential"][0].clone();
        rate("(p) part: credential signature", secs / 2.0, || {
            rdfc.verify(&vc_v, &ik).is_ok()
        });
        let hk = holder_key.public_key();
        rate("(p) part: presentation signature", secs / 2.0, || {
            rdfc.verify(&vp, &hk).is_ok()
        });
        rate("(p) part: parse the bundle", secs / 2.0, || {
            verifier_lib::input::parse_json(&di_bundle, verifier_lib::input::Limits::default())
                .is_ok()
        });
    }

    // (b) SD-JWT VC with key binding.
    let claims = json!({
        "iss": issuer.to_string(), "vct": "urn:alliance:vct:driver-license",
        "iat": now / 1000 - 100, "exp": now / 1000 + 86_400,
        "cnf": {"jwk": jwk_of(&holder_key.public_key())},
        "given_name": "Ada", "family_name": "Lovelace", "birthdate": "1815-12-10",
        "status": {"status_list": {"idx": 4242, "uri": TOKEN_LIST}},
    });
    let sd = sdjwt::issue(
        claims.as_object().unwrap(),
        &["/given_name", "/family_name", "/birthdate"],
        &vm,
        &issuer_key,
    )
    .unwrap();
    let presented = sdjwt::present(
        &sd,
        Some(&["given_name", "birthdate"]),
        &holder_key,
        "verifier.example",
        "c-1",
        now / 1000,
    )
    .unwrap();
    let sd_bundle = serde_json::to_vec(&json!({
        "presentation": presented,
        "registryProofs": [&proofs[0], &proofs[1], &proofs[3]],
        "statusLists": {TOKEN_LIST: token_list_text},
    }))
    .unwrap();
    // This machine's yardstick, in turns with (b): (b) checks two signatures (the issuer's
    // and the key-binding JWT's), (a) two as well (credential and presentation) besides the
    // JSON-LD work.
    let yard_key = did_method::SecretKey::from_seed(&[3; 32]);
    let (yard_public, yard_msg) = (
        yard_key.public_key(),
        b"credential-bench yardstick".to_vec(),
    );
    let yard_sig = yard_key.sign(&yard_msg);
    let verify_sd = || verifier.verify_bytes(&sd_bundle, now).accepted();
    let verify_yard = || yard_public.verify(&yard_msg, &yard_sig).is_ok();
    let [sdjwt_rate, yard_rate] = rates_interleaved(
        [
            (
                "(b) SD-JWT VC + key binding + stapled proofs + Token Status List",
                &verify_sd,
            ),
            (
                "(e) one Ed25519 signature check (ZIP 215, ADR 0012)",
                &verify_yard,
            ),
        ],
        secs,
    );
    if sdjwt_rate.is_finite() && yard_rate.is_finite() {
        println!(
            "(b) outside its two signature checks: {:.1} µs",
            1e6 / sdjwt_rate - 2e6 / yard_rate
        );
    }

    // (c) The same credential, issued by a did:key so that ssi can resolve it: ssi vs ours.
    let (key_issuer, key_vm) = did_key(&issuer_key.public_key());
    let bare = rdfc
        .sign(
            &credential(&key_issuer),
            &issuer_key,
            &opts(&key_vm, "assertionMethod", T0, None),
        )
        .unwrap();
    let bare_text = serde_json::to_string(&bare).unwrap();
    let resolver = VerificationMethodDIDResolver::<_, Multikey>::new(DIDKey);
    let contexts = PinnedContexts::standard();
    let params = VerificationParameters::from_resolver(&resolver).with_json_ld_loader(contexts);
    let verify_ssi = || {
        let Ok(vc) =
            serde_json::from_str::<DataIntegrity<JsonCredential, EdDsaRdfc2022>>(&bare_text)
        else {
            return false;
        };
        matches!(pollster::block_on(vc.verify(&params)), Ok(Ok(())))
    };
    // (a) and its baseline (c) take turns in short slices, so that the ratio the issue asks
    // for compares them under the same machine conditions (this machine's neighbours move
    // single measurements by tens of percent within minutes).
    let [di, ssi_rate] = rates_interleaved(
        [
            ("(a) DI presentation + stapled proofs, ours", &verify_di),
            ("(c) bare DI credential, ssi verify (baseline)", &verify_ssi),
        ],
        secs,
    );
    if di.is_finite() && ssi_rate.is_finite() {
        println!(
            "(a)/(c), measured in alternating slices: {:.2}x",
            di / ssi_rate
        );
    }
    let public = issuer_key.public_key();
    rate(
        "(c') bare DI credential, ours (signature only)",
        secs,
        || {
            let v: Value = serde_json::from_str(&bare_text).unwrap_or_default();
            rdfc.verify(&v, &public).is_ok()
        },
    );

    println!(
        "verifier-bench di_vp_per_s={di:.0} sdjwt_vp_per_s={sdjwt_rate:.0} ssi_di_vc_per_s={ssi_rate:.0}"
    );
}
