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
//! (stdin may hold the targets), its stderr is discarded. Its time is bounded too (30 s, or
//! `REVOKE_SECRET_COMMAND_TIMEOUT`): then it is killed, as it is by a signal.
//!
//! Every secret obtained is registered with the [`Redactor`] at once.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Context, Found, Layers, UsageError};
use crate::engine::signals::Children;
use crate::providers::SecretKeys;
use crate::secret::{Redactor, Secret};
use crate::settings::creds::Env;

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
        Source::Command(f) => {
            run(&f.text, timeout(cx.env)?).map_err(|why| at(f, keys.command_key, why))?
        }
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
    crate::settings::creds::read_secret_file(path, env, flag)
}

/// Words that only a shell understands: a command that holds one unquoted needs `sh -c`.
const SHELL_ONLY: [&str; 10] = ["|", "||", "&&", "&", ";", ">", ">>", "<", "2>", "2>&1"];

/// Runs a `*-command` and returns its output, trimmed, as the secret. The command is killed
/// when it runs longer than `timeout`, or when a signal comes.
pub fn run(line: &str, timeout: Duration) -> Result<Secret, String> {
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
    // Known to the signal handlers while it runs: a signal kills it before revoke exits.
    let children = Children::global();
    let (key, out) = children
        .spawn(
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .map_err(|e| format!("cannot run {program:?}: {e}"))?;
    // Read on a thread of its own, so that the wait below keeps its deadline even when the
    // command (or a process it started) keeps its output open without writing.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::Builder::new()
        .name("secret command".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = tx.send(match out {
                Some(out) => bounded(out),
                None => Err("its output cannot be read".into()),
            });
        });
    if reader.is_err() {
        children.kill(key);
        return Err(format!("cannot read the output of {program:?}"));
    }
    let deadline = std::time::Instant::now() + timeout;
    let too_slow = || {
        let exited = matches!(children.exited(key), Ok(Some(_)));
        children.kill(key);
        if exited {
            // A process it started in the background still holds its output.
            format!(
                "the command {program:?} exited but its output was still open after {} s ({TIMEOUT_VARIABLE}): a process it started holds it",
                timeout.as_secs()
            )
        } else {
            format!(
                "the command {program:?} did not finish within {} s ({TIMEOUT_VARIABLE}); it was killed",
                timeout.as_secs()
            )
        }
    };
    let text = match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
    {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => {
            // It may be blocked writing more than we read.
            children.kill(key);
            return Err(e);
        }
        Err(_) => return Err(too_slow()),
    };
    let status = loop {
        match children.exited(key) {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => return Err(too_slow()),
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                children.kill(key);
                return Err(format!("cannot wait for {program:?}: {e}"));
            }
        }
    };
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

/// The variable that sets how long a `*-command` may run, in seconds.
pub const TIMEOUT_VARIABLE: &str = "REVOKE_SECRET_COMMAND_TIMEOUT";

/// How long a `*-command` may run when [`TIMEOUT_VARIABLE`] is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest timeout [`TIMEOUT_VARIABLE`] takes: an hour (a command waiting on a person).
const MAX_TIMEOUT_SECS: u64 = 3600;

/// How long a `*-command` may run: [`TIMEOUT_VARIABLE`] (whole seconds, 1 to 3600), or 30 s.
pub fn timeout(env: &dyn Env) -> Result<Duration, UsageError> {
    let Some(value) = env.var(TIMEOUT_VARIABLE) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_TIMEOUT_SECS).contains(&n) => Ok(Duration::from_secs(n)),
        _ => Err(UsageError::Credentials(format!(
            "{TIMEOUT_VARIABLE}: expected whole seconds from 1 to {MAX_TIMEOUT_SECS}"
        ))),
    }
}

fn bounded(out: impl Read) -> Result<String, String> {
    crate::settings::input::read_text(out, crate::settings::input::MAX_SECRET)
        .map_err(|e| format!("its output is not a usable secret: {e}"))
}

/// Registers the secrets in the files that `args` (the command line) names with
/// each command's `--*-secret-file` flag (from its descriptor); anything unusable is left to
/// the run to report.
pub fn register_secret_files(args: &[std::ffi::OsString]) {
    let mut paths = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let Some(arg) = arg.to_str() else { continue };
        for flag in super::RunCommand::ALL
            .iter()
            .filter_map(|d| d.secret_file_flag())
        {
            if arg == flag {
                paths.extend(args.get(i + 1).cloned());
            } else if let Some(path) = arg.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                paths.push(path.into());
            }
        }
    }
    for path in paths {
        let path = std::path::Path::new(&path);
        // Not stdin (read once, by the run), nothing but a small regular file.
        if path.as_os_str() == "-" || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        if let Ok(text) = std::fs::File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                crate::settings::input::read_text(f, crate::settings::input::MAX_SECRET)
                    .map_err(|e| e.to_string())
            })
        {
            Redactor::global().add(&Secret::new(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_(line: &str) -> Result<Secret, String> {
        run(line, DEFAULT_TIMEOUT)
    }

    #[test]
    fn a_command_that_hangs_is_killed_at_its_timeout() {
        let started = std::time::Instant::now();
        let e = run("sleep 30", Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("did not finish within 1 s"), "{e}");
        // A process that keeps the output open after the command printed.
        let e = run("sh -c 'echo x; exec sleep 30'", Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("did not finish within 1 s"), "{e}");
        // One that exits, leaving a background process with its output open.
        let e = run("sh -c 'sleep 3 & echo x'", Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("exited but its output was still open"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_command_runs_without_a_shell() {
        let s = run_("printf '%s\\n' 'sentinel cmd secret'").unwrap();
        assert_eq!(s.expose(), "sentinel cmd secret");
        let e = run_("sh -c 'echo leaked-output; exit 3'").unwrap_err();
        assert!(e.contains("failed") && !e.contains("leaked-output"), "{e}");
        let e = run_("pass show x | head -1").unwrap_err();
        assert!(e.contains("`|` needs a shell"), "{e}");
        assert!(run_("echo 'open").unwrap_err().contains("unclosed quote"));
        assert!(run_("").unwrap_err().contains("empty"));
        assert!(run_("true").unwrap_err().contains("printed nothing"));
        let e = run_("/nonexistent/program").unwrap_err();
        assert!(e.contains("cannot run"), "{e}");
        // `$HOME` is not expanded: there is no shell.
        assert_eq!(run_("echo $HOME").unwrap().expose(), "$HOME");
    }

    #[test]
    fn a_command_output_is_bounded() {
        let e = run_("head -c 200000 /dev/zero").unwrap_err();
        assert!(e.contains("larger than 64 KiB"), "{e}");
    }
}
