//! SIGINT end to end: the requests in flight finish and are recorded and journaled, nothing
//! new is sent, the rest is `skipped`, the summary is printed, and the exit code is 130.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn sigint_lets_in_flight_finish_skips_the_rest_and_exits_130() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json")
                .set_delay(Duration::from_millis(1000)),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.ndjson");
    let pages: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    let running = Revoke::bi_embed(&server.uri())
        .args(["--concurrency", "4", "--rate", "0", "--journal"])
        .args([&journal])
        .args(&pages)
        .spawn();

    // The first request goes alone (1 s); then four go out together. Interrupt while those
    // four are in flight.
    let started = Instant::now();
    while server.received_requests().await.unwrap().len() < 5 {
        assert!(started.elapsed() < Duration::from_secs(20), "no requests");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("INT");
    let run = running.wait().await;
    run.assert_code(130);

    let received: BTreeSet<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["PageId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(received.len(), 5, "nothing sent after the interrupt");

    let records = run.records();
    assert_eq!(records.len(), pages.len(), "one record per target");
    let mut revoked = BTreeSet::new();
    for (i, r) in records.iter().enumerate() {
        assert_record_schema(r);
        assert_eq!(r["index"], i as u64);
        let page = r["target"]["page_id"].as_str().unwrap().to_string();
        if received.contains(&page) {
            // In flight at the interrupt: finished, answered, recorded.
            assert_eq!(r["status"], "revoked", "{r}");
            assert_eq!(r["attempts"], 1);
            revoked.insert(page);
        } else {
            assert_eq!(r["status"], "skipped", "{r}");
            assert_eq!(r["attempts"], 0);
            assert_eq!(r["error"]["code"], "Interrupted");
        }
    }
    assert_eq!(revoked, received);

    let summary = run.summary();
    assert_summary_schema(&summary, 130);
    assert_eq!(summary["summary"]["revoked"], 5);
    assert_eq!(summary["summary"]["skipped"], 15);
    assert!(
        run.stderr().contains("revoke: interrupted"),
        "{}",
        run.stderr()
    );

    // A journal line for each finished target, none for the skipped ones.
    let text = std::fs::read_to_string(&journal).unwrap();
    let journaled: BTreeSet<String> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["ok"], true, "{l}");
            v["target"]["page_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(text.lines().count(), 5);
    assert_eq!(journaled, received);
}

#[tokio::test]
async fn a_second_sigint_exits_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json")
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let running = Revoke::bi_embed(&server.uri()).args(["p1", "p2"]).spawn();
    let started = Instant::now();
    while server.received_requests().await.unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("INT");
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.signal("INT");
    let run = running.wait().await;
    run.assert_code(130);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "did not wait for the request in flight (30 s, timeout 30 s)"
    );
}

/// A listing that never answers (identity-store `--all`): SIGTERM or SIGHUP ends the run at
/// once with 130 and, with `-o json`, its summary line. The list request changes nothing, so
/// it is not waited for; nothing else is sent.
#[tokio::test]
async fn a_signal_during_a_listing_that_never_answers_exits_130_with_the_summary() {
    for signal in ["TERM", "HUP"] {
        let server = RawServer::start(|_, _| RawReply::Hang);
        let running = Revoke::new()
            .env("HUAWEICLOUD_SDK_AK", "HWSIGNALAK0000000001")
            .env(
                "HUAWEICLOUD_SDK_SK",
                "hwSignalSecretKey000000000000000000000001",
            )
            .args(["identity-store", "--endpoint", &server.uri(), "-o", "json"])
            .args(["--identity-store-id", "d-1", "--tenant-id", "t-1", "--all"])
            .spawn();
        let started = Instant::now();
        while server.bodies().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no list request"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        running.signal(signal);
        let run = running.wait().await;
        run.assert_code(130);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "SIG{signal}: the hung listing (timeout 30 s) was not waited for"
        );
        assert!(run.records().is_empty(), "{}", run.stdout());
        assert_summary_schema(&run.summary(), 130);
        assert_eq!(run.summary()["summary"]["total"], 0);
        assert_eq!(server.bodies().len(), 1, "nothing sent after the signal");
        assert!(
            run.stderr().contains("revoke: interrupted"),
            "{}",
            run.stderr()
        );
    }
}
