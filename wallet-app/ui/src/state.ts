// The app's state: what the wallet says of itself (AppState), which screen is shown, an offer
// link waiting to be looked at, and a short message carried to the next screen. A tiny store:
// components read it with useStore() and change it through the functions below.

import { useEffect, useState } from "preact/hooks";
import { api, hasBackend, onFailure, type AppState, type Lang } from "./api";
import { setLang, systemLang, type Key, type Params } from "./i18n";

export type Route =
  | { name: "home" }
  | { name: "add"; link?: string; nonce?: number }
  | { name: "request"; link: string; nonce?: number }
  | { name: "details"; id: string }
  | { name: "present"; id: string }
  | { name: "activity" }
  | { name: "backup" }
  | { name: "restore" }
  | { name: "settings" };

export interface Flash {
  key: Key;
  params?: Params;
}

export interface Store {
  /** null until the wallet has answered. */
  app: AppState | null;
  /** False when the page runs outside the wallet app (a plain browser). */
  backend: boolean;
  route: Route;
  /** An offer link opened from outside, to look at once the wallet is unlocked. */
  pendingOffer: string | null;
  /** A confirmation shown once on the next screen ("the credential was deleted"). */
  flash: Flash | null;
  /** Credentials restored by the last restore (the holder then chooses a new PIN). */
  restored: number | null;
}

/** What the page shows when there is no wallet behind it: the first start, storing nothing. */
function offlineState(): AppState {
  return {
    language: systemLang(),
    hasPin: false,
    locked: true,
    keyringProblem: null,
    walletUnreadable: null,
    network: null,
    networkProblem: null,
    backupReminder: false,
    lockAfterMinutes: 5,
    credentialCount: 0,
  };
}

let store: Store = {
  app: null,
  backend: hasBackend(),
  route: { name: "home" },
  pendingOffer: null,
  flash: null,
  restored: null,
};
const listeners = new Set<() => void>();

export function getStore(): Store {
  return store;
}

export function update(patch: Partial<Store>): void {
  store = { ...store, ...patch };
  if (patch.app) setLang(patch.app.language);
  for (const l of listeners) l();
}

export function useStore(): Store {
  const [, setTick] = useState(0);
  const rendered = store;
  useEffect(() => {
    const l = () => setTick((n) => n + 1);
    listeners.add(l);
    // Changed between this render and the subscription (an earlier effect): render again.
    if (store !== rendered) l();
    return () => {
      listeners.delete(l);
    };
  }, []);
  return store;
}

export function navigate(route: Route, flash: Flash | null = null): void {
  update({ route, flash });
}

/** Asks the wallet for its state (also how an idle lock is noticed). */
export async function refreshApp(): Promise<void> {
  if (!store.backend) {
    if (!store.app) update({ app: offlineState() });
    return;
  }
  try {
    const app = await api.state();
    // The language chosen in this session stands, even where the wallet could not store it
    // (no keyring).
    if (chosenLanguage) app.language = chosenLanguage;
    update({ app });
  } catch {
    if (!store.app) update({ app: offlineState() });
  }
}

export function markLocked(): void {
  if (store.app && !store.app.locked) update({ app: { ...store.app, locked: true } });
}

export async function lockNow(): Promise<void> {
  try {
    await api.lock();
  } finally {
    markLocked();
    update({ route: { name: "home" }, flash: null });
  }
}

/** The language picked in this session (kept over what the wallet reports). */
let chosenLanguage: Lang | null = null;

export async function changeLanguage(language: Lang): Promise<void> {
  chosenLanguage = language;
  if (store.app) update({ app: { ...store.app, language } });
  else setLang(language);
  if (!store.backend || store.app?.keyringProblem) return;
  try {
    await api.setLanguage(language);
  } catch {
    // Shown in the chosen language for this session anyway.
  }
}

// Any command refused because the wallet locked itself sends the holder to the lock screen.
onFailure((f) => {
  if (f.code === "locked") markLocked();
});

/** A business's request (OpenID4VP), as opposed to a credential offer. */
export function isRequestLink(link: string): boolean {
  return /^openid4vp:/i.test(link.trim());
}
