//! One file per vendor API, each a pure API client: built from plain settings (its `*Config`,
//! resolved by `crate::settings`), it turns a job into a signed request at a given `now`
//! (`prepare`) and reads the answer (`interpret`), with the vendor's error-code table mapped to
//! the shared [`crate::error::ErrorKind`]. No client loops, sleeps, spawns or sends: the engine
//! does that for all of them.
//!
//! What they share lives here: the job of the token-revoking APIs, what the APIs accept as a
//! target (the checks settings run before anything is sent), and the small readers of answers.

#[cfg(test)]
pub(crate) mod answers;
pub mod bi_embed;
pub mod ciam;
pub mod cloudbase;
pub mod identity_store;
pub mod smh;

use serde_json::Value;

use crate::http::RawResponse;
use crate::secret::{Secret, fingerprint, long_fingerprint};

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

/// Whether an id that becomes a URL path segment would address another resource: URL
/// normalisation reads `.` and `..` as "this" and "parent", and would send the request
/// elsewhere (a DELETE of the tenant instead of one of its tokens).
pub fn is_dot_segment(s: &str) -> bool {
    s == "." || s == ".."
}

/// An id that becomes a URL path segment: no control character, and not `.` or `..`.
pub fn check_segment(s: &str) -> Result<(), String> {
    check_id(s)?;
    if is_dot_segment(s) {
        return Err(format!(
            "{s:?} cannot be an id: as a URL path segment it would address another resource"
        ));
    }
    Ok(())
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

/// A `RawResponse` for the providers' unit tests: status, headers, body.
#[cfg(test)]
pub(crate) fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> RawResponse {
    RawResponse::new(status, headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["ap-southeast-1", "my-env-1a2b", "a", "1x", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok:?}");
        }
        for bad in [
            "",
            "a.b",
            "-x",
            "x-",
            "a/b",
            "eu west",
            "ä",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_label(bad), "{bad:?}");
        }
    }

    #[test]
    fn request_ids_from_body_then_headers() {
        let a = answer(
            200,
            &[("x-request-id", ""), ("x-smh-request-id", "s-1")],
            "",
        );
        assert_eq!(
            header_request_id(&a, &["x-request-id", "x-smh-request-id"]),
            Some("s-1".into())
        );
        assert_eq!(
            request_id(Some("b-1".into()), &a, &["x-smh-request-id"]).as_deref(),
            Some("b-1")
        );
        assert_eq!(
            request_id(Some(String::new()), &a, &["x-smh-request-id"]).as_deref(),
            Some("s-1")
        );
        assert_eq!(request_id(None, &a, &["x-request-id"]), None);
    }

    #[test]
    fn text_is_a_string_or_a_number() {
        assert_eq!(text(&serde_json::json!("X.1")).as_deref(), Some("X.1"));
        assert_eq!(text(&serde_json::json!(14)).as_deref(), Some("14"));
        assert_eq!(text(&serde_json::json!("")), None);
        assert_eq!(text(&serde_json::json!(null)), None);
        assert_eq!(text(&serde_json::json!({"a": 1})), None);
    }
}
