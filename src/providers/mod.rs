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
pub mod contract;
// Each run command's client (`NAME.rs`), from the one command list.
with_commands!(modules);

use serde_json::Value;

pub use self::contract::{
    Discovery, JobItem, Listing, Outcome, Page, Provider, RawTarget, Sourced, TokenCheck, Verdict,
    Verification,
};

use crate::error::{ApiError, ErrorKind};
use crate::net::http::RawResponse;
use crate::secret::{Secret, fingerprint, long_fingerprint};

/// What a run command is, declared once by its provider (`pub const DESCRIPTOR`) and read by
/// everything that lists the commands: the config file's tables, plan steps, `revoke config`,
/// `--help`'s ENVIRONMENT and the manual's FILES. The command list in
/// `crate::settings::commands` ties it to its clap variant.
#[derive(Debug)]
pub struct Descriptor {
    /// The subcommand's name: the record's `provider`, the config file's `[NAME.CONTEXT]`, a
    /// plan step's `command`.
    pub name: &'static str,
    /// Where its credentials come from.
    pub credentials: Credentials,
    /// The same in words, first found wins (revoke-config(1), "Secret sources").
    pub sources: &'static str,
    /// The environment variables it reads besides its options' own (help's ENVIRONMENT).
    pub env: &'static [EnvVar],
    /// The files it reads besides the config file (the manual's FILES): path, what it is.
    pub files: &'static [(&'static str, &'static str)],
    /// What a run cannot do without, as `revoke config` and a plan's checks say it.
    pub required: &'static [Required],
    /// Keys of which a settings table may set only one (two ways to name the server).
    pub one_of: &'static [&'static [&'static str]],
    /// Its targets are secrets (tokens), not ids: shown by their fingerprint.
    pub secret_targets: bool,
}

/// Where a [`Credentials::Tokens`] command's credentials come from, in words (`--dry-run`,
/// `revoke config`).
pub const TOKENS_ARE_CREDENTIALS: &str = "the tokens themselves (each is its own credential)";

/// Where a command's credentials come from.
#[derive(Debug, Clone, Copy)]
pub enum Credentials {
    /// One secret: an environment variable, a `--*-file`, a `*-command` or a private file.
    Secret(SecretKeys),
    /// A Tencent Cloud API key pair (environment, else tccli's profile file).
    Tencent,
    /// A Huawei Cloud access key pair (environment, else the SDK's credentials file).
    Huawei,
    /// None beyond the targets: each token is its own credential.
    Tokens,
    /// A secret as [`Credentials::Secret`], or none for a public client (oauth's
    /// `--client-auth none`): whether a run needs one depends on its other settings (oauth's
    /// rule, `crate::settings::oauth::secret_need_of`, which `revoke config` asks too).
    SecretOrPublic(SecretKeys),
}

impl Descriptor {
    /// The environment variables that hold its secrets (registered with the scrubber before
    /// anything else happens).
    pub fn secret_variables(&'static self) -> &'static [&'static str] {
        match &self.credentials {
            Credentials::Secret(keys) | Credentials::SecretOrPublic(keys) => {
                std::slice::from_ref(&keys.env)
            }
            Credentials::Tencent => &[
                "TENCENTCLOUD_SECRET_ID",
                "TENCENTCLOUD_SECRET_KEY",
                "TENCENTCLOUD_TOKEN",
            ],
            Credentials::Huawei => &[
                "HUAWEICLOUD_SDK_AK",
                "HUAWEICLOUD_SDK_SK",
                "HUAWEICLOUD_SDK_SECURITY_TOKEN",
            ],
            Credentials::Tokens => &[],
        }
    }

    /// Its `--*-secret-file` flag, if it has one.
    pub fn secret_file_flag(&self) -> Option<&'static str> {
        match self.credentials {
            Credentials::Secret(keys) | Credentials::SecretOrPublic(keys) => Some(keys.flag),
            _ => None,
        }
    }
}

/// A secret a command reads: a file flag, plus the keys a file may use instead.
#[derive(Debug, Clone, Copy)]
pub struct SecretKeys {
    /// What the secret is, in messages (`library secret`).
    pub what: &'static str,
    /// The environment variable that holds it.
    pub env: &'static str,
    /// Clap's id of the `--*-file` flag.
    pub file_id: &'static str,
    /// The flag, as the user types it.
    pub flag: &'static str,
    /// `library-secret-file`.
    pub file_key: &'static str,
    /// `library-secret-command`: the command's standard output is the secret.
    pub command_key: &'static str,
    /// `library-secret`: the secret itself, only in a file other users cannot read.
    pub inline_key: &'static str,
}

impl SecretKeys {
    /// The keys of which a table may set only one.
    pub fn keys(&self) -> [&'static str; 3] {
        [self.file_key, self.command_key, self.inline_key]
    }
}

/// An environment variable a command reads (besides the options' own, which clap knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    /// The variables, read together.
    pub names: &'static [&'static str],
    pub meaning: &'static str,
}

