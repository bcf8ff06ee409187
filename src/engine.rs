//! The one engine every subcommand runs through: targets in, one record per target out.
//!
//! It owns concurrency (a semaphore of `--concurrency` permits over one pooled client), the
//! run-wide rate limit, retries (classification from [`ApiError::kind`], timing from
//! [`RetryPolicy`]), "credentials first" (the first request goes alone), the journal skip, and
//! stopping (credentials rejected, or SIGINT/SIGTERM): nothing new is dispatched, requests in
//! flight finish, and every remaining target is recorded as `skipped`.
//!
//! Providers never loop, sleep or spawn: the engine calls [`Provider::execute`] once per
//! attempt with a fresh `now`, so every attempt is signed afresh.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::exit::RunFlags;
use crate::http::{PreparedRequest, RawResponse, Transport};
use crate::journal::Done;
use crate::output::{Entry, SinkHandle};
use crate::rate::RateLimiter;
use crate::record::{Record, RecordError, Status};
use crate::retry::RetryPolicy;
use crate::secret::{Redactor, long_fingerprint};

/// What a provider reports for an answered request that is not an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    pub data: Option<Value>,
    /// What the provider said, for `already_invalid` and `not_found`.
    pub error: Option<RecordError>,
}

impl Outcome {
    /// An answer that is not an error but says something about the target (`already_invalid`,
    /// `not_found`): the provider's code and message go in the record's `error`.
    pub fn noted(
        status: Status,
        http_status: u16,
        request_id: Option<String>,
        code: String,
        message: String,
    ) -> Self {
        Outcome {
            status,
            http_status: Some(http_status),
            request_id,
            data: None,
            error: Some(RecordError {
                code,
                message,
                retryable: false,
            }),
        }
    }

    pub fn revoked(http_status: u16, request_id: Option<String>, data: Option<Value>) -> Self {
        Outcome {
            status: Status::Revoked,
            http_status: Some(http_status),
            request_id,
            data,
            error: None,
        }
    }
}

/// One vendor API: how a job becomes a signed request and how the answer is read.
pub trait Provider: Send + Sync + 'static {
    /// One request's worth of target (a token, a page id, a batch of user ids).
    type Job: Send + Sync + 'static;

    /// The subcommand name, as in the record's `provider`.
    fn name(&self) -> &'static str;

    /// The non-secret identity of the job: the record's `target`.
    fn identity(&self, job: &Self::Job) -> Value;

    /// What identifies the job for the journal (a token's long fingerprint, never the token).
    fn job_key(&self, job: &Self::Job) -> String;

    /// The options that give a job its meaning (library, project, tenant...), so that a journal
    /// entry for one library is not taken as done for another.
    fn scope(&self) -> String;

    /// Secret values of this job (a token), scrubbed from everything printed while it runs.
    fn job_secrets<'a>(&self, _job: &'a Self::Job) -> Vec<&'a str> {
        Vec::new()
    }

    /// Builds and signs the request for one attempt at `now`.
    fn prepare(&self, job: &Self::Job, now: DateTime<Utc>) -> Result<PreparedRequest, ApiError>;

    /// Reads the answer.
    fn interpret(&self, job: &Self::Job, response: RawResponse) -> Result<Outcome, ApiError>;

    /// One attempt: prepare, send, interpret.
    fn execute(
        &self,
        transport: &Transport,
        job: &Self::Job,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Outcome, ApiError>> + Send {
        async move {
            let request = self.prepare(job, now)?;
            let scrub = request.scrubber();
            let response = transport.exchange(&request, &scrub).await?;
            self.interpret(job, response).map_err(|e| scrub.error(e))
        }
    }
}

/// An input item: a job, or a line that could not become one (recorded as failed, not sent).
pub enum JobItem<J> {
    Job(J),
    Invalid { target: Value, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Credentials,
    Interrupted,
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
        self.tx.send_modify(|r| {
            if r.is_none() {
                *r = Some(StopReason::Credentials)
            }
        });
    }

    pub fn reason(&self) -> Option<StopReason> {
        *self.tx.borrow()
    }

    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|r| r.is_some()).await;
    }
}

pub struct EngineConfig {
    pub concurrency: usize,
    /// Requests per second across the run; `None` = unlimited.
    pub rate: Option<f64>,
    pub policy: RetryPolicy,
    pub timeout: Duration,
    pub dry_run: bool,
    /// On a stop, read the rest of the input to record it as `skipped`. Off when targets come
    /// from an interactive terminal, where there is no "rest" to wait for.
    pub drain_on_stop: bool,
}

struct Ctx<P: Provider> {
    provider: Arc<P>,
    transport: Transport,
    rate: Option<RateLimiter>,
    policy: RetryPolicy,
    timeout: Duration,
    stop: Arc<Stop>,
    sink: SinkHandle,
}

