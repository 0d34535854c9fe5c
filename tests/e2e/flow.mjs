// End to end: the REAL better-auth client, with the client plugins Portal's web app enables
// (username, two-factor, multi-session, api-key, jwt, one-time token, last login method,
// admin), at each version the e2e runs (1.7.x here; Portal 2.3.0 pins 1.5.4:
// `client-1.5/`), drives a running portal-local configured as Portal runs (cookie prefix
// `portal`, a username required at sign-up).
//
//   node tests/e2e/flow.mjs <base-url> <mail-outbox-dir>
//
// Node has no cookie jar, so each "browser" is a fetch wrapper that keeps cookies and
// sends the Origin header a browser would send.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import { createHash, createHmac, createPublicKey, randomBytes, verify } from "node:crypto";
import { pathToFileURL } from "node:url";
import { cookieFetch, totp } from "../lib/browser.mjs";

// The client version under test: `E2E_CLIENT` names a client.mjs (default: the one beside
// this file, better-auth 1.7.x; `client-1.5/client.mjs` is the version Portal 2.3.0 pins).
const clientModule = process.env.E2E_CLIENT
  ? pathToFileURL(process.env.E2E_CLIENT).href
  : new URL("./client.mjs", import.meta.url).href;
const {
  createAuthClient,
  adminClient,
  apiKeyClient,
  genericOAuthClient,
  jwtClient,
  lastLoginMethodClient,
  multiSessionClient,
  oauthProviderClient,
  oneTimeTokenClient,
  twoFactorClient,
  usernameClient,
} = await import(clientModule);

const [baseURL, outbox] = process.argv.slice(2);
if (!baseURL || !outbox) {
  console.error("usage: node flow.mjs <base-url> <mail-outbox-dir>");
  process.exit(2);
}

function browser() {
  const { jar, fetch: customFetchImpl } = cookieFetch(baseURL);
  const client = createAuthClient({
    baseURL,
    // Portal's client plugin list (passkeys run in a real browser: scripts/browser).
    plugins: [
      usernameClient(),
      twoFactorClient(),
      multiSessionClient(),
      apiKeyClient(),
      jwtClient(),
      oneTimeTokenClient(),
      lastLoginMethodClient(),
      adminClient(),
      // Portal's genericOAuthClient (1.5; 1.6+ infers `signIn.oauth2` without a plugin).
      ...(genericOAuthClient ? [genericOAuthClient()] : []),
      oauthProviderClient(),
    ],
    fetchOptions: { customFetchImpl },
  });
  return { client, jar, fetch: customFetchImpl };
}

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

function newestMail(kind, to) {
  const files = readdirSync(outbox).filter((f) => f.endsWith(".json")).sort();
  const mails = files.map((f) => JSON.parse(readFileSync(join(outbox, f), "utf8")));
  const found = mails.filter((m) => m.kind === kind && m.to === to).pop();
  assert.ok(found, `a ${kind} mail to ${to}`);
  return found;
}

const email = `e2e-${Date.now()}@example.org`;
const username = `E2e_${Date.now() % 1000000}`;
let password = "first-password-123";
const laptop = browser();
const phone = browser();

await step("sign up", async () => {
  const missing = await laptop.client.signUp.email({ name: "E2E User", email, password });
  assert.equal(missing.error.status, 400, "Portal requires a username");
  const taken = await laptop.client.isUsernameAvailable({ username });
  assert.equal(taken.data.available, true);
  const { data, error } = await laptop.client.signUp.email({ name: "E2E User", email, password, username });
  assert.equal(error, null);
  assert.equal(data.user.email, email);
  assert.equal(data.user.role, "user");
  assert.equal(data.user.username, username.toLowerCase());
  assert.equal(data.user.displayUsername, username);
  assert.ok(data.token);
  assert.ok(laptop.jar.has("portal.session_token"), "cookies carry Portal's prefix");
  const again = await laptop.client.isUsernameAvailable({ username: username.toUpperCase() });
  assert.equal(again.data.available, false);
});

