//! The manual a user reads: `--help` (examples that copy and paste whole, every environment
//! variable, the ranges), the man pages, `--version`, and one message style on stderr.

use std::path::Path;

use crate::support::*;

/// Every command that has a help of its own, as its words after `revoke`.
fn commands() -> Vec<Vec<String>> {
    let cmd = revoke::cli::help::command();
    let mut out = vec![vec![]];
    out.extend(
        cmd.get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(|c| vec![c.get_name().to_string()]),
    );
    out
}

async fn help(words: &[String], flag: &str, columns: &str) -> String {
    let run = Revoke::new()
        .env("COLUMNS", columns)
        .args(words)
        .arg_list(&[flag])
        .run()
        .await;
    run.assert_code(0);
    assert!(run.stderr().is_empty(), "{}", run.stderr());
    run.stdout()
}

trait ArgList {
    fn arg_list(self, a: &[&str]) -> Self;
}

impl ArgList for Revoke {
    fn arg_list(self, a: &[&str]) -> Self {
        self.args(a)
    }
}

/// The lines of the `Examples:` block, without their two-space indent.
fn examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix("  ").unwrap_or(l).to_string())
        .collect()
}

/// The example's words from `revoke` on, up to a pipe, a redirection or `&&`, as a shell
/// would split them (quotes and `$VAR` are enough for these examples).
fn revoke_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in command.chars().chain([' ']) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (None, ' ') => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            (None, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    let start = words.iter().rposition(|w| w == "revoke").expect(command);
    words[start..]
        .iter()
        .take_while(|w| !matches!(w.as_str(), "|" | ">" | ">>" | "&&" | ";" | "2>"))
        .cloned()
        .collect()
}

/// Every example line in every `--help` (and `-h`) is a whole command or ends in ` \`, the
/// next line going on with it; each command parses; nothing is re-wrapped, even on a narrow
/// terminal; every line fits 80 columns.
#[tokio::test]
async fn every_help_example_is_a_whole_command() {
    let mut seen = 0;
    for words in commands() {
        for (flag, columns) in [("--help", "200"), ("-h", "100"), ("--help", "40")] {
            let help = help(&words, flag, columns).await;
            let lines = examples(&help);
            assert!(
                !lines.is_empty(),
                "revoke {words:?} {flag}: no examples:\n{help}"
            );
            let mut command = String::new();
            for line in &lines {
                let at = format!(
                    "revoke {} {flag}, COLUMNS={columns}: {line:?}",
                    words.join(" ")
                );
                assert!(line.len() + 2 <= 80, "{at}: longer than 80 columns");
                if line.starts_with('#') {
                    assert!(command.is_empty(), "{at}: a comment inside a command");
                    continue;
                }
                let continued = !command.is_empty();
                assert_eq!(
                    continued,
                    line.starts_with("  "),
                    "{at}: a continuation line is indented, and only one"
                );
                command.push_str(line.trim_start().trim_end_matches('\\'));
                if let Some(head) = line.strip_suffix('\\') {
                    assert!(head.ends_with(' '), "{at}: ` \\` ends a line that goes on");
                    continue;
                }
                let argv = revoke_words(&command);
                match revoke::cli::CommandLine::parse_from(&argv) {
                    Ok(_) => {}
                    Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {}
                    Err(e) => panic!("{at}: {argv:?} does not parse: {e}"),
                }
                seen += 1;
                command.clear();
            }
            assert!(command.is_empty(), "the last example goes on: {command}");
        }
    }
    assert!(seen >= 3 * 15, "{seen} examples");
}

/// What the examples are for: a help clap would wrap keeps them as written.
#[tokio::test]
async fn examples_are_not_rewrapped_on_a_narrow_terminal() {
    let narrow = help(&["ciam".to_string()], "--help", "40").await;
    assert!(
        narrow.contains(
            "  revoke ciam --domain sample.portal.tencentciam.com --client-id app \\\n    --token-type-hint refresh_token --input tokens.txt\n"
        ),
        "{narrow}"
    );
    assert!(
        narrow.contains("  CIAM_CLIENT_SECRET              the client secret, unless"),
        "{narrow}"
    );
}

