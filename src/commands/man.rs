//! The manual pages: `revoke(1)` and one `revoke-COMMAND(1)` per command, in roff, made from
//! the same command line as `--help` ([`crate::cli::help::command`]) and the same list of
//! environment variables, so the two cannot drift apart.
//!
//! `revoke man [COMMAND]` prints one page; `revoke man --dir DIR` writes them all (packagers).
//! The roff is written here rather than by `clap_mangen`, which documents one command per
//! page without its subcommands' options, and has no ENVIRONMENT, FILES or EXIT STATUS
//! section: every text goes through [`escape`], examples stay verbatim in `.nf`/`.fi`.
//!
//! Written by hand rather than with `clap_mangen`: the pages carry sections clap does not know
//! (ENVIRONMENT and FILES from the descriptors, EXIT STATUS, the config and plan file formats
//! of `commands::formats`), the examples are kept as written, and the escaping of every text
//! that reaches roff is tested here; `clap_mangen` would add `roff` and still need all of that
//! around it.

use std::path::Path;

use clap::{Arg, ArgAction, Command};

use crate::cli::ManArgs;
use crate::cli::help;
use crate::commands::formats::Piece;
use crate::report::exit::Ended;
use crate::settings::RunCommand;

/// The exit statuses, as `../shared/CLI.md` lists them.
pub const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Every target revoked, already_invalid or planned (or not_found with --missing-ok); \
         or help, a manual page or a completion script was printed.",
    ),
    (
        "1",
        "At least one target failed after its retries; every other target was still attempted.",
    ),
    (
        "2",
        "Usage or configuration error (a bad flag, a missing credential, a bad endpoint): \
         nothing was sent.",
    ),
    (
        "3",
        "The provider rejected the credentials; the targets not yet sent are skipped.",
    ),
    (
        "130",
        "Interrupted (SIGINT, SIGTERM or SIGHUP): the requests in flight finished and were \
         recorded; the rest are skipped.",
    ),
];

/// The files every command reads; each run command's own are in its descriptor
/// (`providers::Descriptor::files`).
pub const FILES: &[(&str, &str)] = &[(
    "$XDG_CONFIG_HOME/revoke/config.toml",
    "The configuration file (~/.config/revoke/config.toml when XDG_CONFIG_HOME is unset): \
     defaults for the options, and named contexts per command. Its format (tables, keys, \
     contexts, secret sources) is in revoke-config(1), section CONFIGURATION FILE.",
)];

/// `revoke man [COMMAND] [--dir DIR]`; `quiet`: no note of what was written.
pub fn run(args: &ManArgs, quiet: bool) -> Ended {
    let cmd = help::command();
    if let Some(dir) = &args.dir {
        return match write_all(&cmd, dir) {
            Ok(n) => {
                if !quiet {
                    crate::report::logging::say(&format!(
                        "revoke: wrote {n} manual pages to {}",
                        dir.display()
                    ));
                }
                Ended::Printed
            }
            Err(e) => {
                crate::report::logging::error(&e);
                Ended::NothingSent
            }
        };
    }
    match page(&cmd, args.command.as_deref()) {
        Ok(roff) => crate::report::printed::print("the manual page", roff),
        Err(e) => {
            crate::report::logging::error(&e);
            Ended::NothingSent
        }
    }
}

/// The commands that have a page of their own (`help` is clap's, not one).
pub fn commands(cmd: &Command) -> Vec<&Command> {
    cmd.get_subcommands()
        .filter(|sc| sc.get_name() != "help" && !sc.is_hide_set())
        .collect()
}

/// Every page, as (file name, roff): `revoke.1`, then `revoke-COMMAND.1` per command.
pub fn pages(cmd: &Command) -> Vec<(String, String)> {
    let mut out = vec![("revoke.1".to_string(), render(cmd, None))];
    for sc in commands(cmd) {
        out.push((format!("revoke-{}.1", sc.get_name()), render(cmd, Some(sc))));
    }
    out
}

/// The page of `name` (`smh`, `revoke-smh`), or of revoke itself.
pub fn page(cmd: &Command, name: Option<&str>) -> Result<String, String> {
    let name = name.map(|n| n.strip_prefix("revoke-").unwrap_or(n));
    match name {
        None | Some("revoke") => Ok(render(cmd, None)),
        Some(n) => commands(cmd)
            .into_iter()
            .find(|sc| sc.get_name() == n)
            .map(|sc| render(cmd, Some(sc)))
            .ok_or_else(|| {
                let names: Vec<&str> = commands(cmd).iter().map(|c| c.get_name()).collect();
                format!(
                    "no manual page for {n:?}: name one of {}, or none for revoke(1)",
                    names.join(", ")
                )
            }),
    }
}

