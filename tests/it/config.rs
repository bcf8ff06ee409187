//! The config file and its contexts, end to end: the built binary with a temporary
//! `XDG_CONFIG_HOME` (or `--config`) against local mock servers. Each command runs from a
//! context alone; each step of the precedence (flag > env > context > [defaults] > built-in)
//! is shown by `revoke config` and, where it decides where requests go, by a run; every kind
//! of mistake is exit 2 naming the file, the line and the key, with nothing sent.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// A run whose config file (`$XDG_CONFIG_HOME/revoke/config.toml`, mode 600) holds `text`,
/// with `{uri}` replaced by `uri` and `{home}` by the run's HOME.
pub fn with_config(text: &str, uri: &str) -> Revoke {
    let r = Revoke::new();
    let dir = r.home().join("xdg").join("revoke");
    std::fs::create_dir_all(&dir).unwrap();
    let text = text
        .replace("{uri}", uri)
        .replace("{home}", &r.home().display().to_string());
    private_file(&dir, "config.toml", &text);
    let xdg = r.home().join("xdg");
    r.env("XDG_CONFIG_HOME", xdg)
}

/// Where [`with_config`] wrote the file.
fn config_path(r: &Revoke) -> PathBuf {
    r.home().join("xdg/revoke/config.toml")
}

/// A server that accepts anything with `status`, and says how many requests it got.
async fn accepting(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(status).set_body_string(
                r#"{"Response":{"Data":true,"RequestId":"r"},"bearer_tokens":[]}"#,
            ),
        )
        .mount(&server)
        .await;
    server
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn smh_runs_from_its_context_alone() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/token/smh0a1b2c3d"))
        .and(query_param("library_secret", "smhSecretFromFile01"))
        .and(query_param("user_id", "alice"))
        .and(query_param("client_id", "web,ios"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let r = with_config(
        r#"
[defaults]
output = "json"

[smh.prod]
library-id = "smh0a1b2c3d"
endpoint = "{uri}"
client-id = ["web", "ios"]
library-secret-file = "~/smh-prod.secret"
"#,
        &server.uri(),
    );
    private_file(r.home(), "smh-prod.secret", "smhSecretFromFile01\n");
    let run = r
        .env("REVOKE_CONTEXT", "prod")
        .args(["smh", "alice"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["status"], "revoked");
    run.assert_no_secret(&["smhSecretFromFile01"]);
}

#[tokio::test]
async fn bi_embed_runs_from_its_context_alone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains(r#""PageId":"8991""#))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("bi_embed/success_tccli.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let run = with_config(
        r#"
[bi-embed.default]
endpoint = "{uri}"
project-id = "889"
user-corp-id = "700000777778"
scope = "page"
region = "ap-guangzhou"
output = "json"
"#,
        &server.uri(),
    )
    .env("TENCENTCLOUD_SECRET_ID", TC_ID)
    .env("TENCENTCLOUD_SECRET_KEY", TC_KEY)
    .args(["bi-embed", "8991"])
    .run()
    .await;
    run.assert_code(0);
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(header(req, "x-tc-region"), Some("ap-guangzhou"));
}

#[tokio::test]
async fn cloudbase_runs_from_its_context_alone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/v1/revoke"))
        .and(query_param("client_id", "my-app"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(2)
        .mount(&server)
        .await;
    let r = with_config(
        r#"
[cloudbase.default]
endpoint = "{uri}"
client-id = "my-app"
input = "~/tokens.txt"
output = "json"
"#,
        &server.uri(),
    );
    std::fs::write(r.home().join("tokens.txt"), "cbTokenOne01\ncbTokenTwo02\n").unwrap();
    let run = r.args(["cloudbase"]).run().await;
    run.assert_code(0);
    assert_eq!(run.records().len(), 2);
}

#[tokio::test]
async fn ciam_runs_from_its_context_alone_with_a_secret_command() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/revoke"))
        .and(body_string_contains(
            "client_secret=ciamSecretFromCommand03",
        ))
        .and(body_string_contains("token_type_hint=refresh_token"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let r = with_config(
        r#"
[ciam.default]
endpoint = "{uri}"
client-id = "app"
token-type-hint = "refresh_token"
client-secret-command = "{home}/bin/secret-tool show 'ciam app'"
input = "~/tokens.txt"
output = "json"
"#,
        &server.uri(),
    );
    secret_tool(r.home(), "ciamSecretFromCommand03");
    std::fs::write(r.home().join("tokens.txt"), "ciamToken01\n").unwrap();
    let run = r.args(["ciam"]).run().await;
    run.assert_code(0);
    run.assert_no_secret(&["ciamSecretFromCommand03"]);
}

/// `HOME/bin/secret-tool`, a stand-in for `pass` or a keychain tool: prints `secret` when its
/// arguments are `show 'ciam app'` (one word with a space: the command is split as a shell
/// would, not on every space), fails otherwise.
pub fn secret_tool(home: &Path, secret: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tool = bin.join("secret-tool");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\n[ \"$1\" = show ] && [ \"$2\" = 'ciam app' ] && [ $# -eq 2 ] || {{ echo \"leakedOutput $*\"; exit 4; }}\nprintf '%s\\n' '{secret}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    tool
}

#[tokio::test]
async fn identity_store_runs_from_its_context_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/v1/identity-stores/d-0123456789/tenant/t-0123/bearer-token",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "bearer_tokens": [{"token_id": "tok-1"}], "page_info": {"next_marker": null}
        })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(
            "/v1/identity-stores/d-0123456789/tenant/t-0123/bearer-token/tok-1",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            fixture("identity_store/error_not_found.json"),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let run = with_config(
        r#"
[identity-store.ci]
endpoint = "{uri}"
identity-store-id = "d-0123456789"
tenant-id = "t-0123"
all = true
missing-ok = true
output = "json"
"#,
        &server.uri(),
    )
    .env("HUAWEICLOUD_SDK_AK", HW_AK)
    .env("HUAWEICLOUD_SDK_SK", HW_SK)
    .env("REVOKE_CONTEXT", "ci")
    .args(["identity-store"])
    .run()
    .await;
    run.assert_code(0);
    assert_eq!(run.records()[0]["status"], "not_found");
}

/// `revoke config -o json COMMAND`'s settings, by option: (value, from).
fn shown(run: &Run) -> Vec<(String, Value, Value)> {
    let v: Value = serde_json::from_str(run.stdout().trim())
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}\n{}", run.stdout(), run.stderr()));
    v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["option"].as_str().unwrap().to_string(),
                s["value"].clone(),
                s["from"].clone(),
            )
        })
        .collect()
}

