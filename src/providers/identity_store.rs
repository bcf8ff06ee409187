//! `revoke identity-store`: Huawei Cloud IAM Identity Center, "Deleting an Access Token"
//! (`DeleteBearerToken`).
//!
//! One SDK-HMAC-SHA256 signed `DELETE /v1/identity-stores/{identity_store_id}/tenant/
//! {tenant_id}/bearer-token/{token_id}` per token id; 200 is success, 404 is `not_found`. With
//! `--all`, the engine first pages through `ListBearerTokens` (`GET .../bearer-token`, the
//! [`Listing`] below) and the ids it returns become the targets. Every attempt is signed afresh.

use crate::providers::{Credentials, Descriptor, EnvVar, HOME, Required, Verification};
use crate::sign::huawei::HuaweiCredentials;
use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Body, Looks, check_segment, describe, header_request_id, not_the_api, not_the_api_kind,
    recognise, success, text, wrong_place,
};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, Header, PreparedRequest, RawResponse, host_header};
use crate::providers::{JobItem, Listing, Outcome, Page, Provider};
use crate::report::record::Status;
use crate::secret::MASK;
use crate::sign::huawei;

/// `revoke identity-store`.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: "identity-store",
    credentials: Credentials::Huawei,
    sources: "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (and HUAWEICLOUD_SDK_SECURITY_TOKEN), \
         else the Huawei SDK credentials file (HUAWEICLOUD_SDK_CREDENTIALS_FILE, else \
         ~/.huaweicloud/credentials).",
    env: &[
        EnvVar {
            names: &["HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"],
            meaning: "Huawei Cloud access key pair; when unset, the credentials file is read",
        },
        EnvVar {
            names: &["HUAWEICLOUD_SDK_SECURITY_TOKEN"],
            meaning: "the security token of temporary credentials (sent as X-Security-Token)",
        },
        EnvVar {
            names: &["HUAWEICLOUD_SDK_PROJECT_ID"],
            meaning: "the project id sent as X-Project-Id, unless --project-id is given",
        },
        EnvVar {
            names: &["HUAWEICLOUD_SDK_CREDENTIALS_FILE"],
            meaning: "the Huawei SDK credentials file (default: ~/.huaweicloud/credentials)",
        },
        HOME,
    ],
    files: &[(
        "~/.huaweicloud/credentials",
        "The Huawei Cloud SDK credentials file (INI, section [basic]: ak, sk, security_token, \
         project_id), read by identity-store when HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK \
         are unset; HUAWEICLOUD_SDK_CREDENTIALS_FILE names another file.",
    )],
    required: &[
        Required::OneOf {
            keys: &["region", "endpoint"],
            message: "identity-store needs --region R (for https://identitystore.R.myhuaweicloud.com) or --endpoint URL",
        },
        Required::Flag {
            flag: "--identity-store-id",
            value: "ID",
        },
        Required::Flag {
            flag: "--tenant-id",
            value: "ID",
        },
    ],
    one_of: &[],
    secret_targets: false,
};

/// The SDK sets `Content-Type: application/json` on these calls even without a body
/// (`identitycenterstore_client.py`), and signs it.
const CONTENT_TYPE: &str = "application/json";
/// Page size asked for when following `page_info.next_marker` (see the [`Listing`] impl).
const LIST_PAGE_LIMIT: &str = "100";

/// The longest `token_id` a listing is taken to hold: up to 100000 of them are kept until the
/// deletes are sent, so a server's megabyte ids would be gigabytes. A longer one is a failed
/// record, its target cut to [`LISTED_ID_SHOWN`] characters.
const MAX_LISTED_ID: usize = 1024;
const LISTED_ID_SHOWN: usize = 64;

/// DeleteBearerToken: "Status code: 200 Successful", no response parameter, "Example Response:
/// None" (seed 004). An empty JSON object says as little and is taken the same way.
const DELETED: Looks = Looks {
    what: "a DeleteBearerToken success",
    statuses: &[200],
    body: Body::NoneOrEmptyObject,
};

