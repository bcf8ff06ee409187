//! Which keys a settings table (the config file's `[defaults]` and `[COMMAND.CONTEXT]`, a
//! plan's `[defaults]` and steps) may hold, and of which TOML type. The keys are the options'
//! long names, read from the clap command tree itself, so that a config file, a plan and
//! `--help` can never disagree on a name, a type or a choice.

use std::any::TypeId;
use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand};

use super::{GlobalArgs, RunCommand};
use crate::providers::{Credentials, Descriptor, SecretKeys};

/// Options that make no sense in a file: they are about this process (logging, which file and
/// context to read), not about a run.
const NOT_IN_FILES: [&str; 8] = [
    "help",
    "version",
    "verbose",
    "quiet",
    "config",
    "context",
    "no-config",
    "no-journal",
];

/// The TOML type a key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false` (a flag such as `--intl`).
    Bool,
    /// A whole number (`--concurrency`).
    Integer,
    /// A number, whole or not (`--timeout`).
    Number,
    /// A number or the string `"auto"` (`--rate`).
    Rate,
    /// A string.
    Text,
    /// A path: `~/` is the home directory.
    Path,
    /// A string or an array of strings (a repeatable flag such as smh's `--client-id`).
    List,
    /// A secret written in the file itself (`client-secret`): only in a file other users cannot
    /// read.
    Secret,
    /// A command whose standard output is a secret (`client-secret-command`).
    Command,
}

impl Kind {
    /// How an error message names what was expected.
    pub fn expected(self) -> &'static str {
        match self {
            Kind::Bool => "true or false",
            Kind::Integer => "a whole number",
            Kind::Number => "a number",
            Kind::Rate => "a number or \"auto\"",
            Kind::Text | Kind::Secret => "a string",
            Kind::Path => "a path (a string)",
            Kind::List => "a string or an array of strings",
            Kind::Command => "a command line (a string)",
        }
    }
}

/// One key a table may hold.
#[derive(Debug, Clone)]
pub struct Key {
    /// The option's long name, as the file spells it (`library-id`).
    pub long: String,
    /// Clap's id of the option (`library_id`); `None` for keys that exist only in files (the
    /// secrets' `*-command` and inline keys).
    pub id: Option<String>,
    pub kind: Kind,
    /// The values a choice accepts (`--scope panel|page`); empty when any value goes.
    pub choices: Vec<String>,
    /// A global option (accepted by every command, and in `[defaults]`).
    pub global: bool,
    /// The option's environment variable, if it has one.
    pub env: Option<String>,
    /// The built-in default, as clap shows it.
    pub default: Option<String>,
}

/// The secret a command reads from a flag, the environment or a file, if any.
pub fn secret_of(command: &str) -> Option<SecretKeys> {
    match RunCommand::named(command)?.credentials {
        Credentials::Secret(keys) | Credentials::SecretOrPublic(keys) => Some(keys),
        _ => None,
    }
}

/// The secret of a command that has one (its settings file asks for it).
pub const fn secret(d: &Descriptor) -> SecretKeys {
    match d.credentials {
        Credentials::Secret(keys) | Credentials::SecretOrPublic(keys) => keys,
        // A compile-time error where a command asks for a secret its descriptor lacks.
        _ => panic!("this command's descriptor declares no secret"),
    }
}

fn key(arg: &clap::Arg) -> Option<Key> {
    let long = arg.get_long()?;
    if arg.is_positional() || NOT_IN_FILES.contains(&long) {
        return None;
    }
    let parser = arg.get_value_parser().type_id();
    let kind = match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => Kind::Bool,
        ArgAction::Append => Kind::List,
        ArgAction::Set if parser == TypeId::of::<u32>() || parser == TypeId::of::<u64>() => {
            Kind::Integer
        }
        ArgAction::Set if parser == TypeId::of::<f64>() => Kind::Number,
        ArgAction::Set if parser == TypeId::of::<crate::engine::pace::rate::Rate>() => Kind::Rate,
        ArgAction::Set if parser == TypeId::of::<PathBuf>() => Kind::Path,
        ArgAction::Set => Kind::Text,
        _ => return None,
    };
    let choices = arg
        .get_possible_values()
        .iter()
        .filter(|_| kind == Kind::Text)
        .map(|p| p.get_name().to_string())
        .collect();
    Some(Key {
        long: long.to_string(),
        id: Some(arg.get_id().to_string()),
        kind,
        choices,
        global: arg.is_global_set(),
        env: arg.get_env().map(|e| e.to_string_lossy().into_owned()),
        default: arg
            .get_default_values()
            .first()
            .map(|d| d.to_string_lossy().into_owned())
            .filter(|_| kind != Kind::Bool),
    })
}

