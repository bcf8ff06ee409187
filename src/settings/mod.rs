//! The command line (and the environment, the config file and a plan's step) resolved into plain
//! settings, before anything is sent.
//!
//! One file per command turns its clap `*Args` into the provider's plain `*Config`, builds the
//! client, and makes its jobs: every usage or configuration error of a run is found here, as a
//! [`UsageError`], and the journal is opened here, last, once everything else checked out. What
//! comes out is a [`Plan`]: the client, its jobs and what the engine and the sink need. Values
//! are read through [`Layers`] (flag > env > config > default, each with its [`Origin`]);
//! credentials come from `crate::settings::creds`.

pub mod commands;
// Each run command's settings file (`NAME.rs`), from the one command list.
with_commands!(modules);
pub mod config_file;
pub mod creds;
pub mod global;
pub mod input;
pub(crate) mod layers;
pub mod rows;
pub mod schema;
pub mod secrets;
pub mod toml_file;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

pub use self::commands::RunCommand;
pub use self::global::{Global, GlobalArgs};
pub use self::layers::{Found, FoundList, Given, Layers, Lookup, NoConfig, Origin, Sourced, parse};
use crate::engine::{JobItem, Jobs, Listing, Provider, Work};
use crate::net::http::{Endpoint, Transport};
use crate::providers::{TokenJob, check_token, is_dns_label, is_dot_segment, token_identity};
use crate::secret::Secret;
use crate::settings::creds::Env;
use crate::settings::input::{Check, Targets};

/// Why a run cannot start: a usage or configuration error (exit 2). Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("{flag} cannot be empty")]
    Empty { flag: &'static str },

    #[error("{flag} cannot contain control characters")]
    ControlCharacters { flag: &'static str },

    #[error(
        "{flag}: {value:?} cannot be an id: as a URL path segment it would address another resource"
    )]
    DotSegment { flag: &'static str, value: String },

    #[error(
        "{flag} {value:?}: an id cannot contain a comma (the API separates ids with commas); repeat {flag} instead"
    )]
    Comma { flag: &'static str, value: String },

    /// A value that becomes part of a host name.
    #[error("{flag} {value:?} is not {what} (letters, digits and '-', as in {example})")]
    NotADnsLabel {
        flag: &'static str,
        value: String,
        what: &'static str,
        example: &'static str,
    },

    #[error(
        "--domain takes a host name such as sample.portal.tencentciam.com, not {0:?}; use --endpoint for a URL"
    )]
    NotAHost(String),

    #[error("{flag} must be ASCII: it is sent as the {header} header")]
    NotAscii {
        flag: &'static str,
        header: &'static str,
    },

    /// `--endpoint` (or the host a flag names) is not a URL requests may go to.
    #[error("{0}")]
    Endpoint(String),

    /// The command was given nothing to name its host.
    #[error("{0}")]
    NoEndpoint(String),

    /// A target argument or `--input` line that cannot be sent (`FILE:LINE: why`).
    #[error("{0}")]
    Target(String),

    /// No target where the command needs one.
    #[error("no {what} given: pass {arg} arguments or --input FILE (`--input -` reads stdin){or}")]
    NoTargets {
        what: &'static str,
        arg: &'static str,
        /// Another way to name targets, as `, or --all`.
        or: &'static str,
    },

    #[error("--all lists the tokens itself: it cannot be used with --input or TOKEN_ID arguments")]
    AllWithInput,

    /// No credentials, or credentials that cannot be read (the message names where it looked).
    #[error("{0}")]
    Credentials(String),

    #[error("--journal must name a file")]
    JournalNotAFile,

    /// The journal cannot be opened or read.
    #[error("{0}")]
    Journal(String),

    /// The HTTP client cannot be set up.
    #[error("{0}")]
    Http(String),

    /// A configuration file (or plan) that cannot be read or used, as `FILE:LINE: why`.
    #[error("{0}")]
    ConfigFile(String),

    /// A required option that neither the command line nor the config file gives.
    #[error(
        "{flag} is required: pass {flag} {value}, or set {key} in a [{command}.CONTEXT] table of the config file"
    )]
    Missing {
        flag: &'static str,
        value: &'static str,
        key: &'static str,
        command: String,
    },

    /// Several problems, found together (a plan's steps are all checked before any is run).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Several(Vec<UsageError>),

    /// A value in a configuration source that cannot be used.
    #[error("{}:{line}: {key}: {why}", file.display())]
    Config {
        file: PathBuf,
        line: usize,
        key: String,
        why: String,
    },
}

/// What a command's resolution reads from: the global settings, the layers values come from,
/// and the environment (for credentials).
pub struct Context<'a> {
    pub global: Global,
    pub layers: &'a Layers<'a>,
    pub env: &'a dyn Env,
    /// The targets given as arguments are on the command line, where other users can read
    /// them (not in a plan's `targets`).
    pub args_visible: bool,
    /// A plan step's `targets`, which stand where a command line's arguments would.
    pub step_targets: Vec<String>,
    /// Names resolved by this resolver only, never through a proxy (`revoke token
    /// --discover`: public addresses only).
    pub resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
}

