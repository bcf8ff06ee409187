//! `revoke bi-embed`: Tencent Cloud BI `ClearEmbedToken` (API 3.0, Version 2022-01-05).
//!
//! One TC3-HMAC-SHA256 signed JSON POST to `/` per page id; with no page id at all, one request
//! without `PageId`. Errors arrive in HTTP 200 bodies as `Response.Error.Code`; success is a
//! `Response` without `Error`, whose `Data` the record carries.

use crate::providers::{Credentials, Descriptor, EnvVar, HOME, Required, Verification};
use crate::sign::tc3::TencentCredentials;
use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, Header, PreparedRequest, RawResponse, host_header};
use crate::providers::{Outcome, Provider};
use crate::sign::tc3;

use super::{
    Body, Looks, describe, not_the_api, not_the_api_kind, recognise, success, wrong_place,
};

/// `revoke bi-embed`.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: "bi-embed",
    credentials: Credentials::Tencent,
    sources: "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_TOKEN), else \
         tccli's ~/.tccli/PROFILE.credential (profile: --profile or the profile key, else \
         TCCLI_PROFILE, else default).",
    env: &[
        EnvVar {
            names: &["TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY"],
            meaning: "Tencent Cloud API key pair; when unset, tccli's profile file is read",
        },
        EnvVar {
            names: &["TENCENTCLOUD_TOKEN"],
            meaning: "the session token of a temporary key pair",
        },
        EnvVar {
            names: &["TCCLI_PROFILE"],
            meaning: "the tccli profile to read when no --profile is given (default: default)",
        },
        HOME,
    ],
    files: &[(
        "~/.tccli/<profile>.credential",
        "tccli's credentials (JSON: secretId, secretKey, optional token), read by bi-embed \
         when TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY are unset. The profile is \
         --profile, else TCCLI_PROFILE, else default.",
    )],
    required: &[
        Required::Flag {
            flag: "--project-id",
            value: "ID",
        },
        Required::Flag {
            flag: "--user-corp-id",
            value: "ID",
        },
        Required::Flag {
            flag: "--scope",
            value: "panel|page",
        },
    ],
    one_of: &[],
    secret_targets: false,
};

pub const ACTION: &str = "ClearEmbedToken";
pub const VERSION: &str = "2022-01-05";
/// The credential-scope service is the product's first DNS label, `bi` on every BI host; it is
/// fixed here so that a test endpoint such as `127.0.0.1:port` still signs for `bi`.
pub const SERVICE: &str = "bi";
/// "Domain name for API request: bi.intl.tencentcloudapi.com." (the API page)
pub const DEFAULT_ENDPOINT: &str = "https://bi.intl.tencentcloudapi.com";
/// "A maximum of 20 requests can be initiated per second for this API."
pub const DOCUMENTED_RATE: f64 = 20.0;
/// The SDK sends `application/json` with no charset; the signed value must be the one sent.
const CONTENT_TYPE: &str = "application/json";

/// "Output Example": HTTP 200 with `{"Response": {"Data": ..., "RequestId": ...}}` (seed 000), a
/// `Response` without `Error`.
const SUCCESS: Looks = Looks {
    what: "a Tencent Cloud API 3.0 success",
    statuses: &[200],
    body: Body::Json,
};

/// The token scope (`Scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Panel,
    Page,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Panel => "panel",
            Scope::Page => "page",
        }
    }
}

pub struct BiEmbedConfig {
    pub endpoint: Endpoint,
    pub credentials: TencentCredentials,
    pub project_id: String,
    pub user_corp_id: String,
    pub scope: Scope,
    /// Sent as `X-TC-Region` when given.
    pub region: Option<String>,
}

pub struct BiEmbed {
    url: Url,
    creds: TencentCredentials,
    project_id: String,
    user_corp_id: String,
    scope: Scope,
    region: Option<String>,
}

impl BiEmbed {
    pub fn new(config: BiEmbedConfig) -> BiEmbed {
        BiEmbed {
            url: config.endpoint.join("/"),
            creds: config.credentials,
            project_id: config.project_id,
            user_corp_id: config.user_corp_id,
            scope: config.scope,
            region: config.region,
        }
    }
}

/// One ClearEmbedToken: of one page, or (`None`) of every page of the scope.
pub struct Job {
    pub page_id: Option<String>,
}

/// The request body: the API's own parameters only (common ones go in headers). Every field is
/// a string, and an unset `PageId` is left out, as the SDK does.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClearEmbedTokenRequest<'a> {
    project_id: &'a str,
    user_corp_id: &'a str,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: ResponseBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseBody {
    error: Option<TcError>,
    request_id: Option<String>,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TcError {
    code: String,
    #[serde(default)]
    message: String,
}

