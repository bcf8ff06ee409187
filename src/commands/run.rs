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