await step("get session", async () => {
  const { data } = await laptop.client.getSession();
  assert.equal(data.user.email, email);
  assert.equal(data.session.userId, data.user.id);
  // lastLoginMethod: the sign-in page's hint, set by the e-mail sign-up.
  assert.equal(laptop.jar.get("better-auth.last_used_login_method"), "email");
});

await step("security card: the credential account", async () => {
  const { data, error } = await laptop.client.listAccounts();
  assert.equal(error, null);
  const credential = data.find((a) => a.providerId === "credential");
  assert.ok(credential, JSON.stringify(data));
  const info = await laptop.client.accountInfo({ query: { accountId: credential.id } });
  assert.equal(info.error.status, 400);
  assert.equal(info.error.code, "PROVIDER_NOT_CONFIGURED");
});

await step("change-email is off, as Portal configures it", async () => {
  const { error } = await laptop.client.changeEmail({ newEmail: `other-${email}` });
  assert.equal(error.status, 400);
  assert.equal(error.code, "CHANGE_EMAIL_DISABLED");
});

await step("one-time token: carry the session to another browser, once", async () => {
  const { data, error } = await laptop.client.oneTimeToken.generate();
  assert.equal(error, null);
  assert.equal(data.token.length, 32);
  const elsewhere = browser();
  const verified = await elsewhere.client.oneTimeToken.verify({ token: data.token });
  assert.equal(verified.error, null);
  assert.equal(verified.data.user.email, email);
  assert.equal((await elsewhere.client.getSession()).data.user.email, email);
  const again = await browser().client.oneTimeToken.verify({ token: data.token });
  assert.equal(again.error.status, 400);
  // (Not signed out there: it is the laptop's own session.)
});

await step("jwt: a token of the session, verified with the published key", async () => {
  const { data: set, error } = await laptop.client.jwks();
  assert.equal(error, null);
  const jwk = set.keys[0];
  assert.equal(jwk.alg, "EdDSA");
  assert.equal(jwk.d, undefined, "never the private half");
  const { data } = await laptop.client.$fetch("/token", { method: "GET" });
  const [header, payload, signature] = data.token.split(".");
  assert.equal(JSON.parse(Buffer.from(header, "base64url")).kid, jwk.kid);
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  assert.equal(claims.email, email);
  const key = createPublicKey({ key: jwk, format: "jwk" });
  assert.ok(verify(null, Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, "base64url")));
});

await step("sign out, then no session", async () => {
  const { data } = await laptop.client.signOut();
  assert.equal(data.success, true);
  assert.equal(laptop.jar.has("portal.session_token"), false);
  const after = await laptop.client.getSession();
  assert.equal(after.data, null);
});

await step("wrong password is INVALID_EMAIL_OR_PASSWORD", async () => {
  const { data, error } = await laptop.client.signIn.email({ email, password: "not-the-password" });
  assert.equal(data, null);
  assert.equal(error.status, 401);
  assert.equal(error.code, "INVALID_EMAIL_OR_PASSWORD");
});

await step("username sign-in: wrong password is INVALID_USERNAME_OR_PASSWORD", async () => {
  const { data, error } = await laptop.client.signIn.username({ username, password: "not-the-password" });
  assert.equal(data, null);
  assert.equal(error.status, 401);
  assert.equal(error.code, "INVALID_USERNAME_OR_PASSWORD");
});

await step("sign in on two devices (e-mail, then username)", async () => {
  const a = await laptop.client.signIn.email({ email, password });
  assert.equal(a.error, null);
  assert.equal(a.data.redirect, false);
  const b = await phone.client.signIn.username({ username: username.toUpperCase(), password });
  assert.equal(b.error, null);
  assert.equal(b.data.user.email, email);
  assert.equal((await phone.client.getSession()).data.user.username, username.toLowerCase());
});

await step("a username cannot be changed by its owner", async () => {
  const { error } = await laptop.client.updateUser({ username: "someone_else" });
  assert.equal(error.status, 400);
  assert.equal(error.code, "USERNAME_IS_IMMUTABLE");
});

