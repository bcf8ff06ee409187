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
//! sent: the plan file is read and checked whole (`${VAR}` from the row of `--each`, `--var`,
//! the environment; an unset one naming it), once per row with `--each`; each step becomes its command's settings through the same `settings::*::resolve`
//! a command line goes through, its values read from, highest first, the command line of
//! `revoke apply`, the step's own keys, the environment, the plan's `[defaults]`, the step's
//! context and the config file's `[defaults]`; one bad step is exit 2 and nothing is sent for
//! any step. Then the journal is opened once for the whole plan and the steps run at the same
//! time, each through the engine with its own retries, credentials-first request and stop (a
//! step whose credentials are rejected stops alone; a signal stops them all), sharing the run's
//! `--concurrency` and, with every step (of any row) that sends to the same endpoint with the
//! same credentials, one rate limit. Their records go to one output stream, each tagged with
//! its `step` (and `name`, and `row`), each step closes with its summary object, each row with
//! one, and the plan with one of its own; the exit code is the most serious of the steps'.

use std::path::{Path, PathBuf};

use super::run::{self, RowRun, Step, usage};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::report::exit::Ended;
use crate::report::record::RowTag;
use crate::report::sink::StepTag;
use crate::settings::config_file::{self, ConfigFile, Scoped};
use crate::settings::creds::{Env, ProcessEnv};
use crate::settings::rows::{Rows, Vars};
use crate::settings::schema::{command_keys, global_keys, suggest};
use crate::settings::toml_file::{Place, Reading, Table, TomlFile, Val, check_table, describe};
use crate::settings::{self, Context, Given, Global, Layers, RunCommand, UsageError};

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
        let budget = std::cell::Cell::new(settings::toml_file::MAX_EXPANDED);
        PlanFile::read_within(file, env, &budget)
    }

    /// [`PlanFile::read`], its `${VAR}` expansions taking from `budget` (a run over rows
    /// shares one across its rows).
    pub fn read_within(
        file: &TomlFile,
        env: &dyn Env,
        budget: &std::cell::Cell<usize>,
    ) -> Result<(PlanFile, Vec<UsageError>), UsageError> {
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
            budget: std::cell::Cell::new(budget.get()),
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
        budget.set(reading.budget.get());
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
                RunCommand::listed()
            ),
        ));
    };
    let Some(keys) = command_keys(&command) else {
        let hint = suggest(&command, RunCommand::names())
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        return Err(file.error(
            &at,
            "command",
            format!(
                "{command:?} is not a command a plan runs: one of {}{hint}",
                RunCommand::listed()
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

/// The problems found in a plan: one line each, then how many; nothing was sent.
fn problems(found: Vec<String>) -> Ended {
    if let [one] = &found[..] {
        return usage(format!("{one} (nothing was sent for any step of the plan)"));
    }
    for p in &found {
        crate::report::logging::error(p);
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

/// Reads the plan: the file `args.plan`, or stdin for `-`.
fn read_plan_file(path: &Path) -> Result<TomlFile, UsageError> {
    let read = if path.as_os_str() == "-" {
        TomlFile::stdin()
    } else {
        TomlFile::read(path)
    };
    read.map_err(|e| {
        let name = if path.as_os_str() == "-" {
            "from stdin".to_string()
        } else {
            path.display().to_string()
        };
        UsageError::ConfigFile(format!("cannot read the plan {name}: {e}"))
    })
}

/// The `${NAME}`s a plan's text refers to (comments left out), each with the first line it is
/// on.
fn referenced(text: &str) -> Vec<(String, usize)> {
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = without_comment(line);
        while let Some(at) = rest.find("${") {
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            if !names.iter().any(|(n, _)| n == name) {
                names.push((name.to_string(), i + 1));
            }
            rest = &after[end + 1..];
        }
    }
    names
}

/// A TOML line without its comment: from the first `#` outside a string.
fn without_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            _ => {}
        }
        escaped = false;
    }
    line
}

/// The columns of `rows` that the part of the plan at lines `from..to` (1-based, `to`
/// excluded) refers to.
fn columns_in(text: &str, from: usize, to: usize, rows: &Rows) -> Vec<String> {
    let part: String = text
        .lines()
        .skip(from.saturating_sub(1))
        .take(to.saturating_sub(from))
        .collect::<Vec<_>>()
        .join("\n");
    referenced(&part)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| rows.header.contains(n))
        .collect()
}

/// The most text the plan's strings may hold once expanded, over all the rows of a run (each
/// row's within [`settings::toml_file::MAX_EXPANDED`]): every row's steps are held until the
/// run starts.
pub const MAX_EXPANDED_ROWS: usize = 64 << 20;

/// Runs the plan `args.plan`, once, or once per row of `--each`.
pub async fn apply(
    args: &ApplyArgs,
    g: &GlobalArgs,
    given: &Given,
    file: Option<&ConfigFile>,
) -> Ended {
    let process_env = ProcessEnv;
    let env: &dyn Env = &process_env;
    let text = match read_plan_file(&args.plan) {
        Ok(text) => text,
        Err(e) => return usage(e),
    };
    let plan_from_stdin = args.plan.as_os_str() == "-";
    let rows = match &args.each {
        None => None,
        Some(path) => match Rows::read(path) {
            Ok(rows) => Some(rows),
            Err(found) => return problems(found),
        },
    };
    // Every row and every step is checked, and every problem reported, before anything is
    // sent.
    let mut found: Vec<String> = Vec::new();
    let outside = Vars {
        row: None,
        given: &args.vars,
        env,
    };
    // `${VAR}`s no column, --var or environment variable sets: said once, for the header.
    let mut missing: Vec<String> = Vec::new();
    // Rows with a value that cannot be used: said once each, and not resolved.
    let mut bad_rows = std::collections::HashSet::new();
    let mut header_found = Vec::new();
    if let Some(rows) = &rows {
        for (name, line) in referenced(text.text()) {
            if rows.header.contains(&name) {
                for (i, row) in rows.rows.iter().enumerate() {
                    let value = rows.value(row, &name).unwrap_or_default();
                    if let Err(why) = crate::settings::rows::check_value(value) {
                        found.push(format!(
                            "{}:{}: column {name} {why} (the plan uses ${{{name}}}, {}:{line})",
                            rows.path.display(),
                            row.line,
                            text.path.display()
                        ));
                        bad_rows.insert(i);
                    }
                }
            } else if outside.var(&name).is_none() {
                header_found.push(format!(
                    "{}:1: no column {name}, and no --var {name}=... or environment variable {name} (the plan uses ${{{name}}}, {}:{line})",
                    rows.path.display(),
                    text.path.display()
                ));
                missing.push(name);
            }
        }
    }
    found.splice(0..0, header_found);
    let unset = |p: &str| {
        missing
            .iter()
            .any(|m| p.contains(&format!("${{{m}}} is not set")))
    };
    let row_count = rows.as_ref().map_or(1, |r| r.rows.len());
    let mut runs: Vec<RowRun> = Vec::with_capacity(row_count);
    let mut run_global: Option<Global> = None;
    let mut stdin_step: Option<String> = None;
    // Problems that do not depend on the row are said once.
    let mut said = std::collections::HashSet::new();
    let mut run_budget = MAX_EXPANDED_ROWS;
    for r in 0..row_count {
        let row = rows.as_ref().map(|rows| (rows, &rows.rows[r]));
        if bad_rows.contains(&r) {
            continue;
        }
        let vars = Vars {
            row,
            given: &args.vars,
            env,
        };
        let at = match row {
            Some((rows, row)) => format!("{}:{}: ", rows.path.display(), row.line),
            None => String::new(),
        };
        let mut tag = row.map(|(_, row)| RowTag {
            line: row.line,
            key: row.values.first().cloned().unwrap_or_default(),
        });
        // Each row's strings within the bound of one plan's, and all rows' within the run's.
        if run_budget == 0 {
            found.push(format!(
                "{at}the plan's strings for the rows before this one already hold {} MiB once their ${{VAR}}s are replaced: split the file",
                MAX_EXPANDED_ROWS >> 20
            ));
            break;
        }
        let mut say = |p: String, columns: &[String]| {
            // A cell's value is never quoted back: a sheet of leavers can hold tokens, and a
            // token put in the wrong column would reach the terminal and CI logs. The
            // column's name says where to look.
            if unset(&p) || !said.insert(p.clone()) && rows.is_some() {
                return;
            }
            let p = match row {
                Some((rows, row)) => unquote_cells(p, &rows.header, &row.values),
                None => p,
            };
            let columns = match columns {
                [] => String::new(),
                [one] => format!("column {one}: "),
                many => format!("columns {}: ", many.join(", ")),
            };
            found.push(format!("{at}{columns}{p}"));
        };
        let budget = std::cell::Cell::new(run_budget.min(settings::toml_file::MAX_EXPANDED));
        let before = budget.get();
        let read = PlanFile::read_within(&text, &vars, &budget);
        run_budget -= before - budget.get();
        let (plan, read) = match read {
            Ok(read) => read,
            Err(e) => {
                lines_of(e).into_iter().for_each(|p| say(p, &[]));
                continue;
            }
        };
        read.into_iter()
            .flat_map(lines_of)
            .for_each(|p| say(p, &[]));
        // A first column that is the row's token (a step's target that is a secret) is shown
        // as tokens are: by its fingerprint.
        if let Some(t) = tag.as_mut()
            && plan.steps.iter().any(|s| {
                RunCommand::named(&s.command).is_some_and(|d| d.secret_targets)
                    && s.targets.contains(&t.key)
            })
        {
            t.key = crate::secret::fingerprint(&t.key);
        }
        // The plan's own settings: the command line, the environment, the plan's [defaults],
        // the config file's [defaults].
        let plan_config = Scoped::new([Some(&plan.defaults), file.map(|f| &f.defaults)]);
        let plan_layers = Layers::new(given, &plan_config);
        let global = match Global::resolve(g, &plan_layers) {
            Ok(global) => global,
            Err(e) => {
                lines_of(e).into_iter().for_each(|p| say(p, &[]));
                continue;
            }
        };
        match &run_global {
            None => run_global = Some(global),
            Some(first) => {
                // What holds for the whole plan holds for every row: one journal, one output.
                if first.journal != global.journal {
                    say(
                        "journal: this row's is not the first row's (a ${VAR} in the plan's journal): a run over rows has one journal; give it with --journal FILE".into(),
                        &[],
                    );
                }
                if (first.format, first.dry_run, first.concurrency)
                    != (global.format, global.dry_run, global.concurrency)
                {
                    say(
                        "output, dry-run and concurrency hold for the whole run: this row's are not the first row's (a ${VAR} in the plan's [defaults])".into(),
                        &[],
                    );
                }
            }
        }
        let Some(plan_global) = &run_global else {
            continue;
        };
        let mut steps: Vec<Step> = Vec::new();
        for (n, spec) in plan.steps.iter().enumerate() {
            let index = spec.index;
            let label = spec.label(index);
            // The columns this step (or the plan's [defaults]) takes its values from.
            let columns = match row {
                Some((rows, _)) => {
                    let to = plan
                        .steps
                        .get(n + 1)
                        .map_or(usize::MAX, |next| next.table.line);
                    let mut c = columns_in(text.text(), spec.table.line, to, rows);
                    if plan.defaults.line > 0 {
                        let end = plan
                            .steps
                            .iter()
                            .map(|s| s.table.line)
                            .find(|l| *l > plan.defaults.line)
                            .unwrap_or(usize::MAX);
                        for d in columns_in(text.text(), plan.defaults.line, end, rows) {
                            if !c.contains(&d) {
                                c.push(d);
                            }
                        }
                    }
                    c
                }
                None => Vec::new(),
            };
            let sources = Sources {
                g,
                given,
                file,
                plan: &plan,
                plan_global,
                env,
                row: tag.clone(),
            };
            match sources.resolve(index, spec) {
                Ok((step, reads_stdin)) => {
                    if reads_stdin {
                        if plan_from_stdin {
                            say(
                                format!(
                                    "{label}: input = \"-\": the plan itself is read from stdin; give the targets in a file"
                                ),
                                &columns,
                            );
                        } else if rows.is_some() {
                            say(
                                format!(
                                    "{label}: input = \"-\": stdin cannot be read once per row; give the targets in a file"
                                ),
                                &columns,
                            );
                        } else if let Some(first) = &stdin_step {
                            say(
                                format!(
                                    "{label}: input = \"-\": {first} already reads its targets from stdin; only one step can"
                                ),
                                &columns,
                            );
                        } else {
                            stdin_step = Some(format!("step {}", index + 1));
                        }
                    }
                    steps.push(step);
                }
                Err(e) => lines_of(e)
                    .into_iter()
                    .for_each(|e| say(format!("{label}: {e}"), &columns)),
            }
        }
        runs.push(RowRun { tag, steps });
    }
    if !found.is_empty() {
        return problems(found);
    }
    let Some(global) = run_global else {
        return problems(vec!["the plan has no row to run".into()]);
    };
    let with_rows = rows.is_some();
    run::execute_plan(&global, runs, with_rows, None).await
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
    /// The row of `--each` the step runs for.
    row: Option<RowTag>,
}

impl Sources<'_> {
    /// Resolves one step into its command's settings, as a command line would be; also says
    /// whether it reads its targets from stdin.
    fn resolve(&self, index: usize, spec: &StepSpec) -> Result<(Step, bool), UsageError> {
        let Sources {
            g,
            given,
            file,
            plan,
            plan_global,
            env,
            ref row,
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
            crate::report::journal::refuse_as_input(journal, input).map_err(UsageError::Journal)?;
        }
        global.journal = None;
        let reads_stdin = global.input_is_stdin();
        let cx = Context {
            global,
            layers: &layers,
            env,
            args_visible: false,
            step_targets: spec.targets.clone(),
            resolver: None,
        };
        let Some(command) = RunCommand::blank(&spec.command) else {
            // Steps are checked to name run commands when the plan is read.
            return Err(UsageError::ConfigFile(format!(
                "no command {:?}",
                spec.command
            )));
        };
        let tag = StepTag {
            step: index,
            name: spec.name.clone(),
            row: row.clone(),
            notes: None,
        };
        let resolved = Step::resolve(command, &cx, Some(tag));
        // A command's settings stop at their first problem; the others that can be known
        // without running anything (`revoke config`'s checks) are listed with it.
        resolved.map(|r| (r, reads_stdin)).map_err(|first| {
            let said = first.to_string();
            let mut all = vec![first];
            all.extend(
                crate::commands::config::problems(
                    &spec.command,
                    &layers,
                    env,
                    cx.global.endpoint.as_ref(),
                )
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

/// `message` with each of a row's cell values replaced by its column's `${NAME}`, longest
/// first (so a value that holds another is replaced whole). Values of fewer than 4 characters
/// stay: they are no secret, and replacing them would garble the words around them.
fn unquote_cells(mut message: String, header: &[String], values: &[String]) -> String {
    let mut cells: Vec<(&String, &String)> = header
        .iter()
        .zip(values)
        .filter(|(_, v)| v.chars().count() >= 4)
        .collect();
    cells.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (name, value) in cells {
        if message.contains(value.as_str()) {
            message = message.replace(value.as_str(), &format!("${{{name}}}"));
        }
    }
    message
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cell_value_is_never_quoted_back() {
        let header = ["TOKEN".to_string(), "USER".to_string(), "ID".to_string()];
        let values = [
            "SECRETTOKEN1".to_string(),
            "SECRETTOKEN1-alice".to_string(),
            "u1".to_string(),
        ];
        let m = unquote_cells(
            r#"token-type-hint: "SECRETTOKEN1" is not one of ...; user "SECRETTOKEN1-alice", id u1"#
                .to_string(),
            &header,
            &values,
        );
        assert_eq!(
            m,
            r#"token-type-hint: "${TOKEN}" is not one of ...; user "${USER}", id u1"#
        );
    }
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
    fn variables_in_comments_are_not_references() {
        let text = "# uses ${NOPE}\na = \"${A}\" # and ${NOPE2}\nb = 'x#${B}' # \"${NOPE3}\"\nc = \"q\\\"#${C}\"\n";
        let names: Vec<String> = referenced(text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["A", "B", "C"]);
    }

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
