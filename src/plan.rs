//! `revoke apply PLAN.toml`: several commands (the plan's steps) in one run.
//!
//! ```toml
//! [defaults]                      # optional: global options for this plan
//! journal = "offboard-${USER_ID}.ndjson"
//! [[step]]
//! command = "smh"                 # one of the five commands
//! context = "prod"                # optional; else the run's --context / default
//! targets = ["${USER_ID}"]
//! [[step]]
//! command = "ciam"
//! input = "tokens/${USER_ID}-ciam.txt"   # relative to the plan file
//! ```
//!
//! The flow is a single command's, once per step, with everything checked before anything is
//! sent: the plan file is read and checked whole (`${VAR}` from the environment, an unset one
//! naming it); each step becomes its command's settings through the same `settings::*::resolve`
//! a command line goes through, its values read from, highest first, the command line of
//! `revoke apply`, the step's own keys, the environment, the plan's `[defaults]`, the step's
//! context and the config file's `[defaults]`; one bad step is exit 2 and nothing is sent for
//! any step. Then the journal is opened once for the whole plan and the steps run at the same
//! time, each through the engine with its own rate limit, retries, credentials-first request
//! and stop (a step whose credentials are rejected stops alone; a signal stops them all),
//! sharing the run's `--concurrency`. Their records go to one output stream, each tagged with
//! its `step` (and `name`), each step closes with its summary object, and the plan with one of
//! its own; the exit code is the most serious of the steps'.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::cli::{ApplyArgs, Command, GlobalArgs};
use crate::creds::{Env, ProcessEnv};
use crate::engine::{self, EngineConfig, Provider, Stop};
use crate::exit::{self, Ended};
use crate::journal::{Done, Journal};
use crate::output::{Evidence, Format, Sink, SinkConfig, StepTag};
use crate::record::Summary;
use crate::retry::RetryPolicy;
use crate::settings::config_file::{self, ConfigFile, Scoped};
use crate::settings::schema::{RUN_COMMANDS, command_keys, global_keys, suggest};
use crate::settings::toml_file::{Place, Reading, Table, TomlFile, Val, check_table, describe};
use crate::settings::{self, CommandLine, Context, Given, Global, Layers, Plan, UsageError};

/// The keys of a step that are not options of its command.
const STEP_KEYS: [&str; 4] = ["command", "context", "name", "targets"];

/// Options that hold for the whole plan: set in its `[defaults]` or on the command line, never
/// in one step.
const PLAN_WIDE: [&str; 5] = ["journal", "output", "concurrency", "no-progress", "dry-run"];

/// A plan file, read and checked.
pub struct PlanFile {
    pub path: PathBuf,
    pub defaults: Table,
    pub steps: Vec<StepSpec>,
}

/// One `[[step]]`.
pub struct StepSpec {
    /// Its 0-based position in the plan.
    pub index: usize,
    pub command: String,
    pub context: Option<String>,
    pub name: Option<String>,
    pub targets: Vec<String>,
    /// The step's options, by long name.
    pub table: Table,
}

impl StepSpec {
    /// How messages name the step: `step 1 (ciam, "CI tokens", offboard.toml:9)`.
    fn label(&self, index: usize) -> String {
        let name = self
            .name
            .as_ref()
            .map(|n| format!(", {n:?}"))
            .unwrap_or_default();
        format!(
            "step {} ({}{name}, {}:{})",
            index + 1,
            self.command,
            self.table.file.display(),
            self.table.line
        )
    }
}

impl PlanFile {
    /// Reads a plan; the steps that read well, and every problem of the others.
    pub fn load(path: &Path, env: &dyn Env) -> Result<(PlanFile, Vec<UsageError>), UsageError> {
        let file = TomlFile::read(path).map_err(|e| {
            UsageError::ConfigFile(format!("cannot read the plan {}: {e}", path.display()))
        })?;
        PlanFile::read(&file, env)
    }

