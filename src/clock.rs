//! The time requests are signed with, corrected by the server's `Date` header when the server
//! says our clock is off.
//!
//! Tencent Cloud refuses a TC3 signature whose `X-TC-Timestamp` is more than five minutes from
//! its own time (`AuthFailure.SignatureExpire`); Huawei's API gateway refuses an `X-Sdk-Date`
//! more than fifteen minutes off. Neither vendor's SDK corrects for it; the AWS SDKs do, from
//! the `Date` header of the answer, and so does `revoke`: every answer's `Date` is noted here,
//! and when an answer says the signature's time is off, the engine calls [`Clock::correct`] and
//! re-signs once with the corrected time, which is then kept for the rest of the run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// Offsets smaller than this are not worth a correction (`Date` has a one-second resolution and
/// the answer took some time to arrive).
pub const NEGLIGIBLE_MS: i64 = 2_000;

/// A skew this large with a Huawei authentication error means the clock, not the key: the gateway
/// allows 15 minutes, so a correct key with a correct clock never sees it.
pub const HUAWEI_SKEW_MS: i64 = 60_000;

#[derive(Default)]
pub struct Clock {
    /// Server time minus local time, in ms, from the latest answer with a `Date` header.
    observed: Mutex<Option<i64>>,
    /// The correction in use, in ms.
    applied: AtomicI64,
    corrected: AtomicBool,
}

impl Clock {
    /// The time to sign with.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.applied.load(Ordering::Relaxed))
    }

    /// Notes the `Date` header of an answer received at `local`.
    pub fn observe(&self, date: &str, local: DateTime<Utc>) {
        let Ok(server) = DateTime::parse_from_rfc2822(date.trim()) else {
            return;
        };
        let offset = (server.with_timezone(&Utc) - local).num_milliseconds();
        *self.observed.lock().unwrap_or_else(|e| e.into_inner()) = Some(offset);
    }

    /// Server time minus local time, as last seen.
    pub fn observed(&self) -> Option<i64> {
        *self.observed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a correction is in use.
    pub fn is_corrected(&self) -> bool {
        self.corrected.load(Ordering::Relaxed)
    }

    /// After an answer saying the signature's time is off: adopts the observed offset, once per
    /// run. Returns the line to say on stderr, or `None` when there is nothing to correct with
    /// (no `Date` seen, a negligible offset, or already corrected): the error then stands.
    pub fn correct(&self) -> Option<String> {
        let offset = self.observed()?;
        if offset.abs() < NEGLIGIBLE_MS || self.corrected.swap(true, Ordering::Relaxed) {
            return None;
        }
        self.applied.store(offset, Ordering::Relaxed);
        Some(format!(
            "local clock is {} {} the server's; corrected",
            human(offset.unsigned_abs()),
            if offset > 0 { "behind" } else { "ahead of" }
        ))
    }
}

/// `10m12s`, `2h03m`, `45s`.
pub fn human(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_clock_ten_minutes_behind_is_corrected_once() {
        let c = Clock::default();
        assert_eq!(c.correct(), None, "nothing observed yet");
        c.observe("Thu, 03 Dec 2026 06:35:13 GMT", at("2026-12-03T06:25:01Z"));
        assert_eq!(c.observed(), Some(612_000));
        assert_eq!(
            c.correct().as_deref(),
            Some("local clock is 10m12s behind the server's; corrected")
        );
        assert!(c.is_corrected());
        let skew = (c.now() - Utc::now()).num_seconds();
        assert!((611..=613).contains(&skew), "{skew}");
        assert_eq!(c.correct(), None, "said once");
    }

    #[test]
    fn ahead_and_negligible_offsets() {
        let c = Clock::default();
        c.observe("Thu, 03 Dec 2026 06:00:00 GMT", at("2026-12-03T08:03:30Z"));
        assert_eq!(
            c.correct().as_deref(),
            Some("local clock is 2h03m ahead of the server's; corrected")
        );
        let c = Clock::default();
        c.observe("Thu, 03 Dec 2026 06:00:01 GMT", at("2026-12-03T06:00:00Z"));
        assert_eq!(c.correct(), None);
        let c = Clock::default();
        c.observe("not a date", Utc::now());
        assert_eq!(c.observed(), None);
    }
}
