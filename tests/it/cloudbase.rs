//! `revoke cloudbase` against wiremock: the documented POST with the seed's example token, the
//! gateway's "already invalid" answers, the error schema, retries, the host choice (seen through
//! `--dry-run`, as the real gateways cannot be reached), and that tokens never reach any output.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;
use revoke::secret::fingerprint;

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw("{}", "application/json")
}

fn error(status: u16, fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        fixture(&format!("cloudbase/{fixture_name}")),
        "application/json",
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The seed's example access token (a JWT), as a target read from a file.
fn example_token() -> String {
    fixture("cloudbase/example_access_token.txt")
        .trim()
        .to_string()
}

fn token_file(dir: &tempfile::TempDir, tokens: &[&str]) -> std::path::PathBuf {
    let p = dir.path().join("tokens.txt");
    std::fs::write(&p, tokens.join("\n") + "\n").unwrap();
    p
}

#[tokio::test]
async fn documented_request_is_sent_exactly() {
    let token = example_token();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/v1/revoke"))
        .and(query_param("client_id", "app-1"))
        .and(header("authorization", bearer(&token).as_str()))
        .and(header("x-device-id", "device-7f3a"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "token": token })))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(&dir, &[&token]);
    let run = Revoke::cloudbase(&server.uri())
        .args([
            "--client-id",
            "app-1",
            "--device-id",
            "device-7f3a",
            "--input",
        ])
        .args([&file])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[0].url.query(), Some("client_id=app-1"));
    assert_eq!(
        String::from_utf8_lossy(&reqs[0].body),
        format!("{{\"token\":\"{token}\"}}")
    );
    assert!(
        !run.stderr().contains("revoke: warning:"),
        "no warning for tokens from a file: {}",
        run.stderr()
    );

    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_record_schema(r);
    assert_eq!(r["provider"], "cloudbase");
    assert_eq!(r["target"], json!({ "token": fingerprint(&token) }));
    assert!(r["target"]["token"].as_str().unwrap().len() == "sha256:".len() + 12);
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 200);
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["data"], Value::Null);
    assert_eq!(r["error"], Value::Null);
    let s = run.summary();
    assert_summary_schema(&s, 0);
    assert_eq!(s["summary"]["revoked"], 1);
}

#[tokio::test]
async fn client_id_and_device_id_are_sent_only_when_given() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/v1/revoke"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--input", "-"])
        .stdin("cbPlainToken-0001\n")
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[0].url.query(), None, "no client_id unless given");
    assert!(crate::support::header(&reqs[0], "x-device-id").is_none());
    assert_eq!(
        crate::support::header(&reqs[0], "authorization"),
        Some("Bearer cbPlainToken-0001")
    );
}

#[tokio::test]
async fn access_token_invalid_and_expired_are_already_invalid() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer cbInvalidToken-0001"))
        .respond_with(error(401, "error_access_token_invalid.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer cbExpiredToken-0001"))
        .respond_with(error(401, "error_access_token_expired.json"))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(&dir, &["cbInvalidToken-0001", "cbExpiredToken-0001"]);
    let run = Revoke::cloudbase(&server.uri())
        .args(["--input"])
        .args([&file])
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 2);
    for (r, code) in records
        .iter()
        .zip(["ACCESS_TOKEN_INVALID", "ACCESS_TOKEN_EXPIRED"])
    {
        assert_record_schema(r);
        assert_eq!(r["status"], "already_invalid");
        assert_eq!(r["http_status"], 401);
        assert_eq!(r["attempts"], 1, "not retried");
        assert_eq!(r["error"]["code"], code);
        assert_eq!(r["error"]["retryable"], false);
    }
    assert_eq!(
        records[0]["request_id"],
        "c3a2b1d0-0000-4000-8000-000000000001"
    );
    let s = run.summary();
    assert_summary_schema(&s, 0);
    assert_eq!(s["summary"]["already_invalid"], 2);
    run.assert_no_secret(&["cbInvalidToken-0001", "cbExpiredToken-0001"]);
}

