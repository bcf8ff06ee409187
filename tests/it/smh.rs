//! `revoke smh` against wiremock: the documented DELETE with its query (decoded and raw), the
//! batching limits and their cross product, each error class, the library secret's sources, and
//! that the secret never reaches any output.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

const LIB: &str = SMH_LIBRARY;
const SECRET: &str = SMH_SECRET;

fn no_content() -> ResponseTemplate {
    ResponseTemplate::new(204)
}

fn error(status: u16, fixture_name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(fixture(&format!("smh/{fixture_name}")), "application/json")
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Repeats `flag` before each value: `--client-id c0 --client-id c1 ...`.
fn repeated(flag: &str, values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| [flag.to_string(), v.clone()])
        .collect()
}

/// The decoded query of a received request, one entry per parameter name.
fn query(req: &Request) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in req.url.query_pairs() {
        assert!(
            out.insert(k.to_string(), v.to_string()).is_none(),
            "parameter {k} sent twice"
        );
    }
    out
}

/// A comma-separated id list as the API reads it.
fn list(req: &Request, name: &str) -> Vec<String> {
    query(req)
        .get(name)
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn documented_request_is_sent_exactly() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/token/{LIB}")))
        .and(query_param("library_secret", SECRET))
        .and(query_param("user_id", "u1,u2"))
        .and(query_param("client_id", "web,ios"))
        .and(query_param("session_id", "s1"))
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::smh(&server.uri())
        .args(["--client-id", "web", "--client-id", "ios"])
        .args(["--session-id", "s1", "u1", "u2"])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    let req = &reqs[0];
    // The raw query: documented order, the joining commas literal.
    assert_eq!(
        req.url.query(),
        Some(
            format!("library_secret={SECRET}&user_id=u1,u2&client_id=web,ios&session_id=s1")
                .as_str()
        )
    );
    assert!(req.body.is_empty(), "\"Request Body: Null.\"");
    assert_eq!(query(req)["library_secret"], SECRET);

    let records = run.records();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_record_schema(r);
    assert_eq!(r["provider"], "smh");
    assert_eq!(r["index"], 0);
    assert_eq!(
        r["target"],
        json!({"user_ids": ["u1", "u2"], "client_ids": ["web", "ios"], "session_ids": ["s1"]})
    );
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 204);
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["data"], Value::Null);
    assert_eq!(r["error"], Value::Null);
    let s = run.summary();
    assert_summary_schema(&s, 0);
    assert_eq!(s["summary"]["total"], 1);
    assert_eq!(s["summary"]["revoked"], 1);
}

#[tokio::test]
async fn values_are_percent_encoded_and_optional_parameters_left_out() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/prefix/api/v1/token/lib%20%2F%C3%A9"))
        .and(query_param("library_secret", "s/e c+r&t=1"))
        .and(query_param("user_id", "ü ser,a&b=c"))
        .and(query_param_is_missing("client_id"))
        .and(query_param_is_missing("session_id"))
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::new()
        .env("SMH_LIBRARY_SECRET", "s/e c+r&t=1")
        .args(["smh", "--endpoint", &format!("{}/prefix", server.uri())])
        .args(["-o", "json", "--library-id", "lib /é", "ü ser", "a&b=c"])
        .run()
        .await;
    run.assert_code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        reqs[0].url.query(),
        Some("library_secret=s%2Fe%20c%2Br%26t%3D1&user_id=%C3%BC%20ser,a%26b%3Dc")
    );
    assert_eq!(
        run.records()[0]["target"],
        json!({"user_ids": ["ü ser", "a&b=c"]}),
        "no client_ids or session_ids when none is given"
    );
}

#[tokio::test]
async fn wrong_library_secret_stops_the_run_with_exit_3() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(error(404, "error_wrong_library_id_or_secret.json"))
        .expect(1)
        .mount(&server)
        .await;
    // 25 users: three requests planned, only the first is sent.
    let run = Revoke::smh(&server.uri()).args(ids("u", 25)).run().await;
    run.assert_code(3);
    let records = run.records();
    assert_eq!(records.len(), 3, "every batch has a record");
    let first = &records[0];
    assert_eq!(first["status"], "failed");
    assert_eq!(first["http_status"], 404);
    assert_eq!(first["error"]["code"], "WrongLibraryIdOrSecret");
    assert_eq!(first["error"]["retryable"], false);
    assert_eq!(first["request_id"], "NjQ5ZDNkMmNfYTc4OTMxMGFfMjM0Zl8x");
    assert_eq!(first["target"]["user_ids"], json!(ids("u", 10)));
    for r in &records[1..] {
        assert_record_schema(r);
        assert_eq!(r["status"], "skipped");
        assert_eq!(r["attempts"], 0);
    }
    assert_eq!(records[2]["target"]["user_ids"], json!(ids("u", 25)[20..]));
    let s = run.summary();
    assert_summary_schema(&s, 3);
    assert_eq!(s["summary"]["skipped"], 2);
}

