//! The API as deployed: `template.yaml`'s HTTP API routes send every request to the function
//! whose router serves it, and everything else to a function that answers the contract's
//! 404/405 envelopes, so API Gateway never answers with its own `{"message":"Not Found"}`.
//!
//! SAM turns each `HttpApi` event into one route (`Method` + `Path`; no `Path`/`Method` is the
//! `$default` route); API Gateway then picks, per request: the route with the same path and
//! method, else the same path with `ANY`, else the greedy (`{proxy+}`) route with the longest
//! matching prefix (a method before `ANY`), else `$default`. `route_for` is that choice.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use portal_testkit::http::{call, request};
use portal_testkit::test_state;
use serde_json::{Value, json};
use serde_yaml_ng::Value as Yaml;

/// One deployed route: method (`None`: ANY), path (`None`: `$default`), function.
#[derive(Debug, Clone)]
struct Route {
    method: Option<String>,
    path: Option<String>,
    function: String,
}

fn routes() -> Vec<Route> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let template: Yaml =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).expect("YAML");
    let mut routes = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values() {
            assert_eq!(event["Type"].as_str(), Some("HttpApi"), "{name:?}");
            let p = &event["Properties"];
            let method = p["Method"]
                .as_str()
                .map(str::to_uppercase)
                .filter(|m| m != "ANY");
            routes.push(Route {
                method,
                path: p["Path"].as_str().map(str::to_string),
                function: name.as_str().unwrap().to_string(),
            });
        }
    }
    routes
}

/// The route API Gateway (HTTP API) chooses for a request.
fn route_for<'a>(routes: &'a [Route], method: &str, path: &str) -> &'a Route {
    let method_rank = |r: &Route| match &r.method {
        Some(m) if m == method => Some(0),
        None => Some(1),
        Some(_) => None,
    };
    let exact = routes
        .iter()
        .filter(|r| {
            r.path
                .as_deref()
                .is_some_and(|p| !p.contains("{proxy+}") && matches_template(p, path))
        })
        .filter_map(|r| method_rank(r).map(|rank| (rank, r)))
        .min_by_key(|(rank, _)| *rank);
    if let Some((_, route)) = exact {
        return route;
    }
    let greedy = routes
        .iter()
        .filter_map(|r| {
            let prefix = r.path.as_deref()?.strip_suffix("{proxy+}")?;
            let rest = path.strip_prefix(prefix)?;
            (!rest.is_empty()).then_some(())?;
            method_rank(r).map(|rank| (std::cmp::Reverse(prefix.len()), rank, r))
        })
        .min_by_key(|(len, rank, _)| (*len, *rank));
    if let Some((_, _, route)) = greedy {
        return route;
    }
    routes
        .iter()
        .find(|r| r.path.is_none())
        .expect("a $default route")
}

/// `/api/integrations/{integration}` matches `/api/integrations/x` (one segment a parameter).
fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

/// Which function serves which documented operations.
fn owners() -> BTreeMap<&'static str, Value> {
    let doc = |api: utoipa::openapi::OpenApi| serde_json::to_value(api).unwrap();
    BTreeMap::from([
        ("AuthFunction", doc(portal_auth::routes().into_openapi())),
        ("UserFunction", doc(portal_user::routes().into_openapi())),
        (
            "AdminFunction",
            doc(portal_admin_api::routes().into_openapi()),
        ),
        (
            "IntegrationsFunction",
            doc(portal_integrations::routes().into_openapi()),
        ),
        (
            "MonitoringFunction",
            doc(portal_monitoring::routes(0).into_openapi()),
        ),
    ])
}

fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_documented_operation_is_routed_to_the_function_that_serves_it() {
    let routes = routes();
    let mut checked = 0;
    for (function, doc) in owners() {
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let method = method.to_uppercase();
                let chosen = route_for(&routes, &method, &concrete(path));
                assert_eq!(
                    chosen.function, function,
                    "{method} {path} would reach {} through {chosen:?}",
                    chosen.function
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 50, "{checked}");
}

#[test]
fn no_route_leads_to_a_function_that_serves_nothing_under_it() {
    let owners = owners();
    for route in routes() {
        let Some(template) = &route.path else {
            assert_eq!(route.function, "MonitoringFunction", "$default");
            continue;
        };
        // A group's root (`/api/user`) is routed so its function answers the envelope there.
        let prefix = format!("{}/", template.trim_end_matches("/{proxy+}"));
        let serves = owners[route.function.as_str()]["paths"]
            .as_object()
            .unwrap()
            .keys()
            .any(|p| p == template || p.starts_with(&prefix));
        assert!(
            serves,
            "{route:?} routes to a function that serves nothing there"
        );
    }
}

/// What each function's own Lambda answers (its router, finished as `lambda::serve` does)
/// for the requests API Gateway sends it that no route of its serves.
#[tokio::test]
async fn unrouted_paths_and_methods_get_the_contract_envelopes_on_aws() {
    let state = test_state(|c| c.rate_limits.enabled = false).await;
    let finish = |router| portal_web::http::finish(router, &state.config);
    let functions = BTreeMap::from([
        (
            "AuthFunction",
            finish(portal_auth::build(state.clone()).await),
        ),
        ("UserFunction", finish(portal_user::router(state.clone()))),
        (
            "AdminFunction",
            finish(portal_admin_api::router(state.clone())),
        ),
        (
            "IntegrationsFunction",
            finish(portal_integrations::router(state.clone())),
        ),
        (
            "MonitoringFunction",
            finish(portal_monitoring::router(state.clone())),
        ),
    ]);
    let routes = routes();
    let not_found = serde_json::json!({"ok": false, "error": "Not found"});
    let not_allowed = serde_json::json!({"ok": false, "error": "Method not allowed"});
    let cases: [(&str, &str, u16, Option<&Value>); 13] = [
        ("GET", "/api/nope", 404, Some(&not_found)),
        ("GET", "/", 404, Some(&not_found)),
        ("GET", "/api", 404, Some(&not_found)),
        ("POST", "/elsewhere/deep/path", 404, Some(&not_found)),
        ("DELETE", "/api/monitoring", 405, Some(&not_allowed)),
        ("PUT", "/api/health", 405, Some(&not_allowed)),
        ("POST", "/api/openapi.json", 405, Some(&not_allowed)),
        ("GET", "/api/admin", 404, Some(&not_found)),
        ("GET", "/api/user", 404, Some(&not_found)),
        ("GET", "/api/user/nope", 404, Some(&not_found)),
        ("PUT", "/api/admin/users", 405, Some(&not_allowed)),
        ("DELETE", "/api/integrations", 405, Some(&not_allowed)),
        // BetterAuth's own answer for its paths: an empty 404.
        ("GET", "/api/auth", 404, None),
    ];
    for (method, path, status, body) in cases {
        let route = route_for(&routes, method, path);
        let res = call(
            &functions[route.function.as_str()],
            request(method, path, Body::empty()),
        )
        .await;
        assert_eq!(res.status, status, "{method} {path} via {route:?}");
        match body {
            Some(body) => assert_eq!(&res.json(), body, "{method} {path}"),
            None => assert!(res.body.is_empty(), "{method} {path}"),
        }
    }
    let res = call(
        &functions["AuthFunction"],
        request("GET", "/api/auth/nope", Body::empty()),
    )
    .await;
    assert_eq!((res.status.as_u16(), res.body.len()), (404, 0));
}

#[test]
fn the_route_choice_follows_api_gateway() {
    let r = |m: Option<&str>, p: Option<&str>, f: &str| Route {
        method: m.map(str::to_string),
        path: p.map(str::to_string),
        function: f.to_string(),
    };
    let routes = vec![
        r(Some("GET"), Some("/a/b"), "get-ab"),
        r(None, Some("/a/b"), "any-ab"),
        r(None, Some("/a/{proxy+}"), "a-greedy"),
        r(None, Some("/a/b/{proxy+}"), "ab-greedy"),
        r(None, None, "default"),
    ];
    let to = |m: &str, p: &str| route_for(&routes, m, p).function.clone();
    assert_eq!(to("GET", "/a/b"), "get-ab");
    assert_eq!(to("POST", "/a/b"), "any-ab");
    assert_eq!(to("GET", "/a/c"), "a-greedy");
    assert_eq!(to("GET", "/a/b/c/d"), "ab-greedy");
    assert_eq!(to("GET", "/a"), "default");
    assert_eq!(to("GET", "/z"), "default");
}

/// Every function logs into a group the stack owns, kept `LogRetentionDays` (not forever).
#[test]
fn every_function_has_a_log_group_with_retention() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let template: Yaml =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).expect("YAML");
    let resources = template["Resources"].as_mapping().unwrap();
    let functions: Vec<&str> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(name, _)| name.as_str().unwrap())
        .collect();
    assert_eq!(functions.len(), 5);
    for function in functions {
        let group = &template["Resources"][format!("{function}Logs").as_str()];
        assert_eq!(
            group["Type"].as_str(),
            Some("AWS::Logs::LogGroup"),
            "{function}"
        );
        let p = format!("{:?}", group["Properties"]);
        assert!(
            p.contains(&format!("/aws/lambda/${{{function}}}")),
            "{function}: {p}"
        );
        assert!(p.contains("LogRetentionDays"), "{function}: {p}");
    }
}

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).expect("YAML")
}

