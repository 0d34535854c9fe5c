-- The tables of a running Portal 2.3 (Next.js, BetterAuth 1.5 through Drizzle on
-- PostgreSQL), described here for the migration test: the same tables, columns, types,
-- defaults, unique indexes and foreign keys Portal's Drizzle migration creates, so the
-- real BetterAuth server (seed.mjs) writes its rows exactly where Portal's would be.
CREATE TYPE integration_account_status AS ENUM ('active', 'suspended', 'deleted');
CREATE TYPE irc_account_status AS ENUM ('active', 'pending', 'suspended', 'deleted');
CREATE TYPE mailcow_account_status AS ENUM ('active', 'suspended', 'deleted');
CREATE TYPE mediawiki_account_status AS ENUM ('active', 'pending', 'suspended', 'deleted');
CREATE TYPE xmpp_account_status AS ENUM ('active', 'suspended', 'deleted');

-- BetterAuth core
CREATE TABLE "user" (
    id text PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    email_verified boolean NOT NULL DEFAULT false,
    image text,
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now(),
    -- username plugin
    username text UNIQUE,
    display_username text UNIQUE,
    -- two-factor plugin
    two_factor_enabled boolean DEFAULT false,
    -- admin plugin
    role text,
    banned boolean DEFAULT false,
    ban_reason text,
    ban_expires timestamp
);
CREATE TABLE session (
    id text PRIMARY KEY,
    expires_at timestamp NOT NULL,
    token text NOT NULL UNIQUE,
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL,
    ip_address text,
    user_agent text,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    impersonated_by text
);
CREATE TABLE account (
    id text PRIMARY KEY,
    account_id text NOT NULL,
    provider_id text NOT NULL,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    access_token text,
    refresh_token text,
    id_token text,
    access_token_expires_at timestamp,
    refresh_token_expires_at timestamp,
    scope text,
    password text,
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL
);
CREATE TABLE verification (
    id text PRIMARY KEY,
    identifier text NOT NULL,
    value text NOT NULL,
    expires_at timestamp NOT NULL,
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now()
);
-- plugins
CREATE TABLE two_factor (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    secret text,
    backup_codes text
);
CREATE TABLE apikey (
    id text PRIMARY KEY,
    config_id text NOT NULL DEFAULT 'default',
    name text,
    start text,
    prefix text,
    key text NOT NULL,
    reference_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    refill_interval integer,
    refill_amount integer,
    last_refill_at timestamp,
    enabled boolean DEFAULT true,
    rate_limit_enabled boolean DEFAULT true,
    rate_limit_time_window integer DEFAULT 86400000,
    rate_limit_max integer DEFAULT 10,
    request_count integer DEFAULT 0,
    remaining integer,
    last_request timestamp,
    expires_at timestamp,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    permissions text,
    metadata text
);
CREATE TABLE passkey (
    id text PRIMARY KEY,
    name text,
    public_key text NOT NULL,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    credential_id text NOT NULL,
    counter integer NOT NULL,
    device_type text NOT NULL,
    backed_up boolean NOT NULL,
    transports text,
    created_at timestamp,
    aaguid text
);
CREATE TABLE jwks (
    id text PRIMARY KEY,
    public_key text NOT NULL,
    private_key text NOT NULL,
    created_at timestamp NOT NULL,
    expires_at timestamp
);
CREATE TABLE oauth_client (
    id text PRIMARY KEY,
    client_id text NOT NULL UNIQUE,
    client_secret text,
    disabled boolean DEFAULT false,
    skip_consent boolean,
    enable_end_session boolean,
    scopes text[],
    user_id text REFERENCES "user"(id) ON DELETE CASCADE,
    created_at timestamp,
    updated_at timestamp,
    name text,
    uri text,
    icon text,
    contacts text[],
    tos text[],
    policy text[],
    software_id text,
    software_version text,
    software_statement text,
    redirect_uris text[] NOT NULL,
    post_logout_redirect_uris text[],
    token_endpoint_auth_method text,
    grant_types text[],
    response_types text[],
    public boolean,
    type text,
    reference_id text,
    client_secret_expires_at timestamp,
    resources text[],
    metadata jsonb
);
CREATE TABLE oauth_refresh_token (
    id text PRIMARY KEY,
    token text NOT NULL,
    client_id text NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    session_id text REFERENCES session(id) ON DELETE SET NULL,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    reference_id text,
    expires_at timestamp,
    created_at timestamp,
    revoked timestamp,
    scopes text[] NOT NULL
);
CREATE TABLE oauth_access_token (
    id text PRIMARY KEY,
    token text UNIQUE,
    client_id text NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    session_id text REFERENCES session(id) ON DELETE SET NULL,
    user_id text REFERENCES "user"(id) ON DELETE CASCADE,
    reference_id text,
    refresh_id text REFERENCES oauth_refresh_token(id) ON DELETE CASCADE,
    expires_at timestamp,
    created_at timestamp,
    scopes text[] NOT NULL
);
CREATE TABLE oauth_consent (
    id text PRIMARY KEY,
    client_id text NOT NULL REFERENCES oauth_client(client_id) ON DELETE CASCADE,
    user_id text REFERENCES "user"(id) ON DELETE CASCADE,
    reference_id text,
    scopes text NOT NULL,
    created_at timestamp,
    updated_at timestamp
);

-- Portal's own: one table per community service
CREATE TABLE integration_accounts (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    integration_type text NOT NULL,
    status integration_account_status NOT NULL DEFAULT 'active',
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now(),
    metadata jsonb
);
CREATE TABLE xmpp_account (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    jid text NOT NULL,
    username text NOT NULL,
    status xmpp_account_status NOT NULL DEFAULT 'active',
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now(),
    metadata jsonb
);
CREATE TABLE irc_account (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    nick text NOT NULL,
    server text NOT NULL,
    port integer NOT NULL DEFAULT 6697,
    status irc_account_status NOT NULL DEFAULT 'pending',
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now(),
    metadata jsonb
);
CREATE TABLE mailcow_account (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    email text NOT NULL,
    domain text NOT NULL,
    local_part text NOT NULL,
    status mailcow_account_status NOT NULL DEFAULT 'active',
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now(),
    metadata jsonb
);
CREATE TABLE mediawiki_account (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    wiki_username text NOT NULL,
    wiki_user_id integer,
    status mediawiki_account_status NOT NULL DEFAULT 'active',
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now(),
    metadata jsonb
);
CREATE UNIQUE INDEX xmpp_account_username_live ON xmpp_account (username) WHERE status <> 'deleted';
CREATE UNIQUE INDEX xmpp_account_user_live ON xmpp_account (user_id) WHERE status <> 'deleted';
CREATE UNIQUE INDEX irc_account_nick_live ON irc_account (nick) WHERE status <> 'deleted';
CREATE UNIQUE INDEX irc_account_user_live ON irc_account (user_id) WHERE status <> 'deleted';
CREATE UNIQUE INDEX mailcow_account_email_live ON mailcow_account (email) WHERE status <> 'deleted';
CREATE UNIQUE INDEX mailcow_account_user_live ON mailcow_account (user_id) WHERE status <> 'deleted';
CREATE UNIQUE INDEX mediawiki_account_name_live ON mediawiki_account (wiki_username) WHERE status <> 'deleted';
CREATE UNIQUE INDEX mediawiki_account_user_live ON mediawiki_account (user_id) WHERE status <> 'deleted';
