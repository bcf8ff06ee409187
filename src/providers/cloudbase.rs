//! `revoke cloudbase`: Tencent CloudBase auth, "Revoke Token" (seed 002).
//!
//! Per token: `POST /auth/v1/revoke[?client_id=ID]` with `Authorization: Bearer <token>` ("The
//! user's access_token, format is Bearer xxx", required), `x-device-id` when given, and the JSON
//! body `{"token":"<token>"}`. The page says the body is "any"; the official SDK's `signOut`
//! sends exactly that body (and no Authorization header), so both are sent. 200 means revoked;
//! the body (schema "any") is not read.
//!
//! Errors come in two shapes: the auth service's `{error, error_code, error_description}` (the
//! seed's error schema) and the gateway's `{code, message}` (uppercase codes such as
//! `ACCESS_TOKEN_EXPIRED`, which stop a request before it reaches the auth service). A token the
//! gateway already calls invalid or expired is reported `already_invalid`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Setup, check_token, nonempty};
use crate::cli::CloudbaseArgs;
use crate::engine::{Jobs, Outcome, Provider};
use crate::error::{ApiError, ErrorKind};
use crate::http::{Endpoint, Header, PreparedRequest, RawResponse};
use crate::input::Targets;
use crate::record::Status;
use crate::secret::MASK;
use crate::settings::Common;

/// "China regions (ap-shanghai etc.): https://{envId}.api.tcloudbasegateway.com" (HTTP API
/// overview); the overseas gateway adds `.intl`.
pub const GATEWAY_DOMAIN: &str = "api.tcloudbasegateway.com";
pub const INTL_GATEWAY_DOMAIN: &str = "api.intl.tcloudbasegateway.com";
pub const PATH: &str = "/auth/v1/revoke";
const CONTENT_TYPE: &str = "application/json";

pub struct Cloudbase {
    /// `{endpoint}/auth/v1/revoke`, with `?client_id=` when given.
    url: Url,
    device_id: Option<String>,
}

pub type Job = super::TokenJob;

#[derive(Serialize)]
struct RevokeRequest<'a> {
    token: &'a str,
}

/// Either error shape; every field is optional so that one struct reads both.
#[derive(Deserialize)]
struct ErrorBody {
    /// Auth service: a string such as `unauthenticated`, `invalid_grant`, `unavailable`.
    error: Option<Value>,
    error_description: Option<String>,
    /// Gateway: an uppercase string such as `ACCESS_TOKEN_INVALID`.
    code: Option<Value>,
    message: Option<String>,
    request_id: Option<String>,
    #[serde(rename = "requestId")]
    request_id_camel: Option<String>,
}

/// The gateway's 401 codes that say the token is already unusable ("ACCESS_TOKEN_EXPIRED",
/// "ACCESS_TOKEN_INVALID"): what revoking it was meant to achieve is already true. The code
/// decides, whatever the status it comes with (the gateway documents it with 401).
pub fn already_invalid(code: &str) -> bool {
    matches!(code, "ACCESS_TOKEN_INVALID" | "ACCESS_TOKEN_EXPIRED")
}

/// CloudBase codes mapped to the shared kinds. The auth service's string codes follow gRPC and
/// OAuth names; the gateway's are uppercase. Unknown codes go by HTTP status.
///
/// Nothing here is a `Credentials` failure: the only credential sent is the token being
/// revoked, which is the target itself. A 401 (`MISSING_CREDENTIALS`, `INVALID_CREDENTIALS`,
/// `unauthenticated`, a bare 401) says something about that one token, so it fails that target
/// and the run goes on with the others, instead of stopping the run with exit 3.
pub fn error_kind(code: &str, http_status: u16) -> ErrorKind {
    match code {
        // "request rate exceeds the package's QPS quota"
        "EXCEED_RATELIMIT" | "resource_exhausted" => ErrorKind::Throttled,
        "unavailable"
        | "temporarily_unavailable"
        | "internal"
        | "server_error"
        | "deadline_exceeded" => ErrorKind::Transient,
        // Only ACCESS_TOKEN_INVALID/EXPIRED are documented as meaning "already unusable";
        // these are refusals of the request.
        "MISSING_CREDENTIALS" | "INVALID_CREDENTIALS" | "unauthenticated" | "invalid_grant" => {
            ErrorKind::Rejected
        }
        _ => kind_for_status(http_status),
    }
}

