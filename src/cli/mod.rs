//! The command line, as clap types only: no logic lives here. `///` comments are the user's
//! `--help`. Settings are resolved from these in `settings/`, one file per command.
//!
//! The contract is `../shared/CLI.md`: flag names, environment variables and defaults below
//! follow it exactly.

pub mod help;
pub mod version;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::pace::rate::Rate;
use crate::report::output::Format;
use crate::secret::Secret;

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

/// Options accepted before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: `text` prints one line per target on stdout and a summary on stderr;
    /// `json` prints one JSON record per target and a summary object on stdout (NDJSON).
    #[arg(
        help_heading = "Output options",
        short = 'o',
        long,
        value_enum,
        value_name = "FORMAT",
        env = "REVOKE_OUTPUT",
        default_value = "text",
        global = true
    )]
    pub output: Format,

    /// Build and sign every request and print it with secrets masked; send nothing.
    #[arg(help_heading = "Run options", long, env = "REVOKE_DRY_RUN", global = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub dry_run: bool,

    /// Prove each revocation: ask the provider before and after it (ciam, cloudbase,
    /// identity-store); "verified" is true only for a token seen alive before and dead after.
    #[arg(help_heading = "Run options", long, env = "REVOKE_VERIFY", global = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub verify: bool,

    /// Base URL replacing the provider's default host; the API's documented path is appended
    /// (a path prefix is kept). Plain http is accepted only for loopback hosts.
    #[arg(
        help_heading = "Run options",
        long,
        env = "REVOKE_ENDPOINT",
        value_name = "URL",
        global = true
    )]
    pub endpoint: Option<String>,

    /// Read targets from FILE, one per line (`-` reads stdin); blank lines and lines starting
    /// with `#` are skipped. Positional targets come first.
    #[arg(help_heading = "Run options", long, value_name = "FILE", global = true)]
    pub input: Option<PathBuf>,

    /// Requests in flight at once, 1 to 4096.
    #[arg(help_heading = "Run options", long, env = "REVOKE_CONCURRENCY", default_value_t = 8, value_name = "N",
          value_parser = whole_number(1, 4096), allow_negative_numbers = true, global = true)]
    pub concurrency: u32,

    /// At most N requests per second across the run, retries included; 0 = unlimited; `auto`
    /// finds the server's limit from its throttling answers. Default: the provider's documented
    /// limit (bi-embed: 20), otherwise auto.
    #[arg(help_heading = "Run options", long, env = "REVOKE_RATE", value_name = "N|auto", value_parser = parse_rate,
          allow_negative_numbers = true, global = true)]
    pub rate: Option<Rate>,

    /// Retries per target after the first attempt, for retryable failures only; 0 to 100.
    #[arg(help_heading = "Run options", long, env = "REVOKE_RETRIES", default_value_t = 3, value_name = "N",
          value_parser = whole_number(0, 100), allow_negative_numbers = true, global = true)]
    pub retries: u32,

    /// Per-attempt timeout in seconds, above 0 and at most 86400 (one day).
    #[arg(help_heading = "Run options", long, env = "REVOKE_TIMEOUT", default_value = "30", value_name = "SECS",
          value_parser = parse_timeout, allow_negative_numbers = true, global = true)]
    pub timeout: f64,

    /// A run that finds no target at all (an empty --input, a listing with nothing in it)
    /// fails with exit 1, naming where the targets were to come from, instead of exit 0.
    #[arg(help_heading = "Run options", long, env = "REVOKE_REQUIRE_TARGETS", global = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub require_targets: bool,

    /// Append one line per finished target to FILE; a rerun with the same journal skips the
    /// targets already finished successfully.
    #[arg(
        help_heading = "Run options",
        long,
        env = "REVOKE_JOURNAL",
        value_name = "FILE",
        global = true
    )]
    pub journal: Option<PathBuf>,

    /// With --journal: an smh or bi-embed entry (an action on every token a user or page has
    /// now) replays only while younger than DURATION (90s, 15m, 24h, 7d; 0 = never); older,
    /// the target is sent again. A revoked token or token id replays at any age.
    #[arg(help_heading = "Run options", long, env = "REVOKE_RESUME_WITHIN", default_value = "24h",
          value_name = "DURATION", value_parser = parse_duration, global = true)]
    pub resume_within: std::time::Duration,

    /// Ignore the journal that the config file, a plan or REVOKE_JOURNAL names, for this run:
    /// every target is sent and nothing is journaled.
    #[arg(help_heading = "Run options", long, env = "REVOKE_NO_JOURNAL", global = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_journal: bool,
    /// The change or incident ticket this run belongs to, copied into every record and journal
    /// line (at most 256 bytes, no control characters).
    #[arg(
        help_heading = "Evidence options",
        long,
        env = "REVOKE_TICKET",
        value_name = "ID",
        value_parser = parse_label,
        global = true
    )]
    pub ticket: Option<String>,

    /// Who runs it, copied into every record and journal line (at most 256 bytes, no control
    /// characters). Default: the login name: $USER, else $LOGNAME, else the name of the
    /// process's user id in /etc/passwd, else none.
    #[arg(
        help_heading = "Evidence options",
        long,
        env = "REVOKE_ACTOR",
        value_name = "NAME",
        value_parser = parse_label,
        global = true
    )]
    pub actor: Option<String>,

    /// More logging on stderr (-v info, -vv requests, -vvv answers); RUST_LOG is also honoured.
    #[arg(help_heading = "Output options", short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr: no warnings, progress bar or summary line.
    #[arg(
        help_heading = "Output options",
        short,
        long,
        global = true,
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// Do not draw a progress bar (one is drawn on stderr only when it is a terminal and the
    /// run has more than one target).
    #[arg(help_heading = "Output options", long, global = true)]
    pub no_progress: bool,

    /// Read settings from this TOML file instead of $XDG_CONFIG_HOME/revoke/config.toml
    /// (~/.config/revoke/config.toml); flags and environment variables still win.
    #[arg(long, env = "REVOKE_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Read no config file at all (neither --config nor the default one): only flags and
    /// environment variables.
    #[arg(long, env = "REVOKE_NO_CONFIG", global = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_config: bool,

    /// Use the settings of [COMMAND.NAME] in the config file (else [COMMAND.default], when
    /// the file has it).
    #[arg(long, env = "REVOKE_CONTEXT", value_name = "NAME", global = true)]
    pub context: Option<String>,
}

