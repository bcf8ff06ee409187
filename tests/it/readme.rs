//! The README's examples, run: every fenced block marked `<!-- readme-test: NAME -->` is taken
//! from README.md as it is, so that an example no test runs cannot drift.
//!
//! - `config.toml`: written as `~/.config/revoke/config.toml` (the default place);
//! - `offboard.toml`, `.github/revoke/cleanup.toml`: plans, written where their names say and
//!   run (the second against every provider's mock, as its GitHub Actions job would);
//! - `run`: every `revoke ...` line is run (with its `VAR=value` prefixes) and must exit 0;
//! - `output of revoke ARGS`: the output of `revoke ARGS` must be the block, exactly.
//!
//! One local mock server stands in for every provider: `REVOKE_ENDPOINT` (which beats the
//! config file's endpoints, as the README says) points the runs at it; `pass` is a stand-in
//! script on `PATH`.

use std::path::Path;

use wiremock::MockServer;

use crate::support::*;

/// The marked blocks of README.md: (name, text).
fn blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- readme-test:")
            .and_then(|l| l.strip_suffix("-->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert!(fence.starts_with("```"), "a fenced block after {line}");
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        out.push((name.trim().to_string(), body.join("\n") + "\n"));
    }
    out
}

fn block<'a>(all: &'a [(String, String)], name: &str) -> &'a str {
    &all.iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("README.md has no block marked {name}"))
        .1
}

async fn every_provider() -> MockServer {
    let s = MockServer::start().await;
    for p in PROVIDERS {
        for mock in (p.mocks)() {
            mock.mount(&s).await;
        }
    }
    s
}

/// Each provider has its section under "Usage", `### \`revoke NAME\`: ...`, in the order of
/// `revoke --help`, and that section names no other command.
#[test]
fn the_readme_has_a_section_per_provider() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let usage = readme
        .split("\n## Usage\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Usage section in README.md");
    let sections: Vec<&str> = usage
        .lines()
        .filter_map(|l| l.strip_prefix("### `revoke "))
        .filter_map(|l| l.split('`').next())
        .collect();
    let providers: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
    assert_eq!(sections, providers, "README.md's Usage sections");
}

/// A run in `home` (also its HOME), with the stand-in `pass` on PATH and Huawei credentials.
fn revoke(home: &Path) -> Revoke {
    let path = format!(
        "{}:{}",
        home.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Revoke::new()
        .env("HOME", home)
        .env("PATH", path)
        .env("HUAWEICLOUD_SDK_AK", HW_AK)
        .env("HUAWEICLOUD_SDK_SK", HW_SK)
        .env("USER", "you")
        .current_dir(home)
}

/// `VAR=value` words before a command.
type Assignments = Vec<(String, String)>;

/// A `revoke ...` line of a `run` block, split as the shell would: `(env, args)`.
fn command(line: &str) -> Option<(Assignments, Vec<String>)> {
    let code = line.split(" #").next().unwrap_or_default().trim();
    if code.is_empty() || code.starts_with('#') {
        return None;
    }
    let words = shlex::split(code).expect("a shell line");
    let at = words
        .iter()
        .position(|w| w == "revoke")
        .expect("a revoke line");
    let env = words[..at]
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=').expect("VAR=value before revoke");
            (k.to_string(), v.to_string())
        })
        .collect();
    Some((env, words[at + 1..].to_vec()))
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    private_file(
        path.parent().unwrap(),
        path.file_name().unwrap().to_str().unwrap(),
        text,
    );
}

