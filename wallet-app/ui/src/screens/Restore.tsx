// Restoring a backup file with its passphrase. A wallet that holds credentials is replaced
// only after an explicit confirmation; a wrong passphrase or a damaged file changes nothing.
// Afterwards the holder chooses a new PIN (also how a forgotten PIN is recovered).

import { useState } from "preact/hooks";
import { api, isFailure } from "../api";
import { t } from "../i18n";
import { readBase64 } from "../files";
import { navigate, refreshApp, update, useStore } from "../state";
import { Screen } from "../components/Screen";
import { Field } from "../components/Field";
import { ErrorMessage } from "../components/Messages";

export function Restore() {
  const { app } = useStore();
  const [file, setFile] = useState<File | null>(null);
  const [pass, setPass] = useState("");
  const [replace, setReplace] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notEmpty, setNotEmpty] = useState(false);

  // Locked, the wallet cannot say how much it holds: assume it holds something.
  // A wallet that cannot be read (its key lost) may hold anything too.
  const lost = !!app?.walletUnreadable;
  const mustConfirm =
    notEmpty || lost || (app ? app.credentialCount > 0 || (app.locked && app.hasPin) : false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!file) return setProblem(t("restore.noFile"));
    if (!pass) return setProblem(t("restore.noPass"));
    if (mustConfirm && !replace) return setProblem(t("restore.confirmNeeded"));
    setProblem(null);
    setBusy(true);
    try {
      const count = await api.restoreBackup(await readBase64(file), pass, mustConfirm && replace);
      setPass("");
      update({ restored: count, route: { name: "home" }, flash: null });
      await refreshApp();
    } catch (err) {
      if (isFailure(err) && err.code === "wallet_not_empty") setNotEmpty(true);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const back = () => navigate({ name: "home" });
  return (
    <Screen title={t("restore.title")} back={back}>
      <p class="lead">{t("restore.lead")}</p>
      <form class="panel" onSubmit={submit} noValidate>
        <div class="field">
          <span class="label" id="restore-file-label">
            {t("restore.fileLabel")}
          </span>
          <label class="file-button">
            <input
              type="file"
              accept=".json,application/json"
              aria-labelledby="restore-file-label"
              data-testid="restore-file"
              onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)}
            />
            <span>{t("restore.chooseFile")}</span>
          </label>
          <p class="hint" data-testid="restore-file-name">
            {file ? t("restore.chosen", { name: file.name }) : t("restore.noneChosen")}
          </p>
        </div>
        <Field
          label={t("restore.pass")}
          hint={t("restore.passHint")}
          type="password"
          value={pass}
          onInput={setPass}
          testid="restore-passphrase"
          autoComplete="off"
        />
        {mustConfirm && (
          <div class="panel panel-warn">
            <p>
              <strong>{lost ? t("restore.replaceLostWarning") : t("restore.replaceWarning")}</strong>
            </p>
            <label class="choice">
              <input
                type="checkbox"
                checked={replace}
                onChange={(e) => setReplace(e.currentTarget.checked)}
                data-testid="restore-replace"
              />
              <span class="choice-label">{t("restore.replaceConfirm")}</span>
            </label>
          </div>
        )}
        {problem && <ErrorMessage error={problem} />}
        {error !== null && <ErrorMessage error={error} extra={t("restore.nothingChanged")} />}
        <div aria-live="polite" class="live">
          {busy && <p class="loading">{t("restore.working")}</p>}
        </div>
        <div class="actions">
          <button type="submit" class="primary big" disabled={busy} data-testid="restore-submit">
            {t("restore.submit")}
          </button>
          <button type="button" onClick={back} disabled={busy}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
      <p class="hint">{t("restore.afterwards")}</p>
    </Screen>
  );
}