pub(crate) fn parse_rate(s: &str) -> Result<Rate, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(Rate::Auto);
    }
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number or `auto`"))?;
    if !v.is_finite() || v < 0.0 {
        return Err("must be `auto`, 0 (unlimited) or a positive number".into());
    }
    Ok(if v == 0.0 {
        Rate::Unlimited
    } else {
        Rate::Fixed(v)
    })
}

/// The longest `--ticket` or `--actor`, in bytes: a ticket id or a URL to it, a name.
pub const MAX_LABEL: usize = 256;

/// A `--ticket` or `--actor` value: trimmed, not empty, at most [`MAX_LABEL`] bytes, and no
/// control character, line or paragraph separator or bidirectional override (the value is
/// evidence: what a reader sees must be what was given).
pub fn parse_label(s: &str) -> Result<String, String> {
    let v = s.trim();
    if v.is_empty() {
        return Err("cannot be empty".into());
    }
    if v.len() > MAX_LABEL {
        return Err(format!("at most {MAX_LABEL} bytes, not {}", v.len()));
    }
    if v.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err("cannot contain control characters".into());
    }
    Ok(v.to_string())
}

/// The longest `--timeout`: one day.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

pub(crate) fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() || v <= 0.0 || v > MAX_TIMEOUT_SECS {
        return Err(format!(
            "must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECS} (one day)"
        ));
    }
    Ok(v)
}

/// The longest `--resume-within`: ten years (longer is "always"; use a token's own journal).
const MAX_WINDOW_SECS: u64 = 3650 * 86_400;

/// `--resume-within`: `0`, or whole numbers with units, `90s`, `15m`, `24h`, `7d`, `1h30m`.
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let text = s.trim();
    let wrong = || {
        format!("{s:?} is not a duration: use 0 or a number with a unit, as in 90s, 15m, 24h or 7d")
    };
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(wrong()),
        };
        let n: u64 = digits.parse().map_err(|_| wrong())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .filter(|t| *t <= MAX_WINDOW_SECS)
            .ok_or_else(|| "must be at most 3650d (ten years)".to_string())?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(wrong());
    }
    Ok(std::time::Duration::from_secs(total))
}

