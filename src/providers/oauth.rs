//! `revoke oauth`: OAuth 2.0 Token Revocation (RFC 7009) at any authorization server, and the
//! RFC 7009 client that `ciam` shares.
//!
//! What is shared ([`Rfc7009`] and the readers below): the form-encoded request with the
//! client's authentication (`none`, `client_secret_post` or `client_secret_basic`, RFC 6749
//! 2.3.1 and RFC 7009 2.1), `token_type_hint`, the reading of the answer (RFC 7009 2.2's 200 with
//! no body or a JSON one, held to [`recognise`]; RFC 6749 5.2 errors mapped to a kind) and of an
//! RFC 7662 introspection answer (`active`), which `--verify` asks before and after.
//!
//! What is `oauth`'s own ([`Oauth`]): the endpoints come from `--revocation-endpoint` (and
//! `--introspection-endpoint`), or from the issuer's metadata (RFC 8414, then OpenID Connect
//! Discovery), fetched once per run before the first revocation, through the attempt loop
//! ([`Provider::set_up`]); a document that does not hold up
//! (another issuer, an http endpoint for an https issuer, too big, not JSON, a redirect) is not
//! used and nothing further is sent.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;

use super::{
    Body, Looks, describe, header_request_id, not_the_api_kind, recognise, success, wrong_place,
};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, Header, PreparedRequest, RawResponse, Transport, exchange};
use crate::providers::contract::Setup;
use crate::providers::{
    Credentials, Descriptor, EnvVar, Outcome, Provider, Required, SECRET_SOURCES_ENV, SecretKeys,
    TokenCheck, Verdict, Verification,
};
use crate::secret::{MASK, Secret};

/// `revoke oauth`.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: "oauth",
    credentials: Credentials::SecretOrPublic(SecretKeys {
        what: "client secret",
        env: SECRET_ENV,
        file_id: "client_secret_file",
        flag: "--client-secret-file",
        file_key: "client-secret-file",
        command_key: "client-secret-command",
        inline_key: "client-secret",
    }),
    sources: "--client-secret-file, else OAUTH2_CLIENT_SECRET, else the context's \
         client-secret-file, client-secret-command or client-secret (one of them per \
         table); none with client-auth = \"none\" (a public client).",
    env: &[
        EnvVar {
            names: &[SECRET_ENV],
            meaning: "the client secret, unless --client-secret-file is given (not read with --client-auth none)",
        },
        SECRET_SOURCES_ENV[0],
        SECRET_SOURCES_ENV[1],
    ],
    files: &[],
    required: &[
        Required::OneOf {
            keys: &["issuer", "revocation-endpoint", "endpoint"],
            message: "oauth needs --issuer URL (its endpoints are discovered) or --revocation-endpoint URL",
        },
        Required::Flag {
            flag: "--client-id",
            value: "ID",
        },
    ],
    one_of: &[&["issuer", "revocation-endpoint"]],
    secret_targets: true,
};

/// "Request Content-Type: application/x-www-form-urlencoded" (RFC 7009 2.1, RFC 7662 2.1).
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
pub const SECRET_ENV: &str = "OAUTH2_CLIENT_SECRET";

/// RFC 7009 2.2: "The authorization server responds with HTTP status code 200 if the token has
/// been revoked successfully or if the client submitted an invalid token" ... "The content of
/// the response body is ignored by the client as all necessary information is conveyed in the
/// response code." A 204 (no content, from a lax server) says the same; a 202 ("accepted", not
/// done) or a page does not.
const SUCCESS: Looks = Looks {
    what: "an RFC 7009 revocation success",
    statuses: &[200, 204],
    body: Body::NoneOrJson,
};

/// How the client authenticates (RFC 6749 2.3.1; RFC 7591 2's method names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `none`: a public client. RFC 7009 2.1: a public client sends its `client_id` in the
    /// body, and no secret.
    None,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
    /// `client_secret_basic`: HTTP Basic authentication.
    Basic,
}

impl ClientAuth {
    /// The method's name in a metadata document (RFC 8414 2, RFC 7591 2).
    pub fn method(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Post => "client_secret_post",
            ClientAuth::Basic => "client_secret_basic",
        }
    }

    /// How `--client-auth` names it.
    pub fn flag(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Post => "post",
            ClientAuth::Basic => "basic",
        }
    }
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

