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
    // The kill and the rerun left one chain.
    let check = check(&journal_path).await;
    check.assert_code(0);
    assert!(check.stdout().contains(": intact: "), "{}", check.stdout());
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

// ---- Journal replays (CLI.md "Journal replays (resume, never memory)") ----

async fn ciam_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

async fn smh_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

async fn sent(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// `ciam` with `tokens` on stdin and `journal`.
fn ciam_run(server: &MockServer, journal: &Path, tokens: &[&str]) -> Revoke {
    Revoke::ciam(&server.uri())
        .args(["--journal"])
        .args([journal])
        .args(["--input", "-"])
        .stdin(tokens.join("\n"))
}

/// `ciam_run` with text output.
fn ciam_text(server: &MockServer, journal: &Path, tokens: &[&str]) -> Revoke {
    Revoke::new()
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args([
            "ciam",
            "--endpoint",
            &server.uri(),
            "--client-id",
            CIAM_CLIENT_ID,
        ])
        .args(["--journal"])
        .args([journal])
        .args(["--input", "-"])
        .stdin(tokens.join("\n"))
}

/// When the journal says each page id or token fingerprint was answered (`at`).
fn journal_times(path: &Path) -> std::collections::BTreeMap<String, String> {
    journal(path)
        .0
        .iter()
        .filter(|l| l["ok"] == true)
        .map(|l| {
            let t = &l["target"];
            let id = t["token"]
                .as_str()
                .or(t["page_id"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| t.to_string());
            (id, l["at"].as_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_replay_says_so_in_the_record_the_text_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let server = ciam_server().await;
    ciam_run(&server, &j, &["tokA", "tokB"])
        .run()
        .await
        .assert_code(0);
    assert_eq!(sent(&server).await, 2);
    let times = journal_times(&j);

    // JSON: the two journaled tokens are not sent, and their records say when they were.
    let run = ciam_run(&server, &j, &["tokA", "tokB", "tokC"]).run().await;
    run.assert_code(0);
    assert_eq!(sent(&server).await, 3, "only tokC is sent");
    let records = run.records();
    for r in &records {
        assert_record_schema(r);
        let fp = r["target"]["token"].as_str().unwrap();
        match times.get(fp) {
            Some(at) => {
                assert_eq!(r["from_journal"], at.as_str(), "{r}");
                assert_eq!(r["attempts"], 0, "{r}");
                assert_eq!(r["status"], "revoked", "{r}");
                assert!(r["http_status"].is_null(), "{r}");
            }
            None => {
                assert!(r["from_journal"].is_null(), "sent in this run: {r}");
                assert_eq!(r["attempts"], 1, "{r}");
            }
        }
    }
    let summary = run.summary();
    assert_summary_schema(&summary, 0);
    assert_eq!(summary["summary"]["from_journal"], 2, "{summary}");
    assert_eq!(summary["summary"]["revoked"], 3, "{summary}");

    // Text: the status column says it, and the summary tells sent from replayed.
    let run = ciam_text(&server, &j, &["tokA", "tokD"]).run().await;
    run.assert_code(0);
    let at = chrono::DateTime::parse_from_rfc3339(&times[&revoke::secret::fingerprint("tokA")])
        .unwrap()
        .format("%Y-%m-%d %H:%M UTC")
        .to_string();
    let out = run.stdout();
    let replayed = out.lines().find(|l| !l.contains("attempt")).unwrap();
    assert!(
        replayed.starts_with(&format!(
            "revoked (from the journal, {at}; not sent again) ciam token="
        )),
        "{out}"
    );
    assert!(
        run.stderr()
            .contains("ciam: 2 targets: 2 revoked (1 sent now, 1 from the journal); exit 0"),
        "{}",
        run.stderr()
    );
}

#[tokio::test]
async fn a_dry_run_shows_what_the_journal_would_skip() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let server = ciam_server().await;
    ciam_run(&server, &j, &["tokA"]).run().await.assert_code(0);
    let at = journal_times(&j)[&revoke::secret::fingerprint("tokA")].clone();

    let run = ciam_run(&server, &j, &["tokA", "tokB"])
        .args(["--dry-run"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(sent(&server).await, 1, "a dry run sends nothing");
    let records = run.records();
    assert_eq!(records[0]["status"], "planned", "{}", records[0]);
    assert_eq!(records[0]["from_journal"], at.as_str());
    assert!(records[0]["data"].is_null(), "no request would be sent");
    assert_eq!(records[1]["status"], "planned");
    assert!(records[1]["from_journal"].is_null());
    assert!(records[1]["data"].is_object(), "the request it would send");
    assert_eq!(run.summary()["summary"]["from_journal"], 1);

    let run = ciam_text(&server, &j, &["tokA"])
        .args(["--dry-run"])
        .run()
        .await;
    run.assert_code(0);
    assert!(
        run.stdout().starts_with("planned (from the journal, ")
            && run
                .stdout()
                .contains("; would not be sent again) ciam token="),
        "{}",
        run.stdout()
    );
    assert!(
        run.stderr()
            .contains("1 planned (1 from the journal, would not be sent again)"),
        "{}",
        run.stderr()
    );
}

/// smh deletes every token a user has *now*: its journal entries replay only while younger than
/// --resume-within; a revoked ciam token stays revoked at any age.
#[tokio::test]
async fn resume_within_bounds_replays_of_actions_on_current_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let (smh, ciam) = (smh_server().await, ciam_server().await);
    let smh_run = |extra: &[&str]| {
        Revoke::smh(&smh.uri())
            .args(["--journal"])
            .args([&j])
            .args(extra)
            .args(["alice"])
    };
    smh_run(&[]).run().await.assert_code(0);
    ciam_run(&ciam, &j, &["tokA"]).run().await.assert_code(0);
    assert_eq!((sent(&smh).await, sent(&ciam).await), (1, 1));

    // Young: replayed (default 24h, and 1s right away).
    let run = smh_run(&["--resume-within", "1s"]).run().await;
    run.assert_code(0);
    assert_eq!(sent(&smh).await, 1, "replayed");
    assert!(run.records()[0]["from_journal"].is_string());
    // 0 = never: sent again at once, from the flag, the environment or the config file.
    smh_run(&["--resume-within", "0"])
        .run()
        .await
        .assert_code(0);
    assert_eq!(sent(&smh).await, 2);
    smh_run(&[])
        .env("REVOKE_RESUME_WITHIN", "0")
        .run()
        .await
        .assert_code(0);
    assert_eq!(sent(&smh).await, 3);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[defaults]\nresume-within = \"0\"\n").unwrap();
    smh_run(&[&format!("--config={}", config.display())])
        .run()
        .await
        .assert_code(0);
    assert_eq!(sent(&smh).await, 4);
    // bi-embed clears the tokens a page has now: the same rule.
    let bi = answering(Duration::ZERO).await;
    let bi_run = |window: &str| {
        Revoke::bi_embed(&bi.uri())
            .args(["--rate", "0", "--journal"])
            .args([&j])
            .args(["--resume-within", window, "p1"])
    };
    bi_run("24h").run().await.assert_code(0);
    bi_run("24h").run().await.assert_code(0);
    assert_eq!(pages_received(&bi).await.len(), 1, "replayed");
    bi_run("0").run().await.assert_code(0);
    assert_eq!(pages_received(&bi).await.len(), 2, "0 = never replayed");

    // Older than the window: smh is sent again; the ciam token still replays, marked.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let run = smh_run(&["--resume-within", "1s"]).run().await;
    run.assert_code(0);
    assert_eq!(
        sent(&smh).await,
        5,
        "re-sent: tokens issued since would survive"
    );
    let r = &run.records()[0];
    assert!(r["from_journal"].is_null(), "{r}");
    assert_eq!(r["attempts"], 1, "{r}");
    let run = ciam_run(&ciam, &j, &["tokA"])
        .args(["--resume-within", "1s"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(sent(&ciam).await, 1, "a revoked token stays revoked");
    assert!(run.records()[0]["from_journal"].is_string());
}

#[tokio::test]
async fn resume_within_takes_a_duration_with_its_unit() {
    for bad in ["5", "1w", "-1h", "h", "99999d"] {
        Revoke::smh("http://127.0.0.1:9")
            .args([format!("--resume-within={bad}"), "alice".into()])
            .run()
            .await
            .assert_usage("--resume-within");
    }
    let run = Revoke::smh("http://127.0.0.1:9")
        .args(["--dry-run", "alice"])
        .args(["--resume-within", "1h30m"])
        .run()
        .await;
    run.assert_code(0);
}

#[tokio::test]
async fn no_journal_sets_a_configured_journal_aside() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let server = ciam_server().await;
    ciam_run(&server, &j, &["tokA"]).run().await.assert_code(0);
    let before = std::fs::read(&j).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[defaults]\njournal = {:?}\n", j.to_str().unwrap()),
    )
    .unwrap();
    let run = |r: Revoke| {
        r.args(["--config"])
            .args([&config])
            .args(["--input", "-"])
            .stdin("tokA")
            .run()
    };
    // Configured: replayed.
    run(Revoke::ciam(&server.uri())).await.assert_code(0);
    assert_eq!(sent(&server).await, 1);
    // Set aside by the flag, then by the environment (over REVOKE_JOURNAL too).
    let out = run(Revoke::ciam(&server.uri()).args(["--no-journal"])).await;
    out.assert_code(0);
    assert!(out.records()[0]["from_journal"].is_null());
    assert_eq!(sent(&server).await, 2);
    run(Revoke::ciam(&server.uri())
        .env("REVOKE_NO_JOURNAL", "1")
        .env("REVOKE_JOURNAL", &j))
    .await
    .assert_code(0);
    assert_eq!(sent(&server).await, 3);
    assert_eq!(std::fs::read(&j).unwrap(), before, "nothing journaled");
    // `revoke config` shows it as the run takes it.
    let shown = Revoke::new()
        .args(["config", "--no-journal", "--config"])
        .args([&config])
        .args(["ciam"])
        .run()
        .await;
    // The table is shown; ciam's required options are unset here, which `revoke config`
    // names on stderr (exit 2), as the run would.
    shown.assert_code(2);
    assert!(
        shown
            .stdout()
            .lines()
            .any(|l| l.starts_with("  journal ") && l.ends_with("set aside by --no-journal")),
        "{}",
        shown.stdout()
    );
}

#[tokio::test]
async fn no_config_reads_no_config_file() {
    let server = ciam_server().await;
    let r = Revoke::ciam(&server.uri());
    // A default config file that would stop any run.
    let dir = r.home().join(".config/revoke");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "[defaults]\nno-such-key = 1\n").unwrap();
    let named = r.home().join("named.toml");
    std::fs::write(&named, "this is not toml").unwrap();
    let home = r.home().to_path_buf();
    r.args(["--input", "-"])
        .stdin("tokA")
        .run()
        .await
        .assert_usage("no-such-key");
    let with_home = |r: Revoke| r.env("HOME", &home).args(["--input", "-"]).stdin("tokA");
    with_home(Revoke::ciam(&server.uri()).args(["--no-config"]))
        .run()
        .await
        .assert_code(0);
    // Not the one --config or REVOKE_CONFIG names either.
    with_home(
        Revoke::ciam(&server.uri())
            .args(["--no-config", "--config"])
            .args([&named]),
    )
    .run()
    .await
    .assert_code(0);
    with_home(
        Revoke::ciam(&server.uri())
            .env("REVOKE_CONFIG", &named)
            .env("REVOKE_NO_CONFIG", "true"),
    )
    .run()
    .await
    .assert_code(0);
    assert_eq!(sent(&server).await, 3);
    let shown = Revoke::new()
        .env("HOME", &home)
        .args(["config", "--no-config", "ciam"])
        .run()
        .await;
    // ciam's required options are unset with no config file: named on stderr, exit 2.
    shown.assert_code(2);
    assert!(
        shown
            .stdout()
            .starts_with("config file  none (--no-config)\n"),
        "{}",
        shown.stdout()
    );
}

/// `--input F --journal F`: revoke would read its own lines back as targets, growing the
/// file as it reads it. Refused, by any path to the file, and from stdin too.
#[tokio::test]
async fn an_input_that_is_the_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let server = ciam_server().await;
    ciam_run(&server, &j, &["tokA", "tokB"])
        .run()
        .await
        .assert_code(0);
    let before = std::fs::read(&j).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&j, &link).unwrap();
    let hard = dir.path().join("hard");
    std::fs::hard_link(&j, &hard).unwrap();
    let dotted = dir.path().join(".").join("j.ndjson");
    for (input, journal) in [(&j, &j), (&link, &j), (&j, &hard), (&dotted, &link)] {
        Revoke::ciam(&server.uri())
            .args(["--input"])
            .args([input])
            .args(["--journal"])
            .args([journal])
            .run()
            .await
            .assert_usage("the journal's own lines would be read back as targets");
    }
    // stdin redirected from the journal.
    let (mut cmd, _home) = Revoke::ciam(&server.uri())
        .args(["--input", "-", "--journal"])
        .args([&link])
        .into_parts();
    let out = cmd
        .stdin(std::fs::File::open(&j).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin (--input -) is the journal"));
    assert_eq!(sent(&server).await, 2, "nothing sent");
    assert_eq!(
        std::fs::read(&j).unwrap(),
        before,
        "the journal did not grow"
    );
}

/// Runs `r` under `ulimit -v kib` (its address space: what it can ever allocate).
fn under_ulimit_v(r: Revoke, kib: u64) -> std::process::Output {
    let (cmd, _home) = r.into_parts();
    let mut sh = std::process::Command::new("sh");
    sh.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    sh.arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    sh.stdin(std::process::Stdio::null()).output().unwrap()
}

/// The journal's index does not grow with the journal: 500,000 lines (90 MB; the index of
/// every key needed 52 MB here, 209 MB at 3 million) load in an address space of 44 MiB, and
/// the one line that matters is still found among them.
#[tokio::test]
async fn a_long_journal_loads_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let server = ciam_server().await;
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "tokA\n").unwrap();
    let with_input = |r: Revoke| r.args(["--input"]).args([&tokens]);
    let run = with_input(Revoke::ciam(&server.uri()).args(["--journal"]).args([&j]));
    run.run().await.assert_code(0);
    let ours = std::fs::read_to_string(&j).unwrap();

    // 250,000 other targets' lines on either side of ours, as earlier runs wrote them.
    let mut text = String::with_capacity(120 << 20);
    let filler = |text: &mut String, from: u64| {
        for i in from..from + 250_000 {
            text.push_str(&format!(
                "{{\"key\":\"sha256:{:032x}\",\"provider\":\"ciam\",\"index\":{i},\"target\":{{\"token\":\"sha256:{:012x}\"}},\"status\":\"revoked\",\"ok\":true,\"at\":\"2026-12-04T21:36:00.123Z\"}}\n",
                (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                i
            ));
        }
    };
    filler(&mut text, 0);
    text.push_str(&ours);
    filler(&mut text, 250_000);
    std::fs::write(&j, &text).unwrap();
    drop(text);

    std::fs::write(&tokens, "tokA\ntokB\n").unwrap();
    let r = with_input(Revoke::ciam(&server.uri()).args(["--journal"]).args([&j]));
    let out = under_ulimit_v(r, 44 * 1024);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records[0]["from_journal"].is_string(), "{}", records[0]);
    assert!(records[1]["from_journal"].is_null(), "{}", records[1]);
    assert_eq!(
        sent(&server).await,
        2,
        "tokA once, in the first run; tokB now"
    );
}