/// ListBearerTokens: 200 with `{"bearer_tokens": [...]}` (`reference/providers.md` (d)).
const LISTED: Looks = Looks {
    what: "a ListBearerTokens answer",
    statuses: &[200],
    body: Body::Json,
};

/// `https://identitystore.{region}.myhuaweicloud.com`, the SDK's pattern for every region it
/// lists (`identitycenterstore_region.py`). `region` is a DNS label.
pub fn default_endpoint(region: &str) -> String {
    format!("https://identitystore.{region}.myhuaweicloud.com")
}

pub struct IdentityStoreConfig {
    pub endpoint: Endpoint,
    pub credentials: HuaweiCredentials,
    /// Path segments: not `.` or `..`.
    pub identity_store_id: String,
    pub tenant_id: String,
    /// Sent as `X-Project-Id` when given.
    pub project_id: Option<String>,
}

pub struct IdentityStore {
    endpoint: Endpoint,
    creds: HuaweiCredentials,
    identity_store_id: String,
    tenant_id: String,
    project_id: Option<String>,
}

impl IdentityStore {
    pub fn new(config: IdentityStoreConfig) -> IdentityStore {
        IdentityStore {
            endpoint: config.endpoint,
            creds: config.credentials,
            identity_store_id: config.identity_store_id,
            tenant_id: config.tenant_id,
            project_id: config.project_id,
        }
    }
}

/// DeleteBearerToken of one token id.
pub struct Job {
    pub token_id: String,
}

/// ListBearerTokens' answer: `{"bearer_tokens":[{"creation_time","expiration_time","token_id"}]}`.
#[derive(Deserialize)]
struct ListBearerTokensResponse {
    bearer_tokens: Vec<BearerToken>,
    page_info: Option<PageInfo>,
}

#[derive(Deserialize)]
struct BearerToken {
    token_id: String,
}

/// Not in the ListBearerTokens page; Huawei's paginated APIs (Identity Center's ListUsers,
/// ListGroups...) answer `page_info: {next_marker, current_count}`, so it is followed if present.
#[derive(Deserialize)]
struct PageInfo {
    next_marker: Option<String>,
}

/// An APIG or service error: `{"error_code","error_msg","request_id"}`.
struct HuaweiError {
    code: String,
    message: String,
    request_id: Option<String>,
}

/// Codes the Identity Center error table gives with HTTP 404 that mean a bad request, not a
/// missing resource (api-identitycenter/ErrorCode.html: `IIC.400`, `IIC.1002` "Bad Request: {0}.",
/// spelled `IdentityCenter.*` on older pages). The store API publishes no table of its own.
const BAD_REQUEST_404: [&str; 4] = [
    "IIC.400",
    "IIC.1002",
    "IdentityCenter.400",
    "IdentityCenter.1002",
];

/// The API Gateway's error codes (api-sign-errorcode, `reference/providers.md` (d)) mapped to
/// the shared kinds; anything else by its HTTP status.
pub fn error_kind(status: u16, code: &str) -> ErrorKind {
    // The shared gateway says `APIGW.`, dedicated gateways and older pages `APIG.`.
    let apigw = code
        .strip_prefix("APIGW.")
        .or_else(|| code.strip_prefix("APIG."));
    match apigw {
        // "Throttling threshold reached" (HTTP 429).
        Some("0308") => ErrorKind::Throttled,
        // 0301 "Incorrect IAM authentication information" is never retried: "If an AK/SK pair
        // fails to be authenticated for more than five consecutive times, the AK/SK pair is
        // locked for 5 minutes" (Huawei's APIG.0301 FAQ). 0303 (signature date skew), 0307
        // (token must be updated): the next request would fail the same way.
        Some("0301" | "0303" | "0307") => ErrorKind::Credentials,
        // Not authorized, access denied, project unavailable (403).
        Some("0302" | "0306" | "0310") => ErrorKind::Rejected,
        // "API does not exist": a wrong host or path, never a missing token; every request to
        // this endpoint would get it.
        Some("0101") => ErrorKind::NotTheApi,
        // Internal error (500), IAM unavailable (503).
        Some("0601" | "0613") => ErrorKind::Transient,
        // 0201 is "backend unavailable" with 502 and "backend timeout" with 504 (retryable), a
        // bad request with 400/413/414/494: its status says which.
        _ if BAD_REQUEST_404.contains(&code) => ErrorKind::Rejected,
        // The API documents no 405: the method is not this API's.
        _ if status == 405 => ErrorKind::NotTheApi,
        _ => ErrorKind::from_status(status),
    }
}

