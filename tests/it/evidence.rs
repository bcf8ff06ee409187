//! The evidence of a run, end to end: `--ticket` and `--actor` in every record and journal line
//! (from flags, the environment, the config file, or the login name), their bounds; and
//! `revoke report` on a real run's records and journal against local servers, in Markdown, CSV
//! (read back) and HTML (parsed), with hostile input.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn ciam_server() -> MockServer {
    let s = MockServer::start().await;
    // One token the server does not support: that target fails; the others are revoked.
    Mock::given(method("POST"))
        .and(path("/oauth2/revoke"))
        .and(body_string_contains("token=tokBad"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("ciam/error_unsupported_token_type.json"),
            "application/json",
        ))
        .with_priority(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&s)
        .await;
    s
}

async fn smh_server() -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&s)
        .await;
    s
}

fn journal_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn ticket_and_actor_are_in_every_record_and_journal_line() {
    let server = ciam_server().await;
    let r = Revoke::ciam(&server.uri());
    let input = private_file(r.home(), "tokens.txt", "tokA\ntokBad\ntokC\n");
    let journal = r.home().join("journal");
    let run = r
        .args(["--retries", "0", "--input"])
        .args([&input])
        .args(["--journal"])
        .args([&journal])
        .args(["--ticket", "SEC-1234", "--actor", "Dana Admin"])
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 3);
    for rec in &records {
        assert_record_schema(rec);
        assert_eq!(rec["ticket"], "SEC-1234", "{rec}");
        assert_eq!(rec["actor"], "Dana Admin", "{rec}");
    }
    let lines = journal_lines(&journal);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert_eq!(
            (&l["ticket"], &l["actor"]),
            (&"SEC-1234".into(), &"Dana Admin".into())
        );
    }
}

/// A dry run of one token with the given environment and config file, its one record.
async fn dry_record(env: &[(&str, &str)], config: Option<&str>, args: &[&str]) -> Run {
    let mut r = Revoke::ciam("http://127.0.0.1:9").args(["--dry-run", "--input", "-"]);
    if let Some(text) = config {
        let file = private_file(r.home(), "config.toml", text);
        r = r.env("REVOKE_CONFIG", file);
    }
    for (k, v) in env {
        r = r.env(k, v);
    }
    r.args(args).stdin("tokA\n").run().await
}

#[tokio::test]
async fn ticket_and_actor_come_from_flags_env_config_or_the_login_name() {
    // Neither given: no ticket, the actor is the login name ($USER, else $LOGNAME).
    let run = dry_record(&[("USER", "carol"), ("LOGNAME", "dave")], None, &[]).await;
    let rec = &run.assert_code(0).records()[0];
    assert_eq!(
        (&rec["ticket"], &rec["actor"]),
        (&Value::Null, &"carol".into())
    );
    let run = dry_record(&[("LOGNAME", "dave")], None, &[]).await;
    assert_eq!(run.records()[0]["actor"], "dave");
    // The environment.
    let env = [
        ("USER", "carol"),
        ("REVOKE_TICKET", "CHG-1"),
        ("REVOKE_ACTOR", "erin"),
    ];
    let rec = &dry_record(&env, None, &[]).await.records()[0];
    assert_eq!(
        (&rec["ticket"], &rec["actor"]),
        (&"CHG-1".into(), &"erin".into())
    );
    // The config file's [defaults], below the environment and the flags.
    let config = "[defaults]\nticket = \"CHG-2\"\nactor = \"frank\"\n";
    let rec = &dry_record(&[("USER", "carol")], Some(config), &[])
        .await
        .records()[0];
    assert_eq!(
        (&rec["ticket"], &rec["actor"]),
        (&"CHG-2".into(), &"frank".into())
    );
    let rec = &dry_record(&env, Some(config), &["--ticket", "CHG-3"])
        .await
        .records()[0];
    assert_eq!(
        (&rec["ticket"], &rec["actor"]),
        (&"CHG-3".into(), &"erin".into())
    );
}

#[tokio::test]
async fn a_bad_ticket_or_actor_is_a_usage_error() {
    let long = "x".repeat(257);
    dry_record(&[], None, &["--ticket", "a\u{1b}[2Jb"])
        .await
        .assert_usage("--ticket <ID>': cannot contain control characters");
    dry_record(&[], None, &["--actor", &long])
        .await
        .assert_usage("at most 256 bytes");
    dry_record(&[("REVOKE_TICKET", "a\u{202e}b")], None, &[])
        .await
        .assert_usage("REVOKE_TICKET");
    dry_record(&[], Some("[defaults]\nactor = \"a\\u0007b\"\n"), &[])
        .await
        .assert_usage("config.toml:2: actor: cannot contain control characters");
    // 256 bytes is still fine.
    let rec = &dry_record(&[], None, &["--ticket", &long[1..]])
        .await
        .records()[0];
    assert_eq!(rec["ticket"], long[1..]);
}

