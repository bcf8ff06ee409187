//! Logs on stderr, never stdout, with every known secret scrubbed from each line.
//!
//! `-q` shows errors only, the default adds warnings, `-v` info, `-vv` the requests (masked),
//! `-vvv` the answers. `RUST_LOG` replaces this mapping when set. Whatever the filter, each
//! formatted line passes through the global [`Redactor`] before it is written: a secret that
//! reached a log call by mistake, or a dependency's log line, still prints as `***`.

use std::io::Write;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::secret::Redactor;

pub fn init(verbose: u8, quiet: bool) {
    let default = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "warn,revoke=info",
            2 => "warn,revoke=debug",
            _ => "info,revoke=trace",
        }
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => {
            EnvFilter::try_new(v).unwrap_or_else(|_| EnvFilter::new(default))
        }
        _ => EnvFilter::new(default),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ScrubbedStderr)
        .with_ansi(false)
        .event_format(Prefixed)
        .try_init();
}

/// Every log line in the house style, `revoke: warning: ...` as `revoke: error: ...`: the
/// level spelt out after the program's name, then the message and its fields.
struct Prefixed;

impl<S, N> FormatEvent<S, N> for Prefixed
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let level = match *meta.level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "revoke: {level}: ")?;
        // A dependency's line (-vvv, RUST_LOG) says where it came from.
        if !meta.target().starts_with("revoke") {
            write!(writer, "{}: ", meta.target())?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

pub struct ScrubbedStderr;

pub struct LineWriter {
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let clean = Redactor::global().scrub(&text);
        // Control characters from an answer body (-vvv) are shown escaped: a server cannot
        // drive the terminal. Line ends stay: requests and answers are logged over lines.
        let shown: String = clean
            .split('\n')
            .map(|l| crate::report::text::escape(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        // A failed write on stderr never aborts the run.
        let _ = std::io::stderr().write_all(shown.as_bytes());
    }
}

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { buf: Vec::new() }
    }
}

/// Writes one message line on stderr, scrubbed, control characters escaped; a failed write on
/// stderr is ignored (it must never abort the run, unlike `eprintln!`).
pub fn say(line: &str) {
    let clean = Redactor::global().scrub(line);
    let shown = crate::report::text::escape(&clean);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(shown.as_bytes());
    let _ = err.write_all(b"\n");
}

/// Panic messages go through the redactor too.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        let clean = Redactor::global().scrub(&msg);
        let _ = writeln!(
            std::io::stderr(),
            "revoke: error: internal error: {clean}\nThis is a bug; please report it, with the output of `revoke version --json`."
        );
    }));
}

/// An error that ends the run or that the user must see whatever the verbosity: one line on
/// stderr, `revoke: error: ...`, with every known secret scrubbed.
pub fn error(message: &str) {
    say(&format!("revoke: error: {message}"));
}