#[tokio::test]
async fn rate_limit_exceeded_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(error(429, "error_rate_limit_exceeded.json"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    let run = Revoke::smh(&server.uri()).args(["u1"]).run().await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "revoked");
    assert_eq!(r["http_status"], 204);
    assert_eq!(r["attempts"], 2);
    assert_eq!(r["error"], Value::Null);
}

#[tokio::test]
async fn param_invalid_fails_one_batch_and_the_others_are_still_sent() {
    let server = MockServer::start().await;
    let users = ids("u", 21);
    Mock::given(method("DELETE"))
        .and(query_param("user_id", users[10..20].join(",")))
        .respond_with(error(400, "error_param_invalid.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(no_content())
        .expect(2)
        .mount(&server)
        .await;
    let run = Revoke::smh(&server.uri()).args(&users).run().await;
    run.assert_code(1);
    let records = run.records();
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["revoked", "failed", "revoked"]);
    assert_eq!(records[1]["error"]["code"], "ParamInvalid");
    assert_eq!(records[1]["http_status"], 400);
    assert_eq!(records[1]["attempts"], 1, "a rejection is not retried");
    assert_eq!(run.summary()["summary"]["failed"], 1);
}

/// Runs `smh` with `users`, `clients` and `sessions` against a server answering 204, checks the
/// request count and the per-request limits, and returns the received requests.
async fn batched(
    users: &[String],
    clients: &[String],
    sessions: &[String],
    expected: u64,
) -> Vec<Request> {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api/v1/token/{LIB}")))
        .and(query_param("library_secret", SECRET))
        .respond_with(no_content())
        .expect(expected)
        .mount(&server)
        .await;
    let run = Revoke::smh(&server.uri())
        .args(repeated("--client-id", clients))
        .args(repeated("--session-id", sessions))
        .args(users)
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len() as u64, expected, "one record per request");
    for r in &records {
        assert_record_schema(r);
        assert_eq!(r["status"], "revoked");
    }
    assert_eq!(run.summary()["summary"]["revoked"], expected);
    let reqs = server.received_requests().await.unwrap();
    for req in &reqs {
        assert!(list(req, "user_id").len() <= 10);
        assert!(list(req, "client_id").len() <= 100);
        assert!(list(req, "session_id").len() <= 100);
    }
    server.verify().await;
    reqs
}

#[tokio::test]
async fn ten_user_ids_make_one_request_and_eleven_make_two() {
    let users = ids("u", 10);
    let reqs = batched(&users, &[], &[], 1).await;
    assert_eq!(list(&reqs[0], "user_id"), users);

    let users = ids("u", 11);
    let reqs = batched(&users, &[], &[], 2).await;
    let mut sizes: Vec<usize> = reqs.iter().map(|r| list(r, "user_id").len()).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 10]);
    let mut got: Vec<String> = reqs.iter().flat_map(|r| list(r, "user_id")).collect();
    got.sort();
    let mut want = users.clone();
    want.sort();
    assert_eq!(got, want, "every user once");
}

#[tokio::test]
async fn a_hundred_client_ids_make_one_request_and_a_hundred_and_one_make_two() {
    let users = ids("u", 1);
    let clients = ids("c", 100);
    let reqs = batched(&users, &clients, &[], 1).await;
    assert_eq!(list(&reqs[0], "client_id"), clients);

    let clients = ids("c", 101);
    let reqs = batched(&users, &clients, &[], 2).await;
    let mut sizes: Vec<usize> = reqs.iter().map(|r| list(r, "client_id").len()).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 100]);

    let sessions = ids("s", 101);
    let reqs = batched(&users, &[], &sessions, 2).await;
    let mut sizes: Vec<usize> = reqs.iter().map(|r| list(r, "session_id").len()).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 100]);
}

