//! The run-wide rate limit: at most N requests per second, retries included, spread evenly.
//!
//! Each request takes the next slot of a fixed schedule (`interval = 1/N`, a little more: see
//! [`SAFETY`]), so there is never a burst: any one-second window holds at most N starts. The
//! clock is tokio's, so paused-clock tests run instantly.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Slots are spaced 3% wider than 1/N. With exact spacing, a window of exactly one second that
/// starts on a request also ends on one (N+1 starts), and any jitter between our send and the
/// server's clock (a late wake-up on either side) squeezes N+1 requests into one second. At 20/s
/// the margin absorbs 30 ms of jitter; with 2% (20 ms) the bench saw one throttled answer in a
/// run beside other load. 3% still keeps about 97% of the allowed rate in use.
pub const SAFETY: f64 = 1.03;

/// How early a slot may be taken without waiting: the timer's resolution (at spacings below
/// [`FINE_FROM`]).
const EARLY: Duration = Duration::from_millis(1);

/// From this spacing up (rates up to 5,000/s), a request waits for its slot to the tens of
/// microseconds, and never follows the one before it closer than 1/N: tokio's timer wakes at
/// the first millisecond tick at or after a deadline, so slots 3.4 ms apart went out 3 or
/// 4 ms apart, and a bucket one request deep at 300/s throttles every request 3 ms after the
/// last. Below it (thousands per second), requests within [`EARLY`] of their slot go at once:
/// a wait per request would cost more than the bursts of a millisecond it avoids.
const FINE_FROM: Duration = Duration::from_micros(200);

/// `--rate`: a fixed cap, none, or found by the run itself ([`crate::engine::pace::adaptive`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// At most N requests per second.
    Fixed(f64),
    /// `--rate 0`.
    Unlimited,
    /// `--rate auto`: start low, learn the server's limit from its throttling answers.
    Auto,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::Fixed(n) => write!(f, "{n}/s"),
            Rate::Unlimited => f.write_str("unlimited"),
            Rate::Auto => f.write_str("auto"),
        }
    }
}

pub struct RateLimiter {
    /// Nanoseconds between slots; changed by `--rate auto` as it learns.
    interval: AtomicU64,
    next: Mutex<Option<Instant>>,
    /// Bumped when the rate is cut: slots reserved at the old spacing are taken again.
    cuts: tokio::sync::watch::Sender<u64>,
    /// When the last request went (at spacings from [`FINE_FROM`] up).
    last: Mutex<Option<Instant>>,
    /// Whether waits finer than tokio's tick are made ([`RateLimiter::fine`]).
    fine: bool,
}

fn nanos(per_second: f64) -> u64 {
    Duration::from_secs_f64(SAFETY / per_second).as_nanos() as u64
}

impl RateLimiter {
    /// `None` for a rate of 0 (unlimited).
    pub fn new(per_second: f64) -> Option<RateLimiter> {
        if per_second <= 0.0 || !per_second.is_finite() {
            return None;
        }
        Some(RateLimiter {
            interval: AtomicU64::new(nanos(per_second)),
            next: Mutex::new(None),
            cuts: tokio::sync::watch::channel(0).0,
            last: Mutex::new(None),
            fine: false,
        })
    }

