//! The per-target record and the run summary (the exit code they make is `crate::report::exit`'s).
//!
//! Field order and names follow the contract's JSON record exactly (`../shared/CLI.md`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Revoked,
    AlreadyInvalid,
    NotFound,
    Failed,
    Skipped,
    Planned,
}

impl Status {
    /// Every status, in the contract's order (the summary's, and the packed indexes' codes).
    pub const ALL: [Status; 6] = [
        Status::Revoked,
        Status::AlreadyInvalid,
        Status::NotFound,
        Status::Failed,
        Status::Skipped,
        Status::Planned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Revoked => "revoked",
            Status::AlreadyInvalid => "already_invalid",
            Status::NotFound => "not_found",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Planned => "planned",
        }
    }

    /// Whether a target with this status is done for good (a rerun with a journal skips it).
    pub fn is_success(self, missing_ok: bool) -> bool {
        match self {
            Status::Revoked | Status::AlreadyInvalid | Status::Planned => true,
            Status::NotFound => missing_ok,
            Status::Failed | Status::Skipped => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordError {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl RecordError {
    pub fn from_api(err: &ApiError) -> Self {
        RecordError {
            code: err.code(),
            message: err.message(),
            retryable: err.retryable(),
        }
    }
}

/// One finished target, as printed (`--output json`) and journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub provider: String,
    pub index: u64,
    pub target: Value,
    pub status: Status,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub request_id: Option<String>,
    pub data: Option<Value>,
    pub error: Option<RecordError>,
    pub elapsed_ms: u64,
    /// `--verify`: the provider said the token is dead (`true`), still alive (`false`), or it
    /// was not asked or could not say (`null`).
    #[serde(default)]
    pub verified: Option<bool>,
    /// `--verify`: the verification requests sent for this target (before and after the
    /// revocation, retries and rechecks included); never counted in `attempts`.
    #[serde(default)]
    pub verify_attempts: u32,
    /// When an earlier run with this journal got the answer this record repeats (RFC 3339):
    /// the target was not sent again. `None` when it was sent (or planned) in this run.
    #[serde(default)]
    pub from_journal: Option<String>,
    /// Where the target came from: `FILE:LINE` (lines counted from 1, blank and comment lines
    /// included), `stdin:LINE` or `arg:N` (1-based); `null` for a target the provider listed.
    #[serde(default)]
    pub source: Option<String>,
    /// When the target's answer came, or when it was skipped or planned: UTC, RFC 3339 with
    /// milliseconds.
    #[serde(default)]
    pub at: Option<String>,
    /// `--ticket`: the change ticket the run belongs to, stamped by the sink.
    #[serde(default)]
    pub ticket: Option<String>,
    /// `--actor`: who ran it (by default the login name), stamped by the sink.
    #[serde(default)]
    pub actor: Option<String>,
    /// `revoke token`: where the token was sent and why (`provider`, `context`, `issuer`,
    /// `matched_by`); absent in any other run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Value>,
    /// `revoke token`: when the token said it expires (its JWT `exp`), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `revoke token --findings`: the scanner's finding the token came from (`file`, `line`,
    /// `commit`, `rule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Value>,
    /// The row of `revoke apply --each` the record belongs to, stamped by the sink; absent
    /// (not `null`) in any other run, whose records are the contract's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<RowTag>,
}

/// A row of `revoke apply --each FILE.csv`: `{"line":N,"key":".."}`, its line in the file and
/// its first column's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowTag {
    pub line: usize,
    pub key: String,
}

impl RowTag {
    /// The row with its key scrubbed, as the records' `row` is (`scrub::clean`): a first
    /// column can hold a secret of the row (its client secret, a token of another step).
    pub fn shown(&self) -> RowTag {
        RowTag {
            line: self.line,
            key: crate::secret::Redactor::global()
                .scrub(&self.key)
                .into_owned(),
        }
    }
}

impl Record {
    /// A record of a target no request answered (refused, skipped, planned): `at` now, no
    /// attempt, no answer.
    pub fn bare(
        provider: &str,
        index: u64,
        target: Value,
        status: Status,
        error: Option<RecordError>,
    ) -> Record {
        Record {
            provider: provider.to_string(),
            index,
            target,
            status,
            http_status: None,
            attempts: 0,
            request_id: None,
            data: None,
            error,
            elapsed_ms: 0,
            verified: None,
            verify_attempts: 0,
            from_journal: None,
            source: None,
            at: Some(now()),
            ticket: None,
            actor: None,
            route: None,
            expires_at: None,
            finding: None,
            row: None,
        }
    }

    /// The record with its `source`.
    pub fn from(mut self, source: Option<String>) -> Record {
        self.source = source;
        self
    }
}

/// The time now as a record's `at`: `2026-12-04T21:36:05.123Z`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: u64,
    pub revoked: u64,
    pub already_invalid: u64,
    pub not_found: u64,
    pub failed: u64,
    pub skipped: u64,
    pub planned: u64,
    /// Of the above, the targets an earlier run finished (per the journal), not sent again.
    #[serde(default)]
    pub from_journal: u64,
    /// Of the above, the targets sent in this run (at least one attempt): for the text summary.
    #[serde(skip)]
    pub sent: u64,
}

impl Summary {
    /// Counts one record: its status, whether it came from the journal, whether it was sent.
    pub fn count(&mut self, record: &Record) {
        self.add(record.status);
        if record.from_journal.is_some() {
            self.from_journal += 1;
        }
        if record.attempts > 0 {
            self.sent += 1;
        }
    }

    pub fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Revoked => self.revoked += 1,
            Status::AlreadyInvalid => self.already_invalid += 1,
            Status::NotFound => self.not_found += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
            Status::Planned => self.planned += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_serializes_in_contract_order() {
        let r = Record {
            provider: "ciam".into(),
            index: 0,
            target: serde_json::json!({"token": "sha256:1f2e3d4c5b6a"}),
            status: Status::Revoked,
            http_status: Some(200),
            attempts: 1,
            request_id: None,
            data: None,
            error: None,
            elapsed_ms: 4,
            verified: None,
            verify_attempts: 0,
            from_journal: None,
            source: Some("tokens.txt:3".into()),
            at: Some("2026-12-04T21:36:05.123Z".into()),
            ticket: None,
            actor: None,
            route: None,
            expires_at: None,
            finding: None,
            row: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"provider":"ciam","index":0,"target":{"token":"sha256:1f2e3d4c5b6a"},"status":"revoked","http_status":200,"attempts":1,"request_id":null,"data":null,"error":null,"elapsed_ms":4,"verified":null,"verify_attempts":0,"from_journal":null,"source":"tokens.txt:3","at":"2026-12-04T21:36:05.123Z","ticket":null,"actor":null}"#
        );
    }
}
