//! `alliance-verify`: verifies an Alliance ID presentation bundle (or a bare presentation or
//! credential) offline and says why it is accepted or rejected, check by check; or serves the
//! W3C VC-API verification endpoints over HTTP, and with `--oid4vp-did` a business's OpenID4VP
//! verifier service (`verifier-service`).
//!
//! Exit status: 0 accepted, 1 rejected, 2 usage error (bad arguments, unreadable files, QR
//! frames that do not join).

mod frames;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use clap::{Args, Parser, Subcommand};
use did_method::{Checkpoint, Genesis, TrustAnchor};
use serde_json::{Value, json};
use verifier_lib::input;
use verifier_lib::{Bundle, Outcome, Policy, Verdict, Verifier};

#[derive(Parser)]
#[command(
    name = "alliance-verify",
    version,
    about = "Verify Alliance ID presentations offline (exit 0 accepted, 1 rejected, 2 usage error)",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group(clap::ArgGroup::new("input").required(true).args(["file", "qr_frames"]))
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The presentation bundle, presentation or credential to verify (JSON; `-` for stdin).
    file: Option<PathBuf>,
    /// Read the bundle from a directory of images (PNG or JPEG) of its QR frames, in any
    /// order, instead of a FILE; images holding no frame are skipped with a note.
    #[arg(long, value_name = "DIR")]
    qr_frames: Option<PathBuf>,
    #[command(flatten)]
    trust: Trust,
    /// Expected Data Integrity challenge.
    #[arg(long)]
    challenge: Option<String>,
    /// Expected Data Integrity domain.
    #[arg(long)]
    domain: Option<String>,
    /// Expected SD-JWT key-binding nonce.
    #[arg(long)]
    nonce: Option<String>,
    /// Expected SD-JWT key-binding audience.
    #[arg(long)]
    aud: Option<String>,
    /// Verify as of this time (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct Trust {
    /// The registry's genesis file: the trust anchor, needed for did:alliance issuers.
    #[arg(long, value_name = "GENESIS")]
    anchor: Option<PathBuf>,
    /// A signed checkpoint (from `alliance-registry checkpoint`) to anchor on instead of
    /// genesis; it is verified against the genesis given with --anchor.
    #[arg(long, requires = "anchor")]
    checkpoint: Option<PathBuf>,
    /// Policy file (JSON; see docs/verifier.md). Missing fields take strict defaults.
    #[arg(long)]
    policy: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the W3C VC-API: POST /credentials/verify and POST /presentations/verify.
    Serve {
        /// Port on 127.0.0.1 (use --listen for another address).
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// Full listen address (overrides --port).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        #[command(flatten)]
        trust: Trust,
        #[command(flatten)]
        oid4vp: Oid4vpArgs,
    },
}

/// A business asking wallets over OpenID4VP (the endpoints are served when `--oid4vp-did` is
/// given; docs/verifier.md).
#[derive(Args)]
struct Oid4vpArgs {
    /// The business's DID, its OpenID4VP client identifier (with `decentralized_identifier:`).
    #[arg(long, value_name = "DID", requires_all = ["oid4vp_key", "public_url", "api_key_file"])]
    oid4vp_did: Option<String>,
    /// The private key file of a key in that DID's document (a plain key file, or the file
    /// `alliance-registry did create --key-out` wrote): it signs the request objects.
    #[arg(long, value_name = "FILE")]
    oid4vp_key: Option<PathBuf>,
    /// The business's name as wallets show it beside its registry-proven DID (its own word:
    /// `client_metadata.client_name`).
    #[arg(long, value_name = "NAME")]
    oid4vp_name: Option<String>,
    /// The key's verification method (default `<DID>#key-1`).
    #[arg(long, value_name = "DID_URL")]
    oid4vp_kid: Option<String>,
    /// The base URL wallets reach this service at (https, or http on loopback).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// A file holding the API key the business's own software presents to create requests
    /// and read their verdicts (`Authorization: Bearer …`).
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// How long a request waits for its answer, in seconds.
    #[arg(long, default_value_t = 300)]
    request_ttl_s: u64,
    /// A registry node's API URL (repeatable, asked in order): for answers from wallets that
    /// do not staple their evidence, it is fetched from these nodes, and the status lists from
    /// their issuers' own registered addresses (ADR 0022). Without it such answers are refused.
    #[arg(long = "registry", value_name = "URL")]
    registries: Vec<String>,
    /// Ask wallets to encrypt their answers to a key made for each request (response mode
    /// `direct_post.jwt`: ECDH-ES on P-256, A128GCM or A256GCM); plain answers are then refused.
    #[arg(long)]
    oid4vp_encrypted: bool,
}

