// Bundles the wallet UI into dist/: one script (no inline code, as the CSP requires), the
// page and its stylesheet. Run by scripts/build-wallet-ui.sh after the type check.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: "dist/app.js",
  logLevel: "warning",
});
for (const f of ["index.html", "styles.css"]) copyFileSync(`src/${f}`, `dist/${f}`);
