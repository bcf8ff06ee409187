//! The one run path. A command resolved into a [`Plan`] becomes a [`Step`], and a step runs
//! the same way whether it is `revoke ciam ...` on its own or one step of `revoke apply`: its
//! sink (records on stdout, the journal), then the engine. What differs is only where its
//! output goes and what it shares ([`Place`]): a command alone has stdout, its own journal,
//! its progress bar and its own `--concurrency` and rate; a plan's step writes whole lines
//! into the plan's one output and shares the plan's journal, concurrency and rate limits.

use std::collections::HashMap;
use std::io::Write;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::engine::pace::rate::Rate;
use crate::engine::pace::retry::RetryPolicy;
use crate::engine::signals::Stop;
use crate::engine::{self, EngineConfig, Pace};
use crate::report::exit::{self, Ended};
use crate::report::journal::{Done, Journal};
use crate::report::record::{RowTag, Summary};
use crate::report::sink::{Evidence, Format, Sink, SinkConfig, StepTag};
use crate::settings::{Context, Global, Plan, RunCommand, UsageError};

/// A command resolved and ready to run, with the run settings it was resolved with. Nothing
/// has been sent.
pub struct Step {
    plan: Plan,
    tag: Option<StepTag>,
    rate: Rate,
    verify: bool,
    policy: RetryPolicy,
    timeout: Duration,
    dry_run: bool,
    resume_within: Duration,
    require_targets: bool,
    evidence: Evidence,
    /// The progress bar's total, when the step runs alone and has one.
    progress: Option<Option<u64>>,
}

/// Where a step runs: alone (a command), or in a plan.
pub enum Place<'a> {
    Alone {
        format: Format,
        quiet: bool,
        concurrency: usize,
        journal: Option<Journal>,
        done: Arc<Done>,
    },
    InPlan(&'a Shared),
}

/// What every step of a running plan shares.
pub struct Shared {
    pub format: Format,
    pub quiet: bool,
    /// One output stream: whole lines, never a mix of two steps' bytes.
    pub out: LineOut,
    pub journal: Option<Journal>,
    pub done: Arc<Done>,
    /// The run's `--concurrency`, across all steps.
    pub permits: Arc<Semaphore>,
    pub concurrency: usize,
    /// The rate limits, one per endpoint and credentials ([`Step::pace_key`]): the steps and
    /// rows that send to the same place share one.
    pub paces: Mutex<HashMap<String, Pace>>,
}

impl Step {
    /// Resolves `command` with `cx` into a step (`tag`: its place in a plan).
    pub fn resolve(
        command: RunCommand,
        cx: &Context,
        tag: Option<StepTag>,
    ) -> Result<Step, UsageError> {
        let plan = command.resolve(cx)?;
        let g: &Global = &cx.global;
        Ok(Step {
            rate: g.rate_for(plan.default_rate),
            verify: g.verify,
            policy: g.policy,
            timeout: g.timeout,
            dry_run: g.dry_run,
            resume_within: g.resume_within,
            require_targets: g.require_targets,
            evidence: g.evidence.clone(),
            progress: g.progress(plan.count),
            plan,
            tag,
        })
    }

    /// Which credential source the step uses (its name, never its value).
    pub fn credentials(&self) -> &str {
        &self.plan.credentials_source
    }

    pub fn tag(&self) -> Option<&StepTag> {
        self.tag.as_ref()
    }

    /// Where the step sends, and as whom: the provider, its endpoint and the credentials'
    /// source (never their value). Steps with the same key share one rate limit.
    pub fn pace_key(&self) -> String {
        // Every provider's scope starts with the URL it sends to.
        let scope = self.plan.work.scope();
        let endpoint = scope.lines().next().unwrap_or_default();
        format!(
            "{}\n{endpoint}\n{}",
            self.plan.work.name(),
            self.plan.credentials_source
        )
    }