/// One RFC 7009 client: who it is and how it says so. Borrowed, so that each provider keeps its
/// credentials where it holds them.
#[derive(Clone, Copy)]
pub struct Rfc7009<'a> {
    pub client_id: &'a str,
    /// `None` for a public client.
    pub client_secret: Option<&'a Secret>,
    pub auth: ClientAuth,
    pub hint: Option<TokenTypeHint>,
}

impl Rfc7009<'_> {
    /// The form body; called with the real values to send and with `***` to show.
    fn form_body(&self, client_secret: &str, token: &str) -> String {
        let mut pairs = Vec::with_capacity(4);
        match self.auth {
            // RFC 7009 2.1 / RFC 6749 2.3.1 ("MUST NOT use more than one authentication method
            // in each request"): with Basic, the credentials stay out of the body.
            ClientAuth::Basic => {}
            ClientAuth::Post => {
                pairs.push(("client_id", self.client_id));
                pairs.push(("client_secret", client_secret));
            }
            // RFC 6749 3.2.1: "A client MAY use the "client_id" request parameter to identify
            // itself when sending requests to the token endpoint"; RFC 7009 2.1 asks the same of
            // a public client at the revocation endpoint.
            ClientAuth::None => pairs.push(("client_id", self.client_id)),
        }
        pairs.push(("token", token));
        if let Some(hint) = self.hint {
            pairs.push(("token_type_hint", hint.as_str()));
        }
        form_urlencode(&pairs)
    }

    /// The request for `token` at `url`: a revocation (RFC 7009 2.1) or an introspection (RFC
    /// 7662 2.1: `token` and `token_type_hint`, with the same client authentication).
    pub fn request(&self, url: &Url, token: &Secret) -> Result<PreparedRequest, ApiError> {
        let secret = match (self.auth, self.client_secret) {
            (ClientAuth::None, _) => "",
            (_, Some(s)) => s.expose(),
            (auth, None) => {
                return Err(ApiError::Build {
                    message: format!(
                        "--client-auth {} needs a client secret (or --client-auth none for a public client)",
                        auth.flag()
                    ),
                });
            }
        };
        let mut req = PreparedRequest::new(Method::POST, url.clone());
        req.headers
            .push(Header::plain("content-type", CONTENT_TYPE));
        if self.auth == ClientAuth::Basic {
            req.headers.push(Header::secret(
                "authorization",
                basic_authorization(self.client_id, secret),
                format!("Basic {MASK}"),
            ));
        }
        req.body = self.form_body(secret, token.expose()).into_bytes();
        req.shown_body = Some(self.form_body(MASK, MASK));
        Ok(req)
    }
}

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