/// The error fields, in the spellings the SDK's exception handler accepts (`error_code` /
/// `error_msg`, `errorCode` / `errorMsg`, `code` / `message`), at the top or one level down.
fn parse_error(body: &[u8]) -> Option<HuaweiError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    error_fields(obj).or_else(|| {
        obj.values()
            .filter_map(Value::as_object)
            .find_map(error_fields)
    })
}

fn error_fields(obj: &Map<String, Value>) -> Option<HuaweiError> {
    let text = |k: &str| text(obj.get(k)?);
    let (code, message) = [
        ("error_code", "error_msg"),
        ("errorCode", "errorMsg"),
        ("code", "message"),
    ]
    .iter()
    .find_map(|(c, m)| Some((text(c)?, text(m).unwrap_or_default())))?;
    Some(HuaweiError {
        code,
        message,
        request_id: text("request_id"),
    })
}

/// An answer that is not a success, as an error. The request id is in the `X-Request-Id`
/// header, and in the body too.
fn api_error(resp: &RawResponse) -> ApiError {
    let header_id = header_request_id(resp, &["x-request-id"]);
    let retry_after = resp.retry_after();
    match parse_error(&resp.body) {
        Some(e) => ApiError::Service {
            http_status: resp.status,
            kind: error_kind(resp.status, &e.code),
            code: e.code,
            message: e.message,
            request_id: header_id.or(e.request_id),
            retry_after,
        },
        None => {
            let e = ApiError::unreadable(
                resp.status,
                format!(
                    "HTTP {} without a Huawei Cloud error body (error_code, error_msg): {}",
                    resp.status,
                    describe(resp)
                ),
                header_id,
                retry_after,
            );
            // The documented 404 has a body (error_code, error_msg, request_id); a bare one,
            // or a 405, comes from something that is not the API.
            if wrong_place(resp.status) {
                not_the_api_kind(e)
            } else {
                e
            }
        }
    }
}

impl IdentityStore {
    /// `/v1/identity-stores/{id}/tenant/{tenant}/bearer-token[/{token_id}]`, each segment
    /// percent-encoded as the SDK does.
    fn path(&self, token_id: Option<&str>) -> String {
        let mut segments = vec![
            "v1",
            "identity-stores",
            self.identity_store_id.as_str(),
            "tenant",
            self.tenant_id.as_str(),
            "bearer-token",
        ];
        segments.extend(token_id);
        huawei::wire_path(&segments)
    }

