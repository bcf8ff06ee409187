//! The file formats, as the manual tells them: the plan in revoke-apply(1) (section PLAN FILE)
//! and the configuration file in revoke-config(1) (section CONFIGURATION FILE), so that a user
//! who installed the binary alone (no README) can write both. `--help` of `apply` and `config`
//! points here. The keys each table may hold are listed from [`crate::settings::schema`], that
//! is from the command line itself, so the page cannot name a key that does not exist.

use crate::settings::RunCommand;
use crate::settings::schema::{self, Key, Kind};

/// A piece of a manual section, rendered by `man.rs` into roff.
#[derive(Debug, Clone)]
pub enum Piece {
    /// A subsection heading (`.SS`).
    Heading(String),
    /// A paragraph, filled by the formatter.
    Para(String),
    /// A term and what it means (`.TP`); the term is shown in bold.
    Item(String, String),
    /// Lines shown as written (`.nf`): a file or a command.
    Verbatim(String),
}

/// The format section of the page of `command`, if it has one: (title, pieces).
pub fn section(command: &str) -> Option<(&'static str, Vec<Piece>)> {
    match command {
        "apply" => Some(("PLAN FILE", plan())),
        "config" => Some(("CONFIGURATION FILE", config())),
        _ => None,
    }
}

fn p(text: &str) -> Piece {
    Piece::Para(text.to_string())
}

fn item(term: &str, text: &str) -> Piece {
    Piece::Item(term.to_string(), text.to_string())
}

fn heading(text: &str) -> Piece {
    Piece::Heading(text.to_string())
}

fn verbatim(text: &str) -> Piece {
    Piece::Verbatim(text.trim_matches('\n').to_string())
}

/// The plan of one departing user: per-user steps only.
pub const OFFBOARD_EXAMPLE: &str = include_str!("examples/offboard.toml");

/// The sheet of `--each`: one leaver per row, the person first.
pub const LEAVERS_EXAMPLE: &str = include_str!("examples/leavers.csv");

/// `all = true` deletes every bearer token of a tenant: never in a per-user plan.
pub const TENANT_CLEANUP_EXAMPLE: &str = include_str!("examples/tenant-cleanup.toml");