/// [`ErrorKind::from_status`], with a 401 about the per-target token kept to that target.
fn kind_for_status(http_status: u16) -> ErrorKind {
    match ErrorKind::from_status(http_status) {
        ErrorKind::Credentials => ErrorKind::Rejected,
        kind => kind,
    }
}

/// An environment id becomes the first label of the gateway's host name.
pub fn check_env_id(env_id: &str) -> Result<String, String> {
    let id = env_id.trim();
    let label = !id.is_empty()
        && id.len() <= 63
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if !label {
        return Err(format!(
            "--env-id {id:?} is not a CloudBase environment id (letters, digits and '-', as in my-env-1a2b)"
        ));
    }
    Ok(id.to_string())
}

/// `--endpoint` if given (it replaces both gateways), else the gateway of `--env-id`.
fn resolve_endpoint(common: &Common, env_id: Option<&str>, intl: bool) -> Result<Endpoint, String> {
    let env_id = env_id.map(check_env_id).transpose()?;
    if let Some(e) = &common.endpoint {
        return Ok(e.clone());
    }
    let Some(env_id) = env_id else {
        return Err(format!(
            "--env-id is required (it names the host https://ENV.{GATEWAY_DOMAIN}), unless --endpoint is given"
        ));
    };
    let domain = if intl {
        INTL_GATEWAY_DOMAIN
    } else {
        GATEWAY_DOMAIN
    };
    Endpoint::parse(&format!("https://{env_id}.{domain}"))
}

pub fn setup(args: CloudbaseArgs, common: &Common) -> Result<Setup<Cloudbase>, String> {
    let endpoint = resolve_endpoint(common, args.env_id.as_deref(), args.intl)?;
    let client_id = args
        .client_id
        .as_deref()
        .map(|c| nonempty("--client-id", c))
        .transpose()?;
    let device_id = args
        .device_id
        .as_deref()
        .map(|d| nonempty("--device-id", d))
        .transpose()?;
    if device_id.as_deref().is_some_and(|d| !d.is_ascii()) {
        return Err("--device-id must be ASCII: it is sent as the x-device-id header".into());
    }
    if args.tokens.is_empty() && common.input.is_none() {
        return Err(
            "no tokens given: pass TOKEN arguments or --input FILE (--input - reads stdin)".into(),
        );
    }
    let from_args = !args.tokens.is_empty();
    let targets = Targets::prepare(args.tokens, common.input.as_deref(), &check_token)?;
    let mut url = endpoint.join(PATH);
    if let Some(c) = &client_id {
        // "client_id: Client ID corresponding to the application ... Defaults to environment
        // ID, can be omitted": sent only when given.
        url.query_pairs_mut().append_pair("client_id", c);
    }
    let count = targets.count;
    let drainable = targets.drainable();
    let jobs = super::token_jobs(targets, from_args);
    Ok(Setup {
        provider: Arc::new(Cloudbase { url, device_id }),
        jobs: Jobs::Items(jobs),
        count,
        drainable,
        // "Rate limits: package-QPS based, numbers not documented."
        default_rate: None,
        missing_ok: false,
        credentials_source: Some("the tokens themselves (each is its own credential)".into()),
        tls: !endpoint.is_plain_http(),
    })
}

