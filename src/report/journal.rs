//! `--journal FILE`: one JSON line appended per finished target, so that a rerun skips what is
//! done.
//!
//! A line is written with a single `write` call (more only if the system takes part of it)
//! right after the target's record, and is never rewritten, so a run killed at any moment (even
//! SIGKILL) leaves every finished target on file except possibly a last line cut short, which
//! loading ignores; after a write a full disk cut short, the next line starts on a line of its
//! own. A target is identified by
//! a key: a 128-bit fingerprint over the provider, the options that give the target its meaning
//! (library, project, tenant...) and the target itself (a token's own 128-bit fingerprint,
//! never the token).
//!
//! What a rerun reads back is [`Done`], an index of the finished targets with the time of
//! their answer (CLI.md "Journal replays": the record says when, and smh and bi-embed entries
//! replay only while recent). Its memory does not grow with the journal: 24 bytes per line
//! are held for the first [`MEMORY_SLOTS`] lines (6 MiB); a longer journal is sorted in runs
//! of that size into unlinked temporary files (`$TMPDIR`, 24 bytes per finished target), merged
//! into one sorted file, and looked up there through a sparse index that holds one key per
//! [`BLOCK`] targets (16 bytes per 128 targets: 0.4 MB for 3 million).
//!
//! The journal is tamper-evident (checked by `revoke report --check`, [`crate::report::chain`]): each
//! line carries `seq`, its place in the chain (1, 2, 3... across every run that appended to
//! the file), and `prev`, the SHA-256 of the previous journal line's exact bytes without its
//! newline (`sha256:` and 64 hex digits; [`GENESIS`] for the first line of a file). A run
//! opening the journal takes both from the pass that already reads every line to load it: the
//! last line that reads as a journal line (a line cut short by a crash does not) is the one the
//! next line chains to. Every handle on a journal ([`Journal::share`], a plan's steps) appends
//! through one lock that builds the line, hashes it and writes it, so the chain is in write
//! order. Lines without `seq` and `prev` (written before the chain) are loaded as before.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::report::record::{Record, Status};

/// The longest journal line read back; the lines this program writes are far shorter.
pub const MAX_LINE: usize = 64 * 1024;

/// How many journal lines are indexed in memory before they are sorted into a temporary file.
pub const MEMORY_SLOTS: usize = 1 << 18;

/// How many targets of the sorted file one key of the sparse index stands for.
pub const BLOCK: usize = 128;

/// How many sorted runs are kept open before they are merged into one (open files, buffers).
const MAX_RUNS: usize = 32;

/// The `prev` of a file's first line: no line came before it.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A line's link in the chain: `sha256:` and the SHA-256 of its bytes, without the newline.
pub fn link(line: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(line)))
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    seq: u64,
    prev: String,
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
    /// The row of `revoke apply --each` (`{"line":N,"key":".."}`), for `revoke report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    row: Option<crate::report::record::RowTag>,
}

/// What loading reads of a line: the rest (the target, the index) is for people and reports.
/// A line that reads as this is a journal line, for the chain too ([`crate::report::chain`]).
#[derive(Deserialize)]
pub(crate) struct Seen<'a> {
    /// Absent on lines written before the chain.
    #[serde(default)]
    pub seq: Option<u64>,
    #[serde(default, borrow)]
    pub prev: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    key: std::borrow::Cow<'a, str>,
    status: Status,
    ok: bool,
    #[serde(borrow)]
    at: std::borrow::Cow<'a, str>,
}

/// A target an earlier run finished successfully: its status then, and when the answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub status: Status,
    pub at: DateTime<Utc>,
}

impl Finished {
    /// The time as a record carries it (RFC 3339, milliseconds, UTC).
    pub fn at_text(&self) -> String {
        self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

/// One line of the index, 24 bytes: the key, and the time in milliseconds with the status
/// (0: the target's last line says it did not finish successfully).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    hi: u64,
    lo: u64,
    stamp: u64,
}

impl Slot {
    const BYTES: usize = 24;

    fn new(key: u128, ok: Option<(Status, DateTime<Utc>)>) -> Option<Slot> {
        let stamp = match ok {
            None => 0,
            Some((status, at)) => {
                let ms = u64::try_from(at.timestamp_millis())
                    .ok()
                    .filter(|ms| *ms < 1 << 56)?;
                let code = Status::ALL.iter().position(|s| *s == status)? as u64 + 1;
                ms << 8 | code
            }
        };
        Some(Slot {
            hi: (key >> 64) as u64,
            lo: key as u64,
            stamp,
        })
    }

    fn key(&self) -> u128 {
        (self.hi as u128) << 64 | self.lo as u128
    }

