//! What a printing command (completions, man, report) made, written to stdout.

use std::io::Write;

use crate::report::exit::Ended;

pub fn print(what: &str, text: String) -> Ended {
    print_bytes(what, text.as_bytes())
}

/// Writes what a printing command made to stdout. A closed pipe (`| head`) is fine; any other
/// failure is reported, and nothing was sent.
pub fn print_bytes(what: &str, bytes: &[u8]) -> Ended {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ended::Printed,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ended::Printed,
        Err(e) => {
            crate::report::logging::error(&format!("cannot write {what}: {e}"));
            Ended::NothingSent
        }
    }
}
