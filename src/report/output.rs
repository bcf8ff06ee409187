//! Everything a run prints: per-target records (text or NDJSON on stdout), journal lines, the
//! progress bar and the summary.
//!
//! One writer thread owns stdout, the journal and the progress bar, fed by a channel: request
//! tasks never wait on a lock to report, and output is flushed whenever the channel runs dry,
//! so a consumer such as `jq` sees each record as soon as it is finished.
//!
//! The writer is the one choke point every provider-originated text passes before it reaches
//! stdout or the journal, whatever the status: [`clean`] scrubs each record (request id, data,
//! error, target) of every credential and of its own request's secrets, and cuts a provider's
//! message to [`MAX_MESSAGE`]. Text rendering escapes control characters in every field, so a
//! server can neither drive the terminal nor forge a line.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::report::exit::{self, Ended, RunEnd, RunFlags};
use crate::report::journal::Journal;
use crate::report::record::{Record, Status, Summary};
use crate::secret::Redactor;

/// The longest provider message a record carries, in bytes.
pub const MAX_MESSAGE: usize = 1024;

/// The longest request id a record carries, in bytes.
const MAX_REQUEST_ID: usize = 256;

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
}

pub use crate::report::record::RowTag;

impl StepTag {
    /// How text output names the step: `[0]`, `[2 CI bearer tokens]`.
    fn label(&self) -> String {
        let row = match &self.row {
            Some(r) => format!("{} ", escape(&r.key)),
            None => String::new(),
        };
        match &self.name {
            Some(n) => format!("[{row}{} {}]", self.step, escape(n)),
            None => format!("[{row}{}]", self.step),
        }
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

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output as the sink writes to it. The standard library writes to a closed stdout
/// (`>&-`) as to `/dev/null`, silently: such a run must say that its records went nowhere.
pub fn stdout() -> Box<dyn Write + Send> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        Box::new(Closed)
    } else {
        Box::new(std::io::stdout())
    }
}

/// Run first thing in `main`: was stdout closed when the process started (`revoke >&-`)?
/// The standard library's start-up then opens `/dev/null` (read-write) on the closed number so
/// that no other file takes it, and every record would vanish without a word. It is recognised
/// by that: descriptor 1 on `/dev/null` with read-write access, which a shell's `>/dev/null`
/// (write-only) never gives. The sink then reports it, and the exit code is at least 1.
pub fn guard_standard_descriptors() {
    #[cfg(target_os = "linux")]
    {
        let null = std::fs::read_link("/proc/self/fd/1")
            .map(|p| p == std::path::Path::new("/dev/null"))
            .unwrap_or(false);
        let read_write = std::fs::read_to_string("/proc/self/fdinfo/1")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("flags:"))
                    .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
            })
            .is_some_and(|flags| flags & 0o3 == 0o2);
        if null && read_write {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// What records are written to when stdout was closed: every write fails as the OS would.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from_raw_os_error(9))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(9))
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
                Msg::Finish(flags) => return self.finish(flags),
            }
        }
        self.finish(RunFlags::default())
    }

    fn entry(&mut self, mut e: Entry) {
        // The row's key is a value from a file: scrubbed as the record's own texts are (a
        // first column that holds the row's token shows masked).
        if let Some(tag) = &self.cfg.step {
            e.record.row.clone_from(&tag.row);
        }
        clean(&mut e.record, e.scrub_id);
        e.record.ticket.clone_from(&self.cfg.evidence.ticket);
        e.record.actor.clone_from(&self.cfg.evidence.actor);
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
                        row: tag.row.as_ref(),
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

/// The status column of text output: the longest status (`already_invalid`), or with
/// `--verify` the longest status with its verification (`already_invalid, unverified`).
pub const STATUS_WIDTH: usize = 15;
pub const VERIFY_STATUS_WIDTH: usize = 27;

/// Whether `--verify` was meant to prove this record and could not: its reason is the
/// record's `Unverified` error, or (an `already_invalid` record keeps the provider's own note)
/// verification requests were sent for it.
fn unverifiable(r: &Record) -> bool {
    r.verified.is_none()
        && matches!(r.status, Status::Revoked | Status::AlreadyInvalid)
        && (r.error.as_ref().is_some_and(|e| e.code == "Unverified") || r.verify_attempts > 0)
}

/// `revoked          ciam token=sha256:1f2e3d4c5b6a  HTTP 200, 1 attempt, 4 ms`
pub fn text_line(r: &Record) -> String {
    text_line_in(r, STATUS_WIDTH)
}

/// [`text_line`] with a status column `width` wide.
pub fn text_line_in(r: &Record, width: usize) -> String {
    // `--verify` at a glance: `revoked, verified` vs `revoked, unverified`.
    let status = match r.verified {
        Some(true) => format!("{}, verified", r.status.as_str()),
        None if unverifiable(r) => format!("{}, unverified", r.status.as_str()),
        _ => r.status.as_str().to_string(),
    };
    // A replay says so where the status is read: it was not sent in this run.
    let status = match &r.from_journal {
        Some(at) => format!(
            "{status} (from the journal, {}; {})",
            journal_time(at),
            if r.status == crate::report::record::Status::Planned {
                "would not be sent again"
            } else {
                "not sent again"
            }
        ),
        None => status,
    };
    let mut line = format!(
        "{:<width$} {} {}",
        status,
        escape(&r.provider),
        escape(&target_text(&r.target))
    );
    let mut facts = Vec::new();
    if let Some(s) = r.http_status {
        facts.push(format!("HTTP {s}"));
    }
    if r.attempts > 0 {
        facts.push(format!(
            "{} attempt{}",
            r.attempts,
            if r.attempts == 1 { "" } else { "s" }
        ));
    }
    if r.verify_attempts > 0 {
        facts.push(format!(
            "{} verification request{}",
            r.verify_attempts,
            if r.verify_attempts == 1 { "" } else { "s" }
        ));
    }
    if r.attempts > 0 {
        facts.push(format!("{} ms", r.elapsed_ms));
    }
    if let Some(id) = &r.request_id {
        facts.push(format!("request {}", escape(id)));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!("  {}: {}", escape(&e.code), escape(&e.message)));
    }
    if !facts.is_empty() {
        line.push_str(&format!("  ({})", facts.join(", ")));
    }
    line
}

