//! The command line, as clap types only: no logic lives here. `///` comments are the user's
//! `--help`. Settings are resolved from these in `settings/`, one file per command.
//!
//! The contract is `../shared/CLI.md`: flag names, environment variables and defaults below
//! follow it exactly.

pub mod help;
pub mod version;

use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::secret::Secret;
use crate::settings::Given;
use crate::settings::layers::without_empty_env;

pub use crate::report::evidence::{ReportArgs, ReportFormat};
pub use crate::settings::RunCommand;
pub use crate::settings::global::GlobalArgs;

#[derive(Debug, Parser)]
#[command(
    name = "revoke",
    version = crate::cli::version::VERSION,
    about = "Revoke access tokens at cloud identity providers, safely and in bulk",
    long_about = "Revoke access tokens at cloud identity providers, safely and in bulk.\n\n\
        Every target gets exactly one outcome (revoked, already_invalid, not_found, failed, \
        skipped or planned), secrets are never printed, and the exit code says how the run \
        went: 0 all done, 1 some target failed, 2 usage or configuration error (nothing sent), \
        3 credentials rejected, 130 interrupted. Options that name no command (the run and \
        output options) go before or after the command.\n\n\
        Records name a token by its fingerprint: \"sha256:\" and the first 12 hex digits of \
        the SHA-256 of the token. To find the record of a token:\n\
        printf %s \"$TOKEN\" | sha256sum | cut -c1-12",
    override_usage = "revoke [OPTIONS] <COMMAND> [COMMAND OPTIONS] [TARGET]...",
    after_help = REVOKE_EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The command line as parsed: the clap types, and what clap knows about where each value came
/// from.
pub struct CommandLine {
    pub cli: Cli,
    pub given: Given,
}

impl CommandLine {
    /// Parses the process's arguments and environment.
    pub fn parse() -> Result<CommandLine, clap::Error> {
        CommandLine::parse_from(std::env::args_os())
    }

