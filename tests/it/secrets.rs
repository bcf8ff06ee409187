//! The secrets matrix: every subcommand, with sentinel secrets in every credential source, run
//! against a server that succeeds, a hostile server that echoes the whole request back in its
//! error answer (retryable and not), and in `--dry-run`, at `-vvv`, in text and JSON. No
//! sentinel may appear in stdout, stderr or the journal.

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

/// Marks the echoed text, so that a test can see that it arrived (masked) and the matrix cannot
/// pass by printing nothing.
const MARKER: &str = "ECHO-MARKER";

/// How an echoing answer is shaped.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// An error of every provider's shape.
    Error,
    /// A success (200) carrying the echo as its request id (header and body) and data.
    Success,
    /// A "noted" answer: CloudBase ACCESS_TOKEN_INVALID (already_invalid), Huawei 404
    /// (not_found).
    Noted,
}

/// Answers with everything it received: URL, headers and body, JSON-escaped PHP-style (`\/`),
/// in every field a provider copies into a record, and as the `x-request-id` header.
struct Echo(u16, Shape);

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut text = format!("{MARKER} {} {}\n", req.method, req.url);
        for (k, v) in req.headers.iter() {
            text.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
        }
        text.push_str(&String::from_utf8_lossy(&req.body));
        let one_line: String = text
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '|'
                }
            })
            .collect();
        let json = match self.1 {
            Shape::Success => serde_json::json!({
                "Response": {"Data": {"echo": text}, "RequestId": text},
                "requestId": text, "request_id": text,
            }),
            Shape::Noted => serde_json::json!({
                "error": "ACCESS_TOKEN_INVALID", "error_description": text, "request_id": text,
                "error_code": "IdentityCenter.1404", "error_msg": text,
            }),
            Shape::Error => serde_json::json!({
                "Response": {"Error": {"Code": "InvalidParameter", "Message": text}, "RequestId": "r"},
                "code": "ParamInvalid", "message": text,
                "error": "invalid_request", "error_description": text,
                "error_code": "APIGW.0201", "error_msg": text,
            }),
        };
        // PHP's json_encode escapes every slash: a scrubber that knows only the raw form
        // misses a secret with a '/' in it.
        let body = serde_json::to_string(&json).unwrap().replace('/', "\\/");
        ResponseTemplate::new(self.0)
            .insert_header("x-request-id", one_line.as_str())
            .set_body_raw(body, "application/json")
    }
}

/// What each case sends and with which sentinels.
pub struct Case {
    pub name: &'static str,
    pub secrets: Vec<&'static str>,
    pub build: fn(&str) -> Revoke,
    pub success: u16,
    /// A noted answer (already invalid, not found) must make a noted record.
    pub notes: bool,
}