/// `2026-12-04 21:36 UTC`, from the record's RFC 3339 time.
fn journal_time(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => t.to_utc().format("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => escape(at).into_owned(),
    }
}

fn target_text(target: &Value) -> String {
    let Value::Object(map) = target else {
        return target.to_string();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Null => "-".to_string(),
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            format!("{k}={v}")
        })
        .collect();
    parts.join(" ")
}

/// `text` with every control character (C0, DEL, C1), the Unicode line separators and the
/// bidirectional overrides shown escaped (`\n`, `\u{1b}`), never raw: one record stays one
/// line, and a server cannot drive the terminal.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if bad(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The sink's scrubber: every credential and the record's own request secrets masked in every
/// text a provider or an input put in the record, whatever its status; the provider's message
/// cut to [`MAX_MESSAGE`] (after scrubbing, so no secret is cut into an unrecognised prefix).
/// The request's secrets (known by `scrub_id`) are forgotten afterwards.
pub fn clean(r: &mut Record, scrub_id: Option<u64>) {
    let redactor = Redactor::global();
    let scrub = |t: &str| match scrub_id {
        Some(id) => redactor.scrub_for(id, t),
        None => redactor.scrub(t).into_owned(),
    };
    if let Some(rid) = r.request_id.take() {
        r.request_id = Some(cut(scrub(&rid), MAX_REQUEST_ID));
    }
    if let Some(d) = r.data.as_mut() {
        clean_value(d, &scrub);
    }
    clean_value(&mut r.target, &scrub);
    if let Some(row) = r.row.as_mut() {
        row.key = scrub(&row.key);
    }
    if let Some(e) = r.error.as_mut() {
        e.code = cut(scrub(&e.code), MAX_REQUEST_ID);
        e.message = cut(scrub(&e.message), MAX_MESSAGE);
    }
    if let Some(id) = scrub_id {
        redactor.leave(id);
    }
}

