// Prints the gzip-compressed size of the JavaScript the dashboard route loads on first
// visit (the entry chunk and everything it imports statically), and its ratio to the
// 200 KB budget. Reads the Vite manifest of an existing build (`npm run build` in client/).
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const BUDGET_KB = 200;
const dist = new URL("../client/dist/", import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(dist, ".vite/manifest.json"), "utf8"));
const entry = Object.entries(manifest).find(([, chunk]) => chunk.isEntry);
if (!entry) throw new Error("no entry chunk in the manifest: build the client first");

const seen = new Set();
const visit = (key) => {
  if (seen.has(key)) return;
  seen.add(key);
  for (const imported of manifest[key].imports ?? []) visit(imported);
};
visit(entry[0]);

let total = 0;
for (const key of seen) {
  const file = manifest[key].file;
  if (!file.endsWith(".js")) continue;
  const gzipped = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  total += gzipped;
  console.log(`  ${file.padEnd(40)} ${(gzipped / 1024).toFixed(1).padStart(7)} KB gzip`);
}
const kb = total / 1024;
console.log(`dashboard first load: ${kb.toFixed(1)} KB gzip of JavaScript; ${(kb / BUDGET_KB).toFixed(2)}x the ${BUDGET_KB} KB budget`);
process.exit(kb <= BUDGET_KB ? 0 : 1);
