//! Property tests of every provider's answer handling (test-only): random answers (status x
//! headers x body, with the run's own secrets echoed back in every encoding a server might use)
//! are interpreted, turned into the record the engine would make, and passed through the sink's
//! scrubber. Never a panic; never a secret in the record, text or JSON; `revoked` only on an
//! answer that looks like the API's documented success (each provider's test states it on its
//! own, from the seed), never on an HTML page or an empty body where the API sends one; and
//! the prepared request carries the target's exact bytes.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::net::http::RawResponse;
use crate::providers::Provider;
use crate::report::record::{Record, RecordError, Status};
use crate::report::scrub::clean;
use crate::report::text::text_line;
use crate::secret::{Redactor, Secret};

/// One generated answer.
#[derive(Debug, Clone)]
pub struct Sample {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Sample {
    fn response(&self) -> RawResponse {
        let headers: Vec<(&'static str, &str)> =
            self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut r = RawResponse::new(self.status, &headers, "");
        r.body = self.body.clone();
        r
    }
}

/// Texts a hostile server could send: the secrets in their raw, JSON-escaped (with `\/`),
/// percent-encoded and base64 forms, control characters, and plain noise.
fn texts(secrets: Vec<String>) -> impl Strategy<Value = String> + Clone {
    let mut forms = Vec::new();
    for s in &secrets {
        forms.push(s.clone());
        forms.push(s.replace('/', "\\/"));
        forms.push(
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        forms.push(base64::engine::general_purpose::STANDARD.encode(format!("id:{s}")));
    }
    let forms = proptest::sample::select(forms);
    proptest::collection::vec(
        prop_oneof![
            forms,
            "[ -~]{0,12}",
            Just("\u{1b}[2J\nrevoked x".to_string()),
            Just(String::new()),
        ],
        0..4,
    )
    .prop_map(|parts| parts.join(" "))
}

/// Codes the providers know, and others.
fn codes() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("InvalidParameter".to_string()),
        Just("AuthFailure.SignatureFailure".to_string()),
        Just("AuthFailure.SignatureExpire".to_string()),
        Just("RequestLimitExceeded".to_string()),
        Just("ResourceNotFound".to_string()),
        Just("ACCESS_TOKEN_INVALID".to_string()),
        Just("EXCEED_RATELIMIT".to_string()),
        Just("invalid_client".to_string()),
        Just("unsupported_token_type".to_string()),
        Just("APIGW.0301".to_string()),
        Just("APIGW.0308".to_string()),
        Just("IdentityCenter.1404".to_string()),
        Just("WrongLibraryIdOrSecret".to_string()),
        "[A-Za-z._]{0,20}",
    ]
}

/// A corporate SSO gateway's sign-in page, as it answers any request: `200 text/html`.
pub const SIGN_IN_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sign in - Corp SSO</title>\n</head>\n<body>\n<form method=\"post\" action=\"/login\"><input name=\"username\"><input name=\"password\" type=\"password\"><button>Sign in</button></form>\n</body>\n</html>\n";

/// Whether a body is an HTML page (whitespace, then a tag).
fn is_html(body: &[u8]) -> bool {
    body.trim_ascii().first() == Some(&b'<')
}

/// Random answers for a provider whose secrets are `secrets`.
pub fn samples(secrets: Vec<String>) -> impl Strategy<Value = Sample> {
    let status = prop_oneof![
        4 => prop_oneof![Just(200u16), Just(204), Just(201)],
        1 => prop_oneof![Just(301u16), Just(302), Just(304)],
        4 => prop_oneof![Just(400u16), Just(401), Just(403), Just(404), Just(409), Just(429)],
        2 => prop_oneof![Just(500u16), Just(502), Just(503), Just(504)],
        1 => 100u16..600,
    ];
    let text = texts(secrets);
    let body = prop_oneof![
        // Any bytes.
        proptest::collection::vec(any::<u8>(), 0..64),
        // Every provider's error and success shapes, with hostile texts.
        (codes(), text.clone(), text.clone(), any::<bool>()).prop_map(|(code, msg, id, data)| {
            serde_json::json!({
                "Response": if data {
                    serde_json::json!({"Data": msg, "RequestId": id})
                } else {
                    serde_json::json!({"Error": {"Code": code, "Message": msg}, "RequestId": id})
                },
                "code": code, "message": msg, "requestId": id, "request_id": id,
                "error": code, "error_description": msg,
                "error_code": code, "error_msg": msg,
                "bearer_tokens": [], "data": msg,
            })
            .to_string()
            .replace('/', "\\/")
            .into_bytes()
        }),
        Just(b"{}".to_vec()),
        Just(Vec::new()),
        Just(b" \r\n".to_vec()),
        // What a sign-in gateway, a captive portal or a wrong endpoint answers, 200 or not.
        Just(SIGN_IN_PAGE.as_bytes().to_vec()),
        text.clone().prop_map(|t| {
            format!("<html><head><title>{t}</title></head><body>{t}</body></html>").into_bytes()
        }),
    ];
    let headers = (
        proptest::option::of(text.clone()),
        proptest::option::of(prop_oneof!["[0-9]{1,6}", "[ -~]{0,10}"]),
    )
        .prop_map(|(id, retry)| {
            let mut h = Vec::new();
            if let Some(id) = id {
                // Only what can be a header value.
                let v: String = id
                    .chars()
                    .filter(|c| c.is_ascii_graphic() || *c == ' ')
                    .collect();
                h.push(("x-request-id", v));
            }
            if let Some(r) = retry {
                h.push(("retry-after", r));
            }
            h
        });
    (status, headers, body).prop_map(|(status, headers, body)| Sample {
        status,
        headers,
        body,
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1 << 60);

/// Interprets `sample`, makes the engine's record of it, passes it through the sink's scrubber,
/// and checks it. `credentials` are the provider's secrets (known to the redactor, as the
/// credential loaders make them); the job's own secrets come from the provider.
/// `documented_success(status, body)` is the provider's success as its documentation states it,
/// written apart from the provider's code: `revoked` only when it holds.
pub fn check<P: Provider>(
    provider: &P,
    job: &P::Job,
    credentials: &[&str],
    documented_success: fn(u16, &[u8]) -> bool,
    sample: Sample,
) -> Result<(), TestCaseError> {
    let redactor = Redactor::global();
    for c in credentials {
        redactor.add(&Secret::new(*c));
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let job_secrets = provider.job_secrets(job);
    redactor.enter(id, &job_secrets);
    let status = sample.status;
    let mut record = Record {
        http_status: Some(status),
        attempts: 1,
        at: None,
        ..Record::bare(
            provider.name(),
            id,
            provider.identity(job),
            Status::Failed,
            None,
        )
    };
    match provider.interpret(job, sample.response()) {
        Ok(o) => {
            if o.status == Status::Revoked {
                prop_assert!(
                    (200..300).contains(&status),
                    "revoked on HTTP {status}: {sample:?}"
                );
                prop_assert!(!is_html(&sample.body), "revoked on a page: {sample:?}");
                prop_assert!(
                    documented_success(status, &sample.body),
                    "revoked on an answer that is not the documented success: {sample:?}"
                );
            }
            record.status = o.status;
            record.request_id = o.request_id;
            record.data = o.data;
            record.error = o.error;
        }
        Err(e) => {
            // A 2xx page is never a success, and says the endpoint is not the API.
            if (200..300).contains(&status) && is_html(&sample.body) {
                prop_assert_eq!(e.code(), "NotTheApi", "{:?}", sample);
                prop_assert!(!e.retryable());
            }
            record.error = Some(RecordError::from_api(&e));
        }
    }
    clean(&mut record, Some(id));
    let json = serde_json::to_string(&record).unwrap();
    let text = text_line(&record);
    prop_assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text:?}");
    for s in credentials.iter().chain(job_secrets.iter()) {
        prop_assert!(!json.contains(s), "{s} in {json}");
        prop_assert!(!text.contains(s), "{s} in {text}");
    }
    if let Some(e) = &record.error {
        prop_assert!(e.message.len() <= crate::report::scrub::MAX_MESSAGE + 64);
    }
    Ok(())
}
