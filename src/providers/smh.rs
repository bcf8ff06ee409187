//! `revoke smh`: Tencent Cloud Smart Media Hosting, "Delete All Access Tokens for a Specific
//! User" (seed 001).
//!
//! `DELETE /api/v1/token/{LibraryId}?library_secret=..&user_id=a,b&client_id=..&session_id=..`,
//! answered `204 No Content`. The API takes at most 10 user ids, 100 client ids and 100 session
//! ids per call ("If exceeding 10, call in batches"), so the targets become batches: user ids
//! are read lazily and grouped by 10, client and session ids are split by 100, and every
//! combination of a user batch, a client chunk and a session chunk is one request, one job and
//! one record. The union of the requests is exactly what was asked, each (user, client,
//! session) triple once.
//!
//! The library secret travels in the query string, so the URL is shown with it masked and
//! never logged raw. Error bodies are `{"code","message"}` (the SMH backend's standard error
//! format; the request id may be `requestId` in the body or an `x-request-id` /
//! `x-smh-request-id` header).

use crate::providers::{
    Credentials, Descriptor, EnvVar, Required, SECRET_SOURCES_ENV, SecretKeys, Verification,
};
use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Body, Looks, describe, not_the_api_kind, recognise, request_id, success, wrong_place};
use crate::error::{ApiError, ErrorKind};
use crate::net::http::{Endpoint, PreparedRequest, RawResponse, mask_query};
use crate::providers::RawTarget;
use crate::providers::{JobItem, Outcome, Provider, Sourced};
use crate::secret::Secret;

/// `revoke smh`.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: "smh",
    credentials: Credentials::Secret(SecretKeys {
        what: "library secret",
        env: "SMH_LIBRARY_SECRET",
        file_id: "library_secret_file",
        flag: "--library-secret-file",
        file_key: "library-secret-file",
        command_key: "library-secret-command",
        inline_key: "library-secret",
    }),
    sources: "--library-secret-file, else SMH_LIBRARY_SECRET, else the context's \
         library-secret-file, library-secret-command or library-secret (one of them per \
         table).",
    env: &[
        EnvVar {
            names: &["SMH_LIBRARY_SECRET"],
            meaning: "the library secret, unless --library-secret-file is given",
        },
        SECRET_SOURCES_ENV[0],
        SECRET_SOURCES_ENV[1],
    ],
    files: &[],
    required: &[Required::Flag {
        flag: "--library-id",
        value: "ID",
    }],
    one_of: &[],
    secret_targets: false,
};

/// The generic business-API host (the official Flutter SDK: tokens are "used to access the
/// interfaces under https://api.tencentsmh.cn/api/v1"). Per-library hosts go in `--endpoint`.
pub const DEFAULT_ENDPOINT: &str = "https://api.tencentsmh.cn";
/// "UserIds ... multiple UserIds separated by `,`, with a maximum of 10 at once."
pub const MAX_USER_IDS: usize = 10;
/// "ClientIds ... with a maximum of 100 at once. If exceeding 100, call in batches."
pub const MAX_CLIENT_IDS: usize = 100;
/// "SessionIds ... with a maximum of 100 at once. If exceeding 100, call in batches."
pub const MAX_SESSION_IDS: usize = 100;
/// The query parameter that carries the secret, masked wherever the URL is shown.
const SECRET_PARAM: &str = "library_secret";

/// What is percent-encoded in the library id (a path segment) and in each id of a list: all but
/// RFC 3986's unreserved characters, as the OpenAPI-generated SDK's `encodeURIComponent` does
/// (and a little stricter). In particular `,` inside a value would be escaped; the commas that join
/// ids are added after encoding, literally, because the API splits the raw value on them.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What the client is built from.
pub struct SmhConfig {
    pub endpoint: Endpoint,
    /// A path segment: not `.` or `..`.
    pub library_id: String,
    pub library_secret: Secret,
}

pub struct Smh {
    /// `{endpoint}/api/v1/token/{LibraryId}`, without a query.
    url: Url,
    library_id: String,
    secret: Secret,
}

