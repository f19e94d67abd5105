//! Keeping a credential's status fresh. While online, the wallet presents each credential to
//! itself (a fresh challenge, its own audience), staples what a verifier needs (registry
//! proofs of the issuer and the status lists), and verifies the result with the same
//! verifier a business runs, against the consortium's genesis. The verdict gives the state
//! (valid, suspended, revoked) and the stapled material is kept: a later presentation
//! staples it as is, so presenting works offline and at once.

use serde_json::{Value, json};
use verifier_lib::{CheckKind, Outcome, Policy, Verifier};
use wallet_core::{present, staple};
use wallet_vault::Item;

use crate::error::Failure;
use crate::held::{FORMAT_SD_JWT, Held, StatusSnapshot};
use crate::state::{Wallet, now_ms};

/// The audience of the wallet's checks of its own credentials.
const SELF_AUDIENCE: &str = "alliance-wallet:status-check";

/// A presentation of one copy of `held` for `challenge` and `audience`, disclosing `reveal`
/// (SD-JWT; `None`: everything).
pub fn presentation(
    wallet: &Wallet,
    held: &Held,
    copy: usize,
    reveal: Option<&[&str]>,
    challenge: &str,
    audience: &str,
) -> Result<Value, Failure> {
    let c = held
        .copies
        .get(copy)
        .ok_or_else(|| Failure::internal("no such copy"))?;
    let key = wallet.vault()?.holder_key(&c.key)?;
    if held.format == FORMAT_SD_JWT {
        let text = c.credential.as_str().unwrap_or_default();
        Ok(Value::String(present::sd_jwt(
            text,
            reveal,
            &key,
            audience,
            challenge,
            now_ms(),
        )?))
    } else {
        Ok(present::data_integrity(
            &wallet.rdfc,
            std::slice::from_ref(&c.credential),
            &key,
            challenge,
            audience,
            now_ms(),
        )?)
    }
}

/// The state a verdict gives a credential, and the failed checks' reasons.
fn state_of(verdict: &verifier_lib::Verdict) -> (String, Vec<String>) {
    let mut state = "valid";
    let mut problems = vec![];
    for c in verdict.checks.iter().filter(|c| c.outcome == Outcome::Fail) {
        problems.push(c.reason.clone());
        if c.kind == CheckKind::Status {
            // The verifier words a set bit as "revoked (…)" or "suspended (…)".
            if c.reason.starts_with("revoked") {
                state = "revoked";
            } else if c.reason.starts_with("suspended") && state != "revoked" {
                state = "suspended";
            }
        }
    }
    if state == "valid" && !problems.is_empty() {
        state = "unknown";
    }
    (state.to_owned(), problems)
}

/// Refreshes one credential's status and stapled material (network). On failure (offline),
/// the previous snapshot is kept and the error returned.
pub async fn refresh(wallet: &Wallet, item: Item, mut held: Held) -> Result<(Item, Held), Failure> {
    let network = wallet.network()?;
    let challenge = uuid::Uuid::new_v4().to_string();
    let p = presentation(wallet, &held, 0, None, &challenge, SELF_AUDIENCE)?;
    let mut last = None;
    let mut bundle = None;
    for api in &network.registries {
        match staple::bundle(&wallet.net, api, &p, None).await {
            Ok(b) => {
                bundle = Some(b);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let bundle = match (bundle, last) {
        (Some(b), _) => b,
        (None, Some(e)) => return Err(e.into()),
        (None, None) => return Err(Failure::new("offline", "no registry node answered")),
    };
    let bytes = serde_json::to_vec(&bundle).map_err(Failure::internal)?;
    let policy = Policy {
        challenge: Some(challenge),
        domain: Some(SELF_AUDIENCE.into()),
        ..Policy::default()
    };
    let verdict = Verifier::new(policy, Some(network.anchor())).verify_bytes(&bytes, now_ms());
    let (state, problems) = state_of(&verdict);
    let mut stapled: Value = serde_json::from_slice(&bytes).map_err(Failure::internal)?;
    if let Some(o) = stapled.as_object_mut() {
        o.remove("presentation");
    }
    let changed = held.status.state != state;
    held.status = StatusSnapshot {
        state: state.clone(),
        checked_ms: Some(now_ms()),
        problems,
        stapled: Some(stapled),
    };
    wallet.save_held(item.clone(), &held)?;
    if changed && (state == "revoked" || state == "suspended") {
        wallet.log(json!({
            "kind": "status",
            "counterparty": held.issuer_name,
            "credential": held.title,
            "claims": [state],
        }));
    }
    Ok((item, held))
}

/// Refreshes every credential; returns the first failure (the others are still tried).
pub async fn refresh_all(wallet: &Wallet) -> Result<(), Failure> {
    let _writer = wallet.writer.lock().await;
    let mut first = None;
    for (item, held) in wallet.all_held()? {
        if let Err(e) = refresh(wallet, item, held).await {
            tracing::info!("status refresh: {e}");
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}
