//! `--verify` through the built binary: each provider's verification shapes against wiremock
//! (dead, alive, alive then dead, unanswerable, throttled), and the providers that cannot be
//! verified. Proof is a change observed: the token seen alive before the revocation and dead
//! after it, with the same credentials (`../shared/CLI.md`, "Verification is a change
//! observed").

use serde_json::json;
use wiremock::matchers as m;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const TOKEN: &str = "verifySentinelToken0001";

async fn cloudbase_revoke(server: &MockServer) {
    Mock::given(m::method("POST"))
        .and(m::path("/auth/v1/revoke"))
        // Seed 002: 200, application/json ("schema: any").
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(server)
        .await;
}

fn introspect() -> wiremock::MockBuilder {
    Mock::given(m::method("GET")).and(m::path("/auth/v1/token/introspect"))
}

fn verified(run: &Run) -> Vec<serde_json::Value> {
    run.records()
        .iter()
        .map(|r| r["verified"].clone())
        .collect()
}

#[tokio::test]
async fn cloudbase_dead_token_is_verified() {
    let server = MockServer::start().await;
    cloudbase_revoke(&server).await;
    // Alive before the revocation, dead after.
    introspect()
        .and(m::header(
            "authorization",
            format!("Bearer {TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sub": "u1"})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    introspect()
        .and(m::header(
            "authorization",
            format!("Bearer {TOKEN}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--verify", "-vvv", "--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(verified(&run), [json!(true)]);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["attempts"], 1, "the revocation only");
    assert_eq!(r["verify_attempts"], 2, "the checks before and after");
    assert_record_schema(r);
    run.assert_no_secret(&[TOKEN]);
}

#[tokio::test]
async fn cloudbase_token_not_alive_before_is_not_verified() {
    let server = MockServer::start().await;
    cloudbase_revoke(&server).await;
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--verify", "--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert!(r["verified"].is_null(), "{r}");
    assert_eq!(r["error"]["code"], "Unverified");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot see this token"),
        "{r}"
    );
}

#[tokio::test]
async fn cloudbase_alive_then_dead_within_the_window_is_verified() {
    let server = MockServer::start().await;
    cloudbase_revoke(&server).await;
    introspect()
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"sub": "u1", "client_id": "c"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    introspect()
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--verify", "--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(verified(&run), [json!(true)]);
}

#[tokio::test]
async fn cloudbase_token_still_alive_is_a_failure() {
    let server = MockServer::start().await;
    cloudbase_revoke(&server).await;
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sub": "u1"})))
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--verify", "--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["verified"], false);
    assert_eq!(r["error"]["code"], "StillActive");
    let asked = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(asked, 6, "asked before, once after and rechecked 4 times");
    assert_eq!(r["verify_attempts"], 6);
    assert_eq!(r["attempts"], 1);
}

/// An RFC 7009 + RFC 7662 server with state, as the RFCs allow it to be: each token belongs to
/// one client; a revocation answers 200 whoever asks (RFC 7009 2.2) but revokes only the owner's
/// tokens (as Okta does); an introspection answers `active: true` only to the owner, for a token
/// not revoked, and `active: false` otherwise (RFC 7662 2.2: "the protected resource is not
/// allowed to introspect this particular token"). Requests are told apart by path.
#[derive(Clone)]
struct Oauth {
    owner: String,
    /// Token -> revoked.
    tokens: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, bool>>>,
}

impl Oauth {
    fn new(owner: &str, tokens: &[&str]) -> Oauth {
        Oauth {
            owner: owner.into(),
            tokens: std::sync::Arc::new(std::sync::Mutex::new(
                tokens.iter().map(|t| (t.to_string(), false)).collect(),
            )),
        }
    }

    fn active(&self, token: &str) -> bool {
        self.tokens.lock().unwrap().get(token) == Some(&false)
    }

    /// Mounts the revocation and introspection endpoints on `server`.
    async fn mount(&self, server: &MockServer) {
        for path in ["/oauth2/revoke", "/oauth2/introspect"] {
            Mock::given(m::method("POST"))
                .and(m::path(path))
                .respond_with(self.clone())
                .mount(server)
                .await;
        }
    }
}

impl wiremock::Respond for Oauth {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body = String::from_utf8_lossy(&req.body);
        let form: std::collections::HashMap<String, String> =
            reqwest::Url::parse(&format!("form:?{body}"))
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect();
        let client = form.get("client_id").cloned().unwrap_or_default();
        let token = form.get("token").cloned().unwrap_or_default();
        let mut tokens = self.tokens.lock().unwrap();
        let owned = client == self.owner && tokens.contains_key(&token);
        if req.url.path().ends_with("/revoke") {
            if owned {
                tokens.insert(token, true);
            }
            return ResponseTemplate::new(200);
        }
        let active = owned && tokens.get(&token) == Some(&false);
        ResponseTemplate::new(200).set_body_json(json!({ "active": active }))
    }
}

async fn ciam_revoke(server: &MockServer) {
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(server)
        .await;
}

#[tokio::test]
async fn ciam_discovers_its_introspection_endpoint() {
    let server = MockServer::start().await;
    Mock::given(m::method("GET"))
        .and(m::path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "introspection_endpoint": format!("{}/oauth2/introspect", server.uri()),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let second = format!("{TOKEN}2");
    let oauth = Oauth::new(CIAM_CLIENT_ID, &[TOKEN, &second]);
    oauth.mount(&server).await;
    let run = Revoke::ciam(&server.uri())
        .args(["--verify", "--input", "-"])
        .stdin(format!("{TOKEN}\n{second}\n"))
        .run()
        .await;
    run.assert_code(0);
    assert!(
        verified(&run).iter().all(|v| v == &json!(true)),
        "{}",
        run.stdout()
    );
    let introspections = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth2/introspect")
        .filter(|r| String::from_utf8_lossy(&r.body).contains("client_secret="))
        .count();
    assert_eq!(introspections, 4, "before and after, for each token");
    assert!(!oauth.active(TOKEN) && !oauth.active(&second));
}

/// RFC 7662 2.2: a server answers `active: false` about a token the asking client may not see,
/// and (RFC 7009 2.2, as Okta does) 200 to its revocation without revoking it. With the wrong
/// client id nothing is proved: `verified: null`, the record still `revoked` (RFC 7009) with
/// the reason; with the owning client, the change is seen: `verified: true`.
#[tokio::test]
async fn ciam_a_server_that_hides_other_clients_tokens_proves_nothing_to_the_wrong_client() {
    let tokens = [TOKEN, "verifySentinelToken0002", "verifySentinelToken0003"];
    for owner in ["someone-else", CIAM_CLIENT_ID] {
        let server = MockServer::start().await;
        let oauth = Oauth::new(owner, &tokens);
        oauth.mount(&server).await;
        let run = Revoke::ciam(&server.uri())
            .args(["--verify", "--introspection-endpoint"])
            .args([format!("{}/oauth2/introspect", server.uri())])
            .args(["--input", "-"])
            .stdin(tokens.join("\n"))
            .run()
            .await;
        run.assert_code(0);
        let records = run.records();
        assert_eq!(records.len(), 3);
        for r in &records {
            assert_record_schema(r);
            assert_eq!(r["status"], "revoked", "{owner}: {r}");
            assert_eq!(r["attempts"], 1, "{owner}: {r}");
            if owner == CIAM_CLIENT_ID {
                assert_eq!(r["verified"], true, "{r}");
                assert!(r["error"].is_null(), "{r}");
                assert_eq!(r["verify_attempts"], 2, "before and after: {r}");
            } else {
                assert!(
                    r["verified"].is_null(),
                    "the wrong client proves nothing: {r}"
                );
                assert_eq!(r["error"]["code"], "Unverified", "{r}");
                let why = r["error"]["message"].as_str().unwrap();
                assert!(
                    why.contains(
                        "the introspection endpoint cannot see this token with these credentials"
                    ),
                    "{why}"
                );
                assert_eq!(r["verify_attempts"], 1, "nothing to ask after: {r}");
            }
        }
        let still_active = tokens.iter().filter(|t| oauth.active(t)).count();
        assert_eq!(
            still_active,
            if owner == CIAM_CLIENT_ID { 0 } else { 3 },
            "{owner}"
        );
        run.assert_no_secret(&tokens);
    }
}

/// RFC 6750 3.1: only a 401 with `WWW-Authenticate: Bearer error="invalid_token"` says the token
/// is bad. A userinfo endpoint answering 401 without it (to every request, or after the
/// revocation) never yields `verified: true`.
#[tokio::test]
async fn ciam_userinfo_401_without_invalid_token_is_never_proof() {
    let bare = || ResponseTemplate::new(401);
    let client = || {
        ResponseTemplate::new(401)
            .insert_header("www-authenticate", r#"Basic realm="x""#)
            .set_body_json(json!({"error": "invalid_client"}))
    };
    let invalid = || {
        ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            r#"Bearer realm="x", error="invalid_token", error_description="revoked""#,
        )
    };
    let alive = || ResponseTemplate::new(200).set_body_json(json!({"sub": "u1"}));
    // (before, after, expected verified)
    let cases: Vec<(ResponseTemplate, ResponseTemplate, serde_json::Value)> = vec![
        (bare(), bare(), json!(null)),
        (client(), client(), json!(null)),
        (alive(), bare(), json!(null)),
        (alive(), client(), json!(null)),
        (invalid(), invalid(), json!(null)),
        (alive(), invalid(), json!(true)),
    ];
    for (n, (before, after, want)) in cases.into_iter().enumerate() {
        let server = MockServer::start().await;
        ciam_revoke(&server).await;
        Mock::given(m::method("GET"))
            .and(m::path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": server.uri(),
                "userinfo_endpoint": format!("{}/userinfo", server.uri()),
            })))
            .mount(&server)
            .await;
        Mock::given(m::method("GET"))
            .and(m::path("/userinfo"))
            .respond_with(before)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(m::method("GET"))
            .and(m::path("/userinfo"))
            .respond_with(after)
            .mount(&server)
            .await;
        let run = Revoke::ciam(&server.uri())
            .args(["--verify", "--input", "-"])
            .stdin(format!("{TOKEN}\n"))
            .run()
            .await;
        run.assert_code(0);
        let r = &run.records()[0];
        assert_eq!(r["status"], "revoked", "case {n}: {r}");
        assert_eq!(r["verified"], want, "case {n}: {r}");
        if want.is_null() {
            assert_eq!(r["error"]["code"], "Unverified", "case {n}: {r}");
        }
    }
}