/// The environment variables the code reads: every `"NAME"` string literal in `src/` (outside
/// tests and the manual itself) that looks like one, and the ones the HTTP stack reads.
fn variables_read() -> Vec<String> {
    let mut names = vec![
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    let mut prefixes: Vec<String> = ["REVOKE_", "SSL_CERT", "RUST_LOG", "XDG_"]
        .map(String::from)
        .to_vec();
    // Each provider's credential variables, by their vendor's prefix (`TENCENTCLOUD_`, `SMH_`).
    for var in PROVIDERS.iter().flat_map(|p| p.env) {
        let prefix = format!("{}_", var.split('_').next().unwrap());
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    let mut files = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy();
        if !name.ends_with(".rs") || name == "help.rs" || name == "man.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let pieces: Vec<&str> = code.split('"').collect();
        for (i, &literal) in pieces.iter().enumerate().skip(1).step_by(2) {
            // `env!("NAME")` is read when building, not when running.
            let looks = !pieces[i - 1].ends_with("env!(")
                && !literal.is_empty()
                && literal
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && (prefixes.iter().any(|p| literal.starts_with(p))
                    || literal == "HOME"
                    || literal.ends_with("_PROXY"));
            if looks && !names.iter().any(|n| n == literal) {
                names.push(literal.to_string());
            }
        }
    }
    names
}

#[tokio::test]
async fn every_environment_variable_is_in_the_help_and_the_man_page() {
    let names = variables_read();
    for must in [
        "TENCENTCLOUD_TOKEN",
        "HUAWEICLOUD_SDK_SECURITY_TOKEN",
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
        "REVOKE_ALLOW_OPEN_SECRET_FILES",
        "RUST_LOG",
        "HOME",
        "REVOKE_CONCURRENCY",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} not found in src/");
    }
    let top = help(&[], "--help", "100").await;
    let env_block: String = top
        .lines()
        .skip_while(|l| !l.starts_with("Environment"))
        .collect::<Vec<_>>()
        .join("\n");
    let man = Revoke::new().arg_list(&["man"]).run().await;
    man.assert_code(0);
    let man = man.stdout();
    let man_env: String = man
        .split("\n.SH ENVIRONMENT\n")
        .nth(1)
        .expect("an ENVIRONMENT section")
        .split("\n.SH ")
        .next()
        .unwrap()
        .to_string();
    for name in &names {
        assert!(
            env_block.contains(name.as_str()),
            "{name} not in the Environment block of --help:\n{top}"
        );
        assert!(
            man_env.contains(name.as_str()),
            "{name} not in ENVIRONMENT of revoke(1)"
        );
    }
    // Each command's help names its own credentials.
    for (command, vars) in PROVIDERS.iter().map(|p| (p.name, p.env)) {
        let text = help(&[command.to_string()], "--help", "100").await;
        let page = Revoke::new()
            .arg_list(&["man", command])
            .run()
            .await
            .stdout();
        for var in vars
            .iter()
            .chain(&["REVOKE_RETRIES", "HTTPS_PROXY", "SSL_CERT_FILE"])
        {
            assert!(text.contains(var), "{var} not in {command} --help");
            assert!(page.contains(var), "{var} not in revoke-{command}(1)");
        }
    }
}

#[tokio::test]
async fn help_shows_headings_ranges_and_alternatives() {
    let ciam = help(&["ciam".to_string()], "--help", "100").await;
    for heading in [
        "\nOptions:\n",
        "\nCredentials:\n",
        "\nRun options:\n",
        "\nOutput options:\n",
    ] {
        assert!(ciam.contains(heading), "{heading:?} in:\n{ciam}");
    }
    assert!(
        ciam.contains("(--domain <HOST> | --endpoint <URL>)"),
        "{ciam}"
    );
    assert!(
        ciam.contains("1 to 4096") && ciam.contains("0 to 100"),
        "{ciam}"
    );
    let store = help(&["identity-store".to_string()], "-h", "100").await;
    assert!(
        store.contains("(<TOKEN_ID>... | --input <FILE> | --all)"),
        "{store}"
    );
    // The commands that send nothing list no run or output option.
    for command in ["completions", "man", "version"] {
        let text = help(&[command.to_string()], "--help", "100").await;
        for option in [
            "--concurrency",
            "--journal",
            "--dry-run",
            "--output",
            "Run options",
        ] {
            assert!(
                !text.contains(option),
                "{command} --help lists {option}:\n{text}"
            );
        }
    }
    // ... and still accept them (a script may set them for every call).
    let run = Revoke::new()
        .arg_list(&["completions", "bash", "--concurrency", "3"])
        .run()
        .await;
    run.assert_code(0);
}

