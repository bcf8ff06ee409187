//! Where each setting comes from. A value is looked for, highest first, on the command line, in
//! the environment, in a configuration source (the config file's context and `[defaults]`,
//! plugged in as a [`Lookup`]: `config_file::Scoped`) and in the built-in default, and it keeps
//! the [`Origin`] it was found in, for `revoke config` to show. A plan's step adds its own keys
//! as a second [`Lookup`] between the command line and the environment ([`Layers::for_step`]).
//!
//! Clap reads the first two and holds the defaults; [`Layers`] asks it which of them a value
//! came from and fills the gap between the environment and the default from the [`Lookup`]. An
//! environment variable set to the empty string counts as unset: CI systems set the variables
//! they mean to leave unset that way (`REVOKE_ENDPOINT=` is no endpoint).

use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;

use clap::ArgMatches;
use clap::parser::ValueSource;

use super::UsageError;

/// Option `field` of clap arguments (a command's `*Args`, or `GlobalArgs`), read through the
/// layers: `opt!(layers, args.domain, &parse::text)` is the optional option `domain`. The clap
/// field is the id (clap's id of a derived argument is its field's name), so an option that
/// does not exist does not compile. `args.field.clone()` reads a borrowed field.
macro_rules! opt {
    ($layers:expr, $args:ident . $field:ident $(. $clone:ident ())?, $parse:expr) => {
        $layers.get_opt(stringify!($field), $args.$field $(.$clone())?, $parse)
    };
}

/// As [`opt!`], for an option with a default: its value, never none.
macro_rules! val {
    ($layers:expr, $args:ident . $field:ident $(. $clone:ident ())?, $parse:expr) => {
        $layers.get(stringify!($field), $args.$field $(.$clone())?, $parse)
    };
}

/// The id of field `field` of clap arguments `Args`, checked by the compiler: `id!(CiamArgs,
/// domain)` is `"domain"`.
macro_rules! id {
    ($args:ty, $field:ident) => {{
        let _ = |a: &$args| {
            let _ = &a.$field;
        };
        stringify!($field)
    }};
}

pub(crate) use {id, opt, val};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The command line.
    Flag,
    /// An environment variable, by name.
    Env(String),
    /// A configuration file, where the value is written.
    Config { file: PathBuf, line: usize },
    /// The built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => f.write_str("flag"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::Config { file, line } => write!(f, "{}:{line}", file.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// A value written in a configuration source, still as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub text: String,
    pub file: PathBuf,
    pub line: usize,
}

/// A list of values written in a configuration source (a repeatable option, `client-id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundList {
    pub items: Vec<String>,
    pub file: PathBuf,
    pub line: usize,
}

/// A source of settings below the command line and the environment: the config file.
pub trait Lookup {
    /// The value of the option `long` (its long name, `library-id`) for a run of `command`
    /// (`smh`): from the command's context, else from the global defaults.
    fn lookup(&self, command: &str, long: &str) -> Option<Found>;

    /// The values of a repeatable option, written as a string or an array of strings.
    fn lookup_list(&self, _command: &str, _long: &str) -> Option<FoundList> {
        None
    }
}

/// No configuration source: flags, environment and defaults only.
pub struct NoConfig;

impl Lookup for NoConfig {
    fn lookup(&self, _command: &str, _long: &str) -> Option<Found> {
        None
    }
}

/// Where clap found each value (flag, environment, default): what [`Layers`] reads.
pub struct Given {
    matches: ArgMatches,
    command: clap::Command,
}

impl Given {
    /// What clap made of a command line, with the command that parsed it.
    pub fn new(matches: ArgMatches, command: clap::Command) -> Given {
        Given { matches, command }
    }

    /// The subcommand on the command line (`smh`), or the program's name without one.
    pub fn command_name(&self) -> &str {
        self.matches
            .subcommand_name()
            .unwrap_or(self.command.get_name())
    }
}

/// `command` with every argument whose environment variable is set but empty no longer reading
/// it, as if it were unset.
pub fn without_empty_env(command: clap::Command) -> clap::Command {
    let empty: Vec<clap::Id> = command
        .get_arguments()
        .filter(|a| {
            a.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|v| v.is_empty())
        })
        .map(|a| a.get_id().clone())
        .collect();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let command = empty
        .into_iter()
        .fold(command, |c, id| c.mut_arg(id, |a| a.env(None)));
    names
        .iter()
        .fold(command, |c, name| c.mut_subcommand(name, without_empty_env))
}

