//! OpenID4VP end to end on real processes: a devnet, an agency's issuer, a business running
//! `alliance-verify serve` with its OpenID4VP service under its own registered DID, and a
//! citizen's command-line holder (`alliance-wallet present --request`). The business asks for
//! one claim of a residence permit; the holder proves who asks from the registry, discloses
//! only that claim with the registry proofs stapled; the business sees it verified, and only
//! it. A second answer to the same request, and a credential that cannot answer, are refused.
//! The holder also proves the business's registration as a relying party: before a root
//! authority registers it, and when it asks beyond its registration, the holder warns and
//! answers only when told to anyway.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::{Consortium, Proc, bin, free_port, run};
use serde_json::{Value, json};

const VCT: &str = "urn:alliance:vct:residence-permit";
const API_KEY: &str = "shop-api-key-0123456789abcdef";

/// A request for the residence permit's `claims`.
async fn create_request(base: &str, claims: Value) -> String {
    create_query(
        base,
        json!({"credentials": [
            {"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}, "claims": claims}
        ]}),
    )
    .await
}

async fn create_query(base: &str, query: Value) -> String {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/oid4vp/requests"))
        .bearer_auth(API_KEY)
        .json(&json!({"purpose": "Proof of residence for delivery", "dcql_query": query}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["link"].as_str().unwrap().to_owned()
}

async fn outcome(base: &str, link: &str) -> Value {
    let link = oid4vp::RequestLink::parse(link, &oid4vp::Limits::default()).unwrap();
    let id = link
        .request_uri
        .trim_end_matches("/object")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}/oid4vp/requests/{id}"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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
    let registrar = consortium.info["registrarKey"].as_str().unwrap().to_owned();
    let shop_keys = work.path().join("shop.json");
    let created: Value = serde_json::from_str(&run(Command::new(bin("alliance-registry")).args([
        "did",
        "create",
        "--api",
        &api0,
        "--registrar-key",
        &registrar,
        "--key-out",
        shop_keys.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let did = created["did"].as_str().unwrap().to_owned();
    let api_key_file = work.path().join("api-key");
    std::fs::write(&api_key_file, API_KEY).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(bin("alliance-verify"))
        .args([
            "serve",
            "--port",
            &port.to_string(),
            "--anchor",
            genesis.to_str().unwrap(),
        ])
        .args([
            "--oid4vp-did",
            &did,
            "--oid4vp-key",
            shop_keys.to_str().unwrap(),
        ])
        .args([
            "--public-url",
            &base,
            "--api-key-file",
            api_key_file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _service = Proc(child);

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
    let link = create_request(&base, json!([{"path": ["city"]}])).await;
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
    assert_eq!(outcome(&base, &link).await["state"], "fetched");

    // A root authority registers it for the permit's city and the whole driving licence.
    let authority = net.join("authority-0.key");
    run(Command::new(bin("alliance-registry")).args([
        "relying-party",
        "accredit",
        &did,
        "--api",
        &api0,
        "--authority-key",
        authority.to_str().unwrap(),
        "--scope",
        &format!("{VCT}=city"),
        "--scope",
        "DriverLicense=*",
    ]));

    // The business asks for the city; the citizen answers.
    let link = create_request(&base, json!([{"path": ["city"]}])).await;
    let out = answer(&link);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "{did} asks (its DID document proven by the registry at height"
        )),
        "{said}"
    );
    assert!(
        said.contains("why: Proof of residence for delivery"),
        "{said}"
    );
    assert!(said.contains("shares for \"permit\": city"), "{said}");
    assert!(
        said.contains("registered as a relying party by") && !said.contains("warning"),
        "{said}"
    );
    let o = outcome(&base, &link).await;
    assert_eq!(o["state"], "answered", "{o}");
    assert_eq!(o["outcome"]["accepted"], true, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["permit"][0]["claims"],
        json!({"city": "Hangzhou"})
    );
    assert_eq!(o["outcome"]["claims"]["permit"][0]["type"], VCT);

    // The same request answered again: refused, the verdict unchanged.
    let again = answer(&link);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(
        err.contains("this request has already been answered"),
        "{err}"
    );
    assert_eq!(outcome(&base, &link).await["outcome"]["accepted"], true);

    // Asking beyond the registration (the birth date): a warning naming the claim, nothing
    // sent; the citizen may answer anyway.
    let link = create_request(&base, json!([{"path": ["city"]}, {"path": ["birthdate"]}])).await;
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = outcome(&base, &link).await;
    assert_eq!(o["outcome"]["accepted"], true, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["permit"][0]["claims"]["birthdate"],
        "1990-12-10"
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
    let link = create_query(
        &base,
        json!({"credentials": [{"id": "licence", "format": "ldp_vc",
        "meta": {"type_values": [["https://www.w3.org/2018/credentials#VerifiableCredential",
                                  "https://w3id.org/alliance-id/credentials#DriverLicense"]]},
        "claims": [{"path": ["credentialSubject", "licenseClass"], "values": ["A", "B"]}]}]}),
    )
    .await;
    let out = present(&licence, &link);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = outcome(&base, &link).await;
    assert_eq!(o["outcome"]["accepted"], true, "{o}");
    assert_eq!(
        o["outcome"]["claims"]["licence"][0]["claims"]["licenseClass"],
        "B"
    );

    // A request the permit cannot answer: the holder says so and sends nothing.
    let link = create_request(&base, json!([{"path": ["passport_number"]}])).await;
    let out = answer(&link);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("this credential does not answer the request"),
        "{err}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(outcome(&base, &link).await["state"], "fetched");
}
