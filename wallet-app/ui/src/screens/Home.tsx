// Home: the credentials held, as cards, and what the holder can do. The status is refreshed
// in the background when it is old; offline, the cards say how old what they show is.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, isFailure, type Card } from "../api";
import { formatNumber, t } from "../i18n";
import { formatAge } from "../i18n/format";
import { navigate, useStore } from "../state";
import { useNow } from "../hooks";
import { Screen } from "../components/Screen";
import { CardItem } from "../components/CardItem";
import { ErrorMessage, Notice } from "../components/Messages";
import { NetworkNotice } from "../components/NetworkNotice";
import { Icon } from "../components/Icon";

/** Failures that mean "not online" (the status shown is the last one checked). */
const OFFLINE = ["offline", "network", "bad_proof"];
const UNCONFIGURED = ["no_network", "bad_network_file"];
/** A status older than this is refreshed in the background when Home opens. */
const STALE_MS = 30 * 60_000;
/** Cards drawn at first, and how many more each time the list's end scrolls into view: a
 * wallet of many credentials keeps only what the holder looks at in the page (each card drawn
 * costs its web view about a quarter of a MiB). */
const PAGE = 12;
let lastAutoRefresh = 0;

type Outcome = { kind: "done" } | { kind: "offline"; since: number | null } | { kind: "unconfigured" };

export function Home() {
  const { app, backend } = useStore();
  const now = useNow();
  const [cards, setCards] = useState<Card[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [refreshing, setRefreshing] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [shown, setShown] = useState(PAGE);
  const more = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const button = more.current;
    if (!button || typeof IntersectionObserver === "undefined") return;
    const watch = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setShown((n) => n + PAGE);
    });
    watch.observe(button);
    return () => watch.disconnect();
  }, [cards, shown]);

  const newestCheck = (list: Card[]) =>
    list.reduce<number | null>(
      (m, c) => (c.statusCheckedMs !== null && (m === null || c.statusCheckedMs > m) ? c.statusCheckedMs : m),
      null,
    );

  const refresh = async (quiet: boolean) => {
    setRefreshing(true);
    setOutcome(null);
    setError(null);
    lastAutoRefresh = Date.now();
    try {
      setCards(await api.refreshStatus());
      if (!quiet) setOutcome({ kind: "done" });
    } catch (e) {
      let list = cards ?? [];
      try {
        list = await api.cards();
        setCards(list);
      } catch {
        // keep what is shown
      }
      if (isFailure(e) && OFFLINE.includes(e.code)) {
        setOutcome({ kind: "offline", since: newestCheck(list) });
      } else if (isFailure(e) && UNCONFIGURED.includes(e.code)) {
        if (!quiet) setOutcome({ kind: "unconfigured" });
      } else if (!quiet) {
        setError(e);
      }
    } finally {
      setRefreshing(false);
    }
  };

  useEffect(() => {
    if (!backend) return;
    api
      .cards()
      .then((list) => {
        setCards(list);
        const stale = list.some((c) => c.statusCheckedMs === null || Date.now() - c.statusCheckedMs > STALE_MS);
        if (stale && app?.network && Date.now() - lastAutoRefresh > 10 * 60_000) void refresh(true);
      })
      .catch(setError);
  }, []);

  const go = (name: "add" | "backup" | "activity" | "settings") => navigate({ name });

  return (
    <Screen title={t("home.title")}>
      {app?.backupReminder && (
        <div class="banner" role="status" data-testid="backup-reminder">
          <Icon name="warn" />
          <p>{t("home.backupReminder")}</p>
          <button type="button" onClick={() => go("backup")} data-testid="backup-reminder-button">
            {t("home.backupNow")}
          </button>
        </div>
      )}
      <NetworkNotice />
      <nav class="toolbar" aria-label={t("home.actions")}>
        <button type="button" class="primary big" onClick={() => go("add")} data-testid="add-button">
          <Icon name="plus" />
          {t("home.add")}
        </button>
        <button
          type="button"
          onClick={() => void refresh(false)}
          disabled={refreshing}
          data-testid="refresh-status"
        >
          <Icon name="refresh" />
          {refreshing ? t("home.refreshing") : t("home.refresh")}
        </button>
        <button type="button" onClick={() => go("backup")} data-testid="backup-button">
          {t("home.backup")}
        </button>
        <button type="button" onClick={() => go("activity")} data-testid="activity-button">
          {t("home.activity")}
        </button>
        <button type="button" onClick={() => go("settings")} data-testid="settings-button">
          {t("home.settings")}
        </button>
      </nav>
      <div aria-live="polite" class="live">
        {outcome?.kind === "done" && (
          <Notice tone="ok" testid="refresh-done">
            <p>{t("home.refreshed")}</p>
          </Notice>
        )}
        {outcome?.kind === "offline" && (
          <Notice tone="warn" testid="offline-notice">
            <p>
              {outcome.since !== null
                ? t("home.offlineSince", { age: formatAge(outcome.since, now) })
                : t("home.offlineNever")}
            </p>
          </Notice>
        )}
        {outcome?.kind === "unconfigured" && (
          <Notice tone="warn" testid="offline-notice">
            <p>{t("home.noNetworkRefresh")}</p>
          </Notice>
        )}
      </div>
      {error !== null && <ErrorMessage error={error} />}
      {cards === null ? (
        backend && <p class="loading">{t("common.loading")}</p>
      ) : cards.length === 0 ? (
        <section class="empty panel" data-testid="empty-state">
          <h2>{t("home.emptyTitle")}</h2>
          <p>{t("home.empty1")}</p>
          <p>{t("home.empty2")}</p>
          <button type="button" class="primary" onClick={() => go("add")} data-testid="add-button-empty">
            {t("home.add")}
          </button>
        </section>
      ) : (
        <>
          <ul class="cards" aria-label={t("home.listLabel")}>
            {cards.slice(0, shown).map((c) => (
              <CardItem
                key={c.id}
                card={c}
                now={now}
                onOpen={() => navigate({ name: "details", id: c.id })}
              />
            ))}
          </ul>
          {cards.length > shown && (
            <button
              type="button"
              class="more"
              ref={more}
              onClick={() => setShown((n) => n + PAGE)}
              data-testid="more-cards"
              data-hidden={cards.length - shown}
            >
              {t("home.more", { count: formatNumber(cards.length - shown) })}
            </button>
          )}
        </>
      )}
    </Screen>
  );
}