impl Smh {
    pub fn new(config: SmhConfig) -> Smh {
        let path = format!(
            "/api/v1/token/{}",
            utf8_percent_encode(&config.library_id, COMPONENT)
        );
        Smh {
            url: config.endpoint.join(&path),
            library_id: config.library_id,
            secret: config.library_secret,
        }
    }
}

/// One request: a batch of user ids, and the client and session ids it is narrowed to (none
/// means the parameter is left out: every token of those users).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub user_ids: Arc<[String]>,
    pub client_ids: Option<Arc<[String]>>,
    pub session_ids: Option<Arc<[String]>>,
}

/// The SMH backend's standard error body.
#[derive(Deserialize)]
struct SmhError {
    code: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(rename = "requestId")]
    request_id: Option<String>,
}

/// SMH error codes mapped to the shared kinds, from the business API's error-code page. A
/// code not listed here is classified by its HTTP status: a 403 (`NoPermission`,
/// `LibraryServiceExpired`, ... are about the library or an access token, not the library
/// secret) is a rejection of this request and does not stop the run; a 401, which SMH does not
/// document at all, is taken as the secret being refused, as for any provider.
pub fn error_kind(code: &str, http_status: u16) -> ErrorKind {
    match code {
        // "Suggested retry: 429, 500, 503", and the contract names both codes retryable.
        "RateLimitExceeded" => ErrorKind::Throttled,
        "ServerOverloaded" | "InternalServerError" | "RequestTimeout" => ErrorKind::Transient,
        // The secret (or the library id it belongs to) is wrong or missing: every further
        // request would fail the same way.
        "WrongLibraryIdOrSecret" | "EmptyLibrarySecret" | "EmptyLibraryIdOrSecret" => {
            ErrorKind::Credentials
        }
        // The library is not there: a rejection of the request, not a "not found" answer
        // about the users.
        "LibraryNotFound" => ErrorKind::Rejected,
        // No such route: the endpoint is not the business API (a path prefix too many or too
        // few), which every further request would meet too.
        "RouteNotFound" => ErrorKind::NotTheApi,
        _ => ErrorKind::from_status(http_status),
    }
}

/// A user id goes into a comma-separated list, so it cannot hold a comma itself.
pub fn check_user_id(s: &str) -> Result<(), String> {
    super::check_id(s)?;
    if s.contains(',') {
        return Err("an id cannot contain a comma (the API separates ids with commas)".into());
    }
    Ok(())
}

/// `ids` in chunks of at most `size`; no id at all is the single chunk `None` (the parameter is
/// not sent), so that the cross product below still has one factor.
pub fn chunks(ids: &[String], size: usize) -> Vec<Option<Arc<[String]>>> {
    if ids.is_empty() {
        return vec![None];
    }
    ids.chunks(size).map(|c| Some(Arc::from(c))).collect()
}

/// Every combination of one user batch with each client chunk and each session chunk.
pub fn combinations(
    users: Arc<[String]>,
    clients: &[Option<Arc<[String]>>],
    sessions: &[Option<Arc<[String]>>],
) -> Vec<Job> {
    let mut jobs = Vec::with_capacity(clients.len() * sessions.len());
    for c in clients {
        for s in sessions {
            jobs.push(Job {
                user_ids: users.clone(),
                client_ids: c.clone(),
                session_ids: s.clone(),
            });
        }
    }
    jobs
}

/// How many jobs `users` user ids make.
pub fn job_count(users: u64, client_chunks: usize, session_chunks: usize) -> u64 {
    users.div_ceil(MAX_USER_IDS as u64) * client_chunks as u64 * session_chunks as u64
}

/// The jobs of a run, made lazily: user ids are taken from the stream 10 at a time, so a
/// million-line input is never held in memory. A line that cannot be used (only stdin lines
/// get here unchecked) becomes an `Invalid` item on its own; the batch goes on without it.
pub struct Batches<I> {
    users: std::iter::Fuse<I>,
    /// User ids already put in a batch: a repeated id is sent once (see [`Seen`]).
    seen: Seen,
    clients: Vec<Option<Arc<[String]>>>,
    sessions: Vec<Option<Arc<[String]>>>,
    ready: VecDeque<Sourced<Job>>,
}