    pub fn parse_from<I, T>(args: I) -> Result<CommandLine, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        // Built once per process.
        static TEMPLATE: std::sync::OnceLock<clap::Command> = std::sync::OnceLock::new();
        let mut command = TEMPLATE
            .get_or_init(|| without_empty_env(help::command()))
            .clone();
        let matches = command.try_get_matches_from_mut(args)?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        Ok(CommandLine {
            cli,
            given: Given::new(matches, command),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// (The commands that revoke: one per provider API.)
    #[command(flatten)]
    Run(RunCommand),

    /// Show the settings a run would use, each with where it comes from
    ///
    /// Each option's value and its source: flag, env NAME, FILE:LINE of the config file, or
    /// default; secrets show as *** with their source. The config file's format (its tables,
    /// keys, contexts and secret sources) is in revoke-config(1), section CONFIGURATION FILE:
    /// `revoke man config`.
    #[command(after_help = CONFIG_EXAMPLES)]
    Config(ConfigArgs),

    /// Run a plan: the steps of a TOML file, several commands at once, in one run
    ///
    /// Every step is checked before anything is sent; then the steps run at the same time,
    /// with one output stream, one journal and one exit code. With --each FILE.csv the plan
    /// runs once per row (the columns are ${VAR}s), every row checked first, the rows sharing
    /// the run's concurrency, each endpoint's rate limit and the journal. The plan file's
    /// format (its [[step]] and [defaults] tables, ${VAR}s, rows, where values come from,
    /// examples) is in revoke-apply(1), section PLAN FILE: `revoke man apply`.
    // (`[[step]]` is `--help` text here, not a link.)
    #[allow(rustdoc::broken_intra_doc_links)]
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),

    /// Revoke tokens without naming their provider: each is routed by what it says
    ///
    /// A JWT's claims (its signature is not checked) choose where it is sent, and prove
    /// nothing: a CloudBase issuer (https://ENV.REGION.tcb-api.tencentcloudapi.com, or http://
    /// as the documented token has it) goes to cloudbase, with the [cloudbase.*] context whose
    /// env-id matches if there is one; an issuer equal to a [ciam.*] context's domain or an
    /// [oauth.*] context's issuer goes to that context. No credential is ever sent to an
    /// issuer that no context names: such a token fails with code UnknownIssuer, sent nowhere.
    /// A token that is not a JWT goes to --default COMMAND.CONTEXT. The tokens are grouped by
    /// destination and run as one plan (one step each, with its own credentials, rate and
    /// retries); --verify is on. Records add route (provider, context, issuer, matched_by),
    /// expires_at when the token says, and finding with --findings.
    #[command(
        override_usage = "revoke token [OPTIONS] [TOKEN]... [--input FILE] [--findings FILE]",
        after_help = TOKEN_EXAMPLES
    )]
    Token(TokenArgs),

    /// Write the evidence of runs: one row per target, from records or journals
    ///
    /// Reads the NDJSON records of runs (`-o json` of a command or of `revoke apply`; summary
    /// lines are skipped) and journal files (--journal), in any mix, and writes one row per
    /// record or journal line: row or step, provider, target (a fingerprint or an id),
    /// status, requested at, answered at, verified, request id, ticket and actor. A field the
    /// input does not have is left empty. As a Markdown table (for a ticket), CSV (for a
    /// spreadsheet: RFC 4180; a cell a spreadsheet would run as a formula gets a leading ',
    /// so it reads as text) or one self-contained printable HTML page (no script, nothing
    /// fetched). Lines are read
    /// as --input lines are (UTF-8, at most 64 KiB each); at most 100000 rows. A line that is
    /// not a record, a journal line or a summary is named on stderr as FILE:LINE: why; the
    /// report is still written, and the exit code is 1. Exit 2 when a file cannot be read, or
    /// nothing in them is a record, or there are more than 100000 rows: nothing is written.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print a manual page (roff), or write them all into a directory
    ///
    /// Prints the page of revoke, or of one COMMAND (revoke-COMMAND(1)). With --dir, writes
    /// revoke.1 and revoke-COMMAND.1 for every command into DIR, for packagers.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),

    /// Print the version and the build details (commit, date, target, compiler)
    #[command(after_help = VERSION_EXAMPLES)]
    Version {
        /// One JSON object: version, commit, commit_date, target, profile, rustc.
        #[arg(long)]
        json: bool,
    },
}

/// `revoke token`'s own options.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// A secret scanner's report: gitleaks' JSON report or trufflehog's --json lines (told
    /// apart by their shape); each finding's secret is a token, its record names the finding.
    #[arg(long, value_name = "FILE")]
    pub findings: Option<PathBuf>,

    /// The report's format, when its shape is not enough.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "findings")]
    pub findings_format: Option<FindingsChoice>,

    /// Where tokens that are not JWTs go: a context of the config file, as ciam.prod,
    /// oauth.corp or cloudbase.prod.
    #[arg(long = "default", value_name = "COMMAND.CONTEXT")]
    pub default: Option<String>,

    /// A JWT whose issuer no context names is revoked at its own issuer, as a public client
    /// (discovery, then RFC 7009 without a secret): only over https, never at a loopback,
    /// private or link-local address.
    #[arg(long)]
    pub discover: bool,

    /// Do not check that each token is dead afterwards (--verify is on for revoke token).
    #[arg(long)]
    pub no_verify: bool,

    /// Tokens. Prefer --input or --findings: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FindingsChoice {
    Gitleaks,
    Trufflehog,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (smh prints revoke-smh(1)); none prints revoke(1).
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Option<String>,

    /// Write revoke.1 and revoke-COMMAND.1 for every command into DIR (created if need be).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

// The examples are printed exactly as written here (clap does not re-wrap them: see
// `help::verbatim`), so every line fits 80 columns and a command that goes on ends in ` \`.

const REVOKE_EXAMPLES: &str = "\
Examples:
  # Plan a BI embed-token clear: build and sign the request, send nothing
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope page 8991 --dry-run
  # Revoke the refresh tokens listed in a file, one NDJSON record each
  revoke ciam --domain sample.portal.tencentciam.com --client-id app \\
    --token-type-hint refresh_token --input tokens.txt -o json
  # A leaked token, its provider not named: routed, revoked, checked dead
  revoke token --input leaked.txt
  # Every option of a command, and its examples
  revoke ciam --help";

