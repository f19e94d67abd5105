// The interface's words, in English and Simplified Chinese. Every string a person sees comes
// from en.json / zh-CN.json (the tests check that both have the same keys and placeholders).
// `{name}` placeholders are filled from params; plurals use "<base>.one" / "<base>.other".

import type { Lang, WalletFailure } from "../api";
import { isFailure } from "../api";
import en from "./en.json";
import zh from "./zh-CN.json";

export type Key = keyof typeof en;
export type Params = Record<string, string | number | boolean | null | undefined>;

const catalogues: Record<Lang, Record<string, string>> = { en, "zh-CN": zh };

let current: Lang = "en";

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
  document.title = t("app.name");
}

export function lang(): Lang {
  return current;
}

/** The language to start in before the wallet says which (the system's, else English). */
export function systemLang(): Lang {
  const l = typeof navigator !== "undefined" ? navigator.language : "en";
  return l.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

function fill(s: string, params?: Params): string {
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    return v === undefined || v === null ? whole : String(v);
  });
}

export function hasKey(k: string): k is Key {
  return Object.prototype.hasOwnProperty.call(en, k);
}

export function t(key: Key, params?: Params): string {
  return fill(catalogues[current][key] ?? en[key] ?? key, params);
}

/** Keys that come in a ".one" / ".other" pair. */
export type PluralBase = {
  [K in Key]: K extends `${infer B}.one` ? (`${B}.other` extends Key ? B : never) : never;
}[Key];

/** A counted phrase: `count` is also available as the {count} placeholder. */
export function tn(base: PluralBase, count: number, params?: Params): string {
  const form = new Intl.PluralRules(current).select(count) === "one" ? "one" : "other";
  return t(`${base}.${form}` as Key, { count: formatNumber(count), ...params });
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(current).format(n);
}

/** A failure in words: the catalogue's "error.<code>" with its params, else its message. */
export function errorText(e: unknown): string {
  if (isFailure(e)) {
    const f = e as WalletFailure;
    const key = `error.${f.code}`;
    const params: Params = { ...(f.params ?? {}) };
    // Names of fields ("challenge") are words too.
    const field = `param.${String(params.param ?? "")}`;
    if (hasKey(field)) params.param = t(field);
    if (hasKey(key)) return t(key, params);
    return f.message || t("error.unexpected", { detail: f.code });
  }
  return t("error.unexpected", { detail: String(e) });
}
