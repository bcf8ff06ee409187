//! Secrets and how they are kept out of every output.
//!
//! A [`Secret`] holds a credential or a token. It has no `Display`, its `Debug` prints `***`, and
//! the only way to the value is [`Secret::expose`], which is called where a request is built.
//! Tokens are named in output by [`fingerprint`]. As a second line of defence, the process-wide
//! [`Redactor`] knows every credential of the run and the tokens of the requests in flight, and
//! scrubs them (raw, percent-encoded, form-encoded and JSON-escaped) from log lines, error
//! messages and panic messages. The secrets of the environment (credential variables, proxy
//! userinfo) and of the `--*-secret-file` files are registered before the command line is
//! parsed ([`register_environment`], `settings::secrets::register_secret_files`), so that no
//! usage error can echo one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

/// What a secret is shown as, everywhere.
pub const MASK: &str = "***";

/// A secret value: a key, a library or client secret, a token, a signature.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The value itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Clap parses secret arguments (tokens) straight into a `Secret`: they are never a `String`
/// in a `Debug` struct.
impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `sha256:` and the first 12 hex digits of the SHA-256 of the token (the contract's fingerprint).
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("sha256:{}", &hex::encode(&digest[..6]))
}

/// A longer fingerprint (128 bits) for the journal, where 48 bits would collide across a million
/// tokens. Still one-way: the token cannot be recovered from it.
pub fn long_fingerprint(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    format!("sha256:{}", &hex::encode(&digest[..16]))
}

/// Scrubs known secret values from text before it reaches any output.
#[derive(Default)]
pub struct Redactor {
    fixed: Mutex<Vec<String>>,
    in_flight: Mutex<HashMap<u64, Vec<String>>>,
}

/// Secrets shorter than this are not scrubbed from free text: replacing every "a" would garble
/// output without protecting anything (such a value is no secret). They are still never printed
/// by the code paths that know them.
const MIN_SCRUB_LEN: usize = 4;

/// The forms a secret can take in text a server sends back: raw, percent-encoded, form-encoded,
/// JSON-escaped (serde's, PHP's `\/`, and every punctuation character as `\u00xx` in either
/// case), and base64 at any of the three byte alignments (as inside a `Basic` credential).
fn variants(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let pct = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let form: String = url_form(secret);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let json_slash = json.replace('/', "\\/");
    let mut candidates = vec![pct, form, json, json_slash];
    for upper in [false, true] {
        let mut esc = String::new();
        for c in secret.chars() {
            if c.is_ascii_alphanumeric() {
                esc.push(c);
            } else if upper {
                esc.push_str(&format!("\\u{:04X}", c as u32));
            } else {
                esc.push_str(&format!("\\u{:04x}", c as u32));
            }
        }
        candidates.push(esc);
    }
    candidates.extend(base64_forms(secret.as_bytes()));
    for v in candidates {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The part of the base64 text of `secret` that does not depend on its neighbours, for each of
/// the three alignments it can have inside a longer encoded value (standard and URL alphabets).
/// Parts shorter than 8 characters are left out: they would mask innocent text.
fn base64_forms(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for shift in 0..3usize {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(secret);
        let skip = (8 * shift).div_ceil(6);
        let whole = (8 * bytes.len()) / 6;
        for engine in [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let text = engine.encode(&bytes);
            if whole > skip + 8 {
                out.push(text[skip..whole].to_string());
            }
        }
    }
    out
}

fn url_form(s: &str) -> String {
    reqwest::Url::parse_with_params("x:", [("k", s)])
        .map(|u| {
            u.query()
                .unwrap_or_default()
                .trim_start_matches("k=")
                .to_string()
        })
        .unwrap_or_default()
}

impl Redactor {
    /// The process-wide redactor used by logging, errors and the panic hook.
    pub fn global() -> &'static Redactor {
        static GLOBAL: OnceLock<Redactor> = OnceLock::new();
        GLOBAL.get_or_init(Redactor::default)
    }

    /// Remember a credential for the rest of the run.
    pub fn add(&self, secret: &Secret) {
        if secret.expose().len() < MIN_SCRUB_LEN {
            return;
        }
        let mut fixed = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        for v in variants(secret.expose()) {
            if !fixed.contains(&v) {
                fixed.push(v);
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        fixed.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// A fresh id for [`Redactor::enter`]: unique in the process, so that the requests of a
    /// plan's steps, which run at the same time with indexes of their own, never share one.
    pub fn fresh_id() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Remember the secrets of one request while it is in flight.
    pub fn enter(&self, id: u64, secrets: &[&str]) {
        let mut vs: Vec<String> = secrets
            .iter()
            .filter(|s| s.len() >= MIN_SCRUB_LEN)
            .flat_map(|s| variants(s))
            .collect();
        vs.sort_by_key(|v| std::cmp::Reverse(v.len()));
        if !vs.is_empty() {
            self.in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, vs);
        }
    }

    pub fn leave(&self, id: u64) {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// `text` with every known secret replaced by `***`.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let fixed = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Cow::Borrowed(text);
        for needle in fixed.iter().chain(in_flight.values().flatten()) {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), MASK));
            }
        }
        out
    }

    /// `text` with every credential and the secrets of request `id` replaced by `***`: what the
    /// sink applies to a record (cheaper than [`Redactor::scrub`] with thousands in flight).
    pub fn scrub_for(&self, id: u64, text: &str) -> String {
        let fixed = self.fixed.lock().unwrap_or_else(|e| e.into_inner());
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for needle in fixed.iter().chain(in_flight.get(&id).into_iter().flatten()) {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }

    /// `text` with the given per-target secrets and every known secret replaced by `***`.
    pub fn scrub_with(&self, text: &str, extra: &[&str]) -> String {
        let mut out = self.scrub(text).into_owned();
        for s in extra.iter().filter(|s| s.len() >= MIN_SCRUB_LEN) {
            for v in variants(s) {
                if out.contains(&v) {
                    out = out.replace(&v, MASK);
                }
            }
        }
        out
    }
}

