//! Each failure class, end to end: the built binary (`revoke bi-embed`) against wiremock, or,
//! for what wiremock cannot do (a reset connection, no answer, an answer cut off), against a
//! bare TCP server ([`RawServer`]).
//!
//! Every test sends three targets: `first` is answered at once (and goes alone: credentials
//! first), `always` fails on every attempt, `once` fails once and then succeeds. So each test
//! shows the class is retried (`once` ends `revoked` after 2 attempts), that retries are
//! bounded (`always` ends `failed` after `--retries` + 1 attempts, with the class's record),
//! that the other targets are unaffected (exit 1, not 3), and that every target has exactly
//! one record. A 200 that is not an API 3.0 answer is the exception: not the API, never
//! retried (`not_the_api_class`).

use std::time::{Duration, SystemTime};

use serde_json::Value;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const KEY: &str = TC_KEY;
const TARGETS: [&str; 3] = ["first", "always", "once"];
const SUCCESS: &str = include_str!("../fixtures/bi_embed/success_tccli.json");

fn bi(endpoint: &str, retries: u32) -> Revoke {
    Revoke::bi_embed(endpoint)
        .args(["--retries", &retries.to_string()])
        .args(TARGETS)
}

fn page(p: &str) -> impl wiremock::Match + use<> {
    body_string_contains(format!("\"PageId\":\"{p}\""))
}

/// What the `always` target's record says once its retries are spent.
struct Failed {
    http_status: Option<u16>,
    code: &'static str,
}

/// Mounts `failure` for `always` (every attempt) and `once` (first attempt), success for the
/// rest; runs the three targets; checks the records, the attempts and the requests received.
/// Returns the run and the requests made for `always`.
async fn wiremock_class(
    failure: ResponseTemplate,
    retries: u32,
    expect: Failed,
) -> (Run, Vec<wiremock::Request>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(page("always"))
        .respond_with(failure.clone())
        .expect(u64::from(retries) + 1)
        .named("always fails")
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(page("once"))
        .respond_with(failure)
        .up_to_n_times(1)
        .expect(1)
        .named("once fails")
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(SUCCESS, "application/json"))
        .expect(2)
        .named("success")
        .mount(&server)
        .await;
    let run = bi(&server.uri(), retries).run().await;
    assert_three_records(&run, retries, &expect);
    server.verify().await;
    let always = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("\"PageId\":\"always\""))
        .collect();
    (run, always)
}

#[track_caller]
fn assert_three_records(run: &Run, retries: u32, expect: &Failed) {
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 3, "one record per target:\n{}", run.stdout());
    for (i, (r, t)) in records.iter().zip(TARGETS).enumerate() {
        assert_record_schema(r);
        assert_eq!(r["index"], i as u64);
        assert_eq!(r["target"]["page_id"], t, "{r}");
    }
    let (first, always, once) = (&records[0], &records[1], &records[2]);
    assert_eq!(first["status"], "revoked", "{first}");
    assert_eq!(first["attempts"], 1);

    assert_eq!(always["status"], "failed", "{always}");
    assert_eq!(always["attempts"], retries + 1, "{always}");
    assert_eq!(
        always["http_status"].as_u64(),
        expect.http_status.map(u64::from)
    );
    assert_eq!(always["error"]["code"], expect.code, "{always}");
    assert_eq!(always["error"]["retryable"], true, "{always}");

    assert_eq!(once["status"], "revoked", "{once}");
    assert_eq!(once["attempts"], 2, "{once}");
    assert_eq!(once["http_status"], 200);

    let summary = run.summary();
    assert_summary_schema(&summary, 1);
    assert_eq!(summary["summary"]["revoked"], 2);
    assert_eq!(summary["summary"]["failed"], 1);
    run.assert_no_secret(&[KEY]);
}

fn elapsed_ms(r: &Value) -> u64 {
    r["elapsed_ms"].as_u64().unwrap()
}

