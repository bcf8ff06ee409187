//! `revoke apply PLAN.toml`, end to end: a plan over three providers whose middle step has
//! wrong credentials (that step exit 3, its other targets skipped, the others revoked, the
//! plan exit 3); a plan with one bad step (nothing sent for any step); a plan killed with
//! SIGKILL and rerun with its journal (nothing resent that succeeded); Ctrl-C stopping every
//! step; `--dry-run` planning everything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::config::with_config;
use crate::support::*;

/// Writes the plan `text` (with `{smh}`, `{ciam}`, `{is}`, `{bi}`, `{cb}` replaced by the
/// servers' URIs) beside the run's HOME.
fn plan(r: &Revoke, text: &str, uris: &[(&str, &str)]) -> PathBuf {
    let mut text = text.to_string();
    for (k, v) in uris {
        text = text.replace(&format!("{{{k}}}"), v);
    }
    private_file(r.home(), "plan.toml", &text)
}

async fn smh_ok() -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&s)
        .await;
    s
}

async fn ciam(status: u16, body: &str) -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
        .mount(&s)
        .await;
    s
}

async fn identity_store_ok() -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&s)
        .await;
    s
}

async fn count(s: &MockServer) -> usize {
    s.received_requests().await.unwrap().len()
}

const THREE: &str = r#"
[defaults]
retries = 0

[[step]]
command = "smh"
endpoint = "{smh}"
targets = ["${USER_ID}"]

[[step]]
name = "CIAM app"
command = "ciam"
endpoint = "{ciam}"
client-id = "app"
input = "tokens.txt"

[[step]]
command = "identity-store"
context = "ci"
endpoint = "{is}"
targets = ["tok-1", "tok-2"]
"#;

const CONFIG: &str = r#"
[smh.default]
library-id = "lib1"
library-secret = "smhInlineSecret01"

[identity-store.ci]
identity-store-id = "d-1"
tenant-id = "t-1"
"#;

/// The NDJSON lines of a plan run: records, step summaries, the plan summary (last).
fn lines(run: &Run) -> Vec<Value> {
    run.stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn step_records(all: &[Value], step: u64) -> Vec<&Value> {
    all.iter()
        .filter(|v| v["step"] == step && v.get("summary").is_none())
        .collect()
}

fn step_summary(all: &[Value], step: u64) -> &Value {
    all.iter()
        .find(|v| v["step"] == step && v.get("summary").is_some())
        .unwrap_or_else(|| panic!("no summary for step {step}"))
}

#[tokio::test]
async fn one_step_with_wrong_credentials_stops_alone_and_the_plan_exits_3() {
    let (smh, is) = (smh_ok().await, identity_store_ok().await);
    let bad = ciam(401, &fixture("ciam/error_invalid_client.json")).await;
    let r = with_config(CONFIG, "")
        .env("USER_ID", "alice")
        .env("CIAM_CLIENT_SECRET", "wrongSecret0001")
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    std::fs::write(r.home().join("tokens.txt"), "t1\nt2\nt3\n").unwrap();
    let p = plan(
        &r,
        THREE,
        &[("smh", &smh.uri()), ("ciam", &bad.uri()), ("is", &is.uri())],
    );
    let run = r.args(["apply", "-o", "json"]).args([&p]).run().await;
    run.assert_code(3);
    let all = lines(&run);
    // smh and identity-store revoked everything.
    assert_eq!(count(&smh).await, 1);
    assert_eq!(count(&is).await, 2);
    for (step, n) in [(0, 1), (2, 2)] {
        let records = step_records(&all, step);
        assert_eq!(records.len(), n);
        assert!(
            records.iter().all(|r| r["status"] == "revoked"),
            "{records:?}"
        );
        assert_eq!(step_summary(&all, step)["exit_code"], 0);
    }
    // ciam: one request (credentials first), rejected; the other two skipped.
    assert_eq!(count(&bad).await, 1, "credentials first: one request");
    let ciam = step_records(&all, 1);
    let statuses: BTreeSet<&str> = ciam.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, BTreeSet::from(["failed", "skipped"]));
    assert!(
        ciam.iter()
            .all(|r| r["name"] == "CIAM app" && r["provider"] == "ciam")
    );
    let s = step_summary(&all, 1);
    assert_eq!(s["exit_code"], 3);
    assert_eq!(s["name"], "CIAM app");
    assert_eq!(s["summary"]["skipped"], 2);
    // Records carry step first; a step without a name has none.
    let first = step_records(&all, 0)[0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).take(2).collect();
    assert_eq!(keys, ["step", "provider"]);
    // The plan's own summary, last.
    let last = all.last().unwrap();
    assert_eq!(last["steps"], 3);
    assert_eq!(last["exit_code"], 3);
    assert_eq!(last["summary"]["total"], 6);
    assert_eq!(last["summary"]["revoked"], 3);
    assert_eq!(last["summary"]["skipped"], 2);
    assert!(last.get("step").is_none());
    run.assert_no_secret(&["smhInlineSecret01", "wrongSecret0001"]);
}

