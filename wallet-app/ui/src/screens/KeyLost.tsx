// The wallet's records are on this computer but its key is no longer in the keyring (the
// keyring was reset, or the wallet's folder was copied to another computer). Nothing can be
// read without that key; a backup brings everything back. Starting again empty is offered
// too, after a confirmation, for a holder who has no backup.

import { useState } from "preact/hooks";
import { api } from "../api";
import { t } from "../i18n";
import { navigate, refreshApp, update, useStore } from "../state";
import { Screen } from "../components/Screen";
import { Icon } from "../components/Icon";
import { ConfirmDialog } from "../components/Dialog";
import { ErrorMessage } from "../components/Messages";

export function KeyLost() {
  const { app } = useStore();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const startOver = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.startOver();
      setConfirming(false);
      update({ route: { name: "home" }, flash: null });
      await refreshApp();
    } catch (e) {
      setConfirming(false);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Screen title={t("keyLost.title")} narrow>
      <div class="big-notice" data-testid="key-lost">
        <Icon name="warn" />
        <p class="lead">{t("keyLost.lead")}</p>
      </div>
      <p>{t("keyLost.why")}</p>
      <h2>{t("keyLost.whatToDo")}</h2>
      <ul class="steps">
        <li>{t("keyLost.step1")}</li>
        <li>{t("keyLost.step2")}</li>
      </ul>
      <div class="actions">
        <button
          type="button"
          class="primary big"
          onClick={() => navigate({ name: "restore" })}
          data-testid="key-lost-restore"
        >
          {t("keyLost.restore")}
        </button>
        <button type="button" onClick={() => setConfirming(true)} data-testid="key-lost-start-over">
          {t("keyLost.startOver")}
        </button>
      </div>
      {error !== null && <ErrorMessage error={error} />}
      {app?.walletUnreadable && (
        <details class="disclosure">
          <summary>{t("common.technicalDetails")}</summary>
          <p>
            <code class="wrap">{app.walletUnreadable.message}</code>
          </p>
        </details>
      )}
      <ConfirmDialog
        open={confirming}
        title={t("keyLost.confirmTitle")}
        confirmLabel={t("keyLost.confirm")}
        confirmTestid="key-lost-confirm"
        danger
        busy={busy}
        onConfirm={() => void startOver()}
        onCancel={() => setConfirming(false)}
      >
        <p>{t("keyLost.confirmWarning")}</p>
      </ConfirmDialog>
    </Screen>
  );
}
