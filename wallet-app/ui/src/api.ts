// The wallet's commands: the only way the web view reaches the Rust side (capabilities in
// wallet-app/desktop/capabilities allow exactly these). Keys never come here: signing happens
// in Rust. Every failure arrives as a WalletFailure whose `code` the UI translates
// (i18n "error.<code>", with `params` filled in); `message` is the English fallback.

import { invoke as tauriInvoke, type InvokeArgs } from "@tauri-apps/api/core";

export type Lang = "en" | "zh-CN";

export interface WalletFailure {
  code: string;
  message: string;
  /** Values for the translation (serde_json values on the Rust side). */
  params: Record<string, string | number | boolean | null>;
}

export function isFailure(e: unknown): e is WalletFailure {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** Whether the page runs inside the wallet app (outside it, e.g. in a plain browser, there
 * is no Rust side: every command fails with `no_backend` instead of throwing). */
export function hasBackend(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

let failureListener: ((f: WalletFailure) => void) | null = null;

/** Tells `listener` of every failure a command returns (the app watches for `locked`). */
export function onFailure(listener: (f: WalletFailure) => void): void {
  failureListener = listener;
}

async function invoke<T>(cmd: string, args?: InvokeArgs): Promise<T> {
  if (!hasBackend()) {
    throw { code: "no_backend", message: "the wallet app is not running this page", params: {} };
  }
  try {
    return await tauriInvoke<T>(cmd, args);
  } catch (e) {
    const f: WalletFailure = isFailure(e)
      ? { code: e.code, message: e.message, params: e.params ?? {} }
      : { code: "unexpected", message: String(e), params: { detail: String(e) } };
    failureListener?.(f);
    throw f;
  }
}

export interface AppState {
  language: Lang;
  /** A PIN has been chosen (false on first start). */
  hasPin: boolean;
  locked: boolean;
  /** Set when the OS keyring cannot be used: the wallet then stores nothing. */
  keyringProblem: WalletFailure | null;
  /** Set when the wallet's records cannot be read: its key is gone from the keyring. */
  walletUnreadable: WalletFailure | null;
  /** The consortium this wallet trusts (from its network file), or null when none is set. */
  network: { chainId: string; registries: string[] } | null;
  /** Why there is no usable network file, when there is none. */
  networkProblem: WalletFailure | null;
  /** Remind the holder to back up (after the first credential, until a backup is made). */
  backupReminder: boolean;
  /** Minutes of inactivity before the wallet locks itself. */
  lockAfterMinutes: number;
  credentialCount: number;
}

export type StatusState = "valid" | "expiring" | "expired" | "suspended" | "revoked" | "unknown";

export interface Claim {
  /** Path of the claim, e.g. "given_name" or "address.locality". */
  name: string;
  /** Display label (from the issuer's metadata when given, else the name). */
  label: string;
  value: string;
  /** SD-JWT: the holder may leave it out of a presentation. */
  selective: boolean;
}

export interface Card {
  id: string;
  /** The credential type's display name (from the issuer's metadata). */
  title: string;
  format: "ldp_vc" | "dc+sd-jwt";
  issuerName: string;
  issuerDid: string;
  /** Up to three claims to show on the card. */
  mainClaims: Claim[];
  validFromMs: number | null;
  validUntilMs: number | null;
  status: StatusState;
  /** When the status (and the stapled registry proofs) were last refreshed; null: never. */
  statusCheckedMs: number | null;
  /** SD-JWT: unused copies left (each presentation uses a fresh one). */
  copiesLeft: number | null;
  receivedMs: number;
}

export interface CardDetails extends Card {
  claims: Claim[];
  /** "registry" when the issuer's DID document and accreditation were proven; "none" otherwise. */
  issuerProof: IssuerProof;
  copiesTotal: number | null;
  /** What the last status check could not confirm, in the verifier's (English) words. */
  statusProblems: string[];
}

export interface IssuerProof {
  /** The issuer's DID document was proven by the Alliance registry. */
  registered: boolean;
  /** Registry height of the proof. */
  height: number | null;
  /** Credential types the issuer is accredited for (empty: not accredited). */
  accreditedFor: string[];
  /** The accrediting root authority's name. */
  accreditedBy: string | null;
  /** This issuer's web address is listed in its DID document (the binding of URL and DID). */
  urlBound: boolean;
}

export interface OfferPreview {
  previewId: string;
  issuerUrl: string;
  issuerName: string;
  issuerDid: string | null;
  issuerProof: IssuerProof;
  /** This credential type is among those the issuer is accredited for. */
  accreditedForThis: boolean;
  credentialTitle: string;
  credentialType: string;
  format: "ldp_vc" | "dc+sd-jwt";
  /** Claim labels the credential will hold. */
  claimLabels: string[];
  /** Copies that will be requested (SD-JWT: several, one per presentation). */
  copies: number;
  /** The agency's PIN for this offer, when it asks for one. */
  txCode: { length: number | null; numeric: boolean; description: string | null } | null;
}

export interface Presentation {
  presentationId: string;
  /** Bytes of the bundle (the file a business verifies). */
  sizeBytes: number;
  /** The animated QR: each frame an SVG image, shown in turn. */
  frames: string[];
  /** What was disclosed (claim labels). */
  disclosed: string[];
  /** When the stapled registry proofs and status were fetched (null: never). */
  stapledMs: number | null;
}

/** Something a business asks beyond its registration on the Alliance registry (did:alliance
 * §5.4.10); claims are named by their labels and credentials by their titles. */
export type Overreach =
  | { kind: "not_registered" }
  | { kind: "withdrawn"; authority: string; reason: string }
  | { kind: "out_of_term" }
  | { kind: "type_not_covered"; credentialType: string }
  | { kind: "claims_not_covered"; credentialType: string; claims: string[] }
  | { kind: "whole"; credentialType: string; allowed: string[] };

export interface RequestOption {
  cardId: string;
  title: string;
  issuerName: string;
  /** The claims it would share (labels). */
  shares: string[];
  /** Shared whole (it has no selective disclosure). */
  whole: boolean;
  warnings: Overreach[];
}

export interface BusinessRequest {
  requestId: string;
  clientDid: string;
  /** The name it gives itself (its own word; the identifier is what the registry proves). */
  name: string | null;
  /** Why it asks, in its own words. */
  purpose: string | null;
  /** Registry height its DID document was proven at. */
  height: number;
  /** Its registration as a relying party: per credential type, the claims it may ask for. */
  registration: { authority: string; scopes: [string, string[]][] } | null;
  /** About the business itself (not registered, withdrawn, out of term). */
  warnings: Overreach[];
  queries: { id: string; options: RequestOption[] }[];
  /** Why the wallet cannot answer (in English, from the query). */
  unmet: string[];
}

export interface Answer {
  clientDid: string;
  shared: { title: string; claims: string[] }[];
}

export interface ActivityEntry {
  atMs: number;
  kind: "received" | "presented" | "deleted" | "backup" | "restored" | "status";
  /** Issuer (received) or verifier/audience (presented). */
  counterparty: string;
  credential: string;
  /** Presented: the claims disclosed. */
  claims: string[];
}

export const api = {
  state: () => invoke<AppState>("app_state"),
  /** The first screen has been painted (the app logs how long its start took). */
  uiReady: () => invoke<number>("ui_ready"),
  setLanguage: (language: Lang) => invoke<void>("set_language", { language }),
  setupPin: (pin: string) => invoke<void>("setup_pin", { pin }),
  unlock: (pin: string) => invoke<void>("unlock", { pin }),
  lock: () => invoke<void>("lock"),
  cards: () => invoke<Card[]>("list_cards"),
  details: (id: string) => invoke<CardDetails>("card_details", { id }),
  inspectOffer: (link: string) => invoke<OfferPreview>("inspect_offer", { link }),
  /** Decodes a QR code image (PNG/JPEG bytes) to its text. */
  decodeQr: (image: Uint8Array) => invoke<string>("decode_qr", image),
  acceptOffer: (previewId: string, txCode: string | null) =>
    invoke<Card>("accept_offer", { previewId, txCode }),
  refreshStatus: () => invoke<Card[]>("refresh_status"),
  present: (id: string, reveal: string[], challenge: string, audience: string) =>
    invoke<Presentation>("present", { id, reveal, challenge, audience }),
  /** Saves the presentation file; returns where. */
  savePresentation: (presentationId: string) =>
    invoke<string>("save_presentation", { presentationId }),
  deleteCard: (id: string) => invoke<void>("delete_card", { id }),
  activity: () => invoke<ActivityEntry[]>("activity"),
  /** Writes an encrypted backup; returns where. */
  createBackup: (passphrase: string) => invoke<string>("create_backup", { passphrase }),
  /** Restores a backup file (its bytes in standard base64); `replace` must be true to replace
   * a wallet that holds credentials. Returns the number of credentials restored. */
  restoreBackup: (fileBase64: string, passphrase: string, replace: boolean) =>
    invoke<number>("restore_backup", { fileBase64, passphrase, replace }),
  /** Replaces a wallet that can no longer be read (its key lost) by an empty one. */
  startOver: () => invoke<void>("start_over"),
  /** A business's request (openid4vp://): who asks, proven; what each credential would share. */
  inspectRequest: (link: string) => invoke<BusinessRequest>("inspect_request", { link }),
  /** Shares with the business: `picks` names the credential per query (default the first). */
  shareRequest: (requestId: string, picks: Record<string, string>) =>
    invoke<Answer>("share_request", { requestId, picks }),
  declineRequest: (requestId: string) => invoke<void>("decline_request", { requestId }),
  /** The offer link the app was opened with (a clicked link), once. */
  takeOfferLink: () => invoke<string | null>("take_offer_link"),
  /** Links opened while the app runs (deep links) are announced by this event. */
  offerEvent: "wallet://offer-link",
};
