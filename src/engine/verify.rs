//! `--verify`: after a revocation, ask the provider, with its own read-only API, whether the
//! token is really dead. Every revoke API says success without proving anything (RFC 7009
//! answers 200 for a token it never knew); a verified record is the evidence.
//!
//! - Per target ([`Verification::PerTarget`], ciam and cloudbase): one read-only request after a
//!   `revoked` or `already_invalid` answer, through the same attempt loop (rate limit, retries,
//!   timeout, signals) and the same scrubbing as the revocation. A token seen alive is asked again
//!   after [`RECHECKS`] (about 5 s in all: revocation may take a moment to propagate); still
//!   alive, the record becomes `failed` with code `StillActive` and `verified: false`.
//! - After the run ([`Verification::ListAfter`], identity-store): one listing after every delete;
//!   a deleted id still listed is alive. The records of such a run are written after that list.
//! - [`Verification::Unavailable`] (smh, bi-embed): their only probes would extend a live token's
//!   life; nothing extra is sent, `verified` is `null`, and stderr says so once.
//!
//! A verification that cannot be answered (an error, an answer that says neither) is `verified:
//! null` with the reason in the record's `error` (code `Unverified`), never a false `true`.

use std::time::Duration;

use super::Provider;
use super::attempt::{Attempts, Label, OnStop, Tried, exchange};
use super::signals::StopReason;
use crate::record::{Record, RecordError, Status};

/// How a provider proves a revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// One read-only request per target.
    PerTarget,
    /// One request first to find where to verify (OpenID discovery), then per target.
    Discover,
    /// One listing after the run's deletes.
    ListAfter,
    /// No read-only check exists: the reason.
    Unavailable(&'static str),
}

/// What a verification answer says about one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Dead,
    Alive,
    /// The answer does not say: why.
    Unknown(String),
}

/// The waits before asking again about a token seen alive: about 5 s in all.
pub const RECHECKS: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_millis(1000),
    Duration::from_millis(1500),
    Duration::from_millis(2000),
];

/// Whether a record is one to verify: the provider said the token is revoked or was invalid.
pub fn wanted(record: &Record) -> bool {
    matches!(record.status, Status::Revoked | Status::AlreadyInvalid)
}

/// Marks `record` unverifiable, with the reason.
pub fn unverified(record: &mut Record, reason: String) {
    record.verified = None;
    if record.error.is_none() {
        record.error = Some(RecordError {
            code: "Unverified".into(),
            message: reason,
            retryable: false,
        });
    }
}

/// Marks `record` as a token still alive after its rechecks.
pub fn still_active(record: &mut Record, how: &str) {
    record.verified = Some(false);
    record.status = Status::Failed;
    record.error = Some(RecordError {
        code: "StillActive".into(),
        message: format!(
            "the provider accepted the revocation, but {how} still shows the token alive after {:.0} s",
            RECHECKS.iter().map(Duration::as_secs_f64).sum::<f64>()
        ),
        retryable: false,
    });
}

/// Verifies one target's token (per-target providers), updating its record.
pub(crate) async fn one<P: Provider>(
    provider: &P,
    attempts: &Attempts,
    index: u64,
    job: &P::Job,
    secrets: &[&str],
    record: &mut Record,
) {
    let transport = &attempts.transport;
    let mut waits = RECHECKS.iter();
    loop {
        let tried = attempts
            .run(
                Label::Target(index),
                secrets,
                OnStop::Finish,
                |now| async move {
                    let request = provider.verify_request(job, now)?;
                    let scrub = request.scrubber();
                    exchange(transport, &request, |answer| {
                        provider.read_verdict(job, answer).map(|v| match v {
                            Verdict::Unknown(why) => Verdict::Unknown(scrub.text(&why)),
                            v => v,
                        })
                    })
                    .await
                },
            )
            .await;
        record.attempts += match &tried {
            Tried::Done { attempts, .. } => *attempts,
            Tried::Stopped(_) => 0,
            Tried::Abandoned => 1,
        };
        match tried {
            Tried::Done {
                result: Ok(Verdict::Dead),
                ..
            } => {
                record.verified = Some(true);
                return;
            }
            Tried::Done {
                result: Ok(Verdict::Alive),
                ..
            } => match waits.next() {
                Some(wait) => {
                    let stopped = tokio::select! {
                        biased;
                        _ = attempts.stop.wait() => true,
                        _ = tokio::time::sleep(*wait) => false,
                    };
                    if stopped {
                        unverified(
                            record,
                            "not verified: the run was stopped while the token still showed alive"
                                .into(),
                        );
                        return;
                    }
                }
                None => {
                    still_active(record, "its verification");
                    return;
                }
            },
            Tried::Done {
                result: Ok(Verdict::Unknown(why)),
                ..
            } => {
                unverified(record, format!("not verified: {why}"));
                return;
            }
            Tried::Done { result: Err(e), .. } => {
                unverified(record, format!("not verified: {e}"));
                return;
            }
            Tried::Abandoned => {
                unverified(
                    record,
                    "not verified: abandoned at a second interrupt".into(),
                );
                return;
            }
            Tried::Stopped(reason) => {
                let why = match reason {
                    StopReason::Interrupted => "the run was interrupted",
                    _ => "the run was stopped",
                };
                unverified(record, format!("not verified: {why}"));
                return;
            }
        }
    }
}
