//! Everything a run prints: per-target records (text or NDJSON on stdout), journal lines, the
//! progress bar and the summary.
//!
//! One writer thread owns stdout, the journal and the progress bar, fed by a channel: request
//! tasks never wait on a lock to report, and output is flushed whenever the channel runs dry,
//! so a consumer such as `jq` sees each record as soon as it is finished. Records hold only
//! fingerprints and ids; free text in them has already been scrubbed by the engine.

use std::io::{IsTerminal, Write};
use std::thread::JoinHandle;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::exit::{self, Ended, RunEnd, RunFlags};
use crate::journal::Journal;
use crate::record::{Record, Summary};

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
}

pub struct Entry {
    pub record: Record,
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
        Sink::spawn(cfg, Box::new(std::io::stdout()), tty)
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
    stdout_failed: bool,
    stdout_tty: bool,
    summary: Summary,
    bar: Option<ProgressBar>,
    journal_failed: bool,
}

impl Writer {
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

    fn entry(&mut self, e: Entry) {
        self.summary.add(e.record.status);
        let mut text = match self.cfg.format {
            Format::Json => serde_json::to_string(&e.record).unwrap_or_default(),
            Format::Text => text_line(&e.record),
        };
        text.push('\n');
        if self.cfg.format == Format::Text
            && let Some(r) = &e.rendered
        {
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
            // A closed pipe (`| head`) stops the printing, not the run: the remaining targets
            // are still revoked and journaled.
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
    fn stdout_lost(&mut self, e: std::io::Error) {
        self.stdout_ok = false;
        self.stdout_failed |= e.kind() != std::io::ErrorKind::BrokenPipe;
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
        let code = exit::code(&Ended::Ran(self.end(flags)));
        match self.cfg.format {
            Format::Json => {
                let line = SummaryLine {
                    summary: self.summary,
                    exit_code: code,
                };
                let mut text = serde_json::to_string(&line).unwrap_or_default();
                text.push('\n');
                self.write(text.as_bytes());
            }
            Format::Text if !self.cfg.quiet => {
                eprintln!("{}", summary_line(self.cfg.provider, &self.summary, code));
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

/// `revoked          ciam token=sha256:1f2e3d4c5b6a  HTTP 200, 1 attempt, 4 ms`
pub fn text_line(r: &Record) -> String {
    let mut line = format!(
        "{:<15} {} {}",
        r.status.as_str(),
        r.provider,
        target_text(&r.target)
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
    if r.attempts > 0 {
        facts.push(format!("{} ms", r.elapsed_ms));
    }
    if let Some(id) = &r.request_id {
        facts.push(format!("request {id}"));
    }
    if let Some(e) = &r.error {
        line.push_str(&format!("  {}: {}", e.code, e.message));
    }
    if !facts.is_empty() {
        line.push_str(&format!("  ({})", facts.join(", ")));
    }
    line
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
    format!(
        "{provider}: {} target{}{}{}; exit {code}",
        s.total,
        if s.total == 1 { "" } else { "s" },
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RecordError, Status};

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
        };
        assert_eq!(
            text_line(&r),
            "failed          smh user_ids=u11,u12  WrongLibraryIdOrSecret: wrong  (HTTP 404, 1 attempt, 9 ms, request r-1)"
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
