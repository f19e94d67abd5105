//! Builds the Tauri context (configuration, capabilities, the UI from `../ui/dist`) and
//! declares the app's commands, so that the web view may call only those its capability
//! files allow (every app command is denied unless listed there).

fn main() {
    let dist = std::path::Path::new("../ui/dist/index.html");
    if !dist.exists() {
        println!(
            "cargo::error=the wallet's UI is not built: run scripts/build-wallet-ui.sh (it needs Node.js and npm)"
        );
        return;
    }
    println!("cargo::rerun-if-changed=../ui/dist");
    let manifest = tauri_build::AppManifest::new().commands(&[
        "app_state",
        "ui_ready",
        "set_language",
        "setup_pin",
        "unlock",
        "lock",
        "list_cards",
        "card_details",
        "inspect_offer",
        "decode_qr",
        "accept_offer",
        "refresh_status",
        "present",
        "save_presentation",
        "delete_card",
        "activity",
        "create_backup",
        "restore_backup",
        "start_over",
        "take_offer_link",
        "inspect_request",
        "share_request",
        "decline_request",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        println!("cargo::error=tauri build: {e:#}");
    }
}