    /// The signed request: SDK-HMAC-SHA256 over the method, path, query and headers at `now`.
    fn signed(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<PreparedRequest, ApiError> {
        let mut url: Url = self.endpoint.join(path);
        if !query.is_empty() {
            // Encoded as the signer encodes the canonical query (`%20`, never `+`), so that what
            // the gateway decodes and re-encodes is what was signed.
            let text: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", huawei::encode(k), huawei::encode(v)))
                .collect();
            url.set_query(Some(&text.join("&")));
        }
        let date = huawei::sdk_date(now);
        // The Host the HTTP stack sends from the URL; signed, but not pushed as a header.
        let host = host_header(&url);
        let mut signed: Vec<(&str, &str)> = vec![
            ("content-type", CONTENT_TYPE),
            ("host", &host),
            ("x-sdk-date", &date),
        ];
        if let Some(project) = &self.project_id {
            signed.push(("x-project-id", project));
        }
        if let Some(token) = &self.creds.security_token {
            // "If a temporary security credential is used, this header is required."
            signed.push(("x-security-token", token.expose()));
        }
        let signature = huawei::sign(&huawei::SigningParams {
            access_key: self.creds.access_key.expose(),
            secret_key: self.creds.secret_key.expose(),
            method: method.as_str(),
            wire_path: url.path(),
            query,
            headers: &signed,
            body: b"",
        })
        .map_err(|e| ApiError::Build {
            message: e.to_string(),
        })?;
        // The canonical request is not logged: its headers carry X-Security-Token.
        tracing::trace!("string to sign:\n{}", signature.string_to_sign);
        let shown_auth = format!(
            "{} Access={MASK}, SignedHeaders={}, Signature={MASK}",
            huawei::ALGORITHM,
            signature.canonical_request.signed_headers()
        );

        let mut req = PreparedRequest::new(method, url);
        req.headers
            .push(Header::plain("content-type", CONTENT_TYPE));
        req.headers.push(Header::plain("x-sdk-date", date.clone()));
        if let Some(project) = &self.project_id {
            req.headers
                .push(Header::plain("x-project-id", project.clone()));
        }
        if let Some(token) = &self.creds.security_token {
            req.headers
                .push(Header::secret("x-security-token", token.expose(), MASK));
        }
        req.headers.push(Header::secret(
            "authorization",
            signature.authorization,
            shown_auth,
        ));
        Ok(req)
    }
}

/// `ListBearerTokens`, for `--all`: its token ids become the run's targets.
///
/// Pagination is not documented for ListBearerTokens. If an answer carries
/// `page_info.next_marker`, as Huawei's paginated APIs do, the next page is asked for with
/// `?limit=100&marker=...`; without it, the first answer is the whole list.
impl Listing for IdentityStore {
    type Job = Job;

    fn what(&self) -> &'static str {
        "listing bearer tokens"
    }

    /// `*`: every token of the tenant, as listed when the run is not a dry run.
    fn identity(&self) -> Value {
        serde_json::json!({ "token_id": "*" })
    }

    fn page_request(
        &self,
        marker: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<PreparedRequest, ApiError> {
        let query = match marker {
            None => Vec::new(),
            Some(marker) => vec![("limit", LIST_PAGE_LIMIT), ("marker", marker)],
        };
        self.signed(Method::GET, &self.path(None), &query, now)
    }

    fn read_page(&self, resp: RawResponse) -> Result<Page<Job>, ApiError> {
        if !success(resp.status) {
            return Err(api_error(&resp));
        }
        let request_id = header_request_id(&resp, &["x-request-id"]);
        let seen = recognise(&resp, &LISTED, request_id.clone())?;
        let page: ListBearerTokensResponse =
            serde_json::from_value(seen.json().cloned().unwrap_or_default()).map_err(|e| {
                not_the_api(
                    &resp,
                    &LISTED,
                    format!("JSON that is not one ({e})"),
                    request_id,
                )
            })?;
        let items = page
            .bearer_tokens
            .into_iter()
            .map(|t| match check_segment(&t.token_id) {
                _ if t.token_id.len() > MAX_LISTED_ID => {
                    let cut: String = t.token_id.chars().take(LISTED_ID_SHOWN).collect();
                    JobItem::Invalid {
                        target: serde_json::json!({ "token_id": format!("{cut}...") }),
                        message: format!(
                            "ListBearerTokens returned a token_id longer than {} KiB ({} bytes): not an id",
                            MAX_LISTED_ID / 1024,
                            t.token_id.len()
                        ),
                    }
                }
                Ok(()) if !t.token_id.is_empty() => JobItem::Job(Job {
                    token_id: t.token_id,
                }),
                _ => JobItem::Invalid {
                    target: serde_json::json!({ "token_id": t.token_id }),
                    message: "ListBearerTokens returned a token_id that cannot be sent".into(),
                },
            })
            .collect();
        Ok(Page {
            items,
            next_marker: page.page_info.and_then(|p| p.next_marker),
        })
    }
}

impl Provider for IdentityStore {
    type Job = Job;

    const DESCRIPTOR: &'static Descriptor = &DESCRIPTOR;