/// The requests a man page may use.
const MACROS: &[&str] = &[
    "TH", "SH", "SS", "TP", "PP", "nf", "fi", "RS", "RE", "BR", "nh", "ad",
];

#[tokio::test]
async fn man_pages_for_every_command() {
    let run = Revoke::new().arg_list(&["man", "smh"]).run().await;
    run.assert_code(0);
    let smh = run.stdout();
    assert!(smh.starts_with(".TH revoke\\-smh 1 "), "{smh}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "ENVIRONMENT",
        "FILES",
        "\"EXIT STATUS\"",
        "EXAMPLES",
        "\"SEE ALSO\"",
    ] {
        assert!(
            smh.contains(&format!("\n.SH {section}\n")),
            "{section} in:\n{smh}"
        );
    }
    // The examples stay as written, one line each, the hyphens and backslashes escaped.
    assert!(
        smh.contains("\n.nf\n")
            && smh.contains(
                "revoke smh \\-\\-library\\-id smh0a1b2c3d \\-\\-library\\-secret\\-file ~/.smh\\-secret \\e\n"
            ),
        "{smh}"
    );
    assert!(
        smh.contains("\\fB\\-\\-library\\-secret\\-file\\fR"),
        "{smh}"
    );
    assert!(
        smh.contains("\\fB\\-\\-concurrency\\fR"),
        "the run options too"
    );

    let same = Revoke::new().arg_list(&["man", "revoke-smh"]).run().await;
    assert_eq!(same.stdout(), smh);
    Revoke::new()
        .arg_list(&["man", "nosuch"])
        .run()
        .await
        .assert_usage("no manual page for \"nosuch\"");

    let dir = tempfile::tempdir().unwrap();
    let run = Revoke::new()
        .arg_list(&["man", "--dir"])
        .args([dir.path()])
        .run()
        .await;
    run.assert_code(0);
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = commands()
        .iter()
        .map(|w| match w.first() {
            None => "revoke.1".to_string(),
            Some(c) => format!("revoke-{c}.1"),
        })
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("revoke-smh.1")).unwrap(),
        smh
    );

    let groff = std::process::Command::new("groff")
        .arg("--version")
        .output()
        .is_ok();
    for file in &files {
        let path = dir.path().join(file);
        let page = std::fs::read_to_string(&path).unwrap();
        for line in page.lines() {
            if let Some(request) = line.strip_prefix('.') {
                let name = request.split(' ').next().unwrap();
                assert!(MACROS.contains(&name), "{file}: unknown request: {line}");
            }
            assert!(!line.starts_with('\''), "{file}: {line}");
            if let Some(page) = line.strip_prefix(".BR ") {
                let page = page.split(' ').next().unwrap().replace("\\-", "-");
                assert!(
                    files.contains(&format!("{page}.1")),
                    "{file} names {page}(1)"
                );
            }
        }
        // Outside requests and escapes (`\-`, `\e`, `\fB`, `\(aq`, `\&`), no backslash.
        for piece in page.split('\\').skip(1) {
            assert!(
                ["-", "e", "fB", "fI", "fR", "(aq", "(ga", "(dq", "&"]
                    .iter()
                    .any(|esc| piece.starts_with(esc)),
                "{file}: a bare backslash before {:?}",
                &piece[..piece.len().min(10)]
            );
        }
        if groff {
            let out = std::process::Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(out.status.success(), "{file}: groff failed");
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(warnings.is_empty(), "{file}: groff says:\n{warnings}");
        }
    }
    if groff {
        let out = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-P-cbou"])
            .arg(dir.path().join("revoke-ciam.1"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // What a user copies from the rendered page is what they type.
        assert!(
            text.contains(
                "revoke ciam --domain sample.portal.tencentciam.com --client-id app \\\n"
            ),
            "{text}"
        );
        assert!(text.contains("CIAM_CLIENT_SECRET"), "{text}");
    }
}

/// The commit and its date when built in a git checkout (and a plain version otherwise).
#[tokio::test]
async fn version_names_the_commit() {
    let run = Revoke::new().arg_list(&["--version"]).run().await;
    run.assert_code(0);
    let line = run.stdout();
    let version = env!("CARGO_PKG_VERSION");
    let dir = env!("CARGO_MANIFEST_DIR");
    let head = std::process::Command::new("git")
        .args(["-C", dir, "rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success() && Path::new(dir).join(".git").exists())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let json = Revoke::new().arg_list(&["version", "--json"]).run().await;
    json.assert_code(0);
    let details: serde_json::Value = serde_json::from_str(json.stdout().trim()).unwrap();
    assert_eq!(details["version"], version);
    for key in ["commit", "commit_date", "target", "profile", "rustc"] {
        assert!(details.get(key).is_some(), "{key}: {details}");
    }
    match head {
        Some(commit) => {
            let date = details["commit_date"].as_str().unwrap();
            assert_eq!(line, format!("revoke {version} ({commit} {date})\n"));
            assert_eq!(details["commit"], commit.as_str());
            assert!(
                date.len() == 10 && date.as_bytes()[4] == b'-',
                "a YYYY-MM-DD date: {date}"
            );
        }
        None => assert_eq!(line, format!("revoke {version}\n")),
    }
    let verbose = Revoke::new().arg_list(&["--version", "-v"]).run().await;
    verbose.assert_code(0);
    let out = verbose.stdout();
    assert!(out.starts_with(&line), "{out}");
    assert!(
        out.contains("\ntarget: ") && out.contains("\nrustc: "),
        "{out}"
    );
}

/// Every error is `revoke: error: ...` and every warning `revoke: warning: ...`, clap's own
/// parse errors included (with their usage hint, exit 2).
#[tokio::test]
async fn one_message_style() {
    let run = Revoke::new().arg_list(&["--bogus", "smh"]).run().await;
    run.assert_usage("revoke: error: unexpected argument '--bogus' found");
    let err = run.stderr();
    assert!(err.starts_with("revoke: error: "), "{err}");
    assert!(err.contains("\nUsage: revoke "), "{err}");
    assert!(err.contains("For more information, try '--help'."), "{err}");

    let run = Revoke::new()
        .arg_list(&["smh", "--library-id", "L", "alice"])
        .run()
        .await;
    run.assert_usage("no library secret");
    assert!(
        run.stderr().starts_with("revoke: error: "),
        "{}",
        run.stderr()
    );

    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "style-secret")
        .arg_list(&["ciam", "--domain", "a.example", "--client-id", "c"])
        .arg_list(&["--dry-run", "style-token-0001"])
        .run()
        .await;
    run.assert_code(0);
    let err = run.stderr();
    assert!(
        err.lines()
            .any(|l| l.starts_with("revoke: warning: tokens given as command-line arguments")),
        "{err}"
    );
    for line in err.lines() {
        assert!(
            line.starts_with("revoke: ") || line.starts_with("ciam: "),
            "{line}"
        );
    }

    let run = Revoke::new().run().await;
    run.assert_code(2);
    assert!(
        run.stderr().contains("revoke: error: no command given"),
        "{}",
        run.stderr()
    );
}

/// Negative and out-of-range numbers reach the value's own check, which names the range.
#[tokio::test]
async fn negative_and_out_of_range_numbers() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--retries", "-1"],
            "invalid value '-1' for '--retries <N>': must be between 0 and 100",
        ),
        (
            &["--retries", "101"],
            "invalid value '101' for '--retries <N>': must be between 0 and 100",
        ),
        (
            &["--concurrency", "-4"],
            "invalid value '-4' for '--concurrency <N>': must be between 1 and 4096",
        ),
        (
            &["--concurrency", "99999999999999999999"],
            "must be between 1 and 4096",
        ),
        (
            &["--concurrency", "many"],
            "must be a whole number between 1 and 4096",
        ),
        (
            &["--rate", "-1"],
            "invalid value '-1' for '--rate <N|auto>': must be `auto`, 0 (unlimited) or a positive number",
        ),
        (
            &["--timeout", "-5"],
            "invalid value '-5' for '--timeout <SECS>': must be a number of seconds above 0 and at most 86400",
        ),
        (
            &["--timeout", "99999999999999"],
            "must be a number of seconds above 0 and at most 86400 (one day)",
        ),
    ];
    for (args, message) in cases {
        let run = Revoke::new()
            .env("SMH_LIBRARY_SECRET", "numbers-secret")
            .arg_list(&["smh", "--library-id", "L", "u1"])
            .arg_list(args)
            .run()
            .await;
        run.assert_usage(message);
        assert!(
            run.stderr().starts_with("revoke: error: "),
            "{args:?}: {}",
            run.stderr()
        );
    }
    // A bad value from the environment names the variable.
    for (var, value, message) in [
        (
            "REVOKE_DRY_RUN",
            "maybe",
            "invalid value 'maybe' in REVOKE_DRY_RUN (for '--dry-run')",
        ),
        (
            "REVOKE_RETRIES",
            "-1",
            "invalid value '-1' in REVOKE_RETRIES (for '--retries <N>'): must be between 0 and 100",
        ),
        (
            "REVOKE_TIMEOUT",
            "0",
            "invalid value '0' in REVOKE_TIMEOUT (for '--timeout <SECS>')",
        ),
    ] {
        let run = Revoke::new()
            .env("SMH_LIBRARY_SECRET", "numbers-secret")
            .env(var, value)
            .arg_list(&["smh", "--library-id", "L", "u1"])
            .run()
            .await;
        run.assert_usage(message);
    }
    // The flag wins over the variable, and its value is the one named.
    let run = Revoke::new()
        .env("REVOKE_RETRIES", "-1")
        .arg_list(&["smh", "--library-id", "L", "u1", "--retries", "-1"])
        .run()
        .await;
    run.assert_usage("invalid value '-1' for '--retries <N>'");
}