/// The tags of an HTML page and the text between them, as a browser's tokenizer sees them
/// (enough for a page without comments, scripts or CDATA, which the report never has).
fn html_tokens(html: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push((false, rest[..open].to_string()));
        let close = rest[open..].find('>').expect("a tag ends") + open;
        out.push((true, rest[open + 1..close].to_string()));
        rest = &rest[close + 1..];
    }
    out.push((false, rest.to_string()));
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The body rows of the report's table, each as its cells' text.
fn html_rows(html: &str) -> Vec<Vec<String>> {
    let allowed = [
        "!DOCTYPE html",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "dl",
        "dt",
        "dd",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ];
    let mut rows = Vec::new();
    let mut in_body = false;
    let mut cell: Option<String> = None;
    for (tag, text) in html_tokens(html) {
        if !tag {
            if let Some(c) = cell.as_mut() {
                c.push_str(&unescape(&text));
            }
            assert!(
                !text.contains('>') || text.contains('{'),
                "a stray > outside a tag: {text}"
            );
            continue;
        }
        let name = text
            .trim_start_matches('/')
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        assert!(
            allowed.contains(&name.as_str()) || text.starts_with("!DOCTYPE"),
            "unexpected tag <{text}>"
        );
        match text.as_str() {
            "tbody" => in_body = true,
            "/tbody" => in_body = false,
            t if in_body && t.starts_with("tr") => rows.push(Vec::new()),
            t if in_body && t.starts_with("td") => cell = Some(String::new()),
            "/td" => rows.last_mut().unwrap().push(cell.take().unwrap()),
            _ => {}
        }
    }
    rows
}

/// A minimal RFC 4180 reader.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.next() == Some('\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => panic!("{c:?} outside quotes"),
        }
    }
    rows
}

fn report(files: &[&Path], format: &str) -> Revoke {
    Revoke::new()
        .args(["report", "--format", format])
        .args(files)
}

const PLAN: &str = r#"
[defaults]
retries = 0

[[step]]
name = "alice: SMH"
command = "smh"
endpoint = "{smh}"
library-id = "lib1"
targets = ["alice"]

[[step]]
name = "alice: CIAM"
command = "ciam"
endpoint = "{ciam}"
client-id = "app"
input = "tokens.txt"
"#;

/// A plan run against local servers, with `--ticket`, `--actor` and a journal: its records
/// file and its journal.
async fn plan_run(dir: &Path, smh: &MockServer, ciam: &MockServer) -> (PathBuf, PathBuf) {
    let r = Revoke::new()
        .env("SMH_LIBRARY_SECRET", SMH_SECRET)
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .current_dir(dir);
    private_file(dir, "tokens.txt", "tokA\ntokBad\ntokC\n");
    let text = PLAN
        .replace("{smh}", &smh.uri())
        .replace("{ciam}", &ciam.uri());
    let plan = private_file(dir, "plan.toml", &text);
    let journal = dir.join("alice.journal");
    let run = r
        .args(["apply"])
        .args([&plan])
        .args(["-o", "json", "--journal"])
        .args([&journal])
        .args(["--ticket", "SEC-1234", "--actor", "dana"])
        .run()
        .await;
    run.assert_code(1);
    let records = dir.join("alice.ndjson");
    std::fs::write(&records, &run.out.stdout).unwrap();
    (records, journal)
}

