//! `revoke token` against wiremock: each route of the routing table on the wire (a CloudBase
//! JWT to the `[cloudbase.*]` context whose `env-id` it names, an issuer equal to an
//! `[oauth.*]` issuer or a `[ciam.*]` domain, an opaque token to `--default`), the issuers no
//! context names receiving nothing (with `--discover` too, when http or loopback), scanner
//! reports as input, `--dry-run`, the secrets never printed, and the exit codes.

use serde_json::{Value, json};
use wiremock::matchers as m;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const FORM: &str = "application/x-www-form-urlencoded";
const RFC8414: &str = "/.well-known/oauth-authorization-server";
/// The documented CloudBase token's environment (seed 002).
const CB_ENV: &str = "lowcode-5g9ac20u2a27da46";
const OAUTH_CTX_SECRET: &str = "tokenCtxClientSecret01";

/// The seed's example access token (a JWT whose `iss` is its environment's gateway).
fn cloudbase_token() -> String {
    fixture("cloudbase/example_access_token.txt")
        .trim()
        .to_string()
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap()
}

#[track_caller]
fn only_record(run: &Run) -> Value {
    let records = run.step_records();
    assert_eq!(records.len(), 1, "one record: {}", run.stdout());
    records[0].clone()
}

/// The config of an `[oauth.corp]` context at `issuer`, with an inline secret.
fn oauth_ctx(issuer: &str) -> String {
    format!(
        "[oauth.corp]\nissuer = \"{issuer}\"\nclient-id = \"ctx-app\"\nclient-secret = \"{OAUTH_CTX_SECRET}\"\n"
    )
}

/// An RFC 8414 document at `server` (its issuer) with revocation and introspection endpoints.
async fn oauth_metadata(server: &MockServer) {
    let issuer = server.uri();
    Mock::given(m::method("GET"))
        .and(m::path(RFC8414))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer,
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "revocation_endpoint_auth_methods_supported": ["client_secret_post"],
        })))
        .mount(server)
        .await;
}

/// Introspection at `server`: `active: true` once, then `active: false`.
async fn alive_then_dead(server: &MockServer, path: &str) {
    Mock::given(m::method("POST"))
        .and(m::path(path.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": true})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path(path.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false})))
        .mount(server)
        .await;
}

/// The documented token goes to `[cloudbase.prod]` (its env-id), not to `[cloudbase.other]`:
/// the documented request exactly, with the context's client id; `--verify` (on by default)
/// sees it alive before and dead after.
#[tokio::test]
async fn a_cloudbase_jwt_goes_to_the_context_of_its_environment() {
    let token = cloudbase_token();
    let (prod, other) = (MockServer::start().await, MockServer::start().await);
    Mock::given(m::method("POST"))
        .and(m::path("/auth/v1/revoke"))
        .and(m::query_param("client_id", "app-1"))
        .and(m::header(
            "authorization",
            format!("Bearer {token}").as_str(),
        ))
        .and(m::header("content-type", "application/json"))
        .and(m::body_json(json!({ "token": token })))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .expect(1)
        .mount(&prod)
        .await;
    let introspect = || {
        Mock::given(m::method("GET"))
            .and(m::path("/auth/v1/token/introspect"))
            .and(m::header(
                "authorization",
                format!("Bearer {token}").as_str(),
            ))
    };
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sub": "u1"})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&prod)
        .await;
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&prod)
        .await;
    let config = format!(
        "[cloudbase.other]\nenv-id = \"other-env-1\"\nendpoint = \"{}\"\n\n[cloudbase.prod]\nenv-id = \"{CB_ENV}\"\nendpoint = \"{}\"\nclient-id = \"app-1\"\n",
        other.uri(),
        prod.uri()
    );
    let run = token_input(token_run(&config), "leaked.txt", &[&token])
        .run()
        .await;
    run.assert_code(0);
    let reqs = requests(&prod).await;
    let revocations: Vec<_> = reqs
        .iter()
        .filter(|r| r.url.path() == "/auth/v1/revoke")
        .collect();
    assert_eq!(revocations.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&revocations[0].body),
        format!("{{\"token\":\"{token}\"}}")
    );
    assert!(requests(&other).await.is_empty(), "the other context");
    let r = only_record(&run);
    assert_eq!(r["provider"], "cloudbase");
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["verify_attempts"], 2);
    assert_eq!(r["name"], "cloudbase.prod");
    assert_eq!(
        r["route"],
        json!({
            "provider": "cloudbase",
            "context": "prod",
            "issuer": format!("http://{CB_ENV}.ap-shanghai.tcb-api.tencentcloudapi.com"),
            "matched_by": "cloudbase_issuer",
        })
    );
    assert_eq!(r["expires_at"], "2024-12-20T06:24:49Z");
    assert!(
        r["source"].as_str().unwrap().ends_with("leaked.txt:1"),
        "{r}"
    );
    assert!(
        r.get("finding").is_none(),
        "no finding without --findings: {r}"
    );
    run.assert_no_secret(&[&token]);

    // --no-verify: the revocation only.
    let prod = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/auth/v1/revoke"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .expect(1)
        .mount(&prod)
        .await;
    let config = format!(
        "[cloudbase.prod]\nenv-id = \"{CB_ENV}\"\nendpoint = \"{}\"\n",
        prod.uri()
    );
    let run = token_input(token_run(&config), "leaked.txt", &[&token])
        .args(["--no-verify"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(requests(&prod).await.len(), 1, "no introspection");
    let r = only_record(&run);
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["verified"], Value::Null);
    assert_eq!(r["verify_attempts"], 0);
}