#[tokio::test]
async fn server_error_with_the_documented_schema_is_retried_then_fails() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            error(500, "error_schema_example.json").insert_header("x-request-id", "req-500"),
        )
        .expect(3)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--retries", "2", "--input", "-"])
        .stdin("cbServerErrorToken-0001\n")
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_record_schema(r);
    assert_eq!(r["status"], "failed");
    assert_eq!(r["http_status"], 500);
    assert_eq!(r["attempts"], 3);
    assert_eq!(r["request_id"], "req-500");
    // `error` is the code, `error_description` the message (the example's values).
    assert_eq!(
        r["error"],
        json!({"code": "string", "message": "string", "retryable": true})
    );
    assert_summary_schema(&run.summary(), 1);
}

#[tokio::test]
async fn exceed_ratelimit_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(429, "error_exceed_ratelimit.json"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--input", "-"])
        .stdin("cbThrottledToken-0001\n")
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 200);
    assert_eq!(r["attempts"], 2);
}

#[tokio::test]
async fn another_401_fails_that_token_only_and_the_run_goes_on() {
    // The token is the only credential: a 401 about it is no reason to skip the others.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer cbRefusedToken-0001"))
        .respond_with(error(401, "error_invalid_credentials.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["--input", "-"])
        .stdin("cbRefusedToken-0001\ncbGoodToken-0001\ncbGoodToken-0002\n")
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "revoked", "revoked"]);
    assert_eq!(records[0]["error"]["code"], "INVALID_CREDENTIALS");
    assert_eq!(records[0]["attempts"], 1);
}

#[tokio::test]
async fn host_comes_from_env_id_and_intl_unless_endpoint_is_given() {
    let run_dry = |args: Vec<&'static str>| async move {
        let run = Revoke::new()
            .args(["cloudbase", "--dry-run", "-o", "json"])
            .args(args)
            .args(["--input", "-"])
            .stdin("cbDryRunToken-0001\n")
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&["cbDryRunToken-0001"]);
        let r = run.records()[0].clone();
        assert_record_schema(&r);
        assert_eq!(r["status"], "planned");
        r
    };
    let r = run_dry(vec!["--env-id", "my-env-1a2b"]).await;
    assert_eq!(
        r["data"]["url"],
        "https://my-env-1a2b.api.tcloudbasegateway.com/auth/v1/revoke"
    );
    assert_eq!(r["data"]["method"], "POST");
    assert_eq!(
        r["data"]["headers"]["Host"],
        "my-env-1a2b.api.tcloudbasegateway.com"
    );
    assert_eq!(r["data"]["headers"]["authorization"], "Bearer ***");
    assert_eq!(r["data"]["headers"]["content-type"], "application/json");
    assert_eq!(r["data"]["body"], r#"{"token":"***"}"#);

    let r = run_dry(vec![
        "--env-id",
        "my-env-1a2b",
        "--intl",
        "--client-id",
        "app",
    ])
    .await;
    assert_eq!(
        r["data"]["url"],
        "https://my-env-1a2b.api.intl.tcloudbasegateway.com/auth/v1/revoke?client_id=app"
    );

    let r = run_dry(vec![
        "--env-id",
        "my-env-1a2b",
        "--intl",
        "--endpoint",
        "https://gateway.example.com/base",
        "--device-id",
        "dev-1",
    ])
    .await;
    assert_eq!(
        r["data"]["url"],
        "https://gateway.example.com/base/auth/v1/revoke"
    );
    assert_eq!(r["data"]["headers"]["x-device-id"], "dev-1");

    let r = run_dry(vec!["--endpoint", "https://gateway.example.com"]).await;
    assert_eq!(
        r["data"]["url"],
        "https://gateway.example.com/auth/v1/revoke"
    );
}

