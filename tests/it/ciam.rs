//! `revoke ciam` against wiremock: the seed's sample request byte for byte, both client
//! authentication methods, RFC 7009 answers (200 whatever the body, 401 invalid_client, 400
//! unsupported_token_type, 503 with and without Retry-After), `--domain`, and secrets.

use base64::Engine as _;
use serde_json::json;
use wiremock::matchers as m;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;
use revoke::secret::fingerprint;

const CLIENT_ID: &str = CIAM_CLIENT_ID;
const SECRET: &str = CIAM_SECRET;
const FORM: &str = "application/x-www-form-urlencoded";
const WARNING: &str = "visible to other users in the process list";

fn revoke_post() -> wiremock::MockBuilder {
    Mock::given(m::method("POST")).and(m::path("/oauth2/revoke"))
}

fn json_error(status: u16, fixture_path: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(fixture(fixture_path), "application/json;charset=UTF-8")
}

fn body_text(req: &wiremock::Request) -> String {
    String::from_utf8(req.body.clone()).unwrap()
}

#[tokio::test]
async fn seed_sample_request_is_sent_byte_for_byte() {
    let server = MockServer::start().await;
    let sample = fixture("ciam/request_sample.txt");
    revoke_post()
        .and(m::header("content-type", FORM))
        .and(m::body_string(sample.trim_end()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("MOCK_ACCESS_TOKEN\n")
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert!(
        header(&reqs[0], "authorization").is_none(),
        "client_secret_post sends no Authorization"
    );
    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_record_schema(r);
    assert_eq!(r["provider"], "ciam");
    assert_eq!(
        r["target"],
        json!({"token": fingerprint("MOCK_ACCESS_TOKEN")})
    );
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 200);
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["error"], serde_json::Value::Null);
    assert_summary_schema(&run.summary(), 0);
    assert!(
        !run.stderr().contains(WARNING),
        "no warning for stdin tokens"
    );
}

#[tokio::test]
async fn token_type_hint_is_appended_to_the_form() {
    let server = MockServer::start().await;
    revoke_post()
        .and(m::body_string(
            "client_id=TENANT_CLIENT_ID&client_secret=TENANT_CLIENT_SECRET&token=rt-1&token_type_hint=refresh_token",
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--token-type-hint", "refresh_token", "--input", "-"])
        .stdin("rt-1\n")
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["status"], "revoked");
}

#[tokio::test]
async fn client_auth_basic_sends_credentials_in_the_header_only() {
    let server = MockServer::start().await;
    revoke_post()
        .and(m::header("content-type", FORM))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    // Characters that form-urlencoding changes, to show it happens before base64 (RFC 6749 2.3.1).
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret/+é")
        .args(["ciam", "--endpoint", &server.uri(), "-o", "json"])
        .args(["--client-id", "app:1 x", "--client-auth", "basic"])
        .args(["--token-type-hint", "access_token", "--input", "-"])
        .stdin("at-1\n")
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    let auth = header(&reqs[0], "authorization").expect("Authorization");
    let encoded = auth.strip_prefix("Basic ").expect("Basic scheme");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "app%3A1%20x:s3cret%2F%2B%C3%A9",
        "urlencode(client_id):urlencode(client_secret), a space as %20"
    );
    let body = body_text(&reqs[0]);
    assert_eq!(body, "token=at-1&token_type_hint=access_token");
    assert!(!body.contains("client_secret") && !body.contains("client_id"));
}