/// A parser of a value written in a configuration source (the same rules as the flag's).
pub type Parse<'p, T> = &'p dyn Fn(&str) -> Result<T, String>;

/// The layers one run's settings are read from.
pub struct Layers<'a> {
    line: &'a Given,
    /// The command whose options are read, when it is not the one on the command line (a
    /// plan's step).
    command: Option<&'a str>,
    /// A source above the environment: a plan step's own keys, which are what its command
    /// line would have been.
    over_env: Option<&'a dyn Lookup>,
    config: &'a dyn Lookup,
    /// Every option resolved so far, by long name, with its origin.
    origins: RefCell<Vec<(String, Origin)>>,
}

impl<'a> Layers<'a> {
    pub fn new(line: &'a Given, config: &'a dyn Lookup) -> Layers<'a> {
        Layers {
            line,
            command: None,
            over_env: None,
            config,
            origins: RefCell::new(Vec::new()),
        }
    }

    /// The layers of a plan's step: `command`'s options from the command line of
    /// `revoke apply` (its global flags), then the step's own keys (`step`), then the
    /// environment, then `config`.
    pub fn for_step(
        line: &'a Given,
        command: &'a str,
        step: &'a dyn Lookup,
        config: &'a dyn Lookup,
    ) -> Layers<'a> {
        Layers {
            line,
            command: Some(command),
            over_env: Some(step),
            config,
            origins: RefCell::new(Vec::new()),
        }
    }

    /// The subcommand being run (`smh`).
    pub fn command(&self) -> &str {
        self.command.unwrap_or_else(|| {
            self.line
                .matches
                .subcommand_name()
                .unwrap_or(self.line.command.get_name())
        })
    }

    fn arg(&self, id: &str) -> Option<&clap::Arg> {
        let sub = self.line.command.find_subcommand(self.command());
        self.line
            .command
            .get_arguments()
            .chain(sub.into_iter().flat_map(|c| c.get_arguments()))
            .find(|a| a.get_id() == id)
    }

    /// The option's long name, as a config file spells it.
    fn long(&self, id: &str) -> String {
        self.arg(id)
            .and_then(|a| a.get_long())
            .map(str::to_string)
            .unwrap_or_else(|| id.replace('_', "-"))
    }

    /// Where clap took option `id` from, when that is the command line or the environment.
    fn clap_origin(&self, id: &str) -> Option<Origin> {
        let sub = self.line.matches.subcommand().map(|(_, m)| m);
        for m in sub.into_iter().chain([&self.line.matches]) {
            if m.try_contains_id(id).is_err() {
                continue;
            }
            match m.value_source(id) {
                Some(ValueSource::CommandLine) => return Some(Origin::Flag),
                Some(ValueSource::EnvVariable) => {
                    let name = self
                        .arg(id)
                        .and_then(|a| a.get_env())
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    return Some(Origin::Env(name));
                }
                _ => {}
            }
        }
        None
    }

    /// Which layer option `id` is set in: 4 the command line, 3 a plan step's keys, 2 the
    /// environment, 1 a settings file, 0 none (its default). Of two options that say the same
    /// thing (ciam's `--domain` and `--endpoint`), the one in the higher layer wins.
    pub fn layer(&self, id: &str) -> u8 {
        let long = self.long(id);
        match self.clap_origin(id) {
            Some(Origin::Flag) => 4,
            _ if self
                .over_env
                .is_some_and(|l| l.lookup(self.command(), &long).is_some()) =>
            {
                3
            }
            Some(Origin::Env(_)) => 2,
            _ if self.config.lookup(self.command(), &long).is_some() => 1,
            _ => 0,
        }
    }

    /// Option `id`'s value as text, and where it comes from, without checking it: what
    /// `revoke config` shows. `None` when it is set nowhere and has no default.
    pub fn show(&self, id: &str) -> Option<(String, Origin)> {
        let long = self.long(id);
        let command = self.command();
        let raw = || {
            let sub = self.line.matches.subcommand().map(|(_, m)| m);
            sub.into_iter()
                .chain([&self.line.matches])
                .find_map(|m| m.try_get_raw(id).ok().flatten())
                .map(|values| {
                    values
                        .map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                })
        };
        let listed = |l: &dyn Lookup| {
            l.lookup_list(command, &long)
                .map(|f| (f.items.join(","), f.file, f.line))
                .or_else(|| l.lookup(command, &long).map(|f| (f.text, f.file, f.line)))
                .map(|(text, file, line)| (text, Origin::Config { file, line }))
        };
        match self.clap_origin(id) {
            Some(Origin::Flag) => return raw().map(|v| (v, Origin::Flag)),
            clap => {
                if let Some(found) = self.over_env.and_then(listed) {
                    return Some(found);
                }
                if let Some(origin @ Origin::Env(_)) = clap {
                    return raw().map(|v| (v, origin));
                }
            }
        }
        if let Some(found) = listed(self.config) {
            return Some(found);
        }
        let arg = self.arg(id)?;
        let default = arg.get_default_values().first()?;
        Some((default.to_string_lossy().into_owned(), Origin::Default))
    }

    /// Whether option `id` was given on the command line.
    pub fn given_as_flag(&self, id: &str) -> bool {
        self.clap_origin(id) == Some(Origin::Flag)
    }

    /// Option `id` (clap's id: the field name) that has a default: `parsed` is what clap made
    /// of the flag, the environment or the default; `parse` reads a configuration source's
    /// text.
    pub fn value<T>(&self, id: &str, parsed: T, parse: Parse<T>) -> Result<Sourced<T>, UsageError> {
        // `optional` of a value always finds one (the default at least): never this error.
        self.optional(id, Some(parsed), parse)?
            .ok_or_else(|| UsageError::ConfigFile(format!("{}: no value", self.long(id))))
    }

    /// Option `id` that may be unset.
    pub fn optional<T>(
        &self,
        id: &str,
        parsed: Option<T>,
        parse: Parse<T>,
    ) -> Result<Option<Sourced<T>>, UsageError> {
        let long = self.long(id);
        let command = self.command();
        let from = |found: Found| -> Result<Sourced<T>, UsageError> {
            let value = parse(&found.text).map_err(|why| UsageError::Config {
                file: found.file.clone(),
                line: found.line,
                key: long.clone(),
                why,
            })?;
            Ok(Sourced {
                value,
                origin: Origin::Config {
                    file: found.file,
                    line: found.line,
                },
            })
        };
        let clap = self.clap_origin(id);
        let over_env = || self.over_env.and_then(|l| l.lookup(command, &long));
        let sourced = match (clap, parsed) {
            (Some(Origin::Flag), Some(value)) => Some(Sourced {
                value,
                origin: Origin::Flag,
            }),
            (clap, parsed) => match (over_env(), clap, parsed) {
                (Some(found), _, _) => Some(from(found)?),
                (None, Some(origin), Some(value)) => Some(Sourced { value, origin }),
                (None, _, parsed) => match self.config.lookup(command, &long) {
                    Some(found) => Some(from(found)?),
                    None => parsed.map(|value| Sourced {
                        value,
                        origin: Origin::Default,
                    }),
                },
            },
        };
        if let Some(s) = &sourced {
            self.origins.borrow_mut().push((long, s.origin.clone()));
        }
        Ok(sourced)
    }

    /// A repeatable option (no environment variable): the flags if any were given, else the
    /// list written in a settings source, else none.
    pub fn list(&self, id: &str, parsed: Vec<String>) -> Vec<String> {
        let long = self.long(id);
        let command = self.command();
        let (items, origin) = if self.clap_origin(id) == Some(Origin::Flag) {
            (parsed, Origin::Flag)
        } else {
            match self
                .over_env
                .and_then(|l| l.lookup_list(command, &long))
                .or_else(|| self.config.lookup_list(command, &long))
            {
                Some(f) => (
                    f.items,
                    Origin::Config {
                        file: f.file,
                        line: f.line,
                    },
                ),
                None => (parsed, Origin::Default),
            }
        };
        if !items.is_empty() {
            self.origins.borrow_mut().push((long, origin));
        }
        items
    }

    /// A key that exists only in settings files (`client-secret-command`), from the sources
    /// above the environment (a plan step's keys) when `above_env`, else from those below it.
    pub fn file_only(&self, long: &str, above_env: bool) -> Option<Found> {
        let source = if above_env {
            self.over_env?
        } else {
            self.config
        };
        let found = source.lookup(self.command(), long)?;
        self.origins.borrow_mut().push((
            long.to_string(),
            Origin::Config {
                file: found.file.clone(),
                line: found.line,
            },
        ));
        Some(found)
    }

    /// [`Layers::value`] without its origin (which is kept for [`Layers::origins`]).
    pub fn get<T>(&self, id: &str, parsed: T, parse: Parse<T>) -> Result<T, UsageError> {
        Ok(self.value(id, parsed, parse)?.value)
    }

    /// [`Layers::optional`] without its origin (which is kept for [`Layers::origins`]).
    pub fn get_opt<T>(
        &self,
        id: &str,
        parsed: Option<T>,
        parse: Parse<T>,
    ) -> Result<Option<T>, UsageError> {
        Ok(self.optional(id, parsed, parse)?.map(|s| s.value))
    }

    /// Every option resolved so far, by long name, with where its value came from.
    pub fn origins(&self) -> Vec<(String, Origin)> {
        self.origins.borrow().clone()
    }
}

