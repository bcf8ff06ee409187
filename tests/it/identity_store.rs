//! `revoke identity-store` against wiremock: the exact DELETE (percent-encoded path, headers),
//! the SDK-HMAC-SHA256 signature recomputed from what the server received, credential sources,
//! 404 and `--missing-ok`, APIGW errors, `--all` (list, pages, empty, dry run, rejected), and
//! secrets.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use serde_json::json;
use wiremock::matchers as m;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;
use revoke::sign::huawei;

const AK: &str = HW_AK;
const SK: &str = HW_SK;
/// `--identity-store-id d-1 --tenant-id "t 1"`: the tenant's space must be sent as `%20`.
const BASE: &str = "/v1/identity-stores/d-1/tenant/t%201/bearer-token";

fn huawei_error(status: u16, fixture_path: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-request-id", "hdr-request-id")
        .set_body_raw(fixture(fixture_path), "application/json")
}

fn list_answer(fixture_path: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(fixture_path), "application/json")
}

fn delete(token_path: &str) -> wiremock::MockBuilder {
    Mock::given(m::method("DELETE")).and(m::path(format!("{BASE}/{token_path}")))
}

fn list() -> wiremock::MockBuilder {
    Mock::given(m::method("GET")).and(m::path(BASE))
}

/// Recomputes the signature from the request as received: the signed header names from the
/// Authorization's SignedHeaders, their values from the received headers. Returns the names.
#[track_caller]
fn assert_signed(req: &Request, ak: &str, sk: &str) -> Vec<String> {
    let auth = header(req, "authorization").expect("Authorization");
    let fields: HashMap<&str, &str> = auth
        .strip_prefix("SDK-HMAC-SHA256 ")
        .expect("SDK-HMAC-SHA256 scheme")
        .split(", ")
        .filter_map(|f| f.split_once('='))
        .collect();
    assert_eq!(fields["Access"], ak, "Access");
    let names: Vec<&str> = fields["SignedHeaders"].split(';').collect();
    let values: Vec<(&str, &str)> = names
        .iter()
        .map(|n| {
            (
                *n,
                header(req, n).unwrap_or_else(|| panic!("signed {n} not sent")),
            )
        })
        .collect();
    let date = header(req, "x-sdk-date").expect("X-Sdk-Date");
    let sent = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ").unwrap();
    let skew = (Utc::now().naive_utc() - sent).num_seconds().abs();
    assert!(skew < 120, "X-Sdk-Date {date} is not now");
    let query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signed = huawei::sign(&huawei::SigningParams {
        access_key: ak,
        secret_key: sk,
        method: req.method.as_str(),
        wire_path: req.url.path(),
        query: &query,
        headers: &values,
        body: &req.body,
    })
    .unwrap();
    assert_eq!(auth, signed.authorization, "signature");
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn delete_is_sent_exactly_and_signed() {
    let server = MockServer::start().await;
    delete("tok%3A1")
        .and(m::header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-request-id", "req-1"))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["tok:1"])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    let req = &reqs[0];
    assert_eq!(header(req, "host").unwrap(), server.address().to_string());
    assert!(req.body.is_empty());
    assert!(
        header(req, "x-security-token").is_none(),
        "no temporary credentials"
    );
    assert!(header(req, "x-project-id").is_none(), "no project id given");
    let names = assert_signed(req, AK, SK);
    assert_eq!(names, ["content-type", "host", "x-sdk-date"]);

    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_record_schema(r);
    assert_eq!(r["provider"], "identity-store");
    assert_eq!(r["target"], json!({"token_id": "tok:1"}));
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 200);
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["request_id"], "req-1");
    assert_summary_schema(&run.summary(), 0);
}

