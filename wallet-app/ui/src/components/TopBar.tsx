// The bar on every screen: the wallet's name, the language (switchable everywhere), and
// Lock when the wallet is open.

import type { Lang } from "../api";
import { t } from "../i18n";
import { changeLanguage, lockNow, useStore } from "../state";
import { Icon } from "./Icon";

export function TopBar() {
  const { app } = useStore();
  const language = app?.language ?? "en";
  const open = !!app && app.hasPin && !app.locked && !app.keyringProblem;
  return (
    <header class="topbar">
      <div class="brand">
        <span class="brand-mark" aria-hidden="true" />
        <span>{t("app.name")}</span>
      </div>
      <div class="topbar-actions">
        <label class="lang">
          <span class="visually-hidden">{t("top.language")}</span>
          <select
            value={language}
            onChange={(e) => void changeLanguage(e.currentTarget.value as Lang)}
            data-testid="language-select"
          >
            <option value="en" lang="en">
              {t("lang.en")}
            </option>
            <option value="zh-CN" lang="zh-CN">
              {t("lang.zh-CN")}
            </option>
          </select>
        </label>
        {open && (
          <button type="button" class="lock-button" onClick={() => void lockNow()} data-testid="lock-button">
            <Icon name="lock" />
            {t("top.lock")}
          </button>
        )}
      </div>
    </header>
  );
}