/// Tencent's common error codes mapped to the shared kinds. Retryable per the contract:
/// `RequestLimitExceeded*`, `InternalError*`, `ServiceUnavailable`. Every `AuthFailure.*`
/// (bad signature, unknown or disabled key, expired token or timestamp) is a credentials
/// failure: the next request would fail the same way.
pub fn error_kind(code: &str) -> ErrorKind {
    if code.starts_with("RequestLimitExceeded") {
        ErrorKind::Throttled
    } else if code.starts_with("InternalError") || code == "ServiceUnavailable" {
        ErrorKind::Transient
    } else if code.starts_with("AuthFailure") {
        ErrorKind::Credentials
    } else if code.starts_with("ResourceNotFound") {
        ErrorKind::NotFound
    } else {
        ErrorKind::Rejected
    }
}

impl BiEmbed {
    fn body(&self, job: &Job) -> Vec<u8> {
        let req = ClearEmbedTokenRequest {
            project_id: &self.project_id,
            user_corp_id: &self.user_corp_id,
            scope: self.scope.as_str(),
            page_id: job.page_id.as_deref(),
        };
        serde_json::to_vec(&req).expect("a struct of strings serializes")
    }
}

impl Provider for BiEmbed {
    type Job = Job;

    const DESCRIPTOR: &'static Descriptor = &DESCRIPTOR;

