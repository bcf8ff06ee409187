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

/// A second signal while requests are in flight (INT then INT, INT then TERM, and TERM then
/// TERM 0.2 s later during the credentials-first request): the requests in flight are
/// abandoned, and still every target has its record (`skipped`, code `Interrupted`, in flight
/// ones with their attempt counted), the summary is written, and the exit is 130 at once.
#[tokio::test]
async fn a_second_signal_abandons_the_requests_in_flight_and_still_records_every_target() {
    for (first, second, in_flight) in [("INT", "INT", 5), ("INT", "TERM", 5), ("TERM", "TERM", 1)] {
        let what = format!("{first} then {second}");
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json")
                    .set_delay(if in_flight == 1 {
                        Duration::from_secs(30)
                    } else {
                        // The first (credentials-first) request answers; then four hang.
                        Duration::from_millis(300)
                    }),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json")
                    .set_delay(Duration::from_secs(30)),
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
        let started = Instant::now();
        while server.received_requests().await.unwrap().len() < in_flight {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{what}: no requests"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        running.signal(first);
        tokio::time::sleep(Duration::from_millis(200)).await;
        running.signal(second);
        let run = running.wait().await;
        run.assert_code(130);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: waited for the requests in flight (30 s)"
        );
        let records = run.records();
        assert_eq!(
            records.len(),
            pages.len(),
            "{what}: one record per target\n{}",
            run.stderr()
        );
        let mut abandoned = 0;
        for (i, r) in records.iter().enumerate() {
            assert_record_schema(r);
            assert_eq!(r["index"], i as u64);
            if r["status"] == "revoked" {
                continue;
            }
            assert_eq!(r["status"], "skipped", "{what}: {r}");
            assert_eq!(r["error"]["code"], "Interrupted", "{what}: {r}");
            if r["attempts"] == 1 {
                abandoned += 1;
                assert!(
                    r["error"]["message"].as_str().unwrap().contains("may have"),
                    "{what}: {r}"
                );
            }
        }
        assert_eq!(abandoned, if in_flight == 1 { 1 } else { 4 }, "{what}");
        let summary = run.summary();
        assert_summary_schema(&summary, 130);
        assert_eq!(summary["summary"]["total"], 20, "{what}");
        let sent = server.received_requests().await.unwrap().len();
        assert_eq!(
            sent, in_flight,
            "{what}: nothing sent after the first signal"
        );
        assert!(
            run.stderr().contains("interrupted again"),
            "{what}: {}",
            run.stderr()
        );
    }
}

/// A script for `client-secret-command` that writes its pid to `pidfile`, then waits (exec:
/// the pid stays the one revoke started).
fn slow_secret_command(home: &std::path::Path, pidfile: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let tool = home.join("slow-secret");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 30\n",
            pidfile.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    tool
}