    /// A plan with no problem.
    pub fn parse(file: &TomlFile, env: &dyn Env) -> Result<PlanFile, UsageError> {
        let (plan, mut problems) = PlanFile::read(file, env)?;
        match problems.len() {
            0 => Ok(plan),
            1 => Err(problems.remove(0)),
            _ => Err(UsageError::Several(problems)),
        }
    }

    /// Reads the plan: what cannot be read at all is `Err`; the steps that read well come
    /// with every problem found in the rest.
    pub fn read(file: &TomlFile, env: &dyn Env) -> Result<(PlanFile, Vec<UsageError>), UsageError> {
        let doc = file.parse()?;
        let base = file
            .path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."));
        let reading = Reading {
            env,
            expand: true,
            base: Some(base),
            budget: std::cell::Cell::new(settings::toml_file::MAX_EXPANDED),
        };
        let mut defaults = Table::empty(&file.path, "[defaults]");
        let mut steps = Vec::new();
        // Every problem of the file is reported at once, not one per run.
        let mut problems = Vec::new();
        let mut step_count = 0;
        let mut top: Vec<_> = doc.get_ref().iter().collect();
        top.sort_by_key(|(k, _)| k.span().start);
        for (k, v) in top {
            let name = k.get_ref().as_ref();
            match (name, v.get_ref()) {
                ("defaults", toml::de::DeValue::Table(table)) => {
                    let place = Place {
                        title: "[defaults]",
                        span: k.span(),
                        scope: "a global option ([defaults] holds the options every step takes)",
                    };
                    match check_table(file, &place, table, &global_keys(), &[], &reading) {
                        Ok(t) => defaults = t,
                        Err(e) => problems.push(e),
                    }
                }
                ("step", toml::de::DeValue::Array(items)) => {
                    for item in items.iter() {
                        let index = step_count;
                        step_count += 1;
                        let Some(table) = item.get_ref().as_table() else {
                            problems.push(file.error(
                                &item.span(),
                                "step",
                                "each step is a [[step]] table",
                            ));
                            continue;
                        };
                        match step(file, index, &item.span(), table, &reading) {
                            Ok(s) => steps.push(s),
                            Err(e) => problems.push(e),
                        }
                    }
                }
                ("defaults" | "step", other) => {
                    problems.push(file.error(
                        &k.span(),
                        name,
                        format!(
                            "expected {}, found {}",
                            if name == "step" {
                                "[[step]] tables"
                            } else {
                                "a table"
                            },
                            describe(other)
                        ),
                    ));
                }
                _ => {
                    let hint = suggest(name, ["defaults", "step"])
                        .map(|s| format!(" (did you mean {s}?)"))
                        .unwrap_or_default();
                    problems.push(file.error(
                        &k.span(),
                        name,
                        format!("unknown key: a plan holds [defaults] and [[step]] tables{hint}"),
                    ));
                }
            }
        }
        if steps.is_empty() && step_count == 0 && problems.is_empty() {
            return Err(UsageError::ConfigFile(format!(
                "{}: the plan has no step: add [[step]] tables with command = \"...\"",
                file.path.display()
            )));
        }
        Ok((
            PlanFile {
                path: file.path.clone(),
                defaults,
                steps,
            },
            problems,
        ))
    }
}

