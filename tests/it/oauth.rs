//! `revoke oauth` against wiremock: discovery (RFC 8414's path for an issuer with a path, the
//! OpenID Connect fallback, once per run, retried like any request, never in a dry run), the
//! documents that are not used (another issuer, an endpoint that may not be sent to, too big,
//! a redirect, not JSON, no revocation_endpoint: nothing further is sent), the three client
//! authentications byte for byte, the choice among the server's methods, `--verify` by
//! introspection, and exit codes.

use serde_json::{Value, json};
use wiremock::matchers as m;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const FORM: &str = "application/x-www-form-urlencoded";
/// base64("oauth%20app:oauthTestClientSecret%2F01"), from `printf %s ... | base64`.
const BASIC: &str = "Basic b2F1dGglMjBhcHA6b2F1dGhUZXN0Q2xpZW50U2VjcmV0JTJGMDE=";
const RFC8414: &str = "/.well-known/oauth-authorization-server";
const OIDC: &str = "/.well-known/openid-configuration";

/// `oauth --issuer ISSUER --client-id "oauth app"`, the secret from `OAUTH2_CLIENT_SECRET`.
fn by_issuer(issuer: &str) -> Revoke {
    Revoke::new()
        .env("OAUTH2_CLIENT_SECRET", OAUTH_SECRET)
        .args(["oauth", "--issuer", issuer, "-o", "json"])
        .args(["--client-id", OAUTH_CLIENT_ID])
}