/// What each function's REQUESTS do to the table, as IAM actions (a transaction needs the
/// action of each of its items): the template grants exactly these, plus DescribeTable, which
/// `lambda::serve` calls at init. `the_declared_actions_are_what_each_test_suite_used` holds
/// these lists to what the functions' test suites record (`portal_testkit::iam`).
fn dynamodb_actions() -> [(&'static str, &'static str, Vec<&'static str>); 5] {
    // Items and indexes, as the signed-in routes use them.
    let items = vec![
        "BatchGetItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "UpdateItem",
    ];
    // Deleting a user (the admin API, the admin plugin, `/delete-user`) removes their
    // belongings 25 at a time.
    let mut admin = items.clone();
    admin.insert(1, "BatchWriteItem");
    [
        ("AuthFunction", "portal-auth", admin.clone()),
        ("UserFunction", "portal-user", items.clone()),
        ("AdminFunction", "portal-admin-api", admin),
        ("IntegrationsFunction", "portal-integrations", items),
        // The health check's DescribeTable, and the tunnel's rate-limit counters.
        (
            "MonitoringFunction",
            "portal-monitoring",
            vec!["DescribeTable", "UpdateItem"],
        ),
    ]
}

/// Every Allow statement of a function's policies: (actions, resources as written).
fn statements(function: &str) -> Vec<(Vec<String>, String)> {
    let t = template();
    t["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} has no inline policies"))
        .iter()
        .flat_map(|policy| {
            policy["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .map(|st| {
            assert_eq!(st["Effect"].as_str(), Some("Allow"), "{function}");
            let actions = match &st["Action"] {
                Yaml::String(one) => vec![one.clone()],
                many => many
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
            };
            (actions, format!("{:?}", st["Resource"]))
        })
        .collect()
}

#[test]
fn each_function_is_granted_exactly_the_table_actions_it_uses() {
    for (function, _, declared) in dynamodb_actions() {
        let statements = statements(function);
        let granted: BTreeSet<String> = statements
            .iter()
            .flat_map(|(actions, _)| actions.iter())
            .filter_map(|a| a.strip_prefix("dynamodb:"))
            .map(str::to_string)
            .collect();
        let mut expected: BTreeSet<String> = declared.iter().map(|a| a.to_string()).collect();
        expected.insert("DescribeTable".into());
        assert_eq!(granted, expected, "{function}");
        for (actions, resource) in &statements {
            assert!(
                !resource.contains("\"*\""),
                "{function}: {actions:?} on every resource"
            );
            let on_indexes = resource.contains("/index/*");
            let queries = actions.iter().any(|a| a == "dynamodb:Query");
            assert!(
                !on_indexes || queries,
                "{function}: index access without a Query: {actions:?}"
            );
            if actions.iter().any(|a| a.starts_with("dynamodb:")) {
                assert!(resource.contains("Table"), "{function}: {resource}");
            }
        }
        if declared.contains(&"Query") {
            assert!(
                statements.iter().any(|(a, r)| a.iter().any(|a| a == "dynamodb:Query")
                    && r.contains("/index/*")),
                "{function} queries the indexes"
            );
        }
    }
}

#[test]
fn only_the_auth_function_sends_mail_and_only_from_its_identity() {
    for (function, _, _) in dynamodb_actions() {
        let mail: Vec<(Vec<String>, String)> = statements(function)
            .into_iter()
            .filter(|(actions, _)| actions.iter().any(|a| a.starts_with("ses:")))
            .collect();
        if function != "AuthFunction" {
            assert!(mail.is_empty(), "{function} may send mail");
            continue;
        }
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].0, vec!["ses:SendEmail".to_string()]);
        assert!(
            mail[0].1.contains(":identity/${MailIdentity}"),
            "scoped to the configured identity: {}",
            mail[0].1
        );
    }
}

