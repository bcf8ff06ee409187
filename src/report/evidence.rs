//! `revoke report FILE...`: the evidence of runs, as an auditor asks for it after an
//! offboarding (which systems, which targets, when access was removed, by whom, under which
//! ticket, with what proof): one row per target, read back from the records of runs (`-o json`)
//! or from their journals, written as a Markdown table, CSV or a self-contained HTML page.
//!
//! The input is treated as hostile: `revoke report` ([`crate::commands::report`]) reads it
//! through the one line reader of `--input` (UTF-8, at most 64 KiB a line) and holds a bounded
//! number of rows; every cell is cut to a bound and has its control characters escaped; then each format
//! escapes for itself (Markdown punctuation, CSV quoting and formula cells, HTML entities).
//! There is no scrubbing to do: the records hold fingerprints and ids only (the sink scrubbed
//! them when they were written), and this process holds no credential to look for; a `token`
//! that is not a fingerprint (a hand-made file) is left out all the same. Fields that the
//! records of this version do not carry yet (`row`, `at`, `from_journal`) are read when present
//! and left empty when not.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value};

use crate::report::record::Status;
use crate::report::scrub::cut;
use crate::report::text::escape;

/// The longest cell, in bytes (a target's cell may be longer: [`MAX_TARGET`]).
const MAX_CELL: usize = 256;

/// The longest target cell, in bytes (smh's target holds up to 10 user ids).
const MAX_TARGET: usize = 1024;

/// The columns, in order, as every format heads them.
pub const COLUMNS: [&str; 10] = [
    "Row",
    "Provider",
    "Target",
    "Status",
    "Requested at",
    "Answered at",
    "Verified",
    "Request id",
    "Ticket",
    "Actor",
];

/// One target's row: every cell cut and with its control characters escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub cells: [String; 10],
}

impl Row {
    fn status(&self) -> &str {
        &self.cells[3]
    }
}

/// What the files held: the rows of the report.
#[derive(Debug, Default)]
pub struct Collected {
    /// The files, as named on the command line.
    pub files: Vec<String>,
    pub rows: Vec<Row>,
    /// Lines that are neither a record, a journal line nor a summary.
    pub bad: u64,
}

/// One input line: a row, `None` for a summary line, or why it is neither.
pub fn row_of_line(text: &str) -> Result<Option<Row>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() {
            "the line ends before its JSON does (cut short by a run that was killed?)".to_string()
        } else {
            "not a JSON record".to_string()
        }
    })?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    // `{"summary":..}` of a run, a plan's step or row, or the plan.
    if map.contains_key("summary") {
        return Ok(None);
    }
    let provider = map.get("provider").and_then(Value::as_str);
    let status = map.get("status").and_then(Value::as_str);
    let (Some(provider), Some(status), Some(target)) = (provider, status, map.get("target")) else {
        return Err(
            "not a record or a journal line (it needs \"provider\", \"status\" and \"target\")"
                .into(),
        );
    };
    let text_of = |key: &str| map.get(key).and_then(Value::as_str);
    // A replay's answer came in the earlier run that the journal remembers; this record's
    // ticket and actor are the rerun's, so the cell says where the time comes from.
    let answered = match text_of("from_journal") {
        Some(earlier) => Some(format!("{earlier} (earlier run)")),
        None => text_of("at").map(str::to_string),
    };
    let requested = match (
        text_of("from_journal"),
        text_of("at"),
        map.get("elapsed_ms"),
    ) {
        (None, Some(at), Some(ms)) if attempted(&map) => requested_at(at, ms.as_u64()),
        _ => None,
    };
    let verified = match map.get("verified") {
        Some(Value::Bool(true)) => "yes",
        Some(Value::Bool(false)) => "no",
        _ => "",
    };
    let cells = [
        who(&map),
        provider.to_string(),
        target_text(target),
        status.to_string(),
        requested.unwrap_or_default(),
        answered.unwrap_or_default(),
        verified.to_string(),
        text_of("request_id").unwrap_or_default().to_string(),
        text_of("ticket").unwrap_or_default().to_string(),
        text_of("actor").unwrap_or_default().to_string(),
    ];
    let mut i = 0;
    Ok(Some(Row {
        cells: cells.map(|c| {
            let max = if i == 2 { MAX_TARGET } else { MAX_CELL };
            i += 1;
            // Cut after escaping, so that no escape is cut in half into something else.
            cut(escape(&c).into_owned(), max)
        }),
    }))
}