/// Reads one `[[step]]` table.
fn step(
    file: &TomlFile,
    index: usize,
    span: &std::ops::Range<usize>,
    table: &toml::de::DeTable<'_>,
    reading: &Reading,
) -> Result<StepSpec, UsageError> {
    let title = format!("step {}", index + 1);
    let string = |key: &str| -> Result<Option<(String, std::ops::Range<usize>)>, UsageError> {
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref() == key) else {
            return Ok(None);
        };
        match v.get_ref() {
            toml::de::DeValue::String(s) => {
                let s = settings::toml_file::expand(s, reading.env, &reading.budget)
                    .map_err(|why| file.error(&v.span(), key, why.to_string()))?;
                Ok(Some((s, k.span())))
            }
            other => Err(file.error(
                &v.span(),
                key,
                format!("expected a string, found {}", describe(other)),
            )),
        }
    };
    let Some((command, at)) = string("command")? else {
        return Err(file.error_at(
            span,
            format!(
                "{title}: no command: add command = \"...\", one of {}",
                RUN_COMMANDS.join(", ")
            ),
        ));
    };
    let Some(keys) = command_keys(&command) else {
        let hint = suggest(&command, RUN_COMMANDS)
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        return Err(file.error(
            &at,
            "command",
            format!(
                "{command:?} is not a command a plan runs: one of {}{hint}",
                RUN_COMMANDS.join(", ")
            ),
        ));
    };
    for (k, _) in table.iter() {
        let key = k.get_ref().as_ref();
        if PLAN_WIDE.contains(&key) {
            return Err(file.error(
                &k.span(),
                key,
                format!(
                    "{key} holds for the whole plan: set it in the plan's [defaults] or on the command line, not in {title}"
                ),
            ));
        }
    }
    let targets = match table.iter().find(|(k, _)| k.get_ref() == "targets") {
        None => Vec::new(),
        Some((_, v)) => {
            let target_key = settings::schema::Key {
                long: "targets".into(),
                id: None,
                kind: settings::schema::Kind::List,
                choices: Vec::new(),
                global: false,
                env: None,
                default: None,
            };
            match settings::toml_file::convert(file, "targets", &target_key, v, reading)? {
                Val::One(t) => vec![t],
                Val::Many(ts) => ts,
            }
        }
    };
    let scope = format!("an option of {command}");
    let place = Place {
        title: &title,
        span: span.clone(),
        scope: &scope,
    };
    let table = check_table(file, &place, table, &keys, &STEP_KEYS, reading)?;
    Ok(StepSpec {
        index,
        command,
        context: string("context")?.map(|(c, _)| c),
        name: string("name")?.map(|(n, _)| n),
        targets,
        table,
    })
}

/// The most steps of a plan that run at the same time (fewer when `--concurrency` is lower).
pub const MAX_STEPS_AT_ONCE: usize = 16;

/// What every step of a running plan shares.
struct Shared {
    format: Format,
    quiet: bool,
    /// One output stream: whole lines, never a mix of two steps' bytes.
    out: LineOut,
    journal: Option<Journal>,
    done: Arc<Done>,
    /// The run's `--concurrency`, across all steps.
    permits: Arc<Semaphore>,
    concurrency: usize,
}

/// A step, resolved: ready to run, nothing sent.
trait Ready: Send {
    /// Which credential source the step uses (its name, never its value).
    fn credentials(&self) -> &str;
    fn tag(&self) -> &StepTag;
    /// Runs the step to its end.
    fn run(
        self: Box<Self>,
        shared: &Shared,
        stop: Arc<Stop>,
    ) -> Result<Pin<Box<dyn Future<Output = Ended> + Send>>, String>;
}

struct Step<P: Provider> {
    plan: Plan<P>,
    tag: StepTag,
    rate: crate::rate::Rate,
    verify: bool,
    policy: RetryPolicy,
    timeout: Duration,
    dry_run: bool,
    resume_within: Duration,
    require_targets: bool,
    evidence: Evidence,
}

impl<P: Provider> Ready for Step<P> {
    fn credentials(&self) -> &str {
        &self.plan.credentials_source
    }

    fn tag(&self) -> &StepTag {
        &self.tag
    }

