//! The contract every provider keeps: how a job becomes a request and how the answer is read
//! ([`Provider`]), what it lists ([`Listing`]) and how a revocation is proved
//! ([`Verification`]). Everything that keeps a guarantee is required: the secrets of a job
//! (scrubbed from everything printed while it runs), whether a journal entry stays true
//! ([`Provider::acts_on_current_tokens`]), what `--verify` can do, and the command's
//! [`Descriptor`]. The engine (`crate::engine`) runs it; no provider loops, sleeps or sends.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Descriptor;
use crate::error::ApiError;
use crate::net::http::{PreparedRequest, RawResponse, Transport, exchange};
use crate::report::record::{RecordError, Status};

/// What a provider reports for an answered request that is not an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub http_status: Option<u16>,
    pub request_id: Option<String>,
    pub data: Option<Value>,
    /// What the provider said, for `already_invalid` and `not_found`.
    pub error: Option<RecordError>,
}

impl Outcome {
    /// The outcome with `scrub` applied to every text the provider sent back.
    pub fn scrubbed(mut self, scrub: &crate::net::http::Scrubber) -> Outcome {
        self.request_id = self.request_id.map(|r| scrub.text(&r));
        if let Some(d) = self.data.as_mut() {
            crate::report::scrub::walk(d, &|t| scrub.text(t));
        }
        if let Some(e) = self.error.as_mut() {
            e.code = scrub.text(&e.code);
            e.message = scrub.text(&e.message);
        }
        self
    }

    /// An answer that is not an error but says something about the target (`already_invalid`,
    /// `not_found`): the provider's code and message go in the record's `error`. Never
    /// `revoked`: that takes a recognised success ([`Outcome::revoked`]).
    pub fn noted(
        status: Status,
        http_status: u16,
        request_id: Option<String>,
        code: String,
        message: String,
    ) -> Self {
        assert!(
            matches!(status, Status::AlreadyInvalid | Status::NotFound),
            "a noted outcome is already_invalid or not_found"
        );
        Outcome {
            status,
            http_status: Some(http_status),
            request_id,
            data: None,
            error: Some(RecordError {
                code,
                message,
                retryable: false,
            }),
        }
    }

    /// `revoked`: made only of an answer that looks like the API's own success (see
    /// [`crate::providers::recognise`]), never of a bare 2xx.
    pub fn revoked(
        seen: crate::providers::Recognised,
        request_id: Option<String>,
        data: Option<Value>,
    ) -> Self {
        Outcome {
            status: Status::Revoked,
            http_status: Some(seen.status()),
            request_id,
            data,
            error: None,
        }
    }
}

/// One vendor API: how a job becomes a signed request and how the answer is read.
pub trait Provider: Send + Sync + 'static {
    /// One request's worth of target (a token, a page id, a batch of user ids).
    type Job: Send + Sync + 'static;

    /// What the command is: its name (the record's `provider`), credentials, environment,
    /// files, requirements.
    const DESCRIPTOR: &'static Descriptor;

    /// The subcommand name, as in the record's `provider`.
    fn name(&self) -> &'static str {
        Self::DESCRIPTOR.name
    }

    /// The non-secret identity of the job: the record's `target`.
    fn identity(&self, job: &Self::Job) -> Value;

    /// What identifies the job for the journal (a token's long fingerprint, never the token).
    fn job_key(&self, job: &Self::Job) -> String;

    /// The options that give a job its meaning (library, project, tenant...), so that a journal
    /// entry for one library is not taken as done for another. Its first line is the URL
    /// requests go to.
    fn scope(&self) -> String;

    /// Whether the action is on "every token a user or page has now" (smh, bi-embed), which a
    /// journal entry proves only for the tokens of its day: such entries replay only while
    /// younger than `--resume-within`. A revoked token or token id stays revoked: `false`.
    fn acts_on_current_tokens(&self) -> bool;

    /// Secret values of this job (a token), scrubbed from everything printed while it runs;
    /// empty for a job of ids.
    fn job_secrets<'a>(&self, job: &'a Self::Job) -> Vec<&'a str>;

    /// Builds and signs the request for one attempt at `now`.
    fn prepare(&self, job: &Self::Job, now: DateTime<Utc>) -> Result<PreparedRequest, ApiError>;

    /// Reads the answer.
    fn interpret(&self, job: &Self::Job, response: RawResponse) -> Result<Outcome, ApiError>;

    /// `--verify`: how this provider can prove a revocation, with what does it.
    fn verification(&self) -> Verification<'_, Self::Job>;

    /// A step the run needs once, before its first target (oauth's discovery of its endpoints):
    /// `None` for most. It goes through the attempt loop; when it fails, nothing is sent and
    /// every target's record is `failed` with [`Setup::code`].
    fn setup(&self) -> Option<Setup> {
        None
    }

    /// One attempt at the [`setup`](Provider::setup) step.
    fn set_up(&self, _transport: &Transport) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }

    /// `--dry-run`: the requests [`set_up`](Provider::set_up) would send, shown, never sent.
    fn setup_requests(&self) -> Vec<PreparedRequest> {
        Vec::new()
    }

    /// One attempt: prepare, send, interpret (the engine calls it once per attempt with a
    /// fresh `now`; tests replace it to answer without a network).
    fn execute(
        &self,
        transport: &Transport,
        job: &Self::Job,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Outcome, ApiError>> + Send {
        async move {
            let request = self.prepare(job, now)?;
            // This attempt's own secrets (a signature, a Basic credential) are known here
            // only; the sink scrubs the credentials and the target's secrets once more.
            let scrub = request.scrubber();
            let sent: Vec<String> = self
                .job_secrets(job)
                .into_iter()
                .map(str::to_string)
                .chain(request.secret_values())
                .filter(|s| s.len() >= MIN_ECHOED)
                .collect();
            exchange(transport, &request, |answer| {
                // A success only: an error's body may quote the request (the error is what it
                // is; only a claim of revocation needs the API's own answer).
                let http_status = answer.status;
                let echoed = (200..300).contains(&http_status) && echoes(&answer, &sent);
                let outcome = self.interpret(job, answer).map(|o| o.scrubbed(&scrub))?;
                if echoed {
                    return Err(ApiError::NotTheApi {
                        http_status,
                        message: format!(
                            "HTTP {http_status}, but the answer holds the request's own secret: an echo of the request, not the API's answer; is the endpoint the API?"
                        ),
                        request_id: outcome.request_id,
                    });
                }
                Ok(outcome)
            })
            .await
        }
    }
}

