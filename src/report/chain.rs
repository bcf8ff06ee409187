//! `revoke report --check JOURNAL...`: whether a journal's lines are the ones its runs wrote,
//! in the order they wrote them.
//!
//! Each journal line carries `seq` (1, 2, 3... across every run that appended to the file) and
//! `prev`, the SHA-256 of the previous journal line's exact bytes without its newline (the
//! first line of a file: [`GENESIS`], 64 zeros); see [`crate::report::journal`]. One can check a link
//! by hand: `sed -n 4p J | tr -d '\n' | sha256sum` is line 5's `prev`. Read in one pass, in
//! bounded memory whatever the length (a line longer than 64 KiB is a problem named by its
//! number, skipped unread), the file is judged line by line:
//!
//! - **edited**: line N's hash is not the `prev` of the journal line after it. An edit of
//!   the file's last line is not visible: no line comes after it. Nor is a cut of whole lines
//!   at the end. That is why an intact verdict prints the last line's seq and hash: kept in
//!   the ticket, they anchor every line before it.
//! - **removed**: `seq` jumps (the line after the gap is named, with the seqs missing).
//! - **moved**: `seq` comes back (two lines swapped are named together; a line moved further
//!   is named where it is now, and where it was missing).
//! - **cut short by a crash** (a note, not a problem: exit 0): a line that is not JSON (the
//!   start of a line a killed run was writing) whose next journal line goes on with the seq
//!   after the journal line before it, which is what the next run writes after a kill: it
//!   loads the journal, ignores the cut line and chains to the last whole one (its `prev` is
//!   checked against that line as always). A cut last line (nothing after it) is a note too.
//!   A hand edit cannot pass for a crash: a whole line edited into a fragment leaves its seq
//!   missing (a removal) and breaks the `prev` of the line after it; a fragment inserted
//!   between two lines changes no record.
//! - **unchained** (a problem, exit 1): journal lines without `seq` and `prev`, written before
//!   the chain, are loaded and resumed as always, but nothing about them can be checked, and
//!   passing them would let anyone strip the chain from an edited file. The first chained
//!   line after them chains to the last of them.
//!
//! Anyone who can write the file can rewrite the chain from an edited line to the end: the
//! chain shows edits made without recomputing it, and the last hash, kept elsewhere, shows
//! the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;

use crate::report::journal::{
    GENESIS, LineRead, MAX_LINE, STREAM_SKIP, Seen, link, read_line_within,
};

/// Problems and notes named one by one (in line order); the rest are counted.
const MAX_NAMED: usize = 1000;

/// Seqs remembered as missing or moved, to name moves; past this a move reads as a removal.
const MAX_REMEMBERED: usize = 4096;

/// Crash cuts waiting for the next journal line, which says whether it chains past them.
const MAX_PENDING: usize = 64;

/// What was found at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub line: u64,
    /// Whether it makes the check fail (a crash cut does not).
    pub problem: bool,
    pub what: String,
}

/// A chained line being judged.
#[derive(Debug, Clone)]
struct Chained {
    line: u64,
    seq: u64,
    prev: String,
    hash: String,
}

/// The check of one journal, fed line by line.
#[derive(Debug, Default)]
pub struct Checker {
    lines: u64,
    /// The last chained line taken in order: its seq (0: none yet) and line.
    seq: u64,
    at_line: u64,
    /// What the next line's `prev` must be: the hash of the last journal line taken in order.
    hash: String,
    /// Chained lines so far.
    chained: u64,
    /// Unchained lines before the first chained one: the first and the last.
    unchained: Option<(u64, u64)>,
    /// A line whose seq jumped ahead: a removal, or a line moved up (the next line says).
    held: Option<Chained>,
    /// Seqs missing where they should have been, with the line they should have come before.
    missing: BTreeMap<u64, u64>,
    /// Seqs already named as moved up, with their hash: their gap is not a removal.
    early: BTreeMap<u64, String>,
    /// Lines that are not JSON since the last journal line: crash cuts if the next journal
    /// line goes on with the next seq.
    pending: Vec<u64>,
    findings: Vec<Finding>,
    /// Problems past [`MAX_NAMED`] findings, counted only.
    more: u64,
    /// The first line with a problem.
    first_problem: Option<u64>,
}

impl Checker {
    pub fn new() -> Checker {
        Checker {
            hash: GENESIS.to_string(),
            ..Checker::default()
        }
    }

