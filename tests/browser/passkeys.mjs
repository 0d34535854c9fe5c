// Passkeys in a REAL browser: headless Chromium (Debian's) with its virtual authenticator
// (the DevTools WebAuthn domain), on a page served on the same origin as the API, using the
// real better-auth client and its passkey plugin (1.7.x, or 1.5.x with BROWSER_CLIENT_DIR): sign up, add a passkey, sign out, sign in
// with it, list it, rename it, delete it.
//
//   node tests/browser/passkeys.mjs <portal-local binary>
//
// The page's origin is http://localhost:<port> (browsers refuse an IP address as relying
// party): this script serves the page and hands /api/* to portal-local, started here with
// that origin as its base URL.
import { spawn } from "node:child_process";
import { createServer, request } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
const bin = process.argv[2];
if (!bin) {
  console.error("usage: node passkeys.mjs <portal-local binary>");
  process.exit(2);
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// The client version under test: BROWSER_CLIENT_DIR names the folder whose node_modules
// hold it (default: this one, better-auth 1.7.x; `client-1.5` is what Portal 2.3.0 pins).
const clientDir = process.env.BROWSER_CLIENT_DIR || here;
const bundle = (
  await build({
    stdin: { contents: readFileSync(join(here, "page.js"), "utf8"), resolveDir: clientDir, loader: "js" },
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
  })
).outputFiles[0].text;
const version = JSON.parse(readFileSync(join(clientDir, "node_modules/better-auth/package.json"), "utf8")).version;
const html = `<!doctype html><html><head><meta charset="utf-8"><title>Portal passkeys</title></head>
<body><p>Portal passkeys</p><script>${bundle}</script></body></html>`;

const apiPort = await freePort();
const pagePort = await freePort();
const origin = `http://localhost:${pagePort}`;
const work = mkdtempSync(join(tmpdir(), "portal-browser-"));
const server = spawn(bin, ["--memory", "--port", String(apiPort)], {
  env: {
    ...process.env,
    PORTAL_BASE_URL: origin,
    PORTAL_RATE_LIMIT: "off",
    PORTAL_MAIL_DIR: join(work, "mail"),
    PORTAL_COOKIE_PREFIX: "portal",
    PORTAL_REQUIRE_USERNAME: "true",
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let log = "";
server.stdout.on("data", (d) => (log += d));
server.stderr.on("data", (d) => (log += d));

// The page, and /api/* handed to portal-local as the browser sent it.
const front = createServer((req, res) => {
  if (!req.url.startsWith("/api/")) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
    return;
  }
  const upstream = request(
    { host: "127.0.0.1", port: apiPort, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", (e) => {
    res.writeHead(502);
    res.end(String(e));
  });
  req.pipe(upstream);
});
await new Promise((resolve) => front.listen(pagePort, "127.0.0.1", resolve));

let browser;
const results = [];
async function step(name, fn) {
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok   ${name}`);
  } catch (err) {
    results.push([name, false]);
    console.log(`FAIL ${name}\n     ${err && err.stack ? err.stack.split("\n").slice(0, 4).join("\n     ") : err}`);
  }
}

try {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${apiPort}/api/health`);
      if (r.ok) break;
    } catch {}
    if (i > 300) throw new Error(`portal-local did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  const devtools = await context.newCDPSession(page);
  await devtools.send("WebAuthn.enable");
  const { authenticatorId } = await devtools.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true);
  const stamp = Date.now();
  const email = `browser-${stamp}@example.org`;
  let passkeyId;

  await step("sign up in the page", async () => {
    const out = await page.evaluate(
      async ([email, username]) => {
        const r = await window.auth.signUp.email({ name: "Browser", email, password: "browser-password-1", username });
        return { error: r.error, email: r.data && r.data.user.email };
      },
      [email, `Browser_${stamp % 1000000}`],
    );
    assert.equal(out.error, null);
    assert.equal(out.email, email);
  });

  await step("add a passkey with the browser's authenticator", async () => {
    const out = await page.evaluate(async () => {
      const r = await window.auth.passkey.addPasskey({ name: "Chromium" });
      return { error: r.error, data: r.data };
    });
    assert.equal(out.error, null, JSON.stringify(out.error));
    assert.equal(out.data.name, "Chromium");
    passkeyId = out.data.id;
    const { credentials } = await devtools.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential");
  });

  await step("sign out, then sign in with the passkey (no name typed)", async () => {
    const out = await page.evaluate(async () => {
      await window.auth.signOut();
      const before = await window.auth.getSession();
      const r = await window.auth.signIn.passkey();
      const after = await window.auth.getSession();
      return { before: before.data, error: r.error, after: after.data && after.data.user.email };
    });
    assert.equal(out.before, null);
    assert.equal(out.error, null, JSON.stringify(out.error));
    assert.equal(out.after, email);
    const cookies = await context.cookies();
    assert.equal(cookies.find((c) => c.name === "better-auth.last_used_login_method")?.value, "passkey");
  });

  await step("list, rename and delete it", async () => {
    const out = await page.evaluate(async (id) => {
      const listed = await window.auth.passkey.listUserPasskeys();
      const renamed = await window.auth.passkey.updatePasskey({ id, name: "Work laptop" });
      const again = await window.auth.passkey.listUserPasskeys();
      const deleted = await window.auth.passkey.deletePasskey({ id });
      const after = await window.auth.passkey.listUserPasskeys();
      return {
        listed: listed.data.map((p) => p.id),
        renamed: renamed.data && renamed.data.passkey.name,
        names: again.data.map((p) => p.name),
        deleted: deleted.data,
        after: after.data.length,
      };
    }, passkeyId);
    assert.deepEqual(out.listed, [passkeyId]);
    assert.equal(out.renamed, "Work laptop");
    assert.deepEqual(out.names, ["Work laptop"]);
    assert.deepEqual(out.deleted, { status: true });
    assert.equal(out.after, 0);
  });

  await step("a deleted passkey signs nobody in", async () => {
    const out = await page.evaluate(async () => {
      await window.auth.signOut();
      const r = await window.auth.signIn.passkey();
      const after = await window.auth.getSession();
      return { error: r.error, after: after.data };
    });
    assert.equal(out.error.status, 401);
    assert.equal(out.error.code, "PASSKEY_NOT_FOUND");
    assert.equal(out.after, null);
  });
} catch (err) {
  console.log(`FAIL setting up\n     ${err && err.stack ? err.stack : err}`);
  results.push(["setup", false]);
} finally {
  if (browser) await browser.close();
  front.close();
  server.kill();
  rmSync(work, { recursive: true, force: true });
}
const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
console.log(`browser passkeys (better-auth ${version}): ${passed} passed, ${failed} failed`);
if (failed) console.log(`--- portal-local log\n${log.split("\n").slice(-40).join("\n")}`);
process.exit(failed ? 1 : 0);
