//! A command's own secret (smh's library secret, ciam's client secret) from wherever the user
//! put it, highest first: the `--*-file` flag; a plan step's `*-file`, `*-command` or inline
//! key; the environment variable; the config file's context (`*-file`, `*-command`, inline).
//!
//! `*-command` runs a program and takes its standard output (trimmed) as the secret. It is run
//! without a shell: the string is split into words as a shell would (quotes and backslashes),
//! and the first word is the program. A string that needs a shell (a pipe, `&&`, a
//! redirection) is refused with a hint to write `sh -c '...'`, which is then the user's own,
//! visible choice. The command's output is never shown, not even when it fails: the error
//! names the key and the exit status only. Its output is bounded (64 KiB), its stdin is empty
//! (stdin may hold the targets), its stderr is discarded.
//!
//! Every secret obtained is registered with the [`Redactor`] at once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::schema::SecretKeys;
use super::{Context, Found, Layers, UsageError};
use crate::creds::Env;
use crate::secret::{Redactor, Secret};

/// Where a secret is to be read from.
#[derive(Debug, Clone)]
pub enum Source {
    /// `--*-file FILE` on the command line.
    Flag(PathBuf),
    /// The environment variable.
    Env(&'static str),
    /// `*-file` in a settings file.
    File(Found),
    /// `*-command` in a settings file.
    Command(Found),
    /// The secret itself in a settings file (one other users cannot read).
    Inline(Found),
}

impl Source {
    /// Where the secret comes from, in words (never its value).
    pub fn describe(&self, keys: &SecretKeys) -> String {
        let at = |f: &Found| format!("{}:{}", f.file.display(), f.line);
        match self {
            Source::Flag(p) => format!("{} {}", keys.flag, p.display()),
            Source::Env(name) => format!("env {name}"),
            Source::File(f) => format!("{} {} ({})", keys.file_key, f.text, at(f)),
            Source::Command(f) => format!("{} ({})", keys.command_key, at(f)),
            Source::Inline(f) => format!("{} ({})", keys.inline_key, at(f)),
        }
    }
}

/// Where the secret would be read from, in the order of precedence; `None` when nowhere.
pub fn locate(
    layers: &Layers,
    env: &dyn Env,
    keys: &SecretKeys,
    flag_file: Option<PathBuf>,
) -> Option<Source> {
    if let Some(p) = flag_file.filter(|_| layers.given_as_flag(keys.file_id)) {
        return Some(Source::Flag(p));
    }
    let in_files = |above_env: bool| {
        if let Some(f) = layers.file_only(keys.file_key, above_env) {
            Some(Source::File(f))
        } else if let Some(f) = layers.file_only(keys.command_key, above_env) {
            Some(Source::Command(f))
        } else {
            layers
                .file_only(keys.inline_key, above_env)
                .map(Source::Inline)
        }
    };
    in_files(true)
        .or_else(|| env.var(keys.env).map(|_| Source::Env(keys.env)))
        .or_else(|| in_files(false))
}

/// The secret and a description of its source, for a run.
pub fn resolve(
    cx: &Context,
    keys: &SecretKeys,
    flag_file: Option<PathBuf>,
) -> Result<(Secret, String), UsageError> {
    let Some(source) = locate(cx.layers, cx.env, keys, flag_file) else {
        return Err(not_found(keys));
    };
    let described = source.describe(keys);
    let stdin_taken = cx.global.input_is_stdin();
    let secret = match &source {
        Source::Flag(path) => {
            read_file(path, cx.env, keys.flag, stdin_taken).map_err(UsageError::Credentials)?
        }
        Source::Env(name) => {
            let value = cx.env.var(name).unwrap_or_default();
            keep(value.trim())
        }
        Source::File(f) => read_file(Path::new(&f.text), cx.env, keys.file_key, stdin_taken)
            .map_err(|why| at(f, keys.file_key, why))?,
        Source::Command(f) => run(&f.text).map_err(|why| at(f, keys.command_key, why))?,
        Source::Inline(f) => {
            let s = f.text.trim();
            if s.is_empty() {
                return Err(at(f, keys.inline_key, "the secret is empty".into()));
            }
            keep(s)
        }
    };
    Ok((secret, described))
}

/// No source holds the secret.
pub fn not_found(keys: &SecretKeys) -> UsageError {
    UsageError::Credentials(format!(
        "no {}: set {}, pass {} FILE, or set {} or {} in the command's context in the config file",
        keys.what, keys.env, keys.flag, keys.file_key, keys.command_key
    ))
}

fn at(f: &Found, key: &str, why: String) -> UsageError {
    UsageError::Config {
        file: f.file.clone(),
        line: f.line,
        key: key.to_string(),
        why,
    }
}

fn keep(value: &str) -> Secret {
    let s = Secret::new(value);
    Redactor::global().add(&s);
    s
}

fn read_file(path: &Path, env: &dyn Env, flag: &str, stdin_taken: bool) -> Result<Secret, String> {
    if path.as_os_str() == "-" && stdin_taken {
        return Err(format!(
            "{flag} - and --input - both read stdin; put the secret or the targets in a file"
        ));
    }
    crate::creds::read_secret_file(path, env, flag)
}

/// Words that only a shell understands: a command that holds one unquoted needs `sh -c`.
const SHELL_ONLY: [&str; 10] = ["|", "||", "&&", "&", ";", ">", ">>", "<", "2>", "2>&1"];

/// Runs a `*-command` and returns its output, trimmed, as the secret.
pub fn run(line: &str) -> Result<Secret, String> {
    let Some(words) = shlex::split(line) else {
        return Err("cannot split the command into words (an unclosed quote?)".into());
    };
    let Some((program, args)) = words.split_first() else {
        return Err("the command is empty".into());
    };
    if let Some(op) = words.iter().find(|w| SHELL_ONLY.contains(&w.as_str())) {
        return Err(format!(
            "`{op}` needs a shell, and the command is run without one: write `sh -c '...'` to use a shell"
        ));
    }
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program:?}: {e}"))?;
    let read = match child.stdout.take() {
        Some(out) => bounded(out),
        None => Err("its output cannot be read".into()),
    };
    if read.is_err() {
        // It may be blocked writing more than we read.
        let _ = child.kill();
    }
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for {program:?}: {e}"))?;
    let text = read?;
    if !status.success() {
        return Err(format!(
            "the command {program:?} failed ({status}); its output is not shown"
        ));
    }
    if text.is_empty() {
        return Err(format!("the command {program:?} printed nothing"));
    }
    Ok(keep(&text))
}