/// JSON-LD processing allocates heavily; mimalloc verifies Data Integrity presentations about
/// twice as fast as the system allocator (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match run(cli) {
        Ok(accepted) => ExitCode::from(if accepted { 0 } else { 1 }),
        Err(e) => {
            eprintln!("alliance-verify: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<bool> {
    if let Some(Command::Serve {
        port,
        listen,
        trust,
        oid4vp,
    }) = cli.command
    {
        // One verifier (its policy, anchor and caches) for the VC-API and OpenID4VP.
        let verifier = Arc::new(verifier(&trust, |_| Ok(()))?);
        let oid4vp = match oid4vp.oid4vp_did.clone() {
            None => None,
            Some(did) => Some(oid4vp_service(did, &oid4vp, verifier.clone())?),
        };
        let addr = listen.unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], port)));
        serve(verifier, oid4vp, addr)?;
        return Ok(true);
    }
    let (challenge, domain) = (
        one_of(
            cli.challenge.clone(),
            cli.nonce.clone(),
            "--challenge",
            "--nonce",
        )?,
        one_of(cli.domain.clone(), cli.aud.clone(), "--domain", "--aud")?,
    );
    let verifier = verifier(&cli.trust, |p| {
        if challenge.is_some() {
            p.challenge = challenge.clone();
        }
        if domain.is_some() {
            p.domain = domain.clone();
        }
        Ok(())
    })?;
    // The bundle's bytes, from a file, stdin or QR frames: what follows is the same for all
    // three, so a bundle read from its frames is verified exactly as the file.
    let bytes = match (&cli.qr_frames, &cli.file) {
        (Some(dir), _) => frames::read_dir(dir)?,
        (None, Some(file)) if file.as_os_str() == "-" => {
            let mut b = vec![];
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).context("reading stdin")?;
            b
        }
        (None, Some(file)) => {
            std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
        }
        (None, None) => bail!("a FILE (or --qr-frames DIR) to verify is required"),
    };
    let now = match &cli.at {
        Some(t) => verifier_lib::verify::parse_time(t)
            .with_context(|| format!("--at {t} is not an RFC 3339 date-time"))?,
        None => now_ms(),
    };
    let verdict = verifier.verify_bytes(&bytes, now);
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&result_json(&verdict))?);
    } else {
        print_verdict(&verdict);
    }
    Ok(verdict.accepted())
}

/// `--challenge` and `--nonce` (and `--domain` and `--aud`) name the same expectation for
/// the two formats: either may be given, or both with the same value.
fn one_of(a: Option<String>, b: Option<String>, an: &str, bn: &str) -> Result<Option<String>> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => bail!("{an} and {bn} differ; a presentation has one"),
        (x, y) => Ok(x.or(y)),
    }
}

