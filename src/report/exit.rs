//! How the process ended, and the one function that turns it into the exit code.
//!
//! The contract's table (`../shared/CLI.md`, "Exit codes"):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every target `revoked`, `already_invalid`, `planned` (or `not_found` with `--missing-ok`) |
//! | 1 | at least one target failed after its retries; every other target was still attempted |
//! | 2 | usage or configuration error: nothing was sent |
//! | 3 | the provider rejected the credentials; the targets not yet sent are `skipped` |
//! | 130 | interrupted (SIGINT, SIGTERM, SIGHUP) |
//!
//! Everything else reports *what happened* ([`Ended`], [`RunEnd`]); only [`code`] picks the
//! number, and only [`quit_now`] leaves the process early (the second Ctrl-C).

use crate::report::record::Summary;

/// The contract's exit statuses, least serious first: where a run has several parts (the steps
/// of a plan), the run's status is the most serious of theirs, which is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Every target done (or planned), or help, a completion script or the manual printed.
    Success,
    /// At least one target failed; the other targets were still attempted.
    Failed,
    /// Usage or configuration error: nothing was sent.
    Usage,
    /// The provider rejected the credentials; the targets not yet sent were skipped.
    Credentials,
    /// Interrupted by a signal.
    Interrupted,
}

impl Exit {
    fn number(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Credentials => 3,
            Exit::Interrupted => 130,
        }
    }
}

/// How the engine's part of a run ended, beyond its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunFlags {
    /// A signal stopped the run.
    pub interrupted: bool,
    /// The provider rejected the credentials (on a target or a setup request).
    pub credentials_rejected: bool,
    /// A setup request (identity-store's `--all` listing) failed after its retries, so no
    /// target could be attempted.
    pub setup_failed: bool,
    /// `not_found` counts as success (`--missing-ok`).
    pub missing_ok: bool,
    /// A run with no target is a failure (`--require-targets`).
    pub require_targets: bool,
}

/// How a run that reached the engine ended: what the sink counted and what went wrong on the
/// way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunEnd {
    pub summary: Summary,
    pub flags: RunFlags,
    /// A journal line could not be written (the run went on).
    pub journal_failed: bool,
    /// A write on stdout failed other than by a closed pipe (the run went on).
    pub stdout_failed: bool,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Help, the version, a completion script or the manual page was printed.
    Printed,
    /// Nothing was sent: a usage or configuration error, or the process could not start or
    /// write what it was asked to print.
    NothingSent,
    /// A run went through the engine and the sink.
    Ran(RunEnd),
    /// A second signal: the process leaves at once.
    Interrupted,
    /// A run of several parts (a plan's steps), each of which ended so; the process's status
    /// is the most serious of theirs.
    Plan(Exit),
}

impl Ended {
    /// How a plan ended: its steps ended so, and `output_failed` says whether writing the
    /// plan's own summary failed.
    pub fn plan(steps: &[Ended], output_failed: bool) -> Ended {
        let own = if output_failed {
            Exit::Failed
        } else {
            Exit::Success
        };
        Ended::Plan(most_serious(steps.iter().map(status).chain([own])))
    }
}

/// Where a run has several parts (the steps of a plan), its status is the most serious of
/// theirs: 130, then 3, then 2, then 1, then 0.
pub fn most_serious(parts: impl IntoIterator<Item = Exit>) -> Exit {
    parts.into_iter().max().unwrap_or(Exit::Success)
}

/// The status of a process that ended so.
pub fn status(end: &Ended) -> Exit {
    match end {
        Ended::Printed => Exit::Success,
        Ended::NothingSent => Exit::Usage,
        Ended::Interrupted => Exit::Interrupted,
        Ended::Plan(most_serious) => *most_serious,
        Ended::Ran(run) => {
            let (s, f) = (&run.summary, &run.flags);
            if f.interrupted {
                Exit::Interrupted
            } else if f.credentials_rejected {
                Exit::Credentials
            } else if s.failed > 0
                || s.skipped > 0
                || (s.not_found > 0 && !f.missing_ok)
                || f.setup_failed
                || (f.require_targets && s.total == 0)
                || run.journal_failed
                || run.stdout_failed
            {
                Exit::Failed
            } else {
                Exit::Success
            }
        }
    }
}