impl<I: Iterator<Item = RawTarget>> Batches<I> {
    pub fn new(users: I, client_ids: &[String], session_ids: &[String]) -> Self {
        Batches {
            users: users.fuse(),
            seen: Seen::default(),
            clients: chunks(client_ids, MAX_CLIENT_IDS),
            sessions: chunks(session_ids, MAX_SESSION_IDS),
            ready: VecDeque::new(),
        }
    }
}

impl<I: Iterator<Item = RawTarget>> Iterator for Batches<I> {
    /// A batch's `source` is its first user id's.
    type Item = Sourced<Job>;

    fn next(&mut self) -> Option<Sourced<Job>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            let mut batch = Vec::with_capacity(MAX_USER_IDS);
            let mut first_source = None;
            let mut ended = false;
            while batch.len() < MAX_USER_IDS {
                match self.users.next() {
                    None => {
                        ended = true;
                        break;
                    }
                    Some(RawTarget {
                        text,
                        problem: None,
                        source,
                    }) => {
                        if self.seen.first(text.as_bytes()) {
                            if batch.is_empty() {
                                first_source = source;
                            }
                            batch.push(text);
                        }
                    }
                    Some(RawTarget {
                        text,
                        problem: Some(message),
                        source,
                    }) => self.ready.push_back((
                        JobItem::Invalid {
                            target: serde_json::json!({ "user_ids": [text] }),
                            message,
                        },
                        source,
                    )),
                }
            }
            if !batch.is_empty() {
                let jobs = combinations(Arc::from(batch), &self.clients, &self.sessions);
                self.ready.extend(
                    jobs.into_iter()
                        .map(|job| (JobItem::Job(job), first_source.clone())),
                );
            }
            if self.ready.is_empty() && ended {
                return None;
            }
        }
    }
}