    /// Its jobs are ids: nothing secret beyond the credentials.
    fn job_secrets<'a>(&self, _job: &'a Job) -> Vec<&'a str> {
        Vec::new()
    }

    /// `--verify`: no read-only check exists; its only probe, ApplyEmbedInterval, would
    /// extend a live token's life, so nothing is sent.
    fn verification(&self) -> Verification<'_, Job> {
        Verification::Unavailable(
            "its only probe, ApplyEmbedInterval, would extend a live token's life",
        )
    }

    fn identity(&self, job: &Job) -> Value {
        serde_json::json!({ "page_id": job.page_id })
    }

    fn job_key(&self, job: &Job) -> String {
        match &job.page_id {
            Some(p) => format!("page:{p}"),
            None => "all".into(),
        }
    }

    /// ClearEmbedToken clears the tokens a page has *now*: a journal entry says nothing of
    /// the tokens issued since.
    fn acts_on_current_tokens(&self) -> bool {
        true
    }

    fn scope(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.url,
            self.project_id,
            self.user_corp_id,
            self.scope.as_str()
        )
    }

    fn prepare(&self, job: &Job, now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        let body = self.body(job);
        let host = host_header(&self.url);
        let timestamp = now.timestamp();
        // Sign exactly the Host and Content-Type that are sent: "content-type must match the
        // actually sent content ... the server will return an error indicating that signature
        // verification failed".
        let signed = tc3::sign(&tc3::SigningParams {
            secret_id: self.creds.secret_id.expose(),
            secret_key: self.creds.secret_key.expose(),
            service: SERVICE,
            timestamp,
            method: "POST",
            uri: self.url.path(),
            headers: &[("content-type", CONTENT_TYPE), ("host", &host)],
            payload: &body,
        });
        let shown_auth = format!(
            "{} Credential=***/{}/{SERVICE}/tc3_request, SignedHeaders={}, Signature=***",
            tc3::ALGORITHM,
            signed.date,
            signed.canonical_request.signed_headers()
        );
        let mut req = PreparedRequest::new(Method::POST, self.url.clone());
        req.headers
            .push(Header::plain("content-type", CONTENT_TYPE));
        req.headers.push(Header::plain("x-tc-action", ACTION));
        req.headers.push(Header::plain("x-tc-version", VERSION));
        req.headers
            .push(Header::plain("x-tc-timestamp", timestamp.to_string()));
        if let Some(region) = &self.region {
            req.headers
                .push(Header::plain("x-tc-region", region.clone()));
        }
        if let Some(token) = &self.creds.token {
            // "The token used for a temporary certificate. It must be used with a temporary key."
            req.headers
                .push(Header::secret("x-tc-token", token.expose(), "***"));
        }
        req.headers.push(Header::secret(
            "authorization",
            signed.authorization,
            shown_auth,
        ));
        tracing::trace!(
            "canonical request:\n{}\nstring to sign:\n{}",
            signed.canonical_request,
            signed.string_to_sign
        );
        req.body = body;
        Ok(req)
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        let parsed: Result<Envelope, _> = serde_json::from_slice(&resp.body);
        let retry_after = resp.retry_after();
        if let Ok(Envelope {
            response:
                ResponseBody {
                    error: Some(e),
                    request_id,
                    ..
                },
        }) = parsed
        {
            // Errors normally come in HTTP 200 bodies; a retryable status (429, 5xx) stays
            // retryable whatever code a proxy or gateway put in the body.
            let kind = match (error_kind(&e.code), ErrorKind::from_status(resp.status)) {
                (ErrorKind::Rejected, by_status) if by_status.retryable() => by_status,
                (kind, _) => kind,
            };
            return Err(ApiError::Service {
                http_status: resp.status,
                kind,
                code: e.code,
                message: e.message,
                request_id,
                retry_after,
            });
        }
        if success(resp.status) {
            let seen = recognise(&resp, &SUCCESS, None)?;
            return match parsed {
                Ok(Envelope { response }) => Ok(Outcome::revoked(
                    seen,
                    response.request_id,
                    Some(response.data),
                )),
                Err(e) => Err(not_the_api(
                    &resp,
                    &SUCCESS,
                    format!("JSON that is not an API 3.0 answer ({e})"),
                    None,
                )),
            };
        }
        let e = match parsed {
            Ok(Envelope { response }) => ApiError::unreadable(
                resp.status,
                format!("HTTP {} with a Response and no Error", resp.status),
                response.request_id,
                retry_after,
            ),
            Err(_) => ApiError::unreadable(
                resp.status,
                format!("not a Tencent Cloud API 3.0 answer: {}", describe(&resp)),
                None,
                retry_after,
            ),
        };
        // API 3.0 answers every call at `/` with 200 (errors in the body): a 404 or 405 is
        // something else answering.
        if wrong_place(resp.status) {
            return Err(not_the_api_kind(e));
        }
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_kinds() {
        assert_eq!(error_kind("RequestLimitExceeded"), ErrorKind::Throttled);
        assert_eq!(
            error_kind("RequestLimitExceeded.UinLimitExceeded"),
            ErrorKind::Throttled
        );
        assert_eq!(error_kind("InternalError.Internal"), ErrorKind::Transient);
        assert_eq!(error_kind("ServiceUnavailable"), ErrorKind::Transient);
        assert_eq!(
            error_kind("AuthFailure.SignatureFailure"),
            ErrorKind::Credentials
        );
        assert_eq!(
            error_kind("AuthFailure.SecretIdNotFound"),
            ErrorKind::Credentials
        );
        assert_eq!(error_kind("InvalidParameter"), ErrorKind::Rejected);
        assert_eq!(
            error_kind("UnauthorizedOperation.Authorize"),
            ErrorKind::Rejected
        );
    }

    fn provider() -> BiEmbed {
        BiEmbed::new(BiEmbedConfig {
            endpoint: crate::net::http::Endpoint::parse("https://bi.intl.tencentcloudapi.com")
                .unwrap(),
            credentials: TencentCredentials {
                secret_id: crate::secret::Secret::new("AKIDpropSecretId00001"),
                secret_key: crate::secret::Secret::new("propSecretKey0000001"),
                token: Some(crate::secret::Secret::new("propSessionToken0001")),
                source: "test".into(),
            },
            project_id: "889".into(),
            user_corp_id: "7".into(),
            scope: Scope::Page,
            region: None,
        })
    }

    #[test]
    fn success_is_a_response_without_error_and_anything_else_is_not() {
        let p = provider();
        let j = Job {
            page_id: Some("p1".into()),
        };
        let example =
            r#"{"Response":{"Extra":"Extra","Msg":"Msg","Data":false,"RequestId":"RequestId"}}"#;
        let o = p
            .interpret(&j, crate::providers::answer(200, &[], example))
            .unwrap();
        assert_eq!(o.status, crate::report::record::Status::Revoked);
        assert_eq!(o.request_id.as_deref(), Some("RequestId"));
        let page = "<html><head><title>Sign in - Corp SSO</title></head></html>";
        for (status, body) in [
            (200, page),
            (200, ""),
            (200, r#"{"ok":true}"#),
            (201, example),
        ] {
            let e = p
                .interpret(&j, crate::providers::answer(status, &[], body))
                .unwrap_err();
            assert_eq!(e.code(), "NotTheApi", "{status} {body:?}");
            assert!(!e.retryable());
        }
        let e = p
            .interpret(&j, crate::providers::answer(404, &[], page))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotTheApi);
    }

    /// Seed 000, "Output Example": HTTP 200, `{"Response": {...}}` without `Error`.
    fn documented_success(status: u16, body: &[u8]) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        status == 200 && v["Response"].is_object() && v["Response"].get("Error").is_none()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_answer_is_handled_and_scrubbed(
            sample in crate::providers::answers::samples(vec![
                "AKIDpropSecretId00001".into(),
                "propSecretKey0000001".into(),
                "propSessionToken0001".into(),
            ]),
        ) {
            crate::providers::answers::check(
                &provider(),
                &Job { page_id: Some("p1".into()) },
                &["propSecretKey0000001", "propSessionToken0001"],
                documented_success,
                sample,
            )?;
        }

        /// The page id sent is the one given, byte for byte.
        #[test]
        fn the_exact_page_id_is_sent(id in "[!-~]{1,40}") {
            let req = provider()
                .prepare(&Job { page_id: Some(id.clone()) }, chrono::Utc::now())
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            proptest::prop_assert_eq!(body["PageId"].as_str(), Some(id.as_str()));
        }
    }
}
