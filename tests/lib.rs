//! # e2e: Alliance ID's end-to-end tests and their support
//!
//! The tests in `tests/` and the issuance bench in `benches/` run the real binaries
//! (`alliance-registry`, `alliance-issuer`) as processes on loopback and drive them as their
//! users do: the holder with `wallet-core`, the business with `verifier-lib`, the agency's desk
//! with the admin API. This library is what they share: finding the binaries, free ports,
//! processes stopped when dropped, a devnet, an issuer with its admin API, the holder's
//! network. It is test support, never published, and holds no test of its own.
//!
//! The binaries are the workspace's, beside the test executable. `cargo test` does not build
//! another package's binaries: `scripts/test.sh` runs `cargo build --workspace --bins` first;
//! by hand, do the same before `cargo test -p e2e` (or an older build is what runs). The
//! issuance bench needs the release build of `alliance-issuer`
//! (`scripts/bench-credentials.sh` makes it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

pub mod wallet;
pub mod webdriver;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use did_method::SecretKey;
use serde_json::{Value, json};
use verifier_lib::contexts::PinnedContexts;
use verifier_lib::rdfc::Rdfc2022;
use verifier_lib::{Policy, Verdict, Verifier};
use wallet_core::{Net, present, staple};

/// The passphrase every test issuer seals its keys with (`ALLIANCE_ISSUER_PASSPHRASE`).
pub const PASSPHRASE: &str = "e2e issuer passphrase";

/// The workspace's binary `name`, beside the running test's or bench's executable
/// (`target/{debug,release}/deps/..`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        p.exists(),
        "{} is not built (cargo build --workspace --bins, or --release for a bench)",
        p.display()
    );
    p
}

