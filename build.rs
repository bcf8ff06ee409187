//! Build details for `revoke --version` and `revoke version --json`: the git commit and its date
//! when built from a git checkout, the target, the profile and the compiler.
//!
//! This script must never fail the build: a packaged tarball has no `.git`, a build machine may
//! have no `git`, and a crate unpacked inside some other repository must not take that
//! repository's commit. Whatever goes wrong, the values are left empty and `--version` says just
//! `revoke 0.1.0`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    let (commit, date) = match git_commit(&dir) {
        Some((commit, date, watch)) => {
            // Rebuilt when HEAD moves (a checkout) or the branch it points to moves (a commit).
            for file in watch.iter().filter(|f| f.exists()) {
                println!("cargo:rerun-if-changed={}", file.display());
            }
            (commit, date)
        }
        None => (String::new(), String::new()),
    };
    let suffix = if commit.is_empty() {
        String::new()
    } else if date.is_empty() {
        format!(" ({commit})")
    } else {
        format!(" ({commit} {date})")
    };
    let rustc = std::env::var_os("RUSTC")
        .and_then(|rustc| output(Command::new(rustc).arg("--version")))
        .unwrap_or_default();

    set("REVOKE_VERSION_SUFFIX", &suffix);
    set("REVOKE_COMMIT", &commit);
    set("REVOKE_COMMIT_DATE", &date);
    set(
        "REVOKE_TARGET",
        &std::env::var("TARGET").unwrap_or_default(),
    );
    set(
        "REVOKE_PROFILE",
        &std::env::var("PROFILE").unwrap_or_default(),
    );
    set("REVOKE_RUSTC", &rustc);
}

/// An environment variable for `env!` in the crate; a value with a line break is dropped
/// (it would end the `cargo:` line).
fn set(name: &str, value: &str) {
    let value = if value.contains(['\n', '\r']) {
        ""
    } else {
        value
    };
    println!("cargo:rustc-env={name}={value}");
}

/// The commit (12 hex digits), its date (YYYY-MM-DD, UTC) and the files that name the commit,
/// when `dir` is the top of a git work tree (or a linked worktree) and git answers.
fn git_commit(dir: &Path) -> Option<(String, String, Vec<PathBuf>)> {
    if !dir.join(".git").exists() {
        return None;
    }
    let git = |args: &[&str]| output(Command::new("git").arg("-C").arg(dir).args(args));
    // The crate must be the repository itself, not a directory inside another one.
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let date = git(&[
        "-c",
        "log.showSignature=false",
        "show",
        "-s",
        "--format=%cd",
        "--date=format-local:%Y-%m-%d",
        "HEAD",
    ])
    .filter(|d| d.len() == 10 && d.chars().all(|c| c.is_ascii_digit() || c == '-'))
    .unwrap_or_default();

    // `git rev-parse --git-path` finds the files wherever they are: in `.git/`, in a linked
    // worktree's own directory (HEAD) or in the common directory (branches, packed-refs).
    let path = |name: &str| git(&["rev-parse", "--git-path", name]).map(|p| dir.join(p));
    let mut watch: Vec<PathBuf> = ["HEAD", "packed-refs"]
        .iter()
        .filter_map(|n| path(n))
        .collect();
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(file) = path(&branch)
    {
        watch.push(file);
    }
    Some((commit, date, watch))
}

/// What a command printed on stdout, trimmed, when it ran and succeeded.
fn output(command: &mut Command) -> Option<String> {
    let out = command
        .env("TZ", "UTC")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}
