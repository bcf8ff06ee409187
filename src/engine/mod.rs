//! The one place that sends: targets in, one record per target out.
//!
//! It owns concurrency (a semaphore of `--concurrency` permits over one pooled client), the
//! journal skip, "credentials first" (the first request goes alone) and the dispatch of jobs,
//! and, in its submodules, what every request shares: the attempt loop (`attempt`: rate limit,
//! timeout, retries, the credentials rule), setup requests that list the targets first
//! (`listing`, through that same loop), and stopping (`signals`: SIGINT, SIGTERM, SIGHUP, or
//! credentials rejected), after which nothing new is dispatched, requests in flight finish,
//! and every remaining target is recorded as `skipped`.
//!
//! Providers never loop, sleep or spawn: the engine calls [`Provider::execute`] once per
//! attempt with a fresh `now`, so every attempt is signed afresh.

mod attempt;
mod listing;
pub mod signals;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use self::attempt::exchange;
use self::attempt::{Attempts, Label, OnStop, Tried};
use self::listing::Listed;
pub use self::listing::{Listing, MAX_LISTED, MAX_PAGES, Page};
pub use self::signals::{Stop, StopReason};
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
    /// The outcome with `scrub` applied to every text the provider sent back.
    pub fn scrubbed(mut self, scrub: &crate::http::Scrubber) -> Outcome {
        fn walk(v: &mut Value, scrub: &crate::http::Scrubber) {
            match v {
                Value::String(s) => *s = scrub.text(s),
                Value::Array(a) => a.iter_mut().for_each(|x| walk(x, scrub)),
                Value::Object(m) => {
                    let old = std::mem::take(m);
                    for (k, mut x) in old {
                        walk(&mut x, scrub);
                        m.insert(scrub.text(&k), x);
                    }
                }
                _ => {}
            }
        }
        self.request_id = self.request_id.map(|r| scrub.text(&r));
        if let Some(d) = self.data.as_mut() {
            walk(d, scrub);
        }
        if let Some(e) = self.error.as_mut() {
            e.code = scrub.text(&e.code);
            e.message = scrub.text(&e.message);
        }
        self
    }

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
            // This attempt's own secrets (a signature, a Basic credential) are known here
            // only; the sink scrubs the credentials and the target's secrets once more.
            let scrub = request.scrubber();
            exchange(transport, &request, |answer| {
                self.interpret(job, answer).map(|o| o.scrubbed(&scrub))
            })
            .await
        }
    }
}

/// An input item: a job, or a line that could not become one (recorded as failed, not sent).
pub enum JobItem<J> {
    Job(J),
    Invalid { target: Value, message: String },
}

/// The jobs of a run: known up front, or listed from the provider first.
pub enum Jobs<J: Send + Sync + 'static> {
    /// From arguments, an input file or stdin, read lazily.
    Items(Box<dyn Iterator<Item = JobItem<J>> + Send>),
    /// Listed by a setup request (identity-store `--all`) through the attempt loop.
    Listed(Arc<dyn Listing<Job = J>>),
}

impl<J: Send + Sync + 'static> Jobs<J> {
    pub fn items(items: impl Iterator<Item = JobItem<J>> + Send + 'static) -> Jobs<J> {
        Jobs::Items(Box::new(items))
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
    /// The requests in flight, when they are shared with other runs (a plan's steps share the
    /// run's `--concurrency`); `None`: `concurrency` of this run's own.
    pub permits: Option<Arc<Semaphore>>,
}

struct Ctx<P: Provider> {
    provider: Arc<P>,
    attempts: Attempts,
    sink: SinkHandle,
}

