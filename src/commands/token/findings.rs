//! Secret scanners' reports as targets: `--findings FILE [--findings-format gitleaks|trufflehog]`.
//!
//! Two formats, taken from the tools themselves (fixtures in `tests/fixtures/findings/`):
//! - gitleaks `--report-format json`: one JSON array of findings (`report/json.go` encodes the
//!   `Finding` struct of `report/finding.go`): the secret is `Secret`, the place `File`,
//!   `StartLine`, `Commit` (empty outside git), the rule `RuleID`. `--redact` writes `REDACTED`
//!   as the secret, `--redact=N` keeps a prefix followed by `...`; a baseline can hold `****`.
//! - trufflehog `--json`: one JSON object per line (`pkg/output/json.go`): the secret is `Raw`,
//!   the place is `SourceMetadata.Data.<SOURCE>` (`file`, `line`, `commit` where the source has
//!   them: `Filesystem`, `Git`, `Github`, ...), the detector `DetectorName`. With `2>&1` its
//!   JSON log lines (`{"level":..,"msg":..}`) end up in the same file: they are skipped.
//!
//! The format is recognised by shape (an array, or objects) unless [`Format`] is given. A
//! finding that holds no usable secret (redacted, empty, several lines) is a per-finding
//! [`FindingError`] and the others are still read; a file that is neither format, too large,
//! not UTF-8 or holding too many findings is one error for the whole file. No message quotes
//! the file's content.
//!
//! A finding's secret is a [`Secret`] and becomes a target: the engine registers it with the
//! scrubber for its request in flight, and for the rest of the run in the scrubber's index of
//! targets ([`crate::secret::Redactor::add_target`]), as it does every `--input` token. It is
//! not added to the process-wide list of credentials ([`crate::secret::Redactor::add`]): that
//! list is for a few credentials, and its automaton takes about 14 KiB per 40-byte token to
//! build (README, "The scrubber with many secrets"), where a report can hold 100,000 findings. Hygiene as for
//! `--input` (`settings::input`): a UTF-8 byte-order mark is dropped,
//! UTF-16 is refused with a hint, `\r\n` reads as `\n`.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::report::scrub::cut;
use crate::report::text::escape;
use crate::secret::Secret;

/// The largest report read. A larger (or endless) file is refused when this much has been read.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
/// The most findings (and per-finding errors) in one report.
pub const MAX_FINDINGS: usize = 100_000;
/// The longest secret taken as a target (the longest target line `--input` takes).
pub const MAX_SECRET: usize = crate::settings::input::MAX_LINE;
/// Longer file names, commits and rule names are cut (they are only shown).
pub const MAX_PATH: usize = 4096;
pub const MAX_COMMIT: usize = 128;
pub const MAX_RULE: usize = 256;

/// Which scanner wrote the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gitleaks,
    Trufflehog,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Gitleaks => "gitleaks",
            Format::Trufflehog => "trufflehog",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "gitleaks" => Ok(Format::Gitleaks),
            "trufflehog" => Ok(Format::Trufflehog),
            _ => Err("expected gitleaks or trufflehog".into()),
        }
    }
}

/// Where a leak was found: the record's `finding`. Texts come from the report and may hold any
/// character: escape them before showing them on a terminal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingInfo {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub commit: Option<String>,
    /// gitleaks `RuleID`, trufflehog `DetectorName`.
    pub rule: Option<String>,
}

/// One finding's secret, and where it was found.
#[derive(Debug, Clone)]
pub struct Finding {
    pub secret: Secret,
    pub info: FindingInfo,
    /// The finding's place in the report, from 1.
    pub index: usize,
}

/// A finding that cannot be a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingError {
    pub info: FindingInfo,
    pub index: usize,
    /// For trufflehog, the line of the report the finding is on.
    pub report_line: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for FindingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.report_line {
            Some(n) => write!(
                f,
                "finding {} (line {n} of the report): {}",
                self.index, self.message
            ),
            None => write!(f, "finding {}: {}", self.index, self.message),
        }
    }
}