// ---- The hash chain across runs (`revoke report --check`) ----

async fn check(journal: &Path) -> Run {
    Revoke::new()
        .args(["report", "--check"])
        .args([journal])
        .run()
        .await
}

fn sha256_link(line: &str) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(line.as_bytes()))
    )
}

#[tokio::test]
async fn two_runs_append_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.ndjson");
    let server = answering(Duration::ZERO).await;
    bi(&server, &journal_path)
        .args(["p1", "p2"])
        .run()
        .await
        .assert_code(0);
    restart(&server, Duration::ZERO).await;
    bi(&server, &journal_path)
        .args(["p1", "p2", "p3", "p4"])
        .run()
        .await
        .assert_code(0);
    let text = std::fs::read_to_string(&journal_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["prev"], format!("sha256:{}", "0".repeat(64)));
    for i in 1..4 {
        let line: Value = serde_json::from_str(lines[i]).unwrap();
        assert_eq!(line["seq"], i as u64 + 1, "{text}");
        // The second run's first line chains to the first run's last.
        assert_eq!(line["prev"], sha256_link(lines[i - 1]), "line {}", i + 1);
    }
    let run = check(&journal_path).await;
    run.assert_code(0);
    assert!(
        run.stdout().contains(
            ": intact: 4 lines, chained from seq 1 to 4; the last line's hash is sha256:"
        ),
        "{}",
        run.stdout()
    );
}

