"""A real OpenID Connect relying party (Authlib) signs a person in to a community service
through Portal, against a running portal-local: discovery (checked by Authlib's metadata
validators), authorization with PKCE, the person's browser through the login page (the
signed request carried by sign-in) and the consent page, the code exchange, the ID token
verified against /jwks, userinfo with the XMPP claim, refresh with rotation, introspection,
revocation, refresh-token and code reuse, and RP-initiated logout.

    relying_party.py <base URL> <admin e-mail> <admin password>
"""

import secrets
import sys
import urllib.parse
import warnings

# Authlib's own OpenID Connect ID-token checks (CodeIDToken) still sit on authlib.jose.
warnings.filterwarnings("ignore", message="authlib.jose module is deprecated")

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata

base, admin_email, admin_password = sys.argv[1], sys.argv[2], sys.argv[3]
issuer = f"{base}/api/auth"
callback = "https://chat.example.org/oauth/callback"
goodbye = "https://chat.example.org/signed-out"
origin = {"Origin": base}
passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"  ok {passed} - {what}")


def check(condition, what, detail=""):
    if not condition:
        print(f"  FAILED - {what} {detail}")
        sys.exit(1)


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# Discovery: under the issuer and at the root, valid by Authlib's validators.
doc = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
OpenIDProviderMetadata(doc).validate()
AuthorizationServerMetadata(
    requests.get(f"{base}/.well-known/oauth-authorization-server/api/auth", timeout=10).json()
).validate()
check(doc["issuer"] == issuer, "issuer", doc["issuer"])
check(requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json() == doc, "root discovery")
ok("discovery documents pass OpenID Connect Discovery and RFC 8414 validation")

# An admin registers the service (Portal's admin page does this through the admin API).
admin = requests.Session()
res = admin.post(f"{base}/api/auth/sign-in/email", json={"email": admin_email, "password": admin_password}, headers=origin, timeout=10)
check(res.status_code == 200, "admin sign-in", res.text)
res = admin.post(
    f"{base}/api/admin/oauth-clients",
    json={
        "name": "Chat (e2e)",
        "redirectUris": [callback],
        "scopes": ["openid", "profile", "email", "offline_access", "xmpp"],
        "enableEndSession": True,
        "postLogoutRedirectUris": [goodbye],
    },
    headers=origin,
    timeout=10,
)
check(res.status_code == 201, "client registration", res.text)
client = res.json()["oauthClient"]
client_id, client_secret = client["clientId"], client["clientSecret"]
ok("the admin API registers a confidential client")

# A person with an XMPP account.
email = f"oidc-{secrets.token_hex(4)}@example.org"
password = "oidc-e2e-password"
person = requests.Session()
res = person.post(
    f"{base}/api/auth/sign-up/email",
    json={"name": "Grace Hopper", "email": email, "password": password, "username": f"grace{secrets.token_hex(3)}"},
    headers=origin,
    timeout=10,
)
check(res.status_code == 200, "sign-up", res.text)
xmpp_name = f"grace{secrets.token_hex(3)}"
res = person.post(f"{base}/api/integrations/xmpp/accounts", json={"username": xmpp_name}, headers=origin, timeout=10)
check(res.status_code in (200, 201), "xmpp account", res.text)
person = requests.Session()  # a browser that is not signed in yet

