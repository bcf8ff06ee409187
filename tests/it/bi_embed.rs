//! `revoke bi-embed` against wiremock: the seed's documented example, the signature recomputed
//! from what the server received, each error class, credentials sources, and exit codes.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;
use revoke::sign::tc3;

const ID: &str = TC_ID;
const KEY: &str = TC_KEY;

fn ok(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json")
}

/// Recomputes the TC3 signature from the request as received and checks every common header.
#[track_caller]
fn assert_signed(req: &Request, secret_id: &str, secret_key: &str) {
    let host = header(req, "host").expect("Host");
    let ct = header(req, "content-type").expect("Content-Type");
    assert_eq!(ct, "application/json");
    assert_eq!(header(req, "x-tc-action"), Some("ClearEmbedToken"));
    assert_eq!(header(req, "x-tc-version"), Some("2022-01-05"));
    let ua = header(req, "user-agent").unwrap();
    assert!(ua.starts_with("revoke/"), "User-Agent {ua}");
    let ts: i64 = header(req, "x-tc-timestamp").unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!((now - ts).abs() < 120, "timestamp {ts} is not now");
    let signed = tc3::sign(&tc3::SigningParams {
        secret_id,
        secret_key,
        service: "bi",
        timestamp: ts,
        method: "POST",
        uri: req.url.path(),
        headers: &[("content-type", ct), ("host", host)],
        payload: &req.body,
    });
    assert_eq!(
        header(req, "authorization"),
        Some(signed.authorization.as_str())
    );
}

#[tokio::test]
async fn documented_example_is_sent_exactly_and_its_answer_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(ok(&fixture("bi_embed/response_example.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri()).arg_page("8991").run().await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    let req = &reqs[0];
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    let documented: Value =
        serde_json::from_str(&fixture("bi_embed/request_example.json")).unwrap();
    assert_eq!(
        body, documented,
        "same fields and values as the documented input"
    );
    // Field order as tccli sends them, compact as serde_json writes them.
    assert_eq!(
        String::from_utf8_lossy(&req.body),
        r#"{"ProjectId":"889","UserCorpId":"700000777778","Scope":"page","PageId":"8991"}"#
    );
    assert_eq!(header(req, "host").unwrap(), server.address().to_string());
    assert!(
        header(req, "x-tc-region").is_none(),
        "no region unless given"
    );
    assert!(
        header(req, "x-tc-token").is_none(),
        "no token with a long-term key"
    );
    assert_signed(req, ID, KEY);

    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_record_schema(r);
    assert_eq!(r["provider"], "bi-embed");
    assert_eq!(r["target"], serde_json::json!({"page_id": "8991"}));
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 200);
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["request_id"], "RequestId");
    assert_eq!(r["data"], false, "Data is carried as data");
    assert_summary_schema(&run.summary(), 0);
    assert_eq!(run.summary()["summary"]["revoked"], 1);
}

#[tokio::test]
async fn temporary_key_region_no_page_id_and_non_ascii() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri())
        .env("TENCENTCLOUD_TOKEN", "biTestSessionToken-0002")
        .args(["--region", "ap-singapore"])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        header(&reqs[0], "x-tc-token"),
        Some("biTestSessionToken-0002")
    );
    assert_eq!(header(&reqs[0], "x-tc-region"), Some("ap-singapore"));
    assert_eq!(
        String::from_utf8_lossy(&reqs[0].body),
        r#"{"ProjectId":"889","UserCorpId":"700000777778","Scope":"page"}"#,
        "no PageId when none is given"
    );
    assert_signed(&reqs[0], ID, KEY);
    let r = &run.records()[0];
    assert_eq!(r["target"], serde_json::json!({"page_id": null}));
    assert_eq!(r["data"], true);
    run.assert_no_secret(&["biTestSessionToken-0002", KEY]);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri())
        .arg_page("页面-1 ü")
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert!(String::from_utf8_lossy(&reqs[0].body).contains("\"PageId\":\"页面-1 ü\""));
    assert_signed(&reqs[0], ID, KEY);
}

