//! Targets from positional arguments and `--input FILE|-`, streamed; and the one decoding path
//! that every line source shares (arguments, files, stdin, secret files).
//!
//! Decoding rules (the contract's "How target lines are read"): UTF-8 only; a UTF-8 byte-order
//! mark at the start of a source is removed, a UTF-16 one is refused with a hint; a line that is
//! not valid UTF-8 or is longer than [`MAX_LINE`] is a bad line; `\r\n` reads as `\n`; whitespace
//! is trimmed; blank lines and `#` comments are skipped.
//!
//! Positional targets come first, then the input's lines. Bad input is a usage error before
//! anything is sent: the arguments and a re-readable `--input` (a regular file) are checked up
//! front (the file is read twice, a line at a time, so memory stays flat). A source that can be
//! read only once (stdin, a pipe, a FIFO such as `<(cmd)`) is checked as it streams: a bad line
//! becomes a `failed` record with code `InvalidTarget`, and the run goes on.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};

use crate::report::stdio::terminal;

/// The longest line accepted, in bytes, line end excluded.
pub const MAX_LINE: usize = 64 * 1024;

/// How far past an over-long line we read looking for its end before giving up on the source
/// (`--input /dev/zero` must end, not spin).
const MAX_SKIP: u64 = 16 * 1024 * 1024;

/// The largest secret file accepted.
pub const MAX_SECRET: u64 = 64 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes one line's bytes (line end already removed or not): the first line of a source may
/// carry a UTF-8 byte-order mark, which is dropped. Returns the trimmed text.
pub fn decode(bytes: &[u8], first: bool) -> Result<&str, String> {
    let mut bytes = bytes;
    if first {
        if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
            bytes = rest;
        } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            return Err(
                "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8"
                    .into(),
            );
        }
    }
    if bytes.len() > MAX_LINE {
        return Err(format!("line longer than {} KiB", MAX_LINE / 1024));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.trim()),
        Err(e) => Err(format!(
            "not valid UTF-8 (byte {} of the line); save the file as UTF-8",
            e.valid_up_to() + 1
        )),
    }
}

/// Reads a whole secret (or small text) source, bounded by `limit` bytes, decoded as one UTF-8
/// text: BOM removed, UTF-16 refused (with a byte-order mark, or without: a NUL byte),
/// surrounding whitespace trimmed.
pub fn read_text(reader: impl Read, limit: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {} KiB", limit / 1024));
    }
    let mut b = &bytes[..];
    if let Some(rest) = b.strip_prefix(UTF8_BOM) {
        b = rest;
    } else if b.starts_with(b"\xFF\xFE") || b.starts_with(b"\xFE\xFF") {
        return Err(
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8".into(),
        );
    }
    let s = std::str::from_utf8(b).map_err(|e| {
        format!(
            "not valid UTF-8 (at byte {}); save the file as UTF-8",
            e.valid_up_to() + 1
        )
    })?;
    // UTF-16 without a byte-order mark is valid UTF-8 with a NUL after every ASCII letter: no
    // secret holds one, and sent as it is it would read as the credentials being wrong.
    if let Some(at) = b.iter().position(|&c| c == 0) {
        return Err(format!(
            "holds a NUL byte (at byte {}): UTF-16 without a byte-order mark?; save it as UTF-8",
            at + 1
        ));
    }
    Ok(s.trim().to_string())
}

pub enum InputSpec {
    /// Standard input (`--input -`).
    Stdin,
    /// A source that can be read again: checked whole before the run, then streamed.
    File(PathBuf),
    /// A path that can be read only once (a FIFO, `<(cmd)`, a socket, a terminal): streamed
    /// like stdin, its bad lines become `InvalidTarget` records.
    Stream(PathBuf),
}

pub struct Targets {
    args: Vec<String>,
    input: Option<InputSpec>,
    /// How many targets there are, when known up front (for the progress bar).
    pub count: Option<u64>,
}

pub use crate::providers::RawTarget;

pub type Check<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// A target check owned by the stream (for stdin lines).
pub type OwnedCheck = Box<dyn Fn(&str) -> Result<(), String> + Send>;