/// A JWT whose `iss` is a live server no context names: that server gets nothing, not even
/// with `--discover` (http; https but loopback). The record says why, with the issuer.
#[tokio::test]
async fn an_issuer_no_context_names_receives_nothing() {
    let stranger = MockServer::start().await;
    let named = MockServer::start().await;
    let port = stranger.address().port();
    let config = oauth_ctx(&named.uri());
    for (iss, discover) in [
        (stranger.uri(), false),
        (stranger.uri(), true),
        (format!("https://127.0.0.1:{port}"), true),
        (format!("https://localhost:{port}"), true),
    ] {
        // A client the token names, so that --discover would have one to revoke it as.
        let token = jwt_with(
            &json!({"iss": iss, "client_id": "spa", "azp": "spa", "exp": 4_102_444_800u64}),
            "c2ln",
        );
        let mut cmd = token_input(token_run(&config), "leaked.txt", &[&token]);
        if discover {
            cmd = cmd.args(["--discover"]);
        }
        let run = cmd.run().await;
        run.assert_code(1);
        let r = only_record(&run);
        assert_eq!(r["status"], "failed", "{iss} {discover}: {r}");
        assert_eq!(r["error"]["code"], "UnknownIssuer", "{r}");
        assert_eq!(r["attempts"], 0);
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(&iss), "the issuer in {message:?}");
        assert_eq!(r["route"]["issuer"], iss.as_str());
        assert_eq!(r["route"]["provider"], Value::Null);
        assert_eq!(r["name"], "unrouted");
        assert_eq!(run.summary()["exit_code"], 1);
        assert!(
            requests(&stranger).await.is_empty(),
            "{iss} (--discover {discover}) was sent a request"
        );
        assert!(requests(&named).await.is_empty());
        run.assert_no_secret(&[&token]);
    }
    // The same token from a public https issuer is one --discover reaches (seen in a dry run).
    let token = jwt_with(
        &json!({"iss": "https://auth.example.com", "client_id": "spa", "exp": 4_102_444_800u64}),
        "c2ln",
    );
    let run = token_input(token_run(&config), "leaked.txt", &[&token])
        .args(["--discover", "--dry-run"])
        .run()
        .await;
    run.assert_code(0);
    let r = only_record(&run);
    assert_eq!(r["status"], "planned", "{r}");
    assert_eq!(r["route"]["matched_by"], "discover");
}

/// A JWT whose `iss` is an `[oauth.NAME]` issuer goes there: discovery, RFC 7009 with the
/// context's client, verified by introspection.
#[tokio::test]
async fn an_oauth_issuer_routes_to_its_context() {
    let server = MockServer::start().await;
    oauth_metadata(&server).await;
    let token = jwt(&server.uri());
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .and(m::header("content-type", FORM))
        .and(m::body_string(format!(
            "client_id=ctx-app&client_secret={OAUTH_CTX_SECRET}&token={token}"
        )))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    alive_then_dead(&server, "/oauth2/introspect").await;
    // Another context, for the route to choose among.
    let config = format!(
        "[oauth.elsewhere]\nissuer = \"https://auth.example.com\"\nclient-id = \"x\"\n\n{}",
        oauth_ctx(&server.uri())
    );
    let run = token_input(token_run(&config), "leaked.txt", &[&token])
        .run()
        .await;
    run.assert_code(0);
    let r = only_record(&run);
    assert_eq!(r["provider"], "oauth");
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(
        r["route"],
        json!({"provider": "oauth", "context": "corp", "issuer": server.uri(), "matched_by": "oauth_issuer"})
    );
    assert_eq!(r["expires_at"], "2100-01-01T00:00:00Z");
    run.assert_no_secret(&[&token, OAUTH_CTX_SECRET]);
}

