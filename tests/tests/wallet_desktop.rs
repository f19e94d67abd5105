//! The desktop wallet end to end, used as a person uses it: its real window (WebKitGTK under
//! Xvfb) driven over WebDriver (tauri-driver + WebKitWebDriver), keys in a real Secret
//! Service, against a real devnet of four validators and a real agency issuer, with
//! `alliance-verify` as the business. Run by `scripts/wallet-e2e.sh`, which provides the
//! display, the session bus and the keyring, builds what is needed and ends with
//! `wallet-e2e: N passed, N failed`. Without that environment (plain `cargo test`) it says it
//! is skipped.
//!
//! The story: first start and a PIN → receive a driving licence (Data Integrity) from an
//! offer link with the agency's PIN, after seeing who issues → receive a residence permit
//! (SD-JWT VC, a batch of copies) from the QR image of its offer → present the licence:
//! the saved file and the QR frames (screenshots of each frame, as a camera would see them)
//! are ACCEPTED → present the permit disclosing one claim: ACCEPTED → a business registered
//! as a relying party asks for that claim over OpenID4VP: the consent screen shows who asks
//! and what would be shared, and sharing gets it ACCEPTED → a request opened from outside
//! that asks beyond the registration shows a warning, and declining sends nothing → a request
//! nothing answers is said to be so → the agency revokes
//! the licence; after a refresh the card says revoked → a new presentation is REJECTED →
//! back up → wipe the profile and its keyring entries → restore into the empty wallet, set
//! a new PIN → present the permit: ACCEPTED → no file of the profile holds a key or a claim
//! in plain text. With `ALLIANCE_WALLET_SCREENSHOTS=DIR` every screen is saved there, the
//! main ones in English and Simplified Chinese.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::wallet::{
    LONG, card_id, enter_pin, go_home, home_cards, launch, set_language, wallet_command,
};
use e2e::webdriver::Session;
use e2e::{Consortium, Proc, bin};
use serde_json::{Value, json};

const PIN: &str = "482915";
const NEW_PIN: &str = "864200";
const BACKUP_PASSPHRASE: &str = "river lantern copper 42";

/// Where the story stands, and what it has recorded.
struct Story {
    work: PathBuf,
    shots: Option<PathBuf>,
    passed: Vec<String>,
    failed: Option<(String, String)>,
}

impl Story {
    fn shot_path(&self, name: &str) -> Option<PathBuf> {
        self.shots.as_ref().map(|d| d.join(format!("{name}.png")))
    }
}

async fn shoot(story: &Story, s: &Session, name: &str) {
    if let Some(p) = story.shot_path(name) {
        // Let transitions settle before the picture.
        tokio::time::sleep(Duration::from_millis(400)).await;
        match s.screenshot().await {
            Ok(png) => std::fs::write(&p, png).unwrap(),
            Err(e) => eprintln!("screenshot {name}: {e}"),
        }
    }
}

/// Screenshots of the current screen in both languages (back to English after).
async fn shoot_both(story: &Story, s: &Session, name: &str) {
    if story.shots.is_none() {
        return;
    }
    shoot(story, s, &format!("{name}.en")).await;
    if set_language(s, "zh-CN").await.is_ok() {
        shoot(story, s, &format!("{name}.zh-CN")).await;
        let _ = set_language(s, "en").await;
    }
}