/// `a,b,c` with each id percent-encoded and the joining commas literal.
fn id_list(ids: &[String]) -> String {
    ids.iter()
        .map(|id| utf8_percent_encode(id, COMPONENT).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Smh {
    /// The request URL, with the parameters in the documented order. Built by hand rather than
    /// with `query_pairs_mut`, whose form encoding would turn the separating commas into `%2C`.
    fn request_url(&self, job: &Job) -> Url {
        // The secret is encoded with every non-alphanumeric byte escaped: exactly the
        // percent-encoded form the redactor scrubs, should a server or proxy ever echo the URL.
        let mut query = format!(
            "{SECRET_PARAM}={}&user_id={}",
            utf8_percent_encode(self.secret.expose(), NON_ALPHANUMERIC),
            id_list(&job.user_ids)
        );
        if let Some(c) = &job.client_ids {
            query.push_str("&client_id=");
            query.push_str(&id_list(c));
        }
        if let Some(s) = &job.session_ids {
            query.push_str("&session_id=");
            query.push_str(&id_list(s));
        }
        let mut url = self.url.clone();
        url.set_query(Some(&query));
        url
    }
}

/// "Deleted successfully, returns HTTP 204 No Content." ... "Response Body: Null. No response
/// body." (seed 001).
const SUCCESS: Looks = Looks {
    what: "an SMH success",
    statuses: &[204],
    body: Body::None,
};

/// Where SMH and its gateway put a request id, when the body has none.
const REQUEST_ID_HEADERS: [&str; 2] = ["x-request-id", "x-smh-request-id"];

impl Provider for Smh {
    type Job = Job;

    const DESCRIPTOR: &'static Descriptor = &DESCRIPTOR;

    /// Its jobs are ids: nothing secret beyond the credentials.
    fn job_secrets<'a>(&self, _job: &'a Job) -> Vec<&'a str> {
        Vec::new()
    }

    /// `--verify`: no read-only check exists; its only probe, token renew, would extend a
    /// live token's life, so nothing is sent.
    fn verification(&self) -> Verification<'_, Job> {
        Verification::Unavailable("its only probe, token renew, would extend a live token's life")
    }

    fn identity(&self, job: &Job) -> Value {
        let mut target = Map::new();
        target.insert("user_ids".into(), job.user_ids.to_vec().into());
        if let Some(c) = &job.client_ids {
            target.insert("client_ids".into(), c.to_vec().into());
        }
        if let Some(s) = &job.session_ids {
            target.insert("session_ids".into(), s.to_vec().into());
        }
        Value::Object(target)
    }

    fn job_key(&self, job: &Job) -> String {
        let list =
            |ids: &Option<Arc<[String]>>| ids.as_ref().map(|i| i.join(",")).unwrap_or_default();
        format!(
            "users:{}\nclients:{}\nsessions:{}",
            job.user_ids.join(","),
            list(&job.client_ids),
            list(&job.session_ids)
        )
    }

    /// smh deletes every token the users have *now*: a journal entry says nothing of the
    /// tokens issued since.
    fn acts_on_current_tokens(&self) -> bool {
        true
    }

    fn scope(&self) -> String {
        format!("{}\n{}", self.url, self.library_id)
    }

    fn prepare(&self, job: &Job, _now: DateTime<Utc>) -> Result<PreparedRequest, ApiError> {
        let url = self.request_url(job);
        let mut req = PreparedRequest::new(Method::DELETE, url);
        // The secret is in the query: the URL is only ever shown masked.
        req.shown_url = mask_query(&req.url, &[SECRET_PARAM]);
        Ok(req)
    }

    fn interpret(&self, _job: &Job, resp: RawResponse) -> Result<Outcome, ApiError> {
        let retry_after = resp.retry_after();
        if success(resp.status) {
            let request_id = request_id(None, &resp, &REQUEST_ID_HEADERS);
            let seen = recognise(&resp, &SUCCESS, request_id.clone())?;
            return Ok(Outcome::revoked(seen, request_id, None));
        }
        match serde_json::from_slice::<SmhError>(&resp.body) {
            Ok(SmhError {
                code: Some(code),
                message,
                request_id: body_id,
            }) if !code.is_empty() => Err(ApiError::Service {
                http_status: resp.status,
                kind: error_kind(&code, resp.status),
                request_id: request_id(body_id, &resp, &REQUEST_ID_HEADERS),
                code,
                message,
                retry_after,
            }),
            // SMH documents its 404s with a code; a 404 or 405 without one is not SMH's.
            _ if wrong_place(resp.status) => Err(not_the_api_kind(ApiError::unreadable(
                resp.status,
                format!(
                    "HTTP {} without an SMH error body: {}",
                    resp.status,
                    describe(&resp)
                ),
                request_id(None, &resp, &REQUEST_ID_HEADERS),
                retry_after,
            ))),
            _ => Err(ApiError::unreadable(
                resp.status,
                format!("HTTP {} without an SMH error body", resp.status),
                request_id(None, &resp, &REQUEST_ID_HEADERS),
                retry_after,
            )),
        }
    }
}

/// How many distinct user ids a run remembers (as many as the engine's repeat check remembers
/// targets).
const SEEN_CAPACITY: usize = 50_000;

/// A set of byte strings seen so far, bounded like the engine's repeat check (`crate::engine::dedup`): smh's user ids.
#[derive(Default)]
pub struct Seen {
    keys: std::collections::HashSet<[u8; 12]>,
}