/// An introspection endpoint that refuses the client's credentials (401): verification stops,
/// the revocations do not: 5 tokens, 5 revoked, exit 0, never 3, nothing skipped.
#[tokio::test]
async fn an_introspection_401_never_stops_the_revocations() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(5)
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/introspect"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let tokens: Vec<String> = (1..=5).map(|i| format!("{TOKEN}-{i}")).collect();
    let run = Revoke::ciam(&server.uri())
        .args(["--verify", "--introspection-endpoint"])
        .args([format!("{}/oauth2/introspect", server.uri())])
        .args(["--input", "-"])
        .stdin(tokens.join("\n"))
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 5);
    for r in &records {
        assert_eq!(r["status"], "revoked", "{r}");
        assert!(r["verified"].is_null(), "{r}");
        assert_eq!(r["error"]["code"], "Unverified", "{r}");
    }
    assert_eq!(run.summary()["summary"]["skipped"], 0);
    let asked = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth2/introspect")
        .count();
    assert_eq!(asked, 1, "refused once: verification stops there");
    assert!(
        run.stderr()
            .contains("the verification endpoint refused the credentials"),
        "{}",
        run.stderr()
    );
}

/// A verification endpoint that never answers (a black hole) costs `(retries+1) x timeout` per
/// request: after a few in a row, the run stops verifying and goes on revoking.
#[tokio::test]
async fn a_silent_verification_endpoint_stops_verifying_and_the_revocations_go_on() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(12)
        .mount(&server)
        .await;
    let hole = RawServer::start(|_, _| RawReply::Hang);
    let tokens: Vec<String> = (1..=12).map(|i| format!("{TOKEN}-{i:02}")).collect();
    let started = std::time::Instant::now();
    let run = Revoke::ciam(&server.uri())
        .args(["--verify", "--introspection-endpoint"])
        .args([format!("{}/introspect", hole.uri())])
        .args(["--timeout", "0.3", "--retries", "1", "--concurrency", "1"])
        .args(["--input", "-"])
        .stdin(tokens.join("\n"))
        .run()
        .await;
    let took = started.elapsed();
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r["status"], "revoked", "{r}");
        assert!(r["verified"].is_null(), "{r}");
    }
    let asked = hole.bodies().len();
    assert!(
        asked <= 2 * 3,
        "at most 3 checks of 2 attempts before verification stops: {asked}"
    );
    let err = run.stderr();
    assert_eq!(
        err.matches("gave no answer to 3 requests in a row").count(),
        1,
        "{err}"
    );
    // 3 checks x 2 attempts x 0.3 s, and the backoff: far from 12 x 2 x 0.3 s.
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn ciam_pretend_revocation_is_still_active() {
    let server = MockServer::start().await;
    ciam_revoke(&server).await;
    Mock::given(m::method("POST"))
        .and(m::path("/custom/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": true})))
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--verify", "--introspection-endpoint"])
        .args([format!("{}/custom/introspect", server.uri())])
        .args(["--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], "StillActive");
    assert_eq!(r["verified"], false);
}

#[tokio::test]
async fn ciam_unanswerable_or_foreign_discovery_is_null_never_true() {
    for doc in [
        None,
        Some(json!({"introspection_endpoint": "https://elsewhere.example/introspect"})),
        Some(json!({"issuer": "x"})),
    ] {
        let server = MockServer::start().await;
        ciam_revoke(&server).await;
        let answer = match &doc {
            None => ResponseTemplate::new(404),
            Some(d) => ResponseTemplate::new(200).set_body_json(d.clone()),
        };
        Mock::given(m::method("GET"))
            .and(m::path("/.well-known/openid-configuration"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let run = Revoke::ciam(&server.uri())
            .args(["--verify", "--input", "-"])
            .stdin(format!("{TOKEN}\n"))
            .run()
            .await;
        run.assert_code(0);
        let r = &run.records()[0];
        assert_eq!(r["status"], "revoked", "{doc:?}");
        assert!(r["verified"].is_null(), "{doc:?}");
        assert_eq!(r["error"]["code"], "Unverified", "{doc:?}");
        assert!(
            run.stderr().contains("revoke: warning: --verify"),
            "{}",
            run.stderr()
        );
        let posted = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() != "/oauth2/revoke" && r.method.as_str() == "POST")
            .count();
        assert_eq!(posted, 0, "nothing sent to a foreign or unknown place");
    }
}

#[tokio::test]
async fn identity_store_lists_after_the_deletes() {
    let server = MockServer::start().await;
    // DeleteBearerToken's documented success (seed 004): 200, no body.
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // Before the deletes, then after them.
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"bearer_tokens": [
                {"token_id": "id1"}, {"token_id": "id2"}, {"token_id": "other"}
            ]})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"bearer_tokens": [{"token_id": "id2"}, {"token_id": "other"}]}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "id1", "id2"])
        .run()
        .await;
    run.assert_code(1);
    let mut records = run.records();
    records.sort_by_key(|r| r["index"].as_u64());
    assert_eq!(records[0]["verified"], true);
    assert_eq!(
        records[0]["verify_attempts"], 2,
        "the listings before and after"
    );
    assert_eq!(records[0]["attempts"], 1);
    assert_eq!(records[1]["verified"], false);
    assert_eq!(records[1]["error"]["code"], "StillActive");
}

