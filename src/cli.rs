//! The command line, as clap types only: no logic lives here. `///` comments are the user's
//! `--help`. Settings are resolved from these in `settings/`, one file per command.
//!
//! The contract is `../shared/CLI.md`: flag names, environment variables and defaults below
//! follow it exactly.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;
use crate::secret::Secret;

#[derive(Debug, Parser)]
#[command(
    name = "revoke",
    version,
    about = "Revoke access tokens at cloud identity providers, safely and in bulk",
    long_about = "Revoke access tokens at cloud identity providers, safely and in bulk.\n\n\
        Every target gets exactly one outcome (revoked, already_invalid, not_found, failed, \
        skipped or planned), secrets are never printed, and the exit code says how the run \
        went: 0 all done, 1 some target failed, 2 usage or configuration error (nothing sent), \
        3 credentials rejected, 130 interrupted.",
    after_long_help = "Examples:\n  \
        revoke bi-embed --project-id 889 --user-corp-id 700000777778 --scope page 8991\n  \
        revoke ciam --domain sample.portal.tencentciam.com --client-id app --input tokens.txt -o json\n  \
        revoke identity-store --region ap-southeast-1 --identity-store-id d-1 --tenant-id t-1 --all --dry-run"
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
        short = 'o',
        long,
        value_enum,
        env = "REVOKE_OUTPUT",
        default_value = "text",
        global = true
    )]
    pub output: Format,

    /// Build and sign every request and print it with secrets masked; send nothing.
    #[arg(long, env = "REVOKE_DRY_RUN", global = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub dry_run: bool,

    /// Base URL replacing the provider's default host; the API's documented path is appended
    /// (a path prefix is kept). Plain http is accepted only for loopback hosts.
    #[arg(long, env = "REVOKE_ENDPOINT", value_name = "URL", global = true)]
    pub endpoint: Option<String>,

    /// Read targets from FILE, one per line (`-` reads stdin); blank lines and lines starting
    /// with `#` are skipped. Positional targets come first.
    #[arg(long, value_name = "FILE", global = true)]
    pub input: Option<PathBuf>,

    /// Requests in flight at once.
    #[arg(long, env = "REVOKE_CONCURRENCY", default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=4096), global = true)]
    pub concurrency: u32,

    /// At most N requests per second across the run, retries included; 0 = unlimited.
    /// Default: the provider's documented limit (bi-embed: 20), otherwise unlimited.
    #[arg(long, env = "REVOKE_RATE", value_name = "N", value_parser = parse_rate, global = true)]
    pub rate: Option<f64>,

    /// Retries per target after the first attempt, for retryable failures only.
    #[arg(long, env = "REVOKE_RETRIES", default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(0..=100), global = true)]
    pub retries: u32,

    /// Per-attempt timeout in seconds.
    #[arg(long, env = "REVOKE_TIMEOUT", default_value = "30", value_name = "SECS",
          value_parser = parse_timeout, global = true)]
    pub timeout: f64,

    /// Append one line per finished target to FILE; a rerun with the same journal skips the
    /// targets already finished successfully.
    #[arg(long, env = "REVOKE_JOURNAL", value_name = "FILE", global = true)]
    pub journal: Option<PathBuf>,

    /// More logging on stderr (-v info, -vv requests, -vvv answers); RUST_LOG is also honoured.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr: no warnings, progress bar or summary line.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Do not draw a progress bar (one is drawn on stderr only when it is a terminal and the
    /// run has more than one target).
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Read settings from this TOML file instead of $XDG_CONFIG_HOME/revoke/config.toml
    /// (~/.config/revoke/config.toml); flags and environment variables still win.
    #[arg(long, env = "REVOKE_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Use the settings of [COMMAND.NAME] in the config file (else [COMMAND.default], when
    /// the file has it).
    #[arg(long, env = "REVOKE_CONTEXT", value_name = "NAME", global = true)]
    pub context: Option<String>,
}

pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() || v < 0.0 {
        return Err("must be 0 (unlimited) or a positive number".into());
    }
    Ok(v)
}

pub(crate) fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !v.is_finite() || v <= 0.0 || v > 86_400.0 {
        return Err("must be a number of seconds above 0".into());
    }
    Ok(v)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clear Tencent Cloud BI embed tokens (ClearEmbedToken)
    #[command(after_long_help = BI_EMBED_EXAMPLES)]
    BiEmbed(BiEmbedArgs),

    /// Delete all access tokens of users in a Smart Media Hosting library
    #[command(after_long_help = SMH_EXAMPLES)]
    Smh(SmhArgs),

    /// Revoke Tencent CloudBase access tokens
    #[command(after_long_help = CLOUDBASE_EXAMPLES)]
    Cloudbase(CloudbaseArgs),

    /// Revoke Tencent Cloud CIAM OAuth 2.0 tokens (RFC 7009)
    #[command(after_long_help = CIAM_EXAMPLES)]
    Ciam(CiamArgs),

    /// Delete Huawei Cloud Identity Center bearer tokens
    #[command(after_long_help = IDENTITY_STORE_EXAMPLES)]
    IdentityStore(IdentityStoreArgs),

    /// Show the settings a run would use, each with where it comes from
    #[command(after_long_help = CONFIG_EXAMPLES)]
    Config(ConfigArgs),

    /// Run a plan: the steps of a TOML file, several commands at once, in one run
    #[command(after_long_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(
        after_long_help = "Examples:\n  revoke completions bash > /etc/bash_completion.d/revoke\n  \
        revoke completions zsh > \"${fpath[1]}/_revoke\"\n  revoke completions fish > ~/.config/fish/completions/revoke.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the manual page (roff) built from this command line
    #[command(after_long_help = "Examples:\n  revoke man > revoke.1 && man ./revoke.1")]
    Man,
}