/// A JWT whose `iss` is `https://DOMAIN` of a `[ciam.NAME]` context goes to it (a trailing
/// slash and the host's case aside); `http://DOMAIN` does not. A ciam context takes `domain` or
/// `endpoint`, not both, and `revoke token` refuses `--endpoint`, so a routed ciam token goes to
/// `https://DOMAIN` only: the routing is seen in a dry run (the planned request's URL).
#[tokio::test]
async fn a_ciam_domain_routes_to_its_context() {
    let config = "[ciam.other]\ndomain = \"other.example.com\"\nclient-id = \"nobody\"\n\n[ciam.prod]\ndomain = \"tenant.ciam.example.com\"\nclient-id = \"TENANT_CLIENT_ID\"\n";
    let issuers = [
        "https://tenant.ciam.example.com",
        "https://Tenant.CIAM.example.com/",
        "http://tenant.ciam.example.com",
        "https://tenant.ciam.example.com:8443",
        "https://tenant.ciam.example.com/tenant",
    ];
    let tokens: Vec<String> = issuers.iter().map(|i| jwt(i)).collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let run = token_input(token_run(config), "leaked.txt", &refs)
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args(["--dry-run", "--no-verify"])
        .run()
        .await;
    run.assert_code(1);
    let records = run.step_records();
    assert_eq!(records.len(), issuers.len(), "{}", run.stdout());
    for r in &records {
        let line: usize = r["source"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let issuer = issuers[line - 1];
        if line <= 2 {
            assert_eq!(r["status"], "planned", "{issuer}: {r}");
            assert_eq!(r["provider"], "ciam");
            assert_eq!(
                r["route"],
                json!({"provider": "ciam", "context": "prod", "issuer": issuer, "matched_by": "ciam_domain"}),
                "each record its own route"
            );
            assert_eq!(
                r["data"]["url"],
                "https://tenant.ciam.example.com/oauth2/revoke"
            );
            assert_eq!(
                r["data"]["body"],
                "client_id=TENANT_CLIENT_ID&client_secret=***&token=***"
            );
        } else {
            assert_eq!(r["status"], "failed", "{issuer}: {r}");
            assert_eq!(r["error"]["code"], "UnknownIssuer", "{issuer}: {r}");
        }
    }

    // --endpoint would send every routed token elsewhere: refused, nothing sent.
    let server = MockServer::start().await;
    let run = token_input(token_run(config), "leaked.txt", &refs[..1])
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args(["--endpoint", &server.uri()])
        .run()
        .await;
    run.assert_usage("--endpoint");
    assert!(requests(&server).await.is_empty());
}

/// Tokens routed differently to one context (a JWT by its issuer, an opaque token by
/// `--default`) run in one step, and each record carries its own route.
#[tokio::test]
async fn each_record_has_its_own_route_within_a_destination() {
    let server = MockServer::start().await;
    oauth_metadata(&server).await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&server)
        .await;
    let config = oauth_ctx(&server.uri());
    let with_slash = format!("{}/", server.uri());
    let tokens = [
        jwt(&server.uri()),
        "opaqueSameContext0001".to_string(),
        jwt(&with_slash),
    ];
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let run = token_input(token_run(&config), "leaked.txt", &refs)
        .args(["--no-verify", "--default", "oauth.corp"])
        .run()
        .await;
    run.assert_code(0);
    let records = run.step_records();
    assert_eq!(records.len(), 3, "{}", run.stdout());
    assert!(records.iter().all(|r| r["step"] == 0), "one step");
    for r in &records {
        let want = match r["source"].as_str().unwrap().rsplit(':').next().unwrap() {
            "1" => {
                json!({"provider": "oauth", "context": "corp", "issuer": server.uri(), "matched_by": "oauth_issuer"})
            }
            "2" => {
                json!({"provider": "oauth", "context": "corp", "issuer": null, "matched_by": "default"})
            }
            _ => {
                json!({"provider": "oauth", "context": "corp", "issuer": with_slash, "matched_by": "oauth_issuer"})
            }
        };
        assert_eq!(r["route"], want, "{r}");
        assert_eq!(r["status"], "revoked");
    }
    let opaque = records
        .iter()
        .find(|r| r["route"]["matched_by"] == "default")
        .unwrap();
    assert_eq!(
        opaque["expires_at"],
        Value::Null,
        "an opaque token says no expiry"
    );
}