#[tokio::test]
async fn smh_cannot_be_verified_and_sends_nothing_extra() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::smh(&server.uri())
        .args(["--verify", "u1"])
        .run()
        .await;
    run.assert_code(0);
    assert!(run.records()[0]["verified"].is_null());
    assert_eq!(
        run.stderr()
            .matches("revoke: warning: --verify: smh cannot be verified")
            .count(),
        1,
        "{}",
        run.stderr()
    );
}

#[tokio::test]
async fn dry_run_shows_the_verification_masked_and_sends_nothing() {
    let server = MockServer::start().await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--verify", "--dry-run", "-vvv", "--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "planned");
    assert_eq!(r["data"]["verify"]["method"], "GET");
    assert!(
        r["data"]["verify"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/auth/v1/token/introspect")
    );
    assert_eq!(
        r["data"]["verify"]["headers"]["authorization"],
        "Bearer ***"
    );
    assert!(
        r["data"]["verify_when"]
            .as_str()
            .unwrap()
            .starts_with("before and after the revocation"),
        "{r}"
    );
    run.assert_no_secret(&[TOKEN]);

    // In text: the revocation, then the check, masked, and when it is sent.
    let text = Revoke::new()
        .args([
            "cloudbase",
            "--endpoint",
            &server.uri(),
            "--verify",
            "--dry-run",
        ])
        .args(["--input", "-"])
        .stdin(format!("{TOKEN}\n"))
        .run()
        .await;
    text.assert_code(0);
    let out = text.stdout();
    assert!(
        out.contains("--verify sends, before and after the revocation"),
        "{out}"
    );
    assert!(out.contains("authorization: Bearer ***"), "{out}");
    text.assert_no_secret(&[TOKEN]);
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// identity-store's listing after the deletes refused with 401: the deletes happened and their
/// records say so; only the proof is missing: `verified: null`, never exit 3.
#[tokio::test]
async fn identity_store_listing_refused_after_the_deletes_is_not_exit_3() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"bearer_tokens": [
                {"token_id": "id1"}, {"token_id": "id2"}
            ]})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            fixture("identity_store/error_apigw_0301.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "id1", "id2"])
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["status"], "revoked", "{r}");
        assert!(r["verified"].is_null(), "{r}");
        assert_eq!(r["error"]["code"], "Unverified", "{r}");
    }
    assert_eq!(run.summary()["summary"]["skipped"], 0);
    let err = run.stderr();
    assert!(
        err.contains("were sent and are recorded, unverified"),
        "{err}"
    );
}