    /// Starts the step's sink and returns the run to its end: the engine, then the summary.
    /// `Err`: the plan's journal cannot be shared with this step.
    pub fn start(
        self,
        place: Place<'_>,
        stop: Arc<Stop>,
    ) -> Result<Pin<Box<dyn Future<Output = Ended> + Send>>, String> {
        let pace_key = self.pace_key();
        let Step {
            plan,
            tag,
            rate,
            verify,
            policy,
            timeout,
            dry_run,
            resume_within,
            require_targets,
            evidence,
            progress,
        } = self;
        let prefix = tag
            .as_ref()
            .map(|t| format!("step {}: ", t.step + 1))
            .unwrap_or_default();
        let sink_config = |format, quiet, progress, journal, step| SinkConfig {
            format,
            quiet,
            progress,
            journal,
            missing_ok: plan.missing_ok,
            provider: plan.work.name(),
            step,
            verify: verify && !dry_run,
            evidence,
        };
        let (sink, concurrency, permits, pace, done) = match place {
            Place::Alone {
                format,
                quiet,
                concurrency,
                journal,
                done,
            } => (
                Sink::start(sink_config(format, quiet, progress, journal, tag)),
                concurrency,
                None,
                None,
                done,
            ),
            Place::InPlan(shared) => {
                let pace = shared
                    .paces
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(pace_key)
                    .or_insert_with(|| Pace::new(rate))
                    .clone();
                let journal = shared.journal.as_ref().map(Journal::share).transpose()?;
                let sink = Sink::start_with_writer(
                    // One bar per step would fight over the terminal's last line.
                    sink_config(shared.format, shared.quiet, None, journal, tag),
                    Box::new(shared.out.writer()),
                );
                (
                    sink,
                    shared.concurrency,
                    Some(shared.permits.clone()),
                    Some(pace),
                    shared.done.clone(),
                )
            }
        };
        let cfg = EngineConfig {
            concurrency,
            rate,
            policy,
            timeout,
            dry_run,
            drain_on_stop: plan.drainable,
            permits,
            pace,
            verify,
            resume_within,
        };
        let targets_from = plan.targets_from;
        let work = plan.work;
        Ok(Box::pin(async move {
            let mut flags = work.run(cfg, done, sink.handle(), stop).await;
            flags.require_targets = require_targets;
            let end = sink.finish(flags).await.end;
            say_if_no_target(&end, &targets_from, &prefix);
            Ended::Ran(end)
        }))
    }
}

/// `--require-targets`: a run that found no target says where they were to come from (its
/// exit code is 1, by [`exit::status`]). `prefix` names a plan's step.
fn say_if_no_target(end: &exit::RunEnd, from: &str, prefix: &str) {
    if end.flags.require_targets && end.summary.total == 0 && !end.flags.interrupted {
        crate::report::logging::error(&format!(
            "{prefix}--require-targets: no target came from {from}"
        ));
    }
}

/// Runs one command alone: the journal opened once the command resolved, then the step.
pub async fn alone(command: RunCommand, cx: &Context<'_>) -> Ended {
    let global = &cx.global;
    let step = match Step::resolve(command, cx, None) {
        Ok(step) => step,
        Err(e) => return usage(e),
    };
    // Last, once everything else checked out, so that a usage error leaves no journal file.
    let (journal, done) = match &global.journal {
        Some(path) => {
            let opened = match &global.input {
                Some(input) => crate::report::journal::refuse_as_input(path, input),
                None => Ok(()),
            }
            .and_then(|()| Journal::open(path));
            match opened {
                Ok((j, d)) => (Some(j), d),
                Err(e) => return usage(UsageError::Journal(e)),
            }
        }
        None => (None, Done::default()),
    };
    // Before the first request of any kind (identity-store's listing included).
    let stop = engine::signals::listen(global.quiet);
    if global.dry_run && !global.quiet {
        crate::report::logging::say(&format!(
            "revoke: dry run: nothing will be sent; credentials from {}; secrets are shown as ***",
            step.credentials()
        ));
    }
    let place = Place::Alone {
        format: global.format,
        quiet: global.quiet,
        concurrency: global.concurrency,
        journal,
        done: Arc::new(done),
    };
    match step.start(place, stop) {
        Ok(run) => run.await,
        Err(e) => usage(UsageError::Journal(e)),
    }
}

/// A usage or configuration error: one line on stderr, nothing on stdout, nothing sent.
pub fn usage(e: impl std::fmt::Display) -> Ended {
    crate::report::logging::error(&e.to_string());
    Ended::NothingSent
}

/// Standard output shared by the steps: each step's sink writes whole lines into it.
#[derive(Clone)]
pub struct LineOut(pub Arc<Mutex<Box<dyn Write + Send>>>);

impl LineOut {
    fn writer(&self) -> StepOut {
        StepOut {
            shared: self.clone(),
            pending: Vec::new(),
        }
    }

