//! The engine in-process, against a scripted fake provider, under tokio's paused clock: the
//! timing rules of the contract (backoff, `Retry-After`, the rate limit, credentials first,
//! stopping) are asserted on the virtual times at which `execute` was called, so a test that
//! spans minutes of backoff runs in milliseconds.
//!
//! The fake overrides [`Provider::execute`]: each call pops the next scripted step for its job
//! (how long the "request" takes, and what it returns; a job with no script left answers
//! `revoked`) and records when it started and ended. Records are captured with
//! [`Sink::start_with_writer`].
//!
//! Paused-clock caveat: while the engine's input producer (a `spawn_blocking` task) runs, tokio
//! does not auto-advance the clock. The producer finishes as soon as the input fits in the
//! engine's channel (256 items), so these tests keep inputs below that.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::time::Instant;

use revoke::engine::pace::rate::Rate;
use revoke::engine::pace::retry::RetryPolicy;
use revoke::engine::{self, EngineConfig, JobItem, Jobs, Outcome, Provider, Stop};
use revoke::error::{ApiError, ErrorKind};
use revoke::net::http::{PreparedRequest, RawResponse, Transport};
use revoke::providers::{Body, Credentials, Descriptor, Looks, Verification, recognise};
use revoke::report::exit::RunFlags;
use revoke::report::journal::Done;
use revoke::report::record::{Record, Status};
use revoke::report::sink::{Format, Sink, SinkConfig};

const MS: Duration = Duration::from_millis(1);

/// Timer granularity: tokio rounds a sleep's deadline up to the next millisecond.
const SLACK: Duration = Duration::from_millis(2);

// ---------------------------------------------------------------------------------------------
// The fake provider

/// One scripted attempt: how long it takes, and what it returns.
struct Step {
    latency: Option<Duration>,
    result: Result<Outcome, ApiError>,
}

/// A success, recognised as any provider's is: here, an RFC 7009 200 with no body.
fn ok() -> Step {
    let looks = Looks {
        what: "a success",
        statuses: &[200],
        body: Body::NoneOrJson,
    };
    let seen = recognise(&RawResponse::new(200, &[], ""), &looks, None).unwrap();
    Step {
        latency: None,
        result: Ok(Outcome::revoked(seen, None, None)),
    }
}

fn fail(e: ApiError) -> Step {
    Step {
        latency: None,
        result: Err(e),
    }
}

fn slow(latency: Duration, step: Step) -> Step {
    Step {
        latency: Some(latency),
        ..step
    }
}

fn transient() -> ApiError {
    ApiError::unreadable(503, "Service Unavailable", None, None)
}

fn service(kind: ErrorKind, code: &str, retry_after: Option<Duration>) -> ApiError {
    ApiError::Service {
        http_status: 200,
        code: code.into(),
        message: format!("scripted {code}"),
        request_id: Some("req-scripted".into()),
        kind,
        retry_after,
    }
}

fn throttled(retry_after: Option<Duration>) -> ApiError {
    service(ErrorKind::Throttled, "RequestLimitExceeded", retry_after)
}

fn credentials() -> ApiError {
    service(ErrorKind::Credentials, "AuthFailure.SignatureFailure", None)
}

#[derive(Debug, Clone, Copy)]
struct Call {
    job: u64,
    start: Instant,
    /// `None` while in flight, or when the engine dropped the call (its timeout).
    end: Option<Instant>,
}

struct Fake {
    scripts: Mutex<HashMap<u64, VecDeque<Step>>>,
    latency: Duration,
    calls: Mutex<Vec<Call>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    origin: Instant,
}

struct FakeJob(u64);

impl Fake {
    fn new(latency: Duration) -> Fake {
        Fake {
            scripts: Mutex::new(HashMap::new()),
            latency,
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            origin: Instant::now(),
        }
    }

    fn script(self, job: u64, steps: impl IntoIterator<Item = Step>) -> Fake {
        self.scripts
            .lock()
            .unwrap()
            .entry(job)
            .or_default()
            .extend(steps);
        self
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn calls_of(&self, job: u64) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.job == job).collect()
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Virtual time since the fake was made (the run starts right after).
    fn at(&self, t: Instant) -> Duration {
        t - self.origin
    }
}