fn verifier(trust: &Trust, adjust: impl FnOnce(&mut Policy) -> Result<()>) -> Result<Verifier> {
    let mut policy = match &trust.policy {
        Some(p) => Policy::from_json(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .map_err(anyhow::Error::msg)?,
        None => Policy::default(),
    };
    adjust(&mut policy)?;
    let anchor = match &trust.anchor {
        None => None,
        Some(g) => {
            let genesis: Genesis = serde_json::from_slice(
                &std::fs::read(g).with_context(|| format!("reading {}", g.display()))?,
            )
            .with_context(|| format!("{} is not a genesis file", g.display()))?;
            let anchor = genesis.trust_anchor();
            Some(match &trust.checkpoint {
                None => anchor,
                Some(c) => checkpoint_anchor(&anchor, c)?,
            })
        }
    };
    Ok(Verifier::new(policy, anchor))
}

/// The OpenID4VP verifier service of `serve`, from its flags.
fn oid4vp_service(
    did: String,
    args: &Oid4vpArgs,
    verifier: Arc<Verifier>,
) -> Result<Arc<verifier_service::Service>> {
    let (Some(key_file), Some(public_url), Some(api_key_file)) =
        (&args.oid4vp_key, &args.public_url, &args.api_key_file)
    else {
        bail!("--oid4vp-did needs --oid4vp-key, --public-url and --api-key-file");
    };
    // A plain key file, or the key file `alliance-registry did create` wrote (its update key
    // is the document's key-1).
    let text = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading the signing key {}", key_file.display()))?;
    let multibase = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["updateKey"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.trim().to_owned());
    let key = did_method::SecretKey::from_multibase(&multibase)
        .map_err(|_| anyhow::anyhow!("{} holds no signing key", key_file.display()))?;
    let api_key = std::fs::read_to_string(api_key_file)
        .with_context(|| format!("reading {}", api_key_file.display()))?
        .trim()
        .to_owned();
    if api_key.len() < 16 {
        bail!(
            "the API key in {} is shorter than 16 characters",
            api_key_file.display()
        );
    }
    registry_client::https::require_tls_or_loopback("--public-url", public_url)?;
    let config = verifier_service::ServiceConfig {
        kid: args
            .oid4vp_kid
            .clone()
            .unwrap_or_else(|| format!("{did}#key-1")),
        did,
        name: args.oid4vp_name.clone(),
        key,
        public_url: public_url.clone(),
        api_key,
        ledger: verifier_service::LedgerConfig {
            ttl_ms: args.request_ttl_s.saturating_mul(1000),
            ..Default::default()
        },
        limits: oid4vp::Limits::default(),
        max_verifying: 2,
        fetch: fetcher(&args.registries, &verifier)?,
        encrypt_responses: args.oid4vp_encrypted,
    };
    let rdfc =
        verifier_lib::rdfc::Rdfc2022::new(verifier_lib::contexts::PinnedContexts::standard());
    Ok(verifier_service::Service::new(config, verifier, rdfc))
}

/// The fetcher of missing evidence, when registry nodes are given.
fn fetcher(registries: &[String], verifier: &Verifier) -> Result<Option<evidence_fetch::Fetcher>> {
    if registries.is_empty() {
        return Ok(None);
    }
    let Some(anchor) = verifier.anchor() else {
        bail!("--registry needs --anchor (the genesis the fetched proofs are checked against)");
    };
    for r in registries {
        registry_client::https::require_tls_or_loopback("--registry", r)?;
    }
    let http = registry_client::Trust::from_env().client(std::time::Duration::from_secs(10))?;
    Ok(Some(
        evidence_fetch::Fetcher::new(http, registries.to_vec()).issuer_origins_only(anchor.clone()),
    ))
}

fn checkpoint_anchor(genesis: &TrustAnchor, path: &PathBuf) -> Result<TrustAnchor> {
    let cp: Checkpoint = serde_json::from_slice(
        &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("{} is not a checkpoint", path.display()))?;
    cp.verify(genesis).with_context(|| {
        format!(
            "checkpoint {} does not verify against genesis",
            path.display()
        )
    })
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn print_verdict(v: &Verdict) {
    println!("{}", if v.accepted() { "ACCEPTED" } else { "REJECTED" });
    for c in &v.checks {
        let mark = match c.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
        };
        let kind = serde_json::to_value(c.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("  {mark}  {kind:<17} {}: {}", c.subject, c.reason);
    }
}

/// The verdict in the VC-API's result shape (`verified`, `checks`, `warnings`, `errors`),
/// with every check in `results`.
fn result_json(v: &Verdict) -> Value {
    let kind = |c: &verifier_lib::Check| {
        serde_json::to_value(c.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let passed: std::collections::BTreeSet<String> = v
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Pass)
        .map(kind)
        .collect();
    let errors: Vec<Value> = v
        .failures()
        .map(|c| json!({"check": kind(c), "subject": c.subject, "message": c.reason}))
        .collect();
    json!({
        "verified": v.accepted(),
        "checks": passed,
        "warnings": [],
        "errors": errors,
        "results": v.checks,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn serve(
    verifier: Arc<Verifier>,
    oid4vp: Option<Arc<verifier_service::Service>>,
    addr: std::net::SocketAddr,
) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let limit = verifier.limits().max_bytes + 64 * 1024;
    let mut app = Router::new()
        .route("/credentials/verify", post(verify_credential))
        .route("/presentations/verify", post(verify_presentation))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(verifier);
    if let Some(service) = oid4vp {
        app = app.merge(verifier_service::router(service));
        tracing::info!("serving OpenID4VP requests at /oid4vp/requests");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tracing::info!(%addr, "alliance-verify serving the VC-API");
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn verify_credential(State(v): State<Arc<Verifier>>, body: Bytes) -> Response {
    vc_api(v, body, "verifiableCredential").await
}

async fn verify_presentation(State(v): State<Arc<Verifier>>, body: Bytes) -> Response {
    vc_api(v, body, "verifiablePresentation").await
}

/// A VC-API request: `{"verifiableCredential" | "verifiablePresentation": …, "options":
/// {"challenge", "domain"}}`, plus this verifier's stapled material beside it
/// (`registryProofs`, `statusLists`, as in a presentation bundle).
async fn vc_api(verifier: Arc<Verifier>, body: Bytes, field: &'static str) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let doc = match input::parse_json(&body, verifier.limits()) {
            Ok(d) => d,
            Err(e) => return Err(e.to_string()),
        };
        let Some(subject) = doc.get(field) else {
            return Err(format!("the request has no {field}"));
        };
        let mut policy = verifier.policy().clone();
        if let Some(o) = doc.get("options") {
            if let Some(c) = o.get("challenge").and_then(Value::as_str) {
                policy.challenge = Some(c.to_owned());
            }
            if let Some(d) = o.get("domain").and_then(Value::as_str) {
                policy.domain = Some(d.to_owned());
            }
        }
        // The request's stapled members are named as a bundle's.
        let mut bundle = serde_json::Map::new();
        bundle.insert(Bundle::PRESENTATION.to_owned(), subject.clone());
        for (member, none) in [
            (Bundle::REGISTRY_PROOFS, json!([])),
            (Bundle::STATUS_LISTS, json!({})),
        ] {
            let stapled = doc.get(member).cloned().unwrap_or(none);
            bundle.insert(member.to_owned(), stapled);
        }
        Ok(verifier
            .with_policy(policy)
            .verify_parsed(&Value::Object(bundle), now_ms()))
    })
    .await;
    match result {
        Ok(Ok(verdict)) => {
            let status = if verdict.accepted() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            (status, axum::Json(result_json(&verdict))).into_response()
        }
        Ok(Err(message)) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"verified": false, "checks": [], "warnings": [], "errors": [{"check": "input", "message": message}]})),
        )
            .into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "verification task failed").into_response(),
    }
}
