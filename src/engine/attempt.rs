//! The one attempt loop. Every request of a run goes through [`Attempts::run`], a target's and
//! a setup request's (identity-store's `--all` listing) alike: the run-wide rate limit, the
//! per-attempt timeout, retries (whether: [`ApiError::retryable`]; when: [`RetryPolicy`], or
//! the server's `Retry-After`), the credentials rule (a rejection stops the run) and the stop
//! signal. Each attempt is built afresh at its own `now`, so every retry carries a fresh
//! signature.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::signals::{Stop, StopReason};
use crate::engine::pace::adaptive::{Change, Controller};
use crate::engine::pace::rate::RateLimiter;
use crate::engine::pace::retry::RetryPolicy;
use crate::error::{ApiError, ErrorKind};
use crate::net::clock::Correction;
use crate::net::http::Transport;
use crate::secret::Redactor;

/// Under `--rate auto`, how many throttled answers per request are retried without counting
/// against `--retries`.
pub const FREE_THROTTLED_RETRIES: u32 = 8;

/// What every request of a run shares.
pub(crate) struct Attempts {
    pub transport: Transport,
    pub rate: Option<Arc<RateLimiter>>,
    /// `--rate auto`: learns the server's limit from its answers and retunes `rate`.
    pub adaptive: Option<Arc<Mutex<Controller>>>,
    pub policy: RetryPolicy,
    pub timeout: Duration,
    pub stop: Arc<Stop>,
}

/// Names a request in log lines.
#[derive(Clone, Copy)]
pub(crate) enum Label {
    Target(u64),
    /// A setup request, by what it does: `listing bearer tokens`.
    Setup(&'static str),
    /// A `--verify` request about one target (before or after its revocation).
    Verify(u64),
    /// A `--verify` request for the whole run (discovery, identity-store's listings).
    VerifySetup(&'static str),
}

impl Label {
    /// Whether the request is a verification's: its failures never stop the run (credentials
    /// refused, a certificate refused): verification never decides whether revocations are
    /// sent (`../shared/CLI.md`, "Verification is a change observed").
    fn verifies(self) -> bool {
        matches!(self, Label::Verify(_) | Label::VerifySetup(_))
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Target(i) => write!(f, "target {i}"),
            Label::Setup(what) => f.write_str(what),
            Label::Verify(i) => write!(f, "target {i}'s verification"),
            Label::VerifySetup(what) => write!(f, "--verify: {what}"),
        }
    }
}

/// What a stop does to a request waiting for its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnStop {
    /// Wait for it (up to its timeout): a revocation may have happened, and its record says so.
    Finish,
    /// Drop it: a request that changes nothing (a listing) has nothing worth waiting for.
    Abandon,
}

/// How the attempts at one request ended.
pub(crate) enum Tried<T> {
    /// Its answer, or the last error, after this many attempts.
    Done {
        result: Result<T, ApiError>,
        attempts: u32,
    },
    /// Stopped before it was sent (or, with [`OnStop::Abandon`], before its answer came).
    Stopped(StopReason),
    /// Sent, and abandoned before its answer came (a second signal): it may have taken effect.
    Abandoned,
}

impl Attempts {
    /// Tells `--rate auto` of an answer (throttled or not) and applies what it decides.
    /// `sent`: when the request went out (an answer to one sent before the cap last changed
    /// says nothing of the current cap).
    fn learn(&self, throttled: bool, sent: tokio::time::Instant) {
        let (Some(adaptive), Some(rate)) = (&self.adaptive, &self.rate) else {
            return;
        };
        let now = tokio::time::Instant::now();
        let mut controller = adaptive.lock().unwrap_or_else(|e| e.into_inner());
        let mut change = controller.on_answer(throttled, sent, now);
        // A server that states its limit (RateLimit-Policy, X-RateLimit-*) needs no probing.
        if let Some(pace) = self.transport.take_statement().and_then(|s| s.pace())
            && let Change::Rate(r) = controller.on_stated(pace, now)
        {
            change = Change::Rate(r);
        }
        let why = controller.why();
        drop(controller);
        if let Change::Rate(r) = change {
            rate.set_rate(r);
            tracing::info!("--rate auto: now {r:.1} requests/s ({why})");
        }
    }

