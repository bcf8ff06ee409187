//! Tencent Cloud API 3.0 request signing (TC3-HMAC-SHA256), as pure functions.
//!
//! This module owns the signature algorithm and nothing else: each step of the published
//! algorithm (CanonicalRequest, StringToSign, the derived key chain, the signature and the
//! Authorization value) is its own value or function, and [`sign`] ties them together. The
//! timestamp is an argument, never read from the clock here, and [`sign`] returns the header
//! value to send instead of touching a request. Building the body, choosing the host and
//! sending are the caller's job: whatever bytes and header values are signed must be exactly
//! the ones sent. Reference: Tencent Cloud "Signature v3" (CVM 213/33224, zh 213/30654) and
//! `Sign.sign_tc3` / `_get_tc3_signature` in tencentcloud-sdk-python 3.1.195.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// The algorithm name: first line of the StringToSign, first word of the Authorization value.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The fixed last element of the credential scope and of the key chain.
const TERMINATOR: &str = "tc3_request";

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedRequestPayload
///
/// CanonicalHeaders = one `lowercase(name):trim(value)\n` per signed header, sorted by name, so
/// the block ends in `\n` and a blank line follows it in the text.
/// HashedRequestPayload = lowercase(hex(sha256(body bytes))).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    method: String,
    uri: String,
    query: String,
    headers: Vec<(String, String)>,
    signed_headers: String,
    hashed_payload: String,
}

impl CanonicalRequest {
    /// headers: the headers to sign as (name, value) pairs; names are lowercased, values trimmed, sorted by lowercase name
    ///
    /// Values are NOT lowercased. The zh docs say (translated) "the header key and value are both
    /// converted to lowercase", but the SDK signs `'content-type:%s\nhost:%s\n'` with the values as
    /// sent, and the docs also say "content-type must match the actually sent content … the server
    /// will return an error indicating that signature verification failed". So the value signed is
    /// the value sent; a caller that wants the docs' lowercased form passes it lowercased.
    /// Each name should appear once: duplicates are not merged.
    pub fn new(
        method: &str,
        uri: &str,
        query: &str,
        headers: &[(&str, &str)],
        payload: &[u8],
    ) -> Self {
        let mut headers: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        // zh docs (translated): "multiple headers are joined in ascending ASCII order of the
        // (lowercase) header key".
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
        let signed_headers = names.join(";");
        Self {
            method: method.to_owned(),
            uri: uri.to_owned(),
            query: query.to_owned(),
            headers,
            signed_headers,
            // Hash the exact bytes sent: `json.dumps` (spaces, \uXXXX escapes) and serde_json
            // (compact, raw UTF-8) are both accepted, but a hash of one never matches the other.
            hashed_payload: sha256_hex(payload),
        }
    }

    /// SignedHeaders: the lowercase names joined with `;`, e.g. `content-type;host`.
    pub fn signed_headers(&self) -> &str {
        &self.signed_headers
    }

    /// HashedRequestPayload: lowercase hex sha256 of the body bytes.
    pub fn hashed_payload(&self) -> &str {
        &self.hashed_payload
    }

    /// lowercase(hex(sha256(CanonicalRequest))), the last line of the StringToSign.
    pub fn hashed(&self) -> String {
        sha256_hex(self.to_string().as_bytes())
    }
}

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}\n{}\n{}", self.method, self.uri, self.query)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}:{value}")?;
        }
        // CanonicalHeaders already ends in `\n`; the separator after it makes the blank line.
        write!(f, "\n{}\n{}", self.signed_headers, self.hashed_payload)
    }
}