/// A whole number from `lo` to `hi`: clap says `invalid value '-1' for '--retries <N>': must
/// be between 0 and 100`.
fn whole_number(lo: u32, hi: u32) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |s| {
        let s = s.trim();
        let digits = s.strip_prefix('-').unwrap_or(s);
        match s.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            // Negative, or too large even for the type: out of range all the same.
            _ if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Err(format!("must be between {lo} and {hi}"))
            }
            _ => Err(format!("must be a whole number between {lo} and {hi}")),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clear Tencent Cloud BI embed tokens (ClearEmbedToken)
    ///
    /// One signed ClearEmbedToken request (API 3.0, TC3-HMAC-SHA256) per page id; with no page
    /// id and no --input, one request without PageId. Credentials: TENCENTCLOUD_SECRET_ID and
    /// TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_TOKEN with temporary keys), else tccli's
    /// profile file ~/.tccli/NAME.credential. The default endpoint is the international
    /// https://bi.intl.tencentcloudapi.com; mainland accounts pass --endpoint
    /// https://bi.tencentcloudapi.com. The default rate is the documented 20 requests/s.
    #[command(
        override_usage = "revoke bi-embed [OPTIONS] --project-id <ID> --user-corp-id <ID> --scope <SCOPE> [PAGE_ID]...",
        after_help = BI_EMBED_EXAMPLES
    )]
    BiEmbed(BiEmbedArgs),

    /// Delete all access tokens of users in a Smart Media Hosting library
    ///
    /// DELETE /api/v1/token/{LibraryId} with the user ids (and client and session ids) in the
    /// query; 204 means the tokens are gone. At most 10 user ids, 100 client ids and 100
    /// session ids go in one request: longer lists are split and every combination of the
    /// chunks is sent. The library secret comes from SMH_LIBRARY_SECRET or
    /// --library-secret-file. The default endpoint is https://api.tencentsmh.cn.
    #[command(
        override_usage = "revoke smh [OPTIONS] --library-id <ID> (<USER_ID>... | --input <FILE>)",
        after_help = SMH_EXAMPLES
    )]
    Smh(SmhArgs),

    /// Revoke Tencent CloudBase access tokens
    ///
    /// POST /auth/v1/revoke with the token as Authorization: Bearer and in the JSON body; each
    /// token is its own credential. A 401 ACCESS_TOKEN_INVALID or ACCESS_TOKEN_EXPIRED means
    /// the token is already unusable: status already_invalid, a success. The host is
    /// https://ENV.api.tcloudbasegateway.com (with --intl
    /// https://ENV.api.intl.tcloudbasegateway.com), or --endpoint.
    #[command(
        override_usage = "revoke cloudbase [OPTIONS] (--env-id <ENV> | --endpoint <URL>) (<TOKEN>... | --input <FILE>)",
        after_help = CLOUDBASE_EXAMPLES
    )]
    Cloudbase(CloudbaseArgs),

    /// Revoke Tencent Cloud CIAM OAuth 2.0 tokens (RFC 7009)
    ///
    /// POST /oauth2/revoke, form-encoded, with the client credentials in the body (or as HTTP
    /// Basic with --client-auth basic). Works with any RFC 7009 server. As the RFC says, 200
    /// means revoked or unknown, so both are revoked; 401 invalid_client stops the run (exit
    /// 3); 503 is retried, honouring Retry-After. The client secret comes from
    /// CIAM_CLIENT_SECRET or --client-secret-file.
    #[command(
        override_usage = "revoke ciam [OPTIONS] (--domain <HOST> | --endpoint <URL>) --client-id <ID> (<TOKEN>... | --input <FILE>)",
        after_help = CIAM_EXAMPLES
    )]
    Ciam(CiamArgs),

    /// Revoke OAuth 2.0 tokens at any RFC 7009 server, its endpoints discovered from the issuer
    ///
    /// --issuer URL reads the server's metadata (RFC 8414
    /// {origin}/.well-known/oauth-authorization-server{path}, else
    /// {issuer}/.well-known/openid-configuration), once per run, before the first revocation;
    /// a document whose issuer is not identical to the one asked for is not used (RFC 8414
    /// 3.3). --revocation-endpoint URL skips discovery. The client authenticates as --client-auth
    /// says, else as the first of the server's revocation_endpoint_auth_methods_supported that
    /// is possible (none needs no secret; post and basic need one), else post. The client
    /// secret comes from OAUTH2_CLIENT_SECRET, --client-secret-file or the config file.
    #[command(
        override_usage = "revoke oauth [OPTIONS] (--issuer <URL> | --revocation-endpoint <URL>) --client-id <ID> (<TOKEN>... | --input <FILE>)",
        after_help = OAUTH_EXAMPLES
    )]
    Oauth(OauthArgs),

    /// Delete Huawei Cloud Identity Center bearer tokens
    ///
    /// DELETE .../bearer-token/{token_id} signed with SDK-HMAC-SHA256; 404 is not_found, a
    /// failure unless --missing-ok. --all lists the tenant's bearer tokens first and deletes
    /// each one. Credentials: HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (and
    /// HUAWEICLOUD_SDK_SECURITY_TOKEN with temporary keys), else the Huawei SDK credentials
    /// file (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else ~/.huaweicloud/credentials).
    #[command(
        override_usage = "revoke identity-store [OPTIONS] (--region <R> | --endpoint <URL>) --identity-store-id <ID> --tenant-id <ID> (<TOKEN_ID>... | --input <FILE> | --all)",
        after_help = IDENTITY_STORE_EXAMPLES
    )]
    IdentityStore(IdentityStoreArgs),

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
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),

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

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Files of NDJSON records or journal lines, read in order (`-` reads stdin).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// md: a Markdown table; csv: RFC 4180 CSV; html: one self-contained printable page.
    #[arg(long, value_enum, default_value = "md", value_name = "FORMAT")]
    pub format: ReportFormat,

    /// Write the report to FILE (replaced whole, only once it is complete) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,

    /// Verify each FILE's hash chain instead (a --journal file): every line carries the hash
    /// of the one before and its seq. Prints FILE:LINE: what for each line edited, removed,
    /// moved or unchained (written by a revoke before the chain), then a verdict per file
    /// with the last line's seq and hash (keep it: a chain cannot show an edit of its last
    /// line or lines cut off its end). A line cut short by a crash is named as such and is no
    /// problem. Exit 0 when every file is intact, 1 when one is not, 2 when one cannot be read.
    #[arg(long, conflicts_with_all = ["format", "to"])]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Html,
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
  # Delete every bearer token of a Huawei Identity Center tenant
  revoke identity-store --region ap-southeast-1 --identity-store-id d-1 \\
    --tenant-id t-1 --all --missing-ok
  # Every option of a command, and its examples
  revoke ciam --help";