fn metadata(issuer: &str, extra: Value) -> ResponseTemplate {
    let mut doc = json!({
        "issuer": issuer,
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    ResponseTemplate::new(200).set_body_json(doc)
}

fn get(path: &str) -> wiremock::MockBuilder {
    Mock::given(m::method("GET")).and(m::path(path.to_string()))
}

fn revoke_at(path: &str) -> wiremock::MockBuilder {
    Mock::given(m::method("POST")).and(m::path(path.to_string()))
}

/// Every request the server got that was not a discovery GET.
async fn posts(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .collect()
}

#[tokio::test]
async fn rfc8414_metadata_of_an_issuer_with_a_path_then_one_revocation_per_token() {
    let server = MockServer::start().await;
    let issuer = format!("{}/tenants/t1", server.uri());
    // RFC 8414 3.1: the well-known suffix goes between the host and the issuer's path.
    get(&format!("{RFC8414}/tenants/t1"))
        .respond_with(metadata(
            &issuer,
            json!({"revocation_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post"]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    get(&format!("/tenants/t1{OIDC}"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    revoke_at("/tenants/t1/oauth2/revoke")
        .and(m::header("content-type", FORM))
        .and(m::header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&server)
        .await;
    let run = by_issuer(&issuer)
        .args(["--input", "-"])
        .stdin("tok-1\ntok-2\ntok-3\n")
        .run()
        .await;
    run.assert_code(0);
    let bodies: Vec<String> = posts(&server)
        .await
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    let mut sorted = bodies.clone();
    sorted.sort();
    assert_eq!(sorted, ["token=tok-1", "token=tok-2", "token=tok-3"]);
    for r in run.records() {
        assert_record_schema(&r);
        assert_eq!(r["provider"], "oauth");
        assert_eq!(r["status"], "revoked");
        assert_eq!(r["attempts"], 1, "discovery is not a target's attempt");
    }
    run.assert_no_secret(&[OAUTH_SECRET, "tok-1", "b2F1dGgl"]);
}

#[tokio::test]
async fn openid_configuration_when_the_server_has_no_rfc8414_document() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    get(OIDC)
        .respond_with(metadata(&issuer, json!({})))
        .expect(1)
        .mount(&server)
        .await;
    // No revocation_endpoint_auth_methods_supported: post, the contract's default.
    revoke_at("/oauth2/revoke")
        .and(m::body_string(
            "client_id=oauth+app&client_secret=oauthTestClientSecret%2F01&token=tok-1",
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = by_issuer(&issuer)
        .args(["--input", "-"])
        .stdin("tok-1\n")
        .run()
        .await;
    run.assert_code(0);
    assert!(header(&posts(&server).await[0], "authorization").is_none());
}

/// The three client authentications, without discovery, byte for byte.
#[tokio::test]
async fn none_post_and_basic_on_the_wire() {
    for (auth, secret, body, authorization) in [
        (
            "post",
            true,
            "client_id=oauth+app&client_secret=oauthTestClientSecret%2F01&token=a%2Bb%2Fc&token_type_hint=refresh_token",
            None,
        ),
        (
            "basic",
            true,
            "token=a%2Bb%2Fc&token_type_hint=refresh_token",
            Some(BASIC),
        ),
        // A public client: its id in the body, no secret even when one is set.
        (
            "none",
            true,
            "client_id=oauth+app&token=a%2Bb%2Fc&token_type_hint=refresh_token",
            None,
        ),
        (
            "none",
            false,
            "client_id=oauth+app&token=a%2Bb%2Fc&token_type_hint=refresh_token",
            None,
        ),
    ] {
        let server = MockServer::start().await;
        revoke_at("/revoke")
            .and(m::header("content-type", FORM))
            .and(m::body_string(body))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let mut cmd = Revoke::new()
            .args(["oauth", "-o", "json", "--client-id", OAUTH_CLIENT_ID])
            .args(["--revocation-endpoint", &format!("{}/revoke", server.uri())])
            .args(["--client-auth", auth, "--token-type-hint", "refresh_token"])
            .args(["--input", "-"])
            .stdin("a+b/c\n");
        if secret {
            cmd = cmd.env("OAUTH2_CLIENT_SECRET", OAUTH_SECRET);
        }
        let run = cmd.run().await;
        run.assert_code(0);
        let reqs = posts(&server).await;
        assert_eq!(
            header(&reqs[0], "authorization"),
            authorization,
            "--client-auth {auth}"
        );
        assert_eq!(run.records()[0]["status"], "revoked", "{auth}");
        run.assert_no_secret(&[OAUTH_SECRET]);
    }
}

/// `--client-auth` unset: the first of the server's methods possible with what was given.
#[tokio::test]
async fn the_client_authentication_is_chosen_from_the_metadata() {
    for (methods, secret, want) in [
        (
            json!(["client_secret_post", "client_secret_basic"]),
            true,
            Some("client_id=oauth+app&client_secret=oauthTestClientSecret%2F01&token=tok"),
        ),
        (
            json!(["tls_client_auth", "client_secret_basic"]),
            true,
            Some("token=tok"),
        ),
        (
            json!(["client_secret_basic", "none"]),
            false,
            Some("client_id=oauth+app&token=tok"),
        ),
        // No secret, and the server takes none but confidential clients: nothing is sent.
        (json!(["client_secret_basic"]), false, None),
    ] {
        let server = MockServer::start().await;
        let issuer = server.uri();
        get(RFC8414)
            .respond_with(metadata(
                &issuer,
                json!({ "revocation_endpoint_auth_methods_supported": methods }),
            ))
            .mount(&server)
            .await;
        revoke_at("/oauth2/revoke")
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let mut cmd = Revoke::new()
            .args(["oauth", "-o", "json", "--client-id", OAUTH_CLIENT_ID])
            .args(["--issuer", &issuer, "--input", "-"])
            .stdin("tok\n");
        if secret {
            cmd = cmd.env("OAUTH2_CLIENT_SECRET", OAUTH_SECRET);
        }
        let run = cmd.run().await;
        let sent = posts(&server).await;
        match want {
            Some(body) => {
                run.assert_code(0);
                assert_eq!(sent.len(), 1, "{methods}");
                assert_eq!(String::from_utf8(sent[0].body.clone()).unwrap(), body);
                let basic = header(&sent[0], "authorization") == Some(BASIC);
                assert_eq!(basic, body == "token=tok", "{methods}");
            }
            None => {
                run.assert_code(1);
                assert!(sent.is_empty(), "{methods}: nothing is sent");
                let r = &run.records()[0];
                assert_eq!(r["status"], "failed");
                assert_eq!(r["error"]["code"], "DiscoveryFailed");
                assert!(
                    r["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("does not accept a public client"),
                    "{r}"
                );
            }
        }
    }
}

/// RFC 8414 3.3: a document whose `issuer` is not identical to the one asked for is not used;
/// nor is one that is too big, a redirect, not JSON, or names no endpoint that may be used.
/// Nothing further is sent (not the OpenID document, not a revocation), every target is
/// `failed` with `DiscoveryFailed`, and stderr says why in one line.
#[tokio::test]
async fn a_document_that_does_not_hold_up_sends_nothing_further() {
    let server_for_redirect = MockServer::start().await;
    let elsewhere = format!("{}/metadata", server_for_redirect.uri());
    let big = "x".repeat(65 * 1024);
    let endless = "y".repeat(2 << 20);
    let table: [(&str, Shape, &str); 6] = [
        (
            "another issuer",
            |issuer: &str| metadata(&format!("{issuer}/"), json!({})),
            "is for another issuer",
        ),
        (
            "a forged issuer",
            |_: &str| metadata("https://evil.example\u{1b}[2J\nrevoked", json!({})),
            "is for another issuer",
        ),
        (
            "an http endpoint that is not loopback",
            |issuer: &str| {
                metadata(
                    issuer,
                    json!({"revocation_endpoint": "http://revoke.example.com/revoke"}),
                )
            },
            "refusing plain http to revoke.example.com",
        ),
        (
            "an https endpoint from an http issuer",
            |issuer: &str| {
                metadata(
                    issuer,
                    json!({"revocation_endpoint": "https://revoke.example.com/revoke"}),
                )
            },
            "is not http, as the issuer is",
        ),
        (
            "no revocation endpoint",
            |issuer: &str| metadata(issuer, json!({"revocation_endpoint": null})),
            "names no revocation_endpoint",
        ),
        (
            "a sign-in page",
            |_: &str| {
                ResponseTemplate::new(200)
                    .set_body_raw("<html><title>Sign in</title></html>", "text/html")
            },
            "not a JSON metadata document",
        ),
    ];
    for (name, answer, says) in table {
        check_refused(name, Box::new(answer), says).await;
    }
    let big_doc = move |issuer: &str| metadata(issuer, json!({ "padding": big.clone() }));
    check_refused("too big", Box::new(big_doc), "more than the 64 KiB").await;
    let endless_doc = move |_: &str| ResponseTemplate::new(200).set_body_string(endless.clone());
    check_refused("endless", Box::new(endless_doc), "not read further").await;
    let redirect =
        move |_: &str| ResponseTemplate::new(302).insert_header("location", elsewhere.as_str());
    check_refused(
        "a redirect",
        Box::new(redirect),
        "redirects are never followed",
    )
    .await;
    assert!(
        server_for_redirect
            .received_requests()
            .await
            .unwrap()
            .is_empty(),
        "a redirect is not followed"
    );
}

type Answer = Box<dyn Fn(&str) -> ResponseTemplate>;
/// A document's answer, made for the issuer it is asked about.
type Shape = fn(&str) -> ResponseTemplate;

async fn check_refused(name: &str, answer: Answer, says: &str) {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(answer(&issuer))
        .expect(1)
        .mount(&server)
        .await;
    get(OIDC)
        .respond_with(metadata(&issuer, json!({})))
        .expect(0)
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = by_issuer(&issuer)
        .args(["--verify", "--input", "-"])
        .stdin("tok-1\ntok-2\n")
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 2, "{name}: one record per target");
    for r in &records {
        assert_record_schema(r);
        assert_eq!(r["status"], "failed", "{name}");
        assert_eq!(r["attempts"], 0, "{name}");
        assert_eq!(r["error"]["code"], "DiscoveryFailed", "{name}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{name}: {message}");
    }
    assert_eq!(run.summary()["summary"]["failed"], 2);
    let stderr = run.stderr();
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("discovering the issuer's endpoints failed"))
        .collect();
    assert_eq!(lines.len(), 1, "{name}: one line says why: {stderr}");
    assert!(lines[0].contains(says), "{name}: {stderr}");
    assert!(lines[0].len() < 2048, "{name}: the line is bounded");
    assert!(!stderr.contains('\u{1b}'), "{name}: escaped: {stderr:?}");
    assert!(
        !run.stdout().contains('\u{1b}'),
        "{name}: escaped in records too"
    );
    server.verify().await;
}

#[tokio::test]
async fn discovery_is_retried_like_any_request_and_happens_once() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    get(RFC8414)
        .respond_with(metadata(&issuer, json!({})))
        .expect(1)
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .respond_with(ResponseTemplate::new(200))
        .expect(4)
        .mount(&server)
        .await;
    let run = by_issuer(&issuer)
        .args(["--input", "-"])
        .stdin("a\nb\nc\nd\n")
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.summary()["summary"]["revoked"], 4);
}

#[tokio::test]
async fn a_dry_run_sends_nothing_not_even_discovery() {
    let server = MockServer::start().await;
    let issuer = format!("{}/realms/a", server.uri());
    let run = by_issuer(&issuer)
        .args(["--dry-run", "--verify", "--input", "-"])
        .stdin("tok-1\n")
        .run()
        .await;
    run.assert_code(0);
    assert!(server.received_requests().await.unwrap().is_empty());
    let r = &run.records()[0];
    assert_eq!(r["status"], "planned");
    let setup: Vec<&str> = r["data"]["setup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    let origin = server.uri();
    assert_eq!(
        setup,
        [
            format!("{origin}{RFC8414}/realms/a"),
            format!("{origin}/realms/a{OIDC}")
        ]
    );
    assert!(
        r["data"]["url"]
            .as_str()
            .unwrap()
            .contains("revocation_endpoint"),
        "{r}"
    );
    run.assert_no_secret(&[OAUTH_SECRET, "tok-1"]);
    // Text: the discovery requests are shown with the planned request.
    let run = Revoke::new()
        .env("OAUTH2_CLIENT_SECRET", OAUTH_SECRET)
        .args(["oauth", "--issuer", &issuer, "--client-id", "app"])
        .args(["--dry-run", "-o", "text", "tok-1"])
        .run()
        .await;
    run.assert_code(0);
    assert!(
        run.stdout()
            .contains(&format!("GET {origin}{RFC8414}/realms/a")),
        "{}",
        run.stdout()
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// `--verify`: the discovered introspection endpoint, asked before and after, with the same
/// client authentication.
#[tokio::test]
async fn verify_introspects_before_and_after_at_the_discovered_endpoint() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(metadata(
            &issuer,
            json!({"revocation_endpoint_auth_methods_supported": ["client_secret_basic"]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/introspect"))
        .and(m::header("authorization", BASIC))
        .and(m::body_string("token=tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": true})))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"active": false})))
        .expect(1)
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .and(m::header("authorization", BASIC))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = by_issuer(&issuer)
        .args(["--verify", "--input", "-"])
        .stdin("tok-1\n")
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["verified"], true);
    assert_eq!(r["verify_attempts"], 2);
    assert_eq!(r["attempts"], 1);

    // Without an introspection endpoint anywhere: verified null, said once, nothing extra.
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(metadata(&issuer, json!({"introspection_endpoint": null})))
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = by_issuer(&issuer).args(["--verify", "tok-1"]).run().await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["verified"], Value::Null);
    assert!(
        run.stderr().contains("no introspection endpoint"),
        "{}",
        run.stderr()
    );
}

#[tokio::test]
async fn exit_codes() {
    // 401 invalid_client: the credentials are refused, the rest skipped, exit 3.
    let server = MockServer::start().await;
    revoke_at("/revoke")
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::oauth(&format!("{}/revoke", server.uri()))
        .args(["--input", "-"])
        .stdin("a\nb\n")
        .run()
        .await;
    run.assert_code(3);
    let statuses: Vec<Value> = run.records().iter().map(|r| r["status"].clone()).collect();
    assert!(statuses.contains(&json!("skipped")), "{statuses:?}");

    // Usage errors: nothing sent, exit 2.
    let run = Revoke::new()
        .env("OAUTH2_CLIENT_SECRET", OAUTH_SECRET)
        .args(["oauth", "--client-id", "app", "tok"])
        .run()
        .await;
    run.assert_usage("--issuer");
    let run = Revoke::new()
        .args(["oauth", "--client-id", "app", "--client-auth", "basic"])
        .args(["--revocation-endpoint", &server.uri(), "tok"])
        .run()
        .await;
    run.assert_usage("OAUTH2_CLIENT_SECRET");
    assert!(
        run.stderr().contains("--client-auth none"),
        "{}",
        run.stderr()
    );
    let run = Revoke::new()
        .args([
            "oauth",
            "--client-id",
            "app",
            "--issuer",
            "http://auth.example.com",
            "tok",
        ])
        .run()
        .await;
    run.assert_usage("refusing plain http");
    let run = Revoke::new()
        .args([
            "oauth",
            "--client-id",
            "app",
            "--issuer",
            "https://a.example",
        ])
        .args(["--revocation-endpoint", "https://b.example/revoke", "tok"])
        .run()
        .await;
    run.assert_code(2);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// A context `[oauth.NAME]` with `issuer = ...`, and the inline secret of a private file.
#[tokio::test]
async fn a_config_context_names_the_issuer() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(metadata(&issuer, json!({})))
        .expect(1)
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .and(m::body_string(
            "client_id=ctx-app&client_secret=ctxInlineSecret01&token=tok",
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let r = Revoke::new();
    let config = private_file(
        r.home(),
        "config.toml",
        &format!(
            "[oauth.corp]\nissuer = \"{issuer}\"\nclient-id = \"ctx-app\"\nclient-secret = \"ctxInlineSecret01\"\n"
        ),
    );
    let run = r
        .args(["--config", config.to_str().unwrap(), "--context", "corp"])
        .args(["oauth", "-o", "json", "tok"])
        .run()
        .await;
    run.assert_code(0);
    run.assert_no_secret(&["ctxInlineSecret01"]);
}

/// Of `--issuer`, `--revocation-endpoint` and `--endpoint` (`REVOKE_ENDPOINT`) set in different
/// layers, the highest wins: the environment's endpoint beats a context's issuer (no discovery),
/// and a flag's issuer beats the environment's endpoint.
#[tokio::test]
async fn the_highest_layer_names_where_to_revoke() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(metadata(&issuer, json!({})))
        .expect(1)
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let r = Revoke::new();
    let config = private_file(
        r.home(),
        "config.toml",
        "[oauth.default]\nissuer = \"https://auth.example.com\"\nclient-id = \"app\"\nclient-secret = \"s\"\n",
    );
    let run = r
        .env("REVOKE_ENDPOINT", format!("{issuer}/oauth2/revoke"))
        .args(["--config", config.to_str().unwrap(), "oauth", "tok"])
        .run()
        .await;
    run.assert_code(0);
    let r = Revoke::new();
    let config = private_file(
        r.home(),
        "config.toml",
        "[oauth.default]\nclient-id = \"app\"\nclient-secret = \"s\"\n",
    );
    let run = r
        .env("REVOKE_ENDPOINT", "http://127.0.0.1:9/nowhere")
        .args([
            "--config",
            config.to_str().unwrap(),
            "oauth",
            "--issuer",
            &issuer,
        ])
        .args(["tok"])
        .run()
        .await;
    run.assert_code(0);
}

/// A plan step `command = "oauth"`: discovery and revocation as in a run of its own.
#[tokio::test]
async fn a_plan_step_revokes_at_an_issuer() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    get(RFC8414)
        .respond_with(metadata(
            &issuer,
            json!({"revocation_endpoint_auth_methods_supported": ["none"]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    revoke_at("/oauth2/revoke")
        .and(m::body_string("client_id=spa&token=tok-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let r = Revoke::new();
    let plan = private_file(
        r.home(),
        "plan.toml",
        &format!(
            "[[step]]\ncommand = \"oauth\"\nissuer = \"{issuer}\"\nclient-id = \"spa\"\ntargets = [\"tok-1\"]\n"
        ),
    );
    let run = r.args(["apply", "-o", "json"]).args([plan]).run().await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["provider"], "oauth");
    assert_eq!(r["status"], "revoked");
}

/// A metadata answer that never ends (chunked, forever): read up to the bound and no further,
/// not retried, nothing else sent.
#[tokio::test]
async fn an_endless_document_is_read_no_further_than_the_bound() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let connections = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
                );
                let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
                // Until the client hangs up.
                while stream.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    let started = std::time::Instant::now();
    let run = by_issuer(&issuer)
        .args(["--timeout", "20", "--input", "-"])
        .stdin("tok-1\n")
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_eq!(r["error"]["code"], "DiscoveryFailed");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not read further"),
        "{r}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "not retried, and not the OpenID document either"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
}

/// A discovery document naming another issuer, whose text quotes the client secret where the
/// quote is cut (200 characters): no head of the secret is printed.
#[tokio::test]
async fn another_issuer_cut_at_its_bound_shows_no_head_of_the_secret() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    let other = format!("https://{}/{OAUTH_SECRET}", "p".repeat(180));
    let at = other.find(OAUTH_SECRET).unwrap();
    assert!(at < 195 && at + OAUTH_SECRET.len() > 200, "{at}");
    get(RFC8414)
        .respond_with(metadata(&issuer, json!({ "issuer": other })))
        .mount(&server)
        .await;
    let run = by_issuer(&issuer).args(["tok-aaaa"]).run().await;
    assert!(run.stderr().contains("another issuer"), "{}", run.stderr());
    for out in [run.stdout(), run.stderr()] {
        assert!(!out.contains(&OAUTH_SECRET[..8]), "{out}");
    }
}

/// The client authentications a document lists, quoted in the message that none is possible:
/// the client secret among them, where one is cut (200 characters) or where the message is
/// (1024 bytes), shows no head.
#[tokio::test]
async fn listed_authentications_cut_at_a_bound_show_no_head_of_the_secret() {
    let one_cut = vec![format!("{}{OAUTH_SECRET}", "p".repeat(190))];
    // Each under 200 characters; the secret across the message's 1024th byte.
    let mut message_cut: Vec<String> = (0..5).map(|i| format!("m{i}{}", "q".repeat(170))).collect();
    message_cut.push(OAUTH_SECRET.to_string());
    for methods in [one_cut, message_cut] {
        let server = MockServer::start().await;
        let issuer = server.uri();
        get(RFC8414)
            .respond_with(metadata(
                &issuer,
                json!({ "revocation_endpoint_auth_methods_supported": methods }),
            ))
            .mount(&server)
            .await;
        let run = by_issuer(&issuer).args(["tok-aaaa"]).run().await;
        let err = run.stderr();
        assert!(err.contains("accepts none of the client"), "{err}");
        for out in [run.stdout(), err] {
            assert!(!out.contains(&OAUTH_SECRET[..8]), "{out}");
        }
    }
}