    fn finished(&self) -> Option<Finished> {
        let status = *Status::ALL.get(((self.stamp & 0xff) as usize).checked_sub(1)?)?;
        let at = DateTime::from_timestamp_millis((self.stamp >> 8) as i64)?;
        Some(Finished { status, at })
    }

    fn to_bytes(self) -> [u8; Slot::BYTES] {
        let mut b = [0u8; Slot::BYTES];
        b[..8].copy_from_slice(&self.hi.to_le_bytes());
        b[8..16].copy_from_slice(&self.lo.to_le_bytes());
        b[16..].copy_from_slice(&self.stamp.to_le_bytes());
        b
    }

    fn from_bytes(b: &[u8]) -> Slot {
        let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        Slot {
            hi: word(0),
            lo: word(8),
            stamp: word(16),
        }
    }
}

/// Sorts by key and keeps each key's last line (the journal's order within a key is kept by
/// the stable sort).
fn settle(slots: &mut Vec<Slot>) {
    slots.sort_by_key(Slot::key);
    slots.dedup_by(|later, kept| {
        let same = later.key() == kept.key();
        if same {
            *kept = *later;
        }
        same
    });
}

/// An unlinked temporary file: gone with the process, whatever happens to it.
fn scratch() -> std::io::Result<File> {
    let dir = std::env::temp_dir();
    loop {
        let path = dir.join(format!(
            "revoke-journal-index-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => {
                let _ = std::fs::remove_file(&path);
                return Ok(file);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("temporary file in {}: {e}", dir.display()),
                ));
            }
        }
    }
}

/// A sorted run being read back.
struct Run {
    reader: BufReader<File>,
}

impl Run {
    fn open(mut file: File) -> std::io::Result<Run> {
        file.rewind()?;
        Ok(Run {
            reader: BufReader::with_capacity(64 * 1024, file),
        })
    }