const CONFIG_EXAMPLES: &str = "\
Examples:
  # The global options: from flags, environment, [defaults] or built-in
  revoke config
  # What `revoke smh --context prod` would use (secrets as ***)
  revoke config --context prod smh
  # The same as JSON
  revoke config --context prod smh -o json";

const TOKEN_EXAMPLES: &str = "\
Examples:
  # Leaked tokens from a file (a JWT finds its way; others need --default)
  revoke token --input leaked.txt --default ciam.prod

  # What a secret scanner found: each finding revoked and checked dead
  gitleaks detect --report-format json --report-path leaks.json
  revoke token --findings leaks.json -o json

  # Where each token would go, sending nothing
  revoke token --input leaked.txt --dry-run";

const APPLY_EXAMPLES: &str = "\
Examples:
  # Check every step and show every request, secrets masked; send nothing
  USER_ID=alice revoke apply offboard.toml --dry-run
  # Run it; a rerun with the same journal sends nothing already done
  USER_ID=alice revoke apply offboard.toml --journal offboard-alice.ndjson \\
    -o json
  # The same plan for every leaver of a sheet (a USER_ID column), in one run
  revoke apply offboard.toml --each leavers.csv --journal offboarding.ndjson
  # A variable on the command line; the plan from stdin
  git show main:offboard.toml | revoke apply - --var USER_ID=alice";

const REPORT_EXAMPLES: &str = "\
Examples:
  # Run with a ticket, keeping the records and the journal
  USER_ID=alice revoke apply offboard.toml --ticket SEC-1234 \\
    --journal alice.journal -o json > alice.ndjson
  # A Markdown table to paste into the ticket
  revoke report alice.ndjson
  # The evidence of several runs, for an auditor's spreadsheet
  revoke report alice.ndjson bob.ndjson --format csv --to offboarding.csv
  # A printable page, from the journal
  revoke report alice.journal --format html --to alice.html
  # Whether the journal's lines are the ones the runs wrote, in their order
  revoke report --check alice.journal";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  revoke completions bash > ~/.local/share/bash-completion/completions/revoke
  revoke completions zsh > \"${fpath[1]}/_revoke\"
  revoke completions fish > ~/.config/fish/completions/revoke.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  # Read the manual of one command
  revoke man smh > revoke-smh.1 && man -l revoke-smh.1
  # Install every page (packagers)
  revoke man --dir /usr/local/share/man/man1";

const VERSION_EXAMPLES: &str = "\
Examples:
  revoke version
  revoke version --json";

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The command whose settings are shown, with its context; none shows the global options.
    #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(RunCommand::names()))]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan: a TOML file of [[step]] tables (its format: revoke-apply(1), PLAN FILE); - reads
    /// it from stdin (its relative paths are then taken from the current directory).
    #[allow(rustdoc::broken_intra_doc_links)]
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,

    /// Run the plan once per row of a CSV file (RFC 4180, UTF-8): the header line's column names
    /// are ${VAR}s, set to the row's values (a column beats --var and the environment). Every
    /// row is checked before anything is sent; one process, one journal, one report.
    #[arg(long, value_name = "FILE.csv")]
    pub each: Option<PathBuf>,

    /// Set ${NAME} in the plan to VALUE (repeatable); beats the environment. Only for ${VAR}s:
    /// the commands never read it as an environment variable (credentials included).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// The longest `--var` value, in bytes.
pub const MAX_VAR: usize = 4096;

/// `--var NAME=VALUE`: a variable name, a value with no control character.
pub(crate) fn parse_var(s: &str) -> Result<(String, String), String> {
    let Some((name, value)) = s.split_once('=') else {
        return Err("expected NAME=VALUE".into());
    };
    crate::settings::rows::check_name(name)?;
    if value.len() > MAX_VAR {
        return Err(format!("the value is longer than {MAX_VAR} bytes"));
    }
    crate::settings::rows::check_value(value).map_err(|why| format!("the value {why}"))?;
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