#[tokio::test]
async fn the_readme_examples_run_as_written() {
    use std::os::unix::fs::PermissionsExt;
    let all = blocks();
    let server = every_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    write(
        &home.join(".config/revoke/config.toml"),
        block(&all, "config.toml"),
    );
    write(
        &home.join(".config/revoke/smh-prod.secret"),
        "readmeSmhSecret01\n",
    );
    std::fs::create_dir_all(home.join("bin")).unwrap();
    std::fs::write(
        home.join("bin/pass"),
        "#!/bin/sh\n[ \"$*\" = 'show ciam/app' ] || exit 1\necho readmeCiamSecret01\n",
    )
    .unwrap();
    std::fs::set_permissions(
        home.join("bin/pass"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(home.join("tokens.txt"), "readmeToken01\nreadmeToken02\n").unwrap();
    write(&home.join("offboard.toml"), block(&all, "offboard.toml"));
    let leavers = block(&all, "leavers.csv");
    write(&home.join("leavers.csv"), leavers);
    for row in leavers.lines().skip(1) {
        let user = row.split(',').next().unwrap();
        write(
            &home.join(format!("tokens/{user}-ciam.txt")),
            &format!("{user}Token01\n"),
        );
        write(
            &home.join(format!("tokens/{user}-identity-store.txt")),
            "tok-2\n",
        );
    }
    write(
        &home.join("tenant-cleanup.toml"),
        block(&all, "tenant-cleanup.toml"),
    );

    let mut ran = 0;
    for (name, text) in all.iter().filter(|(n, _)| n == "run") {
        for line in text.lines() {
            let Some((env, args)) = command(line) else {
                continue;
            };
            let mut r = revoke(home).args(&args);
            if args.first().map(String::as_str) != Some("config") {
                r = r.env("REVOKE_ENDPOINT", server.uri());
            }
            for (k, v) in env {
                r = r.env(&k, v);
            }
            let run = r.run().await;
            assert_eq!(
                run.code(),
                0,
                "{name}: {line}\nstdout:\n{}\nstderr:\n{}",
                run.stdout(),
                run.stderr()
            );
            run.assert_no_secret(&["readmeSmhSecret01", "readmeCiamSecret01"]);
            ran += 1;
        }
    }
    assert!(ran >= 6, "only {ran} README lines ran");
    // Every provider of the examples was reached, smh with the secret from the context's file
    // and ciam with the one `pass` printed.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().any(|r| {
        r.url
            .query()
            .unwrap_or_default()
            .contains("library_secret=readmeSmhSecret01")
    }));
    assert!(
        requests
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("client_secret=readmeCiamSecret01"))
    );
    assert!(
        requests
            .iter()
            .any(|r| r.url.path().ends_with("/bearer-token/tok-2"))
    );
    // The plan's journal is where the plan says, with a line per target of the real run.
    let journal = std::fs::read_to_string(home.join("offboard-alice.ndjson")).unwrap();
    assert_eq!(journal.lines().count(), 3, "{journal}");
    // The offboarding plan is the user's only: nothing in it lists a tenant's tokens.
    let offboard = block(&all, "offboard.toml");
    assert!(!offboard.contains("all = true"), "{offboard}");
    assert!(block(&all, "tenant-cleanup.toml").contains("TENANT-WIDE"));

    // The outputs shown are the outputs produced.
    for (name, expected) in all
        .iter()
        .filter(|(n, _)| n.starts_with("output of revoke "))
    {
        let args = shlex::split(name.trim_start_matches("output of revoke ")).unwrap();
        let run = revoke(home).args(&args).run().await;
        run.assert_code(0);
        assert_eq!(
            run.stdout(),
            *expected,
            "README block {name:?} is not what it prints"
        );
    }
}

#[tokio::test]
async fn the_readme_ci_plan_runs() {
    let all = blocks();
    let server = every_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let plan = ".github/revoke/cleanup.toml";
    write(&repo.join(plan), block(&all, plan));
    std::fs::write(
        repo.join("leaked-tokens.txt"),
        "leaked01\nleaked02\nleaked03\n",
    )
    .unwrap();
    let run = revoke(repo)
        .env("CIAM_CLIENT_SECRET", "readmeCiSecret01")
        .env("HW_STORE", "d-1")
        .env("HW_TENANT", "t-1")
        .env("CIAM_DOMAIN", "sample.portal.tencentciam.com")
        .env("CIAM_CLIENT_ID", "app")
        .args(["apply", plan, "-o", "json", "--endpoint"])
        .args([server.uri()])
        .run()
        .await;
    run.assert_code(0);
    let last = run.stdout().lines().last().unwrap().to_string();
    let summary: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(summary["steps"], 2);
    assert_eq!(
        summary["summary"]["revoked"], 5,
        "2 bearer tokens and 3 OAuth tokens"
    );
    run.assert_no_secret(&["readmeCiSecret01"]);
}
