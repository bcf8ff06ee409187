//! `revoke ciam`: OAuth 2.0 Token Revocation (RFC 7009) at Tencent Cloud CIAM, or at any
//! authorization server that implements RFC 7009.
//!
//! One form-encoded `POST {endpoint}/oauth2/revoke` per token. The client authenticates with
//! `client_secret_post` (`client_id` and `client_secret` in the body, the only method CIAM's
//! Revoke Token page shows), or with `--client-auth basic`, `client_secret_basic` (RFC 6749
//! 2.3.1). Nothing here is CIAM-specific beyond the path: success is RFC 7009's 200 with no body
//! or a JSON one (never a page: a sign-in page is not a revocation), and errors are RFC 6749 5.2
//! JSON objects. `--verify` asks RFC 7662 introspection (or userinfo) before and after the
//! revocation (`crate::engine::verify`).
//!
//! The RFC 7009 client itself (the request, the client authentication, the reading of the
//! answers) is `oauth`'s ([`super::oauth::Rfc7009`]): what is CIAM's here is the name, the
//! domain and path, and where `--verify` asks.

use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde_json::Value;

pub use super::oauth::{
    ClientAuth, TokenTypeHint, basic_authorization, error_kind, read_introspection, read_revocation,
};
use super::oauth::{Rfc7009, UNSEEN_BY_INTROSPECTION};
use super::success;
use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, Header, PreparedRequest, RawResponse};
use crate::providers::{
    Credentials, Descriptor, Discovery, EnvVar, Required, SECRET_SOURCES_ENV, SecretKeys,
    TokenCheck, Verification,
};
use crate::providers::{Outcome, Provider};
use crate::secret::{MASK, Secret};

/// `revoke ciam`.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: "ciam",
    credentials: Credentials::Secret(SecretKeys {
        what: "client secret",
        env: "CIAM_CLIENT_SECRET",
        file_id: "client_secret_file",
        flag: "--client-secret-file",
        file_key: "client-secret-file",
        command_key: "client-secret-command",
        inline_key: "client-secret",
    }),
    sources: "--client-secret-file, else CIAM_CLIENT_SECRET, else the context's \
         client-secret-file, client-secret-command or client-secret (one of them per \
         table).",
    env: &[
        EnvVar {
            names: &["CIAM_CLIENT_SECRET"],
            meaning: "the client secret, unless --client-secret-file is given",
        },
        SECRET_SOURCES_ENV[0],
        SECRET_SOURCES_ENV[1],
    ],
    files: &[],
    required: &[
        Required::OneOf {
            keys: &["domain", "endpoint"],
            message: "ciam needs --domain HOST (the user directory's domain) or --endpoint URL",
        },
        Required::Flag {
            flag: "--client-id",
            value: "ID",
        },
    ],
    one_of: &[&["domain", "endpoint"]],
    secret_targets: true,
};

/// "Request Path: /oauth2/revoke" (CIAM's Revoke Token page). CIAM's discovery document has no
/// `revocation_endpoint`, so the path is fixed rather than discovered.
pub const PATH: &str = "/oauth2/revoke";
pub const SECRET_ENV: &str = "CIAM_CLIENT_SECRET";

/// What the client is built from.
pub struct CiamConfig {
    /// The authorization server; the revocation path is appended.
    pub endpoint: Endpoint,
    pub client_id: String,
    pub client_secret: Secret,
    pub auth: ClientAuth,
    pub hint: Option<TokenTypeHint>,
    /// `--introspection-endpoint`: where `--verify` asks (else discovered).
    pub introspection: Option<Endpoint>,
}

/// Where `--verify` asks about a token.
#[derive(Debug, Clone)]
pub enum VerifyAt {
    /// RFC 7662 introspection, with the client's own credentials.
    Introspect(Url),
    /// OpenID Connect userinfo, with the access token as Bearer (a 401 with `Bearer
    /// error="invalid_token"` = dead).
    UserInfo(Url),
}