#[tokio::test]
async fn one_bad_step_sends_nothing_for_any_step() {
    let (smh, is) = (smh_ok().await, identity_store_ok().await);
    let good = ciam(200, "").await;
    let base = |config: &str, user: Option<&str>| {
        let r = with_config(config, "")
            .env("CIAM_CLIENT_SECRET", "s3cret")
            .env("HUAWEICLOUD_SDK_AK", HW_AK)
            .env("HUAWEICLOUD_SDK_SK", HW_SK);
        std::fs::write(r.home().join("tokens.txt"), "t1\n").unwrap();
        match user {
            Some(u) => r.env("USER_ID", u),
            None => r,
        }
    };
    let uris = [("smh", smh.uri()), ("ciam", good.uri()), ("is", is.uri())];
    let uris: Vec<(&str, &str)> = uris.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Each is wrong in one step only (the last ones, so that the first would have been sent),
    // and found only once the step is resolved.
    let cases = [
        (
            THREE.replace("context = \"ci\"", "context = \"cd\""),
            CONFIG.to_string(),
            "step 3 (identity-store",
            "context \"cd\"",
        ),
        (
            THREE.to_string(),
            CONFIG.replace("tenant-id = \"t-1\"", ""),
            "step 3 (identity-store",
            "--tenant-id is required",
        ),
        (
            THREE.replace("targets = [\"tok-1\", \"tok-2\"]", ""),
            CONFIG.to_string(),
            "step 3 (identity-store",
            "no token ids given",
        ),
        (
            THREE.replace("endpoint = \"{is}\"", "endpoint = \"http://example.com\""),
            CONFIG.to_string(),
            "step 3 (identity-store",
            "http",
        ),
        (
            THREE.replace("input = \"tokens.txt\"", "input = \"missing.txt\""),
            CONFIG.to_string(),
            "step 2 (ciam, \"CIAM app\"",
            "missing.txt",
        ),
    ];
    for (text, config, step, why) in cases {
        let r = base(&config, Some("alice"));
        let p = plan(&r, &text, &uris);
        let run = r.args(["apply"]).args([&p]).run().await;
        run.assert_usage(step);
        assert!(run.stderr().contains(why), "{why}: {}", run.stderr());
        assert!(
            run.stderr().contains("nothing was sent for any step"),
            "{}",
            run.stderr()
        );
    }
    // A ${VAR} that is not set.
    let r = base(CONFIG, None);
    let p = plan(&r, THREE, &uris);
    let run = r.args(["apply"]).args([&p]).run().await;
    run.assert_usage("targets: ${USER_ID} is not set");
    assert_eq!(count(&smh).await, 0);
    assert_eq!(count(&good).await, 0);
    assert_eq!(count(&is).await, 0);
}

/// CI systems set the variables they mean to leave unset to the empty string: a plan's steps
/// read their options as a command line does, with `REVOKE_CONCURRENCY=` meaning unset.
#[tokio::test]
async fn an_empty_run_variable_does_not_stop_a_plan() {
    let (smh, is) = (smh_ok().await, identity_store_ok().await);
    let good = ciam(200, "").await;
    let r = with_config(CONFIG, "")
        .env("USER_ID", "alice")
        .env("CIAM_CLIENT_SECRET", "dryRunSecret0001")
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK)
        .env("REVOKE_CONCURRENCY", "")
        .env("REVOKE_RATE", "")
        .env("REVOKE_TIMEOUT", "");
    std::fs::write(r.home().join("tokens.txt"), "t1\nt2\n").unwrap();
    let p = plan(
        &r,
        THREE,
        &[
            ("smh", &smh.uri()),
            ("ciam", &good.uri()),
            ("is", &is.uri()),
        ],
    );
    let run = r
        .args(["apply", "--dry-run", "-o", "json"])
        .args([&p])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(lines(&run).last().unwrap()["summary"]["planned"], 5);
}

#[tokio::test]
async fn a_dry_run_plans_every_step_and_sends_nothing() {
    let (smh, is) = (smh_ok().await, identity_store_ok().await);
    let good = ciam(200, "").await;
    let r = with_config(CONFIG, "")
        .env("USER_ID", "alice")
        .env("CIAM_CLIENT_SECRET", "dryRunSecret0001")
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    std::fs::write(r.home().join("tokens.txt"), "t1\nt2\n").unwrap();
    let p = plan(
        &r,
        THREE,
        &[
            ("smh", &smh.uri()),
            ("ciam", &good.uri()),
            ("is", &is.uri()),
        ],
    );
    let run = r
        .args(["apply", "--dry-run", "-vvv", "-o", "json"])
        .args([&p])
        .run()
        .await;
    run.assert_code(0);
    let all = lines(&run);
    assert_eq!(all.last().unwrap()["summary"]["planned"], 5);
    for step in 0..3 {
        assert!(
            step_records(&all, step)
                .iter()
                .all(|r| r["status"] == "planned")
        );
    }
    assert_eq!(count(&smh).await + count(&good).await + count(&is).await, 0);
    assert_eq!(
        run.stderr()
            .matches("revoke: dry run: nothing will be sent")
            .count(),
        3
    );
    run.assert_no_secret(&["smhInlineSecret01", "dryRunSecret0001", HW_SK]);
}

#[tokio::test]
async fn text_output_names_the_step_of_each_line() {
    let (smh, is) = (smh_ok().await, identity_store_ok().await);
    let good = ciam(200, "").await;
    let r = with_config(CONFIG, "")
        .env("USER_ID", "alice")
        .env("CIAM_CLIENT_SECRET", "s3cret")
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    std::fs::write(r.home().join("tokens.txt"), "t1\n").unwrap();
    let p = plan(
        &r,
        THREE,
        &[
            ("smh", &smh.uri()),
            ("ciam", &good.uri()),
            ("is", &is.uri()),
        ],
    );
    let run = r.args(["apply"]).args([&p]).run().await;
    run.assert_code(0);
    let out = run.stdout();
    assert!(
        out.lines().any(|l| l.starts_with("[step 1] revoked ")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("[step 2 CIAM app] revoked ")),
        "{out}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("[step 3] revoked "))
            .count(),
        2
    );
    let err = run.stderr();
    assert!(
        err.contains("[step 2 CIAM app] ciam: 1 target: 1 revoked; exit 0"),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("plan: 3 steps, 4 targets: 4 revoked; exit 0"),
        "{err}"
    );
}

const TWO_SLOW: &str = r#"
[defaults]
rate = 0

[[step]]
command = "bi-embed"
endpoint = "{bi}"
project-id = "889"
user-corp-id = "7"
scope = "page"
input = "pages.txt"

[[step]]
command = "cloudbase"
endpoint = "{cb}"
input = "tokens.txt"
"#;

async fn slow(delay: Duration) -> MockServer {
    let s = MockServer::start().await;
    answer(&s, delay).await;
    s
}

async fn answer(s: &MockServer, delay: Duration) {
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json")
                .set_delay(delay),
        )
        .mount(s)
        .await;
}

/// What each server was asked about: bi-embed's page ids, cloudbase's token fingerprints.
async fn asked(bi: &MockServer, cb: &MockServer) -> (Vec<String>, Vec<String>) {
    let pages = bi
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["PageId"].as_str().unwrap().to_string()
        })
        .collect();
    let tokens = cb
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            revoke::secret::fingerprint(body["token"].as_str().unwrap())
        })
        .collect();
    (pages, tokens)
}

