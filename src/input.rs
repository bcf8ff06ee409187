//! Targets from positional arguments and `--input FILE|-`, streamed.
//!
//! Positional targets come first, then the input's lines; blank lines and `#` comments are
//! skipped and whitespace trimmed. Bad input is a usage error before anything is sent: the
//! arguments and a regular `--input` file are checked up front (the file is read twice, a line
//! at a time, so memory stays flat). Stdin cannot be read twice: a bad line there becomes a
//! `failed` record with code `InvalidTarget`, and the run goes on.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

pub enum InputSpec {
    Stdin,
    File(PathBuf),
}

pub struct Targets {
    args: Vec<String>,
    input: Option<InputSpec>,
    /// How many targets there are, when known up front (for the progress bar).
    pub count: Option<u64>,
}

/// A target line, and what is wrong with it (only for stdin: elsewhere a bad target stops the
/// run before it starts).
pub struct RawTarget {
    pub text: String,
    pub problem: Option<String>,
}

pub type Check<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// A target check owned by the stream (for stdin lines).
pub type OwnedCheck = Box<dyn Fn(&str) -> Result<(), String> + Send>;

fn usable(line: &str) -> Option<&str> {
    let t = line.trim();
    (!t.is_empty() && !t.starts_with('#')).then_some(t)
}

impl Targets {
    pub fn prepare(
        args: Vec<String>,
        input: Option<&Path>,
        check: Check,
    ) -> Result<Targets, String> {
        let mut kept = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            let t = a.trim();
            if t.is_empty() {
                return Err(format!("target {} is empty", i + 1));
            }
            check(t).map_err(|e| format!("target {}: {e}", i + 1))?;
            kept.push(t.to_string());
        }
        let mut count = Some(kept.len() as u64);
        let input = match input {
            None => None,
            Some(p) if p.as_os_str() == "-" => {
                count = None;
                Some(InputSpec::Stdin)
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

    /// The targets, in order, read lazily. `check` marks bad stdin lines.
    pub fn stream(self, check: OwnedCheck) -> Box<dyn Iterator<Item = RawTarget> + Send> {
        let args = self.args.into_iter().map(|text| RawTarget {
            text,
            problem: None,
        });
        match self.input {
            None => Box::new(args),
            Some(InputSpec::File(path)) => {
                let lines = LineReader::open_file(&path);
                Box::new(args.chain(lines.map(|r| match r {
                    Ok((_, text)) => RawTarget {
                        text,
                        problem: None,
                    },
                    Err(e) => RawTarget {
                        text: String::new(),
                        problem: Some(e),
                    },
                })))
            }
            Some(InputSpec::Stdin) => {
                let lines =
                    LineReader::new(Box::new(BufReader::new(std::io::stdin())), "stdin".into());
                Box::new(args.chain(lines.map(move |r| match r {
                    Ok((n, text)) => {
                        let problem = check(&text).err().map(|e| format!("stdin line {n}: {e}"));
                        RawTarget { text, problem }
                    }
                    Err(e) => RawTarget {
                        text: String::new(),
                        problem: Some(e),
                    },
                })))
            }
        }
    }
}

/// Checks every line of a regular file; returns how many targets it holds.
fn scan(path: &Path, check: Check) -> Result<u64, String> {
    let file = File::open(path).map_err(|e| format!("--input {}: {e}", path.display()))?;
    let mut n = 0;
    for r in LineReader::new(Box::new(BufReader::new(file)), path.display().to_string()) {
        let (lineno, text) = r?;
        check(&text).map_err(|e| format!("{}:{lineno}: {e}", path.display()))?;
        n += 1;
    }
    Ok(n)
}

/// Usable lines of a reader with their 1-based line numbers; a read error ends it.
struct LineReader {
    reader: Option<Box<dyn BufRead + Send>>,
    name: String,
    lineno: u64,
    buf: Vec<u8>,
}

impl LineReader {
    fn new(reader: Box<dyn BufRead + Send>, name: String) -> Self {
        LineReader {
            reader: Some(reader),
            name,
            lineno: 0,
            buf: Vec::new(),
        }
    }

    fn open_file(path: &Path) -> Box<dyn Iterator<Item = Result<(u64, String), String>> + Send> {
        match File::open(path) {
            Ok(f) => Box::new(LineReader::new(
                Box::new(BufReader::new(f)),
                path.display().to_string(),
            )),
            Err(e) => Box::new(std::iter::once(Err(format!(
                "--input {}: {e}",
                path.display()
            )))),
        }
    }
}

impl Iterator for LineReader {
    type Item = Result<(u64, String), String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let reader = self.reader.as_mut()?;
            self.buf.clear();
            match reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.reader = None;
                    return None;
                }
                Ok(_) => {
                    self.lineno += 1;
                    let line = String::from_utf8_lossy(&self.buf);
                    if let Some(t) = usable(&line) {
                        return Some(Ok((self.lineno, t.to_string())));
                    }
                }
                Err(e) => {
                    self.reader = None;
                    return Some(Err(format!("cannot read {}: {e}", self.name)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_comma(s: &str) -> Result<(), String> {
        if s.contains(',') {
            Err("an id cannot contain a comma".into())
        } else {
            Ok(())
        }
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

    #[test]
    fn bad_targets_are_usage_errors_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("in");
        std::fs::write(&f, "ok\n#c\nbad,id\n").unwrap();
        let e = Targets::prepare(vec![], Some(&f), &no_comma).err().unwrap();
        assert!(e.ends_with("in:3: an id cannot contain a comma"), "{e}");
        let e = Targets::prepare(vec!["x,y".into()], None, &no_comma)
            .err()
            .unwrap();
        assert_eq!(e, "target 1: an id cannot contain a comma");
        let e = Targets::prepare(vec!["".into()], None, &no_comma)
            .err()
            .unwrap();
        assert_eq!(e, "target 1 is empty");
        let e = Targets::prepare(vec![], Some(Path::new("/nonexistent/x")), &no_comma)
            .err()
            .unwrap();
        assert!(e.starts_with("--input /nonexistent/x"), "{e}");
    }
}