pub struct Ciam {
    url: Url,
    /// `{endpoint}/.well-known/openid-configuration`.
    discovery: Url,
    client_id: String,
    client_secret: Secret,
    auth: ClientAuth,
    hint: Option<TokenTypeHint>,
    verify_at: std::sync::OnceLock<VerifyAt>,
}

impl Ciam {
    pub fn new(config: CiamConfig) -> Ciam {
        let verify_at = std::sync::OnceLock::new();
        if let Some(e) = &config.introspection {
            let _ = verify_at.set(VerifyAt::Introspect(e.join("")));
        }
        Ciam {
            url: config.endpoint.join(PATH),
            discovery: config.endpoint.join(DISCOVERY_PATH),
            client_id: config.client_id,
            client_secret: config.client_secret,
            auth: config.auth,
            hint: config.hint,
            verify_at,
        }
    }
}

pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

pub type Job = super::TokenJob;

/// Whether the answer carries a `Bearer` challenge with `error="invalid_token"` (RFC 6750 3 and
/// 3.1), in any of its `WWW-Authenticate` headers.
fn invalid_token(resp: &RawResponse) -> bool {
    resp.headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(bearer_invalid_token)
}

/// Reads one `WWW-Authenticate` value (RFC 9110 11.6.1: challenges, each a scheme followed by
/// `name=value` parameters, a value a token or a quoted string) and says whether a `Bearer`
/// challenge has `error` `invalid_token`.
pub fn bearer_invalid_token(value: &str) -> bool {
    let separator = |c: char| c == ',' || c.is_ascii_whitespace();
    let mut rest = value;
    let mut bearer = false;
    loop {
        rest = rest.trim_start_matches(separator);
        if rest.is_empty() {
            return false;
        }
        let end = rest
            .find(|c: char| c == '=' || separator(c))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        let after = rest[end..].trim_start_matches([' ', '\t']);
        let Some(v) = after.strip_prefix('=') else {
            // A bare token: the next challenge's scheme.
            bearer = name.eq_ignore_ascii_case("bearer");
            rest = &rest[end..];
            continue;
        };
        let v = v.trim_start_matches([' ', '\t']);
        let (param, next) = match v.strip_prefix('"') {
            Some(quoted) => {
                let mut text = String::new();
                let mut escaped = false;
                let mut close = quoted.len();
                for (i, c) in quoted.char_indices() {
                    match c {
                        _ if escaped => {
                            text.push(c);
                            escaped = false;
                        }
                        '\\' => escaped = true,
                        '"' => {
                            close = i + 1;
                            break;
                        }
                        _ => text.push(c),
                    }
                }
                (text, &quoted[close..])
            }
            None => {
                let e = v.find(separator).unwrap_or(v.len());
                (v[..e].to_string(), &v[e..])
            }
        };
        if bearer && name.eq_ignore_ascii_case("error") && param == "invalid_token" {
            return true;
        }
        rest = next;
    }
}

impl Ciam {
    /// The RFC 7009 client: CIAM's credentials, `post` or `basic`.
    fn client(&self) -> Rfc7009<'_> {
        Rfc7009 {
            client_id: &self.client_id,
            client_secret: Some(&self.client_secret),
            auth: self.auth,
            hint: self.hint,
        }
    }
}

impl Provider for Ciam {
    type Job = Job;

    const DESCRIPTOR: &'static Descriptor = &DESCRIPTOR;

    /// A revoked token stays revoked: a journal entry replays whatever its age.
    fn acts_on_current_tokens(&self) -> bool {
        false
    }

    /// `--verify`: at the given introspection endpoint, else at the one discovery finds.
    fn verification(&self) -> Verification<'_, Job> {
        match self.verify_at.get() {
            Some(_) => Verification::PerTarget(self),
            None => Verification::Discover(self, self),
        }
    }

    fn identity(&self, job: &Job) -> Value {
        job.identity()
    }

    fn job_key(&self, job: &Job) -> String {
        job.key()
    }

    fn scope(&self) -> String {
        format!("{}\n{}", self.url, self.client_id)
    }

    fn job_secrets<'a>(&self, job: &'a Job) -> Vec<&'a str> {
        job.secrets()
    }

    fn prepare(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        self.client().request(&self.url, &job.token)
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        read_revocation(resp)
    }
}