/// The targets the journal records as done, by provider: page ids and token fingerprints.
fn done(journal: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    let (mut pages, mut tokens) = (BTreeSet::new(), BTreeSet::new());
    for l in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(l) else {
            continue;
        };
        if v["ok"] != true {
            continue;
        }
        match v["provider"].as_str() {
            Some("bi-embed") => pages.insert(v["target"]["page_id"].as_str().unwrap().into()),
            Some("cloudbase") => tokens.insert(v["target"]["token"].as_str().unwrap().into()),
            _ => false,
        };
    }
    (pages, tokens)
}

fn two_slow(r: &Revoke, bi: &MockServer, cb: &MockServer) -> PathBuf {
    let pages: Vec<String> = (0..30).map(|i| format!("p{i:02}")).collect();
    let tokens: Vec<String> = (0..30).map(|i| format!("cbToken{i:04}")).collect();
    std::fs::write(r.home().join("pages.txt"), pages.join("\n")).unwrap();
    std::fs::write(r.home().join("tokens.txt"), tokens.join("\n")).unwrap();
    plan(r, TWO_SLOW, &[("bi", &bi.uri()), ("cb", &cb.uri())])
}

#[tokio::test]
async fn a_plan_killed_and_rerun_with_its_journal_resends_nothing_done() {
    let (bi, cb) = (
        slow(Duration::from_millis(250)).await,
        slow(Duration::from_millis(250)).await,
    );
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.ndjson");
    let tc = |r: Revoke| {
        r.env("TENCENTCLOUD_SECRET_ID", TC_ID)
            .env("TENCENTCLOUD_SECRET_KEY", TC_KEY)
    };
    let r = tc(Revoke::new());
    let p = two_slow(&r, &bi, &cb);
    let home = r.home().to_path_buf();
    let running = r
        .args(["apply", "-o", "json", "--concurrency", "4", "--journal"])
        .args([&journal, &p])
        .spawn();
    let started = Instant::now();
    loop {
        let (pages, tokens) = done(&journal);
        if pages.len() >= 3 && tokens.len() >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no journal lines"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("KILL");
    let run1 = running.wait().await;
    assert_eq!(run1.out.status.code(), None, "killed by the signal");
    let (pages1, tokens1) = done(&journal);
    assert!(pages1.len() < 30 && tokens1.len() < 30, "killed mid-run");

    // The rerun: same plan, same journal, the servers fast (same ports: the endpoint is part
    // of a journal entry's scope).
    for s in [&bi, &cb] {
        s.reset().await;
        answer(s, Duration::ZERO).await;
    }
    let r = tc(Revoke::new());
    let p2 = r.home().join("plan.toml");
    for f in ["plan.toml", "pages.txt", "tokens.txt"] {
        std::fs::copy(home.join(f), r.home().join(f)).unwrap();
    }
    drop(p);
    let run2 = r
        .args(["apply", "-o", "json", "--journal"])
        .args([&journal, &p2])
        .run()
        .await;
    run2.assert_code(0);
    let (pages2, tokens2) = asked(&bi, &cb).await;
    let pages2: BTreeSet<String> = pages2.into_iter().collect();
    let tokens2: BTreeSet<String> = tokens2.into_iter().collect();
    assert!(pages1.is_disjoint(&pages2), "bi-embed resent what was done");
    assert!(
        tokens1.is_disjoint(&tokens2),
        "cloudbase resent what was done"
    );
    assert_eq!(pages1.len() + pages2.len(), 30, "every page done once");
    assert_eq!(tokens1.len() + tokens2.len(), 30, "every token done once");
    let all = lines(&run2);
    assert_eq!(all.last().unwrap()["summary"]["revoked"], 60);
    // The replays say so, in each record and in the summaries.
    let replayed = pages1.len() + tokens1.len();
    for step in 0..2 {
        for r in step_records(&all, step) {
            let id = r["target"]["page_id"]
                .as_str()
                .or(r["target"]["token"].as_str())
                .unwrap();
            let from_journal = pages1.contains(id) || tokens1.contains(id);
            assert_eq!(r["from_journal"].is_string(), from_journal, "{r}");
            assert_eq!(r["attempts"] == 0, from_journal, "{r}");
        }
    }
    let from_steps: u64 = (0..2)
        .map(|s| {
            step_summary(&all, s)["summary"]["from_journal"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(from_steps, replayed as u64);
    assert_eq!(
        all.last().unwrap()["summary"]["from_journal"],
        replayed as u64
    );
    let (pages, tokens) = done(&journal);
    assert_eq!((pages.len(), tokens.len()), (30, 30));
}

/// A step's input that is the plan's journal (by any path) is refused before anything is sent.
#[tokio::test]
async fn a_step_input_that_is_the_plan_journal_is_refused() {
    let server = slow(Duration::ZERO).await;
    let r = Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", TC_ID)
        .env("TENCENTCLOUD_SECRET_KEY", TC_KEY);
    let journal = r.home().join("journal.ndjson");
    std::fs::write(&journal, "p01\n").unwrap();
    std::os::unix::fs::symlink(&journal, r.home().join("pages.txt")).unwrap();
    let p = r.home().join("plan.toml");
    std::fs::write(
        &p,
        format!(
            "[defaults]\njournal = \"journal.ndjson\"\n[[step]]\ncommand = \"bi-embed\"\nendpoint = \"{}\"\nproject-id = \"1\"\nuser-corp-id = \"2\"\nscope = \"page\"\ninput = \"pages.txt\"\n",
            server.uri()
        ),
    )
    .unwrap();
    let run = r.args(["apply", "-o", "json"]).args([&p]).run().await;
    run.assert_usage("the journal's own lines would be read back as targets");
    assert_eq!(count(&server).await, 0);
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), "p01\n");
}

#[tokio::test]
async fn ctrl_c_stops_every_step() {
    let (bi, cb) = (
        slow(Duration::from_millis(400)).await,
        slow(Duration::from_millis(400)).await,
    );
    let r = Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", TC_ID)
        .env("TENCENTCLOUD_SECRET_KEY", TC_KEY);
    let p = two_slow(&r, &bi, &cb);
    let running = r
        .args(["apply", "-o", "json", "--concurrency", "2"])
        .args([&p])
        .spawn();
    let started = Instant::now();
    while count(&bi).await < 2 || count(&cb).await < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "nothing sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("INT");
    let run = running.wait().await;
    run.assert_code(130);
    let all = lines(&run);
    for step in 0..2 {
        let records = step_records(&all, step);
        assert_eq!(records.len(), 30, "every target has its record");
        assert!(records.iter().any(|r| r["status"] == "skipped"));
        assert_eq!(step_summary(&all, step)["exit_code"], 130);
    }
    assert_eq!(all.last().unwrap()["exit_code"], 130);
    assert!(count(&bi).await < 30 && count(&cb).await < 30);
}

/// An input that cannot hold targets (a directory): exit 2 naming it, nothing sent, for one
/// command and in a plan, where it stops every step before anything is sent.
#[tokio::test]
async fn a_directory_as_input_is_exit_2_and_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let r = Revoke::cloudbase(&server.uri());
    let dir = r.home().join("tokens");
    std::fs::create_dir(&dir).unwrap();
    let run = r.args(["--input"]).args([&dir]).run().await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("a directory, not a file of targets"),
        "{}",
        run.stderr()
    );
    assert_eq!(count(&server).await, 0);

    let r = Revoke::new();
    std::fs::create_dir(r.home().join("tokens")).unwrap();
    let p = plan(
        &r,
        r#"
[[step]]
command = "cloudbase"
endpoint = "{cb}"
targets = ["tok-a"]

[[step]]
command = "cloudbase"
endpoint = "{cb}"
input = "tokens"
"#,
        &[("cb", &server.uri())],
    );
    let run = r.args(["apply"]).args([&p]).run().await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("a directory") && run.stderr().contains("nothing was sent"),
        "{}",
        run.stderr()
    );
    assert_eq!(count(&server).await, 0, "a step was sent");
}