/// Whether a path can be read twice: regular files, and character devices that are not
/// terminals (`/dev/null`, `/dev/zero`: reading them again gives the same bytes).
fn rereadable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        // Let the open below report the error with its cause.
        return true;
    };
    let ft = meta.file_type();
    if ft.is_file() {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return File::open(path).map(|f| !f.is_terminal()).unwrap_or(true);
        }
    }
    false
}

/// Why `path` cannot hold targets: a directory, a socket, anything but a regular file, a FIFO
/// (`<(cmd)`) or a device (a terminal, `/dev/null`). A directory used to be read as one empty
/// line, and so one failed record, while the rest of a plan was sent.
fn not_a_source(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let ft = meta.file_type();
    if ft.is_dir() {
        return Some("a directory, not a file of targets (one per line)".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_socket() {
            return Some("a socket, not a file of targets (one per line)".into());
        }
        if ft.is_file() || ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            return None;
        }
        Some("not a file of targets (one per line)".into())
    }
    #[cfg(not(unix))]
    None
}

impl Targets {
    pub fn prepare(
        args: Vec<String>,
        input: Option<&Path>,
        check: Check,
    ) -> Result<Targets, String> {
        let mut kept = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            let t = decode(a.as_bytes(), false).map_err(|e| format!("target {i}: {e}"))?;
            if t.is_empty() {
                return Err(format!("target {i} is empty"));
            }
            check(t).map_err(|e| format!("target {i}: {e}"))?;
            kept.push(t.to_string());
        }
        let mut count = Some(kept.len() as u64);
        let input = match input {
            None => None,
            Some(p) if p.as_os_str() == "-" => {
                count = None;
                Some(InputSpec::Stdin)
            }
            Some(p) if let Some(why) = not_a_source(p) => {
                return Err(format!("--input {}: {why}", p.display()));
            }
            Some(p) if !rereadable(p) => {
                count = None;
                Some(InputSpec::Stream(p.to_path_buf()))
            }
            Some(p) => {
                let n = scan(p, check)?;
                count = count.map(|c| c + n);
                Some(InputSpec::File(p.to_path_buf()))
            }
        };
        Ok(Targets {
            args: kept,
            input,
            count,
        })
    }

    /// Where the targets come from, in words: `--input tokens.txt`, `the TARGET arguments`.
    pub fn origin(&self) -> String {
        let input = match &self.input {
            None => None,
            Some(InputSpec::Stdin) => Some("--input - (stdin)".to_string()),
            Some(InputSpec::File(p) | InputSpec::Stream(p)) => {
                Some(format!("--input {}", p.display()))
            }
        };
        match (self.args.is_empty(), input) {
            (_, None) => "the TARGET arguments".into(),
            (true, Some(input)) => input,
            (false, Some(input)) => format!("the TARGET arguments and {input}"),
        }
    }

    /// No target at all: neither arguments nor `--input`.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty() && self.input.is_none()
    }

    pub fn reads_stdin(&self) -> bool {
        matches!(self.input, Some(InputSpec::Stdin))
    }

    /// Whether, on a stop, the rest of the input can be read to record it as skipped: not when
    /// it is a person typing at a terminal.
    pub fn drainable(&self) -> bool {
        !(self.reads_stdin() && std::io::stdin().is_terminal())
    }

    /// The targets, in order, read lazily. `check` marks bad lines of once-only sources.
    pub fn stream(self, check: OwnedCheck) -> Box<dyn Iterator<Item = RawTarget> + Send> {
        let args = self
            .args
            .into_iter()
            .enumerate()
            .map(|(i, text)| RawTarget {
                text,
                problem: None,
                source: Some(format!("arg:{}", i + 1)),
            });
        let once = |lines: LineReader| {
            lines.map(move |r| match r {
                Ok((n, text)) => {
                    let problem = check(&text).err().map(|e| format!("{}: {e}", n));
                    RawTarget {
                        text,
                        problem,
                        source: Some(n.source()),
                    }
                }
                Err(e) => RawTarget {
                    text: String::new(),
                    problem: Some(e.to_string()),
                    source: Some(e.at.source()),
                },
            })
        };
        match self.input {
            None => Box::new(args),
            // Checked whole before the run, and again as it is read: a tool still writing the
            // file may have added lines since (they become `InvalidTarget` records, as a
            // stream's bad lines do, rather than being sent unchecked).
            Some(InputSpec::File(path)) => Box::new(args.chain(once(LineReader::open(&path)))),
            Some(InputSpec::Stream(path)) => {
                let mut lines = LineReader::open(&path);
                lines.warn_if_empty = true;
                Box::new(args.chain(once(lines)))
            }
            Some(InputSpec::Stdin) => {
                // A person at a terminal is told what to do, and what they paste (tokens) is
                // not shown on the screen.
                let prompted = std::io::stdin().is_terminal().then(terminal::prompt);
                let mut lines =
                    LineReader::new(Box::new(BufReader::new(std::io::stdin())), Source::Stdin);
                lines.warn_if_empty = true;
                lines.echo = prompted;
                Box::new(args.chain(once(lines)))
            }
        }
    }
}