/// A run, resolved: the provider client and its jobs (their type erased: see
/// [`crate::engine::Work`]), with everything the engine and the sink need. Nothing has been
/// sent.
pub struct Plan {
    pub work: Work,
    /// How many jobs there are, when known up front (the progress bar's total).
    pub count: Option<u64>,
    /// On a stop, read the rest of the input to record it as skipped (not from a terminal).
    pub drainable: bool,
    /// The provider's documented rate limit, used unless `--rate` is given.
    pub default_rate: Option<f64>,
    pub missing_ok: bool,
    /// Which credential source was used (its name, never its value), for `--dry-run`.
    pub credentials_source: String,
    /// Where the targets come from, for `--require-targets`' message.
    pub targets_from: String,
}

impl Plan {
    pub fn default_rate(mut self, per_second: f64) -> Self {
        self.default_rate = Some(per_second);
        self
    }

    pub fn missing_ok(mut self, missing_ok: bool) -> Self {
        self.missing_ok = missing_ok;
        self
    }
}

/// A command's jobs, with what is known of them up front.
pub struct Input<J: Send + Sync + 'static> {
    jobs: Jobs<J>,
    count: Option<u64>,
    drainable: bool,
    /// Where the targets come from, in words.
    from: String,
}

impl<J: Send + Sync + 'static> Input<J> {
    /// One job per target line. `job` makes the job; `identity` names, in its `failed` record,
    /// a stdin line that cannot become one.
    pub fn per_target(
        targets: Targets,
        check: fn(&str) -> Result<(), String>,
        job: impl Fn(String) -> J + Send + 'static,
        identity: impl Fn(&str) -> Value + Send + 'static,
    ) -> Input<J> {
        let (count, drainable, from) = (targets.count, targets.drainable(), targets.origin());
        let jobs = targets.stream(Box::new(check)).map(move |raw| {
            let item = match raw.problem {
                None => JobItem::Job(job(raw.text)),
                Some(message) => JobItem::Invalid {
                    target: identity(&raw.text),
                    message,
                },
            };
            (item, raw.source)
        });
        Input {
            jobs: Jobs::sourced(jobs),
            count,
            drainable,
            from,
        }
    }

    /// Jobs made from the targets' lines by `jobs`, `count` of them when known.
    pub fn from_targets<I>(
        targets: Targets,
        check: fn(&str) -> Result<(), String>,
        count: impl FnOnce(Option<u64>) -> Option<u64>,
        jobs: impl FnOnce(Box<dyn Iterator<Item = crate::settings::input::RawTarget> + Send>) -> I,
    ) -> Input<J>
    where
        I: Iterator<Item = crate::engine::Sourced<J>> + Send + 'static,
    {
        let (n, drainable, from) = (count(targets.count), targets.drainable(), targets.origin());
        Input {
            jobs: Jobs::sourced(jobs(targets.stream(Box::new(check)))),
            count: n,
            drainable,
            from,
        }
    }

    /// A single job.
    pub fn one(job: J) -> Input<J> {
        Input {
            jobs: Jobs::items(std::iter::once(JobItem::Job(job))),
            count: Some(1),
            drainable: true,
            from: "the command itself".into(),
        }
    }

    /// Jobs the provider lists first; in a dry run, the list call is the one planned job.
    pub fn listed(listing: Arc<dyn Listing<Job = J>>, dry_run: bool) -> Input<J> {
        Input {
            from: format!("the provider's listing ({})", listing.what()),
            jobs: Jobs::Listed(listing),
            count: dry_run.then_some(1),
            drainable: true,
        }
    }
}

/// Tokens given as arguments work, but draw this one warning.
pub fn warn_tokens_in_arguments() {
    tracing::warn!(
        "tokens given as command-line arguments are visible to other users in the process list; prefer --input FILE or --input -"
    );
}

impl Input<TokenJob> {
    /// One job per token. Tokens given as arguments work, but draw one warning: other users
    /// can read them in the process list.
    pub fn tokens(targets: Targets, from_args: bool) -> Input<TokenJob> {
        if from_args {
            warn_tokens_in_arguments();
        }
        Input::per_target(
            targets,
            check_token,
            |t| TokenJob {
                token: Secret::new(t),
            },
            token_identity,
        )
    }
}