/// Run by `./scripts/test` after the whole suite ran with
/// `PORTAL_RECORD_DYNAMODB_ACTIONS` set: the actions each function's requests performed in
/// its tests are exactly the declared ones (the init-time DescribeTable aside).
#[test]
#[ignore = "needs the records of a whole test run: ./scripts/test runs it"]
fn the_declared_actions_are_what_each_test_suite_used() {
    let folder = std::env::var(portal_testkit::iam::RECORD_VAR)
        .expect("the folder the test run recorded into");
    for (function, package, declared) in dynamodb_actions() {
        let path = std::path::Path::new(&folder).join(format!("{package}.txt"));
        let recorded: BTreeSet<String> = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .map(|l| l.trim_start_matches("dynamodb:").to_string())
            .collect();
        let declared: BTreeSet<String> = declared.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            recorded, declared,
            "{function}: what its requests did (left) vs what is declared and granted (right)"
        );
    }
}

/// The environment a function is deployed with names only variables its configuration
/// sections read (the loader is asked through a recording lookup), and a production start
/// with them succeeds.
#[test]
fn each_function_is_given_only_variables_it_reads() {
    let t = template();
    let names = |v: &Yaml| -> Vec<String> {
        v.as_mapping()
            .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    let needs = [
        ("AuthFunction", portal_auth::NEEDS),
        ("UserFunction", portal_user::NEEDS),
        ("AdminFunction", portal_admin_api::NEEDS),
        ("IntegrationsFunction", portal_integrations::NEEDS),
        ("MonitoringFunction", portal_monitoring::NEEDS),
    ];
    // Read by lambda_http and by the allocator, not by our configuration.
    let runtime = [
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH",
        "MIMALLOC_ARENA_EAGER_COMMIT",
        "MIMALLOC_PURGE_DELAY",
    ];
    for (function, needs) in needs {
        let mut given = names(&t["Globals"]["Function"]["Environment"]["Variables"]);
        given.extend(names(
            &t["Resources"][function]["Properties"]["Environment"]["Variables"],
        ));
        let asked = std::sync::Mutex::new(BTreeSet::new());
        let sample = |name: &str| -> Option<String> {
            asked.lock().unwrap().insert(name.to_string());
            if !given.iter().any(|g| g == name) {
                return None;
            }
            Some(
                match name {
                    "PORTAL_ENV" => "production",
                    "PORTAL_BASE_URL" => "https://portal.example.org",
                    "PORTAL_MAIL" => "ses",
                    "PORTAL_MAIL_FROM" => "Portal <no-reply@example.org>",
                    "PORTAL_TRUSTED_ORIGINS" => "https://app.example.org",
                    "PORTAL_COOKIE_PREFIX" => "portal",
                    "PORTAL_REQUIRE_USERNAME" | "PORTAL_REQUIRE_2FA_FOR_STAFF" => "true",
                    "PORTAL_AUDIT_RETENTION_DAYS" => "365",
                    "PORTAL_NAME_COOLING_DAYS" => "30",
                    "PORTAL_RESERVED_NAMES" => "board,team",
                    "MAILCOW_QUOTA_MB" => "3072",
                    "IRC_SERVER" => "irc.example.org",
                    "PORTAL_OAUTH_CLIENT_REGISTRATION" => "closed",
                    "PORTAL_OAUTH_CONSENT_URL" => "/auth/consent",
                    // Optional parameters left at their empty defaults.
                    "SENTRY_DSN"
                    | "PROSODY_REST_URL"
                    | "PROSODY_REST_TOKEN"
                    | "XMPP_DOMAIN"
                    | "IRC_ATHEME_JSONRPC_URL"
                    | "IRC_ATHEME_OPER_ACCOUNT"
                    | "IRC_ATHEME_OPER_PASSWORD"
                    | "MAILCOW_API_URL"
                    | "MAILCOW_API_KEY"
                    | "MAILCOW_DOMAIN"
                    | "MAILCOW_ALIAS_DOMAINS"
                    | "MEDIAWIKI_API_URL"
                    | "MEDIAWIKI_BOT_USERNAME"
                    | "MEDIAWIKI_BOT_PASSWORD"
                    | "BRIDGE_SERVICE_TOKEN"
                    | "DISCORD_CLIENT_ID"
                    | "DISCORD_CLIENT_SECRET"
                    | "MAILCOW_OAUTH_CLIENT_ID"
                    | "MAILCOW_OAUTH_CLIENT_SECRET"
                    | "PORTAL_OAUTH_PROXY_PRODUCTION_URL"
                    | "BETTER_AUTH_SECRET_PREVIOUS" => "",
                    _ => "a-deployed-value-of-at-least-32-characters",
                }
                .to_string(),
            )
        };
        let loaded = portal_domain::Config::load(sample, needs);
        assert!(loaded.is_ok(), "{function}: {loaded:?}");
        let asked = asked.into_inner().unwrap();
        for name in &given {
            assert!(
                asked.contains(name) || runtime.contains(&name.as_str()),
                "{function} is given {name}, which nothing it runs reads"
            );
        }
    }
}

/// `*` of an IAM/execute-api ARN pattern: any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (head.len()..=text.len())
                    .any(|i| text.is_char_boundary(i) && glob(tail, &text[i..]))
        }
    }
}