#[tokio::test]
async fn temporary_credentials_and_project_id_are_sent_and_signed() {
    let server = MockServer::start().await;
    delete("tok-1")
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let with_env = || {
        Revoke::identity_store(&server.uri())
            .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "hwTestSessionToken==0001")
            .env("HUAWEICLOUD_SDK_PROJECT_ID", "env-project-0001")
    };
    with_env().args(["tok-1"]).run().await.assert_code(0);
    // --project-id wins over the credential source's.
    with_env()
        .args(["--project-id", "flag-project-0002", "tok-1"])
        .run()
        .await
        .assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    for (req, project) in reqs.iter().zip(["env-project-0001", "flag-project-0002"]) {
        assert_eq!(
            header(req, "x-security-token"),
            Some("hwTestSessionToken==0001")
        );
        assert_eq!(header(req, "x-project-id"), Some(project));
        let names = assert_signed(req, AK, SK);
        assert_eq!(
            names,
            [
                "content-type",
                "host",
                "x-project-id",
                "x-sdk-date",
                "x-security-token"
            ]
        );
    }
}

#[tokio::test]
async fn credentials_come_from_the_sdk_credentials_files() {
    let server = MockServer::start().await;
    delete("tok-1")
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let args = |cmd: Revoke| {
        cmd.args(["identity-store", "--endpoint", &server.uri()])
            .args(["--identity-store-id", "d-1", "--tenant-id", "t 1", "tok-1"])
    };
    // HUAWEICLOUD_SDK_CREDENTIALS_FILE, [basic] with every key.
    let dir = tempfile::tempdir().unwrap();
    let file = private_file(
        dir.path(),
        "credentials",
        "[basic]\nak = FILEAK00000000000001\nsk = fileSecretKey0001\nsecurity_token = fileSessionToken0001\nproject_id = file-project-0001\n",
    );
    let run = args(Revoke::new().env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file))
        .run()
        .await;
    run.assert_code(0);
    // ~/.huaweicloud/credentials in HOME, a permanent key only.
    let cmd = Revoke::new();
    std::fs::create_dir(cmd.home().join(".huaweicloud")).unwrap();
    private_file(
        &cmd.home().join(".huaweicloud"),
        "credentials",
        "[basic]\nak=HOMEAK00000000000002\nsk=homeSecretKey0002\n",
    );
    args(cmd).run().await.assert_code(0);

    let reqs = server.received_requests().await.unwrap();
    assert_signed(&reqs[0], "FILEAK00000000000001", "fileSecretKey0001");
    assert_eq!(
        header(&reqs[0], "x-security-token"),
        Some("fileSessionToken0001")
    );
    assert_eq!(header(&reqs[0], "x-project-id"), Some("file-project-0001"));
    assert_signed(&reqs[1], "HOMEAK00000000000002", "homeSecretKey0002");
    assert!(header(&reqs[1], "x-security-token").is_none());
    assert!(header(&reqs[1], "x-project-id").is_none());
}

#[tokio::test]
async fn not_found_fails_unless_missing_ok() {
    let server = MockServer::start().await;
    delete("tok-gone")
        .respond_with(huawei_error(404, "identity_store/error_not_found.json"))
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["tok-gone"])
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_record_schema(r);
    assert_eq!(r["status"], "not_found");
    assert_eq!(r["http_status"], 404);
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["request_id"], "hdr-request-id");
    assert_eq!(r["error"]["code"], "IIC.404");
    assert_summary_schema(&run.summary(), 1);

    let run = Revoke::identity_store(&server.uri())
        .args(["--missing-ok", "tok-gone"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["status"], "not_found");
    assert_eq!(run.summary()["summary"]["not_found"], 1);
}

#[tokio::test]
async fn signature_failure_stops_after_one_request() {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(huawei_error(401, "identity_store/error_apigw_0301.json"))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["tok-1", "tok-2", "tok-3"])
        .run()
        .await;
    run.assert_code(3);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let records = run.records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["status"], "failed");
    assert_eq!(records[0]["error"]["code"], "APIGW.0301");
    assert_eq!(records[0]["error"]["retryable"], false);
    assert_eq!(
        records[0]["attempts"], 1,
        "a signature failure is never retried"
    );
    for r in &records[1..] {
        assert_record_schema(r);
        assert_eq!(r["status"], "skipped");
        assert_eq!(r["attempts"], 0);
    }
    assert_summary_schema(&run.summary(), 3);
}