await step("list sessions and revoke the phone's", async () => {
  const { data } = await laptop.client.listSessions();
  assert.equal(data.length, 2);
  const mine = (await laptop.client.getSession()).data.session.token;
  const other = data.find((s) => s.token !== mine);
  assert.ok(other, "the other device's session, with its token");
  const revoked = await laptop.client.revokeSession({ token: other.token });
  assert.equal(revoked.data.status, true);
  assert.equal((await phone.client.getSession()).data, null);
  assert.ok((await laptop.client.getSession()).data);
});

await step("update the user", async () => {
  const { data, error } = await laptop.client.updateUser({ name: "Renamed User" });
  assert.equal(error, null);
  assert.equal(data.status, true);
  assert.equal((await laptop.client.getSession()).data.user.name, "Renamed User");
});

await step("password reset through the mailed link", async () => {
  const anon = browser();
  const asked = await anon.client.requestPasswordReset({ email, redirectTo: "/reset" });
  assert.equal(asked.data.status, true);
  const mail = newestMail("reset-password", email);
  const link = await fetch(mail.url, { redirect: "manual" });
  assert.equal(link.status, 302);
  const location = new URL(link.headers.get("location"));
  assert.equal(location.pathname, "/reset");
  const token = location.searchParams.get("token");
  assert.ok(token);
  password = "second-password-456";
  const reset = await anon.client.resetPassword({ newPassword: password, token });
  assert.equal(reset.error, null);
  assert.equal(reset.data.status, true);
  assert.equal((await laptop.client.getSession()).data, null, "a reset ends existing sessions");
  const again = await laptop.client.signIn.email({ email, password });
  assert.equal(again.error, null);
});

await step("change password and revoke other sessions", async () => {
  await phone.client.signIn.email({ email, password });
  const changed = await laptop.client.changePassword({
    currentPassword: password,
    newPassword: "third-password-789",
    revokeOtherSessions: true,
  });
  assert.equal(changed.error, null);
  assert.ok(changed.data.token);
  password = "third-password-789";
  assert.equal((await phone.client.getSession()).data, null);
  assert.ok((await laptop.client.getSession()).data);
});