pub type Findings = Vec<Result<Finding, FindingError>>;

/// Reads the report at `path` (`-` is not special: a scanner's report is a file).
pub fn read(path: &Path, format: Option<Format>) -> Result<Findings, String> {
    let name = escape(&path.display().to_string()).into_owned();
    let file =
        std::fs::File::open(path).map_err(|e| format!("--findings {name}: cannot open it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("--findings {name}: cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "--findings {name}: larger than {} MiB (a report that large is better split)",
            MAX_FILE / (1024 * 1024)
        ));
    }
    parse(&bytes, format).map_err(|e| format!("--findings {name}: {e}"))
}

/// Parses a whole report. `Err` is a problem with the whole file; each finding is its own
/// `Ok` or `Err`.
pub fn parse(bytes: &[u8], format: Option<Format>) -> Result<Findings, String> {
    let bytes = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        rest
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8 \
             (in PowerShell, `| Out-File -Encoding utf8` rather than `>`)"
                .into(),
        );
    } else {
        bytes
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "not valid UTF-8 (at byte {}); save the file as UTF-8",
            e.valid_up_to() + 1
        )
    })?;
    let shape = match text.trim_start().as_bytes().first() {
        None => return Ok(Vec::new()),
        Some(b'[') => Format::Gitleaks,
        Some(b'{') => Format::Trufflehog,
        Some(_) => {
            return Err(match format {
                Some(f) => not_the_format(f),
                None => "neither a gitleaks JSON report (an array) nor trufflehog --json output (one object per line)".into(),
            });
        }
    };
    let format = match format {
        Some(f) if f != shape => return Err(not_the_format(f)),
        Some(f) => f,
        None => shape,
    };
    match format {
        Format::Gitleaks => gitleaks(text),
        Format::Trufflehog => trufflehog(text),
    }
}

fn not_the_format(f: Format) -> String {
    match f {
        Format::Gitleaks => "--findings-format gitleaks: the file is not a JSON array (gitleaks --report-format json writes one; trufflehog --json writes one object per line)".into(),
        Format::Trufflehog => "--findings-format trufflehog: the file is not JSON objects one per line (trufflehog --json writes those; gitleaks writes one JSON array)".into(),
    }
}

