// The computer has no keyring service: the wallet cannot keep keys safely, so it stores
// nothing. The only way forward is to fix the computer.

import { t } from "../i18n";
import { useStore } from "../state";
import { Screen } from "../components/Screen";
import { Icon } from "../components/Icon";

export function NoKeyring() {
  const { app } = useStore();
  return (
    <Screen title={t("keyring.title")} narrow>
      <div class="big-notice" data-testid="keyring-problem">
        <Icon name="warn" />
        <p class="lead">{t("keyring.lead")}</p>
      </div>
      <p>{t("keyring.why")}</p>
      <h2>{t("keyring.whatToDo")}</h2>
      <ul class="steps">
        <li>{t("keyring.step1")}</li>
        <li>{t("keyring.step2")}</li>
        <li>{t("keyring.step3")}</li>
      </ul>
      <p>{t("keyring.nothingStored")}</p>
      {app?.keyringProblem && (
        <details class="disclosure">
          <summary>{t("common.technicalDetails")}</summary>
          <p>
            <code class="wrap">{app.keyringProblem.message}</code>
          </p>
        </details>
      )}
    </Screen>
  );
}