await step("API key: create, use, list, delete", async () => {
  const created = await laptop.client.apiKey.create({ name: "e2e" });
  assert.equal(created.error, null);
  const key = created.data.key;
  assert.ok(key.startsWith("portal_"));
  const used = await fetch(`${baseURL}/api/auth/get-session`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal((await used.json()).user.email, email);
  const viaHeader = await fetch(`${baseURL}/api/auth/get-session`, { headers: { "x-api-key": key } });
  assert.equal((await viaHeader.json()).session.id, created.data.id);
  const listed = await laptop.client.apiKey.list();
  assert.equal(listed.error, null);
  assert.equal(listed.data.apiKeys.length, 1);
  assert.equal(listed.data.apiKeys[0].key, undefined);
  const deleted = await laptop.client.apiKey.delete({ keyId: created.data.id });
  assert.equal(deleted.data.success, true);
  const refused = await fetch(`${baseURL}/api/auth/get-session`, { headers: { "x-api-key": key } });
  assert.equal(refused.status, 401);
});

let totpURI;
let backupCodes;
await step("two-factor: enable with the password, confirm with a TOTP code", async () => {
  const wrong = await laptop.client.twoFactor.enable({ password: "not-the-password" });
  assert.equal(wrong.error.status, 400);
  assert.equal(wrong.error.code, "INVALID_PASSWORD");
  const { data, error } = await laptop.client.twoFactor.enable({ password });
  assert.equal(error, null);
  assert.ok(data.totpURI.startsWith("otpauth://totp/Portal:"));
  assert.equal(data.backupCodes.length, 10);
  totpURI = data.totpURI;
  backupCodes = data.backupCodes;
  const bad = await laptop.client.twoFactor.verifyTotp({ code: "000000" === totp(totpURI, -1) ? "111111" : "000000" });
  assert.equal(bad.error.code, "INVALID_CODE");
  const ok = await laptop.client.twoFactor.verifyTotp({ code: totp(totpURI, -1) });
  assert.equal(ok.error, null);
  assert.equal((await laptop.client.getSession()).data.user.twoFactorEnabled, true);
});

await step("two-factor: sign-in asks for a code, the TOTP code starts the session", async () => {
  const signIn = await phone.client.signIn.email({ email, password });
  assert.equal(signIn.error, null);
  assert.equal(signIn.data.twoFactorRedirect, true);
  assert.deepEqual(signIn.data.twoFactorMethods, ["totp", "otp"]);
  assert.ok(phone.jar.has("portal.two_factor"));
  assert.equal((await phone.client.getSession()).data, null, "no session before the code");
  const verified = await phone.client.twoFactor.verifyTotp({ code: totp(totpURI, 0), trustDevice: true });
  assert.equal(verified.error, null);
  assert.equal(verified.data.user.email, email);
  assert.equal((await phone.client.getSession()).data.user.email, email);
  assert.ok(phone.jar.has("portal.trust_device"));
  await phone.client.signOut();
  const trusted = await phone.client.signIn.email({ email, password });
  assert.equal(trusted.error, null);
  assert.ok(trusted.data.token, "a trusted device signs in without a code");
});

await step("two-factor: a backup code works once", async () => {
  const tablet = browser();
  await tablet.client.signIn.email({ email, password });
  const used = await tablet.client.twoFactor.verifyBackupCode({ code: backupCodes[0] });
  assert.equal(used.error, null);
  assert.ok((await tablet.client.getSession()).data);
  const again = browser();
  await again.client.signIn.email({ email, password });
  const refused = await again.client.twoFactor.verifyBackupCode({ code: backupCodes[0] });
  assert.equal(refused.error.code, "INVALID_BACKUP_CODE");
});

await step("two-factor: an e-mailed code", async () => {
  const desk = browser();
  await desk.client.signIn.email({ email, password });
  const sent = await desk.client.twoFactor.sendOtp();
  assert.equal(sent.error, null);
  const code = newestMail("two-factor-code", email).text.match(/\b(\d{6})\b/)[1];
  const verified = await desk.client.twoFactor.verifyOtp({ code });
  assert.equal(verified.error, null);
  assert.equal((await desk.client.getSession()).data.user.email, email);
});

await step("two-factor: disable with the password", async () => {
  const { data, error } = await laptop.client.twoFactor.disable({ password });
  assert.equal(error, null);
  assert.equal(data.status, true);
  assert.equal((await laptop.client.getSession()).data.user.twoFactorEnabled, false);
});

await step("two-factor: e-mailed codes are on only once the mailed code comes back", async () => {
  const { data, error } = await laptop.client.twoFactor.enable({ password, method: "otp" });
  assert.equal(error, null);
  assert.equal(data.method, "otp");
  assert.equal((await laptop.client.getSession()).data.user.twoFactorEnabled, false, "not by the password alone");
  const before = laptop.jar.get("portal.session_token");
  const code = newestMail("two-factor-code", email).text.match(/\b(\d{6})\b/)[1];
  const on = await laptop.client.twoFactor.verifyOtp({ code });
  assert.equal(on.error, null);
  assert.notEqual(laptop.jar.get("portal.session_token"), before, "the session is re-issued");
  assert.equal((await laptop.client.getSession()).data.user.twoFactorEnabled, true);
  const off = await laptop.client.twoFactor.disable({ password });
  assert.equal(off.error, null);
});

await step("multi-session: two accounts in one browser, switch, revoke", async () => {
  const shared = browser();
  const first = await shared.client.signIn.email({ email, password });
  assert.equal(first.error, null);
  const secondEmail = `e2e-second-${Date.now()}@example.org`;
  const second = await shared.client.signUp.email({
    name: "Second", email: secondEmail, password: "second-account-pw", username: `Second_${Date.now() % 1000000}`,
  });
  assert.equal(second.error, null);
  assert.equal((await shared.client.getSession()).data.user.email, secondEmail);
  const listed = await shared.client.multiSession.listDeviceSessions();
  assert.equal(listed.error, null);
  assert.deepEqual(listed.data.map((s) => s.user.email).sort(), [email, secondEmail].sort());
  const active = await shared.client.multiSession.setActive({ sessionToken: first.data.token });
  assert.equal(active.error, null);
  assert.equal((await shared.client.getSession()).data.user.email, email);
  const revoked = await shared.client.multiSession.revoke({ sessionToken: second.data.token });
  assert.equal(revoked.error, null);
  assert.equal((await shared.client.multiSession.listDeviceSessions()).data.length, 1);
  const bad = await shared.client.multiSession.setActive({ sessionToken: second.data.token });
  assert.equal(bad.error.code, "INVALID_SESSION_TOKEN");
});

// The admin plugin as Portal configures it (staff may list and ban users, list and revoke
// sessions; admins all), with the admin portal-local bootstraps (scripts/e2e).
const boss = browser();
const stamp = Date.now();
let member;
await step("admin plugin: an admin signs in, lists and reads users", async () => {
  const signedIn = await boss.client.signIn.email({ email: "e2e-admin@example.org", password: "e2e-admin-password" });
  assert.equal(signedIn.error, null);
  const can = await boss.client.admin.hasPermission({ permissions: { user: ["list", "impersonate"] } });
  assert.deepEqual(can.data, { error: null, success: true });
  const found = await boss.client.admin.listUsers({
    query: { searchValue: email, searchField: "email", searchOperator: "contains", limit: 10 },
  });
  assert.equal(found.error, null);
  assert.equal(found.data.total, 1);
  assert.equal(found.data.users[0].email, email);
  const one = await boss.client.admin.getUser({ query: { id: found.data.users[0].id } });
  assert.equal(one.error, null);
  assert.equal(one.data.username, username.toLowerCase());
});

await step("admin plugin: create a user, make them staff; staff list and ban but never escalate", async () => {
  const made = await boss.client.admin.createUser({
    email: `e2e-staff-${stamp}@example.org`, password: "staff-password-1", name: "Staff", role: "user",
    data: { username: `Staff_${stamp % 1000000}` },
  });
  assert.equal(made.error, null);
  const promoted = await boss.client.admin.setRole({ userId: made.data.user.id, role: "staff" });
  assert.equal(promoted.data.user.role, "staff");
  const other = await boss.client.admin.createUser({
    email: `e2e-member-${stamp}@example.org`, password: "member-password-1", name: "Member",
  });
  assert.equal(other.error, null);
  member = other.data.user;
  const staff = browser();
  assert.equal((await staff.client.signIn.email({ email: made.data.user.email, password: "staff-password-1" })).error, null);
  assert.equal((await staff.client.admin.listUsers({ query: { limit: 5 } })).error, null);
  const escalate = await staff.client.admin.setRole({ userId: member.id, role: "admin" });
  assert.equal(escalate.error.status, 403);
  assert.equal(escalate.error.code, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE");
  const banned = await staff.client.admin.banUser({ userId: member.id });
  assert.equal(banned.error, null);
  assert.equal(banned.data.user.banReason, "Violation of terms of service");
  const week = new Date(banned.data.user.banExpires) - Date.now();
  assert.ok(week > 6.9 * 86400e3 && week <= 7 * 86400e3, `a week: ${week}`);
  const refused = await browser().client.signIn.email({ email: member.email, password: "member-password-1" });
  assert.equal(refused.error.status, 403);
  assert.equal(refused.error.code, "BANNED_USER");
  assert.equal(refused.error.message, "Your account has been suspended. Contact support for assistance.");
  const lifted = await staff.client.admin.unbanUser({ userId: member.id });
  assert.equal(lifted.data.user.banned, false);
});

await step("admin plugin: update, set a password, list and revoke sessions", async () => {
  const renamed = await boss.client.admin.updateUser({ userId: member.id, data: { name: "Member Renamed" } });
  assert.equal(renamed.error, null);
  assert.equal(renamed.data.name, "Member Renamed");
  const reset = await boss.client.admin.setUserPassword({ userId: member.id, newPassword: "member-password-2" });
  assert.deepEqual(reset.data, { status: true });
  const own = browser();
  assert.equal((await own.client.signIn.email({ email: member.email, password: "member-password-2" })).error, null);
  const listed = await boss.client.admin.listUserSessions({ userId: member.id });
  assert.equal(listed.data.sessions.length, 1);
  const one = await boss.client.admin.revokeUserSession({ sessionToken: listed.data.sessions[0].token });
  assert.deepEqual(one.data, { success: true });
  assert.equal((await own.client.getSession()).data, null, "ended on the next request");
  assert.equal((await own.client.signIn.email({ email: member.email, password: "member-password-2" })).error, null);
  assert.deepEqual((await boss.client.admin.revokeUserSessions({ userId: member.id })).data, { success: true });
  assert.equal((await own.client.getSession()).data, null);
});

await step("admin plugin: impersonate for an hour, then stop", async () => {
  const as = await boss.client.admin.impersonateUser({ userId: member.id });
  assert.equal(as.error, null);
  const seen = (await boss.client.getSession()).data;
  assert.equal(seen.user.id, member.id);
  assert.ok(seen.session.impersonatedBy, "the session says who");
  assert.ok(new Date(seen.session.expiresAt) - Date.now() <= 3600e3);
  const back = await boss.client.admin.stopImpersonating();
  assert.equal(back.error, null);
  assert.equal((await boss.client.getSession()).data.user.email, "e2e-admin@example.org");
});

await step("admin plugin: remove a user", async () => {
  const gone = await boss.client.admin.removeUser({ userId: member.id });
  assert.deepEqual(gone.data, { success: true });
  const missing = await boss.client.admin.getUser({ query: { id: member.id } });
  assert.equal(missing.error.status, 404);
});

await step("avatar card: a picture as a data URL is served back by URL", async () => {
  const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";
  const { error } = await laptop.client.updateUser({ image: `data:image/png;base64,${png}` });
  assert.equal(error, null);
  const image = (await laptop.client.getSession()).data.user.image;
  assert.ok(image.startsWith(`${baseURL}/api/auth/avatar/`), image);
  const res = await fetch(image);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/png");
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(png, "base64"));
});

await step("delete-user: a fresh session deletes its own account", async () => {
  const leaving = browser();
  const leaver = `e2e-leaving-${stamp}@example.org`;
  const up = await leaving.client.signUp.email({ name: "Leaving", email: leaver, password: "leaving-password", username: `Leaving_${stamp % 1000000}` });
  assert.equal(up.error, null);
  const bye = await leaving.client.deleteUser({});
  assert.deepEqual(bye.data, { success: true, message: "User deleted" });
  assert.equal((await leaving.client.getSession()).data, null);
  const again = await browser().client.signIn.email({ email: leaver, password: "leaving-password" });
  assert.equal(again.error.status, 401);
});

// Portal as an OpenID Connect provider, with the client plugin Portal's pages use: the login
// and consent pages are emulated by the address the plugin reads (`window.location.search`).
await step("oauth provider: sign in and consent through the login and consent pages", async () => {
  const callback = "https://chat.example.org/oauth/callback";
  const made = await boss.fetch(`${baseURL}/api/admin/oauth-clients`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: `Chat ${stamp}-${Math.random()}`, redirectUris: [callback], scopes: ["openid", "profile", "email"] }),
  });
  assert.equal(made.status, 201);
  const { clientId, clientSecret } = (await made.json()).oauthClient;
  const person = browser();
  const who = `e2e-oidc-${stamp}-${Math.floor(Math.random() * 1e6)}@example.org`;
  const up = await person.client.signUp.email({ name: "Ada Lovelace", email: who, password: "oidc-password-1", username: `Oidc_${Math.floor(Math.random() * 1e9)}` });
  assert.equal(up.error, null);
  await person.client.signOut();
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const authorize = new URL(`${baseURL}/api/auth/oauth2/authorize`);
  for (const [k, v] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: callback, scope: "openid profile email", state: "s1", code_challenge: challenge, code_challenge_method: "S256" })) {
    authorize.searchParams.set(k, v);
  }
  const started = await person.fetch(authorize, { redirect: "manual" });
  assert.equal(started.status, 302);
  const login = new URL(started.headers.get("location"));
  assert.equal(login.pathname, "/auth/sign-in");
  try {
    globalThis.window = { location: { search: login.search, href: login.href }, addEventListener() {}, removeEventListener() {} };
    const signedIn = await person.client.signIn.email({ email: who, password: "oidc-password-1" });
    assert.equal(signedIn.error, null);
    assert.equal(signedIn.data.redirect, true);
    const consentPage = new URL(signedIn.data.url);
    assert.equal(consentPage.pathname, "/auth/consent");
    globalThis.window.location.search = consentPage.search;
    const consented = await person.client.oauth2.consent({ accept: true });
    assert.equal(consented.error, null);
    const back = new URL(consented.data.url);
    assert.equal(`${back.origin}${back.pathname}`, callback);
    assert.equal(back.searchParams.get("state"), "s1");
    assert.equal(back.searchParams.get("iss"), `${baseURL}/api/auth`);
    globalThis.window = undefined;
    // The service exchanges the code and reads who signed in.
    const token = await fetch(`${baseURL}/api/auth/oauth2/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams({ grant_type: "authorization_code", code: back.searchParams.get("code"), redirect_uri: callback, code_verifier: verifier }),
    });
    assert.equal(token.status, 200);
    const tokens = await token.json();
    const info = await fetch(`${baseURL}/api/auth/oauth2/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const me = await info.json();
    assert.equal(me.email, who);
    assert.equal(me.given_name, "Ada");
    assert.equal(me.family_name, "Lovelace");
    // The person's consents, as Portal's settings page lists them.
    const consents = await person.client.oauth2.getConsents();
    assert.equal(consents.data.length, 1);
    assert.equal(consents.data[0].clientId, clientId);
  } finally {
    delete globalThis.window;
  }
});

