//! `--rate auto`: find a server's unpublished rate limit and ride just under it.
//!
//! Four of the five APIs publish no limit. Like TCP's congestion control and the AWS SDKs'
//! adaptive retry mode, the controller learns the limit from the answers:
//! - **Slow start.** The cap starts at [`START`] requests per second and doubles every
//!   [`SLOW_STEP`] while no answer is throttled and the run actually uses the cap.
//! - **A throttling answer** (429, a provider's throttle code) starts an *episode*: the cap drops
//!   to [`BACKOFF`] times the rate of accepted answers over the last second. While the episode
//!   lasts, the server's bucket is empty, so the accepted rate since the episode began *is* the
//!   server's limit: each later throttle (once [`MIN_EPISODE`] has passed) sets the cap to
//!   [`BACKOFF`] times that estimate if it is lower. Every answer throttled is one request sent
//!   above the limit; nothing here reacts to a throttle by sending faster.
//! - **Quiet.** [`QUIET`] without a throttle ends the episode; then each quiet second raises the
//!   cap by [`PROBE`] of itself (as long as the run uses the cap), so that a limit that rose is
//!   found again, and each overshoot costs one or two throttled answers.
//!
//! Deterministic: time is passed in (tokio's clock in the engine), so the tests below run a
//! simulated token-bucket server for two minutes in microseconds.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The cap when the run starts.
pub const START: f64 = 100.0;
/// How often slow start doubles the cap.
pub const SLOW_STEP: Duration = Duration::from_millis(100);
/// The cap after a throttle, as a share of the accepted rate.
pub const BACKOFF: f64 = 0.97;
/// The cut when nothing was accepted for a whole second.
pub const CUT: f64 = 0.5;
/// How long an episode runs before its accepted rate is trusted as the server's limit.
pub const MIN_EPISODE: Duration = Duration::from_millis(500);
/// No throttle for this long ends an episode and allows probing.
pub const QUIET: Duration = Duration::from_secs(1);
/// How much each quiet second raises the cap, as a share of it.
pub const PROBE: f64 = 0.02;
/// The lowest cap: one request every two seconds still makes progress.
pub const MIN_RATE: f64 = 0.5;
/// The highest cap (the engine's own speed is far below it).
pub const MAX_RATE: f64 = 1_000_000.0;
/// The window over which accepted answers are counted.
const WINDOW: Duration = Duration::from_secs(1);

struct Episode {
    start: Instant,
    accepted: u64,
}

pub struct Controller {
    rate: f64,
    slow_start: bool,
    /// When accepted answers arrived, over the last [`WINDOW`].
    accepted: VecDeque<Instant>,
    episode: Option<Episode>,
    last_throttle: Option<Instant>,
    last_change: Instant,
    /// Throttled answers seen, and all answers (for `-v` and the benchmark).
    pub throttled: u64,
    pub answers: u64,
}

/// What an answer changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    None,
    /// The cap is now this many requests per second.
    Rate(f64),
}

impl Controller {
    pub fn new(now: Instant) -> Controller {
        Controller {
            rate: START,
            slow_start: true,
            accepted: VecDeque::new(),
            episode: None,
            last_throttle: None,
            last_change: now,
            throttled: 0,
            answers: 0,
        }
    }

    /// The current cap, in requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Accepted answers per second over the last `span` (at most [`WINDOW`]).
    fn accepted_rate(&self, now: Instant, span: Duration) -> f64 {
        let n = self
            .accepted
            .iter()
            .rev()
            .take_while(|&&t| now.duration_since(t) <= span)
            .count();
        n as f64 / span.as_secs_f64()
    }

    fn set(&mut self, rate: f64, now: Instant) -> Change {
        self.rate = rate.clamp(MIN_RATE, MAX_RATE);
        self.last_change = now;
        Change::Rate(self.rate)
    }