#[tokio::test]
async fn throttling_is_retried_with_a_fresh_signature() {
    let server = MockServer::start().await;
    delete("tok-1")
        .respond_with(huawei_error(429, "identity_store/error_apigw_0308.json"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    delete("tok-1")
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["tok-1"])
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["attempts"], 2);
    for req in server.received_requests().await.unwrap() {
        assert_signed(&req, AK, SK);
    }
}

#[tokio::test]
async fn all_lists_then_deletes_each_listed_token() {
    let server = MockServer::start().await;
    list()
        .and(m::query_param_is_missing("marker"))
        .respond_with(list_answer("identity_store/list_bearer_tokens.json"))
        .expect(1)
        .mount(&server)
        .await;
    for id in ["tok-aaaa0001", "tok-bbbb0002", "tok-cccc0003"] {
        delete(id)
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }
    let run = Revoke::identity_store(&server.uri())
        .args(["--all"])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[0].method.as_str(), "GET", "the list comes first");
    assert_eq!(reqs[0].url.query(), None);
    for req in &reqs {
        assert_signed(req, AK, SK);
    }
    let records = run.records();
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["target"]["token_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tok-aaaa0001", "tok-bbbb0002", "tok-cccc0003"]);
    for r in &records {
        assert_record_schema(r);
        assert_eq!(r["status"], "revoked");
    }
    assert_summary_schema(&run.summary(), 0);
}

