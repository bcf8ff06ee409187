//! The sink: everything a run prints goes through it. Per-target records (text or NDJSON on
//! stdout), journal lines, the progress bar and the summary.
//!
//! One writer thread owns stdout, the journal and the progress bar, fed by a channel: request
//! tasks never wait on a lock to report, and output is flushed whenever the channel runs dry,
//! so a consumer such as `jq` sees each record as soon as it is finished.
//!
//! The writer is the one choke point every provider-originated text passes before it reaches
//! stdout or the journal, whatever the status: each record goes through [`clean`] first (every
//! credential and its own request's secrets masked, a provider's message cut), then is
//! rendered; text lines escape control characters in every field ([`escape`]), so a server can
//! neither drive the terminal nor forge a line.

use std::io::{IsTerminal, Write};
use std::thread::JoinHandle;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::report::exit::{self, Ended, RunEnd, RunFlags};
use crate::report::journal::Journal;
use crate::report::record::{Record, RowTag, Summary};
use crate::report::scrub::clean;
use crate::report::stdio::stdout;
use crate::report::text::{
    STATUS_WIDTH, VERIFY_STATUS_WIDTH, escape, summary_line, text_line_in, unverifiable,
};
use crate::secret::Redactor;

/// `--output`: text lines, or NDJSON records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub struct SinkConfig {
    pub format: Format,
    pub quiet: bool,
    /// Draw a progress bar (the caller has checked the terminal and the flags); `Some(total)`
    /// when the number of targets is known up front.
    pub progress: Option<Option<u64>>,
    pub journal: Option<Journal>,
    pub missing_ok: bool,
    pub provider: &'static str,
    /// The step of a plan these records belong to; `None` for a single command's run, whose
    /// records are exactly the contract's record.
    pub step: Option<StepTag>,
    /// `--verify`: text lines make room for `already_invalid, unverified` in the status column.
    pub verify: bool,
    /// `--ticket` and `--actor`, copied into every record (and so every journal line).
    pub evidence: Evidence,
}

/// Who ran a run and under which ticket: the same for every record of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub ticket: Option<String>,
    pub actor: Option<String>,
}

/// Which step of a plan a record belongs to: each record and the step's summary carry it.
#[derive(Debug, Clone)]
pub struct StepTag {
    /// The step's 0-based position in the plan.
    pub step: usize,
    /// The step's `name`, when the plan gives one.
    pub name: Option<String>,
    /// The row of `--each` the step runs for.
    pub row: Option<RowTag>,
    /// `revoke token`: what the step's records say beyond the contract's fields.
    pub notes: Option<std::sync::Arc<Notes>>,
}

/// `revoke token`: the route of a step's tokens, and what each token said of itself, by the
/// record's `index`.
#[derive(Debug, Clone, Default)]
pub struct Notes {
    pub route: Option<Value>,
    pub targets: Vec<TargetNotes>,
}

/// What one token said of itself: its expiry, the scanner's finding it came from.
#[derive(Debug, Clone, Default)]
pub struct TargetNotes {
    /// This token's own route (its issuer and how it was matched), over the step's.
    pub route: Option<Value>,
    pub expires_at: Option<String>,
    pub finding: Option<Value>,
    /// Where the token came from (`FILE:LINE`, `arg:N`, the report's finding), which the
    /// step's own targets no longer know.
    pub source: Option<String>,
}

impl StepTag {
    /// How text output names the step: `[step 1]`, `[step 3 CI bearer tokens]`, over rows
    /// `[bob step 1]`. Text is read by people, and the contract's messages count steps from 1:
    /// the step whose records carry `"step": 0` is `step 1` here, as in every message.
    fn label(&self) -> String {
        let row = match self.shown_row() {
            Some(r) => format!("{} ", escape(&r.key)),
            None => String::new(),
        };
        let n = self.step + 1;
        match &self.name {
            Some(name) => format!("[{row}step {n} {}]", escape(name)),
            None => format!("[{row}step {n}]"),
        }
    }

    fn shown_row(&self) -> Option<RowTag> {
        self.row.as_ref().map(RowTag::shown)
    }
}

