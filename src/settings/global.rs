//! The global options resolved into plain settings: the endpoint checked, numbers turned into
//! durations, the progress bar decided.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::UsageError;
use super::layers::{Layers, parse};
use crate::cli::{GlobalArgs, parse_duration, parse_rate, parse_timeout};
use crate::http::Endpoint;
use crate::output::Format;
use crate::rate::Rate;
use crate::retry::RetryPolicy;

pub struct Global {
    pub format: Format,
    pub dry_run: bool,
    /// `--verify`.
    pub verify: bool,
    pub endpoint: Option<Endpoint>,
    pub input: Option<PathBuf>,
    pub concurrency: usize,
    /// `--rate` as given: `None` = the provider's default.
    pub rate: Option<Rate>,
    pub policy: RetryPolicy,
    pub timeout: Duration,
    pub journal: Option<PathBuf>,
    /// `--resume-within`: how old an smh or bi-embed journal entry may be and still replay.
    pub resume_within: Duration,
    pub quiet: bool,
    pub no_progress: bool,
}

impl Global {
    pub fn resolve(g: &GlobalArgs, layers: &Layers) -> Result<Global, UsageError> {
        let endpoint = layers.get_opt("endpoint", g.endpoint.clone(), &parse::text)?;
        let endpoint = match endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(Endpoint::parse(e).map_err(UsageError::Endpoint)?),
        };
        // `--no-journal` sets aside whatever journal is configured, for this run.
        let journal = match g.no_journal {
            true => None,
            false => layers.get_opt("journal", g.journal.clone(), &parse::path)?,
        };
        if journal.as_ref().is_some_and(|j| j.as_os_str() == "-") {
            return Err(UsageError::JournalNotAFile);
        }
        let concurrency = layers.get("concurrency", g.concurrency, &parse::number_in(1, 4096))?;
        let retries = layers.get("retries", g.retries, &parse::number_in(0, 100))?;
        let timeout = layers.get("timeout", g.timeout, &parse_timeout)?;
        Ok(Global {
            format: layers.get("output", g.output, &parse::choice)?,
            dry_run: layers.get("dry_run", g.dry_run, &parse::boolean)?,
            verify: layers.get("verify", g.verify, &parse::boolean)?,
            endpoint,
            input: layers.get_opt("input", g.input.clone(), &parse::path)?,
            concurrency: concurrency as usize,
            rate: layers.get_opt("rate", g.rate, &parse_rate)?,
            policy: RetryPolicy {
                retries,
                ..RetryPolicy::default()
            },
            timeout: Duration::from_secs_f64(timeout),
            journal,
            resume_within: layers.get("resume_within", g.resume_within, &parse_duration)?,
            quiet: g.quiet,
            no_progress: layers.get("no_progress", g.no_progress, &parse::boolean)?,
        })
    }

    /// The rate for this run: `--rate` if given, else the provider's documented limit, else
    /// `auto` (four of the five APIs publish none).
    pub fn rate_for(&self, default: Option<f64>) -> Rate {
        match (self.rate, default) {
            (Some(r), _) => r,
            (None, Some(n)) => Rate::Fixed(n),
            (None, None) => Rate::Auto,
        }
    }

    /// A bar is drawn only on a terminal, for more than one target, unless turned off.
    pub fn progress(&self, count: Option<u64>) -> Option<Option<u64>> {
        if self.quiet || self.no_progress || !std::io::stderr().is_terminal() {
            return None;
        }
        match count {
            Some(n) if n <= 1 => None,
            other => Some(other),
        }
    }

    pub fn input_is_stdin(&self) -> bool {
        self.input.as_deref().is_some_and(|p| p.as_os_str() == "-")
    }
}
