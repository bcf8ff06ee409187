//! The command line itself: help, version, completions, man page, and usage errors.

use crate::support::*;

#[tokio::test]
async fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = Revoke::new().args(["completions", shell]).run().await;
        run.assert_code(0);
        let out = run.stdout();
        assert!(
            out.contains("bi-embed") && out.contains("identity-store"),
            "{shell}: {out}"
        );
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
    assert!(out.contains("bi\\-embed") || out.contains("bi-embed"));
}

#[tokio::test]
async fn help_and_version() {
    let run = Revoke::new().arg_list(&["--version"]).run().await;
    run.assert_code(0);
    assert!(run.stdout().starts_with("revoke "));
    for cmd in ["bi-embed", "smh", "cloudbase", "ciam", "identity-store"] {
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