/// Run by `./scripts/test` with `PORTAL_SAM_TRANSFORMED` naming the CloudFormation that
/// `scripts/sam-transform` made (aws-sam-translator, offline): the routes API Gateway will
/// hold are exactly the ones the other tests read off the template, each to its function,
/// and API Gateway may invoke each function for each of its routes.
#[test]
#[ignore = "needs the SAM transform of the template: ./scripts/test runs it"]
fn the_sam_transform_gives_api_gateway_exactly_these_routes() {
    let path = std::env::var("PORTAL_SAM_TRANSFORMED").expect("the transformed template");
    let cfn: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resources = cfn["Resources"].as_object().unwrap();
    let api = &resources["HttpApi"];
    assert_eq!(api["Type"], "AWS::ApiGatewayV2::Api");
    let mut transformed = Vec::new();
    for (path, methods) in api["Properties"]["Body"]["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                .as_str()
                .unwrap();
            let function = uri
                .split("${")
                .find_map(|part| part.strip_suffix("}/invocations"))
                .and_then(|f| f.strip_suffix(".Arn"))
                .unwrap()
                .to_string();
            let method = match method.as_str() {
                "x-amazon-apigateway-any-method" => None,
                m => Some(m.to_uppercase()),
            };
            let path = (path != "$default").then(|| path.clone());
            transformed.push((method, path, function));
        }
    }
    let mut read: Vec<_> = routes()
        .into_iter()
        .map(|r| (r.method, r.path, r.function))
        .collect();
    transformed.sort();
    read.sort();
    assert_eq!(transformed, read);

    // Each route's function may be invoked by API Gateway for that route.
    let permissions: Vec<(String, String)> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Permission")
        .map(|r| {
            let p = &r["Properties"];
            assert_eq!(p["Principal"], "apigateway.amazonaws.com");
            let arn = p["SourceArn"]["Fn::Sub"][0].as_str().unwrap();
            let after_stage = arn.split("${__Stage__}/").nth(1).unwrap().to_string();
            (
                p["FunctionName"]["Ref"].as_str().unwrap().to_string(),
                after_stage,
            )
        })
        .collect();
    for (method, path, function) in &transformed {
        let request = format!(
            "{}{}",
            method.as_deref().unwrap_or("GET"),
            path.as_deref().map_or("/api/nope".to_string(), concrete)
        );
        assert!(
            permissions
                .iter()
                .any(|(f, pattern)| f == function && glob(pattern, &request)),
            "{function} may not be invoked for {request}: {permissions:?}"
        );
    }
    // The optional custom domain maps onto the stage SAM makes.
    assert!(resources.contains_key("HttpApiApiGatewayDefaultStage"));
    assert_eq!(
        resources["ApiDomainMapping"]["DependsOn"],
        json!("HttpApiApiGatewayDefaultStage")
    );
    assert!(api["Properties"].get("Domain").is_none());
}