/// Readers of a configuration source's text, by the same rules as the flags.
pub mod parse {
    use std::path::PathBuf;

    pub fn text(s: &str) -> Result<String, String> {
        Ok(s.to_string())
    }

    pub fn path(s: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(s))
    }

    pub fn boolean(s: &str) -> Result<bool, String> {
        match s {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("{s:?} is not true or false")),
        }
    }

    /// One of a clap enum's values, spelt as on the command line.
    pub fn choice<E: clap::ValueEnum>(s: &str) -> Result<E, String> {
        E::from_str(s, false).map_err(|_| {
            let names: Vec<String> = E::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|p| p.get_name().to_string())
                .collect();
            format!("{s:?} is not one of {}", names.join(", "))
        })
    }

    /// A whole number in `lo..=hi`.
    pub fn number_in(lo: u32, hi: u32) -> impl Fn(&str) -> Result<u32, String> {
        move |s| match s.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(format!("{s:?} is not a whole number in {lo}..={hi}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, FromArgMatches, Subcommand};

    use crate::settings::{GlobalArgs, RunCommand};

    /// A configuration source from a list of `(command, long name, text)`, every value on
    /// line 1 of `test.toml`.
    struct Table(Vec<(&'static str, &'static str, &'static str)>);

    impl Lookup for Table {
        fn lookup(&self, command: &str, long: &str) -> Option<Found> {
            self.0
                .iter()
                .find(|(c, l, _)| *c == command && *l == long)
                .map(|(_, _, t)| Found {
                    text: t.to_string(),
                    file: "test.toml".into(),
                    line: 1,
                })
        }
    }

    /// A command line as `cli::CommandLine` parses it (the settings' own clap types: the
    /// settings do not depend on the command-line layer).
    struct Line {
        cli: Parsed,
        given: Given,
    }

    #[derive(Debug)]
    #[allow(dead_code)] // `command` is read through Debug.
    struct Parsed {
        global: GlobalArgs,
        command: Option<RunCommand>,
    }

    fn parse(args: &[&str]) -> Line {
        let mut command = without_empty_env(GlobalArgs::augment_args(
            RunCommand::augment_subcommands(clap::Command::new("revoke")),
        ));
        let matches = command.try_get_matches_from_mut(args).unwrap();
        let cli = Parsed {
            global: GlobalArgs::from_arg_matches(&matches).unwrap(),
            command: RunCommand::from_arg_matches(&matches).ok(),
        };
        Line {
            cli,
            given: Given::new(matches, command),
        }
    }

    fn line(args: &[&str]) -> Line {
        parse(&[&["revoke"], args].concat())
    }

    #[test]
    fn flag_then_config_then_default() {
        let line = line(&["smh", "--library-id", "L", "--concurrency", "3", "u1"]);
        let config = Table(vec![
            ("smh", "concurrency", "9"),
            ("smh", "retries", "7"),
            ("ciam", "timeout", "5"),
            ("smh", "endpoint", "https://smh.example"),
        ]);
        let layers = Layers::new(&line.given, &config);
        let g = &line.cli.global;
        let n = parse::number_in(1, 4096);
        let c = layers.value("concurrency", g.concurrency, &n).unwrap();
        assert_eq!((c.value, c.origin), (3, Origin::Flag), "the flag wins");
        let r = layers.value("retries", g.retries, &n).unwrap();
        let at = Origin::Config {
            file: "test.toml".into(),
            line: 1,
        };
        assert_eq!((r.value, &r.origin), (7, &at), "then the config");
        assert_eq!(at.to_string(), "test.toml:1");
        let t = layers
            .value(
                "timeout",
                g.timeout,
                &crate::settings::global::parse_timeout,
            )
            .unwrap();
        assert_eq!(
            (t.value, t.origin),
            (30.0, Origin::Default),
            "another command's"
        );
        let e = layers
            .optional("endpoint", g.endpoint.clone(), &parse::text)
            .unwrap()
            .unwrap();
        assert_eq!(e.value, "https://smh.example");
        assert!(
            layers
                .optional("journal", g.journal.clone(), &parse::path)
                .unwrap()
                .is_none()
        );
        let origins: Vec<String> = layers.origins().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(origins, ["concurrency", "retries", "timeout", "endpoint"]);
    }

    #[test]
    fn a_bad_config_value_names_the_file_line_and_key() {
        let line = line(&["smh", "--library-id", "L", "u1"]);
        let config = Table(vec![("smh", "concurrency", "0")]);
        let layers = Layers::new(&line.given, &config);
        let n = parse::number_in(1, 4096);
        let e = layers
            .value("concurrency", line.cli.global.concurrency, &n)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.toml:1: concurrency: \"0\" is not a whole number in 1..=4096"
        );
    }

    #[test]
    fn no_config_leaves_flags_and_defaults() {
        let line = line(&[
            "ciam",
            "--endpoint",
            "https://a.example",
            "--client-id",
            "c",
        ]);
        let layers = Layers::new(&line.given, &NoConfig);
        assert_eq!(layers.command(), "ciam");
        let e = layers
            .optional("endpoint", line.cli.global.endpoint.clone(), &parse::text)
            .unwrap()
            .unwrap();
        assert_eq!(e.origin, Origin::Flag);
        let out = layers
            .value("output", line.cli.global.output, &parse::choice)
            .unwrap();
        assert_eq!(out.origin, Origin::Default);
        assert_eq!(
            parse::choice::<crate::report::sink::Format>("yaml").unwrap_err(),
            "\"yaml\" is not one of text, json"
        );
    }

    #[test]
    fn a_step_sits_between_the_flags_and_the_environment() {
        let line = parse(&["revoke", "--rate", "5"]);
        let step = Table(vec![
            ("smh", "rate", "9"),
            ("smh", "retries", "1"),
            ("smh", "library-id", "from-step"),
        ]);
        let config = Table(vec![("smh", "retries", "7"), ("smh", "timeout", "4")]);
        let layers = Layers::for_step(&line.given, "smh", &step, &config);
        assert_eq!(layers.command(), "smh");
        let g = &line.cli.global;
        let rate = layers
            .optional("rate", g.rate, &crate::settings::global::parse_rate)
            .unwrap();
        assert_eq!(rate.unwrap().origin, Origin::Flag, "apply's flag wins");
        let n = parse::number_in(0, 100);
        let r = layers.value("retries", g.retries, &n).unwrap();
        assert_eq!(r.value, 1, "the step's key beats the config");
        let t = layers
            .value(
                "timeout",
                g.timeout,
                &crate::settings::global::parse_timeout,
            )
            .unwrap();
        assert_eq!(t.value, 4.0);
        let id = layers
            .optional(
                id!(crate::settings::smh::SmhArgs, library_id),
                None,
                &parse::text,
            )
            .unwrap()
            .unwrap();
        assert_eq!(id.value, "from-step");
        assert_eq!(layers.layer("rate"), 4);
        assert_eq!(layers.layer("retries"), 3);
        assert_eq!(layers.layer("timeout"), 1);
        assert_eq!(layers.layer("concurrency"), 0);
    }

    #[test]
    fn tokens_are_parsed_into_secrets() {
        for command in ["ciam", "cloudbase"] {
            let line = line(&[command, "--client-id", "c", "tok-sentinel-0001"]);
            let shown = format!("{:?}", line.cli);
            assert!(!shown.contains("tok-sentinel"), "{shown}");
            assert!(shown.contains("Secret(***)"), "{shown}");
        }
    }
}