/// A free loopback port (bound and released), chosen below the kernel's ephemeral range
/// (32768 and up on Linux): a port the kernel handed out with `bind(0)` can be given again to
/// an outgoing connection before the process under test binds it.
pub fn free_port() -> u16 {
    use rand_core::RngCore;
    for _ in 0..200 {
        let port = 20_000 + (rand_core::OsRng.next_u32() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between 20000 and 32000");
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A child process stopped when dropped: SIGTERM (a devnet then stops its nodes, an issuer
/// its server), then SIGKILL if it has not exited after 10 s.
pub struct Proc(pub Child);

impl Proc {
    /// Kills it at once (SIGKILL), as a crash or `kill -9` would, and waits for it.
    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        // Through the `kill` command: this crate has no unsafe code for libc::kill.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` (with the issuers' passphrase in its environment) to success; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A bench's option: the value after `--name` on its command line, if given.
pub fn bench_arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `alliance-registry devnet` of 4 validators in `dir`, once it says it is ready; with its
/// `devnet.json` (nodes' API URLs, the registrar key file).
pub fn start_devnet(dir: &Path) -> (Proc, Value) {
    let mut child = Command::new(bin("alliance-registry"))
        .args([
            "devnet",
            "--validators",
            "4",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let devnet = Proc(child);
    let mut line = String::new();
    let start = Instant::now();
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 || start.elapsed() > Duration::from_secs(120) {
            panic!("devnet did not start");
        }
        if line.contains("devnet ready") {
            break;
        }
    }
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = vec![];
        let _ = err.read_to_end(&mut sink);
    });
    let info: Value =
        serde_json::from_slice(&std::fs::read(dir.join("devnet.json")).unwrap()).unwrap();
    (devnet, info)
}

/// A local consortium: a devnet of 4 validators in `dir` ([`start_devnet`]), stopped when
/// dropped, and its agencies.
pub struct Consortium {
    pub devnet: Proc,
    /// `devnet.json`: the nodes' API URLs, the registrar key file.
    pub info: Value,
    pub dir: PathBuf,
}

impl Consortium {
    pub fn start(dir: &Path) -> Self {
        let (devnet, info) = start_devnet(dir);
        Self {
            devnet,
            info,
            dir: dir.to_owned(),
        }
    }

    /// Node `n`'s API URL.
    pub fn api(&self, n: usize) -> String {
        self.info["nodes"][n]["api"].as_str().unwrap().to_owned()
    }

    /// An agency's issuer named `name`: its `did:alliance` DID registered through node 0 by the
    /// devnet's registrar, accredited by the root authority for `types`, and serving.
    pub fn agency(&self, name: &str, types: &[&str]) -> Issuer {
        let api0 = self.api(0);
        let registrar = self.info["registrarKey"].as_str().unwrap().to_owned();
        let mut issuer = Issuer::init(
            &[
                "--registry",
                &api0,
                "--registrar-key",
                &registrar,
                "--name",
                name,
            ],
            |_| {},
        );
        let did = issuer.init["did"].as_str().unwrap().to_owned();
        let authority = self.dir.join("authority-0.key");
        let mut accredit = Command::new(bin("alliance-registry"));
        accredit.args([
            "issuer",
            "accredit",
            &did,
            "--api",
            &api0,
            "--authority-key",
            authority.to_str().unwrap(),
        ]);
        for t in types {
            accredit.args(["--type", t]);
        }
        run(&mut accredit);
        issuer.serve();
        issuer
    }
}

/// A business asking citizens for credentials over OpenID4VP: its DID registered through node
/// 0, and `alliance-verify serve` running its OpenID4VP service under that DID (fetching the
/// evidence of answers that come without it from node 0).
pub struct Business {
    pub did: String,
    /// The service's base URL.
    pub url: String,
    pub api_key: String,
    _service: Proc,
}

impl Consortium {
    /// Starts a business in `dir` (its keys and API key file are written there).
    pub fn business(&self, dir: &Path) -> Business {
        self.business_with(dir, &[])
    }

    /// [`Self::business`] with more `alliance-verify serve` flags.
    pub fn business_with(&self, dir: &Path, flags: &[&str]) -> Business {
        std::fs::create_dir_all(dir).unwrap();
        let registrar = self.info["registrarKey"].as_str().unwrap().to_owned();
        let keys = dir.join("business.json");
        let created: Value = serde_json::from_str(&run(Command::new(bin("alliance-registry"))
            .args([
                "did",
                "create",
                "--api",
                &self.api(0),
                "--registrar-key",
                &registrar,
            ])
            .args(["--key-out", keys.to_str().unwrap(), "--json"])))
        .unwrap();
        let did = created["did"].as_str().unwrap().to_owned();
        let api_key = "business-api-key-0123456789abcdef".to_owned();
        let api_key_file = dir.join("api-key");
        std::fs::write(&api_key_file, &api_key).unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let genesis = self.dir.join("genesis.json");
        let mut child = Command::new(bin("alliance-verify"))
            .args(["serve", "--port", &port.to_string()])
            .args(["--anchor", genesis.to_str().unwrap()])
            .args(["--oid4vp-did", &did, "--oid4vp-name", "Example Shop"])
            // The key its DID document lists, unless the flags name another.
            .args(if flags.contains(&"--oid4vp-key") {
                vec![]
            } else {
                vec!["--oid4vp-key", keys.to_str().unwrap()]
            })
            .args(["--public-url", &url])
            .args(["--api-key-file", api_key_file.to_str().unwrap()])
            // For wallets that do not staple: the evidence is fetched from this node.
            .args(["--registry", &self.api(0)])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let service = Proc(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(line.contains("listening on"), "{line}");
        Business {
            did,
            url,
            api_key,
            _service: service,
        }
    }

    /// A root authority registers `did` as a relying party for `scopes` (`TYPE=CLAIM,…`).
    pub fn register_relying_party(&self, did: &str, scopes: &[&str]) {
        let authority = self.dir.join("authority-0.key");
        let mut c = Command::new(bin("alliance-registry"));
        c.args(["relying-party", "accredit", did, "--api", &self.api(0)])
            .args(["--authority-key", authority.to_str().unwrap()]);
        for s in scopes {
            c.args(["--scope", s]);
        }
        run(&mut c);
    }
}

impl Business {
    /// Creates a request for the DCQL `query`: its `openid4vp://` link and id.
    pub async fn request(&self, purpose: &str, query: Value) -> (String, String) {
        let r = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/oid4vp/requests", self.url))
            .bearer_auth(&self.api_key)
            .json(&serde_json::json!({"purpose": purpose, "dcql_query": query}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        (
            v["link"].as_str().unwrap().to_owned(),
            v["id"].as_str().unwrap().to_owned(),
        )
    }

    /// The request's state and, once answered, its verdict.
    pub async fn outcome(&self, id: &str) -> Value {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("{}/oid4vp/requests/{id}", self.url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// `alliance-issuer serve --dir DIR`, once it listens.
pub fn serve_issuer(dir: &Path) -> Proc {
    let mut child = Command::new(bin("alliance-issuer"))
        .args(["serve", "--dir", dir.to_str().unwrap()])
        .env("ALLIANCE_ISSUER_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let serving = Proc(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    serving
}

/// An issuer's admin API, authenticated with its key; cheap to clone into closures and
/// tasks.
#[derive(Clone, Debug)]
pub struct Admin {
    /// The issuer's base URL (its OpenID4VCI credential issuer identifier).
    pub url: String,
    pub api_key: String,
}

impl Admin {
    /// POST `body` to `path`: status and JSON answer (null if none).
    pub async fn admin(&self, path: &str, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// GET `path`, as JSON.
    pub async fn get_admin(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Defines `types` (credential type definitions of the admin API), each answered 201.
    pub async fn define(&self, types: &[Value]) {
        for t in types {
            let (s, v) = self.admin("/admin/credential-types", t.clone()).await;
            assert_eq!(s, 201, "{v}");
        }
    }

    /// The library cards of most tests: `LibraryCard` (`ldp_vc`) and `LibraryCardSdJwt`
    /// (`dc+sd-jwt`, type `urn:test:library-card`), claims `name` and `cardNumber`.
    pub async fn define_types(&self) {
        self.define(&[
            json!({"id": "LibraryCard", "format": "ldp_vc", "credentialType": "LibraryCard", "claims": ["name", "cardNumber"], "validityDays": 365, "name": "Library card"}),
            json!({"id": "LibraryCardSdJwt", "format": "dc+sd-jwt", "credentialType": "urn:test:library-card", "claims": ["name", "cardNumber"], "validityDays": 365, "name": "Library card"}),
        ])
        .await;
    }

    /// An offer of `type_id` with `claims`: its by-reference link and transaction code.
    pub async fn offer_with(&self, type_id: &str, claims: Value) -> (String, String) {
        let (s, v) = self
            .admin(
                "/admin/offers",
                json!({"credentialType": type_id, "claims": claims}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        (
            v["offerByReferenceUri"].as_str().unwrap().to_owned(),
            v["txCode"].as_str().unwrap().to_owned(),
        )
    }

    /// An offer of a library card type to Ada, card L-1815.
    pub async fn offer(&self, type_id: &str) -> (String, String) {
        self.offer_with(type_id, json!({"name": "Ada", "cardNumber": "L-1815"}))
            .await
    }
}

/// An agency's issuer: `alliance-issuer init` in a directory of its own on a free loopback
/// port, then `serve`; its admin API (through `Deref`) with the key `init` printed. Stopped
/// (SIGTERM) and its directory deleted when dropped.
pub struct Issuer {
    pub api: Admin,
    /// What `init --json` printed (`did`, `adminApiKey`, …).
    pub init: Value,
    /// Stopped before its directory is deleted (fields drop in this order).
    serving: Option<Proc>,
    pub dir: tempfile::TempDir,
}

impl std::ops::Deref for Issuer {
    type Target = Admin;
    fn deref(&self) -> &Admin {
        &self.api
    }
}

impl Issuer {
    /// A did:key issuer on a SQLite file in its directory.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A did:key issuer on the database at `database_url` (default: a SQLite file in its
    /// directory).
    pub fn start_with(database_url: Option<&str>) -> Self {
        Self::start_configured(database_url, |_| {})
    }

    /// As [`Self::start_with`], with `edit` applied to `config.json` before the first start.
    pub fn start_configured(database_url: Option<&str>, edit: impl FnOnce(&mut Value)) -> Self {
        let mut args = vec!["--name", "Test Agency"];
        if let Some(db) = database_url {
            args.extend(["--database-url", db]);
        }
        let mut issuer = Self::init(&args, edit);
        issuer.serve();
        issuer
    }

    /// `init` with `args` added (e.g. `--registry` and `--registrar-key` for a did:alliance
    /// issuer) and `edit` applied to `config.json`; not serving yet ([`Self::serve`]).
    pub fn init(args: &[&str], edit: impl FnOnce(&mut Value)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{}", free_port());
        let init: Value = serde_json::from_str(&run(Command::new(bin("alliance-issuer"))
            .args([
                "init",
                "--dir",
                dir.path().to_str().unwrap(),
                "--issuer-url",
                &url,
                "--json",
            ])
            .args(args)))
        .unwrap();
        let config_path = dir.path().join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
        edit(&mut config);
        std::fs::write(&config_path, config.to_string()).unwrap();
        Self {
            api: Admin {
                url,
                api_key: init["adminApiKey"].as_str().unwrap().to_owned(),
            },
            init,
            serving: None,
            dir,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `serve` (again, after [`Self::stop`] or [`Self::kill`]), once it listens.
    pub fn serve(&mut self) {
        assert!(self.serving.is_none(), "the issuer is serving already");
        self.serving = Some(serve_issuer(self.dir.path()));
    }

    /// Stops the server as an operator does (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        drop(self.serving.take());
    }

    /// The serving process's id (to pause it with SIGSTOP, as a hung server).
    pub fn pid(&self) -> Option<u32> {
        self.serving.as_ref().map(|p| p.0.id())
    }

    /// Kills the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(p) = self.serving.take() {
            p.kill();
        }
    }
}

/// The holder's network, with the system's trust (these tests run over loopback `http://`).
/// Building one reads about 150 root certificates: build it once per test or bench and
/// clone it (a clone shares the connection pool).
pub fn holder_net() -> Net {
    Net::new(&wallet_core::Trust::system()).unwrap()
}

/// A token request with a pre-authorized `code` (and `pin` as the transaction code), sent
/// as a wallet would but without one, so tests can send what a wallet never sends: status
/// and JSON answer.
pub async fn token(url: &str, code: &str, pin: Option<&str>) -> (u16, Value) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair(
        "grant_type",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    );
    form.append_pair("pre-authorized_code", code);
    if let Some(p) = pin {
        form.append_pair("tx_code", p);
    }
    let r = reqwest::Client::new()
        .post(format!("{url}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A business's policy for did:key issuers that are on no registry: challenge `c-1`, domain
/// `shop.example`, no accreditation and no status-list anchor required.
pub fn unregistered_policy() -> Policy {
    Policy {
        challenge: Some("c-1".into()),
        domain: Some("shop.example".into()),
        require_accreditation: false,
        require_status_anchor: false,
        ..Policy::default()
    }
}

/// The holder presents `vc` (challenge `c-1`, domain `shop.example`) with freshly stapled
/// status lists (its issuer is a did:key: no registry is asked); the verifier's verdict under
/// [`unregistered_policy`].
pub async fn present_and_verify(net: &Net, vc: &Value, holder: &SecretKey) -> Verdict {
    let rdfc = Rdfc2022::new(PinnedContexts::standard());
    let vp = present::data_integrity(
        &rdfc,
        std::slice::from_ref(vc),
        holder,
        "c-1",
        "shop.example",
        now_ms(),
    )
    .unwrap();
    let bundle = staple::bundle(net, "http://127.0.0.1:9", &vp, None)
        .await
        .unwrap();
    Verifier::new(unregistered_policy(), None)
        .verify_bytes(&serde_json::to_vec(&bundle).unwrap(), now_ms())
}

/// The claims of an SD-JWT VC's issuer-signed JWT (no signature check).
pub fn sd_jwt_claims(sd_jwt: &str) -> Value {
    let payload = sd_jwt.split('~').next().unwrap().split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap()
}

/// A fresh, empty PostgreSQL database on the server at `ALLIANCE_TEST_POSTGRES_URL`
/// (`scripts/test.sh` starts a throwaway server on loopback through
/// `scripts/postgres-test-server.sh` and sets it). `None`, with a note, when it is not set;
/// under CI that is a failure.
pub async fn fresh_postgres_database() -> Option<String> {
    let Ok(base) = std::env::var("ALLIANCE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests: run them through scripts/test.sh"
        );
        eprintln!(
            "ALLIANCE_TEST_POSTGRES_URL is not set: PostgreSQL test not run (scripts/test.sh sets it)"
        );
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("issuer_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap();
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    Some(format!("{server}/{name}"))
}