    fn note(&mut self, line: u64, problem: bool, what: String) {
        if problem {
            self.first_problem = Some(self.first_problem.map_or(line, |f| f.min(line)));
        }
        if self.findings.len() < MAX_NAMED {
            self.findings.push(Finding {
                line,
                problem,
                what,
            });
        } else if problem {
            self.more += 1;
        }
    }

    /// The next line of the file, as [`read_line`](crate::report::journal::read_line) read it into `bytes`.
    pub fn line(&mut self, read: LineRead, bytes: &[u8]) {
        self.lines += 1;
        let no = self.lines;
        match read {
            LineRead::End | LineRead::Line { .. } => {}
            LineRead::TooLong => {
                self.note(
                    no,
                    true,
                    format!("longer than {} KiB: not a journal line", MAX_LINE / 1024),
                );
                return;
            }
        }
        if bytes.is_empty() {
            self.note(no, true, "empty: not a journal line".into());
            return;
        }
        let seen = match serde_json::from_slice::<Seen>(bytes) {
            Ok(seen) => seen,
            Err(e) if e.is_eof() || e.is_syntax() => {
                // Not JSON (or JSON cut short): the start of a line a crash cut?
                if self.pending.len() < MAX_PENDING {
                    self.pending.push(no);
                } else {
                    self.note(no, true, "not a journal line".into());
                }
                return;
            }
            Err(_) => {
                self.note(
                    no,
                    true,
                    "not a journal line (a JSON line without a journal line's fields)".into(),
                );
                return;
            }
        };
        let hash = link(bytes);
        match (seen.seq, seen.prev) {
            (Some(seq), Some(prev)) => {
                self.chained += 1;
                let line = Chained {
                    line: no,
                    seq,
                    prev: prev.into_owned(),
                    hash,
                };
                self.chained_line(line);
            }
            _ => {
                self.flush_held();
                self.pending_not_past(no);
                if self.chained == 0 {
                    let first = self.unchained.map_or(no, |(f, _)| f);
                    self.unchained = Some((first, no));
                } else {
                    self.note(
                        no,
                        true,
                        "no `seq` and `prev`: written by a revoke without the chain, or they were removed"
                            .into(),
                    );
                }
                // The next line chains to this one (the writer chains to the last journal
                // line), with the next seq.
                self.hash = hash;
                self.at_line = no;
            }
        }
    }

    /// The fragments before line `no` are not chained past: they are problems.
    fn pending_not_past(&mut self, no: u64) {
        for cut in std::mem::take(&mut self.pending) {
            self.note(
                cut,
                true,
                format!(
                    "not a whole journal line, and line {no} does not chain past it: edited, not cut short by a crash"
                ),
            );
        }
    }

    fn chained_line(&mut self, line: Chained) {
        if let Some(held) = self.held.take() {
            if line.seq == self.seq.saturating_add(1) {
                // `held` came before its place: moved up.
                if held.seq == line.seq.saturating_add(1) {
                    self.note(
                        held.line,
                        true,
                        format!(
                            "moved: swapped with line {} (seq {} is written before seq {})",
                            line.line, held.seq, line.seq
                        ),
                    );
                    self.in_order(line);
                    self.in_order(held);
                    return;
                }
                self.note(
                    held.line,
                    true,
                    format!(
                        "moved: seq {} is written before seq {} (line {})",
                        held.seq, line.seq, line.line
                    ),
                );
                if self.early.len() < MAX_REMEMBERED {
                    self.early.insert(held.seq, held.hash);
                }
            } else {
                self.gap(held);
            }
        }
        if line.seq == self.seq.saturating_add(1) {
            self.in_order(line);
        } else if line.seq > self.seq.saturating_add(1) {
            // Every seq between already named as moved up: in order after them.
            let between = self.seq.saturating_add(1)..line.seq;
            if between.clone().all(|s| self.early.contains_key(&s)) {
                let before = self.early.get(&(line.seq - 1)).cloned();
                for s in between {
                    self.early.remove(&s);
                }
                self.seq = line.seq - 1;
                if let Some(h) = before {
                    self.hash = h;
                }
                self.at_line = 0;
                self.in_order(line);
            } else {
                self.pending_not_past(line.line);
                self.held = Some(line);
            }
        } else {
            self.pending_not_past(line.line);
            let what = match self.missing.remove(&line.seq) {
                Some(before) => format!(
                    "moved: seq {} belongs before line {before}, after seq {}",
                    line.seq,
                    line.seq - 1
                ),
                None => format!("moved or repeated: seq {} after seq {}", line.seq, self.seq),
            };
            self.note(line.line, true, what);
        }
    }