/// Checks every line of a re-readable file; returns how many targets it holds.
fn scan(path: &Path, check: Check) -> Result<u64, String> {
    let file = File::open(path).map_err(|e| format!("--input {}: {e}", path.display()))?;
    let mut n = 0;
    let reader = LineReader::new(
        Box::new(BufReader::new(file)),
        Source::File(path.display().to_string()),
    );
    for r in reader {
        let (at, text) = r.map_err(|e| e.to_string())?;
        check(&text).map_err(|e| format!("{at}: {e}"))?;
        n += 1;
    }
    if n == 0 {
        warn_empty(&path.display().to_string());
    }
    Ok(n)
}

/// The contract: an `--input` with no target is a run of zero targets, with a warning.
fn warn_empty(name: &str) {
    crate::report::logging::say(&format!(
        "revoke: warning: --input {name} holds no target (only blank or # lines): nothing to do"
    ));
}

/// Where a line came from, for messages.
#[derive(Clone, Debug)]
pub enum Source {
    Stdin,
    File(String),
}

/// A line's place: `FILE:N` or `stdin line N`.
#[derive(Clone, Debug)]
pub struct At {
    pub source: Source,
    pub line: u64,
}

impl At {
    /// The record's `source`: `FILE:LINE` or `stdin:LINE` (lines counted from 1, blank and
    /// comment lines included, so an editor's line number finds it).
    pub fn source(&self) -> String {
        match &self.source {
            Source::Stdin => format!("stdin:{}", self.line),
            Source::File(name) => format!("{name}:{}", self.line),
        }
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Stdin => write!(f, "stdin line {}", self.line),
            Source::File(name) => write!(f, "{name}:{}", self.line),
        }
    }
}

/// A bad line (or an unreadable source), with its place.
#[derive(Debug)]
pub struct LineError {
    pub at: At,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// What one bounded read of a line gave.
enum Fill {
    Line,
    End,
    TooLong,
    /// No line end within [`MAX_SKIP`] bytes past an over-long line: the source is abandoned.
    Endless,
}

/// Usable lines of a reader with their 1-based line numbers, memory bounded by [`MAX_LINE`].
/// A bad line is an `Err` and reading goes on with the next line; a read error, or a line
/// without end, ends the stream after its `Err`.
pub struct LineReader {
    reader: Option<Box<dyn BufRead + Send>>,
    source: Source,
    lineno: u64,
    buf: Vec<u8>,
    /// Whether anything (a target or a bad line) came out yet.
    yielded: bool,
    /// Say so on stderr when the source ends without a target (once-only sources: a file is
    /// checked up front instead).
    warn_if_empty: bool,
    /// Targets typed at a terminal: its echo is off while they are read.
    echo: Option<terminal::EchoOff>,
}

impl LineReader {
    pub fn new(reader: Box<dyn BufRead + Send>, source: Source) -> Self {
        LineReader {
            reader: Some(reader),
            source,
            lineno: 0,
            buf: Vec::new(),
            yielded: false,
            warn_if_empty: false,
            echo: None,
        }
    }

