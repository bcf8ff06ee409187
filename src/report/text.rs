//! Records as text: one line per record, the run's summary line, and the escaping that keeps a
//! server's text from driving the terminal or forging a line.

use serde_json::Value;

use crate::report::record::{Record, Status, Summary};

/// The status column of text output: the longest status (`already_invalid`), or with
/// `--verify` the longest status with its verification (`already_invalid, unverified`).
pub const STATUS_WIDTH: usize = 15;
pub const VERIFY_STATUS_WIDTH: usize = 27;

/// Whether `--verify` was meant to prove this record and could not: its reason is the
/// record's `Unverified` error, or (an `already_invalid` record keeps the provider's own note)
/// verification requests were sent for it.
pub fn unverifiable(r: &Record) -> bool {
    r.verified.is_none()
        && matches!(r.status, Status::Revoked | Status::AlreadyInvalid)
        && (r.error.as_ref().is_some_and(|e| e.code == "Unverified") || r.verify_attempts > 0)
}

/// `revoked          ciam token=sha256:1f2e3d4c5b6a  HTTP 200, 1 attempt, 4 ms`
pub fn text_line(r: &Record) -> String {
    text_line_in(r, STATUS_WIDTH)
}

/// [`text_line`] with a status column `width` wide.
pub fn text_line_in(r: &Record, width: usize) -> String {
    // `--verify` at a glance: `revoked, verified` vs `revoked, unverified`.
    let status = match r.verified {
        Some(true) => format!("{}, verified", r.status.as_str()),
        None if unverifiable(r) => format!("{}, unverified", r.status.as_str()),
        _ => r.status.as_str().to_string(),
    };
    // A replay says so where the status is read: it was not sent in this run.
    let status = match &r.from_journal {
        Some(at) => format!(
            "{status} (from the journal, {}; {})",
            journal_time(at),
            if r.status == crate::report::record::Status::Planned {
                "would not be sent again"
            } else {
                "not sent again"
            }
        ),
        None => status,
    };
    let mut line = format!(
        "{:<width$} {} {}",
        status,
        escape(&r.provider),
        escape(&target_text(&r.target))
    );
    let mut facts = Vec::new();
    if let Some(s) = r.http_status {
        facts.push(format!("HTTP {s}"));
    }
    if r.attempts > 0 {
        facts.push(format!(
            "{} attempt{}",
            r.attempts,
            if r.attempts == 1 { "" } else { "s" }
        ));
    }
    if r.verify_attempts > 0 {
        facts.push(format!(
            "{} verification request{}",
            r.verify_attempts,
            if r.verify_attempts == 1 { "" } else { "s" }
        ));
    }
    if r.attempts > 0 {
        facts.push(format!("{} ms", r.elapsed_ms));
    }
    if let Some(id) = &r.request_id {
        facts.push(format!("request {}", escape(id)));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!("  {}: {}", escape(&e.code), escape(&e.message)));
    }
    if !facts.is_empty() {
        line.push_str(&format!("  ({})", facts.join(", ")));
    }
    line
}

/// `2026-12-04 21:36 UTC`, from the record's RFC 3339 time.
fn journal_time(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => escape(at).into_owned(),
    }
}

fn target_text(target: &Value) -> String {
    let Value::Object(map) = target else {
        return target.to_string();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            format!("{k}={v}")
        })
        .collect();
    parts.join(" ")
}

/// `text` with every control character (C0, DEL, C1), the Unicode line separators and the
/// bidirectional overrides shown escaped (`\n`, `\u{1b}`), never raw: one record stays one
/// line, and a server cannot drive the terminal.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if bad(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

pub fn summary_line(provider: &str, s: &Summary, code: u8) -> String {
    let counts = [
        (s.revoked, "revoked"),
        (s.already_invalid, "already invalid"),
        (s.not_found, "not found"),
        (s.failed, "failed"),
        (s.skipped, "skipped"),
        (s.planned, "planned"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    // How many came from the journal, and how many were sent now: a replay is not a send.
    let replays = match (s.from_journal, s.planned) {
        (0, _) => String::new(),
        (n, p) if p > 0 => format!(" ({n} from the journal, would not be sent again)"),
        (n, _) => format!(" ({} sent now, {n} from the journal)", s.sent),
    };
    format!(
        "{provider}: {} target{}{}{}{replays}; exit {code}",
        s.total,
        if s.total == 1 { "" } else { "s" },
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::RecordError;

    #[test]
    fn text_lines_name_status_target_and_facts() {
        let error = RecordError {
            code: "WrongLibraryIdOrSecret".into(),
            message: "wrong".into(),
            retryable: false,
        };
        let target = serde_json::json!({"user_ids": ["u11", "u12"]});
        let r = Record {
            http_status: Some(404),
            attempts: 1,
            request_id: Some("r-1".into()),
            elapsed_ms: 9,
            at: None,
            ..Record::bare("smh", 1, target, Status::Failed, Some(error))
        };
        assert_eq!(
            text_line(&r),
            "failed          smh user_ids=u11,u12  WrongLibraryIdOrSecret: wrong  (HTTP 404, 1 attempt, 9 ms, request r-1)"
        );
    }

    #[test]
    fn verification_shows_at_a_glance() {
        let target = serde_json::json!({"token": "sha256:1f2e3d4c5b6a"});
        let mut r = Record {
            http_status: Some(200),
            attempts: 2,
            elapsed_ms: 4,
            verified: Some(true),
            at: None,
            ..Record::bare("ciam", 0, target, Status::Revoked, None)
        };
        assert!(
            text_line(&r).starts_with("revoked, verified ciam token="),
            "{}",
            text_line(&r)
        );
        r.verified = None;
        r.error = Some(RecordError {
            code: "Unverified".into(),
            message: "not verified: x".into(),
            retryable: false,
        });
        assert!(
            text_line(&r).starts_with("revoked, unverified ciam"),
            "{}",
            text_line(&r)
        );
        r.verified = None;
        r.error = None;
        assert!(
            text_line(&r).starts_with("revoked         ciam"),
            "{}",
            text_line(&r)
        );
        // An already_invalid record keeps the provider's note; the checks sent for it say it
        // was meant to be verified.
        r.status = Status::AlreadyInvalid;
        r.verify_attempts = 1;
        r.error = Some(RecordError {
            code: "ACCESS_TOKEN_INVALID".into(),
            message: "x".into(),
            retryable: false,
        });
        assert!(unverifiable(&r));
        let line = text_line(&r);
        assert!(
            line.starts_with("already_invalid, unverified ciam")
                && line.contains("1 verification request,"),
            "{line}"
        );
    }

    #[test]
    fn summary_lists_nonzero_counts() {
        let mut s = Summary::default();
        s.add(Status::Revoked);
        s.add(Status::Failed);
        assert_eq!(
            summary_line("ciam", &s, 1),
            "ciam: 2 targets: 1 revoked, 1 failed; exit 1"
        );
    }
}
