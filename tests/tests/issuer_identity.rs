//! Who issues, as a citizen's wallet checks it before it accepts an offer: the issuer's
//! signed metadata, fetched from its web address, verifies with a key of the DID document
//! the registry proves (against the genesis alone), and that document names the same address
//! as its OpenID4VCI service. It stays so through both kinds of key rotation: the metadata
//! is then signed by the new key, and the service is kept.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use std::process::Command;

use did_method::document::Service;
use did_method::state::DidRecord;
use did_method::{Did, DidDocument, Genesis, TrustAnchor};
use e2e::{bin, free_port, run, serve_issuer, start_devnet};
use serde_json::{Value, json};
use wallet_core::Net;
use wallet_core::oid4vci::{self, IssuerMetadata};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_proves_who_serves_at_the_issuers_address() {
    let work = tempfile::tempdir().unwrap();
    let net_dir = work.path().join("net");
    let (_devnet, info) = start_devnet(&net_dir);
    let api = info["nodes"][0]["api"].as_str().unwrap().to_owned();
    let registrar = info["registrarKey"].as_str().unwrap().to_owned();
    let genesis: Genesis =
        serde_json::from_slice(&std::fs::read(net_dir.join("genesis.json")).unwrap()).unwrap();
    let anchor = genesis.trust_anchor();

    // The agency registers its issuer; the address is given with a trailing slash, and the
    // identifier (metadata and DID document alike) is the address without it.
    let issuer_dir = work.path().join("issuer");
    let url = format!("http://127.0.0.1:{}", free_port());
    let init: Value = serde_json::from_str(&run(Command::new(bin("alliance-issuer")).args([
        "init",
        "--dir",
        issuer_dir.to_str().unwrap(),
        "--issuer-url",
        &format!("{url}/"),
        "--registry",
        &api,
        "--registrar-key",
        &registrar,
        "--json",
    ])))
    .unwrap();
    let did = init["did"].as_str().unwrap().to_owned();
    let api_key = init["adminApiKey"].as_str().unwrap().to_owned();
    assert_eq!(init["issuerUrl"], json!(url));
    let mut serving = serve_issuer(&issuer_dir);

    let net = Net::new(&wallet_core::Trust::system()).unwrap();
    let who = WhoIssues {
        net: net.clone(),
        api: api.clone(),
        anchor,
        url: url.clone(),
        did: Did::parse(&did).unwrap(),
    };

    let (m, doc) = who.check().await;
    assert_eq!(m.signed.as_ref().unwrap().kid, format!("{did}#key-1"));
    assert_eq!(
        m.metadata["credential_endpoint"],
        json!(format!("{url}/credential"))
    );
    // Without asking for the JWT, a wallet gets the same parameters as plain JSON.
    let r = reqwest::get(format!("{url}/.well-known/openid-credential-issuer"))
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.json::<Value>().await.unwrap(), m.metadata);
    let key_1 = doc.verification_method[0].public_key_multibase;

    // A routine rotation with the issuer stopped: key-2 signs the metadata, key-1 no longer
    // does (it stays listed for the credentials it signed), and the address is kept.
    drop(serving);
    let r: Value = serde_json::from_str(&run(Command::new(bin("alliance-issuer")).args([
        "rotate-key",
        "--dir",
        issuer_dir.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    assert_eq!(r["verificationMethod"], format!("{did}#key-2"), "{r}");
    serving = serve_issuer(&issuer_dir);
    let (m, doc) = who.check().await;
    let signed = m.signed.as_ref().unwrap();
    assert_eq!(signed.kid, format!("{did}#key-2"));
    assert!(!signed.verify_signature(&key_1));
    assert!(
        doc.verification_method
            .iter()
            .any(|vm| vm.id == format!("{did}#key-1"))
    );

    // A rotation while serving that retires key-2 (after a compromise): the very next
    // metadata is signed by key-3, and a document without key-2 still binds the address.
    let r: Value = reqwest::Client::new()
        .post(format!("{url}/admin/keys/rotate"))
        .bearer_auth(&api_key)
        .json(&json!({"retireOld": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["verificationMethod"], format!("{did}#key-3"), "{r}");
    let (m, doc) = who.check().await;
    assert_eq!(m.signed.as_ref().unwrap().kid, format!("{did}#key-3"));
    assert!(
        !doc.verification_method
            .iter()
            .any(|vm| vm.id == format!("{did}#key-2"))
    );
    drop(serving);
}

/// What the wallet checks, and how.
struct WhoIssues {
    net: Net,
    /// A registry node's API.
    api: String,
    /// The consortium's genesis: all the wallet trusts.
    anchor: TrustAnchor,
    /// The issuer's address, its OpenID4VCI credential issuer identifier.
    url: String,
    did: Did,
}

impl WhoIssues {
    /// The issuer's signed metadata and its DID document proven now, checked to bind each
    /// other: signed by `did`, with a key its document lists for assertion, and the document
    /// names `url` as its `OpenID4VCI` service.
    async fn check(&self) -> (IssuerMetadata, DidDocument) {
        let m = oid4vci::issuer_metadata(&self.net, &self.url)
            .await
            .unwrap();
        assert_eq!(m.credential_issuer, self.url);
        assert_eq!(m.metadata["credential_issuer"], json!(self.url));
        let signed = m.signed.as_ref().expect("the issuer signs its metadata");
        assert_eq!(signed.iss.as_deref(), Some(self.did.to_string().as_str()));
        assert_eq!(signed.did(), self.did.to_string());

        // The document, as the registry proves it against the genesis.
        let proof = self
            .net
            .registry(&self.api)
            .unwrap()
            .prove_did(&self.did, None)
            .await
            .unwrap();
        let entry = proof.verify(&self.anchor).unwrap();
        let record: DidRecord = serde_json::from_value(entry.value.unwrap()).unwrap();
        let doc = record.document;
        assert_eq!(
            doc.service,
            vec![Service {
                id: format!("{}#oid4vci", self.did),
                type_: "OpenID4VCI".into(),
                service_endpoint: self.url.clone(),
            }]
        );
        let vm = doc
            .verification_method
            .iter()
            .find(|vm| vm.id == signed.kid)
            .expect("the signing key is in the proven document");
        assert!(doc.assertion_method.contains(&signed.kid));
        assert!(signed.verify_signature(&vm.public_key_multibase));
        m.check_binding(&doc).unwrap();
        (m, doc)
    }
}

// Process support, as in credential_lifecycle.rs (the e2e library is to hold it once).