impl Discovery for Ciam {
    fn discovery_request(&self, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        Ok(PreparedRequest::new(Method::GET, self.discovery.clone()))
    }
    /// The discovery document's `introspection_endpoint`, else its `userinfo_endpoint`. Either
    /// must be on the endpoint's own origin: a discovery answer must not send the client's
    /// credentials or the tokens elsewhere (`--introspection-endpoint` names another place).
    fn read_discovery(&self, resp: RawResponse) -> Result<(), ApiError> {
        let fail = |message: String| ApiError::Service {
            http_status: resp.status,
            code: "DiscoveryFailed".into(),
            message,
            request_id: None,
            kind: ErrorKind::Rejected,
            retry_after: None,
        };
        if !success(resp.status) {
            let kind = ErrorKind::from_status(resp.status);
            if kind.retryable() {
                return Err(ApiError::unreadable(
                    resp.status,
                    format!("{} answered HTTP {}", DISCOVERY_PATH, resp.status),
                    None,
                    resp.retry_after(),
                ));
            }
            return Err(fail(format!(
                "{} answered HTTP {}: pass --introspection-endpoint URL",
                DISCOVERY_PATH, resp.status
            )));
        }
        let doc: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| fail(format!("the discovery document is not JSON: {e}")))?;
        let pick = |key: &str| -> Option<Result<Url, ApiError>> {
            let text = doc.get(key)?.as_str()?;
            Some(match Url::parse(text) {
                Ok(u) if u.origin() == self.url.origin() => Ok(u),
                Ok(u) => Err(fail(format!(
                    "the discovery document's {key} is on another origin ({}): pass --introspection-endpoint to trust it",
                    u.origin().ascii_serialization()
                ))),
                Err(e) => Err(fail(format!(
                    "the discovery document's {key} is not a URL: {e}"
                ))),
            })
        };
        let at = match (pick("introspection_endpoint"), pick("userinfo_endpoint")) {
            (Some(Ok(u)), _) => VerifyAt::Introspect(u),
            (Some(Err(e)), _) => return Err(e),
            (None, Some(Ok(u))) => VerifyAt::UserInfo(u),
            (None, Some(Err(e))) => return Err(e),
            (None, None) => {
                return Err(fail(
                    "the discovery document names neither introspection_endpoint nor userinfo_endpoint: pass --introspection-endpoint URL".into(),
                ));
            }
        };
        let _ = self.verify_at.set(at);
        Ok(())
    }
}

