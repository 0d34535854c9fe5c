// The page the browser test loads: the real better-auth client with Portal's passkey and
// username plugins, bundled by esbuild, on the window for the test to call.
import { createAuthClient } from "better-auth/client";
import { usernameClient } from "better-auth/client/plugins";
import { passkeyClient } from "@better-auth/passkey/client";

window.auth = createAuthClient({
  baseURL: window.location.origin,
  plugins: [usernameClient(), passkeyClient()],
});
window.ready = true;
