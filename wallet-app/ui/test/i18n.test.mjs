// The two catalogues say the same things: the same keys, the same placeholders per key, every
// plural with both forms, Chinese actually written in Chinese, and a translation for every
// failure code the Rust side can send (grepped from wallet-app/desktop/src).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

const here = new URL(".", import.meta.url);
const en = JSON.parse(readFileSync(new URL("../src/i18n/en.json", here), "utf8"));
const zh = JSON.parse(readFileSync(new URL("../src/i18n/zh-CN.json", here), "utf8"));
const catalogues = { en, "zh-CN": zh };

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("both catalogues have the same keys", () => {
  const missingInZh = Object.keys(en).filter((k) => !(k in zh));
  const missingInEn = Object.keys(zh).filter((k) => !(k in en));
  assert.deepEqual(missingInZh, [], "keys missing in zh-CN.json");
  assert.deepEqual(missingInEn, [], "keys missing in en.json");
});

test("every key has the same placeholders in both languages", () => {
  const differ = Object.keys(en)
    .filter((k) => k in zh)
    .filter((k) => placeholders(en[k]).join() !== placeholders(zh[k]).join())
    .map((k) => `${k}: en {${placeholders(en[k])}} zh {${placeholders(zh[k])}}`);
  assert.deepEqual(differ, []);
});

test("no string is empty, and every value is a string", () => {
  for (const [lang, cat] of Object.entries(catalogues)) {
    for (const [k, v] of Object.entries(cat)) {
      assert.equal(typeof v, "string", `${lang} ${k}`);
      assert.ok(v.trim().length > 0, `${lang} ${k} is empty`);
    }
  }
});

test("plurals come in pairs (.one and .other)", () => {
  for (const k of Object.keys(en)) {
    if (k.endsWith(".one")) assert.ok(`${k.slice(0, -4)}.other` in en, `${k} has no .other`);
    if (k.endsWith(".other")) assert.ok(`${k.slice(0, -6)}.one` in en, `${k} has no .one`);
  }
});

test("the Chinese catalogue is written in Chinese", () => {
  // Strings that are the same in every language.
  const same = new Set(["lang.en", "lang.zh-CN", "qr.counter", "request.scope"]);
  const cjk = /[\u3400-\u9fff]/;
  const untranslated = Object.entries(zh)
    .filter(([k, v]) => !same.has(k) && !cjk.test(v.replace(/\{\w+\}/g, "")))
    .map(([k]) => k);
  assert.deepEqual(untranslated, []);
});

/** Every failure code the desktop wallet can send to the interface. */
function rustFailureCodes() {
  const dir = new URL("../../desktop/src/", here);
  const codes = new Set();
  const files = readdirSync(dir).filter((f) => f.endsWith(".rs"));
  assert.ok(files.length > 0, "wallet-app/desktop/src has no Rust files");
  for (const f of files) {
    const src = readFileSync(new URL(f, dir), "utf8");
    for (const m of src.matchAll(/(?:Failure|Self)::new\(\s*"([a-z0-9_]+)"/g)) codes.add(m[1]);
    if (f === "error.rs") {
      // Codes chosen by a match (`ErrorKind::NoKeyring => "no_keyring"`, `… => { "wrong_tx_code" }`).
      for (const m of src.matchAll(/=>\s*\{?\s*"([a-z0-9_]+)"/g)) codes.add(m[1]);
    }
  }
  return [...codes].sort();
}

test("every failure code from the Rust side is translated in both languages", () => {
  const codes = rustFailureCodes();
  // A sanity check that the grep still finds what it should.
  for (const c of ["locked", "wrong_pin", "pin_throttled", "offline", "wrong_tx_code", "bad_backup"]) {
    assert.ok(codes.includes(c), `the grep did not find ${c}`);
  }
  for (const [lang, cat] of Object.entries(catalogues)) {
    const missing = codes.filter((c) => !(`error.${c}` in cat));
    assert.deepEqual(missing, [], `failure codes without a translation in ${lang}`);
  }
});

test("the interface's own failure codes and dynamic keys are translated", () => {
  const keys = [
    "error.no_backend",
    "error.unexpected",
    ...["valid", "expiring", "expired", "suspended", "revoked", "unknown"].flatMap((s) => [
      `status.${s}`,
      `status.explain.${s}`,
    ]),
    ...["received", "presented", "deleted", "backup", "restored", "status"].map((k) => `activity.kind.${k}`),
  ];
  for (const [lang, cat] of Object.entries(catalogues)) {
    assert.deepEqual(keys.filter((k) => !(k in cat)), [], lang);
  }
});

test("translations of failures use only the params the Rust side sends", () => {
  // Params each code carries (error.rs); a placeholder not sent would show as "{name}".
  const sent = {
    wrong_pin: ["triesLeft"],
    pin_throttled: ["waitS"],
    pin_too_short: ["min"],
    pin_too_long: ["max"],
    network: ["url", "detail"],
    bad_offer: ["detail"],
    unsupported_format: ["format"],
    bad_network_file: ["path"],
    bad_request_param: ["param"],
    issuer_refused: ["issuerCode", "detail"],
    business_refused: ["businessCode", "detail"],
    request_answered: ["businessCode", "detail"],
    request_expired: ["businessCode", "detail"],
    bad_request: ["detail"],
    bad_response: ["detail"],
    wallet: ["detail"],
    unexpected: ["detail"],
  };
  for (const k of Object.keys(en).filter((k) => k.startsWith("error."))) {
    const code = k.slice("error.".length);
    const allowed = sent[code] ?? [];
    for (const p of placeholders(en[k])) {
      assert.ok(allowed.includes(p), `${k} uses {${p}}, which the wallet does not send`);
    }
  }
});
