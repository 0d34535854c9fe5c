// After the import: the REAL better-auth client (1.5.4, the version Portal pins, with its
// plugins) against portal-local, holding what people held before the move. Nobody is
// signed out: old cookies keep working without signing in again; old passwords, old
// authenticators, old backup codes, old API keys, old passkeys work; the admin's stats
// equal the source's counts; the import's summary reports the bad rows by id and a second
// import changed nothing.
//
//     node tests/migration/check.mjs <base-url> <facts.json> <first-import.json> <second-import.json> <dry-run.json>
import { readFileSync } from "node:fs";
import { createHash, createPrivateKey, sign } from "node:crypto";
import assert from "node:assert/strict";
import { createAuthClient } from "better-auth/client";
import { adminClient, twoFactorClient, usernameClient } from "better-auth/client/plugins";
import { apiKeyClient } from "@better-auth/api-key/client";
import { passkeyClient } from "@better-auth/passkey/client";
import { cookieFetch, totp } from "../lib/browser.mjs";

const [baseURL, factsPath, firstPath, secondPath, dryPath] = process.argv.slice(2);
const facts = JSON.parse(readFileSync(factsPath, "utf8"));
const first = JSON.parse(readFileSync(firstPath, "utf8"));
const second = JSON.parse(readFileSync(secondPath, "utf8"));
const dry = JSON.parse(readFileSync(dryPath, "utf8"));
const { people, bad, source } = facts;

// A browser: the real client over a fetch that keeps cookies.
function browser(cookie) {
  const { jar, fetch: customFetchImpl } = cookieFetch(baseURL, cookie);
  const client = createAuthClient({
    baseURL,
    plugins: [usernameClient(), twoFactorClient(), apiKeyClient(), adminClient(), passkeyClient()],
    fetchOptions: { customFetchImpl },
  });
  return { client, jar, fetch: customFetchImpl };
}

let failed = 0;
async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${err && err.stack ? err.stack.split("\n").slice(0, 5).join("\n     ") : err}`);
  }
}

await step("the import reports the bad rows by id and skips them", () => {
  const skipped = first.skipped.map((s) => `${s.kind} ${s.id}`);
  assert.ok(skipped.includes(`user ${bad.sharedEmail}`), `an e-mail shared case aside: ${skipped}`);
  assert.ok(skipped.includes(`user ${bad.refusedUsername}`), `a username Portal refuses: ${skipped}`);
  assert.ok(skipped.includes(`session ${bad.danglingSession}`), `a session without its user: ${skipped}`);
  assert.equal(first.users.written, source.users - 2);
  assert.equal(first.verification.ok, true, JSON.stringify(first.verification.problems));
});

await step("a second import changes nothing", () => {
  assert.equal(second.users.written, 0);
  assert.equal(second.users.alreadyThere, first.users.written);
  assert.deepEqual(second.written, {});
  assert.equal(second.verification.digest, first.verification.digest);
});

await step("a dry run writes nothing; under the wrong secret, two-factor's owner is skipped whole", () => {
  assert.equal(dry.dryRun, true);
  assert.equal(dry.verification, undefined, "nothing written, nothing to verify");
  const bob = dry.skipped.find((s) => s.kind === "user" && s.id === people.bob.id);
  assert.ok(bob, JSON.stringify(dry.skipped));
  assert.match(bob.why, /does not open with BETTER_AUTH_SECRET/);
  assert.equal(dry.users.written, first.users.written - 1, "everyone else would come over");
});

// Before anyone signs in again (a new session would move the counts): the admin, with
// the cookie BetterAuth set before the move.
await step("admin stats equal the source's counts (the admin's old cookie)", async () => {
  const alice = browser(people.alice.cookie);
  const res = await alice.fetch(`${baseURL}/api/admin/stats`);
  assert.equal(res.status, 200, await res.clone().text());
  const data = await res.json();
  assert.equal(data.users.total, source.users - 2, "the two refused users aside");
  assert.equal(data.users.admins, source.admins);
  assert.equal(data.users.staff, source.staff);
  assert.equal(data.users.banned, source.banned);
  assert.equal(data.sessions.active, source.sessions - 1, "the session without its user aside");
  assert.equal(data.apiKeys.total, source.apiKeys);
  assert.equal(data.apiKeys.enabled, source.apiKeysEnabled);
});

await step("every old session cookie keeps working, no new sign-in", async () => {
  const held = [
    ["alice", people.alice.cookie],
    ["alice", people.alice.phoneCookie],
    ["sam", people.sam.cookie],
    ["bob", people.bob.cookie],
    ["bob", people.bob.backupCookie],
    ["carol", people.carol.cookie],
    ["dave", people.dave.cookie],
    ["frank", people.frank.cookie],
  ];
  for (const [who, cookie] of held) {
    const { client } = browser(cookie);
    const { data, error } = await client.getSession();
    assert.equal(error, null, `${who}: ${JSON.stringify(error)}`);
    assert.ok(data, `${who}'s cookie names a session`);
    assert.equal(data.user.id, people[who].id, who);
  }
  const bobs = await browser(people.bob.cookie).client.getSession();
  assert.equal(bobs.data.user.twoFactorEnabled, true);
});