/// A record of a plan's step, as printed: `step` (and `name`) first, then the record.
#[derive(serde::Serialize)]
struct Tagged<'a> {
    step: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(flatten)]
    record: &'a Record,
}

/// A step's summary object: `{"step":N,"summary":{..},"exit_code":..}`.
#[derive(serde::Serialize)]
struct StepSummaryLine<'a> {
    step: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<&'a RowTag>,
    summary: Summary,
    exit_code: u8,
}

pub struct Entry {
    pub record: Record,
    /// The id the record's own request secrets are known by to the [`Redactor`] while it is in
    /// flight (unique in the process, across a plan's steps); `None` for a record that never
    /// had a request.
    pub scrub_id: Option<u64>,
    /// Where the record goes in the journal; `None` when it must not be journaled (journal
    /// hits from an earlier run, planned requests).
    pub journal_key: Option<String>,
    /// For `planned` records in text mode: the masked request.
    pub rendered: Option<String>,
}

enum Msg {
    Entry(Box<Entry>),
    /// A journal line written ahead of its record (identity-store `--verify` holds the records
    /// for the listing after the deletes; the journal does not wait for it).
    Journal(Box<Entry>),
    Finish(RunFlags),
}

#[derive(Clone)]
pub struct SinkHandle {
    tx: mpsc::Sender<Msg>,
}

impl SinkHandle {
    pub async fn emit(&self, entry: Entry) {
        // The writer outlives every sender; a failed send means it already stopped (a panic),
        // which the join reports.
        let _ = self.tx.send(Msg::Entry(Box::new(entry))).await;
    }

    /// Writes the journal line of `entry` (with its `journal_key`) now, and nothing else: its
    /// record follows later, through [`SinkHandle::emit`], without a key of its own unless its
    /// status has changed since.
    pub async fn journal(&self, entry: Entry) {
        let _ = self.tx.send(Msg::Journal(Box::new(entry))).await;
    }
}

pub struct Sink {
    handle: SinkHandle,
    thread: JoinHandle<RunEnd>,
}

/// What the writer knows when the run is over.
pub struct Finished {
    pub end: RunEnd,
    /// `exit::code` of `end`, as printed in the summary.
    pub exit_code: u8,
}

impl Sink {
    /// Records go to stdout.
    pub fn start(cfg: SinkConfig) -> Sink {
        let tty = std::io::stdout().is_terminal();
        Sink::spawn(cfg, stdout(), tty)
    }

    /// Records go to `out` instead of stdout (tests capture them this way, in-process); it is
    /// treated as a pipe, never as a terminal. Everything else, journal included, is as with
    /// [`Sink::start`].
    pub fn start_with_writer(cfg: SinkConfig, out: Box<dyn Write + Send>) -> Sink {
        Sink::spawn(cfg, out, false)
    }

    fn spawn(cfg: SinkConfig, out: Box<dyn Write + Send>, out_tty: bool) -> Sink {
        let (tx, rx) = mpsc::channel(1024);
        let thread = std::thread::Builder::new()
            .name("revoke-output".into())
            .spawn(move || Writer::new(cfg, out, out_tty).run(rx))
            .expect("spawn output thread");
        Sink {
            handle: SinkHandle { tx },
            thread,
        }
    }

    pub fn handle(&self) -> SinkHandle {
        self.handle.clone()
    }

    pub async fn finish(self, flags: RunFlags) -> Finished {
        let _ = self.handle.tx.send(Msg::Finish(flags)).await;
        drop(self.handle);
        let end = tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .expect("join output thread")
            .expect("output thread panicked");
        Finished {
            end,
            exit_code: exit::code(&Ended::Ran(end)),
        }
    }
}

struct Writer {
    cfg: SinkConfig,
    out: std::io::BufWriter<Box<dyn Write + Send>>,
    stdout_ok: bool,
    /// stdout failed with something other than a closed pipe: reported, and the exit code is 1.
    stdout_failed: bool,
    stdout_tty: bool,
    /// `--verify`: records verified, still active, unverifiable (for the text summary).
    verify_counts: (u64, u64, u64),
    summary: Summary,
    bar: Option<ProgressBar>,
    journal_failed: bool,
}