#[tokio::test]
async fn domain_means_https_host_and_is_validated() {
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", SECRET)
        .args([
            "ciam",
            "--domain",
            "sample.portal.tencentciam.com",
            "--dry-run",
        ])
        .args(["--client-id", CLIENT_ID, "-o", "json", "--input", "-"])
        .stdin("MOCK_ACCESS_TOKEN\n")
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "planned");
    assert_eq!(
        r["data"]["url"],
        "https://sample.portal.tencentciam.com/oauth2/revoke"
    );
    assert_eq!(
        r["data"]["headers"]["Host"],
        "sample.portal.tencentciam.com"
    );

    let server = MockServer::start().await;
    revoke_post()
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    for domain in [
        "https://sample.portal.tencentciam.com",
        "sample.portal.tencentciam.com/oauth2",
        "",
    ] {
        let run = Revoke::new()
            .env("CIAM_CLIENT_SECRET", SECRET)
            .args(["ciam", "--domain", domain, "--client-id", CLIENT_ID, "t1"])
            .run()
            .await;
        run.assert_usage("--domain");
    }
    let run = Revoke::ciam(&server.uri())
        .args(["--domain", "sample.portal.tencentciam.com", "t1"])
        .run()
        .await;
    run.assert_code(2);
    let run = Revoke::new()
        .env("REVOKE_ENDPOINT", server.uri())
        .env("CIAM_CLIENT_SECRET", SECRET)
        .args(["ciam", "--domain", "sample.portal.tencentciam.com"])
        .args(["--client-id", CLIENT_ID, "t1"])
        .run()
        .await;
    run.assert_code(2);
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", SECRET)
        .args(["ciam", "--client-id", CLIENT_ID, "t1"])
        .run()
        .await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(
        err.contains("--domain") && err.contains("--endpoint"),
        "{err}"
    );
}

#[tokio::test]
async fn success_with_an_empty_or_json_body_is_revoked() {
    let server = MockServer::start().await;
    revoke_post()
        .and(m::body_string_contains("token=empty-body"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    revoke_post()
        .and(m::body_string_contains("token=json-body"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("empty-body\njson-body\n")
        .run()
        .await;
    run.assert_code(0);
    for r in run.records() {
        assert_eq!(r["status"], "revoked", "{r}");
        assert_eq!(r["http_status"], 200);
    }
    assert_eq!(run.summary()["summary"]["revoked"], 2);
}

#[tokio::test]
async fn invalid_client_stops_the_run_with_exit_3() {
    let server = MockServer::start().await;
    revoke_post()
        .respond_with(json_error(401, "ciam/error_invalid_client.json"))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("t1\nt2\nt3\n")
        .run()
        .await;
    run.assert_code(3);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let records = run.records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["status"], "failed");
    assert_eq!(records[0]["http_status"], 401);
    assert_eq!(records[0]["error"]["code"], "invalid_client");
    assert_eq!(records[0]["error"]["retryable"], false);
    for r in &records[1..] {
        assert_record_schema(r);
        assert_eq!(r["status"], "skipped");
        assert_eq!(r["attempts"], 0);
    }
    assert_summary_schema(&run.summary(), 3);
}

#[tokio::test]
async fn unsupported_token_type_fails_one_token_and_the_run_goes_on() {
    let server = MockServer::start().await;
    revoke_post()
        .and(m::body_string_contains("token=bad"))
        .respond_with(json_error(400, "ciam/error_unsupported_token_type.json"))
        .expect(1)
        .mount(&server)
        .await;
    revoke_post()
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("ok1\nbad\nok2\n")
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["revoked", "failed", "revoked"]);
    assert_eq!(records[1]["error"]["code"], "unsupported_token_type");
    assert_eq!(records[1]["http_status"], 400);
    assert_eq!(records[1]["attempts"], 1, "a 400 is not retried");
}

#[tokio::test]
async fn unavailable_503_is_retried_honouring_retry_after() {
    let server = MockServer::start().await;
    revoke_post()
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    revoke_post()
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("t1\n")
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["attempts"], 2);
    assert!(
        r["elapsed_ms"].as_u64().unwrap() >= 1000,
        "waited the Retry-After second: {r}"
    );
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        body_text(&reqs[0]),
        body_text(&reqs[1]),
        "the same request again"
    );

    // Without Retry-After: the backoff decides, and the retry still happens.
    let server = MockServer::start().await;
    revoke_post()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    revoke_post()
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("t1\n")
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["attempts"], 2);
}

#[tokio::test]
async fn endpoint_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/prefix/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", SECRET)
        .args(["ciam", "--endpoint", &format!("{}/prefix", server.uri())])
        .args(["--client-id", CLIENT_ID, "-o", "json", "--input", "-"])
        .stdin("t1\n")
        .run()
        .await;
    run.assert_code(0);
}

