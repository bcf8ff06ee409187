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

use crate::providers::{Credentials, Descriptor, EnvVar, Required, SECRET_SOURCES_ENV, SecretKeys};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;

use super::{
    Body, Looks, describe, header_request_id, not_the_api_kind, recognise, success, wrong_place,
};
use crate::engine::{Outcome, Provider};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, Header, PreparedRequest, RawResponse};
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
/// "Request Content-Type: application/x-www-form-urlencoded"; RFC 7009 2.1 asks the same.
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
pub const SECRET_ENV: &str = "CIAM_CLIENT_SECRET";

/// RFC 7009 2.2: "The authorization server responds with HTTP status code 200 if the token has
/// been revoked successfully or if the client submitted an invalid token" ... "The content of
/// the response body is ignored by the client as all necessary information is conveyed in the
/// response code." CIAM's page shows `HTTP/1.1 200 OK` and no body. A 204 (no content, from a
/// lax server) says the same; a 202 ("accepted", not done) or a page does not.
const SUCCESS: Looks = Looks {
    what: "an RFC 7009 revocation success",
    statuses: &[200, 204],
    body: Body::NoneOrJson,
};

/// How the client authenticates (RFC 6749 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
    /// `client_secret_basic`: HTTP Basic authentication.
    Basic,
}

/// RFC 7009 2.1 `token_type_hint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

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

/// The error response of RFC 6749 5.2, which RFC 7009 2.2.1 reuses.
#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    error_description: Option<String>,
    error_uri: Option<String>,
}

/// An RFC 6749 5.2 / RFC 7009 2.2.1 `error` code, with the HTTP status, mapped to a kind.
pub fn error_kind(status: u16, error: &str) -> ErrorKind {
    match error {
        // RFC 6749 5.2: invalid_client: "Client authentication failed (e.g., unknown client, no
        // client authentication included, or unsupported authentication method)." Any 401 says
        // the same, whatever the code: the next token would be refused too.
        "invalid_client" => ErrorKind::Credentials,
        _ if status == 401 => ErrorKind::Credentials,
        // RFC 7009 2.2.1: "If the server responds with HTTP status code 503, the client must
        // assume the token still exists and may retry after a reasonable delay."
        _ if ErrorKind::from_status(status).retryable() => ErrorKind::from_status(status),
        // `invalid_request`, `unauthorized_client`, `invalid_grant`, `unsupported_token_type`
        // and anything else: this request is refused, and sending it again changes nothing.
        // Not even a 404 is "not found": an unknown token is answered with 200 (RFC 7009 2.2),
        // so a 404 means the endpoint is wrong.
        _ => ErrorKind::Rejected,
    }
}

/// What the code means (RFC 6749 5.2, RFC 7009 2.2.1), for a server that sends no description.
fn default_description(error: &str) -> &'static str {
    match error {
        "invalid_request" => "the request is missing a parameter or is malformed",
        "invalid_client" => "client authentication failed",
        "invalid_grant" => "the grant is invalid, expired or revoked",
        "unauthorized_client" => "the client is not authorized to revoke this token",
        "unsupported_token_type" => {
            "the server does not support revoking this type of token (try another --token-type-hint)"
        }
        _ => crate::error::NO_DESCRIPTION,
    }
}

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

/// `application/x-www-form-urlencoded` of name/value pairs (the WHATWG serializer of the `url`
/// crate behind reqwest's `Url`): alphanumerics and `*-._` kept, space as `+`, the rest `%XX`.
fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("form:").expect("a constant URL");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_string()
}

/// One value, form-urlencoded on its own.
fn form_urlencode_value(value: &str) -> String {
    let mut url = Url::parse("form:").expect("a constant URL");
    url.query_pairs_mut().append_key_only(value);
    url.query().unwrap_or_default().to_string()
}

/// The `Authorization` value for `client_secret_basic`. RFC 6749 2.3.1: "The client identifier
/// is encoded using the "application/x-www-form-urlencoded" encoding algorithm per Appendix B,
/// and the encoded value is used as the username; the client password is encoded using the same
/// algorithm and used as the password."
///
/// A space is written `%20`, not the form encoding's `+`: both decode to a space with a form
/// decoder, but servers that decode with a plain percent-decoder (authlib, for one) keep `+` as a
/// plus and reject the client. Every other byte is as Appendix B has it (a `+` itself is `%2B`).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let user_pass = format!(
        "{}:{}",
        form_urlencode_value(client_id).replace('+', "%20"),
        form_urlencode_value(client_secret).replace('+', "%20")
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
}

