//! Differential test: our cached-context `eddsa-rdfc-2022` path and ssi's own agree. A
//! credential signed by ssi verifies with ours, and one signed by ours verifies with ssi.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use did_method::SecretKey;
use serde_json::json;
use ssi::JWK;
use ssi::claims::data_integrity::suites::EdDsaRdfc2022;
use ssi::claims::data_integrity::{CryptographicSuite, DataIntegrity, ProofOptions as SsiOptions};
use ssi::claims::vc::v2::JsonCredential;
use ssi::claims::{SignatureEnvironment, VerificationParameters};
use ssi::dids::{DIDKey, VerificationMethodDIDResolver};
use ssi::verification_methods::{Multikey, ReferenceOrOwned, SingleSecretSigner};
use verifier_lib::contexts::{ALLIANCE_CREDENTIALS_V1, PinnedContexts};
use verifier_lib::dids::did_key;
use verifier_lib::rdfc::{ProofOptions, Rdfc2022};

fn jwk(seed: &[u8; 32]) -> JWK {
    let sk = ed25519_dalek::SigningKey::from_bytes(seed);
    JWK::from(ssi::jwk::Params::OKP(ssi::jwk::OctetParams {
        curve: "Ed25519".to_owned(),
        public_key: ssi::jwk::Base64urlUInt(sk.verifying_key().to_bytes().to_vec()),
        private_key: Some(ssi::jwk::Base64urlUInt(seed.to_vec())),
    }))
}

fn credential(issuer: &str, n: u32) -> serde_json::Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", ALLIANCE_CREDENTIALS_V1],
        "type": ["VerifiableCredential", "DriverLicense"],
        "id": format!("urn:uuid:00000000-0000-4000-8000-{n:012}"),
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhTNL7i2etLerDK8Acz5t528giE5KA4p75T6ka1E1D74r",
            "name": format!("Holder {n}"),
            "address": {"street": "1 Main St", "city": "Springfield"},
            "licenseClass": ["B", "C"],
            "points": n,
        }
    })
}

#[test]
fn ssi_signed_credentials_verify_with_ours_and_ours_with_ssi() {
    let seed = [7u8; 32];
    let ours_key = SecretKey::from_seed(&seed);
    let (did, vm) = did_key(&ours_key.public_key());
    let contexts = PinnedContexts::standard();
    let rdfc = Rdfc2022::new(contexts.clone());
    let resolver = VerificationMethodDIDResolver::<_, Multikey>::new(DIDKey);
    let params =
        VerificationParameters::from_resolver(&resolver).with_json_ld_loader(contexts.clone());
    let key = jwk(&seed);

    for n in 0..5 {
        let unsigned = credential(&did, n);
        // ssi signs, we verify.
        let cred: JsonCredential = serde_json::from_value(unsigned.clone()).unwrap();
        let env = SignatureEnvironment {
            json_ld_loader: contexts.clone(),
            eip712_loader: (),
        };
        let vm_iri = ssi::json_ld::IriBuf::new(vm.clone()).unwrap();
        let signed = pollster::block_on(EdDsaRdfc2022.sign_with(
            env,
            cred,
            &resolver,
            SingleSecretSigner::new(key.clone()),
            SsiOptions::from_method(ReferenceOrOwned::Reference(vm_iri)),
            (),
        ))
        .unwrap();
        let signed_json = serde_json::to_value(&signed).unwrap();
        rdfc.verify(&signed_json, &ours_key.public_key())
            .unwrap_or_else(|e| panic!("ours refused ssi's signature: {e}\n{signed_json:#}"));

        // We sign, ssi verifies.
        let created = signed_json["proof"]["created"].as_str().unwrap().to_owned();
        let ours = rdfc
            .sign(
                &unsigned,
                &ours_key,
                &ProofOptions {
                    verification_method: vm.clone(),
                    proof_purpose: "assertionMethod".into(),
                    created,
                    challenge: None,
                    domain: None,
                    nonce: None,
                },
            )
            .unwrap();
        let parsed: DataIntegrity<JsonCredential, EdDsaRdfc2022> =
            serde_json::from_value(ours.clone()).unwrap();
        let result = pollster::block_on(parsed.verify(&params)).unwrap();
        assert!(result.is_ok(), "ssi refused ours: {result:?}");
        // Same inputs, same deterministic signature.
        assert_eq!(
            ours["proof"]["proofValue"],
            signed_json["proof"]["proofValue"]
        );
    }
}

