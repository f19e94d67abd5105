// Making a backup: a passphrase (at least 10 characters, typed twice, impossible to recover)
// encrypts every key and credential into one file, saved in the documents folder.

import { useState } from "preact/hooks";
import { api } from "../api";
import { t } from "../i18n";
import { navigate, refreshApp } from "../state";
import { Screen } from "../components/Screen";
import { Field } from "../components/Field";
import { ErrorMessage, Notice } from "../components/Messages";

export const MIN_PASSPHRASE = 10;

export function Backup() {
  const [pass, setPass] = useState("");
  const [pass2, setPass2] = useState("");
  const [problem, setProblem] = useState<{ field: 1 | 2; text: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [path, setPath] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if ([...pass].length < MIN_PASSPHRASE) {
      return setProblem({ field: 1, text: t("backup.tooShort", { min: MIN_PASSPHRASE }) });
    }
    if (pass !== pass2) return setProblem({ field: 2, text: t("backup.mismatch") });
    setProblem(null);
    setBusy(true);
    try {
      setPath(await api.createBackup(pass));
      setPass("");
      setPass2("");
      void refreshApp();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const home = () => navigate({ name: "home" });
  if (path !== null) {
    return (
      <Screen title={t("backup.doneTitle")} back={home}>
        <Notice tone="ok" testid="backup-done">
          <p>{t("backup.savedTo")}</p>
          <p>
            <code class="wrap" data-testid="backup-path">
              {path}
            </code>
          </p>
        </Notice>
        <ul class="bullets">
          <li>{t("backup.after1")}</li>
          <li>{t("backup.after2")}</li>
          <li>{t("backup.after3")}</li>
        </ul>
        <div class="actions">
          <button type="button" class="primary" onClick={home} data-testid="backup-done-button">
            {t("common.done")}
          </button>
        </div>
      </Screen>
    );
  }

  return (
    <Screen title={t("backup.title")} back={home}>
      <p class="lead">{t("backup.lead")}</p>
      <form class="panel" onSubmit={submit} noValidate>
        <h2>{t("backup.passHeading")}</h2>
        <Notice tone="warn">
          <p>{t("backup.cannotRecover")}</p>
        </Notice>
        <Field
          label={t("backup.pass")}
          hint={t("backup.passHint", { min: MIN_PASSPHRASE })}
          type="password"
          value={pass}
          onInput={setPass}
          testid="backup-passphrase"
          autoComplete="new-password"
          autoFocus
          problem={problem?.field === 1 ? problem.text : null}
        />
        <Field
          label={t("backup.pass2")}
          type="password"
          value={pass2}
          onInput={setPass2}
          testid="backup-passphrase-2"
          autoComplete="new-password"
          problem={problem?.field === 2 ? problem.text : null}
        />
        {error !== null && <ErrorMessage error={error} />}
        <div aria-live="polite" class="live">
          {busy && <p class="loading">{t("backup.working")}</p>}
        </div>
        <div class="actions">
          <button type="submit" class="primary big" disabled={busy} data-testid="backup-create">
            {t("backup.create")}
          </button>
        </div>
      </form>
      <p class="aside">
        {t("backup.restoreInstead")}{" "}
        <button type="button" class="link" onClick={() => navigate({ name: "restore" })} data-testid="restore-link">
          {t("backup.restoreLink")}
        </button>
      </p>
    </Screen>
  );
}