async fn check(case: &Case) {
    let modes = [
        "ok",
        "echo-200",
        "echo-noted",
        "echo-500",
        "echo-400",
        "dry-run",
    ];
    for mode in modes {
        for output in ["text", "json"] {
            let server = MockServer::start().await;
            let echo = match mode {
                "echo-200" => Some(Echo(200, Shape::Success)),
                "echo-noted" => Some(Echo(404, Shape::Noted)),
                "echo-500" => Some(Echo(500, Shape::Error)),
                "echo-400" | "dry-run" => Some(Echo(400, Shape::Error)),
                _ => None,
            };
            match echo {
                Some(echo) => {
                    Mock::given(wiremock::matchers::any())
                        .respond_with(echo)
                        .mount(&server)
                        .await
                }
                None => {
                    Mock::given(wiremock::matchers::any())
                        .respond_with(ResponseTemplate::new(case.success).set_body_string(
                            r#"{"Response":{"Data":true,"RequestId":"r"},"bearer_tokens":[]}"#,
                        ))
                        .mount(&server)
                        .await
                }
            }
            let journal_dir = tempfile::tempdir().unwrap();
            let journal = journal_dir.path().join("journal");
            let mut cmd = (case.build)(&server.uri())
                .args(["-vvv", "-o", output, "--retries", "1", "--journal"])
                .args([&journal]);
            if mode == "dry-run" {
                cmd = cmd.args(["--dry-run"]);
            }
            let run = cmd.run().await;
            let what = format!("{} {mode} {output}", case.name);
            assert!(
                [0, 1, 3].contains(&run.code()),
                "{what}: exit {}\n{}",
                run.code(),
                run.stderr()
            );
            if mode != "dry-run" {
                assert!(
                    !server.received_requests().await.unwrap().is_empty(),
                    "{what}: nothing was sent\n{}",
                    run.stderr()
                );
            }
            if output == "json" {
                // Logs go to stderr, never stdout: at -vvv stdout is still pure NDJSON, one
                // record per line and the summary last.
                for line in run.stdout().lines() {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(line).is_ok(),
                        "{what}: stdout line is not JSON: {line}"
                    );
                }
                let summary = run.summary();
                assert_eq!(
                    summary["exit_code"].as_i64(),
                    Some(run.code() as i64),
                    "{what}"
                );
            }
            if mode.starts_with("echo") {
                // The positive control: the echo did arrive, masked. At -vvv the answer body
                // is logged; in JSON the echo is in the records too (request id, data or
                // error message), so a matrix that printed nothing would fail here.
                assert!(
                    run.stderr().contains(MARKER) && run.stderr().contains("***"),
                    "{what}: the echoed answer is not in the -vvv log:\n{}",
                    run.stderr()
                );
                // (A listing that fails on the echo has no target records: its stderr is checked.)
                if output == "json" && mode != "echo-noted" && !run.records().is_empty() {
                    let echoed = run.records().iter().any(|r| {
                        let t = r.to_string();
                        t.contains(MARKER) && t.contains("***")
                    });
                    assert!(
                        echoed,
                        "{what}: no record carries the masked echo:\n{}",
                        run.stdout()
                    );
                }
            }
            if mode == "echo-noted" && output == "json" {
                let records = run.records();
                let noted: Vec<_> = records
                    .iter()
                    .filter(|r| r["status"] == "already_invalid" || r["status"] == "not_found")
                    .collect();
                for r in &noted {
                    let t = r.to_string();
                    assert!(t.contains(MARKER) && t.contains("***"), "{what}: {t}");
                }
                // CloudBase (ACCESS_TOKEN_INVALID) and Huawei (404) note these answers.
                if case.notes {
                    assert!(
                        !noted.is_empty(),
                        "{what}: no noted record:\n{}",
                        run.stdout()
                    );
                }
            }
            let journal_text = std::fs::read_to_string(&journal).unwrap_or_default();
            for s in &case.secrets {
                assert!(
                    !run.stdout().contains(s),
                    "{what}: {s:?} in stdout:\n{}",
                    run.stdout()
                );
                assert!(
                    !run.stderr().contains(s),
                    "{what}: {s:?} in stderr:\n{}",
                    run.stderr()
                );
                assert!(
                    !journal_text.contains(s),
                    "{what}: {s:?} in the journal:\n{journal_text}"
                );
            }
        }
    }
}