fn plan() -> Vec<Piece> {
    vec![
        p(
            "A plan is a TOML file (UTF-8) of [[step]] tables, each one command with its options, \
           and an optional [defaults] table. revoke apply checks every step (options, targets, \
           input files, credentials, endpoints) before anything is sent: one bad step is exit 2, \
           naming the step and its line, and nothing is sent for any step. Then the steps run at \
           the same time, in one process, with one output stream, one journal and one exit code \
           (the most serious of the steps': 130, 3, 2, 1, 0).",
        ),
        heading("[[step]]"),
        item(
            "command",
            &format!(
                "Required: the command the step runs, one of {}.",
                RunCommand::listed()
            ),
        ),
        item("name", "A label for the step in the output (optional)."),
        item(
            "context",
            "The config file's context for this step ([COMMAND.NAME] of revoke-config(1)); \
             default: the run's --context, else [COMMAND.default] when the file has it.",
        ),
        item(
            "targets",
            "A string or an array of strings: the command's target arguments (user ids, page \
             ids, token ids, tokens).",
        ),
        item(
            "any option",
            "Any other option of the command, by its long name, with its TOML type: \
             library-id = \"lib1\", token-type-hint = \"refresh_token\", input = \"tokens.txt\", \
             missing-ok = true, rate = 5, client-id = [\"web\", \"ios\"]. The options and their \
             meaning are in each command's page (revoke-smh(1) and so on); the secret keys \
             (*-secret-file, *-secret-command, *-secret) are those of revoke-config(1).",
        ),
        heading("[defaults]"),
        p(
            "Global options for the whole plan, by their long name (journal, output, concurrency, \
           dry-run, rate, retries, timeout, ticket, actor, ...). journal, output, concurrency, \
           dry-run and no-progress hold for the whole plan: they go here or on the command line, \
           not in a step.",
        ),
        heading("Variables"),
        p(
            "${VAR} in any string of the plan is replaced by, highest first: the column VAR of \
           the row (--each), --var VAR=VALUE, the environment variable VAR. An unset or empty \
           one is exit 2 naming it. A lone $ is kept as it is. Columns and --var are only \
           ${VAR}s: the commands never read them as environment variables (credentials, \
           REVOKE_* settings).",
        ),
        heading("Rows: --each FILE.csv"),
        p(
            "revoke apply PLAN --each FILE.csv runs the plan once per row of the file, in one \
           process: the header line names the columns, each column is a ${VAR} for its row. \
           The file is CSV as RFC 4180 and spreadsheets write it: UTF-8 (a byte-order mark is \
           removed; UTF-16 is refused), commas between fields, a field in double quotes may \
           hold commas, line breaks and quotes (doubled), lines end with CRLF or LF, blank \
           lines are skipped. Column names are letters, digits and _. At most 10000 rows, 256 \
           columns, 64 KiB per record, 8 MiB in all.",
        ),
        p(
            "Every row is checked before anything is sent, with every step: a ${VAR} that no \
           column, --var or environment variable sets, a value that is empty or holds a line \
           break, a value the step cannot use (a target, a missing input file): exit 2, each \
           problem on its own line naming FILE.csv:LINE and the column, all of them at once.",
        ),
        p(
            "The rows share the run: --concurrency across all of them, one rate limit per \
           endpoint and credentials (ten rows against one API send at the rate the API \
           allows, not ten times it; steps or rows that point at different endpoints each have \
           their own), and one journal (a rerun with it resumes every row; give it with \
           --journal or a [defaults] journal without a column's ${VAR}: a run has one). Each \
           record (and journal line) carries \"row\": {\"line\": N, \"key\": \"...\"}, its line in \
           the file and its first column's value, so put the person (a user id) first, never a secret. The exit \
           code is the most serious of every row's steps.",
        ),
        heading("Paths"),
        p(
            "Relative paths in a plan (input, *-file, the journal) are taken from the plan \
           file's directory; ~/ is the home directory. input = \"-\" reads the targets from \
           stdin (one step at most, and not in a run over rows).",
        ),
        p(
            "revoke apply - reads the plan itself from stdin (at most 1 MiB, as a plan file): \
           its relative paths are then taken from the current directory, messages name it \
           stdin, and no step can read its targets from stdin.",
        ),
        heading("Where a step's values come from"),
        p(
            "Highest first: the flags of revoke apply, the step's own keys, environment \
           variables, the plan's [defaults], the step's context in the config file, the config \
           file's [defaults], the built-in default.",
        ),
        heading("Output"),
        p(
            "With -o json each record carries \"step\" (the step's 0-based position) and, when the \
           step has one, \"name\"; each step ends with {\"step\":N,\"summary\":{..},\"exit_code\":..} \
           and the plan with {\"summary\":{..},\"steps\":N,\"exit_code\":..}. Over rows, records \
           and step summaries also carry \"row\", each row ends with \
           {\"row\":{..},\"summary\":{..},\"exit_code\":..} (in the file's order, after the \
           steps), and the run's summary adds \"rows\":N after \"steps\". In text each line \
           starts with [step N] or [step N name], over rows [KEY step N], N counted from 1 as in every \
           message (the step whose records carry \"step\":0 is step 1). revoke report turns the records or the journal into \
           evidence: see revoke-report(1).",
        ),
        heading("Example: one departing user"),
        p(
            "Every step names the user's own tokens. Run it with USER_ID=alice revoke apply \
           offboard.toml --dry-run first, then without --dry-run.",
        ),
        verbatim(OFFBOARD_EXAMPLE),
        p(
            "For several leavers at once, a sheet with a USER_ID column (first) and one line per \
           person: revoke apply offboard.toml --each leavers.csv --journal offboarding.ndjson \
           --dry-run, then without --dry-run. With ticket = \"${TICKET}\" in the plan's \
           [defaults], each row's records carry its own ticket.",
        ),
        verbatim(LEAVERS_EXAMPLE),
        heading("Example: a tenant-wide cleanup, on its own"),
        p(
            "A step with all = true lists and deletes every bearer token of the tenant, \
           whoever it belongs to: it has no place in a per-user plan. Keep it in a plan of its \
           own, named for what it does.",
        ),
        verbatim(TENANT_CLEANUP_EXAMPLE),
    ]
}

/// An example configuration file.
pub const CONFIG_EXAMPLE: &str = include_str!("examples/config.toml");