/// A plan's `${VAR}` expansion is bounded in all: a 45 KB plan referencing a 100 KB variable
/// 5,000 times (500 MB once expanded) is exit 2 naming the bound, at once, under a memory
/// bound (`ulimit -v`), and nothing is sent.
#[tokio::test]
async fn plan_expansion_is_bounded_in_all() {
    let server = MockServer::start().await;
    let r = Revoke::new().env("BIG", "x".repeat(100_000));
    let targets = vec!["\"${BIG}\""; 5_000].join(", ");
    let p = plan(
        &r,
        &format!(
            "[[step]]\ncommand = \"cloudbase\"\nendpoint = \"{{cb}}\"\ntargets = [{targets}]\n"
        ),
        &[("cb", &server.uri())],
    );
    let (mut cmd, _home) = r.args(["apply"]).args([&p]).into_parts();
    let mut sh = under_ulimit_v(&mut cmd, 1_000_000);
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || sh.output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("more than 4 MiB once their ${VAR}s are replaced"),
        "{err}"
    );
    assert!(
        err.len() < 2000,
        "the message is bounded: {} bytes",
        err.len()
    );
    assert!(out.stdout.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(count(&server).await, 0);
}

/// The steps of a plan run on a pool, not one thread each: 1,500 steps run under a memory
/// bound (`ulimit -v` 1.5 GB: malloc reserves up to 64 MB per arena, 16 arenas on 2 cores)
/// that a thread per step (1,500 output threads, 2 MiB of stack each) cannot fit, every step
/// planned.
#[tokio::test]
async fn steps_run_on_a_pool_under_a_memory_bound() {
    let r = Revoke::new();
    let mut text = String::new();
    for i in 0..1_500 {
        text.push_str(&format!(
            "[[step]]\ncommand = \"cloudbase\"\nendpoint = \"http://127.0.0.1:9\"\ntargets = [\"tok-{i}\"]\n\n"
        ));
    }
    let p = plan(&r, &text, &[]);
    let (mut cmd, _home) = r
        .args(["apply", "--dry-run", "-q", "-o", "json"])
        .args([&p])
        .into_parts();
    let mut sh = under_ulimit_v(&mut cmd, 1_500_000);
    let out = tokio::task::spawn_blocking(move || sh.output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["steps"], 1_500);
    assert_eq!(last["summary"]["planned"], 1_500);
}

// `revoke apply PLAN --each FILE.csv`: the plan once per row, in one run.

/// Three steps per leaver: smh (the user), ciam (the user's tokens file), identity-store (the
/// user's bearer token id, a column).
const PER_ROW: &str = r#"
[defaults]
retries = 0

[[step]]
command = "smh"
endpoint = "{smh}"
targets = ["${USER_ID}"]

[[step]]
name = "CIAM app"
command = "ciam"
endpoint = "{ciam}"
client-id = "app"
input = "tokens/${USER_ID}.txt"

[[step]]
command = "identity-store"
context = "ci"
endpoint = "{is}"
targets = ["${TOKEN_ID}"]
"#;

const LEAVERS: &str = "USER_ID,TOKEN_ID\r\nalice,is-a\r\nbob,is-b\r\n\"carol\",is-c\r\n";

fn leavers(r: &Revoke, csv: &str) -> PathBuf {
    let dir = r.home().join("tokens");
    std::fs::create_dir_all(&dir).unwrap();
    for user in ["alice", "bob", "carol"] {
        std::fs::write(
            dir.join(format!("{user}.txt")),
            format!("{user}-t1\n{user}-t2\n"),
        )
        .unwrap();
    }
    private_file(r.home(), "leavers.csv", csv)
}