#[tokio::test]
async fn usage_errors_exit_2_and_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .expect(0)
        .mount(&server)
        .await;
    // Neither --env-id nor --endpoint.
    (Revoke::new()
        .args(["cloudbase", "--input", "-"])
        .stdin("cbToken-0001\n")
        .run()
        .await)
        .assert_usage("--env-id is required");
    // An env id that is not a host label.
    (Revoke::new()
        .args([
            "cloudbase",
            "--env-id",
            "evil.example.com/x",
            "--input",
            "-",
        ])
        .stdin("cbToken-0001\n")
        .run()
        .await)
        .assert_usage("is not a CloudBase environment id");
    // No token.
    (Revoke::cloudbase(&server.uri()).run().await).assert_usage("no tokens given");
    // A token with whitespace in a file: refused before anything is sent.
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(&dir, &["cbToken-0001", "cb bad token"]);
    (Revoke::cloudbase(&server.uri())
        .args(["--input"])
        .args([&file])
        .run()
        .await)
        .assert_usage("tokens.txt:2: a token cannot contain whitespace");
    // Empty flag values.
    (Revoke::cloudbase(&server.uri())
        .args(["--client-id", " ", "cbToken-0001"])
        .run()
        .await)
        .assert_usage("--client-id cannot be empty");
    (Revoke::cloudbase(&server.uri())
        .args(["--device-id", "gerät", "cbToken-0001"])
        .run()
        .await)
        .assert_usage("--device-id must be ASCII");
    // Plain http to a host that is not loopback.
    (Revoke::new()
        .args([
            "cloudbase",
            "--endpoint",
            "http://192.0.2.1",
            "cbToken-0001",
        ])
        .run()
        .await)
        .assert_usage("refusing plain http");
}

#[tokio::test]
async fn tokens_as_arguments_draw_one_warning() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .expect(3)
        .mount(&server)
        .await;
    let run = Revoke::cloudbase(&server.uri())
        .args(["cbArgToken-0001", "cbArgToken-0002"])
        .run()
        .await;
    run.assert_code(0);
    let err = run.stderr();
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("revoke: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {err}");
    assert!(warnings[0].contains("process list"), "{err}");
    run.assert_no_secret(&["cbArgToken-0001", "cbArgToken-0002"]);

    let run = Revoke::cloudbase(&server.uri())
        .args(["-q", "cbArgToken-0003"])
        .run()
        .await;
    run.assert_code(0);
    assert!(run.stderr().is_empty(), "-q silences it: {}", run.stderr());
}

#[tokio::test]
async fn tokens_are_never_printed() {
    let tokens = ["cbSentinelToken/A+0001", "cbSentinelToken-B-0002"];
    // The raw tokens, and the first one percent-encoded.
    let hidden = [tokens[0], tokens[1], "cbSentinelToken%2FA%2B0001"];
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok())
        .expect(4)
        .mount(&server)
        .await;
    for output in ["text", "json"] {
        let run = Revoke::new()
            .args(["cloudbase", "--endpoint", &server.uri()])
            .args(["-vvv", "-o", output, "--input", "-"])
            .stdin(tokens.join("\n"))
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&hidden);
        assert!(
            run.stderr().contains("authorization: Bearer ***"),
            "-vvv shows the masked request: {}",
            run.stderr()
        );
    }
    for output in ["text", "json"] {
        let run = Revoke::new()
            .args(["cloudbase", "--endpoint", &server.uri()])
            .args(["--dry-run", "-vvv", "-o", output, "--input", "-"])
            .stdin(tokens.join("\n"))
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&hidden);
        assert!(
            run.stdout().contains(r#"{\"token\":\"***\"}"#)
                || run.stdout().contains(r#"{"token":"***"}"#),
            "{}",
            run.stdout()
        );
    }

    // A failing server, answers logged at -vvv.
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error(500, "error_schema_example.json"))
        .expect(2)
        .mount(&failing)
        .await;
    let run = Revoke::cloudbase(&failing.uri())
        .args(["-vvv", "--retries", "1", "--input", "-"])
        .stdin(tokens[0])
        .run()
        .await;
    run.assert_code(1);
    run.assert_no_secret(&hidden);
    assert!(run.stderr().contains("answer body"), "{}", run.stderr());

    // Not a vendor example but a hostile answer, made up here on purpose: a server that echoes
    // the token in its error message. The record's message shows it masked.
    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_raw(
            format!(
                r#"{{"error":"internal","error_code":13,"error_description":"cannot revoke {}"}}"#,
                tokens[1]
            ),
            "application/json",
        ))
        .expect(2)
        .mount(&failing)
        .await;
    let run = Revoke::cloudbase(&failing.uri())
        .args(["-vvv", "--retries", "1", "--input", "-"])
        .stdin(tokens[1])
        .run()
        .await;
    run.assert_code(1);
    run.assert_no_secret(&hidden);
    let r = &run.records()[0];
    assert_eq!(r["error"]["code"], "internal");
    assert_eq!(r["error"]["message"], "cannot revoke ***");
    assert_eq!(r["attempts"], 2);
}