fn bounded(out: impl Read) -> Result<String, String> {
    crate::input::read_text(out, crate::input::MAX_SECRET)
        .map_err(|e| format!("its output is not a usable secret: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_runs_without_a_shell() {
        let s = run("printf '%s\\n' 'sentinel cmd secret'").unwrap();
        assert_eq!(s.expose(), "sentinel cmd secret");
        let e = run("sh -c 'echo leaked-output; exit 3'").unwrap_err();
        assert!(e.contains("failed") && !e.contains("leaked-output"), "{e}");
        let e = run("pass show x | head -1").unwrap_err();
        assert!(e.contains("`|` needs a shell"), "{e}");
        assert!(run("echo 'open").unwrap_err().contains("unclosed quote"));
        assert!(run("").unwrap_err().contains("empty"));
        assert!(run("true").unwrap_err().contains("printed nothing"));
        let e = run("/nonexistent/program").unwrap_err();
        assert!(e.contains("cannot run"), "{e}");
        // `$HOME` is not expanded: there is no shell.
        assert_eq!(run("echo $HOME").unwrap().expose(), "$HOME");
    }

    #[test]
    fn a_command_output_is_bounded() {
        let e = run("head -c 200000 /dev/zero").unwrap_err();
        assert!(e.contains("larger than 64 KiB"), "{e}");
    }
}