/// A sheet can hold tokens: a cell put in the wrong option is named by its column in the
/// problem, never quoted back to the terminal (or a CI log).
#[tokio::test]
async fn a_cell_in_the_wrong_option_is_named_by_its_column_not_quoted() {
    let cm = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&cm)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let csv = private_file(
        dir.path(),
        "leaked.csv",
        "TOKEN,OWNER\nleakedTokenAAAA1111,alice\nleakedTokenBBBB2222,bob\n",
    );
    let p = private_file(
        dir.path(),
        "plan.toml",
        &format!(
            "[[step]]\ncommand = \"ciam\"\nendpoint = \"{}\"\nclient-id = \"app\"\ntoken-type-hint = \"${{TOKEN}}\"\ntargets = [\"x\"]\n",
            cm.uri()
        ),
    );
    for dry in [false, true] {
        let mut cmd = Revoke::new()
            .env("CIAM_CLIENT_SECRET", "ciamSecret00001")
            .args(["apply", "--each"])
            .args([&csv, &p]);
        if dry {
            cmd = cmd.args(["--dry-run"]);
        }
        let run = cmd.run().await;
        run.assert_code(2);
        let all = format!("{}{}", run.stdout(), run.stderr());
        assert!(!all.contains("leakedToken"), "a cell quoted back:\n{all}");
        for line in [2, 3] {
            let want = format!("leaked.csv:{line}: ");
            assert!(
                run.stderr()
                    .lines()
                    .any(|l| l.contains(&want) && l.contains("token-type-hint: \"${TOKEN}\"")),
                "row {line} named with its column:\n{all}"
            );
        }
    }
}

fn row_records<'a>(all: &'a [Value], key: &str, step: u64) -> Vec<&'a Value> {
    all.iter()
        .filter(|v| v["row"]["key"] == key && v["step"] == step && v.get("summary").is_none())
        .collect()
}

#[tokio::test]
async fn each_row_runs_the_plan_and_one_rejected_row_step_exits_3_alone() {
    let (smh, is) = (smh_ok().await, identity_store_ok().await);
    // The ciam server rejects bob's client credentials only (as if bob's tokens belonged to
    // another client).
    let cm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_string_contains("token=bob"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            fixture("ciam/error_invalid_client.json"),
            "application/json",
        ))
        .with_priority(1)
        .mount(&cm)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&cm)
        .await;
    let r = with_config(CONFIG, "")
        .env("CIAM_CLIENT_SECRET", "ciamSecret00001")
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    let csv = leavers(&r, LEAVERS);
    let p = plan(
        &r,
        PER_ROW,
        &[("smh", &smh.uri()), ("ciam", &cm.uri()), ("is", &is.uri())],
    );
    let journal = r.home().join("journal.ndjson");
    let run = r
        .args(["apply", "-o", "json", "--each"])
        .args([&csv, &p])
        .args(["--journal".as_ref(), journal.as_os_str()])
        .run()
        .await;
    run.assert_code(3);
    // The journal says which row each line is of, and so does the evidence made of it.
    let text = std::fs::read_to_string(&journal).unwrap();
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(
            v["row"]["key"].is_string() && v["row"]["line"].is_u64(),
            "{l}"
        );
    }
    let report = Revoke::new()
        .args(["report", "--format", "csv"])
        .args([&journal])
        .run()
        .await;
    report.assert_code(0);
    for who in ["alice (line 2)", "bob (line 3)", "carol (line 4)"] {
        assert!(report.stdout().contains(who), "{who}:\n{}", report.stdout());
    }
    let all = lines(&run);
    assert_eq!(count(&smh).await, 3, "one smh request per row");
    assert_eq!(count(&is).await, 3, "one identity-store request per row");
    // bob's ciam step: its first request rejected (credentials first), its other target
    // skipped; alice's and carol's revoked.
    assert_eq!(count(&cm).await, 1 + 2 + 2);
    for (key, line) in [("alice", 2), ("bob", 3), ("carol", 4)] {
        for step in 0..3 {
            let records = row_records(&all, key, step);
            assert!(!records.is_empty(), "{key} step {step}: {all:?}");
            for rec in &records {
                assert_eq!(rec["row"], serde_json::json!({"line": line, "key": key}));
                let want = if (key, step) == ("bob", 1) {
                    ["failed", "skipped"].contains(&rec["status"].as_str().unwrap())
                } else {
                    rec["status"] == "revoked"
                };
                assert!(want, "{rec}");
                // `row` comes after the record's own fields.
                let keys: Vec<&String> = rec.as_object().unwrap().keys().collect();
                assert_eq!(keys.last().unwrap().as_str(), "row", "{rec}");
            }
            let summary = all
                .iter()
                .find(|v| v["row"]["key"] == key && v["step"] == step && v.get("summary").is_some())
                .unwrap_or_else(|| panic!("no step summary for {key} {step}"));
            let code = if (key, step) == ("bob", 1) { 3 } else { 0 };
            assert_eq!(summary["exit_code"], code, "{summary}");
        }
        // One summary per row, without a step.
        let row = all
            .iter()
            .find(|v| v["row"]["key"] == key && v.get("step").is_none())
            .unwrap_or_else(|| panic!("no row summary for {key}"));
        assert_eq!(row["exit_code"], if key == "bob" { 3 } else { 0 }, "{row}");
        assert_eq!(row["row"]["line"], line);
    }
    let last = all.last().unwrap();
    assert_eq!(
        (last["steps"].as_u64(), last["rows"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(last["exit_code"], 3);
    assert_eq!(last["summary"]["total"], 3 * 4);
    assert_eq!(last["summary"]["revoked"], 3 * 4 - 2);
    run.assert_no_secret(&["smhInlineSecret01", "ciamSecret00001"]);
}

#[tokio::test]
async fn a_missing_column_and_bad_values_are_all_found_before_anything_is_sent() {
    let (smh, is) = (MockServer::start().await, MockServer::start().await);
    let cm = MockServer::start().await;
    for s in [&smh, &is, &cm] {
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(s)
            .await;
    }
    let r = with_config(CONFIG, "")
        .env("CIAM_CLIENT_SECRET", "ciamSecret00001")
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    // No TOKEN_ID column; carol's USER_ID is empty; dave's holds a line break; erin has no
    // tokens file.
    let csv = leavers(&r, "USER_ID,NOTE\nalice,ok\n,no id\n\"da\nve\",x\nerin,y\n");
    let p = plan(
        &r,
        PER_ROW,
        &[("smh", &smh.uri()), ("ciam", &cm.uri()), ("is", &is.uri())],
    );
    let run = r.args(["apply", "--each"]).args([&csv, &p]).run().await;
    run.assert_code(2);
    let err = run.stderr();
    for want in [
        "leavers.csv:1: no column TOKEN_ID, and no --var TOKEN_ID=... or environment variable TOKEN_ID (the plan uses ${TOKEN_ID}, ",
        "leavers.csv:3: column USER_ID is empty",
        "leavers.csv:4: column USER_ID holds a control character",
        "leavers.csv:6: column USER_ID: step 2 (ciam, \"CIAM app\", ",
        "problems in the plan: nothing was sent",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert_eq!(
        err.matches("no column TOKEN_ID").count(),
        1,
        "said once:\n{err}"
    );
    assert!(
        err.find("no column").unwrap() < err.find("column USER_ID is empty").unwrap(),
        "the header's problem first:\n{err}"
    );
    assert!(run.stdout().is_empty());
}

#[tokio::test]
async fn var_beats_the_environment_and_a_row_beats_var() {
    let smh = smh_ok().await;
    let r = with_config(CONFIG, "").env("USER_ID", "from-env");
    let p = plan(
        &r,
        "[[step]]\ncommand = \"smh\"\nendpoint = \"{smh}\"\ntargets = [\"${USER_ID}\"]\n",
        &[("smh", &smh.uri())],
    );
    let run = r
        .args(["apply", "-o", "json", "--var", "USER_ID=from-var"])
        .args([&p])
        .run()
        .await;
    run.assert_code(0);
    let asked: Vec<String> = smh
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.to_string())
        .collect();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].contains("from-var"), "{asked:?}");

    // A row's column beats --var; --var fills what the sheet has no column for.
    smh.reset().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&smh)
        .await;
    let r = with_config(CONFIG, "").env("USER_ID", "from-env");
    let csv = private_file(r.home(), "rows.csv", "USER_ID\nfrom-row\n");
    let p = plan(
        &r,
        "[[step]]\ncommand = \"smh\"\nendpoint = \"{smh}\"\ntargets = [\"${USER_ID}\", \"${OTHER}\"]\n",
        &[("smh", &smh.uri())],
    );
    let run = r
        .args([
            "apply",
            "-o",
            "json",
            "--var",
            "USER_ID=from-var",
            "--var",
            "OTHER=other",
        ])
        .args(["--each".as_ref(), csv.as_os_str(), p.as_os_str()])
        .run()
        .await;
    run.assert_code(0);
    let mut asked: Vec<String> = smh
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.to_string())
        .collect();
    // smh sends a row's user ids in one request.
    asked.sort();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked.iter().any(|a| a.contains("from-row")), "{asked:?}");
    assert!(asked.iter().any(|a| a.contains("other")), "{asked:?}");
    assert!(!asked.iter().any(|a| a.contains("from-var")), "{asked:?}");

    // A bad --var name is a usage error.
    let run = Revoke::new()
        .args(["apply", "p.toml", "--var", "1X=a"])
        .run()
        .await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("not a variable name"),
        "{}",
        run.stderr()
    );
}