/// What every command with a [`Credentials::Secret`] reads too.
pub const SECRET_SOURCES_ENV: [EnvVar; 2] = [
    EnvVar {
        names: &["REVOKE_ALLOW_OPEN_SECRET_FILES"],
        meaning: "set to 1 to accept a --*-secret-file that other users can read",
    },
    EnvVar {
        names: &["REVOKE_SECRET_COMMAND_TIMEOUT"],
        meaning: "seconds a *-command may run before it is killed (default 30)",
    },
];

/// `HOME`, for the commands that read a file under `~/`.
pub const HOME: EnvVar = EnvVar {
    names: &["HOME"],
    meaning: "where ~/.tccli/ and ~/.huaweicloud/ are looked for",
};

/// Something a run needs: an option, or one of several.
#[derive(Debug, Clone, Copy)]
pub enum Required {
    /// `--library-id ID`: the run says "--library-id is required: pass --library-id ID, or
    /// set library-id in a [smh.CONTEXT] table of the config file".
    Flag {
        flag: &'static str,
        value: &'static str,
    },
    /// One of these keys (`domain`, `endpoint`), with the run's message when none is set.
    OneOf {
        keys: &'static [&'static str],
        message: &'static str,
    },
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

/// A token must fit in a header and a form without change: no whitespace, no control
/// characters, nothing invisible ([`invisible`]). The token itself is never part of the message.
pub fn check_token(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a token cannot contain whitespace or control characters".into());
    }
    invisible(s, "a token")
}

/// An id must not hold control characters (they cannot be sent in a URL or header). Unlike a
/// token, an id may hold any other character: the APIs take any Unicode text as a page, user
/// or token id (an emoji's zero-width joiner included), and the vendors' SDKs send it as given.
pub fn check_id(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_control()) {
        return Err("an id cannot contain control characters".into());
    }
    Ok(())
}