/// A server that echoes another target's token in its error (here the token revoked just
/// before, no longer in flight) does not get it printed: every token of the run is known to the
/// process-wide scrubber, not only to its own request's.
#[tokio::test]
async fn a_token_echoed_in_another_targets_answer_is_masked() {
    const FIRST: &str = "opaqueLeakedTokenFirst01";
    const SECOND: &str = "opaqueLeakedTokenSecond02";
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .and(m::body_string_contains(format!("token={FIRST}")))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .and(m::body_string_contains(format!("token={SECOND}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_request",
            "error_description": format!("token {FIRST} was revoked already"),
        })))
        .mount(&server)
        .await;
    let config = format!(
        "[ciam.prod]\nendpoint = \"{}\"\nclient-id = \"{CIAM_CLIENT_ID}\"\n",
        server.uri()
    );
    let run = token_input(token_run(&config), "leaked.txt", &[FIRST, SECOND])
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args(["--no-verify", "--concurrency", "1", "-vvv"])
        .args(["--default", "ciam.prod"])
        .run()
        .await;
    run.assert_code(1);
    let records = run.step_records();
    assert_eq!(records.len(), 2, "{}", run.stdout());
    let failed = records
        .iter()
        .find(|r| r["status"] == "failed")
        .unwrap_or_else(|| panic!("{}", run.stdout()));
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("*** was revoked already"), "{failed}");
    for out in [run.stdout(), run.stderr()] {
        assert!(!out.contains(FIRST), "{out}");
        assert!(!out.contains(SECOND), "{out}");
    }
}

/// An opaque token: sent nowhere without `--default` ("not a JWT"); with `--default ciam.prod`
/// revoked there (`matched_by: default`); a `--default` naming no command or no context is a
/// usage error, nothing sent.
#[tokio::test]
async fn an_opaque_token_goes_only_to_the_default() {
    const OPAQUE: &str = "opaqueLeakedToken0001";
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .and(m::body_string(format!(
            "client_id={CIAM_CLIENT_ID}&client_secret={CIAM_SECRET}&token={OPAQUE}"
        )))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let config = format!(
        "[ciam.prod]\nendpoint = \"{}\"\nclient-id = \"{CIAM_CLIENT_ID}\"\n",
        server.uri()
    );
    let cmd = || {
        token_input(token_run(&config), "leaked.txt", &[OPAQUE])
            .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
            .args(["--no-verify"])
    };

    let run = cmd().run().await;
    run.assert_code(1);
    let r = only_record(&run);
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], "UnknownIssuer");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a JWT"),
        "{r}"
    );
    assert!(requests(&server).await.is_empty());

    for bad in ["nope.x", "ciam.missing", "ciam", "smh.default"] {
        let run = cmd().args(["--default", bad]).run().await;
        run.assert_usage("--default");
        assert!(requests(&server).await.is_empty(), "--default {bad}");
    }

    let run = cmd().args(["--default", "ciam.prod"]).run().await;
    run.assert_code(0);
    let r = only_record(&run);
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["provider"], "ciam");
    assert_eq!(
        r["route"],
        json!({"provider": "ciam", "context": "prod", "issuer": null, "matched_by": "default"})
    );
    assert_eq!(requests(&server).await.len(), 1);
    run.assert_no_secret(&[OPAQUE, CIAM_SECRET]);
}