await step("one browser's accounts (multi-session cookies) are all still there", async () => {
  const [active, ...multi] = people.sharedBrowser;
  const shared = browser(active);
  for (const cookie of multi) {
    const eq = cookie.indexOf("=");
    shared.jar.set(cookie.slice(0, eq), cookie.slice(eq + 1));
  }
  const res = await shared.fetch(`${baseURL}/api/auth/multi-session/list-device-sessions`);
  assert.equal(res.status, 200, await res.clone().text());
  const ids = (await res.json()).map((s) => s.user.id).sort();
  assert.deepEqual(ids, [people.alice.id, people.sam.id].sort());
});

await step("the stale session_data cookie is ignored, never trusted", async () => {
  const cached = people.alice.cookies["portal.session_data"];
  assert.ok(cached, "BetterAuth set its cache cookie");
  const { client } = browser(`portal.session_data=${cached}`);
  const { data } = await client.getSession();
  assert.equal(data, null, "no session from the cache cookie alone");
  const forged = browser(`portal.session_token=${people.alice.cookie.split("=")[1].split(".")[0]}.AAAA`);
  assert.equal((await forged.client.getSession()).data, null, "a token with a wrong signature");
});

await step("old passwords sign in (e-mail and username)", async () => {
  const carol = browser();
  const byEmail = await carol.client.signIn.email({ email: "carol@example.org", password: people.carol.password });
  assert.equal(byEmail.error, null, JSON.stringify(byEmail.error));
  assert.equal(byEmail.data.user.id, people.carol.id);
  const dave = browser();
  const byName = await dave.client.signIn.username({ username: "DAVE", password: people.dave.password });
  assert.equal(byName.error, null, JSON.stringify(byName.error));
  assert.equal(byName.data.user.id, people.dave.id);
  const wrong = await browser().client.signIn.email({ email: "carol@example.org", password: "not-her-password" });
  assert.equal(wrong.error.status, 401);
});

await step("two-factor with the old authenticator and the old backup codes", async () => {
  const bob = browser();
  const started = await bob.client.signIn.email({ email: "bob@example.org", password: people.bob.password });
  assert.equal(started.data.twoFactorRedirect, true, JSON.stringify(started));
  const passed = await bob.client.twoFactor.verifyTotp({ code: totp(people.bob.totpURI) });
  assert.equal(passed.error, null, JSON.stringify(passed.error));
  assert.equal(passed.data.user.id, people.bob.id);

  const again = browser();
  await again.client.signIn.email({ email: "bob@example.org", password: people.bob.password });
  const used = await again.client.twoFactor.verifyBackupCode({ code: people.bob.usedBackupCode });
  assert.equal(used.error.status, 401, "the code used before the move stays used");
  const backup = await again.client.twoFactor.verifyBackupCode({ code: people.bob.backupCodes[0] });
  assert.equal(backup.error, null, JSON.stringify(backup.error));
});