/// Runs every job to exactly one record, in the sink. Returns how the run ended.
pub async fn run<P, I>(
    provider: Arc<P>,
    transport: Transport,
    jobs: I,
    cfg: EngineConfig,
    done: Arc<Done>,
    sink: SinkHandle,
    stop: Arc<Stop>,
) -> RunFlags
where
    P: Provider,
    I: Iterator<Item = JobItem<P::Job>> + Send + 'static,
{
    // Targets are read on a blocking thread and handed over through a small channel, so a
    // million-line input is never held in memory at once.
    let (tx, mut rx) = mpsc::channel::<JobItem<P::Job>>(256);
    let producer = tokio::task::spawn_blocking(move || {
        for item in jobs {
            if tx.blocking_send(item).is_err() {
                break;
            }
        }
    });

    let ctx = Arc::new(Ctx {
        provider: provider.clone(),
        transport,
        rate: cfg.rate.and_then(RateLimiter::new),
        policy: cfg.policy,
        timeout: cfg.timeout,
        stop: stop.clone(),
        sink: sink.clone(),
    });
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    // Until an answer shows the credentials are accepted, requests go one at a time.
    let mut confirmed = false;
    let mut index: u64 = 0;
    let name = provider.name();
    let scope = provider.scope();

    loop {
        let item = tokio::select! {
            biased;
            _ = stop.wait(), if !cfg.drain_on_stop => {
                // No more input is read, but the lines already read are targets too: they
                // are taken from the channel (and recorded as skipped below), then the loop
                // ends. Closing makes the producer's next send fail, which ends it.
                rx.close();
                rx.try_recv().ok()
            }
            item = rx.recv() => item,
        };
        let Some(item) = item else { break };
        let i = index;
        index += 1;
        let job = match item {
            JobItem::Invalid { target, message } => {
                let record = bare_record(
                    name,
                    i,
                    target,
                    Status::Failed,
                    Some(RecordError {
                        code: "InvalidTarget".into(),
                        message,
                        retryable: false,
                    }),
                );
                sink.emit(entry(record, None)).await;
                continue;
            }
            JobItem::Job(job) => job,
        };
        let target = provider.identity(&job);
        let key = long_fingerprint(&format!("{name}\n{scope}\n{}", provider.job_key(&job)));
        if let Some(status) = done.get(&key) {
            // Finished by an earlier run with this journal: reported, not sent again.
            let record = bare_record(name, i, target, status, None);
            sink.emit(entry(record, None)).await;
            continue;
        }
        if let Some(reason) = stop.reason() {
            sink.emit(entry(skipped(name, i, target, reason), None))
                .await;
            continue;
        }
        if cfg.dry_run {
            sink.emit(plan(&*provider, name, i, &job, target)).await;
            continue;
        }
        let permit = tokio::select! {
            biased;
            _ = stop.wait() => None,
            p = permits.clone().acquire_owned() => p.ok(),
        };
        let Some(permit) = permit else {
            let reason = stop.reason().unwrap_or(StopReason::Interrupted);
            sink.emit(entry(skipped(name, i, target, reason), None))
                .await;
            continue;
        };
        let work = process(ctx.clone(), i, job, key, target, permit);
        if !confirmed {
            // Credentials first: the first request goes alone and the rest wait for its
            // answer, so wrong credentials cost one request, not one per slot (Huawei locks
            // an access key after five signature failures in a row). An answer that says
            // nothing about the credentials (a timeout, a 503) confirms nothing: the next
            // target goes alone too.
            confirmed = work.await;
        } else {
            tasks.spawn(work);
        }
        while tasks.try_join_next().is_some() {}
    }
    drop(rx);
    while tasks.join_next().await.is_some() {}
    // Not awaited: after a stop without draining, the producer may be blocked reading a
    // terminal until the user types another line. Otherwise it has already finished: the
    // channel only closes once it drops its sender.
    drop(producer);

    RunFlags {
        interrupted: stop.reason() == Some(StopReason::Interrupted),
        credentials_rejected: stop.reason() == Some(StopReason::Credentials),
        ..RunFlags::default()
    }
}

fn entry(record: Record, journal_key: Option<String>) -> Entry {
    Entry {
        record,
        journal_key,
        rendered: None,
    }
}

fn bare_record(
    provider: &str,
    index: u64,
    target: Value,
    status: Status,
    error: Option<RecordError>,
) -> Record {
    Record {
        provider: provider.to_string(),
        index,
        target,
        status,
        http_status: None,
        attempts: 0,
        request_id: None,
        data: None,
        error,
        elapsed_ms: 0,
    }
}