#[tokio::test]
async fn a_line_cut_by_a_kill_then_a_rerun_is_a_crash_not_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let journal_path = dir.path().join("journal.ndjson");
    let server = answering(Duration::ZERO).await;
    bi(&server, &journal_path)
        .args(["p1", "p2", "p3"])
        .run()
        .await
        .assert_code(0);
    // What SIGKILL in the middle of the last write leaves: half a line, no newline.
    let text = std::fs::read_to_string(&journal_path).unwrap();
    let last = text.lines().last().unwrap();
    let keep = text.len() - last.len() / 2 - 1;
    std::fs::write(&journal_path, &text[..keep]).unwrap();
    let shown = journal_path.display().to_string();

    // Cut and nothing after it: a note, exit 0.
    let run = check(&journal_path).await;
    run.assert_code(0);
    assert!(
        run.stdout().starts_with(&format!(
            "{shown}:3: cut short (a crash while it was written)"
        )),
        "{}",
        run.stdout()
    );

    // The rerun chains to the last whole line, past the cut one, which stays in the file.
    restart(&server, Duration::ZERO).await;
    bi(&server, &journal_path)
        .args(["p1", "p2", "p3", "p4"])
        .run()
        .await
        .assert_code(0);
    let run = check(&journal_path).await;
    run.assert_code(0);
    let out = run.stdout();
    assert!(
        out.starts_with(&format!(
            "{shown}:3: cut short by a crash (not tampering): line 4, written by a later run, goes on with the next seq\n"
        )),
        "{out}"
    );
    assert!(!out.contains("edited"), "{out}");
    assert!(
        out.contains(&format!(
            "{shown}: intact: 5 lines, chained from seq 1 to 4;"
        )),
        "{out}"
    );

    // The same cut line, but the line before it edited: the edit is named, and the cut line
    // is still a crash's.
    let text = std::fs::read_to_string(&journal_path).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    lines[1] = lines[1].replace("\"ok\":true", "\"ok\":false");
    std::fs::write(&journal_path, lines.concat()).unwrap();
    let run = check(&journal_path).await;
    run.assert_code(1);
    assert!(
        run.stdout().starts_with(&format!(
            "{shown}:2: edited: its hash is not the `prev` of line 4 (seq 3)\n{shown}:3: cut short by a crash"
        )),
        "{}",
        run.stdout()
    );
}

