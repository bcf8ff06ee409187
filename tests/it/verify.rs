//! `--verify` through the built binary: each provider's verification shapes against wiremock
//! (dead, alive, alive then dead, unanswerable, throttled), and the providers that cannot be
//! verified.

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
    assert_eq!(r["attempts"], 2, "the revocation and its verification");
    run.assert_no_secret(&[TOKEN]);
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
    assert_eq!(asked, 5, "asked once and rechecked 4 times");
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
    ciam_revoke(&server).await;
    Mock::given(m::method("GET"))
        .and(m::path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": server.uri(),
            "introspection_endpoint": format!("{}/oauth2/introspect", server.uri()),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/introspect"))
        .and(m::body_string_contains(format!("token={TOKEN}").as_str()))
        .and(m::body_string_contains("client_secret="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false})))
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--verify", "--input", "-"])
        .stdin(format!("{TOKEN}\n{TOKEN}2\n"))
        .run()
        .await;
    run.assert_code(0);
    assert!(
        verified(&run).iter().all(|v| v == &json!(true)),
        "{}",
        run.stdout()
    );
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
    run.assert_no_secret(&[TOKEN]);
    assert!(server.received_requests().await.unwrap().is_empty());
}
