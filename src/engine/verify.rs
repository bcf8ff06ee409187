//! `--verify`: proof that a revocation changed something, with the provider's own read-only
//! API. Every revoke API says success without proving anything (RFC 7009 answers 200 for a
//! token it never knew, and for another client's token it did not revoke), and an introspection
//! answer alone proves nothing either: RFC 7662 2.2 answers `active: false` for a token the
//! asking client may not see. So proof is a change observed with the same credentials: the
//! token seen alive before the revocation and dead after it (`../shared/CLI.md`, "Verification
//! is a change observed").
//!
//! - Per target ([`Verification::PerTarget`], ciam and cloudbase): one read-only request
//!   before the revocation ([`before`]) and, when it saw the token alive and the revocation
//!   answered `revoked` or `already_invalid`, one after ([`after`]), through the same attempt
//!   loop (rate limit, retries, timeout, signals) and the same scrubbing as the revocation. A
//!   token seen alive after is asked again after [`RECHECKS`] (about 5 s in all: revocation may
//!   take a moment to propagate); still alive, the record becomes `failed` with code
//!   `StillActive` and `verified: false`. A token not seen alive before is `verified: null`
//!   with the provider's reason ([`TokenCheck::unseen`]).
//! - Around the run ([`Verification::ListAfter`], identity-store): one listing before the first
//!   delete (the `--all` listing is that one) and one after the last; a deleted id listed before
//!   and not after is verified, listed after is alive, never listed before is `null`.
//! - [`Verification::Unavailable`] (smh, bi-embed): their only probes would extend a live token's
//!   life; nothing extra is sent, `verified` is `null`, and stderr says so once.
//!
//! Verification never decides whether revocations are sent: its requests never stop the run
//! (credentials refused, certificate refused: [`Label::Verify`]), and are counted in the
//! record's `verify_attempts`, not `attempts`. The run stops verifying (not revoking) when the
//! verification endpoint refuses the credentials, or gives no answer to [`SILENT_AFTER`]
//! requests in a row ([`Gate`]). A verification that cannot be answered is `verified: null`
//! with the reason in the record's `error` (code `Unverified`), never a false `true`.
//!
//! [`Verification::PerTarget`]: crate::providers::contract::Verification::PerTarget
//! [`Verification::ListAfter`]: crate::providers::contract::Verification::ListAfter
//! [`Verification::Unavailable`]: crate::providers::contract::Verification::Unavailable
//! [`TokenCheck::unseen`]: crate::providers::contract::TokenCheck::unseen

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::attempt::{Attempts, Label, OnStop, Tried};
use super::signals::StopReason;
use super::{Provider, Verdict};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::exchange;
use crate::report::record::{Record, RecordError, Status};
use crate::secret::Redactor;

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

/// After this many verification requests in a row got no answer at all (after their
/// retries), the run stops verifying: each would cost `(retries+1) x timeout` and prove nothing.
pub const SILENT_AFTER: u32 = 3;

/// Whether the run still verifies. Closed for good, with the reason every later record gives,
/// when the verification endpoint refuses the credentials or its certificate is refused (the
/// next request would fail the same way) or it gives no answer to [`SILENT_AFTER`] requests in
/// a row. Revocations go on either way.
#[derive(Default)]
pub(crate) struct Gate {
    closed: std::sync::OnceLock<String>,
    silent_in_a_row: AtomicU32,
}

impl Gate {
    /// Why the run no longer verifies, if it does not.
    pub fn closed(&self) -> Option<&str> {
        self.closed.get().map(String::as_str)
    }

    /// A verification request's result: an answer of any kind resets the silence count; a
    /// credentials refusal, or the last of [`SILENT_AFTER`] silences in a row, closes the gate
    /// (said once on stderr).
    fn observe<T>(&self, result: &Result<T, ApiError>, secrets: &[&str]) {
        let e = match result {
            Err(e) => e,
            Ok(_) => {
                self.silent_in_a_row.store(0, Relaxed);
                return;
            }
        };
        let said = Redactor::global().scrub_with(&e.to_string(), secrets);
        let why = if e.kind() == ErrorKind::Credentials {
            format!("the verification endpoint refused the credentials ({said})")
        } else if e.kind() == ErrorKind::Certificate {
            // The same handshake fails the same way for every check.
            format!("the verification endpoint's TLS certificate was refused ({said})")
        } else if matches!(e, ApiError::Send { silent: true, .. }) {
            let n = self.silent_in_a_row.fetch_add(1, Relaxed) + 1;
            if n < SILENT_AFTER {
                return;
            }
            format!("the verification endpoint gave no answer to {n} requests in a row ({said})")
        } else {
            self.silent_in_a_row.store(0, Relaxed);
            return;
        };
        if self
            .closed
            .set(format!(
                "not verified: {why}; verification was stopped for the rest of the run"
            ))
            .is_ok()
        {
            crate::report::logging::say(&format!(
                "revoke: warning: --verify: {why}: verification stops here; the revocations go on, and the records that follow say \"verified\": null"
            ));
        }
    }
}

