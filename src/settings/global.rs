//! The global options resolved into plain settings: the endpoint checked, numbers turned into
//! durations, the progress bar decided.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use super::UsageError;
use super::layers::{Layers, opt, parse, val};
use crate::engine::pace::rate::Rate;
use crate::engine::pace::retry::RetryPolicy;
use crate::net::http::Endpoint;
use crate::report::sink::Evidence;
use crate::report::sink::Format;
use crate::settings::creds::{Env, ProcessEnv};
use clap::Args;

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
        let endpoint = opt!(layers, g.endpoint.clone(), &parse::text)?;
        let endpoint = match endpoint.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(Endpoint::parse(e).map_err(UsageError::Endpoint)?),
        };
        // `--no-journal` sets aside whatever journal is configured, for this run.
        let journal = match g.no_journal {
            true => None,
            false => opt!(layers, g.journal.clone(), &parse::path)?,
        };
        if journal.as_ref().is_some_and(|j| j.as_os_str() == "-") {
            return Err(UsageError::JournalNotAFile);
        }
        let concurrency = val!(layers, g.concurrency, &parse::number_in(1, 4096))?;
        let retries = val!(layers, g.retries, &parse::number_in(0, 100))?;
        let timeout = val!(layers, g.timeout, &parse_timeout)?;
        let ticket = opt!(layers, g.ticket.clone(), &parse_label)?;
        let actor = match opt!(layers, g.actor.clone(), &parse_label)? {
            Some(actor) => Some(actor),
            None => login_name(&ProcessEnv, PASSWD),
        };
        Ok(Global {
            format: val!(layers, g.output, &parse::choice)?,
            dry_run: val!(layers, g.dry_run, &parse::boolean)?,
            verify: val!(layers, g.verify, &parse::boolean)?,
            endpoint,
            input: opt!(layers, g.input.clone(), &parse::path)?,
            concurrency: concurrency as usize,
            rate: opt!(layers, g.rate, &parse_rate)?,
            policy: RetryPolicy {
                retries,
                ..RetryPolicy::default()
            },
            timeout: Duration::from_secs_f64(timeout),
            journal,
            resume_within: val!(layers, g.resume_within, &parse_duration)?,
            quiet: g.quiet,
            no_progress: val!(layers, g.no_progress, &parse::boolean)?,
            require_targets: val!(layers, g.require_targets, &parse::boolean)?,
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