/// Both retried targets waited out the server's `Retry-After` (far above the 200 ms the first
/// jittered backoff allows), and not much more.
#[track_caller]
fn assert_waited_about(run: &Run, at_least: Duration) {
    let records = run.records();
    for r in &records[1..] {
        let ms = elapsed_ms(r);
        assert!(
            ms >= at_least.as_millis() as u64 && ms < at_least.as_millis() as u64 + 1500,
            "Retry-After {at_least:?}, took {ms} ms: {r}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP statuses (a proxy or gateway in front of the API answers; the body is not API 3.0)

#[tokio::test]
async fn http_429_is_retried_and_fails_after_its_retries() {
    wiremock_class(
        ResponseTemplate::new(429),
        2,
        Failed {
            http_status: Some(429),
            code: "UnreadableResponse",
        },
    )
    .await;
}

#[tokio::test]
async fn http_429_retry_after_seconds_is_waited_for() {
    let (run, _) = wiremock_class(
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        1,
        Failed {
            http_status: Some(429),
            code: "UnreadableResponse",
        },
    )
    .await;
    assert_waited_about(&run, Duration::from_secs(1));
}

#[tokio::test]
async fn http_500_is_retried_and_fails_after_its_retries() {
    wiremock_class(
        ResponseTemplate::new(500),
        2,
        Failed {
            http_status: Some(500),
            code: "UnreadableResponse",
        },
    )
    .await;
}

#[tokio::test]
async fn http_502_html_error_page_is_retried_and_fails_after_its_retries() {
    let (run, _) = wiremock_class(
        ResponseTemplate::new(502)
            .set_body_raw(fixture("bi_embed/bad_gateway_nginx.html"), "text/html"),
        2,
        Failed {
            http_status: Some(502),
            code: "UnreadableResponse",
        },
    )
    .await;
    let msg = run.records()[1]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("HTTP 502"), "{msg}");
}

#[tokio::test]
async fn http_503_without_retry_after_is_retried_and_fails_after_its_retries() {
    wiremock_class(
        ResponseTemplate::new(503),
        2,
        Failed {
            http_status: Some(503),
            code: "UnreadableResponse",
        },
    )
    .await;
}

#[tokio::test]
async fn http_503_retry_after_seconds_is_waited_for() {
    let (run, always) = wiremock_class(
        ResponseTemplate::new(503).insert_header("Retry-After", "1"),
        1,
        Failed {
            http_status: Some(503),
            code: "UnreadableResponse",
        },
    )
    .await;
    assert_waited_about(&run, Duration::from_secs(1));
    // Each attempt is signed afresh: a second later, a later timestamp, another signature.
    let stamp =
        |r: &wiremock::Request| -> i64 { header(r, "x-tc-timestamp").unwrap().parse().unwrap() };
    assert_eq!(always.len(), 2);
    assert!(stamp(&always[1]) > stamp(&always[0]));
    assert_ne!(
        header(&always[0], "authorization"),
        header(&always[1], "authorization")
    );
}

#[tokio::test]
async fn http_503_retry_after_http_date_is_waited_for() {
    // An HTTP date has whole seconds: 2 s ahead is between 1 and 2 s away when it is read.
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let (run, _) = wiremock_class(
        ResponseTemplate::new(503).insert_header("Retry-After", when.as_str()),
        1,
        Failed {
            http_status: Some(503),
            code: "UnreadableResponse",
        },
    )
    .await;
    assert_waited_about(&run, Duration::from_millis(900));
}

// ---------------------------------------------------------------------------------------------
// Answers that are not what they claim

#[tokio::test]
async fn request_limit_exceeded_in_a_200_body_is_retried_and_fails_after_its_retries() {
    let (run, _) = wiremock_class(
        ResponseTemplate::new(200).set_body_raw(
            fixture("bi_embed/error_request_limit.json"),
            "application/json",
        ),
        2,
        Failed {
            http_status: Some(200),
            code: "RequestLimitExceeded",
        },
    )
    .await;
    let always = &run.records()[1];
    assert_eq!(always["request_id"], "5e1c9b2a-3f4d-4e6a-8b7c-9d0e1f2a3b4c");
}

/// `always` gets `failure` (a 200 that is not an API 3.0 answer), the others succeed:
/// `always` is `failed` with code `NotTheApi` after one attempt (never retried: it is not the
/// API answering, CLI.md "Endpoints that are not the API"), the others are unaffected.
async fn not_the_api_class(failure: ResponseTemplate) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(page("always"))
        .respond_with(failure)
        .expect(1)
        .named("not the API")
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(SUCCESS, "application/json"))
        .expect(2)
        .named("success")
        .mount(&server)
        .await;
    let run = bi(&server.uri(), 2).run().await;
    run.assert_code(1);
    server.verify().await;
    let records = run.records();
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["revoked", "failed", "revoked"],
        "{}",
        run.stdout()
    );
    let always = &records[1];
    assert_eq!(always["attempts"], 1, "{always}");
    assert_eq!(always["http_status"], 200);
    assert_eq!(always["error"]["code"], "NotTheApi", "{always}");
    assert_eq!(always["error"]["retryable"], false);
    run.assert_no_secret(&[KEY]);
}

/// JSON that ends mid-document, served whole: no provider documents it as transient.
#[tokio::test]
async fn truncated_json_body_with_200_is_not_success_and_not_retried() {
    not_the_api_class(ResponseTemplate::new(200).set_body_raw(
        fixture("bi_embed/success_truncated.json"),
        "application/json",
    ))
    .await;
}