// Sign-in with Discord and with Mailcow (portal-fakes' providers, which consent at once):
// the client asks for the provider's URL, the browser follows the redirects.
async function followToProvider(who, url) {
  const atProvider = await who.fetch(url, { redirect: "manual" });
  assert.equal(atProvider.status, 307);
  const back = atProvider.headers.get("location");
  const done = await who.fetch(back, { redirect: "manual" });
  assert.equal(done.status, 302);
  return done.headers.get("location");
}

await step("social sign-in: Discord through signIn.social, then linked in list-accounts", async () => {
  const who = browser();
  const started = await who.client.signIn.social({ provider: "discord", callbackURL: "/dashboard" });
  assert.equal(started.error, null);
  assert.equal(started.data.redirect, true);
  const landed = await followToProvider(who, started.data.url);
  assert.equal(landed, `${baseURL}/dashboard`);
  const session = await who.client.getSession();
  assert.equal(session.data.user.email, "discord-user@example.org");
  const accounts = await who.client.listAccounts();
  assert.ok(accounts.data.some((a) => a.providerId === "discord" && a.accountId === "100000000000000001"));
});

await step("social sign-in: Mailcow through signIn.oauth2 (genericOAuth)", async () => {
  const who = browser();
  const started = await who.client.signIn.oauth2({ providerId: "mailcow", callbackURL: "/dashboard" });
  assert.equal(started.error, null);
  const landed = await followToProvider(who, started.data.url);
  assert.equal(landed, `${baseURL}/dashboard`);
  const session = await who.client.getSession();
  assert.equal(session.data.user.email, "mailbox@mail.localhost");
});

await step("sign out at the end", async () => {
  const { data } = await laptop.client.signOut();
  assert.equal(data.success, true);
  assert.equal((await laptop.client.getSession()).data, null);
});

const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
console.log(`e2e (${clientModule.split("/").slice(-2).join("/")}): ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
