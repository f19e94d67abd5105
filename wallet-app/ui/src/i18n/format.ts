// Dates, ages and sizes in the chosen language (Intl).

import { lang, t } from "./index";

export function formatDate(ms: number): string {
  return new Intl.DateTimeFormat(lang(), { dateStyle: "long" }).format(new Date(ms));
}

export function formatDateTime(ms: number): string {
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(ms),
  );
}

/** "3 hours ago", "in 2 days", "just now". */
export function formatAge(ms: number, now: number = Date.now()): string {
  const diff = ms - now;
  const abs = Math.abs(diff);
  if (abs < 45_000) return t("time.justNow");
  const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: "auto" });
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["year", 365 * 86_400_000],
    ["month", 30 * 86_400_000],
    ["week", 7 * 86_400_000],
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
  ];
  for (const [unit, size] of units) {
    if (abs >= size || unit === "minute") {
      return rtf.format(Math.round(diff / size), unit);
    }
  }
  return t("time.justNow");
}

export function formatBytes(n: number): string {
  const f = (v: number, unit: string) =>
    new Intl.NumberFormat(lang(), { style: "unit", unit, maximumFractionDigits: 1 }).format(v);
  if (n < 1000) return f(n, "byte");
  if (n < 1_000_000) return f(n / 1000, "kilobyte");
  return f(n / 1_000_000, "megabyte");
}

export function formatList(items: string[]): string {
  return new Intl.ListFormat(lang(), { style: "long", type: "conjunction" }).format(items);
}