    fn run(
        self: Box<Self>,
        shared: &Shared,
        stop: Arc<Stop>,
    ) -> Result<Pin<Box<dyn Future<Output = Ended> + Send>>, String> {
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
        } = *self;
        let tag_step = tag.step;
        let journal = shared.journal.as_ref().map(Journal::share).transpose()?;
        let sink = Sink::start_with_writer(
            SinkConfig {
                format: shared.format,
                quiet: shared.quiet,
                // One bar per step would fight over the terminal's last line.
                progress: None,
                journal,
                missing_ok: plan.missing_ok,
                provider: plan.provider.name(),
                step: Some(tag),
                verify: verify && !dry_run,
                evidence,
            },
            Box::new(shared.out.writer()),
        );
        let cfg = EngineConfig {
            concurrency: shared.concurrency,
            rate,
            policy,
            timeout,
            dry_run,
            drain_on_stop: plan.drainable,
            permits: Some(shared.permits.clone()),
            verify,
            resume_within,
        };
        let done = shared.done.clone();
        let targets_from = plan.targets_from.clone();
        Ok(Box::pin(async move {
            let mut flags = engine::run(
                plan.provider,
                plan.transport,
                plan.jobs,
                cfg,
                done,
                sink.handle(),
                stop,
            )
            .await;
            flags.require_targets = require_targets;
            let end = sink.finish(flags).await.end;
            let step = format!("step {}: ", tag_step + 1);
            crate::say_if_no_target(&end, &targets_from, &step);
            Ended::Ran(end)
        }))
    }
}

/// Standard output shared by the steps: each step's sink writes whole lines into it.
#[derive(Clone)]
struct LineOut(Arc<Mutex<Box<dyn Write + Send>>>);

impl LineOut {
    fn writer(&self) -> StepOut {
        StepOut {
            shared: self.clone(),
            pending: Vec::new(),
        }
    }

