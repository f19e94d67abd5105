//! `alliance-issuer`: set up an agency's issuer (`init`), run it (`serve`), and drive its
//! admin API from the command line (`define-type`, `offer`, `revoke`, `suspend`,
//! `unsuspend`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use did_method::SecretKey;
use did_method::state::recovery_commitment;
use issuer_service::issuer::Issuer;
use issuer_service::rotation;
use issuer_service::store::Store;
use issuer_service::{IssuerConfig, http};
use issuer_service::{identity, keys};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "alliance-issuer",
    version,
    about = "An agency's credential issuer (OpenID4VCI 1.0) for Alliance ID"
)]
struct Cli {
    /// Also trust this CA certificate (PEM) for HTTPS (the registry's, the issuer's own API),
    /// e.g. a consortium's own CA; repeatable; `init` records it for `serve`.
    /// ALLIANCE_CA_CERT names more (separated by ':').
    #[arg(long = "ca-cert", value_name = "FILE", global = true)]
    ca_cert: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the issuer: sealed keys (passphrase from ALLIANCE_ISSUER_PASSPHRASE), its DID
    /// (registered on the registry when --registry is given, its document naming --issuer-url
    /// as its OpenID4VCI service; else a did:key), the database, and an admin API key (printed
    /// once).
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The public base URL wallets reach (the OpenID4VCI credential issuer identifier).
        #[arg(long)]
        issuer_url: String,
        /// Listen address for `serve` (default: the issuer URL's host and port).
        #[arg(long)]
        listen: Option<String>,
        /// Database URL (default: SQLite file issuer.db in --dir).
        #[arg(long)]
        database_url: Option<String>,
        /// Registry API to register the issuer's did:alliance DID on.
        #[arg(long, requires = "registrar_key")]
        registry: Option<String>,
        /// A member registrar's key file, to endorse the DID's creation.
        #[arg(long)]
        registrar_key: Option<PathBuf>,
        /// Display name in the issuer metadata.
        #[arg(long, default_value = "Alliance ID issuer")]
        name: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the issuer (passphrase from ALLIANCE_ISSUER_PASSPHRASE).
    Serve {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Define (or update) a credential type from a JSON file.
    DefineType {
        #[command(flatten)]
        api: Api,
        /// `{"id", "format": "ldp_vc"|"dc+sd-jwt", "credentialType", "claims": [..], "validityDays", "name"}`
        file: PathBuf,
    },
    /// Create an offer for a citizen: prints the offer link, the transaction code and a QR code.
    Offer {
        #[command(flatten)]
        api: Api,
        /// Credential type id.
        #[arg(long = "type")]
        type_id: String,
        /// The claims, as a JSON object (or @FILE).
        #[arg(long)]
        claims: String,
        /// No transaction code (only for offers delivered over a channel already bound to the citizen).
        #[arg(long)]
        no_tx_code: bool,
        /// Write the QR code (SVG) here.
        #[arg(long)]
        qr: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Rotate the issuer's signing key through a registry update (did:alliance issuers; run it
    /// with the issuer stopped, then start `serve` again). The new key signs from now on and
    /// controls the DID; the old one stays listed for assertion, so credentials it signed keep
    /// verifying, unless --retire-old removes it (after a compromise: its credentials then fail).
    RotateKey {
        #[arg(long)]
        dir: PathBuf,
        /// Remove the previous signing key from the DID document entirely.
        #[arg(long)]
        retire_old: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an issued credential (final).
    Revoke(StatusArgs),
    /// Suspend an issued credential.
    Suspend(StatusArgs),
    /// Lift a suspension.
    Unsuspend(StatusArgs),
}

#[derive(clap::Args)]
struct Api {
    /// The issuer's base URL.
    #[arg(long, env = "ALLIANCE_ISSUER_API")]
    api: String,
    /// An admin API key.
    #[arg(long, env = "ALLIANCE_ISSUER_API_KEY", hide_env_values = true)]
    api_key: String,
}

#[derive(clap::Args)]
struct StatusArgs {
    #[command(flatten)]
    api: Api,
    /// The issued credential's id (`urn:uuid:…`, from `GET /admin/issued`).
    id: String,
    #[arg(long, default_value = "")]
    reason: String,
}

/// JSON-LD processing allocates heavily; mimalloc verifies Data Integrity presentations about
/// twice as fast as the system allocator (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli.command, cli.ca_cert).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alliance-issuer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Command, ca_certs: Vec<PathBuf>) -> Result<()> {
    let trust = registry_client::Trust::from_env().with_ca_files(ca_certs.iter().cloned());
    match cmd {
        Command::Init {
            dir,
            issuer_url,
            listen,
            database_url,
            registry,
            registrar_key,
            name,
            json,
        } => {
            init(
                &dir,
                issuer_url,
                listen,
                database_url,
                (registry, registrar_key, ca_certs),
                name,
                json,
            )
            .await
        }
        Command::Serve { dir } => serve(&dir).await,
        Command::RotateKey {
            dir,
            retire_old,
            json,
        } => rotate_key(&dir, retire_old, json).await,
        Command::DefineType { api, file } => {
            let body: Value = serde_json::from_slice(
                &std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
            )?;
            let v = call(&trust, &api, "POST", "/admin/credential-types", Some(body)).await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        Command::Offer {
            api,
            type_id,
            claims,
            no_tx_code,
            qr,
            json,
        } => {
            let claims = match claims.strip_prefix('@') {
                Some(f) => std::fs::read_to_string(f).with_context(|| format!("reading {f}"))?,
                None => claims,
            };
            let claims: Value = serde_json::from_str(&claims).context("--claims is not JSON")?;
            let v = call(
                &trust,
                &api,
                "POST",
                "/admin/offers",
                Some(json!({"credentialType": type_id, "claims": claims, "txCode": !no_tx_code})),
            )
            .await?;
            if let Some(q) = qr {
                std::fs::write(&q, v["qrSvg"].as_str().unwrap_or_default())?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "offer:     {}",
                    v["offerByReferenceUri"].as_str().unwrap_or_default()
                );
                if let Some(pin) = v["txCode"].as_str() {
                    println!("tx code:   {pin}   (give it to the citizen separately)");
                }
                println!("offer id:  {}", v["offerId"].as_str().unwrap_or_default());
            }
            Ok(())
        }
        Command::Revoke(a) => status(&trust, a, "revoke").await,
        Command::Suspend(a) => status(&trust, a, "suspend").await,
        Command::Unsuspend(a) => status(&trust, a, "unsuspend").await,
    }
}

async fn status(trust: &registry_client::Trust, a: StatusArgs, action: &str) -> Result<()> {
    let path = format!(
        "/admin/issued/{}/{action}",
        url::form_urlencoded::byte_serialize(a.id.as_bytes()).collect::<String>()
    );
    let v = call(
        trust,
        &a.api,
        "POST",
        &path,
        Some(json!({"reason": a.reason})),
    )
    .await?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    if v["published"] == false {
        bail!(
            "recorded, but the status list is not published yet: {}",
            v["publishError"]
        );
    }
    Ok(())
}

async fn call(
    trust: &registry_client::Trust,
    api: &Api,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value> {
    let url = format!("{}{path}", api.api.trim_end_matches('/'));
    let client = trust.client(Duration::from_secs(60))?;
    let mut req = match method {
        "POST" => client.post(&url),
        _ => client.get(&url),
    }
    .bearer_auth(&api.api_key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("calling {url}: {}", registry_client::https::describe(&e)))?;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{status}: {} ({})",
            v["error_description"].as_str().unwrap_or(""),
            v["error"].as_str().unwrap_or("")
        );
    }
    Ok(v)
}

#[allow(clippy::too_many_arguments)]
async fn init(
    dir: &Path,
    issuer_url: String,
    listen: Option<String>,
    database_url: Option<String>,
    (registry, registrar_key, ca_certs): (Option<String>, Option<PathBuf>, Vec<PathBuf>),
    name: String,
    json_out: bool,
) -> Result<()> {
    let passphrase = keys::passphrase_from_env()?;
    // Recorded for `serve`, which may run from another directory.
    let ca_certs = ca_certs
        .iter()
        .map(|p| std::fs::canonicalize(p).with_context(|| format!("--ca-cert {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    if IssuerConfig::path(dir).exists() {
        bail!(
            "{} already holds an issuer; refusing to overwrite its keys",
            dir.display()
        );
    }
    let parsed = registry_client::https::require_tls_or_loopback(
        "the issuer URL (--issuer-url)",
        &issuer_url,
    )?;
    // The credential issuer identifier, as the metadata and the DID document give it.
    let issuer_url = issuer_url.trim_end_matches('/').to_owned();
    let listen = match listen {
        Some(l) => l,
        None => format!(
            "{}:{}",
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port_or_known_default().unwrap_or(8080)
        ),
    };
    std::fs::create_dir_all(dir)?;
    let mut rng = rand_core::OsRng;
    let key = SecretKey::generate(&mut rng);
    write_private(
        &dir.join("issuer-key.json"),
        keys::seal(&key, &passphrase)?.as_bytes(),
    )?;
    let (did, vm, recovery_key_file) = match (&registry, &registrar_key) {
        (Some(api), Some(rk)) => {
            let registrar = registry_client::files::read_secret_key(rk)?;
            let recovery = SecretKey::generate(&mut rng);
            write_private(
                &dir.join("recovery-key.json"),
                keys::seal(&recovery, &passphrase)?.as_bytes(),
            )?;
            let client = registry_client::RegistryClient::with_trust(
                api,
                &registry_client::Trust::from_env().with_ca_files(ca_certs.iter().cloned()),
            )?;
            let genesis = client.genesis().await.context("reaching the registry")?;
            // The document names the issuer's address (its OpenID4VCI service).
            let (did, op) = identity::create(
                &genesis.chain_id,
                &key.public_key(),
                recovery_commitment(&recovery.public_key()),
                &issuer_url,
            );
            let op = op.sign(&[&key, &registrar]);
            let height = client
                .submit_and_commit(&op, Duration::from_secs(30))
                .await
                .context("registering the issuer's DID")?;
            eprintln!("registered {did} at height {height}");
            (
                did.to_string(),
                did.url("key-1"),
                Some("recovery-key.json".to_owned()),
            )
        }
        _ => {
            let (did, vm) = verifier_lib::dids::did_key(&key.public_key());
            (did, vm, None)
        }
    };
    let database_url =
        database_url.unwrap_or_else(|| format!("sqlite://{}", dir.join("issuer.db").display()));
    let config = IssuerConfig {
        issuer_url,
        listen,
        database_url,
        did: did.clone(),
        verification_method: vm,
        key_file: "issuer-key.json".into(),
        recovery_key_file,
        registry_api: registry,
        ca_certs,
        display_name: name,
        offer_ttl_s: 24 * 3600,
        token_ttl_s: 300,
        nonce_ttl_s: 300,
        max_tx_code_attempts: 5,
        batch_size: 10,
        status_list_size: 131_072,
        status_refresh_s: 12 * 3600,
    };
    let store = Store::open(&config.database_url).await?;
    let api_key = Issuer::create_api_key(&store, "admin").await?;
    config.save(dir)?;
    let out =
        json!({"did": did, "adminApiKey": api_key, "issuerUrl": config.issuer_url, "dir": dir});
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("issuer DID:    {did}");
        println!("admin API key: {api_key}   (shown once; keep it secret)");
        println!(
            "run it with:   alliance-issuer serve --dir {}",
            dir.display()
        );
    }
    Ok(())
}

/// Rotates the signing key with the issuer stopped (`issuer_service::rotation`): a new
/// sealed key file, a DID update signed by the current key (committed on the registry), then
/// the config. Safe to run again after an interruption.
async fn rotate_key(dir: &Path, retire_old: bool, json_out: bool) -> Result<()> {
    let _lock = serve_lock(dir).map_err(|e| {
        anyhow::anyhow!(
            "{e}; rotate a serving issuer with POST /admin/keys/rotate (admin API), or stop it first"
        )
    })?;
    let mut config = IssuerConfig::load(dir)?;
    let passphrase = keys::passphrase_from_env()?;
    let current = rotation::open_key(dir, &config.key_file, &passphrase)?;
    let rotated = rotation::rotate(dir, &config, &current, &passphrase, retire_old).await?;
    let did = config.did.clone();
    let vm = rotated.verification_method.clone();
    match rotated.height {
        Some(height) => eprintln!("{did} now signs with {vm} (height {height})"),
        None => eprintln!("completing an interrupted rotation: {vm} already controls {did}"),
    }
    let previous = rotated.point_config(&mut config);
    config.save(dir)?;
    let store = Store::open(&config.database_url).await?;
    let details = json!({"previous": previous, "previousRetired": retire_old});
    Issuer::record_rotation(&store, "operator", &vm, &details).await?;
    let out = json!({"did": did.to_string(), "verificationMethod": vm, "previous": previous, "previousRetired": retire_old});
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{did} signs with {vm} (previous: {previous}{})",
            if retire_old {
                ", retired"
            } else {
                ", kept for verification"
            }
        );
        println!(
            "start the issuer again: alliance-issuer serve --dir {}",
            dir.display()
        );
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(registry_client::files::write_private(path, bytes)?)
}

/// The lock `serve` holds on its directory for as long as it runs (`DIR/serve.lock`, an OS
/// file lock, released when the process ends however it ends): one issuer process per
/// directory, and no offline key rotation under a running issuer.
fn serve_lock(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join("serve.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "an issuer is serving from {}",
            dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

async fn serve(dir: &Path) -> Result<()> {
    let _lock = serve_lock(dir)?;
    let mut config = IssuerConfig::load(dir)?;
    let passphrase = keys::passphrase_from_env()?;
    let mut key = rotation::open_key(dir, &config.key_file, &passphrase)?;
    // A rotation interrupted after the registry committed it (a crash before the config
    // was written) is completed now: never serve with a key that no longer controls the DID.
    let mut completed = None;
    if config.registry_api.is_some() {
        use rotation::{RotateError, complete_interrupted};
        match complete_interrupted(dir, &config, &key, &passphrase).await {
            Ok(None) => {}
            Ok(Some(adopted)) => {
                let previous = adopted.point_config(&mut config);
                config.save(dir)?;
                eprintln!(
                    "completed an interrupted key rotation: {} signs from now on",
                    adopted.verification_method
                );
                key = adopted.key;
                completed = Some((previous, adopted.verification_method));
            }
            Err(e @ RotateError::Registry(_)) => {
                tracing::warn!("could not check the issuer's key against the registry: {e}")
            }
            Err(e) => tracing::error!("{e}"),
        }
    }
    let listen = config.listen.clone();
    let issuer = Issuer::new(config, key).await?;
    if let Some((previous, next)) = completed {
        let details = json!({"previous": previous, "completedAtStart": true});
        Issuer::record_rotation(&issuer.store, "operator", &next, &details).await?;
    }
    issuer.enable_live_rotation(dir.to_path_buf(), passphrase);
    if let Err(e) = issuer.refresh_status_lists().await {
        tracing::warn!("status lists not published yet: {e}; retrying in the background");
    }
    let refresher = issuer.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if let Err(e) = refresher.refresh_status_lists().await {
                tracing::warn!("status list refresh: {e}");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    tracing::info!(did = %issuer.did, "issuer serving");
    axum::serve(listener, http::router(issuer))
        .with_graceful_shutdown(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        })
        .await?;
    Ok(())
}
