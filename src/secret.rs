//! Secrets and how they are kept out of every output.
//!
//! A [`Secret`] holds a credential or a token. It has no `Display`, its `Debug` prints `***`, and
//! the only way to the value is [`Secret::expose`], which is called where a request is built.
//! Tokens are named in output by [`fingerprint`]. As a second line of defence, the process-wide
//! [`Redactor`] knows every credential of the run, the tokens of the requests in flight and, in
//! a compact index ([`targets`]), every target the run has read, and scrubs them (raw,
//! percent-encoded, form-encoded and JSON-escaped) from log lines, error messages and panic
//! messages. The secrets of the environment (credential variables, proxy
//! userinfo) and of the `--*-secret-file` files are registered before the command line is
//! parsed ([`register_environment`], `settings::secrets::register_secret_files`), so that no
//! usage error can echo one.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};

use sha2::{Digest, Sha256};

mod targets;

use self::targets::Targets;

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
///
/// Registering a credential ([`Redactor::add`]) costs the length of its variants (a set says
/// whether each is new); the matcher over all of them, an Aho-Corasick automaton, is rebuilt
/// only when a scrub comes after an addition. A scrub is then linear in the text, whatever the
/// number of secrets: one pass of the credentials' automaton, one of each request in flight
/// (built when it enters), repeated until nothing matches (see [`mask_all`]). No lock is held
/// while text is scanned or an automaton built, except the rebuild's own, which makes the
/// scrubs that need the new automaton wait for it.
#[derive(Default)]
pub struct Redactor {
    fixed: Mutex<Fixed>,
    /// The automaton over the first `len` variants of `fixed`.
    built: RwLock<Arc<Built>>,
    /// Held while the automaton is rebuilt: one rebuild at a time.
    rebuild: Mutex<()>,
    in_flight: RwLock<HashMap<u64, Arc<Needles>>>,
    /// The run's targets, every one registered ([`Redactor::add_target`]) until the run ends.
    targets: RwLock<Targets>,
}

#[derive(Default)]
struct Fixed {
    seen: HashSet<Arc<str>>,
    list: Vec<Arc<str>>,
}

#[derive(Default)]
struct Built {
    len: usize,
    needles: Needles,
}

/// One request's own secrets, ready to scrub the texts of its answer: built once, where
/// building them for each text (every string of an answer's data) cost half the bulk speed.
pub struct Extra(Needles);

impl Extra {
    pub fn new(secrets: &[&str]) -> Extra {
        Extra(Needles::of_secrets(secrets))
    }
}

/// What finds any of a set of variants, the longest of those starting leftmost (so that a
/// secret containing another is masked whole): an Aho-Corasick automaton for many (the run's
/// credentials), a list searched longest first for a few (one request's secrets, built for
/// every request: an automaton's construction cost more than the request itself, and the bulk
/// run fell from 27,000 to 7,000 requests a second).
#[derive(Default)]
enum Needles {
    #[default]
    None,
    Few(Vec<String>),
    Many(AhoCorasick),
}

/// Up to this many variants, a list.
const FEW: usize = 64;

impl Needles {
    fn new<P: AsRef<[u8]>>(patterns: &[P]) -> Needles {
        if patterns.is_empty() {
            return Needles::None;
        }
        if patterns.len() <= FEW
            && let Ok(mut few) = patterns
                .iter()
                .map(|p| String::from_utf8(p.as_ref().to_vec()))
                .collect::<Result<Vec<String>, _>>()
        {
            few.sort_by_key(|v| std::cmp::Reverse(v.len()));
            few.dedup();
            return Needles::Few(few);
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(patterns)
            // Only a set too large for the automaton's state ids (over 2^31 bytes) fails.
            .expect("the scrubber's automaton");
        Needles::Many(ac)
    }

    fn of_secrets(secrets: &[&str]) -> Needles {
        let vs: Vec<String> = secrets
            .iter()
            .filter(|s| s.len() >= MIN_SCRUB_LEN)
            .flat_map(|s| variants(s))
            .collect();
        Needles::new(&vs)
    }

    fn is_some(&self) -> bool {
        !matches!(self, Needles::None)
    }

    /// `text` with each match replaced by the mask, or `None` when nothing matches. A match
    /// starts and ends on character boundaries: the variants are UTF-8, as is the text.
    fn mask(&self, text: &str) -> Option<String> {
        match self {
            Needles::None => None,
            Needles::Few(few) => {
                // Longest first: a secret containing another is replaced whole.
                let mut out: Option<String> = None;
                for v in few {
                    let cur = out.as_deref().unwrap_or(text);
                    if cur.contains(v.as_str()) {
                        out = Some(cur.replace(v.as_str(), MASK));
                    }
                }
                out
            }
            Needles::Many(ac) => {
                let mut out: Option<String> = None;
                let mut last = 0;
                for m in ac.find_iter(text) {
                    let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                    o.push_str(&text[last..m.start()]);
                    o.push_str(MASK);
                    last = m.end();
                }
                let mut o = out?;
                o.push_str(&text[last..]);
                Some(o)
            }
        }
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Needles::None => false,
            Needles::Few(few) => few.iter().any(|v| text.contains(v.as_str())),
            Needles::Many(ac) => ac.is_match(text),
        }
    }
}