/// CredentialScope = Date + "/" + service + "/tc3_request"
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// The UTC `YYYY-MM-DD` date of a Unix timestamp in seconds: the `Date` of the scope.
///
/// It must be the UTC date of `X-TC-Timestamp`, never the local one: the docs warn that a local
/// UTC+8 date breaks every request made between 00:00 and 08:00 local time (their example:
/// 1551113065 is 2019-02-26 00:44:25 in UTC+8, but Date is 2019-02-25). The SDK uses
/// `datetime.utcfromtimestamp(timestamp).strftime('%Y-%m-%d')`.
///
/// Outside chrono's range (about ±262,000 years) this returns an empty string instead of
/// panicking: such a timestamp is far outside the server's 5-minute window, so the request is
/// rejected with `AuthFailure.SignatureExpire` whatever the scope says.
pub fn utc_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// StringToSign = Algorithm \n RequestTimestamp \n CredentialScope \n HashedCanonicalRequest
///
/// RequestTimestamp is the decimal `X-TC-Timestamp` value and must equal that header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringToSign {
    timestamp: i64,
    scope: String,
    hashed_canonical_request: String,
}

impl StringToSign {
    pub fn new(timestamp: i64, scope: &str, canonical: &CanonicalRequest) -> Self {
        Self {
            timestamp,
            scope: scope.to_owned(),
            hashed_canonical_request: canonical.hashed(),
        }
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            timestamp,
            scope,
            hashed_canonical_request: hashed,
        } = self;
        write!(f, "{ALGORITHM}\n{timestamp}\n{scope}\n{hashed}")
    }
}

/// The three derived keys, returned separately so tests can check each step.
///
/// kDate    = HMAC_SHA256(key = UTF8("TC3" + SecretKey), msg = Date)
/// kService = HMAC_SHA256(kDate, Service)
/// kSigning = HMAC_SHA256(kService, "tc3_request")
pub fn derive_keys(secret_key: &str, date: &str, service: &str) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, TERMINATOR.as_bytes());
    (k_date, k_service, k_signing)
}

/// kSigning of the [`derive_keys`] chain.
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    derive_keys(secret_key, date, service).2
}

/// Signature = lowercase(hex(HMAC_SHA256(kSigning, StringToSign)))
pub fn signature(signing_key: &[u8; 32], string_to_sign: &StringToSign) -> String {
    let mac = hmac_sha256(signing_key, string_to_sign.to_string().as_bytes());
    hex::encode(mac)
}

/// The whole thing. `timestamp` is passed in (never read inside).
///
/// `headers` are the headers to sign, with the values exactly as they will be sent; they must
/// include at least `content-type` and `host`. The request is `method` to `uri` with no query
/// string (API 3.0 calls are `POST` with a JSON body; the signature covers whatever method is
/// given).
pub struct SigningParams<'a> {
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    /// The credential-scope service, e.g. `bi`; hard-coded by the caller rather than parsed from
    /// the host, so that a test endpoint like `127.0.0.1:8080` still signs for the right service.
    pub service: &'a str,
    /// Unix seconds; send the same value as `X-TC-Timestamp`.
    pub timestamp: i64,
    pub method: &'a str,
    /// The CanonicalURI: the path as sent. The SDK always POSTs to `/`; behind an `--endpoint`
    /// with a path prefix, the prefixed path is what the receiver sees, so it is what is signed.
    pub uri: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: &'a [u8],
}

impl fmt::Debug for SigningParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningParams")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"[redacted]")
            .field("service", &self.service)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// The result of [`sign`]: the `Authorization` value plus every intermediate step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub authorization: String,
    pub canonical_request: CanonicalRequest,
    pub string_to_sign: StringToSign,
    pub date: String,
}

/// Signs a POST request to `p.uri` (`/` for the API itself) and returns the `Authorization` header value (with the steps).
///
/// Authorization = Algorithm + " Credential=" + SecretId + "/" + CredentialScope
///               + ", SignedHeaders=" + SignedHeaders + ", Signature=" + Signature
pub fn sign(p: &SigningParams) -> Signed {
    // A POST has an empty CanonicalQueryString.
    let canonical_request = CanonicalRequest::new(p.method, p.uri, "", p.headers, p.payload);
    let date = utc_date(p.timestamp);
    let scope = credential_scope(&date, p.service);
    let string_to_sign = StringToSign::new(p.timestamp, &scope, &canonical_request);
    let key = signing_key(p.secret_key, &date, p.service);
    let signature = signature(&key, &string_to_sign);
    // One space after the algorithm and ", " between fields, exactly as the SDK formats it.
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        p.secret_id,
        canonical_request.signed_headers()
    );
    Signed {
        authorization,
        canonical_request,
        string_to_sign,
        date,
    }
}