fn skipped(provider: &str, index: u64, target: Value, reason: StopReason) -> Record {
    let (code, message) = match reason {
        StopReason::Credentials => (
            "CredentialsRejected",
            "not sent: the provider rejected the credentials",
        ),
        StopReason::Interrupted => ("Interrupted", "not sent: the run was interrupted"),
    };
    bare_record(
        provider,
        index,
        target,
        Status::Skipped,
        Some(RecordError {
            code: code.into(),
            message: message.into(),
            retryable: false,
        }),
    )
}

fn plan<P: Provider>(provider: &P, name: &str, index: u64, job: &P::Job, target: Value) -> Entry {
    match provider.prepare(job, Utc::now()) {
        Ok(request) => {
            let mut record = bare_record(name, index, target, Status::Planned, None);
            record.data = Some(request.to_json());
            Entry {
                record,
                journal_key: None,
                rendered: Some(request.render()),
            }
        }
        Err(e) => {
            let error = Some(RecordError::from_api(&e));
            entry(
                bare_record(name, index, target, Status::Failed, error),
                None,
            )
        }
    }
}

async fn process<P: Provider>(
    ctx: Arc<Ctx<P>>,
    index: u64,
    job: P::Job,
    key: String,
    target: Value,
    _permit: tokio::sync::OwnedSemaphorePermit,
) -> bool {
    let provider = &*ctx.provider;
    let name = provider.name();
    let secrets = provider.job_secrets(&job);
    let redactor = Redactor::global();
    redactor.enter(index, &secrets);
    let started = Instant::now();
    let mut attempts: u32 = 0;
    let mut last: Option<ApiError> = None;

    let result: Result<Outcome, ApiError> = loop {
        if let Some(rate) = &ctx.rate {
            let stopped = tokio::select! {
                biased;
                _ = ctx.stop.wait() => true,
                _ = rate.acquire() => false,
            };
            if stopped {
                match last.take() {
                    Some(e) => break Err(e),
                    None => {
                        redactor.leave(index);
                        let reason = ctx.stop.reason().unwrap_or(StopReason::Interrupted);
                        ctx.sink
                            .emit(entry(skipped(name, index, target, reason), None))
                            .await;
                        return false;
                    }
                }
            }
        }
        attempts += 1;
        let attempt = provider.execute(&ctx.transport, &job, Utc::now());
        let result = match tokio::time::timeout(ctx.timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::Send {
                message: format!("no answer within {} s", ctx.timeout.as_secs_f64()),
                timeout: true,
            }),
        };
        let err = match result {
            Ok(outcome) => break Ok(outcome),
            Err(e) => e,
        };
        if !err.retryable() {
            break Err(err);
        }
        let Some(delay) = ctx
            .policy
            .delay(attempts, err.retry_after(), fastrand::f64())
        else {
            break Err(err);
        };
        tracing::info!(
            "target {index}: attempt {attempts} failed ({}), retrying in {} ms",
            redactor.scrub_with(&err.to_string(), &secrets),
            delay.as_millis()
        );
        let stopped = tokio::select! {
            biased;
            _ = ctx.stop.wait() => true,
            _ = tokio::time::sleep(delay) => false,
        };
        if stopped {
            // A stop ends retrying: the target keeps the answer it had.
            break Err(err);
        }
        last = Some(err);
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // The provider answered, and not about the credentials: they were accepted.
    let confirmed = match &result {
        Ok(_) => true,
        Err(e) => {
            e.http_status().is_some()
                && matches!(
                    e.kind(),
                    crate::error::ErrorKind::Rejected | crate::error::ErrorKind::NotFound
                )
        }
    };

    let record = match result {
        Ok(o) => Record {
            provider: name.to_string(),
            index,
            target,
            status: o.status,
            http_status: o.http_status,
            attempts,
            request_id: o.request_id,
            data: o.data,
            error: o.error.map(|e| scrub_error(e, &secrets)),
            elapsed_ms,
        },
        Err(e) => {
            if e.kind() == crate::error::ErrorKind::Credentials {
                ctx.stop.credentials();
            }
            Record {
                provider: name.to_string(),
                index,
                target,
                status: Status::Failed,
                http_status: e.http_status(),
                attempts,
                request_id: e.request_id().map(str::to_string),
                data: None,
                error: Some(scrub_error(RecordError::from_api(&e), &secrets)),
                elapsed_ms,
            }
        }
    };
    redactor.leave(index);
    ctx.sink.emit(entry(record, Some(key))).await;
    confirmed
}

fn scrub_error(mut e: RecordError, secrets: &[&str]) -> RecordError {
    let r = Redactor::global();
    e.message = r.scrub_with(&e.message, secrets);
    e.code = r.scrub_with(&e.code, secrets);
    e
}