/// Whether the process `pid` is gone (waiting up to 2 s for it to be reaped).
async fn gone(pid: &str) -> bool {
    for _ in 0..200 {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie that nobody runs.
        if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// SIGTERM (or SIGINT, SIGHUP) while a `*-command` runs: exit 130 with a message, nothing
/// sent, and the command's process killed, not left behind.
#[tokio::test]
async fn a_signal_while_a_secret_command_runs_kills_it_and_exits_130() {
    for signal in ["TERM", "INT", "HUP"] {
        let server = MockServer::start().await;
        let r = crate::config::with_config("", "");
        let pidfile = r.home().join("pid");
        let tool = slow_secret_command(r.home(), &pidfile);
        std::fs::write(
            r.home().join("xdg/revoke/config.toml"),
            format!(
                "[ciam.default]\nclient-id = \"app\"\nclient-secret-command = \"{}\"\n",
                tool.display()
            ),
        )
        .unwrap();
        let running = r.args(["ciam", "--endpoint", &server.uri(), "t1"]).spawn();
        let started = Instant::now();
        while std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the command did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .to_string();
        running.signal(signal);
        let run = running.wait().await;
        run.assert_code(130);
        assert!(
            run.stderr()
                .contains("revoke: interrupted: nothing was sent"),
            "SIG{signal}: {}",
            run.stderr()
        );
        assert!(
            gone(&pid).await,
            "SIG{signal}: the command's process {pid} is still running"
        );
        assert!(server.received_requests().await.unwrap().is_empty());
    }
}

/// A `*-command` that never finishes is killed at its timeout (REVOKE_SECRET_COMMAND_TIMEOUT):
/// `revoke: error:` naming the key, exit 2, nothing sent. One that prints its secret but keeps
/// its output open does not hold the run past the timeout either.
#[tokio::test]
async fn a_secret_command_that_hangs_is_killed_at_its_timeout() {
    for script in ["exec sleep 30", "echo sentinelHangSecret31; exec sleep 30"] {
        let server = MockServer::start().await;
        let r = crate::config::with_config("", "");
        let pidfile = r.home().join("pid");
        let tool = slow_secret_command(r.home(), &pidfile);
        std::fs::write(
            &tool,
            format!("#!/bin/sh\necho $$ > {}\n{script}\n", pidfile.display()),
        )
        .unwrap();
        std::fs::write(
            r.home().join("xdg/revoke/config.toml"),
            format!(
                "[ciam.default]\nclient-id = \"app\"\nclient-secret-command = \"{}\"\n",
                tool.display()
            ),
        )
        .unwrap();
        let started = Instant::now();
        let run = r
            .env("REVOKE_SECRET_COMMAND_TIMEOUT", "1")
            .args(["ciam", "--endpoint", &server.uri(), "t1"])
            .run()
            .await;
        run.assert_code(2);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{script}: not killed at 1 s"
        );
        assert!(
            run.stderr().contains("revoke: error:")
                && run.stderr().contains("client-secret-command")
                && run.stderr().contains("did not finish within 1 s"),
            "{script}: {}",
            run.stderr()
        );
        run.assert_no_secret(&["sentinelHangSecret31"]);
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .to_string();
        assert!(
            gone(&pid).await,
            "{script}: the command's process {pid} is still running"
        );
        assert!(server.received_requests().await.unwrap().is_empty());
    }
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

/// SIGTERM while a large journal loads (before any request): exit 130 with a message,
/// nothing sent.
#[tokio::test]
async fn a_signal_while_the_journal_loads_exits_130_with_a_message() {
    use std::io::Write;
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.ndjson");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&journal).unwrap());
    for i in 0..250_000u64 {
        writeln!(
            f,
            r#"{{"key":"sha256:{i:032x}","provider":"cloudbase","index":{i},"target":{{"token":"sha256:abcdef012345"}},"status":"revoked","ok":true,"at":"2026-01-01T00:00:00.000Z"}}"#
        )
        .unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let running = Revoke::new()
        .args(["cloudbase", "--endpoint", &server.uri(), "--journal"])
        .args([&journal])
        .args(["tok-1"])
        .spawn();
    tokio::time::sleep(Duration::from_millis(150)).await;
    running.signal("TERM");
    let run = running.wait().await;
    // (Before the handlers were installed this early: killed by the signal, 143, silent.)
    run.assert_code(130);
    assert!(
        run.stderr().contains("revoke: interrupted"),
        "{}",
        run.stderr()
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A request abandoned in flight at the second signal keeps what every record says (CLI.md
/// "More in every record"): where the target came from (`source`) and how long it was out
/// (`elapsed_ms`), as the skipped targets that were never sent do.
#[tokio::test]
async fn a_request_abandoned_in_flight_keeps_its_source_and_its_time_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let running = Revoke::ciam(&server.uri()).args(["tokA", "tokB"]).spawn();
    let started = Instant::now();
    while server.received_requests().await.unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.signal("INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.signal("INT");
    let run = running.wait().await;
    run.assert_code(130);
    let records = run.records();
    assert_eq!(records.len(), 2, "{}", run.stdout());
    for (i, r) in records.iter().enumerate() {
        assert_record_schema(r);
        assert_eq!(r["source"], format!("arg:{}", i + 1), "{r}");
    }
    let abandoned = &records[0];
    assert_eq!(abandoned["attempts"], 1, "{abandoned}");
    assert!(
        abandoned["elapsed_ms"].as_u64().unwrap() >= 250,
        "in flight 300 ms and more: {abandoned}"
    );
}