    /// A line whose seq is the next one: its `prev` must be the hash of the line before.
    /// Lines that are not JSON just before it are crash cuts: the seq goes on past them, as
    /// the run after a kill writes it (a whole line edited into a fragment would leave a gap
    /// in the seqs instead).
    fn in_order(&mut self, line: Chained) {
        for cut in std::mem::take(&mut self.pending) {
            self.note(
                cut,
                false,
                format!(
                    "cut short by a crash (not tampering): line {}, written by a later run, goes on with the next seq",
                    line.line
                ),
            );
        }
        if line.prev != self.hash {
            let what = match (self.at_line, line.seq) {
                (0, 1) => (
                    line.line,
                    "edited: its `prev` is not the start of a chain".to_string(),
                ),
                (0, _) => (
                    line.line,
                    format!(
                        "edited: its `prev` is not the hash of the line of seq {}",
                        line.seq - 1
                    ),
                ),
                (before, _) => (
                    before,
                    format!(
                        "edited: its hash is not the `prev` of line {} (seq {})",
                        line.line, line.seq
                    ),
                ),
            };
            self.note(what.0, true, what.1);
        }
        self.seq = line.seq;
        self.hash = line.hash;
        self.at_line = line.line;
    }

    /// `held` jumped ahead and no line came back to fill the gap: lines were removed (or moved
    /// further down, which the line there will say).
    fn gap(&mut self, held: Chained) {
        self.pending_not_past(held.line);
        for s in self.seq.saturating_add(1)..held.seq {
            if self.missing.len() >= MAX_REMEMBERED {
                break;
            }
            self.missing.insert(s, held.line);
        }
        self.seq = held.seq;
        self.hash = held.hash;
        self.at_line = held.line;
    }

    fn flush_held(&mut self) {
        if let Some(held) = self.held.take() {
            self.gap(held);
        }
    }

    /// The verdict, once the file is read.
    pub fn finish(mut self) -> Verdict {
        self.flush_held();
        for cut in std::mem::take(&mut self.pending) {
            self.note(
                cut,
                false,
                "cut short (a crash while it was written): its target is not recorded as done, and a rerun does it again"
                    .into(),
            );
        }
        // Missing seqs, grouped by the line they should have come before.
        let mut gaps: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for (seq, before) in std::mem::take(&mut self.missing) {
            gaps.entry(before).or_default().insert(seq);
        }
        for (before, seqs) in gaps {
            let (first, last) = (seqs.first().copied(), seqs.last().copied());
            let which = match (first, last) {
                (Some(a), Some(b)) if a == b => format!("seq {a}"),
                (Some(a), Some(b)) => format!("seqs {a} to {b}"),
                _ => continue,
            };
            let n = seqs.len();
            self.note(
                before,
                true,
                format!(
                    "removed: {n} line{} missing before it ({which})",
                    if n == 1 { "" } else { "s" }
                ),
            );
        }
        if let Some((first, last)) = self.unchained {
            let lines = if first == last {
                format!("line {first} has")
            } else {
                format!("lines {first} to {last} have")
            };
            self.note(
                first,
                true,
                format!(
                    "unchained: {lines} no `seq` and `prev` (written by a revoke before the chain): they cannot be checked"
                ),
            );
        }
        self.findings.sort_by_key(|f| (f.line, !f.problem));
        Verdict {
            lines: self.lines,
            chained: self.chained,
            last_seq: self.seq,
            last_hash: self.hash,
            first_problem: self.first_problem,
            findings: self.findings,
            more: self.more,
        }
    }
}

/// What the check of one journal found.
#[derive(Debug)]
pub struct Verdict {
    pub lines: u64,
    pub chained: u64,
    pub last_seq: u64,
    pub last_hash: String,
    pub first_problem: Option<u64>,
    /// Problems and notes, in line order.
    pub findings: Vec<Finding>,
    /// Problems past [`MAX_NAMED`] findings, not named.
    pub more: u64,
}

impl Verdict {
    pub fn intact(&self) -> bool {
        self.first_problem.is_none()
    }