impl Writer {
    fn status_width(&self) -> usize {
        if self.cfg.verify {
            VERIFY_STATUS_WIDTH
        } else {
            STATUS_WIDTH
        }
    }

    fn new(mut cfg: SinkConfig, out: Box<dyn Write + Send>, out_tty: bool) -> Writer {
        let bar = cfg.progress.take().map(|total| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let style = match total {
                Some(_) => "{spinner} {pos}/{len} [{bar:30}] {rate} eta {eta}",
                None => "{spinner} {pos} done, {rate}",
            };
            if let Ok(s) = ProgressStyle::with_template(style) {
                let s = s
                    .with_key(
                        "rate",
                        |st: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", st.per_sec());
                        },
                    )
                    .progress_chars("=> ");
                bar.set_style(s);
            }
            bar
        });
        Writer {
            cfg,
            out: std::io::BufWriter::with_capacity(64 * 1024, out),
            stdout_ok: true,
            stdout_failed: false,
            stdout_tty: out_tty,
            verify_counts: (0, 0, 0),
            summary: Summary::default(),
            bar,
            journal_failed: false,
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Msg>) -> RunEnd {
        loop {
            let msg = match rx.try_recv() {
                Ok(m) => m,
                Err(mpsc::error::TryRecvError::Empty) => {
                    self.flush();
                    match rx.blocking_recv() {
                        Some(m) => m,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            match msg {
                Msg::Entry(e) => self.entry(*e),
                Msg::Journal(mut e) => {
                    self.complete(&mut e);
                    self.journal(&e);
                }
                Msg::Finish(flags) => return self.finish(flags),
            }
        }
        self.finish(RunFlags::default())
    }

    /// What the writer adds to every record before it is written: the step's notes, the
    /// ticket and actor; then the scrubber.
    fn complete(&self, e: &mut Entry) {
        // The row's key is a value from a file: scrubbed as the record's own texts are (a
        // first column that holds the row's token shows masked).
        if let Some(tag) = &self.cfg.step {
            e.record.row.clone_from(&tag.row);
            if let Some(notes) = &tag.notes {
                if notes.route.is_some() {
                    e.record.route.clone_from(&notes.route);
                }
                if let Some(t) = usize::try_from(e.record.index)
                    .ok()
                    .and_then(|i| notes.targets.get(i))
                {
                    if t.route.is_some() {
                        e.record.route.clone_from(&t.route);
                    }
                    e.record.expires_at.clone_from(&t.expires_at);
                    e.record.finding.clone_from(&t.finding);
                    if t.source.is_some() {
                        e.record.source.clone_from(&t.source);
                    }
                }
            }
        }
        // Before the scrubber: a secret given as `--ticket` by mistake is masked too.
        e.record.ticket.clone_from(&self.cfg.evidence.ticket);
        e.record.actor.clone_from(&self.cfg.evidence.actor);
        clean(&mut e.record, e.scrub_id);
    }

    fn journal(&mut self, e: &Entry) {
        if let (Some(j), Some(key)) = (self.cfg.journal.as_mut(), e.journal_key.as_deref()) {
            // The record is out; the journal line follows at once, so that a rerun never
            // resends a target this run finished. Flushed to the OS by the write itself.
            if let Err(msg) = j.append(key, &e.record, self.cfg.missing_ok)
                && !self.journal_failed
            {
                self.journal_failed = true;
                tracing::error!("{msg}");
            }
        }
    }

    fn entry(&mut self, mut e: Entry) {
        self.complete(&mut e);
        match e.record.verified {
            Some(true) => self.verify_counts.0 += 1,
            Some(false) => self.verify_counts.1 += 1,
            None if unverifiable(&e.record) => self.verify_counts.2 += 1,
            None => {}
        }
        self.summary.count(&e.record);
        let mut text = match (self.cfg.format, &self.cfg.step) {
            (Format::Json, None) => serde_json::to_string(&e.record).unwrap_or_default(),
            (Format::Json, Some(tag)) => serde_json::to_string(&Tagged {
                step: tag.step,
                name: tag.name.as_deref(),
                record: &e.record,
            })
            .unwrap_or_default(),
            (Format::Text, None) => text_line_in(&e.record, self.status_width()),
            (Format::Text, Some(tag)) => format!(
                "{} {}",
                tag.label(),
                text_line_in(&e.record, self.status_width())
            ),
        };
        text.push('\n');
        if self.cfg.format == Format::Text
            && let Some(r) = &e.rendered
        {
            // The request as it would be sent is masked by its builder; the redactor is the
            // second line (a secret given as a plain option's value, `--client-id "$SECRET"`).
            let r = Redactor::global().scrub(r);
            for line in r.lines() {
                if !line.is_empty() {
                    text.push_str("    ");
                    text.push_str(line);
                }
                text.push('\n');
            }
        }
        self.write(text.as_bytes());
        self.journal(&e);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if !self.stdout_ok {
            return;
        }
        let res = match (&self.bar, self.stdout_tty) {
            (Some(bar), true) => bar.suspend(|| {
                self.out.write_all(bytes)?;
                self.out.flush()
            }),
            _ => self.out.write_all(bytes),
        };
        if let Err(e) = res {
            self.stdout_lost(e);
        }
    }

    fn flush(&mut self) {
        if self.stdout_ok
            && let Err(e) = self.out.flush()
        {
            self.stdout_lost(e);
        }
    }

    /// Stops printing; any failure but a closed pipe also makes the exit code at least 1.
    /// A closed pipe (`| head`) stops the printing, not the run: the remaining targets are
    /// still revoked and journaled. Any other failure (a full disk, a closed descriptor) is
    /// also said once on stderr and makes the exit code at least 1.
    fn stdout_lost(&mut self, e: std::io::Error) {
        self.stdout_ok = false;
        if e.kind() != std::io::ErrorKind::BrokenPipe && !self.stdout_failed {
            self.stdout_failed = true;
            crate::report::logging::say(&format!(
                "revoke: error: cannot write the records to stdout: {e}; the run goes on{}",
                if self.cfg.journal.is_some() {
                    " and the journal is still written"
                } else {
                    ""
                }
            ));
        }
    }

    fn end(&self, flags: RunFlags) -> RunEnd {
        RunEnd {
            summary: self.summary,
            flags,
            journal_failed: self.journal_failed,
            stdout_failed: self.stdout_failed,
        }
    }

    fn finish(mut self, flags: RunFlags) -> RunEnd {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let flags = RunFlags {
            missing_ok: self.cfg.missing_ok,
            ..flags
        };
        let mut code = exit::code(&Ended::Ran(self.end(flags)));
        match self.cfg.format {
            Format::Json => {
                let line = match &self.cfg.step {
                    None => serde_json::to_string(&SummaryLine {
                        summary: self.summary,
                        exit_code: code,
                    }),
                    Some(tag) => serde_json::to_string(&StepSummaryLine {
                        step: tag.step,
                        name: tag.name.as_deref(),
                        row: tag.shown_row().as_ref(),
                        summary: self.summary,
                        exit_code: code,
                    }),
                };
                let mut text = line.unwrap_or_default();
                text.push('\n');
                self.write(text.as_bytes());
            }
            Format::Text if !self.cfg.quiet => {
                // After the last record, which may still sit in the buffer.
                self.flush();
                code = exit::code(&Ended::Ran(self.end(flags)));
                let mut line = summary_line(self.cfg.provider, &self.summary, code);
                let (v, a, u) = self.verify_counts;
                if v + a + u > 0 {
                    line.push_str(&format!(
                        " (--verify: {v} verified, {a} still active, {u} unverifiable)"
                    ));
                }
                match &self.cfg.step {
                    None => crate::report::logging::say(&line),
                    Some(tag) => crate::report::logging::say(&format!("{} {line}", tag.label())),
                }
            }
            Format::Text => {}
        }
        self.flush();
        self.end(flags)
    }
}

/// The last NDJSON line: `{"summary":{...},"exit_code":N}`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SummaryLine {
    pub summary: Summary,
    pub exit_code: u8,
}
