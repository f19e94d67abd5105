// Settings: the language, when the wallet locks itself, the network it trusts; backups.

import type { Lang } from "../api";
import { formatNumber, t, tn } from "../i18n";
import { changeLanguage, navigate, useStore } from "../state";
import { Screen } from "../components/Screen";
import { NetworkNotice } from "../components/NetworkNotice";

export function Settings() {
  const { app } = useStore();
  if (!app) return null;
  return (
    <Screen title={t("settings.title")} back={() => navigate({ name: "home" })}>
      <section class="panel">
        <h2>{t("settings.languageHeading")}</h2>
        <label class="field">
          <span class="label">{t("top.language")}</span>
          <select
            value={app.language}
            onChange={(e) => void changeLanguage(e.currentTarget.value as Lang)}
            data-testid="settings-language"
          >
            <option value="en" lang="en">
              {t("lang.en")}
            </option>
            <option value="zh-CN" lang="zh-CN">
              {t("lang.zh-CN")}
            </option>
          </select>
        </label>
      </section>
      <section class="panel">
        <h2>{t("settings.lockHeading")}</h2>
        <p data-testid="lock-timeout">{tn("settings.lockAfter", app.lockAfterMinutes)}</p>
        <p class="hint">{t("settings.lockHint")}</p>
      </section>
      <section class="panel">
        <h2>{t("settings.networkHeading")}</h2>
        {app.network ? (
          <>
            <p>{t("settings.networkLead")}</p>
            <dl class="claims">
              <div>
                <dt>{t("settings.chainId")}</dt>
                <dd>
                  <code>{app.network.chainId}</code>
                </dd>
              </div>
              <div>
                <dt>{t("settings.registries")}</dt>
                <dd>{formatNumber(app.network.registries.length)}</dd>
              </div>
            </dl>
          </>
        ) : (
          <NetworkNotice />
        )}
      </section>
      <section class="panel">
        <h2>{t("settings.backupHeading")}</h2>
        <p class="hint">{t("settings.backupHint")}</p>
        <div class="actions">
          <button type="button" onClick={() => navigate({ name: "backup" })} data-testid="settings-backup">
            {t("home.backup")}
          </button>
          <button type="button" onClick={() => navigate({ name: "restore" })} data-testid="settings-restore">
            {t("settings.restore")}
          </button>
        </div>
      </section>
    </Screen>
  );
}