fn write_all(cmd: &Command, dir: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let pages = pages(cmd);
    for (file, roff) in &pages {
        let path = dir.join(file);
        std::fs::write(&path, roff).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(pages.len())
}

/// One page: of the top level (`sub` none) or of one command.
fn render(root: &Command, sub: Option<&Command>) -> String {
    let cmd = sub.unwrap_or(root);
    let name = sub.map(|s| s.get_name());
    let title = match name {
        Some(n) => format!("revoke-{n}"),
        None => "revoke".to_string(),
    };
    let mut r = Roff::default();
    let date = crate::cli::version::details()
        .into_iter()
        .find(|(k, _)| *k == "commit_date")
        .and_then(|(_, v)| v)
        .unwrap_or("");
    r.request(
        "TH",
        &[
            &title,
            "1",
            date,
            &format!("revoke {}", env!("CARGO_PKG_VERSION")),
            "User Commands",
        ],
    );
    // No hyphenation, ragged right: an option or a host broken at a hyphen reads as another.
    r.request("nh", &[]);
    r.request("ad", &["l"]);

    r.request("SH", &["NAME"]);
    let about = cmd.get_about().map(|s| s.to_string()).unwrap_or_default();
    r.text(&format!("{title} - {}", about.trim_end_matches('.')));

    r.request("SH", &["SYNOPSIS"]);
    let usage = usage(root, sub);
    let (program, rest) = match name {
        Some(n) => (
            format!("revoke {n}"),
            usage.strip_prefix(&format!("revoke {n}")),
        ),
        None => ("revoke".to_string(), usage.strip_prefix("revoke")),
    };
    match rest {
        Some(rest) => r.line(&format!("\\fB{}\\fR{}", escape(&program), escape(rest))),
        None => r.text(&usage),
    }

    r.request("SH", &["DESCRIPTION"]);
    let long = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|s| s.to_string())
        .unwrap_or_default();
    // Its first paragraph is the NAME line's.
    let long = match long.split_once("\n\n") {
        Some((first, rest)) if squash(first) == squash(&about) => rest.to_string(),
        _ => long,
    };
    paragraphs(&mut r, &long);
    if let Some(n) = name.filter(|n| !help::PRINTING_COMMANDS.contains(n)) {
        r.request("PP", &[]);
        r.text(&format!(
            "The run and output options may go before or after {n}, as in revoke(1)."
        ));
    }

    if sub.is_none() {
        r.request("SH", &["COMMANDS"]);
        for sc in commands(root) {
            r.request("TP", &[]);
            r.line(&format!("\\fB{}\\fR", escape(sc.get_name())));
            let about = sc.get_about().map(|s| s.to_string()).unwrap_or_default();
            r.text(&format!(
                "{}. See revoke-{}(1).",
                about.trim_end_matches('.'),
                sc.get_name()
            ));
        }
    }

    options(&mut r, root, sub);

    if let Some((title, pieces)) = name.and_then(crate::commands::formats::section) {
        r.request("SH", &[title]);
        format_section(&mut r, &pieces);
    }

    let vars = help::environment(root, name);
    if !vars.is_empty() {
        r.request("SH", &["ENVIRONMENT"]);
        r.text("A variable set to the empty string counts as unset.");
        for (names, meaning) in vars {
            r.request("TP", &[]);
            r.line(&format!("\\fB{}\\fR", escape(&names)));
            r.text(&capitalised(&meaning));
        }
    }

    let printing = name.is_some_and(|n| help::PRINTING_COMMANDS.contains(&n));
    let own = RunCommand::ALL
        .iter()
        .filter(|d| name.is_none_or(|n| n == d.name))
        .flat_map(|d| d.files);
    let files: Vec<_> = match printing {
        true => Vec::new(),
        false => FILES.iter().chain(own).collect(),
    };
    if !files.is_empty() {
        r.request("SH", &["FILES"]);
        for (path, what) in files {
            r.request("TP", &[]);
            r.line(&format!("\\fI{}\\fR", escape(path)));
            r.text(what);
        }
    }

    r.request("SH", &["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        r.request("TP", &[]);
        r.line(&format!("\\fB{code}\\fR"));
        r.text(meaning);
    }

    if let Some(examples) = cmd.get_after_help().map(|s| s.to_string()) {
        let body: Vec<&str> = examples
            .lines()
            .skip_while(|l| l.trim_end().ends_with(':') && !l.starts_with(' '))
            .collect();
        if !body.is_empty() {
            r.request("SH", &["EXAMPLES"]);
            r.request("nf", &[]);
            r.request("RS", &["4"]);
            for line in body {
                r.text(line.strip_prefix("  ").unwrap_or(line));
            }
            r.request("RE", &[]);
            r.request("fi", &[]);
        }
    }

    r.request("SH", &["SEE ALSO"]);
    let mut see: Vec<String> = Vec::new();
    if sub.is_some() {
        see.push("revoke".into());
    }
    see.extend(
        commands(root)
            .iter()
            .map(|c| format!("revoke-{}", c.get_name()))
            .filter(|p| *p != title),
    );
    let last = see.len().saturating_sub(1);
    for (i, page) in see.iter().enumerate() {
        let comma = if i < last { "," } else { "" };
        r.line(&format!(".BR {} (1){comma}", escape(page)));
    }
    r.0
}

/// A file format's section (`crate::commands::formats`), in roff.
fn format_section(r: &mut Roff, pieces: &[Piece]) {
    for piece in pieces {
        match piece {
            Piece::Heading(h) => r.request("SS", &[h]),
            Piece::Para(text) => {
                r.request("PP", &[]);
                r.text(text);
            }
            Piece::Item(term, text) => {
                r.request("TP", &[]);
                r.line(&format!("\\fB{}\\fR", escape(term)));
                r.text(text);
            }
            Piece::Verbatim(text) => {
                r.request("PP", &[]);
                r.request("nf", &[]);
                r.request("RS", &["4"]);
                for line in text.lines() {
                    if line.is_empty() {
                        // An empty line of text would be a paragraph break to some formatters.
                        r.line("\\&");
                    } else {
                        r.text(line);
                    }
                }
                r.request("RE", &[]);
                r.request("fi", &[]);
            }
        }
    }
}

/// The usage line `--help` shows, without its `Usage: `.
fn usage(root: &Command, sub: Option<&Command>) -> String {
    let cmd = sub.unwrap_or(root);
    if let Some(u) = cmd.get_overridden_usage() {
        return u.to_string();
    }
    let mut owned = cmd.clone();
    let text = owned.render_usage().to_string();
    let text = text.trim().trim_start_matches("Usage:").trim().to_string();
    match sub {
        Some(sc) if !text.starts_with("revoke") => {
            let rest = text.strip_prefix(sc.get_name()).unwrap_or(&text);
            format!("revoke {}{rest}", sc.get_name())
        }
        _ => text,
    }
}

/// The OPTIONS section: the command's arguments and options, and the global ones it takes,
/// under their `--help` headings.
fn options(r: &mut Roff, root: &Command, sub: Option<&Command>) {
    let globals = root
        .get_arguments()
        .filter(|a| sub.is_none() || a.is_global_set());
    let own = sub.into_iter().flat_map(|s| s.get_arguments());
    let mut shown: Vec<&Arg> = own.chain(globals).filter(|a| !a.is_hide_set()).collect();
    // A command's own hidden copy of a global option hides that one too.
    let hidden: Vec<&str> = sub
        .into_iter()
        .flat_map(|s| s.get_arguments())
        .filter(|a| a.is_hide_set())
        .map(|a| a.get_id().as_str())
        .collect();
    shown.retain(|a| !hidden.contains(&a.get_id().as_str()));
    if shown.is_empty() {
        return;
    }
    r.request("SH", &["OPTIONS"]);
    let mut headings: Vec<Option<&str>> = vec![None];
    for a in &shown {
        if let Some(h) = a.get_help_heading()
            && !headings.contains(&Some(h))
        {
            headings.push(Some(h));
        }
    }
    for heading in headings {
        let args: Vec<&&Arg> = shown
            .iter()
            .filter(|a| a.get_help_heading() == heading)
            .collect();
        if args.is_empty() {
            continue;
        }
        if let Some(h) = heading {
            r.request("SS", &[h]);
        }
        // Positional arguments first, as in --help.
        let (pos, opts): (Vec<&&Arg>, Vec<&&Arg>) = args.iter().partition(|a| a.is_positional());
        for a in pos.into_iter().chain(opts) {
            r.request("TP", &[]);
            r.line(&tag(a));
            let help = a
                .get_long_help()
                .or(a.get_help())
                .map(|s| s.to_string())
                .unwrap_or_default();
            let mut text = capitalised(help.trim());
            if !text.is_empty() && !text.ends_with('.') {
                text.push('.');
            }
            let values: Vec<String> = a
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| match v.get_help() {
                    Some(h) => format!("{}: {h}", v.get_name()),
                    None => v.get_name().to_string(),
                })
                .collect();
            if !values.is_empty() && takes_value(a) {
                let described = values.iter().any(|v| v.contains(':'));
                let sep = if described { "; " } else { ", " };
                text.push_str(&format!(" Values: {}.", values.join(sep)));
            }
            let defaults: Vec<String> = a
                .get_default_values()
                .iter()
                .map(|d| d.to_string_lossy().into_owned())
                .collect();
            if !defaults.is_empty() && takes_value(a) {
                text.push_str(&format!(" Default: {}.", defaults.join(", ")));
            }
            if let Some(env) = a.get_env() {
                text.push_str(&format!(" Environment: {}.", env.to_string_lossy()));
            }
            paragraphs(r, &text);
        }
    }
}

