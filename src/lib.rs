//! `revoke`: revoke access tokens at cloud identity providers.
//!
//! `main` parses the command line (`cli`), resolves it into settings (`settings` and each
//! provider's `setup`), runs the shared engine (`engine`) with one provider, and maps the
//! outcome to an exit code in one place (`exit::code`).

#![forbid(unsafe_code)]

pub mod cli;
pub mod creds;
pub mod engine;
pub mod error;
pub mod exit;
pub mod http;
pub mod input;
pub mod journal;
pub mod logging;
pub mod output;
pub mod providers;
pub mod rate;
pub mod record;
pub mod retry;
pub mod secret;
pub mod settings;
pub mod sign;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::creds::ProcessEnv;
use crate::engine::{EngineConfig, Provider};
use crate::exit::{Ended, RunEnd, RunFlags};
use crate::http::Transport;
use crate::journal::{Done, Journal};
use crate::output::{Sink, SinkConfig};
use crate::providers::{Setup, SetupError};
use crate::settings::Common;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let end = if e.use_stderr() {
                Ended::NothingSent
            } else {
                Ended::Printed
            };
            return exit::process_code(&end);
        }
    };
    logging::install_panic_hook();
    logging::init(cli.global.verbose, cli.global.quiet);

    let end = match &cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "revoke", &mut script);
            print("the completion script", &script)
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print("the manual page", &page),
                Err(e) => {
                    logging::error(&format!("cannot write the manual page: {e}"));
                    Ended::NothingSent
                }
            }
        }
        _ => run_on_runtime(cli),
    };
    exit::process_code(&end)
}

/// Writes what `completions` or `man` made to stdout. A closed pipe (`| head`) is fine; any
/// other failure is reported, and nothing was sent.
fn print(what: &str, bytes: &[u8]) -> Ended {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ended::Printed,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ended::Printed,
        Err(e) => {
            logging::error(&format!("cannot write {what}: {e}"));
            Ended::NothingSent
        }
    }
}

fn run_on_runtime(cli: Cli) -> Ended {
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
            logging::error(&format!("cannot start: {e}"));
            return Ended::NothingSent;
        }
    };
    let end = runtime.block_on(run(cli));
    // Tasks still waiting on stdin or a signal must not hold the exit.
    runtime.shutdown_background();
    end
}

/// Runs one command to its end.
pub async fn run(cli: Cli) -> Ended {
    let json = cli.global.output == output::Format::Json;
    match run_inner(cli).await {
        Ok(end) => end,
        Err(e) => {
            let (end, msg) = match e {
                SetupError::Usage(msg) => (Ended::NothingSent, msg),
                SetupError::Credentials(msg) => (
                    Ended::Ran(RunEnd {
                        flags: RunFlags {
                            credentials_rejected: true,
                            ..RunFlags::default()
                        },
                        ..RunEnd::default()
                    }),
                    msg,
                ),
                SetupError::Failed(msg) => (
                    Ended::Ran(RunEnd {
                        flags: RunFlags {
                            setup_failed: true,
                            ..RunFlags::default()
                        },
                        ..RunEnd::default()
                    }),
                    msg,
                ),
            };
            logging::error(&msg);
            // A setup that failed after talking to the provider (identity-store's --all listing)
            // was a run: NDJSON readers still get its summary line. A usage error sent nothing
            // and prints nothing on stdout.
            if json && end != Ended::NothingSent {
                let line = output::SummaryLine {
                    summary: record::Summary::default(),
                    exit_code: exit::code(&end),
                };
                println!("{}", serde_json::to_string(&line).unwrap_or_default());
            }
            end
        }
    }
}

async fn run_inner(cli: Cli) -> Result<Ended, SetupError> {
    let common = Common::resolve(&cli.global)?;
    let env = ProcessEnv;
    match cli.command {
        Command::BiEmbed(args) => {
            let setup = providers::bi_embed::setup(args, &common, &env)?;
            execute(setup, &common).await
        }
        Command::Smh(args) => {
            let setup = providers::smh::setup(args, &common, &env)?;
            execute(setup, &common).await
        }
        Command::Cloudbase(args) => {
            let setup = providers::cloudbase::setup(args, &common)?;
            execute(setup, &common).await
        }
        Command::Ciam(args) => {
            let setup = providers::ciam::setup(args, &common, &env)?;
            execute(setup, &common).await
        }
        Command::IdentityStore(args) => {
            let setup = providers::identity_store::setup(args, &common, &env)?;
            execute(setup, &common).await
        }
        // Handled before the runtime starts.
        Command::Completions { .. } | Command::Man => Ok(Ended::Printed),
    }
}

/// Runs a provider's jobs through the engine and the output sink.
pub async fn execute<P: Provider>(setup: Setup<P>, common: &Common) -> Result<Ended, SetupError> {
    // Before the first request of any kind (identity-store's listing included).
    let stop = engine::signals::listen(common.quiet);
    let (journal, done) = match &common.journal {
        Some(path) => {
            let (j, d) = Journal::open(path)?;
            (Some(j), d)
        }
        None => (None, Done::default()),
    };
    if common.dry_run && !common.quiet {
        let source = setup
            .credentials_source
            .as_deref()
            .map(|s| format!("; credentials from {s}"))
            .unwrap_or_default();
        eprintln!("revoke: dry run: nothing will be sent{source}; secrets are shown as ***");
    }
    let transport = Transport::new(common.timeout, common.concurrency, setup.tls)?;
    let sink = Sink::start(SinkConfig {
        format: common.format,
        quiet: common.quiet,
        progress: common.progress(setup.count),
        journal,
        missing_ok: setup.missing_ok,
        provider: setup.provider.name(),
    });
    let cfg = EngineConfig {
        concurrency: common.concurrency,
        rate: common.rate_for(setup.default_rate),
        policy: common.policy,
        timeout: common.timeout,
        dry_run: common.dry_run,
        drain_on_stop: setup.drainable,
    };
    let flags = engine::run(
        setup.provider,
        transport,
        setup.jobs,
        cfg,
        Arc::new(done),
        sink.handle(),
        stop,
    )
    .await;
    let finished = sink.finish(flags).await;
    Ok(Ended::Ran(finished.end))
}