/// identity-store's listing before the deletes refused: the deletes are sent all the same.
#[tokio::test]
async fn identity_store_listing_refused_before_the_deletes_still_deletes() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(
                json!({"error_code": "IDS.0403", "error_msg": "no permission to list"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "id1", "id2"])
        .run()
        .await;
    run.assert_code(0);
    for r in &run.records() {
        assert_eq!(r["status"], "revoked", "{r}");
        assert!(r["verified"].is_null(), "{r}");
    }
    assert!(
        run.stderr().contains("the deletes are sent all the same"),
        "{}",
        run.stderr()
    );
}

/// A token id not listed before the deletes cannot be proved deleted by its absence after.
#[tokio::test]
async fn identity_store_id_not_listed_before_is_not_verified() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"bearer_tokens": [{"token_id": "other"}]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "id1"])
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert!(r["verified"].is_null(), "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not listed before the deletes"),
        "{r}"
    );
}

/// The listing after the deletes hits its 100,000-id bound: the message says the deletes
/// happened, never "nothing was revoked".
#[tokio::test]
async fn identity_store_listing_cap_after_the_deletes_says_the_deletes_happened() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"bearer_tokens": [
                {"token_id": "id1"}, {"token_id": "id2"}, {"token_id": "id3"}
            ]})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // After: 1000 new ids a page, a new marker each time.
    Mock::given(m::method("GET"))
        .respond_with(|req: &wiremock::Request| {
            let page: usize = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "marker")
                .map(|(_, v)| v.trim_start_matches("m-").parse().unwrap())
                .unwrap_or(0);
            let ids: Vec<_> = (0..1000)
                .map(|i| json!({"token_id": format!("p{page}-{i}")}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({
                "bearer_tokens": ids,
                "page_info": {"next_marker": format!("m-{}", page + 1)}
            }))
        })
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "--rate", "0", "id1", "id2", "id3"])
        .run()
        .await;
    run.assert_code(0);
    let err = run.stderr();
    assert!(err.contains("more than 100000 items listed"), "{err}");
    assert!(!err.contains("nothing was revoked"), "{err}");
    assert!(
        err.contains("the 3 delete(s) were sent and are recorded, unverified"),
        "{err}"
    );
    for r in &run.records() {
        assert_eq!(r["status"], "revoked", "{r}");
        assert!(r["verified"].is_null(), "{r}");
    }
}