const BI_EMBED_EXAMPLES: &str = "\
Examples:
  # Clear the embed tokens of two pages (keys from TENCENTCLOUD_* or tccli)
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope page 8991 8992
  # All panel tokens of a project on the mainland site, as NDJSON
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope panel --endpoint https://bi.tencentcloudapi.com -o json
  # The exact signed request, secrets masked, without sending it
  revoke bi-embed --project-id 889 --user-corp-id 700000777778 \\
    --scope page 8991 --dry-run";

const SMH_EXAMPLES: &str = "\
Examples:
  # Delete every token of two users (secret from SMH_LIBRARY_SECRET)
  revoke smh --library-id smh0a1b2c3d alice bob
  # Only the tokens of one client; secret and users from files
  revoke smh --library-id smh0a1b2c3d --library-secret-file ~/.smh-secret \\
    --client-id web --input users.txt";

const CLOUDBASE_EXAMPLES: &str = "\
Examples:
  # Revoke access tokens read from a file (safer than arguments)
  revoke cloudbase --env-id my-env-1a2b --input tokens.txt
  # An environment in an overseas region, one token from stdin
  printf '%s\\n' \"$TOKEN\" | \\
    revoke cloudbase --env-id my-env-1a2b --intl --input -";

const CIAM_EXAMPLES: &str = "\
Examples:
  # Revoke refresh tokens (and their access tokens) listed in a file;
  # the client secret comes from CIAM_CLIENT_SECRET
  revoke ciam --domain sample.portal.tencentciam.com --client-id app \\
    --token-type-hint refresh_token --input tokens.txt
  # Any RFC 7009 server, client credentials as HTTP Basic, tokens on stdin
  revoke ciam --endpoint https://auth.example.com --client-id app \\
    --client-auth basic --client-secret-file secret.txt --input -";

