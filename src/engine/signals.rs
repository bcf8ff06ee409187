//! Stopping a run: the run-wide stop signal, and the handlers of SIGINT, SIGTERM and SIGHUP
//! that raise it.
//!
//! A stop (a signal, or credentials rejected) means: nothing new is sent, requests in flight
//! that may change something finish, and every target not yet sent is recorded as `skipped`.

use std::sync::Arc;

use tokio::sync::watch;

use crate::exit::{self, Ended};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Credentials,
    Interrupted,
    /// The server's TLS certificate was refused: no request can succeed.
    Certificate,
    /// The endpoint gave no answer to several targets in a row (the circuit breaker).
    Unreachable,
    /// The first answers from the endpoint showed it is not the provider's API (a sign-in
    /// page, a 404 the API never gives).
    EndpointMismatch,
    /// A server refused the signature's time and its `Date` was too far off to correct by.
    ClockSkew,
    /// The server throttled several targets in a row past their retries.
    Throttled,
}

/// The run-wide stop signal.
pub struct Stop {
    tx: watch::Sender<Option<StopReason>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            tx: watch::channel(None).0,
        }
    }
}

impl Stop {
    pub fn interrupt(&self) {
        self.tx.send_modify(|r| *r = Some(StopReason::Interrupted));
    }

    pub fn credentials(&self) {
        self.first(StopReason::Credentials);
    }

    /// Stops the run for `reason` unless it is already stopped; true when this call stopped it
    /// (so that the reason is said once).
    pub fn first(&self, reason: StopReason) -> bool {
        let mut stopped = false;
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                stopped = true;
            }
            stopped
        });
        stopped
    }

    pub fn reason(&self) -> Option<StopReason> {
        *self.tx.borrow()
    }

    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|r| r.is_some()).await;
    }
}

/// Installs the signal handlers and returns the stop they raise. The first SIGINT, SIGTERM or
/// SIGHUP stops the run; a second one leaves at once. Called before the first request of any
/// kind, setup requests included; the handlers are in place when this returns.
pub fn listen(quiet: bool) -> Arc<Stop> {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = Arc::new(Stop::default());
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::warn!("cannot install the signal handlers: a signal ends the run at once");
        return stop;
    };
    let raised = stop.clone();
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
                _ = hup.recv() => {},
            }
            seen += 1;
            if seen == 1 {
                if !quiet {
                    crate::logging::say(
                        "revoke: interrupted: finishing the requests in flight, skipping the rest (again to quit at once)",
                    );
                }
                raised.interrupt();
            } else {
                exit::quit_now(&Ended::Interrupted);
            }
        }
    });
    stop
}
