//! What a user reads before a run: `--help`, `--version`, the completion scripts, and clap's
//! own parse errors in the house style.
//!
//! - [`command`] is the command line clap parses and documents: `cli.rs`'s types with the
//!   run and output options hidden from the commands that send nothing (`completions`, `man`,
//!   `version`), and an "Environment:" block under each command's examples.
//! - [`parse_failed`] prints what clap stopped on: help and version on stdout (the examples
//!   exactly as written, see [`verbatim`]), errors on stderr as `revoke: error: ...`, naming
//!   the environment variable a bad value came from.
//! - [`ENVIRONMENT`] is the one list of the variables revoke reads beyond its options' own;
//!   the man pages (`manual.rs`) are made from it too.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Command, CommandFactory};

use crate::cli::Cli;
use crate::providers::EnvVar;
use crate::report::exit::Ended;
use crate::report::printed::print;
use crate::settings::RunCommand;

/// Commands that send nothing: the run and output options mean nothing to them.
pub const PRINTING_COMMANDS: &[&str] = &["completions", "man", "report", "version", "help"];

/// The environment variables every command that sends reads, other than the options' own;
/// each run command's own are in its descriptor (`providers::Descriptor::env`).
pub const ENVIRONMENT: &[EnvVar] = &[
    EnvVar {
        names: &["USER", "LOGNAME"],
        meaning: "the login name, the default --actor when neither --actor, REVOKE_ACTOR nor \
                  the config file gives one (USER first; else the user id's name in /etc/passwd)",
    },
    EnvVar {
        names: &["XDG_CONFIG_HOME"],
        meaning: "where the configuration file revoke/config.toml is looked for \
                  (default: ~/.config)",
    },
    EnvVar {
        names: &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"],
        meaning: "proxies, as curl reads them (lowercase names too)",
    },
    EnvVar {
        names: &["SSL_CERT_FILE", "SSL_CERT_DIR"],
        meaning: "trust the CA certificates (PEM) in this file or these directories \
                  instead of the system's",
    },
    EnvVar {
        names: &["TMPDIR"],
        meaning: "where a journal longer than 262,144 lines is indexed (default: /tmp)",
    },
    EnvVar {
        names: &["RUST_LOG"],
        meaning: "log filter replacing the -v mapping (as in revoke=debug)",
    },
];

/// The command line clap parses, documents and completes.
pub fn command() -> Command {
    let mut cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let blocks: Vec<String> = names
        .iter()
        .map(|n| environment_block(&environment(&cmd, Some(n))))
        .collect();
    for (name, block) in names.iter().zip(blocks) {
        cmd = cmd.mut_subcommand(name, |mut sc| {
            if PRINTING_COMMANDS.contains(&name.as_str()) {
                // A command's own argument keeps clap from copying the global one into it:
                // the run and output options are still accepted there, but not listed.
                for a in &globals {
                    sc = sc.arg(a.clone().hide(true));
                }
                sc
            } else {
                with_long_after_help(sc, &block)
            }
        });
    }
    let block = environment_block(&environment(&cmd, None));
    with_long_after_help(cmd, &block)
}

/// `cmd` with its examples followed, in `--help`, by `block`.
fn with_long_after_help(cmd: Command, block: &str) -> Command {
    let examples = cmd
        .get_after_help()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let text = if examples.is_empty() {
        block.to_string()
    } else {
        format!("{examples}\n\n{block}")
    };
    cmd.after_long_help(text)
}

