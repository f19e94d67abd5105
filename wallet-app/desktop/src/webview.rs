//! How the window's web view is set up to draw: lean, because a wallet's screens are still
//! cards and forms.
//!
//! On Linux, WebKitGTK by default composites every page on the GPU (or, without one, on a
//! software GL renderer), which roughly doubles the memory of its web process (384 → 167 MiB
//! PSS holding 50 credentials, docs/benchmarks.md) and is the usual cause of blank windows
//! on some drivers. The wallet draws without GPU compositing, and keeps WebKit's caches at
//! the size of a document viewer (it shows only its own bundled pages, nothing remote), with
//! WebGL, Web Audio and the back/forward page cache off.
//! `ALLIANCE_WALLET_GPU=1` gives WebKit back its default.

use tauri::{Manager, Runtime};

/// Applies the settings to the main window's web view (the next page it draws uses them).
pub fn lighten<R: Runtime>(app: &tauri::AppHandle<R>) {
    if std::env::var("ALLIANCE_WALLET_GPU").is_ok_and(|v| v == "1") {
        return;
    }
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    #[cfg(target_os = "linux")]
    if let Err(e) = window.with_webview(|view| {
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let view = view.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            // Nothing the wallet shows needs them; fewer parts of the engine to attack.
            settings.set_enable_webgl(false);
            settings.set_enable_webaudio(false);
            settings.set_enable_page_cache(false);
        }
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    }) {
        tracing::warn!("cannot set up the web view's drawing: {e}");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