    fn write_line(&self, line: &str) -> std::io::Result<()> {
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

/// The plan's last NDJSON line: `{"summary":{..},"steps":N,"exit_code":..}`.
#[derive(serde::Serialize)]
struct PlanSummaryLine {
    summary: Summary,
    steps: usize,
    exit_code: u8,
}

fn usage(e: impl std::fmt::Display) -> Ended {
    crate::logging::error(&e.to_string());
    Ended::NothingSent
}

/// The problems found in a plan: one line each, then how many; nothing was sent.
fn problems(found: Vec<String>) -> Ended {
    if let [one] = &found[..] {
        return usage(format!("{one} (nothing was sent for any step of the plan)"));
    }
    for p in &found {
        crate::logging::error(p);
    }
    usage(format!(
        "{} problems in the plan: nothing was sent for any step",
        found.len()
    ))
}

/// The problems a plan file's reading found, as lines.
fn lines_of(e: UsageError) -> Vec<String> {
    match e {
        UsageError::Several(all) => all.into_iter().flat_map(lines_of).collect(),
        e => vec![e.to_string()],
    }
}

/// Runs the plan `args.plan`.
pub async fn apply(
    args: &ApplyArgs,
    g: &GlobalArgs,
    given: &Given,
    file: Option<&ConfigFile>,
) -> Ended {
    let env = ProcessEnv;
    // Every step is checked, and every problem reported, before anything is sent.
    let (plan, mut found) = match PlanFile::load(&args.plan, &env) {
        Ok((plan, found)) => (
            plan,
            found.into_iter().flat_map(lines_of).collect::<Vec<_>>(),
        ),
        Err(e) => return usage(e),
    };
    // The plan's own settings: the command line, the environment, the plan's [defaults], the
    // config file's [defaults].
    let plan_config = Scoped::new([Some(&plan.defaults), file.map(|f| &f.defaults)]);
    let plan_layers = Layers::new(given, &plan_config);
    let global = match Global::resolve(g, &plan_layers) {
        Ok(global) => global,
        Err(e) => return usage(e),
    };
    let mut ready: Vec<Box<dyn Ready>> = Vec::new();
    let mut stdin_step: Option<usize> = None;
    for spec in &plan.steps {
        let index = spec.index;
        let label = spec.label(index);
        let sources = Sources {
            g,
            given,
            file,
            plan: &plan,
            plan_global: &global,
            env: &env,
        };
        match sources.resolve(index, spec) {
            Ok((step, reads_stdin)) => {
                if reads_stdin {
                    if let Some(first) = stdin_step {
                        found.push(format!(
                            "{label}: input = \"-\": step {} already reads its targets from stdin; only one step can",
                            first + 1
                        ));
                    } else {
                        stdin_step = Some(index);
                    }
                }
                ready.push(step);
            }
            Err(e) => found.extend(lines_of(e).into_iter().map(|e| format!("{label}: {e}"))),
        }
    }
    if !found.is_empty() {
        return problems(found);
    }
    // Once every step checked out: one journal for the whole plan.
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
        for step in &ready {
            crate::logging::say(&format!(
                "revoke: dry run: nothing will be sent; step {}: credentials from {}; secrets are shown as ***",
                step.tag().step + 1,
                step.credentials()
            ));
        }
    }
    let shared = Shared {
        format: global.format,
        quiet: global.quiet,
        out: LineOut(Arc::new(Mutex::new(crate::output::stdout()))),
        journal,
        done: Arc::new(done),
        permits: Arc::new(Semaphore::new(global.concurrency.max(1))),
        concurrency: global.concurrency,
    };
    let stops: Vec<Arc<Stop>> = ready.iter().map(|_| Arc::new(Stop::default())).collect();
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
    let count = ready.len();
    // A pool: at most this many steps run at once, each with its output thread and input
    // reader; the next starts when one ends. (One thread per step: 25,845 steps panicked with
    // `spawn output thread: WouldBlock`, 12,000 took 475 MB.) More steps than `--concurrency`
    // could not send at once anyway: they share its permits.
    let at_once = global.concurrency.clamp(1, MAX_STEPS_AT_ONCE);
    let mut running = tokio::task::JoinSet::new();
    let mut ends: Vec<Ended> = Vec::with_capacity(count);
    for (step, stop) in ready.into_iter().zip(stops) {
        while running.len() >= at_once {
            if let Some(end) = running.join_next().await {
                ends.push(end.unwrap_or(Ended::NothingSent));
            }
        }
        match step.run(&shared, stop) {
            // A dry run sends nothing and takes no time: its steps are shown one after the
            // other, in the plan's order.
            Ok(fut) if global.dry_run => ends.push(fut.await),
            Ok(fut) => {
                running.spawn(fut);
            }
            Err(e) => {
                // A journal that cannot be shared: the steps already started go on, and this
                // one is a usage error.
                crate::logging::error(&e);
                ends.push(Ended::NothingSent);
            }
        }
    }
    while let Some(end) = running.join_next().await {
        ends.push(end.unwrap_or(Ended::NothingSent));
    }
    forward.abort();
    let mut total = Summary::default();
    for end in &ends {
        if let Ended::Ran(run) = end {
            add(&mut total, &run.summary);
        }
    }
    let mut output_failed = false;
    let code = exit::code(&Ended::plan(&ends, false));
    match global.format {
        Format::Json => {
            let line = PlanSummaryLine {
                summary: total,
                steps: count,
                exit_code: code,
            };
            let text = serde_json::to_string(&line).unwrap_or_default();
            if let Err(e) = shared.out.write_line(&text)
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                output_failed = true;
            }
        }
        Format::Text if !global.quiet => {
            // `: 4 targets: 3 revoked, 1 skipped; exit 3`
            let counts = crate::output::summary_line("", &total, code);
            crate::logging::say(&format!(
                "plan: {count} step{},{}",
                if count == 1 { "" } else { "s" },
                counts.trim_start_matches(':')
            ));
        }
        Format::Text => {}
    }
    Ended::plan(&ends, output_failed)
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

/// What a step's settings are read from, besides its own keys.
struct Sources<'a> {
    /// The command line of `revoke apply` (its global flags), and where clap found each value.
    g: &'a GlobalArgs,
    given: &'a Given,
    file: Option<&'a ConfigFile>,
    plan: &'a PlanFile,
    /// The settings that hold for the whole plan.
    plan_global: &'a Global,
    env: &'a dyn Env,
}