/// `--check` reads a journal as a stream: 50,000 chained lines with an 80 MB line among them
/// are checked in an address space of 40 MiB; the long line is named, not read, and a swap
/// near the end is still found exactly.
#[tokio::test]
async fn check_reads_a_long_journal_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let mut lines = Vec::with_capacity(50_000);
    let mut prev = format!("sha256:{}", "0".repeat(64));
    for i in 0..50_000u64 {
        let line = format!(
            "{{\"seq\":{},\"prev\":\"{prev}\",\"key\":\"sha256:{i:032x}\",\"provider\":\"ciam\",\"index\":{i},\"target\":{{\"token\":\"sha256:{i:012x}\"}},\"status\":\"revoked\",\"ok\":true,\"at\":\"2026-12-04T21:36:00.123Z\"}}\n",
            i + 1
        );
        prev = sha256_link(line.trim_end_matches('\n'));
        lines.push(line);
    }
    lines.swap(45_000, 45_001);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&j).unwrap());
    use std::io::Write;
    for (i, line) in lines.iter().enumerate() {
        if i == 20_000 {
            let chunk = vec![b'x'; 1 << 20];
            for _ in 0..80 {
                file.write_all(&chunk).unwrap();
            }
            file.write_all(b"\n").unwrap();
        }
        file.write_all(line.as_bytes()).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    drop(lines);

    let out = under_ulimit_v(
        Revoke::new().args(["report", "--check"]).args([&j]),
        40 * 1024,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = j.display();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "{shown}:20001: longer than 64 KiB: not a journal line\n\
             {shown}:45002: moved: swapped with line 45003 (seq 45002 is written before seq 45001)\n\
             {shown}: not intact: 2 problems in 50001 lines, the first at line 20001\n"
        )
    );
}

