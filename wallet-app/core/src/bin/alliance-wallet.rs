//! `alliance-wallet`: a command-line holder on `wallet-core`, for agencies' desks, scripts and
//! the demo (the citizen's wallet is the desktop app, `wallet-app/desktop`). Keys and credentials are plain files
//! here; the desktop wallet keeps them in the OS keyring and an encrypted store.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use did_method::SecretKey;
use serde_json::{Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::Rdfc2022;
use wallet_core::oid4vci::{self, Offer};
use wallet_core::{oid4vp, present, staple};

#[derive(Parser)]
#[command(
    name = "alliance-wallet",
    version,
    about = "A command-line holder for Alliance ID credentials"
)]
struct Cli {
    /// Also trust this CA certificate (PEM) for HTTPS, e.g. a consortium's own CA;
    /// repeatable. ALLIANCE_CA_CERT names more (separated by ':').
    #[arg(long = "ca-cert", value_name = "FILE", global = true)]
    ca_cert: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a holder key (its did:key is printed).
    NewKey {
        #[arg(long)]
        out: PathBuf,
    },
    /// Receive a credential from an offer link (OpenID4VCI), bound to the holder key.
    Receive {
        /// `openid-credential-offer://…` link (or the offer JSON).
        offer: String,
        /// The transaction code the agency gave you.
        #[arg(long)]
        tx_code: Option<String>,
        #[arg(long)]
        key: PathBuf,
        /// Where to store the credential (JSON: format and credential).
        #[arg(long)]
        out: PathBuf,
    },
    /// Present a stored credential for a verifier, with stapled registry proofs and status
    /// lists: as a bundle file that verifies offline, or (`--request`) as the answer to a
    /// business's OpenID4VP request.
    Present {
        credential: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// The verifier's challenge (Data Integrity) or nonce (SD-JWT).
        #[arg(long, required_unless_present = "request")]
        challenge: Option<String>,
        /// The verifier's domain (Data Integrity) or audience (SD-JWT).
        #[arg(long, required_unless_present = "request")]
        domain: Option<String>,
        /// Answer a business's OpenID4VP request (its `openid4vp://` link): who asks is proven
        /// from the registry, and only the claims its query asks for are disclosed.
        #[arg(long, value_name = "LINK", requires = "anchor", conflicts_with_all = ["challenge", "domain", "out"])]
        request: Option<String>,
        /// The consortium's genesis file, to check the registry's proof of who asks.
        #[arg(long, value_name = "GENESIS")]
        anchor: Option<PathBuf>,
        /// Answer even when the registry says the business asks for more than it is registered
        /// to (the warnings are printed either way).
        #[arg(long, requires = "request")]
        despite_warnings: bool,
        /// Claims to disclose (SD-JWT; comma-separated; default all).
        #[arg(long, value_delimiter = ',')]
        reveal: Option<Vec<String>>,
        /// A registry node's API, to fetch the registry proofs.
        #[arg(long)]
        registry: String,
        #[arg(long, required_unless_present = "request")]
        out: Option<PathBuf>,
    },
}

fn read_key(path: &PathBuf) -> Result<SecretKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SecretKey::from_multibase(text.trim())
        .map_err(|e| anyhow::anyhow!("{} is not a holder key: {e}", path.display()))
}

