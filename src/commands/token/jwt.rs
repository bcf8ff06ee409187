//! Is a token a JWT, and what does it say about where it comes from?
//!
//! [`classify`] reads a token as a JWS compact serialisation (RFC 7515 section 7.1): exactly
//! three parts separated by `.`, each base64url **without padding** (RFC 7515 section 2: "with
//! all trailing '=' characters omitted"; a padded part or a non-canonical last character is not
//! base64url and makes the token opaque). The header must be a JSON object, and so must the
//! payload (RFC 7519 section 7.2, step 10: the claims set is a JSON object). The signature is
//! never checked: the claims only choose where to send the token and prove nothing.
//!
//! Every size the token controls has a bound ([`MAX_TOKEN`], [`MAX_HEADER`], [`MAX_ISSUER`],
//! ...). Over a bound, invalid base64url, invalid UTF-8, invalid JSON, a part that is not an
//! object or a claim of the wrong type: the token is [`Classified::Opaque`], with a short reason
//! that never quotes the token.

use base64::Engine as _;
use serde_json::{Map, Value};

/// The longest token read as a JWT, in bytes (whole token). A longer one is opaque.
pub const MAX_TOKEN: usize = 16 * 1024;
/// The longest header part, encoded.
pub const MAX_HEADER: usize = 4 * 1024;
/// The longest `iss` claim, in bytes.
pub const MAX_ISSUER: usize = 512;
/// The longest single audience, and the most audiences kept.
pub const MAX_AUDIENCE: usize = 512;
pub const MAX_AUDIENCES: usize = 32;
/// The longest `project_id` claim.
pub const MAX_PROJECT_ID: usize = 128;
/// The longest `typ` / `cty` header parameter.
pub const MAX_TYPE: usize = 64;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A JWT whose claims could be read (signature not checked).
    Jwt(Claims),
    /// Anything else, with why it is not read as a JWT.
    Opaque(Opaque),
}

/// Why a token is not read as a JWT: a short phrase, never any of the token's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opaque {
    pub reason: String,
}

/// The claims (and header parameters) that routing and the record use. All optional: a JWT
/// need not carry any of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// `iss`, as the token has it (at most [`MAX_ISSUER`] bytes; may hold any character, so
    /// escape it before showing it).
    pub iss: Option<String>,
    /// `exp` (seconds since the epoch, RFC 7519 NumericDate, fractions dropped).
    pub exp: Option<i64>,
    /// `exp` as RFC 3339 in UTC (`2024-12-20T06:31:29Z`), for the record's `expires_at`.
    pub expires_at: Option<String>,
    /// `aud`: a string or an array of strings (RFC 7519 section 4.1.3), as a list.
    pub aud: Vec<String>,
    /// `project_id` (CloudBase names its environment here).
    pub project_id: Option<String>,
    /// The client the token was issued to: `client_id` (RFC 9068), else `azp` (OpenID
    /// Connect). `--discover` revokes as this public client.
    pub client_id: Option<String>,
    /// Header `typ` (`at+jwt` for RFC 9068 access tokens) and `cty`.
    pub typ: Option<String>,
    pub cty: Option<String>,
}

fn opaque(reason: impl Into<String>) -> Classified {
    Classified::Opaque(Opaque {
        reason: reason.into(),
    })
}

/// Classifies `token` (surrounding whitespace is not trimmed: the caller passes the target
/// as it will be sent). Total: every input gives an answer, none panics.
pub fn classify(token: &str) -> Classified {
    if token.len() > MAX_TOKEN {
        return opaque(format!("longer than {} KiB", MAX_TOKEN / 1024));
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return opaque("five parts: an encrypted JWT (JWE), whose claims cannot be read");
        }
        n => return opaque(format!("{n} parts separated by '.', a JWT has 3")),
    }
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    if header.len() > MAX_HEADER {
        return opaque(format!("header longer than {} KiB", MAX_HEADER / 1024));
    }
    let header = match object("header", header) {
        Ok(h) => h,
        Err(why) => return opaque(why),
    };
    let payload = match object("payload", payload) {
        Ok(p) => p,
        Err(why) => return opaque(why),
    };
    if decode("signature", signature).is_err() {
        return opaque("signature is not base64url");
    }
    match claims(&header, &payload) {
        Ok(c) => Classified::Jwt(c),
        Err(why) => opaque(why),
    }
}