impl Context<'_> {
    /// The command's target arguments: those of the command line, or a plan step's
    /// `targets`.
    pub fn positional(&self, args: Vec<String>) -> Vec<String> {
        match args.is_empty() {
            true => self.step_targets.clone(),
            false => args,
        }
    }

    /// `--endpoint` if given, else the provider's default host.
    pub fn endpoint_or(&self, default: &str) -> Result<Endpoint, UsageError> {
        match &self.global.endpoint {
            Some(e) => Ok(e.clone()),
            None => Endpoint::parse(default).map_err(UsageError::Endpoint),
        }
    }

    /// A required option (`--library-id`): from the command line, else from the config file;
    /// neither is a usage error that says both ways.
    pub fn required(
        &self,
        id: &str,
        parsed: Option<String>,
        flag: &'static str,
        value: &'static str,
    ) -> Result<String, UsageError> {
        self.layers
            .get_opt(id, parsed, &parse::text)?
            .ok_or_else(|| UsageError::Missing {
                flag,
                value,
                key: flag.trim_start_matches('-'),
                command: self.layers.command().to_string(),
            })
    }

    /// The targets from arguments and `--input`, each checked with `check`; none at all is
    /// `none`.
    pub fn targets(
        &self,
        args: Vec<String>,
        check: Check,
        none: UsageError,
    ) -> Result<Targets, UsageError> {
        if args.is_empty() && self.global.input.is_none() {
            return Err(none);
        }
        self.targets_or_none(args, check)
    }

    /// The targets from arguments and `--input`, possibly none.
    pub fn targets_or_none(&self, args: Vec<String>, check: Check) -> Result<Targets, UsageError> {
        Targets::prepare(args, self.global.input.as_deref(), check).map_err(UsageError::Target)
    }

    /// The last step of every command's resolution: the HTTP client made once everything
    /// else checked out. (The journal is opened by the run, after every step resolved, so
    /// that a usage error leaves no journal file behind.)
    pub fn plan<P: Provider>(
        &self,
        provider: Arc<P>,
        endpoint: &Endpoint,
        input: Input<P::Job>,
        credentials_source: impl Into<String>,
    ) -> Result<Plan, UsageError> {
        let transport = match &self.resolver {
            Some(resolver) => Transport::resolved_by(
                self.global.timeout,
                self.global.concurrency,
                resolver.clone(),
            ),
            None => Transport::new(
                self.global.timeout,
                self.global.concurrency,
                !endpoint.is_plain_http(),
            ),
        }
        .map_err(UsageError::Http)?;
        Ok(Plan {
            work: Work::new(provider, transport, input.jobs),
            count: input.count,
            drainable: input.drainable,
            default_rate: None,
            missing_ok: false,
            credentials_source: credentials_source.into(),
            targets_from: input.from,
        })
    }
}

/// A flag's value, trimmed: not empty, no control character.
pub fn nonempty(flag: &'static str, value: &str) -> Result<String, UsageError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(UsageError::Empty { flag });
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(UsageError::ControlCharacters { flag });
    }
    Ok(v.to_string())
}

/// An optional flag's value: unset or blank is none, else as [`nonempty`].
pub fn optional(flag: &'static str, value: Option<String>) -> Result<Option<String>, UsageError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => nonempty(flag, v).map(Some),
    }
}

/// A flag's value that becomes a URL path segment: as [`nonempty`], and not `.` or `..`.
pub fn segment(flag: &'static str, value: &str) -> Result<String, UsageError> {
    let v = nonempty(flag, value)?;
    if is_dot_segment(&v) {
        return Err(UsageError::DotSegment { flag, value: v });
    }
    Ok(v)
}

/// A flag's value that becomes a label of a host name.
pub fn dns_label(
    flag: &'static str,
    value: &str,
    what: &'static str,
    example: &'static str,
) -> Result<String, UsageError> {
    let v = value.trim();
    if !is_dns_label(v) {
        return Err(UsageError::NotADnsLabel {
            flag,
            value: v.to_string(),
            what,
            example,
        });
    }
    Ok(v.to_string())
}

/// Secret arguments as the lines [`Targets`] reads (the values never leave this process).
pub fn exposed(secrets: &[Secret]) -> Vec<String> {
    secrets.iter().map(|s| s.expose().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_checked() {
        assert_eq!(nonempty("--x", " a ").unwrap(), "a");
        assert_eq!(
            nonempty("--x", "  ").unwrap_err().to_string(),
            "--x cannot be empty"
        );
        assert_eq!(
            nonempty("--x", "a\tb").unwrap_err().to_string(),
            "--x cannot contain control characters"
        );
        assert_eq!(optional("--x", Some(" ".into())).unwrap(), None);
        assert!(
            segment("--tenant-id", "..")
                .unwrap_err()
                .to_string()
                .starts_with("--tenant-id: \"..\" cannot be an id")
        );
        assert_eq!(
            dns_label("--env-id", " my-env-1a2b ", "an id", "x").unwrap(),
            "my-env-1a2b"
        );
        assert_eq!(
            dns_label("--region", "eu/west", "a region name", "ap-southeast-1")
                .unwrap_err()
                .to_string(),
            "--region \"eu/west\" is not a region name (letters, digits and '-', as in ap-southeast-1)"
        );
    }

    #[test]
    fn no_targets_has_one_wording() {
        let e = UsageError::NoTargets {
            what: "token ids",
            arg: "TOKEN_ID",
            or: ", or --all",
        };
        assert_eq!(
            e.to_string(),
            "no token ids given: pass TOKEN_ID arguments or --input FILE (`--input -` reads stdin), or --all"
        );
    }
}