    fn open(path: &Path) -> LineReader {
        let source = Source::File(path.display().to_string());
        match File::open(path) {
            Ok(f) => LineReader::new(Box::new(BufReader::new(f)), source),
            Err(e) => {
                let msg = format!("cannot open it: {e}");
                LineReader::new(Box::new(FailingReader(Some(msg))), source)
            }
        }
    }

    fn at(&self) -> At {
        At {
            source: self.source.clone(),
            line: self.lineno,
        }
    }

    /// Reads one line into `buf` (without its `\n`), never holding more than `MAX_LINE + 1` bytes.
    fn fill(&mut self) -> std::io::Result<Fill> {
        let reader = self.reader.as_mut().expect("open reader");
        self.buf.clear();
        let mut too_long = false;
        let mut skipped: u64 = 0;
        let mut any = false;
        loop {
            let chunk = match reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(if too_long {
                    Fill::TooLong
                } else if any {
                    Fill::Line
                } else {
                    Fill::End
                });
            }
            any = true;
            let (part, found) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            if !too_long {
                let room = MAX_LINE + 1 - self.buf.len();
                if part.len() > room {
                    too_long = true;
                    self.buf.clear();
                    skipped += part.len() as u64;
                } else {
                    self.buf.extend_from_slice(part);
                }
            } else {
                skipped += part.len() as u64;
            }
            let used = found.unwrap_or(chunk.len());
            reader.consume(used);
            if found.is_some() {
                if self.buf.len() > MAX_LINE + 1 {
                    too_long = true;
                }
                return Ok(if too_long { Fill::TooLong } else { Fill::Line });
            }
            if too_long && skipped > MAX_SKIP {
                return Ok(Fill::Endless);
            }
        }
    }
}

impl Iterator for LineReader {
    type Item = Result<(At, String), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.next_item();
        match &item {
            Some(_) => self.yielded = true,
            None if self.warn_if_empty && !self.yielded => {
                self.warn_if_empty = false;
                warn_empty(&match &self.source {
                    Source::Stdin => "-".to_string(),
                    Source::File(name) => name.clone(),
                });
            }
            None => {}
        }
        item
    }
}

impl LineReader {
    fn next_item(&mut self) -> Option<Result<(At, String), LineError>> {
        loop {
            self.reader.as_ref()?;
            let fill = self.fill();
            match fill {
                Ok(Fill::End) => {
                    self.reader = None;
                    // The terminal's echo comes back as soon as the targets are read.
                    self.echo = None;
                    return None;
                }
                Ok(Fill::Line) => {
                    self.lineno += 1;
                    let mut bytes = &self.buf[..];
                    if let Some(b) = bytes.strip_suffix(b"\r") {
                        bytes = b;
                    }
                    match decode(bytes, self.lineno == 1) {
                        Ok(t) if t.is_empty() || t.starts_with('#') => continue,
                        Ok(t) => return Some(Ok((self.at(), t.to_string()))),
                        Err(message) => {
                            // A UTF-16 file will not get better further down.
                            if message.contains("UTF-16") {
                                self.reader = None;
                            }
                            return Some(Err(LineError {
                                at: self.at(),
                                message,
                            }));
                        }
                    }
                }
                Ok(Fill::TooLong) => {
                    self.lineno += 1;
                    return Some(Err(LineError {
                        at: self.at(),
                        message: format!("line longer than {} KiB", MAX_LINE / 1024),
                    }));
                }
                Ok(Fill::Endless) => {
                    self.lineno += 1;
                    self.reader = None;
                    return Some(Err(LineError {
                        at: self.at(),
                        message: format!(
                            "line longer than {} KiB, and no line end in the next {} MiB: the rest of the input is not read",
                            MAX_LINE / 1024,
                            MAX_SKIP / (1024 * 1024)
                        ),
                    }));
                }
                Err(e) => {
                    self.lineno += 1;
                    self.reader = None;
                    return Some(Err(LineError {
                        at: self.at(),
                        message: format!("cannot read: {e}"),
                    }));
                }
            }
        }
    }
}