/// serde_json's messages can quote the input (`invalid type: string "..."`): only the place
/// and the category are kept.
fn json_error(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "the JSON ends too soon (a report cut short?)",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON",
        serde_json::error::Category::Io => "cannot read",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// A gitleaks report: the array is walked one element at a time, so memory holds the findings
/// read and one element, never a tree of the whole file.
fn gitleaks(text: &str) -> Result<Findings, String> {
    struct Elements;
    impl<'de> Visitor<'de> for Elements {
        type Value = Findings;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of findings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Findings, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<Value>()? {
                if out.len() == MAX_FINDINGS {
                    return Err(de::Error::custom(TOO_MANY));
                }
                let index = out.len() + 1;
                out.push(placed(gitleaks_finding(v), index, None));
            }
            Ok(out)
        }
    }
    impl<'de> DeserializeSeed<'de> for Elements {
        type Value = Findings;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Findings, D::Error> {
            d.deserialize_seq(self)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let found = Elements.deserialize(&mut de).map_err(|e| {
        if e.to_string().starts_with(TOO_MANY) {
            too_many()
        } else {
            json_error(&e)
        }
    })?;
    de.end()
        .map_err(|e| format!("{} after the report's array", json_error(&e)))?;
    Ok(found)
}

const TOO_MANY: &str = "too many findings";

fn too_many() -> String {
    format!("more than {MAX_FINDINGS} findings; split the report")
}

fn text(m: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
    match m.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(cut(s.clone(), max)),
        _ => None,
    }
}

fn line(m: &Map<String, Value>, key: &str) -> Option<u32> {
    m.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
}

fn gitleaks_finding(v: Value) -> Result<(Secret, FindingInfo), (FindingInfo, String)> {
    let Value::Object(m) = v else {
        return Err((
            FindingInfo::default(),
            "not a JSON object (a gitleaks finding is one)".into(),
        ));
    };
    let info = FindingInfo {
        file: text(&m, "File", MAX_PATH),
        line: line(&m, "StartLine"),
        commit: text(&m, "Commit", MAX_COMMIT),
        rule: text(&m, "RuleID", MAX_RULE),
    };
    let secret = match m.get("Secret") {
        Some(Value::String(s)) => s,
        Some(_) => return Err((info, "its Secret is not a string".into())),
        None => return Err((info, "it has no Secret (is this a gitleaks report?)".into())),
    };
    // `--redact` (report/finding.go `Redact`): "REDACTED"; `--redact=N`: a prefix and "...".
    let redacted = secret == "REDACTED"
        || secret.ends_with("...")
        || (!secret.is_empty() && secret.bytes().all(|b| b == b'*'));
    if redacted {
        return Err((
            info,
            "the report holds no secret for this finding (gitleaks --redact writes REDACTED): \
             make the report again without --redact"
                .into(),
        ));
    }
    match usable(secret) {
        Ok(s) => Ok((s, info)),
        Err(why) => Err((info, why)),
    }
}

/// One finding's result, with its place in the report.
fn placed(
    found: Result<(Secret, FindingInfo), (FindingInfo, String)>,
    index: usize,
    report_line: Option<u32>,
) -> Result<Finding, FindingError> {
    match found {
        Ok((secret, info)) => Ok(Finding {
            secret,
            info,
            index,
        }),
        Err((info, message)) => Err(FindingError {
            info,
            index,
            report_line,
            message,
        }),
    }
}

/// A secret as a target: trimmed, one line, bounded.
fn usable(secret: &str) -> Result<Secret, String> {
    let s = secret.trim();
    if s.is_empty() {
        return Err("its secret is empty".into());
    }
    if s.len() > MAX_SECRET {
        return Err(format!(
            "its secret is longer than {} KiB",
            MAX_SECRET / 1024
        ));
    }
    if s.contains(['\n', '\r']) {
        return Err("its secret spans several lines (a key file?): not a token to revoke".into());
    }
    if s.chars().any(char::is_control) {
        return Err("its secret holds control characters: not a token to revoke".into());
    }
    Ok(Secret::new(s))
}

/// trufflehog `--json`: one object per line; blank lines and its own log lines are skipped.
fn trufflehog(text: &str) -> Result<Findings, String> {
    let mut out = Vec::new();
    let mut seen_finding = false;
    for (n, raw) in text.split('\n').enumerate() {
        let report_line = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        if out.len() == MAX_FINDINGS {
            return Err(too_many());
        }
        let index = out.len() + 1;
        let fail = |message: &str| {
            placed(
                Err((FindingInfo::default(), message.into())),
                index,
                Some(report_line),
            )
        };
        let m = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                out.push(fail("not a JSON object"));
                continue;
            }
            Err(_) if !seen_finding && out.is_empty() => {
                // The first line decides: a pretty-printed document (SARIF, a gitleaks report
                // forced as trufflehog) is not JSON lines at all.
                return Err(format!(
                    "line {report_line} is not a JSON object on one line: not trufflehog --json output"
                ));
            }
            Err(_) => {
                out.push(fail("not JSON"));
                continue;
            }
        };
        if !m.contains_key("SourceMetadata") && m.contains_key("level") && m.contains_key("msg") {
            continue;
        }
        seen_finding = true;
        out.push(placed(trufflehog_finding(&m), index, Some(report_line)));
    }
    Ok(out)
}

