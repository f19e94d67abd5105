// Shown while no consortium network is configured: receiving and status checks need one.

import { t } from "../i18n";
import { useStore } from "../state";
import { errorText } from "../i18n";
import { Notice } from "./Messages";

export function NetworkNotice() {
  const { app, backend } = useStore();
  if (!app || app.network || !backend) return null;
  return (
    <Notice tone="warn" testid="network-notice">
      <p>
        <strong>{t("network.missingTitle")}</strong> {t("network.missing")}
      </p>
      {app.networkProblem && app.networkProblem.code !== "no_network" && (
        <p class="hint">{errorText(app.networkProblem)}</p>
      )}
    </Notice>
  );
}
