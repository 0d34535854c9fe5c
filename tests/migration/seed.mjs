// The source of the migration test: a running Portal's database as Portal 2.3 fills it.
// The REAL BetterAuth server at the version Portal pins (1.5.4), with Portal's plugin list
// and options, writes PostgreSQL through its Kysely adapter (snake_case tables and columns,
// as Portal's Drizzle schema names them): people sign up with passwords and usernames, turn
// on two-factor with an authenticator, make API keys, keep sessions. What Portal itself
// writes beside BetterAuth (its service accounts, a linked Discord account, an OAuth client
// and a consent, a passkey) is inserted as Portal's code would. Then the rows the import
// must refuse: an e-mail two users share case aside, a username Portal's rule refuses, a
// session whose user is gone.
//
//     node tests/migration/seed.mjs <postgres-url> <secret> <facts.json>
//
// facts.json: what the check needs (passwords, the old cookies, keys, authenticator
// secrets, backup codes) and the source's counts.
import { writeFileSync } from "node:fs";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import pg from "pg";
import { CamelCasePlugin, Kysely, PostgresDialect } from "kysely";
import { betterAuth } from "better-auth";
import {
  admin,
  bearer,
  jwt,
  lastLoginMethod,
  multiSession,
  oneTimeToken,
  twoFactor,
  username,
} from "better-auth/plugins";
import { apiKey } from "@better-auth/api-key";
import { passkey } from "@better-auth/passkey";
import { oauthProvider } from "@better-auth/oauth-provider";
import { totp } from "../lib/browser.mjs";

const [url, secret, factsPath] = process.argv.slice(2);
if (!url || !secret || !factsPath) {
  console.error("usage: node seed.mjs <postgres-url> <secret> <facts.json>");
  process.exit(2);
}
const baseURL = "http://portal.test";
const pool = new pg.Pool({ connectionString: url });
const db = new Kysely({ dialect: new PostgresDialect({ pool }), plugins: [new CamelCasePlugin()] });

// Portal's configuration, as far as it shapes what is stored.
const auth = betterAuth({
  baseURL,
  secret,
  database: { db, type: "postgres" },
  emailAndPassword: { enabled: true, minPasswordLength: 8, maxPasswordLength: 128 },
  session: {
    expiresIn: 60 * 60 * 24 * 7,
    updateAge: 60 * 60 * 24,
    cookieCache: { enabled: true, maxAge: 5 * 60, strategy: "compact" },
    storeSessionInDatabase: true,
  },
  advanced: { cookiePrefix: "portal", useSecureCookies: false },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: "error" },
  plugins: [
    username({
      minUsernameLength: 3,
      maxUsernameLength: 30,
      usernameNormalization: (value) => value.toLowerCase(),
      displayUsernameNormalization: (value) => value,
    }),
    // Drizzle names the column credential_id; the plugin's field is credentialID.
    passkey({ rpName: "Portal", schema: { passkey: { fields: { credentialID: "credentialId" } } } }),
    apiKey(),
    jwt({ disableSettingJwtHeader: true }),
    multiSession(),
    bearer(),
    oneTimeToken(),
    twoFactor({ issuer: "Portal" }),
    lastLoginMethod(),
    oauthProvider({ loginPage: "/auth/sign-in", consentPage: "/auth/consent", silenceWarnings: { oauthAuthServerConfig: true } }),
    admin({ defaultRole: "user" }),
  ],
});