/// A set of values that [`mask_all`] masks: an automaton's, or the run's targets.
trait Mask {
    /// `text` with each match replaced by the mask, or `None` when nothing matches.
    fn mask(&self, text: &str) -> Option<String>;
    fn is_match(&self, text: &str) -> bool;
}

impl Mask for Needles {
    fn mask(&self, text: &str) -> Option<String> {
        Needles::mask(self, text)
    }

    fn is_match(&self, text: &str) -> bool {
        Needles::is_match(self, text)
    }
}

impl Mask for Targets {
    fn mask(&self, text: &str) -> Option<String> {
        Targets::mask(self, text)
    }

    fn is_match(&self, text: &str) -> bool {
        Targets::is_match(self, text)
    }
}

/// The most passes [`mask_all`] makes before it gives up on the text.
const MAX_PASSES: usize = 8;

/// `text` with every match of every set masked, until none is left. One pass is not always
/// enough: a mask can complete a secret with what surrounds it (`ab` + a secret + `cd` becomes
/// `ab***cd`, itself a secret), and the sets are applied one after the other. Each pass that
/// masks shortens the text (a variant is longer than the mask); a text that still holds a match
/// after [`MAX_PASSES`] is replaced whole by the mask.
fn mask_all<'a>(text: &'a str, sets: &[&dyn Mask]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        for set in sets {
            if let Some(masked) = set.mask(&out) {
                out = Cow::Owned(masked);
                changed = true;
            }
        }
        if !changed {
            return out;
        }
    }
    if sets.iter().any(|s| s.is_match(&out)) {
        return Cow::Borrowed(MASK);
    }
    out
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

/// Secrets shorter than this are not scrubbed from free text: replacing every "a" would garble
/// output without protecting anything (such a value is no secret). They are still never printed
/// by the code paths that know them.
const MIN_SCRUB_LEN: usize = 4;

