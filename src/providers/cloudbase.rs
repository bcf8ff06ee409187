//! `revoke cloudbase`: Tencent CloudBase auth, "Revoke Token" (seed 002).
//!
//! Per token: `POST /auth/v1/revoke[?client_id=ID]` with `Authorization: Bearer <token>` ("The
//! user's access_token, format is Bearer xxx", required), `x-device-id` when given, and the JSON
//! body `{"token":"<token>"}`. The page says the body is "any"; the official SDK's `signOut`
//! sends exactly that body (and no Authorization header), so both are sent. A 200 with a JSON
//! body (schema "any") and no error code in it means revoked; a 200 page does not.
//!
//! Errors come in two shapes: the auth service's `{error, error_code, error_description}` (the
//! seed's error schema) and the gateway's `{code, message}` (uppercase codes such as
//! `ACCESS_TOKEN_EXPIRED`, which stop a request before it reaches the auth service). A token the
//! gateway already calls invalid or expired is reported `already_invalid`.

use crate::providers::{Credentials, Descriptor, Required, TokenCheck, Verification};
use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Body, Looks, describe, recognise, request_id, success, text, wrong_place};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, Header, PreparedRequest, RawResponse};
use crate::providers::{Outcome, Provider};
use crate::report::record::Status;
use crate::secret::MASK;

/// `revoke cloudbase`.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: "cloudbase",
    credentials: Credentials::Tokens,
    sources: "Nothing else: each access token is its own credential (sent as Authorization: Bearer).",
    env: &[],
    files: &[],
    required: &[Required::OneOf {
        keys: &["env-id", "endpoint"],
        message: "--env-id is required (it names the host https://ENV.api.tcloudbasegateway.com), unless --endpoint is given",
    }],
    one_of: &[],
    secret_targets: true,
};

/// "China regions (ap-shanghai etc.): https://{envId}.api.tcloudbasegateway.com" (HTTP API
/// overview); the overseas gateway adds `.intl`.
pub const GATEWAY_DOMAIN: &str = "api.tcloudbasegateway.com";
pub const INTL_GATEWAY_DOMAIN: &str = "api.intl.tcloudbasegateway.com";
pub const PATH: &str = "/auth/v1/revoke";
/// `--verify`: "token introspect" (docs.cloudbase.net http-api auth, auth-token-introspect):
/// `GET` with the token as `Authorization: Bearer`; an invalid, expired or revoked token is
/// answered `{}` (HTTP 200).
pub const INTROSPECT_PATH: &str = "/auth/v1/token/introspect";
const CONTENT_TYPE: &str = "application/json";

/// "200: A successful response. Response Headers: application/json. Schema: any" (seed 002):
/// a JSON document, whose content is not needed.
const SUCCESS: Looks = Looks {
    what: "a CloudBase revoke success",
    statuses: &[200],
    body: Body::Json,
};

/// What the client is built from.
pub struct CloudbaseConfig {
    /// `--endpoint`, or the gateway of the environment ([`gateway`]).
    pub endpoint: Endpoint,
    /// Sent as `?client_id=` when given.
    pub client_id: Option<String>,
    /// Sent as the `x-device-id` header when given (ASCII).
    pub device_id: Option<String>,
}

/// The gateway of environment `env_id` (a DNS label), overseas with `intl`.
pub fn gateway(env_id: &str, intl: bool) -> String {
    let domain = if intl {
        INTL_GATEWAY_DOMAIN
    } else {
        GATEWAY_DOMAIN
    };
    format!("https://{env_id}.{domain}")
}

pub struct Cloudbase {
    /// `{endpoint}/auth/v1/revoke`, with `?client_id=` when given.
    url: Url,
    /// `{endpoint}/auth/v1/token/introspect`, with the same query (`--verify`).
    introspect: Url,
    device_id: Option<String>,
}