/// Ends a call when the attempt's future completes or is dropped (timed out by the engine).
struct InFlight<'a> {
    fake: &'a Fake,
    slot: usize,
    done: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.fake.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.done {
            self.fake.calls.lock().unwrap()[self.slot].end = Some(Instant::now());
        }
    }
}

/// The fake's command: no credentials beyond its jobs, nothing to require.
const FAKE: Descriptor = Descriptor {
    name: "fake",
    credentials: Credentials::Tokens,
    sources: "none",
    env: &[],
    files: &[],
    required: &[],
    one_of: &[],
    secret_targets: false,
};

impl Provider for Fake {
    type Job = FakeJob;

    const DESCRIPTOR: &'static Descriptor = &FAKE;

    fn acts_on_current_tokens(&self) -> bool {
        false
    }

    fn job_secrets<'a>(&self, _job: &'a FakeJob) -> Vec<&'a str> {
        Vec::new()
    }

    fn verification(&self) -> Verification<'_, FakeJob> {
        Verification::Unavailable("a fake")
    }

    fn identity(&self, job: &FakeJob) -> Value {
        json!({ "job": job.0 })
    }

    fn job_key(&self, job: &FakeJob) -> String {
        job.0.to_string()
    }

    fn scope(&self) -> String {
        "engine-tests".into()
    }

    fn prepare(&self, _job: &FakeJob, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        let url = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
        Ok(PreparedRequest::new(reqwest::Method::POST, url))
    }

    fn interpret(&self, _job: &FakeJob, _response: RawResponse) -> Result<Outcome, ApiError> {
        unreachable!("the fake answers in execute")
    }

    fn execute(
        &self,
        _transport: &Transport,
        job: &FakeJob,
        _now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Outcome, ApiError>> + Send {
        let id = job.0;
        async move {
            let step = self
                .scripts
                .lock()
                .unwrap()
                .get_mut(&id)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(ok);
            let slot = {
                let mut calls = self.calls.lock().unwrap();
                calls.push(Call {
                    job: id,
                    start: Instant::now(),
                    end: None,
                });
                calls.len() - 1
            };
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let mut guard = InFlight {
                fake: self,
                slot,
                done: false,
            };
            tokio::time::sleep(step.latency.unwrap_or(self.latency)).await;
            guard.done = true;
            drop(guard);
            step.result
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running it

/// A `Write` the test keeps a handle on, to read what the sink wrote.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn config(concurrency: usize, rate: Option<f64>, retries: u32) -> EngineConfig {
    EngineConfig {
        concurrency,
        rate: rate.map_or(Rate::Unlimited, Rate::Fixed),
        policy: RetryPolicy {
            retries,
            ..RetryPolicy::default()
        },
        timeout: Duration::from_secs(30),
        dry_run: false,
        drain_on_stop: true,
        verify: false,
        resume_within: Duration::from_secs(86_400),
        permits: None,
        pace: None,
    }
}

struct Ran {
    /// Sorted by index.
    records: Vec<Record>,
    flags: RunFlags,
    exit_code: u8,
    /// When `engine::run` returned, from the fake's origin.
    returned_at: Duration,
}

impl Ran {
    fn record(&self, job: u64) -> &Record {
        &self.records[job as usize]
    }

    fn statuses(&self) -> Vec<Status> {
        self.records.iter().map(|r| r.status).collect()
    }
}

async fn run_jobs<I>(fake: Arc<Fake>, jobs: I, cfg: EngineConfig, stop: Arc<Stop>) -> Ran
where
    I: Iterator<Item = JobItem<FakeJob>> + Send + 'static,
{
    let buf = SharedBuf::default();
    let sink = Sink::start_with_writer(
        SinkConfig {
            format: Format::Json,
            quiet: true,
            progress: None,
            journal: None,
            missing_ok: false,
            provider: "fake",
            step: None,
            verify: false,
            evidence: Default::default(),
        },
        Box::new(buf.clone()),
    );
    let transport = Transport::new(Duration::from_secs(1), 1, false).unwrap();
    let flags = engine::run(
        fake.clone(),
        transport,
        Jobs::items(jobs),
        cfg,
        Arc::new(Done::default()),
        sink.handle(),
        stop,
    )
    .await;
    let returned_at = fake.at(Instant::now());
    let finished = sink.finish(flags).await;
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let mut records = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v.get("summary").is_none() {
            records.push(serde_json::from_value::<Record>(v).unwrap());
        }
    }
    records.sort_by_key(|r| r.index);
    Ran {
        records,
        flags,
        exit_code: finished.exit_code,
        returned_at,
    }
}

async fn run_fake(fake: &Arc<Fake>, n: u64, cfg: EngineConfig, stop: Arc<Stop>) -> Ran {
    let ran = run_jobs(
        fake.clone(),
        (0..n).map(|i| JobItem::Job(FakeJob(i))),
        cfg,
        stop,
    )
    .await;
    assert_one_record_each(&ran, n);
    ran
}

/// Every input item has exactly one record, indexes 0..n in input order, and a record's
/// attempts are the calls the fake saw for it.
#[track_caller]
fn assert_one_record_each(ran: &Ran, n: u64) {
    let indexes: Vec<u64> = ran.records.iter().map(|r| r.index).collect();
    let expected: Vec<u64> = (0..n).collect();
    assert_eq!(indexes, expected, "one record per target, unique indexes");
    for r in &ran.records {
        if let Some(job) = r.target.get("job").and_then(Value::as_u64) {
            assert_eq!(job, r.index, "index is the input position: {r:?}");
        }
    }
}

#[track_caller]
fn assert_attempts_match_calls(ran: &Ran, fake: &Fake) {
    for r in &ran.records {
        let calls = fake.calls_of(r.index).len() as u32;
        assert_eq!(r.attempts, calls, "attempts of {r:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Retries

#[tokio::test(start_paused = true)]
async fn backoff_is_full_jitter_under_doubling_ceilings_capped_at_20s() {
    const JOBS: u64 = 40;
    const RETRIES: u32 = 10;
    let mut fake = Fake::new(10 * MS);
    for j in 0..JOBS {
        fake = fake.script(j, (0..RETRIES).map(|_| fail(transient())));
    }
    let fake = Arc::new(fake);
    let ran = run_fake(&fake, JOBS, config(8, None, RETRIES), Arc::default()).await;

    let policy = RetryPolicy::default();
    assert_eq!(policy.cap, Duration::from_secs(20));
    let mut fractions: HashMap<u32, Vec<f64>> = HashMap::new();
    for j in 0..JOBS {
        let r = ran.record(j);
        assert_eq!(r.status, Status::Revoked, "{r:?}");
        assert_eq!(r.attempts, RETRIES + 1);
        let calls = fake.calls_of(j);
        for (k, pair) in calls.windows(2).enumerate() {
            let attempt = k as u32 + 1;
            let ceiling = policy.ceiling(attempt);
            let gap = pair[1].start - pair[0].end.unwrap();
            assert!(
                gap <= ceiling + SLACK,
                "job {j}: wait after attempt {attempt} was {gap:?}, above {ceiling:?}"
            );
            fractions
                .entry(attempt)
                .or_default()
                .push(gap.as_secs_f64() / ceiling.as_secs_f64());
        }
    }
    // 200 ms, 400 ms, ... doubling, then never above the 20 s cap (uncapped, attempt 8 would
    // allow 25.6 s and attempt 10 102.4 s).
    let ceilings: Vec<u128> = (1..=RETRIES)
        .map(|a| policy.ceiling(a).as_millis())
        .collect();
    assert_eq!(
        ceilings,
        [200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000, 20000]
    );
    // Full jitter: the waits spread over [0, ceiling], neither fixed nor always the maximum.
    let all: Vec<f64> = fractions.values().flatten().copied().collect();
    let lo = all.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = all.iter().cloned().fold(0.0, f64::max);
    assert!(lo < 0.1 && hi > 0.9, "jitter range {lo:.3}..{hi:.3}");
    let capped: Vec<f64> = (8..=RETRIES).flat_map(|a| fractions[&a].clone()).collect();
    assert!(
        capped.iter().any(|f| *f > 0.7),
        "capped waits reach well past 12.8 s"
    );
    assert!(fake.max_in_flight() <= 8);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_waited_exactly_and_an_absurd_one_is_not_waited_for() {
    let fake = Arc::new(
        Fake::new(10 * MS)
            .script(
                0,
                [
                    fail(throttled(Some(Duration::from_secs(3)))),
                    fail(ApiError::unreadable(
                        503,
                        "busy",
                        None,
                        Some(Duration::from_millis(1500)),
                    )),
                    ok(),
                ],
            )
            // Longer than `max_retry_after` (300 s): the target fails now with that answer.
            .script(1, [fail(throttled(Some(Duration::from_secs(301))))]),
    );
    let ran = run_fake(&fake, 2, config(2, None, 3), Arc::default()).await;

    let calls = fake.calls_of(0);
    assert_eq!(calls.len(), 3);
    let gap1 = calls[1].start - calls[0].end.unwrap();
    let gap2 = calls[2].start - calls[1].end.unwrap();
    assert!(
        gap1 >= Duration::from_secs(3) && gap1 <= Duration::from_secs(3) + SLACK,
        "Retry-After 3 s, waited {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(1500) && gap2 <= Duration::from_millis(1500) + SLACK,
        "Retry-After 1.5 s, waited {gap2:?}"
    );
    assert_eq!(ran.record(0).status, Status::Revoked);
    assert_eq!(ran.record(0).attempts, 3);

    let r = ran.record(1);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.attempts, 1);
    assert_eq!(r.error.as_ref().unwrap().code, "RequestLimitExceeded");
    assert_eq!(ran.exit_code, 1);
}

#[tokio::test(start_paused = true)]
async fn attempts_are_retries_plus_one_and_non_retryable_errors_are_tried_once() {
    let always = |e: fn() -> ApiError| (0..10).map(move |_| fail(e())).collect::<Vec<_>>();
    let fake = Arc::new(
        Fake::new(10 * MS)
            .script(0, always(transient))
            .script(1, always(|| throttled(None)))
            .script(
                2,
                always(|| service(ErrorKind::Rejected, "InvalidParameter", None)),
            )
            .script(
                3,
                always(|| service(ErrorKind::NotFound, "ResourceNotFound", None)),
            )
            .script(4, [fail(transient()), fail(throttled(None)), ok()])
            // Slower than the per-attempt timeout: each attempt is cut off, and retried.
            .script(5, (0..10).map(|_| slow(Duration::from_secs(60), ok())))
            .script(
                6,
                [fail(ApiError::Build {
                    message: "bad header".into(),
                })],
            ),
    );
    let mut cfg = config(4, None, 2);
    cfg.timeout = Duration::from_secs(5);
    let ran = run_fake(&fake, 7, cfg, Arc::default()).await;
    assert_attempts_match_calls(&ran, &fake);

    let summary: Vec<(Status, u32, Option<&str>)> = ran
        .records
        .iter()
        .map(|r| {
            (
                r.status,
                r.attempts,
                r.error.as_ref().map(|e| e.code.as_str()),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Status::Failed, 3, Some("UnreadableResponse")),
            (Status::Failed, 3, Some("RequestLimitExceeded")),
            (Status::Failed, 1, Some("InvalidParameter")),
            (Status::Failed, 1, Some("ResourceNotFound")),
            (Status::Revoked, 3, None),
            (Status::Failed, 3, Some("Timeout")),
            (Status::Failed, 1, Some("RequestNotBuilt")),
        ]
    );
    assert!(ran.record(0).error.as_ref().unwrap().retryable);
    assert!(!ran.record(2).error.as_ref().unwrap().retryable);
    // The timed-out attempts were each cut at 5 s.
    for c in fake.calls_of(5) {
        assert!(c.end.is_none(), "dropped by the timeout: {c:?}");
    }
    assert_eq!(ran.exit_code, 1);

    // `--retries 0`: one attempt, whatever the error.
    let fake = Arc::new(Fake::new(10 * MS).script(0, always(transient)));
    let ran = run_fake(&fake, 1, config(1, None, 0), Arc::default()).await;
    assert_eq!(ran.record(0).attempts, 1);
    assert_eq!(fake.calls().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Rate limit and concurrency

#[tokio::test(start_paused = true)]
async fn rate_limit_holds_in_every_one_second_window_retries_included() {
    const JOBS: u64 = 100;
    const RATE: f64 = 20.0;
    let mut fake = Fake::new(100 * MS);
    // Ten targets are throttled once; their retries count against the same budget.
    for j in (5..80).step_by(8) {
        fake = fake.script(j, [fail(throttled(None))]);
    }
    let fake = Arc::new(fake);
    let ran = run_fake(&fake, JOBS, config(16, Some(RATE), 3), Arc::default()).await;
    assert!(ran.records.iter().all(|r| r.status == Status::Revoked));
    assert_attempts_match_calls(&ran, &fake);

    let mut starts: Vec<Duration> = fake.calls().iter().map(|c| fake.at(c.start)).collect();
    starts.sort();
    let n = starts.len();
    assert_eq!(n, JOBS as usize + 10, "retries are calls too");
    for (i, t) in starts.iter().enumerate() {
        let in_window = starts[i..]
            .iter()
            .take_while(|u| **u - *t <= Duration::from_secs(1))
            .count();
        assert!(
            in_window <= RATE as usize,
            "{in_window} calls started within 1 s of {t:?}"
        );
    }
    // The limiter is not needlessly slow: over the run, at least 95% of the allowed rate.
    let span = (starts[n - 1] - starts[0]).as_secs_f64();
    let used = (n - 1) as f64 / span / RATE;
    assert!(used >= 0.95, "used {used:.3} of the rate over {span:.3} s");
    assert!(fake.max_in_flight() <= 16);
}

#[tokio::test(start_paused = true)]
async fn concurrency_never_exceeds_the_limit_and_every_item_gets_one_record() {
    const N: u64 = 200;
    let mut fake = Fake::new(Duration::ZERO);
    for j in 0..N {
        let latency = Duration::from_millis(fastrand::u64(1..50));
        let step = match j % 7 {
            3 => slow(latency, fail(transient())),
            5 => slow(latency, fail(service(ErrorKind::Rejected, "Nope", None))),
            _ => slow(latency, ok()),
        };
        fake = fake.script(j, [step]);
    }
    let fake = Arc::new(fake);
    // Some lines cannot become jobs: they take an index and a `failed` record, and are not sent.
    let jobs = (0..N).map(|i| {
        if i % 50 == 49 {
            JobItem::Invalid {
                target: json!({ "job": i }),
                message: "not a target".into(),
            }
        } else {
            JobItem::Job(FakeJob(i))
        }
    });
    let ran = run_jobs(fake.clone(), jobs, config(5, None, 1), Arc::default()).await;
    assert_one_record_each(&ran, N);
    assert_attempts_match_calls(&ran, &fake);
    assert_eq!(
        fake.max_in_flight(),
        5,
        "the limit is reached, never passed"
    );
    for r in &ran.records {
        let expected = match r.index {
            i if i % 50 == 49 => Status::Failed,
            i if i % 7 == 5 => Status::Failed,
            _ => Status::Revoked,
        };
        assert_eq!(r.status, expected, "{r:?}");
        if r.index % 50 == 49 {
            assert_eq!(r.error.as_ref().unwrap().code, "InvalidTarget");
            assert_eq!(r.attempts, 0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Credentials first, and stopping

#[tokio::test(start_paused = true)]
async fn the_first_request_goes_alone_until_its_final_answer() {
    // The first target's first answer is a 503: the others still wait for its retry's answer.
    let fake = Arc::new(Fake::new(200 * MS).script(0, [fail(transient()), ok()]));
    let ran = run_fake(&fake, 10, config(8, None, 3), Arc::default()).await;
    assert!(ran.records.iter().all(|r| r.status == Status::Revoked));
    let first = fake.calls_of(0);
    assert_eq!(first.len(), 2);
    let first_done = first[1].end.unwrap();
    for c in fake.calls().iter().filter(|c| c.job != 0) {
        assert!(
            c.start >= first_done,
            "job {} started at {:?}, before the first job's answer at {:?}",
            c.job,
            fake.at(c.start),
            fake.at(first_done)
        );
    }
    // Then the rest fill every slot.
    assert_eq!(fake.max_in_flight(), 8);
}

#[tokio::test(start_paused = true)]
async fn targets_go_alone_until_an_answer_confirms_the_credentials() {
    // The first target never gets a real answer (503 on every attempt): that says nothing
    // about the credentials, so the second still goes alone; its success opens the slots.
    let fake = Arc::new(Fake::new(200 * MS).script(0, (0..4).map(|_| fail(transient()))));
    let ran = run_fake(&fake, 10, config(8, None, 3), Arc::default()).await;
    assert_eq!(ran.record(0).status, Status::Failed);
    assert_eq!(ran.record(0).attempts, 4);
    let first_done = fake.calls_of(0)[3].end.unwrap();
    let second = fake.calls_of(1);
    assert!(
        second[0].start >= first_done,
        "the second target waited for the first"
    );
    let second_done = second[0].end.unwrap();
    for c in fake.calls().iter().filter(|c| c.job > 1) {
        assert!(
            c.start >= second_done,
            "job {} did not wait for a confirming answer",
            c.job
        );
    }
    assert_eq!(fake.max_in_flight(), 8);
    assert_eq!(ran.exit_code, 1);
}

#[tokio::test(start_paused = true)]
async fn credentials_rejected_by_the_first_request_costs_one_request() {
    let fake = Arc::new(Fake::new(100 * MS).script(0, [fail(credentials())]));
    let ran = run_fake(&fake, 10, config(8, Some(20.0), 3), Arc::default()).await;
    assert_eq!(fake.calls().len(), 1, "one request, not one per slot");
    let r = ran.record(0);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.attempts, 1, "a credentials error is never retried");
    assert_eq!(
        r.error.as_ref().unwrap().code,
        "AuthFailure.SignatureFailure"
    );
    for r in &ran.records[1..] {
        assert_eq!(r.status, Status::Skipped);
        assert_eq!(r.attempts, 0);
        assert_eq!(r.error.as_ref().unwrap().code, "CredentialsRejected");
    }
    assert!(ran.flags.credentials_rejected && !ran.flags.interrupted);
    assert_eq!(ran.exit_code, 3);
}

#[tokio::test(start_paused = true)]
async fn credentials_rejected_mid_run_stops_dispatch_and_skips_the_rest() {
    // 0 alone (0-100 ms); 1-4 (100-200); 5-8 start at 200. Job 5 fails at 220 ms asking for
    // a retry in 5 s; job 6 is refused for its credentials at 250 ms, while 7 and 8 are in
    // flight until 300 ms.
    let fake = Arc::new(
        Fake::new(100 * MS)
            .script(
                5,
                [slow(20 * MS, fail(throttled(Some(Duration::from_secs(5)))))],
            )
            .script(6, [slow(50 * MS, fail(credentials()))]),
    );
    let ran = run_fake(&fake, 30, config(4, None, 3), Arc::default()).await;
    let refused_at = fake.calls_of(6)[0].end.unwrap();
    for c in fake.calls() {
        assert!(
            c.start < refused_at,
            "job {} started at {:?}, after the credentials were refused",
            c.job,
            fake.at(c.start)
        );
        assert!(c.end.is_some(), "in-flight requests finish: {c:?}");
    }
    let statuses = ran.statuses();
    assert_eq!(&statuses[..5], [Status::Revoked; 5]);
    // The target waiting to retry keeps the answer it had rather than being retried.
    assert_eq!(statuses[5], Status::Failed);
    assert_eq!(ran.record(5).attempts, 1);
    assert_eq!(
        ran.record(5).error.as_ref().unwrap().code,
        "RequestLimitExceeded"
    );
    assert_eq!(statuses[6], Status::Failed);
    assert_eq!(&statuses[7..9], [Status::Revoked; 2], "in flight: finished");
    for r in &ran.records[9..] {
        assert_eq!(r.status, Status::Skipped, "{r:?}");
        assert_eq!(r.error.as_ref().unwrap().code, "CredentialsRejected");
    }
    assert_attempts_match_calls(&ran, &fake);
    assert!(ran.flags.credentials_rejected);
    assert_eq!(ran.exit_code, 3);
    // The stop woke the target sleeping before its retry: the run did not wait 5 s for it.
    assert!(
        ran.returned_at < Duration::from_secs(1),
        "{:?}",
        ran.returned_at
    );
}

#[tokio::test(start_paused = true)]
async fn interrupt_lets_in_flight_finish_and_skips_the_rest() {
    // 1 s per request, 4 at a time: 0 alone (0-1 s), 1-4 (1-2 s), 5-8 (2-3 s). The interrupt
    // comes at 2.5 s. Job 7's answer asks for a retry, which the stop cancels.
    let fake = Arc::new(
        Fake::new(Duration::from_secs(1))
            .script(7, [fail(throttled(Some(Duration::from_secs(10))))]),
    );
    let stop = Arc::new(Stop::default());
    let interrupter = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            stop.interrupt();
        })
    };
    let ran = run_fake(&fake, 20, config(4, None, 3), stop).await;
    interrupter.await.unwrap();

    for c in fake.calls() {
        assert!(
            fake.at(c.start) < Duration::from_millis(2500),
            "job {} dispatched after the interrupt",
            c.job
        );
        assert!(c.end.is_some(), "in flight requests finish: {c:?}");
    }
    let statuses = ran.statuses();
    assert_eq!(&statuses[..7], [Status::Revoked; 7]);
    assert_eq!(statuses[7], Status::Failed);
    assert_eq!(ran.record(7).attempts, 1);
    assert_eq!(statuses[8], Status::Revoked);
    for r in &ran.records[9..] {
        assert_eq!(r.status, Status::Skipped, "{r:?}");
        assert_eq!(r.attempts, 0);
        assert_eq!(r.error.as_ref().unwrap().code, "Interrupted");
    }
    assert_attempts_match_calls(&ran, &fake);
    assert!(ran.flags.interrupted);
    assert_eq!(ran.exit_code, 130);
    let returned = ran.returned_at;
    assert!(
        returned >= Duration::from_secs(3) && returned <= Duration::from_secs(3) + SLACK,
        "in-flight finished, nothing more was waited for: {returned:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn interrupt_waits_for_a_hung_request_no_longer_than_its_timeout() {
    let fake = Arc::new(Fake::new(100 * MS).script(1, [slow(Duration::from_secs(3600), ok())]));
    let stop = Arc::new(Stop::default());
    let s = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        s.interrupt();
    });
    let mut cfg = config(2, None, 3);
    cfg.timeout = Duration::from_secs(5);
    let ran = run_fake(&fake, 4, cfg, stop).await;
    // Job 1 went out at 100 ms and is cut at 5.1 s; it is not retried after the stop.
    assert_eq!(ran.record(1).status, Status::Failed);
    assert_eq!(ran.record(1).error.as_ref().unwrap().code, "Timeout");
    assert_eq!(ran.record(1).attempts, 1);
    let returned = ran.returned_at;
    assert!(
        returned >= Duration::from_millis(5100) && returned <= Duration::from_millis(5100) + SLACK,
        "{returned:?}"
    );
    assert_eq!(ran.exit_code, 130);
}

#[tokio::test(start_paused = true)]
async fn interrupt_wakes_targets_waiting_for_a_rate_slot() {
    // 1 request per second (slots 1.03 s apart: `rate::SAFETY`), 4 targets holding slots ahead:
    // at 1.5 s, job 1 has gone out and jobs 2-4 are waiting for slots at 2.06, 3.09 and 4.12 s.
    let fake = Arc::new(Fake::new(10 * MS));
    let stop = Arc::new(Stop::default());
    let s = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        s.interrupt();
    });
    let ran = run_fake(&fake, 10, config(4, Some(1.0), 3), stop).await;
    assert_eq!(fake.calls().len(), 2);
    assert_eq!(&ran.statuses()[..2], [Status::Revoked; 2]);
    assert!(ran.records[2..].iter().all(|r| r.status == Status::Skipped));
    let returned = ran.returned_at;
    assert!(
        returned >= Duration::from_millis(1500) && returned <= Duration::from_millis(1500) + SLACK,
        "nobody waits for a slot after the stop: {returned:?}"
    );
}

/// With targets typed at a terminal there is no "rest" to drain on a stop. The run must still
/// return (not wait for the next line), and the lines it had already read are still targets:
/// each gets its `skipped` record. Real clock: the producer is blocked reading, and a blocked
/// `spawn_blocking` task keeps tokio's paused clock from advancing.
#[tokio::test]
async fn interrupt_with_terminal_input_returns_and_records_what_was_read() {
    let fake = Arc::new(Fake::new(Duration::from_millis(200)));
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..5 {
        tx.send(JobItem::Job(FakeJob(i))).unwrap();
    }
    // `tx` stays alive: the sixth `next()` blocks, like a read from a terminal.
    let stop = Arc::new(Stop::default());
    let mut cfg = config(1, None, 3);
    cfg.drain_on_stop = false;
    let run = tokio::spawn(run_jobs(fake.clone(), rx.into_iter(), cfg, stop.clone()));
    while fake.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.interrupt();
    let ran = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run returns without waiting for more input")
        .unwrap();
    drop(tx);
    assert_one_record_each(&ran, 5);
    assert_eq!(ran.record(0).status, Status::Revoked);
    assert!(ran.records[1..].iter().all(|r| r.status == Status::Skipped));
    assert_eq!(fake.calls().len(), 1);
    assert_eq!(ran.exit_code, 130);
}

#[tokio::test(start_paused = true)]
async fn a_stop_before_the_first_dispatch_sends_nothing() {
    for rate in [None, Some(20.0)] {
        let fake = Arc::new(Fake::new(10 * MS));
        let stop = Arc::new(Stop::default());
        stop.interrupt();
        let ran = run_fake(&fake, 5, config(4, rate, 3), stop).await;
        assert!(fake.calls().is_empty(), "rate {rate:?}");
        assert!(ran.records.iter().all(|r| r.status == Status::Skipped));
        assert_eq!(ran.exit_code, 130);
    }
}

// ---------------------------------------------------------------------------------------------
// A server that throttles everything

#[tokio::test(start_paused = true)]
async fn targets_throttled_through_their_retries_three_in_a_row_stop_the_run() {
    const JOBS: u64 = 10;
    let mut fake = Fake::new(10 * MS);
    for j in 0..JOBS {
        fake = fake.script(j, (0..20).map(|_| fail(throttled(None))));
    }
    let fake = Arc::new(fake);
    let ran = run_fake(&fake, JOBS, config(4, None, 3), Arc::default()).await;

    let failed: Vec<u64> = ran
        .records
        .iter()
        .filter(|r| r.status == Status::Failed)
        .map(|r| r.index)
        .collect();
    assert_eq!(
        failed,
        [0, 1, 2],
        "throttled after their retries: {ran:?}",
        ran = ran.statuses()
    );
    for r in &ran.records[3..] {
        assert_eq!(r.status, Status::Skipped, "{r:?}");
        assert_eq!(r.error.as_ref().unwrap().code, "Throttled");
        assert_eq!(r.attempts, 0);
    }
    assert_eq!(fake.calls().len(), 3 * 4, "nothing sent after the stop");
    assert_eq!(ran.exit_code, 1);
    assert_attempts_match_calls(&ran, &fake);
}

#[tokio::test(start_paused = true)]
async fn an_answer_between_throttled_targets_starts_the_count_again() {
    let mut fake = Fake::new(10 * MS);
    for j in [0, 1, 3, 4] {
        fake = fake.script(j, (0..20).map(|_| fail(throttled(None))));
    }
    let fake = Arc::new(fake);
    let ran = run_fake(&fake, 6, config(1, None, 1), Arc::default()).await;
    assert_eq!(
        ran.statuses(),
        [
            Status::Failed,
            Status::Failed,
            Status::Revoked,
            Status::Failed,
            Status::Failed,
            Status::Revoked
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn under_rate_auto_a_throttled_target_waits_at_most_max_throttled_wait() {
    // Under --rate auto, throttled answers are retried without counting against --retries:
    // with Retry-After: 60 at every answer, only the bound on the total wait ends the target.
    let fake = Arc::new(Fake::new(10 * MS).script(
        0,
        (0..50).map(|_| fail(throttled(Some(Duration::from_secs(60))))),
    ));
    let mut cfg = config(1, None, 3);
    cfg.rate = Rate::Auto;
    let ran = run_fake(&fake, 1, cfg, Arc::default()).await;
    let r = ran.record(0);
    assert_eq!(r.status, Status::Failed);
    let max = RetryPolicy::default().max_throttled_wait;
    assert!(
        ran.returned_at <= max + Duration::from_secs(1),
        "the target held the run for {:?}",
        ran.returned_at
    );
    assert_eq!(r.attempts, 5, "60 s apart within 300 s");
    let message = &r.error.as_ref().unwrap().message;
    assert!(
        message.contains("a target waits at most 300 s in all"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_over_the_cap_says_so_in_the_record() {
    let fake = Arc::new(Fake::new(10 * MS).script(
        0,
        [fail(ApiError::Service {
            http_status: 503,
            code: "temporarily_unavailable".into(),
            message: revoke::error::NO_DESCRIPTION.into(),
            request_id: None,
            kind: ErrorKind::Transient,
            retry_after: Some(Duration::from_secs(3600)),
        })],
    ));
    let ran = run_fake(&fake, 1, config(1, None, 3), Arc::default()).await;
    let e = ran.record(0).error.clone().unwrap();
    assert_eq!(
        e.message,
        "the server asked to wait 3600 s (Retry-After), longer than the 300 s revoke waits: not retried"
    );
}