#[tokio::test]
async fn report_holds_every_target_of_a_run_in_every_format() {
    let (smh, ciam) = (smh_server().await, ciam_server().await);
    let dir = tempfile::tempdir().unwrap();
    let (records, journal) = plan_run(dir.path(), &smh, &ciam).await;
    let recs: Vec<Value> = std::fs::read_to_string(&records)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v.get("summary").is_none())
        .collect();
    assert_eq!(recs.len(), 4);
    // Each target's id in the report: the user id, the tokens' fingerprints.
    let target = |r: &Value| {
        let t = r["target"].as_object().unwrap();
        t.iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(","),
                    Value::Null => "-".into(),
                    v => v.as_str().unwrap().to_string(),
                };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for source in [&records, &journal] {
        let is_journal = source == &journal;
        // CSV, read back: a header and one row per target with its status, ticket and actor.
        let run = report(&[source], "csv").run().await;
        run.assert_code(0);
        let rows = csv_rows(&run.stdout());
        assert_eq!(rows[0][..4], ["Row", "Provider", "Target", "Status"]);
        assert_eq!(rows.len(), 5, "{}", run.stdout());
        for rec in &recs {
            let row = rows
                .iter()
                .find(|row| row[2] == target(rec))
                .unwrap_or_else(|| panic!("{} not in {:?}", target(rec), rows));
            assert_eq!(row[1], rec["provider"].as_str().unwrap());
            assert_eq!(row[3], rec["status"].as_str().unwrap());
            assert_eq!((&row[8][..], &row[9][..]), ("SEC-1234", "dana"));
            if is_journal {
                // The journal's time of the answer.
                assert!(row[5].starts_with("20") && row[5].ends_with('Z'), "{row:?}");
            } else {
                assert_eq!(row[0], rec["name"].as_str().unwrap());
            }
        }
        // Markdown: a header with the file and the counts, one table line per target.
        let md = report(&[source], "md").run().await;
        md.assert_code(0);
        let text = md.stdout();
        assert!(text.contains("4 targets: 3 revoked, 1 failed"), "{text}");
        assert!(
            text.contains(&source.display().to_string().replace('_', "\\_")),
            "{text}"
        );
        let table: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(table.len(), 2 + 4, "{text}");
        for rec in &recs {
            let fp = target(rec).replace('_', "\\_");
            let line = table
                .iter()
                .find(|l| l.contains(&fp))
                .expect("the target's line");
            assert!(line.contains("| SEC-1234 | dana |"), "{line}");
            assert!(line.contains(rec["status"].as_str().unwrap().replace('_', "\\_").as_str()));
        }
        // HTML, parsed: one table row per target.
        let html = report(&[source], "html").run().await;
        html.assert_code(0);
        let rows = html_rows(&html.stdout());
        assert_eq!(rows.len(), 4);
        for rec in &recs {
            let row = rows.iter().find(|r| r[2] == target(rec)).unwrap();
            assert_eq!(row[3], rec["status"].as_str().unwrap());
            assert_eq!((&row[8][..], &row[9][..]), ("SEC-1234", "dana"));
        }
    }
    // Both files at once, into a file.
    let out = dir.path().join("evidence.html");
    let run = report(&[&records, &journal], "html")
        .args(["--to"])
        .args([&out])
        .run()
        .await;
    run.assert_code(0);
    assert!(run.stdout().is_empty());
    assert_eq!(html_rows(&std::fs::read_to_string(&out).unwrap()).len(), 8);
}

#[tokio::test]
async fn report_escapes_hostile_values_and_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = serde_json::json!({
        "provider": "<script>alert(1)</script>",
        "index": 0,
        "target": {"token": "sha256:1f2e3d4c5b6a"},
        "status": "revoked",
        "request_id": "=HYPERLINK(\"http://evil\")",
        "ticket": "a|b\u{1b}[2J",
        "actor": "<img src=http://evil/x.png>",
    });
    let file = dir.path().join("in.ndjson");
    std::fs::write(
        &file,
        format!(
            "{hostile}\nnot json\n{{\"summary\":{{}},\"exit_code\":0}}\n{}\n{{\"provider\":\"ciam\",\"ta",
            "x".repeat(70_000)
        ),
    )
    .unwrap();
    let html = report(&[&file], "html").run().await;
    html.assert_code(1);
    let err = html.stderr();
    let name = file.display();
    assert!(
        err.contains(&format!("{name}:2: not a JSON record")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{name}:4: line longer than 64 KiB")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{name}:5: the line ends before")),
        "{err}"
    );
    let page = html.stdout();
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "{page}"
    );
    let rows = html_rows(&page);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][1], "<script>alert(1)</script>");
    assert_eq!(
        rows[0][8], "a|b\\u{1b}[2J",
        "control characters shown escaped"
    );
    let csv = report(&[&file], "csv").run().await;
    let rows = csv_rows(&csv.stdout());
    assert_eq!(rows[1][7], "'=HYPERLINK(\"http://evil\")");
    let md = report(&[&file], "md").run().await.stdout();
    assert!(md.contains("a\\|b"), "{md}");
    assert!(md.contains("\\<img src=http://evil/x.png\\>"), "{md}");
    assert!(!md.contains('\u{1b}'));
}

#[tokio::test]
async fn report_with_nothing_to_report_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.ndjson");
    std::fs::write(&empty, "{\"summary\":{},\"exit_code\":0}\n\n").unwrap();
    report(&[&empty], "md")
        .run()
        .await
        .assert_usage("no record or journal line in");
    report(&[&dir.path().join("missing")], "md")
        .run()
        .await
        .assert_usage("missing: No such file");
    // Stdin.
    let run = Revoke::new()
        .args(["report", "-"])
        .stdin(
            "{\"provider\":\"ciam\",\"target\":{\"token\":\"sha256:1\"},\"status\":\"revoked\"}\n",
        )
        .run()
        .await;
    run.assert_code(0);
    assert!(
        run.stdout().contains("1 target: 1 revoked"),
        "{}",
        run.stdout()
    );
}