/// The shortest secret looked for in an answer: a shorter one could be found by chance.
const MIN_ECHOED: usize = 8;

/// Whether an answer holds one of the secrets `sent` (the token, a signature, a Basic
/// credential): a 2xx that does is an echo of the request (a mirror or debugging service),
/// never the API's success, whatever body the provider accepts: no provider's API sends them
/// back.
fn echoes(answer: &RawResponse, sent: &[String]) -> bool {
    let body = answer.body.as_slice();
    sent.iter()
        .any(|s| body.windows(s.len()).any(|w| w == s.as_bytes()))
}

/// A provider's step before its first target ([`Provider::setup`]).
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// What it does, in log lines and messages: `discovering the issuer's endpoints`.
    pub what: &'static str,
    /// The code of every target's record when it fails.
    pub code: &'static str,
}

/// `--verify` per target: the read-only request asking whether a job's token is dead.
pub trait TokenCheck<J>: Send + Sync {
    /// The request about `job`'s token, signed at `now`.
    fn verify_request(&self, job: &J, now: DateTime<Utc>) -> Result<PreparedRequest, ApiError>;

    /// Reads a verification answer.
    fn read_verdict(&self, job: &J, answer: RawResponse) -> Result<Verdict, ApiError>;

    /// Why a token that the check before the revocation did not see alive cannot be verified
    /// (the record's reason for `verified: null`).
    fn unseen(&self) -> String;
}

/// `--verify`, once per run before the per-target checks: the request that finds where to
/// verify (OpenID discovery).
pub trait Discovery: Send + Sync {
    fn discovery_request(&self, now: DateTime<Utc>) -> Result<PreparedRequest, ApiError>;

    /// Reads the discovery answer and keeps what it found; `Err` ends verification for the
    /// run (every record `verified: null`, with the reason).
    fn read_discovery(&self, answer: RawResponse) -> Result<(), ApiError>;
}

/// A target line, and what is wrong with it (only for once-only sources: elsewhere a bad target
/// stops the run before it starts).
pub struct RawTarget {
    pub text: String,
    pub problem: Option<String>,
    /// Where it came from, as the record's `source` says: `FILE:LINE`, `stdin:LINE`, `arg:N`.
    pub source: Option<String>,
}

/// An input item: a job, or a line that could not become one (recorded as failed, not sent).
pub enum JobItem<J> {
    Job(J),
    Invalid { target: Value, message: String },
}

/// An input item and where it came from: the record's `source` (`FILE:LINE`, `stdin:LINE`,
/// `arg:N`), `None` for a target listed by the provider.
pub type Sourced<J> = (JobItem<J>, Option<String>);

/// A provider's list call, whose answers become the run's jobs.
pub trait Listing: Send + Sync + 'static {
    type Job: Send + Sync + 'static;

    /// What the call does, for messages: `listing bearer tokens`.
    fn what(&self) -> &'static str;

    /// The record's `target` when the listing is only planned (`--dry-run`).
    fn identity(&self) -> Value;

    /// The request for the first page (`marker` is `None`) or for the page after `marker`,
    /// signed at `now`.
    fn page_request(
        &self,
        marker: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PreparedRequest, ApiError>;

    /// Reads one page's answer.
    fn read_page(&self, answer: RawResponse) -> Result<Page<Self::Job>, ApiError>;
}

/// One page of a listing: its items as jobs, and the marker of the next page, if any.
pub struct Page<J> {
    pub items: Vec<JobItem<J>>,
    pub next_marker: Option<String>,
}

/// How a provider proves a revocation, with what does it.
pub enum Verification<'a, J> {
    /// One read-only request per target, before and after the revocation.
    PerTarget(&'a dyn TokenCheck<J>),
    /// One request first to find where to verify (OpenID discovery), then per target.
    Discover(&'a dyn Discovery, &'a dyn TokenCheck<J>),
    /// One listing before the run's deletes and one after.
    ListAfter(&'a dyn Listing<Job = J>),
    /// No read-only check exists: the reason.
    Unavailable(&'static str),
}

impl<'a, J> Verification<'a, J> {
    /// The per-target check, if there is one.
    pub fn check(&self) -> Option<&'a dyn TokenCheck<J>> {
        match *self {
            Verification::PerTarget(c) | Verification::Discover(_, c) => Some(c),
            _ => None,
        }
    }

    /// The listing, if verification is by listing.
    pub fn listing(&self) -> Option<&'a dyn Listing<Job = J>> {
        match *self {
            Verification::ListAfter(l) => Some(l),
            _ => None,
        }
    }
}

/// What a verification answer says about one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Dead,
    Alive,
    /// The answer does not say: why.
    Unknown(String),
}