/// Reads a revocation answer: RFC 7009 2.2's success, or an RFC 6749 5.2 error.
pub fn read_revocation(resp: RawResponse) -> Result<Outcome, ApiError> {
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

/// Reads an RFC 7662 introspection answer. An error answer is read as a revocation's would be
/// (the same RFC 6749 5.2 errors), and says nothing about the token.
pub fn read_introspection(resp: RawResponse) -> Result<Verdict, ApiError> {
    if !success(resp.status) {
        return read_revocation(resp)
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

/// Why `--verify` cannot prove a token the introspection endpoint did not see alive before.
pub const UNSEEN_BY_INTROSPECTION: &str = "the introspection endpoint cannot see this token with these credentials (RFC 7662 2.2: \"active\": false before the revocation, as for another client's token or one already invalid), so the revocation cannot be proved";

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

// ---------------------------------------------------------------------------------------------
// Discovery: RFC 8414, then OpenID Connect Discovery 1.0.

/// The most of a metadata document that is read. Real ones are a few KiB (Google's 1.5 KiB,
/// Keycloak's about 6 KiB); a larger one is not a metadata document worth trusting.
pub const MAX_METADATA: usize = 64 * 1024;

/// The error code of every target's record when discovery fails (nothing was sent for it).
pub const DISCOVERY_FAILED: &str = "DiscoveryFailed";

/// An issuer identifier as the user wrote it (RFC 8414 2: "a URL that uses the "https" scheme
/// and has no query or fragment components"; plain http only to a loopback host, as for any
/// endpoint), and the URL it is.
#[derive(Debug, Clone)]
pub struct Issuer {
    text: String,
    url: Endpoint,
}

impl Issuer {
    pub fn parse(text: &str) -> Result<Issuer, String> {
        let text = text.trim();
        let url = Endpoint::parse(text).map_err(|e| format!("--issuer: {e}"))?;
        Ok(Issuer {
            text: text.to_string(),
            url,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_plain_http(&self) -> bool {
        self.url.is_plain_http()
    }

    /// The issuer as an endpoint (whether the run needs TLS).
    pub fn endpoint(&self) -> &Endpoint {
        &self.url
    }

    /// Where the metadata is, in the order asked. RFC 8414 3.1: "the well-known URI suffix ...
    /// is inserted between the host component and the path component" ("any terminating "/"
    /// MUST be removed before inserting"); OpenID Connect Discovery 1.0 4 appends
    /// `/.well-known/openid-configuration` to the issuer, its terminating `/` removed.
    pub fn metadata_urls(&self) -> [Url; 2] {
        let base = self.url.join("");
        let path = base.path().trim_end_matches('/').to_string();
        let mut rfc8414 = base.clone();
        rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
        let mut oidc = base;
        oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
        [rfc8414, oidc]
    }
}

/// What a metadata document gives a client: where to revoke and introspect, and how the server
/// accepts a client there.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub revocation: Url,
    pub introspection: Option<Url>,
    /// `revocation_endpoint_auth_methods_supported`, when the document has it.
    pub auth_methods: Option<Vec<String>>,
}

/// Reads a metadata document fetched for `issuer` from `from`. Every reason not to use it is
/// one line, with the server's words bounded (and scrubbed and escaped where printed).
pub fn read_metadata(issuer: &Issuer, from: &Url, resp: &RawResponse) -> Result<Metadata, String> {
    if resp.body.len() > MAX_METADATA {
        return Err(format!(
            "{from} answered {} bytes, more than the {} KiB a metadata document may be",
            resp.body.len(),
            MAX_METADATA / 1024
        ));
    }
    let doc: serde_json::Map<String, Value> = match serde_json::from_slice(&resp.body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(format!(
                "{from} answered {}, not a JSON metadata document",
                describe(resp)
            ));
        }
    };
    let said = |key: &str| -> Result<Option<&str>, String> {
        match doc.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("the metadata's {key} is not a string")),
        }
    };
    // RFC 8414 3.3: "The "issuer" value returned MUST be identical to the authorization
    // server's issuer identifier value into which the well-known URI string was inserted ...
    // If these values are not identical, the data contained in the response MUST NOT be used."
    match said("issuer")? {
        Some(i) if i == issuer.text => {}
        Some(i) => {
            return Err(format!(
                "the metadata at {from} is for another issuer: {:?}, not {:?} (RFC 8414 3.3: not used)",
                shown(i),
                issuer.text
            ));
        }
        None => {
            return Err(format!(
                "the metadata at {from} names no issuer (RFC 8414 3.3: not used)"
            ));
        }
    }
    let endpoint = |key: &str| -> Result<Option<Url>, String> {
        let Some(text) = said(key)? else {
            return Ok(None);
        };
        let url = Url::parse(text)
            .map_err(|e| format!("the metadata's {key} {:?} is not a URL: {e}", shown(text)))?;
        // A document fetched over https must not send the client's credentials and tokens over
        // plain http. An http issuer (accepted only on loopback, for a local server) names
        // http endpoints, held to the rule of any endpoint: loopback only. The scheme is the
        // issuer's, so that the run knows before discovery whether it needs TLS.
        let scheme = issuer.url.join("").scheme().to_string();
        if url.scheme() != scheme {
            return Err(format!(
                "the metadata's {key} {:?} is not {scheme}, as the issuer is: not used",
                shown(text)
            ));
        }
        Endpoint::parse(text)
            .map(|e| Some(e.join("")))
            .map_err(|e| format!("the metadata's {key}: {e}"))
    };
    let Some(revocation) = endpoint("revocation_endpoint")? else {
        return Err(format!(
            "the metadata at {from} names no revocation_endpoint (the server may not support RFC 7009): pass --revocation-endpoint URL"
        ));
    };
    let introspection = endpoint("introspection_endpoint")?;
    let auth_methods = match doc.get("revocation_endpoint_auth_methods_supported") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .take(64)
                .map(str::to_string)
                .collect(),
        ),
        Some(_) => {
            return Err(
                "the metadata's revocation_endpoint_auth_methods_supported is not an array".into(),
            );
        }
    };
    Ok(Metadata {
        revocation,
        introspection,
        auth_methods,
    })
}