async function call(path, { body, cookie, method = "POST" } = {}) {
  const headers = { origin: baseURL };
  if (body) headers["content-type"] = "application/json";
  if (cookie) headers.cookie = cookie;
  const res = await auth.handler(
    new Request(`${baseURL}/api/auth${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined }),
  );
  const cookies = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair.indexOf("=");
    cookies[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  assert.ok(res.status < 400, `${path}: ${res.status} ${text}`);
  return { json, cookies };
}

function sessionCookie(cookies) {
  const value = cookies["portal.session_token"];
  assert.ok(value, "a session cookie");
  return `portal.session_token=${value}`;
}

async function signUp(name, email, password, user) {
  const { json, cookies } = await call("/sign-up/email", { body: { name, email, password, username: user } });
  return { id: json.user.id, email, password, username: user, cookie: sessionCookie(cookies), cookies };
}

const people = {};
const password = (who) => `${who}-old-password-1`;

// An admin, a moderator's colleague (staff), people with each credential.
people.alice = await signUp("Alice Admin", "alice@example.org", password("alice"), "Alice");
people.sam = await signUp("Sam Staff", "sam@example.org", password("sam"), "sam");
people.bob = await signUp("Bob Twofactor", "bob@example.org", password("bob"), "bob_2fa");
people.carol = await signUp("Carol Keys", "carol@example.org", password("carol"), "carol");
people.dave = await signUp("Dave Services", "dave@example.org", password("dave"), "dave");
people.erin = await signUp("Erin Banned", "erin@example.org", password("erin"), "erin");
people.frank = await signUp("Frank Discord", "frank@example.org", password("frank"), "frank");
await pool.query(`UPDATE "user" SET role = 'admin' WHERE id = $1`, [people.alice.id]);
await pool.query(`UPDATE "user" SET role = 'staff' WHERE id = $1`, [people.sam.id]);

// A second session of Alice's (another device), and Carol signs in by username.
const again = await call("/sign-in/email", { body: { email: "alice@example.org", password: password("alice") } });
people.alice.phoneCookie = sessionCookie(again.cookies);
const byName = await call("/sign-in/username", { body: { username: "carol", password: password("carol") } });
people.carol.cookie = sessionCookie(byName.cookies);

// One browser, two accounts (the multi-session plugin's cookies): Alice, then Sam.
{
  const aliceMulti = Object.entries(people.alice.cookies).filter(([name]) => name.startsWith("portal.session_token_multi-"));
  assert.equal(aliceMulti.length, 1, "the multi-session cookie of Alice's sign-up");
  const held = `${people.alice.cookie}; ${aliceMulti.map(([n, v]) => `${n}=${v}`).join("; ")}`;
  const samToo = await call("/sign-in/email", { body: { email: "sam@example.org", password: password("sam") }, cookie: held });
  const samMulti = Object.entries(samToo.cookies).filter(([name]) => name.startsWith("portal.session_token_multi-"));
  assert.equal(samMulti.length, 1, "the multi-session cookie of Sam's sign-in");
  people.sharedBrowser = [sessionCookie(samToo.cookies), ...[...aliceMulti, ...samMulti].map(([n, v]) => `${n}=${v}`)];
}

// Bob turns two-factor on with an authenticator app.
{
  const enabled = await call("/two-factor/enable", { body: { password: password("bob") }, cookie: people.bob.cookie });
  people.bob.totpURI = enabled.json.totpURI;
  people.bob.backupCodes = enabled.json.backupCodes;
  const verified = await call("/two-factor/verify-totp", { body: { code: totp(enabled.json.totpURI) }, cookie: people.bob.cookie });
  people.bob.cookie = sessionCookie(verified.cookies);
  // One backup code used before the move (BetterAuth then stores the rest encrypted).
  const signIn = await call("/sign-in/email", { body: { email: "bob@example.org", password: password("bob") } });
  assert.equal(signIn.json.twoFactorRedirect, true);
  const twoFactorCookie = `portal.two_factor=${signIn.cookies["portal.two_factor"]}`;
  const used = people.bob.backupCodes.shift();
  const viaBackup = await call("/two-factor/verify-backup-code", { body: { code: used }, cookie: twoFactorCookie });
  people.bob.backupCookie = sessionCookie(viaBackup.cookies);
  people.bob.usedBackupCode = used;
}

// Carol makes API keys; one of them disabled.
{
  const made = await call("/api-key/create", { body: { name: "ci" }, cookie: people.carol.cookie });
  people.carol.apiKey = made.json.key;
  const other = await call("/api-key/create", { body: { name: "old laptop" }, cookie: people.carol.cookie });
  await call("/api-key/update", { body: { keyId: other.json.id, enabled: false }, cookie: people.carol.cookie });
  people.carol.disabledApiKey = other.json.key;
}

// Erin is banned (as the admin plugin's ban writes it).
await pool.query(`UPDATE "user" SET banned = true, ban_reason = 'spam' WHERE id = $1`, [people.erin.id]);
await pool.query(`DELETE FROM session WHERE user_id = $1`, [people.erin.id]);

// Dave's service accounts, as Portal's integration code writes them.
const now = new Date();
const id = () => randomBytes(16).toString("hex");
await pool.query(
  `INSERT INTO xmpp_account (id, user_id, jid, username, status, created_at, updated_at) VALUES ($1, $2, 'dave@atl.chat', 'dave', 'active', $3, $3), ($4, $2, 'olddave@atl.chat', 'olddave', 'deleted', $3, $3)`,
  [id(), people.dave.id, now, id()],
);
await pool.query(
  `INSERT INTO irc_account (id, user_id, nick, server, port, status, created_at, updated_at, metadata) VALUES ($1, $2, 'dave', 'irc.atl.chat', 6697, 'active', $3, $3, '{"note": "founder"}')`,
  [id(), people.dave.id, now],
);
await pool.query(
  `INSERT INTO mailcow_account (id, user_id, email, domain, local_part, status, created_at, updated_at) VALUES ($1, $2, 'dave@atl.tools', 'atl.tools', 'dave', 'active', $3, $3)`,
  [id(), people.dave.id, now],
);
await pool.query(
  `INSERT INTO mediawiki_account (id, user_id, wiki_username, wiki_user_id, status, created_at, updated_at) VALUES ($1, $2, 'Dave', 42, 'active', $3, $3)`,
  [id(), people.dave.id, now],
);

// Frank's Discord account (the social provider's `account` row).
people.frank.discordId = "80351110224678912";
await pool.query(
  `INSERT INTO account (id, account_id, provider_id, user_id, access_token, refresh_token, scope, created_at, updated_at) VALUES ($1, $2, 'discord', $3, 'discord-access', 'discord-refresh', 'identify,email', $4, $4)`,
  [id(), people.frank.discordId, people.frank.id, now],
);

// Frank's passkey: a P-256 key as the passkey plugin stores it (COSE, base64).
{
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const x = Buffer.from(jwk.x, "base64url");
  const y = Buffer.from(jwk.y, "base64url");
  // {1: 2, 3: -7, -1: 1, -2: x, -3: y}
  const cose = Buffer.concat([
    Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]), x,
    Buffer.from([0x22, 0x58, 0x20]), y,
  ]);
  const credentialId = randomBytes(16).toString("base64url");
  await pool.query(
    `INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up, transports, created_at, aaguid) VALUES ($1, 'YubiKey', $2, $3, $4, 3, 'singleDevice', false, 'usb', $5, '00000000-0000-0000-0000-000000000000')`,
    [id(), cose.toString("base64"), people.frank.id, credentialId, now],
  );
  people.frank.passkey = { credentialId, privateKey: privateKey.export({ format: "jwk" }) };
}

// An OAuth client (the plugin's hashed secret) and Carol's consent to it.
const clientSecret = "prosody-client-secret-0123456789";
await pool.query(
  `INSERT INTO oauth_client (id, client_id, client_secret, disabled, skip_consent, scopes, created_at, updated_at, name, redirect_uris, token_endpoint_auth_method, grant_types, public, type) VALUES ($1, 'prosody', $2, false, false, ARRAY['openid','profile','xmpp','offline_access'], $3, $3, 'Prosody', ARRAY['https://xmpp.atl.chat/oauth/callback'], 'client_secret_post', ARRAY['authorization_code','refresh_token'], false, 'web')`,
  [id(), createHash("sha256").update(clientSecret).digest("base64url"), now],
);
await pool.query(
  `INSERT INTO oauth_consent (id, client_id, user_id, scopes, created_at, updated_at) VALUES ($1, 'prosody', $2, 'openid profile xmpp offline_access', $3, $3)`,
  [id(), people.carol.id, now],
);

// Prosody's refresh token for Carol, as the plugin keeps it (base64url SHA-256 of a
// 32-letter token; offline_access granted).
people.carol.refreshToken = randomBytes(24).toString("base64").replace(/[^A-Za-z]/g, "").padEnd(32, "R").slice(0, 32);
await pool.query(
  `INSERT INTO oauth_refresh_token (id, token, client_id, user_id, created_at, expires_at, scopes) VALUES ($1, $2, 'prosody', $3, $4, now() + interval '20 days', ARRAY['openid','xmpp','offline_access'])`,
  [id(), createHash("sha256").update(people.carol.refreshToken).digest("base64url"), people.carol.id, now],
);

// The rows the import must report and skip.
const bad = {};
bad.sharedEmail = id().slice(0, 32);
await pool.query(
  `INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at) VALUES ($1, 'Carol Again', 'CAROL@example.org', false, now(), now())`,
  [bad.sharedEmail],
);
bad.refusedUsername = id().slice(0, 32);
await pool.query(
  `INSERT INTO "user" (id, name, email, username, display_username, email_verified, created_at, updated_at) VALUES ($1, 'Nine', 'nine@example.org', '9lives', '9lives', false, now(), now())`,
  [bad.refusedUsername],
);
bad.danglingSession = id();
{
  const client = await pool.connect();
  try {
    await client.query("SET session_replication_role = replica");
    await client.query(
      `INSERT INTO session (id, expires_at, token, created_at, updated_at, user_id) VALUES ($1, now() + interval '1 day', $2, now(), now(), 'gone0000000000000000000000000000')`,
      [bad.danglingSession, randomBytes(16).toString("hex")],
    );
  } finally {
    await client.query("SET session_replication_role = DEFAULT");
    client.release();
  }
}

const count = async (sql) => Number((await pool.query(sql)).rows[0].count);
const facts = {
  secret,
  clientSecret,
  people,
  bad,
  source: {
    users: await count(`SELECT count(*) FROM "user"`),
    admins: await count(`SELECT count(*) FROM "user" WHERE role = 'admin'`),
    staff: await count(`SELECT count(*) FROM "user" WHERE role = 'staff'`),
    banned: await count(`SELECT count(*) FROM "user" WHERE banned`),
    sessions: await count(`SELECT count(*) FROM session WHERE expires_at > now() AT TIME ZONE 'UTC'`),
    apiKeys: await count(`SELECT count(*) FROM apikey`),
    apiKeysEnabled: await count(`SELECT count(*) FROM apikey WHERE enabled`),
  },
};
writeFileSync(factsPath, JSON.stringify(facts, null, 2));
console.log(`seeded: ${facts.source.users} users, ${facts.source.sessions} sessions, ${facts.source.apiKeys} API keys`);
await db.destroy();