fn clean_value(v: &mut Value, scrub: &dyn Fn(&str) -> String) {
    match v {
        Value::String(s) => *s = scrub(s),
        Value::Array(a) => a.iter_mut().for_each(|x| clean_value(x, scrub)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut x) in old {
                clean_value(&mut x, scrub);
                map.insert(scrub(&k), x);
            }
        }
        _ => {}
    }
}

/// `text` cut to at most `max` bytes on a character boundary, saying that it was cut.
pub fn cut(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}... [cut at {} bytes of {}]",
        &text[..end],
        max,
        text.len()
    )
}

pub fn summary_line(provider: &str, s: &Summary, code: u8) -> String {
    let counts = [
        (s.revoked, "revoked"),
        (s.already_invalid, "already invalid"),
        (s.not_found, "not found"),
        (s.failed, "failed"),
        (s.skipped, "skipped"),
        (s.planned, "planned"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    // How many came from the journal, and how many were sent now: a replay is not a send.
    let replays = match (s.from_journal, s.planned) {
        (0, _) => String::new(),
        (n, p) if p > 0 => format!(" ({n} from the journal, would not be sent again)"),
        (n, _) => format!(" ({} sent now, {n} from the journal)", s.sent),
    };
    format!(
        "{provider}: {} target{}{}{}{replays}; exit {code}",
        s.total,
        if s.total == 1 { "" } else { "s" },
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::{RecordError, Status};

    #[test]
    fn text_lines_name_status_target_and_facts() {
        let r = Record {
            provider: "smh".into(),
            index: 1,
            target: serde_json::json!({"user_ids": ["u11", "u12"]}),
            status: Status::Failed,
            http_status: Some(404),
            attempts: 1,
            request_id: Some("r-1".into()),
            data: None,
            error: Some(RecordError {
                code: "WrongLibraryIdOrSecret".into(),
                message: "wrong".into(),
                retryable: false,
            }),
            elapsed_ms: 9,
            verified: None,
            verify_attempts: 0,
            from_journal: None,
            source: None,
            at: None,
            ticket: None,
            actor: None,
            row: None,
        };
        assert_eq!(
            text_line(&r),
            "failed          smh user_ids=u11,u12  WrongLibraryIdOrSecret: wrong  (HTTP 404, 1 attempt, 9 ms, request r-1)"
        );
    }

    #[test]
    fn verification_shows_at_a_glance() {
        let mut r = Record {
            provider: "ciam".into(),
            index: 0,
            target: serde_json::json!({"token": "sha256:1f2e3d4c5b6a"}),
            status: Status::Revoked,
            http_status: Some(200),
            attempts: 2,
            request_id: None,
            data: None,
            error: None,
            elapsed_ms: 4,
            verified: Some(true),
            verify_attempts: 0,
            from_journal: None,
            source: None,
            at: None,
            ticket: None,
            actor: None,
            row: None,
        };
        assert!(
            text_line(&r).starts_with("revoked, verified ciam token="),
            "{}",
            text_line(&r)
        );
        r.verified = None;
        r.error = Some(RecordError {
            code: "Unverified".into(),
            message: "not verified: x".into(),
            retryable: false,
        });
        assert!(
            text_line(&r).starts_with("revoked, unverified ciam"),
            "{}",
            text_line(&r)
        );
        r.verified = None;
        r.error = None;
        assert!(
            text_line(&r).starts_with("revoked         ciam"),
            "{}",
            text_line(&r)
        );
        // An already_invalid record keeps the provider's note; the checks sent for it say it
        // was meant to be verified.
        r.status = Status::AlreadyInvalid;
        r.verify_attempts = 1;
        r.error = Some(RecordError {
            code: "ACCESS_TOKEN_INVALID".into(),
            message: "x".into(),
            retryable: false,
        });
        assert!(unverifiable(&r));
        let line = text_line(&r);
        assert!(
            line.starts_with("already_invalid, unverified ciam")
                && line.contains("1 verification request,"),
            "{line}"
        );
    }

    #[test]
    fn summary_lists_nonzero_counts() {
        let mut s = Summary::default();
        s.add(Status::Revoked);
        s.add(Status::Failed);
        assert_eq!(
            summary_line("ciam", &s, 1),
            "ciam: 2 targets: 1 revoked, 1 failed; exit 1"
        );
    }
}