/// A character that shows as nothing and is never part of a token: a byte-order mark
/// inside a file (files saved by Notepad and joined with `cat`), a zero-width space or joiner
/// (copied from a web page or a chat), a soft hyphen, a bidirectional mark. Sent as it is, the
/// target is another one, which an RFC 7009 server answers as revoked.
fn invisible(s: &str, what: &str) -> Result<(), String> {
    let Some(c) = s.chars().find(|c| {
        matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    }) else {
        return Ok(());
    };
    let name = match c {
        '\u{feff}' => " (a byte-order mark: files joined together?)",
        '\u{200b}'..='\u{200d}' | '\u{2060}' => " (a zero-width character)",
        _ => "",
    };
    Err(format!(
        "{what} cannot contain the invisible character U+{:04X}{name}",
        c as u32
    ))
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

/// A 2xx status. Not by itself a success: a sign-in page, a captive portal or a wrong
/// `--endpoint` answers 200 too. A revocation is `revoked` only through [`recognise`].
pub fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// What a provider's documented success looks like. Each provider states its own where it
/// reads an answer, and [`recognise`] holds the answer to it: the record's `revoked` is made
/// from a [`Recognised`] answer only, so no provider can take "any 2xx" for success.
#[derive(Debug, Clone, Copy)]
pub struct Looks {
    /// Whose success, in messages: `"an SMH success"`.
    pub what: &'static str,
    /// The statuses the API answers a success with.
    pub statuses: &'static [u16],
    pub body: Body,
}

/// The body of a documented success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// None at all (SMH: "returns HTTP 204 No Content ... Null. No response body.").
    None,
    /// None, or a JSON object with no member, which says as little (Huawei: "Status code: 200
    /// Successful", with no response parameter and "Example Response: None").
    NoneOrEmptyObject,
    /// None, or any JSON (RFC 7009 2.2: "The content of the response body is ignored by the
    /// client as all necessary information is conveyed in the response code.").
    NoneOrJson,
    /// A JSON document (CloudBase: "200 ... application/json", schema "any"; Tencent Cloud API
    /// 3.0: `{"Response": {...}}`).
    Json,
}

impl Looks {
    /// `HTTP 204 with no body`, `HTTP 200 or 204 with no body or a JSON body`.
    fn described(&self) -> String {
        let statuses: Vec<String> = self.statuses.iter().map(u16::to_string).collect();
        let body = match self.body {
            Body::None => "no body",
            Body::NoneOrEmptyObject => "no body (or {})",
            Body::NoneOrJson => "no body or a JSON body",
            Body::Json => "a JSON body",
        };
        format!("HTTP {} with {body}", statuses.join(" or "))
    }
}

/// A 2xx answer that looks like the API's documented success: the only way to
/// [`Outcome::revoked`](crate::providers::Outcome::revoked). Made by [`recognise`] alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    status: u16,
    json: Option<Value>,
}

impl Recognised {
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body, when it is JSON.
    pub fn json(&self) -> Option<&Value> {
        self.json.as_ref()
    }
}

/// Holds a 2xx answer to what the API's success `looks` like. An answer that does not look like
/// it (an HTML page, a body where none is expected, JSON where the API sends none, anything
/// but JSON where it does, JSON that ends mid-document) is [`ApiError::NotTheApi`], never
/// retried: a sign-in page answers the same way every time, and no provider documents an
/// unreadable 2xx as transient (Tencent's SDK retries network errors, non-200 statuses and
/// throttling only). An answer cut off on the way (shorter than its `Content-Length`) never
/// gets here: it is a transient send error.
pub fn recognise(
    resp: &RawResponse,
    looks: &Looks,
    request_id: Option<String>,
) -> Result<Recognised, ApiError> {
    let refuse = |came: String| not_the_api(resp, looks, came, request_id.clone());
    if !looks.statuses.contains(&resp.status) {
        return Err(refuse(describe(resp)));
    }
    let body = resp.body.trim_ascii();
    if body.is_empty() {
        return match looks.body {
            Body::Json => Err(refuse("an empty body".into())),
            _ => Ok(Recognised {
                status: resp.status,
                json: None,
            }),
        };
    }
    if looks.body == Body::None {
        return Err(refuse(format!(
            "a body where none is expected: {}",
            describe(resp)
        )));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) if looks.body == Body::NoneOrEmptyObject && !m.is_empty() => {
            Err(refuse(describe(resp)))
        }
        Ok(v) if looks.body == Body::NoneOrEmptyObject && !v.is_object() => {
            Err(refuse(describe(resp)))
        }
        Ok(v) => Ok(Recognised {
            status: resp.status,
            json: Some(v),
        }),
        Err(e) if e.is_eof() && matches!(body[0], b'{' | b'[') => Err(refuse(format!(
            "JSON that ends mid-document ({} bytes)",
            body.len()
        ))),
        Err(_) => Err(refuse(describe(resp))),
    }
}