impl TokenCheck<Job> for Ciam {
    fn verify_request(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        match self.verify_at.get() {
            Some(VerifyAt::Introspect(url)) => {
                // RFC 7662 2.1: the same client authentication as for the revocation.
                let mut req = self.prepare(job, _now)?;
                req.url = url.clone();
                req.shown_url = url.to_string();
                Ok(req)
            }
            Some(VerifyAt::UserInfo(_)) if self.hint == Some(TokenTypeHint::RefreshToken) => {
                Err(ApiError::Build {
                    message: "a refresh token cannot be checked at userinfo, and the server names no introspection endpoint".into(),
                })
            }
            Some(VerifyAt::UserInfo(url)) => {
                let mut req = PreparedRequest::new(Method::GET, url.clone());
                req.headers.push(Header::secret(
                    "authorization",
                    format!("Bearer {}", job.token.expose()),
                    format!("Bearer {MASK}"),
                ));
                Ok(req)
            }
            None => Err(ApiError::Build {
                message: "no verification endpoint".into(),
            }),
        }
    }
    fn read_verdict(
        &self,
        job: &Job,
        resp: RawResponse,
    ) -> Result<crate::providers::Verdict, ApiError> {
        use crate::providers::Verdict;
        match self.verify_at.get() {
            Some(VerifyAt::Introspect(_)) => read_introspection(resp),
            Some(VerifyAt::UserInfo(_)) => match resp.status {
                s if success(s) => Ok(Verdict::Alive),
                // OpenID Connect Core 5.3.3 / RFC 6750 3.1: a protected resource refusing a bad
                // token answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
                401 if invalid_token(&resp) => Ok(Verdict::Dead),
                // Any other 401 (no challenge, `invalid_client` from a misdiscovered endpoint, a
                // server that refuses refresh tokens there) says nothing about the token.
                401 => Ok(Verdict::Unknown(
                    "userinfo answered 401 without `WWW-Authenticate: Bearer error=\"invalid_token\"` (RFC 6750 3.1), which says nothing about the token".into(),
                )),
                403 => Ok(Verdict::Unknown(
                    "userinfo answered 403 (insufficient_scope): the token cannot be checked there"
                        .into(),
                )),
                _ => self
                    .interpret(job, resp)
                    .map(|_| Verdict::Unknown("an unexpected userinfo answer".into())),
            },
            None => Ok(Verdict::Unknown("no verification endpoint".into())),
        }
    }
    fn unseen(&self) -> String {
        match self.verify_at.get() {
            Some(VerifyAt::UserInfo(_)) => "userinfo refused this token before the revocation (401 invalid_token): it was already invalid, or cannot be checked there, so the revocation cannot be proved".into(),
            _ => UNSEEN_BY_INTROSPECTION.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::answer;
    use std::time::Duration;

    fn ciam(auth: ClientAuth, hint: Option<TokenTypeHint>) -> Ciam {
        Ciam::new(CiamConfig {
            endpoint: Endpoint::parse("https://sample.portal.tencentciam.com").unwrap(),
            client_id: "TENANT_CLIENT_ID".into(),
            client_secret: Secret::new("TENANT_CLIENT_SECRET"),
            auth,
            hint,
            introspection: None,
        })
    }

    fn job(token: &str) -> Job {
        Job {
            token: Secret::new(token),
        }
    }

    #[test]
    fn only_a_bearer_invalid_token_challenge_says_the_token_is_bad() {
        for (value, want) in [
            (r#"Bearer error="invalid_token""#, true),
            (
                r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
                true,
            ),
            (r#"bearer error=invalid_token"#, true),
            (
                r#"Basic realm="x", Bearer realm="y", error="invalid_token""#,
                true,
            ),
            (r#"Bearer realm="a, error=\"invalid_token\"""#, false),
            (r#"Bearer error="invalid_request""#, false),
            (r#"Bearer error="insufficient_scope""#, false),
            (r#"Basic error="invalid_token""#, false),
            (r#"Bearer realm="x", Basic error="invalid_token""#, false),
            (r#"Bearer"#, false),
            (r#"Bearer error="invalid_token"#, true),
            ("", false),
            ("=,=\"", false),
        ] {
            assert_eq!(bearer_invalid_token(value), want, "{value}");
        }
    }

    #[test]
    fn error_codes_map_to_kinds() {
        for (status, code, want) in [
            (401, "invalid_client", ErrorKind::Credentials),
            (400, "invalid_client", ErrorKind::Credentials),
            (401, "something_else", ErrorKind::Credentials),
            (400, "unsupported_token_type", ErrorKind::Rejected),
            (400, "invalid_request", ErrorKind::Rejected),
            (400, "unauthorized_client", ErrorKind::Rejected),
            (400, "invalid_grant", ErrorKind::Rejected),
            (404, "not_found", ErrorKind::Rejected),
            (503, "temporarily_unavailable", ErrorKind::Transient),
            (500, "server_error", ErrorKind::Transient),
            (429, "slow_down", ErrorKind::Throttled),
        ] {
            assert_eq!(error_kind(status, code), want, "{status} {code}");
        }
    }

    #[test]
    fn post_body_is_the_documented_sample_and_masks_secrets() {
        let c = ciam(ClientAuth::Post, None);
        let req = c.prepare(&job("MOCK_ACCESS_TOKEN"), Utc::now()).unwrap();
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "client_id=TENANT_CLIENT_ID&client_secret=TENANT_CLIENT_SECRET&token=MOCK_ACCESS_TOKEN"
        );
        assert_eq!(
            req.shown_body.as_deref(),
            Some("client_id=TENANT_CLIENT_ID&client_secret=***&token=***")
        );
        assert_eq!(
            req.url.as_str(),
            "https://sample.portal.tencentciam.com/oauth2/revoke"
        );
        let names: Vec<&str> = req.headers.iter().map(|h| h.name).collect();
        assert_eq!(names, ["content-type"], "no Authorization with post");
        let shown = req.render();
        assert!(!shown.contains("TENANT_CLIENT_SECRET") && !shown.contains("MOCK_ACCESS"));
    }

    #[test]
    fn form_values_are_encoded_and_the_hint_appended() {
        let mut c = ciam(ClientAuth::Post, Some(TokenTypeHint::RefreshToken));
        c.client_id = "app id/1".into();
        c.client_secret = Secret::new("s&=+é");
        let req = c.prepare(&job("a.b-c_d*~"), Utc::now()).unwrap();
        assert_eq!(
            String::from_utf8(req.body).unwrap(),
            "client_id=app+id%2F1&client_secret=s%26%3D%2B%C3%A9&token=a.b-c_d*%7E&token_type_hint=refresh_token"
        );
        assert_eq!(
            req.shown_body.as_deref(),
            Some("client_id=app+id%2F1&client_secret=***&token=***&token_type_hint=refresh_token")
        );
    }

    #[test]
    fn basic_auth_encodes_then_base64s_and_keeps_credentials_out_of_the_body() {
        // base64("TENANT_CLIENT_ID:TENANT_CLIENT_SECRET"), from `printf %s ... | base64`.
        assert_eq!(
            basic_authorization("TENANT_CLIENT_ID", "TENANT_CLIENT_SECRET"),
            "Basic VEVOQU5UX0NMSUVOVF9JRDpURU5BTlRfQ0xJRU5UX1NFQ1JFVA=="
        );
        // The id and secret are form-urlencoded first, a space as %20: "a:b c" -> "a%3Ab%20c",
        // "p/é" -> "p%2F%C3%A9"; base64("a%3Ab%20c:p%2F%C3%A9").
        assert_eq!(
            basic_authorization("a:b c", "p/é"),
            "Basic YSUzQWIlMjBjOnAlMkYlQzMlQTk="
        );
        let c = ciam(ClientAuth::Basic, Some(TokenTypeHint::AccessToken));
        let req = c.prepare(&job("MOCK_ACCESS_TOKEN"), Utc::now()).unwrap();
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "token=MOCK_ACCESS_TOKEN&token_type_hint=access_token"
        );
        assert_eq!(
            req.shown_body.as_deref(),
            Some("token=***&token_type_hint=access_token")
        );
        let auth = req
            .headers
            .iter()
            .find(|h| h.name == "authorization")
            .unwrap();
        assert_eq!(auth.shown.as_deref(), Some("Basic ***"));
        assert!(!req.render().contains("VEVOQU5U"), "{}", req.render());
    }

    /// RFC 7009 2.2: 200, the body ignored: empty or JSON. A page is not a revocation.
    #[test]
    fn success_is_200_with_no_body_or_json() {
        let c = ciam(ClientAuth::Post, None);
        for (status, body) in [
            (200, ""),
            (200, "{}"),
            (200, r#"{"error":"ignored"}"#),
            (204, ""),
        ] {
            let o = c.interpret(&job("t"), answer(status, &[], body)).unwrap();
            assert_eq!(
                o.status,
                crate::report::record::Status::Revoked,
                "body {body:?}"
            );
            assert_eq!(o.http_status, Some(status));
        }
        let page = "<html><head><title>Sign in - Corp SSO</title></head><body></body></html>";
        for (status, body) in [(200, page), (200, "not json"), (202, ""), (201, "{}")] {
            let e = c
                .interpret(&job("t"), answer(status, &[], body))
                .unwrap_err();
            assert_eq!(e.code(), "NotTheApi", "{status} {body:?}");
            assert!(!e.retryable());
        }
        // RFC 7009 has no 404 or 405: whatever its body, the endpoint is not a revocation one.
        for body in [page, r#"{"error":"not_found"}"#, ""] {
            let e = c.interpret(&job("t"), answer(404, &[], body)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotTheApi, "{body:?}");
            let e = c.interpret(&job("t"), answer(405, &[], body)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotTheApi, "{body:?}");
        }
        // JSON cut short is not the API's success either.
        let e = c
            .interpret(&job("t"), answer(200, &[], r#"{"revoked":tr"#))
            .unwrap_err();
        assert_eq!(e.code(), "NotTheApi");
        assert!(!e.retryable());
    }

    /// RFC 7009 2.2 and CIAM's page: 200 (a 204 too), no body or a JSON one.
    fn documented_success(status: u16, body: &[u8]) -> bool {
        let body = body.trim_ascii();
        matches!(status, 200 | 204)
            && (body.is_empty() || serde_json::from_slice::<Value>(body).is_ok())
    }

    #[test]
    fn errors_are_read_from_rfc6749_bodies() {
        let c = ciam(ClientAuth::Post, None);
        let e = c
            .interpret(
                &job("t"),
                answer(401, &[], "{\n\"error\" : \"invalid_client\"\n}"),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert_eq!(e.code(), "invalid_client");
        assert_eq!(e.message(), "client authentication failed");

        let body = r#"{"error":"unsupported_token_type","error_description":"no","error_uri":"https://e/x"}"#;
        let e = c
            .interpret(&job("t"), answer(400, &[("x-request-id", "r-1")], body))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Rejected);
        assert_eq!(e.message(), "no (see https://e/x)");
        assert_eq!(e.request_id(), Some("r-1"));

        let e = c
            .interpret(&job("t"), answer(503, &[("retry-after", "1")], ""))
            .unwrap_err();
        assert!(matches!(e, ApiError::Unreadable { .. }), "{e:?}");
        assert!(e.retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));

        let e = c
            .interpret(&job("t"), answer(502, &[], "<html>bad gateway</html>"))
            .unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert!(e.retryable());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_answer_is_handled_and_scrubbed(
            sample in crate::providers::answers::samples(vec![
                "TENANT_CLIENT_SECRET".into(),
                "prop-ciam-token-0001".into(),
                "TENANT_CLIENT_ID:TENANT_CLIENT_SECRET".into(),
            ]),
            basic in proptest::bool::ANY,
        ) {
            let auth = if basic { ClientAuth::Basic } else { ClientAuth::Post };
            crate::providers::answers::check(
                &ciam(auth, None),
                &job("prop-ciam-token-0001"),
                &["TENANT_CLIENT_SECRET"],
                documented_success,
                sample,
            )?;
        }

        /// The token sent is the token given, byte for byte (form-encoded).
        #[test]
        fn the_exact_token_is_sent(token in "[!-~]{1,80}") {
            let req = ciam(ClientAuth::Post, None).prepare(&job(&token), chrono::Utc::now()).unwrap();
            let body = String::from_utf8(req.body.clone()).unwrap();
            let sent = body
                .split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .unwrap();
            let plus = sent.replace('+', " ");
            let decoded = percent_encoding::percent_decode_str(&plus).decode_utf8().unwrap();
            proptest::prop_assert_eq!(decoded.as_ref(), token.as_str());
        }
    }
}