/// A gitleaks report and trufflehog's lines (the fixtures, their secrets replaced by tokens
/// of a context): each record names its finding; a `--redact`ed report gives one `NoSecret`
/// per finding and sends nothing.
/// Every token is read before the first is sent: their bytes are bounded, not only their
/// count (1,200 lines of 61 KB each, 73 MB in all, is refused whole, exit 2).
#[tokio::test]
async fn the_tokens_of_a_run_are_bounded_in_bytes() {
    let r = token_run("");
    let path = r.home().join("big.txt");
    let line = "t".repeat(61_000);
    let mut text = String::with_capacity(1_200 * 61_010);
    for i in 0..1_200 {
        text.push_str(&format!("{line}{i}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let run = r.args(["--dry-run", "--input"]).args([&path]).run().await;
    run.assert_code(2);
    assert!(run.stdout().is_empty());
    assert!(run.stderr().contains("64 MiB"), "{}", run.stderr());
}

/// `--findings-format` forces the report's format (CLI.md): a trufflehog report read as a
/// gitleaks one is refused whole, nothing sent; read as trufflehog, its finding is revoked.
/// Without `--findings` the flag is a usage error.
#[tokio::test]
async fn findings_format_forces_the_reading() {
    let server = MockServer::start().await;
    oauth_metadata(&server).await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let config = oauth_ctx(&server.uri());
    let leaked = jwt_with(&json!({"iss": server.uri()}), "Zm9ybWF0");
    let mut line: Value =
        serde_json::from_str(fixture("findings/trufflehog_readme_git.jsonl").trim()).unwrap();
    line["Raw"] = json!(leaked);
    line["Redacted"] = json!("");

    let r = token_run(&config).args(["--no-verify"]);
    let report = r.home().join("found.jsonl");
    std::fs::write(&report, format!("{line}\n")).unwrap();
    let run = r
        .args(["--findings-format", "gitleaks", "--findings"])
        .args([&report])
        .run()
        .await;
    run.assert_code(2);
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    assert!(requests(&server).await.is_empty(), "nothing sent");

    let r = token_run(&config).args(["--no-verify"]);
    let report = r.home().join("found.jsonl");
    std::fs::write(&report, format!("{line}\n")).unwrap();
    let run = r
        .args(["--findings-format", "trufflehog", "--findings"])
        .args([&report])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(only_record(&run)["status"], "revoked");
    run.assert_no_secret(&[&leaked]);

    let run = token_run(&config)
        .args(["--findings-format", "trufflehog", "tok-without-report-01"])
        .run()
        .await;
    run.assert_code(2);
}

#[tokio::test]
async fn scanner_reports_name_each_finding() {
    let server = MockServer::start().await;
    oauth_metadata(&server).await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let config = oauth_ctx(&server.uri());
    let leaked = [
        jwt_with(&json!({"iss": server.uri()}), "Z2l0bGVha3M"),
        jwt_with(&json!({"iss": server.uri()}), "dHJ1ZmZsZWhvZw"),
    ];

    // gitleaks: the fixture's one finding, then a second at another place.
    let mut report: Value =
        serde_json::from_str(&fixture("findings/gitleaks_json_simple.json")).unwrap();
    report[0]["Secret"] = json!(leaked[0]);
    let mut second = report[0].clone();
    second["File"] = json!("config/app.env");
    second["StartLine"] = json!(7);
    second["Secret"] = json!("opaque-but-unrouted-01");
    report.as_array_mut().unwrap().push(second);
    // trufflehog: the git fixture's finding.
    let mut line: Value =
        serde_json::from_str(fixture("findings/trufflehog_readme_git.jsonl").trim()).unwrap();
    line["Raw"] = json!(leaked[1]);
    line["Redacted"] = json!("");

    let r = token_run(&config).args(["--no-verify"]);
    let gitleaks = r.home().join("leaks.json");
    std::fs::write(&gitleaks, report.to_string()).unwrap();
    let run = r.args(["--findings"]).args([&gitleaks]).run().await;
    run.assert_code(1);
    let records = run.step_records();
    assert_eq!(records.len(), 2, "{}", run.stdout());
    let revoked = records.iter().find(|r| r["status"] == "revoked").unwrap();
    assert_eq!(
        revoked["finding"],
        json!({"file": "auth.py", "line": 1, "commit": "0000000000000000", "rule": "test-rule"})
    );
    assert_eq!(revoked["route"]["context"], "corp");
    assert!(
        revoked["source"]
            .as_str()
            .unwrap()
            .ends_with("leaks.json:finding 1"),
        "{revoked}"
    );
    let unrouted = records.iter().find(|r| r["status"] == "failed").unwrap();
    assert_eq!(unrouted["error"]["code"], "UnknownIssuer");
    assert_eq!(unrouted["finding"]["file"], "config/app.env");
    assert_eq!(unrouted["finding"]["line"], 7);

    let r = token_run(&config).args(["--no-verify"]);
    let trufflehog = r.home().join("found.jsonl");
    std::fs::write(&trufflehog, format!("{line}\n")).unwrap();
    let run = r.args(["--findings"]).args([&trufflehog]).run().await;
    run.assert_code(0);
    let r = only_record(&run);
    assert_eq!(r["status"], "revoked");
    assert_eq!(
        r["finding"],
        json!({"file": "keys", "line": 4, "commit": "fbc14303ffbf8fb1c2c1914e8dda7d0121633aca", "rule": "AWS"})
    );
    run.assert_no_secret(&[&leaked[0], &leaked[1]]);
    let posts = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 2, "one revocation per report");

    // A redacted report: nothing to revoke, each finding says so.
    let mut redacted: Value =
        serde_json::from_str(&fixture("findings/gitleaks_json_simple_redacted.json")).unwrap();
    let mut second = redacted[0].clone();
    second["StartLine"] = json!(9);
    redacted.as_array_mut().unwrap().push(second);
    let r = token_run(&config);
    let path = r.home().join("redacted.json");
    std::fs::write(&path, redacted.to_string()).unwrap();
    let before = requests(&server).await.len();
    let run = r.args(["--findings"]).args([&path]).run().await;
    run.assert_code(1);
    let records = run.step_records();
    assert_eq!(records.len(), 2, "{}", run.stdout());
    for (r, line) in records.iter().zip([1, 9]) {
        assert_eq!(r["status"], "failed");
        assert_eq!(r["error"]["code"], "NoSecret", "{r}");
        assert_eq!(r["finding"]["file"], "auth.py");
        assert_eq!(r["finding"]["line"], line);
    }
    assert_eq!(requests(&server).await.len(), before, "nothing sent");
}

/// `--dry-run`: each token's route on stderr, planned records with the route, and no request
/// anywhere (not even discovery).
#[tokio::test]
async fn a_dry_run_shows_each_route_and_sends_nothing() {
    let (cb, oauth, ciam, stranger) = (
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    );
    let config = format!(
        "[cloudbase.prod]\nenv-id = \"{CB_ENV}\"\nendpoint = \"{}\"\n\n{}\n[ciam.prod]\nendpoint = \"{}\"\nclient-id = \"{CIAM_CLIENT_ID}\"\n",
        cb.uri(),
        oauth_ctx(&oauth.uri()),
        ciam.uri()
    );
    let tokens = [
        cloudbase_token(),
        jwt(&oauth.uri()),
        "opaqueDryRunToken01".to_string(),
        jwt(&stranger.uri()),
    ];
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let run = token_input(token_run(&config), "leaked.txt", &refs)
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args(["--dry-run", "--discover", "--default", "ciam.prod"])
        .run()
        .await;
    run.assert_code(1);
    let err = run.stderr();
    for needle in [
        "leaked.txt:1): cloudbase.prod, issuer http://lowcode-5g9ac20u2a27da46.ap-shanghai.tcb-api.tencentcloudapi.com, matched by cloudbase_issuer",
        &format!(
            "leaked.txt:2): oauth.corp, issuer {}, matched by oauth_issuer",
            oauth.uri()
        ),
        "leaked.txt:3): ciam.prod, matched by default",
        &stranger.uri(),
        "sent nowhere",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    let records = run.step_records();
    assert_eq!(records.len(), 4, "{}", run.stdout());
    let planned: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "planned")
        .collect();
    assert_eq!(planned.len(), 3);
    let mut providers: Vec<&str> = planned
        .iter()
        .map(|r| r["route"]["provider"].as_str().unwrap())
        .collect();
    providers.sort();
    assert_eq!(providers, ["ciam", "cloudbase", "oauth"]);
    for server in [&cb, &oauth, &ciam, &stranger] {
        assert!(requests(server).await.is_empty(), "{}", server.uri());
    }
    run.assert_no_secret(&[&tokens[0], &tokens[1], &tokens[2], &tokens[3]]);
}

/// A token and a client secret (sentinels) appear nowhere: at -vvv against a server that
/// answers, and in a dry run.
#[tokio::test]
async fn no_token_or_client_secret_is_printed() {
    let server = MockServer::start().await;
    oauth_metadata(&server).await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    alive_then_dead(&server, "/oauth2/introspect").await;
    const SIG: &str = "sentinelJwtSignature0031";
    const OPAQUE: &str = "sentinelOpaqueToken0031";
    let token = jwt_with(&json!({"iss": server.uri(), "jti": "j1"}), SIG);
    let config = oauth_ctx(&server.uri());
    for extra in [
        &["-vvv"][..],
        &["--dry-run", "-vvv"][..],
        &["--dry-run"][..],
    ] {
        let run = token_input(token_run(&config), "leaked.txt", &[&token, OPAQUE])
            .args(["--default", "oauth.corp"])
            .args(extra)
            .run()
            .await;
        run.assert_code(0);
        assert_eq!(run.step_records().len(), 2);
        run.assert_no_secret(&[&token, SIG, OPAQUE, OAUTH_CTX_SECRET]);
    }
    // The token given as an argument too.
    let run = token_run(&config)
        .args(["-vvv", "--dry-run", &token])
        .run()
        .await;
    run.assert_code(0);
    run.assert_no_secret(&[&token, SIG, OAUTH_CTX_SECRET]);
}

/// 0: all revoked; 1: one unrouted among revoked ones; 2: a usage error (nothing sent);
/// 3: credentials rejected at a ciam or an oauth context.
#[tokio::test]
async fn exit_codes() {
    let server = MockServer::start().await;
    oauth_metadata(&server).await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let config = oauth_ctx(&server.uri());
    let good = jwt(&server.uri());
    let run = token_input(token_run(&config), "t.txt", &[&good])
        .args(["--no-verify"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.summary()["exit_code"], 0);

    let run = token_input(token_run(&config), "t.txt", &[&good, "opaque-x-0001"])
        .args(["--no-verify"])
        .run()
        .await;
    run.assert_code(1);
    assert_eq!(run.summary()["summary"]["revoked"], 1);
    assert_eq!(run.summary()["summary"]["failed"], 1);

    let before = requests(&server).await.len();
    token_run(&config).run().await.assert_usage("TOKEN");
    token_run(&config)
        .args(["--findings", "/nonexistent/leaks.json"])
        .run()
        .await
        .assert_code(2);
    token_input(token_run(&config), "t.txt", &[&good])
        .args(["--default", "oauth"])
        .run()
        .await
        .assert_usage("--default");
    assert_eq!(
        requests(&server).await.len(),
        before,
        "usage errors send nothing"
    );

    // 401 invalid_client at an oauth context and at a ciam context: exit 3.
    let refusing = MockServer::start().await;
    oauth_metadata(&refusing).await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&refusing)
        .await;
    let a = jwt_with(&json!({"iss": refusing.uri()}), "YQ");
    let b = jwt_with(&json!({"iss": refusing.uri()}), "Yg");
    let run = token_input(token_run(&oauth_ctx(&refusing.uri())), "t.txt", &[&a, &b])
        .args(["--no-verify"])
        .run()
        .await;
    run.assert_code(3);
    let statuses: Vec<Value> = run
        .step_records()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert!(statuses.contains(&json!("failed")), "{statuses:?}");

    let config = format!(
        "[ciam.prod]\nendpoint = \"{}\"\nclient-id = \"{CIAM_CLIENT_ID}\"\n",
        refusing.uri()
    );
    let run = token_input(token_run(&config), "t.txt", &["opaque-y-0001"])
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args(["--no-verify", "--default", "ciam.prod"])
        .run()
        .await;
    run.assert_code(3);
    assert_eq!(run.summary()["exit_code"], 3);
}

/// A token of the property test: any text, any bytes, or a JWT whose `iss` is one of the
/// issuers that matter (the named context's, with variations; the unnamed server, over http and
/// https; a CloudBase gateway of any environment; any text) with any other claims.
fn any_token(
    named: String,
    stranger: String,
) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let port = stranger.rsplit(':').next().unwrap_or("1").to_string();
    let issuer = prop_oneof![
        Just(named.clone()),
        Just(format!("{named}/")),
        Just(named.replace("http://", "https://")),
        Just(stranger.clone()),
        Just(format!("https://127.0.0.1:{port}")),
        Just("https://auth.example.com".to_string()),
        "[a-z0-9.-]{0,30}".prop_map(|env| format!("https://{env}.tcb-api.tencentcloudapi.com")),
        "\\PC{0,40}"
            .prop_map(|env| format!("http://{env}.ap-guangzhou.tcb-api.tencentcloudapi.com")),
        "\\PC{0,60}",
    ];
    let claim = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
    ];
    let jwt =
        (issuer, claim.clone(), claim, "[A-Za-z0-9_-]{0,20}").prop_map(|(iss, exp, aud, sig)| {
            jwt_with(&json!({"iss": iss, "exp": exp, "aud": aud}), &sig).into_bytes()
        });
    prop_oneof![
        jwt,
        "[^\n\r]{0,80}".prop_map(String::into_bytes),
        "[A-Za-z0-9._~+/=-]{1,60}".prop_map(String::into_bytes),
        proptest::collection::vec(
            any::<u8>().prop_filter("not a line end", |b| *b != b'\n'),
            0..60
        ),
    ]
}

