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
pub mod dedup;
mod listing;
pub mod pace;
pub mod signals;
pub mod verify;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use self::attempt::{Attempts, Label, OnStop, Tried};
use self::dedup::{Check, Dedup, Repeat};
use self::listing::Listed;
pub use self::listing::{MAX_LISTED, MAX_PAGES};
pub use self::signals::{Stop, StopReason};
use crate::engine::pace::adaptive::Controller;
use crate::engine::pace::rate::{Rate, RateLimiter};
use crate::engine::pace::retry::RetryPolicy;
use crate::error::ApiError;
pub use crate::net::http::exchange;
use crate::net::http::{PreparedRequest, Transport};
pub use crate::providers::contract::{
    Discovery, JobItem, Listing, Outcome, Page, Provider, Sourced, TokenCheck, Verdict,
    Verification,
};
use crate::report::exit::RunFlags;
use crate::report::journal::{Done, Finished};
use crate::report::record::{Record, RecordError, Status};
use crate::report::sink::{Entry, SinkHandle};
use crate::secret::{Redactor, long_fingerprint};

/// The jobs of a run: known up front, or listed from the provider first.
pub enum Jobs<J: Send + Sync + 'static> {
    /// From arguments, an input file or stdin, read lazily.
    Items(Box<dyn Iterator<Item = Sourced<J>> + Send>),
    /// Listed by a setup request (identity-store `--all`) through the attempt loop.
    Listed(Arc<dyn Listing<Job = J>>),
}

impl<J: Send + Sync + 'static> Jobs<J> {
    /// Items with no `source`.
    pub fn items(items: impl Iterator<Item = JobItem<J>> + Send + 'static) -> Jobs<J> {
        Jobs::Items(Box::new(items.map(|item| (item, None))))
    }

    pub fn sourced(items: impl Iterator<Item = Sourced<J>> + Send + 'static) -> Jobs<J> {
        Jobs::Items(Box::new(items))
    }
}

pub struct EngineConfig {
    pub concurrency: usize,
    /// Requests per second across the run.
    pub rate: Rate,
    pub policy: RetryPolicy,
    pub timeout: Duration,
    pub dry_run: bool,
    /// On a stop, read the rest of the input to record it as `skipped`. Off when targets come
    /// from an interactive terminal, where there is no "rest" to wait for.
    pub drain_on_stop: bool,
    /// The requests in flight, when they are shared with other runs (a plan's steps share the
    /// run's `--concurrency`); `None`: `concurrency` of this run's own.
    pub permits: Option<Arc<Semaphore>>,
    /// `--verify`: ask the provider whether each revoked token is really dead.
    pub verify: bool,
    /// `--resume-within`: how old a journal entry of a provider that
    /// [acts on current tokens](Provider::acts_on_current_tokens) may be and still replay;
    /// zero: never.
    pub resume_within: Duration,
    /// The rate limit, when it is shared with other runs that send to the same endpoint with
    /// the same credentials (a plan's rows and steps); `None`: `rate`, of this run's own.
    pub pace: Option<Pace>,
}

/// A provider's client, its transport and its jobs, with the provider's type erased: what a
/// resolved command hands the engine. Built by [`Work::new`]; run by [`Work::run`].
pub struct Work(Box<dyn ErasedWork>);

trait ErasedWork: Send {
    fn name(&self) -> &'static str;
    fn scope(&self) -> String;
    fn run(
        self: Box<Self>,
        cfg: EngineConfig,
        done: Arc<Done>,
        sink: SinkHandle,
        stop: Arc<Stop>,
    ) -> std::pin::Pin<Box<dyn Future<Output = RunFlags> + Send>>;
}

struct Bound<P: Provider> {
    provider: Arc<P>,
    transport: Transport,
    jobs: Jobs<P::Job>,
}

impl<P: Provider> ErasedWork for Bound<P> {
    fn name(&self) -> &'static str {
        self.provider.name()
    }

    fn scope(&self) -> String {
        self.provider.scope()
    }

    fn run(
        self: Box<Self>,
        cfg: EngineConfig,
        done: Arc<Done>,
        sink: SinkHandle,
        stop: Arc<Stop>,
    ) -> std::pin::Pin<Box<dyn Future<Output = RunFlags> + Send>> {
        let Bound {
            provider,
            transport,
            jobs,
        } = *self;
        Box::pin(run(provider, transport, jobs, cfg, done, sink, stop))
    }
}

impl Work {
    pub fn new<P: Provider>(provider: Arc<P>, transport: Transport, jobs: Jobs<P::Job>) -> Work {
        Work(Box::new(Bound {
            provider,
            transport,
            jobs,
        }))
    }