impl Seen {
    /// Whether `value` is new (and is now remembered, within [`SEEN_CAPACITY`]).
    pub fn first(&mut self, value: &[u8]) -> bool {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(value);
        let mut key = [0u8; 12];
        key.copy_from_slice(&digest[..12]);
        if self.keys.contains(&key) {
            return false;
        }
        if self.keys.len() < SEEN_CAPACITY {
            self.keys.insert(key);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn seen_is_exact_within_its_bound() {
        let mut s = Seen::default();
        assert!(s.first(b"u5"));
        assert!(!s.first(b"u5"));
        assert!(s.first(b"u6"));
    }

    use super::*;
    use crate::providers::answer;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn raw(ids: &[String]) -> std::vec::IntoIter<RawTarget> {
        let raw: Vec<RawTarget> = ids
            .iter()
            .enumerate()
            .map(|(i, text)| RawTarget {
                text: text.clone(),
                problem: None,
                source: Some(format!("users.txt:{}", i + 1)),
            })
            .collect();
        raw.into_iter()
    }

    fn jobs(items: impl Iterator<Item = Sourced<Job>>) -> Vec<Job> {
        items
            .map(|(i, _)| match i {
                JobItem::Job(j) => j,
                JobItem::Invalid { .. } => panic!("unexpected invalid item"),
            })
            .collect()
    }

    fn provider() -> Smh {
        Smh::new(SmhConfig {
            endpoint: Endpoint::parse("https://api.tencentsmh.cn/").unwrap(),
            library_id: "smh lib".into(),
            library_secret: Secret::new("s3cret/+&=,-~"),
        })
    }

    fn job(users: &[&str], clients: Option<&[&str]>, sessions: Option<&[&str]>) -> Job {
        let arc = |v: &[&str]| -> Arc<[String]> { v.iter().map(|s| s.to_string()).collect() };
        Job {
            user_ids: arc(users),
            client_ids: clients.map(arc),
            session_ids: sessions.map(arc),
        }
    }

    #[test]
    fn error_codes_map_to_kinds() {
        assert_eq!(error_kind("RateLimitExceeded", 429), ErrorKind::Throttled);
        assert_eq!(error_kind("ServerOverloaded", 503), ErrorKind::Transient);
        assert_eq!(error_kind("InternalServerError", 500), ErrorKind::Transient);
        assert_eq!(error_kind("RequestTimeout", 500), ErrorKind::Transient);
        for code in [
            "WrongLibraryIdOrSecret",
            "EmptyLibrarySecret",
            "EmptyLibraryIdOrSecret",
        ] {
            assert_eq!(error_kind(code, 404), ErrorKind::Credentials, "{code}");
            assert_eq!(error_kind(code, 400), ErrorKind::Credentials, "{code}");
        }
        assert_eq!(error_kind("LibraryNotFound", 404), ErrorKind::Rejected);
        assert_eq!(error_kind("RouteNotFound", 404), ErrorKind::NotTheApi);
        assert_eq!(error_kind("ParamInvalid", 400), ErrorKind::Rejected);
        assert_eq!(error_kind("UserIdLengthExceed", 400), ErrorKind::Rejected);
        assert_eq!(error_kind("NoPermission", 403), ErrorKind::Rejected);
        assert_eq!(
            error_kind("LibraryServiceExpired", 403),
            ErrorKind::Rejected
        );
        // Unknown codes follow their status.
        assert_eq!(error_kind("SomethingNew", 429), ErrorKind::Throttled);
        assert_eq!(error_kind("SomethingNew", 502), ErrorKind::Transient);
        assert_eq!(error_kind("SomethingNew", 401), ErrorKind::Credentials);
        assert_eq!(error_kind("SomethingNew", 409), ErrorKind::Rejected);
    }

    #[test]
    fn ids_with_commas_or_control_characters_are_refused() {
        assert!(check_user_id("alice").is_ok());
        assert!(check_user_id("名字 with space").is_ok());
        assert!(check_user_id("a,b").unwrap_err().contains("comma"));
        assert!(check_user_id("a\tb").is_err());
    }

    #[test]
    fn chunks_are_bounded_and_none_means_not_sent() {
        assert_eq!(chunks(&[], 100), vec![None]);
        let c = chunks(&ids("c", 100), 100);
        assert_eq!(c.len(), 1);
        let c = chunks(&ids("c", 101), 100);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].as_ref().unwrap().len(), 100);
        assert_eq!(c[1].as_ref().unwrap()[..], ["c100".to_string()]);
    }

    #[test]
    fn user_batches_are_at_most_ten() {
        for (n, sizes) in [
            (1, vec![1]),
            (10, vec![10]),
            (11, vec![10, 1]),
            (25, vec![10, 10, 5]),
        ] {
            let users = ids("u", n);
            let got = jobs(Batches::new(raw(&users), &[], &[]));
            let got_sizes: Vec<usize> = got.iter().map(|j| j.user_ids.len()).collect();
            assert_eq!(got_sizes, sizes, "{n} users");
            let flat: Vec<String> = got.iter().flat_map(|j| j.user_ids.to_vec()).collect();
            assert_eq!(flat, users, "order kept");
            assert!(
                got.iter()
                    .all(|j| j.client_ids.is_none() && j.session_ids.is_none())
            );
            assert_eq!(job_count(n as u64, 1, 1), sizes.len() as u64);
        }
    }

