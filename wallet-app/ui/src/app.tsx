// The app: the top bar, then the one screen that applies. Before anything else come the
// gates: no keyring (nothing can be stored), the wallet's key lost (restore or start again),
// no PIN yet (first start or after a restore),
// locked. The wallet's state is asked every 20 s and when the window gets focus, so an idle
// lock shows at once; offer and request links opened from outside wait for the unlock.

import { useEffect } from "preact/hooks";
import { listen } from "@tauri-apps/api/event";
import { api } from "./api";
import { t } from "./i18n";
import { getStore, isRequestLink, refreshApp, update, useStore } from "./state";
import { TopBar } from "./components/TopBar";
import { NoKeyring } from "./screens/NoKeyring";
import { FirstStart } from "./screens/FirstStart";
import { Lock } from "./screens/Lock";
import { Home } from "./screens/Home";
import { Add } from "./screens/Add";
import { Request } from "./screens/Request";
import { Details } from "./screens/Details";
import { Present } from "./screens/Present";
import { Activity } from "./screens/Activity";
import { Backup } from "./screens/Backup";
import { Restore } from "./screens/Restore";
import { KeyLost } from "./screens/KeyLost";
import { Settings } from "./screens/Settings";

const POLL_MS = 20_000;
let offerNonce = 0;
let reportedPaint = false;

/** Tells the app when its first real screen has been painted (after two frames), once. */
function reportFirstPaint() {
  if (reportedPaint || !getStore().backend) return;
  reportedPaint = true;
  requestAnimationFrame(() => requestAnimationFrame(() => void api.uiReady().catch(() => undefined)));
}

function offerOpened(link: string | null | undefined) {
  if (typeof link === "string" && link.trim()) update({ pendingOffer: link.trim() });
}

function useWalletWatch() {
  useEffect(() => {
    void refreshApp();
    const poll = setInterval(() => void refreshApp(), POLL_MS);
    const onFocus = () => void refreshApp();
    window.addEventListener("focus", onFocus);
    let unlisten: (() => void) | null = null;
    if (getStore().backend) {
      api.takeOfferLink().then(offerOpened).catch(() => undefined);
      listen<string>(api.offerEvent, (e) => offerOpened(e.payload))
        .then((u) => (unlisten = u))
        .catch(() => undefined);
    }
    return () => {
      clearInterval(poll);
      window.removeEventListener("focus", onFocus);
      unlisten?.();
    };
  }, []);
}

export function App() {
  useWalletWatch();
  const { app, route, pendingOffer } = useStore();
  const open = !!app && !app.keyringProblem && app.hasPin && !app.locked;

  // An offer link waiting for the unlock: look at it now.
  useEffect(() => {
    if (open && pendingOffer) {
      offerNonce += 1;
      const route = isRequestLink(pendingOffer)
        ? ({ name: "request", link: pendingOffer, nonce: offerNonce } as const)
        : ({ name: "add", link: pendingOffer, nonce: offerNonce } as const);
      update({ pendingOffer: null, route, flash: null });
    }
  }, [open, pendingOffer]);

  useEffect(() => {
    if (app) reportFirstPaint();
  }, [app]);

  let screen;
  if (!app) {
    screen = (
      <main id="main" class="screen">
        <p class="loading">{t("common.loading")}</p>
      </main>
    );
  } else if (app.keyringProblem) {
    screen = <NoKeyring />;
  } else if (route.name === "restore" && (app.locked || !app.hasPin)) {
    screen = <Restore />;
  } else if (app.walletUnreadable) {
    screen = <KeyLost />;
  } else if (!app.hasPin) {
    screen = <FirstStart />;
  } else if (app.locked) {
    screen = <Lock />;
  } else {
    switch (route.name) {
      case "add":
        screen = <Add key={`add-${route.nonce ?? 0}`} link={route.link} />;
        break;
      case "request":
        screen = <Request key={`request-${route.nonce ?? 0}`} link={route.link} />;
        break;
      case "details":
        screen = <Details key={route.id} id={route.id} />;
        break;
      case "present":
        screen = <Present key={route.id} id={route.id} />;
        break;
      case "activity":
        screen = <Activity />;
        break;
      case "backup":
        screen = <Backup />;
        break;
      case "restore":
        screen = <Restore />;
        break;
      case "settings":
        screen = <Settings />;
        break;
      default:
        screen = <Home />;
    }
  }
  return (
    <>
      <a class="skip-link" href="#main">
        {t("common.skip")}
      </a>
      <TopBar />
      {screen}
    </>
  );
}