/// The environment variables the command `name` (none: the top level) of `root` reads, each
/// with what it means: its options' own first, then [`ENVIRONMENT`]'s.
pub fn environment(root: &Command, name: Option<&str>) -> Vec<(String, String)> {
    let printing = name.is_some_and(|n| PRINTING_COMMANDS.contains(&n));
    let sub = name.and_then(|n| root.find_subcommand(n));
    let options = root
        .get_arguments()
        .filter(|a| !printing && (name.is_none() || a.is_global_set()))
        .chain(sub.into_iter().flat_map(|s| s.get_arguments()))
        .filter(|a| !a.is_hide_set());
    let mut vars: Vec<(String, String)> = options
        .filter_map(|a| {
            let env = a.get_env()?.to_string_lossy().into_owned();
            let long = a.get_long()?;
            Some((env, format!("the default for --{long}")))
        })
        .collect();
    if printing {
        return vars;
    }
    // Each run command's own (those several read once), then every command's.
    let mut own: Vec<&EnvVar> = Vec::new();
    for d in RunCommand::ALL
        .iter()
        .filter(|d| name.is_none_or(|n| n == d.name))
    {
        for v in d.env {
            if !own.contains(&v) {
                own.push(v);
            }
        }
    }
    vars.extend(
        own.into_iter()
            .chain(ENVIRONMENT)
            .map(|v| (v.names.join(", "), v.meaning.to_string())),
    );
    vars
}

/// The width the help's own blocks are written for.
const WIDTH: usize = 80;
/// Where the meaning of a variable starts.
const COLUMN: usize = 34;

/// The "Environment:" block of `--help`, in 80 columns.
fn environment_block(vars: &[(String, String)]) -> String {
    let mut out = String::from("Environment (a variable set to the empty string counts as unset):");
    for (names, meaning) in vars {
        out.push_str("\n  ");
        out.push_str(names);
        let mut col = 2 + names.len();
        if col + 2 > COLUMN {
            out.push('\n');
            col = 0;
        }
        out.push_str(&" ".repeat(COLUMN - col));
        col = COLUMN;
        for (i, word) in meaning.split(' ').enumerate() {
            if i > 0 && col + 1 + word.len() > WIDTH {
                out.push('\n');
                out.push_str(&" ".repeat(COLUMN));
                col = COLUMN;
            } else if i > 0 {
                out.push(' ');
                col += 1;
            }
            out.push_str(word);
            col += word.len();
        }
    }
    out
}

/// `rendered` (a help clap wrapped to the terminal) with the examples and environment block
/// that end it put back exactly as written, so that a copied line is the whole command. Clap
/// wraps those blocks like prose (`--input tokens.txt` of an example would land on a line of
/// its own, silently dropped from the copy); wrapping only turns spaces into line breaks, so
/// the block is found by its words and replaced by its text.
pub fn verbatim(rendered: &str, cmd: &Command) -> String {
    let mut blocks = Vec::new();
    after_helps(cmd, &mut blocks);
    blocks.sort_by_key(|b| std::cmp::Reverse(b.len()));
    for block in &blocks {
        let Some(first) = block.lines().next().filter(|l| !l.trim().is_empty()) else {
            continue;
        };
        let wanted = squash(block);
        for (at, _) in rendered.match_indices(first) {
            if (at == 0 || rendered[..at].ends_with('\n')) && squash(&rendered[at..]) == wanted {
                return format!("{}{}\n", &rendered[..at], block.trim_end());
            }
        }
    }
    rendered.to_string()
}