    #[test]
    fn every_combination_of_chunks_covers_the_cross_product_once() {
        let users = ids("u", 11);
        let clients = ids("c", 101);
        let sessions = ids("s", 201);
        let got = jobs(Batches::new(raw(&users), &clients, &sessions));
        assert_eq!(got.len(), 2 * 2 * 3);
        assert_eq!(job_count(11, 2, 3), 12);
        let mut seen = HashSet::new();
        for j in &got {
            assert!(j.user_ids.len() <= MAX_USER_IDS);
            let c = j.client_ids.as_ref().unwrap();
            let s = j.session_ids.as_ref().unwrap();
            assert!(c.len() <= MAX_CLIENT_IDS && s.len() <= MAX_SESSION_IDS);
            for u in j.user_ids.iter() {
                for c in c.iter() {
                    for s in s.iter() {
                        assert!(seen.insert((u.clone(), c.clone(), s.clone())), "twice");
                    }
                }
            }
        }
        assert_eq!(seen.len(), 11 * 101 * 201, "every triple asked for");
    }

    #[test]
    fn a_bad_stdin_line_is_an_invalid_item_and_the_batch_goes_on() {
        let mut items: Vec<RawTarget> = raw(&ids("u", 3)).collect();
        items.insert(
            1,
            RawTarget {
                text: "x,y".into(),
                problem: Some("stdin line 2: an id cannot contain a comma".into()),
                source: Some("stdin:2".into()),
            },
        );
        let got: Vec<Sourced<Job>> = Batches::new(items.into_iter(), &[], &[]).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1.as_deref(), Some("stdin:2"));
        assert_eq!(got[1].1.as_deref(), Some("users.txt:1"), "the first user's");
        let got: Vec<JobItem<Job>> = got.into_iter().map(|(i, _)| i).collect();
        match &got[0] {
            JobItem::Invalid { target, message } => {
                assert_eq!(target, &serde_json::json!({"user_ids": ["x,y"]}));
                assert!(message.contains("comma"));
            }
            JobItem::Job(_) => panic!("the invalid line comes first"),
        }
        match &got[1] {
            JobItem::Job(j) => assert_eq!(j.user_ids[..], ["u0", "u1", "u2"]),
            JobItem::Invalid { .. } => panic!("then the batch"),
        }
    }

    #[test]
    fn url_encodes_each_value_and_keeps_the_separating_commas() {
        let p = provider();
        let j = job(&["u 1", "ü/2"], Some(&["web"]), None);
        let req = p.prepare(&j, Utc::now()).unwrap();
        assert_eq!(req.method, Method::DELETE);
        assert_eq!(
            req.url.as_str(),
            "https://api.tencentsmh.cn/api/v1/token/smh%20lib?library_secret=s3cret%2F%2B%26%3D%2C%2D%7E&user_id=u%201,%C3%BC%2F2&client_id=web"
        );
        assert_eq!(
            req.shown_url,
            "https://api.tencentsmh.cn/api/v1/token/smh%20lib?library_secret=***&user_id=u%201,%C3%BC%2F2&client_id=web"
        );
        assert!(req.body.is_empty() && req.headers.is_empty());
        let decoded: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        assert_eq!(
            decoded[0],
            ("library_secret".into(), "s3cret/+&=,-~".into())
        );
        assert_eq!(decoded[1], ("user_id".into(), "u 1,ü/2".into()));
        assert_eq!(decoded.len(), 3, "no session_id when none is given");
    }

    #[test]
    fn identity_and_job_key_name_only_what_was_given() {
        let p = provider();
        let j = job(&["a", "b"], None, Some(&["s1"]));
        assert_eq!(
            p.identity(&j),
            serde_json::json!({"user_ids": ["a", "b"], "session_ids": ["s1"]})
        );
        assert_eq!(p.job_key(&j), "users:a,b\nclients:\nsessions:s1");
        assert!(!p.scope().contains("s3cret"));
    }

    #[test]
    fn answers_are_read() {
        let p = provider();
        let j = job(&["a"], None, None);
        let o = p.interpret(&j, answer(204, &[], "")).unwrap();
        assert_eq!(o.status, crate::report::record::Status::Revoked);
        assert_eq!(o.http_status, Some(204));

        let e = p
            .interpret(
                &j,
                answer(
                    404,
                    &[("x-request-id", "r-header")],
                    r#"{"code":"WrongLibraryIdOrSecret","message":"wrong","requestId":"r-body"}"#,
                ),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert_eq!(e.code(), "WrongLibraryIdOrSecret");
        assert_eq!(e.request_id(), Some("r-body"));

        let e = p
            .interpret(
                &j,
                answer(
                    429,
                    &[("x-smh-request-id", "r-smh"), ("retry-after", "2")],
                    r#"{"code":"RateLimitExceeded","message":"slow down"}"#,
                ),
            )
            .unwrap_err();
        assert!(e.retryable());
        assert_eq!(e.request_id(), Some("r-smh"));
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));

        let e = p
            .interpret(&j, answer(502, &[], "<html>bad gateway</html>"))
            .unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert!(e.retryable());
        let e = p.interpret(&j, answer(400, &[], "{}")).unwrap_err();
        assert_eq!(e.code(), "UnreadableResponse");
        assert!(!e.retryable());
    }

    /// Only the documented 204 with no body is a success: a sign-in page, a 200, a body are not
    /// SMH's, and are not retried.
    #[test]
    fn a_2xx_that_is_not_204_without_a_body_is_not_the_api() {
        let p = provider();
        let j = job(&["a"], None, None);
        let page = "<!DOCTYPE html><html><head><title>Sign in - Corp SSO</title></head></html>";
        for (status, body) in [(200, page), (200, ""), (201, ""), (204, "{}"), (200, "{}")] {
            let e = p.interpret(&j, answer(status, &[], body)).unwrap_err();
            assert_eq!(e.code(), "NotTheApi", "{status} {body:?}");
            assert_eq!(e.kind(), ErrorKind::NotTheApi);
            assert!(!e.retryable());
            assert_eq!(e.http_status(), Some(status));
        }
        let e = p.interpret(&j, answer(200, &[], page)).unwrap_err();
        assert!(
            e.message().contains("\"Sign in - Corp SSO\""),
            "{}",
            e.message()
        );
        assert!(
            e.message().contains("HTTP 204 with no body"),
            "{}",
            e.message()
        );
        // A 404 without SMH's error body, and SMH's own "no such route": not the API.
        let e = p.interpret(&j, answer(404, &[], page)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotTheApi);
        let e = p
            .interpret(
                &j,
                answer(404, &[], r#"{"code":"RouteNotFound","message":"no"}"#),
            )
            .unwrap_err();
        assert_eq!(
            (e.code().as_str(), e.kind()),
            ("RouteNotFound", ErrorKind::NotTheApi)
        );
    }

    /// SMH's documented success (seed 001): HTTP 204, no body.
    fn documented_success(status: u16, body: &[u8]) -> bool {
        status == 204 && body.trim_ascii().is_empty()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_answer_is_handled_and_scrubbed(
            sample in crate::providers::answers::samples(vec!["s3cret/+&=,-~".into()]),
        ) {
            crate::providers::answers::check(
                &provider(),
                &job(&["u1", "u2"], None, None),
                &["s3cret/+&=,-~"],
                documented_success,
                sample,
            )?;
        }

        /// The user ids sent are the ones given, byte for byte.
        #[test]
        fn the_exact_user_ids_are_sent(ids in proptest::collection::vec("[!-+\\--~]{1,20}", 1..5)) {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let req = provider().prepare(&job(&refs, None, None), chrono::Utc::now()).unwrap();
            let query = req.url.query().unwrap().to_string();
            let list = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("user_id="))
                .unwrap();
            let sent: Vec<String> = list
                .split(',')
                .map(|p| percent_encoding::percent_decode_str(p).decode_utf8().unwrap().into_owned())
                .collect();
            proptest::prop_assert_eq!(sent, ids);
        }
    }
}
