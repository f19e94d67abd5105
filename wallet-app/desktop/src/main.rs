//! `alliance-wallet-desktop`: the citizen's wallet. Its only argument, if any, is an offer
//! link (`openid-credential-offer://…`), as a desktop passes when a link is clicked.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tao=warn,wry=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    wallet_desktop::run();
}
