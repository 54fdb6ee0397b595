// Browser tests: each spec module registers its tests as it is imported, in this order.
// Adding a spec is one import line. `node e2e/run.mjs words…` runs only matching tests.
import { finish } from "./harness.mjs";

await import("./editor.spec.mjs");
await import("./runs.spec.mjs");
await import("./billing.spec.mjs");
await import("./canvas.spec.mjs");
await import("./loras.spec.mjs");
await import("./templates.spec.mjs");
await import("./phone.spec.mjs");
await import("./admin.spec.mjs");
await import("./apikeys.spec.mjs");
await import("./drafts.spec.mjs");

await finish();