impl Cloudbase {
    pub fn new(config: CloudbaseConfig) -> Cloudbase {
        let mut url = config.endpoint.join(PATH);
        let mut introspect = config.endpoint.join(INTROSPECT_PATH);
        if let Some(c) = &config.client_id {
            // "client_id: Client ID corresponding to the application ... Defaults to environment
            // ID, can be omitted": sent only when given.
            url.query_pairs_mut().append_pair("client_id", c);
            introspect.query_pairs_mut().append_pair("client_id", c);
        }
        Cloudbase {
            url,
            introspect,
            device_id: config.device_id,
        }
    }
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

/// [`ErrorKind::from_status`], with a 401 about the per-target token kept to that target, and
/// a 404 or 405, which CloudBase documents for neither its auth service nor its gateway, taken
/// as what it is: the endpoint is not the API.
fn kind_for_status(http_status: u16) -> ErrorKind {
    match ErrorKind::from_status(http_status) {
        _ if wrong_place(http_status) => ErrorKind::NotTheApi,
        ErrorKind::Credentials => ErrorKind::Rejected,
        kind => kind,
    }
}

/// An answer we cannot read, classified by status, a 401 kept to its target (see
/// [`error_kind`]).
fn unreadable(resp: &RawResponse) -> ApiError {
    let mut e = ApiError::unreadable(
        resp.status,
        format!(
            "HTTP {} without a CloudBase error body: {}",
            resp.status,
            describe(resp)
        ),
        request_id(None, resp, &["x-request-id"]),
        resp.retry_after(),
    );
    if let ApiError::Unreadable { kind, .. } = &mut e
        && (*kind == ErrorKind::Credentials || wrong_place(resp.status))
    {
        *kind = kind_for_status(resp.status);
    }
    e
}

impl Provider for Cloudbase {
    type Job = Job;

    const DESCRIPTOR: &'static Descriptor = &DESCRIPTOR;

    /// A revoked token stays revoked: a journal entry replays whatever its age.
    fn acts_on_current_tokens(&self) -> bool {
        false
    }

