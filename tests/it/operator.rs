//! What an operator trips over, through the built binary: where a record's target came from
//! (`source`) and when it was answered (`at`), empty runs, the checks `revoke config` and
//! `revoke apply --dry-run` make, credentials files others can read, the text layout.

use serde_json::Value;
use wiremock::matchers as m;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn accepting() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(m::method("DELETE"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

fn by_index(records: Vec<Value>) -> Vec<Value> {
    let mut records = records;
    records.sort_by_key(|r| r["index"].as_u64());
    records
}

fn sources(records: &[Value]) -> Vec<Value> {
    records.iter().map(|r| r["source"].clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// source and at

#[tokio::test]
async fn records_say_where_each_target_came_from_and_when_it_was_answered() {
    let server = accepting().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ids.txt");
    // Blank and comment lines count: t-f1 is on line 3.
    std::fs::write(&file, "# offboarding\n\nt-f1\nt-dup\n").unwrap();
    let before = chrono::Utc::now();
    let run = Revoke::identity_store(&server.uri())
        .args(["t-arg1", "t-dup", "--input"])
        .args([&file])
        .run()
        .await;
    let after = chrono::Utc::now();
    run.assert_code(0);
    let records = by_index(run.records());
    let f = file.display().to_string();
    assert_eq!(
        sources(&records),
        ["arg:1", "arg:2", &format!("{f}:3"), &format!("{f}:4")],
        "the repeat of t-dup keeps its own source"
    );
    for r in &records {
        assert_record_schema(r);
        let at = chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap()).unwrap();
        assert!(
            at >= before - chrono::Duration::milliseconds(1)
                && at <= after + chrono::Duration::milliseconds(1),
            "{r}"
        );
    }
}

#[tokio::test]
async fn stdin_lines_and_planned_targets_have_their_source() {
    let server = accepting().await;
    let run = Revoke::identity_store(&server.uri())
        .args(["--input", "-", "--dry-run"])
        .stdin("\n# x\nsid-1\nsid-2\n")
        .run()
        .await;
    run.assert_code(0);
    let records = by_index(run.records());
    assert_eq!(sources(&records), ["stdin:3", "stdin:4"]);
    for r in &records {
        assert_eq!(r["status"], "planned");
        assert_record_schema(r);
    }
}

#[tokio::test]
async fn plan_steps_and_smh_batches_have_their_source() {
    let r = Revoke::new()
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK)
        .env("SMH_LIBRARY_SECRET", SMH_SECRET);
    private_file(r.home(), "ids.txt", "# ids\nu1\nu2\n");
    let plan = private_file(
        r.home(),
        "plan.toml",
        r#"
[[step]]
command = "identity-store"
endpoint = "http://127.0.0.1:9"
identity-store-id = "d-1"
tenant-id = "t1"
targets = ["tok-1", "tok-2"]

[[step]]
command = "smh"
endpoint = "http://127.0.0.1:9"
library-id = "lib"
input = "ids.txt"
"#,
    );
    let run = r
        .args(["apply", "--dry-run", "-o", "json"])
        .args([&plan])
        .run()
        .await;
    run.assert_code(0);
    let mut got: Vec<(u64, u64, String)> = run
        .records()
        .iter()
        .map(|r| {
            assert_record_schema_in_plan(r);
            (
                r["step"].as_u64().unwrap(),
                r["index"].as_u64().unwrap(),
                r["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let ids = plan.parent().unwrap().join("ids.txt").display().to_string();
    assert_eq!(
        got,
        [
            (0, 0, "arg:1".to_string()),
            (0, 1, "arg:2".to_string()),
            (1, 0, format!("{ids}:2")),
        ],
        "a batch of user ids has its first id's line"
    );
}

/// A plan's record: `step` first, then the record's own fields.
#[track_caller]
fn assert_record_schema_in_plan(r: &Value) {
    let mut r = r.clone();
    let obj = r.as_object_mut().unwrap();
    obj.shift_remove("step");
    obj.shift_remove("name");
    assert_record_schema(&r);
}

// ---------------------------------------------------------------------------------------------
// Empty runs

#[tokio::test]
async fn require_targets_makes_an_empty_run_exit_1_naming_where_targets_were_to_come_from() {
    let server = accepting().await;
    // A mistyped variable in CI: `printf '%s\n' "$TOKEN"` with TOKEN unset.
    let plain = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin("\n")
        .run()
        .await;
    plain.assert_code(0);

    for required in [
        Revoke::ciam(&server.uri()).args(["--require-targets"]),
        Revoke::ciam(&server.uri()).env("REVOKE_REQUIRE_TARGETS", "1"),
    ] {
        let run = required.args(["--input", "-"]).stdin("\n").run().await;
        run.assert_code(1);
        assert_eq!(run.summary()["exit_code"], 1);
        let err = run.stderr();
        assert_eq!(
            err.matches("revoke: error: --require-targets: no target came from --input - (stdin)")
                .count(),
            1,
            "{err}"
        );
    }
    // A run that has targets is not affected.
    let run = Revoke::identity_store(&server.uri())
        .args(["--require-targets", "tok-1"])
        .run()
        .await;
    run.assert_code(0);
}

// ---------------------------------------------------------------------------------------------
// Finding a failed target

#[tokio::test]
async fn the_fingerprint_formula_in_help_and_readme_finds_the_token() {
    const FORMULA: &str = r#"printf %s "$TOKEN" | sha256sum | cut -c1-12"#;
    let help = Revoke::new().args(["--help"]).run().await;
    assert!(help.stdout().contains(FORMULA), "{}", help.stdout());
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(FORMULA));

    // And the formula is what records say.
    let token = "operator-token-0001";
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin(format!("{token}\n"))
        .run()
        .await;
    run.assert_code(0);
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        run.records()[0]["target"]["token"],
        format!("sha256:{}", &hex[..12])
    );
}

#[test]
fn the_readme_keeps_exit_codes_through_jq_and_lists_each_variable_once() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table: Vec<&str> = readme
        .split("## Environment variables")
        .nth(1)
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let table = table.join("\n");
    assert_eq!(table.matches("`XDG_CONFIG_HOME`").count(), 1, "{table}");
    for var in ["REVOKE_VERIFY", "REVOKE_REQUIRE_TARGETS"] {
        assert!(table.contains(var), "{var} missing from the table");
    }
    // Every sh block that pipes revoke into jq keeps revoke's exit code.
    for block in readme.split("```sh").skip(1) {
        let block = block.split("```").next().unwrap();
        if block
            .lines()
            .any(|l| l.starts_with("revoke") && l.contains("| jq"))
        {
            assert!(block.contains("set -o pipefail"), "{block}");
        }
    }
    // The JSON sample shows every field of a record, in order.
    let sample = readme
        .lines()
        .find(|l| l.starts_with(r#"{"provider":"ciam","index":0"#))
        .unwrap();
    let record: Value = serde_json::from_str(sample).unwrap();
    assert_record_schema(&record);
}

// ---------------------------------------------------------------------------------------------
// Text layout

#[tokio::test]
async fn with_verify_the_status_column_holds_the_verification() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/auth/v1/revoke"))
        .and(m::body_string_contains("layoutToken1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/auth/v1/revoke"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_request"})),
        )
        .mount(&server)
        .await;
    Mock::given(m::method("GET"))
        .and(m::path("/auth/v1/token/introspect"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let run = Revoke::new()
        .args(["cloudbase", "--endpoint", &server.uri()])
        .args(["--verify", "--concurrency", "1", "--input", "-"])
        .stdin("layoutToken1\nlayoutToken2\n")
        .run()
        .await;
    let out = run.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}{}", run.stderr());
    assert!(
        lines.iter().any(|l| l.starts_with("revoked, ")),
        "one line shows its verification: {out}"
    );
    let columns: Vec<usize> = lines
        .iter()
        .map(|l| l.find(" cloudbase ").expect("provider column"))
        .collect();
    assert!(
        columns.iter().all(|c| *c == columns[0]),
        "the provider column lines up: {out}"
    );
    assert!(
        lines.iter().all(|l| l.as_bytes()[columns[0] - 1] == b' '),
        "a space before the provider on every line: {out}"
    );
}

// ---------------------------------------------------------------------------------------------
// revoke config checks what the run would check

#[tokio::test]
async fn revoke_config_lists_every_problem_a_run_would_stop_on_and_exits_2() {
    let text = "[smh.default]\nlibrary-secret-file = \"{home}/smh.secret\"\n";
    // The secret file is missing, library-id is unset.
    let r = crate::config::with_config(text, "");
    let run = r.args(["config", "smh"]).run().await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(
        err.contains("revoke: error: --library-id is required"),
        "{err}"
    );
    assert!(err.contains(":2: library-secret-file: "), "{err}");
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        run.stdout().contains("library secret"),
        "the table is still shown"
    );

    // A secret file others can read: refused as a run refuses it.
    let text = "[smh.default]\nlibrary-id = \"L\"\nlibrary-secret-file = \"{home}/smh.secret\"\n";
    let r = crate::config::with_config(text, "");
    let secret = r.home().join("smh.secret");
    std::fs::write(&secret, "configSecret0001\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = r.args(["config", "smh"]).run().await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(err.contains("permissions 0644 are too open"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert!(err.contains("1 problem:"), "{err}");
    run.assert_no_secret(&["configSecret0001"]);

    // Complete settings: exit 0.
    let r = crate::config::with_config(text, "");
    private_file(r.home(), "smh.secret", "configSecret0001\n");
    let run = r.args(["config", "smh"]).run().await;
    run.assert_code(0);
    assert_eq!(run.stderr(), "");
}

// ---------------------------------------------------------------------------------------------
// revoke apply: every problem at once, steps counted from 1, a dry run in step order

#[tokio::test]
async fn apply_reports_every_problem_of_every_step_at_once() {
    let r = Revoke::new()
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    let plan = private_file(
        r.home(),
        "plan.toml",
        r#"[[step]]
command = "identity-store"
endpoint = "http://127.0.0.1:9"
identity-store-id = "d-1"
tenant-id = "t1"
targets = ["tok-1"]

[[step]]
command = "smh"
library-idd = "x"

[[step]]
command = "identity-store"
endpoint = "http://127.0.0.1:9"
identity-store-id = "d-1"
targets = ["tok-2"]

[[step]]
command = "ciam"
endpoint = "http://127.0.0.1:9"
targets = ["t"]
"#,
    );
    let run = r.args(["apply", "--dry-run"]).args([&plan]).run().await;
    run.assert_code(2);
    assert_eq!(run.stdout(), "", "nothing planned, nothing sent");
    let err = run.stderr();
    let p = plan.display().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "four problems and the count: {err}");
    // Found when the file is read: the key and its place.
    assert!(
        lines[0].starts_with(&format!(
            "revoke: error: {p}:10: library-idd: unknown key in step 2"
        )),
        "{err}"
    );
    // Found when the other steps are resolved, each with its step (counted from 1) and place.
    assert!(
        lines[1].starts_with(&format!("revoke: error: step 3 (identity-store, {p}:12)")),
        "{err}"
    );
    assert!(lines[1].contains("--tenant-id is required"), "{err}");
    assert!(
        lines[2].starts_with("revoke: error: step 4 (ciam, "),
        "{err}"
    );
    assert!(lines[2].contains("--client-id is required"), "{err}");
    // A step's settings stop at their first problem; the rest are found as `revoke config`
    // finds them.
    assert!(
        lines[3].starts_with("revoke: error: step 4 (ciam, "),
        "{err}"
    );
    assert!(lines[3].contains("no client secret"), "{err}");
    assert_eq!(
        lines[4],
        "revoke: error: 4 problems in the plan: nothing was sent for any step"
    );
}

#[tokio::test]
async fn a_plan_dry_run_prints_its_steps_in_order() {
    let r = Revoke::new()
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK);
    let many: String = (0..400).map(|i| format!("tok-{i}\n")).collect();
    private_file(r.home(), "many.txt", &many);
    let step = |input: &str| {
        format!(
            "[[step]]\ncommand = \"identity-store\"\nendpoint = \"http://127.0.0.1:9\"\nidentity-store-id = \"d-1\"\ntenant-id = \"t1\"\n{input}\n"
        )
    };
    let text = [
        step("targets = [\"first\"]"),
        step("input = \"many.txt\""),
        step("targets = [\"last\"]"),
    ]
    .concat();
    let plan = private_file(r.home(), "plan.toml", &text);
    let run = r.args(["apply", "--dry-run"]).args([&plan]).run().await;
    run.assert_code(0);
    let tags: Vec<String> = run
        .stdout()
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.split(']').next().unwrap().to_string())
        .collect();
    assert_eq!(tags.len(), 402, "{}", run.stdout());
    let mut sorted = tags.clone();
    sorted.sort_by_key(|t| t.trim_start_matches("[step ").parse::<u32>().unwrap());
    assert_eq!(tags, sorted, "records in step order");
    let err = run.stderr();
    assert!(
        err.contains("step 1: credentials from"),
        "counted from 1: {err}"
    );
    assert!(!err.contains("step 0"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Credentials files others can read

#[tokio::test]
async fn a_credentials_file_others_can_read_draws_one_warning_and_is_used() {
    use std::os::unix::fs::PermissionsExt;
    let server = accepting().await;
    // Huawei's SDK credentials file, 0644, in a plan of two steps that both read it.
    let r = Revoke::new();
    let dir = r.home().join(".huaweicloud");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("credentials");
    std::fs::write(
        &file,
        "[basic]\nak=OPENAK00000000000001\nsk=openSecretKey0001\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let step = format!(
        "[[step]]\ncommand = \"identity-store\"\nendpoint = \"{}\"\nidentity-store-id = \"d-1\"\ntenant-id = \"t1\"\ntargets = [\"tok\"]\n",
        server.uri()
    );
    let plan = private_file(r.home(), "plan.toml", &format!("{step}{step}"));
    let run = r.args(["apply", "-o", "json"]).args([&plan]).run().await;
    run.assert_code(0);
    let err = run.stderr();
    let warning = format!(
        "revoke: warning: {}: permissions 0644: other users can read these credentials; run `chmod 600 {}`",
        file.display(),
        file.display()
    );
    assert_eq!(err.matches(&warning).count(), 1, "{err}");
    run.assert_no_secret(&["openSecretKey0001"]);

    // tccli's profile file, as tccli writes it (0644).
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"Response": {"RequestId": "r1", "Data": {}}})),
        )
        .mount(&server)
        .await;
    let r = Revoke::new()
        .args(["bi-embed", "--endpoint", &server.uri(), "-o", "json"])
        .args([
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
            "--scope",
            "panel",
        ]);
    std::fs::create_dir(r.home().join(".tccli")).unwrap();
    let file = r.home().join(".tccli/default.credential");
    std::fs::write(
        &file,
        r#"{"secretId": "AKIDopen", "secretKey": "openTcKey0001"}"#,
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = r.run().await;
    run.assert_code(0);
    let err = run.stderr();
    assert_eq!(err.matches("revoke: warning: ").count(), 1, "{err}");
    assert!(
        err.contains(&format!("run `chmod 600 {}`", file.display())),
        "{err}"
    );

    // 0600: no warning.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = Revoke::new()
        .env("HOME", file.parent().unwrap().parent().unwrap())
        .args(["bi-embed", "--endpoint", &server.uri(), "-o", "json"])
        .args([
            "--project-id",
            "889",
            "--user-corp-id",
            "7",
            "--scope",
            "panel",
        ])
        .run()
        .await;
    run.assert_code(0);
    assert!(!run.stderr().contains("warning"), "{}", run.stderr());
}

// ---------------------------------------------------------------------------------------------
// --input - at a terminal

/// A person pasting tokens at a terminal: a prompt on stderr, nothing they type shown, and the
/// terminal as it was afterwards. Driven through a pseudo-terminal by `tests/tty_input.py`.
#[tokio::test]
async fn input_from_a_terminal_prompts_and_does_not_echo_the_tokens() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let token = "ttyPastedToken0001";
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new("python3");
    cmd.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .env("TTY_TOKEN", token)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tty_input.py"))
        .arg(env!("CARGO_BIN_EXE_revoke"))
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "app"])
        .args(["--input", "-", "--no-progress"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = got["shown"].as_str().unwrap();
    assert_eq!(got["prompted"], true, "a prompt on the terminal: {shown}");
    assert!(
        shown.contains("revoke: reading targets from the terminal (not shown as you type)"),
        "{shown}"
    );
    assert!(!shown.contains(token), "the token was echoed: {shown}");
    assert!(shown.contains("revoked"), "{shown}");
    assert_eq!(got["code"], 0, "{shown}");
    assert_eq!(got["echo_during"], false, "echo off while reading");
    assert_eq!(
        got["echo_after"], true,
        "the terminal's echo is back: {shown}"
    );
}

#[tokio::test]
async fn require_targets_in_a_plan_names_the_empty_step() {
    let server = accepting().await;
    let r = Revoke::new()
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK)
        .env("REVOKE_REQUIRE_TARGETS", "true");
    let empty = private_file(r.home(), "empty.txt", "# nobody left\n");
    let step = |what: &str| {
        format!(
            "[[step]]\ncommand = \"identity-store\"\nendpoint = \"{}\"\nidentity-store-id = \"d-1\"\ntenant-id = \"t1\"\n{what}\n",
            server.uri()
        )
    };
    let plan = private_file(
        r.home(),
        "plan.toml",
        &[step("targets = [\"tok-1\"]"), step("input = \"empty.txt\"")].concat(),
    );
    let run = r.args(["apply", "-o", "json"]).args([&plan]).run().await;
    run.assert_code(1);
    let err = run.stderr();
    assert_eq!(
        err.matches(&format!(
            "revoke: error: step 2: --require-targets: no target came from --input {}",
            empty.display()
        ))
        .count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("--require-targets").count(),
        1,
        "step 1 had its target: {err}"
    );
}
