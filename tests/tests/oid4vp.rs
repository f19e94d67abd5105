//! OpenID4VP end to end on real processes: a devnet, an agency's issuer, a business running
//! `alliance-verify serve` with its OpenID4VP service under its own registered DID, and a
//! citizen's command-line holder (`alliance-wallet present --request`). The business asks for
//! one claim of a residence permit; the holder proves who asks from the registry, discloses
//! only that claim with the registry proofs stapled; the business sees it verified, and only
//! it. A second answer to the same request, and a credential that cannot answer, are refused.
//! The holder also proves the business's registration as a relying party: before a root
//! authority registers it, and when it asks beyond its registration, the holder warns and
//! answers only when told to anyway. A holder that does not staple is answered from the
//! registry by the service; an encrypted answer (`direct_post.jwt`) is read as any other; a
//! request signed with a key its business's DID document does not list, and an expired one,
//! are refused by the holder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use std::process::Command;
use std::time::Duration;

use e2e::{Business, Consortium, bin, run};
use serde_json::{Value, json};

const VCT: &str = "urn:alliance:vct:residence-permit";
/// The holder's standard output, once it has succeeded.
fn succeeded(out: &std::process::Output) -> String {
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// What the holder said on standard error, once it has refused.
fn refused(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A request for the residence permit's `claims`: its link and id.
async fn permit_request(shop: &Business, claims: Value) -> (String, String) {
    shop.request(
        "Proof of residence for delivery",
        json!({"credentials": [
            {"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}, "claims": claims}
        ]}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_asks_for_one_claim_and_a_citizen_answers_from_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let net = work.path().join("net");
    let consortium = Consortium::start(&net);
    let api0 = consortium.api(0);
    let genesis = net.join("genesis.json");
    let agency = consortium.agency("Residence Office", &[VCT, "DriverLicense"]);
    agency
        .define(&[
            json!({"id": "ResidencePermit", "format": "dc+sd-jwt", "credentialType": VCT,
                "claims": ["name", "birthdate", "city"], "validityDays": 1825, "name": "Residence permit"}),
            json!({"id": "DriverLicense", "format": "ldp_vc", "credentialType": "DriverLicense",
                "claims": ["name", "licenseClass"], "validityDays": 1825, "name": "Driver licence"}),
        ])
        .await;

    // The citizen receives a permit into the command-line holder.
    let wallet = bin("alliance-wallet");
    let key = work.path().join("holder.key");
    let permit = work.path().join("permit.json");
    run(Command::new(&wallet).args(["new-key", "--out", key.to_str().unwrap()]));
    let (offer, pin) = agency
        .offer_with(
            "ResidencePermit",
            json!({"name": "Ada Example", "birthdate": "1990-12-10", "city": "Hangzhou"}),
        )
        .await;
    run(Command::new(&wallet)
        .args(["receive", &offer, "--tx-code", &pin])
        .args([
            "--key",
            key.to_str().unwrap(),
            "--out",
            permit.to_str().unwrap(),
        ]));

    // The business: its DID on the registry, its service.
    let shop = consortium.business(&work.path().join("shop"));
    let did = shop.did.clone();

    // The holder answers `link` with the credential in `file`.
    let present_with = |file: &std::path::Path, link: &str, extra: &[&str]| {
        Command::new(&wallet)
            .args([
                "present",
                file.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
            ])
            .args([
                "--request",
                link,
                "--anchor",
                genesis.to_str().unwrap(),
                "--registry",
                &api0,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let present = |file: &std::path::Path, link: &str| present_with(file, link, &[]);
    let answer = |link: &str| present(&permit, link);

    // Not yet registered as a relying party: the holder warns and sends nothing.
    let (link, id) = permit_request(&shop, json!([{"path": ["city"]}])).await;
    let out = answer(&link);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains("warning: this business is not registered with the Alliance registry"),
        "{said}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not answered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(shop.outcome(&id).await["state"], "fetched");

    // A root authority registers it for the permit's city and the whole driving licence.
    consortium.register_relying_party(&did, &[&format!("{VCT}=city"), "DriverLicense=*"]);

    // The business asks for the city; the citizen answers.
    let (link, id) = permit_request(&shop, json!([{"path": ["city"]}])).await;
    let said = succeeded(&answer(&link));
    assert!(
        said.contains(&format!(
            "{did} asks (its DID document proven by the registry at height"
        )),
        "{said}"
    );
    assert!(
        said.contains("why: Proof of residence for delivery")
            && said.contains("calls itself: Example Shop"),
        "{said}"
    );
    assert!(said.contains("shares for \"permit\": city"), "{said}");
    assert!(
        said.contains("registered as a relying party by") && !said.contains("warning"),
        "{said}"
    );
    let o = shop.outcome(&id).await;
    assert_eq!(o["state"], "answered", "{o}");
    assert_eq!(o["outcome"]["accepted"], true, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["permit"][0]["claims"],
        json!({"city": "Hangzhou"})
    );
    assert_eq!(o["outcome"]["claims"]["permit"][0]["type"], VCT);

    // The same request answered again: refused, the verdict unchanged.
    let again = answer(&link);
    let err = refused(&again);
    assert!(
        err.contains("this request has already been answered"),
        "{err}"
    );
    assert_eq!(shop.outcome(&id).await["outcome"]["accepted"], true);

    // Asking beyond the registration (the birth date): a warning naming the claim, nothing
    // sent; the citizen may answer anyway.
    let (link, id) =
        permit_request(&shop, json!([{"path": ["city"]}, {"path": ["birthdate"]}])).await;
    let out = answer(&link);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains(&format!(
            "warning: this business is not registered to ask for birthdate of your {VCT}"
        )),
        "{said}"
    );
    let out = present_with(&permit, &link, &["--despite-warnings"]);
    succeeded(&out);
    let o = shop.outcome(&id).await;
    assert_eq!(o["outcome"]["accepted"], true, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["permit"][0]["claims"]["birthdate"],
        "1990-12-10"
    );

    // A wallet built elsewhere answers without stapling: the service fetches the issuer's
    // proofs from the registry and the status list from the issuer's registered address.
    let (link, id) = permit_request(&shop, json!([{"path": ["city"]}])).await;
    let net = wallet_core::Net::new(&wallet_core::Trust::system()).unwrap();
    let signed = wallet_core::oid4vp::fetch_signed(&net, &link)
        .await
        .unwrap();
    let r = &signed.request;
    let stored: Value = serde_json::from_slice(&std::fs::read(&permit).unwrap()).unwrap();
    let holder =
        did_method::SecretKey::from_multibase(std::fs::read_to_string(&key).unwrap().trim())
            .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let sd = wallet_core::present::sd_jwt(
        stored["credential"].as_str().unwrap(),
        Some(&["city"]),
        &holder,
        &r.client_id,
        &r.nonce,
        now,
    )
    .unwrap();
    let mut token = oid4vp::VpToken::default();
    token.0.insert("permit".into(), vec![Value::String(sd)]);
    let form = oid4vp::DirectPost {
        vp_token: token,
        state: r.state.clone(),
        staples: None,
    }
    .to_form();
    let sent = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(&r.response_uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let o = shop.outcome(&id).await;
    assert_eq!(sent.status(), 200, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["permit"][0]["claims"],
        json!({"city": "Hangzhou"})
    );

    // A W3C (Data Integrity) credential: asked by its expanded types, shown whole (it has no
    // selective disclosure).
    let licence = work.path().join("licence.json");
    let (offer, pin) = agency
        .offer_with(
            "DriverLicense",
            json!({"name": "Ada Example", "licenseClass": "B"}),
        )
        .await;
    run(Command::new(&wallet)
        .args(["receive", &offer, "--tx-code", &pin])
        .args([
            "--key",
            key.to_str().unwrap(),
            "--out",
            licence.to_str().unwrap(),
        ]));
    let (link, id) = shop
        .request(
            "Proof of residence for delivery",
            json!({"credentials": [{"id": "licence", "format": "ldp_vc",
        "meta": {"type_values": [["https://www.w3.org/2018/credentials#VerifiableCredential",
                                  "https://w3id.org/alliance-id/credentials#DriverLicense"]]},
        "claims": [{"path": ["credentialSubject", "licenseClass"], "values": ["A", "B"]}]}]}),
        )
        .await;
    let out = present(&licence, &link);
    succeeded(&out);
    let o = shop.outcome(&id).await;
    assert_eq!(o["outcome"]["accepted"], true, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["licence"][0]["claims"]["licenseClass"],
        "B"
    );

    // A request the permit cannot answer: the holder says so and sends nothing.
    let (link, id) = permit_request(&shop, json!([{"path": ["passport_number"]}])).await;
    let out = answer(&link);
    let err = refused(&out);
    assert!(
        err.contains("this credential does not answer the request"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(shop.outcome(&id).await["state"], "fetched");

    // A business that asks for encrypted answers (direct_post.jwt): the holder encrypts to the
    // request's key; the business reads it as any other.
    let sealed = consortium.business_with(&work.path().join("sealed"), &["--oid4vp-encrypted"]);
    consortium.register_relying_party(&sealed.did, &[&format!("{VCT}=city")]);
    let (link, id) = permit_request(&sealed, json!([{"path": ["city"]}])).await;
    let signed = wallet_core::oid4vp::fetch_signed(&net, &link)
        .await
        .unwrap();
    assert_eq!(
        signed.request.response_mode,
        oid4vp::ResponseMode::DirectPostJwt
    );
    let out = answer(&link);
    succeeded(&out);
    let o = sealed.outcome(&id).await;
    assert_eq!(
        o["outcome"]["claims"]["permit"][0]["claims"],
        json!({"city": "Hangzhou"}),
        "{o}"
    );

    // A request signed with a key its DID document does not list (a forged or misconfigured
    // service): the holder refuses it and sends nothing.
    let forged_key = work.path().join("forged.key");
    run(Command::new(&wallet).args(["new-key", "--out", forged_key.to_str().unwrap()]));
    let forger = consortium.business_with(
        &work.path().join("forger"),
        &["--oid4vp-key", forged_key.to_str().unwrap()],
    );
    let (link, id) = permit_request(&forger, json!([{"path": ["city"]}])).await;
    let out = answer(&link);
    let err = refused(&out);
    assert!(
        err.contains("the business's request is not valid") && err.contains("does not verify"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(forger.outcome(&id).await["state"], "fetched");

    // A request that has expired: refused, nothing sent.
    let brief = consortium.business_with(&work.path().join("brief"), &["--request-ttl-s", "1"]);
    let (link, id) = permit_request(&brief, json!([{"path": ["city"]}])).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let out = answer(&link);
    let err = refused(&out);
    assert!(err.contains("expired"), "{err}");
    assert_eq!(brief.outcome(&id).await["state"], "expired");
}