fn config() -> Vec<Piece> {
    let mut out = vec![
        p(
            "The ids, endpoints and secret sources otherwise retyped every time live in a TOML \
           file (UTF-8): --config FILE (env REVOKE_CONFIG), else \
           $XDG_CONFIG_HOME/revoke/config.toml, else ~/.config/revoke/config.toml. A missing \
           default file is no configuration; anything else about the file is checked whole, \
           whatever the command, before anything is sent.",
        ),
        heading("Tables"),
        item(
            "[defaults]",
            "The global options, by their long name: they hold for every command.",
        ),
        item(
            "[COMMAND.CONTEXT]",
            "Any option of COMMAND (its own and the global ones), used when the run names \
             the context: --context CONTEXT (env REVOKE_CONTEXT). Without --context, \
             [COMMAND.default] is used when the file has it. Naming a context the file does \
             not have is exit 2, listing the contexts it has.",
        ),
        heading("Keys and types"),
        p(
            "A key is an option's long name. Strings, numbers (concurrency = 16, timeout = 2.5), \
           booleans (all = true), and a string or an array of strings for a repeatable option \
           (client-id = [\"web\", \"ios\"]). Paths may start with ~/; relative paths are taken \
           from the working directory. -v, -q, --config and --context are not keys. The keys \
           each table may hold:",
        ),
    ];
    out.push(item("[defaults]", &keys(&schema::global_keys())));
    for command in RunCommand::names() {
        let own: Vec<Key> = schema::command_keys(command)
            .unwrap_or_default()
            .into_iter()
            .filter(|k| !k.global)
            .collect();
        out.push(item(
            &format!("[{command}.CONTEXT]"),
            &format!("The keys of [defaults], and {}", keys(&own)),
        ));
    }
    out.extend([
        heading("Precedence"),
        p(
            "Highest first: the command-line flag, the environment variable, the context, \
           [defaults], the built-in default. revoke config shows each value and where it came \
           from.",
        ),
        heading("Secret sources"),
        p("Secrets never go on a command line. Each command reads its own, first found wins:"),
    ]);
    out.extend(RunCommand::ALL.iter().map(|d| item(d.name, d.sources)));
    out.extend([
        item(
            "*-secret-file",
            "A file holding the secret; it must not be readable by other users (unless \
             REVOKE_ALLOW_OPEN_SECRET_FILES=1).",
        ),
        item(
            "*-secret-command",
            "A command whose standard output, trimmed, is the secret. It is run without a \
             shell: the string is split into words as a shell would, the first word is the \
             program (found on PATH), nothing is expanded, and a pipe, &&, ; or a redirection \
             is refused (write sh -c '...' to use a shell). It gets an empty stdin; its stderr \
             is discarded; its output is read up to 64 KiB. A command that fails or prints \
             nothing is exit 2. revoke config does not run it.",
        ),
        item(
            "*-secret",
            "The secret itself, accepted only when the config file cannot be read by other \
             users (chmod 600), else exit 2.",
        ),
        heading("Mistakes"),
        p(
            "An unknown table or key (with a suggestion), a value of the wrong type or out of \
           range, a choice that is not one, two sources of one secret in one table, a TOML \
           syntax error: exit 2, nothing sent, and the message names the file, the line and \
           the key.",
        ),
        heading("Example"),
        verbatim(CONFIG_EXAMPLE),
    ]);
    out
}

/// `concurrency (a whole number, default 8), ...`.
fn keys(keys: &[Key]) -> String {
    let list: Vec<String> = keys
        .iter()
        .map(|k| {
            let mut what = match k.kind {
                Kind::Secret => "the secret itself, only in a private file".to_string(),
                Kind::Path => "a path".to_string(),
                Kind::Command => "a command line".to_string(),
                kind => kind.expected().to_string(),
            };
            if !k.choices.is_empty() {
                what = k.choices.join(" or ");
            }
            format!("{} ({what})", k.long)
        })
        .collect();
    format!("{}.", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_are_files_that_read() {
        for text in [OFFBOARD_EXAMPLE, TENANT_CLEANUP_EXAMPLE, CONFIG_EXAMPLE] {
            toml::de::DeTable::parse(text).expect("valid TOML");
        }
        assert!(!OFFBOARD_EXAMPLE.contains("all = true"));
    }
}