const CONFIG_EXAMPLES: &str = "Examples:\n  \
    # The global options, from flags, environment, [defaults] and built-in defaults\n  \
    revoke config\n  \
    # What `revoke smh --context prod` would use, secrets as *** with their source\n  \
    revoke config --context prod smh\n  \
    # The same as JSON\n  \
    revoke config --context prod smh -o json";

const APPLY_EXAMPLES: &str = "Examples:\n  \
    # Check every step and show every request, secrets masked; send nothing\n  \
    USER_ID=alice revoke apply offboard.toml --dry-run\n  \
    # Run it; a rerun with the same journal sends nothing that already succeeded\n  \
    USER_ID=alice revoke apply offboard.toml --journal offboard-alice.ndjson -o json";

const BI_EMBED_EXAMPLES: &str = "Examples:\n  \
    # Clear the embed tokens of two pages (credentials from TENCENTCLOUD_* or tccli's profile)\n  \
    revoke bi-embed --project-id 889 --user-corp-id 700000777778 --scope page 8991 8992\n  \
    # All panel tokens of a project on the mainland site, as NDJSON\n  \
    revoke bi-embed --project-id 889 --user-corp-id 700000777778 --scope panel \\\n    \
    --endpoint https://bi.tencentcloudapi.com -o json\n  \
    # See the exact signed request, secrets masked, without sending it\n  \
    revoke bi-embed --project-id 889 --user-corp-id 700000777778 --scope page 8991 --dry-run";

const SMH_EXAMPLES: &str = "Examples:\n  \
    # Delete every token of two users (secret from SMH_LIBRARY_SECRET)\n  \
    revoke smh --library-id smhxxxx alice bob\n  \
    # Only the tokens of one client, secret from a file, users from a file\n  \
    revoke smh --library-id smhxxxx --library-secret-file ~/.smh-secret --client-id web --input users.txt";

const CLOUDBASE_EXAMPLES: &str = "Examples:\n  \
    # Revoke access tokens read from a file (safer than arguments)\n  \
    revoke cloudbase --env-id my-env-1a2b --input tokens.txt\n  \
    # An environment in an overseas region, one token from stdin\n  \
    printf '%s\\n' \"$TOKEN\" | revoke cloudbase --env-id my-env-1a2b --intl --input -";

const CIAM_EXAMPLES: &str = "Examples:\n  \
    # Revoke refresh tokens (and their access tokens); secret from CIAM_CLIENT_SECRET\n  \
    revoke ciam --domain sample.portal.tencentciam.com --client-id app --token-type-hint refresh_token --input tokens.txt\n  \
    # Any RFC 7009 server, client credentials as HTTP Basic\n  \
    revoke ciam --endpoint https://auth.example.com --client-id app --client-auth basic --client-secret-file secret.txt --input -";

const IDENTITY_STORE_EXAMPLES: &str = "Examples:\n  \
    # Delete two bearer tokens (credentials from HUAWEICLOUD_SDK_AK/SK or ~/.huaweicloud/credentials)\n  \
    revoke identity-store --region ap-southeast-1 --identity-store-id d-1 --tenant-id t-1 tok-1 tok-2\n  \
    # Delete every bearer token of the tenant; tokens already gone are fine\n  \
    revoke identity-store --region ap-southeast-1 --identity-store-id d-1 --tenant-id t-1 --all --missing-ok";

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The command whose settings are shown, with its context; none shows the global options.
    #[arg(value_name = "COMMAND", value_parser = clap::builder::PossibleValuesParser::new(
        ["bi-embed", "smh", "cloudbase", "ciam", "identity-store"]))]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan: a TOML file of [[step]] tables (see the README's "Plans").
    #[arg(value_name = "PLAN.toml")]
    pub plan: PathBuf,
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
    #[arg(long, value_name = "NAME")]
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
    #[arg(long, value_name = "FILE")]
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
    #[arg(long, value_enum)]
    pub token_type_hint: Option<TokenTypeHint>,

    /// How the client authenticates.
    #[arg(long, value_enum, default_value = "post")]
    pub client_auth: ClientAuth,

    /// Read the client secret from FILE (`-` = stdin) instead of CIAM_CLIENT_SECRET.
    /// The file must not be readable by other users.
    #[arg(long, value_name = "FILE")]
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