    fn verification(&self) -> Verification<'_, Job> {
        Verification::PerTarget(self)
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
        let body = serde_json::from_slice::<ErrorBody>(&resp.body).ok();
        let code = body.as_ref().and_then(|b| {
            b.error
                .as_ref()
                .and_then(text)
                .or_else(|| b.code.as_ref().and_then(text))
        });
        if success(resp.status) && code.is_none() {
            let request_id = request_id(None, &resp, &["x-request-id"]);
            let seen = recognise(&resp, &SUCCESS, request_id.clone())?;
            return Ok(Outcome::revoked(seen, request_id, None));
        }
        // An error code, whatever the status (a gateway may answer 200 with one): the API's
        // own refusal, never a success.
        let (Some(body), Some(code)) = (body, code) else {
            return Err(unreadable(&resp));
        };
        let message = body.error_description.or(body.message).unwrap_or_default();
        let body_id = body.request_id.or(body.request_id_camel);
        let request_id = request_id(body_id, &resp, &["x-request-id"]);
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

impl TokenCheck<Job> for Cloudbase {
    fn verify_request(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        let mut req = PreparedRequest::new(Method::GET, self.introspect.clone());
        req.headers.push(Header::secret(
            "authorization",
            format!("Bearer {}", job.token.expose()),
            format!("Bearer {MASK}"),
        ));
        if let Some(d) = &self.device_id {
            req.headers.push(Header::plain("x-device-id", d.clone()));
        }
        Ok(req)
    }
    /// `{}` (or a 401 `ACCESS_TOKEN_INVALID` / `ACCESS_TOKEN_EXPIRED`): dead. An object naming
    /// the token's subject or client: alive. Anything else does not say.
    fn read_verdict(
        &self,
        job: &Job,
        resp: RawResponse,
    ) -> Result<crate::providers::Verdict, ApiError> {
        use crate::providers::Verdict;
        if success(resp.status) {
            let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&resp.body) else {
                return Ok(Verdict::Unknown(format!(
                    "the introspection answer (HTTP {}) is not a JSON object",
                    resp.status
                )));
            };
            if map.is_empty() || map.get("active") == Some(&Value::Bool(false)) {
                return Ok(Verdict::Dead);
            }
            if ["sub", "client_id", "user_id", "scope", "exp"]
                .iter()
                .any(|k| map.contains_key(*k))
                || map.get("active") == Some(&Value::Bool(true))
            {
                return Ok(Verdict::Alive);
            }
            return Ok(Verdict::Unknown(
                "the introspection answer names neither a subject nor a client".into(),
            ));
        }
        match self.interpret(job, resp) {
            Ok(o) if o.status == Status::AlreadyInvalid => Ok(Verdict::Dead),
            Ok(_) => Ok(Verdict::Unknown(
                "an unexpected introspection answer".into(),
            )),
            Err(e) => Err(e),
        }
    }
    fn unseen(&self) -> String {
        "the introspection endpoint cannot see this token (before the revocation it answered as for an invalid token: already unusable, or not this environment's), so the revocation cannot be proved".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::answer;
    use crate::secret::{Secret, long_fingerprint};

    fn provider(client_id: Option<&str>, device_id: Option<&str>) -> Cloudbase {
        Cloudbase::new(CloudbaseConfig {
            endpoint: Endpoint::parse(&gateway("env-1", false)).unwrap(),
            client_id: client_id.map(str::to_string),
            device_id: device_id.map(str::to_string),
        })
    }

    fn job(t: &str) -> Job {
        Job {
            token: Secret::new(t),
        }
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
            .interpret(&j, answer(200, &[("x-request-id", "r-1")], "{}"))
            .unwrap();
        assert_eq!(o.status, Status::Revoked);
        assert_eq!(o.http_status, Some(200));
        assert_eq!(o.request_id.as_deref(), Some("r-1"));

        // 200 with no JSON, or a page: not CloudBase's success.
        let page = "<html><head><title>Sign in - Corp SSO</title></head></html>";
        for body in ["", page, "OK"] {
            let e = p.interpret(&j, answer(200, &[], body)).unwrap_err();
            assert_eq!(e.code(), "NotTheApi", "{body:?}");
            assert!(!e.retryable());
        }
        // An error code in a 200 is the API's refusal, never a success.
        let e = p
            .interpret(
                &j,
                answer(200, &[], r#"{"code":"INVALID_ENV","message":"no env"}"#),
            )
            .unwrap_err();
        assert_eq!(e.code(), "INVALID_ENV");
        // CloudBase documents no 404: not the API, whatever the body.
        for body in [page, "", r#"{"code":"NOT_FOUND","message":"x"}"#] {
            let e = p.interpret(&j, answer(404, &[], body)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotTheApi, "{body:?}");
        }

        let o = p
            .interpret(
                &j,
                answer(
                    401,
                    &[],
                    r#"{"code":"ACCESS_TOKEN_EXPIRED","message":"expired","requestId":"r-2"}"#,
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
                    &[],
                    r#"{"error":"unavailable","error_code":14,"error_description":"try later","request_id":"r-3"}"#,
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
                    &[],
                    r#"{"code":"INVALID_CREDENTIALS","message":"bad"}"#,
                ),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Rejected);

        let e = p.interpret(&j, answer(401, &[], "nope")).unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert_eq!(e.kind(), ErrorKind::Rejected, "a 401 never stops the run");
        let e = p.interpret(&j, answer(503, &[], "{}")).unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert!(e.retryable());
    }

    /// Seed 002: "200: A successful response", `application/json`, schema "any" (and no error
    /// code in it).
    fn documented_success(status: u16, body: &[u8]) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        let code = |k: &str| v.get(k).and_then(text).is_some();
        status == 200 && !code("error") && !code("code")
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_answer_is_handled_and_scrubbed(
            sample in crate::providers::answers::samples(vec!["prop-cb-token-00001".into()]),
        ) {
            crate::providers::answers::check(
                &provider(Some("client-1"), None),
                &job("prop-cb-token-00001"),
                &[],
                documented_success,
                sample,
            )?;
        }

        /// The token sent is the token given, byte for byte.
        #[test]
        fn the_exact_token_is_sent(token in "[!-~]{1,80}") {
            let req = provider(None, None).prepare(&job(&token), chrono::Utc::now()).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let sent = body.as_object().unwrap().values().find_map(|v| v.as_str()).unwrap();
            proptest::prop_assert_eq!(sent, token.as_str());
        }
    }
}