    pub fn write_line(&self, line: &str) -> std::io::Result<()> {
        let mut out = self.0.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

/// One step's view of [`LineOut`]: bytes are passed on a whole line at a time.
struct StepOut {
    shared: LineOut,
    pending: Vec<u8>,
}

impl Write for StepOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') {
            let rest = self.pending.split_off(last + 1);
            let lines = std::mem::replace(&mut self.pending, rest);
            let mut out = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
            out.write_all(&lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flush()
    }
}

/// Runs a plan whose every step resolved: the journal opened once, the signals listened to,
/// the steps on a pool sharing the run's concurrency and each endpoint's rate limit, then a
/// summary per row (`with_rows`) and one for the run.
pub async fn execute_plan(
    global: &Global,
    mut runs: Vec<RowRun>,
    with_rows: bool,
    refused: Option<Refused>,
) -> Ended {
    // Once every step of every row checked out: one journal for the whole run.
    let (journal, done) = match &global.journal {
        Some(path) => match Journal::open(path) {
            Ok((j, d)) => (Some(j), d),
            Err(e) => return usage(e),
        },
        None => (None, Done::default()),
    };
    // Before the first request of any step.
    let stop_all = engine::signals::listen(global.quiet);
    if global.dry_run && !global.quiet {
        // Once per step and credentials, not once per row.
        let mut shown = std::collections::HashSet::new();
        for step in runs.iter().flat_map(|r| &r.steps) {
            let line = format!(
                "revoke: dry run: nothing will be sent; step {}: credentials from {}; secrets are shown as ***",
                step.tag().map_or(0, |t| t.step) + 1,
                step.credentials()
            );
            if shown.insert(line.clone()) {
                crate::report::logging::say(&line);
            }
        }
    }
    let shared = Shared {
        format: global.format,
        quiet: global.quiet,
        out: LineOut(Arc::new(Mutex::new(crate::report::stdio::stdout()))),
        journal,
        done: Arc::new(done),
        permits: Arc::new(Semaphore::new(global.concurrency.max(1))),
        concurrency: global.concurrency,
        paces: Mutex::new(HashMap::new()),
    };
    let units: Vec<(usize, Step)> = runs
        .iter_mut()
        .enumerate()
        .flat_map(|(r, run)| {
            std::mem::take(&mut run.steps)
                .into_iter()
                .map(move |s| (r, s))
        })
        .collect();
    let stops: Vec<Arc<Stop>> = units.iter().map(|_| Arc::new(Stop::default())).collect();
    // A signal stops every step, as it stops one run.
    let forward = {
        let (all, stops) = (stop_all.clone(), stops.clone());
        tokio::spawn(async move {
            all.wait().await;
            for s in &stops {
                s.interrupt();
            }
            all.abandoned().await;
            for s in &stops {
                s.abandon();
            }
        })
    };
    let count = units.len();
    // A pool: at most this many steps run at once, each with its output thread and input
    // reader; the next starts when one ends. (One thread per step: 25,845 steps panicked with
    // `spawn output thread: WouldBlock`, 12,000 took 475 MB.) More steps than `--concurrency`
    // could not send at once anyway: they share its permits. Over rows, the steps of every
    // row go through the same pool.
    let at_once = global.concurrency.clamp(1, MAX_STEPS_AT_ONCE);
    let mut running = tokio::task::JoinSet::new();
    let mut ends: Vec<Ended> = Vec::with_capacity(count);
    let mut row_ends: Vec<Vec<Ended>> = runs.iter().map(|_| Vec::new()).collect();
    let mut ended = |(r, end): (usize, Ended)| {
        row_ends[r].push(end);
        ends.push(end);
    };
    // Targets refused before anything is sent (`revoke token`'s unknown issuers): their
    // records first, as a step of their own.
    let refused_step = usize::from(refused.is_some());
    if let Some(refused) = refused {
        ended((0, refused.write(&shared, global.evidence.clone()).await));
    }
    for ((r, step), stop) in units.into_iter().zip(stops) {
        while running.len() >= at_once {
            if let Some(end) = running.join_next().await {
                ended(end.unwrap_or((r, Ended::NothingSent)));
            }
        }
        match step.start(Place::InPlan(&shared), stop) {
            // A dry run sends nothing and takes no time: its steps are shown one after the
            // other, in the plan's order.
            Ok(fut) if global.dry_run => ended((r, fut.await)),
            Ok(fut) => {
                running.spawn(async move { (r, fut.await) });
            }
            Err(e) => {
                // A journal that cannot be shared: the steps already started go on, and this
                // one is a usage error.
                crate::report::logging::error(&e);
                ended((r, Ended::NothingSent));
            }
        }
    }
    while let Some(end) = running.join_next().await {
        ended(end.unwrap_or((0, Ended::NothingSent)));
    }
    forward.abort();
    let mut output_failed = false;
    let mut write = |text: &str| {
        if let Err(e) = shared.out.write_line(text)
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            output_failed = true;
        }
    };
    // One summary per row, in the file's order, when there are rows.
    for (run, ends) in runs.iter().zip(&row_ends) {
        let Some(tag) = &run.tag else { break };
        let summary = total_of(ends);
        let code = exit::code(&Ended::plan(ends, false));
        match global.format {
            Format::Json => write(
                &serde_json::to_string(&RowSummaryLine {
                    row: &tag.shown(),
                    summary,
                    exit_code: code,
                })
                .unwrap_or_default(),
            ),
            Format::Text if !global.quiet => {
                let counts = crate::report::text::summary_line("", &summary, code);
                crate::report::logging::say(&format!(
                    "row {} ({}),{}",
                    tag.line,
                    crate::report::text::escape(&tag.key),
                    counts.trim_start_matches(':')
                ));
            }
            Format::Text => {}
        }
    }
    let total = total_of(&ends);
    let code = exit::code(&Ended::plan(&ends, false));
    let steps = if with_rows {
        count / runs.len().max(1)
    } else {
        count + refused_step
    };
    match global.format {
        Format::Json => {
            let line = PlanSummaryLine {
                summary: total,
                steps,
                rows: with_rows.then_some(runs.len()),
                exit_code: code,
            };
            write(&serde_json::to_string(&line).unwrap_or_default());
        }
        Format::Text if !global.quiet => {
            // `: 4 targets: 3 revoked, 1 skipped; exit 3`
            let counts = crate::report::text::summary_line("", &total, code);
            let rows = match with_rows {
                true => format!(
                    " x {} row{}",
                    runs.len(),
                    if runs.len() == 1 { "" } else { "s" }
                ),
                false => String::new(),
            };
            crate::report::logging::say(&format!(
                "plan: {steps} step{}{rows},{}",
                if steps == 1 { "" } else { "s" },
                counts.trim_start_matches(':')
            ));
        }
        Format::Text => {}
    }
    Ended::plan(&ends, output_failed)
}