    /// An answer arrived: `throttled` when the server said to slow down.
    pub fn on_answer(&mut self, throttled: bool, now: Instant) -> Change {
        self.answers += 1;
        while let Some(&t) = self.accepted.front() {
            if now.duration_since(t) > WINDOW {
                self.accepted.pop_front();
            } else {
                break;
            }
        }
        if throttled {
            self.throttled += 1;
            self.last_throttle = Some(now);
            self.slow_start = false;
            return match &self.episode {
                None => {
                    self.episode = Some(Episode {
                        start: now,
                        accepted: 0,
                    });
                    let measured = self.accepted_rate(now, WINDOW);
                    let new = if measured > 0.0 {
                        BACKOFF * measured.min(self.rate)
                    } else {
                        self.rate * CUT
                    };
                    self.set(new, now)
                }
                Some(ep) => {
                    let age = now.duration_since(ep.start);
                    if age >= MIN_EPISODE && ep.accepted > 0 {
                        let limit = ep.accepted as f64 / age.as_secs_f64();
                        let new = BACKOFF * limit;
                        if new < self.rate {
                            return self.set(new, now);
                        }
                    } else if ep.accepted == 0 && now.duration_since(self.last_change) >= WINDOW {
                        // A whole second and nothing accepted: halve.
                        let new = self.rate * CUT;
                        return self.set(new, now);
                    }
                    Change::None
                }
            };
        }
        self.accepted.push_back(now);
        if let Some(ep) = &mut self.episode {
            ep.accepted += 1;
            if self
                .last_throttle
                .is_some_and(|t| now.duration_since(t) >= QUIET)
            {
                self.episode = None;
            } else {
                return Change::None;
            }
        }
        let step = if self.slow_start { SLOW_STEP } else { QUIET };
        if now.duration_since(self.last_change) < step
            || self
                .last_throttle
                .is_some_and(|t| now.duration_since(t) < QUIET)
        {
            return Change::None;
        }
        // Raise only a cap the run is using: a run held back by --concurrency or by its
        // input would otherwise raise it without end, and overshoot once it speeds up.
        let used = self.accepted_rate(now, step) * 1.03 >= 0.8 * self.rate;
        if !used {
            return Change::None;
        }
        let new = if self.slow_start {
            self.rate * 2.0
        } else {
            self.rate * (1.0 + PROBE)
        };
        self.set(new, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token bucket of rate `q` and depth `q` (one second of burst), as API gateways are.
    struct Bucket {
        q: f64,
        tokens: f64,
        at: Instant,
    }

    impl Bucket {
        fn take(&mut self, now: Instant) -> bool {
            let dt = now.duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + dt * self.q).min(self.q);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    /// Sends for `secs` simulated seconds at the controller's cap (1.03/rate apart, as the
    /// engine's limiter spaces them), at most `concurrency` in flight with `latency` each;
    /// returns (accepted per second / q, share of answers throttled).
    fn simulate(q: f64, secs: f64, concurrency: f64, latency: Duration) -> (f64, f64, Controller) {
        let t0 = Instant::now();
        let mut bucket = Bucket {
            q,
            tokens: q,
            at: t0,
        };
        let mut c = Controller::new(t0);
        let mut t = t0;
        let end = t0 + Duration::from_secs_f64(secs);
        let (mut accepted, mut sent) = (0u64, 0u64);
        let uncapped = Duration::from_secs_f64(latency.as_secs_f64() / concurrency);
        while t < end {
            let ok = bucket.take(t);
            sent += 1;
            if ok {
                accepted += 1;
            }
            c.on_answer(!ok, t + latency);
            let gap = Duration::from_secs_f64(1.03 / c.rate()).max(uncapped);
            t += gap;
        }
        (
            accepted as f64 / secs / q,
            (sent - accepted) as f64 / sent as f64,
            c,
        )
    }

    #[test]
    fn converges_under_an_unknown_bucket() {
        for q in [10.0, 100.0, 1000.0] {
            let (share, throttled, c) = simulate(q, 120.0, 64.0, Duration::from_millis(5));
            eprintln!(
                "q={q}: {:.1}% of q, {:.2}% throttled",
                share * 100.0,
                throttled * 100.0
            );
            assert!(share >= 0.90, "q={q}: {:.1}% of q", share * 100.0);
            assert!(
                throttled <= 0.03,
                "q={q}: {:.2}% throttled",
                throttled * 100.0
            );
            let r = c.rate();
            assert!(r > 0.85 * q && r < 1.2 * q, "q={q}: ends at {r}");
        }
    }

    #[test]
    fn a_burst_of_throttles_cuts_once_then_the_episode_estimate_rules() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        for i in 0..100 {
            c.on_answer(false, t0 + Duration::from_millis(i * 10));
        }
        // Slow start: 100 -> 200, and no further: 100/s do not use a cap of 200.
        assert_eq!(c.rate(), 200.0);
        // The first throttle: 97% of the accepted rate (100/s over the last second).
        let t1 = t0 + Duration::from_millis(995);
        assert_eq!(c.on_answer(true, t1), Change::Rate(97.0));
        // The throttles of requests already in flight change nothing.
        for i in 1..20 {
            assert_eq!(
                c.on_answer(true, t1 + Duration::from_millis(i)),
                Change::None
            );
        }
        // The server lets 50/s through while throttling the rest: that is its limit.
        let mut t = t1;
        for _ in 0..40 {
            t += Duration::from_millis(20);
            c.on_answer(false, t);
            c.on_answer(true, t + Duration::from_millis(1));
        }
        assert!((c.rate() - 0.97 * 50.0).abs() < 2.0, "{}", c.rate());
        assert_eq!(c.throttled, 60);
    }

    #[test]
    fn quiet_periods_raise_the_rate_again() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        c.on_answer(false, t0);
        c.on_answer(true, t0 + Duration::from_millis(100));
        let low = c.rate();
        // Answers at the cap, none throttled, for a minute.
        let mut t = t0 + Duration::from_millis(100);
        let end = t + Duration::from_secs(60);
        while t < end {
            t += Duration::from_secs_f64(1.03 / c.rate());
            c.on_answer(false, t);
        }
        // +2% per quiet second (probes need an answer to happen on): over 2x after a minute.
        assert!(c.rate() >= low * 2.0, "{low} -> {}", c.rate());
    }

    #[test]
    fn an_unused_cap_is_not_raised() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        // One answer a second: the cap of 10/s is not in use.
        for i in 1..60 {
            c.on_answer(false, t0 + Duration::from_secs(i));
        }
        assert_eq!(c.rate(), START);
    }

    #[test]
    fn never_below_the_floor() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let mut t = t0;
        for _ in 0..50 {
            t += Duration::from_millis(1100);
            c.on_answer(true, t);
        }
        assert_eq!(c.rate(), MIN_RATE);
    }
}