#[tokio::test]
async fn a_plan_read_from_stdin_takes_paths_from_the_current_directory() {
    let cm = ciam(200, "").await;
    let r = with_config(CONFIG, "").env("CIAM_CLIENT_SECRET", "ciamSecret00001");
    std::fs::write(r.home().join("tokens.txt"), "t1\nt2\n").unwrap();
    let text = format!(
        "[[step]]\ncommand = \"ciam\"\nendpoint = \"{}\"\nclient-id = \"app\"\ninput = \"tokens.txt\"\n",
        cm.uri()
    );
    let home = r.home().to_path_buf();
    let run = r
        .current_dir(&home)
        .args(["apply", "-", "-o", "json"])
        .stdin(text.clone())
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(count(&cm).await, 2);
    let all = lines(&run);
    assert_eq!(all.last().unwrap()["summary"]["revoked"], 2);
    // Its messages name it stdin; a step cannot read its targets from stdin too.
    let r = with_config(CONFIG, "").env("CIAM_CLIENT_SECRET", "ciamSecret00001");
    let run = r
        .args(["apply", "-"])
        .stdin(text.replace("tokens.txt", "-"))
        .run()
        .await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("the plan itself is read from stdin"),
        "{}",
        run.stderr()
    );
    let run = Revoke::new()
        .args(["apply", "-"])
        .stdin("[[step]]\ncommand = \"smhh\"\n")
        .run()
        .await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("stdin:2: command:"),
        "{}",
        run.stderr()
    );
}

/// A server that allows `per_second` requests in any one-second window and answers 429 to
/// the others (counted).
struct Limited {
    per_second: usize,
    accepted: std::sync::Mutex<std::collections::VecDeque<Instant>>,
    throttled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ok: ResponseTemplate,
}

impl wiremock::Respond for Limited {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut accepted = self.accepted.lock().unwrap();
        while accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            accepted.pop_front();
        }
        if accepted.len() >= self.per_second {
            self.throttled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return ResponseTemplate::new(429);
        }
        accepted.push_back(now);
        self.ok.clone()
    }
}

async fn limited(
    per_second: usize,
    ok: ResponseTemplate,
) -> (MockServer, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let s = MockServer::start().await;
    let throttled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Mock::given(wiremock::matchers::any())
        .respond_with(Limited {
            per_second,
            accepted: Default::default(),
            throttled: throttled.clone(),
            ok,
        })
        .mount(&s)
        .await;
    (s, throttled)
}

fn ten_rows(r: &Revoke) -> PathBuf {
    let mut csv = "USER_ID\n".to_string();
    for i in 0..10 {
        csv.push_str(&format!("user{i}\n"));
    }
    private_file(r.home(), "ten.csv", &csv)
}

