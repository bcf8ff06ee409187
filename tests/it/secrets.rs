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
    pub build: Box<dyn Fn(&str) -> Revoke>,
    pub success: u16,
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
                if case.name.starts_with("cloudbase") || case.name == "identity-store env" {
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

fn bi_env(uri: &str) -> Revoke {
    Revoke::new()
        .env("TENCENTCLOUD_SECRET_ID", "AKIDsentinelBiId000001")
        .env("TENCENTCLOUD_SECRET_KEY", "sentinelBiKey000001")
        .env("TENCENTCLOUD_TOKEN", "sentinelBiToken000001")
        .args([
            "bi-embed",
            "--endpoint",
            uri,
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
        ])
        .args(["--scope", "page", "p1", "p2"])
}

fn bi_profile(uri: &str) -> Revoke {
    let cmd = Revoke::new()
        .args([
            "bi-embed",
            "--endpoint",
            uri,
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
        ])
        .args(["--scope", "page", "--profile", "work", "p1", "p2"]);
    std::fs::create_dir_all(cmd.home().join(".tccli")).unwrap();
    std::fs::write(
        cmd.home().join(".tccli/work.credential"),
        r#"{"secretId":"AKIDsentinelProfileId02","secretKey":"sentinelProfileKey02","token":"sentinelProfileTok02"}"#,
    )
    .unwrap();
    cmd
}

fn smh_env(uri: &str) -> Revoke {
    Revoke::new()
        .env("SMH_LIBRARY_SECRET", "sentinel/Lib+Secret=03")
        .args([
            "smh",
            "--endpoint",
            uri,
            "--library-id",
            "lib1",
            "alice",
            "bob",
        ])
}

fn smh_file(uri: &str) -> Revoke {
    let cmd = Revoke::new();
    let f = private_file(cmd.home(), "lib-secret", "sentinelLibSecretFile04\n");
    cmd.args([
        "smh",
        "--endpoint",
        uri,
        "--library-id",
        "lib1",
        "--library-secret-file",
    ])
    .args([&f])
    .args(["alice"])
}

fn cloudbase_args(uri: &str) -> Revoke {
    Revoke::new().args([
        "cloudbase",
        "--endpoint",
        uri,
        "sentinelCbToken05a",
        "sentinelCbToken05b",
    ])
}

fn cloudbase_stdin(uri: &str) -> Revoke {
    Revoke::new()
        .args([
            "cloudbase",
            "--endpoint",
            uri,
            "--env-id",
            "env-1",
            "--input",
            "-",
        ])
        .stdin("sentinelCbToken06a\nsentinelCbToken06b\n")
}

#[tokio::test]
async fn bi_embed_never_prints_a_secret() {
    check(&Case {
        name: "bi-embed env",
        secrets: vec![
            "AKIDsentinelBiId000001",
            "sentinelBiKey000001",
            "sentinelBiToken000001",
        ],
        build: Box::new(bi_env),
        success: 200,
    })
    .await;
    check(&Case {
        name: "bi-embed profile",
        secrets: vec![
            "AKIDsentinelProfileId02",
            "sentinelProfileKey02",
            "sentinelProfileTok02",
        ],
        build: Box::new(bi_profile),
        success: 200,
    })
    .await;
}

#[tokio::test]
async fn smh_never_prints_a_secret() {
    check(&Case {
        name: "smh env",
        secrets: vec![
            "sentinel/Lib+Secret=03",
            "sentinel%2FLib%2BSecret%3D03",
            "sentinelLib",
        ],
        build: Box::new(smh_env),
        success: 204,
    })
    .await;
    check(&Case {
        name: "smh file",
        secrets: vec!["sentinelLibSecretFile04"],
        build: Box::new(smh_file),
        success: 204,
    })
    .await;
}

#[tokio::test]
async fn cloudbase_never_prints_a_token() {
    check(&Case {
        name: "cloudbase args",
        secrets: vec!["sentinelCbToken05a", "sentinelCbToken05b"],
        build: Box::new(cloudbase_args),
        success: 200,
    })
    .await;
    check(&Case {
        name: "cloudbase stdin",
        secrets: vec!["sentinelCbToken06a", "sentinelCbToken06b"],
        build: Box::new(cloudbase_stdin),
        success: 200,
    })
    .await;
}

fn ciam_env_post(uri: &str) -> Revoke {
    Revoke::new()
        .env("CIAM_CLIENT_SECRET", "sentinel CiamSecret&07=")
        .args([
            "ciam",
            "--endpoint",
            uri,
            "--client-id",
            "app",
            "--input",
            "-",
        ])
        .stdin("sentinelCiamTok07a\nsentinelCiamTok07b\n")
}

fn ciam_file_basic(uri: &str) -> Revoke {
    let cmd = Revoke::new();
    let f = private_file(cmd.home(), "client-secret", "sentinelCiamFileSecret08\n");
    cmd.args([
        "ciam",
        "--endpoint",
        uri,
        "--client-id",
        "app",
        "--client-auth",
        "basic",
    ])
    .args(["--token-type-hint", "refresh_token", "--client-secret-file"])
    .args([&f])
    .args(["sentinelCiamTok08a"])
}

fn oauth_env_post(uri: &str) -> Revoke {
    Revoke::new()
        .env("OAUTH2_CLIENT_SECRET", "sentinel OauthSecret&22=")
        .args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
        .args(["--input", "-"])
        .stdin("sentinelOauthTok22a\nsentinelOauthTok22b\n")
}

fn oauth_file_basic(uri: &str) -> Revoke {
    let cmd = Revoke::new();
    let f = private_file(cmd.home(), "client-secret", "sentinelOauthFileSecret23\n");
    cmd.args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
        .args(["--client-auth", "basic", "--client-secret-file"])
        .args([&f])
        .args(["sentinelOauthTok23a"])
}

fn oauth_public(uri: &str) -> Revoke {
    // A secret set in the environment is not read by a public client, nor shown.
    Revoke::new()
        .env("OAUTH2_CLIENT_SECRET", "sentinelOauthUnused24")
        .args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
        .args(["--client-auth", "none", "--input", "-"])
        .stdin("sentinelOauthTok24a\n")
}

fn huawei_env(uri: &str) -> Revoke {
    Revoke::new()
        .env("HUAWEICLOUD_SDK_AK", "SENTINELHWAK000009")
        .env("HUAWEICLOUD_SDK_SK", "sentinelHwSecretKey09")
        .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "sentinelHwSecurityTok09")
        .args([
            "identity-store",
            "--endpoint",
            uri,
            "--identity-store-id",
            "d-1",
        ])
        .args(["--tenant-id", "t-1", "--project-id", "p1", "tok-1", "tok-2"])
}