fn setting<'a>(rows: &'a [(String, Value, Value)], option: &str) -> (&'a Value, &'a Value) {
    let r = rows.iter().find(|r| r.0 == option).unwrap();
    (&r.1, &r.2)
}

const LAYERED: &str = r#"
[defaults]
concurrency = 16
retries = 5
timeout = 9
rate = 2

[smh.default]
library-id = "lib-default"
concurrency = 4
retries = 6
timeout = 7
"#;

#[tokio::test]
async fn each_layer_beats_the_one_below() {
    // built-in < [defaults] < context < env < flag, one option per step of the ladder.
    let r = with_config(LAYERED, "");
    let file = config_path(&r).display().to_string();
    let run = r
        .env("REVOKE_RETRIES", "1")
        .env("REVOKE_TIMEOUT", "3")
        .env("SMH_LIBRARY_SECRET", "layered-secret")
        .args(["config", "-o", "json", "--timeout", "2", "smh"])
        .run()
        .await;
    run.assert_code(0);
    let rows = shown(&run);
    let at = |line: usize| Value::String(format!("{file}:{line}"));
    assert_eq!(
        setting(&rows, "output"),
        (&"json".into(), &"flag".into()),
        "flag"
    );
    assert_eq!(setting(&rows, "timeout"), (&"2".into(), &"flag".into()));
    assert_eq!(
        setting(&rows, "retries"),
        (&"1".into(), &"env REVOKE_RETRIES".into()),
        "env beats the context"
    );
    assert_eq!(
        setting(&rows, "concurrency"),
        (&"4".into(), &at(10)),
        "the context beats [defaults]"
    );
    assert_eq!(
        setting(&rows, "rate"),
        (&"2".into(), &at(6)),
        "[defaults] beats the built-in"
    );
    assert_eq!(
        setting(&rows, "no-progress"),
        (&"false".into(), &"default".into())
    );
    assert_eq!(setting(&rows, "library-id").0, "lib-default");
    assert_eq!(setting(&rows, "session-id").0, &Value::Null, "not set");
}