    /// Waits to the operating system's precision ([`FINE_FROM`]): the engine's limiter. Not on
    /// tokio's paused clock (tests), which has only its millisecond ticks and would not move
    /// while a blocking thread sleeps.
    pub fn fine(mut self) -> RateLimiter {
        self.fine = true;
        self
    }

    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval.load(Ordering::Relaxed))
    }

    /// A new rate (`--rate auto`): the slots already reserved are re-spaced, every request
    /// waiting for one takes a new slot at the new spacing.
    pub fn set_rate(&self, per_second: f64) {
        if !(per_second > 0.0 && per_second.is_finite()) {
            return;
        }
        let new = nanos(per_second);
        let old = self.interval.swap(new, Ordering::Relaxed);
        if new != old {
            // Either way the requests waiting hold slots spaced for the old rate: after a cut
            // they would go above the limit just found, after a raise they would keep the run
            // at the old pace for as long as they take to drain.
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            // One new interval from now: a request may have just taken a slot, and the next
            // one must not follow it closer than the spacing (an empty bucket throttles it).
            *next = Some(Instant::now() + Duration::from_nanos(new));
            self.cuts.send_modify(|n| *n += 1);
        }
    }

    /// Reserves the next slot and waits for it (again, if the rate is cut meanwhile); returns
    /// when the request may go.
    pub async fn acquire(&self) -> Instant {
        let mut cuts = self.cuts.subscribe();
        loop {
            let slot = {
                let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let slot = match *next {
                    Some(n) if n > now => n,
                    _ => now,
                };
                *next = Some(slot + self.interval());
                // A change from now on comes after this slot was reserved (`set_rate` takes
                // the same lock): it is waited for below.
                cuts.mark_unchanged();
                slot
            };
            let interval = self.interval();
            let fine = self.fine && interval >= FINE_FROM;
            if !fine && slot <= Instant::now() + EARLY {
                // Free now, or within the timer's resolution: no timer (tokio rounds a sleep up
                // to its next millisecond tick, which at thousands per second would throttle
                // the run itself). The schedule stays absolute, so being early never adds up.
                return Instant::now();
            }
            // tokio's timer wakes at the first tick at or after the deadline: a fine wait asks
            // for one tick early, and waits the rest itself.
            let coarse = if fine {
                slot.checked_sub(EARLY).unwrap_or(slot)
            } else {
                slot
            };
            if coarse > Instant::now() {
                tokio::select! {
                    biased;
                    _ = tokio::time::sleep_until(coarse) => {}
                    _ = cuts.changed() => continue,
                }
            }
            if fine {
                match self.exactly(slot, &mut cuts).await {
                    Some(at) => return at,
                    // The rate changed meanwhile: a slot at the new spacing.
                    None => continue,
                }
            }
            return Instant::now();
        }
    }

    /// Waits until `slot` and until `gap` after the last request, to the operating system's
    /// precision: a blocking thread's sleep (tens of microseconds), not tokio's millisecond
    /// tick. The schedule stays absolute; only a request that would follow a late one closer
    /// than `gap` (1/N) waits longer, so a late wake-up is never made up by a burst.
    /// `None` when the rate changed meanwhile (the slot was reserved at the old spacing: sent
    /// after a cut, it would be throttled, and tell `--rate auto` that the new rate is too
    /// fast too).
    async fn exactly(
        &self,
        slot: Instant,
        cuts: &mut tokio::sync::watch::Receiver<u64>,
    ) -> Option<Instant> {
        loop {
            if cuts.has_changed().unwrap_or(false) {
                return None;
            }
            let gap = self.interval().div_f64(SAFETY);
            let now = Instant::now();
            let at = {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                let at = match *last {
                    Some(l) => slot.max(l + gap),
                    None => slot,
                };
                if now >= at {
                    *last = Some(now);
                    return Some(now);
                }
                at
            };
            let left = at - now;
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(left)).await;
            if Instant::now() == now {
                // tokio's clock did not move while a thread slept: it is paused (a test of
                // the engine), and moves by its own timer only.
                tokio::time::sleep_until(at).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// 40 requests waiting at 100/s, then the rate is cut to 10/s: the waiting ones are
    /// re-spaced at 10/s, not sent at the old spacing.
    #[tokio::test(start_paused = true)]
    async fn a_cut_respaces_the_slots_already_reserved() {
        let limiter = Arc::new(RateLimiter::new(100.0).unwrap());
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..40 {
            let l = limiter.clone();
            handles.push(tokio::spawn(async move {
                l.acquire().await;
                Instant::now() - start
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        limiter.set_rate(10.0);
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap());
        }
        times.sort();
        // About 5 went out in the first 50 ms; in the next second, at most 10 (+1 edge).
        let next_second = times
            .iter()
            .filter(|t| **t > Duration::from_millis(50) && **t <= Duration::from_millis(1050))
            .count();
        assert!(
            next_second <= 11,
            "{next_second} in the second after the cut: {times:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_of_one_second_holds_more_than_the_rate() {
        let limiter = Arc::new(RateLimiter::new(20.0).unwrap());
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..200 {
            let l = limiter.clone();
            handles.push(tokio::spawn(async move {
                l.acquire().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap() - start);
        }
        times.sort();
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u - *t <= Duration::from_secs(1))
                .count();
            assert!(in_window <= 20, "{in_window} starts within 1 s of {t:?}");
        }
        let total = times.last().unwrap().as_secs_f64();
        // 199 intervals of 51.5 ms: the rate used is 199/10.25 = 19.4/s, 97% of 20.
        let used = 199.0 / total / 20.0;
        assert!(used > 0.95, "only {used:.3} of the allowed rate used");
    }

    /// On the real clock (a paused one has only millisecond ticks): 300/s, 64 requests
    /// waiting, none goes out closer than 1/300 s after the one before it, where tokio's
    /// ticks sent every other one 3 ms after the last (a bucket one request deep throttles
    /// those), and the rate stays about 300/s.
    #[tokio::test]
    async fn no_request_follows_the_last_closer_than_one_over_the_rate() {
        let limiter = Arc::new(RateLimiter::new(300.0).unwrap().fine());
        let times = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for _ in 0..64 {
            let (l, times) = (limiter.clone(), times.clone());
            handles.push(tokio::spawn(async move {
                for _ in 0..2 {
                    let at = l.acquire().await;
                    times.lock().unwrap().push(at);
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let mut times = times.lock().unwrap().clone();
        times.sort();
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let min = gaps.iter().min().unwrap();
        assert!(
            *min >= Duration::from_secs_f64(1.0 / 300.0),
            "two requests {min:?} apart"
        );
        let rate = (times.len() - 1) as f64 / (times[times.len() - 1] - times[0]).as_secs_f64();
        // 300/s less the 3% margin; a loaded machine wakes late, which slows it a little.
        assert!(rate > 0.8 * 300.0, "{rate:.0}/s");
    }

    #[test]
    fn zero_means_unlimited() {
        assert!(RateLimiter::new(0.0).is_none());
    }
}