/// The error for a 2xx answer that is not the API's success: what success looks like, and
/// what `came` instead.
pub fn not_the_api(
    resp: &RawResponse,
    looks: &Looks,
    came: String,
    request_id: Option<String>,
) -> ApiError {
    ApiError::NotTheApi {
        http_status: resp.status,
        message: format!(
            "HTTP {}, but not {} ({}): {came}; is the endpoint the API?",
            resp.status,
            looks.what,
            looks.described()
        ),
        request_id,
    }
}

/// What an answer is, in a few words, for a message: `an HTML page titled "Sign in"`, `a JSON
/// object`, `12 bytes of text/plain`. The server's words in it are bounded here and scrubbed
/// and escaped where they are printed.
pub fn describe(resp: &RawResponse) -> String {
    let body = resp.body.trim_ascii();
    let content_type = resp
        .header("content-type")
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_string())
        .filter(|t| !t.is_empty());
    if body.is_empty() {
        return format!("HTTP {} with no body", resp.status);
    }
    if is_html(body) {
        return match title(body) {
            Some(t) => format!("an HTML page titled {t:?}"),
            None => "an HTML page".into(),
        };
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return match v {
            Value::Object(m) if m.is_empty() => "an empty JSON object".into(),
            Value::Object(_) => "a JSON object".into(),
            Value::Array(_) => "a JSON array".into(),
            _ => "a JSON value".into(),
        };
    }
    format!(
        "{} bytes of {}",
        resp.body.len(),
        content_type
            .as_deref()
            .unwrap_or("something that is not JSON")
    )
}

/// Whether a body is an HTML (or XML) page: it opens with a tag.
fn is_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    head.starts_with('<')
        && ["<!doctype", "<html", "<head", "<body", "<title", "<?xml"]
            .iter()
            .any(|t| head.contains(t))
}

/// The text of an HTML page's `<title>`, whitespace collapsed, scrubbed, at most 80 characters
/// of whole words.
fn title(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned();
    let lower = head.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let text: Vec<&str> = head[start..end].split_whitespace().collect();
    // Scrubbed before it is cut: a secret cut at the bound is no longer recognised, and its
    // head would be shown. The request's own secrets (a `Basic` value, a signature) are
    // scrubbed only later, with the request's error: the cut keeps whole words, so that no
    // head of one is left either.
    let text = crate::secret::Redactor::global()
        .scrub(&text.join(" "))
        .into_owned();
    if text.is_empty() {
        return None;
    }
    Some(whole_words(&text, 80))
}

/// `text` (words separated by single spaces) cut to at most `max` characters of whole words,
/// with `...` where words were left out.
fn whole_words(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in text.split(' ') {
        let more = word.chars().count() + usize::from(len > 0);
        if len + more > max {
            out.push_str(if len > 0 { " ..." } else { "..." });
            break;
        }
        if len > 0 {
            out.push(' ');
        }
        out.push_str(word);
        len += more;
    }
    out
}

/// A 404 or 405: what a wrong `--endpoint` answers (no such path, not this method). For a
/// request to which the API documents no such answer, it shows the endpoint is not the API.
pub fn wrong_place(status: u16) -> bool {
    matches!(status, 404 | 405)
}