/// Answers a business's OpenID4VP request with the stored credential, if it answers the query.
async fn answer_request(
    net: &wallet_core::Net,
    link: &str,
    anchor: &PathBuf,
    registry: &str,
    stored: &Value,
    key: &SecretKey,
    despite_warnings: bool,
) -> Result<()> {
    let genesis: did_method::Genesis = serde_json::from_slice(
        &std::fs::read(anchor).with_context(|| format!("reading {}", anchor.display()))?,
    )
    .with_context(|| format!("{} is not a genesis file", anchor.display()))?;
    let now = now_ms();
    let request = wallet_core::oid4vp::fetch_request(
        net,
        link,
        registry,
        &genesis.trust_anchor(),
        (now / 1000) as i64,
    )
    .await?;
    let r = &request.signed.request;
    println!(
        "{} asks (its DID document proven by the registry at height {})",
        r.client_did(),
        request.height
    );
    if let Some(name) = r
        .client_metadata
        .as_ref()
        .and_then(|m| m["client_name"].as_str())
    {
        println!("  calls itself: {name}");
    }
    if let Some(purpose) = &r.purpose {
        println!("  why: {purpose}");
    }
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let credential = &stored["credential"];
    let (format, vct, types, claims) = match stored["format"].as_str() {
        Some("ldp_vc") => (
            dcql::FORMAT_LDP_VC,
            None,
            rdfc.expanded_types(credential)?,
            credential.clone(),
        ),
        Some("dc+sd-jwt") => {
            let sd = credential
                .as_str()
                .context("the stored SD-JWT is not a string")?;
            let claims = verifier_lib::sdjwt::disclosed_claims(sd)?;
            let vct = claims.get("vct").and_then(Value::as_str).map(str::to_owned);
            (dcql::FORMAT_SD_JWT_VC, vct, vec![], Value::Object(claims))
        }
        other => bail!("unknown credential format {other:?}"),
    };
    let held = [dcql::Candidate {
        format,
        vct: vct.as_deref(),
        types: &types,
        claims: &claims,
        holder_binding: true,
    }];
    let selection = r.dcql_query.select(&held);
    if !selection.satisfiable() {
        let why: Vec<String> = selection.unmet.iter().map(ToString::to_string).collect();
        bail!(
            "this credential does not answer the request: {}",
            why.join("; ")
        );
    }
    let credential_types: Vec<String> = match &vct {
        Some(v) => vec![v.clone()],
        None => credential["type"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let sharing: Vec<oid4vp::Sharing> = selection
        .matches
        .iter()
        .filter(|(id, _)| selection.is_needed(id))
        .filter_map(|(_, m)| m.first())
        .map(|m| oid4vp::Sharing {
            credential_types: credential_types.clone(),
            shares: if format == dcql::FORMAT_LDP_VC {
                oid4vp::Shares::Whole
            } else {
                oid4vp::Shares::Claims(m.disclose.top_level())
            },
        })
        .collect();
    match &request.relying_party {
        Some(rp) if rp.in_force(now) => println!(
            "  registered as a relying party by {} (proven at height {})",
            rp.authority, request.height
        ),
        _ => {}
    }
    let warnings = request.overreach(now, &sharing);
    for w in &warnings {
        println!("  warning: {w}");
    }
    if !warnings.is_empty() && !despite_warnings {
        bail!(
            "not answered: the business asks for more than the registry allows it to (answer anyway with --despite-warnings)"
        );
    }
    let mut answers = vec![];
    // Only what an answer needs: one alternative of each required credential set.
    for (id, matches) in selection
        .matches
        .iter()
        .filter(|(id, _)| selection.is_needed(id))
    {
        let Some(m) = matches.first() else { continue };
        let presentation = if format == dcql::FORMAT_LDP_VC {
            println!(
                "  shares for \"{id}\": the whole credential (it has no selective disclosure)"
            );
            present::data_integrity(
                &rdfc,
                std::slice::from_ref(credential),
                key,
                &r.nonce,
                &r.client_id,
                now,
            )?
        } else {
            let reveal = m.disclose.top_level();
            println!(
                "  shares for \"{id}\": {}",
                if reveal.is_empty() {
                    "no claim".into()
                } else {
                    reveal.join(", ")
                }
            );
            let names: Vec<&str> = reveal.iter().map(String::as_str).collect();
            let sd = credential
                .as_str()
                .context("the stored SD-JWT is not a string")?;
            Value::String(present::sd_jwt(
                sd,
                Some(&names),
                key,
                &r.client_id,
                &r.nonce,
                now,
            )?)
        };
        let bundle = staple::bundle(net, registry, &presentation, None).await?;
        let mut staple = serde_json::to_value(&bundle)?;
        if let Some(o) = staple.as_object_mut() {
            o.remove(verifier_lib::Bundle::PRESENTATION);
        }
        answers.push((id.clone(), presentation, staple));
    }
    wallet_core::oid4vp::send_answer(net, &request, answers).await?;
    println!("answered; {} has the presentation", r.client_did());
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let trust = registry_client::Trust::from_env().with_ca_files(cli.ca_cert);
    let net = wallet_core::Net::new(&trust)?;
    match cli.command {
        Command::NewKey { out } => {
            if out.exists() {
                bail!("{} exists; refusing to overwrite a key", out.display());
            }
            let key = SecretKey::generate(&mut rand_core::OsRng);
            registry_client::files::write_private(&out, key.to_multibase().as_bytes())?;
            println!("{}", verifier_lib::dids::did_key(&key.public_key()).0);
        }
        Command::Receive {
            offer,
            tx_code,
            key,
            out,
        } => {
            let key = read_key(&key)?;
            let offer = Offer::resolve(&net, &offer).await?;
            let got = oid4vci::receive(&net, &offer, tx_code.as_deref(), &[&key]).await?;
            let first = got.into_iter().next().context("no credential received")?;
            let stored = json!({"format": first.format, "configurationId": first.configuration_id, "issuer": offer.credential_issuer, "credential": first.credential});
            std::fs::write(&out, serde_json::to_string_pretty(&stored)?)?;
            println!(
                "received a {} credential ({}) into {}",
                first.format,
                first.configuration_id,
                out.display()
            );
        }
        Command::Present {
            credential,
            key,
            challenge,
            domain,
            request,
            anchor,
            despite_warnings,
            reveal,
            registry,
            out,
        } => {
            let key = read_key(&key)?;
            let stored: Value = serde_json::from_slice(
                &std::fs::read(&credential)
                    .with_context(|| format!("reading {}", credential.display()))?,
            )?;
            if let (Some(link), Some(anchor)) = (request, anchor) {
                return answer_request(
                    &net,
                    &link,
                    &anchor,
                    &registry,
                    &stored,
                    &key,
                    despite_warnings,
                )
                .await;
            }
            let (Some(challenge), Some(domain), Some(out)) = (challenge, domain, out) else {
                bail!("--challenge, --domain and --out are needed without --request");
            };
            let bundle = match stored["format"].as_str() {
                Some("ldp_vc") => {
                    let rdfc = Rdfc2022::new(PinnedContexts::standard());
                    let vp = present::data_integrity(
                        &rdfc,
                        std::slice::from_ref(&stored["credential"]),
                        &key,
                        &challenge,
                        &domain,
                        now_ms(),
                    )?;
                    staple::bundle(&net, &registry, &vp, None).await?
                }
                Some("dc+sd-jwt") => {
                    let sd = stored["credential"]
                        .as_str()
                        .context("the stored SD-JWT is not a string")?;
                    let names: Option<Vec<&str>> = reveal
                        .as_ref()
                        .map(|r| r.iter().map(String::as_str).collect());
                    let p =
                        present::sd_jwt(sd, names.as_deref(), &key, &domain, &challenge, now_ms())?;
                    // The issuer and its Token Status List are read from the credential.
                    staple::bundle(&net, &registry, &Value::String(p), None).await?
                }
                other => bail!("unknown credential format {other:?}"),
            };
            std::fs::write(&out, serde_json::to_vec_pretty(&bundle)?)?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