/// A reader that fails once with a message (a file that could not be opened at stream time).
struct FailingReader(Option<String>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other(
            self.0.take().unwrap_or_else(|| "unreadable".into()),
        ))
    }
}

impl BufRead for FailingReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Err(std::io::Error::other(
            self.0.take().unwrap_or_else(|| "unreadable".into()),
        ))
    }
    fn consume(&mut self, _: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn no_comma(s: &str) -> Result<(), String> {
        if s.contains(',') {
            Err("an id cannot contain a comma".into())
        } else {
            Ok(())
        }
    }

    fn lines(bytes: &[u8]) -> Vec<Result<String, String>> {
        LineReader::new(
            Box::new(std::io::Cursor::new(bytes.to_vec())),
            Source::File("f".into()),
        )
        .map(|r| r.map(|(_, t)| t).map_err(|e| e.to_string()))
        .collect()
    }

    #[test]
    fn args_then_file_lines_trimmed_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("in");
        std::fs::write(&f, "  c \n\n# comment\nd\r\n   \n#x\ne").unwrap();
        let t = Targets::prepare(vec!["a".into(), " b ".into()], Some(&f), &no_comma).unwrap();
        assert_eq!(t.count, Some(5));
        let got: Vec<String> = t.stream(Box::new(no_comma)).map(|r| r.text).collect();
        assert_eq!(got, ["a", "b", "c", "d", "e"]);
    }

    /// A regular file is checked whole, then read again to send: a tool still writing it may
    /// add lines in between. Those are checked as they are read, as a stream's are, never sent
    /// unchecked.
    #[test]
    fn lines_added_after_the_check_are_checked_as_they_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("in");
        std::fs::write(&f, "a\n").unwrap();
        let t = Targets::prepare(vec![], Some(&f), &no_comma).unwrap();
        std::fs::write(&f, "a\nb,c\n").unwrap();
        let got: Vec<(String, Option<String>)> = t
            .stream(Box::new(no_comma))
            .map(|r| (r.text, r.problem))
            .collect();
        assert_eq!(got[0], ("a".into(), None));
        assert_eq!(got[1].0, "b,c");
        let problem = got[1].1.as_deref().expect("the added line is checked");
        assert!(
            problem.ends_with("in:2: an id cannot contain a comma"),
            "{problem}"
        );
    }

    #[test]
    fn bad_targets_are_usage_errors_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("in");
        std::fs::write(&f, "ok\n#c\nbad,id\n").unwrap();
        let e = Targets::prepare(vec![], Some(&f), &no_comma).err().unwrap();
        assert!(e.ends_with("in:3: an id cannot contain a comma"), "{e}");
        let e = Targets::prepare(vec!["ok".into(), "x,y".into()], None, &no_comma)
            .err()
            .unwrap();
        assert_eq!(e, "target 1: an id cannot contain a comma");
        let e = Targets::prepare(vec!["".into()], None, &no_comma)
            .err()
            .unwrap();
        assert_eq!(e, "target 0 is empty");
        let e = Targets::prepare(vec![], Some(Path::new("/nonexistent/x")), &no_comma)
            .err()
            .unwrap();
        assert!(e.starts_with("--input /nonexistent/x"), "{e}");
    }

    #[test]
    fn a_utf8_bom_is_removed_from_the_first_line_only() {
        assert_eq!(
            lines(b"\xEF\xBB\xBFu1\r\nu2\r\n"),
            [Ok("u1".into()), Ok("u2".into())]
        );
        // A BOM further down is not a BOM: it is a character the server would not know.
        let got = lines(b"u1\n\xEF\xBB\xBFu2\n");
        assert_eq!(got[1], Ok("\u{feff}u2".into()));
    }

    #[test]
    fn utf16_is_refused_with_a_hint_and_the_source_abandoned() {
        let got = lines(b"\xFF\xFEu\x001\x00\n\x00u\x002\x00");
        assert_eq!(got.len(), 1);
        let e = got[0].as_ref().unwrap_err();
        assert!(
            e.starts_with("f:1: ") && e.contains("save it as UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn invalid_utf8_is_a_bad_line_and_reading_goes_on() {
        let got = lines(b"ok\nb\xFFd\nnext\n");
        assert_eq!(got[0], Ok("ok".into()));
        let e = got[1].as_ref().unwrap_err();
        assert!(e.starts_with("f:2: not valid UTF-8 (byte 2"), "{e}");
        assert_eq!(got[2], Ok("next".into()));
    }

    #[test]
    fn long_lines_are_bad_lines_with_the_bound_named() {
        let mut input = vec![b'a'; MAX_LINE];
        input.extend_from_slice(b"\n");
        input.extend(vec![b'b'; MAX_LINE + 1]);
        input.extend_from_slice(b"\nlast");
        let got = lines(&input);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().unwrap().len(), MAX_LINE);
        assert_eq!(got[1], Err("f:2: line longer than 64 KiB".into()));
        assert_eq!(got[2], Ok("last".into()));
    }

    #[test]
    fn an_endless_line_ends_the_source() {
        let zeros = std::io::repeat(0).take(MAX_SKIP * 2);
        let got: Vec<_> = LineReader::new(Box::new(BufReader::new(zeros)), Source::Stdin)
            .map(|r| r.map(|(_, t)| t).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(got.len(), 1);
        let e = got[0].as_ref().unwrap_err();
        assert!(
            e.starts_with("stdin line 1: line longer than 64 KiB, and no line end"),
            "{e}"
        );
    }

    #[test]
    fn dev_zero_is_a_clear_usage_error() {
        let e = Targets::prepare(vec![], Some(Path::new("/dev/zero")), &no_comma)
            .err()
            .unwrap();
        assert!(e.starts_with("/dev/zero:1: line longer than 64 KiB"), "{e}");
    }

    #[test]
    fn secrets_text_is_decoded_the_same_way() {
        assert_eq!(
            read_text(&b"\xEF\xBB\xBFs3cret\r\n"[..], 100).unwrap(),
            "s3cret"
        );
        assert!(
            read_text(&b"\xFF\xFEs\x00"[..], 100)
                .unwrap_err()
                .contains("save it as UTF-8")
        );
        assert!(read_text(&b"s\xFF"[..], 100).unwrap_err().contains("UTF-8"));
        assert!(
            read_text(std::io::repeat(b'a'), 1024)
                .unwrap_err()
                .contains("larger than 1 KiB")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random bytes (BOMs, CR, NULs, invalid UTF-8, long lines): never a panic, every line is
        /// either a good line whose text is exactly one input line trimmed, or an error with its
        /// place; memory never holds more than a line.
        #[test]
        fn any_bytes_give_exact_lines_or_placed_errors(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(b"\xEF\xBB\xBF".to_vec()),
                    Just(b"\xFF\xFE".to_vec()),
                    Just(b"\r\n".to_vec()),
                    Just(b"\n".to_vec()),
                    Just(vec![0u8]),
                    Just(vec![0xC3u8]),
                    Just(b"#".to_vec()),
                    Just(vec![b'x'; MAX_LINE / 2 + 7]),
                    proptest::collection::vec(any::<u8>(), 0..20),
                    "[a-z0-9 ]{0,12}".prop_map(|s| s.into_bytes()),
                ],
                0..12,
            )
        ) {
            let input: Vec<u8> = parts.concat();
            let raw: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
            for r in LineReader::new(Box::new(std::io::Cursor::new(input.clone())), Source::Stdin) {
                match r {
                    Ok((at, text)) => {
                        let n = at.line as usize;
                        let mut src = raw[n - 1];
                        if n == 1 {
                            src = src.strip_prefix(UTF8_BOM).unwrap_or(src);
                        }
                        let src = std::str::from_utf8(src).expect("a good line is UTF-8");
                        prop_assert_eq!(src.trim(), text.as_str());
                        prop_assert!(text.len() <= MAX_LINE);
                        prop_assert!(!text.is_empty() && !text.starts_with('#'));
                    }
                    Err(e) => prop_assert!(e.to_string().starts_with("stdin line ")),
                }
            }
        }
    }
}