/// The forms a secret can take in text a server sends back: raw, percent-encoded and
/// form-encoded (with upper- and lower-case escapes, `%2F` and `%2f`), JSON-escaped (serde's,
/// PHP's `\/`, and every punctuation character as `\u00xx` in either case), and base64 at any
/// of the three byte alignments (as inside a `Basic` credential).
fn variants(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let pct = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let form: String = url_form(secret);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let json_slash = json.replace('/', "\\/");
    let (pct_lower, form_lower) = (lower_escapes(&pct), lower_escapes(&form));
    let mut candidates = vec![pct, form, json, json_slash, pct_lower, form_lower];
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

/// `encoded` with the hex digits of its percent escapes in lower case (`%2f`): the same octets
/// (RFC 3986 2.1), as some encoders write them.
fn lower_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex = 0;
    for c in encoded.chars() {
        if c == '%' {
            hex = 2;
            out.push(c);
        } else if hex > 0 {
            hex -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A credential's forms: those of [`variants`], and base64 of its percent- and form-encoded
/// forms, at any alignment: `Authorization: Basic` holds the form-encoded secret (RFC 6749
/// 2.3.1), and a server can send a request's body or query back in base64. Only for the run's
/// few credentials: a request's token would carry twelve more long forms into every scrub.
fn credential_variants(secret: &str) -> Vec<String> {
    let mut out = variants(secret);
    let pct = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    for encoded in [pct, url_form(secret)] {
        if encoded == secret {
            continue;
        }
        for v in base64_forms(encoded.as_bytes()) {
            if !out.contains(&v) {
                out.push(v);
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
        let vs = credential_variants(secret.expose());
        let mut fixed = lock(&self.fixed);
        for v in vs {
            let v: Arc<str> = Arc::from(v);
            if fixed.seen.insert(v.clone()) {
                fixed.list.push(v);
            }
        }
    }

    /// The automaton over every credential added so far, rebuilt first if one was added since
    /// the last build.
    fn credentials(&self) -> Arc<Built> {
        let current = read(&self.built).clone();
        if current.len == lock(&self.fixed).list.len() {
            return current;
        }
        let _one = lock(&self.rebuild);
        let current = read(&self.built).clone();
        let list = lock(&self.fixed).list.clone();
        if current.len == list.len() {
            return current;
        }
        let fresh = Arc::new(Built {
            len: list.len(),
            needles: Needles::new(&list.iter().map(|v| v.as_bytes()).collect::<Vec<_>>()),
        });
        *write(&self.built) = fresh.clone();
        fresh
    }

    /// A fresh id for [`Redactor::enter`]: unique in the process, so that the requests of a
    /// plan's steps, which run at the same time with indexes of their own, never share one.
    pub fn fresh_id() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Remember the secrets of one request while it is in flight.
    pub fn enter(&self, id: u64, secrets: &[&str]) {
        let needles = Needles::of_secrets(secrets);
        if needles.is_some() {
            write(&self.in_flight).insert(id, Arc::new(needles));
        }
    }

    pub fn leave(&self, id: u64) {
        write(&self.in_flight).remove(&id);
    }

    /// Remember a target (a token to revoke) for the rest of the run, in the forms a server
    /// quotes it in ([`target_forms`]): any answer, log line or message of the run can quote an
    /// earlier target, after its own request has left. Held in a compact index, not in the
    /// credentials' automaton (see [`targets`]).
    pub fn add_target(&self, target: &str) {
        if target.len() < MIN_SCRUB_LEN {
            return;
        }
        let forms = target_forms(target);
        let mut targets = write(&self.targets);
        for form in &forms {
            targets.add(form);
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let fixed = self.credentials();
        let in_flight: Vec<Arc<Needles>> = read(&self.in_flight).values().cloned().collect();
        let targets = read(&self.targets);
        let mut sets: Vec<&dyn Mask> = vec![&fixed.needles, &*targets];
        sets.extend(in_flight.iter().map(|n| &**n as &dyn Mask));
        mask_all(text, &sets)
    }

    /// `text` with every credential, every target and the secrets of request `id` replaced by
    /// `***`: what the sink applies to a record (cheaper than [`Redactor::scrub`] with thousands
    /// in flight).
    pub fn scrub_for(&self, id: u64, text: &str) -> String {
        let fixed = self.credentials();
        let own = read(&self.in_flight).get(&id).cloned();
        let targets = read(&self.targets);
        let mut sets: Vec<&dyn Mask> = vec![&fixed.needles, &*targets];
        sets.extend(own.as_deref().map(|n| n as &dyn Mask));
        mask_all(text, &sets).into_owned()
    }

    /// `text` with the given per-target secrets and every known secret replaced by `***`.
    pub fn scrub_with(&self, text: &str, extra: &[&str]) -> String {
        self.scrub_extra(text, &Extra::new(extra))
    }

    /// The same with the per-target secrets' automaton built once ([`Extra`]), for the many
    /// texts of one answer.
    pub fn scrub_extra(&self, text: &str, extra: &Extra) -> String {
        let fixed = self.credentials();
        let in_flight: Vec<Arc<Needles>> = read(&self.in_flight).values().cloned().collect();
        let targets = read(&self.targets);
        let mut sets: Vec<&dyn Mask> = vec![&fixed.needles, &*targets];
        sets.extend(in_flight.iter().map(|n| &**n as &dyn Mask));
        sets.push(&extra.0);
        mask_all(text, &sets).into_owned()
    }
}

/// The forms of a target held for the whole run: raw, percent-encoded (every byte but letters
/// and digits, as [`variants`] does), form-encoded (and with its escapes in lower case, `%2f`,
/// as some encoders write them), JSON-escaped (serde's and PHP's `\/`). Not the `\u00xx` and
/// base64 forms of [`variants`]: a server quoting another target's token quotes it as sent
/// (form-encoded) or in its JSON, and each extra form is held for every target. A token of
/// letters, digits and `-._` (a JWT) is its own form-encoded form: the lower-case one costs
/// nothing there.
fn target_forms(target: &str) -> Vec<String> {
    let pct = percent_encoding::utf8_percent_encode(target, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let json = serde_json::to_string(target).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    let json_slash = json.replace('/', "\\/");
    let form = url_form(target);
    let form_lower = lower_escapes(&form);
    let mut out = vec![target.to_string()];
    for v in [pct, form, form_lower, json, json_slash] {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
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
    fn percent_escapes_in_lower_case_are_scrubbed_too() {
        // RFC 3986 2.1: `%2f` and `%2F` are the same octet; some encoders write lower case.
        let r = Redactor::default();
        r.add(&Secret::new("ab/cd+ef=gh"));
        r.add_target("target/token+1==");
        assert_eq!(
            r.scrub("a ab%2fcd%2bef%3dgh b ab%2Fcd%2Bef%3Dgh"),
            "a *** b ***"
        );
        assert_eq!(
            r.scrub("token=target%2ftoken%2b1%3d%3d&x=1"),
            "token=***&x=1"
        );
    }

    #[test]
    fn base64_of_a_form_encoded_secret_is_scrubbed() {
        // `Authorization: Basic` carries the form-encoded secret (RFC 6749 2.3.1), and a server
        // can send back the request body, where it is form-encoded too, in base64.
        use base64::Engine as _;
        let r = Redactor::default();
        r.add(&Secret::new("ab/cd.ef=gh"));
        for prefix in ["", "i:", "id:", "client_id=x&client_secret="] {
            for (what, form) in [
                ("form", "ab%2Fcd.ef%3Dgh"),
                ("percent", "ab%2Fcd%2Eef%3Dgh"),
            ] {
                let b64 =
                    base64::engine::general_purpose::STANDARD.encode(format!("{prefix}{form}"));
                let cleaned = r.scrub(&b64).into_owned();
                assert!(
                    cleaned.contains(MASK),
                    "{what} {prefix}: {b64} -> {cleaned}"
                );
            }
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
    fn targets_are_masked_by_every_scrub_in_the_forms_a_server_quotes() {
        let r = Redactor::default();
        r.add_target("target-token/one+1");
        r.add_target("abc");
        let text = r#"a target-token/one+1 b target-token%2Fone%2B1 c target-token\/one+1 abc"#;
        let masked = "a *** b *** c *** abc";
        assert_eq!(r.scrub(text), masked);
        assert_eq!(r.scrub_for(9, text), masked);
        assert_eq!(r.scrub_with(text, &[]), masked);
        // Form-encoded as a request body sends it.
        assert_eq!(r.scrub("token=target-token%2Fone%2B1"), "token=***");
        // A target that a credential's mask completes, and the other way round.
        r.add(&Secret::new("credential-x"));
        r.add_target("ab***cd-target");
        let out = r.scrub("abcredential-xcd-target").into_owned();
        assert!(!out.contains("ab***cd-target"), "{out}");
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
    fn a_secret_that_a_mask_completes_is_masked_too() {
        // `ab***cd` is a secret; masking the other one in `abXYZWcd` writes it.
        let r = Redactor::default();
        r.add(&Secret::new("ab***cd"));
        r.add(&Secret::new("XYZW-secret"));
        let out = r.scrub("1 abXYZW-secretcd 2").into_owned();
        assert!(!out.contains("ab***cd"), "{out}");
        // The same across the sets: a credential completed by a request's secret, and by one
        // of `scrub_with`'s.
        r.enter(3, &["in-flight-secret"]);
        let out = r.scrub("abin-flight-secretcd").into_owned();
        assert!(!out.contains("ab***cd"), "{out}");
        let out = r.scrub_with("abextra-secretcd", &["extra-secret"]);
        assert!(!out.contains("ab***cd"), "{out}");
        let out = r.scrub_for(3, "abin-flight-secretcd");
        assert!(!out.contains("ab***cd"), "{out}");
    }

    #[test]
    fn masks_nested_deeper_than_the_passes_mask_the_whole_text() {
        // `<k***k>` is a secret at each level k: each pass unwraps one level.
        let nested = |levels: usize| {
            let r = Redactor::default();
            r.add(&Secret::new("XYZW-secret"));
            let mut inner = "XYZW-secret".to_string();
            for k in 1..levels {
                r.add(&Secret::new(format!("<{k}***{k}>")));
                inner = format!("<{k}{inner}{k}>");
            }
            r.scrub(&format!("pre {inner} post")).into_owned()
        };
        assert_eq!(nested(MAX_PASSES), "pre *** post");
        assert_eq!(nested(MAX_PASSES + 1), MASK);
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let r = Redactor::default();
        r.add(&Secret::new("inner-secret"));
        r.add(&Secret::new("outer-inner-secret-tail"));
        assert_eq!(
            r.scrub("x outer-inner-secret-tail y inner-secret z"),
            "x *** y *** z"
        );
    }

    #[test]
    fn credentials_added_after_a_scrub_are_scrubbed() {
        let r = Redactor::default();
        r.add(&Secret::new("first-secret"));
        assert_eq!(r.scrub("first-secret second-secret"), "*** second-secret");
        r.add(&Secret::new("second-secret"));
        r.add(&Secret::new("second-secret"));
        assert_eq!(r.scrub("first-secret second-secret"), "*** ***");
    }

    #[test]
    fn scrubs_from_many_threads_while_secrets_are_added() {
        let r = Arc::new(Redactor::default());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        let s = format!("thread-{t}-secret-{i}");
                        r.add(&Secret::new(s.clone()));
                        let out = r.scrub(&format!("<{s}>")).into_owned();
                        assert_eq!(out, "<***>");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Few characters, '*' among them, so that secrets overlap, contain one another and
        /// can be completed by a mask.
        fn piece() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[ab*/ é]{0,4}").unwrap()
        }

        fn secret() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[ab*/é]{4,9}").unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn no_registered_variant_survives(
                secrets in proptest::collection::vec(secret(), 1..6),
                parts in proptest::collection::vec(
                    (any::<prop::sample::Index>(), any::<prop::sample::Index>(), piece(), any::<bool>()),
                    0..12,
                ),
                split in 0usize..3,
            ) {
                let r = Redactor::default();
                let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
                // Some secrets as credentials, some in flight, some as scrub_with's extras.
                let (fixed, rest) = refs.split_at(refs.len().min(split + 1));
                let (flying, extra) = rest.split_at(rest.len() / 2);
                for s in fixed {
                    r.add(&Secret::new(*s));
                }
                r.enter(1, flying);
                let all: Vec<String> = refs.iter().flat_map(|s| variants(s)).collect();
                let mut text = String::new();
                for (which, cut, filler, wrap) in &parts {
                    let v = &all[which.index(all.len())];
                    if let Some(at) = v.find(MASK).filter(|_| *wrap) {
                        // Around another variant, where the mask of that one would complete it.
                        text.push_str(&v[..at]);
                        text.push_str(&all[cut.index(all.len())]);
                        text.push_str(&v[at + MASK.len()..]);
                        text.push_str(filler);
                        continue;
                    }
                    // Whole, or a prefix of it, so that occurrences overlap and abut.
                    let end = cut.index(v.len() + 1).max(v.len() / 2);
                    let end = (end..=v.len()).find(|e| v.is_char_boundary(*e)).unwrap();
                    text.push_str(&v[..end]);
                    text.push_str(filler);
                }
                let out = r.scrub_with(&text, extra);
                for v in all.iter().filter(|v| v.len() >= MIN_SCRUB_LEN) {
                    prop_assert!(!out.contains(v.as_str()), "{v:?} in {out:?} (from {text:?})");
                }
            }
        }
    }

    #[test]
    fn short_values_are_not_scrubbed_from_free_text() {
        let r = Redactor::default();
        r.add(&Secret::new("ab"));
        assert_eq!(r.scrub("abc"), "abc");
    }
}