/// Every provider, with its credentials from each of their sources (`support::PROVIDERS`):
/// the cases run at the same time, each against its own servers.
#[tokio::test]
async fn no_provider_prints_a_secret() {
    let mut cases = tokio::task::JoinSet::new();
    for p in PROVIDERS {
        for source in p.sources {
            let case = Case {
                name: source.name,
                secrets: source.secrets.to_vec(),
                build: source.build,
                success: p.success,
                notes: source.notes,
            };
            cases.spawn(async move { check(&case).await });
        }
    }
    while let Some(done) = cases.join_next().await {
        if let Err(e) = done {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// A config file (`$XDG_CONFIG_HOME/revoke/config.toml`) with the library secret inline.
fn smh_config_inline(uri: &str) -> Revoke {
    crate::config::with_config(
        "[smh.default]\nlibrary-id = \"lib1\"\nlibrary-secret = \"sentinelCfgInline11\"\n",
        uri,
    )
    .args(["smh", "--endpoint", uri, "alice", "bob"])
}

/// A config file whose client secret is a command's output.
fn ciam_config_command(uri: &str) -> Revoke {
    let r = crate::config::with_config(
        "[ciam.default]\nendpoint = \"{uri}\"\nclient-id = \"app\"\nclient-secret-command = \"{home}/bin/secret-tool show 'ciam app'\"\n",
        uri,
    );
    crate::config::secret_tool(r.home(), "sentinelCmdSecret12");
    r.args(["ciam", "--input", "-"])
        .stdin("sentinelCiamTok12a\nsentinelCiamTok12b\n")
}

/// A plan: the smh secret inline in the config file, the ciam secret inline in the (private)
/// plan file, cloudbase tokens written in the plan.
fn plan_inline(uri: &str) -> Revoke {
    let r = crate::config::with_config(
        "[smh.default]\nlibrary-id = \"lib1\"\nlibrary-secret = \"sentinelCfgInline13\"\n",
        uri,
    );
    std::fs::write(r.home().join("tokens.txt"), "sentinelPlanTok13a\n").unwrap();
    let plan = private_file(
        r.home(),
        "plan.toml",
        &format!(
            r#"
[[step]]
command = "smh"
endpoint = "{uri}"
targets = ["alice"]

[[step]]
command = "ciam"
endpoint = "{uri}"
client-id = "app"
client-secret = "sentinelPlanInline13"
input = "tokens.txt"

[[step]]
name = "cloudbase tokens"
command = "cloudbase"
endpoint = "{uri}"
targets = ["sentinelPlanTok13b"]
"#
        ),
    );
    r.args(["apply"]).args([plan])
}

#[tokio::test]
async fn config_file_secrets_are_never_printed() {
    check(&Case {
        name: "smh config inline",
        secrets: vec!["sentinelCfgInline11"],
        build: smh_config_inline,
        success: 204,
        notes: false,
    })
    .await;
    check(&Case {
        name: "ciam config command",
        secrets: vec![
            "sentinelCmdSecret12",
            "sentinelCiamTok12a",
            "sentinelCiamTok12b",
        ],
        build: ciam_config_command,
        success: 200,
        notes: false,
    })
    .await;
    check(&Case {
        name: "plan inline",
        secrets: vec![
            "sentinelCfgInline13",
            "sentinelPlanInline13",
            "sentinelPlanTok13a",
            "sentinelPlanTok13b",
        ],
        build: plan_inline,
        success: 200,
        notes: false,
    })
    .await;
}

#[tokio::test]
async fn revoke_config_never_prints_a_secret() {
    let text = "[smh.default]\nlibrary-id = \"lib1\"\nlibrary-secret = \"sentinelCfgInline14\"\n\n[ciam.default]\nclient-id = \"app\"\nclient-secret-command = \"{home}/bin/secret-tool show 'ciam app'\"\n\n[oauth.default]\nclient-id = \"app\"\nclient-secret-command = \"{home}/bin/secret-tool show 'ciam app'\"\n";
    // Every provider with credentials of its own (cloudbase's tokens are its credentials).
    for command in PROVIDERS
        .iter()
        .filter(|p| !p.env.is_empty())
        .map(|p| p.name)
    {
        for output in ["text", "json"] {
            let r = crate::config::with_config(text, "");
            crate::config::secret_tool(r.home(), "sentinelCmdSecret14");
            let run = r
                .env("TENCENTCLOUD_SECRET_ID", "AKIDsentinelCfg14")
                .env("TENCENTCLOUD_SECRET_KEY", "sentinelCfgKey14")
                .env("HUAWEICLOUD_SDK_AK", "SENTINELCFGAK14")
                .env("HUAWEICLOUD_SDK_SK", "sentinelCfgSk14")
                .args(["config", "-vvv", "-o", output, command])
                .run()
                .await;
            // smh's settings are complete; the others lack a required option (exit 2, named).
            run.assert_code(if command == "smh" { 0 } else { 2 });
            assert!(run.stdout().contains("***"), "{command}: {}", run.stdout());
            run.assert_no_secret(&[
                "sentinelCfgInline14",
                "sentinelCmdSecret14",
                "AKIDsentinelCfg14",
                "sentinelCfgKey14",
                "SENTINELCFGAK14",
                "sentinelCfgSk14",
            ]);
        }
    }
}

/// The matrix over usage errors and dry runs: a secret given by mistake as another option's
/// value (on the command line, in an option's variable, in a plan line, in a config file as a
/// number) is never echoed in the usage error, and a dry run never shows it in the masked
/// request. Each case checks its exit code, and that the masked value (`***`) did arrive.
#[tokio::test]
async fn usage_errors_and_dry_runs_never_echo_a_secret() {
    const CIAM: &str = "sentinelUsageCiam21";
    const SMH: &str = "sentinelUsageSmh21";
    const TC_KEY: &str = "sentinelUsageTcKey21";
    const PROXY: &str = "sentinelUsageProxy21";
    let proxy = format!("http://user:{PROXY}@127.0.0.1:9");
    let ciam = || {
        Revoke::new().env("CIAM_CLIENT_SECRET", CIAM).args([
            "ciam",
            "--endpoint",
            "http://127.0.0.1:9",
            "--client-id",
        ])
    };
    let plan = {
        let r = Revoke::new().env("CIAM_CLIENT_SECRET", CIAM);
        let plan = private_file(
            r.home(),
            "plan.toml",
            "[[step]]\ncommand = \"ciam\"\nendpoint = \"http://127.0.0.1:9\"\nclient-id = \"app\"\ntoken-type-hint = \"${CIAM_CLIENT_SECRET}\"\ntargets = [\"t1\"]\n",
        );
        r.args(["apply"]).args([plan])
    };
    let numeric = crate::config::with_config(
        "[ciam.default]\nclient-id = \"app\"\nclient-secret = 12345678901\n",
        "",
    )
    .args(["ciam", "--endpoint", "http://127.0.0.1:9", "t1"]);
    let from_file = {
        let r = Revoke::new();
        let f = private_file(r.home(), "ciam-secret", "sentinelUsageFile21\n");
        r.args([
            "ciam",
            "--endpoint",
            "http://127.0.0.1:9",
            "--client-id",
            "app",
        ])
        .args([
            "--token-type-hint",
            "sentinelUsageFile21",
            "--client-secret-file",
        ])
        .args([f])
        .args(["t1"])
    };
    let cases: Vec<(&str, Revoke, i32, Vec<&str>)> = vec![
        (
            "--token-type-hint <the --client-secret-file's secret>",
            from_file,
            2,
            vec!["sentinelUsageFile21"],
        ),
        (
            "--token-type-hint $CIAM_CLIENT_SECRET",
            ciam().args(["app", "--token-type-hint", CIAM, "t1"]),
            2,
            vec![CIAM],
        ),
        (
            "REVOKE_CONCURRENCY=$SMH_LIBRARY_SECRET",
            Revoke::new()
                .env("SMH_LIBRARY_SECRET", SMH)
                .env("REVOKE_CONCURRENCY", SMH)
                .args([
                    "smh",
                    "--endpoint",
                    "http://127.0.0.1:9",
                    "--library-id",
                    "l",
                    "u",
                ]),
            2,
            vec![SMH],
        ),
        (
            "--retries $TENCENTCLOUD_SECRET_KEY",
            Revoke::new()
                .env("TENCENTCLOUD_SECRET_ID", "AKIDsentinelUsage21")
                .env("TENCENTCLOUD_SECRET_KEY", TC_KEY)
                .args(["bi-embed", "--project-id", "1", "--retries", TC_KEY, "p1"]),
            2,
            vec![TC_KEY],
        ),
        (
            "--timeout <proxy password>",
            ciam()
                .env("HTTPS_PROXY", &proxy)
                .args(["app", "--timeout", PROXY, "t1"]),
            2,
            vec![PROXY],
        ),
        (
            "plan token-type-hint = ${CIAM_CLIENT_SECRET}",
            plan,
            2,
            vec![CIAM],
        ),
        (
            "config client-secret = 12345678901",
            numeric,
            2,
            vec!["12345678901"],
        ),
        (
            "--client-id $CIAM_CLIENT_SECRET --dry-run (text)",
            ciam().args([CIAM, "--dry-run", "-o", "text", "-vvv", "t1"]),
            0,
            vec![CIAM],
        ),
        (
            "oauth --issuer --client-id $OAUTH2_CLIENT_SECRET --dry-run -vvv (text)",
            Revoke::new()
                .env("OAUTH2_CLIENT_SECRET", CIAM)
                .args(["oauth", "--issuer", "http://127.0.0.1:9", "--verify"])
                .args(["--client-id", CIAM, "--dry-run", "-o", "text", "-vvv", "t1"]),
            0,
            vec![CIAM],
        ),
        (
            "oauth --issuer --client-id $OAUTH2_CLIENT_SECRET --dry-run -vvv (json)",
            Revoke::new()
                .env("OAUTH2_CLIENT_SECRET", CIAM)
                .args(["oauth", "--issuer", "http://127.0.0.1:9", "--client-auth"])
                .args([
                    "basic",
                    "--client-id",
                    CIAM,
                    "--dry-run",
                    "-o",
                    "json",
                    "-vvv",
                    "t1",
                ]),
            0,
            vec![CIAM],
        ),
        (
            "--client-id $CIAM_CLIENT_SECRET --dry-run (json)",
            ciam().args([CIAM, "--dry-run", "-o", "json", "-vvv", "t1"]),
            0,
            vec![CIAM],
        ),
    ];
    for (what, cmd, code, secrets) in cases {
        let run = cmd.run().await;
        assert_eq!(run.code(), code, "{what}: {}", run.stderr());
        run.assert_no_secret(&secrets);
        let all = format!("{}{}", run.stdout(), run.stderr());
        if code == 2 {
            assert!(run.stderr().contains("revoke: error:"), "{what}: {all}");
        } else {
            assert!(all.contains("***"), "{what}: nothing masked:\n{all}");
        }
    }
}

/// A secret given by mistake as `--ticket` or `--actor` (`--ticket "$CIAM_CLIENT_SECRET"`, a
/// token pasted in the wrong place) is masked in every record, the journal's lines included,
/// as any other text of a record is.
#[tokio::test]
async fn a_secret_given_as_ticket_or_actor_is_masked() {
    let server = wiremock::MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "sentinelTicket21")
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
        .args(["-o", "json", "--ticket", "sentinelTicket21"])
        .args(["--actor", "sentinelTok21", "--journal"])
        .args([&journal])
        .args(["sentinelTok21"])
        .run()
        .await;
    run.assert_code(0);
    let r = &run.records()[0];
    assert_eq!(r["ticket"], "***");
    assert_eq!(r["actor"], "***");
    run.assert_no_secret(&["sentinelTicket21", "sentinelTok21"]);
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert!(!lines.contains("sentinel"), "{lines}");
}