/// At most 200 characters of a server's text in a message, scrubbed before it is cut: a secret
/// cut at the bound is no longer recognised, and its head would be shown.
fn shown(s: &str) -> String {
    cut(&crate::secret::Redactor::global().scrub(s)).to_string()
}

/// At most 200 characters of a server's text.
fn cut(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The client authentication to use when `--client-auth` is not given: the first of the
/// server's `revocation_endpoint_auth_methods_supported` possible with what was given (a secret
/// makes `client_secret_basic` and `client_secret_post` possible; no secret, `none` only), else
/// (no list) `post`, which needs a secret.
pub fn choose_auth(methods: Option<&[String]>, has_secret: bool) -> Result<ClientAuth, String> {
    let Some(methods) = methods else {
        return match has_secret {
            true => Ok(ClientAuth::Post),
            false => Err("the metadata names no revocation_endpoint_auth_methods_supported, so the client authenticates with post, which needs a client secret: set OAUTH2_CLIENT_SECRET or --client-secret-file, or pass --client-auth none for a public client".into()),
        };
    };
    let possible = methods.iter().find_map(|m| match m.as_str() {
        "client_secret_basic" if has_secret => Some(ClientAuth::Basic),
        "client_secret_post" if has_secret => Some(ClientAuth::Post),
        "none" => Some(ClientAuth::None),
        _ => None,
    });
    possible.ok_or_else(|| {
        let listed = if methods.is_empty() {
            "none listed".to_string()
        } else {
            methods.iter().map(|m| shown(m)).collect::<Vec<_>>().join(", ")
        };
        match has_secret {
            true => format!("the revocation endpoint accepts none of the client authentications revoke has (none, client_secret_post, client_secret_basic); it lists: {listed}"),
            false => format!("the revocation endpoint does not accept a public client (it lists: {listed}) and no client secret was given: set OAUTH2_CLIENT_SECRET or --client-secret-file"),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The `oauth` provider.

/// Where `oauth` revokes.
#[derive(Debug, Clone)]
pub enum Revocation {
    /// `--revocation-endpoint URL`: no discovery.
    At(Endpoint),
    /// `--issuer URL`: the endpoint from its metadata.
    Discover(Issuer),
}

/// What the client is built from.
pub struct OauthConfig {
    pub revocation: Revocation,
    /// `--introspection-endpoint`: where `--verify` asks (else the metadata's).
    pub introspection: Option<Endpoint>,
    pub client_id: String,
    /// `None`: a public client, or no secret was found.
    pub client_secret: Option<Secret>,
    /// `None`: chosen from the metadata (see [`choose_auth`]).
    pub auth: Option<ClientAuth>,
    pub hint: Option<TokenTypeHint>,
}

/// The endpoints and the client authentication a run uses, once known.
#[derive(Debug, Clone)]
struct Found {
    revocation: Url,
    introspection: Option<Url>,
    auth: ClientAuth,
}

pub struct Oauth {
    config: OauthConfig,
    /// Known from the start (`--revocation-endpoint`), or set once by discovery.
    found: std::sync::OnceLock<Found>,
}

pub type Job = super::TokenJob;

impl Oauth {
    pub fn new(config: OauthConfig) -> Oauth {
        let found = std::sync::OnceLock::new();
        if let Revocation::At(endpoint) = &config.revocation {
            let _ = found.set(Found {
                revocation: endpoint.join(""),
                introspection: config.introspection.as_ref().map(|e| e.join("")),
                auth: config.auth.unwrap_or(ClientAuth::Post),
            });
        }
        Oauth { config, found }
    }

    /// Before discovery (a dry run): the authentication the run would use if the metadata
    /// lists none it can choose from.
    fn planned_auth(&self) -> ClientAuth {
        self.config.auth.unwrap_or(match self.config.client_secret {
            Some(_) => ClientAuth::Post,
            None => ClientAuth::None,
        })
    }

    fn client(&self, auth: ClientAuth) -> Rfc7009<'_> {
        Rfc7009 {
            client_id: &self.config.client_id,
            client_secret: self.config.client_secret.as_ref(),
            auth,
            hint: self.config.hint,
        }
    }

    /// Uses a metadata document: the endpoints it names (an `--introspection-endpoint` given
    /// beats its own) and the client authentication.
    fn adopt(&self, metadata: Metadata) -> Result<(), String> {
        let auth = match self.config.auth {
            Some(auth) => auth,
            None => choose_auth(
                metadata.auth_methods.as_deref(),
                self.config.client_secret.is_some(),
            )?,
        };
        let found = Found {
            revocation: metadata.revocation,
            introspection: match &self.config.introspection {
                Some(e) => Some(e.join("")),
                None => metadata.introspection,
            },
            auth,
        };
        tracing::info!(
            "discovered: revocation_endpoint {}, introspection_endpoint {}, client authentication {}",
            found.revocation,
            found
                .introspection
                .as_ref()
                .map_or("none".to_string(), Url::to_string),
            found.auth.method()
        );
        let _ = self.found.set(found);
        Ok(())
    }

    /// One discovery attempt: the RFC 8414 document, else (the server has none there: a 4xx
    /// other than 429) the OpenID Connect one. A transient failure is returned as it is, for the
    /// attempt loop to retry; any other reason not to use a document ends discovery.
    async fn discover(&self, transport: &Transport, issuer: &Issuer) -> Result<(), ApiError> {
        let [rfc8414, oidc] = issuer.metadata_urls();
        let mut tried = Vec::new();
        for url in [rfc8414, oidc] {
            let request = PreparedRequest::new(Method::GET, url.clone());
            let answer = exchange(transport, &request, Ok).await;
            let resp = match answer {
                Ok(resp) => resp,
                Err(e) if e.retryable() => return Err(e),
                Err(e) => return Err(discovery_failed(e.http_status(), e.message())),
            };
            if success(resp.status) {
                return read_metadata(issuer, &url, &resp)
                    .and_then(|m| self.adopt(m))
                    .map_err(|why| discovery_failed(Some(resp.status), why));
            }
            let kind = ErrorKind::from_status(resp.status);
            if kind.retryable() {
                return Err(ApiError::unreadable(
                    resp.status,
                    format!("{url} answered HTTP {}", resp.status),
                    None,
                    resp.retry_after(),
                ));
            }
            tried.push(format!("{url} answered HTTP {}", resp.status));
        }
        Err(discovery_failed(
            None,
            format!(
                "no metadata for issuer {:?}: {}; pass --revocation-endpoint URL",
                issuer.text,
                tried.join(", ")
            ),
        ))
    }
}

fn discovery_failed(http_status: Option<u16>, message: String) -> ApiError {
    ApiError::Service {
        http_status: http_status.unwrap_or(0),
        code: DISCOVERY_FAILED.into(),
        message,
        request_id: None,
        kind: ErrorKind::Rejected,
        retry_after: None,
    }
}

impl Provider for Oauth {
    type Job = Job;

    const DESCRIPTOR: &'static Descriptor = &DESCRIPTOR;

    /// A revoked token stays revoked: a journal entry replays whatever its age.
    fn acts_on_current_tokens(&self) -> bool {
        false
    }

    fn identity(&self, job: &Job) -> Value {
        job.identity()
    }

    fn job_key(&self, job: &Job) -> String {
        job.key()
    }

    fn scope(&self) -> String {
        let at = match &self.config.revocation {
            Revocation::At(e) => e.join("").to_string(),
            Revocation::Discover(issuer) => issuer.text.clone(),
        };
        format!("{at}\n{}", self.config.client_id)
    }

    fn job_secrets<'a>(&self, job: &'a Job) -> Vec<&'a str> {
        job.secrets()
    }

    fn setup(&self) -> Option<Setup> {
        match (&self.config.revocation, self.found.get()) {
            (Revocation::Discover(_), None) => Some(Setup {
                what: "discovering the issuer's endpoints",
                code: DISCOVERY_FAILED,
            }),
            _ => None,
        }
    }

    async fn set_up(&self, transport: &Transport) -> Result<(), ApiError> {
        match &self.config.revocation {
            Revocation::Discover(issuer) => self.discover(transport, issuer).await,
            Revocation::At(_) => Ok(()),
        }
    }

    fn setup_requests(&self) -> Vec<PreparedRequest> {
        match (&self.config.revocation, self.found.get()) {
            (Revocation::Discover(issuer), None) => issuer
                .metadata_urls()
                .into_iter()
                .map(|u| PreparedRequest::new(Method::GET, u))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn prepare(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        match (self.found.get(), &self.config.revocation) {
            (Some(found), _) => self
                .client(found.auth)
                .request(&found.revocation, &job.token),
            // A dry run of a run that discovers: the request with the issuer's place holding
            // the endpoint to be discovered, and the authentication it would use if the
            // metadata lists none.
            (None, Revocation::Discover(issuer)) => {
                let auth = self.planned_auth();
                let mut req = self
                    .client(auth)
                    .request(&issuer.url.join(""), &job.token)?;
                req.shown_url = format!("<the revocation_endpoint of {}'s metadata>", issuer.text);
                Ok(req)
            }
            (None, Revocation::At(_)) => Err(ApiError::Build {
                message: "no revocation endpoint".into(),
            }),
        }
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        read_revocation(resp)
    }

    fn verification(&self) -> Verification<'_, Job> {
        match self.found.get() {
            Some(Found {
                introspection: Some(_),
                ..
            }) => Verification::PerTarget(self),
            Some(_) => match self.config.revocation {
                Revocation::Discover(_) => Verification::Unavailable(
                    "no introspection endpoint: the issuer's metadata names none; pass --introspection-endpoint URL",
                ),
                Revocation::At(_) => Verification::Unavailable(
                    "no introspection endpoint: pass --introspection-endpoint URL, or --issuer for its metadata's",
                ),
            },
            None if self.config.introspection.is_some() => Verification::PerTarget(self),
            None => Verification::Unavailable(
                "the introspection endpoint is discovered when the run starts",
            ),
        }
    }
}

impl TokenCheck<Job> for Oauth {
    fn verify_request(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        let (url, auth) = match self.found.get() {
            Some(Found {
                introspection: Some(url),
                auth,
                ..
            }) => (url.clone(), *auth),
            _ => match &self.config.introspection {
                // A dry run, before discovery.
                Some(e) => (e.join(""), self.planned_auth()),
                None => {
                    return Err(ApiError::Build {
                        message: "no introspection endpoint".into(),
                    });
                }
            },
        };
        // RFC 7662 2.1: the client authenticates as it does for the revocation.
        self.client(auth).request(&url, &job.token)
    }

    fn read_verdict(&self, _job: &Job, resp: RawResponse) -> Result<Verdict, ApiError> {
        read_introspection(resp)
    }

    fn unseen(&self) -> String {
        UNSEEN_BY_INTROSPECTION.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::answer;
    use serde_json::json;

    fn issuer(text: &str) -> Issuer {
        Issuer::parse(text).unwrap()
    }

    fn oauth(auth: Option<ClientAuth>, secret: Option<&str>) -> Oauth {
        Oauth::new(OauthConfig {
            revocation: Revocation::At(
                Endpoint::parse("https://as.example.com/oauth2/revoke").unwrap(),
            ),
            introspection: None,
            client_id: "app id".into(),
            client_secret: secret.map(Secret::new),
            auth,
            hint: None,
        })
    }

    fn job(token: &str) -> Job {
        Job {
            token: Secret::new(token),
        }
    }

    #[test]
    fn metadata_urls_follow_rfc8414_then_oidc() {
        for (iss, want) in [
            (
                "https://as.example.com",
                [
                    "https://as.example.com/.well-known/oauth-authorization-server",
                    "https://as.example.com/.well-known/openid-configuration",
                ],
            ),
            (
                "https://as.example.com/",
                [
                    "https://as.example.com/.well-known/oauth-authorization-server",
                    "https://as.example.com/.well-known/openid-configuration",
                ],
            ),
            // RFC 8414 3.1's own example: issuer https://example.com/issuer1.
            (
                "https://example.com/issuer1",
                [
                    "https://example.com/.well-known/oauth-authorization-server/issuer1",
                    "https://example.com/issuer1/.well-known/openid-configuration",
                ],
            ),
            (
                "http://127.0.0.1:8080/realms/a/",
                [
                    "http://127.0.0.1:8080/.well-known/oauth-authorization-server/realms/a",
                    "http://127.0.0.1:8080/realms/a/.well-known/openid-configuration",
                ],
            ),
        ] {
            let got = issuer(iss).metadata_urls().map(|u| u.to_string());
            assert_eq!(got, want.map(str::to_string), "{iss}");
        }
        assert!(Issuer::parse("http://as.example.com").is_err());
        assert!(Issuer::parse("https://as.example.com/?q=1").is_err());
    }

    fn doc(body: &str) -> RawResponse {
        answer(200, &[("content-type", "application/json")], body)
    }

    #[test]
    fn metadata_is_used_only_when_it_holds_up() {
        let iss = issuer("https://as.example.com");
        let from =
            Url::parse("https://as.example.com/.well-known/oauth-authorization-server").unwrap();
        let m = read_metadata(
            &iss,
            &from,
            &doc(r#"{"issuer":"https://as.example.com","revocation_endpoint":"https://as.example.com/revoke","introspection_endpoint":"https://other.example.com/introspect","revocation_endpoint_auth_methods_supported":["private_key_jwt","client_secret_basic"]}"#),
        )
        .unwrap();
        assert_eq!(m.revocation.as_str(), "https://as.example.com/revoke");
        assert_eq!(
            m.introspection.unwrap().as_str(),
            "https://other.example.com/introspect"
        );
        assert_eq!(
            m.auth_methods.unwrap(),
            ["private_key_jwt", "client_secret_basic"]
        );
        for (body, says) in [
            (
                r#"{"issuer":"https://as.example.com/","revocation_endpoint":"https://as.example.com/r"}"#,
                "another issuer",
            ),
            (
                r#"{"issuer":"https://evil.example","revocation_endpoint":"https://as.example.com/r"}"#,
                "another issuer",
            ),
            (
                r#"{"revocation_endpoint":"https://as.example.com/r"}"#,
                "names no issuer",
            ),
            (
                r#"{"issuer":"https://as.example.com","revocation_endpoint":"http://127.0.0.1/r"}"#,
                "is not https, as the issuer is",
            ),
            (
                r#"{"issuer":"https://as.example.com","revocation_endpoint":"https://as.example.com/r","introspection_endpoint":"http://as.example.com/i"}"#,
                "is not https, as the issuer is",
            ),
            (
                r#"{"issuer":"https://as.example.com"}"#,
                "names no revocation_endpoint",
            ),
            (
                r#"{"issuer":"https://as.example.com","revocation_endpoint":"not a url"}"#,
                "is not a URL",
            ),
            (
                r#"{"issuer":"https://as.example.com","revocation_endpoint":7}"#,
                "is not a string",
            ),
            (
                "<html><title>Sign in</title></html>",
                "not a JSON metadata document",
            ),
            ("[]", "not a JSON metadata document"),
        ] {
            let e = read_metadata(&iss, &from, &doc(body)).unwrap_err();
            assert!(e.contains(says), "{body}: {e}");
        }
        let big = format!(
            r#"{{"issuer":"https://as.example.com","revocation_endpoint":"https://as.example.com/r","x":"{}"}}"#,
            "a".repeat(MAX_METADATA)
        );
        let e = read_metadata(&iss, &from, &doc(&big)).unwrap_err();
        assert!(e.contains("64 KiB"), "{e}");
        // An http issuer (loopback only) may name http endpoints, on loopback only.
        let local = issuer("http://127.0.0.1:9");
        let ok = r#"{"issuer":"http://127.0.0.1:9","revocation_endpoint":"http://127.0.0.1:9/r"}"#;
        assert!(read_metadata(&local, &from, &doc(ok)).is_ok());
        let far =
            r#"{"issuer":"http://127.0.0.1:9","revocation_endpoint":"http://as.example.com/r"}"#;
        assert!(read_metadata(&local, &from, &doc(far)).is_err());
        let tls =
            r#"{"issuer":"http://127.0.0.1:9","revocation_endpoint":"https://as.example.com/r"}"#;
        assert!(read_metadata(&local, &from, &doc(tls)).is_err());
    }

    #[test]
    fn client_auth_is_the_first_possible_of_the_servers() {
        let m = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (methods, secret, want) in [
            (
                Some(m(&["client_secret_basic", "client_secret_post"])),
                true,
                Ok(ClientAuth::Basic),
            ),
            (
                Some(m(&["client_secret_post", "client_secret_basic"])),
                true,
                Ok(ClientAuth::Post),
            ),
            (
                Some(m(&["private_key_jwt", "none", "client_secret_post"])),
                true,
                Ok(ClientAuth::None),
            ),
            (
                Some(m(&["client_secret_basic", "none"])),
                false,
                Ok(ClientAuth::None),
            ),
            (None, true, Ok(ClientAuth::Post)),
            (None, false, Err("public client")),
            (
                Some(m(&["client_secret_basic"])),
                false,
                Err("no client secret"),
            ),
            (Some(m(&["private_key_jwt"])), true, Err("private_key_jwt")),
        ] {
            match (choose_auth(methods.as_deref(), secret), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{methods:?}"),
                (Err(e), Err(says)) => assert!(e.contains(says), "{methods:?}: {e}"),
                (got, want) => panic!("{methods:?} {secret}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn a_public_client_sends_its_id_and_no_secret() {
        let o = oauth(Some(ClientAuth::None), None);
        let req = o.prepare(&job("MOCK_TOKEN"), Utc::now()).unwrap();
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "client_id=app+id&token=MOCK_TOKEN"
        );
        let names: Vec<&str> = req.headers.iter().map(|h| h.name).collect();
        assert_eq!(names, ["content-type"]);
        // A secret found anyway is not sent by a public client.
        let o = oauth(Some(ClientAuth::None), Some("S3CRET"));
        let req = o.prepare(&job("MOCK_TOKEN"), Utc::now()).unwrap();
        assert!(!String::from_utf8(req.body).unwrap().contains("S3CRET"));
        // post or basic without a secret is never sent.
        let Err(e) = oauth(Some(ClientAuth::Basic), None).prepare(&job("t"), Utc::now()) else {
            panic!("sent without a secret");
        };
        assert!(e.message().contains("needs a client secret"), "{e}");
    }

    #[test]
    fn introspection_reads_active() {
        for (status, body, want) in [
            (200, r#"{"active":false}"#, Verdict::Dead),
            (200, r#"{"active":true,"client_id":"a"}"#, Verdict::Alive),
        ] {
            assert_eq!(read_introspection(answer(status, &[], body)).unwrap(), want);
        }
        assert!(matches!(
            read_introspection(answer(200, &[], r#"{"active":"no"}"#)).unwrap(),
            Verdict::Unknown(_)
        ));
        let e = read_introspection(answer(401, &[], r#"{"error":"invalid_client"}"#)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
    }

    /// RFC 7009 2.2: 200 (a 204 too), no body or a JSON one.
    fn documented_success(status: u16, body: &[u8]) -> bool {
        let body = body.trim_ascii();
        matches!(status, 200 | 204)
            && (body.is_empty() || serde_json::from_slice::<Value>(body).is_ok())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// oauth's place in the answers table: every client authentication.
        #[test]
        fn any_answer_is_handled_and_scrubbed(
            sample in crate::providers::answers::samples(vec![
                "OAUTH_CLIENT_SECRET_1".into(),
                "prop-oauth-token-0001".into(),
                "app%20id:OAUTH_CLIENT_SECRET_1".into(),
            ]),
            auth in proptest::sample::select(vec![ClientAuth::None, ClientAuth::Post, ClientAuth::Basic]),
        ) {
            crate::providers::answers::check(
                &oauth(Some(auth), Some("OAUTH_CLIENT_SECRET_1")),
                &job("prop-oauth-token-0001"),
                &["OAUTH_CLIENT_SECRET_1"],
                documented_success,
                sample,
            )?;
        }

        /// Any bytes as a metadata document: never a panic, never used unless its issuer is
        /// the one asked for, and every reason one bounded line.
        #[test]
        fn any_metadata_is_read_safely(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            issuer_said in proptest::prelude::prop_oneof![
                proptest::strategy::Just("https://as.example.com".to_string()),
                "[ -~\u{1b}\n]{0,40}",
            ],
            endpoint in "(https|http)://[a-z.]{1,12}(:[0-9]{1,5})?/[ -~]{0,20}",
        ) {
            let iss = issuer("https://as.example.com");
            let from = Url::parse("https://as.example.com/.well-known/oauth-authorization-server").unwrap();
            let raw = answer(200, &[], "");
            let mut bytes = RawResponse { body, ..raw };
            let _ = read_metadata(&iss, &from, &bytes);
            let doc = json!({"issuer": issuer_said, "revocation_endpoint": endpoint});
            bytes.body = doc.to_string().into_bytes();
            match read_metadata(&iss, &from, &bytes) {
                Ok(m) => {
                    proptest::prop_assert_eq!(issuer_said.as_str(), "https://as.example.com");
                    proptest::prop_assert_eq!(m.revocation.scheme(), "https");
                }
                // The server's words are quoted (escaped) and cut: one line, bounded.
                Err(why) => proptest::prop_assert!(!why.contains('\n') && why.len() < 600, "{why}"),
            }
        }
    }
}