/// The most steps of a plan that run at the same time (fewer when `--concurrency` is lower).
pub const MAX_STEPS_AT_ONCE: usize = 16;

/// One row of the run (or the only one, without `--each`), resolved.
pub struct RowRun {
    pub tag: Option<RowTag>,
    pub steps: Vec<Step>,
}

/// The plan's last NDJSON line: `{"summary":{..},"steps":N,"exit_code":..}`, with `"rows":N`
/// after `steps` in a run over rows.
#[derive(serde::Serialize)]
struct PlanSummaryLine {
    summary: Summary,
    steps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<usize>,
    exit_code: u8,
}

/// A row's NDJSON summary, after all of the rows' steps: `{"row":{..},"summary":{..},
/// "exit_code":..}`.
#[derive(serde::Serialize)]
struct RowSummaryLine<'a> {
    row: &'a RowTag,
    summary: Summary,
    exit_code: u8,
}

/// The summaries of `ends`, added up.
fn total_of(ends: &[Ended]) -> Summary {
    let mut total = Summary::default();
    for end in ends {
        if let Ended::Ran(run) = end {
            add(&mut total, &run.summary);
        }
    }
    total
}

fn add(total: &mut Summary, s: &Summary) {
    total.total += s.total;
    total.revoked += s.revoked;
    total.already_invalid += s.already_invalid;
    total.not_found += s.not_found;
    total.failed += s.failed;
    total.skipped += s.skipped;
    total.planned += s.planned;
    total.from_journal += s.from_journal;
    total.sent += s.sent;
}

/// Targets given a record without a request: what `revoke token` sends nowhere (a token whose
/// issuer no context names). They are written as a step of the plan, `failed`, before the
/// steps run.
pub struct Refused {
    pub tag: StepTag,
    pub records: Vec<crate::report::record::Record>,
}

impl Refused {
    async fn write(self, shared: &Shared, evidence: Evidence) -> Ended {
        let sink = Sink::start_with_writer(
            SinkConfig {
                format: shared.format,
                quiet: shared.quiet,
                progress: None,
                // Nothing was done: nothing to journal.
                journal: None,
                missing_ok: false,
                provider: "token",
                step: Some(self.tag),
                verify: false,
                evidence,
            },
            Box::new(shared.out.writer()),
        );
        let handle = sink.handle();
        for record in self.records {
            handle
                .emit(crate::report::sink::Entry {
                    record,
                    scrub_id: None,
                    journal_key: None,
                    rendered: None,
                })
                .await;
        }
        drop(handle);
        Ended::Ran(
            sink.finish(crate::report::exit::RunFlags::default())
                .await
                .end,
        )
    }
}
