//! `portal-admin import --from postgres://...`: a running Portal's PostgreSQL database
//! brought into our table, nobody signed out.
//!
//! 1. Checks first, reported by id: e-mails two users share case-insensitively, usernames
//!    likewise (the earliest account keeps it; the later ones are skipped), rows whose user
//!    is missing, consents whose client is missing.
//! 2. Users in id order, a page at a time: what each owns read with the page (one query per
//!    table), converted (`convert`), and each person written with everything that is
//!    theirs in ONE transaction (`Db::land`), several at once, retried with backoff when
//!    DynamoDB throttles. A person whose row or any of whose rows cannot come over is
//!    skipped whole (reported), never half-written. Who is in the table already is read
//!    first (one BatchGetItem per page) and left alone: a second run writes nothing.
//! 3. After each page, a checkpoint; `--resume` starts after it.
//! 4. A verification pass: the table's items counted by kind against what the source
//!    gave, the `stats` counters against the table, every claim's user present; and a
//!    digest of the table (two imports of one source give the same).

pub mod convert;
pub mod source;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::str::FromStr;

use futures::StreamExt;
use portal_domain::crypto::sha256_hex;
use portal_domain::keyring::Keyring;
use portal_domain::model::Role;
use portal_domain::store::import::{Arrival, Landed, census};
use portal_domain::store::{Db, StoreError};
use portal_domain::time::{iso, now};
use serde_json::{Value, json};

use source::{Belongings, SERVICE_TABLES, Source, SourceUser};

/// What the operator asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub from: String,
    pub dry_run: bool,
    pub resume: bool,
    /// Users read per page.
    pub page: i64,
    /// People written at once.
    pub concurrency: usize,
    /// Create the table when it does not exist.
    pub create_table: bool,
    /// More trust anchors (PEM) for the source's TLS certificate.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The secrets BetterAuth encrypted with (`BETTER_AUTH_SECRET`, and the one before a
/// rotation), and our keyring made of the same.
pub struct Secrets {
    pub better_auth: Vec<String>,
    pub keyring: Keyring,
}

impl Secrets {
    /// From the auth section of the configuration (`BETTER_AUTH_SECRET`, and
    /// `BETTER_AUTH_SECRET_PREVIOUS` during a rotation): it must be the source Portal's,
    /// never the development default.
    pub fn from_config(config: &portal_domain::Config) -> Result<Self, String> {
        use portal_domain::config::{DEVELOPMENT_SECRET, ExposeSecret};
        let auth = config
            .auth
            .as_ref()
            .ok_or("the auth section is not configured")?;
        let current = auth.secret.expose_secret().to_string();
        if current == DEVELOPMENT_SECRET {
            return Err("BETTER_AUTH_SECRET must be the source Portal's secret (its sessions, two-factor secrets and cookies depend on it)".into());
        }
        let previous = auth
            .previous_secret
            .as_ref()
            .map(|s| s.expose_secret().to_string());
        Ok(Self {
            keyring: portal_domain::keyring::Keyring::from_config(config),
            better_auth: std::iter::once(current).chain(previous).collect(),
        })
    }
}

/// A fingerprint of the source (host, port, database, user; never the password): what
/// the checkpoint is kept under.
fn fingerprint(url: &str) -> Result<String, String> {
    let config = tokio_postgres::Config::from_str(url)
        .map_err(|e| format!("--from is not a PostgreSQL URL: {e}"))?;
    let shown = format!(
        "{:?}|{:?}|{:?}|{:?}",
        config.get_hosts(),
        config.get_ports(),
        config.get_dbname(),
        config.get_user()
    );
    Ok(sha256_hex(shown.as_bytes())[..16].to_string())
}

/// Counts by kind, for the summary and the verification.
type Counts = BTreeMap<&'static str, i64>;