#[tokio::test]
async fn a_path_prefix_is_kept_and_signed_as_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/gateway/bi/"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&format!("{}/gateway/bi", server.uri()))
        .args(["1"])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_signed(&reqs[0], ID, KEY);
}

#[tokio::test]
async fn signature_failure_stops_the_run_with_exit_3() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/error_signature_failure.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri())
        .args(["1", "2", "3"])
        .arg_page("4")
        .run()
        .await;
    run.assert_code(3);
    let records = run.records();
    assert_eq!(records.len(), 4, "every target has a record");
    assert_eq!(records[0]["status"], "failed");
    assert_eq!(records[0]["error"]["code"], "AuthFailure.SignatureFailure");
    assert_eq!(records[0]["error"]["retryable"], false);
    assert_eq!(
        records[0]["request_id"],
        "ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"
    );
    for r in &records[1..] {
        assert_eq!(r["status"], "skipped");
        assert_eq!(r["attempts"], 0);
        assert_record_schema(r);
    }
    assert_summary_schema(&run.summary(), 3);
}

#[tokio::test]
async fn invalid_parameter_fails_one_target_and_the_run_goes_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains(
            "\"PageId\":\"bad\"",
        ))
        .respond_with(ok(&fixture("bi_embed/error_invalid_parameter.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri())
        .args(["ok1", "bad", "ok2"])
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["revoked", "failed", "revoked"]);
    assert_eq!(records[1]["error"]["code"], "InvalidParameter");
    assert_eq!(
        records[1]["attempts"], 1,
        "a rejected request is not retried"
    );
    assert_eq!(run.summary()["summary"]["failed"], 1);
}

#[tokio::test]
async fn request_limit_exceeded_is_retried_with_a_fresh_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/error_request_limit.json")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri()).arg_page("8991").run().await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["attempts"], 3);
    for req in server.received_requests().await.unwrap() {
        assert_signed(&req, ID, KEY);
    }
}

/// A 200 page is not an API 3.0 answer: `NotTheApi`, not retried (the page answers the same
/// way every time).
#[tokio::test]
async fn a_page_with_200_is_not_the_api_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri())
        .args(["--retries", "1"])
        .arg_page("8991")
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["error"]["code"], "NotTheApi");
    assert_eq!(r["error"]["retryable"], false);
}

#[tokio::test]
async fn tccli_profile_is_used_when_env_is_unset() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(2)
        .mount(&server)
        .await;
    let cmd = Revoke::new()
        .args(["bi-embed", "--endpoint", &server.uri(), "-o", "json"])
        .args([
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
            "--scope",
            "panel",
        ]);
    std::fs::create_dir(cmd.home().join(".tccli")).unwrap();
    std::fs::write(
        cmd.home().join(".tccli/default.credential"),
        r#"{"secretId": "AKIDprofile", "secretKey": "profileKey", "token": "profileTok"}"#,
    )
    .unwrap();
    std::fs::write(
        cmd.home().join(".tccli/ops.credential"),
        r#"{"secretId": "AKIDops", "secretKey": "opsKey"}"#,
    )
    .unwrap();
    let home = cmd.home().to_path_buf();
    let run = cmd.run().await;
    run.assert_code(0);
    let run2 = Revoke::new()
        .env("HOME", &home)
        .env("TCCLI_PROFILE", "ops")
        .args(["bi-embed", "--endpoint", &server.uri(), "-o", "json"])
        .args([
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
            "--scope",
            "panel",
        ])
        .run()
        .await;
    run2.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_signed(&reqs[0], "AKIDprofile", "profileKey");
    assert_eq!(header(&reqs[0], "x-tc-token"), Some("profileTok"));
    assert_signed(&reqs[1], "AKIDops", "opsKey");
}