/// The Lambda Managed Instances variant (`scripts/template-managed-instances`, through SAM's
/// transform): the same stack, every function on the capacity provider, several invocations
/// per execution environment.
#[test]
#[ignore = "needs the SAM transform of both templates: ./scripts/test runs it"]
fn the_managed_instances_variant_is_the_same_stack_on_a_capacity_provider() {
    let read = |var: &str| -> Value {
        let path = std::env::var(var).expect(var);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (base, managed) = (
        read("PORTAL_SAM_TRANSFORMED"),
        read("PORTAL_SAM_TRANSFORMED_LMI"),
    );
    let names = |cfn: &Value| -> Vec<String> {
        cfn["Resources"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(names(&base), names(&managed), "the same resources");
    assert_eq!(
        base["Resources"]["HttpApi"], managed["Resources"]["HttpApi"],
        "the same routes"
    );
    let functions: Vec<_> = managed["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .collect();
    assert_eq!(functions.len(), 5);
    for (name, function) in functions {
        assert_eq!(
            function["Properties"]["CapacityProviderConfig"],
            json!({"LambdaManagedInstancesCapacityProviderConfig": {
                "CapacityProviderArn": {"Ref": "CapacityProviderArn"},
                "PerExecutionEnvironmentMaxConcurrency": {"Ref": "MaxConcurrencyPerEnvironment"},
            }}),
            "{name}"
        );
        assert!(
            base["Resources"][name]["Properties"]
                .get("CapacityProviderConfig")
                .is_none(),
            "{name}: the default stack runs one invocation per environment"
        );
    }
}

/// The operations side of the stack: JSON access logs, the tunnel's reserved concurrency,
/// and alarms, the failed-sign-in one on the metric the functions really write.
#[test]
fn access_logs_reserved_concurrency_and_alarms_are_declared() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let template: Yaml =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).expect("YAML");
    let r = &template["Resources"];
    let format = r["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .expect("access log format");
    let fields: Value = serde_json::from_str(format).expect("access logs are JSON");
    for field in ["requestId", "routeKey", "status", "latencyMs", "sourceIp"] {
        assert!(fields.get(field).is_some(), "access logs lack {field}");
    }
    // A raw path can carry a secret (a reset link's token): access logs keep the route key.
    assert!(
        !format.contains("$context.path"),
        "access logs name raw paths"
    );
    assert!(
        format!(
            "{:?}",
            r["MonitoringFunction"]["Properties"]["ReservedConcurrentExecutions"]
        )
        .contains("TunnelReservedConcurrency")
    );
    let alarms: Vec<&str> = r
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    for alarm in [
        "ApiServerErrorRateAlarm",
        "FunctionErrorsAlarm",
        "FunctionThrottlesAlarm",
        "TableThrottlesAlarm",
        "TableSystemErrorsAlarm",
        "FailedSignInSpikeAlarm",
    ] {
        assert!(alarms.contains(&alarm), "{alarm} missing: {alarms:?}");
        let actions = format!("{:?}", r[alarm]["Properties"]["AlarmActions"]);
        assert!(actions.contains("AlarmTopicArn"), "{alarm} notifies nobody");
    }
    let spike = &r["FailedSignInSpikeAlarm"]["Properties"];
    assert_eq!(
        spike["Namespace"].as_str(),
        Some(portal_web::metrics::NAMESPACE)
    );
    assert_eq!(
        spike["MetricName"].as_str(),
        Some(portal_web::metrics::FAILED_SIGN_INS)
    );
    // Every function's errors and throttles are in the sums.
    for alarm in ["FunctionErrorsAlarm", "FunctionThrottlesAlarm"] {
        let text = format!("{:?}", r[alarm]["Properties"]["Metrics"]);
        for f in [
            "AuthFunction",
            "UserFunction",
            "AdminFunction",
            "IntegrationsFunction",
            "MonitoringFunction",
        ] {
            assert!(text.contains(f), "{alarm} misses {f}");
        }
    }
}