#[tokio::test]
async fn positional_tokens_draw_exactly_one_warning() {
    let server = MockServer::start().await;
    revoke_post()
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["tok-a", "tok-b"])
        .run()
        .await;
    run.assert_code(0);
    let warnings = run.stderr().lines().filter(|l| l.contains(WARNING)).count();
    assert_eq!(warnings, 1, "{}", run.stderr());
    assert!(run.stderr().contains("prefer --input FILE or --input -"));
    run.assert_no_secret(&["tok-a", "tok-b"]);
}

#[tokio::test]
async fn secret_sources_and_usage_errors() {
    let server = MockServer::start().await;
    revoke_post()
        .and(m::body_string_contains("client_secret=from-file-secret"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let cmd = Revoke::ciam(&server.uri());
    let file = private_file(cmd.home(), "secret", "from-file-secret\n");
    let run = cmd
        .args(["--client-secret-file"])
        .args([&file])
        .args(["--input", "-"])
        .stdin("t1\n")
        .run()
        .await;
    run.assert_code(0);
    run.assert_no_secret(&["from-file-secret"]);
    assert_eq!(
        run.records()[0]["status"],
        "revoked",
        "the file's secret was sent"
    );

    // No secret anywhere: the message names both sources.
    let run = Revoke::new()
        .args([
            "ciam",
            "--endpoint",
            &server.uri(),
            "--client-id",
            CLIENT_ID,
            "t1",
        ])
        .run()
        .await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(
        err.contains("CIAM_CLIENT_SECRET") && err.contains("--client-secret-file"),
        "{err}"
    );
    // Both from stdin.
    let run = Revoke::ciam(&server.uri())
        .args(["--client-secret-file", "-", "--input", "-"])
        .stdin("s\nt1\n")
        .run()
        .await;
    run.assert_usage("stdin");
    // No token.
    let run = Revoke::ciam(&server.uri()).run().await;
    run.assert_usage("no token");
    // An empty client id.
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", SECRET)
        .args([
            "ciam",
            "--endpoint",
            &server.uri(),
            "--client-id",
            " ",
            "t1",
        ])
        .run()
        .await;
    run.assert_code(2);
    // A token with whitespace inside cannot be sent as one.
    let run = Revoke::ciam(&server.uri()).args(["two words"]).run().await;
    run.assert_code(2);
    run.assert_no_secret(&["two words"]);
}

#[tokio::test]
async fn no_secret_reaches_any_output() {
    let secret = "sentinel-ciam-secret/+=0001";
    let file_secret = "sentinel-ciam-file-secret-0002";
    let tokens = ["sentinel-token-aaaa-0001", "sentinel-token-bbbb-0002"];
    let stdin = format!("{}\n{}\n", tokens[0], tokens[1]);
    // Everything the secrets could be printed as: raw, form-encoded, base64 of the Basic pair.
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{CLIENT_ID}:sentinel-ciam-secret%2F%2B%3D0001"));
    let forbidden = [
        secret,
        "sentinel-ciam-secret%2F%2B%3D0001",
        file_secret,
        tokens[0],
        tokens[1],
        basic.as_str(),
    ];

    // A server that fails, echoing the token it was sent in its error, at -vvv, both auth
    // methods.
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .respond_with(|req: &wiremock::Request| {
            let body = body_text(req);
            let token = body
                .split('&')
                .find_map(|p| p.strip_prefix("token="))
                .unwrap_or_default()
                .to_string();
            ResponseTemplate::new(500).set_body_raw(
                format!(
                    r#"{{"error":"server_error","error_description":"could not revoke {token}"}}"#
                ),
                "application/json",
            )
        })
        .expect(8)
        .mount(&server)
        .await;
    for auth in ["post", "basic"] {
        let run = Revoke::new()
            .env("CIAM_CLIENT_SECRET", secret)
            .args([
                "ciam",
                "--endpoint",
                &server.uri(),
                "--client-id",
                CLIENT_ID,
            ])
            .args([
                "--client-auth",
                auth,
                "-vvv",
                "--retries",
                "1",
                "--input",
                "-",
            ])
            .stdin(stdin.clone())
            .run()
            .await;
        run.assert_code(1);
        run.assert_no_secret(&forbidden);
        assert!(run.stdout().contains("failed"), "{}", run.stdout());
        assert!(
            run.stderr().contains("could not revoke ***"),
            "{}",
            run.stderr()
        );
    }

    // A dry run at -vvv, text and json: secret from env with tokens as arguments, then secret
    // from a file with tokens from stdin.
    let dir = tempfile::tempdir().unwrap();
    let file = private_file(dir.path(), "secret", file_secret);
    for output in ["text", "json"] {
        let dry = || {
            Revoke::new()
                .args([
                    "ciam",
                    "--endpoint",
                    &server.uri(),
                    "--client-id",
                    CLIENT_ID,
                ])
                .args(["--dry-run", "-vvv", "-o", output])
        };
        for cmd in [
            dry().env("CIAM_CLIENT_SECRET", secret).args(tokens),
            dry()
                .args(["--client-auth", "basic", "--client-secret-file"])
                .args([&file])
                .args(["--input", "-"])
                .stdin(stdin.clone()),
        ] {
            let run = cmd.run().await;
            run.assert_code(0);
            run.assert_no_secret(&forbidden);
            assert!(run.stdout().contains("token=***"), "{}", run.stdout());
        }
    }

    // A success at -vvv.
    let ok = MockServer::start().await;
    revoke_post()
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&ok)
        .await;
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", secret)
        .args([
            "ciam",
            "--endpoint",
            &ok.uri(),
            "--client-id",
            CLIENT_ID,
            "-vvv",
        ])
        .args(tokens)
        .run()
        .await;
    run.assert_code(0);
    run.assert_no_secret(&forbidden);
    assert!(
        run.stderr().contains("client_secret=***&token=***"),
        "the request is logged masked at -vv: {}",
        run.stderr()
    );
}

/// A server whose answer for the second target quotes the first (revoked already, its request
/// gone): the first is masked in stdout and at -vvv on stderr, in text and JSON output, raw,
/// form-encoded as it was sent, and JSON-escaped; every provider command's targets are known
/// to the scrubber for the whole run, not only while their own request is in flight.
#[tokio::test]
async fn a_target_quoted_in_a_later_targets_answer_is_masked() {
    const FIRST: &str = "ciam/first+Target-token-01";
    const FIRST_FORM: &str = "ciam%2Ffirst%2BTarget-token-01";
    const SECOND: &str = "ciamSecondTargetToken02";
    let server = MockServer::start().await;
    revoke_post()
        .and(m::body_string_contains(format!("token={FIRST_FORM}")))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    revoke_post()
        .and(m::body_string_contains(format!("token={SECOND}")))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            format!(
                r#"{{"error":"invalid_request","error_description":"token {FIRST} ({FIRST_FORM}, ciam\/first+Target-token-01) was revoked already"}}"#
            ),
            "application/json",
        ))
        .expect(2)
        .mount(&server)
        .await;
    for output in ["text", "json"] {
        let run = Revoke::new()
            .env("CIAM_CLIENT_SECRET", SECRET)
            .args(["ciam", "--endpoint", &server.uri(), "-o", output])
            .args(["--client-id", CLIENT_ID, "--concurrency", "1", "-vvv"])
            .args(["--input", "-"])
            .stdin(format!("{FIRST}\n{SECOND}\n"))
            .run()
            .await;
        run.assert_code(1);
        run.assert_no_secret(&[FIRST, FIRST_FORM, "ciam\\/first", SECOND]);
        let said = "(***, ***) was revoked already";
        assert!(run.stdout().contains(said), "{output}: {}", run.stdout());
        assert!(run.stderr().contains(said), "{output}: {}", run.stderr());
        if output == "json" {
            let records = run.records();
            assert_eq!(records[0]["status"], "revoked", "{}", run.stdout());
            assert_eq!(records[1]["status"], "failed", "{}", run.stdout());
        }
    }
}