fn text(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The record's request id: the body's, else the `x-request-id` header.
fn request_id(body: Option<String>, resp: &RawResponse) -> Option<String> {
    body.or_else(|| resp.header("x-request-id").map(str::to_string))
        .filter(|id| !id.is_empty())
}

/// An answer we cannot read, classified by status, a 401 kept to its target (see
/// [`error_kind`]).
fn unreadable(resp: &RawResponse) -> ApiError {
    let mut e = ApiError::unreadable(
        resp.status,
        format!("HTTP {} without a CloudBase error body", resp.status),
        request_id(None, resp),
        resp.retry_after(),
    );
    if let ApiError::Unreadable { kind, .. } = &mut e
        && *kind == ErrorKind::Credentials
    {
        *kind = ErrorKind::Rejected;
    }
    e
}

impl Provider for Cloudbase {
    type Job = Job;

    fn name(&self) -> &'static str {
        "cloudbase"
    }

    fn identity(&self, job: &Job) -> Value {
        job.identity()
    }

    fn job_key(&self, job: &Job) -> String {
        job.key()
    }

    fn scope(&self) -> String {
        self.url.to_string()
    }

    fn job_secrets<'a>(&self, job: &'a Job) -> Vec<&'a str> {
        job.secrets()
    }

    fn prepare(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        let token = job.token.expose();
        let mut req = PreparedRequest::new(Method::POST, self.url.clone());
        req.headers.push(Header::secret(
            "authorization",
            format!("Bearer {token}"),
            format!("Bearer {MASK}"),
        ));
        if let Some(d) = &self.device_id {
            req.headers.push(Header::plain("x-device-id", d.clone()));
        }
        req.headers
            .push(Header::plain("content-type", CONTENT_TYPE));
        req.body = serde_json::to_vec(&RevokeRequest { token }).expect("a string serializes");
        req.shown_body = Some(
            serde_json::to_string(&RevokeRequest { token: MASK }).expect("a string serializes"),
        );
        Ok(req)
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        if (200..300).contains(&resp.status) {
            // "200: A successful response." Its schema is "any": nothing in it is needed.
            return Ok(Outcome::revoked(resp.status, request_id(None, &resp), None));
        }
        let Ok(body) = serde_json::from_slice::<ErrorBody>(&resp.body) else {
            return Err(unreadable(&resp));
        };
        let Some(code) = text(body.error).or_else(|| text(body.code)) else {
            return Err(unreadable(&resp));
        };
        let message = body.error_description.or(body.message).unwrap_or_default();
        let request_id = request_id(body.request_id.or(body.request_id_camel), &resp);
        if already_invalid(&code) {
            return Ok(Outcome::noted(
                Status::AlreadyInvalid,
                resp.status,
                request_id,
                code,
                message,
            ));
        }
        Err(ApiError::Service {
            http_status: resp.status,
            kind: error_kind(&code, resp.status),
            code,
            message,
            request_id,
            retry_after: resp.retry_after(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Secret, long_fingerprint};

    fn provider(client_id: Option<&str>, device_id: Option<&str>) -> Cloudbase {
        let mut url = Endpoint::parse("https://env-1.api.tcloudbasegateway.com")
            .unwrap()
            .join(PATH);
        if let Some(c) = client_id {
            url.query_pairs_mut().append_pair("client_id", c);
        }
        Cloudbase {
            url,
            device_id: device_id.map(str::to_string),
        }
    }

    fn job(t: &str) -> Job {
        Job {
            token: Secret::new(t),
        }
    }

    fn answer(status: u16, body: &str, headers: &[(&'static str, &str)]) -> RawResponse {
        RawResponse::new(status, headers, body)
    }

    #[test]
    fn error_codes_map_to_kinds() {
        assert_eq!(error_kind("EXCEED_RATELIMIT", 429), ErrorKind::Throttled);
        assert_eq!(error_kind("resource_exhausted", 429), ErrorKind::Throttled);
        for code in [
            "unavailable",
            "temporarily_unavailable",
            "internal",
            "server_error",
            "deadline_exceeded",
        ] {
            assert_eq!(error_kind(code, 500), ErrorKind::Transient, "{code}");
        }
        for code in [
            "MISSING_CREDENTIALS",
            "INVALID_CREDENTIALS",
            "unauthenticated",
            "invalid_grant",
        ] {
            assert_eq!(error_kind(code, 401), ErrorKind::Rejected, "{code}");
        }
        assert_eq!(error_kind("ACTION_FORBIDDEN", 403), ErrorKind::Rejected);
        assert_eq!(error_kind("INVALID_ENV", 400), ErrorKind::Rejected);
        assert_eq!(error_kind("SOMETHING_NEW", 401), ErrorKind::Rejected);
        assert_eq!(error_kind("SOMETHING_NEW", 429), ErrorKind::Throttled);
        assert_eq!(error_kind("SOMETHING_NEW", 503), ErrorKind::Transient);
        assert!(already_invalid("ACCESS_TOKEN_INVALID"));
        assert!(already_invalid("ACCESS_TOKEN_EXPIRED"));
        assert!(!already_invalid("INVALID_CREDENTIALS"));
    }

    #[test]
    fn env_ids_are_dns_labels() {
        assert_eq!(check_env_id(" my-env-1a2b ").unwrap(), "my-env-1a2b");
        for bad in ["", "a.b", "a/b", "-a", "a-", "ä", "a b", &"a".repeat(64)] {
            assert!(check_env_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_carries_the_token_twice_and_shows_it_masked() {
        let p = provider(Some("app id"), Some("dev-1"));
        let req = p.prepare(&job("tok.en-123"), Utc::now()).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(
            req.url.as_str(),
            "https://env-1.api.tcloudbasegateway.com/auth/v1/revoke?client_id=app+id"
        );
        let headers: Vec<(&str, &str)> = req
            .headers
            .iter()
            .map(|h| (h.name, h.value.as_str()))
            .collect();
        assert_eq!(
            headers,
            [
                ("authorization", "Bearer tok.en-123"),
                ("x-device-id", "dev-1"),
                ("content-type", "application/json")
            ]
        );
        assert_eq!(req.body, br#"{"token":"tok.en-123"}"#);
        let shown = req.render();
        assert!(!shown.contains("tok.en-123"), "{shown}");
        assert!(shown.contains("authorization: Bearer ***"), "{shown}");
        assert!(shown.contains(r#"{"token":"***"}"#), "{shown}");

        let req = provider(None, None).prepare(&job("t"), Utc::now()).unwrap();
        assert!(req.url.query().is_none());
        assert_eq!(req.headers.len(), 2, "no x-device-id unless given");
    }

    #[test]
    fn identity_is_a_fingerprint() {
        let p = provider(None, None);
        let j = job("abc");
        assert_eq!(
            p.identity(&j),
            serde_json::json!({"token": "sha256:ba7816bf8f01"})
        );
        assert_eq!(p.job_key(&j), long_fingerprint("abc"));
        assert_eq!(p.job_secrets(&j), ["abc"]);
    }

    #[test]
    fn answers_are_read() {
        let p = provider(None, None);
        let j = job("t");
        let o = p
            .interpret(&j, answer(200, "{}", &[("x-request-id", "r-1")]))
            .unwrap();
        assert_eq!(o, Outcome::revoked(200, Some("r-1".into()), None));

        let o = p
            .interpret(
                &j,
                answer(
                    401,
                    r#"{"code":"ACCESS_TOKEN_EXPIRED","message":"expired","requestId":"r-2"}"#,
                    &[],
                ),
            )
            .unwrap();
        assert_eq!(o.status, Status::AlreadyInvalid);
        assert_eq!(o.http_status, Some(401));
        assert_eq!(o.request_id.as_deref(), Some("r-2"));
        assert_eq!(o.error.unwrap().code, "ACCESS_TOKEN_EXPIRED");

        let e = p
            .interpret(
                &j,
                answer(
                    500,
                    r#"{"error":"unavailable","error_code":14,"error_description":"try later","request_id":"r-3"}"#,
                    &[],
                ),
            )
            .unwrap_err();
        assert_eq!(e.code(), "unavailable");
        assert_eq!(e.message(), "try later");
        assert_eq!(e.request_id(), Some("r-3"));
        assert!(e.retryable());

        let e = p
            .interpret(
                &j,
                answer(
                    401,
                    r#"{"code":"INVALID_CREDENTIALS","message":"bad"}"#,
                    &[],
                ),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Rejected);

        let e = p.interpret(&j, answer(401, "nope", &[])).unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert_eq!(e.kind(), ErrorKind::Rejected, "a 401 never stops the run");
        let e = p.interpret(&j, answer(503, "{}", &[])).unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert!(e.retryable());
    }
}