impl Sources<'_> {
    /// Resolves one step into its command's settings, as a command line would be; also says
    /// whether it reads its targets from stdin.
    fn resolve(&self, index: usize, spec: &StepSpec) -> Result<(Box<dyn Ready>, bool), UsageError> {
        let Sources {
            g,
            given,
            file,
            plan,
            plan_global,
            env,
        } = *self;
        let context_name = spec.context.as_deref().or(g.context.as_deref());
        let context = config_file::context_for(file, &spec.command, context_name)?;
        let config = Scoped::new([Some(&plan.defaults), context, file.map(|f| &f.defaults)]);
        let own = Scoped::new([Some(&spec.table)]);
        let layers = Layers::for_step(given, &spec.command, &own, &config);
        let mut global = Global::resolve(g, &layers)?;
        // What holds for the whole plan is the plan's; the journal is opened once, for all steps.
        global.format = plan_global.format;
        global.dry_run = plan_global.dry_run;
        global.concurrency = plan_global.concurrency;
        global.quiet = plan_global.quiet;
        global.no_progress = true;
        // The plan's journal is not a step's input (by any path).
        if let (Some(journal), Some(input)) = (&plan_global.journal, &global.input) {
            crate::journal::refuse_as_input(journal, input).map_err(UsageError::Journal)?;
        }
        global.journal = None;
        let reads_stdin = global.input_is_stdin();
        let cx = Context {
            global,
            layers: &layers,
            env,
            args_visible: false,
        };
        let mut argv = vec!["revoke".to_string(), spec.command.clone(), "--".to_string()];
        argv.extend(spec.targets.iter().cloned());
        let line = CommandLine::parse_from(argv).map_err(|e| {
            UsageError::ConfigFile(format!("its targets cannot be used: {}", e.kind()))
        })?;
        let tag = StepTag {
            step: index,
            name: spec.name.clone(),
        };
        let resolved = (|| -> Result<Box<dyn Ready>, UsageError> {
            Ok(match line.cli.command {
                Command::BiEmbed(a) => ready(settings::bi_embed::resolve(a, &cx)?, &cx, tag),
                Command::Smh(a) => ready(settings::smh::resolve(a, &cx)?, &cx, tag),
                Command::Cloudbase(a) => ready(settings::cloudbase::resolve(a, &cx)?, &cx, tag),
                Command::Ciam(a) => ready(settings::ciam::resolve(a, &cx)?, &cx, tag),
                Command::IdentityStore(a) => {
                    ready(settings::identity_store::resolve(a, &cx)?, &cx, tag)
                }
                _ => unreachable!("a plan's steps are checked to be run commands"),
            })
        })();
        // A command's settings stop at their first problem; the others that can be known
        // without running anything (`revoke config`'s checks) are listed with it.
        resolved.map(|r| (r, reads_stdin)).map_err(|first| {
            let said = first.to_string();
            let mut all = vec![first];
            all.extend(
                crate::config::problems(&spec.command, &layers, env)
                    .into_iter()
                    .filter(|p| *p != said)
                    .map(UsageError::ConfigFile),
            );
            match all.len() {
                1 => all.remove(0),
                _ => UsageError::Several(all),
            }
        })
    }
}

