// The reference: the real BetterAuth server (the version pinned in package-lock.json, the
// same packages the e2e client uses) with e-mail and password sign-in and its in-memory
// adapter, on 127.0.0.1:<port>. `./scripts/bench` runs it beside portal-local and puts the
// two under the same load.
//
//     node tests/e2e/reference-server.mjs <port>
import { createServer } from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";

const port = Number(process.argv[2] ?? 3100);
const auth = betterAuth({
  baseURL: `http://127.0.0.1:${port}`,
  secret: "reference-server-secret-at-least-32-characters",
  database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  logger: { level: "error" },
  telemetry: { enabled: false },
});

createServer(toNodeHandler(auth)).listen(port, "127.0.0.1", () => {
  console.log(`BetterAuth ${port}`);
});