const OAUTH_EXAMPLES: &str = "\
Examples:
  # Endpoints and client authentication from the issuer's metadata;
  # the client secret comes from OAUTH2_CLIENT_SECRET
  revoke oauth --issuer https://auth.example.com --client-id app \\
    --input tokens.txt
  # A public client (no secret), proving each revocation by introspection
  revoke oauth --issuer https://auth.example.com --client-id spa \\
    --client-auth none --verify --input -
  # No discovery: the revocation endpoint itself
  revoke oauth --revocation-endpoint https://auth.example.com/oauth2/revoke \\
    --client-id app --client-auth basic --input tokens.txt";

const IDENTITY_STORE_EXAMPLES: &str = "\
Examples:
  # Delete two bearer tokens (keys from HUAWEICLOUD_SDK_AK/SK or
  # ~/.huaweicloud/credentials)
  revoke identity-store --region ap-southeast-1 --identity-store-id d-1 \\
    --tenant-id t-1 tok-1 tok-2
  # Delete every bearer token of the tenant; tokens already gone are fine
  revoke identity-store --region ap-southeast-1 --identity-store-id d-1 \\
    --tenant-id t-1 --all --missing-ok";

const CONFIG_EXAMPLES: &str = "\
Examples:
  # The global options: from flags, environment, [defaults] or built-in
  revoke config
  # What `revoke smh --context prod` would use (secrets as ***)
  revoke config --context prod smh
  # The same as JSON
  revoke config --context prod smh -o json";

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
    #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(
        ["bi-embed", "smh", "cloudbase", "ciam", "oauth", "identity-store"]))]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan: a TOML file of [[step]] tables (its format: revoke-apply(1), PLAN FILE); - reads
    /// it from stdin (its relative paths are then taken from the current directory).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    Panel,
    Page,
}

#[derive(Debug, Args)]
pub struct BiEmbedArgs {
    /// BI project ID (ProjectId). Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,

    /// Host account ID (UserCorpId). Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub user_corp_id: Option<String>,

    /// Token scope (Scope). Required, here or in the config file.
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,