#[tokio::test]
async fn eleven_users_with_a_hundred_and_one_clients_cover_each_pair_once() {
    let users = ids("u", 11);
    let clients = ids("c", 101);
    let reqs = batched(&users, &clients, &[], 4).await;
    let mut seen = HashSet::new();
    for req in &reqs {
        assert!(!query(req).contains_key("session_id"));
        for u in list(req, "user_id") {
            for c in list(req, "client_id") {
                assert!(
                    seen.insert((u.clone(), c.clone())),
                    "pair ({u}, {c}) sent twice"
                );
            }
        }
    }
    let asked: HashSet<(String, String)> = users
        .iter()
        .flat_map(|u| clients.iter().map(move |c| (u.clone(), c.clone())))
        .collect();
    assert_eq!(
        seen, asked,
        "the union is exactly the cross product asked for"
    );
}

#[tokio::test]
async fn user_ids_from_args_then_input_file_then_stdin() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(no_content())
        .expect(3)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.txt");
    let lines: Vec<String> = ids("f", 10);
    std::fs::write(&file, format!("# users\n\n{}\n", lines.join("\n  "))).unwrap();
    let run = Revoke::smh(&server.uri())
        .args(["a1", "a2", "--input"])
        .args([&file])
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records.len(), 2);
    let mut want: Vec<String> = vec!["a1".into(), "a2".into()];
    want.extend(lines[..8].iter().cloned());
    assert_eq!(records[0]["target"]["user_ids"], json!(want));
    assert_eq!(records[1]["target"]["user_ids"], json!(lines[8..]));

    // A bad stdin line cannot stop a run that has started: it is a failed record of its own.
    let run = Revoke::smh(&server.uri())
        .args(["--input", "-"])
        .stdin("s1\nbad,line\ns2\n")
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 2);
    let invalid = records.iter().find(|r| r["status"] == "failed").unwrap();
    assert_eq!(invalid["error"]["code"], "InvalidTarget");
    assert_eq!(invalid["target"], json!({"user_ids": ["bad,line"]}));
    assert_eq!(invalid["attempts"], 0);
    let sent = records.iter().find(|r| r["status"] == "revoked").unwrap();
    assert_eq!(sent["target"]["user_ids"], json!(["s1", "s2"]));
}

#[tokio::test]
async fn usage_errors_exit_2_and_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(no_content())
        .expect(0)
        .mount(&server)
        .await;
    // A comma in a user id, in a file line, or in a flag value.
    (Revoke::smh(&server.uri()).args(["u1", "a,b"]).run().await).assert_usage("comma");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.txt");
    std::fs::write(&file, "u1\nx,y\n").unwrap();
    (Revoke::smh(&server.uri())
        .args(["--input"])
        .args([&file])
        .run()
        .await)
        .assert_usage("users.txt:2: an id cannot contain a comma");
    (Revoke::smh(&server.uri())
        .args(["--client-id", "w,x", "u1"])
        .run()
        .await)
        .assert_usage("comma");
    (Revoke::smh(&server.uri())
        .args(["--session-id", "a,b", "u1"])
        .run()
        .await)
        .assert_usage("comma");
    // Empty flag values.
    (Revoke::smh(&server.uri())
        .args(["--client-id", "", "u1"])
        .run()
        .await)
        .assert_usage("--client-id cannot be empty");
    (Revoke::smh(&server.uri())
        .args(["--session-id", " ", "u1"])
        .run()
        .await)
        .assert_usage("--session-id cannot be empty");
    // No user id at all.
    (Revoke::smh(&server.uri()).run().await)
        .assert_usage("no user ids given: pass USER_ID arguments or --input FILE");
    // No secret.
    (Revoke::new()
        .args([
            "smh",
            "--endpoint",
            &server.uri(),
            "--library-id",
            LIB,
            "u1",
        ])
        .run()
        .await)
        .assert_usage("SMH_LIBRARY_SECRET");
    // The secret and the user ids cannot both come from stdin.
    (Revoke::smh(&server.uri())
        .args(["--library-secret-file", "-", "--input", "-"])
        .stdin("x\n")
        .run()
        .await)
        .assert_usage("both read stdin");
    // An empty library id.
    (Revoke::new()
        .env("SMH_LIBRARY_SECRET", SECRET)
        .args([
            "smh",
            "--endpoint",
            &server.uri(),
            "--library-id",
            " ",
            "u1",
        ])
        .run()
        .await)
        .assert_usage("--library-id cannot be empty");
}