/// `alliance-verify` on `args`; its exit code and output.
fn verify(args: &[&str]) -> (i32, String) {
    let out = Command::new(bin("alliance-verify"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Receives an offer: by its link, or (`qr`) by the QR image of it.
async fn receive(
    story: &Story,
    s: &Session,
    link: &str,
    pin: &str,
    qr: Option<&Path>,
    shots: &str,
) -> Result<(), String> {
    go_home(s).await?;
    s.click("[data-testid=add-button]").await?;
    match qr {
        Some(png) => {
            s.choose_file("[data-testid=qr-file]", png.to_str().unwrap())
                .await?
        }
        None => {
            s.type_into("[data-testid=offer-link-input]", link).await?;
            s.click("[data-testid=offer-inspect]").await?;
        }
    }
    s.wait("[data-testid=issuer-block]", LONG).await?;
    // Who issues, proven: registered, accredited, and its address bound to its DID.
    s.wait("[data-testid=issuer-registered]", LONG).await?;
    s.wait("[data-testid=issuer-accredited]", LONG).await?;
    let url = s.wait("[data-testid=issuer-url]", LONG).await?;
    if s.attribute(&url, "data-ok").await?.as_deref() != Some("true") {
        return Err("the issuer's address is not shown as confirmed".into());
    }
    shoot_both(story, s, &format!("{shots}-preview")).await;
    s.type_into("[data-testid=tx-code-input]", pin).await?;
    s.click("[data-testid=offer-accept]").await?;
    s.wait("[data-testid=claims]", LONG).await?;
    shoot_both(story, s, &format!("{shots}-details")).await;
    Ok(())
}

/// Presents the card titled `title` for `challenge`/`audience`, ticking `reveal`; returns
/// the saved file and the directory of QR frame screenshots.
async fn present(
    story: &Story,
    s: &Session,
    title: &str,
    reveal: &[&str],
    challenge: &str,
    audience: &str,
    shots: Option<&str>,
) -> Result<(String, PathBuf), String> {
    go_home(s).await?;
    let id = card_id(s, title).await?;
    s.click(&format!("[data-card-id=\"{id}\"] [data-testid=card-open]"))
        .await?;
    s.click("[data-testid=present-button]").await?;
    for r in reveal {
        s.click(&format!("[data-testid=reveal-{r}]")).await?;
    }
    s.type_into("[data-testid=challenge-input]", challenge)
        .await?;
    s.type_into("[data-testid=audience-input]", audience)
        .await?;
    s.click("[data-testid=present-next]").await?;
    s.wait("[data-testid=present-summary]", LONG).await?;
    if let Some(n) = shots {
        shoot_both(story, s, &format!("{n}-confirm")).await;
    }
    s.click("[data-testid=present-confirm]").await?;
    s.wait("[data-testid=qr-frame]", LONG).await?;
    if let Some(n) = shots {
        shoot_both(story, s, &format!("{n}-qr")).await;
    }
    // The QR frames as a business's camera sees them: one picture per frame.
    s.click("[data-testid=qr-pause]").await?;
    let counter = s.text_of("[data-testid=frame-counter]").await?;
    let total: usize = counter
        .rsplit(['/', ' '])
        .find_map(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("cannot read the frame counter {counter:?}"))?;
    let frames = story.work.join(format!("frames-{challenge}"));
    std::fs::create_dir_all(&frames).unwrap();
    for i in 0..total {
        let f = s.wait("[data-testid=qr-frame]", LONG).await?;
        s.scroll_into_view(&f).await?;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = s.element_screenshot(&f).await?;
        std::fs::write(frames.join(format!("frame-{i:03}.png")), png).unwrap();
        s.click("[data-testid=qr-next]").await?;
    }
    s.click("[data-testid=save-presentation]").await?;
    let path = s.wait("[data-testid=saved-path]", LONG).await?;
    let path = s.text(&path).await?.trim().to_owned();
    let path = path
        .split_whitespace()
        .find(|w| w.starts_with('/'))
        .unwrap_or(&path)
        .to_owned();
    Ok((path, frames))
}

macro_rules! step {
    ($story:expr, $name:expr, $body:expr) => {{
        if $story.failed.is_none() {
            eprintln!("wallet-e2e: {} …", $name);
            let outcome = tokio::time::timeout(Duration::from_secs(300), $body).await;
            match outcome {
                Ok(Ok(())) => {
                    eprintln!("wallet-e2e: ok    {}", $name);
                    $story.passed.push($name.to_string());
                }
                Ok(Err(e)) => {
                    eprintln!("wallet-e2e: FAIL  {}: {e}", $name);
                    $story.failed = Some(($name.to_string(), e));
                }
                Err(_) => {
                    eprintln!("wallet-e2e: FAIL  {}: timed out", $name);
                    $story.failed = Some(($name.to_string(), "timed out".into()));
                }
            }
        }
    }};
}

/// How many entries the wallet has in the Secret Service.
fn keyring_entries() -> Result<usize, String> {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", wallet_vault::keyring::SERVICE])
        .output()
        .map_err(|e| format!("secret-tool: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(text.lines().filter(|l| l.starts_with("[/")).count())
}

/// Removes every entry the wallet has in the Secret Service (as a reset keyring does).
fn clear_keyring() -> Result<(), String> {
    let out = Command::new("secret-tool")
        .args(["clear", "service", wallet_vault::keyring::SERVICE])
        .output()
        .map_err(|e| format!("secret-tool: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(())
}

/// On the restore screen: the backup file made earlier, and its passphrase.
async fn fill_restore_form(s: &Session, work: &Path) -> Result<(), String> {
    let backup = files_under(&work.join("Documents"))
        .into_iter()
        .find(|p| p.to_string_lossy().contains("alliance-wallet-backup-"))
        .ok_or("the backup file is gone")?;
    s.choose_file("[data-testid=restore-file]", backup.to_str().unwrap())
        .await?;
    s.type_into("[data-testid=restore-passphrase]", BACKUP_PASSPHRASE)
        .await?;
    Ok(())
}

fn signal(sig: &str, pid: &str) {
    let _ = Command::new("kill").args([sig, pid]).status();
}

/// What a desktop runs when the citizen clicks a link in a browser or an e-mail: a second
/// launch of the wallet with the link, which hands it to the running one and exits.
fn open_from_outside(work: &Path, net: &Path, link: &str) -> Result<(), String> {
    let second = wallet_command(work, &net.join("devnet.json"))
        .arg(link)
        .output()
        .map_err(|e| e.to_string())?;
    if !second.status.success() {
        return Err(format!(
            "the second launch failed: {}",
            String::from_utf8_lossy(&second.stderr)
        ));
    }
    Ok(())
}

/// The QR image of a link (an offer, or a business's request), as a desk or a screen shows it.
fn link_qr(link: &str, path: &Path) {
    let code = qrcode::QrCode::new(link.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(6, 6)
        .build();
    image::DynamicImage::ImageLuma8(img).save(path).unwrap();
}

fn issued_id(issued: &Value, format: &str) -> String {
    issued
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["format"] == format)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every secret a profile keeps in the keyring, read back from the Secret Service.
fn profile_secrets(dir: &Path) -> Vec<Vec<u8>> {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};
    const KEYS: TableDefinition<&str, &str> = TableDefinition::new("keys");
    let profile: Value =
        serde_json::from_slice(&std::fs::read(dir.join("profile.json")).unwrap()).unwrap();
    let id = profile["profile"].as_str().unwrap();
    let db = redb::Database::open(dir.join(format!("wallet-{id}.redb"))).unwrap();
    let tx = db.begin_read().unwrap();
    let names: Vec<String> = tx
        .open_table(KEYS)
        .unwrap()
        .iter()
        .unwrap()
        .map(|r| r.unwrap().0.value().to_owned())
        .chain(["data-key".to_owned()])
        .collect();
    let kr = wallet_vault::Keyring::new(wallet_vault::keyring::system_store().unwrap(), id);
    names.iter().map(|n| kr.get(n).unwrap().to_vec()).collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const PERMIT_VCT: &str = "urn:alliance:vct:residence-permit";

/// A DCQL query for the residence permit's `claims`.
fn permit_query(claims: &[&str]) -> Value {
    let claims: Vec<Value> = claims.iter().map(|c| json!({"path": [c]})).collect();
    json!({"credentials": [
        {"id": "permit", "format": "dc+sd-jwt", "meta": {"vct_values": [PERMIT_VCT]}, "claims": claims}
    ]})
}

fn main() {
    if std::env::var_os("ALLIANCE_WALLET_E2E").is_none() {
        println!(
            "wallet_desktop: skipped (scripts/wallet-e2e.sh runs it with a display, a Secret Service and tauri-driver)"
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let story = rt.block_on(story());
    // Steps after a failed one do not run; they count as failed.
    let total = 21;
    let failed = total.max(story.passed.len()) - story.passed.len();
    if let Some((step, why)) = &story.failed {
        eprintln!("wallet-e2e: the step that failed: {step}: {why}");
    }
    println!("wallet-e2e: {} passed, {failed} failed", story.passed.len());
    if failed > 0 {
        std::process::exit(1);
    }
}

async fn story() -> Story {
    let work = tempfile::tempdir().unwrap().keep();
    let shots = std::env::var_os("ALLIANCE_WALLET_SCREENSHOTS").map(PathBuf::from);
    if let Some(d) = &shots {
        std::fs::create_dir_all(d).unwrap();
    }
    let mut st = Story {
        work: work.clone(),
        shots,
        passed: vec![],
        failed: None,
    };

    // The consortium and the agency (not steps: if these fail, nothing can run).
    let net = work.join("net");
    let consortium = Consortium::start(&net);
    let issuer = consortium.agency(
        "Transport Agency",
        &["DriverLicense", "urn:alliance:vct:residence-permit"],
    );
    let admin = issuer.api.clone();
    admin
        .define(&[
            json!({"id": "DriverLicense", "format": "ldp_vc", "credentialType": "DriverLicense", "claims": ["name", "licenseClass"], "validityDays": 1825, "name": "Driver licence"}),
            json!({"id": "ResidencePermit", "format": "dc+sd-jwt", "credentialType": "urn:alliance:vct:residence-permit", "claims": ["name", "birthdate", "city"], "validityDays": 1825, "name": "Residence permit"}),
            json!({"id": "LibraryCard", "format": "ldp_vc", "credentialType": "LibraryCard", "claims": ["name", "cardNumber"], "validityDays": 365, "name": "Library card"}),
        ])
        .await;
    let network = net.join("devnet.json");
    let mut drivers: Vec<Proc> = vec![];
    let genesis = net.join("genesis.json");
    let genesis = genesis.to_str().unwrap().to_owned();
    let wallet_dir = work.join("wallet");

    let mut session = match launch(&work, &network, &mut drivers).await {
        Ok(s) => Some(s),
        Err(e) => {
            st.failed = Some(("start the wallet".into(), e.into()));
            None
        }
    };
    let (licence_link, licence_pin) = admin
        .offer_with(
            "DriverLicense",
            json!({"name": "Ada Lovelace-Example", "licenseClass": "B"}),
        )
        .await;
    let (permit_link, permit_pin) = admin
        .offer_with("ResidencePermit", json!({"name": "Ada Lovelace-Example", "birthdate": "1990-12-10", "city": "Hangzhou-Example"}))
        .await;
    let qr = work.join("permit-offer.png");
    link_qr(&permit_link, &qr);
    // A business registered to ask for the permit's city only.
    let shop = consortium.business(&work.join("shop"));
    consortium.register_relying_party(&shop.did, &[&format!("{PERMIT_VCT}=city")]);

    if let Some(s) = session.as_ref() {
        step!(st, "first start: choose a PIN", async {
            s.wait("[data-testid=pin-input]", LONG).await?;
            shoot_both(&st, s, "01-first-start").await;
            enter_pin(s, PIN, true).await?;
            s.wait("[data-testid=empty-state]", LONG).await?;
            shoot_both(&st, s, "02-home-empty").await;
            Ok(())
        });
        step!(
            st,
            "receive a driving licence (Data Integrity) from an offer link, after seeing who issues",
            async { receive(&st, s, &licence_link, &licence_pin, None, "03-licence").await }
        );
        step!(
            st,
            "receive a residence permit (SD-JWT VC, a batch of copies) from the QR image of its offer",
            async {
                receive(&st, s, &permit_link, &permit_pin, Some(&qr), "04-permit").await?;
                let copies = s.text_of("[data-testid=copies-left]").await?;
                if !copies.contains('5') {
                    return Err(format!("expected 5 copies, the screen says {copies:?}"));
                }
                Ok(())
            }
        );
        step!(st, "the home screen shows both cards, valid", async {
            go_home(s).await?;
            for t in ["Driver licence", "Residence permit"] {
                let id = card_id(s, t).await?;
                s.wait(&format!("[data-card-id=\"{id}\"][data-status=valid]"), LONG)
                    .await?;
            }
            shoot_both(&st, s, "05-home").await;
            Ok(())
        });
        step!(
            st,
            "an offer link opened from outside reaches the running wallet (a second launch hands it over)",
            async {
                let (link, pin) = admin
                    .offer_with(
                        "LibraryCard",
                        json!({"name": "Ada Lovelace-Example", "cardNumber": "L-1815"}),
                    )
                    .await;
                go_home(s).await?;
                open_from_outside(&work, &net, &link)?;
                s.wait("[data-testid=issuer-block]", LONG).await?;
                s.wait("[data-testid=issuer-accredited]", LONG).await?;
                s.type_into("[data-testid=tx-code-input]", &pin).await?;
                s.click("[data-testid=offer-accept]").await?;
                s.wait("[data-testid=claims]", LONG).await?;
                go_home(s).await?;
                card_id(s, "Library card")
                    .await
                    .map(|_| ())
                    .map_err(String::from)
            }
        );
        step!(
            st,
            "present the licence: the saved file and the QR frames are ACCEPTED by alliance-verify",
            async {
                let (file, frames) = present(
                    &st,
                    s,
                    "Driver licence",
                    &[],
                    "counter-7731",
                    "shop.example",
                    Some("06-present-licence"),
                )
                .await?;
                for input in [
                    vec![file.as_str()],
                    vec!["--qr-frames", frames.to_str().unwrap()],
                ] {
                    let mut args = input.clone();
                    args.extend([
                        "--anchor",
                        &genesis,
                        "--challenge",
                        "counter-7731",
                        "--domain",
                        "shop.example",
                    ]);
                    let (code, out) = verify(&args);
                    if code != 0 {
                        return Err(format!("alliance-verify {input:?} exited {code}: {out}"));
                    }
                }
                Ok(())
            }
        );
        step!(
            st,
            "present the permit disclosing only the city: ACCEPTED, and the name is not in it",
            async {
                let (file, _) = present(
                    &st,
                    s,
                    "Residence permit",
                    &["city"],
                    "n-20261207",
                    "bank.example",
                    Some("07-present-permit"),
                )
                .await?;
                let (code, out) = verify(&[
                    &file,
                    "--anchor",
                    &genesis,
                    "--nonce",
                    "n-20261207",
                    "--aud",
                    "bank.example",
                    "--json",
                ]);
                if code != 0 {
                    return Err(format!("exited {code}: {out}"));
                }
                // What the business received: the disclosed claims of the presentation.
                let bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
                let sd = bundle["presentation"].as_str().unwrap_or_default();
                let shown = verifier_lib::sdjwt::disclosed_claims(sd).map_err(|e| e.to_string())?;
                if shown.get("city").and_then(Value::as_str) != Some("Hangzhou-Example")
                    || shown.contains_key("name")
                    || shown.contains_key("birthdate")
                {
                    return Err(format!("wrong disclosure: {shown:?}"));
                }
                Ok(())
            }
        );
        step!(
            st,
            "a registered business asks for the permit's city (OpenID4VP, a picture of its QR code): the wallet shows who asks and what it would share; Share sends only the city",
            async {
                let (link, id) = shop
                    .request("Delivery: proof of your city", permit_query(&["city"]))
                    .await;
                // Cross-device: the business's screen shows the request as a QR code, and the
                // citizen gives the wallet a picture of it.
                let qr = work.join("request.png");
                link_qr(&link, &qr);
                go_home(s).await?;
                s.click("[data-testid=add-button]").await?;
                s.choose_file("[data-testid=qr-file]", qr.to_str().unwrap())
                    .await?;
                s.wait("[data-testid=request-screen]", LONG).await?;
                s.wait("[data-testid=requester-rp]", LONG).await?;
                for absent in ["requester-warning", "option-warning"] {
                    if s.find(&format!("[data-testid={absent}]")).await.is_some() {
                        return Err(format!(
                            "a warning ({absent}) for a request within the registration"
                        ));
                    }
                }
                let shares = s.text_of("[data-testid=request-shares]").await?;
                if !shares.to_lowercase().contains("city")
                    || shares.to_lowercase().contains("birth")
                {
                    return Err(format!("the screen says it would share: {shares}"));
                }
                let name = s.text_of("[data-testid=requester-name]").await?;
                if !name.contains("Example Shop") {
                    return Err(format!("the name shown: {name}"));
                }
                let purpose = s.text_of("[data-testid=request-purpose]").await?;
                if !purpose.contains("Delivery: proof of your city") {
                    return Err(format!("the purpose shown: {purpose}"));
                }
                shoot_both(&st, s, "13-request-consent").await;
                s.click("[data-testid=request-share]").await?;
                s.wait("[data-testid=request-sent]", LONG).await?;
                s.click("[data-testid=request-done]").await?;
                let o = shop.outcome(&id).await;
                if o["outcome"]["accepted"] != true
                    || o["outcome"]["claims"]["permit"][0]["claims"]
                        != json!({"city": "Hangzhou-Example"})
                {
                    return Err(format!("the business's verdict: {o}"));
                }
                Ok(())
            }
        );
        step!(
            st,
            "a request opened from outside that asks beyond the business's registration is warned about in words; Decline sends nothing",
            async {
                let (link, id) = shop
                    .request(
                        "Delivery: proof of your city",
                        permit_query(&["city", "birthdate"]),
                    )
                    .await;
                go_home(s).await?;
                open_from_outside(&work, &net, &link)?;
                for at in ["requester-warning", "option-warning"] {
                    let warning = s.wait(&format!("[data-testid={at}]"), LONG).await?;
                    let text = s.text(&warning).await?.to_lowercase();
                    if !text.contains("not registered to ask for") || !text.contains("birth") {
                        return Err(format!("the warning ({at}) says: {text}"));
                    }
                }
                shoot_both(&st, s, "14-request-warning").await;
                s.click("[data-testid=request-decline]").await?;
                s.wait("[data-testid=add-button]", LONG).await?;
                let state = shop.outcome(&id).await["state"].clone();
                if state != "fetched" {
                    return Err(format!("after declining, the request is {state}"));
                }
                Ok(())
            }
        );
        step!(
            st,
            "a request no credential answers: the wallet says so, offers no Share, and sends nothing",
            async {
                let query = json!({"credentials": [{"id": "passport", "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["urn:alliance:vct:passport"]}}]});
                let (link, id) = shop.request("Identity check", query).await;
                go_home(s).await?;
                s.click("[data-testid=add-button]").await?;
                s.type_into("[data-testid=offer-link-input]", &link).await?;
                s.click("[data-testid=offer-inspect]").await?;
                s.wait("[data-testid=request-unmet]", LONG).await?;
                if s.find("[data-testid=request-share]").await.is_some() {
                    return Err("a Share button for a request nothing answers".into());
                }
                s.click("[data-testid=request-decline]").await?;
                s.wait("[data-testid=add-button]", LONG).await?;
                let state = shop.outcome(&id).await["state"].clone();
                if state != "fetched" {
                    return Err(format!("after declining, the request is {state}"));
                }
                Ok(())
            }
        );
        step!(
            st,
            "the activity log says what was received and shared with whom",
            async {
                go_home(s).await?;
                s.click("[data-testid=activity-button]").await?;
                let list = s.wait("[data-testid=activity-list]", LONG).await?;
                let text = s.text(&list).await?;
                for want in ["bank.example", "shop.example", "Transport Agency"] {
                    if !text.contains(want) {
                        return Err(format!("the log does not mention {want}: {text}"));
                    }
                }
                shoot_both(&st, s, "08-activity").await;
                Ok(())
            }
        );
        step!(
            st,
            "the agency revokes the licence: after a refresh the card says revoked",
            async {
                let issued = admin.get_admin("/admin/issued").await;
                let id = issued_id(&issued, "ldp_vc");
                let (code, v) = admin
                    .admin(
                        &format!("/admin/issued/{id}/revoke"),
                        json!({"reason": "e2e"}),
                    )
                    .await;
                if code != 200 {
                    return Err(format!("revoke: {code} {v}"));
                }
                go_home(s).await?;
                let card = card_id(s, "Driver licence").await?;
                for _ in 0..20 {
                    s.click("[data-testid=refresh-status]").await?;
                    if s.wait(
                        &format!("[data-card-id=\"{card}\"][data-status=revoked]"),
                        Duration::from_secs(5),
                    )
                    .await
                    .is_ok()
                    {
                        shoot_both(&st, s, "09-home-revoked").await;
                        return Ok(());
                    }
                }
                Err("the card never said revoked".into())
            }
        );
        step!(
            st,
            "a new presentation of the revoked licence is REJECTED",
            async {
                let (file, _) = present(
                    &st,
                    s,
                    "Driver licence",
                    &[],
                    "counter-7732",
                    "shop.example",
                    None,
                )
                .await?;
                let (code, out) = verify(&[
                    &file,
                    "--anchor",
                    &genesis,
                    "--challenge",
                    "counter-7732",
                    "--domain",
                    "shop.example",
                ]);
                if code != 1 || !out.contains("revoked") {
                    return Err(format!(
                        "expected a rejection for revocation, got {code}: {out}"
                    ));
                }
                Ok(())
            }
        );
        step!(st, "back up with a passphrase", async {
            go_home(s).await?;
            s.click("[data-testid=backup-button]").await?;
            s.type_into("[data-testid=backup-passphrase]", BACKUP_PASSPHRASE)
                .await?;
            s.type_into("[data-testid=backup-passphrase-2]", BACKUP_PASSPHRASE)
                .await?;
            shoot_both(&st, s, "10-backup").await;
            s.click("[data-testid=backup-create]").await?;
            let p = s.wait("[data-testid=backup-path]", LONG).await?;
            let text = s.text(&p).await?;
            if !text.contains("alliance-wallet-backup-") {
                return Err(format!("no backup path shown: {text}"));
            }
            Ok(())
        });
    }
    if let Some(s) = session.take() {
        s.quit().await;
    }
    step!(
        st,
        "a receive killed half-way (the issuer hung, the app killed) leaves no card and no key",
        async {
            let s = launch(&work, &network, &mut drivers).await?;
            s.wait("[data-testid=pin-input]", LONG).await?;
            enter_pin(&s, PIN, false).await?;
            go_home(&s).await?;
            let cards_before = home_cards(&s).await?;
            let keys_before = keyring_entries()?;
            let (link, pin) = admin
                .offer_with(
                    "LibraryCard",
                    json!({"name": "Ada Lovelace-Example", "cardNumber": "L-2024"}),
                )
                .await;
            s.click("[data-testid=add-button]").await?;
            s.type_into("[data-testid=offer-link-input]", &link).await?;
            s.click("[data-testid=offer-inspect]").await?;
            s.wait("[data-testid=issuer-block]", LONG).await?;
            s.type_into("[data-testid=tx-code-input]", &pin).await?;
            // The issuer stops answering; the wallet has made its keys and waits on it.
            let issuer_pid = issuer.pid().ok_or("the issuer is not serving")?.to_string();
            signal("-STOP", &issuer_pid);
            s.click("[data-testid=offer-accept]").await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let during = keyring_entries()?;
            let _ = Command::new("pkill")
                .args(["-9", "-f", "alliance-wallet-desktop"])
                .status();
            signal("-CONT", &issuer_pid);
            drop(s);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let s = launch(&work, &network, &mut drivers).await?;
            s.wait("[data-testid=pin-input]", LONG).await?;
            enter_pin(&s, PIN, false).await?;
            go_home(&s).await?;
            let cards_after = home_cards(&s).await?;
            let keys_after = keyring_entries()?;
            s.quit().await;
            if during <= keys_before {
                return Err(format!(
                    "the receive had not made its keys when the app was killed ({during} entries, {keys_before} before)"
                ));
            }
            if cards_after != cards_before || keys_after != keys_before {
                return Err(format!(
                    "after the crash: {cards_after} cards (was {cards_before}), {keys_after} keyring entries (was {keys_before})"
                ));
            }
            Ok(())
        }
    );
    step!(
        st,
        "the keyring loses the wallet's key: the app says so, and the backup brings every credential back",
        async {
            // A reset keyring: the wallet's folder is intact, its keys are not.
            clear_keyring()?;
            let s = launch(&work, &network, &mut drivers).await?;
            s.wait("[data-testid=key-lost]", LONG).await?;
            shoot_both(&st, &s, "10-key-lost").await;
            s.click("[data-testid=key-lost-restore]").await?;
            fill_restore_form(&s, &work).await?;
            // What cannot be read is replaced only with the holder's consent.
            s.click("[data-testid=restore-replace]").await?;
            s.click("[data-testid=restore-submit]").await?;
            s.wait("[data-testid=pin-input-2]", LONG).await?;
            enter_pin(&s, PIN, true).await?;
            go_home(&s).await?;
            let back = (
                card_id(&s, "Driver licence").await,
                card_id(&s, "Residence permit").await,
            );
            s.quit().await;
            back.0?;
            back.1?;
            Ok(())
        }
    );
    // The app has quit: its database can be read (the key names are not sealed).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let secrets = std::panic::catch_unwind(|| profile_secrets(&wallet_dir)).unwrap_or_default();
    step!(st, "wipe the profile and its keyring entries", async {
        std::fs::remove_dir_all(&wallet_dir).map_err(|e| e.to_string())?;
        clear_keyring()
    });
    if st.failed.is_none() {
        session = launch(&work, &network, &mut drivers).await.ok();
    }
    if let Some(s) = session.as_ref() {
        step!(
            st,
            "restore the backup into the empty wallet and choose a new PIN",
            async {
                s.click("[data-testid=welcome-restore]").await?;
                fill_restore_form(s, &work).await?;
                shoot_both(&st, s, "11-restore").await;
                s.click("[data-testid=restore-submit]").await?;
                s.wait("[data-testid=pin-input-2]", LONG).await?;
                enter_pin(s, NEW_PIN, true).await?;
                card_id(s, "Residence permit").await?;
                Ok(())
            }
        );
        step!(
            st,
            "after the restore, present the permit: ACCEPTED",
            async {
                let (file, _) = present(
                    &st,
                    s,
                    "Residence permit",
                    &["birthdate"],
                    "n-after-restore",
                    "bank.example",
                    None,
                )
                .await?;
                let (code, out) = verify(&[
                    &file,
                    "--anchor",
                    &genesis,
                    "--nonce",
                    "n-after-restore",
                    "--aud",
                    "bank.example",
                ]);
                if code != 0 {
                    return Err(format!("exited {code}: {out}"));
                }
                Ok(())
            }
        );
        step!(
            st,
            "lock: the wallet asks for the new PIN, refuses a wrong one, opens with the right one",
            async {
                s.click("[data-testid=lock-button]").await?;
                s.wait("[data-testid=pin-input]", LONG).await?;
                enter_pin(s, "000000", false).await?;
                let e = s.wait("[data-testid=error-message]", LONG).await?;
                let text = s.text(&e).await?;
                if !text.contains('2') {
                    return Err(format!(
                        "the wrong PIN message does not say the tries left: {text}"
                    ));
                }
                shoot_both(&st, s, "12-lock-wrong-pin").await;
                enter_pin(s, NEW_PIN, false).await?;
                s.wait("[data-testid=add-button]", LONG)
                    .await
                    .map(|_| ())
                    .map_err(String::from)
            }
        );
    }
    step!(
        st,
        "no file of the profile holds a key or a claim in plain text",
        async {
            let mut needles: Vec<Vec<u8>> = vec![
                b"Ada Lovelace-Example".to_vec(),
                b"Hangzhou-Example".to_vec(),
            ];
            if let Some(s) = session.take() {
                s.quit().await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            for seed in secrets.iter().chain(profile_secrets(&wallet_dir).iter()) {
                use base64::Engine;
                needles.push(seed.clone());
                needles.push(hex::encode(seed).into_bytes());
                needles.push(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(seed)
                        .into_bytes(),
                );
                needles.push(
                    base64::engine::general_purpose::STANDARD
                        .encode(seed)
                        .into_bytes(),
                );
            }
            if needles.len() < 6 {
                return Err("no keys were read back from the keyring".into());
            }
            for f in files_under(&wallet_dir) {
                let bytes = std::fs::read(&f).map_err(|e| e.to_string())?;
                for n in &needles {
                    if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                        return Err(format!(
                            "{} holds a secret or a claim in plain text",
                            f.display()
                        ));
                    }
                }
            }
            Ok(())
        }
    );
    if let Some(s) = session.take() {
        s.quit().await;
    }
    drop(drivers);
    st
}