/// What the client is built from.
/// The key pair a request is signed with, and where it was read from (its name, never its
/// value).
pub struct TencentCredentials {
    pub secret_id: Secret,
    pub secret_key: Secret,
    /// Temporary credentials carry a token, sent as X-TC-Token.
    pub token: Option<Secret>,
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    type Ids = (&'static str, &'static str);
    type Headers = &'static [(&'static str, &'static str)];
    type Params = SigningParams<'static>;

    /// One vector: its inputs and published texts. The payload hash, hashed canonical request,
    /// scope and signature are asserted too, each against the place it appears in those texts.
    struct Vector {
        name: &'static str,
        params: Params,
        canonical_request: &'static str,
        string_to_sign: &'static str,
        keys: Option<[&'static str; 3]>, // kDate, kService, kSigning (hex), where known
        authorization: &'static str,
    }

    /// Asserts each step, in order, with a message naming the vector and the step.
    fn check(v: &Vector) {
        let (n, p, signed) = (v.name, &v.params, sign(&v.params));
        let (cr, sts, date) = (
            &signed.canonical_request,
            &signed.string_to_sign,
            &signed.date,
        );
        let (want_cr, want_sts) = (v.canonical_request, v.string_to_sign);
        let last = |text: &'static str| text.rsplit_once('\n').map(|s| s.1);
        let payload_hash = cr.hashed_payload();
        assert_eq!(Some(payload_hash), last(want_cr), "{n}: payload hash");
        assert_eq!(cr.to_string(), want_cr, "{n}: canonical request");
        let hashed = cr.hashed();
        assert_eq!(Some(&*hashed), last(want_sts), "{n}: hashed CR");
        let scope = credential_scope(date, p.service);
        assert_eq!(Some(&*scope), want_sts.lines().nth(2), "{n}: scope");
        assert_eq!(sts.to_string(), want_sts, "{n}: string to sign");
        let (k_date, k_service, k_signing) = derive_keys(p.secret_key, date, p.service);
        if let Some([kd, ks, kg]) = v.keys {
            assert_eq!(hex::encode(k_date), kd, "{n}: kDate");
            assert_eq!(hex::encode(k_service), ks, "{n}: kService");
            assert_eq!(hex::encode(k_signing), kg, "{n}: kSigning");
        }
        let key = signing_key(p.secret_key, date, p.service);
        assert_eq!(key, k_signing, "{n}: signing_key is kSigning");
        let want_sig = v.authorization.rsplit_once("Signature=").map(|s| s.1);
        assert_eq!(Some(&*signature(&key, sts)), want_sig, "{n}: signature");
        assert_eq!(signed.authorization, v.authorization, "{n}: Authorization");
    }

    const fn cvm(ids: Ids, headers: Headers, payload: &'static [u8]) -> Params {
        let ((secret_id, secret_key), method) = (ids, "POST");
        let (service, timestamp) = ("cvm", 1551113065);
        SigningParams {
            secret_id,
            secret_key,
            service,
            timestamp,
            method,
            uri: "/",
            headers,
            payload,
        }
    }

    const fn bi(ids: Ids, headers: Headers, payload: &'static [u8]) -> Params {
        let cvm = cvm(ids, headers, payload);
        SigningParams {
            service: "bi",
            timestamp: 1767200000,
            ..cvm
        }
    }