# The relying party starts the flow.
rp = OAuth2Session(
    client_id,
    client_secret,
    scope="openid profile email offline_access xmpp",
    redirect_uri=callback,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(64)
nonce = generate_token(24)
url, state = rp.create_authorization_url(doc["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

res = person.get(url, allow_redirects=False, timeout=10)
check(res.status_code == 302, "authorize redirects", res.text)
login = res.headers["location"]
check(login.startswith(f"{base}/auth/sign-in?") and "sig=" in login, "to the login page", login)
res = person.post(
    f"{base}/api/auth/sign-in/email",
    json={"email": email, "password": password, "oauth_query": login.split("?", 1)[1]},
    headers=origin,
    timeout=10,
)
check(res.status_code == 200 and res.json().get("redirect") is True, "sign-in continues the flow", res.text)
consent_page = res.json()["url"]
check(consent_page.startswith(f"{base}/auth/consent?"), "to the consent page", consent_page)
res = person.post(
    f"{base}/api/auth/oauth2/consent",
    json={"accept": True, "oauth_query": consent_page.split("?", 1)[1]},
    headers=origin,
    timeout=10,
)
to_client = res.json()["url"]
check(to_client.startswith(callback) and query_of(to_client)["iss"] == issuer, "back to the client", to_client)
ok("authorize -> login page -> sign-in (signed request) -> consent -> the client, with state and iss")

token = rp.fetch_token(doc["token_endpoint"], authorization_response=to_client, code_verifier=verifier)
check({"access_token", "refresh_token", "id_token"} <= set(token), "tokens", token)
ok("Authlib exchanges the code with PKCE (client_secret_basic)")

jwks = JsonWebKey.import_key_set(requests.get(doc["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    token["id_token"],
    jwks,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "values": [issuer]}},
    claims_params={"nonce": nonce, "client_id": client_id},
)
claims.validate()
check(claims["email"] == email and claims["aud"] == client_id, "ID token claims", claims)
ok(f"the ID token ({jwt.decode(token['id_token'], jwks).header['alg']}) verifies against /jwks: iss, aud, nonce, exp")

info = rp.get(doc["userinfo_endpoint"], timeout=10).json()
check(info["sub"] == claims["sub"] and info["xmpp_username"] == xmpp_name, "userinfo", info)
ok("userinfo: the same subject, and xmpp_username for the xmpp scope")

seen = rp.introspect_token(doc["introspection_endpoint"], token=token["access_token"]).json()
check(seen["active"] is True and seen["client_id"] == client_id, "introspection", seen)
ok("introspection: active, this client's")

first_refresh = token["refresh_token"]
renewed = rp.refresh_token(doc["token_endpoint"])
check(renewed["refresh_token"] != first_refresh, "rotation", renewed)
check(rp.get(doc["userinfo_endpoint"], timeout=10).status_code == 200, "new access token works")
ok("refresh rotates the refresh token")

reuse = requests.post(
    doc["token_endpoint"],
    data={"grant_type": "refresh_token", "refresh_token": first_refresh},
    auth=(client_id, client_secret),
    timeout=10,
)
check(reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", "reuse refused", reuse.text)
res = rp.get(doc["userinfo_endpoint"], timeout=10)
check(res.status_code == 401 and "invalid_token" in res.headers.get("WWW-Authenticate", ""), "family revoked", res.text)
ok("a retired refresh token used again revokes the whole grant (the newest access token stops)")

# A second sign-in: consent is remembered, the code comes straight back.
verifier = generate_token(64)
nonce = generate_token(24)
url, state = rp.create_authorization_url(doc["authorization_endpoint"], code_verifier=verifier, nonce=nonce, state=generate_token(16))
res = person.get(url, allow_redirects=False, timeout=10)
to_client = res.headers["location"]
check(to_client.startswith(callback) and "code=" in to_client, "remembered consent", to_client)
token = rp.fetch_token(doc["token_endpoint"], authorization_response=to_client, code_verifier=verifier)
ok("remembered consent is skipped")

code = query_of(to_client)["code"]
again = requests.post(
    doc["token_endpoint"],
    data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback, "code_verifier": verifier},
    auth=(client_id, client_secret),
    timeout=10,
)
check(again.status_code == 400 and again.json()["error"] == "invalid_grant", "code reuse", again.text)
check(rp.get(doc["userinfo_endpoint"], timeout=10).status_code == 401, "reuse revoked the first exchange")
ok("a code used twice is refused and revokes what its first use issued")

# Revocation and RP-initiated logout on a third grant.
verifier = generate_token(64)
url, state = rp.create_authorization_url(doc["authorization_endpoint"], code_verifier=verifier, nonce=generate_token(24), state=generate_token(16))
to_client = person.get(url, allow_redirects=False, timeout=10).headers["location"]
token = rp.fetch_token(doc["token_endpoint"], authorization_response=to_client, code_verifier=verifier)
res = rp.revoke_token(doc["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token")
check(res.status_code == 200, "revocation", res.text)
check(rp.get(doc["userinfo_endpoint"], timeout=10).status_code == 401, "revoked grant")
seen = rp.introspect_token(doc["introspection_endpoint"], token=token["refresh_token"]).json()
check(seen == {"active": False}, "introspection after revocation", seen)
ok("revoking the refresh token ends the grant")

res = person.get(
    doc["end_session_endpoint"],
    params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": goodbye, "state": "bye"},
    allow_redirects=False,
    timeout=10,
)
check(res.status_code == 302 and res.headers["location"] == f"{goodbye}?state=bye", "end-session", res.text)
check(person.get(f"{base}/api/auth/get-session", timeout=10).json() is None, "session ended")
ok("end-session ends the Portal session and returns to the registered URI")

print(f"oidc relying party: {passed}/{passed} passed")