/// Ten rows share the provider's rate limit: at the default (bi-embed's documented 20/s) and at
/// --rate N, a server that allows that rate never throttles.
#[tokio::test]
async fn ten_rows_share_the_rate_limit_of_their_endpoint() {
    // bi-embed at its default rate: 4 pages per row, 40 requests.
    let ok = ResponseTemplate::new(200)
        .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json");
    let (bi, throttled) = limited(20, ok).await;
    let r = Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", TC_ID)
        .env("TENCENTCLOUD_SECRET_KEY", TC_KEY);
    let csv = ten_rows(&r);
    let p = plan(
        &r,
        r#"
[[step]]
command = "bi-embed"
endpoint = "{bi}"
project-id = "889"
user-corp-id = "7"
scope = "page"
targets = ["${USER_ID}-1", "${USER_ID}-2", "${USER_ID}-3", "${USER_ID}-4"]
"#,
        &[("bi", &bi.uri())],
    );
    let run = r
        .args(["apply", "-o", "json", "--each"])
        .args([&csv, &p])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(count(&bi).await, 40);
    assert_eq!(throttled.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(lines(&run).last().unwrap()["summary"]["revoked"], 40);

    // smh at --rate 5: one request per row.
    let (smh, throttled) = limited(5, ResponseTemplate::new(204)).await;
    let r = with_config(CONFIG, "");
    let csv = ten_rows(&r);
    let p = plan(
        &r,
        "[[step]]\ncommand = \"smh\"\nendpoint = \"{smh}\"\ntargets = [\"${USER_ID}\"]\n",
        &[("smh", &smh.uri())],
    );
    let run = r
        .args(["apply", "-o", "json", "--rate", "5", "--each"])
        .args([&csv, &p])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(count(&smh).await, 10);
    assert_eq!(throttled.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// A run over rows killed with SIGKILL, then rerun with its journal: every row resumes, and
/// nothing is sent twice.
#[tokio::test]
async fn a_run_over_rows_killed_and_rerun_resumes_every_row_and_sends_nothing_twice() {
    let bi = slow(Duration::from_millis(250)).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.ndjson");
    let plan_text = r#"
[[step]]
command = "bi-embed"
endpoint = "{bi}"
project-id = "889"
user-corp-id = "7"
scope = "page"
targets = ["${USER_ID}-1", "${USER_ID}-2", "${USER_ID}-3"]
"#;
    let tc = |r: Revoke| {
        r.env("TENCENTCLOUD_SECRET_ID", TC_ID)
            .env("TENCENTCLOUD_SECRET_KEY", TC_KEY)
    };
    let r = tc(Revoke::new());
    let csv = ten_rows(&r);
    let p = plan(&r, plan_text, &[("bi", &bi.uri())]);
    let running = r
        .args(["apply", "-o", "json", "--concurrency", "4", "--journal"])
        .args([&journal, &p])
        .args(["--each".as_ref(), csv.as_os_str()])
        .spawn();
    let started = Instant::now();
    while done(&journal).0.len() < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no journal lines"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("KILL");
    let run1 = running.wait().await;
    assert_eq!(run1.out.status.code(), None, "killed by the signal");
    let (pages1, _) = done(&journal);
    assert!(pages1.len() < 30, "killed mid-run");

    bi.reset().await;
    answer(&bi, Duration::ZERO).await;
    let r = tc(Revoke::new());
    let csv = ten_rows(&r);
    let p = plan(&r, plan_text, &[("bi", &bi.uri())]);
    let run2 = r
        .args(["apply", "-o", "json", "--journal"])
        .args([&journal, &p])
        .args(["--each".as_ref(), csv.as_os_str()])
        .run()
        .await;
    run2.assert_code(0);
    let pages2: BTreeSet<String> = bi
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["PageId"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(count(&bi).await, pages2.len(), "each page sent once");
    assert!(
        pages1.is_disjoint(&pages2),
        "resent what was done: {pages2:?}"
    );
    assert_eq!(pages1.len() + pages2.len(), 30, "every page done once");
    let all = lines(&run2);
    let last = all.last().unwrap();
    assert_eq!(last["summary"]["revoked"], 30);
    assert_eq!(last["summary"]["from_journal"], pages1.len() as u64);
    // Each replayed record is in its own row.
    for rec in all.iter().filter(|v| v["from_journal"].is_string()) {
        let page = rec["target"]["page_id"].as_str().unwrap();
        let key = rec["row"]["key"].as_str().unwrap();
        assert!(page.starts_with(&format!("{key}-")), "{rec}");
    }
    assert_eq!(done(&journal).0.len(), 30);
}

/// The plan's `${VAR}` expansions are bounded over all the rows of a run, not only per row.
#[tokio::test]
async fn the_expansion_of_all_rows_is_bounded() {
    let r = with_config(CONFIG, "");
    let value = "v".repeat(7 * 1024);
    let mut csv = "USER_ID,V\n".to_string();
    for i in 0..100 {
        csv.push_str(&format!("user{i},{value}\n"));
    }
    let csv = private_file(r.home(), "rows.csv", &csv);
    // 100 references of a 7 KiB value: 700 KiB per row (under a plan's 4 MiB), 70 MiB in all.
    let name = "${V}".repeat(100);
    let p = plan(
        &r,
        &format!(
            "[[step]]\ncommand = \"smh\"\nname = \"{name}\"\nendpoint = \"http://127.0.0.1:9\"\ntargets = [\"${{USER_ID}}\"]\n"
        ),
        &[],
    );
    let run = r
        .args(["apply", "--dry-run", "--each"])
        .args([&csv, &p])
        .run()
        .await;
    run.assert_code(2);
    assert!(
        run.stderr()
            .contains("already hold 64 MiB once their ${VAR}s are replaced: split the file"),
        "{}",
        run.stderr()
    );
    assert!(run.stdout().is_empty());
}

/// A first column that holds the row's token is shown as tokens are: by its fingerprint, in
/// records, summaries and text.
#[tokio::test]
async fn a_row_keyed_by_its_token_shows_the_fingerprint() {
    let token = "rowTokenValue0000000001";
    for format in ["json", "text"] {
        let r = with_config(CONFIG, "").env("CIAM_CLIENT_SECRET", "ciamSecret00001");
        let csv = private_file(r.home(), "tokens.csv", &format!("TOKEN\n{token}\n"));
        let p = plan(
            &r,
            "[[step]]\ncommand = \"ciam\"\nendpoint = \"http://127.0.0.1:9\"\nclient-id = \"app\"\ntargets = [\"${TOKEN}\"]\n",
            &[],
        );
        let run = r
            .args(["apply", "--dry-run", "-o", format, "--each"])
            .args([&csv, &p])
            .run()
            .await;
        run.assert_code(0);
        run.assert_no_secret(&[token, "ciamSecret00001"]);
        assert!(
            run.stdout().contains(&revoke::secret::fingerprint(token)),
            "{}",
            run.stdout()
        );
    }
}

/// A run over rows has one journal: a plan whose journal differs per row needs --journal.
#[tokio::test]
async fn a_journal_per_row_is_refused_unless_one_is_given() {
    let smh = smh_ok().await;
    let text = "[defaults]\njournal = \"offboard-${USER_ID}.ndjson\"\n[[step]]\ncommand = \"smh\"\nendpoint = \"{smh}\"\ntargets = [\"${USER_ID}\"]\n";
    let r = with_config(CONFIG, "");
    let csv = private_file(r.home(), "rows.csv", "USER_ID\nalice\nbob\n");
    let p = plan(&r, text, &[("smh", &smh.uri())]);
    let run = r.args(["apply", "--each"]).args([&csv, &p]).run().await;
    run.assert_code(2);
    assert!(
        run.stderr()
            .contains("rows.csv:3: journal: this row's is not the first row's"),
        "{}",
        run.stderr()
    );
    assert_eq!(count(&smh).await, 0);

    let r = with_config(CONFIG, "");
    let csv = private_file(r.home(), "rows.csv", "USER_ID\nalice\nbob\n");
    let p = plan(&r, text, &[("smh", &smh.uri())]);
    let journal = r.home().join("all.ndjson");
    let run = r
        .args(["apply", "--each"])
        .args([&csv, &p])
        .args(["--journal".as_ref(), journal.as_os_str()])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(count(&smh).await, 2);
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap().lines().count(),
        2
    );
}

/// One numbering of steps for people, one for programs: the contract's records carry `"step"`,
/// the 0-based position, and its messages count steps from 1; every text a person reads (the
/// dry run's stderr lines, the text lines' `[step N]`, the step summaries on stderr, `revoke
/// report`'s "step N") says "step N" for the step whose records carry `"step": N - 1`.
#[tokio::test]
async fn a_dry_run_names_each_step_the_same_way_everywhere() {
    let text = "[[step]]\ncommand = \"ciam\"\nendpoint = \"http://127.0.0.1:9\"\nclient-id = \"app\"\ntargets = [\"tok-a\"]\n\n\
                [[step]]\ncommand = \"smh\"\nendpoint = \"http://127.0.0.1:9\"\nlibrary-id = \"lib1\"\ntargets = [\"alice\"]\n";
    let dry_run = |json: bool| {
        let r = Revoke::new()
            .env("CIAM_CLIENT_SECRET", "ciamDrySecret01")
            .env("SMH_LIBRARY_SECRET", "smhDrySecret001");
        let p = plan(&r, text, &[]);
        let r = r.args(["--no-config", "apply", "--dry-run"]);
        let r = if json { r.args(["-o", "json"]) } else { r };
        r.args([&p])
    };
    // Each step by what only it has: its provider, its secret's variable.
    let steps = [
        ("ciam", "CIAM_CLIENT_SECRET"),
        ("smh", "SMH_LIBRARY_SECRET"),
    ];
    let run = dry_run(false).run().await;
    run.assert_code(0);
    let (out, err) = (run.stdout(), run.stderr());
    let json = dry_run(true).run().await;
    json.assert_code(0);
    let lines = json.lines();
    for (i, (provider, secret)) in steps.iter().enumerate() {
        let n = i + 1;
        // stderr: the dry run's line and the step's summary.
        assert!(
            err.contains(&format!(
                "dry run: nothing will be sent; step {n}: credentials from env {secret}"
            )),
            "{err}"
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("[step {n}] {provider}: 1 target"))),
            "{err}"
        );
        // stdout: the step's record.
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("[step {n}] planned"))
                    && l.contains(&format!(" {provider} "))),
            "{out}"
        );
        // JSON: its 0-based position.
        let records: Vec<&Value> = lines
            .iter()
            .filter(|l| l["provider"] == *provider)
            .collect();
        assert_eq!(records.len(), 1, "{lines:?}");
        assert_eq!(records[0]["step"], i, "{}", records[0]);
        assert!(
            lines
                .iter()
                .any(|l| l["step"] == i && l["summary"]["planned"] == 1),
            "{lines:?}"
        );
    }
    // No other numbering leaks into the text: no step 0, no bare [0].
    assert!(
        !err.contains("step 0") && !out.contains("[0"),
        "{err}\n{out}"
    );
    // revoke report reads the JSON records and names each step as the messages do.
    let r = Revoke::new();
    let records = private_file(r.home(), "records.ndjson", &json.stdout());
    let report = r
        .args(["report", "--format", "csv"])
        .args([&records])
        .run()
        .await;
    report.assert_code(0);
    for (i, (provider, _)) in steps.iter().enumerate() {
        let row = format!("\"step {}\",\"{provider}\"", i + 1);
        assert!(report.stdout().contains(&row), "{row}: {}", report.stdout());
    }
    run.assert_no_secret(&["ciamDrySecret01", "smhDrySecret001"]);
}

/// A first column that holds a secret other than the row's target (the row's client secret)
/// is masked wherever the row is named, as it is in the records: the text lines' `[KEY step N]`
/// label and the JSON step and row summaries printed the row's key as read.
#[tokio::test]
async fn a_row_key_holding_a_secret_is_masked_wherever_the_row_is_named() {
    let secret = "rowClientSecret00001";
    for format in ["text", "json"] {
        let r = with_config(CONFIG, "");
        let csv = private_file(
            r.home(),
            "rows.csv",
            &format!("SECRET,TOKEN\n{secret},rowTokenValue0000000002\n"),
        );
        let p = plan(
            &r,
            "[[step]]\ncommand = \"ciam\"\nendpoint = \"http://127.0.0.1:9\"\nclient-id = \"app\"\nclient-secret = \"${SECRET}\"\ntargets = [\"${TOKEN}\"]\n",
            &[],
        );
        let run = r
            .args(["apply", "--dry-run", "-o", format, "--each"])
            .args([&csv, &p])
            .run()
            .await;
        run.assert_code(0);
        assert!(run.stdout().contains("***"), "{}", run.stdout());
        run.assert_no_secret(&[secret, "rowTokenValue0000000002"]);
    }
}