    /// A retryable error that gets no more attempts, saying why when the server asked for a
    /// wait longer than revoke waits (else the record would show only the server's text).
    fn not_retried(&self, err: ApiError) -> ApiError {
        match err.retry_after() {
            Some(d) if d > self.policy.max_retry_after => err.noted(&format!(
                "the server asked to wait {} s (Retry-After), longer than the {} s revoke waits: not retried",
                d.as_secs(),
                self.policy.max_retry_after.as_secs()
            )),
            _ => err,
        }
    }

    fn reason(&self) -> StopReason {
        self.stop.reason().unwrap_or(StopReason::Interrupted)
    }

    /// Runs `attempt` until it answers, fails for good, runs out of retries or is stopped.
    /// `secrets` are scrubbed from the retry log lines.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        label: Label,
        secrets: &[&str],
        on_stop: OnStop,
        mut attempt: F,
    ) -> Tried<T>
    where
        F: FnMut(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut attempts: u32 = 0;
        let mut free: u32 = 0;
        let mut last: Option<ApiError> = None;
        // Bounds the time a throttling server holds this request (`max_throttled_wait`).
        let started = tokio::time::Instant::now();
        let result = loop {
            if let Some(rate) = &self.rate {
                let stopped = tokio::select! {
                    biased;
                    _ = self.stop.wait() => true,
                    _ = rate.acquire() => false,
                };
                if stopped {
                    match last.take() {
                        // A stop ends retrying: the request keeps the answer it had.
                        Some(e) => break Err(e),
                        None => return Tried::Stopped(self.reason()),
                    }
                }
            }
            attempts += 1;
            let sent = tokio::time::Instant::now();
            // Signed at the corrected time once a server has said our clock is off.
            let now = self.transport.clock().now();
            let answer = tokio::time::timeout(self.timeout, attempt(now));
            let answer = match on_stop {
                // Until a second signal: then nobody waits for it any longer.
                OnStop::Finish => tokio::select! {
                    biased;
                    _ = self.stop.abandoned() => return Tried::Abandoned,
                    a = answer => a,
                },
                OnStop::Abandon => tokio::select! {
                    biased;
                    _ = self.stop.wait() => return Tried::Stopped(self.reason()),
                    a = answer => a,
                },
            };
            let err = match answer {
                Ok(Ok(value)) => {
                    self.learn(false, sent);
                    break Ok(value);
                }
                Ok(Err(e)) => e,
                Err(_) => ApiError::Send {
                    message: format!("no answer within {} s", self.timeout.as_secs_f64()),
                    timeout: true,
                    silent: true,
                },
            };
            if err.http_status().is_some() {
                self.learn(err.kind() == ErrorKind::Throttled, sent);
            }
            if is_clock_skew(&err, self.transport.clock()) {
                match self.transport.clock().correct() {
                    Correction::Corrected(said) => {
                        // Re-signed at once with the server's time, which every later request
                        // keeps; unless the run was stopped meanwhile, which ends retrying
                        // (without a rate limiter, nothing else would check it before the send).
                        crate::report::logging::say(&format!("revoke: warning: {said}"));
                        if self.stop.reason().is_some() {
                            break Err(err);
                        }
                        continue;
                    }
                    // A server's time more than a day off is never signed: the target fails,
                    // and so would every other (and Huawei locks a key after five signature
                    // failures), so the run stops.
                    Correction::Refused(why) => {
                        let e = ApiError::Service {
                            http_status: err.http_status().unwrap_or_default(),
                            code: "ClockSkew".into(),
                            message: format!("{} refused the request's time: {why}", err.code()),
                            request_id: err.request_id().map(str::to_string),
                            kind: ErrorKind::Rejected,
                            retry_after: None,
                        };
                        if self.stop.first(StopReason::ClockSkew) {
                            crate::report::logging::say(&format!(
                                "revoke: error: {}; the remaining targets are skipped (code ClockSkew)",
                                Redactor::global().scrub_with(&e.message(), secrets)
                            ));
                        }
                        break Err(e);
                    }
                    Correction::Nothing => {}
                }
            }
            if !err.retryable() {
                break Err(err);
            }
            // Under --rate auto, a throttled answer means the run was too fast, not that the
            // target is in trouble: the run slows down, and the retry is not counted against
            // --retries (at most FREE_THROTTLED_RETRIES times per request). Nor does it back
            // off: the rate limiter, now slower, is its wait (a server that throttles a share
            // of requests whatever the rate would otherwise hold the run's end for a chain of
            // backoffs), unless the server said how long to wait.
            let free_now = self.adaptive.is_some()
                && err.kind() == ErrorKind::Throttled
                && free < FREE_THROTTLED_RETRIES;
            if free_now {
                free += 1;
            }
            let unit = if free_now { 0.0 } else { fastrand::f64() };
            let Some(delay) = self.policy.delay(attempts - free, err.retry_after(), unit) else {
                break Err(self.not_retried(err));
            };
            if err.kind() == ErrorKind::Throttled
                && started.elapsed() + delay > self.policy.max_throttled_wait
            {
                let waited = started.elapsed().as_secs();
                break Err(err.noted(&format!(
                    "throttled at every attempt for {waited} s: a target waits at most {} s in all for a server that keeps throttling it; not retried",
                    self.policy.max_throttled_wait.as_secs()
                )));
            }
            tracing::info!(
                "{label}: attempt {attempts} failed ({}), retrying in {} ms",
                Redactor::global().scrub_with(&err.to_string(), secrets),
                delay.as_millis()
            );
            let stopped = tokio::select! {
                biased;
                _ = self.stop.wait() => true,
                _ = tokio::time::sleep(delay) => false,
            };
            if stopped {
                break Err(err);
            }
            last = Some(err);
        };
        if let Err(e) = &result
            && !label.verifies()
        {
            match e.kind() {
                // Never retried, and the next request would fail the same way (Huawei locks
                // an access key after five signature failures in a row): the run stops.
                ErrorKind::Credentials => self.stop.credentials(),
                // The same handshake fails the same way for every target.
                ErrorKind::Certificate => {
                    if self.stop.first(StopReason::Certificate)
                        && let ApiError::Certificate { host, message } = e
                    {
                        crate::report::logging::say(&format!(
                            "revoke: error: {host}: the server's TLS certificate was refused ({message}); the remaining targets are skipped. If a proxy or a private CA signs it, point SSL_CERT_FILE (a PEM bundle) or SSL_CERT_DIR at its CA certificate"
                        ));
                    }
                }
                _ => {}
            }
        }
        Tried::Done { result, attempts }
    }
}

/// Whether an answer says the signature's time is off. Tencent says so plainly
/// (`AuthFailure.SignatureExpire`: more than 5 minutes from its clock). Huawei's API gateway
/// answers `APIGW.0303` when `X-Sdk-Date` is more than 15 minutes off (API Gateway FAQ,
/// "APIGW.0303 ... 客户端签名时间戳x-sdk-date与APIGW服务器时间相差超过15min", support.huaweicloud.com
/// apig FAQ; ../shared/reference/providers.md), and IAM-signed APIs may say `APIGW.0301`,
/// which also means a wrong key: those count as skew only when the server's `Date` shows our
/// clock off by more than a minute, so a wrong key is never retried (Huawei locks a key after
/// five failures).
fn is_clock_skew(err: &ApiError, clock: &crate::net::clock::Clock) -> bool {
    let ApiError::Service { code, .. } = err else {
        return false;
    };
    match code.as_str() {
        "AuthFailure.SignatureExpire" => true,
        "APIGW.0303" | "APIGW.0301" => clock
            .observed()
            .is_some_and(|o| o.abs() > crate::net::clock::HUAWEI_SKEW_MS),
        _ => false,
    }
}
