//! `revoke report FILE...`: the evidence of runs (rows read back from records or journals,
//! rendered by [`crate::report::evidence`]), and `revoke report --check JOURNAL...`: whether a
//! journal's chain is intact ([`crate::report::chain`]).
//!
//! The files are hostile input: they are read through the one line reader of `--input`
//! ([`LineReader`]: UTF-8, at most 64 KiB a line), at most [`MAX_ROWS`] rows are held, and a
//! bad line is named on stderr (escaped), counted, and left out.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use crate::report::evidence::{self, Collected, ReportArgs, ReportFormat};
use crate::report::exit::{Ended, Exit};
use crate::report::printed::print;
use crate::report::text::escape;
use crate::report::{chain, logging};
use crate::settings::input::{LineReader, Source};

/// The most rows one report holds: every row is kept in memory until the header, which
/// counts them, is written.
pub const MAX_ROWS: usize = 100_000;

/// Bad lines named one by one on stderr; the rest are counted.
const MAX_NAMED: usize = 20;

/// Bad lines after which a file is given up on: it is not a file of records.
const MAX_BAD_PER_FILE: u64 = 1000;

/// `revoke report`.
pub fn run(args: &ReportArgs) -> Ended {
    if args.check {
        return check(&args.files);
    }
    let evidence = match read(&args.files) {
        Ok(e) => e,
        Err(e) => {
            logging::error(&e);
            return Ended::NothingSent;
        }
    };
    let now = now();
    let text = match args.format {
        ReportFormat::Md => evidence::markdown(&evidence, &now),
        ReportFormat::Csv => evidence::csv(&evidence),
        ReportFormat::Html => evidence::html(&evidence, &now),
    };
    let written = match &args.to {
        None => print("the report", text),
        Some(path) => match write_file(path, text.as_bytes()) {
            Ok(()) => Ended::Printed,
            Err(e) => {
                logging::error(&e);
                Ended::NothingSent
            }
        },
    };
    match written {
        Ended::Printed if evidence.bad > 0 => Ended::Plan(Exit::Failed),
        other => other,
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`: a reader
/// never sees half a report, and a failed write leaves an earlier report as it was. A `path`
/// that is not a regular file (a FIFO, `/dev/null`) is refused: the rename would replace the
/// node itself. The temporary file is created new, never opened through what is already there
/// (its name can be guessed, in a directory others write to).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let shown = path.display();
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(format!(
            "--to {shown}: not a regular file (the report is written to a file; without --to it goes to stdout)"
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("--to {shown}: not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| format!("cannot write {shown}: {}: {e}", tmp.display()))?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {shown}: {e}")
    })
}

/// Reads every file (`-` is stdin) into rows. A file that cannot be opened, more than
/// [`MAX_ROWS`] rows, or no row at all is an error; bad lines are named on stderr and counted.
pub fn read(files: &[PathBuf]) -> Result<Collected, String> {
    let mut evidence = Collected::default();
    let mut named = 0;
    for path in files {
        let (reader, source): (Box<dyn std::io::BufRead + Send>, Source) =
            if path.as_os_str() == "-" {
                (Box::new(BufReader::new(std::io::stdin())), Source::Stdin)
            } else {
                let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
                if f.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(format!("{}: is a directory", path.display()));
                }
                (
                    Box::new(BufReader::new(f)),
                    Source::File(path.display().to_string()),
                )
            };
        evidence.files.push(match &source {
            Source::Stdin => "stdin".to_string(),
            Source::File(name) => name.clone(),
        });
        let mut bad_here = 0;
        for line in LineReader::new(reader, source) {
            let problem = match line {
                Ok((at, text)) => match evidence::row_of_line(&text) {
                    Ok(Some(row)) => {
                        if evidence.rows.len() == MAX_ROWS {
                            return Err(format!(
                                "{at}: more than {MAX_ROWS} rows: a report holds at most {MAX_ROWS}; report fewer files at a time"
                            ));
                        }
                        evidence.rows.push(row);
                        None
                    }
                    Ok(None) => None,
                    Err(why) => Some(format!("{at}: {why}")),
                },
                Err(e) => Some(e.to_string()),
            };
            let Some(problem) = problem else { continue };
            evidence.bad += 1;
            bad_here += 1;
            if named < MAX_NAMED {
                named += 1;
                logging::say(&format!(
                    "revoke: warning: {}; the line is left out of the report",
                    escape(&problem)
                ));
            }
            if bad_here == MAX_BAD_PER_FILE {
                logging::say(&format!(
                    "revoke: warning: {}: {MAX_BAD_PER_FILE} lines that are not records: the rest of it is not read",
                    escape(evidence.files.last().map(String::as_str).unwrap_or("-"))
                ));
                break;
            }
        }
    }
    if evidence.bad > named as u64 {
        logging::say(&format!(
            "revoke: warning: {} more lines left out of the report",
            evidence.bad - named as u64
        ));
    }
    if evidence.rows.is_empty() {
        return Err(format!(
            "no record or journal line in {}: nothing to report",
            evidence
                .files
                .iter()
                .map(|f| escape(f).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(evidence)
}

#[cfg(unix)]
fn is_fifo(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::Metadata) -> bool {
    false
}

/// `revoke report --check FILE...`: exit 0 when every file is intact, 1 when one is not, 2
/// when one cannot be read.
pub fn check(files: &[PathBuf]) -> Ended {
    let mut text = String::new();
    let mut intact = true;
    for path in files {
        let shown = escape(&path.display().to_string()).into_owned();
        let verdict = if path.as_os_str() == "-" {
            chain::check_stream(BufReader::new(std::io::stdin().lock()))
        } else {
            match File::open(path) {
                Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => {
                    logging::error(&format!("{shown}: is a directory"));
                    return Ended::NothingSent;
                }
                // A device (`/dev/zero`, `/dev/urandom`) never ends: the check would read it
                // for ever. A journal is a regular file; a FIFO (`<(cmd)`) is read like stdin.
                Ok(f) if f.metadata().is_ok_and(|m| !m.is_file() && !is_fifo(&m)) => {
                    logging::error(&format!(
                        "{shown}: not a regular file (a journal is one, or `-` for stdin)"
                    ));
                    return Ended::NothingSent;
                }
                Ok(f) if f.metadata().is_ok_and(|m| is_fifo(&m)) => {
                    chain::check_stream(BufReader::new(f))
                }
                Ok(f) => chain::check(BufReader::new(f)),
                Err(e) => Err(e),
            }
        };
        match verdict {
            Ok(v) => {
                intact &= v.intact();
                text.push_str(&v.render(&shown));
            }
            Err(e) => {
                logging::error(&format!("cannot read {shown}: {e}"));
                return Ended::NothingSent;
            }
        }
    }
    match print("the check", text) {
        Ended::Printed if !intact => Ended::Plan(Exit::Failed),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The temporary file's name is known (`.NAME.PID.tmp`): one planted there as a link, by
    /// another user of a shared directory, must not have the report written through it.
    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_temporary_name_is_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        let planted = dir
            .path()
            .join(format!(".out.md.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let out = dir.path().join("out.md");
        let e = write_file(&out, b"the report").unwrap_err();
        assert!(
            e.starts_with(&format!("cannot write {}: ", out.display())),
            "{e}"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(!out.exists());
    }
}