/// Runs every job to exactly one record, in the sink. Returns how the run ended.
///
/// Jobs listed by a setup request are listed first, through the same attempt loop; a listing
/// that fails or is stopped ends the run with no record (its error is on stderr). `stop` comes
/// from [`signals::listen`], installed before this is called.
pub async fn run<P: Provider>(
    provider: Arc<P>,
    transport: Transport,
    jobs: Jobs<P::Job>,
    cfg: EngineConfig,
    done: Arc<Done>,
    sink: SinkHandle,
    stop: Arc<Stop>,
) -> RunFlags {
    let ctx = Arc::new(Ctx {
        provider: provider.clone(),
        attempts: Attempts {
            transport,
            rate: cfg.rate.and_then(RateLimiter::new),
            policy: cfg.policy,
            timeout: cfg.timeout,
            stop: stop.clone(),
        },
        sink: sink.clone(),
    });
    // Until an answer shows the credentials are accepted, requests go one at a time.
    let mut confirmed = false;
    let jobs = match jobs {
        Jobs::Items(items) => items,
        Jobs::Listed(listing) if cfg.dry_run => {
            // Nothing is sent, not even the list call: it is shown as the plan.
            let request = listing.page_request(None, Utc::now());
            sink.emit(planned(provider.name(), 0, listing.identity(), request))
                .await;
            return flags(&stop, false);
        }
        Jobs::Listed(listing) => match listing::list(&*listing, &ctx.attempts).await {
            Listed::All(items) => {
                tracing::info!("{}: {} item(s) listed", listing.what(), items.len());
                // The listing was answered: the credentials work.
                confirmed = true;
                Box::new(items.into_iter())
            }
            Listed::Stopped => return flags(&stop, false),
            Listed::Failed => return flags(&stop, true),
        },
    };

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

    let permits = cfg
        .permits
        .clone()
        .unwrap_or_else(|| Arc::new(Semaphore::new(cfg.concurrency.max(1))));
    let mut tasks = JoinSet::new();
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
            let request = provider.prepare(&job, Utc::now());
            sink.emit(planned(name, i, target, request)).await;
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
    flags(&stop, false)
}

fn flags(stop: &Stop, setup_failed: bool) -> RunFlags {
    RunFlags {
        interrupted: stop.reason() == Some(StopReason::Interrupted),
        credentials_rejected: stop.reason() == Some(StopReason::Credentials),
        setup_failed,
        ..RunFlags::default()
    }
}

fn entry(record: Record, journal_key: Option<String>) -> Entry {
    Entry {
        record,
        scrub_id: None,
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

/// The `planned` record of a dry run: the request as it would be sent, secrets masked.
fn planned(
    name: &str,
    index: u64,
    target: Value,
    request: Result<PreparedRequest, ApiError>,
) -> Entry {
    match request {
        Ok(request) => {
            let mut record = bare_record(name, index, target, Status::Planned, None);
            record.data = Some(request.to_json());
            Entry {
                record,
                scrub_id: None,
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
    let scrub_id = Redactor::fresh_id();
    redactor.enter(scrub_id, &secrets);
    let started = Instant::now();
    let transport = &ctx.attempts.transport;
    let tried = ctx
        .attempts
        .run(Label::Target(index), &secrets, OnStop::Finish, |now| {
            provider.execute(transport, &job, now)
        })
        .await;
    let (result, attempts) = match tried {
        Tried::Done { result, attempts } => (result, attempts),
        Tried::Stopped(reason) => {
            redactor.leave(scrub_id);
            ctx.sink
                .emit(entry(skipped(name, index, target, reason), None))
                .await;
            return false;
        }
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
        Err(e) => Record {
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
        },
    };
    // The sink scrubs the record with this target's secrets, then forgets them.
    let mut done = entry(record, Some(key));
    done.scrub_id = Some(scrub_id);
    ctx.sink.emit(done).await;
    confirmed
}

fn scrub_error(mut e: RecordError, secrets: &[&str]) -> RecordError {
    let r = Redactor::global();
    e.message = r.scrub_with(&e.message, secrets);
    e.code = r.scrub_with(&e.code, secrets);
    e
}
