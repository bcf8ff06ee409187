//! Stopping a run: the run-wide stop signal, and the handlers of SIGINT, SIGTERM and SIGHUP
//! that raise it.
//!
//! The handlers are installed by [`install`] before the first instruction that can take time
//! (the config file, `*-command` secret commands, the journal), on a thread of their own, so
//! that a signal is handled even while the main thread waits on a command or reads a file.
//! What a signal does depends on how far the run got:
//!
//! - Before the run's [`Stop`] exists (nothing sent yet): the children of secret commands are
//!   killed, `revoke: interrupted: nothing was sent` is said, and the process exits 130.
//! - The first signal of a run: nothing new is sent, requests in flight that may change
//!   something finish, and every target not yet sent is recorded as `skipped`.
//! - The second: the requests still in flight are abandoned and recorded as `skipped` (code
//!   `Interrupted`, saying the server may have acted on them), the rest of the input is no
//!   longer waited for, and the summary is written: every target still gets its record.
//! - A third leaves at once (for a run stuck beyond all that, such as a full pipe).

use std::collections::HashMap;
use std::process::{Child, ChildStdout, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::watch;

use crate::report::exit::{self, Ended};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Credentials,
    Interrupted,
    /// The server's TLS certificate was refused: no request can succeed.
    Certificate,
    /// The endpoint gave no answer to several targets in a row (the circuit breaker).
    Unreachable,
    /// The first answers from the endpoint showed it is not the provider's API (a sign-in
    /// page, a 404 the API never gives).
    EndpointMismatch,
    /// A server refused the signature's time and its `Date` was too far off to correct by.
    ClockSkew,
    /// The server throttled several targets in a row past their retries.
    Throttled,
}

/// The run-wide stop signal.
pub struct Stop {
    tx: watch::Sender<Option<StopReason>>,
    /// The second signal: requests in flight are abandoned.
    abandon: watch::Sender<bool>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            tx: watch::channel(None).0,
            abandon: watch::channel(false).0,
        }
    }
}

impl Stop {
    /// The second signal: stops the run if it was not, and abandons the requests in flight.
    pub fn abandon(&self) {
        self.first(StopReason::Interrupted);
        self.abandon.send_replace(true);
    }

    /// Returns once the requests in flight are to be abandoned.
    pub async fn abandoned(&self) {
        let mut rx = self.abandon.subscribe();
        let _ = rx.wait_for(|a| *a).await;
    }

    pub fn interrupt(&self) {
        self.tx.send_modify(|r| *r = Some(StopReason::Interrupted));
    }

    pub fn credentials(&self) {
        self.first(StopReason::Credentials);
    }

    /// Stops the run for `reason` unless it is already stopped; true when this call stopped it
    /// (so that the reason is said once).
    pub fn first(&self, reason: StopReason) -> bool {
        let mut stopped = false;
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                stopped = true;
            }
            stopped
        });
        stopped
    }

    pub fn reason(&self) -> Option<StopReason> {
        *self.tx.borrow()
    }

    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|r| r.is_some()).await;
    }
}

/// The run's stop, once the run has one, and whether to say what a signal does.
struct Handled {
    stop: Option<Arc<Stop>>,
    quiet: bool,
}

fn handled() -> &'static Mutex<Handled> {
    static HANDLED: OnceLock<Mutex<Handled>> = OnceLock::new();
    HANDLED.get_or_init(|| {
        Mutex::new(Handled {
            stop: None,
            quiet: false,
        })
    })
}

/// Installs the handlers of SIGINT, SIGTERM and SIGHUP on a thread of their own; they are in
/// place when this returns. Called once, first thing; a second call does nothing.
pub fn install(quiet: bool) {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    handled().lock().unwrap_or_else(|e| e.into_inner()).quiet = quiet;
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<bool>();
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            else {
                let _ = ready_tx.send(false);
                return;
            };
            rt.block_on(async move {
                let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                    signal(SignalKind::hangup()),
                ) else {
                    let _ = ready_tx.send(false);
                    return;
                };
                let _ = ready_tx.send(true);
                let mut seen = 0;
                loop {
                    tokio::select! {
                        _ = int.recv() => {},
                        _ = term.recv() => {},
                        _ = hup.recv() => {},
                    }
                    seen += 1;
                    on_signal(seen);
                }
            });
        });
    let installed = spawned.is_ok() && ready_rx.recv().unwrap_or(false);
    if !installed {
        tracing::warn!("cannot install the signal handlers: a signal ends the run at once");
    }
}

/// What the `seen`th signal does (see the module's doc).
fn on_signal(seen: u32) {
    let (stop, quiet) = {
        let h = handled().lock().unwrap_or_else(|e| e.into_inner());
        (h.stop.clone(), h.quiet)
    };
    let say = |line: &str| {
        if !quiet {
            crate::report::logging::say(line);
        }
    };
    let Some(stop) = stop else {
        // The children are killed and the process ends with their list locked: no command
        // starts meanwhile, and the thread that waited for one never reports it killed.
        let mut running = Children::global().lock();
        for (_, mut child) in running.drain() {
            let _ = child.kill();
            let _ = child.wait();
        }
        say("revoke: interrupted: nothing was sent");
        exit::quit_now(&Ended::Interrupted);
    };
    match seen {
        1 => {
            say(
                "revoke: interrupted: finishing the requests in flight, skipping the rest (again to abandon the requests in flight)",
            );
            stop.interrupt();
        }
        2 => {
            say(
                "revoke: interrupted again: abandoning the requests in flight (recorded as skipped; the server may have acted on them), writing the records and the summary (again to quit at once)",
            );
            stop.abandon();
        }
        _ => exit::quit_now(&Ended::Interrupted),
    }
}

/// Returns the stop the signals raise from now on: the run has started, and a signal no longer
/// ends the process at once. [`install`] has put the handlers in place before.
pub fn listen(quiet: bool) -> Arc<Stop> {
    install(quiet);
    let stop = Arc::new(Stop::default());
    let mut h = handled().lock().unwrap_or_else(|e| e.into_inner());
    h.stop = Some(stop.clone());
    h.quiet = quiet;
    stop
}

/// The child processes of secret commands while they run: a signal before the run kills them,
/// so that none is left behind.
#[derive(Default)]
pub struct Children {
    running: Mutex<HashMap<u64, Child>>,
    next: std::sync::atomic::AtomicU64,
}

impl Children {
    pub fn global() -> &'static Children {
        static CHILDREN: OnceLock<Children> = OnceLock::new();
        CHILDREN.get_or_init(Children::default)
    }

    /// Starts `command` and keeps its child until it has exited or is killed; returns its key
    /// and its standard output. Started with the list locked, so that a signal cannot come
    /// between the start and the keeping.
    pub fn spawn(&self, command: &mut Command) -> std::io::Result<(u64, Option<ChildStdout>)> {
        let mut running = self.lock();
        let mut child = command.spawn()?;
        let out = child.stdout.take();
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        running.insert(key, child);
        Ok((key, out))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Child>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the child has exited, with its status (then it is forgotten).
    pub fn exited(&self, key: u64) -> std::io::Result<Option<std::process::ExitStatus>> {
        let mut running = self.lock();
        let Some(child) = running.get_mut(&key) else {
            return Err(std::io::Error::other("the command was killed"));
        };
        let status = child.try_wait()?;
        if status.is_some() {
            running.remove(&key);
        }
        Ok(status)
    }

    /// Kills the child and waits for it.
    pub fn kill(&self, key: u64) {
        if let Some(mut child) = self.lock().remove(&key) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
