//! The run-level stop for a server that throttles everything: when [`STOP_AFTER`] targets in a
//! row ended throttled after all their retries (each bounded by
//! [`crate::engine::pace::retry::RetryPolicy::max_throttled_wait`]), the server is not going to let this run
//! through: the rest are `skipped` with code `Throttled` instead of each costing the same wait.
//! Any other answer starts the count again.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use crate::error::{ApiError, ErrorKind};

/// How many targets in a row must end throttled for the run to stop.
pub const STOP_AFTER: u32 = 3;

#[derive(Default)]
pub struct Throttling {
    in_a_row: AtomicU32,
}

impl Throttling {
    /// A target ended with `result`: how many targets in a row have now ended throttled, when
    /// that is enough to stop the run.
    pub fn ended<T>(&self, result: &Result<T, ApiError>) -> Option<u32> {
        match result {
            Err(e) if e.kind() == ErrorKind::Throttled => {
                let n = self.in_a_row.fetch_add(1, Relaxed) + 1;
                (n >= STOP_AFTER).then_some(n)
            }
            // No answer says nothing about throttling (the unreachable breaker counts those).
            Err(e) if e.http_status().is_none() => None,
            _ => {
                self.in_a_row.store(0, Relaxed);
                None
            }
        }
    }
}
