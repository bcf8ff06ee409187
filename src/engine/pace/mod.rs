//! How fast to send: `--rate` (fixed or `auto`), the adaptive controller, the retry policy,
//! the rate-limit headers servers send, and the stop for an always-throttled run.

pub mod adaptive;
pub mod rate;
pub mod ratelimit;
pub mod retry;
pub mod throttle;
