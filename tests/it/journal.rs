//! `--journal`, end to end: a run killed with SIGKILL mid-flight and rerun with the same journal
//! finishes every target without resending one the journal records as done; a journal whose
//! last line was cut short by a kill is read, and written after, without harm.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn bi(server: &MockServer, journal: &Path) -> Revoke {
    Revoke::bi_embed(&server.uri())
        .args(["--rate", "0", "--journal"])
        .args([journal])
}

async fn answering(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    answer(&server, delay).await;
    server
}

async fn answer(server: &MockServer, delay: Duration) {
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json")
                .set_delay(delay),
        )
        .mount(server)
        .await;
}

/// The same endpoint with its mocks and request log cleared: a journal entry holds the
/// endpoint URL in its scope (a page on one site is not the same page on another), so a rerun
/// must go to the same host and port to find its journal entries.
async fn restart(server: &MockServer, delay: Duration) {
    server.reset().await;
    answer(server, delay).await;
}

/// The page ids the server was asked about, one entry per request.
async fn pages_received(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["PageId"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The journal's whole lines, parsed, and how many lines did not parse.
fn journal(path: &Path) -> (Vec<Value>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = Vec::new();
    let mut broken = 0;
    for l in text.split_inclusive('\n') {
        match serde_json::from_str::<Value>(l) {
            Ok(v) if l.ends_with('\n') => lines.push(v),
            _ => broken += 1,
        }
    }
    (lines, broken)
}

/// Pages the journal records as done (`ok: true`).
fn done_pages(path: &Path) -> BTreeSet<String> {
    journal(path)
        .0
        .iter()
        .filter(|l| l["ok"] == true)
        .map(|l| l["target"]["page_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sigkill_mid_run_then_rerun_finishes_all_and_resends_nothing_done() {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.ndjson");
    let input = dir.path().join("pages.txt");
    let all: BTreeSet<String> = (0..50).map(|i| format!("p{i:02}")).collect();
    std::fs::write(&input, all.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap();

    // Run 1: slow answers, killed once a few targets are journaled.
    let slow = answering(Duration::from_millis(300)).await;
    let running = bi(&slow, &journal_path)
        .args(["--concurrency", "4", "--input"])
        .args([&input])
        .spawn();
    let started = Instant::now();
    while journal(&journal_path).0.len() < 8 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no journal lines"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("KILL");
    let run1 = running.wait().await;
    assert_eq!(run1.out.status.code(), None, "killed by the signal");
    let done1 = done_pages(&journal_path);
    assert!(
        done1.len() >= 8 && done1.len() < all.len(),
        "{} done before the kill",
        done1.len()
    );
    let sent1: BTreeSet<String> = pages_received(&slow).await.into_iter().collect();
    assert!(done1.is_subset(&sent1));

    // Run 2: same journal and input, the server restarted and fast.
    restart(&slow, Duration::ZERO).await;
    let run2 = bi(&slow, &journal_path)
        .args(["--input"])
        .args([&input])
        .run()
        .await;
    run2.assert_code(0);
    let sent2 = pages_received(&slow).await;
    let sent2_set: BTreeSet<String> = sent2.iter().cloned().collect();
    assert_eq!(sent2.len(), sent2_set.len(), "each sent once: {sent2:?}");
    assert!(
        done1.is_disjoint(&sent2_set),
        "resent targets the journal records as done: {:?}",
        done1.intersection(&sent2_set).collect::<Vec<_>>()
    );
    let rest: BTreeSet<String> = all.difference(&done1).cloned().collect();
    assert_eq!(sent2_set, rest, "every target not done was sent");

    let records = run2.records();
    assert_eq!(records.len(), all.len(), "one record per target");
    for (i, r) in records.iter().enumerate() {
        assert_record_schema(r);
        assert_eq!(r["index"], i as u64);
        assert_eq!(r["status"], "revoked", "{r}");
        let page = r["target"]["page_id"].as_str().unwrap();
        let expected_attempts = if done1.contains(page) { 0 } else { 1 };
        assert_eq!(r["attempts"], expected_attempts, "{r}");
    }
    assert_eq!(run2.summary()["summary"]["revoked"], 50);
    assert_eq!(
        done_pages(&journal_path),
        all,
        "the journal now has every target"
    );
}

#[tokio::test]
async fn a_journal_with_a_half_written_last_line_is_tolerated() {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.ndjson");
    let server = answering(Duration::ZERO).await;
    bi(&server, &journal_path)
        .args(["p1", "p2", "p3", "p4"])
        .run()
        .await
        .assert_code(0);

    // A kill in the middle of the last write: that line is cut in half, with no newline.
    let text = std::fs::read_to_string(&journal_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let last: Value = serde_json::from_str(lines[3]).unwrap();
    let cut_page = last["target"]["page_id"].as_str().unwrap().to_string();
    let keep = text.len() - lines[3].len() / 2 - 1;
    std::fs::write(&journal_path, &text[..keep]).unwrap();
    assert_eq!(journal(&journal_path).1, 1);

    // The cut line's target is not taken as done: it is sent again, with the new one.
    restart(&server, Duration::ZERO).await;
    let run = bi(&server, &journal_path)
        .args(["p1", "p2", "p3", "p4", "p5"])
        .run()
        .await;
    run.assert_code(0);
    let sent: BTreeSet<String> = pages_received(&server).await.into_iter().collect();
    assert_eq!(sent, BTreeSet::from([cut_page.clone(), "p5".to_string()]));
    let records = run.records();
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r["status"] == "revoked"));

    // New lines start on a line of their own: the file reads back whole but for the cut line.
    let (parsed, broken) = journal(&journal_path);
    assert_eq!(broken, 1, "only the cut line");
    assert_eq!(parsed.len(), 3 + 2);
    restart(&server, Duration::ZERO).await;
    bi(&server, &journal_path)
        .args(["p1", "p2", "p3", "p4", "p5"])
        .run()
        .await
        .assert_code(0);
    assert!(pages_received(&server).await.is_empty(), "all done");
}