#[derive(Default)]
struct Report {
    /// Brought by this run (or, in a dry run, that would be).
    written: Counts,
    /// What the table should hold from the source (this run's and earlier runs').
    expected: Counts,
    users_already_there: i64,
    users_written: i64,
    /// `(kind, id, why)`.
    skipped: Vec<(String, String, String)>,
    /// Per service and status: what the table should count.
    expected_accounts: BTreeMap<(String, String), i64>,
    expected_roles: (i64, i64, i64),
    expected_keys_enabled: i64,
    expected_clients_disabled: i64,
}

impl Report {
    fn skip(&mut self, kind: &str, id: &str, why: impl Into<String>) {
        let why = why.into();
        eprintln!("skipped {kind} {id}: {why}");
        self.skipped.push((kind.to_string(), id.to_string(), why));
    }
}

/// A progress bar on a terminal, a line every tenth otherwise.
struct Progress {
    total: i64,
    done: i64,
    tty: bool,
    last_tenth: i64,
}

impl Progress {
    fn new(total: i64) -> Self {
        Self {
            total,
            done: 0,
            tty: std::io::stderr().is_terminal(),
            last_tenth: 0,
        }
    }

    fn advance(&mut self, by: i64) {
        self.done += by;
        let total = self.total.max(1);
        if self.tty {
            let filled = (self.done * 40 / total).clamp(0, 40) as usize;
            eprint!(
                "\r[{}{}] {}/{} users",
                "#".repeat(filled),
                " ".repeat(40 - filled),
                self.done,
                self.total
            );
            let _ = std::io::stderr().flush();
        } else {
            let tenth = self.done * 10 / total;
            if tenth > self.last_tenth {
                self.last_tenth = tenth;
                eprintln!("import: {}/{} users", self.done, self.total);
            }
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// The person with everything that is theirs, or why they cannot come over.
fn arrival(
    secrets: &Secrets,
    row: &SourceUser,
    mine: &Belongings,
    clients: &HashMap<String, String>,
    at: &str,
) -> Result<Arrival, String> {
    let user = convert::user(row)?;
    let keyring = &secrets.keyring;
    let password_hash = mine
        .accounts
        .iter()
        .find(|a| a.provider_id == "credential")
        .and_then(|a| a.password.clone());
    let sessions = mine
        .sessions
        .iter()
        .map(|s| convert::session(keyring, &user, s))
        .collect();
    let api_keys = mine
        .api_keys
        .iter()
        .map(convert::api_key)
        .collect::<Result<_, _>>()?;
    let two_factor = match mine.two_factors.as_slice() {
        [] => None,
        [factor, ..] => Some(convert::two_factor(
            keyring,
            &secrets.better_auth,
            &user,
            factor,
        )?),
    };
    if user.two_factor_enabled && two_factor.is_none() {
        return Err("two-factor is on but no secret was found".into());
    }
    let passkeys = mine
        .passkeys
        .iter()
        .map(|p| convert::passkey(p, at))
        .collect::<Result<_, _>>()?;
    let linked = mine
        .accounts
        .iter()
        .filter(|a| a.provider_id != "credential")
        .map(|a| convert::linked(keyring, a))
        .collect();
    let accounts = mine
        .services
        .iter()
        .map(convert::service_account)
        .collect::<Result<_, _>>()?;
    // A consent to a client that did not come over is left behind (reported before).
    let consents: Vec<_> = mine
        .consents
        .iter()
        .filter(|c| clients.contains_key(&c.client_id))
        .map(|c| convert::consent(c, at))
        .collect();
    // The services' refresh tokens (their grants), for the clients that came over.
    let grants = mine
        .refresh_tokens
        .iter()
        .filter_map(|r| clients.get(&r.client_id).map(|key| (r, key)))
        .map(|(r, key)| {
            let consent = consents.iter().find(|c| c.client_id == r.client_id);
            convert::refresh_grant(r, key, consent, at)
        })
        .collect::<Result<_, _>>()?;
    Ok(Arrival {
        user,
        password_hash,
        sessions,
        api_keys,
        two_factor,
        passkeys,
        linked,
        accounts,
        consents,
        grants,
    })
}

/// What one arrival adds to the counts of each kind.
fn tally(counts: &mut Counts, a: &Arrival) {
    let mut add = |kind: &'static str, n: usize| *counts.entry(kind).or_default() += n as i64;
    add("users", 1);
    add("passwords", usize::from(a.password_hash.is_some()));
    add("sessions", a.sessions.len());
    add("apiKeys", a.api_keys.len());
    add("twoFactor", usize::from(a.two_factor.is_some()));
    add("passkeys", a.passkeys.len());
    add("linkedAccounts", a.linked.len());
    add("serviceAccounts", a.accounts.len());
    add("consents", a.consents.len());
    add("refreshTokens", a.grants.len());
}

/// Splits a page's belongings by user.
fn by_user(found: Belongings) -> HashMap<String, Belongings> {
    let mut mine: HashMap<String, Belongings> = HashMap::new();
    fn file<T>(
        mine: &mut HashMap<String, Belongings>,
        rows: Vec<T>,
        owner: impl Fn(&T) -> &str,
        list: impl Fn(&mut Belongings) -> &mut Vec<T>,
    ) {
        for row in rows {
            list(mine.entry(owner(&row).to_string()).or_default()).push(row);
        }
    }
    file(
        &mut mine,
        found.accounts,
        |r| &r.user_id,
        |b| &mut b.accounts,
    );
    file(
        &mut mine,
        found.sessions,
        |r| &r.user_id,
        |b| &mut b.sessions,
    );
    file(
        &mut mine,
        found.api_keys,
        |r| &r.reference_id,
        |b| &mut b.api_keys,
    );
    file(
        &mut mine,
        found.two_factors,
        |r| &r.user_id,
        |b| &mut b.two_factors,
    );
    file(
        &mut mine,
        found.passkeys,
        |r| &r.user_id,
        |b| &mut b.passkeys,
    );
    file(
        &mut mine,
        found.services,
        |r| &r.user_id,
        |b| &mut b.services,
    );
    file(
        &mut mine,
        found.consents,
        |r| &r.user_id,
        |b| &mut b.consents,
    );
    file(
        &mut mine,
        found.refresh_tokens,
        |r| &r.user_id,
        |b| &mut b.refresh_tokens,
    );
    mine
}

/// Writes one arrival, retrying with backoff while DynamoDB says "not now".
async fn land(db: &Db, arrival: &Arrival) -> Result<Landed, StoreError> {
    let mut attempt = 0u32;
    loop {
        match db.land(arrival).await {
            Err(StoreError::Unavailable(why)) if attempt < 8 => {
                attempt += 1;
                let wait = 50u64 * 2u64.pow(attempt.min(6));
                eprintln!("import: DynamoDB busy ({why}); retrying in {wait} ms");
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            other => return other,
        }
    }
}

/// The checks before anything is written: rows reported by id that will not come over.
async fn preflight(
    source: &Source,
    services: &[source::ServiceTable],
    has_consents: bool,
    has_passkeys: bool,
    report: &mut Report,
) -> Result<HashSet<String>, String> {
    let mut refused = HashSet::new();
    let shared_email = source
        .ids(
            "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY lower(trim(email)) \
             ORDER BY created_at, id) AS n FROM \"user\") d WHERE n > 1 ORDER BY id",
        )
        .await?;
    for id in shared_email {
        report.skip(
            "user",
            &id,
            "its e-mail is an earlier account's, case aside",
        );
        refused.insert(id);
    }
    let shared_username = source
        .ids(
            "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY \
             lower(coalesce(display_username, username)) ORDER BY created_at, id) AS n \
             FROM \"user\" WHERE username IS NOT NULL) d WHERE n > 1 ORDER BY id",
        )
        .await?;
    for id in shared_username {
        if refused.insert(id.clone()) {
            report.skip(
                "user",
                &id,
                "its username is an earlier account's, case aside",
            );
        }
    }
    let mut owned: Vec<(String, String, &str)> = vec![
        ("account".into(), "user_id".into(), "account"),
        ("session".into(), "user_id".into(), "session"),
        ("apikey".into(), "reference_id".into(), "API key"),
        ("two_factor".into(), "user_id".into(), "two-factor"),
    ];
    if has_passkeys {
        owned.push(("passkey".into(), "user_id".into(), "passkey"));
    }
    if has_consents {
        owned.push(("oauth_consent".into(), "user_id".into(), "consent"));
    }
    for (_, table, _) in services {
        owned.push((table.to_string(), "user_id".into(), "service account"));
    }
    for (table, column, kind) in &owned {
        let dangling = source
            .ids(&format!(
                "SELECT t.id FROM {table} t WHERE NOT EXISTS \
                 (SELECT 1 FROM \"user\" u WHERE u.id = t.{column}) ORDER BY t.id"
            ))
            .await?;
        for id in dangling {
            report.skip(kind, &id, "its user does not exist");
        }
    }
    if has_consents {
        let dangling = source
            .ids(
                "SELECT c.id FROM oauth_consent c WHERE NOT EXISTS \
                 (SELECT 1 FROM oauth_client o WHERE o.client_id = c.client_id) ORDER BY c.id",
            )
            .await?;
        for id in dangling {
            report.skip("consent", &id, "its client does not exist");
        }
    }
    Ok(refused)
}

/// Runs the import; the summary (JSON) is what the command prints.
pub async fn run(db: &Db, secrets: &Secrets, options: &Options) -> Result<String, String> {
    let started = std::time::Instant::now();
    let source_id = fingerprint(&options.from)?;
    let source = Source::connect(&options.from, options.ca_file.as_deref()).await?;
    let mut services = Vec::new();
    for entry in SERVICE_TABLES {
        if source.has_table(entry.1).await? {
            services.push(entry);
        }
    }
    let has_consents =
        source.has_table("oauth_consent").await? && source.has_table("oauth_client").await?;
    let has_passkeys = source.has_table("passkey").await?;
    // Every column read, of a type it is read as, before a single row is: a schema this
    // import does not know stops it here, whole, never midway.
    let mut tables = vec!["user", "account", "session", "apikey", "two_factor"];
    if has_passkeys {
        tables.push("passkey");
    }
    if has_consents {
        tables.extend(["oauth_client", "oauth_consent", "oauth_refresh_token"]);
    }
    tables.extend(services.iter().map(|(_, table, _)| *table));
    let problems = source.schema_problems(&tables).await?;
    if !problems.is_empty() {
        return Err(format!(
            "the source's schema is not Portal 2.3's as this import reads it: {}",
            problems.join("; ")
        ));
    }
    if options.create_table && !options.dry_run {
        db.ensure_table().await.map_err(|e| e.to_string())?;
    }
    // A dry run may look at a table that is not made yet: then nobody is there.
    let table_there = db.table_exists().await.map_err(|e| e.to_string())?;
    if !options.dry_run && !table_there {
        return Err(format!(
            "table {} does not exist (--create-table makes it on a local engine)",
            db.table()
        ));
    }
    let mut report = Report::default();
    let refused = preflight(&source, &services, has_consents, has_passkeys, &mut report).await?;

    let at = iso(now());
    let clients = if has_consents {
        bring_clients(db, secrets, &source, options.dry_run, &at, &mut report).await?
    } else {
        HashMap::new()
    };

    let mut after = String::new();
    if options.resume {
        match db
            .import_checkpoint(&source_id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(checkpoint) => {
                eprintln!("import: resuming after user {}", checkpoint.after);
                after = checkpoint.after;
            }
            None => eprintln!("import: no checkpoint for this source; starting at the beginning"),
        }
    }
    let total = source.user_count().await?;
    let mut progress = Progress::new(total);
    let mut skipped_before_resume = 0;
    if !after.is_empty() {
        // What earlier runs brought still counts in the verification.
        let mut cursor = String::new();
        loop {
            let page = source.users_after(&cursor, options.page).await?;
            let Some(last) = page.last() else { break };
            cursor = last.id.clone();
            let done: Vec<&SourceUser> = page.iter().filter(|u| u.id <= after).collect();
            if done.is_empty() {
                break;
            }
            let ids: Vec<String> = done.iter().map(|u| u.id.clone()).collect();
            let mine = by_user(
                source
                    .belongings(&ids, &services, has_consents, has_passkeys)
                    .await?,
            );
            for row in &done {
                if refused.contains(&row.id) {
                    continue;
                }
                let empty = Belongings::default();
                match arrival(
                    secrets,
                    row,
                    mine.get(&row.id).unwrap_or(&empty),
                    &clients,
                    &at,
                ) {
                    Ok(a) => expect(&mut report, &a, 1),
                    Err(why) => {
                        skipped_before_resume += 1;
                        report.skip("user", &row.id, why);
                    }
                }
                report.users_already_there += 1;
            }
            progress.advance(done.len() as i64);
            if done.len() < page.len() {
                break;
            }
        }
        report.users_already_there -= skipped_before_resume;
    }

    loop {
        let page = source.users_after(&after, options.page).await?;
        let Some(last) = page.last() else { break };
        let last_id = last.id.clone();
        let ids: Vec<String> = page.iter().map(|u| u.id.clone()).collect();
        let (found, present) = futures::try_join!(
            async {
                source
                    .belongings(&ids, &services, has_consents, has_passkeys)
                    .await
            },
            async {
                if table_there {
                    db.present_users(&ids).await.map_err(|e| e.to_string())
                } else {
                    Ok(HashSet::new())
                }
            },
        )?;
        let mine = by_user(found);
        let empty = Belongings::default();
        let mut arrivals = Vec::new();
        for row in &page {
            if refused.contains(&row.id) {
                continue;
            }
            match arrival(
                secrets,
                row,
                mine.get(&row.id).unwrap_or(&empty),
                &clients,
                &at,
            ) {
                Ok(a) => {
                    expect(&mut report, &a, 1);
                    if present.contains(&a.user.id) {
                        report.users_already_there += 1;
                    } else {
                        arrivals.push(a);
                    }
                }
                Err(why) => report.skip("user", &row.id, why),
            }
        }
        if options.dry_run {
            for a in &arrivals {
                tally(&mut report.written, a);
                report.users_written += 1;
            }
        } else {
            let landed: Vec<(Arrival, Result<Landed, StoreError>)> =
                futures::stream::iter(arrivals.into_iter().map(|a| async move {
                    let landed = land(db, &a).await;
                    (a, landed)
                }))
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
            for (a, landed) in landed {
                let landed = match landed {
                    // DynamoDB refused this person's writes as such (the same item twice,
                    // an item too large): theirs alone, reported; the rest goes on.
                    Err(StoreError::Dynamo(why)) if why.contains("ValidationException") => {
                        expect(&mut report, &a, -1);
                        report.skip(
                            "user",
                            &a.user.id,
                            "DynamoDB refused the transaction (ValidationException)",
                        );
                        continue;
                    }
                    other => other,
                };
                match landed.map_err(|e| format!("import stopped (resume with --resume): {e}"))? {
                    Landed::Written(_) => {
                        tally(&mut report.written, &a);
                        report.users_written += 1;
                    }
                    Landed::AlreadyThere => report.users_already_there += 1,
                    Landed::Taken(what) => {
                        expect(&mut report, &a, -1);
                        report.skip(
                            "user",
                            &a.user.id,
                            format!("its {what} is taken in the table"),
                        );
                    }
                    Landed::TooLarge(n) => {
                        expect(&mut report, &a, -1);
                        report.skip(
                            "user",
                            &a.user.id,
                            format!("{n} writes, more than one transaction takes (too many live sessions or keys)"),
                        );
                    }
                }
            }
            db.save_import_checkpoint(&source_id, &last_id)
                .await
                .map_err(|e| format!("import stopped (resume with --resume): {e}"))?;
        }
        progress.advance(page.len() as i64);
        after = last_id;
        if (page.len() as i64) < options.page {
            break;
        }
    }
    progress.finish();

    let mut summary = json!({
        "dryRun": options.dry_run,
        "sourceUsers": total,
        "users": {
            "written": report.users_written,
            "alreadyThere": report.users_already_there,
            "skipped": report.skipped.iter().filter(|(k, _, _)| k == "user").count(),
        },
        "written": report.written,
        "expected": report.expected,
        "skipped": report.skipped.iter().map(|(kind, id, why)| json!({"kind": kind, "id": id, "why": why})).collect::<Vec<_>>(),
        "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    });
    if !options.dry_run {
        let verified = verify(db, &report).await?;
        let ok = verified["ok"].as_bool() == Some(true);
        summary["verification"] = verified;
        summary["seconds"] = json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0);
        if !ok {
            return Err(format!("verification failed: {summary}"));
        }
    }
    Ok(summary.to_string())
}

/// The OAuth clients, before the people (whose consents name them): each with its claim
/// and count, or reported. Returns the `client_id`s in the table, with their items' ids.
async fn bring_clients(
    db: &Db,
    secrets: &Secrets,
    source: &Source,
    dry_run: bool,
    at: &str,
    report: &mut Report,
) -> Result<HashMap<String, String>, String> {
    let mut clients = Vec::new();
    for row in source.clients().await? {
        match convert::client(&secrets.better_auth, &row, at) {
            Ok(client) => clients.push(client),
            Err(why) => report.skip("OAuth client", &row.id, why),
        }
    }
    // Each client is its own transaction: they go out together.
    let landed = if dry_run {
        clients.iter().map(|_| Ok(Landed::Written(0))).collect()
    } else {
        futures::future::join_all(clients.iter().map(|c| db.land_client(c))).await
    };
    let mut brought = HashMap::new();
    for (client, landed) in clients.into_iter().zip(landed) {
        match landed.map_err(|e| format!("import stopped (resume with --resume): {e}"))? {
            Landed::Written(_) => *report.written.entry("oauthClients").or_default() += 1,
            Landed::AlreadyThere => {}
            other => {
                report.skip(
                    "OAuth client",
                    &client.id,
                    format!("{other:?} in the table"),
                );
                continue;
            }
        }
        *report.expected.entry("oauthClients").or_default() += 1;
        if client.disabled {
            report.expected_clients_disabled += 1;
        }
        brought.insert(client.client_id, client.id);
    }
    Ok(brought)
}

/// What the table must hold for an arrival (brought now or by an earlier run): `sign`
/// 1 counts it in, -1 takes it back out (the table refused it after all).
fn expect(report: &mut Report, a: &Arrival, sign: i64) {
    let mut counts = Counts::new();
    tally(&mut counts, a);
    for (kind, n) in counts {
        *report.expected.entry(kind).or_default() += sign * n;
    }
    for account in &a.accounts {
        *report
            .expected_accounts
            .entry((account.integration_id.clone(), account.status.clone()))
            .or_default() += sign;
    }
    match a.user.role {
        Role::Admin => report.expected_roles.0 += sign,
        Role::Staff => report.expected_roles.1 += sign,
        Role::User => {}
    }
    if a.user.banned {
        report.expected_roles.2 += sign;
    }
    report.expected_keys_enabled += sign * a.api_keys.iter().filter(|k| k.enabled).count() as i64;
}

/// The verification pass: counts per kind, the counters, the claims.
async fn verify(db: &Db, report: &Report) -> Result<Value, String> {
    let at = now();
    let integrations: Vec<&str> = report
        .expected_accounts
        .keys()
        .map(|(integration, _)| integration.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // The table, its counters and each service's counters: read together.
    let counters = db.stats();
    let (items, stats, accounts) = futures::try_join!(
        db.scan_everything(),
        counters.read(at),
        futures::future::try_join_all(integrations.iter().map(|i| counters.accounts(i))),
    )
    .map_err(|e| e.to_string())?;
    let census = census(&items);
    let kind = |k: &str| census.kinds.get(k).copied().unwrap_or(0);
    let expected = |k: &str| report.expected.get(k).copied().unwrap_or(0);
    let mut problems = Vec::new();
    let mut check = |what: &str, table: i64, wanted: i64| {
        if table != wanted {
            problems.push(format!(
                "{what}: {table} in the table, {wanted} from the source"
            ));
        }
    };
    check("users", kind("USER"), expected("users"));
    check("passwords", kind("CREDENTIAL"), expected("passwords"));
    check("e-mail claims", kind("EMAIL"), expected("users"));
    check("sessions", kind("SESSION"), expected("sessions"));
    check("API keys", kind("APIKEY"), expected("apiKeys"));
    check("two-factor", kind("TWOFACTOR"), expected("twoFactor"));
    check("passkeys", kind("PASSKEY"), expected("passkeys"));
    check(
        "linked accounts",
        kind("LINKED"),
        expected("linkedAccounts"),
    );
    check(
        "service accounts",
        kind("INTEGACCT"),
        expected("serviceAccounts"),
    );
    let consents = items
        .iter()
        .filter(|i| {
            i.get("SK")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with("CONSENT#"))
        })
        .count() as i64;
    check("consents", consents, expected("consents"));
    check("refresh tokens", kind("OAUTHRT"), expected("refreshTokens"));
    check("grants", kind("OAUTHGRANT"), expected("refreshTokens"));
    check("OAuth clients", kind("OAUTH"), expected("oauthClients"));
    let live_sessions = items
        .iter()
        .filter(|i| {
            i.get("SK")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk == "SESSION")
                && i.get("expiresAt")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|e| e.as_str() > iso(at).as_str())
        })
        .count() as i64;
    check(
        "stats: active sessions",
        stats.sessions_active,
        live_sessions,
    );
    check("stats: OAuth clients", stats.oauth_clients, kind("OAUTH"));
    check(
        "stats: disabled OAuth clients",
        stats.oauth_disabled,
        report.expected_clients_disabled,
    );
    check("stats: users", stats.users, kind("USER"));
    check("stats: admins", stats.admins, report.expected_roles.0);
    check("stats: staff", stats.staff, report.expected_roles.1);
    check("stats: banned", stats.banned, report.expected_roles.2);
    check("stats: API keys", stats.api_keys, kind("APIKEY"));
    check(
        "stats: enabled API keys",
        stats.api_keys_enabled,
        report.expected_keys_enabled,
    );
    for ((integration, status), n) in &report.expected_accounts {
        let at = integrations.iter().position(|i| i == integration);
        let counted = at.and_then(|at| accounts[at].get(status)).copied();
        check(
            &format!("stats: {integration} accounts {status}"),
            counted.unwrap_or(0),
            *n,
        );
    }
    if !census.orphan_claims.is_empty() {
        problems.push(format!(
            "claims without their user: {:?}",
            census.orphan_claims
        ));
    }
    if !census.unclaimed_users.is_empty() {
        problems.push(format!(
            "users without their e-mail claim: {:?}",
            census.unclaimed_users
        ));
    }
    Ok(json!({
        "ok": problems.is_empty(),
        "problems": problems,
        "kinds": census.kinds,
        "stats": {
            "users": stats.users, "admins": stats.admins, "staff": stats.staff,
            "banned": stats.banned, "apiKeys": stats.api_keys,
            "activeSessions": stats.sessions_active,
            "apiKeysEnabled": stats.api_keys_enabled,
        },
        "digest": census.digest,
    }))
}
