//! The retry *policy*: how long to wait before the next attempt. Whether a failure is
//! retryable at all is decided by [`crate::error::ErrorKind`]; this module only times it.
//!
//! Exponential backoff with full jitter (the AWS architecture blog's "Full Jitter"):
//! `sleep = random_between(0, min(cap, base * 2^(attempt-1)))`, base 200 ms, cap 20 s,
//! unless the server said `Retry-After`, which is honoured as given.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`--retries`).
    pub retries: u32,
    pub base: Duration,
    pub cap: Duration,
    /// A `Retry-After` longer than this is not waited for: the target fails now, with the
    /// server's answer, instead of holding the run for hours.
    pub max_retry_after: Duration,
    /// The most a target waits in all while the server keeps throttling it (its backoffs,
    /// `Retry-After`s and the rate limit's waits between its attempts): past it, the target
    /// fails with the throttled answer instead of holding the run (`--rate auto` retries
    /// throttled answers without counting them against `--retries`, so this is its bound).
    pub max_throttled_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(300),
            max_throttled_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the jittered wait after failed attempt number `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// The wait before the next attempt, or `None` when no further attempt should be made.
    /// `unit` is a uniform random number in `[0, 1)`.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        if attempt > self.retries {
            return None;
        }
        match retry_after {
            Some(d) if d > self.max_retry_after => None,
            Some(d) => Some(d),
            None => Some(self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let p = RetryPolicy::default();
        let ms: Vec<u128> = (1..=10).map(|a| p.ceiling(a).as_millis()).collect();
        assert_eq!(
            ms,
            [200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000, 20000]
        );
        assert_eq!(p.ceiling(1000), Duration::from_secs(20));
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, None, 0.0), Some(Duration::ZERO));
        assert_eq!(p.delay(2, None, 0.5), Some(Duration::from_millis(200)));
        for _ in 0..1000 {
            let d = p.delay(3, None, fastrand::f64()).unwrap();
            assert!(d <= Duration::from_millis(800));
        }
    }

    #[test]
    fn attempts_are_bounded_by_retries() {
        let p = RetryPolicy {
            retries: 2,
            ..RetryPolicy::default()
        };
        assert!(p.delay(1, None, 0.1).is_some());
        assert!(p.delay(2, None, 0.1).is_some());
        assert_eq!(p.delay(3, None, 0.1), None);
        let none = RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(none.delay(1, None, 0.1), None);
    }

    #[test]
    fn retry_after_is_honoured_unless_absurd() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7)), 0.9),
            Some(Duration::from_secs(7))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600)), 0.9), None);
    }
}
