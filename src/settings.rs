//! The global options resolved into plain settings: the endpoint checked, numbers turned into
//! durations, the progress bar decided. Provider modules resolve their own options on top.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::http::Endpoint;
use crate::output::Format;
use crate::retry::RetryPolicy;

pub struct Common {
    pub format: Format,
    pub dry_run: bool,
    pub endpoint: Option<Endpoint>,
    pub input: Option<PathBuf>,
    pub concurrency: usize,
    /// `--rate` as given: `None` = the provider's default, `Some(0.0)` = unlimited.
    pub rate: Option<f64>,
    pub policy: RetryPolicy,
    pub timeout: Duration,
    pub journal: Option<PathBuf>,
    pub quiet: bool,
    pub no_progress: bool,
}

impl Common {
    pub fn resolve(g: &GlobalArgs) -> Result<Common, String> {
        let endpoint = match g.endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(Endpoint::parse(e)?),
        };
        if let Some(j) = &g.journal
            && j.as_os_str() == "-"
        {
            return Err("--journal must name a file".into());
        }
        Ok(Common {
            format: g.output,
            dry_run: g.dry_run,
            endpoint,
            input: g.input.clone(),
            concurrency: g.concurrency as usize,
            rate: g.rate,
            policy: RetryPolicy {
                retries: g.retries,
                ..RetryPolicy::default()
            },
            timeout: Duration::from_secs_f64(g.timeout),
            journal: g.journal.clone(),
            quiet: g.quiet,
            no_progress: g.no_progress,
        })
    }

    /// The rate for this run: `--rate` if given (0 = unlimited), else the provider's default.
    pub fn rate_for(&self, default: Option<f64>) -> Option<f64> {
        match self.rate {
            Some(r) if r > 0.0 => Some(r),
            Some(_) => None,
            None => default,
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