    /// The lines `--check` prints for the file `shown`.
    pub fn render(&self, shown: &str) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&format!("{shown}:{}: {}\n", f.line, f.what));
        }
        if self.more > 0 {
            out.push_str(&format!(
                "{shown}: {} more problem{} not named\n",
                self.more,
                if self.more == 1 { "" } else { "s" }
            ));
        }
        match self.first_problem {
            None if self.chained == 0 => out.push_str(&format!(
                "{shown}: intact: no journal line (nothing to check)\n"
            )),
            None => out.push_str(&format!(
                "{shown}: intact: {}, chained from seq 1 to {}; the last line's hash is {} (keep it: it shows later that nothing after it was changed or cut)\n",
                lines(self.lines),
                self.last_seq,
                self.last_hash
            )),
            Some(first) => {
                let problems = self.findings.iter().filter(|f| f.problem).count() as u64;
                let n = problems + self.more;
                out.push_str(&format!(
                    "{shown}: not intact: {n} problem{} in {}, the first at line {first}\n",
                    if n == 1 { "" } else { "s" },
                    lines(self.lines)
                ));
            }
        }
        out
    }
}

fn lines(n: u64) -> String {
    format!("{n} line{}", if n == 1 { "" } else { "s" })
}

/// Checks a journal read from a stream that may never end (stdin, a FIFO): as [`check`], but
/// a line with no end within [`STREAM_SKIP`] bytes past its bound abandons the source (a
/// regular file ends: there a long line is skipped whatever its length, and the check goes on).
pub fn check_stream(reader: impl BufRead) -> std::io::Result<Verdict> {
    check_within(reader, Some(STREAM_SKIP))
}

/// Checks a journal read from `reader`, in one pass.
pub fn check(reader: impl BufRead) -> std::io::Result<Verdict> {
    check_within(reader, None)
}