await step("old API keys: the enabled one works, the disabled one does not", async () => {
  const ok = await fetch(`${baseURL}/api/user/me`, { headers: { "x-api-key": people.carol.apiKey } });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal((await ok.json()).user.id, people.carol.id);
  const off = await fetch(`${baseURL}/api/user/me`, { headers: { "x-api-key": people.carol.disabledApiKey } });
  assert.equal(off.status, 401);
  const body = await off.json();
  assert.equal(body.ok, false);
  const wrong = await fetch(`${baseURL}/api/user/me`, { headers: { "x-api-key": people.carol.apiKey.slice(0, -1) + "x" } });
  assert.equal(wrong.status, 401);
});

await step("the banned stay banned", async () => {
  const { error } = await browser().client.signIn.email({ email: "erin@example.org", password: people.erin.password });
  assert.equal(error.status, 403);
  assert.equal(error.code, "BANNED_USER");
});

await step("linked Discord account and passkey came over", async () => {
  const frank = browser(people.frank.cookie);
  const accounts = await frank.client.listAccounts();
  assert.equal(accounts.error, null, JSON.stringify(accounts.error));
  const discord = accounts.data.find((a) => a.providerId === "discord");
  assert.ok(discord, JSON.stringify(accounts.data));
  assert.equal(discord.accountId, people.frank.discordId);
  const passkeys = await frank.client.passkey.listUserPasskeys();
  assert.equal(passkeys.error, null, JSON.stringify(passkeys.error));
  assert.deepEqual(passkeys.data.map((p) => p.name), ["YubiKey"]);
});

await step("the old passkey signs in (a WebAuthn assertion from its private key)", async () => {
  const frank = browser();
  const optionsRes = await frank.fetch(`${baseURL}/api/auth/passkey/generate-authenticate-options`, { method: "GET" });
  assert.equal(optionsRes.status, 200, await optionsRes.clone().text());
  const options = await optionsRes.json();
  const clientData = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: options.challenge, origin: baseURL, crossOrigin: false }));
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(7);
  const authData = Buffer.concat([createHash("sha256").update(options.rpId).digest(), Buffer.from([0x05]), counter]);
  const key = createPrivateKey({ key: people.frank.passkey.privateKey, format: "jwk" });
  const signature = sign("sha256", Buffer.concat([authData, createHash("sha256").update(clientData).digest()]), key);
  const response = {
    id: people.frank.passkey.credentialId,
    rawId: people.frank.passkey.credentialId,
    type: "public-key",
    clientExtensionResults: {},
    response: {
      clientDataJSON: clientData.toString("base64url"),
      authenticatorData: authData.toString("base64url"),
      signature: signature.toString("base64url"),
    },
  };
  const verified = await frank.fetch(`${baseURL}/api/auth/passkey/verify-authentication`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ response }),
  });
  assert.equal(verified.status, 200, await verified.clone().text());
  const body = await verified.json();
  assert.equal(body.user.id, people.frank.id);
});

await step("Prosody's refresh token keeps working; used twice, it is refused", async () => {
  const refresh = (token) =>
    fetch(`${baseURL}/api/auth/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: token,
        client_id: "prosody",
        client_secret: facts.clientSecret,
      }),
    });
  const res = await refresh(people.carol.refreshToken);
  assert.equal(res.status, 200, await res.clone().text());
  const tokens = await res.json();
  assert.ok(tokens.access_token && tokens.refresh_token, JSON.stringify(tokens));
  const info = await fetch(`${baseURL}/api/auth/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(info.status, 200, await info.clone().text());
  assert.equal((await info.json()).sub, people.carol.id);
  const again = await refresh(people.carol.refreshToken);
  assert.equal(again.status, 400);
  assert.equal((await again.json()).error, "invalid_grant");
});

console.log(failed === 0 ? "migration check: all passed" : `migration check: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
