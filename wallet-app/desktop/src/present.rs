//! Presenting a credential offline: the holder chooses what to disclose and gives the
//! business's challenge (Data Integrity) or nonce and audience (SD-JWT); the wallet signs in
//! Rust with the copy's key from the keyring and staples the registry proofs and status lists
//! of its last status check. The bundle is offered as a file and as an animated QR sequence
//! (`verifier_lib::qr_frames`).

use serde::Serialize;
use serde_json::json;

use crate::error::Failure;
use crate::held::{FORMAT_SD_JWT, Held, selective_names};
use crate::state::{Wallet, now_ms};
use crate::status;

/// Stapled material older than this is fetched again before presenting, when online.
const RESTAPLE_AFTER_MS: u64 = 10 * 60 * 1000;
/// Longest challenge, nonce or audience accepted.
const MAX_PARAM: usize = 512;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresentView {
    pub presentation_id: String,
    pub size_bytes: usize,
    pub frames: Vec<String>,
    pub disclosed: Vec<String>,
    /// When the stapled proofs and status were fetched.
    pub stapled_ms: Option<u64>,
}

fn check_param(name: &'static str, v: &str) -> Result<(), Failure> {
    if v.trim().is_empty() || v.len() > MAX_PARAM || v.chars().any(char::is_control) {
        return Err(Failure::new(
            "bad_request_param",
            format!("the {name} must be 1 to {MAX_PARAM} printable characters"),
        )
        .with("param", name));
    }
    Ok(())
}

/// The copy to present: an unused one (SD-JWT batches); when every copy has been used, the
/// first again (the card tells the holder that presentations can now be linked).
pub(crate) fn pick_copy(held: &Held) -> usize {
    held.copies.iter().position(|c| !c.used).unwrap_or(0)
}

/// The credential with stapled proofs fresh enough to present: fetched again when older than
/// [`RESTAPLE_AFTER_MS`] and the registry answers; the last ones when offline; refused when
/// there are none and the registry cannot be reached.
pub(crate) async fn fresh(
    wallet: &Wallet,
    item: wallet_vault::Item,
    held: Held,
) -> Result<(wallet_vault::Item, Held), Failure> {
    let stale = held
        .status
        .checked_ms
        .is_none_or(|t| now_ms().saturating_sub(t) > RESTAPLE_AFTER_MS);
    if !stale {
        return Ok((item, held));
    }
    match status::refresh(wallet, item.clone(), held.clone()).await {
        Ok(fresh) => Ok(fresh),
        Err(e) if held.status.stapled.is_some() => {
            tracing::info!("presenting with the proofs of the last check (offline: {e})");
            Ok((item, held))
        }
        Err(e) => Err(Failure::new(
            "never_checked_offline",
            format!(
                "this credential's registry proofs have never been fetched, and the registry cannot be reached now ({e}); connect once, then present"
            ),
        )),
    }
}

pub async fn present(
    wallet: &Wallet,
    id: &str,
    reveal: &[String],
    challenge: &str,
    audience: &str,
) -> Result<PresentView, Failure> {
    check_param("challenge", challenge)?;
    check_param("audience", audience)?;
    wallet.vault()?;
    let _writer = wallet.writer.lock().await;
    let (item, held) = wallet.held(id)?;
    let (item, mut held) = fresh(wallet, item, held).await?;
    let copy = pick_copy(&held);
    let (reveal_names, disclosed): (Option<Vec<&str>>, Vec<String>) = if held.format
        == FORMAT_SD_JWT
    {
        let selective = selective_names(held.copies[copy].credential.as_str().unwrap_or_default());
        for r in reveal {
            if !selective.contains(r) {
                return Err(Failure::new(
                    "bad_request_param",
                    format!("{r} is not a claim this credential can disclose"),
                )
                .with("param", "reveal"));
            }
        }
        (
            Some(reveal.iter().map(String::as_str).collect()),
            reveal
                .iter()
                .map(|r| held.labels.get(r).cloned().unwrap_or_else(|| r.clone()))
                .collect(),
        )
    } else {
        // A Data Integrity credential is disclosed whole.
        (None, held.claims().0.into_iter().map(|c| c.label).collect())
    };
    let p = status::presentation(
        wallet,
        &held,
        copy,
        reveal_names.as_deref(),
        challenge,
        audience,
    )?;
    let stapled = held.status.stapled.clone().unwrap_or_else(|| json!({}));
    let bundle = json!({
        "presentation": p,
        "registryProofs": stapled.get("registryProofs").cloned().unwrap_or_else(|| json!([])),
        "statusLists": stapled.get("statusLists").cloned().unwrap_or_else(|| json!({})),
    });
    let bytes = serde_json::to_vec(&bundle).map_err(Failure::internal)?;
    let frames = crate::qr::frames(&bytes)?;
    if held.format == FORMAT_SD_JWT {
        held.copies[copy].used = true;
        wallet.save_held(item, &held)?;
    }
    wallet.log(json!({
        "kind": "presented",
        "counterparty": audience,
        "credential": held.title,
        "claims": disclosed,
    }));
    let presentation_id = uuid::Uuid::new_v4().to_string();
    let size_bytes = bytes.len();
    wallet.remember_presentation(presentation_id.clone(), bytes);
    Ok(PresentView {
        presentation_id,
        size_bytes,
        frames,
        disclosed,
        stapled_ms: held.status.checked_ms,
    })
}

/// Saves a presentation made earlier to the documents folder; returns the file's path.
pub fn save(wallet: &Wallet, presentation_id: &str) -> Result<String, Failure> {
    let bytes = wallet.presentation(presentation_id)?;
    let name = format!(
        "alliance-presentation-{}.json",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    write_document(wallet, &name, &bytes)
}

/// Writes `bytes` as `name` in the documents folder (created if needed).
pub fn write_document(wallet: &Wallet, name: &str, bytes: &[u8]) -> Result<String, Failure> {
    std::fs::create_dir_all(&wallet.documents).map_err(|e| {
        Failure::new(
            "save_failed",
            format!("cannot create {}: {e}", wallet.documents.display()),
        )
    })?;
    let path = wallet.documents.join(name);
    std::fs::write(&path, bytes).map_err(|e| {
        Failure::new(
            "save_failed",
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(path.display().to_string())
}