/// What the check before the revocation saw.
pub(crate) enum Before {
    /// The token alive: the check after the revocation can prove it.
    Alive,
    /// Not seen alive, or the check could not say: the record's `verified: null` reason.
    Unseen(String),
}

/// What the checks about one target share.
pub(crate) struct Check<'a, P: Provider> {
    pub provider: &'a P,
    pub attempts: &'a Attempts,
    pub gate: &'a Gate,
    pub index: u64,
    pub job: &'a P::Job,
    pub secrets: &'a [&'a str],
}

/// One verification request about the target's token, through the attempt loop; its attempts
/// are added to `count`. A stop drops it (it changes nothing).
async fn ask<P: Provider>(
    check: &Check<'_, P>,
    count: &mut u32,
) -> Result<Result<Verdict, ApiError>, StopReason> {
    let Check {
        provider,
        attempts,
        gate,
        index,
        job,
        secrets,
    } = *check;
    let transport = &attempts.transport;
    let tried = attempts
        .run(
            Label::Verify(index),
            secrets,
            OnStop::Abandon,
            |now| async move {
                let verification = provider.verification();
                let Some(check) = verification.check() else {
                    return Err(ApiError::Build {
                        message: "this provider has no per-target check".into(),
                    });
                };
                let request = check.verify_request(job, now)?;
                let scrub = request.scrubber();
                exchange(transport, &request, |answer| {
                    check.read_verdict(job, answer).map(|v| match v {
                        Verdict::Unknown(why) => Verdict::Unknown(scrub.text(&why)),
                        v => v,
                    })
                })
                .await
            },
        )
        .await;
    match tried {
        Tried::Done { result, attempts } => {
            *count += attempts;
            gate.observe(&result, secrets);
            Ok(result)
        }
        Tried::Stopped(reason) => Err(reason),
        // Only a request that is waited for on a stop is abandoned (not this one).
        Tried::Abandoned => Err(StopReason::Interrupted),
    }
}

fn stopped(reason: StopReason) -> String {
    match reason {
        StopReason::Interrupted => "not verified: the run was interrupted".into(),
        _ => "not verified: the run was stopped".into(),
    }
}

/// The check before the revocation of `job` (per-target providers).
pub(crate) async fn before<P: Provider>(check: &Check<'_, P>, count: &mut u32) -> Before {
    if let Some(why) = check.gate.closed() {
        return Before::Unseen(why.to_string());
    }
    match ask(check, count).await {
        Ok(Ok(Verdict::Alive)) => Before::Alive,
        Ok(Ok(Verdict::Dead)) => Before::Unseen(format!(
            "not verified: {}",
            check
                .provider
                .verification()
                .check()
                .map(|c| c.unseen())
                .unwrap_or_default()
        )),
        Ok(Ok(Verdict::Unknown(why))) => Before::Unseen(format!(
            "not verified: the check before the revocation did not say whether the token was alive: {why}"
        )),
        Ok(Err(e)) => Before::Unseen(format!(
            "not verified: the check before the revocation failed: {e}"
        )),
        Err(reason) => Before::Unseen(stopped(reason)),
    }
}

/// The check after the revocation (per-target providers), updating `record`: `verified: true`
/// only for a token seen alive `before` and dead now.
pub(crate) async fn after<P: Provider>(check: &Check<'_, P>, before: Before, record: &mut Record) {
    if let Before::Unseen(why) = before {
        // Nothing after the revocation can prove it: the token was never seen alive.
        unverified(record, why);
        return;
    }
    let mut waits = RECHECKS.iter();
    loop {
        if let Some(why) = check.gate.closed() {
            unverified(record, why.to_string());
            return;
        }
        let mut count = 0;
        let asked = ask(check, &mut count).await;
        record.verify_attempts += count;
        match asked {
            Ok(Ok(Verdict::Dead)) => {
                record.verified = Some(true);
                return;
            }
            Ok(Ok(Verdict::Alive)) => match waits.next() {
                Some(wait) => {
                    let stopped = tokio::select! {
                        biased;
                        _ = check.attempts.stop.wait() => true,
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
            Ok(Ok(Verdict::Unknown(why))) => {
                unverified(record, format!("not verified: {why}"));
                return;
            }
            Ok(Err(e)) => {
                unverified(record, format!("not verified: {e}"));
                return;
            }
            Err(reason) => {
                unverified(record, stopped(reason));
                return;
            }
        }
    }
}
