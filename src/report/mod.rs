//! What comes back, written down: the record, the sink that prints it (text or NDJSON) and
//! journals it, the logging of stderr, the exit code, and `revoke report`'s evidence.

pub mod chain;
pub mod evidence;
pub mod exit;
pub mod journal;
pub mod logging;
pub mod printed;
pub mod record;
pub mod scrub;
pub mod sink;
pub mod stdio;
pub mod text;