/// `e`, of kind [`ErrorKind::NotTheApi`]: an answer the API never gives to this request.
pub fn not_the_api_kind(e: ApiError) -> ApiError {
    match e {
        ApiError::Service {
            http_status,
            code,
            message,
            request_id,
            retry_after,
            ..
        } => ApiError::Service {
            http_status,
            code,
            message,
            request_id,
            kind: ErrorKind::NotTheApi,
            retry_after,
        },
        ApiError::Unreadable {
            http_status,
            message,
            request_id,
            retry_after,
            ..
        } => ApiError::Unreadable {
            http_status,
            message,
            request_id,
            kind: ErrorKind::NotTheApi,
            retry_after,
        },
        other => other,
    }
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

    const NO_BODY: Looks = Looks {
        what: "a success",
        statuses: &[204],
        body: Body::None,
    };
    const JSON: Looks = Looks {
        what: "a success",
        statuses: &[200],
        body: Body::Json,
    };
    const EMPTY: Looks = Looks {
        what: "a success",
        statuses: &[200],
        body: Body::NoneOrEmptyObject,
    };
    const EMPTY_OR_JSON: Looks = Looks {
        what: "a success",
        statuses: &[200],
        body: Body::NoneOrJson,
    };

    fn code(looks: &Looks, status: u16, body: &str) -> String {
        match recognise(&answer(status, &[], body), looks, None) {
            Ok(_) => "ok".into(),
            Err(e) => e.code(),
        }
    }

    #[test]
    fn only_what_looks_like_the_success_is_recognised() {
        let page =
            "<!DOCTYPE html><html><head><title>\n Sign in -\tCorp SSO </title></head></html>";
        for (looks, status, body, want) in [
            (&NO_BODY, 204, "", "ok"),
            (&NO_BODY, 204, " \r\n", "ok"),
            (&NO_BODY, 200, "", "NotTheApi"),
            (&NO_BODY, 204, "{}", "NotTheApi"),
            (&NO_BODY, 204, page, "NotTheApi"),
            (&JSON, 200, "{}", "ok"),
            (&JSON, 200, "[1]", "ok"),
            (&JSON, 200, "", "NotTheApi"),
            (&JSON, 200, page, "NotTheApi"),
            (&JSON, 200, "OK", "NotTheApi"),
            (&JSON, 200, r#"{"Response":{"Requ"#, "NotTheApi"),
            (&EMPTY, 200, "", "ok"),
            (&EMPTY, 200, "{ }", "ok"),
            (&EMPTY, 200, r#"{"a":1}"#, "NotTheApi"),
            (&EMPTY, 200, "[]", "NotTheApi"),
            (&EMPTY_OR_JSON, 200, "", "ok"),
            (&EMPTY_OR_JSON, 200, r#"{"a":1}"#, "ok"),
            (&EMPTY_OR_JSON, 200, page, "NotTheApi"),
            (&EMPTY_OR_JSON, 202, "", "NotTheApi"),
        ] {
            assert_eq!(code(looks, status, body), want, "{status} {body:?}");
        }
        let e = recognise(&answer(200, &[], page), &JSON, Some("r-1".into())).unwrap_err();
        assert_eq!(
            e.message(),
            "HTTP 200, but not a success (HTTP 200 with a JSON body): an HTML page titled \"Sign in - Corp SSO\"; is the endpoint the API?"
        );
        assert_eq!(e.request_id(), Some("r-1"));
        assert!(!e.retryable());
        let e = recognise(&answer(200, &[], r#"{"a":"#), &JSON, None).unwrap_err();
        assert!(e.message().contains("JSON that ends mid-document"), "{e}");
        assert!(
            !e.retryable(),
            "no provider documents an unreadable 2xx as transient"
        );
    }

    #[test]
    fn answers_are_described_in_a_few_bounded_words() {
        let long = format!("<html><title>{}</title></html>", "word ".repeat(100));
        assert_eq!(
            describe(&answer(200, &[], &long)),
            format!("an HTML page titled \"{}...\"", "word ".repeat(16))
        );
        // A word longer than the bound (a token, a credential) is left out whole: no head of
        // it is shown.
        let long = format!("<html><title>Sign in {}</title></html>", "x".repeat(500));
        assert_eq!(
            describe(&answer(200, &[], &long)),
            "an HTML page titled \"Sign in ...\""
        );
        assert_eq!(describe(&answer(200, &[], "<html></html>")), "an HTML page");
        assert_eq!(
            describe(&answer(
                200,
                &[("content-type", "text/plain; charset=utf-8")],
                "hello"
            )),
            "5 bytes of text/plain"
        );
        assert_eq!(describe(&answer(200, &[], "[]")), "a JSON array");
        assert_eq!(describe(&answer(204, &[], "")), "HTTP 204 with no body");
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