/// The proxy variables, as curl reads them: their userinfo (`http://user:pass@proxy:3128`) is
/// a credential that the proxy client sends as `Proxy-Authorization: Basic base64(user:pass)`.
pub const PROXY_VARIABLES: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Registers every secret the environment holds: the credential variables `secret_variables`
/// (each command's, from its descriptor) and the proxy credentials. Called first thing, before
/// the command line is parsed.
pub fn register_environment<'a>(
    secret_variables: impl IntoIterator<Item = &'a str>,
    var: impl Fn(&str) -> Option<String>,
) {
    let redactor = Redactor::global();
    for name in secret_variables {
        if let Some(v) = var(name) {
            for value in [v.trim(), v.as_str()] {
                redactor.add(&Secret::new(value));
            }
        }
    }
    for name in PROXY_VARIABLES {
        if let Some(v) = var(name) {
            for secret in proxy_credentials(&v) {
                redactor.add(&secret);
            }
        }
    }
}

/// The credentials in a proxy URL's userinfo, in the forms they travel in: as written (percent-
/// encoded) and decoded, the password alone and `user:password` (whose base64 is the
/// `Proxy-Authorization: Basic` value; [`Redactor::add`] adds the base64 forms).
pub fn proxy_credentials(proxy: &str) -> Vec<Secret> {
    let proxy = proxy.trim();
    let url = if proxy.contains("://") {
        proxy.to_string()
    } else {
        format!("http://{proxy}")
    };
    let Ok(url) = reqwest::Url::parse(&url) else {
        // Not a URL reqwest would use; what looks like userinfo is still kept out of output.
        return match proxy.rsplit_once('@') {
            Some((info, _)) => {
                let info = info.rsplit("://").next().unwrap_or(info);
                vec![Secret::new(info)]
            }
            None => Vec::new(),
        };
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let (user, password) = (url.username(), url.password().unwrap_or_default());
    if user.is_empty() && password.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (u, p) in [
        (user.to_string(), password.to_string()),
        (decode(user), decode(password)),
    ] {
        out.push(Secret::new(format!("{u}:{p}")));
        if !p.is_empty() {
            out.push(Secret::new(p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(s)), "Some(Secret(***))");
    }

    #[test]
    fn fingerprint_is_sha256_prefix() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(fingerprint("abc"), "sha256:ba7816bf8f01");
        assert_eq!(
            long_fingerprint("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223"
        );
    }

    #[test]
    fn scrubs_raw_and_encoded_forms() {
        let r = Redactor::default();
        r.add(&Secret::new("s3cr et/+=é"));
        let text = "a s3cr et/+=é b s3cr%20et%2F%2B%3D%C3%A9 c s3cr+et%2F%2B%3D%C3%A9";
        assert_eq!(r.scrub(text), "a *** b *** c ***");
        r.enter(7, &["tok-123456"]);
        assert_eq!(r.scrub("x tok-123456 y"), "x *** y");
        r.leave(7);
        assert_eq!(r.scrub("x tok-123456 y"), "x tok-123456 y");
        assert_eq!(r.scrub_with("x tok-123456 y", &["tok-123456"]), "x *** y");
    }

    #[test]
    fn scrubs_json_escaped_and_base64_forms() {
        let r = Redactor::default();
        r.add(&Secret::new("ab/cd+ef=gh"));
        assert_eq!(r.scrub(r#"{"s":"ab\/cd+ef=gh"}"#), r#"{"s":"***"}"#);
        assert_eq!(
            r.scrub(r#"x ab\u002fcd\u002bef\u003dgh y ab\u002Fcd\u002Bef\u003Dgh"#),
            "x *** y ***"
        );
        use base64::Engine as _;
        for prefix in ["", "i:", "id:", "idx:"] {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{prefix}ab/cd+ef=gh"));
            let cleaned = r.scrub(&basic).into_owned();
            assert!(cleaned.contains(MASK), "{prefix}: {basic} -> {cleaned}");
        }
    }

    #[test]
    fn scrub_for_uses_credentials_and_one_request_only() {
        let r = Redactor::default();
        r.add(&Secret::new("credential-1"));
        r.enter(1, &["token-one"]);
        r.enter(2, &["token-two"]);
        assert_eq!(
            r.scrub_for(1, "credential-1 token-one token-two"),
            "*** *** token-two"
        );
    }

    #[test]
    fn proxy_credentials_in_every_form() {
        use base64::Engine as _;
        let r = Redactor::default();
        for s in proxy_credentials("http://bob:s3cr%40t-pw@127.0.0.1:3128") {
            r.add(&s);
        }
        let basic = base64::engine::general_purpose::STANDARD.encode("bob:s3cr@t-pw");
        let text = format!("a bob:s3cr%40t-pw b s3cr@t-pw c Basic {basic} d");
        let cleaned = r.scrub(&text).into_owned();
        assert!(!cleaned.contains("s3cr"), "{cleaned}");
        assert!(!cleaned.contains(&basic[..basic.len() - 2]), "{cleaned}");
        assert!(proxy_credentials("http://127.0.0.1:3128").is_empty());
        let bare = proxy_credentials("alice:longpassword@proxy:8080");
        assert!(bare.iter().any(|s| s.expose() == "longpassword"));
    }

    #[test]
    fn short_values_are_not_scrubbed_from_free_text() {
        let r = Redactor::default();
        r.add(&Secret::new("ab"));
        assert_eq!(r.scrub("abc"), "abc");
    }
}