/// The formats are in the manual, not only in the README: the plan in revoke-apply(1), the
/// config file in revoke-config(1), and `--help` of both commands says where.
#[tokio::test]
async fn the_plan_and_config_formats_are_in_the_manual() {
    let apply = Revoke::new().arg_list(&["man", "apply"]).run().await;
    apply.assert_code(0);
    let page = apply.stdout();
    let format = page
        .split("\n.SH \"PLAN FILE\"\n")
        .nth(1)
        .expect("a PLAN FILE section")
        .split("\n.SH ")
        .next()
        .unwrap();
    for must in [
        "[[step]]",
        "\\fBcommand\\fR",
        "\\fBtargets\\fR",
        "\\fBcontext\\fR",
        "\\fBname\\fR",
        "[defaults]",
        "${VAR}",
        "${USER_ID}",
        "\\-\\-dry\\-run",
        "identity\\-store",
        "all = true",
    ] {
        assert!(format.contains(must), "{must} not in PLAN FILE:\n{format}");
    }
    // The per-user example holds no tenant-wide step.
    let per_user = format
        .split("one departing user")
        .nth(1)
        .unwrap()
        .split(".SS")
        .next()
        .unwrap();
    assert!(!per_user.contains("all = true"), "{per_user}");

    let config = Revoke::new().arg_list(&["man", "config"]).run().await;
    config.assert_code(0);
    let page = config.stdout();
    let format = page
        .split("\n.SH \"CONFIGURATION FILE\"\n")
        .nth(1)
        .expect("a CONFIGURATION FILE section")
        .split("\n.SH ")
        .next()
        .unwrap();
    for must in [
        "[defaults]",
        "[COMMAND.CONTEXT]",
        "\\-\\-context",
        "[smh.CONTEXT]",
        "library\\-id (a string)",
        "ticket (a string)",
        "client\\-secret\\-command (a command line)",
        "*\\-secret\\-file",
        "CIAM_CLIENT_SECRET",
        "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
        "chmod 600",
    ] {
        assert!(
            format.contains(must),
            "{must} not in CONFIGURATION FILE:\n{format}"
        );
    }

    for (command, page) in [("apply", "revoke-apply(1)"), ("config", "revoke-config(1)")] {
        let help = Revoke::new().arg_list(&[command, "--help"]).run().await;
        help.assert_code(0);
        assert!(
            help.stdout().contains(page),
            "{command} --help: {}",
            help.stdout()
        );
    }
}