/// The journal's `at` is the time of the answer, as the record's is (CLI.md: a replay's
/// `from_journal` is "the time of the original answer"), not the time the line was written:
/// with `--verify`, a token still alive right after its revocation is checked again over a
/// few seconds before its record and its journal line are written.
#[tokio::test]
async fn the_journal_says_when_the_answer_came_not_when_the_line_was_written() {
    use wiremock::matchers as m;
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/auth/v1/revoke"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/json"))
        .mount(&server)
        .await;
    let introspect = || Mock::given(m::method("GET")).and(m::path("/auth/v1/token/introspect"));
    let alive = serde_json::json!({"sub": "u1", "client_id": "c"});
    // Alive before, still alive at the first check after, dead at the next.
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(&alive))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    introspect()
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.ndjson");
    let run = Revoke::cloudbase(&server.uri())
        .args(["--verify", "--journal"])
        .args([&path])
        .args(["--input", "-"])
        .stdin("journalAtToken0001\n")
        .run()
        .await;
    run.assert_code(0);
    let records = run.records();
    assert_eq!(records[0]["verified"], true, "{}", run.stdout());
    let (lines, _) = journal(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["at"], records[0]["at"], "{}", run.stdout());
    let rerun = Revoke::cloudbase(&server.uri())
        .args(["--journal"])
        .args([&path])
        .args(["--input", "-"])
        .stdin("journalAtToken0001\n")
        .run()
        .await;
    rerun.assert_code(0);
    assert_eq!(rerun.records()[0]["from_journal"], records[0]["at"]);
}

