//! One file per vendor API. Each holds a client struct implementing [`Provider`], the
//! request/response shapes in the API's own vocabulary, and the vendor's error-code table
//! mapped to the shared [`crate::error::ErrorKind`]. What they share lives here: how a run is
//! set up for the engine, and the target checks.

pub mod bi_embed;
pub mod ciam;
pub mod cloudbase;
pub mod identity_store;
pub mod smh;

use std::sync::Arc;

use serde_json::Value;

use crate::engine::{JobItem, Jobs, Provider};
use crate::http::RawResponse;
use crate::input::Targets;
use crate::secret::{Secret, fingerprint, long_fingerprint};

/// Everything the engine needs for one run of one provider.
pub struct Setup<P: Provider> {
    pub provider: Arc<P>,
    pub jobs: Jobs<P::Job>,
    pub count: Option<u64>,
    pub drainable: bool,
    /// The provider's documented rate limit, used unless `--rate` is given.
    pub default_rate: Option<f64>,
    pub missing_ok: bool,
    /// Which credential source was used (its name, never its value), for `--dry-run`.
    pub credentials_source: Option<String>,
    /// Whether the run talks https (TLS roots are loaded only then).
    pub tls: bool,
}

/// Why a run could not start. Almost always a usage or configuration error, found before
/// anything is sent; a provider whose setup must ask the API first (identity-store's `--all`
/// lists the tokens it then deletes) can also fail there, and that is no usage error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// Bad flag, missing credential, bad endpoint: exit 2, nothing was sent.
    Usage(String),
    /// The provider rejected the credentials on a setup request: exit 3, as for a target.
    Credentials(String),
    /// A setup request failed after its retries: exit 1, as for a target.
    Failed(String),
}

impl From<String> for SetupError {
    fn from(message: String) -> Self {
        SetupError::Usage(message)
    }
}

/// Jobs for providers with one request per target line: `job` makes the job, `identity`
/// names a line that could not become one.
pub fn one_per_target<J: Send + 'static>(
    targets: Targets,
    check: fn(&str) -> Result<(), String>,
    job: impl Fn(String) -> J + Send + 'static,
    identity: impl Fn(&str) -> Value + Send + 'static,
) -> Box<dyn Iterator<Item = JobItem<J>> + Send> {
    Box::new(
        targets
            .stream(Box::new(check))
            .map(move |raw| match raw.problem {
                None => JobItem::Job(job(raw.text)),
                Some(message) => JobItem::Invalid {
                    target: identity(&raw.text),
                    message,
                },
            }),
    )
}

/// The job of the token-revoking providers (`ciam`, `cloudbase`): one token.
pub struct TokenJob {
    pub token: Secret,
}

impl TokenJob {
    /// The record's `target`: the token's fingerprint, never the token.
    pub fn identity(&self) -> Value {
        token_identity(self.token.expose())
    }

    /// The journal's key: a 128-bit fingerprint, so that a million tokens do not collide.
    pub fn key(&self) -> String {
        long_fingerprint(self.token.expose())
    }

    pub fn secrets(&self) -> Vec<&str> {
        vec![self.token.expose()]
    }
}

pub fn token_identity(token: &str) -> Value {
    serde_json::json!({ "token": fingerprint(token) })
}

/// Jobs for the token providers. Tokens given as arguments work, but draw one warning: other
/// users can read them in the process list.
pub fn token_jobs(
    targets: Targets,
    from_args: bool,
) -> Box<dyn Iterator<Item = JobItem<TokenJob>> + Send> {
    if from_args {
        tracing::warn!(
            "tokens given as command-line arguments are visible to other users in the process list; prefer --input FILE or --input -"
        );
    }
    one_per_target(
        targets,
        check_token,
        |t| TokenJob {
            token: Secret::new(t),
        },
        token_identity,
    )
}

/// A token must fit in a header and a form without change: no whitespace, no control
/// characters. The token itself is never part of the message.
pub fn check_token(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a token cannot contain whitespace or control characters".into());
    }
    Ok(())
}

/// An id must not hold control characters (they cannot be sent in a URL or header).
pub fn check_id(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_control()) {
        return Err("an id cannot contain control characters".into());
    }
    Ok(())
}

/// An id that becomes a URL path segment. `.` and `..` are refused: URL normalisation reads them
/// as "this" and "parent" and would send the request to another resource (a DELETE of the
/// tenant instead of one of its tokens).
pub fn check_segment(s: &str) -> Result<(), String> {
    check_id(s)?;
    if s == "." || s == ".." {
        return Err(format!(
            "{s:?} cannot be an id: as a URL path segment it would address another resource"
        ));
    }
    Ok(())
}

/// A flag value that becomes a URL path segment (see [`check_segment`]).
pub fn segment(flag: &str, value: &str) -> Result<String, String> {
    let v = nonempty(flag, value)?;
    check_segment(&v).map_err(|e| format!("{flag}: {e}"))?;
    Ok(v)
}

pub fn nonempty(flag: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("{flag} cannot be empty"));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(format!("{flag} cannot contain control characters"));
    }
    Ok(v.to_string())
}

/// A 2xx status: the answer says the request was done.
pub fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The first of the `names` headers the answer carries with a value: where providers and the
/// gateways in front of them put a request id.
pub fn header_request_id(resp: &RawResponse, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| resp.header(n))
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

/// A request id from the body if there is one, else from the `names` headers.
pub fn request_id(body: Option<String>, resp: &RawResponse, names: &[&str]) -> Option<String> {
    body.filter(|id| !id.is_empty())
        .or_else(|| header_request_id(resp, names))
}

/// A JSON string or number as text (error codes come as either); anything else, or an empty
/// string, is none.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A DNS label (RFC 1035 2.3.1, with leading digits allowed as RFC 1123 does): what a value
/// that becomes part of a host name (a region, an environment id) must be.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
