// First start (and after a restore): welcome, and choose the PIN or passphrase that opens
// the wallet. It is stored only as a verifier: forgetting it means restoring a backup.

import { useState } from "preact/hooks";
import { api } from "../api";
import { t, tn } from "../i18n";
import { navigate, refreshApp, update, useStore } from "../state";
import { Screen } from "../components/Screen";
import { Field } from "../components/Field";
import { ErrorMessage, Notice } from "../components/Messages";
import { NetworkNotice } from "../components/NetworkNotice";

export const MIN_PIN = 6;

export function FirstStart() {
  const { restored, backend } = useStore();
  const [pin, setPin] = useState("");
  const [pin2, setPin2] = useState("");
  const [problem, setProblem] = useState<{ field: 1 | 2; text: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if ([...pin].length < MIN_PIN) {
      setProblem({ field: 1, text: t("pin.tooShort", { min: MIN_PIN }) });
      return;
    }
    if (pin !== pin2) {
      setProblem({ field: 2, text: t("pin.mismatch") });
      return;
    }
    setProblem(null);
    setBusy(true);
    try {
      await api.setupPin(pin);
      await refreshApp();
      update({ restored: null });
      navigate({ name: "home" }, { key: "pin.saved" });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Screen
      title={restored !== null ? t("welcome.restoredTitle") : t("welcome.title")}
      focusHeading={false}
      narrow
    >
      {restored !== null ? (
        <Notice tone="ok">
          <p>{tn("welcome.restored", restored)}</p>
        </Notice>
      ) : (
        <>
          <p class="lead">{t("welcome.lead")}</p>
          <ul class="bullets">
            <li>{t("welcome.point1")}</li>
            <li>{t("welcome.point2")}</li>
            <li>{t("welcome.point3")}</li>
          </ul>
        </>
      )}
      {!backend && (
        <Notice tone="info" testid="no-backend">
          <p>{t("app.noBackend")}</p>
        </Notice>
      )}
      <NetworkNotice />
      <form class="panel" onSubmit={submit} noValidate>
        <h2>{t("pin.chooseTitle")}</h2>
        <p class="hint">{t("pin.chooseHint", { min: MIN_PIN })}</p>
        <Field
          label={t("pin.new")}
          type="password"
          value={pin}
          onInput={setPin}
          testid="pin-input"
          autoComplete="new-password"
          autoFocus
          problem={problem?.field === 1 ? problem.text : null}
        />
        <Field
          label={t("pin.again")}
          type="password"
          value={pin2}
          onInput={setPin2}
          testid="pin-input-2"
          autoComplete="new-password"
          problem={problem?.field === 2 ? problem.text : null}
        />
        <p class="hint">{t("pin.forgetWarning")}</p>
        {error !== null && <ErrorMessage error={error} />}
        <div class="actions">
          <button type="submit" class="primary big" disabled={busy} data-testid="pin-submit">
            {busy ? t("pin.saving") : t("pin.save")}
          </button>
        </div>
      </form>
      {restored === null && (
        <p class="aside">
          {t("welcome.haveBackup")}{" "}
          <button
            type="button"
            class="link"
            onClick={() => navigate({ name: "restore" })}
            data-testid="welcome-restore"
          >
            {t("welcome.restoreLink")}
          </button>
        </p>
      )}
    </Screen>
  );
}