/// Any tokens (several a case, through `--input FILE` or `--input -`), `--dry-run -o json`,
/// one `[oauth.corp]` context: the binary never panics; from stdin every token line has exactly
/// one record (by its source line), an unusable one included; from a file, a line that is no
/// token (not UTF-8, whitespace or a control character inside) refuses the run (exit 2, nothing
/// on stdout), as `--input` does for every command, else one record a line; no request reaches
/// the server no context names (nor the named one: a dry run).
#[test]
fn any_tokens_get_one_record_each_and_nothing_is_sent() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (named, stranger) =
        rt.block_on(async { (MockServer::start().await, MockServer::start().await) });
    let config = oauth_ctx(&named.uri());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let case = (
        proptest::collection::vec(any_token(named.uri(), stranger.uri()), 1..8),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    runner
        .run(&case, |(tokens, default, discover, stdin)| {
            let mut text = Vec::new();
            for t in &tokens {
                text.extend_from_slice(t);
                text.push(b'\n');
            }
            let r = token_run(&config).args(["--dry-run"]);
            let file = r.home().join("leaked.txt");
            std::fs::write(&file, &text).unwrap();
            let mut r = if stdin {
                r.args(["--input", "-"])
            } else {
                r.args([std::ffi::OsStr::new("--input"), file.as_os_str()])
            };
            if default {
                r = r.args(["--default", "oauth.corp"]);
            }
            if discover {
                r = r.args(["--discover"]);
            }
            let (mut cmd, _home) = r.into_parts();
            if stdin {
                cmd.stdin(std::fs::File::open(&file).unwrap());
            }
            let out = cmd.output().unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            let code = out.status.code();
            prop_assert!(!stderr.contains("panicked"), "panic: {}", stderr);
            // Each line that is a target (not blank, not a comment), and whether it is a token.
            let mut kept: Vec<usize> = Vec::new();
            let mut unusable = false;
            for (i, t) in tokens.iter().enumerate() {
                match std::str::from_utf8(t).map(str::trim) {
                    Ok(line) if line.is_empty() || line.starts_with('#') => {}
                    Ok(line) => {
                        kept.push(i + 1);
                        unusable |= line.chars().any(|c| c.is_whitespace() || c.is_control());
                    }
                    Err(_) => {
                        kept.push(i + 1);
                        unusable = true;
                    }
                }
            }
            if kept.is_empty() || (unusable && !stdin) {
                prop_assert_eq!(code, Some(2), "{}", stderr);
                prop_assert!(stdout.is_empty(), "{}", stdout);
                return Ok(());
            }
            prop_assert!(
                code == Some(0) || code == Some(1),
                "exit {:?}: {}",
                code,
                stderr
            );
            let mut lines: Vec<usize> = stdout
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|v| v.get("summary").is_none())
                .map(|r| {
                    let source = r["source"].as_str().unwrap_or_default().to_string();
                    source.rsplit(':').next().unwrap().parse::<usize>().unwrap()
                })
                .collect();
            lines.sort();
            prop_assert_eq!(
                &lines,
                &kept,
                "one record per token line:\n{}\n{}",
                stdout,
                stderr
            );
            Ok(())
        })
        .unwrap();
    rt.block_on(async {
        assert!(stranger.received_requests().await.unwrap().is_empty());
        assert!(named.received_requests().await.unwrap().is_empty());
    });
}