#[tokio::test]
async fn the_layers_decide_where_requests_go() {
    // The context's endpoint goes nowhere (port 9 is discard); env and flag win over it.
    let env_server = accepting(204).await;
    let flag_server = accepting(204).await;
    let text = r#"
[smh.default]
library-id = "lib1"
endpoint = "http://127.0.0.1:9"
"#;
    let run = with_config(text, "")
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .env("REVOKE_ENDPOINT", env_server.uri())
        .args(["smh", "-o", "json", "--retries", "0", "alice"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(received(&env_server).await, 1, "env beats the context");
    let run = with_config(text, "")
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .env("REVOKE_ENDPOINT", env_server.uri())
        .args(["smh", "-o", "json", "alice", "--endpoint"])
        .args([flag_server.uri()])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(received(&flag_server).await, 1, "the flag beats env");
    assert_eq!(received(&env_server).await, 1);
    // --context picks another table; the secret in the environment beats the context's file.
    let ctx_server = accepting(204).await;
    let text = format!(
        "{text}\n[smh.staging]\nlibrary-id = \"lib2\"\nendpoint = \"{}\"\nlibrary-secret-file = \"/nonexistent\"\n",
        ctx_server.uri()
    );
    let run = with_config(&text, "")
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .args(["smh", "--context", "staging", "-o", "json", "alice"])
        .run()
        .await;
    run.assert_code(0);
    let req = &ctx_server.received_requests().await.unwrap()[0];
    assert!(req.url.path().ends_with("/lib2"), "{}", req.url);
    // ciam: a context's domain yields to REVOKE_ENDPOINT (a higher layer).
    let ciam = accepting(200).await;
    let run = with_config(
        "[ciam.default]\ndomain = \"sample.portal.tencentciam.com\"\nclient-id = \"app\"\n",
        "",
    )
    .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
    .env("REVOKE_ENDPOINT", ciam.uri())
    .args(["ciam", "-o", "json", "--retries", "0", "--input", "-"])
    .stdin("tok-1\n")
    .run()
    .await;
    run.assert_code(0);
    assert_eq!(received(&ciam).await, 1);
}

#[tokio::test]
async fn config_explains_the_file_and_the_secret_sources() {
    let r = with_config(
        r#"
[defaults]
journal = "~/journal.ndjson"

[ciam.default]
domain = "sample.portal.tencentciam.com"
client-id = "app"
client-secret-command = "{home}/bin/never-run"
"#,
        "",
    );
    // Text output names paths under the home directory `~/...`.
    let file = "~/xdg/revoke/config.toml";
    let run = r.args(["config", "ciam"]).run().await;
    run.assert_code(0);
    let out = run.stdout();
    assert!(out.contains(&format!("config file  {file}")), "{out}");
    assert!(
        out.contains("context      default ([ciam.default])"),
        "{out}"
    );
    // One aligned table: each row's value starts in the same column as the header's.
    let table: Vec<&str> = out.lines().skip_while(|l| !l.contains("OPTION")).collect();
    let col = table[0].find("VALUE").unwrap();
    for row in &table[1..] {
        assert_eq!(
            row.char_indices().nth(col - 1).map(|(_, c)| c),
            Some(' '),
            "{row}"
        );
        assert_ne!(row.chars().nth(col), Some(' '), "{row}");
    }
    let journal = table.iter().find(|l| l.contains("journal")).unwrap();
    assert!(journal.contains("~/journal.ndjson"), "~/ : {journal}");
    assert!(journal.ends_with(&format!("{file}:3")), "{journal}");
    let secret = table.iter().find(|l| l.contains("client secret")).unwrap();
    assert!(
        secret.contains("***") && secret.contains(&format!("client-secret-command ({file}:8)")),
        "{secret}"
    );
    // The environment wins over the context, and says so.
    let run = with_config("[ciam.default]\nclient-id = \"app\"\n", "")
        .env("CIAM_CLIENT_SECRET", "envSecret000001")
        .args(["config", "ciam"])
        .run()
        .await;
    assert!(
        run.stdout().contains("env CIAM_CLIENT_SECRET"),
        "{}",
        run.stdout()
    );
    run.assert_no_secret(&["envSecret000001"]);
    // No config file at all: said, and the built-in defaults shown.
    let run = Revoke::new().args(["config"]).run().await;
    run.assert_code(0);
    assert!(
        run.stdout().contains("(not found: no config file)"),
        "{}",
        run.stdout()
    );
}

/// Runs `revoke smh alice` with the config file `text` against a server that must get nothing,
/// and checks the usage error.
async fn refused(text: &str, needle: &str) {
    let server = accepting(204).await;
    let r = with_config(text, &server.uri());
    let file = config_path(&r).display().to_string();
    let needle = needle.replace("FILE", &file);
    let run = r
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .args(["smh", "--library-id", "lib1", "alice"])
        .run()
        .await;
    run.assert_usage(&needle);
    assert_eq!(received(&server).await, 0, "{text}");
}

#[tokio::test]
async fn every_mistake_is_exit_2_naming_file_line_and_key() {
    refused(
        "[defaults]\nconcurency = 4\n",
        "FILE:2: concurency: unknown key in [defaults]: not a global option",
    )
    .await;
    refused(
        "[smh.default]\nendpoint = \"{uri}\"\nlibary-id = \"x\"\n",
        "FILE:3: libary-id: unknown key in [smh.default]: not an option of smh (did you mean library-id?)",
    )
    .await;
    refused(
        "[defaults]\nretries = \"3\"\n",
        "FILE:2: retries: expected a whole number, found a string (\"3\")",
    )
    .await;
    refused(
        "[defaults]\nconcurrency = 0\n",
        "FILE:2: concurrency: \"0\" is not a whole number in 1..=4096",
    )
    .await;
    refused(
        "[defaults]\nrate = [1]\n",
        "FILE:2: rate: expected a number or \"auto\", found an array",
    )
    .await;
    refused("[smhh.default]\nx = 1\n", "FILE:1: smhh: unknown table").await;
    refused("[defaults\nretries = 3\n", "FILE:1: not valid TOML").await;
    refused(
        "[ciam.default]\nclient-id = \"a\"\n\n[defaults]\nretries = 1\nretries = 2\n",
        "FILE:6: not valid TOML",
    )
    .await;
    // A typo in another command's context is refused too: the file is checked whole.
    refused(
        "[ciam.default]\nclient-idd = \"a\"\n",
        "FILE:2: client-idd: unknown key in [ciam.default]",
    )
    .await;
    // A secret command that fails: the key and the status, never its output.
    let server = accepting(204).await;
    let r = with_config(
        "[smh.default]\nendpoint = \"{uri}\"\nlibrary-id = \"lib1\"\nlibrary-secret-command = \"{home}/bin/secret-tool show other\"\n",
        &server.uri(),
    );
    secret_tool(r.home(), "neverPrinted01");
    let file = config_path(&r).display().to_string();
    let run = r.args(["smh", "alice"]).run().await;
    run.assert_usage(&format!("{file}:4: library-secret-command: the command"));
    assert!(run.stderr().contains("exit status: 4"), "{}", run.stderr());
    run.assert_no_secret(&["leakedOutput", "neverPrinted01"]);
    assert_eq!(received(&server).await, 0);
}

#[tokio::test]
async fn contexts_and_files_that_do_not_exist_are_refused() {
    let server = accepting(204).await;
    let r = with_config("[smh.prod]\nlibrary-id = \"x\"\n", &server.uri());
    let file = config_path(&r).display().to_string();
    r.env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .args([
            "smh",
            "--context",
            "prdo",
            "--endpoint",
            &server.uri(),
            "alice",
        ])
        .run()
        .await
        .assert_usage(&format!(
            "context \"prdo\": {file} has no [smh.prdo] table (its smh contexts: prod)"
        ));
    Revoke::new()
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .env("REVOKE_CONTEXT", "prod")
        .args([
            "smh",
            "--library-id",
            "x",
            "--endpoint",
            &server.uri(),
            "alice",
        ])
        .run()
        .await
        .assert_usage("context \"prod\": there is no config file");
    let missing = Revoke::new();
    let path = missing.home().join("nope.toml");
    missing
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .args([
            "smh",
            "--library-id",
            "x",
            "--endpoint",
            &server.uri(),
            "alice",
            "--config",
        ])
        .args([&path])
        .run()
        .await
        .assert_usage(&format!(
            "cannot read the config file --config {}",
            path.display()
        ));
    // REVOKE_CONFIG names it too; a missing default file is no config file at all.
    let r = Revoke::new();
    let path = r.home().join("nope.toml");
    r.env("REVOKE_CONFIG", &path)
        .args(["config"])
        .run()
        .await
        .assert_usage("cannot read the config file --config");
    assert_eq!(received(&server).await, 0);
    // Without a config file, a missing required option says where else it can come from.
    Revoke::new()
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .args(["smh", "alice"])
        .run()
        .await
        .assert_usage("--library-id is required: pass --library-id ID, or set library-id in a [smh.CONTEXT] table");
}

#[tokio::test]
async fn config_flag_and_inline_secrets() {
    // --config FILE anywhere (here beside the HOME); an inline secret in a private file works,
    // in a file others can read it is refused without the value in the message.
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(query_param("library_secret", "inlineSecret0001"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let r = Revoke::new();
    let file = private_file(
        r.home(),
        "team.toml",
        &format!(
            "[smh.default]\nendpoint = \"{}\"\nlibrary-id = \"lib1\"\nlibrary-secret = \"inlineSecret0001\"\n",
            server.uri()
        ),
    );
    let run = r
        .args(["smh", "-o", "json", "alice", "--config"])
        .args([&file])
        .run()
        .await;
    run.assert_code(0);
    run.assert_no_secret(&["inlineSecret0001"]);
    let r = Revoke::new();
    let file = private_file(
        r.home(),
        "team.toml",
        &format!(
            "[smh.default]\nendpoint = \"{}\"\nlibrary-id = \"lib1\"\nlibrary-secret = \"inlineSecret0002\"\n",
            server.uri()
        ),
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = r
        .env("REVOKE_CONFIG", &file)
        .args(["smh", "alice"])
        .run()
        .await;
    run.assert_usage(&format!(
        "{}:4: library-secret: a secret written in the file needs a file other users cannot read",
        file.display()
    ));
    run.assert_no_secret(&["inlineSecret0002"]);
}

/// `--config FIFO` (and `apply FIFO`) is refused at once, exit 2: opening a FIFO with no
/// writer used to hang the run.
#[tokio::test]
async fn a_fifo_as_config_or_plan_is_refused_at_once() {
    for as_plan in [false, true] {
        let r = Revoke::new();
        let fifo = r.home().join("config.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let r = if as_plan {
            r.args(["apply"]).args([&fifo])
        } else {
            r.args(["--config"]).args([&fifo]).args([
                "cloudbase",
                "--endpoint",
                "http://127.0.0.1:9",
                "t1",
            ])
        };
        let running = r.spawn();
        let started = std::time::Instant::now();
        let run = running.wait_for(std::time::Duration::from_secs(10)).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        run.assert_code(2);
        assert!(
            run.stderr().contains("not a regular file"),
            "{}",
            run.stderr()
        );
    }
}

/// `revoke config COMMAND` reports what the run itself requires of the secret, by the run's
/// own rule: oauth's depends on `client-auth` and on discovery (a public client needs none;
/// post and basic do, and so does the default where nothing is discovered to choose), ciam's
/// never does. Each context is shown by `revoke config` and run (`--dry-run`): both stop
/// (exit 2, the run's message among config's problems) or neither does.
#[tokio::test]
async fn config_requires_the_secret_the_run_requires() {
    // Command, its context's keys, environment, the exit code of both.
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        i32,
    );
    let cases: &[Case] = &[
        (
            "oauth",
            "issuer = \"https://auth.example.com\"\nclient-auth = \"post\"",
            &[],
            2,
        ),
        (
            "oauth",
            "issuer = \"https://auth.example.com\"\nclient-auth = \"basic\"",
            &[],
            2,
        ),
        // No discovery to choose the method: post, which needs the secret.
        (
            "oauth",
            "revocation-endpoint = \"http://127.0.0.1:9/revoke\"",
            &[],
            2,
        ),
        (
            "oauth",
            "",
            &[("REVOKE_ENDPOINT", "http://127.0.0.1:9/revoke")],
            2,
        ),
        // Discovery chooses: a secret is read if one is found.
        ("oauth", "issuer = \"https://auth.example.com\"", &[], 0),
        // A public client reads none, not even a secret file that is not there.
        (
            "oauth",
            "revocation-endpoint = \"http://127.0.0.1:9/revoke\"\nclient-auth = \"none\"\nclient-secret-file = \"{home}/no-such-file\"",
            &[],
            0,
        ),
        (
            "oauth",
            "issuer = \"https://auth.example.com\"\nclient-auth = \"none\"",
            &[],
            0,
        ),
        (
            "oauth",
            "issuer = \"https://auth.example.com\"\nclient-auth = \"post\"",
            &[("OAUTH2_CLIENT_SECRET", "oauthSecret00001")],
            0,
        ),
        (
            "ciam",
            "domain = \"sample.portal.tencentciam.com\"\nclient-auth = \"basic\"",
            &[],
            2,
        ),
        ("ciam", "domain = \"sample.portal.tencentciam.com\"", &[], 2),
        (
            "ciam",
            "domain = \"sample.portal.tencentciam.com\"",
            &[("CIAM_CLIENT_SECRET", "ciamSecret000001")],
            0,
        ),
    ];
    for (command, context, env, code) in cases {
        let text = format!("[{command}.default]\nclient-id = \"app\"\n{context}\n");
        let with_env = |mut r: Revoke| {
            for (k, v) in *env {
                r = r.env(k, v);
            }
            r
        };
        let config = with_env(with_config(&text, ""))
            .args(["config", command])
            .run()
            .await;
        let run = with_env(with_config(&text, ""))
            .args([command, "--dry-run", "tok-1"])
            .run()
            .await;
        let case = format!("{command} {context:?} {env:?}");
        assert_eq!(run.code(), *code, "the run: {case}\n{}", run.stderr());
        assert_eq!(config.code(), *code, "config: {case}\n{}", config.stderr());
        let stopped = run
            .stderr()
            .lines()
            .find(|l| l.starts_with("revoke: error: "))
            .map(str::to_string);
        match stopped {
            Some(line) => assert!(
                config.stderr().contains(&line),
                "config says what the run says: {case}\nrun: {line}\nconfig: {}",
                config.stderr()
            ),
            None => assert!(
                !config.stderr().contains("error"),
                "{case}: {}",
                config.stderr()
            ),
        }
        let secret = config
            .stdout()
            .lines()
            .find(|l| l.contains("client secret"))
            .map(str::to_string)
            .unwrap_or_default();
        if context.contains("client-auth = \"none\"") {
            assert!(secret.contains("a public client"), "{case}: {secret}");
        }
        config.assert_no_secret(&["oauthSecret00001", "ciamSecret000001"]);
    }
}