#[tokio::test]
async fn usage_errors_exit_2_and_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(0)
        .mount(&server)
        .await;
    // No credential anywhere: the message names where it looked.
    let run = Revoke::new()
        .args(["bi-embed", "--endpoint", &server.uri()])
        .args([
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
            "--scope",
            "page",
            "1",
        ])
        .run()
        .await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(
        err.contains("TENCENTCLOUD_SECRET_ID") && err.contains(".tccli/default.credential"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    // Plain http to a host that is not loopback.
    let run = Revoke::bi_embed("http://192.0.2.1:80")
        .args(["1"])
        .run()
        .await;
    run.assert_usage("refusing plain http");
    // A bad flag value.
    let run = Revoke::bi_embed(&server.uri())
        .args(["--scope", "everything", "1"])
        .run()
        .await;
    run.assert_code(2);
    let run = Revoke::bi_embed(&server.uri())
        .args(["--concurrency", "0", "1"])
        .run()
        .await;
    run.assert_code(2);
    // A missing input file.
    let run = Revoke::bi_embed(&server.uri())
        .args(["--input", "/nonexistent/pages.txt"])
        .run()
        .await;
    run.assert_code(2);
}

#[tokio::test]
async fn targets_from_args_then_input_keep_their_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(&fixture("bi_embed/success_tccli.json")))
        .expect(5)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pages.txt");
    std::fs::write(&file, "# pages\n p3 \n\np4\n").unwrap();
    let run = Revoke::bi_embed(&server.uri())
        .args(["p1", "p2", "--input"])
        .arg_path(&file)
        .args(["--input-dummy-guard"])
        .run()
        .await;
    // `--input-dummy-guard` is not a flag: a usage error proves unknown flags are caught.
    run.assert_code(2);
    let run = Revoke::bi_embed(&server.uri())
        .args(["p1", "p2", "--input"])
        .arg_path(&file)
        .stdin("")
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["target"]["page_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p1", "p2", "p3", "p4"]);
    let run = Revoke::bi_embed(&server.uri())
        .args(["--input", "-"])
        .stdin("s1\n")
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["target"]["page_id"], "s1");
}

#[tokio::test]
async fn dry_run_sends_nothing_and_masks_every_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok("{}"))
        .expect(0)
        .mount(&server)
        .await;
    let secrets = [
        "AKIDsentinelIdentity0001",
        "sentinelSecretKey0001",
        "sentinelToken0001",
    ];
    for output in ["text", "json"] {
        let run = Revoke::new()
            .env("TENCENTCLOUD_SECRET_ID", secrets[0])
            .env("TENCENTCLOUD_SECRET_KEY", secrets[1])
            .env("TENCENTCLOUD_TOKEN", secrets[2])
            .args([
                "bi-embed",
                "--endpoint",
                &server.uri(),
                "--dry-run",
                "-vvv",
                "-o",
                output,
            ])
            .args([
                "--project-id",
                "889",
                "--user-corp-id",
                "7",
                "--scope",
                "page",
                "1",
                "2",
            ])
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&secrets);
        assert!(run.stdout().contains("Signature=***"), "{}", run.stdout());
        assert!(
            run.stderr()
                .contains("credentials from env TENCENTCLOUD_SECRET_ID"),
            "{}",
            run.stderr()
        );
        if output == "json" {
            let records = run.records();
            assert_eq!(records.len(), 2);
            for r in &records {
                assert_eq!(r["status"], "planned");
                assert_record_schema(r);
                assert_eq!(r["data"]["headers"]["x-tc-action"], "ClearEmbedToken");
            }
        }
    }
}

trait ArgExt {
    fn arg_page(self, p: &str) -> Self;
    fn arg_path(self, p: &std::path::Path) -> Self;
}

impl ArgExt for Revoke {
    fn arg_page(self, p: &str) -> Self {
        self.args([p])
    }
    fn arg_path(self, p: &std::path::Path) -> Self {
        self.args([p])
    }
}