fn trufflehog_finding(
    m: &Map<String, Value>,
) -> Result<(Secret, FindingInfo), (FindingInfo, String)> {
    // `{"SourceMetadata":{"Data":{"Git":{"commit":..,"file":..,"line":..}}}}`: one source.
    let place = m
        .get("SourceMetadata")
        .and_then(|s| s.get("Data"))
        .and_then(Value::as_object)
        .and_then(|d| d.values().next())
        .and_then(Value::as_object);
    let info = FindingInfo {
        file: place.and_then(|p| text(p, "file", MAX_PATH)),
        line: place.and_then(|p| line(p, "line")),
        commit: place.and_then(|p| text(p, "commit", MAX_COMMIT)),
        rule: text(m, "DetectorName", MAX_RULE),
    };
    let raw = match m.get("Raw") {
        Some(Value::String(s)) => s,
        Some(_) => return Err((info, "its Raw is not a string".into())),
        None => {
            return Err((
                info,
                "it has no Raw (is this trufflehog --json output?)".into(),
            ));
        }
    };
    if raw.is_empty() || raw == "REDACTED" || raw.bytes().all(|b| b == b'*') {
        return Err((
            info,
            "the report holds no secret for this finding (Raw is empty or masked)".into(),
        ));
    }
    match usable(raw) {
        Ok(s) => Ok((s, info)),
        Err(why) => Err((info, why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/findings/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn ok(found: &Findings) -> Vec<(&str, &FindingInfo)> {
        found
            .iter()
            .flatten()
            .map(|f| (f.secret.expose(), &f.info))
            .collect()
    }

    fn errors(found: &Findings) -> Vec<String> {
        found
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.to_string())
            .collect()
    }

    /// gitleaks' own expected JSON report (testdata/expected/report/json_simple.json).
    #[test]
    fn a_gitleaks_report_gives_each_secret_and_its_place() {
        let found = parse(&fixture("gitleaks_json_simple.json"), None).unwrap();
        let info = FindingInfo {
            file: Some("auth.py".into()),
            line: Some(1),
            commit: Some("0000000000000000".into()),
            rule: Some("test-rule".into()),
        };
        assert_eq!(ok(&found), [("a secret", &info)]);
        assert_eq!(found[0].as_ref().unwrap().index, 1);
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"file":"auth.py","line":1,"commit":"0000000000000000","rule":"test-rule"}"#
        );
        assert_eq!(
            format!("{:?}", found[0].as_ref().unwrap().secret),
            "Secret(***)"
        );
        // Forced, the same.
        let forced = parse(
            &fixture("gitleaks_json_simple.json"),
            Some(Format::Gitleaks),
        )
        .unwrap();
        assert_eq!(ok(&forced).len(), 1);
        assert!(parse(b"[]", None).unwrap().is_empty());
        assert!(parse(b" \r\n", None).unwrap().is_empty());
    }

    #[test]
    fn redacted_and_masked_gitleaks_findings_are_errors_of_their_own() {
        let found = parse(&fixture("gitleaks_json_simple_redacted.json"), None).unwrap();
        let e = found[0].as_ref().unwrap_err();
        assert_eq!(e.info.file.as_deref(), Some("auth.py"));
        assert_eq!(
            e.to_string(),
            "finding 1: the report holds no secret for this finding (gitleaks --redact writes REDACTED): make the report again without --redact"
        );
        // gitleaks' baseline fixture masks its secrets with asterisks.
        let found = parse(&fixture("gitleaks_baseline_masked.json"), None).unwrap();
        assert_eq!(found.len(), 2);
        assert!(
            found
                .iter()
                .all(|f| f.as_ref().is_err_and(|e| e.message.contains("no secret")))
        );
        assert_eq!(found[1].as_ref().unwrap_err().info.line, Some(33));
        // `--redact=20` keeps a prefix and "...".
        let partial = br#"[{"RuleID":"r","Secret":"ghp_abcdef...","File":"a"},{"RuleID":"r","Secret":"ghp_whole_token_1","File":"b"}]"#;
        let found = parse(partial, None).unwrap();
        assert!(found[0].is_err());
        assert_eq!(ok(&found)[0].0, "ghp_whole_token_1");
    }

    /// trufflehog's README example (git source) and a filesystem report (heimdall2's sample).
    #[test]
    fn trufflehog_lines_give_each_secret_and_its_place() {
        let found = parse(&fixture("trufflehog_readme_git.jsonl"), None).unwrap();
        assert_eq!(
            ok(&found),
            [(
                "AKIAYVP4CIPPERUVIFXG",
                &FindingInfo {
                    file: Some("keys".into()),
                    line: Some(4),
                    commit: Some("fbc14303ffbf8fb1c2c1914e8dda7d0121633aca".into()),
                    rule: Some("AWS".into()),
                }
            )]
        );
        let found = parse(
            &fixture("trufflehog_filesystem.jsonl"),
            Some(Format::Trufflehog),
        )
        .unwrap();
        let got = ok(&found);
        assert_eq!(got.len(), 6);
        assert_eq!(
            got[1],
            (
                "postgres://jack:secret@pg.example.com:5432",
                &FindingInfo {
                    file: Some("github.com/jackc/pgx/v5/pgxpool/pool.go".into()),
                    line: Some(297),
                    commit: None,
                    rule: Some("Postgres".into()),
                }
            )
        );
        assert_eq!(found[5].as_ref().unwrap().index, 6);
    }

    #[test]
    fn byte_order_marks_crlf_log_lines_and_utf16() {
        let lines = String::from_utf8(fixture("trufflehog_readme_git.jsonl")).unwrap();
        let log = r#"{"level":"info-0","ts":"2024-10-18T04:59:55Z","logger":"trufflehog","msg":"running source"}"#;
        let windows = format!("\u{feff}{log}\r\n\r\n{}\r\n", lines.trim_end());
        let found = parse(windows.as_bytes(), None).unwrap();
        assert_eq!(ok(&found).len(), 1);
        assert_eq!(found.len(), 1);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(fixture("gitleaks_json_simple.json"));
        assert_eq!(ok(&parse(&bom, None).unwrap()).len(), 1);
        let e = parse(b"\xFF\xFE[\x00]\x00", None).unwrap_err();
        assert!(
            e.contains("UTF-16") && e.contains("save it as UTF-8"),
            "{e}"
        );
        let e = parse(b"[\"\xFF\"]", None).unwrap_err();
        assert_eq!(e, "not valid UTF-8 (at byte 3); save the file as UTF-8");
    }

    #[test]
    fn a_file_of_neither_format_or_the_other_format_is_refused_whole() {
        let gl = fixture("gitleaks_json_simple.json");
        let th = fixture("trufflehog_readme_git.jsonl");
        assert!(
            parse(&gl, Some(Format::Trufflehog))
                .unwrap_err()
                .starts_with("--findings-format trufflehog: ")
        );
        assert!(
            parse(&th, Some(Format::Gitleaks))
                .unwrap_err()
                .starts_with("--findings-format gitleaks: ")
        );
        assert_eq!(
            parse(b"Found verified result", None).unwrap_err(),
            "neither a gitleaks JSON report (an array) nor trufflehog --json output (one object per line)"
        );
        // A pretty-printed object (SARIF) is not JSON lines.
        assert_eq!(
            parse(b"{\n  \"version\": \"2.1.0\"\n}\n", None).unwrap_err(),
            "line 1 is not a JSON object on one line: not trufflehog --json output"
        );
        // A gitleaks report cut short.
        let cut_short = &gl[..gl.len() / 2];
        assert!(
            parse(cut_short, None)
                .unwrap_err()
                .starts_with("the JSON ends too soon")
        );
        assert!(
            parse(b"[] []", None)
                .unwrap_err()
                .ends_with("after the report's array")
        );
    }

    #[test]
    fn a_bad_finding_does_not_stop_the_others() {
        let report = br#"[1, {"RuleID":"x"}, {"Secret":7,"File":"f"}, {"Secret":"line1\nline2"}, {"Secret":"  tok-ok-1  ","StartLine":-3,"File":""}]"#;
        let found = parse(report, None).unwrap();
        assert_eq!(
            errors(&found),
            [
                "finding 1: not a JSON object (a gitleaks finding is one)",
                "finding 2: it has no Secret (is this a gitleaks report?)",
                "finding 3: its Secret is not a string",
                "finding 4: its secret spans several lines (a key file?): not a token to revoke",
            ]
        );
        assert_eq!(ok(&found), [("tok-ok-1", &FindingInfo::default())]);
        let lines =
            "{\"Raw\":\"\",\"DetectorName\":\"D\"}\nnot json\n[]\n{\"Raw\":\"tok-2-abc\"}\n";
        let found = parse(lines.as_bytes(), None).unwrap();
        assert_eq!(
            errors(&found),
            [
                "finding 1 (line 1 of the report): the report holds no secret for this finding (Raw is empty or masked)",
                "finding 2 (line 2 of the report): not JSON",
                "finding 3 (line 3 of the report): not a JSON object",
            ]
        );
        assert_eq!(ok(&found)[0].0, "tok-2-abc");
    }

    #[test]
    fn bounds_on_the_file_the_findings_and_the_fields() {
        let many = format!("[{}{{}}]", "{},".repeat(MAX_FINDINGS));
        assert_eq!(
            parse(many.as_bytes(), None).unwrap_err(),
            "more than 100000 findings; split the report"
        );
        let lines = "{}\n".repeat(MAX_FINDINGS + 1);
        assert_eq!(
            parse(lines.as_bytes(), None).unwrap_err(),
            "more than 100000 findings; split the report"
        );
        let long = format!(
            r#"[{{"Secret":"{}","File":"{}","RuleID":"{}"}}]"#,
            "s".repeat(MAX_SECRET + 1),
            "f".repeat(MAX_PATH + 10),
            "r".repeat(10)
        );
        let found = parse(long.as_bytes(), None).unwrap();
        let e = found[0].as_ref().unwrap_err();
        assert_eq!(e.message, "its secret is longer than 64 KiB");
        assert!(
            e.info
                .file
                .as_ref()
                .unwrap()
                .ends_with("... [cut at 4096 bytes of 4106]")
        );
        // An endless file ends at the bound, with the bound named.
        let dir = tempfile::tempdir().unwrap();
        let e = read(Path::new("/dev/zero"), None).unwrap_err();
        assert_eq!(
            e,
            "--findings /dev/zero: larger than 64 MiB (a report that large is better split)"
        );
        let e = read(dir.path(), None).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "--findings {}: cannot read it: ",
                dir.path().display()
            )),
            "{e}"
        );
        let e = read(&dir.path().join("none.json"), None).unwrap_err();
        assert!(e.contains(": cannot open it: "), "{e}");
    }

    #[test]
    fn no_message_quotes_the_report() {
        for report in [
            &br#"[{"Secret":"SECRETVALUE1" "x"}]"#[..],
            br#"[{"Secret":["SECRETVALUE1"]}]"#,
            b"{\"Raw\":\"SECRETVALUE1\n",
            b"{\"Raw\":\"ok-token\"}\n{\"Raw\":\"SECRETVALUE1\"",
        ] {
            let msgs = match parse(report, None) {
                Ok(found) => errors(&found),
                Err(e) => vec![e],
            };
            assert!(!msgs.is_empty());
            for m in msgs {
                assert!(!m.contains("SECRETVALUE1"), "{m}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes, and fixtures with bytes changed: never a panic; every finding read holds a
        /// one-line secret within its bound.
        #[test]
        fn any_report_never_panics(
            which in 0usize..4,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            junk in proptest::collection::vec(any::<u8>(), 0..64),
            forced in prop_oneof![Just(None), Just(Some(Format::Gitleaks)), Just(Some(Format::Trufflehog))],
        ) {
            let names = ["gitleaks_json_simple.json", "gitleaks_baseline_masked.json", "trufflehog_readme_git.jsonl", "trufflehog_filesystem.jsonl"];
            let mut bytes = fixture(names[which]);
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
                for input in [&bytes[..], &junk[..]] {
                if let Ok(found) = parse(input, forced) {
                    for f in found.iter().flatten() {
                        let s = f.secret.expose();
                        prop_assert!(!s.is_empty() && s.len() <= MAX_SECRET && !s.contains('\n'));
                    }
                }
            }
        }
    }
}
