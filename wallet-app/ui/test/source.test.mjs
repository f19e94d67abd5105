// The interface's sources keep to the rules the app's Content-Security-Policy and tests rely
// on: no inline styles or markup injection, nothing remote, small files, user-visible words
// only from the catalogues, and every data-testid listed at the top of main.tsx.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../src/", import.meta.url));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = walk(src);
const code = files.filter((f) => /\.(ts|tsx)$/.test(f));
const read = (f) => readFileSync(f, "utf8");

test("no inline styles, no innerHTML, no eval (the CSP forbids them)", () => {
  for (const f of code) {
    const s = read(f);
    assert.doesNotMatch(s, /\sstyle=\{/, `${f}: style attribute`);
    assert.doesNotMatch(s, /dangerouslySetInnerHTML|\.innerHTML\s*=|outerHTML\s*=/, `${f}: HTML injection`);
    assert.doesNotMatch(s, /\beval\(|new Function\(/, `${f}: eval`);
  }
  const html = read(join(src, "index.html"));
  assert.doesNotMatch(html, /style=|<script(?![^>]*\bsrc=)/, "index.html: inline style or script");
});

test("nothing is loaded from elsewhere (no CDN, no web fonts)", () => {
  for (const f of [...code, join(src, "index.html"), join(src, "styles.css")]) {
    const s = read(f);
    assert.doesNotMatch(s, /(src|href)=["']https?:|url\(\s*["']?https?:|@import|@font-face/, f);
  }
});

test("source files stay small (under ~300 lines)", () => {
  for (const f of code) {
    const lines = read(f).split("\n").length;
    assert.ok(lines <= 320, `${f} has ${lines} lines`);
  }
});

test("every data-testid is listed at the top of main.tsx", () => {
  const header = read(join(src, "main.tsx")).split("import")[0];
  const listed = new Set(header.match(/[a-z0-9]+(?:-[a-z0-9<>]+)*/g));
  const used = new Set();
  for (const f of code) {
    for (const m of read(f).matchAll(/(?:data-testid|testid|confirmTestid)=(?:"([^"]+)"|\{`([^`$]+))/g)) {
      used.add(m[1] ?? `${m[2]}<name>`);
    }
  }
  const unlisted = [...used].filter((id) => !listed.has(id));
  assert.deepEqual(unlisted, []);
});

test("JSX text is never a bare English word (every string comes from the catalogues)", () => {
  // Text between tags that holds letters, outside {…}: e.g. <p>Hello</p>.
  const bare = /<(?:h[1-6]|p|span|button|label|li|dt|dd|legend|summary|option|strong|a)\b[^>]*>\s*([A-Za-z][A-Za-z ,.'!?]{2,})\s*</g;
  for (const f of code.filter((f) => f.endsWith(".tsx"))) {
    const hits = [...read(f).matchAll(bare)].map((m) => m[1]);
    assert.deepEqual(hits, [], `${f}: untranslated text`);
  }
});