fn check_within(mut reader: impl BufRead, skip: Option<u64>) -> std::io::Result<Verdict> {
    let mut checker = Checker::new();
    let mut buf = Vec::new();
    loop {
        let read = read_line_within(&mut reader, &mut buf, skip)?;
        if read == LineRead::End {
            return Ok(checker.finish());
        }
        checker.line(read, &buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::journal::Journal;
    use crate::report::record::{Record, Status};
    use proptest::prelude::*;
    use std::io::Write;

    fn record(index: u64) -> Record {
        let target = serde_json::json!({"token": "sha256:000000000000"});
        Record {
            http_status: Some(200),
            attempts: 1,
            elapsed_ms: 1,
            at: None,
            ..Record::bare("ciam", index, target, Status::Revoked, None)
        }
    }

    /// A stream's bound is on the bytes past an over-long line, not on the stream: more than
    /// [`STREAM_SKIP`] bytes of short lines, and an over-long line that ends, are read to the
    /// end; one endless line is not.
    #[test]
    fn a_stream_is_abandoned_only_for_a_line_with_no_end() {
        let mut text = b"x\n".repeat((STREAM_SKIP as usize) / 2 + 1024);
        text.extend(b"y".repeat(MAX_LINE * 3));
        text.extend(b"\nx\n");
        let v = check_stream(std::io::Cursor::new(text)).unwrap();
        assert_eq!(v.lines, STREAM_SKIP / 2 + 1024 + 2);
        let endless = std::io::Read::take(std::io::repeat(b'x'), STREAM_SKIP * 2);
        let e = check_stream(std::io::BufReader::new(endless)).unwrap_err();
        assert!(
            e.to_string().contains("no line end in the next 16 MiB"),
            "{e}"
        );
    }

    /// A journal written by `runs` runs of so many lines each, each run but the last cut
    /// short by a crash when its flag says so; the file's bytes.
    fn journal(runs: &[(usize, bool)]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut n = 0u64;
        for (lines, crash) in runs {
            let (j, _) = Journal::open(&path).unwrap();
            // Two handles, as a plan's steps have: one chain.
            let (mut a, mut b) = (j.share().unwrap(), j);
            for i in 0..*lines {
                let h = if i % 2 == 0 { &mut a } else { &mut b };
                h.append(&format!("sha256:{n:032x}"), &record(n), false)
                    .unwrap();
                n += 1;
            }
            if *crash {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap()
                    .write_all(b"{\"seq\":99,\"prev\":\"sha256:00")
                    .unwrap();
            }
        }
        std::fs::read(&path).unwrap()
    }

    fn verdict(bytes: &[u8]) -> Verdict {
        check(bytes).unwrap()
    }

    fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
        bytes
            .split_inclusive(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn problems(v: &Verdict) -> Vec<(u64, String)> {
        v.findings
            .iter()
            .filter(|f| f.problem)
            .map(|f| (f.line, f.what.clone()))
            .collect()
    }

    #[test]
    fn runs_chain_across_crashes() {
        let bytes = journal(&[(3, true), (2, false), (2, true)]);
        let v = verdict(&bytes);
        assert!(v.intact(), "{}", v.render("j"));
        assert_eq!(v.chained, 7);
        assert_eq!(v.last_seq, 7);
        let notes: Vec<u64> = v.findings.iter().map(|f| f.line).collect();
        assert_eq!(notes, [4, 9], "{}", v.render("j"));
        assert!(v.findings[0].what.starts_with("cut short by a crash"));
        assert!(v.findings[1].what.starts_with("cut short (a crash"));
        // The first line starts the chain; a line's prev is the hash of the one before.
        let all = lines(&bytes);
        let first: serde_json::Value = serde_json::from_slice(&all[0]).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["seq"], 1);
        let second: serde_json::Value = serde_json::from_slice(&all[1]).unwrap();
        assert_eq!(second["prev"], link(all[0].strip_suffix(b"\n").unwrap()));
    }

    #[test]
    fn an_edit_a_removal_and_a_swap_are_named() {
        let bytes = journal(&[(6, false)]);
        let all = lines(&bytes);
        let edited = {
            let mut l = all.clone();
            let text = String::from_utf8(l[2].clone()).unwrap();
            l[2] = text.replace("\"revoked\"", "\"failed\"").into_bytes();
            l.concat()
        };
        let v = verdict(&edited);
        assert_eq!(v.first_problem, Some(3), "{}", v.render("j"));
        assert!(
            problems(&v)[0].1.starts_with("edited"),
            "{:?}",
            problems(&v)
        );
        assert_eq!(problems(&v).len(), 1);

        let mut removed = all.clone();
        removed.remove(3);
        let v = verdict(&removed.concat());
        assert_eq!(
            problems(&v),
            [(4, "removed: 1 line missing before it (seq 4)".to_string())]
        );

        let mut swapped = all.clone();
        swapped.swap(1, 2);
        let v = verdict(&swapped.concat());
        assert_eq!(
            problems(&v),
            [(
                2,
                "moved: swapped with line 3 (seq 3 is written before seq 2)".to_string()
            )]
        );

        // A line moved further down: named where it is, with where it belongs.
        let mut moved = all.clone();
        let l = moved.remove(1);
        moved.insert(4, l);
        let v = verdict(&moved.concat());
        assert_eq!(
            problems(&v),
            [(5, "moved: seq 2 belongs before line 2, after seq 1".into())]
        );
        // A line moved further up.
        let mut moved = all.clone();
        let l = moved.remove(4);
        moved.insert(1, l);
        let v = verdict(&moved.concat());
        assert_eq!(
            problems(&v),
            [(2, "moved: seq 5 is written before seq 2 (line 3)".into())]
        );
    }

    #[test]
    fn unchained_lines_are_named_and_the_chain_goes_on_after_them() {
        let old = b"{\"key\":\"sha256:00000000000000000000000000000001\",\"provider\":\"ciam\",\"index\":0,\"target\":{},\"status\":\"revoked\",\"ok\":true,\"at\":\"2026-12-01T10:00:00.000Z\"}\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        std::fs::write(&path, old).unwrap();
        let (mut j, done) = Journal::open(&path).unwrap();
        assert_eq!(done.len(), 1, "an old line still loads");
        j.append("sha256:00000000000000000000000000000002", &record(1), false)
            .unwrap();
        drop(j);
        let v = verdict(&std::fs::read(&path).unwrap());
        let p = problems(&v);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].1.starts_with("unchained: line 1 has"), "{p:?}");
        assert_eq!(v.chained, 1);
    }

    #[test]
    fn a_long_line_is_named_not_held() {
        let mut bytes = journal(&[(2, false)]);
        let mut long = vec![b'x'; MAX_LINE * 3];
        long.push(b'\n');
        let all = lines(&bytes);
        bytes = [all[0].clone(), long, all[1].clone()].concat();
        let v = verdict(&bytes);
        assert_eq!(problems(&v).len(), 1);
        assert_eq!(problems(&v)[0].0, 2);
        assert!(problems(&v)[0].1.starts_with("longer than 64 KiB"));
    }

    #[derive(Debug, Clone)]
    enum Change {
        Edit(usize),
        Remove(usize),
        Swap(usize, usize),
        /// A whole line cut to a fragment by hand: not a crash's.
        Cut(usize),
    }

    /// Steps of a plan append from their own threads through shared handles: one chain, in
    /// the order of the writes.
    #[test]
    fn handles_on_threads_write_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (j, _) = Journal::open(&path).unwrap();
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let mut h = j.share().unwrap();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let n = t * 1000 + i;
                        h.append(&format!("sha256:{n:032x}"), &record(n), false)
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let v = verdict(&std::fs::read(&path).unwrap());
        assert!(v.intact(), "{}", v.render("j"));
        assert_eq!((v.chained, v.last_seq), (800, 800));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever a file holds (seqs at the edges of u64, garbage, empty and whole lines in
        /// any order), the check ends with a verdict; and a journal opened after it chains on.
        #[test]
        fn any_file_gets_a_verdict(
            picks in proptest::collection::vec((any::<u8>(), any::<u64>(), any::<u8>()), 0..40),
        ) {
            let all = lines(&journal(&[(6, false)]));
            let mut file = Vec::new();
            for (kind, seq, i) in picks {
                match kind % 5 {
                    0 => file.extend_from_slice(&all[i as usize % all.len()]),
                    1 => file.extend_from_slice(format!(
                        "{{\"seq\":{},\"prev\":\"{GENESIS}\",\"key\":\"k\",\"status\":\"revoked\",\"ok\":true,\"at\":\"t\"}}\n",
                        [0, 1, u64::MAX, u64::MAX - 1, seq][i as usize % 5]
                    ).as_bytes()),
                    2 => file.extend_from_slice(b"\n"),
                    3 => file.extend_from_slice(&[i; 7]),
                    _ => file.extend_from_slice(b"{\"seq\":"),
                }
            }
            let v = verdict(&file);
            let _ = v.render("j");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("j");
            std::fs::write(&path, &file).unwrap();
            let (mut j, _) = Journal::open(&path).unwrap();
            j.append("sha256:00000000000000000000000000000001", &record(0), false).unwrap();
        }

        /// Any sequence of runs (with crashes between them) verifies; any one edit, removal
        /// or cut (but of the last line: nothing after it holds its hash) or swap of journal
        /// lines does not.
        #[test]
        fn appends_verify_and_one_change_is_seen(
            runs in proptest::collection::vec((1usize..6, any::<bool>()), 1..4),
            pick in any::<(usize, usize, u8)>(),
        ) {
            let bytes = journal(&runs);
            let v = verdict(&bytes);
            prop_assert!(v.intact(), "{}", v.render("j"));
            let all = lines(&bytes);
            // The whole journal lines (not the crash cuts), by position in the file.
            let whole: Vec<usize> = (0..all.len())
                .filter(|i| all[*i].starts_with(b"{\"seq\"") && all[*i].ends_with(b"}\n"))
                .collect();
            prop_assume!(whole.len() >= 2);
            let change = match pick.2 % 4 {
                3 => Change::Cut(whole[pick.0 % (whole.len() - 1)]),
                0 => Change::Edit(whole[pick.0 % (whole.len() - 1)]),
                1 => Change::Remove(whole[pick.0 % (whole.len() - 1)]),
                _ => {
                    let a = pick.0 % whole.len();
                    let b = (a + 1 + pick.1 % (whole.len() - 1)) % whole.len();
                    Change::Swap(whole[a.min(b)], whole[a.max(b)])
                }
            };
            let mut changed = all.clone();
            match change {
                Change::Edit(i) => {
                    let text = String::from_utf8(changed[i].clone()).unwrap();
                    changed[i] = text.replacen("\"index\":", "\"index\":1", 1).into_bytes();
                }
                Change::Remove(i) => {
                    changed.remove(i);
                }
                Change::Swap(i, j) => changed.swap(i, j),
                Change::Cut(i) => {
                    let keep = 1 + pick.1 % (changed[i].len() - 2);
                    changed[i].truncate(keep);
                    changed[i].push(b'\n');
                }
            }
            let v = verdict(&changed.concat());
            prop_assert!(!v.intact(), "{change:?} not seen:\n{}", v.render("j"));
        }
    }
}
