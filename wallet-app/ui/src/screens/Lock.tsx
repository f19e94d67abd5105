// The lock screen: the PIN opens the wallet. Wrong PINs say how many tries are left before
// a wait; a wait counts down. A forgotten PIN can only be recovered from a backup.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, isFailure } from "../api";
import { formatNumber, t } from "../i18n";
import { navigate, refreshApp, useStore } from "../state";
import { Screen } from "../components/Screen";
import { Field } from "../components/Field";
import { ErrorMessage, Notice } from "../components/Messages";
import { Icon } from "../components/Icon";

/** When the next try is allowed (kept across the lock screen being shown again). */
let throttledUntil = 0;

export function Lock() {
  const { pendingOffer } = useStore();
  const [pin, setPin] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [forgot, setForgot] = useState(false);
  const forgotRef = useRef<HTMLDivElement>(null);
  const waitS = Math.max(0, Math.ceil((throttledUntil - now) / 1000));

  useEffect(() => {
    if (waitS <= 0) return;
    const h = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(h);
  }, [waitS > 0]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (waitS > 0 || busy) return;
    if (pin.length === 0) {
      setError(t("lock.empty"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.unlock(pin);
      setPin("");
      await refreshApp();
    } catch (err) {
      if (isFailure(err) && err.code === "pin_throttled") {
        throttledUntil = Date.now() + Number(err.params.waitS ?? 0) * 1000;
        setNow(Date.now());
      }
      setPin("");
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  let message = null;
  if (waitS > 0) {
    message = (
      <div class="message message-error" role="alert" data-testid="error-message">
        <Icon name="clock" />
        <div>
          <p>{t("lock.throttled")}</p>
          <p class="countdown" role="timer" data-testid="throttle-countdown" data-seconds={waitS}>
            {t("lock.waitSeconds", { seconds: formatNumber(waitS) })}
          </p>
        </div>
      </div>
    );
  } else if (isFailure(error) && error.code === "wrong_pin" && Number(error.params.triesLeft) === 0) {
    message = <ErrorMessage error={t("lock.wrongLast")} />;
  } else if (isFailure(error) && error.code === "pin_throttled") {
    message = null; // the wait is over
  } else if (error !== null) {
    message = <ErrorMessage error={error} />;
  }

  return (
    <Screen title={t("lock.title")} focusHeading={false} narrow>
      {pendingOffer && (
        <Notice tone="info" testid="pending-offer">
          <p>{t("lock.pendingOffer")}</p>
        </Notice>
      )}
      <form class="panel" onSubmit={submit} noValidate>
        <Field
          label={t("lock.pinLabel")}
          hint={t("lock.pinHint")}
          type="password"
          value={pin}
          onInput={setPin}
          testid="pin-input"
          autoComplete="current-password"
          autoFocus
        />
        {message}
        <div class="actions">
          <button
            type="submit"
            class="primary big"
            disabled={busy || waitS > 0}
            data-testid="pin-submit"
          >
            {busy ? t("lock.checking") : t("lock.unlock")}
          </button>
        </div>
      </form>
      <div class="aside">
        <button
          type="button"
          class="link"
          aria-expanded={forgot}
          aria-controls="forgot-panel"
          onClick={() => {
            setForgot(!forgot);
            setTimeout(() => forgotRef.current?.focus(), 0);
          }}
          data-testid="forgot-pin"
        >
          {t("lock.forgot")}
        </button>
        {forgot && (
          <div class="panel" id="forgot-panel" tabIndex={-1} ref={forgotRef}>
            <h2>{t("lock.forgotTitle")}</h2>
            <p>{t("lock.forgotText1")}</p>
            <p>{t("lock.forgotText2")}</p>
            <p>{t("lock.forgotText3")}</p>
            <button
              type="button"
              onClick={() => navigate({ name: "restore" })}
              data-testid="forgot-restore"
            >
              {t("lock.forgotRestore")}
            </button>
          </div>
        )}
      </div>
    </Screen>
  );
}