/// The unpadded, canonical base64url engine of RFC 7515 (the base64 crate's `URL_SAFE_NO_PAD`
/// refuses `=` and non-zero trailing bits).
fn decode(what: &str, part: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("{what} is not base64url (unpadded)"))
}

fn object(what: &str, part: &str) -> Result<Map<String, Value>, String> {
    if part.is_empty() {
        return Err(format!("{what} is empty"));
    }
    let bytes = decode(what, part)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{what} is not UTF-8"))?;
    // serde_json's error messages can quote the input: only its category is kept.
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("{what} is not a JSON object")),
        Err(_) => Err(format!("{what} is not JSON")),
    }
}

/// A string claim, at most `max` bytes, or absent. A claim of another type is an error: a
/// token that does not follow RFC 7519 is not trusted to say where it comes from.
fn string(map: &Map<String, Value>, name: &str, max: usize) -> Result<Option<String>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > max => Err(format!("{name} longer than {max} bytes")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

fn claims(header: &Map<String, Value>, payload: &Map<String, Value>) -> Result<Claims, String> {
    let iss = string(payload, "iss", MAX_ISSUER)?;
    let project_id = string(payload, "project_id", MAX_PROJECT_ID)?;
    // Bounded like an audience: a client id is one.
    let client_id = match string(payload, "client_id", MAX_AUDIENCE)? {
        Some(id) => Some(id),
        None => string(payload, "azp", MAX_AUDIENCE)?,
    };
    let typ = string(header, "typ", MAX_TYPE)?;
    let cty = string(header, "cty", MAX_TYPE)?;
    let aud = match payload.get("aud") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(_)) => vec![string(payload, "aud", MAX_AUDIENCE)?.unwrap_or_default()],
        Some(Value::Array(list)) if list.len() > MAX_AUDIENCES => {
            return Err(format!("aud holds more than {MAX_AUDIENCES} audiences"));
        }
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for a in list {
                match a {
                    Value::String(s) if s.len() <= MAX_AUDIENCE => out.push(s.clone()),
                    Value::String(_) => {
                        return Err(format!("an audience longer than {MAX_AUDIENCE} bytes"));
                    }
                    _ => return Err("aud holds something other than strings".into()),
                }
            }
            out
        }
        Some(_) => return Err("aud is neither a string nor an array".into()),
    };
    let (exp, expires_at) = match payload.get("exp") {
        None | Some(Value::Null) => (None, None),
        Some(v) => {
            let secs = numeric_date(v).ok_or("exp is not a NumericDate")?;
            (
                Some(secs),
                Some(rfc3339(secs).ok_or("exp is out of range")?),
            )
        }
    };
    Ok(Claims {
        iss,
        exp,
        expires_at,
        aud,
        project_id,
        client_id,
        typ,
        cty,
    })
}

/// RFC 7519 section 2: "A JSON numeric value representing the number of seconds from
/// 1970-01-01T00:00:00Z UTC ... ignoring leap seconds"; non-integer values are allowed (the
/// fraction is dropped here).
fn numeric_date(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // Whole seconds within i64; chrono checks the calendar range.
    (f.is_finite() && f.abs() < 9.0e15).then(|| f.trunc() as i64)
}

