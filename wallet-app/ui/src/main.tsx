// Alliance Wallet's interface: Preact screens over the Tauri commands in api.ts.
//
// data-testid hooks for the end-to-end (WebDriver) test:
//   top bar:      language-select, lock-button, back-button
//   first start:  pin-input, pin-input-2, pin-submit, welcome-restore, no-backend, network-notice
//   no keyring:   keyring-problem
//   key lost:     key-lost, key-lost-restore, key-lost-start-over, key-lost-confirm
//   lock:         pin-input, pin-submit, throttle-countdown (data-seconds), forgot-pin,
//                 forgot-restore, pending-offer
//   home:         add-button, add-button-empty, refresh-status, backup-button, activity-button,
//                 settings-button, backup-reminder, backup-reminder-button, empty-state,
//                 refresh-done, offline-notice, more-cards (data-hidden),
//                 card (data-card-id, data-status), card-open, card-status (data-status),
//                 card-checked, card-copies
//   add:          offer-link-input, offer-inspect, qr-file, offer-summary, issuer-block,
//                 issuer-name, issuer-did, did-toggle, issuer-registered, issuer-accredited,
//                 issuer-url (data-ok), offer-claims, offer-copies, tx-code-input,
//                 offer-accept, offer-cancel
//   details:      present-button, card-status, card-checked, status-problems, claims,
//                 copies-left, delete-button, delete-confirm, dialog-cancel
//   present:      reveal-<name>, whole-notice, challenge-input, audience-input,
//                 challenge-qr-file, present-next, present-summary, present-confirm,
//                 present-back, present-ready, qr-frame (data-frame), frame-counter, qr-pause,
//                 qr-prev, qr-next, qr-size, stapled-age, save-presentation, saved-path,
//                 present-done
//   request:      request-screen, requester-name, requester-registered, requester-rp, requester-warning,
//                 request-purpose, request-option (data-card-id), request-whole, request-shares,
//                 option-warning, request-unmet, request-share, request-decline, request-sent,
//                 request-done
//   activity:     activity-list, activity-entry (data-kind), activity-empty
//   backup:       backup-passphrase, backup-passphrase-2, backup-create, backup-path,
//                 backup-done, backup-done-button, restore-link
//   restore:      restore-file, restore-file-name, restore-passphrase, restore-replace,
//                 restore-submit
//   settings:     settings-language, lock-timeout, settings-backup, settings-restore
//   everywhere:   error-message (every error shown)

import { render } from "preact";
import { App } from "./app";
import { setLang, systemLang } from "./i18n";

setLang(systemLang());
const root = document.getElementById("app");
if (root) render(<App />, root);