    /// Sent as X-TC-Region when given (ClearEmbedToken does not need a region).
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// tccli profile to read credentials from (~/.tccli/NAME.credential) [env: TCCLI_PROFILE]
    /// [default: default]. An explicit --profile is used even when TENCENTCLOUD_* is set.
    #[arg(help_heading = "Credentials", long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Page IDs (PageId), one request each; none sends one request without PageId.
    #[arg(value_name = "PAGE_ID")]
    pub page_ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SmhArgs {
    /// Media library ID (LibraryId). Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub library_id: Option<String>,

    /// Only tokens of this client (repeatable; at most 100 per request, more are batched).
    #[arg(long = "client-id", value_name = "ID")]
    pub client_ids: Vec<String>,

    /// Only tokens of this session (repeatable; at most 100 per request, more are batched).
    #[arg(long = "session-id", value_name = "ID")]
    pub session_ids: Vec<String>,

    /// Read the library secret from FILE (`-` = stdin) instead of SMH_LIBRARY_SECRET.
    /// The file must not be readable by other users.
    #[arg(help_heading = "Credentials", long, value_name = "FILE")]
    pub library_secret_file: Option<PathBuf>,

    /// User IDs whose tokens are deleted (at most 10 per request, more are batched).
    #[arg(value_name = "USER_ID")]
    pub user_ids: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CloudbaseArgs {
    /// CloudBase environment ID; gives the default host https://ENV.api.tcloudbasegateway.com.
    #[arg(long, value_name = "ENV")]
    pub env_id: Option<String>,

    /// Client ID sent as ?client_id= (CloudBase defaults it to the environment ID).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Sent as the x-device-id header.
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,

    /// Use the overseas gateway https://ENV.api.intl.tcloudbasegateway.com.
    #[arg(long)]
    pub intl: bool,

    /// Access tokens to revoke. Prefer --input: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenTypeHint {
    // The RFC 7009 2.1 spellings, as the contract writes them (clap would say `access-token`).
    #[value(name = "access_token")]
    AccessToken,
    #[value(name = "refresh_token")]
    RefreshToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientAuth {
    /// client_id and client_secret in the form body (client_secret_post)
    Post,
    /// HTTP Basic authentication (client_secret_basic, RFC 6749 2.3.1)
    Basic,
}

#[derive(Debug, Args)]
pub struct CiamArgs {
    /// The user directory's domain; means --endpoint https://HOST.
    #[arg(long, value_name = "HOST", conflicts_with = "endpoint")]
    pub domain: Option<String>,

    /// The application's client_id. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Sent as token_type_hint (RFC 7009 2.1).
    #[arg(long, value_enum, value_name = "HINT")]
    pub token_type_hint: Option<TokenTypeHint>,

    /// How the client authenticates.
    #[arg(long, value_enum, default_value = "post", value_name = "METHOD")]
    pub client_auth: ClientAuth,

    /// --verify: the RFC 7662 introspection endpoint; default: the one named by
    /// {endpoint}/.well-known/openid-configuration.
    #[arg(long, value_name = "URL")]
    pub introspection_endpoint: Option<String>,

    /// Read the client secret from FILE (`-` = stdin) instead of CIAM_CLIENT_SECRET.
    /// The file must not be readable by other users.
    #[arg(help_heading = "Credentials", long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Tokens to revoke. Prefer --input: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}

/// `oauth --client-auth`: RFC 6749 2.3.1's methods and a public client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OauthClientAuth {
    /// A public client: client_id in the form body, no secret (RFC 7009 2.1)
    #[value(name = "none")]
    Public,
    /// client_id and client_secret in the form body (client_secret_post)
    Post,
    /// HTTP Basic authentication (client_secret_basic, RFC 6749 2.3.1)
    Basic,
}

#[derive(Debug, Args)]
pub struct OauthArgs {
    /// The authorization server's issuer identifier: its revocation and introspection
    /// endpoints are read from its metadata (RFC 8414, else OpenID Connect Discovery).
    #[arg(long, value_name = "URL", conflicts_with = "revocation_endpoint")]
    pub issuer: Option<String>,

    /// The RFC 7009 revocation endpoint itself: no discovery. Without it or --issuer,
    /// --endpoint is taken as the revocation endpoint
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,

    /// --verify: the RFC 7662 introspection endpoint; default: the issuer metadata's.
    #[arg(long, value_name = "URL")]
    pub introspection_endpoint: Option<String>,

    /// The client's client_id. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// How the client authenticates; default: the first of the server's
    /// revocation_endpoint_auth_methods_supported possible with what was given, else post.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub client_auth: Option<OauthClientAuth>,

    /// Sent as token_type_hint (RFC 7009 2.1).
    #[arg(long, value_enum, value_name = "HINT")]
    pub token_type_hint: Option<TokenTypeHint>,

    /// Read the client secret from FILE (`-` = stdin) instead of OAUTH2_CLIENT_SECRET.
    /// The file must not be readable by other users.
    #[arg(help_heading = "Credentials", long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,

    /// Tokens to revoke. Prefer --input: arguments are visible to other users.
    #[arg(value_name = "TOKEN")]
    pub tokens: Vec<Secret>,
}

#[derive(Debug, Args)]
pub struct IdentityStoreArgs {
    /// Region; gives the default host https://identitystore.R.myhuaweicloud.com.
    #[arg(long, value_name = "R")]
    pub region: Option<String>,

    /// Identity source ID. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub identity_store_id: Option<String>,

    /// Automatic-provisioning tenant ID. Required, here or in the config file.
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,

    /// Sent as X-Project-Id (else HUAWEICLOUD_SDK_PROJECT_ID or the credentials file's).
    #[arg(long, value_name = "ID")]
    pub project_id: Option<String>,

    /// List the tenant's bearer tokens first and delete every one. With --dry-run nothing is
    /// sent, not even the list request: it is shown as the plan (target token_id "*").
    #[arg(long, conflicts_with = "token_ids")]
    pub all: bool,

    /// A token that is already gone (404) counts as success.
    #[arg(long)]
    pub missing_ok: bool,

    /// Bearer token IDs to delete.
    #[arg(value_name = "TOKEN_ID")]
    pub token_ids: Vec<String>,
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