    /// The provider's name, as in the record's `provider`.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The options that give the jobs their meaning; its first line is the URL sent to.
    pub fn scope(&self) -> String {
        self.0.scope()
    }

    /// Runs every job to its end (see [`run`]).
    pub async fn run(
        self,
        cfg: EngineConfig,
        done: Arc<Done>,
        sink: SinkHandle,
        stop: Arc<Stop>,
    ) -> RunFlags {
        self.0.run(cfg, done, sink, stop).await
    }
}

/// A rate limit and `--rate auto`'s controller: one per run, or one shared by the runs of a
/// plan that send to one endpoint with one set of credentials, so that ten rows never send at
/// ten times the rate the provider allows.
#[derive(Clone)]
pub struct Pace {
    rate: Option<Arc<RateLimiter>>,
    adaptive: Option<Arc<std::sync::Mutex<Controller>>>,
}

impl Pace {
    pub fn new(rate: Rate) -> Pace {
        Pace {
            rate: match rate {
                Rate::Fixed(n) => RateLimiter::new(n).map(RateLimiter::fine),
                Rate::Unlimited => None,
                Rate::Auto => {
                    RateLimiter::new(crate::engine::pace::adaptive::START).map(RateLimiter::fine)
                }
            }
            .map(Arc::new),
            adaptive: (rate == Rate::Auto).then(|| {
                Arc::new(std::sync::Mutex::new(Controller::new(
                    tokio::time::Instant::now(),
                )))
            }),
        }
    }
}

/// What `--verify` does in this run.
enum Verifying {
    Off,
    /// A check before and after each revocation, while the gate is open.
    PerTarget(verify::Gate),
    /// Verification was asked for but cannot happen: every revoked record says why.
    Unable(String),
    /// identity-store: one listing before the deletes (`before`: the journal keys it listed,
    /// or why there are none) and one after the run; records are held until then.
    ListAfter {
        before: std::sync::OnceLock<ListedBefore>,
        held: std::sync::Mutex<Vec<(Record, String, u64)>>,
    },
}

/// `--verify`'s listing before the deletes: the keys of the ids it listed and the requests it
/// took, or why there is none.
type ListedBefore = Result<(std::collections::HashSet<String>, u32), String>;

struct Ctx<P: Provider> {
    provider: Arc<P>,
    attempts: Attempts,
    sink: SinkHandle,
    dedup: Dedup,
    breaker: Breaker,
    throttling: pace::throttle::Throttling,
    verifying: Verifying,
}

/// After this many targets in a row ended with no answer at all (after their retries), the
/// endpoint is taken as down, once it has answered before.
pub const BREAKER_AFTER_ANSWERS: u32 = 5;

/// At most this many targets are sent to an endpoint whose answers show it is not the
/// provider's API (CLI.md, "Endpoints that are not the API").
pub const MISMATCH_AFTER: u32 = 3;

/// The circuit breaker: when the endpoint gives no answer at all (connection refused or reset,
/// timeouts) to target after target, the rest are `skipped` with code `Unreachable` instead of
/// each spending `(retries+1) x timeout`. The rule: a target that ended with no answer before
/// the endpoint ever answered trips it (nothing suggests the next would fare better: a wrong
/// host, a firewall that drops); after an answer, [`BREAKER_AFTER_ANSWERS`] in a row do.
///
/// It also stops a run at an endpoint that answers, but is not the API: a sign-in page, a
/// captive portal, a wrong path answering 404 (errors of kind [`ErrorKind::NotTheApi`]). When
/// [`MISMATCH_AFTER`] targets have had such answers before any answer from the API itself, the
/// rest are `skipped` with code `EndpointMismatch`. Such answers never confirm the credentials,
/// so targets go one at a time until then: at most [`MISMATCH_AFTER`] are sent, each with its
/// secrets, whatever `--concurrency`.
///
/// [`ErrorKind::NotTheApi`]: crate::error::ErrorKind::NotTheApi
#[derive(Default)]
pub struct Breaker {
    answered: std::sync::atomic::AtomicBool,
    silent_in_a_row: std::sync::atomic::AtomicU32,
    /// An answer came that only the API gives (its success, its own error format).
    api_seen: std::sync::atomic::AtomicBool,
    mismatches: std::sync::atomic::AtomicU32,
}