    fn next(&mut self) -> std::io::Result<Option<Slot>> {
        let mut b = [0u8; Slot::BYTES];
        match self.reader.read_exact(&mut b) {
            Ok(()) => Ok(Some(Slot::from_bytes(&b))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A sorted file of slots and its sparse index.
struct Sorted {
    file: File,
    count: usize,
    /// The first key of each [`BLOCK`] of the file.
    sparse: Vec<u128>,
}

/// Merges sorted runs (later runs hold later lines, which win) into one. `keep_failed`: keep
/// the slots that say a target did not finish, for a later merge to apply.
fn merge(runs: Vec<File>, keep_failed: bool) -> std::io::Result<Sorted> {
    let mut runs = runs
        .into_iter()
        .map(Run::open)
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut heap = BinaryHeap::new();
    for (i, run) in runs.iter_mut().enumerate() {
        if let Some(s) = run.next()? {
            heap.push(Reverse((s.key(), i, s.stamp)));
        }
    }
    let mut out = BufWriter::with_capacity(64 * 1024, scratch()?);
    let (mut count, mut sparse) = (0usize, Vec::new());
    while let Some(Reverse((key, i, stamp))) = heap.pop() {
        // A run holds a key once, so its next slot has a greater key: refilled at once, it
        // cannot come before the other runs' slots of this key.
        if let Some(s) = runs[i].next()? {
            heap.push(Reverse((s.key(), i, s.stamp)));
        }
        // Of the runs holding this key, the last (the latest lines) wins.
        let mut winner = stamp;
        while let Some(Reverse((k, j, st))) = heap.peek().copied() {
            if k != key {
                break;
            }
            heap.pop();
            winner = st;
            if let Some(s) = runs[j].next()? {
                heap.push(Reverse((s.key(), j, s.stamp)));
            }
        }
        if winner == 0 && !keep_failed {
            continue;
        }
        if count % BLOCK == 0 {
            sparse.push(key);
        }
        let slot = Slot {
            hi: (key >> 64) as u64,
            lo: key as u64,
            stamp: winner,
        };
        out.write_all(&slot.to_bytes())?;
        count += 1;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    Ok(Sorted {
        file,
        count,
        sparse,
    })
}

/// The index as it is built, line by line.
struct Builder {
    chunk: Vec<Slot>,
    runs: Vec<File>,
    /// Slots held in memory before they are sorted into a run ([`MEMORY_SLOTS`]).
    limit: usize,
    /// Runs kept before they are merged into one ([`MAX_RUNS`]).
    max_runs: usize,
}

impl Builder {
    fn new(limit: usize, max_runs: usize) -> Builder {
        Builder {
            chunk: Vec::new(),
            runs: Vec::new(),
            limit,
            max_runs,
        }
    }

    fn push(&mut self, slot: Slot) -> std::io::Result<()> {
        self.chunk.push(slot);
        if self.chunk.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        settle(&mut self.chunk);
        let mut out = BufWriter::with_capacity(64 * 1024, scratch()?);
        for s in &self.chunk {
            out.write_all(&s.to_bytes())?;
        }
        self.runs
            .push(out.into_inner().map_err(|e| e.into_error())?);
        self.chunk.clear();
        if self.runs.len() >= self.max_runs {
            let merged = merge(std::mem::take(&mut self.runs), true)?;
            self.runs.push(merged.file);
        }
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<Done> {
        if self.runs.is_empty() {
            settle(&mut self.chunk);
            self.chunk.retain(|s| s.stamp != 0);
            self.chunk.shrink_to_fit();
            return Ok(Done {
                index: Index::Memory(self.chunk),
            });
        }
        if !self.chunk.is_empty() {
            self.spill()?;
        }
        self.chunk = Vec::new();
        Ok(Done {
            index: Index::Disk(merge(self.runs, false)?),
        })
    }
}

enum Index {
    Memory(Vec<Slot>),
    Disk(Sorted),
}

/// The targets an earlier run finished successfully, by key.
pub struct Done {
    index: Index,
}

impl Default for Done {
    fn default() -> Done {
        Done {
            index: Index::Memory(Vec::new()),
        }
    }
}

impl Done {
    /// What the journal says of `key`, when its last line for it is a success.
    pub fn get(&self, key: &str) -> Option<Finished> {
        let key = key_bits(key)?;
        match &self.index {
            Index::Memory(slots) => {
                let i = slots.binary_search_by_key(&key, Slot::key).ok()?;
                slots[i].finished()
            }
            Index::Disk(sorted) => {
                let block = sorted
                    .sparse
                    .partition_point(|k| *k <= key)
                    .checked_sub(1)?;
                let start = block * BLOCK;
                let n = BLOCK.min(sorted.count - start);
                let mut buf = [0u8; BLOCK * Slot::BYTES];
                let buf = &mut buf[..n * Slot::BYTES];
                // A failed read loses only the skip: the target is sent again, which is
                // harmless (revocation is idempotent).
                if let Err(e) = sorted.file.read_exact_at(buf, (start * Slot::BYTES) as u64) {
                    tracing::warn!("cannot read the journal's index: {e}");
                    return None;
                }
                let slot = |i: usize| Slot::from_bytes(&buf[i * Slot::BYTES..]);
                let (mut lo, mut hi) = (0, n);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    match slot(mid).key().cmp(&key) {
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                        std::cmp::Ordering::Equal => return slot(mid).finished(),
                    }
                }
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        match &self.index {
            Index::Memory(slots) => slots.len(),
            Index::Disk(sorted) => sorted.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key_bits(key: &str) -> Option<u128> {
    u128::from_str_radix(key.strip_prefix("sha256:")?, 16).ok()
}

/// `--input` and `--journal` naming one file (by any path: compared by device and inode):
/// the journal's own lines would be read back as targets, and the file would grow as it is
/// read. `input` `-` is stdin, which may be redirected from the journal too.
pub fn refuse_as_input(journal: &Path, input: &Path) -> Result<(), String> {
    let of_input = if input.as_os_str() == "-" {
        std::fs::metadata("/dev/stdin")
    } else {
        std::fs::metadata(input)
    };
    let (Ok(j), Ok(i)) = (std::fs::metadata(journal), of_input) else {
        return Ok(());
    };
    if j.dev() == i.dev() && j.ino() == i.ino() {
        let what = if input.as_os_str() == "-" {
            "stdin (--input -) is".to_string()
        } else {
            format!("--input {} is", input.display())
        };
        return Err(format!(
            "{what} the journal file {}: the journal's own lines would be read back as targets; give --journal a file of its own",
            journal.display()
        ));
    }
    Ok(())
}

/// One line as read back, bounded by [`MAX_LINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// The end of the file.
    End,
    /// A line, in the buffer without its newline; `newline`: whether one ended it (the last
    /// line of a file cut short by a crash has none).
    Line { newline: bool },
    /// A line longer than [`MAX_LINE`]: skipped unread, nothing of it held.
    TooLong,
}

/// How far past an over-long line's bound a stream that may never end (stdin, a FIFO) is read
/// looking for the line's end before it is abandoned (`cat /dev/zero | revoke report --check -`
/// must end), as `--input` does. A regular file ends: there a long line is skipped whole.
pub const STREAM_SKIP: u64 = 16 * 1024 * 1024;

/// Reads the next line into `buf` (cleared first), never holding more than [`MAX_LINE`] bytes.
pub fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<LineRead> {
    read_line_within(reader, buf, None)
}

/// [`read_line`], looking for an over-long line's end at most `skip` bytes further (a stream's
/// [`STREAM_SKIP`]): past that, an error, and the source is not read on.
pub fn read_line_within(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    skip: Option<u64>,
) -> std::io::Result<LineRead> {
    buf.clear();
    let n = reader.take(MAX_LINE as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(LineRead::End);
    }
    let newline = buf.last() == Some(&b'\n');
    if newline {
        buf.pop();
    }
    if buf.len() > MAX_LINE {
        buf.clear();
        if !newline {
            match skip {
                None => {
                    reader.skip_until(b'\n')?;
                }
                // Fewer bytes than the bound: a line end, or the end of the source.
                Some(max) if reader.take(max).skip_until(b'\n')? < max as usize => {}
                Some(max) => {
                    return Err(std::io::Error::other(format!(
                        "a line longer than {} KiB, and no line end in the next {} MiB: the rest is not read",
                        MAX_LINE / 1024,
                        max >> 20
                    )));
                }
            }
        }
        return Ok(LineRead::TooLong);
    }
    Ok(LineRead::Line { newline })
}

/// Where the next line of a journal goes in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tip {
    seq: u64,
    prev: String,
}

/// The one writer of a journal's lines: every handle on it appends through this.
struct Chained {
    file: File,
    next: Tip,
    /// A write failed part way (a full disk): the file ends in part of a line, and the next
    /// line starts on a line of its own, as after a crash.
    cut: bool,
}

pub struct Journal {
    path: PathBuf,
    chained: Arc<Mutex<Chained>>,
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
        let mut index = Builder::new(MEMORY_SLOTS, MAX_RUNS);
        let mut ends_in_newline = true;
        let index_error = |e: std::io::Error| format!("cannot index journal {shown}: {e}");
        // The last journal line (its bytes) and the last `seq`: where the next line chains.
        let (mut tip, mut last_seq) = (None::<Vec<u8>>, 0);
        {
            let mut reader = BufReader::new(&file);
            let mut buf = Vec::new();
            loop {
                let read = read_line(&mut reader, &mut buf)
                    .map_err(|e| format!("cannot read journal {shown}: {e}"))?;
                match read {
                    LineRead::End => break,
                    LineRead::Line { newline } => ends_in_newline = newline,
                    // Bounded: a line longer than any line this program writes is skipped
                    // unread. Whether it ended in a newline is unknown: start ours on a fresh
                    // line (an empty line is ignored when loading).
                    LineRead::TooLong => {
                        ends_in_newline = false;
                        continue;
                    }
                }
                // A line cut short by a kill does not parse and is ignored: its target was not
                // recorded as done, so the rerun does it. The chain goes on from the line
                // before it.
                let Ok(line) = serde_json::from_slice::<Seen>(&buf) else {
                    continue;
                };
                if let Some(seq) = line.seq {
                    last_seq = seq;
                }
                let slot = key_bits(&line.key).and_then(|bits| {
                    // A success without a readable time is not taken as one (sent again:
                    // harmless), nor is `ok` said of a status that is no answer's success (an
                    // edited line: `failed`, `skipped`, `planned` would replay with nothing sent).
                    let answered = matches!(
                        line.status,
                        Status::Revoked | Status::AlreadyInvalid | Status::NotFound
                    );
                    let ok = match DateTime::parse_from_rfc3339(&line.at) {
                        Ok(at) if line.ok && answered => Some((line.status, at.to_utc())),
                        _ => None,
                    };
                    Slot::new(bits, ok).or_else(|| Slot::new(bits, None))
                });
                if let Some(slot) = slot {
                    index.push(slot).map_err(index_error)?;
                }
                // Kept by swapping buffers: no copy per line.
                let held = tip.get_or_insert_with(Vec::new);
                std::mem::swap(held, &mut buf);
            }
        }
        let done = index.finish().map_err(index_error)?;
        if !ends_in_newline {
            // Start our lines on a line of their own after a cut-off one.
            file.write_all(b"\n")
                .map_err(|e| format!("cannot write journal {shown}: {e}"))?;
        }
        let next = Tip {
            seq: last_seq.saturating_add(1),
            prev: tip.map_or_else(|| GENESIS.to_string(), |bytes| link(&bytes)),
        };
        Ok((
            Journal {
                path: path.to_path_buf(),
                chained: Arc::new(Mutex::new(Chained {
                    file,
                    next,
                    cut: false,
                })),
            },
            done,
        ))
    }

    /// Another handle on the same journal, for a plan's steps: its lines go through the same
    /// lock as this one's, so they never mix and the chain follows the order of the writes.
    pub fn share(&self) -> Result<Journal, String> {
        Ok(Journal {
            path: self.path.clone(),
            chained: self.chained.clone(),
        })
    }

    /// Appends the line for a finished record, chained to the line before it, in one write.
    pub fn append(&mut self, key: &str, record: &Record, missing_ok: bool) -> Result<(), String> {
        let mut chained = self.chained.lock().unwrap_or_else(|e| e.into_inner());
        let line = Line {
            seq: chained.next.seq,
            prev: chained.next.prev.clone(),
            key: key.to_string(),
            provider: record.provider.clone(),
            index: record.index,
            target: record.target.clone(),
            status: record.status,
            ok: record.status.is_success(missing_ok),
            // When the answer came, as the record says (a replay's `from_journal`), not when
            // the line is written (after `--verify`'s checks, or a slow stdout).
            at: record.at.clone().unwrap_or_else(crate::report::record::now),
            ticket: record.ticket.clone(),
            actor: record.actor.clone(),
            row: record.row.clone(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| e.to_string())?;
        let next = Tip {
            seq: line.seq.saturating_add(1),
            prev: link(&bytes),
        };
        bytes.push(b'\n');
        if chained.cut {
            bytes.insert(0, b'\n');
        }
        // A failed write leaves at most part of a line, which the next line chains past, as
        // after a crash; the next line starts on a fresh line.
        let mut written = 0;
        while written < bytes.len() {
            let failed = match chained.file.write(&bytes[written..]) {
                Ok(0) => "the file takes no more bytes".to_string(),
                Ok(n) => {
                    written += n;
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => e.to_string(),
            };
            // The file ends in part of a line unless nothing, or only the fresh line's
            // newline, went out.
            if let Some(last) = written.checked_sub(1) {
                chained.cut = bytes[last] != b'\n';
            }
            return Err(format!(
                "cannot write journal {}: {failed}",
                self.path.display()
            ));
        }
        chained.cut = false;
        chained.next = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: u64, status: Status) -> Record {
        let target = serde_json::json!({"token": "sha256:000000000000"});
        Record {
            http_status: Some(200),
            attempts: 1,
            elapsed_ms: 1,
            at: None,
            ..Record::bare("ciam", index, target, status, None)
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
        assert_eq!(done.get(k1).map(|f| f.status), Some(Status::Revoked));
        assert!(done.get(k2).is_none());
        j.append(k2, &record(1, Status::Revoked), false).unwrap();
        drop(j);
        let (_, done) = Journal::open(&path).unwrap();
        assert_eq!(done.len(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.lines().last().unwrap().starts_with("{\"seq\":3,"));
    }

    /// The index spilled to sorted runs (and runs merged into one) answers exactly as a map of
    /// every line, the last line of a key winning, would.
    #[test]
    fn spilled_index_answers_as_the_whole_journal_would() {
        use std::collections::HashMap;
        let at = |ms: i64| DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap();
        for (limit, max_runs) in [(usize::MAX, 32), (7, 32), (5, 3), (1, 2)] {
            let mut model: HashMap<u128, Option<(Status, DateTime<Utc>)>> = HashMap::new();
            let mut builder = Builder::new(limit, max_runs);
            let mut rng = fastrand::Rng::with_seed(limit as u64);
            for n in 0..600 {
                // Few keys, many lines: every key is written, failed and rewritten.
                let key = (rng.u128(0..90) << 64) | rng.u128(0..3);
                let ok = match rng.u8(0..4) {
                    0 => None,
                    1 => Some((Status::AlreadyInvalid, at(n))),
                    _ => Some((Status::Revoked, at(n))),
                };
                model.insert(key, ok);
                builder.push(Slot::new(key, ok).unwrap()).unwrap();
            }
            let done = builder.finish().unwrap();
            assert_eq!(matches!(done.index, Index::Disk(_)), limit < 600);
            let successes = model.values().filter(|v| v.is_some()).count();
            assert_eq!(done.len(), successes, "limit {limit}");
            for hi in 0..100u128 {
                for lo in 0..4u128 {
                    let key = hi << 64 | lo;
                    let want = model
                        .get(&key)
                        .copied()
                        .flatten()
                        .map(|(status, at)| Finished { status, at });
                    assert_eq!(
                        done.get(&format!("sha256:{key:032x}")),
                        want,
                        "limit {limit}, key {key:x}"
                    );
                }
            }
        }
    }
}
