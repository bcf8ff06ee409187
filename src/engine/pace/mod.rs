//! How fast to send: `--rate` (fixed or `auto`), the adaptive controller, the retry policy,
//! and the stop for an always-throttled run. The rate limit a server states in its answer's
//! header fields is read on the wire side, in [`crate::net::ratelimit`].

pub mod adaptive;
pub mod rate;
pub mod retry;
pub mod throttle;