/// A CloudBase JWT whose environment no context names goes to the documented gateway of that
/// environment (overseas regions to `.api.intl.`), never to another `[cloudbase.*]` context's
/// endpoint nor to the issuer's host (seen in a dry run: the gateways are not reachable here).
#[tokio::test]
async fn a_cloudbase_jwt_of_no_context_goes_to_its_environments_gateway() {
    let other = MockServer::start().await;
    let config = format!(
        "[cloudbase.other]\nenv-id = \"other-env-1\"\nendpoint = \"{}\"\n",
        other.uri()
    );
    let china = jwt("https://env-a1.ap-guangzhou.tcb-api.tencentcloudapi.com");
    let overseas = jwt("https://env-b2.ap-singapore.tcb-api.tencentcloudapi.com");
    let run = token_input(token_run(&config), "leaked.txt", &[&china, &overseas])
        .args(["--dry-run"])
        .run()
        .await;
    run.assert_code(0);
    let records = run.step_records();
    assert_eq!(records.len(), 2, "{}", run.stdout());
    for r in &records {
        let (env, url) = match r["source"].as_str().unwrap().rsplit(':').next().unwrap() {
            "1" => (
                "env-a1",
                "https://env-a1.api.tcloudbasegateway.com/auth/v1/revoke",
            ),
            _ => (
                "env-b2",
                "https://env-b2.api.intl.tcloudbasegateway.com/auth/v1/revoke",
            ),
        };
        assert_eq!(r["status"], "planned");
        assert_eq!(r["name"], format!("cloudbase env {env}"));
        assert_eq!(r["data"]["url"], url, "{r}");
        assert_eq!(r["route"]["context"], Value::Null);
        assert_eq!(r["route"]["matched_by"], "cloudbase_issuer");
    }
    assert!(requests(&other).await.is_empty());
}