fn takes_value(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

/// `\fB\-\-output\fR \fIOUTPUT\fR` and the like.
fn tag(a: &Arg) -> String {
    let names: Vec<String> = a
        .get_value_names()
        .map(|v| v.iter().map(|n| n.to_string()).collect())
        .unwrap_or_else(|| vec![a.get_id().as_str().to_uppercase()]);
    let value = names
        .iter()
        .map(|n| format!("\\fI{}\\fR", escape(n)))
        .collect::<Vec<_>>()
        .join(" ");
    let many = matches!(a.get_action(), ArgAction::Append)
        || a.get_num_args().is_some_and(|n| n.max_values() > 1);
    if a.is_positional() {
        return format!("{value}{}", if many { "..." } else { "" });
    }
    let mut flags = Vec::new();
    if let Some(s) = a.get_short() {
        flags.push(format!("\\fB\\-{}\\fR", escape(&s.to_string())));
    }
    if let Some(l) = a.get_long() {
        flags.push(format!("\\fB\\-\\-{}\\fR", escape(l)));
    }
    let mut out = flags.join(", ");
    if takes_value(a) {
        out.push(' ');
        out.push_str(&value);
    }
    if many || matches!(a.get_action(), ArgAction::Count) {
        out.push_str(" ...");
    }
    out
}

/// Text in paragraphs (blank lines between them), filled by the formatter.
fn paragraphs(r: &mut Roff, text: &str) {
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            r.request("PP", &[]);
        }
        r.text(&para.split_whitespace().collect::<Vec<_>>().join(" "));
    }
}

