// The better-auth client and the client plugins Portal's web app enables, resolved from
// this folder's node_modules (the version its package.json pins): flow.mjs imports one
// of these, so the same flow runs against each client version.
export { createAuthClient } from "better-auth/client";
export {
  adminClient,
  genericOAuthClient,
  jwtClient,
  lastLoginMethodClient,
  multiSessionClient,
  oneTimeTokenClient,
  twoFactorClient,
  usernameClient,
} from "better-auth/client/plugins";
export { apiKeyClient } from "@better-auth/api-key/client";
export { oauthProviderClient } from "@better-auth/oauth-provider/client";