#[tokio::test]
async fn report_holds_at_most_its_cap_of_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.ndjson");
    let line =
        "{\"provider\":\"ciam\",\"target\":{\"token\":\"sha256:1\"},\"status\":\"revoked\"}\n";
    std::fs::write(&file, line.repeat(100_001)).unwrap();
    report(&[&file], "csv")
        .run()
        .await
        .assert_usage(":100001: more than 100000 rows");
}

#[tokio::test]
async fn a_replayed_target_is_reported_with_its_earlier_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let run = |ticket: &str, actor: &str| {
        Revoke::ciam(&server.uri())
            .args(["--input", "-", "--journal"])
            .args([&journal])
            .args(["--ticket", ticket, "--actor", actor])
            .stdin("tokA\n")
    };
    run("SEC-1", "dana").run().await.assert_code(0);
    let rerun = run("SEC-2", "erin").run().await;
    rerun.assert_code(0);
    let records = dir.path().join("rerun.ndjson");
    std::fs::write(&records, &rerun.out.stdout).unwrap();
    let first_at = journal_lines(&journal)[0]["at"]
        .as_str()
        .unwrap()
        .to_string();

    let rows = csv_rows(&report(&[&records], "csv").run().await.stdout());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][5], format!("{first_at} (earlier run)"));
    assert_eq!(rows[1][4], "", "nothing was requested in the rerun");
    assert_eq!((&rows[1][8][..], &rows[1][9][..]), ("SEC-2", "erin"));
    // The journal keeps the ticket and the actor the token was revoked under.
    let rows = csv_rows(&report(&[&journal], "csv").run().await.stdout());
    assert_eq!((&rows[1][8][..], &rows[1][9][..]), ("SEC-1", "dana"));
    assert_eq!(rows[1][5], first_at);
}

// ---- The journal's hash chain (`revoke report --check`) ----

async fn check(journal: &Path) -> Run {
    Revoke::new()
        .args(["report", "--check"])
        .args([journal])
        .run()
        .await
}

/// The journal's lines, each with its newline.
fn journal_text_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn check_passes_on_a_plan_journal_and_names_an_edit_a_removal_and_a_swap() {
    let (smh, ciam) = (smh_server().await, ciam_server().await);
    let dir = tempfile::tempdir().unwrap();
    let (_, journal) = plan_run(dir.path(), &smh, &ciam).await;
    let lines = journal_text_lines(&journal);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let shown = journal.display().to_string();

    // As written by the plan's steps (one chain through all of them): intact.
    let run = check(&journal).await;
    run.assert_code(0);
    let out = run.stdout();
    assert!(
        out.starts_with(&format!(
            "{shown}: intact: 4 lines, chained from seq 1 to 4;"
        )),
        "{out}"
    );
    assert!(run.stderr().is_empty(), "{}", run.stderr());

    // A status changed in a line that is not the last: that line is named.
    let i = lines[..3]
        .iter()
        .position(|l| l.contains("\"status\":\"revoked\""))
        .expect("a revoked line before the last");
    let mut edited = lines.clone();
    edited[i] = edited[i].replace("\"status\":\"revoked\"", "\"status\":\"failed\"");
    std::fs::write(&journal, edited.concat()).unwrap();
    let run = check(&journal).await;
    run.assert_code(1);
    let out = run.stdout();
    assert!(
        out.starts_with(&format!("{shown}:{}: edited: ", i + 1)),
        "{out}"
    );
    assert!(
        out.ends_with(&format!(
            "{shown}: not intact: 1 problem in 4 lines, the first at line {}\n",
            i + 1
        )),
        "{out}"
    );

    // One line deleted: the line after the gap is named, with the seq missing.
    let mut removed = lines.clone();
    removed.remove(1);
    std::fs::write(&journal, removed.concat()).unwrap();
    let run = check(&journal).await;
    run.assert_code(1);
    assert!(
        run.stdout().starts_with(&format!(
            "{shown}:2: removed: 1 line missing before it (seq 2)\n"
        )),
        "{}",
        run.stdout()
    );

    // Two lines swapped: both named.
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    std::fs::write(&journal, swapped.concat()).unwrap();
    let run = check(&journal).await;
    run.assert_code(1);
    assert!(
        run.stdout().starts_with(&format!(
            "{shown}:2: moved: swapped with line 3 (seq 3 is written before seq 2)\n"
        )),
        "{}",
        run.stdout()
    );
}