/// Whether the record had a request of its own (a journal line has no `attempts`: it was sent).
fn attempted(map: &Map<String, Value>) -> bool {
    map.get("attempts")
        .and_then(Value::as_u64)
        .is_none_or(|n| n > 0)
}

/// When the first attempt went out: the answer's time less the time the target took.
fn requested_at(at: &str, elapsed_ms: Option<u64>) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    let ms = i64::try_from(elapsed_ms?).ok()?;
    let start = at.checked_sub_signed(chrono::TimeDelta::try_milliseconds(ms)?)?;
    Some(
        start
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

/// The person or row a record is about: `row` (`{"line":N,"key":".."}` in a run over rows),
/// else the plan's step (its name, else `step N`, N counted from 1).
fn who(map: &Map<String, Value>) -> String {
    match map.get("row") {
        Some(Value::Object(row)) => {
            let key = row.get("key").map(scalar).unwrap_or_default();
            match row.get("line").and_then(Value::as_u64) {
                Some(line) => format!("{key} (line {line})"),
                None => key,
            }
        }
        Some(Value::Null) | None => match (map.get("name"), map.get("step")) {
            (Some(Value::String(name)), _) => name.clone(),
            // A record's `step` is its 0-based position; people count steps from 1, as the
            // run's own messages do (a number that is no position is shown as it is).
            (_, Some(Value::Number(n))) => match n.as_u64().and_then(|s| s.checked_add(1)) {
                Some(step) => format!("step {step}"),
                None => format!("step {n}"),
            },
            (_, Some(step)) if !step.is_null() => format!("step {}", scalar(step)),
            _ => String::new(),
        },
        Some(other) => scalar(other),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `token=sha256:1f2e3d4c5b6a`, `user_ids=u1,u2 client_ids=-`: the target object holds only
/// fingerprints and ids. A `token` that is not a fingerprint is not shown: in a file not
/// written by revoke it could be the token itself.
fn target_text(target: &Value) -> String {
    let Value::Object(map) = target else {
        return scalar(target);
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                _ if k == "token" && !v.as_str().is_some_and(is_fingerprint) => {
                    "(not a fingerprint: left out)".to_string()
                }
                Value::Null => "-".to_string(),
                Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
                other => scalar(other),
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sha256:` and hex digits, as `crate::secret::fingerprint` writes them.
fn is_fingerprint(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// How many rows have each status: the contract's statuses first, in their order, then any
/// other (from a hand-made file) by name.
fn counts(rows: &[Row]) -> Vec<(String, usize)> {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *by.entry(r.status()).or_default() += 1;
    }
    let known = Status::ALL.map(Status::as_str);
    let mut out: Vec<(String, usize)> = known
        .iter()
        .filter_map(|s| by.remove(s).map(|n| (s.to_string(), n)))
        .collect();
    out.extend(by.into_iter().map(|(s, n)| (s.to_string(), n)));
    out
}

fn summary_text(e: &Collected) -> String {
    let counts = counts(&e.rows)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{} target{}: {counts}",
        e.rows.len(),
        if e.rows.len() == 1 { "" } else { "s" }
    )
}

fn files_text(e: &Collected) -> String {
    e.files
        .iter()
        .map(|f| escape(f).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Markdown table, headed by what it was made from and the counts.
pub fn markdown(e: &Collected, now: &str) -> String {
    let mut out = String::from("## Revocation evidence\n\n");
    out.push_str(&format!("- Files: {}\n", md_cell(&files_text(e))));
    out.push_str(&format!("- {}\n", md_cell(&summary_text(e))));
    if e.bad > 0 {
        out.push_str(&format!(
            "- {} line{} left out: not records (named on stderr when written)\n",
            e.bad,
            if e.bad == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&format!(
        "- Written by revoke {} at {}\n\n",
        env!("CARGO_PKG_VERSION"),
        md_cell(now)
    ));
    out.push_str(&format!("| {} |\n", COLUMNS.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(COLUMNS.len())));
    for row in &e.rows {
        out.push('|');
        for cell in &row.cells {
            out.push(' ');
            out.push_str(&md_cell(cell));
            out.push_str(" |");
        }
        out.push('\n');
    }
    out
}

/// A Markdown table cell's text: every character that Markdown (GitHub's included) could
/// read as markup, a link, an image, HTML or an entity is backslash-escaped, so the cell shows
/// exactly its text; the cell has no line end (control characters are already escaped).
pub fn md_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '<'
                | '>'
                | '|'
                | '&'
                | '~'
                | '!'
                | '#'
                | '('
                | ')'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// RFC 4180: a header line, then one line per row, every field quoted (a `"` doubled), lines
/// ended by CRLF.
pub fn csv(e: &Collected) -> String {
    let mut out = String::new();
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let fields: Vec<String> = cells.map(csv_field).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    line(&mut out, &mut COLUMNS.iter().copied());
    for row in &e.rows {
        line(&mut out, &mut row.cells.iter().map(String::as_str));
    }
    out
}

/// One CSV field, quoted. A cell that a spreadsheet would run as a formula (it starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return: OWASP's "CSV injection"; after spaces too, which
/// some spreadsheets skip) starts with a `'`, so it is shown as text.
pub fn csv_field(cell: &str) -> String {
    let formula = cell
        .trim_start_matches(' ')
        .starts_with(['=', '+', '-', '@', '\t', '\r']);
    format!(
        "\"{}{}\"",
        if formula { "'" } else { "" },
        cell.replace('"', "\"\"")
    )
}

/// `text` with the five characters HTML gives a meaning escaped.
pub fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
body{font:13px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:0 0 16px}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}
td{overflow-wrap:anywhere}
td.n{white-space:nowrap}
td.t{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
tr.failed td.s,tr.skipped td.s,tr.not_found td.s{color:#a00;font-weight:600}
tr.revoked td.s,tr.already_invalid td.s{color:#060}
thead{display:table-header-group}
tr{break-inside:avoid}
@media print{body{margin:0;font-size:10px}th{background:#eee;-webkit-print-color-adjust:exact;print-color-adjust:exact}}
@page{size:A4 landscape;margin:12mm}";

/// One page, readable offline and printable: inline CSS, no script, nothing fetched (its
/// Content-Security-Policy forbids it), every value escaped.
pub fn html(e: &Collected, now: &str) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Revocation evidence</title>\n<style>\n",
    );
    out.push_str(STYLE);
    out.push_str("\n</style>\n</head>\n<body>\n<h1>Revocation evidence</h1>\n<dl>\n");
    let mut fact = |name: &str, value: &str| {
        out.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            html_text(name),
            html_text(value)
        ));
    };
    fact("Files", &files_text(e));
    fact("Targets", &summary_text(e));
    if e.bad > 0 {
        fact(
            "Left out",
            &format!(
                "{} {} (named on stderr)",
                e.bad,
                if e.bad == 1 {
                    "line that is not a record"
                } else {
                    "lines that are not records"
                }
            ),
        );
    }
    fact(
        "Written",
        &format!("by revoke {} at {now}", env!("CARGO_PKG_VERSION")),
    );
    out.push_str("</dl>\n<table>\n<thead>\n<tr>");
    for c in COLUMNS {
        out.push_str(&format!("<th>{}</th>", html_text(c)));
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
    for row in &e.rows {
        out.push_str(&format!("<tr class=\"{}\">", status_class(row.status())));
        for (i, cell) in row.cells.iter().enumerate() {
            let class = match i {
                2 | 7 => " class=\"t\"",
                3 => " class=\"s n\"",
                4..=6 => " class=\"n\"",
                _ => "",
            };
            out.push_str(&format!("<td{class}>{}</td>", html_text(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

/// The row's class: a contract status, else `other` (a value from a file never becomes markup).
fn status_class(status: &str) -> &'static str {
    Status::ALL
        .into_iter()
        .map(Status::as_str)
        .find(|s| *s == status)
        .unwrap_or("other")
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Files of NDJSON records or journal lines, read in order (`-` reads stdin).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// md: a Markdown table; csv: RFC 4180 CSV; html: one self-contained printable page.
    #[arg(long, value_enum, default_value = "md", value_name = "FORMAT")]
    pub format: ReportFormat,

    /// Write the report to FILE (replaced whole, only once it is complete) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,

    /// Verify each FILE's hash chain instead (a --journal file): every line carries the hash
    /// of the one before and its seq. Prints FILE:LINE: what for each line edited, removed,
    /// moved or unchained (written by a revoke before the chain), then a verdict per file
    /// with the last line's seq and hash (keep it: a chain cannot show an edit of its last
    /// line or lines cut off its end). A line cut short by a crash is named as such and is no
    /// problem. Exit 0 when every file is intact, 1 when one is not, 2 when one cannot be read.
    #[arg(long, conflicts_with_all = ["format", "to"])]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Html,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn evidence(lines: &[&str]) -> Collected {
        let rows = lines
            .iter()
            .filter_map(|l| row_of_line(l).unwrap())
            .collect();
        Collected {
            files: vec!["run.ndjson".into()],
            rows,
            bad: 0,
        }
    }

    const TODAY: &str = r#"{"provider":"ciam","index":0,"target":{"token":"sha256:1f2e3d4c5b6a"},"status":"revoked","http_status":200,"attempts":1,"request_id":"r-1","data":null,"error":null,"elapsed_ms":4,"verified":true,"ticket":"SEC-1","actor":"alice"}"#;

    #[test]
    fn a_record_becomes_a_row_with_its_fields() {
        let row = row_of_line(TODAY).unwrap().unwrap();
        assert_eq!(
            row.cells,
            [
                "",
                "ciam",
                "token=sha256:1f2e3d4c5b6a",
                "revoked",
                "",
                "",
                "yes",
                "r-1",
                "SEC-1",
                "alice"
            ]
            .map(String::from)
        );
        // Tomorrow's record: `at`, `row`, and a replay from a journal.
        let later = r#"{"row":{"line":3,"key":"bob"},"provider":"smh","index":1,"target":{"user_ids":["u1","u2"]},"status":"revoked","attempts":2,"elapsed_ms":1500,"verified":null,"at":"2026-12-04T21:36:01.500Z","ticket":null}"#;
        let row = row_of_line(later).unwrap().unwrap();
        assert_eq!(row.cells[0], "bob (line 3)");
        assert_eq!(row.cells[2], "user_ids=u1,u2");
        assert_eq!(row.cells[4], "2026-12-04T21:36:00.000Z");
        assert_eq!(row.cells[5], "2026-12-04T21:36:01.500Z");
        let replay = r#"{"step":1,"name":"CI tokens","provider":"ciam","index":0,"target":{"token":"sha256:1"},"status":"revoked","attempts":0,"elapsed_ms":0,"from_journal":"2026-12-01T10:00:00.000Z","at":"2026-12-04T21:36:01.500Z"}"#;
        let row = row_of_line(replay).unwrap().unwrap();
        assert_eq!(row.cells[0], "CI tokens");
        assert_eq!(row.cells[4], "", "not requested in this run");
        assert_eq!(row.cells[5], "2026-12-01T10:00:00.000Z (earlier run)");
        // A journal line.
        let journal = r#"{"key":"sha256:00","provider":"bi-embed","index":0,"target":{"page_id":"8991"},"status":"revoked","ok":true,"at":"2026-12-04T21:36:01.500Z","ticket":"T","actor":"root"}"#;
        let row = row_of_line(journal).unwrap().unwrap();
        assert_eq!(row.cells[2], "page_id=8991");
        assert_eq!(row.cells[5], "2026-12-04T21:36:01.500Z");
        assert_eq!((&row.cells[8][..], &row.cells[9][..]), ("T", "root"));
        // A token that is not a fingerprint is never shown.
        let raw = r#"{"provider":"ciam","target":{"token":"eyJhbGciOiJIUzI1NiJ9.secret"},"status":"revoked"}"#;
        let row = row_of_line(raw).unwrap().unwrap();
        assert_eq!(row.cells[2], "token=(not a fingerprint: left out)");
        // Summaries are skipped; anything else is named.
        assert_eq!(row_of_line(r#"{"summary":{},"exit_code":0}"#), Ok(None));
        assert!(row_of_line("[1]").is_err());
        assert!(row_of_line(r#"{"provider":"x"}"#).is_err());
        assert!(
            row_of_line(r#"{"provider":"x","#)
                .unwrap_err()
                .contains("cut short")
        );
    }

    #[test]
    fn each_format_escapes_for_itself() {
        let hostile = r#"{"provider":"<script>alert(1)</script>","index":0,"target":{"id":"a|b\u001b[2J"},"status":"failed","request_id":"=HYPERLINK(\"http://x\")","ticket":"[x](http://e) ![i](http://e/i.png)","actor":"-2+3"}"#;
        let e = evidence(&[hostile, TODAY]);
        let html = html(&e, "now");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(html.matches("<tr").count(), 3);
        assert!(html.contains("\\u{1b}[2J"), "control characters escaped");
        let md = markdown(&e, "now");
        assert!(md.contains("a\\|b"), "{md}");
        assert!(md.contains("\\!\\[i\\]\\(http://e/i.png\\)"), "{md}");
        assert!(md.contains("\\<script\\>"), "{md}");
        let csv = csv(&e);
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
        assert!(csv.contains("\"'-2+3\""), "{csv}");
        assert_eq!(csv_field("  =1+1"), "\"'  =1+1\"");
        assert_eq!(csv_field("a=1"), "\"a=1\"");
        assert_eq!(csv.split("\r\n").count(), 4, "header, two rows, end");
    }

    /// A minimal RFC 4180 reader, to read back what [`csv`] wrote.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
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
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => panic!("outside quotes: {c:?} in {text:?}"),
            }
        }
        assert!(!quoted && field.is_empty() && row.is_empty(), "{text:?}");
        rows
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[=+@<>&\"'\\-\t\r\n|\\[\\]()!`*_a-z ]{0,20}".prop_map(String::from),
        ]
    }

    proptest! {
        /// Any bytes as a line: no panic, and whatever row comes out is escaped in every format.
        #[test]
        fn any_line_is_read_safely(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let _ = row_of_line(text);
            }
        }

        /// Any values in every field: the HTML has no markup but its own, the CSV reads back to
        /// the cells with no cell a spreadsheet would run as a formula.
        #[test]
        fn any_record_is_escaped_in_every_format(
            values in proptest::collection::vec(any_text(), 8),
            verified in any::<Option<bool>>(),
        ) {
            let record = serde_json::json!({
                "row": {"line": 2, "key": values[0]},
                "provider": values[1],
                "target": {"token_id": values[2]},
                "status": values[3],
                "at": values[4],
                "verified": verified,
                "request_id": values[5],
                "ticket": values[6],
                "actor": values[7],
            });
            let line = serde_json::to_string(&record).unwrap();
            let row = row_of_line(&line).unwrap().unwrap();
            for cell in &row.cells {
                prop_assert!(!cell.chars().any(char::is_control), "{cell:?}");
            }
            let e = Collected { files: vec!["f".into()], rows: vec![row.clone(), row.clone()], bad: 0 };
            let empty = Collected { files: vec!["f".into()], rows: vec![], bad: 0 };
            let base = html(&empty, "now");
            let html = html(&e, "now");
            // Each row adds exactly its own tags: `<tr>` and ten `<td>`, opened and closed.
            let tags = |s: &str| s.matches('<').count();
            prop_assert_eq!(tags(&html), tags(&base) + 2 * 22);
            prop_assert_eq!(html.matches('>').count(), base.matches('>').count() + 2 * 22);
            let csv = csv(&e);
            let parsed = parse_csv(&csv);
            prop_assert_eq!(parsed.len(), 3);
            prop_assert_eq!(&parsed[0], &COLUMNS.map(String::from).to_vec());
            for cells in &parsed[1..] {
                for (got, want) in cells.iter().zip(&row.cells) {
                    let shown = got.trim_start_matches(' ');
                    prop_assert!(!shown.starts_with(['=', '+', '-', '@', '\t', '\r']), "{got:?}");
                    prop_assert_eq!(got.trim_start_matches('\''), want.trim_start_matches('\''));
                }
            }
            let md = markdown(&e, "now");
            let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
            prop_assert_eq!(table.len(), 4);
            for l in &table[2..] {
                // Eleven unescaped bars: ten cells.
                let bars = l.match_indices('|').filter(|(i, _)| !l[..*i].ends_with('\\')).count();
                prop_assert_eq!(bars, 11, "{}", l);
            }
        }
    }
}
