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

/// The largest correction taken from a server's `Date` (CLI.md, "Clock correction is bounded").
/// Tencent allows 5 minutes and Huawei 15; a machine's clock a day off is already rare, and a
/// `Date` of 1900 or 9999 is a hostile or broken server, whose time must not be signed into a
/// request (a signature dated in the future stays valid until then wherever it is replayed).
pub const MAX_CORRECTION_MS: i64 = 24 * 3600 * 1000;

/// The latest `Date` seen: the server's time and ours when its answer came.
#[derive(Debug, Clone, Copy)]
struct Seen {
    server: DateTime<Utc>,
    local: DateTime<Utc>,
}

impl Seen {
    fn offset(&self) -> i64 {
        (self.server - self.local).num_milliseconds()
    }
}

/// What [`Clock::correct`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correction {
    /// The correction is in use from now on; the line to say on stderr.
    Corrected(String),
    /// Nothing to correct with: no `Date` seen, a negligible offset, or already corrected.
    Nothing,
    /// The server's `Date` is more than [`MAX_CORRECTION_MS`] from the local clock: not used.
    /// Why, naming both times.
    Refused(String),
}

#[derive(Default)]
pub struct Clock {
    /// The latest answer with a `Date` header.
    observed: Mutex<Option<Seen>>,
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
        *self.observed.lock().unwrap_or_else(|e| e.into_inner()) = Some(Seen {
            server: server.with_timezone(&Utc),
            local,
        });
    }

    fn seen(&self) -> Option<Seen> {
        *self.observed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Server time minus local time, as last seen.
    pub fn observed(&self) -> Option<i64> {
        self.seen().map(|s| s.offset())
    }

    /// Whether a correction is in use.
    pub fn is_corrected(&self) -> bool {
        self.corrected.load(Ordering::Relaxed)
    }

    /// After an answer saying the signature's time is off: adopts the observed offset, once per
    /// run, when it is within [`MAX_CORRECTION_MS`]. Otherwise, or with nothing to correct
    /// with, the error stands, and the time signed stays the local clock's.
    pub fn correct(&self) -> Correction {
        let Some(seen) = self.seen() else {
            return Correction::Nothing;
        };
        let offset = seen.offset();
        if offset.abs() > MAX_CORRECTION_MS {
            return Correction::Refused(format!(
                "the server's Date ({}) is {} {} the local clock ({}): more than 24 h, so it is not used to sign; check the local clock (date -u) and what answers at the endpoint",
                seen.server.format("%Y-%m-%d %H:%M:%S UTC"),
                human(offset.unsigned_abs()),
                if offset > 0 { "ahead of" } else { "behind" },
                seen.local.format("%Y-%m-%d %H:%M:%S UTC"),
            ));
        }
        if offset.abs() < NEGLIGIBLE_MS || self.corrected.swap(true, Ordering::Relaxed) {
            return Correction::Nothing;
        }
        self.applied.store(offset, Ordering::Relaxed);
        Correction::Corrected(format!(
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
        assert_eq!(c.correct(), Correction::Nothing, "nothing observed yet");
        c.observe("Thu, 03 Dec 2026 06:35:13 GMT", at("2026-12-03T06:25:01Z"));
        assert_eq!(c.observed(), Some(612_000));
        assert_eq!(
            c.correct(),
            Correction::Corrected("local clock is 10m12s behind the server's; corrected".into())
        );
        assert!(c.is_corrected());
        let skew = (c.now() - Utc::now()).num_seconds();
        assert!((611..=613).contains(&skew), "{skew}");
        assert_eq!(c.correct(), Correction::Nothing, "said once");
    }

    #[test]
    fn ahead_and_negligible_offsets() {
        let c = Clock::default();
        c.observe("Thu, 03 Dec 2026 06:00:00 GMT", at("2026-12-03T08:03:30Z"));
        assert_eq!(
            c.correct(),
            Correction::Corrected("local clock is 2h03m ahead of the server's; corrected".into())
        );
        let c = Clock::default();
        c.observe("Thu, 03 Dec 2026 06:00:01 GMT", at("2026-12-03T06:00:00Z"));
        assert_eq!(c.correct(), Correction::Nothing);
        let c = Clock::default();
        c.observe("not a date", Utc::now());
        assert_eq!(c.observed(), None);
    }

    #[test]
    fn a_date_more_than_a_day_off_is_never_used() {
        for (date, local, direction) in [
            (
                "Mon, 01 Jan 1900 00:00:00 GMT",
                "2026-12-03T06:00:00Z",
                "behind",
            ),
            (
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "2026-12-03T06:00:00Z",
                "ahead of",
            ),
            (
                "Fri, 04 Dec 2026 06:00:01 GMT",
                "2026-12-03T06:00:00Z",
                "ahead of",
            ),
        ] {
            let c = Clock::default();
            c.observe(date, at(local));
            let Correction::Refused(why) = c.correct() else {
                panic!("{date} corrected");
            };
            assert!(why.contains(direction), "{why}");
            assert!(
                why.contains("2026-12-03 06:00:00 UTC"),
                "local time named: {why}"
            );
            assert!(why.contains(&date[12..16]), "server time named: {why}");
            assert!(!c.is_corrected());
            assert!(
                (c.now() - Utc::now()).num_seconds().abs() <= 1,
                "still local time"
            );
        }
        // Just within a day: corrected.
        let c = Clock::default();
        c.observe("Thu, 03 Dec 2026 05:59:59 GMT", at("2026-12-02T06:00:00Z"));
        assert!(matches!(c.correct(), Correction::Corrected(_)));
    }
}