#[tokio::test]
async fn dot_ids_are_refused_and_never_reach_another_path() {
    // `.` and `..` as URL path segments would be normalised away: a DELETE of
    // `.../bearer-token/..` is a DELETE of the tenant.
    let server = MockServer::start().await;
    Mock::given(m::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let base = |store_id: &str, tenant: &str| {
        Revoke::new()
            .env("HUAWEICLOUD_SDK_AK", AK)
            .env("HUAWEICLOUD_SDK_SK", SK)
            .args(["identity-store", "--endpoint", &server.uri(), "-o", "json"])
            .args(["--identity-store-id", store_id, "--tenant-id", tenant])
    };
    for run in [
        base("d-1", "t-1").args(["."]),
        base("d-1", "t-1").args(["tok-1", ".."]),
        base("d-1", "..").args(["tok-1"]),
        base(".", "t-1").args(["tok-1"]),
    ] {
        let run = run.run().await;
        run.assert_usage("cannot be an id");
    }
    server.reset().await;
    list()
        .respond_with(list_answer(
            "identity_store/list_bearer_tokens_dot_ids.json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    delete("tok-aaaa0001")
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all"])
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["revoked", "failed", "failed"]);
    assert_eq!(records[1]["error"]["code"], "InvalidTarget");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one list, one delete"
    );
}

#[tokio::test]
async fn all_with_an_empty_list_deletes_nothing() {
    let server = MockServer::start().await;
    list()
        .respond_with(list_answer("identity_store/list_bearer_tokens_empty.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all"])
        .run()
        .await;
    run.assert_code(0);
    assert!(run.records().is_empty());
    let summary = run.summary();
    assert_summary_schema(&summary, 0);
    assert_eq!(summary["summary"]["total"], 0);
}

#[tokio::test]
async fn all_follows_next_marker_and_retries_a_throttled_page() {
    let server = MockServer::start().await;
    list()
        .and(m::query_param_is_missing("marker"))
        .respond_with(huawei_error(429, "identity_store/error_apigw_0308.json"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    list()
        .and(m::query_param_is_missing("marker"))
        .respond_with(list_answer("identity_store/list_bearer_tokens_page1.json"))
        .expect(1)
        .mount(&server)
        .await;
    list()
        .and(m::query_param("marker", "tok-page1-b"))
        .and(m::query_param("limit", "100"))
        .respond_with(list_answer("identity_store/list_bearer_tokens_page2.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(3)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all"])
        .run()
        .await;
    run.assert_code(0);
    for req in server.received_requests().await.unwrap() {
        assert_signed(&req, AK, SK);
    }
    let ids: Vec<String> = run
        .records()
        .iter()
        .map(|r| r["target"]["token_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["tok-page1-a", "tok-page1-b", "tok-page2-a"]);
}

#[tokio::test]
async fn all_stops_when_the_pages_come_round_again() {
    let server = MockServer::start().await;
    // Page 1 names itself as the next page: following it would never end.
    list()
        .respond_with(list_answer("identity_store/list_bearer_tokens_page1.json"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all"])
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr().contains("next_marker"), "{}", run.stderr());
}

/// A page whose `next_marker` names the page after it: `n` tokens per page, for ever.
fn endless_pages(per_page: usize) -> impl Fn(&Request) -> ResponseTemplate {
    move |req: &Request| {
        let page: usize = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "marker")
            .map(|(_, v)| v.trim_start_matches("m-").parse().unwrap())
            .unwrap_or(0);
        let tokens: Vec<serde_json::Value> = (0..per_page)
            .map(|i| json!({ "token_id": format!("tok-{page}-{i}") }))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "bearer_tokens": tokens,
            "page_info": { "next_marker": format!("m-{}", page + 1) }
        }))
    }
}

#[tokio::test]
async fn all_is_bounded_in_pages_and_in_listed_ids() {
    // A new marker on every page: the listing stops at 1000 pages and says so.
    let server = MockServer::start().await;
    list()
        .respond_with(endless_pages(1))
        .expect(1000)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--rate", "0"])
        .run()
        .await;
    run.assert_code(1);
    let err = run.stderr();
    assert!(err.contains("more than 1000 pages"), "{err}");
    assert_summary_schema(&run.summary(), 1);

    // 1000 ids a page: past 100000 ids, it stops too.
    let server = MockServer::start().await;
    list()
        .respond_with(endless_pages(1000))
        .expect(101)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--rate", "0"])
        .run()
        .await;
    run.assert_code(1);
    let err = run.stderr();
    assert!(err.contains("more than 100000 items listed"), "{err}");
    assert!(run.records().is_empty());
}

/// A `next_marker` is the server's text, sent back in the next page's URL and kept to see the
/// pages come round: one of hundreds of KiB on every page would hold 1000 of them (hundreds of
/// MB). A marker longer than the bound ends the listing at once, naming the bound.
#[tokio::test]
async fn all_refuses_a_next_marker_longer_than_its_bound() {
    let server = MockServer::start().await;
    let long = "m".repeat(300 * 1024);
    list()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "bearer_tokens": [{"token_id": "tok-1"}],
            "page_info": { "next_marker": long }
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--rate", "0"])
        .run()
        .await;
    run.assert_code(1);
    let err = run.stderr();
    assert!(err.contains("next_marker longer than 4 KiB"), "{err}");
    assert!(
        err.len() < 4096,
        "the marker is not printed: {} bytes",
        err.len()
    );
}

/// A listed `token_id` is the server's text: 100000 of them held until the deletes are sent.
/// One longer than 1 KiB is not an id: a failed record (its target cut), nothing deleted.
#[tokio::test]
async fn all_refuses_a_listed_token_id_longer_than_its_bound() {
    let server = MockServer::start().await;
    let long = "t".repeat(300 * 1024);
    list()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "bearer_tokens": [{"token_id": long}, {"token_id": "tok-1"}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .and(m::path(format!("{BASE}/tok-1")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--rate", "0"])
        .run()
        .await;
    run.assert_code(1);
    let out = run.stdout();
    assert!(
        out.len() < 8192,
        "the id is printed whole: {} bytes",
        out.len()
    );
    let records = run.records();
    assert_eq!(records.len(), 2, "{out}");
    assert_eq!(records[0]["status"], "failed");
    let msg = records[0]["error"]["message"].as_str().unwrap();
    assert!(msg.contains("longer than 1 KiB"), "{msg}");
    assert_eq!(records[1]["status"], "revoked");
}

#[tokio::test]
async fn all_stops_with_exit_3_when_the_list_is_refused() {
    let server = MockServer::start().await;
    list()
        .respond_with(huawei_error(401, "identity_store/error_apigw_0301.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all"])
        .run()
        .await;
    run.assert_code(3);
    let err = run.stderr();
    assert!(
        err.contains("rejected the credentials") && err.contains("APIGW.0301"),
        "{err}"
    );
    assert_summary_schema(&run.summary(), 3);
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    // Any other failure of the list, after its retries: exit 1, nothing deleted.
    let server = MockServer::start().await;
    list()
        .respond_with(huawei_error(500, "identity_store/error_apigw_0601.json"))
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--retries", "1"])
        .run()
        .await;
    run.assert_code(1);
    assert!(run.stderr().contains("APIGW.0601"), "{}", run.stderr());
    // Requests were sent: NDJSON readers still get a summary line with the exit code.
    assert_summary_schema(&run.summary(), 1);
}

#[tokio::test]
async fn all_dry_run_plans_the_list_call_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(m::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--dry-run"])
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_record_schema(r);
    assert_eq!(r["status"], "planned");
    assert_eq!(r["target"], json!({"token_id": "*"}));
    assert_eq!(r["data"]["method"], "GET");
    assert_eq!(r["data"]["url"], format!("{}{BASE}", server.uri()));
    let auth = r["data"]["headers"]["authorization"].as_str().unwrap();
    assert_eq!(
        auth,
        "SDK-HMAC-SHA256 Access=***, SignedHeaders=content-type;host;x-sdk-date, Signature=***"
    );
}

#[tokio::test]
async fn region_gives_the_default_endpoint() {
    let run = Revoke::new()
        .env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .args([
            "identity-store",
            "--region",
            "ap-southeast-1",
            "--dry-run",
            "-o",
            "json",
        ])
        .args(["--identity-store-id", "d-1", "--tenant-id", "t-1", "tok-1"])
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(
        r["data"]["url"],
        "https://identitystore.ap-southeast-1.myhuaweicloud.com/v1/identity-stores/d-1/tenant/t-1/bearer-token/tok-1"
    );
    assert_eq!(r["data"]["method"], "DELETE");
}

#[tokio::test]
async fn usage_errors_exit_2_and_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(m::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let ids = ["--identity-store-id", "d-1", "--tenant-id", "t-1"];
    let keyed = || {
        Revoke::new()
            .env("HUAWEICLOUD_SDK_AK", AK)
            .env("HUAWEICLOUD_SDK_SK", SK)
            .args(["identity-store"])
            .args(ids)
    };
    // Neither --region nor --endpoint: the message names both.
    let run = keyed().args(["tok-1"]).run().await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("--region") && run.stderr().contains("--endpoint"),
        "{}",
        run.stderr()
    );
    let run = keyed().args(["--region", "eu/west", "tok-1"]).run().await;
    run.assert_usage("--region");
    // --all with token ids (clap), with --input, and neither.
    let endpoint = ["--endpoint", &server.uri()];
    keyed()
        .args(endpoint)
        .args(["--all", "tok-1"])
        .run()
        .await
        .assert_code(2);
    let run = keyed()
        .args(endpoint)
        .args(["--all", "--input", "-"])
        .stdin("tok-1\n")
        .run()
        .await;
    run.assert_usage("--input");
    let run = keyed().args(endpoint).run().await;
    run.assert_usage("--all");
    // No credentials anywhere: the message names where it looked.
    let run = Revoke::new()
        .args(["identity-store"])
        .args(ids)
        .args(endpoint)
        .args(["tok-1"])
        .run()
        .await;
    run.assert_usage("HUAWEICLOUD_SDK_AK");
    let run = Revoke::new()
        .args(["identity-store"])
        .args(ids)
        .args(endpoint)
        .args(["--all"])
        .run()
        .await;
    run.assert_code(2);
}

/// The journal is opened with the other settings, before anything is sent: one that cannot be
/// opened is a usage error (exit 2, nothing on stdout), and the listing is not sent either.
#[tokio::test]
async fn all_with_a_journal_that_cannot_be_opened_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(m::any())
        .respond_with(list_answer("identity_store/list_bearer_tokens.json"))
        .expect(0)
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--all", "--journal", "/no/such/dir/j"])
        .run()
        .await;
    run.assert_usage("cannot open journal /no/such/dir/j");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn no_secret_reaches_any_output() {
    let env_secrets = [
        "HWSENTINELAK00000001",
        "hwSentinelSecretKey0001",
        "hwSentinelSessionToken0001",
    ];
    let file_secrets = [
        "HWSENTINELAK00000002",
        "hwSentinelSecretKey0002",
        "hwSentinelSessionToken0002",
    ];
    let all: Vec<&str> = env_secrets.iter().chain(&file_secrets).copied().collect();
    let dir = tempfile::tempdir().unwrap();
    let file = private_file(
        dir.path(),
        "credentials",
        &format!(
            "[basic]\nak = {}\nsk = {}\nsecurity_token = {}\n",
            file_secrets[0], file_secrets[1], file_secrets[2]
        ),
    );
    let from_env = |server: &MockServer| {
        Revoke::new()
            .env("HUAWEICLOUD_SDK_AK", env_secrets[0])
            .env("HUAWEICLOUD_SDK_SK", env_secrets[1])
            .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", env_secrets[2])
            .args(["identity-store", "--endpoint", &server.uri()])
            .args(["--identity-store-id", "d-1", "--tenant-id", "t 1", "-vvv"])
    };
    let from_file = |server: &MockServer| {
        Revoke::new()
            .env("HUAWEICLOUD_SDK_CREDENTIALS_FILE", &file)
            .args(["identity-store", "--endpoint", &server.uri()])
            .args(["--identity-store-id", "d-1", "--tenant-id", "t 1", "-vvv"])
    };

    // A failing server at -vvv.
    let failing = MockServer::start().await;
    Mock::given(m::any())
        .respond_with(huawei_error(500, "identity_store/error_apigw_0601.json"))
        .expect(4)
        .mount(&failing)
        .await;
    for cmd in [from_env(&failing), from_file(&failing)] {
        let run = cmd.args(["--retries", "1", "tok-1"]).run().await;
        run.assert_code(1);
        run.assert_no_secret(&all);
        assert!(run.stderr().contains("Signature=***"), "{}", run.stderr());
    }

    // Dry runs, text and json, single ids and --all.
    for output in ["text", "json"] {
        for extra in [&["tok-1", "tok-2"][..], &["--all"][..]] {
            for cmd in [from_env(&failing), from_file(&failing)] {
                let run = cmd
                    .args(["--dry-run", "-o", output])
                    .args(extra)
                    .run()
                    .await;
                run.assert_code(0);
                run.assert_no_secret(&all);
                assert!(
                    run.stdout().contains("x-security-token"),
                    "{}",
                    run.stdout()
                );
            }
        }
    }

    // A successful --all at -vvv: list, then delete.
    let ok = MockServer::start().await;
    list()
        .respond_with(list_answer("identity_store/list_bearer_tokens.json"))
        .expect(2)
        .mount(&ok)
        .await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .expect(6)
        .mount(&ok)
        .await;
    for cmd in [from_env(&ok), from_file(&ok)] {
        let run = cmd.args(["--all"]).run().await;
        run.assert_code(0);
        run.assert_no_secret(&all);
    }
}
