//! The standard descriptors as the process found them and as it must leave them: a stdout
//! closed at start-up (`revoke >&-`) is recognised, so that the sink says its records went
//! nowhere; a terminal whose echo was turned off to read targets is put back at exit.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Targets typed at a terminal (`--input -` with stdin a terminal): a prompt on stderr, and
/// the terminal's echo off while they are read, so that a pasted token is not left on the
/// screen (as `ssh-add` and `sudo` read a passphrase).
///
/// The echo is switched with `stty` (POSIX; `#![forbid(unsafe_code)]` rules out calling
/// `tcsetattr` here), run on our own standard input, and restored from the settings `stty -g`
/// saved: when the input ends, and at exit ([`restore_terminal`], which `main` and [`crate::report::exit::quit_now`] call), since a run stopped by a
/// signal does not wait for a reader blocked on the terminal.
pub mod terminal {
    use std::process::{Command, Stdio};
    use std::sync::Mutex;

    /// The terminal settings to restore, while the echo is off.
    static SAVED: Mutex<Option<String>> = Mutex::new(None);

    /// The echo is off while this lives.
    pub struct EchoOff(());

    impl Drop for EchoOff {
        fn drop(&mut self) {
            restore();
        }
    }

    fn stty(args: &[&str]) -> Option<String> {
        let out = Command::new("stty")
            .args(args)
            .stdin(Stdio::inherit())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Says on stderr what to type and turns the echo off.
    pub fn prompt() -> EchoOff {
        let hidden = match stty(&["-g"]) {
            Some(saved) if !saved.is_empty() && stty(&["-echo"]).is_some() => {
                *SAVED.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved);
                " (not shown as you type)"
            }
            _ => "",
        };
        crate::report::logging::say(&format!(
            "revoke: reading targets from the terminal{hidden}: paste or type them, one per line, then press Ctrl-D"
        ));
        EchoOff(())
    }

    /// Puts the terminal back as it was, if the echo was turned off. Safe to call at any time.
    pub fn restore() {
        let saved = SAVED.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(saved) = saved {
            let _ = stty(&[&saved]);
        }
    }
}

pub use terminal::restore as restore_terminal;