/// A journal write that fails part way (a full disk: here the file size limit, `ulimit -f`, with
/// SIGXFSZ ignored so that the write fails with EFBIG) leaves part of a line. Once the disk has
/// room again, the next line of the same run starts on a line of its own, as after a crash: it
/// is not glued to the fragment (which would lose it, and make `revoke report --check` call a
/// full disk an edit).
#[tokio::test]
async fn a_journal_write_cut_by_a_full_disk_does_not_swallow_the_next_line() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(1500)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.ndjson");
    // `ulimit -f 8` is 4096 bytes: the first journal line, about 300 bytes, crosses it.
    let filler = format!("{}\n", "#".repeat(4000));
    std::fs::write(&path, &filler).unwrap();
    let (cmd, _home) = Revoke::ciam(&server.uri())
        .args(["--concurrency", "1", "--rate", "0", "--journal"])
        .args([&path])
        .args(["journalTokenOne", "journalTokenTwo"])
        .into_parts();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 8; exec \"$0\" \"$@\"")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = sh.spawn().unwrap();
    // The first answer's line is cut at 4096 bytes; then the disk "has room" again: the filler
    // is taken out of the same file (the run appends to its end), the fragment kept.
    let started = Instant::now();
    let fragment = loop {
        let bytes = std::fs::read(&path).unwrap();
        if bytes.len() == 4096 {
            break bytes[filler.len()..].to_vec();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no cut line");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(0).unwrap();
    std::io::Write::write_all(&mut file, &fragment).unwrap();
    drop(file);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write journal"), "{stderr}");
    let (lines, broken) = journal(&path);
    assert_eq!(broken, 1, "the fragment only");
    assert_eq!(lines.len(), 1, "the second target's line, whole");
    assert_eq!(lines[0]["index"], 1);
    check(&path).await.assert_code(0);
}

/// An smh or bi-embed entry dated in the future (a journal from a machine whose clock was ahead,
/// or edited) says nothing of how old it is: beyond `--resume-within` ahead of the clock it is
/// not replayed, or the user's tokens would never be deleted again with this journal (until
/// the clock reaches the date). A revoked token's entry still replays at any date.
#[tokio::test]
async fn an_entry_dated_in_the_future_is_no_younger_than_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let (smh, ciam) = (smh_server().await, ciam_server().await);
    let smh_run = || {
        Revoke::smh(&smh.uri())
            .args(["--journal"])
            .args([&j])
            .args(["alice"])
    };
    smh_run().run().await.assert_code(0);
    ciam_run(&ciam, &j, &["tokA"]).run().await.assert_code(0);
    assert_eq!((sent(&smh).await, sent(&ciam).await), (1, 1));
    let text = std::fs::read_to_string(&j).unwrap();
    let mut future = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        v["at"] = "2099-01-01T00:00:00.000Z".into();
        future.push_str(&format!("{v}\n"));
    }
    std::fs::write(&j, future).unwrap();
    let run = smh_run().run().await;
    run.assert_code(0);
    assert_eq!(sent(&smh).await, 2, "sent again: {}", run.stdout());
    assert!(run.records()[0]["from_journal"].is_null());
    // Ahead by less than the window: as young as can be, replayed.
    let soon = (chrono::Utc::now() + chrono::TimeDelta::try_hours(1).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let text = std::fs::read_to_string(&j).unwrap();
    let mut ahead = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        v["at"] = soon.clone().into();
        ahead.push_str(&format!("{v}\n"));
    }
    std::fs::write(&j, ahead).unwrap();
    smh_run().run().await.assert_code(0);
    assert_eq!(sent(&smh).await, 2, "replayed");
    let run = ciam_run(&ciam, &j, &["tokA"]).run().await;
    run.assert_code(0);
    assert_eq!(sent(&ciam).await, 1, "a revoked token stays revoked");
}