impl Ciam {
    /// The form body; called with the real values to send and with `***` to show.
    fn form_body(&self, client_secret: &str, token: &str) -> String {
        let mut pairs = Vec::with_capacity(4);
        // RFC 6749 2.3.1: "The client MUST NOT use more than one authentication method in each
        // request": with Basic, the credentials stay out of the body.
        if self.auth == ClientAuth::Post {
            pairs.push(("client_id", self.client_id.as_str()));
            pairs.push(("client_secret", client_secret));
        }
        pairs.push(("token", token));
        if let Some(hint) = self.hint {
            pairs.push(("token_type_hint", hint.as_str()));
        }
        form_urlencode(&pairs)
    }
}

impl Provider for Ciam {
    type Job = Job;

    fn name(&self) -> &'static str {
        "ciam"
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
        let mut req = PreparedRequest::new(Method::POST, self.url.clone());
        req.headers
            .push(Header::plain("content-type", CONTENT_TYPE));
        if self.auth == ClientAuth::Basic {
            req.headers.push(Header::secret(
                "authorization",
                basic_authorization(&self.client_id, self.client_secret.expose()),
                format!("Basic {MASK}"),
            ));
        }
        req.body = self
            .form_body(self.client_secret.expose(), job.token.expose())
            .into_bytes();
        req.shown_body = Some(self.form_body(MASK, MASK));
        Ok(req)
    }

    fn verification(&self) -> crate::engine::Verification {
        match self.verify_at.get() {
            Some(_) => crate::engine::Verification::PerTarget,
            None => crate::engine::Verification::Discover,
        }
    }

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
    ) -> Result<crate::engine::Verdict, ApiError> {
        use crate::engine::Verdict;
        match self.verify_at.get() {
            Some(VerifyAt::Introspect(_)) => {
                if !success(resp.status) {
                    return self
                        .interpret(job, resp)
                        .map(|_| Verdict::Unknown("an unexpected introspection answer".into()));
                }
                // RFC 7662 2.2: "active" is REQUIRED; false for a revoked or unknown token.
                match serde_json::from_slice::<Value>(&resp.body)
                    .ok()
                    .and_then(|v| v.get("active").and_then(Value::as_bool))
                {
                    Some(false) => Ok(Verdict::Dead),
                    Some(true) => Ok(Verdict::Alive),
                    None => Ok(Verdict::Unknown(
                        "the introspection answer has no boolean \"active\" (RFC 7662 2.2)".into(),
                    )),
                }
            }
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
            _ => "the introspection endpoint cannot see this token with these credentials (RFC 7662 2.2: \"active\": false before the revocation, as for another client's token or one already invalid), so the revocation cannot be proved".into(),
        }
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        // RFC 7009 has no request id; gateways in front of a server often add this one.
        let request_id = header_request_id(&resp, &["x-request-id"]);
        if success(resp.status) {
            let seen = recognise(&resp, &SUCCESS, request_id.clone())?;
            return Ok(Outcome::revoked(seen, request_id, None));
        }
        let retry_after = resp.retry_after();
        let answer = match serde_json::from_slice::<ErrorResponse>(&resp.body) {
            Ok(e) => {
                let mut message = e
                    .error_description
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| default_description(&e.error).to_string());
                if let Some(uri) = e.error_uri {
                    message.push_str(&format!(" (see {uri})"));
                }
                Err(ApiError::Service {
                    http_status: resp.status,
                    kind: error_kind(resp.status, &e.error),
                    code: e.error,
                    message,
                    request_id,
                    retry_after,
                })
            }
            Err(_) => Err(ApiError::unreadable(
                resp.status,
                format!(
                    "not an OAuth 2.0 error response (RFC 6749 5.2): {}",
                    describe(&resp)
                ),
                request_id,
                retry_after,
            )),
        };
        // RFC 7009 documents no 404 or 405 (an unknown token is answered 200): such an answer
        // comes from something that is not the revocation endpoint, whatever its body says.
        match answer {
            Err(e) if wrong_place(resp.status) => Err(not_the_api_kind(e)),
            other => other,
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