fn squash(text: &str) -> String {
    text.trim_end_matches('.')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A text for roff: a backslash is `\e`, a hyphen-minus `\-`, quotes `\(aq` and `\(ga` (what a
/// user types: plain, they may print as a hyphen, U+2010, and curly quotes, which a shell does
/// not read), and a line that starts with `.` or `'` is not a request.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.starts_with(['.', '\'']) {
            out.push_str("\\&");
        }
        for c in line.chars() {
            match c {
                '\\' => out.push_str("\\e"),
                '-' => out.push_str("\\-"),
                // Typeset as curly quotes otherwise, which a shell does not read.
                '\'' => out.push_str("\\(aq"),
                '`' => out.push_str("\\(ga"),
                c => out.push(c),
            }
        }
    }
    out
}

/// A roff document, one line at a time.
#[derive(Default)]
struct Roff(String);

impl Roff {
    /// A request (`.SH NAME`); arguments with a space are quoted.
    fn request(&mut self, name: &str, args: &[&str]) {
        self.0.push('.');
        self.0.push_str(name);
        for a in args {
            self.0.push(' ');
            if a.contains(' ') || a.is_empty() {
                self.0.push('"');
                self.0.push_str(&escape(a).replace('"', "\\(dq"));
                self.0.push('"');
            } else {
                self.0.push_str(&escape(a));
            }
        }
        self.0.push('\n');
    }

    /// Text, escaped.
    fn text(&mut self, text: &str) {
        self.line(&escape(text));
    }

    /// A line already in roff.
    fn line(&mut self, roff: &str) {
        self.0.push_str(roff);
        self.0.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_specials_are_escaped() {
        assert_eq!(escape("a-b \\ c"), "a\\-b \\e c");
        assert_eq!(escape(".SH x\n'x"), "\\&.SH x\n\\&\\(aqx");
    }

    #[test]
    fn every_page_names_pages_that_exist() {
        let cmd = help::command();
        let pages = pages(&cmd);
        let files: Vec<&str> = pages.iter().map(|(f, _)| f.as_str()).collect();
        for (file, roff) in &pages {
            for line in roff.lines().filter(|l| l.starts_with(".BR ")) {
                let page = line[4..].split(' ').next().unwrap().replace("\\-", "-");
                assert!(
                    files.contains(&format!("{page}.1").as_str()),
                    "{file}: {line}"
                );
            }
            for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"] {
                assert!(
                    roff.contains(&format!("\n.SH \"{section}\"\n"))
                        || roff.contains(&format!("\n.SH {section}\n")),
                    "{file}: {section}"
                );
            }
        }
    }
}