    // CVM "Signature v3" page (reference sections 2.1 to 2.3).
    const CVM_CT: &str = "application/json; charset=utf-8";
    const CVM_H: Headers = &[
        ("Content-Type", CVM_CT),
        ("Host", "cvm.tencentcloudapi.com"),
    ];
    /// `json.dumps` output for "未命名": literal `\uXXXX` escapes, 86 bytes.
    const CVM_BODY: &[u8] = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const EXAMPLE: Ids = (
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    );
    const MASKED: Ids = (
        "AKID********************************",
        "********************************",
    );
    // Variant B signs `x-tc-action:describeinstances`, the value lowercased per the docs' rule,
    // while the header sent is `X-TC-Action: DescribeInstances`. The signer never lowercases
    // values, so the lowercased value is passed in to reproduce the published signature.
    const B_H: Headers = &[CVM_H[0], CVM_H[1], ("X-TC-Action", "describeinstances")];
    /// The masked key with 2019-02-25 and cvm: published for B; C has the same inputs.
    const MASKED_KEYS: [&str; 3] = [
        "da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0",
        "8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f",
        "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af",
    ];

    const CVM_VECTORS: [Vector; 3] = [
        Vector {
            name: "A (classic example)",
            params: cvm(EXAMPLE, CVM_H, CVM_BODY),
            canonical_request: "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
            string_to_sign: "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
            keys: Some([
                "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a",
                "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050",
                "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1",
            ]),
            authorization: "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        },
        Vector {
            name: "B (masked key, x-tc-action)",
            params: cvm(MASKED, B_H, CVM_BODY),
            canonical_request: "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
            string_to_sign: "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
            keys: Some(MASKED_KEYS),
            authorization: "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f",
        },
        Vector {
            name: "C (ASCII payload)",
            params: cvm(
                MASKED,
                CVM_H,
                br#"{"Limit": 1, "Filters": [{"Values": ["unnamed"], "Name": "instance-name"}]}"#,
            ),
            canonical_request: "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n99d58dfbc6745f6747f36bfca17dee5e6881dc0428a0a36f96199342bc5b4907",
            string_to_sign: "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n2815843035062fffda5fd6f2a44ea8a34818b0dc46f024b8b3786976a3adda7a",
            keys: Some(MASKED_KEYS),
            authorization: "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=a7b8551448762bd123d6f79e81815e31a92013640a6cef36a08ad4b292a4d2f2",
        },
    ];

    #[test]
    fn official_cvm_variants() {
        assert_eq!(CVM_BODY.len(), 86, "A: body is the 86-byte escaped form");
        CVM_VECTORS.iter().for_each(check);
    }

    // ClearEmbedToken (reference sections 3 and 4.5): 1767200000 is 2025-12-31T16:53:20Z, already
    // 2026-01-01 in UTC+8, so a local-date bug shows up as a wrong scope. V2's token, region and
    // language headers are sent but not signed, so they are not passed.
    const BI1: Ids = (
        "AKIDbiTestVector00000000000000000001",
        "biTestSecretKey00000000000000001",
    );
    const BI2: Ids = (
        "AKIDbiTestVector00000000000000000002",
        "biTestSecretKey00000000000000002",
    );
    const BI_H: Headers = &[
        ("Content-Type", "application/json"),
        ("Host", "bi.intl.tencentcloudapi.com"),
    ];
    // tccli `--endpoint http://127.0.0.1:18765` sends and signs that literal string as Host.
    const TCCLI_H: Headers = &[BI_H[0], ("Host", "http://127.0.0.1:18765")];
    /// The SDK's `json.dumps` body, 85 bytes.
    const BI_BODY1: &[u8] =
        br#"{"ProjectId": "889", "UserCorpId": "700000777778", "Scope": "page", "PageId": "8991"}"#;
    /// BI1's key with 2025-12-31 and bi: published for V1; every BI1 vector has the same inputs.
    const BI1_KEYS: [&str; 3] = [
        "4a24a0efeb460642ae70151e2a8f2fe981c412e4a8bc4476d4b1981ec792cbd8",
        "6a967702d7e706d4fe50deaffeee8b5d51f27ab96db067574a37da2a89bbb25c",
        "081148073d1002041d8c8c555f6ff260aace6c641a4a8fbb26731670459a5b41",
    ];

    const BI_VECTORS: [Vector; 3] = [
        Vector {
            name: "V1 (SDK body)",
            params: bi(BI1, BI_H, BI_BODY1),
            canonical_request: "POST\n/\n\ncontent-type:application/json\nhost:bi.intl.tencentcloudapi.com\n\ncontent-type;host\n2028d5892c4aaf9d051e418c5aeeeef1a9821450312689bdcd2f949389ddc0ae",
            string_to_sign: "TC3-HMAC-SHA256\n1767200000\n2025-12-31/bi/tc3_request\n7108adf5045d7487f90d59ee1e1e3e5a8d39ba4855caefc967e777a960ffe4d0",
            keys: Some(BI1_KEYS),
            authorization: "TC3-HMAC-SHA256 Credential=AKIDbiTestVector00000000000000000001/2025-12-31/bi/tc3_request, SignedHeaders=content-type;host, Signature=cfade895334e2a26ebd76f9290b61e94f7636dfe58be175930e41e73eda307b1",
        },
        Vector {
            name: "V2 (compact body)",
            params: bi(
                BI2,
                BI_H,
                br#"{"ProjectId":"889","UserCorpId":"700000777778","Scope":"panel"}"#,
            ),
            canonical_request: "POST\n/\n\ncontent-type:application/json\nhost:bi.intl.tencentcloudapi.com\n\ncontent-type;host\n7d1fe5250cc80877b72fd777f9b01dd2330d824d5531aff055548f0aef6696c4",
            string_to_sign: "TC3-HMAC-SHA256\n1767200000\n2025-12-31/bi/tc3_request\nb6d7d116c9121a538b6f37cee6fab772447914df420aa4cdc515e83757b0647f",
            keys: Some([
                "462662522e0398ace7d744b15c9b44f1d42100a85f4793d765b13db3df1fa3fb",
                "eeb6741e40d9976a0a63efe29ae1d0d76d367100a2a33ae5c1a7daa147a0c687",
                "094e4602ab9f0f873789ef8aa5e6fd581c83ba6edd98179102aaf6eddaf831fe",
            ]),
            authorization: "TC3-HMAC-SHA256 Credential=AKIDbiTestVector00000000000000000002/2025-12-31/bi/tc3_request, SignedHeaders=content-type;host, Signature=fbae9ed01820a11e57c01df875fc1155521b5ad38c1e2c06de00a89188857622",
        },
        Vector {
            name: "tccli capture (Host http://127.0.0.1:18765)",
            params: bi(BI1, TCCLI_H, BI_BODY1),
            canonical_request: "POST\n/\n\ncontent-type:application/json\nhost:http://127.0.0.1:18765\n\ncontent-type;host\n2028d5892c4aaf9d051e418c5aeeeef1a9821450312689bdcd2f949389ddc0ae",
            string_to_sign: "TC3-HMAC-SHA256\n1767200000\n2025-12-31/bi/tc3_request\n5423551ee9af9327c3b66d542cc4d457b612e340ca242d14f316abeb104554ea",
            keys: Some(BI1_KEYS),
            authorization: "TC3-HMAC-SHA256 Credential=AKIDbiTestVector00000000000000000001/2025-12-31/bi/tc3_request, SignedHeaders=content-type;host, Signature=a264a54cdb3f2a92b825493869da4df1e1fb3441d1ebf8a760c55e0b2996ff17",
        },
    ];

    #[test]
    fn clear_embed_token_vectors() {
        BI_VECTORS.iter().for_each(check);
    }

    // Not published: expected values computed independently with python3 hashlib/hmac.
    const PORT_H: Headers = &[BI_H[0], ("Host", "127.0.0.1:8080")];
    /// Raw UTF-8 (serde_json style), 82 bytes; the python input was this text `.encode()`.
    const UTF8_BODY: &str =
        r#"{"ProjectId":"889","UserCorpId":"700000777778","Scope":"page","PageId":"页面-1"}"#;

    const PYTHON_VECTORS: [Vector; 2] = [
        Vector {
            name: "host with port",
            params: bi(BI1, PORT_H, BI_BODY1),
            canonical_request: "POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1:8080\n\ncontent-type;host\n2028d5892c4aaf9d051e418c5aeeeef1a9821450312689bdcd2f949389ddc0ae",
            string_to_sign: "TC3-HMAC-SHA256\n1767200000\n2025-12-31/bi/tc3_request\n53822ff73cf053c3a9d179476f2f6baac4d3592e23e791aa34d12b7a98f1e77c",
            keys: Some(BI1_KEYS),
            authorization: "TC3-HMAC-SHA256 Credential=AKIDbiTestVector00000000000000000001/2025-12-31/bi/tc3_request, SignedHeaders=content-type;host, Signature=f1a4780943e7e9a3318a6eea8db702cf63971b448e906b01519460d1c0975088",
        },
        Vector {
            name: "raw UTF-8 payload",
            params: bi(BI1, BI_H, UTF8_BODY.as_bytes()),
            canonical_request: "POST\n/\n\ncontent-type:application/json\nhost:bi.intl.tencentcloudapi.com\n\ncontent-type;host\nb75a7805602702892751547f48a1572251a47801d11f20825cf349ec60bd8385",
            string_to_sign: "TC3-HMAC-SHA256\n1767200000\n2025-12-31/bi/tc3_request\n8b4f47fe432019ba1a668f8182d8a3f834ed1e21b1890e11922eee25dd780936",
            keys: Some(BI1_KEYS),
            authorization: "TC3-HMAC-SHA256 Credential=AKIDbiTestVector00000000000000000001/2025-12-31/bi/tc3_request, SignedHeaders=content-type;host, Signature=3e1b2fb011c97174710f3d8bdc0121fdcd53ec736f5a2595d05955ce28380e3f",
        },
    ];

    #[test]
    fn python_computed_vectors() {
        assert_eq!(UTF8_BODY.len(), 82, "raw UTF-8 body length in bytes");
        let escaped = UTF8_BODY.replace("页面", r"\u9875\u9762");
        let hashes = [UTF8_BODY, &escaped].map(|b| sha256_hex(b.as_bytes()));
        assert_ne!(
            hashes[0], hashes[1],
            "the escaped form must hash differently"
        );
        PYTHON_VECTORS.iter().for_each(check);
    }

    #[test]
    fn utc_date_is_utc_not_local() {
        for (ts, want, why) in [
            (1767200000, "2025-12-31", "UTC+8 would give 2026-01-01"),
            (1551113065, "2019-02-25", "docs' example; UTC+8 gives 02-26"),
            (0, "1970-01-01", "epoch"),
            (1767225599, "2025-12-31", "last second of the UTC day"),
            (1767225600, "2026-01-01", "first second of the next day"),
            (i64::MAX, "", "out of chrono's range: empty, no panic"),
        ] {
            assert_eq!(utc_date(ts), want, "utc_date({ts}): {why}");
        }
        let scope = credential_scope("2019-02-25", "cvm");
        assert_eq!(scope, "2019-02-25/cvm/tc3_request", "credential scope");
    }

    #[test]
    fn names_lowercased_values_trimmed_not_lowercased() {
        let headers = [
            ("HOST", " cvm.tencentcloudapi.com "),
            ("content-TYPE", "Text/Plain\t"),
        ];
        let cr = CanonicalRequest::new("POST", "/", "", &headers, b"");
        let names = cr.signed_headers();
        assert_eq!(names, "content-type;host", "SignedHeaders sorted");
        let text = "POST\n/\n\ncontent-type:Text/Plain\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(cr.to_string(), text, "canonical request");
        // Signing `DescribeInstances` as sent must not give variant B's (lowercased) signature.
        const SENT: Headers = &[CVM_H[0], CVM_H[1], ("X-TC-Action", "DescribeInstances")];
        let sent = sign(&cvm(MASKED, SENT, CVM_BODY)).authorization;
        let variant_b = CVM_VECTORS[1].authorization;
        assert_ne!(sent, variant_b, "the signer must not lowercase values");
    }

    #[test]
    fn debug_redacts_the_secret_key() {
        let shown = format!("{:?}", bi(BI1, BI_H, BI_BODY1));
        assert!(!shown.contains(BI1.1), "secret key printed: {shown}");
        assert!(shown.contains("[redacted]"), "no redaction marker: {shown}");
    }
}
