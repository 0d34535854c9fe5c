// What the Node test drivers share (tests/e2e, tests/migration): a fetch that acts as a
// browser (keeps cookies, sends the Origin a browser would send; Node has no cookie jar),
// and RFC 6238 TOTP written independently of any server (HMAC-SHA1, 6 digits, 30 s).
import { createHmac } from "node:crypto";

/// A cookie-keeping fetch for `origin`, starting with `cookie` ("name=value") if given.
export function cookieFetch(origin, cookie) {
  const jar = new Map();
  if (cookie) {
    const eq = cookie.indexOf("=");
    jar.set(cookie.slice(0, eq), cookie.slice(eq + 1));
  }
  const fetchWithCookies = async (input, init = {}) => {
    const headers = new Headers(init.headers || {});
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    headers.set("origin", origin);
    const res = await fetch(input, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attrs.some((a) => a.trim().toLowerCase() === "max-age=0")) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  return { jar, fetch: fetchWithCookies };
}

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/// The code an authenticator app shows for `uri` (an otpauth:// URI) now, `offset` steps on.
export function totp(uri, offset = 0) {
  const key = base32Decode(new URL(uri).searchParams.get("secret"));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offset));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1000000).padStart(6, "0");
}
