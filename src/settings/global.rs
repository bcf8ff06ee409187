//! The global options resolved into plain settings: the endpoint checked, numbers turned into
//! durations, the progress bar decided.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::UsageError;
use super::layers::{Layers, parse};
use crate::cli::{GlobalArgs, parse_duration, parse_label, parse_rate, parse_timeout};
use crate::engine::pace::rate::Rate;
use crate::engine::pace::retry::RetryPolicy;
use crate::net::http::Endpoint;
use crate::report::output::Evidence;
use crate::report::output::Format;
use crate::settings::creds::{Env, ProcessEnv};

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
    /// `--require-targets`: a run with no target is a failure.
    pub require_targets: bool,
    /// `--ticket` and `--actor` (the actor defaulted to the login name).
    pub evidence: Evidence,
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
        let ticket = layers.get_opt("ticket", g.ticket.clone(), &parse_label)?;
        let actor = match layers.get_opt("actor", g.actor.clone(), &parse_label)? {
            Some(actor) => Some(actor),
            None => login_name(&ProcessEnv, PASSWD),
        };
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
            require_targets: layers.get("require_targets", g.require_targets, &parse::boolean)?,
            evidence: Evidence { ticket, actor },
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

/// Where the user database is read for the default actor.
const PASSWD: &str = "/etc/passwd";

/// The most of the user database read looking for the name of the process's user id.
const MAX_PASSWD: u64 = 4 * 1024 * 1024;

/// The default `--actor`: the login name, as `logname` and `whoami` would say it: $USER, else
/// $LOGNAME, else the name of the process's user id in `passwd`, else none. A value that would
/// not pass as `--actor` (too long, control characters) is passed over for the next source.
fn login_name(env: &dyn Env, passwd: &str) -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| env.var(name))
        .chain(uid_name(passwd))
        .find_map(|name| parse_label(&name).ok())
}

/// The name of the process's user id in `passwd` (`name:password:uid:...` lines).
fn uid_name(passwd: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        // The owner of /proc/self is the process's user id (no `unsafe` getuid call needed).
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let mut text = String::new();
        std::fs::File::open(passwd)
            .ok()?
            .take(MAX_PASSWD)
            .read_to_string(&mut text)
            .ok()?;
        name_of_uid(&text, uid)
    }
    #[cfg(not(unix))]
    {
        let _ = passwd;
        None
    }
}

#[cfg_attr(not(unix), allow(dead_code))]
fn name_of_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
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

    #[test]
    fn the_actor_defaults_to_the_login_name() {
        let none = "/nonexistent/passwd";
        let env = |pairs: &[(&'static str, &'static str)]| MapEnv(pairs.iter().copied().collect());
        assert_eq!(
            login_name(&env(&[("USER", "alice"), ("LOGNAME", "bob")]), none).as_deref(),
            Some("alice")
        );
        assert_eq!(
            login_name(&env(&[("LOGNAME", "bob")]), none).as_deref(),
            Some("bob")
        );
        // A value that is not a fit name is passed over.
        assert_eq!(
            login_name(
                &env(&[("USER", "al\u{1b}[2Jice"), ("LOGNAME", "bob")]),
                none
            )
            .as_deref(),
            Some("bob")
        );
        assert_eq!(login_name(&env(&[]), none), None);
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n#c\nbroken\ncarol:x:1000:1000::/home/c:/bin/sh\n";
        assert_eq!(name_of_uid(passwd, 1000).as_deref(), Some("carol"));
        assert_eq!(name_of_uid(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_of_uid(passwd, 7), None);
    }
}