fn huawei_file(uri: &str) -> Revoke {
    let cmd = Revoke::new();
    std::fs::create_dir_all(cmd.home().join(".huaweicloud")).unwrap();
    std::fs::write(
        cmd.home().join(".huaweicloud/credentials"),
        "[basic]\nak = SENTINELHWAK000010\nsk = sentinelHwSecretKey10\nsecurity_token = sentinelHwSecurityTok10\n",
    )
    .unwrap();
    cmd.args([
        "identity-store",
        "--endpoint",
        uri,
        "--identity-store-id",
        "d-1",
    ])
    .args(["--tenant-id", "t-1", "--all"])
}

#[tokio::test]
async fn ciam_never_prints_a_secret() {
    check(&Case {
        name: "ciam env post",
        secrets: vec![
            "sentinel CiamSecret&07=",
            "sentinel+CiamSecret%2607%3D",
            "sentinelCiamTok07a",
            "sentinelCiamTok07b",
        ],
        build: Box::new(ciam_env_post),
        success: 200,
    })
    .await;
    check(&Case {
        name: "ciam file basic",
        // The Basic credential is base64("app:sentinelCiamFileSecret08").
        secrets: vec![
            "sentinelCiamFileSecret08",
            "sentinelCiamTok08a",
            "YXBwOnNlbnRpbmVsQ2lhbUZpbGVTZWNyZXQwOA",
        ],
        build: Box::new(ciam_file_basic),
        success: 200,
    })
    .await;
}

#[tokio::test]
async fn oauth_never_prints_a_secret() {
    check(&Case {
        name: "oauth env post",
        secrets: vec![
            "sentinel OauthSecret&22=",
            "sentinel+OauthSecret%2622%3D",
            "sentinelOauthTok22a",
            "sentinelOauthTok22b",
        ],
        build: Box::new(oauth_env_post),
        success: 200,
    })
    .await;
    check(&Case {
        name: "oauth file basic",
        // The Basic credential is base64("app:sentinelOauthFileSecret23").
        secrets: vec![
            "sentinelOauthFileSecret23",
            "sentinelOauthTok23a",
            "YXBwOnNlbnRpbmVsT2F1dGhGaWxlU2VjcmV0MjM",
        ],
        build: Box::new(oauth_file_basic),
        success: 200,
    })
    .await;
    check(&Case {
        name: "oauth public",
        secrets: vec!["sentinelOauthUnused24", "sentinelOauthTok24a"],
        build: Box::new(oauth_public),
        success: 200,
    })
    .await;
}

#[tokio::test]
async fn identity_store_never_prints_a_secret() {
    check(&Case {
        name: "identity-store env",
        secrets: vec![
            "SENTINELHWAK000009",
            "sentinelHwSecretKey09",
            "sentinelHwSecurityTok09",
        ],
        build: Box::new(huawei_env),
        success: 200,
    })
    .await;
    check(&Case {
        name: "identity-store file --all",
        secrets: vec![
            "SENTINELHWAK000010",
            "sentinelHwSecretKey10",
            "sentinelHwSecurityTok10",
        ],
        build: Box::new(huawei_file),
        success: 200,
    })
    .await;
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
        build: Box::new(smh_config_inline),
        success: 204,
    })
    .await;
    check(&Case {
        name: "ciam config command",
        secrets: vec![
            "sentinelCmdSecret12",
            "sentinelCiamTok12a",
            "sentinelCiamTok12b",
        ],
        build: Box::new(ciam_config_command),
        success: 200,
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
        build: Box::new(plan_inline),
        success: 200,
    })
    .await;
}

#[tokio::test]
async fn revoke_config_never_prints_a_secret() {
    let text = "[smh.default]\nlibrary-id = \"lib1\"\nlibrary-secret = \"sentinelCfgInline14\"\n\n[ciam.default]\nclient-id = \"app\"\nclient-secret-command = \"{home}/bin/secret-tool show 'ciam app'\"\n";
    for command in ["smh", "ciam", "bi-embed", "identity-store"] {
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
