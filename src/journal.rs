//! `--journal FILE`: one JSON line appended per finished target, so that a rerun skips what is
//! done.
//!
//! A line is written with a single `write` call right after the target's record, and is never
//! rewritten, so a run killed at any moment (even SIGKILL) leaves every finished target on
//! file except possibly a last line cut short, which loading ignores. A target is identified by
//! a key: a 128-bit fingerprint over the provider, the options that give the target its meaning
//! (library, project, tenant...) and the target itself (a token's own 128-bit fingerprint,
//! never the token).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::{Record, Status};

/// The longest journal line read back; the lines this program writes are far shorter.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    provider: String,
    index: u64,
    target: serde_json::Value,
    status: Status,
    ok: bool,
    at: String,
    #[serde(default)]
    ticket: Option<String>,
    #[serde(default)]
    actor: Option<String>,
}

/// The targets an earlier run finished successfully, by key.
#[derive(Default)]
pub struct Done {
    keys: HashMap<u128, Status>,
}

impl Done {
    pub fn get(&self, key: &str) -> Option<Status> {
        self.keys.get(&key_bits(key)?).copied()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn key_bits(key: &str) -> Option<u128> {
    u128::from_str_radix(key.strip_prefix("sha256:")?, 16).ok()
}

pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating) the journal for appending and loads what it says is done.
    pub fn open(path: &Path) -> Result<(Journal, Done), String> {
        let shown = path.display();
        // A journal is read back whole and appended to: only a regular file can be both.
        // (`--journal /dev/full` used to read endless zeros into memory.)
        if let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            return Err(format!(
                "--journal {shown}: not a regular file; a journal must be a file that can be read back and appended to"
            ));
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open journal {shown}: {e}"))?;
        let mut done = Done::default();
        let mut last_byte = None;
        {
            let mut reader = BufReader::new(&file);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                // Bounded: a line longer than any line this program writes is skipped unread.
                let n = (&mut reader)
                    .take(MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut buf)
                    .map_err(|e| format!("cannot read journal {shown}: {e}"))?;
                if n == 0 {
                    break;
                }
                last_byte = buf.last().copied();
                if n > MAX_LINE && last_byte != Some(b'\n') {
                    reader
                        .skip_until(b'\n')
                        .map_err(|e| format!("cannot read journal {shown}: {e}"))?;
                    // Whether it ended in a newline is unknown: start ours on a fresh line (an
                    // empty line is ignored when loading).
                    last_byte = Some(0);
                    continue;
                }
                // A line cut short by a kill does not parse and is ignored: its target was not
                // recorded as done, so the rerun does it.
                let Ok(line) = serde_json::from_slice::<Line>(&buf) else {
                    continue;
                };
                if let Some(bits) = key_bits(&line.key) {
                    if line.ok {
                        done.keys.insert(bits, line.status);
                    } else {
                        done.keys.remove(&bits);
                    }
                }
            }
        }
        if last_byte.is_some_and(|b| b != b'\n') {
            // Start our lines on a line of their own after a cut-off one.
            file.write_all(b"\n")
                .map_err(|e| format!("cannot write journal {shown}: {e}"))?;
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
            },
            done,
        ))
    }

    /// Another handle on the same journal, for a plan's steps: the same open file, appended
    /// to with one write per line, so that the lines of steps running at once never mix.
    pub fn share(&self) -> Result<Journal, String> {
        let file = self
            .file
            .try_clone()
            .map_err(|e| format!("cannot share journal {}: {e}", self.path.display()))?;
        Ok(Journal {
            path: self.path.clone(),
            file,
        })
    }

    /// Appends the line for a finished record, in one write.
    pub fn append(&mut self, key: &str, record: &Record, missing_ok: bool) -> Result<(), String> {
        let line = Line {
            key: key.to_string(),
            provider: record.provider.clone(),
            index: record.index,
            target: record.target.clone(),
            status: record.status,
            ok: record.status.is_success(missing_ok),
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ticket: record.ticket.clone(),
            actor: record.actor.clone(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .map_err(|e| format!("cannot write journal {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u64, status: Status) -> Record {
        Record {
            provider: "ciam".into(),
            index,
            target: serde_json::json!({"token": "sha256:000000000000"}),
            status,
            http_status: Some(200),
            attempts: 1,
            request_id: None,
            data: None,
            error: None,
            elapsed_ms: 1,
            verified: None,
            ticket: None,
            actor: None,
        }
    }

    #[test]
    fn rerun_sees_successes_only_and_survives_a_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let k1 = "sha256:000102030405060708090a0b0c0d0e0f";
        let k2 = "sha256:ffff02030405060708090a0b0c0d0e0f";
        {
            let (mut j, done) = Journal::open(&path).unwrap();
            assert!(done.is_empty());
            j.append(k1, &record(0, Status::Revoked), false).unwrap();
            j.append(k2, &record(1, Status::Failed), false).unwrap();
        }
        // A kill in the middle of a write leaves half a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"key\":\"sha256:0")
            .unwrap();
        let (mut j, done) = Journal::open(&path).unwrap();
        assert_eq!(done.get(k1), Some(Status::Revoked));
        assert_eq!(done.get(k2), None);
        j.append(k2, &record(1, Status::Revoked), false).unwrap();
        drop(j);
        let (_, done) = Journal::open(&path).unwrap();
        assert_eq!(done.len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.lines().last().unwrap().starts_with("{\"key\""));
    }
}