/// The options a settings table may name: the global ones and the run commands' own, from
/// their clap types.
fn options() -> clap::Command {
    GlobalArgs::augment_args(RunCommand::augment_subcommands(clap::Command::new(
        "revoke",
    )))
}

/// The global options, by long name: what `[defaults]` may hold.
pub fn global_keys() -> Vec<Key> {
    options()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(key)
        .collect()
}

/// Every key a table for `command` may hold: the global options, the command's own, and the
/// file-only keys of its secret. `None` for a command that is not a run command ([`RunCommand`]).
pub fn command_keys(command: &str) -> Option<Vec<Key>> {
    RunCommand::named(command)?;
    let cli = options();
    let sub = cli.find_subcommand(command)?;
    let mut keys = global_keys();
    keys.extend(
        sub.get_arguments()
            .filter(|a| !a.is_global_set())
            .filter_map(key),
    );
    if let Some(s) = secret_of(command) {
        for (long, kind) in [(s.command_key, Kind::Command), (s.inline_key, Kind::Secret)] {
            keys.push(Key {
                long: long.to_string(),
                id: None,
                kind,
                choices: Vec::new(),
                global: false,
                env: None,
                default: None,
            });
        }
    }
    Some(keys)
}

/// The closest name in `names` to `wrong`, when it is close enough to be a typo.
pub fn suggest<'a>(wrong: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (strsim::levenshtein(wrong, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(keys: &'a [Key], long: &str) -> &'a Key {
        keys.iter().find(|k| k.long == long).unwrap()
    }

    #[test]
    fn keys_and_types_come_from_the_command_line() {
        let g = global_keys();
        assert_eq!(find(&g, "concurrency").kind, Kind::Integer);
        assert_eq!(find(&g, "concurrency").default.as_deref(), Some("8"));
        assert_eq!(find(&g, "timeout").kind, Kind::Number);
        assert_eq!(find(&g, "rate").kind, Kind::Rate);
        assert_eq!(find(&g, "journal").kind, Kind::Path);
        assert_eq!(find(&g, "dry-run").kind, Kind::Bool);
        assert_eq!(find(&g, "output").choices, ["text", "json"]);
        assert_eq!(find(&g, "endpoint").env.as_deref(), Some("REVOKE_ENDPOINT"));
        for gone in NOT_IN_FILES {
            assert!(g.iter().all(|k| k.long != gone), "{gone}");
        }
        let smh = command_keys("smh").unwrap();
        assert_eq!(find(&smh, "client-id").kind, Kind::List);
        assert_eq!(find(&smh, "library-id").kind, Kind::Text);
        assert_eq!(find(&smh, "library-secret-file").kind, Kind::Path);
        assert_eq!(find(&smh, "library-secret-command").kind, Kind::Command);
        assert_eq!(find(&smh, "library-secret").kind, Kind::Secret);
        assert!(find(&smh, "endpoint").global);
        let bi = command_keys("bi-embed").unwrap();
        assert_eq!(find(&bi, "scope").choices, ["panel", "page"]);
        let ciam = command_keys("ciam").unwrap();
        assert_eq!(
            find(&ciam, "token-type-hint").choices,
            ["access_token", "refresh_token"]
        );
        assert!(command_keys("completions").is_none());
    }

    #[test]
    fn typos_get_a_suggestion() {
        let names = ["library-id", "client-id", "session-id"];
        assert_eq!(suggest("libary-id", names), Some("library-id"));
        assert_eq!(suggest("client_id", names), Some("client-id"));
        assert_eq!(suggest("colour", names), None);
    }
}