fn after_helps(cmd: &Command, out: &mut Vec<String>) {
    out.extend(cmd.get_after_help().map(|s| s.to_string()));
    out.extend(cmd.get_after_long_help().map(|s| s.to_string()));
    for sc in cmd.get_subcommands() {
        after_helps(sc, out);
    }
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints what clap stopped on, and says how the process ends: help and the version on
/// stdout (exit 0); anything else is a usage error (exit 2), said on stderr as
/// `revoke: error: ...` with clap's usage line and hint kept.
pub fn parse_failed(e: clap::Error) -> Ended {
    let args: Vec<OsString> = std::env::args_os().collect();
    match e.kind() {
        ErrorKind::DisplayHelp => print("the help", verbatim(&e.render().to_string(), &command())),
        ErrorKind::DisplayVersion => {
            let verbose = args.iter().skip(1).any(|a| {
                let a = a.to_string_lossy();
                a == "--verbose" || (a.starts_with("-v") && a[1..].bytes().all(|b| b == b'v'))
            });
            if verbose {
                print("the version", crate::cli::version::text(true))
            } else {
                print("the version", e.render().to_string())
            }
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let help = verbatim(&e.render().to_string(), &command());
            for line in help.trim_end().lines() {
                crate::report::logging::say(line);
            }
            crate::report::logging::error("no command given: name one of the commands above");
            Ended::NothingSent
        }
        _ => {
            let text = from_environment(&e, &args, e.render().to_string());
            for (i, line) in text.trim_end().lines().enumerate() {
                match line.strip_prefix("error: ") {
                    Some(rest) if i == 0 => crate::report::logging::error(rest),
                    _ if i == 0 => crate::report::logging::error(line),
                    _ => crate::report::logging::say(line),
                }
            }
            Ended::NothingSent
        }
    }
}

/// A bad value that came from an option's environment variable, not from the command line,
/// is said to come from there (`invalid value 'maybe' in REVOKE_DRY_RUN (for '--dry-run')`).
fn from_environment(e: &clap::Error, args: &[OsString], text: String) -> String {
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return text;
    };
    let flag = arg.split_whitespace().next().unwrap_or(arg);
    let Some(long) = flag.strip_prefix("--") else {
        return text;
    };
    let cmd = command();
    let Some(found) = all_args(&cmd).find(|a| a.get_long() == Some(long)) else {
        return text;
    };
    let Some(var) = found.get_env() else {
        return text;
    };
    let from_env = std::env::var_os(var).is_some_and(|v| v.to_string_lossy() == *value);
    let on_line = args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == flag
            || a.starts_with(&format!("{flag}="))
            || found
                .get_short()
                .is_some_and(|s| a.starts_with(&format!("-{s}")) && !a.starts_with("--"))
    });
    if !from_env || on_line {
        return text;
    }
    let var = var.to_string_lossy();
    let said = format!("invalid value '{value}' for '{arg}'");
    let text = if text.contains(&said) {
        text.replacen(
            &said,
            &format!("invalid value '{value}' in {var} (for '{arg}')"),
            1,
        )
    } else {
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        format!("{first} (from {var})\n{rest}")
    };
    text.replacen(
        "value was not a boolean",
        "expected true or false (also yes/no, on/off, 1/0)",
        1,
    )
}

fn all_args(cmd: &Command) -> Box<dyn Iterator<Item = &clap::Arg> + '_> {
    Box::new(
        cmd.get_arguments()
            .chain(cmd.get_subcommands().flat_map(|sc| all_args(sc))),
    )
}

/// `revoke completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Ended {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "revoke", &mut script);
    crate::report::printed::print_bytes("the completion script", &script)
}

/// `revoke version [--json]`.
pub fn version(json: bool) -> Ended {
    if json {
        print("the version", crate::cli::version::json() + "\n")
    } else {
        print("the version", crate::cli::version::text(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decorated_command_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn a_wrapped_block_is_put_back_as_written() {
        let cmd = command();
        let block = cmd
            .find_subcommand("ciam")
            .unwrap()
            .get_after_long_help()
            .unwrap()
            .to_string();
        let wrapped = block.replace(" --token-type-hint", "\n--token-type-hint");
        let rendered = format!("Usage: revoke ciam\n\n{wrapped}\n");
        assert_eq!(
            verbatim(&rendered, &cmd),
            format!("Usage: revoke ciam\n\n{block}\n")
        );
    }

    #[test]
    fn environment_lines_fit_80_columns() {
        let block = environment_block(&environment(&command(), None));
        for line in block.lines() {
            assert!(line.len() <= WIDTH, "{line}");
        }
        assert!(block.contains("\n  TENCENTCLOUD_TOKEN "), "{block}");
    }
}