/// The text summary counts what was proved, disproved and left unproved.
#[tokio::test]
async fn the_text_summary_counts_verified_and_unverifiable() {
    let server = MockServer::start().await;
    // The client owns two of the three tokens.
    let oauth = Oauth::new(CIAM_CLIENT_ID, &[TOKEN, "verifySentinelToken0002"]);
    oauth.mount(&server).await;
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args([
            "ciam",
            "--endpoint",
            &server.uri(),
            "--client-id",
            CIAM_CLIENT_ID,
        ])
        .args(["--verify", "--introspection-endpoint"])
        .args([format!("{}/oauth2/introspect", server.uri())])
        .args(["--input", "-"])
        .stdin(format!(
            "{TOKEN}\nverifySentinelToken0002\nverifySentinelToken0003\n"
        ))
        .run()
        .await;
    run.assert_code(0);
    let out = run.stdout();
    assert_eq!(out.matches("revoked, verified").count(), 2, "{out}");
    assert_eq!(out.matches("revoked, unverified").count(), 1, "{out}");
    assert!(
        run.stderr()
            .contains("(--verify: 2 verified, 0 still active, 1 unverifiable)"),
        "{}",
        run.stderr()
    );
}

/// An interrupt while the check before a revocation is out: that revocation is not sent (it was
/// not in flight), every target is recorded `skipped`, exit 130.
#[tokio::test]
async fn an_interrupt_during_the_check_before_sends_no_revocation() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let hole = RawServer::start(|_, _| RawReply::Hang);
    let running = Revoke::ciam(&server.uri())
        .args(["--verify", "--introspection-endpoint"])
        .args([format!("{}/introspect", hole.uri())])
        .args(["--timeout", "20", "--rate", "0"])
        .args([TOKEN, "verifySentinelToken0002"])
        .spawn();
    let started = std::time::Instant::now();
    while hole.bodies().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no check"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    running.signal("INT");
    let run = running.wait().await;
    run.assert_code(130);
    let records = run.records();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["status"], "skipped", "{r}");
        assert_eq!(r["error"]["code"], "Interrupted", "{r}");
    }
}

/// With `--all`, the listing of the targets is the one before the deletes: two listings in all.
#[tokio::test]
async fn identity_store_all_lists_once_before_and_once_after() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"bearer_tokens": [
                {"token_id": "id1"}, {"token_id": "id2"}
            ]})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"bearer_tokens": []})))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "--all"])
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["verified"], true, "{r}");
        assert_eq!(r["verify_attempts"], 2, "{r}");
    }
}

/// Wrong Huawei credentials with `--verify`: the listing before is refused (verification only),
/// then the first delete is refused and stops the run: two refused requests, exit 3.
#[tokio::test]
async fn identity_store_wrong_credentials_cost_two_requests_with_verify() {
    let server = MockServer::start().await;
    Mock::given(m::any())
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            fixture("identity_store/error_apigw_0301.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--verify", "id1", "id2", "id3"])
        .run()
        .await;
    run.assert_code(3);
    let sent = server.received_requests().await.unwrap();
    let methods: Vec<&str> = sent.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "DELETE"], "{methods:?}");
    let records = run.records();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records.iter().filter(|r| r["status"] == "skipped").count(),
        2
    );
}