impl Breaker {
    /// The API itself answered: the endpoint is the API.
    pub fn api(&self) {
        self.answer();
        self.api_seen
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A target ended with an answer showing the endpoint is not the API: whether the breaker
    /// trips (and after how many).
    pub fn mismatch(&self) -> Option<u32> {
        use std::sync::atomic::Ordering::Relaxed;
        self.answer();
        if self.api_seen.load(Relaxed) {
            return None;
        }
        let n = self.mismatches.fetch_add(1, Relaxed) + 1;
        (n >= MISMATCH_AFTER).then_some(n)
    }

    pub fn answer(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.answered.store(true, Relaxed);
        self.silent_in_a_row.store(0, Relaxed);
    }

    /// A target ended with no answer: whether the breaker trips (and how many in a row).
    pub fn silence(&self) -> Option<u32> {
        use std::sync::atomic::Ordering::Relaxed;
        let n = self.silent_in_a_row.fetch_add(1, Relaxed) + 1;
        (!self.answered.load(Relaxed) || n >= BREAKER_AFTER_ANSWERS).then_some(n)
    }
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
    let pace = cfg.pace.clone().unwrap_or_else(|| Pace::new(cfg.rate));
    let attempts = Attempts {
        transport,
        rate: pace.rate,
        adaptive: pace.adaptive,
        policy: cfg.policy,
        timeout: cfg.timeout,
        stop: stop.clone(),
    };
    // A step before the first target (oauth's discovery); never sent in a dry run. When it
    // fails, every target is recorded as failed with its reason, and nothing else is sent.
    let setup_failed = match provider.setup() {
        Some(setup) if !cfg.dry_run => set_up(&*provider, &attempts, setup).await,
        _ => None,
    };
    let verifying = if cfg.verify && !cfg.dry_run && setup_failed.is_none() {
        verifying(&*provider, &attempts).await
    } else {
        Verifying::Off
    };
    let ctx = Arc::new(Ctx {
        provider: provider.clone(),
        attempts,
        sink: sink.clone(),
        dedup: Dedup::default(),
        breaker: Breaker::default(),
        throttling: Default::default(),
        verifying,
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
        Jobs::Listed(listing) => {
            match listing::list(&*listing, &ctx.attempts, Label::Setup(listing.what())).await {
                (Listed::All(items), tries) => {
                    tracing::info!("{}: {} item(s) listed", listing.what(), items.len());
                    // The listing was answered: the credentials work, and the endpoint is the
                    // API.
                    confirmed = true;
                    ctx.breaker.api();
                    if let Verifying::ListAfter { before, .. } = &ctx.verifying {
                        // `--verify`: this listing is the one before the deletes.
                        let _ = before.set(Ok((listed_keys(&*provider, &items), tries)));
                    }
                    Box::new(items.into_iter().map(|item| (item, None)))
                }
                (Listed::Stopped, _) => return flags(&stop, false),
                (Listed::Failed(why), _) => {
                    crate::report::logging::error(&format!("{why}; nothing was revoked"));
                    return flags(&stop, true);
                }
            }
        }
    };
    if let Verifying::ListAfter { before, .. } = &ctx.verifying
        && before.get().is_none()
    {
        let _ = before.set(list_before(&ctx).await);
    }

    // Targets are read on a blocking thread and handed over through a small channel, so a
    // million-line input is never held in memory at once.
    let (tx, mut rx) = mpsc::channel::<Sourced<P::Job>>(256);
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
            // A second signal stops waiting for the rest of the input too.
            _ = stop.abandoned() => {
                rx.close();
                rx.try_recv().ok()
            }
            _ = stop.wait(), if !cfg.drain_on_stop => {
                // No more input is read, but the lines already read are targets too: they
                // are taken from the channel (and recorded as skipped below), then the loop
                // ends. Closing makes the producer's next send fail, which ends it.
                rx.close();
                rx.try_recv().ok()
            }
            item = rx.recv() => item,
        };
        let Some((item, source)) = item else { break };
        let i = index;
        index += 1;
        let job = match item {
            JobItem::Invalid { target, message } => {
                let record = Record::bare(
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
                sink.emit(entry(record.from(source), None)).await;
                continue;
            }
            JobItem::Job(job) => job,
        };
        // Every target of the run is masked wherever it is quoted, for the rest of the run: an
        // answer for a later target can echo this one after its own request has left.
        for secret in provider.job_secrets(&job) {
            Redactor::global().add_target(secret);
        }
        let target = provider.identity(&job);
        let key = long_fingerprint(&format!("{name}\n{scope}\n{}", provider.job_key(&job)));
        if let Some(found) = done.get(&key) {
            if replays(&*provider, &found, cfg.resume_within, Utc::now()) {
                // Finished by an earlier run with this journal: reported, not sent again.
                let record = from_journal(name, i, target, found, cfg.dry_run).from(source);
                sink.emit(entry(record, None)).await;
                continue;
            }
            tracing::info!(
                "target {i}: the journal's entry from {} is older than --resume-within: sent again ({name} acts on the tokens there are now)",
                found.at_text()
            );
        }
        if let Some(reason) = stop.reason() {
            sink.emit(entry(skipped(name, i, target, reason).from(source), None))
                .await;
            continue;
        }
        // The same target twice is sent once; the repeat gets the first one's status.
        let target = match ctx.dedup.check(&key, i, target, source.clone()) {
            (Check::First, Some(target)) => target,
            (Check::Repeat(r), _) => {
                sink.emit(entry(repeat_record(name, r), None)).await;
                continue;
            }
            _ => continue,
        };
        if let Some(error) = &setup_failed {
            let record = Record::bare(name, i, target, Status::Failed, Some(error.clone()));
            sink.emit(entry(record.from(source), None)).await;
            emit_repeats(&ctx, &key, Status::Failed).await;
            continue;
        }
        if cfg.dry_run {
            let request = provider.prepare(&job, Utc::now());
            let mut planned = planned(name, i, target, request);
            planned.record.source = source;
            plan_setup(&*provider, &mut planned);
            if cfg.verify {
                plan_verification(&*provider, &job, &mut planned);
            }
            let status = planned.record.status;
            sink.emit(planned).await;
            emit_repeats(&ctx, &key, status).await;
            continue;
        }
        let permit = tokio::select! {
            biased;
            _ = stop.wait() => None,
            p = permits.clone().acquire_owned() => p.ok(),
        };
        let Some(permit) = permit else {
            let reason = stop.reason().unwrap_or(StopReason::Interrupted);
            sink.emit(entry(skipped(name, i, target, reason).from(source), None))
                .await;
            emit_repeats(&ctx, &key, Status::Skipped).await;
            continue;
        };
        let work = process(ctx.clone(), i, job, key, target, source, permit);
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
    if let Verifying::ListAfter { held, .. } = &ctx.verifying {
        let held = std::mem::take(&mut *held.lock().unwrap_or_else(|e| e.into_inner()));
        verify_by_listing(&ctx, held).await;
    }
    // Repeats whose first occurrence never ended (none are expected): skipped with it.
    for (i, target, source) in ctx.dedup.leftovers() {
        let reason = stop.reason().unwrap_or(StopReason::Interrupted);
        sink.emit(entry(skipped(name, i, target, reason).from(source), None))
            .await;
    }
    // Not awaited: after a stop without draining, the producer may be blocked reading a
    // terminal until the user types another line. Otherwise it has already finished: the
    // channel only closes once it drops its sender.
    drop(producer);
    flags(&stop, false)
}

/// Runs the provider's step before the first target through the attempt loop: `None` when it
/// succeeded (or was stopped: the targets are then skipped as at any stop), else the error every
/// target's record carries. Its reason is said once on stderr.
async fn set_up<P: Provider>(
    provider: &P,
    attempts: &Attempts,
    setup: crate::providers::contract::Setup,
) -> Option<RecordError> {
    let tried = attempts
        .run(Label::Setup(setup.what), &[], OnStop::Abandon, |_now| {
            provider.set_up(&attempts.transport)
        })
        .await;
    match tried {
        Tried::Done { result: Ok(()), .. } => None,
        Tried::Done { result: Err(e), .. } => {
            // Server text (a document's issuer, a URL): bounded like any provider message; the
            // logger scrubs and escapes it.
            let why = crate::report::scrub::cut(e.message(), crate::report::scrub::MAX_MESSAGE);
            crate::report::logging::error(&format!(
                "{}: {} failed: {why}; nothing was sent",
                provider.name(),
                setup.what
            ));
            Some(RecordError {
                code: setup.code.into(),
                message: format!("not sent: {} failed: {why}", setup.what),
                retryable: false,
            })
        }
        Tried::Stopped(_) | Tried::Abandoned => None,
    }
}

/// `--dry-run`: the provider's step before the first target, shown with the planned request
/// (text) and as `data.setup` (JSON), never sent.
fn plan_setup<P: Provider>(provider: &P, planned: &mut Entry) {
    let Some(setup) = provider.setup() else {
        return;
    };
    let requests = provider.setup_requests();
    if requests.is_empty() {
        return;
    }
    if let Some(text) = planned.rendered.as_mut() {
        text.push_str(&format!(
            "first, once per run ({}), sends in turn until one answers:\n",
            setup.what
        ));
        for r in &requests {
            text.push_str(&r.render());
        }
    }
    if let Some(Value::Object(map)) = planned.record.data.as_mut() {
        map.insert(
            "setup".into(),
            Value::Array(requests.iter().map(PreparedRequest::to_json).collect()),
        );
    }
}

/// What `--verify` will do in this run; a discovery request, if the provider needs one, is sent
/// here, through the attempt loop.
async fn verifying<P: Provider>(provider: &P, attempts: &Attempts) -> Verifying {
    match provider.verification() {
        Verification::PerTarget(_) => Verifying::PerTarget(Default::default()),
        Verification::ListAfter(_) => Verifying::ListAfter {
            before: Default::default(),
            held: Default::default(),
        },
        Verification::Unavailable(why) => {
            crate::report::logging::say(&format!(
                "revoke: warning: --verify: {} cannot be verified ({why}); nothing extra is sent and records say \"verified\": null",
                provider.name()
            ));
            Verifying::Off
        }
        Verification::Discover(discovery, _) => {
            let tried = attempts
                .run(
                    Label::VerifySetup("discovering the verification endpoint"),
                    &[],
                    OnStop::Abandon,
                    |now| async move {
                        let request = discovery.discovery_request(now)?;
                        exchange(&attempts.transport, &request, |a| {
                            discovery.read_discovery(a)
                        })
                        .await
                    },
                )
                .await;
            match tried {
                Tried::Done { result: Ok(()), .. } => Verifying::PerTarget(Default::default()),
                Tried::Done { result: Err(e), .. } => {
                    // Server text (a discovery document's URL): bounded like any provider message.
                    let why = crate::report::scrub::cut(
                        format!("not verified: {e}"),
                        crate::report::scrub::MAX_MESSAGE,
                    );
                    crate::report::logging::say(&format!("revoke: warning: --verify: {why}"));
                    Verifying::Unable(why)
                }
                Tried::Stopped(_) | Tried::Abandoned => {
                    Verifying::Unable("not verified: the run was stopped".into())
                }
            }
        }
    }
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

/// Whether a journal entry stands for this run's target (CLI.md "Journal replays"): always for
/// a revoked token or token id; for an action on the tokens a user or page has now, only while
/// the entry is younger than `window` (zero: never).
fn replays<P: Provider>(
    provider: &P,
    found: &Finished,
    window: Duration,
    now: DateTime<Utc>,
) -> bool {
    if !provider.acts_on_current_tokens() {
        return true;
    }
    // An entry dated ahead of the clock (a clock set back, another machine's journal, an edit)
    // is only as young as its distance from now: further ahead than the window, its age is
    // unknown and the target is sent again (harmless), rather than never until that date.
    let age = (now - found.at).abs().to_std().unwrap_or(Duration::MAX);
    age < window
}

/// The record of a target an earlier run finished: its status then, `attempts: 0`, and when.
/// In a dry run it is `planned` with `from_journal` set: nothing would be sent for it.
fn from_journal(
    provider: &str,
    index: u64,
    target: Value,
    found: Finished,
    dry_run: bool,
) -> Record {
    let status = if dry_run {
        Status::Planned
    } else {
        found.status
    };
    let mut record = Record::bare(provider, index, target, status, None);
    record.from_journal = Some(found.at_text());
    record
}

fn skipped(provider: &str, index: u64, target: Value, reason: StopReason) -> Record {
    let (code, message) = match reason {
        StopReason::Credentials => (
            "CredentialsRejected",
            "not sent: the provider rejected the credentials",
        ),
        StopReason::Interrupted => ("Interrupted", "not sent: the run was interrupted"),
        StopReason::Certificate => (
            "CertificateError",
            "not sent: the server's TLS certificate was refused",
        ),
        StopReason::Unreachable => (
            "Unreachable",
            "not sent: the endpoint gave no answer to the targets before it",
        ),
        StopReason::ClockSkew => (
            "ClockSkew",
            "not sent: the server refused the signature's time, and its Date is more than 24 h off the local clock",
        ),
        StopReason::EndpointMismatch => (
            "EndpointMismatch",
            "not sent: the endpoint's answers to the targets before it show it is not the provider's API",
        ),
        StopReason::Throttled => (
            "Throttled",
            "not sent: the server throttled the targets before it through all their retries",
        ),
    };
    Record::bare(
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

/// `--dry-run --verify`: the verification requests around the revocation, masked, under the
/// planned request (text) and as `data.verify`, with `data.verify_when` saying when (JSON).
fn plan_verification<P: Provider>(provider: &P, job: &P::Job, planned: &mut Entry) {
    let now = Utc::now();
    let (when, request) = match provider.verification() {
        Verification::PerTarget(check) => (
            "before and after the revocation (verified only if seen alive before and dead after)",
            check.verify_request(job, now).ok(),
        ),
        Verification::Discover(discovery, _) => (
            "once per run, to find the introspection endpoint; then that endpoint is asked about the token before and after the revocation (verified only if seen alive before and dead after)",
            discovery.discovery_request(now).ok(),
        ),
        Verification::ListAfter(listing) => (
            "once before the first delete and once after the last (verified only if listed before and not after)",
            listing.page_request(None, now).ok(),
        ),
        Verification::Unavailable(_) => return,
    };
    let Some(request) = request else { return };
    if let Some(text) = planned.rendered.as_mut() {
        text.push_str(&format!("--verify sends, {when}:\n{}", request.render()));
    }
    if let Some(Value::Object(map)) = planned.record.data.as_mut() {
        map.insert("verify".into(), request.to_json());
        map.insert("verify_when".into(), Value::String(when.into()));
    }
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
            let mut record = Record::bare(name, index, target, Status::Planned, None);
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
                Record::bare(name, index, target, Status::Failed, error),
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
    source: Option<String>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) -> bool {
    let provider = &*ctx.provider;
    let name = provider.name();
    let secrets = provider.job_secrets(&job);
    let redactor = Redactor::global();
    let scrub_id = Redactor::fresh_id();
    redactor.enter(scrub_id, &secrets);
    let transport = &ctx.attempts.transport;
    // `--verify`: the token as the checking credentials see it before the revocation.
    let mut verify_attempts = 0;
    let check = match &ctx.verifying {
        Verifying::PerTarget(gate) => Some(verify::Check {
            provider,
            attempts: &ctx.attempts,
            gate,
            index,
            job: &job,
            secrets: &secrets,
        }),
        _ => None,
    };
    let before = match &check {
        Some(check) => Some(verify::before(check, &mut verify_attempts).await),
        None => None,
    };
    let started = Instant::now();
    // A stop that came while the check before was out: the revocation is not sent.
    let tried = match ctx.attempts.stop.reason() {
        Some(reason) if before.is_some() => Tried::Stopped(reason),
        _ => {
            ctx.attempts
                .run(Label::Target(index), &secrets, OnStop::Finish, |now| {
                    provider.execute(transport, &job, now)
                })
                .await
        }
    };
    let (result, attempts) = match tried {
        Tried::Done { result, attempts } => (result, attempts),
        Tried::Stopped(reason) => {
            redactor.leave(scrub_id);
            ctx.sink
                .emit(entry(
                    skipped(name, index, target, reason).from(source),
                    None,
                ))
                .await;
            emit_repeats(&ctx, &key, Status::Skipped).await;
            return false;
        }
        Tried::Abandoned => {
            redactor.leave(scrub_id);
            let mut record = skipped(name, index, target, StopReason::Interrupted).from(source);
            record.attempts = 1;
            record.elapsed_ms = started.elapsed().as_millis() as u64;
            if let Some(e) = record.error.as_mut() {
                e.message = "abandoned in flight at a second interrupt: the server may have revoked it; run again to be sure".into();
            }
            ctx.sink.emit(entry(record, None)).await;
            emit_repeats(&ctx, &key, Status::Skipped).await;
            return false;
        }
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    // When the answer came (verification, if any, comes after).
    let at = Some(crate::report::record::now());
    match &result {
        Ok(_) => ctx.breaker.api(),
        Err(e) if e.kind() == crate::error::ErrorKind::NotTheApi => {
            if let Some(n) = ctx.breaker.mismatch()
                && ctx.attempts.stop.first(StopReason::EndpointMismatch)
            {
                let said = crate::report::scrub::cut(
                    redactor.scrub_with(&e.to_string(), &secrets),
                    crate::report::scrub::MAX_MESSAGE,
                );
                crate::report::logging::say(&format!(
                    "revoke: error: the endpoint is not the {name} API ({n} targets answered, never as the API does); the last answer: {said}. The remaining targets are skipped (code EndpointMismatch): check --endpoint, and any proxy or sign-in gateway on the way"
                ));
            }
        }
        Err(e) if e.from_the_api() => ctx.breaker.api(),
        Err(e) if e.http_status().is_some() => ctx.breaker.answer(),
        Err(e @ ApiError::Send { silent: true, .. }) => {
            if let Some(n) = ctx.breaker.silence()
                && ctx.attempts.stop.first(StopReason::Unreachable)
            {
                crate::report::logging::say(&format!(
                    "revoke: error: no answer to {n} target{} in a row ({}); the endpoint is taken as down: the remaining targets are skipped (code Unreachable)",
                    if n == 1 { "" } else { "s" },
                    redactor.scrub_with(&e.to_string(), &secrets)
                ));
            }
        }
        Err(_) => {}
    }
    if let Some(n) = ctx.throttling.ended(&result)
        && ctx.attempts.stop.first(StopReason::Throttled)
    {
        crate::report::logging::say(&format!(
            "revoke: error: the server throttled {n} targets in a row through all their retries; the remaining targets are skipped (code Throttled). Try again later, or with a lower --rate or --concurrency"
        ));
    }
    // The provider's API answered, and not about the credentials: they were accepted. An
    // answer that is not the API's (a page, an unreadable body) says nothing about them.
    let confirmed = match &result {
        Ok(_) => true,
        Err(e) => {
            e.from_the_api()
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
            verified: None,
            verify_attempts: 0,
            from_journal: None,
            source: source.clone(),
            at: at.clone(),
            ticket: None,
            actor: None,
            route: None,
            expires_at: None,
            finding: None,
            row: None,
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
            verified: None,
            verify_attempts: 0,
            from_journal: None,
            source: source.clone(),
            at: at.clone(),
            ticket: None,
            actor: None,
            route: None,
            expires_at: None,
            finding: None,
            row: None,
        },
    };
    let mut record = record;
    record.verify_attempts = verify_attempts;
    match (&ctx.verifying, check.zip(before)) {
        (Verifying::PerTarget(_), Some((check, before))) if verify::wanted(&record) => {
            verify::after(&check, before, &mut record).await;
        }
        (Verifying::Unable(why), _) if verify::wanted(&record) => {
            verify::unverified(&mut record, why.clone());
        }
        (Verifying::ListAfter { held, .. }, _) => {
            // Written after the listing that verifies them (the end of `run`), up to as many
            // as one listing can return; memory stays bounded whatever the input.
            let status = record.status;
            let kept = {
                let mut held = held.lock().unwrap_or_else(|e| e.into_inner());
                let kept = held.len() < listing::MAX_LISTED;
                if kept {
                    held.push((record.clone(), key.clone(), scrub_id));
                }
                kept
            };
            if kept {
                // The journal does not wait for the listing: a run killed before it keeps
                // this delete (the line holds no text of the answer: no request's secrets).
                ctx.sink.journal(entry(record, Some(key.clone()))).await;
                emit_repeats(&ctx, &key, status).await;
                return confirmed;
            }
            if verify::wanted(&record) {
                verify::unverified(
                    &mut record,
                    format!(
                        "not verified: only the first {} deletes of a run are held for the listing that verifies them",
                        listing::MAX_LISTED
                    ),
                );
            }
        }
        _ => {}
    }
    // The sink scrubs the record with this target's secrets, then forgets them.
    let status = record.status;
    let mut done = entry(record, Some(key.clone()));
    done.scrub_id = Some(scrub_id);
    ctx.sink.emit(done).await;
    emit_repeats(&ctx, &key, status).await;
    confirmed
}

/// The journal keys of the listed ids.
fn listed_keys<P: Provider>(
    provider: &P,
    items: &[JobItem<P::Job>],
) -> std::collections::HashSet<String> {
    items
        .iter()
        .filter_map(|i| match i {
            JobItem::Job(job) => Some(long_fingerprint(&format!(
                "{}\n{}\n{}",
                provider.name(),
                provider.scope(),
                provider.job_key(job)
            ))),
            JobItem::Invalid { .. } => None,
        })
        .collect()
}

/// identity-store's `--verify`, before the first delete: the listing of what is alive. Its
/// failure is said once on stderr; the deletes are sent anyway, unverified.
async fn list_before<P: Provider>(ctx: &Ctx<P>) -> ListedBefore {
    let provider = &*ctx.provider;
    let Some(listing) = provider.verification().listing() else {
        return Err("not verified: no listing".into());
    };
    let label = Label::VerifySetup("listing the tokens before the deletes");
    match listing::list(listing, &ctx.attempts, label).await {
        (Listed::All(items), tries) => Ok((listed_keys(provider, &items), tries)),
        (Listed::Stopped, _) => Err("not verified: the run was stopped during the listing".into()),
        (Listed::Failed(why), _) => {
            crate::report::logging::say(&format!(
                "revoke: warning: --verify: {why}; the deletes are sent all the same, unverified"
            ));
            Err(format!(
                "not verified: the listing before the deletes failed: {why}"
            ))
        }
    }
}

/// identity-store's `--verify`, after the deletes: one more listing. A deleted id listed before
/// and not now is verified; listed now, alive; not listed before, not verifiable. Then the
/// held records are written.
async fn verify_by_listing<P: Provider>(ctx: &Ctx<P>, held: Vec<(Record, String, u64)>) {
    let provider = &*ctx.provider;
    let Verifying::ListAfter { before, .. } = &ctx.verifying else {
        return;
    };
    let wanted = held.iter().filter(|(r, _, _)| verify::wanted(r)).count();
    let proof = match before.get() {
        // Nothing to verify: no listing, and no record is changed below.
        _ if wanted == 0 => Err(String::new()),
        None => Err("not verified: the run was stopped".into()),
        Some(Err(why)) => Err(why.clone()),
        Some(Ok(_)) if ctx.attempts.stop.reason().is_some() => {
            Err("not verified: the run was stopped".into())
        }
        Some(Ok((seen, before_tries))) => match provider.verification().listing() {
            None => Err("not verified: no listing".into()),
            Some(listing) => {
                let label = Label::VerifySetup("listing the tokens after the deletes");
                match listing::list(listing, &ctx.attempts, label).await {
                    (Listed::All(items), tries) => {
                        Ok((seen, listed_keys(provider, &items), before_tries + tries))
                    }
                    (Listed::Stopped, _) => {
                        Err("not verified: the run was stopped during the listing".into())
                    }
                    (Listed::Failed(why), _) => {
                        // The deletes happened: their records say so; only the proof is missing.
                        crate::report::logging::say(&format!(
                            "revoke: warning: --verify: {why}; the {wanted} delete(s) were sent and are recorded, unverified"
                        ));
                        Err(format!(
                            "not verified: the listing after the deletes failed: {why}"
                        ))
                    }
                }
            }
        },
    };
    for (mut record, key, scrub_id) in held {
        // Journaled when its answer came; again only if the listing changed its status.
        let journaled = record.status;
        if verify::wanted(&record) {
            match &proof {
                Err(why) => verify::unverified(&mut record, why.clone()),
                Ok((seen, alive, tries)) => {
                    record.verify_attempts = *tries;
                    if !seen.contains(&key) {
                        verify::unverified(
                            &mut record,
                            "not verified: the token id was not listed before the deletes (the listing cannot see it with these credentials)".into(),
                        );
                    } else if alive.contains(&key) {
                        verify::still_active(&mut record, "the token list");
                    } else {
                        record.verified = Some(true);
                    }
                }
            }
        }
        let changed = record.status != journaled;
        let mut done = entry(record, changed.then_some(key));
        done.scrub_id = Some(scrub_id);
        ctx.sink.emit(done).await;
    }
}

/// The records of the repeats that waited for the first occurrence of `key`, now `status`.
async fn emit_repeats<P: Provider>(ctx: &Ctx<P>, key: &str, status: Status) {
    for r in ctx.dedup.finish(key, status) {
        ctx.sink
            .emit(entry(repeat_record(ctx.provider.name(), r), None))
            .await;
    }
}

/// A repeat's record: the first occurrence's status, `attempts: 0`, nothing sent. A failed or
/// skipped one says which target it repeats.
fn repeat_record(provider: &str, r: Repeat) -> Record {
    let error = matches!(r.status, Status::Failed | Status::Skipped).then(|| RecordError {
        code: "Duplicate".into(),
        message: format!(
            "same target as target {}, which ended {}: not sent again",
            r.first,
            r.status.as_str()
        ),
        retryable: false,
    });
    Record::bare(provider, r.index, r.target, r.status, error).from(r.source)
}

fn scrub_error(mut e: RecordError, secrets: &[&str]) -> RecordError {
    let r = Redactor::global();
    e.message = r.scrub_with(&e.message, secrets);
    e.code = r.scrub_with(&e.code, secrets);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_stops_at_the_third_answer_that_is_not_the_api() {
        let b = Breaker::default();
        assert_eq!(b.mismatch(), None);
        assert_eq!(b.mismatch(), None);
        assert_eq!(b.mismatch(), Some(MISMATCH_AFTER));
        // Answers that are not the API's do count as answers for the silence rule.
        assert_eq!(b.silence(), None);
    }

    #[test]
    fn an_answer_from_the_api_means_the_endpoint_is_the_api() {
        let b = Breaker::default();
        assert_eq!(b.mismatch(), None);
        b.api();
        for _ in 0..10 {
            assert_eq!(b.mismatch(), None);
        }
    }
}