/// The exit code of a process that ended so: the one mapping from outcome to number.
pub fn code(end: &Ended) -> u8 {
    status(end).number()
}

/// [`code`], for `main`'s return.
pub fn process_code(end: &Ended) -> std::process::ExitCode {
    std::process::ExitCode::from(code(end))
}

/// Leaves the process at once (the second Ctrl-C), with the code of `end`.
pub fn quit_now(end: &Ended) -> ! {
    crate::report::stdio::restore_terminal();
    std::process::exit(i32::from(code(end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::Status;

    fn ran(summary: Summary, flags: RunFlags) -> Ended {
        Ended::Ran(RunEnd {
            summary,
            flags,
            ..RunEnd::default()
        })
    }

    #[test]
    fn runs_follow_the_contract() {
        let mut s = Summary::default();
        s.add(Status::Revoked);
        s.add(Status::AlreadyInvalid);
        s.add(Status::Planned);
        assert_eq!(code(&ran(s, RunFlags::default())), 0);
        let mut nf = s;
        nf.add(Status::NotFound);
        assert_eq!(code(&ran(nf, RunFlags::default())), 1);
        let ok = RunFlags {
            missing_ok: true,
            ..RunFlags::default()
        };
        assert_eq!(code(&ran(nf, ok)), 0);
        let mut f = s;
        f.add(Status::Failed);
        assert_eq!(code(&ran(f, RunFlags::default())), 1);
        let creds = RunFlags {
            credentials_rejected: true,
            ..RunFlags::default()
        };
        assert_eq!(code(&ran(f, creds)), 3);
        let int = RunFlags {
            interrupted: true,
            credentials_rejected: true,
            ..RunFlags::default()
        };
        assert_eq!(code(&ran(f, int)), 130);
        let setup = RunFlags {
            setup_failed: true,
            ..RunFlags::default()
        };
        assert_eq!(code(&ran(Summary::default(), setup)), 1);
    }

    #[test]
    fn output_failures_make_a_clean_run_exit_1() {
        let mut s = Summary::default();
        s.add(Status::Revoked);
        for end in [
            RunEnd {
                summary: s,
                journal_failed: true,
                ..RunEnd::default()
            },
            RunEnd {
                summary: s,
                stdout_failed: true,
                ..RunEnd::default()
            },
        ] {
            assert_eq!(code(&Ended::Ran(end)), 1);
        }
    }

    #[test]
    fn the_rest_never_collide_with_a_failed_target() {
        assert_eq!(code(&Ended::Printed), 0);
        assert_eq!(code(&Ended::NothingSent), 2);
        assert_eq!(code(&Ended::Interrupted), 130);
    }

    #[test]
    fn a_plan_ends_with_its_most_serious_step() {
        let mut ok = Summary::default();
        ok.add(Status::Revoked);
        let mut failed = ok;
        failed.add(Status::Failed);
        let creds = RunFlags {
            credentials_rejected: true,
            ..RunFlags::default()
        };
        let steps = [
            ran(ok, RunFlags::default()),
            ran(failed, creds),
            ran(failed, RunFlags::default()),
        ];
        assert_eq!(code(&Ended::plan(&steps, false)), 3);
        assert_eq!(code(&Ended::plan(&steps[..1], false)), 0);
        assert_eq!(code(&Ended::plan(&steps[..1], true)), 1);
        assert_eq!(code(&Ended::plan(&[], false)), 0);
        let int = RunFlags {
            interrupted: true,
            ..RunFlags::default()
        };
        let steps = [ran(ok, int), Ended::NothingSent, ran(failed, creds)];
        assert_eq!(code(&Ended::plan(&steps, false)), 130);
        assert_eq!(most_serious([Exit::Failed, Exit::Usage]), Exit::Usage);
    }

    #[test]
    fn statuses_order_by_seriousness() {
        // 130, then 3, then 2, then 1, then 0 (the contract's order for a plan's steps).
        let mut all = [
            Exit::Usage,
            Exit::Success,
            Exit::Interrupted,
            Exit::Failed,
            Exit::Credentials,
        ];
        all.sort();
        let codes: Vec<u8> = all.iter().map(|e| e.number()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 130]);
    }
}
