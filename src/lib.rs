//! `revoke`: revoke access tokens at cloud identity providers.
//!
//! The flow reads top to bottom: `main` parses the command line (`cli`); `settings` resolves it
//! (with the environment and the config file) into a provider client and its jobs, finding
//! every usage error before anything is sent; `engine` runs the jobs, the only place that
//! sends; `output` prints and journals what came back; `exit` turns how the run ended into the
//! exit code, in one function. `plan` does the same for each step of a plan, all steps
//! resolved before any is run; `config` shows what the settings layers hold.

#![forbid(unsafe_code)]
// The documentation is for the people who work on `revoke` (`cargo doc --document-private-items`,
// checked by `.ci/run`): it links private items on purpose. clap turns the doc comments of the
// command line into `--help`, where a URL in angle brackets would show them.
#![allow(rustdoc::private_intra_doc_links, rustdoc::bare_urls)]

/// The list of run commands: each one's clap variant (in `settings::commands`) and its module,
/// in the order of `--help`. Handed to `$then!`: the one list declares each command's modules
/// under `settings/` and `providers/` (`modules!`, so a new command is no `mod` line in two
/// more files) and builds `settings::commands`' dispatch (`command_list!`). Defined here, before
/// the modules, so that both reach it by its name alone, and neither imports the other.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            BiEmbed => bi_embed,
            Smh => smh,
            Cloudbase => cloudbase,
            Ciam => ciam,
            Oauth => oauth,
            IdentityStore => identity_store,
        }
    };
}

/// Declares each command's module in the module it is expanded in (its file is `NAME.rs`
/// beside that module's own).
macro_rules! modules {
    ($($variant:ident => $module:ident,)*) => {
        $(pub mod $module;)*
    };
}

pub mod cli;
pub mod commands;
pub mod engine;
pub mod error;
pub mod net;
pub mod providers;
pub mod report;
pub mod secret;
pub mod settings;
pub mod sign;

use std::process::ExitCode;

use crate::cli::{Command, CommandLine};
use crate::report::exit::Ended;
use crate::settings::config_file::{self, ConfigFile, Scoped};
use crate::settings::creds::ProcessEnv;
use crate::settings::{Context, Global, Layers, UsageError};

pub fn main() -> ExitCode {
    report::stdio::guard_standard_descriptors();
    // Before the first message of any kind, usage errors included.
    let secret_variables = settings::RunCommand::ALL
        .iter()
        .flat_map(|d| d.secret_variables().iter().copied());
    secret::register_environment(secret_variables, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    });
    settings::secrets::register_secret_files(&std::env::args_os().collect::<Vec<_>>());
    let line = match CommandLine::parse() {
        Ok(line) => line,
        Err(e) => return report::exit::process_code(&cli::help::parse_failed(e)),
    };
    report::logging::install_panic_hook();
    report::logging::init(line.cli.global.verbose, line.cli.global.quiet);

    let end = match &line.cli.command {
        Command::Completions { shell } => cli::help::completions(*shell),
        Command::Man(args) => commands::man::run(args, line.cli.global.quiet),
        Command::Version { json } => cli::help::version(*json),
        Command::Report(args) => commands::report::run(args),
        _ => run_on_runtime(line),
    };
    // A run stopped while reading targets from a terminal leaves its echo off: back on.
    report::stdio::restore_terminal();
    report::exit::process_code(&end)
}

fn run_on_runtime(line: CommandLine) -> Ended {
    // Before anything that can take time: the config file, secret commands, the journal.
    engine::signals::install(line.cli.global.quiet);
    // One thread: the work is waiting on the network, and the rare CPU work (signing, JSON) is
    // microseconds. Measured against the 2-worker runtime on 2 cores: one-shot 4.2 -> 3.3 ms,
    // bulk with no latency at --concurrency 64 about 19k -> 29k revocations/s, bulk at 10 ms
    // the same. Reading input and writing output have threads of their own.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report::logging::error(&format!("cannot start: {e}"));
            return Ended::NothingSent;
        }
    };
    let end = runtime.block_on(run(line));
    // Tasks still waiting on stdin or a signal must not hold the exit.
    runtime.shutdown_background();
    end
}

/// Runs one command to its end: settings, then the engine.
pub async fn run(line: CommandLine) -> Ended {
    let CommandLine { cli, given } = line;
    // The configuration source below flags and environment: the config file's context for
    // this command, then its [defaults].
    // `--no-config`: no file at all, not even the one `--config` or REVOKE_CONFIG names.
    let file = match cli.global.no_config {
        true => Ok(None),
        false => ConfigFile::load(cli.global.config.as_deref(), &ProcessEnv),
    };
    let file = match file {
        Ok(file) => file,
        Err(e) => return usage(e),
    };
    match &cli.command {
        Command::Config(args) => {
            return commands::config::show(args, &cli.global, &given, file.as_ref());
        }
        Command::Apply(args) => {
            return commands::apply::apply(args, &cli.global, &given, file.as_ref()).await;
        }
        Command::Token(args) => {
            return commands::token::run(args, &cli.global, &given, file.as_ref()).await;
        }
        _ => {}
    }
    let command = given.command_name();
    let context =
        match config_file::context_for(file.as_ref(), command, cli.global.context.as_deref()) {
            Ok(context) => context,
            Err(e) => return usage(e),
        };
    let config = Scoped::new([context, file.as_ref().map(|f| &f.defaults)]);
    let layers = Layers::new(&given, &config);
    let global = match Global::resolve(&cli.global, &layers) {
        Ok(global) => global,
        Err(e) => return usage(e),
    };
    let cx = Context {
        global,
        layers: &layers,
        env: &ProcessEnv,
        args_visible: true,
        step_targets: Vec::new(),
        resolver: None,
    };
    match cli.command {
        Command::Run(command) => commands::run::alone(command, &cx).await,
        // Handled above, or before the runtime starts.
        Command::Config(_)
        | Command::Apply(_)
        | Command::Token(_)
        | Command::Completions { .. }
        | Command::Man(_)
        | Command::Report(_)
        | Command::Version { .. } => Ended::Printed,
    }
}

/// A usage or configuration error: one line on stderr, nothing on stdout, nothing sent.
fn usage(e: UsageError) -> Ended {
    report::logging::error(&e.to_string());
    Ended::NothingSent
}