#[tokio::test]
async fn non_json_body_with_200_is_not_success_and_not_retried() {
    not_the_api_class(
        ResponseTemplate::new(200)
            .set_body_raw(fixture("bi_embed/not_json_envoy.txt"), "text/plain"),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// The connection itself fails (bare TCP server)

/// `first` answered; `always` gets `failure` on every connection; `once` on its first only.
fn raw_class(failure: RawReply) -> RawServer {
    RawServer::start(move |body, nth| {
        if body.contains("\"PageId\":\"always\"")
            || (body.contains("\"PageId\":\"once\"") && nth == 0)
        {
            failure
        } else {
            RawReply::Answer(SUCCESS)
        }
    })
}

#[track_caller]
fn assert_connections(server: &RawServer, retries: u32) {
    assert_eq!(server.count("\"PageId\":\"first\""), 1);
    assert_eq!(server.count("\"PageId\":\"always\""), retries as usize + 1);
    assert_eq!(server.count("\"PageId\":\"once\""), 2);
}

#[tokio::test]
async fn connection_reset_is_retried_and_fails_after_its_retries() {
    let server = raw_class(RawReply::Reset);
    let run = bi(&server.uri(), 2).run().await;
    assert_three_records(
        &run,
        2,
        &Failed {
            http_status: None,
            code: "ConnectionError",
        },
    );
    assert_connections(&server, 2);
    let msg = run.records()[1]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("Connection reset by peer"),
        "a real reset: {msg}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_per_attempt() {
    let server = raw_class(RawReply::Hang);
    let run = bi(&server.uri(), 1).args(["--timeout", "1"]).run().await;
    assert_three_records(
        &run,
        1,
        &Failed {
            http_status: None,
            code: "Timeout",
        },
    );
    assert_connections(&server, 1);
    let records = run.records();
    // Two attempts of 1 s each; one attempt of 1 s, then an answer.
    assert!(elapsed_ms(&records[1]) >= 2000, "{}", records[1]);
    assert!(elapsed_ms(&records[2]) >= 1000, "{}", records[2]);
    assert!(elapsed_ms(&records[1]) < 4000, "{}", records[1]);
}

#[tokio::test]
async fn an_answer_cut_off_before_its_content_length_is_retried() {
    let cut = include_str!("../fixtures/bi_embed/success_truncated.json");
    let server = raw_class(RawReply::CutBody(cut));
    let run = bi(&server.uri(), 2).run().await;
    assert_three_records(
        &run,
        2,
        &Failed {
            http_status: None,
            code: "ConnectionError",
        },
    );
    assert_connections(&server, 2);
    let msg = run.records()[1]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("answer cut off (HTTP 200)"), "{msg}");
}

/// An endpoint that echoes the request back (a debugging or mirror service, httpbin's
/// `/anything`) answers 200 with JSON that holds the request's own token or signature: that is
/// not the API's success (CLI.md "Endpoints that are not the API"), whatever the provider
/// accepts as a body. Each target is `failed` with code `NotTheApi`, the run stops after three
/// (`EndpointMismatch`), exit 1.
#[tokio::test]
async fn an_endpoint_that_echoes_the_request_is_not_the_api() {
    let echo = |req: &wiremock::Request| {
        let headers: serde_json::Map<String, Value> = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().into()))
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "args": {},
            "data": String::from_utf8_lossy(&req.body),
            "headers": headers,
            "method": req.method.to_string(),
            "url": req.url.to_string(),
        }))
    };
    let tokens = [
        "echoedTokenNumber0001",
        "echoedTokenNumber0002",
        "echoedTokenNumber0003",
        "echoedTokenNumber0004",
    ];
    for command in ["ciam", "oauth", "cloudbase"] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(echo)
            .mount(&server)
            .await;
        let run = match command {
            "ciam" => Revoke::ciam(&server.uri()),
            "oauth" => Revoke::oauth(&format!("{}/revoke", server.uri())),
            _ => Revoke::cloudbase(&server.uri()),
        }
        .args(tokens)
        .run()
        .await;
        run.assert_code(1);
        let records = run.records();
        assert_eq!(records.len(), 4, "{command}: {}", run.stdout());
        for r in &records[..3] {
            assert_eq!(r["status"], "failed", "{command}: {r}");
            assert_eq!(r["error"]["code"], "NotTheApi", "{command}: {r}");
        }
        assert_eq!(records[3]["error"]["code"], "EndpointMismatch", "{command}");
        run.assert_no_secret(&tokens);
    }
}