#[test]
fn presentation_shortcut_equals_whole_document_expansion() {
    // The presentation's dataset built from its parts must be the dataset JSON-LD gives the
    // whole document: same canonical lines, so the same signatures.
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let issuer = SecretKey::from_seed(&[1; 32]);
    let holder = SecretKey::from_seed(&[2; 32]);
    let (issuer_did, issuer_vm) = did_key(&issuer.public_key());
    let (holder_did, holder_vm) = did_key(&holder.public_key());
    let opts = |vm: &str, purpose: &str| ProofOptions {
        verification_method: vm.into(),
        proof_purpose: purpose.into(),
        created: "2025-06-01T00:00:00Z".into(),
        challenge: Some("c".into()),
        domain: Some("d".into()),
        nonce: None,
    };
    let mut creds = vec![];
    for n in 0..3 {
        let mut c = credential(&issuer_did, n);
        c["credentialSubject"]["id"] = json!(holder_did);
        if n == 1 {
            // A bare-v2 credential beside Alliance ones, with a status entry and no subject id.
            c = json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": {"id": issuer_did, "name": "Agency"},
                "validFrom": "2025-01-01T00:00:00Z",
                "credentialSubject": {"id": holder_did},
                "credentialStatus": {"id": "https://i.example/s#5", "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation", "statusListIndex": "5", "statusListCredential": "https://i.example/s"},
            });
        }
        creds.push(
            rdfc.sign(&c, &issuer, &opts(&issuer_vm, "assertionMethod"))
                .unwrap(),
        );
    }
    for (vcs, with_id) in [
        (vec![creds[0].clone()], false),
        (creds.clone(), true),
        (vec![creds[1].clone()], false),
    ] {
        let mut vp = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": holder_did,
            "verifiableCredential": vcs,
        });
        if with_id {
            vp["id"] = json!("urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5");
        }
        let signed = rdfc
            .sign(&vp, &holder, &opts(&holder_vm, "authentication"))
            .unwrap();
        let shortcut = rdfc.canonical_forms(&signed).unwrap();
        let whole = rdfc.canonical_forms_direct(&signed).unwrap();
        assert_eq!(shortcut, whole);
        rdfc.verify(&signed, &holder.public_key()).unwrap();
        // Each credential's own hash data, taken from the presentation's expansion, is the
        // one it has alone.
        let hashes = rdfc.presentation_hashes(&signed).unwrap();
        assert_eq!(hashes.presentation, rdfc.hash_data(&signed).unwrap());
        assert_eq!(hashes.credentials.len(), vcs.len());
        for (vc, h) in vcs.iter().zip(&hashes.credentials) {
            assert_eq!(*h, Some(rdfc.hash_data(vc).unwrap()));
            rdfc.verify_hash(vc, &issuer.public_key(), &h.unwrap())
                .unwrap();
        }
    }
    // A credential with a proof set (two proofs, each its own graph): its hash data is not
    // taken from the presentation's quads, and alone it is refused as a proof set.
    let mut set = creds[0].clone();
    let mut second = set["proof"].clone();
    second["created"] = json!("2025-06-02T00:00:00Z");
    set["proof"] = json!([set["proof"].clone(), second]);
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [creds[0].clone(), set.clone()],
    });
    let signed = rdfc
        .sign(&vp, &holder, &opts(&holder_vm, "authentication"))
        .unwrap();
    let hashes = rdfc.presentation_hashes(&signed).unwrap();
    assert_eq!(
        hashes.credentials[0],
        Some(rdfc.hash_data(&creds[0]).unwrap())
    );
    assert_eq!(hashes.credentials[1], None);
    assert!(matches!(
        rdfc.verify(&set, &issuer.public_key()),
        Err(verifier_lib::rdfc::RdfcError::Malformed(_))
    ));
    // Credentials whose JSON could move quads between their document and their proof
    // configuration are never split from the presentation's quads: explicit blank-node
    // labels, JSON-LD keywords, inline contexts. They are verified on their own.
    let mut blank = credential(&issuer_did, 8);
    blank["credentialSubject"]["id"] = json!("_:c0x0");
    let blank = rdfc
        .sign(&blank, &issuer, &opts(&issuer_vm, "assertionMethod"))
        .unwrap();
    let mut included = creds[0].clone();
    included["proof"]["@included"] = json!([{"type": "DataIntegrityProof"}]);
    let mut inline = creds[0].clone();
    inline["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!({"extra": "https://example.org/extra"}));
    for odd in [blank, included, inline] {
        let vp = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [odd],
        });
        let signed = rdfc
            .sign(&vp, &holder, &opts(&holder_vm, "authentication"))
            .unwrap();
        assert_eq!(
            rdfc.presentation_hashes(&signed).unwrap().credentials,
            vec![None]
        );
    }
    // A precomputed hash never excuses a proof of another kind.
    let mut other = creds[0].clone();
    other["proof"]["cryptosuite"] = json!("ecdsa-rdfc-2019");
    let hash = rdfc.hash_data(&creds[0]).unwrap();
    assert!(matches!(
        rdfc.verify_hash(&other, &issuer.public_key(), &hash),
        Err(verifier_lib::rdfc::RdfcError::Malformed(_))
    ));
    rdfc.verify_hash(&creds[0], &issuer.public_key(), &hash)
        .unwrap();

    // A percent-encoded sequence that is not UTF-8 (json-ld's IRI hashing panics on it) is
    // refused as malformed, never a panic (found by fuzzing).
    let mut bad = creds[0].clone();
    bad["credentialSubject"]["homepage"] = json!("https://example.org/a%de");
    assert!(matches!(
        rdfc.hash_data(&bad),
        Err(verifier_lib::rdfc::RdfcError::Malformed(_))
    ));
    let mut fine = creds[0].clone();
    fine["credentialSubject"]["homepage"] = json!("https://example.org/caf%C3%A9");
    assert!(!matches!(
        rdfc.hash_data(&fine),
        Err(verifier_lib::rdfc::RdfcError::Malformed(_))
    ));

    // A single credential given as an object rather than an array.
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "VerifiablePresentation",
        "verifiableCredential": creds[2].clone(),
    });
    let signed = rdfc
        .sign(&vp, &holder, &opts(&holder_vm, "authentication"))
        .unwrap();
    assert_eq!(
        rdfc.canonical_forms(&signed).unwrap(),
        rdfc.canonical_forms_direct(&signed).unwrap()
    );
}