/// An issuer no context names reaches the record and the terminal only escaped and cut: no
/// raw control character on stdout or stderr, at most `MAX_SHOWN_ISSUER` (200) bytes of it.
#[tokio::test]
async fn a_hostile_issuer_is_shown_escaped_and_cut() {
    let iss = format!("https://evil\u{1b}[31m.example/{}", "A".repeat(400));
    let token = jwt(&iss);
    for text_output in [false, true] {
        for extra in [&["-vvv"][..], &["--dry-run"][..]] {
            let cmd = if text_output {
                let r = Revoke::new();
                let config = private_file(
                    r.home(),
                    "c.toml",
                    "[oauth.corp]\nissuer = \"https://a.example\"\n",
                );
                r.args([std::ffi::OsStr::new("--config"), config.as_os_str()])
                    .args(["token", "-o", "text"])
            } else {
                token_run("[oauth.corp]\nissuer = \"https://a.example\"\n")
            };
            let run = token_input(cmd, "t.txt", &[&token]).args(extra).run().await;
            run.assert_code(1);
            for text in [run.stdout(), run.stderr()] {
                assert!(!text.contains('\u{1b}'), "a raw ESC: {text:?}");
                assert!(!text.contains(&iss), "the whole issuer: {text}");
            }
            assert!(
                (run.stdout() + &run.stderr()).contains("u{1b}[31m.example/AAA"),
                "the issuer, escaped: {}{}",
                run.stdout(),
                run.stderr()
            );
        }
    }
    let run = token_input(
        token_run("[oauth.corp]\nissuer = \"https://a.example\"\n"),
        "t.txt",
        &[&token],
    )
    .run()
    .await;
    let r = only_record(&run);
    assert!(r["route"]["issuer"].as_str().unwrap().len() < 260, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("[cut at 200 bytes of"),
        "{r}"
    );
}