    /// Its jobs are token ids: nothing secret beyond the credentials.
    fn job_secrets<'a>(&self, _job: &'a Job) -> Vec<&'a str> {
        Vec::new()
    }

    /// A deleted token id stays deleted: a journal entry replays whatever its age.
    fn acts_on_current_tokens(&self) -> bool {
        false
    }

    /// `--verify`: one `ListBearerTokens` before the deletes and one after; a deleted id
    /// still listed is alive (the API has no per-token read).
    fn verification(&self) -> Verification<'_, Job> {
        Verification::ListAfter(self)
    }

    fn identity(&self, job: &Job) -> Value {
        serde_json::json!({ "token_id": job.token_id })
    }

    fn job_key(&self, job: &Job) -> String {
        job.token_id.clone()
    }

    fn scope(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.endpoint.join("/v1/identity-stores"),
            self.identity_store_id,
            self.tenant_id
        )
    }

    fn prepare(&self, job: &Job, now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        self.signed(Method::DELETE, &self.path(Some(&job.token_id)), &[], now)
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        if success(resp.status) {
            let request_id = header_request_id(&resp, &["x-request-id"]);
            let seen = recognise(&resp, &DELETED, request_id.clone())?;
            return Ok(Outcome::revoked(seen, request_id, None));
        }
        match api_error(&resp) {
            // A 404 that the service explains (not a wrong path, not a bad request) is the token
            // (or its store or tenant) not being there: `not_found`, a success with --missing-ok.
            ApiError::Service {
                http_status: 404,
                kind: ErrorKind::NotFound,
                code,
                message,
                request_id,
                ..
            } => Ok(Outcome::noted(
                Status::NotFound,
                404,
                request_id,
                code,
                message,
            )),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::answer;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn store(token: Option<&str>, project: Option<&str>) -> IdentityStore {
        IdentityStore {
            endpoint: Endpoint::parse(&default_endpoint("cn-north-4")).unwrap(),
            creds: HuaweiCredentials {
                access_key: Secret::new("EXAMPLEAK1234567890AB"),
                secret_key: Secret::new("ExampleSecretKey0123456789abcdefghijklmn"),
                security_token: token.map(Secret::new),
                project_id: None,
                source: "test".into(),
            },
            identity_store_id: "d-0123456789".into(),
            tenant_id: "t-0123456789abcdef".into(),
            project_id: project.map(str::to_string),
        }
    }

    fn header<'a>(req: &'a PreparedRequest, name: &str) -> Option<&'a Header> {
        req.headers.iter().find(|h| h.name == name)
    }

    #[test]
    fn error_codes_map_to_kinds() {
        for (status, code, want) in [
            (429, "APIGW.0308", ErrorKind::Throttled),
            (401, "APIGW.0301", ErrorKind::Credentials),
            (401, "APIG.0301", ErrorKind::Credentials),
            (401, "APIGW.0303", ErrorKind::Credentials),
            (401, "APIGW.0307", ErrorKind::Credentials),
            (403, "APIGW.0302", ErrorKind::Rejected),
            (403, "APIGW.0306", ErrorKind::Rejected),
            (403, "APIGW.0310", ErrorKind::Rejected),
            (404, "APIGW.0101", ErrorKind::NotTheApi),
            (405, "Other.1", ErrorKind::NotTheApi),
            (502, "APIGW.0201", ErrorKind::Transient),
            (504, "APIGW.0201", ErrorKind::Transient),
            (400, "APIGW.0201", ErrorKind::Rejected),
            (500, "APIGW.0601", ErrorKind::Transient),
            (503, "APIGW.0613", ErrorKind::Transient),
            (404, "IIC.404", ErrorKind::NotFound),
            (404, "IIC.400", ErrorKind::Rejected),
            (404, "IIC.1002", ErrorKind::Rejected),
            (403, "IIC.1000", ErrorKind::Rejected),
            (500, "IIC.1209", ErrorKind::Transient),
            (429, "Other.1", ErrorKind::Throttled),
        ] {
            assert_eq!(error_kind(status, code), want, "{status} {code}");
        }
    }

    /// providers.md (d) V1: the SDK's own signature for this DELETE at this date.
    #[test]
    fn delete_is_signed_as_the_sdk_signs_it() {
        let s = store(None, None);
        let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let req = s
            .prepare(
                &Job {
                    token_id: "tok-0123456789abcdef".into(),
                },
                now,
            )
            .unwrap();
        assert_eq!(req.method, Method::DELETE);
        assert_eq!(
            req.url.as_str(),
            "https://identitystore.cn-north-4.myhuaweicloud.com/v1/identity-stores/d-0123456789/tenant/t-0123456789abcdef/bearer-token/tok-0123456789abcdef"
        );
        let auth = header(&req, "authorization").unwrap();
        assert_eq!(
            auth.value,
            "SDK-HMAC-SHA256 Access=EXAMPLEAK1234567890AB, SignedHeaders=content-type;host;x-sdk-date, Signature=63b11b8846fc217d95ee0a2e5d145b4dae96659687bf704b520733184a353bcb"
        );
        assert_eq!(
            auth.shown.as_deref(),
            Some(
                "SDK-HMAC-SHA256 Access=***, SignedHeaders=content-type;host;x-sdk-date, Signature=***"
            )
        );
        assert_eq!(
            header(&req, "x-sdk-date").unwrap().value,
            "20250102T030405Z"
        );
        assert!(header(&req, "host").is_none(), "Host comes from the URL");
        assert!(header(&req, "x-security-token").is_none());
        assert!(header(&req, "x-project-id").is_none());
        assert!(req.body.is_empty());
    }

    #[test]
    fn temporary_credentials_and_project_are_sent_signed_and_masked() {
        let s = store(Some("ExampleSessionToken=="), Some("0123456789abcdef"));
        let now = Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap();
        let req = s
            .prepare(
                &Job {
                    token_id: "t 1".into(),
                },
                now,
            )
            .unwrap();
        assert!(
            req.url.path().ends_with("/bearer-token/t%201"),
            "{}",
            req.url
        );
        let auth = header(&req, "authorization").unwrap();
        assert!(
            auth.value.contains(
                "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token"
            ),
            "{}",
            auth.value
        );
        let token = header(&req, "x-security-token").unwrap();
        assert_eq!(token.value, "ExampleSessionToken==");
        assert_eq!(token.shown.as_deref(), Some("***"));
        assert_eq!(
            header(&req, "x-project-id").unwrap().value,
            "0123456789abcdef"
        );
        let shown = req.render();
        assert!(!shown.contains("ExampleSessionToken") && !shown.contains("EXAMPLEAK"));
    }

    #[test]
    fn list_pages_carry_the_marker_signed() {
        let s = store(None, None);
        let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap();
        let first = s.page_request(None, now).unwrap();
        assert_eq!(first.method, Method::GET);
        assert!(first.url.path().ends_with("/bearer-token"));
        assert_eq!(first.url.query(), None);
        let req = s.page_request(Some("m 1/+"), now).unwrap();
        assert_eq!(req.url.query(), Some("limit=100&marker=m%201%2F%2B"));
        let want = huawei::sign(&huawei::SigningParams {
            access_key: "EXAMPLEAK1234567890AB",
            secret_key: "ExampleSecretKey0123456789abcdefghijklmn",
            method: "GET",
            wire_path: req.url.path(),
            query: &[("marker", "m 1/+"), ("limit", "100")],
            headers: &[
                ("content-type", "application/json"),
                ("host", "identitystore.cn-north-4.myhuaweicloud.com"),
                ("x-sdk-date", "20250102T030405Z"),
            ],
            body: b"",
        })
        .unwrap();
        assert_eq!(
            header(&req, "authorization").unwrap().value,
            want.authorization
        );
    }

    #[test]
    fn answers_are_read() {
        let s = store(None, None);
        let job = Job {
            token_id: "tok-1".into(),
        };
        let o = s
            .interpret(&job, answer(200, &[("x-request-id", "r-0")], ""))
            .unwrap();
        assert_eq!(o.status, Status::Revoked);
        assert_eq!(o.http_status, Some(200));
        assert_eq!(o.request_id.as_deref(), Some("r-0"));
        assert!(s.interpret(&job, answer(200, &[], "{}")).is_ok());

        // Seed 004: 200 with no body. A page, a body with something in it: not the API.
        let page = "<html><head><title>Sign in - Corp SSO</title></head></html>";
        for (status, body) in [
            (200, page),
            (200, r#"{"token_id":"x"}"#),
            (204, ""),
            (200, "[]"),
        ] {
            let e = s.interpret(&job, answer(status, &[], body)).unwrap_err();
            assert_eq!(e.code(), "NotTheApi", "{status} {body:?}");
            assert!(!e.retryable());
        }
        // The documented 404 has Huawei's error body; a page with 404, or a 405, is not it.
        let e = s.interpret(&job, answer(404, &[], page)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotTheApi);
        let e = s.interpret(&job, answer(405, &[], "")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotTheApi);

        let body = r#"{"error_code":"IIC.404","error_msg":"Not Found: token.","request_id":"r-1"}"#;
        let o = s.interpret(&job, answer(404, &[], body)).unwrap();
        assert_eq!(o.status, Status::NotFound);
        assert_eq!(o.request_id.as_deref(), Some("r-1"));
        assert_eq!(o.error.unwrap().code, "IIC.404");

        // A 404 that names a wrong path is a failure, even with --missing-ok.
        let body = r#"{"error_code":"APIGW.0101","error_msg":"The API does not exist or has not been published in the environment","request_id":"r-2"}"#;
        let e = s.interpret(&job, answer(404, &[], body)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotTheApi);
        // So is a 404 nobody explains.
        let e = s.interpret(&job, answer(404, &[], "")).unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");

        let body = r#"{"error_code":"APIGW.0308","error_msg":"over ratelimit","request_id":"r-3"}"#;
        let e = s
            .interpret(&job, answer(429, &[("x-request-id", "hdr")], body))
            .unwrap_err();
        assert!(e.retryable());
        assert_eq!(e.request_id(), Some("hdr"), "the header wins");
    }

    #[test]
    fn error_bodies_in_the_sdks_spellings() {
        for body in [
            r#"{"error_code":"X.1","error_msg":"m","request_id":"r"}"#,
            r#"{"errorCode":"X.1","errorMsg":"m"}"#,
            r#"{"code":"X.1","message":"m"}"#,
            r#"{"error":{"code":"X.1","message":"m"}}"#,
        ] {
            let e = parse_error(body.as_bytes()).expect(body);
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                ("X.1", "m"),
                "{body}"
            );
        }
        assert!(parse_error(b"<html></html>").is_none());
        assert!(parse_error(br#"{"bearer_tokens":[]}"#).is_none());
    }

    /// Seed 004: "Status code: 200 Successful", "Example Response: None" (or `{}`).
    fn documented_success(status: u16, body: &[u8]) -> bool {
        let body = body.trim_ascii();
        status == 200 && (body.is_empty() || body == b"{}")
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_answer_is_handled_and_scrubbed(
            sample in crate::providers::answers::samples(vec![
                "ExampleSecretKey0123456789abcdefghijklmn".into(),
                "prop-security-token-0001".into(),
            ]),
        ) {
            crate::providers::answers::check(
                &store(Some("prop-security-token-0001"), None),
                &Job { token_id: "tok-1".into() },
                &["ExampleSecretKey0123456789abcdefghijklmn", "prop-security-token-0001"],
                documented_success,
                sample,
            )?;
        }

        /// The token id deleted is the one given, byte for byte (one percent-encoded segment).
        #[test]
        fn the_exact_token_id_is_sent(id in "[!-~]{1,60}") {
            proptest::prop_assume!(id != "." && id != "..");
            let req = store(None, None)
                .prepare(&Job { token_id: id.clone() }, chrono::Utc::now())
                .unwrap();
            let last = req.url.path().rsplit('/').next().unwrap().to_string();
            let decoded = percent_encoding::percent_decode_str(&last).decode_utf8().unwrap();
            proptest::prop_assert_eq!(decoded, id.as_str());
        }
    }
}
