//! The command line itself: help, version, completions, man page, and usage errors.

use crate::support::*;

#[tokio::test]
async fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = Revoke::new().args(["completions", shell]).run().await;
        run.assert_code(0);
        let out = run.stdout();
        for p in PROVIDERS {
            assert!(out.contains(p.name), "{shell} completes {}: {out}", p.name);
        }
        assert!(
            out.contains("concurrency"),
            "{shell} completes global options"
        );
    }
    let run = Revoke::new().args(["completions", "tcsh"]).run().await;
    run.assert_code(2);
}

#[tokio::test]
async fn man_page_is_roff() {
    let run = Revoke::new().arg_list(&["man"]).run().await;
    run.assert_code(0);
    let out = run.stdout();
    assert!(
        out.starts_with(".ie") || out.contains(".TH revoke"),
        "{}",
        &out[..out.len().min(200)]
    );
    for p in PROVIDERS {
        let roff = p.name.replace('-', "\\-");
        assert!(out.contains(&roff) || out.contains(p.name), "{}", p.name);
    }
}

/// The tests' table of providers is the command line's: a provider added to `revoke` and not
/// to `support::PROVIDERS` (so not to the secrets matrix, the hostile server, the README's mock
/// API...) fails here.
#[tokio::test]
async fn every_run_command_is_a_provider_of_the_tests() {
    // `revoke config` takes the run commands; clap lists them when given none of them.
    let run = Revoke::new()
        .args(["config", "no-such-command"])
        .run()
        .await;
    run.assert_code(2);
    let stderr = run.stderr();
    let listed = stderr
        .split("[possible values: ")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no list of commands in:\n{stderr}"));
    let commands: Vec<&str> = listed.split(", ").collect();
    let tested: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
    assert_eq!(
        commands, tested,
        "the run commands of `revoke` and the providers of tests/it/support.rs PROVIDERS"
    );
}

#[tokio::test]
async fn help_and_version() {
    let run = Revoke::new().arg_list(&["--version"]).run().await;
    run.assert_code(0);
    assert!(run.stdout().starts_with("revoke "));
    for cmd in PROVIDERS.iter().map(|p| p.name) {
        let run = Revoke::new().arg_list(&[cmd, "--help"]).run().await;
        run.assert_code(0);
        let out = run.stdout();
        assert!(out.contains("Examples:"), "{cmd} --help ends with examples");
        assert!(
            out.contains("[env: REVOKE_CONCURRENCY="),
            "{cmd} --help names env vars"
        );
        assert!(out.contains("[default: 8]"), "{cmd} --help names defaults");
    }
}

#[tokio::test]
async fn global_options_go_before_or_after_the_subcommand_and_read_env() {
    let args = [
        "--project-id",
        "1",
        "--user-corp-id",
        "2",
        "--scope",
        "page",
        "p",
    ];
    let before = Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", "AKIDx")
        .env("TENCENTCLOUD_SECRET_KEY", "keyx")
        .arg_list(&["-o", "json", "--dry-run", "bi-embed"])
        .arg_list(&args)
        .run()
        .await;
    before.assert_code(0);
    let after = Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", "AKIDx")
        .env("TENCENTCLOUD_SECRET_KEY", "keyx")
        .arg_list(&["bi-embed"])
        .arg_list(&args)
        .arg_list(&["-o", "json", "--dry-run"])
        .run()
        .await;
    after.assert_code(0);
    let from_env = Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", "AKIDx")
        .env("TENCENTCLOUD_SECRET_KEY", "keyx")
        .env("REVOKE_OUTPUT", "json")
        .env("REVOKE_DRY_RUN", "1")
        .arg_list(&["bi-embed"])
        .arg_list(&args)
        .run()
        .await;
    from_env.assert_code(0);
    for run in [&before, &after, &from_env] {
        assert_eq!(run.records()[0]["status"], "planned");
    }
    let bad_env = Revoke::new()
        .env("REVOKE_CONCURRENCY", "zero")
        .arg_list(&["bi-embed"])
        .arg_list(&args)
        .run()
        .await;
    bad_env.assert_code(2);
}

trait ArgList {
    fn arg_list(self, a: &[&str]) -> Self;
}

impl ArgList for Revoke {
    fn arg_list(self, a: &[&str]) -> Self {
        self.args(a)
    }
}

/// The rest of the global options' environment variables, read by a real run.
#[tokio::test]
async fn endpoint_retries_journal_and_rate_from_the_environment() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.ndjson");
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "env-test-secret")
        .env("REVOKE_ENDPOINT", server.uri())
        .env("REVOKE_RETRIES", "1")
        .env("REVOKE_TIMEOUT", "5")
        .env("REVOKE_JOURNAL", &journal)
        .env("REVOKE_RATE", "0")
        .env("REVOKE_CONCURRENCY", "2")
        .env("REVOKE_OUTPUT", "json")
        .arg_list(&["ciam", "--client-id", "app", "--input", "-"])
        .stdin("env-tok-1\nenv-tok-2\n")
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["attempts"], 2, "REVOKE_RETRIES=1 allows one retry");
    }
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(lines.lines().count(), 2, "REVOKE_JOURNAL was written");
}

/// bi-embed's default rate is the documented 20 requests/s: five requests span at least
/// four intervals of 1/20 s.
#[tokio::test]
async fn bi_embed_defaults_to_its_documented_rate() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json"),
        )
        .expect(10)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let run = Revoke::bi_embed(&server.uri())
        .arg_list(&["--concurrency", "8"])
        .arg_list(&["p1", "p2", "p3", "p4", "p5"])
        .run()
        .await;
    run.assert_code(0);
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(200),
        "5 requests at 20/s take at least 200 ms, took {took:?}"
    );
    // And --rate 0 lifts it.
    let started = std::time::Instant::now();
    let run = Revoke::bi_embed(&server.uri())
        .arg_list(&["--rate", "0"])
        .arg_list(&["p1", "p2", "p3", "p4", "p5"])
        .run()
        .await;
    run.assert_code(0);
    assert!(started.elapsed() < took, "--rate 0 is unlimited");
}

/// CI systems set the variables they leave unset to the empty string: an empty variable counts
/// as unset, for every global option (`REVOKE_ENDPOINT=` does not clash with `ciam --domain`).
#[tokio::test]
async fn empty_environment_variables_count_as_unset() {
    let mut cmd = Revoke::new().env("CIAM_CLIENT_SECRET", "empty-env-secret");
    for var in [
        "REVOKE_OUTPUT",
        "REVOKE_DRY_RUN",
        "REVOKE_ENDPOINT",
        "REVOKE_CONCURRENCY",
        "REVOKE_RATE",
        "REVOKE_RETRIES",
        "REVOKE_TIMEOUT",
        "REVOKE_JOURNAL",
    ] {
        cmd = cmd.env(var, "");
    }
    let run = cmd
        .arg_list(&["ciam", "--domain", "sample.portal.tencentciam.com"])
        .arg_list(&[
            "--client-id",
            "app",
            "--dry-run",
            "-o",
            "json",
            "--input",
            "-",
        ])
        .stdin("empty-env-token\n")
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["status"], "planned");
    assert_eq!(
        r["data"]["url"],
        "https://sample.portal.tencentciam.com/oauth2/revoke"
    );
}