fn ready<P: Provider>(plan: Plan<P>, cx: &Context, tag: StepTag) -> Box<dyn Ready> {
    let g = &cx.global;
    Box::new(Step {
        rate: g.rate_for(plan.default_rate),
        verify: g.verify,
        policy: g.policy,
        timeout: g.timeout,
        dry_run: g.dry_run,
        resume_within: g.resume_within,
        require_targets: g.require_targets,
        evidence: g.evidence.clone(),
        plan,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn parse(text: &str) -> Result<PlanFile, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offboard.toml");
        std::fs::write(&path, text).unwrap();
        let file = TomlFile::read(&path).unwrap();
        let env = MapEnv(HashMap::from([("USER_ID", "alice"), ("HOME", "/home/u")]));
        PlanFile::parse(&file, &env).map_err(|e| {
            let e = e.to_string();
            e.replace(&dir.path().display().to_string(), "DIR")
        })
    }

    const CONTRACT: &str = r#"# offboard.toml: everything of one departing user, in one run
[defaults]                      # optional: global options for this plan
journal = "offboard-${USER_ID}.ndjson"

[[step]]
command = "smh"                 # one of the five commands
context = "prod"                # optional; else the run's --context / default
targets = ["${USER_ID}"]        # targets as arguments, and/or:
[[step]]
command = "ciam"
input = "tokens/${USER_ID}-ciam.txt"   # relative to the plan file
token-type-hint = "refresh_token"      # any other option of the command, by its long name
[[step]]
name = "CI bearer tokens"       # optional label
command = "identity-store"
all = true
missing-ok = true
"#;

    #[test]
    fn the_contract_example_reads() {
        let p = parse(CONTRACT).unwrap();
        assert_eq!(p.steps.len(), 3);
        let s = &p.steps[0];
        assert_eq!(
            (s.command.as_str(), s.context.as_deref()),
            ("smh", Some("prod"))
        );
        assert_eq!(s.targets, ["alice"]);
        assert_eq!(s.table.line, 5, "the [[step]] header");
        let ciam = &p.steps[1];
        let input = ciam.table.get("input").unwrap();
        let Val::One(path) = &input.value else {
            panic!()
        };
        assert!(path.ends_with("/tokens/alice-ciam.txt"), "{path}");
        assert_eq!(input.line, 11);
        assert_eq!(p.steps[2].name.as_deref(), Some("CI bearer tokens"));
        assert!(p.steps[2].table.get("all").is_some());
        let journal = p.defaults.get("journal").unwrap();
        assert!(
            matches!(&journal.value, Val::One(j) if j.ends_with("/offboard-alice.ndjson")),
            "{journal:?}"
        );
    }

    #[test]
    fn mistakes_name_the_line_and_the_key() {
        let cases = [
            (
                "[[step]]\ncommand = \"smhh\"\n",
                "DIR/offboard.toml:2: command: \"smhh\" is not a command a plan runs",
            ),
            (
                "[[step]]\ncommand = \"smh\"\nlibrary-idd = \"x\"\n",
                "DIR/offboard.toml:3: library-idd: unknown key in step 1: not an option of smh (did you mean library-id?)",
            ),
            (
                "[[step]]\ncommand = \"smh\"\ntargets = [\"${NOPE}\"]\n",
                "DIR/offboard.toml:3: targets: ${NOPE} is not set",
            ),
            (
                "[[step]]\ncommand = \"smh\"\njournal = \"j\"\n",
                "DIR/offboard.toml:3: journal: journal holds for the whole plan",
            ),
            (
                "[[step]]\ntargets = [\"a\"]\n",
                "DIR/offboard.toml:1: step 1: no command",
            ),
            (
                "[step]\ncommand = \"smh\"\n",
                "DIR/offboard.toml:1: step: expected [[step]] tables, found a table",
            ),
            (
                "[defaults]\nrate = \"x\"\n",
                "DIR/offboard.toml:2: rate: expected a number",
            ),
            (
                "[defaults]\nrate = 2\n",
                "DIR/offboard.toml: the plan has no step",
            ),
            (
                "[[steps]]\ncommand = \"smh\"\n",
                "DIR/offboard.toml:1: steps: unknown key: a plan holds [defaults] and [[step]] tables (did you mean step?)",
            ),
        ];
        for (text, want) in cases {
            let got = parse(text).err().unwrap_or_default();
            assert!(got.starts_with(want), "{text:?}\n got: {got}\nwant: {want}");
        }
    }
}