/// `None` outside years 0000 to 9999: RFC 3339's year is four digits, and chrono would write
/// `+10000-01-01T00:00:00Z`, which no RFC 3339 reader of the record takes.
fn rfc3339(secs: i64) -> Option<String> {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(secs, 0)
        .filter(|t| (0..=9999).contains(&t.year()))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CLOUDBASE: &str =
        include_str!("../../../tests/fixtures/cloudbase/example_access_token.txt");

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn jwt(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    fn reason(c: Classified) -> String {
        match c {
            Classified::Opaque(o) => o.reason,
            Classified::Jwt(c) => panic!("read as a JWT: {c:?}"),
        }
    }

    /// The documented CloudBase access token (seed 002) decodes to the claims the reference
    /// notes list: an `http://` issuer naming the environment and region, `aud` and
    /// `project_id` naming the environment, `exp` 1734675889.
    #[test]
    fn the_documented_cloudbase_token_is_read() {
        let Classified::Jwt(c) = classify(CLOUDBASE.trim()) else {
            panic!("the seed's token is a JWT")
        };
        assert_eq!(
            c.iss.as_deref(),
            Some("http://lowcode-5g9ac20u2a27da46.ap-shanghai.tcb-api.tencentcloudapi.com")
        );
        assert_eq!(c.aud, ["lowcode-5g9ac20u2a27da46"]);
        assert_eq!(c.project_id.as_deref(), Some("lowcode-5g9ac20u2a27da46"));
        assert_eq!(c.exp, Some(1734675889));
        assert_eq!(c.expires_at.as_deref(), Some("2024-12-20T06:24:49Z"));
        assert_eq!(c.typ, None);
    }

    #[test]
    fn claims_and_header_parameters_are_kept() {
        let t = jwt(
            r#"{"alg":"RS256","typ":"at+jwt","cty":"JWT"}"#,
            r#"{"iss":"https://idp.example","aud":["a","b"],"exp":1.9e9}"#,
        );
        let Classified::Jwt(c) = classify(&t) else {
            panic!()
        };
        assert_eq!(c.iss.as_deref(), Some("https://idp.example"));
        assert_eq!(c.aud, ["a", "b"]);
        assert_eq!(c.exp, Some(1_900_000_000));
        assert_eq!(c.expires_at.as_deref(), Some("2030-03-17T17:46:40Z"));
        assert_eq!(c.typ.as_deref(), Some("at+jwt"));
        assert_eq!(c.cty.as_deref(), Some("JWT"));
        // No claim at all is still a JWT.
        assert_eq!(
            classify(&jwt("{}", "{}")),
            Classified::Jwt(Claims::default())
        );
    }

    #[test]
    fn what_is_not_a_jwt_is_opaque_with_a_short_reason() {
        let cases = [
            (
                "opaque-token-1234".to_string(),
                "1 parts separated by '.', a JWT has 3",
            ),
            (
                "a.b.c.d.e".into(),
                "five parts: an encrypted JWT (JWE), whose claims cannot be read",
            ),
            (
                format!("{}==.{}.{}", b64("{}"), b64("{}"), b64("s")),
                "header is not base64url (unpadded)",
            ),
            (format!(".{}.s", b64("{}")), "header is empty"),
            (
                format!("{}.{}.s", b64("[1]"), b64("{}")),
                "header is not a JSON object",
            ),
            (
                format!("{}.{}.s", b64("{}"), b64("\"x\"")),
                "payload is not a JSON object",
            ),
            (
                format!("{}.{}.s", b64("{"), b64("{}")),
                "header is not JSON",
            ),
            (format!("{}.{}.s", b64("{}"), "_w"), "payload is not UTF-8"),
            (
                format!("{}.{}.s*", b64("{}"), b64("{}")),
                "signature is not base64url",
            ),
            (jwt("{}", r#"{"iss":1}"#), "iss is not a string"),
            (
                jwt("{}", r#"{"aud":{}}"#),
                "aud is neither a string nor an array",
            ),
            (
                jwt("{}", r#"{"aud":[1]}"#),
                "aud holds something other than strings",
            ),
            (jwt("{}", r#"{"exp":"soon"}"#), "exp is not a NumericDate"),
            (jwt("{}", r#"{"exp":1e300}"#), "exp is not a NumericDate"),
            (
                jwt("{}", r#"{"exp":9000000000000000}"#),
                "exp is out of range",
            ),
            // RFC 3339's year is four digits: year 10000 and year -1 cannot be written.
            (jwt("{}", r#"{"exp":253402300800}"#), "exp is out of range"),
            (jwt("{}", r#"{"exp":-62167219201}"#), "exp is out of range"),
            (jwt(r#"{"typ":7}"#, "{}"), "typ is not a string"),
        ];
        for (token, want) in cases {
            assert_eq!(reason(classify(&token)), want, "{token}");
        }
        // An empty signature part is base64url of nothing (`alg: none`): still a JWT.
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64("{}"));
        assert!(matches!(classify(&unsigned), Classified::Jwt(_)));
    }

    #[test]
    fn every_bound_makes_a_token_opaque() {
        let long_iss = format!(r#"{{"iss":"https://{}"}}"#, "a".repeat(MAX_ISSUER));
        assert_eq!(
            reason(classify(&jwt("{}", &long_iss))),
            "iss longer than 512 bytes"
        );
        let iss = format!(r#"{{"iss":"https://{}"}}"#, "a".repeat(MAX_ISSUER - 8));
        assert!(matches!(classify(&jwt("{}", &iss)), Classified::Jwt(_)));
        let many = format!(r#"{{"aud":[{}"x"]}}"#, r#""a","#.repeat(MAX_AUDIENCES));
        assert_eq!(
            reason(classify(&jwt("{}", &many))),
            "aud holds more than 32 audiences"
        );
        let header = format!(r#"{{"kid":"{}"}}"#, "k".repeat(MAX_HEADER));
        assert_eq!(
            reason(classify(&jwt(&header, "{}"))),
            "header longer than 4 KiB"
        );
        let big = format!(r#"{{"pad":"{}"}}"#, "p".repeat(MAX_TOKEN));
        assert_eq!(reason(classify(&jwt("{}", &big))), "longer than 16 KiB");
        let pid = format!(r#"{{"project_id":"{}"}}"#, "e".repeat(MAX_PROJECT_ID + 1));
        assert_eq!(
            reason(classify(&jwt("{}", &pid))),
            "project_id longer than 128 bytes"
        );
    }

    #[test]
    fn a_reason_never_quotes_the_token() {
        let secret = "SECRETVALUE";
        for token in [
            jwt("{}", &format!(r#"{{"iss":{secret}}}"#)),
            jwt(&format!(r#"{{"typ":"{secret}"#), "{}"),
            format!("{secret}.{secret}.{secret}"),
        ] {
            let r = reason(classify(&token));
            assert!(!r.contains(secret) && !r.contains(&b64(secret)[..8]), "{r}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any text as a token: no panic, and a JWT only when it has three parts.
        #[test]
        fn any_text_is_classified(token in "\\PC{0,64}|[A-Za-z0-9_\\-]{0,40}\\.[A-Za-z0-9_\\-]{0,40}\\.[A-Za-z0-9_\\-]{0,10}") {
            if let Classified::Jwt(_) = classify(&token) {
                prop_assert_eq!(token.split('.').count(), 3);
            }
        }

        /// JSON-ish headers and payloads of every shape, encoded: no panic, and whatever is
        /// kept is within its bound.
        #[test]
        fn any_json_parts_respect_the_bounds(
            header in prop_oneof![Just("{}".to_string()), "\\PC{0,40}", "\\{\"(typ|cty|alg)\":(\"\\PC{0,80}\"|[0-9]{1,3}|null|\\[\\])\\}"],
            payload in prop_oneof![
                "\\PC{0,40}",
                "\\{\"(iss|aud|exp|project_id)\":(\"\\PC{0,600}\"|-?[0-9]{1,22}(\\.[0-9]{1,3})?(e[0-9]{1,3})?|\\[(\"[a-z]{0,3}\",){0,40}\"x\"\\]|null|true|\\{\\})\\}",
            ],
            sig in "[A-Za-z0-9_\\-=+/]{0,12}",
        ) {
            let token = format!("{}.{}.{}", b64(&header), b64(&payload), sig);
            if let Classified::Jwt(c) = classify(&token) {
                prop_assert!(c.iss.as_ref().is_none_or(|s| s.len() <= MAX_ISSUER));
                prop_assert!(c.aud.len() <= MAX_AUDIENCES);
                prop_assert!(c.aud.iter().all(|a| a.len() <= MAX_AUDIENCE));
                prop_assert_eq!(c.exp.is_some(), c.expires_at.is_some());
            }
        }

        /// Any bytes, as the lossy text a reader could hand over.
        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = classify(&String::from_utf8_lossy(&bytes));
            let dotted: Vec<u8> = bytes.iter().map(|b| if b % 7 == 0 { b'.' } else { *b }).collect();
            let _ = classify(&String::from_utf8_lossy(&dotted));
        }
    }
}