#[tokio::test]
async fn library_secret_file_is_read_and_an_open_one_refused() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(query_param("library_secret", "fromTheSecretFile0001"))
        .respond_with(no_content())
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = private_file(dir.path(), "secret", "  fromTheSecretFile0001\n");
    // The file wins over the environment.
    let run = Revoke::smh(&server.uri())
        .args(["--library-secret-file"])
        .args([&file])
        .args(["u1"])
        .run()
        .await;
    run.assert_code(0);
    // `-` reads it from stdin.
    let run = Revoke::smh(&server.uri())
        .args(["--library-secret-file", "-", "u1"])
        .stdin("fromTheSecretFile0001\n")
        .run()
        .await;
    run.assert_code(0);

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = Revoke::smh(&server.uri())
        .args(["--library-secret-file"])
        .args([&file])
        .args(["u1"])
        .run()
        .await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(
        err.contains("permissions 0644 are too open"),
        "the refusal names the permissions: {err}"
    );
    run.assert_no_secret(&["fromTheSecretFile0001"]);
}

#[tokio::test]
async fn the_library_secret_is_never_printed() {
    // '/' and '+' make the sent form differ from the raw one: both must stay hidden.
    let secret = "smhSentinel/Secret+0001";
    let encoded = "smhSentinel%2FSecret%2B0001";
    let hidden = [secret, encoded];
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(query_param("library_secret", secret))
        .respond_with(no_content())
        .expect(2)
        .mount(&server)
        .await;
    for output in ["text", "json"] {
        let run = Revoke::new()
            .env("SMH_LIBRARY_SECRET", secret)
            .args(["smh", "--endpoint", &server.uri(), "-vvv", "-o", output])
            .args(["--library-id", LIB, "--client-id", "web", "u1", "u2"])
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&hidden);
        assert!(
            run.stderr().contains("library_secret=***"),
            "-vvv shows the masked request: {}",
            run.stderr()
        );
    }

    // Dry run: nothing sent, the request shown with the secret masked.
    for output in ["text", "json"] {
        let run = Revoke::new()
            .env("SMH_LIBRARY_SECRET", secret)
            .args(["smh", "--endpoint", &server.uri(), "--dry-run", "-vvv"])
            .args(["-o", output, "--library-id", LIB, "u1", "u2"])
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&hidden);
        assert!(
            run.stderr()
                .contains("credentials from env SMH_LIBRARY_SECRET"),
            "{}",
            run.stderr()
        );
        let url = format!(
            "{}/api/v1/token/{LIB}?library_secret=***&user_id=u1,u2",
            server.uri()
        );
        if output == "json" {
            let r = &run.records()[0];
            assert_record_schema(r);
            assert_eq!(r["status"], "planned");
            assert_eq!(r["data"]["method"], "DELETE");
            assert_eq!(r["data"]["url"], url, "shown as sent, secret masked");
        } else {
            assert!(run.stdout().contains(&url), "{}", run.stdout());
        }
    }

    // A failing server, answers logged at -vvv.
    let failing = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(error(500, "error_internal_server_error.json"))
        .expect(2)
        .mount(&failing)
        .await;
    let run = Revoke::new()
        .env("SMH_LIBRARY_SECRET", secret)
        .args(["smh", "--endpoint", &failing.uri(), "-vvv", "-o", "json"])
        .args(["--retries", "1", "--library-id", LIB, "u1"])
        .run()
        .await;
    run.assert_code(1);
    run.assert_no_secret(&hidden);
    let r = &run.records()[0];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], "InternalServerError");
    assert_eq!(r["error"]["retryable"], true);
    assert_eq!(r["attempts"], 2);
}

#[tokio::test]
async fn dot_library_ids_are_refused() {
    // `--library-id ..` would turn `/api/v1/token/..` into `/api/v1/`.
    for id in [".", ".."] {
        let run = Revoke::new()
            .env("SMH_LIBRARY_SECRET", "dot-test-secret")
            .args([
                "smh",
                "--endpoint",
                "http://127.0.0.1:9",
                "--library-id",
                id,
                "u1",
            ])
            .run()
            .await;
        run.assert_usage("cannot be an id");
    }
}