/// An edited journal line that says `"ok": true` of a status that is no success (`failed`,
/// `skipped`, `planned`) is not a target finished successfully: the target is sent again, not
/// replayed as a failure on every rerun.
#[tokio::test]
async fn an_edited_line_that_calls_a_failure_ok_is_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.ndjson");
    let ciam = ciam_server().await;
    ciam_run(&ciam, &j, &["tokA"]).run().await.assert_code(0);
    for (n, status) in ["failed", "skipped", "planned"].into_iter().enumerate() {
        let text = std::fs::read_to_string(&j).unwrap();
        let mut edited = String::new();
        for line in text.lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            v["status"] = status.into();
            v["ok"] = true.into();
            edited.push_str(&format!("{v}\n"));
        }
        std::fs::write(&j, edited).unwrap();
        let run = ciam_run(&ciam, &j, &["tokA"]).run().await;
        run.assert_code(0);
        assert_eq!(sent(&ciam).await, n + 2, "{status}: {}", run.stdout());
        assert!(run.records()[0]["from_journal"].is_null());
    }
}

/// identity-store `--verify` holds its delete records for the listing after the last delete;
/// their journal lines are not held with them: a run killed with SIGKILL before that listing
/// keeps every delete it had an answer for (README: "A run killed at any moment, even with
/// SIGKILL, loses nothing"), and a rerun does not send them again.
#[tokio::test]
async fn identity_store_verify_journals_each_delete_before_the_listing_after() {
    use wiremock::matchers as m;
    let server = MockServer::start().await;
    Mock::given(m::method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "bearer_tokens": [{"token_id": "id1"}, {"token_id": "id2"}]
        })))
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .and(m::path_regex("/id1$"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(m::method("DELETE"))
        .and(m::path_regex("/id2$"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.ndjson");
    let running = Revoke::identity_store(&server.uri())
        .args(["--verify", "--concurrency", "1", "--rate", "0", "--journal"])
        .args([&path])
        .args(["id1", "id2"])
        .spawn();
    let started = Instant::now();
    loop {
        let deletes = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.method.as_str() == "DELETE")
            .count();
        if deletes == 2 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no deletes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The first delete's answer is in; its journal line follows at once.
    let (lines, _) = loop {
        let read = journal(&path);
        if !read.0.is_empty() || started.elapsed() > Duration::from_secs(5) {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    running.signal("KILL");
    let _ = running.wait().await;
    assert_eq!(lines.len(), 1, "the answered delete's line");
    assert_eq!(lines[0]["status"], "revoked");
    assert_eq!(lines[0]["index"], 0);
}
