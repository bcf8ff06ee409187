//! The HTTP layer shared by every provider: a prepared request that knows how to show itself
//! with its secrets masked, the endpoint rules, and the transport that sends it.
//!
//! Providers build a [`PreparedRequest`] (already signed) and read a [`RawResponse`]; only the
//! [`Transport`] touches the network. Errors from the HTTP stack are turned into
//! [`ApiError::Send`] without their URL (which may carry a secret, as SMH's `library_secret`
//! does) but with the host, so that a TLS or DNS failure says where it happened.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::ApiError;
use crate::secret::MASK;

/// A header to send. `shown` is what output prints instead of the value, for secret headers.
#[derive(Clone)]
pub struct Header {
    pub name: &'static str,
    pub value: String,
    pub shown: Option<String>,
}

impl Header {
    pub fn plain(name: &'static str, value: impl Into<String>) -> Self {
        Header {
            name,
            value: value.into(),
            shown: None,
        }
    }

    pub fn secret(name: &'static str, value: impl Into<String>, shown: impl Into<String>) -> Self {
        Header {
            name,
            value: value.into(),
            shown: Some(shown.into()),
        }
    }

    fn shown(&self) -> &str {
        self.shown.as_deref().unwrap_or(&self.value)
    }
}

/// A request ready to send: signed, with every header it will carry except those the HTTP
/// stack adds itself (`Host` from the URL, `Content-Length`, `Accept-Encoding`).
pub struct PreparedRequest {
    pub method: reqwest::Method,
    pub url: Url,
    /// The URL as output shows it (secret query values masked).
    pub shown_url: String,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
    /// The body as output shows it (secret fields masked); `None` when it holds no secret.
    pub shown_body: Option<String>,
}

impl PreparedRequest {
    pub fn new(method: reqwest::Method, url: Url) -> Self {
        let shown_url = url.to_string();
        PreparedRequest {
            method,
            url,
            shown_url,
            headers: Vec::new(),
            body: Vec::new(),
            shown_body: None,
        }
    }

    /// The request as text, HTTP-style, secrets masked: what `--dry-run` and `-vv` print.
    pub fn render(&self) -> String {
        let mut out = format!("{} {}\n", self.method, self.shown_url);
        let _ = writeln!(out, "Host: {}", host_header(&self.url));
        for h in &self.headers {
            let _ = writeln!(out, "{}: {}", h.name, h.shown());
        }
        if !self.body.is_empty() {
            out.push('\n');
            out.push_str(&self.shown_body_text());
            out.push('\n');
        }
        out
    }

    fn shown_body_text(&self) -> String {
        match &self.shown_body {
            Some(b) => b.clone(),
            None => String::from_utf8_lossy(&self.body).into_owned(),
        }
    }

    /// The secret values this request carries (in headers marked secret): each whole value, its
    /// last word (the credential of `Basic x`/`Bearer x`) and every long `k=v` value in it (a
    /// signature). A server that echoes the request back must not get them printed.
    pub fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        for h in self.headers.iter().filter(|h| h.shown.is_some()) {
            out.push(h.value.clone());
            if let Some(last) = h.value.rsplit(' ').next() {
                out.push(last.to_string());
            }
            for part in h.value.split([' ', ',']) {
                if let Some((_, v)) = part.split_once('=')
                    && v.len() >= 16
                {
                    out.push(v.to_string());
                }
            }
        }
        out.retain(|v| v.len() >= 4);
        out.sort_by_key(|v| std::cmp::Reverse(v.len()));
        out.dedup();
        out
    }

    /// What cleans this attempt's own secrets out of its answer and errors.
    pub fn scrubber(&self) -> Scrubber {
        Scrubber {
            secrets: self.secret_values(),
            built: std::sync::OnceLock::new(),
        }
    }

    /// The same as JSON, for the `data` of a `planned` record.
    pub fn to_json(&self) -> serde_json::Value {
        let mut headers = serde_json::Map::new();
        headers.insert("Host".into(), host_header(&self.url).into());
        for h in &self.headers {
            headers.insert(h.name.into(), h.shown().into());
        }
        serde_json::json!({
            "method": self.method.as_str(),
            "url": self.shown_url,
            "headers": headers,
            "body": if self.body.is_empty() { serde_json::Value::Null } else { self.shown_body_text().into() },
        })
    }
}

/// Scrubs one attempt's secrets (and every known one) from text about its answer: a server may
/// echo the request, signature and all, in an error message.
pub struct Scrubber {
    secrets: Vec<String>,
    /// Their automaton, built when the first text needs it (most answers have none).
    built: std::sync::OnceLock<crate::secret::Extra>,
}

impl Scrubber {
    pub fn text(&self, text: &str) -> String {
        let extra = self.built.get_or_init(|| {
            let refs: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
            crate::secret::Extra::new(&refs)
        });
        crate::secret::Redactor::global().scrub_extra(text, extra)
    }

    pub fn error(&self, e: ApiError) -> ApiError {
        e.map_text(|t| self.text(t))
    }
}

/// The `Host` header the HTTP stack sends for `url`: the host, and the port when the URL has a
/// non-default one (the `url` crate drops default ports when parsing, as hyper does when sending).
/// Signers sign exactly this value.
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A validated base URL. `https` anywhere; plain `http` only to a loopback host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: Url,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let url = Url::parse(text.trim())
            .map_err(|e| format!("invalid endpoint: {e} (expected a URL such as https://host)"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "invalid endpoint: scheme {:?} is not https (or http to a loopback address)",
                url.scheme()
            ));
        }
        let Some(host) = url.host_str() else {
            return Err("invalid endpoint: no host (expected a URL such as https://host)".into());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("invalid endpoint: credentials in the URL are not accepted".into());
        }
        if url.query().is_some() || url.fragment().is_some() {
            // Not echoed: a pasted URL may carry a secret in its query (SMH's library_secret),
            // and no credential is known to the redactor yet at this point.
            return Err(format!(
                "invalid endpoint for {host}: a query string or fragment is not accepted"
            ));
        }
        if url.scheme() == "http" && !is_loopback(host) {
            return Err(format!(
                "refusing plain http to {host}: http is allowed only to loopback addresses (127.0.0.0/8, ::1, localhost); use https"
            ));
        }
        Ok(Endpoint { base: url })
    }

    /// The base URL with the API's documented path appended; a path prefix in the base is kept.
    /// `path` must already be percent-encoded.
    pub fn join(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    pub fn is_plain_http(&self) -> bool {
        self.base.scheme() == "http"
    }

    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or_default()
    }
}

pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// The record's error for a 3xx answer: refused, saying where it pointed (scrubbed with the
/// request's scrubber, then cut).
fn redirect_refused(host: &str, status: u16, headers: &HeaderMap, scrub: &Scrubber) -> ApiError {
    // Scrubbed before it is cut: a secret cut at the bound is no longer recognised, and its
    // head would be shown.
    let location = headers
        .get(reqwest::header::LOCATION)
        .map(|v| scrub.text(&String::from_utf8_lossy(v.as_bytes())));
    let to = match location {
        Some(l) => {
            let mut l = l;
            if l.len() > 512 {
                let mut end = 512;
                while !l.is_char_boundary(end) {
                    end -= 1;
                }
                l.truncate(end);
                l.push_str("...");
            }
            format!("to {l}")
        }
        None => "without a Location".to_string(),
    };
    ApiError::Service {
        http_status: status,
        code: "RedirectRefused".into(),
        message: format!(
            "{host} answered HTTP {status}, a redirect {to}; redirects are never followed: check the endpoint"
        ),
        request_id: None,
        kind: crate::error::ErrorKind::Rejected,
        retry_after: None,
    }
}

/// An answer, read whole (up to [`MAX_BODY`]).
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Revocation answers are small; a larger body is an error naming this bound, never read on.
pub const MAX_BODY: usize = 1 << 20;

impl RawResponse {
    /// An answer built by hand (tests, and callers that fake a provider). Header values that
    /// cannot be header values are dropped.
    pub fn new(status: u16, headers: &[(&'static str, &str)], body: &str) -> RawResponse {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                map.insert(*k, v);
            }
        }
        RawResponse {
            status,
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Retry-After` as a delay: delta-seconds or an HTTP date (RFC 9110 10.2.3).
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(self.header("retry-after")?, std::time::SystemTime::now())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The one HTTP client of a run: pooled keep-alive connections shared by every request.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    /// The time to sign with, corrected by the servers' `Date` when they say it is off.
    clock: std::sync::Arc<crate::net::clock::Clock>,
    /// The last rate limit a server stated in its answer's fields, for `--rate auto`.
    stated: std::sync::Arc<std::sync::Mutex<Option<crate::net::ratelimit::Statement>>>,
}

/// Whether `NO_PROXY` (else `no_proxy`) holds the entry `*`, which curl reads as "no proxy for
/// any host" (CURLOPT_NOPROXY: "a single * character, which matches all hosts, and effectively
/// disables the proxy"). reqwest's matcher (hyper-util 0.1) applies `*` to host names only, not
/// to IP addresses such as `127.0.0.1`, so the run turns proxies off itself.
fn no_proxy_for_any_host(var: impl Fn(&str) -> Option<String>) -> bool {
    ["NO_PROXY", "no_proxy"]
        .iter()
        .find_map(|n| var(n).filter(|v| !v.trim().is_empty()))
        .is_some_and(|v| v.split(',').any(|entry| entry.trim() == "*"))
}

impl Transport {
    /// `tls`: whether any https endpoint will be used. Loading the platform's root certificates
    /// costs start-up time, so a plain-http (loopback) run skips it.
    pub fn new(connect_timeout: Duration, pool: usize, tls: bool) -> Result<Transport, String> {
        Transport::build(connect_timeout, pool, tls, None)
    }

    /// A transport whose names are resolved by `resolver` alone, never through a proxy (which
    /// would resolve them itself): `revoke token --discover`'s, whose resolver keeps only
    /// public addresses. Its client is its own, not the process's shared one.
    pub fn resolved_by(
        connect_timeout: Duration,
        pool: usize,
        resolver: std::sync::Arc<dyn reqwest::dns::Resolve>,
    ) -> Result<Transport, String> {
        Transport::build(connect_timeout, pool, true, Some(resolver))
    }

    fn build(
        connect_timeout: Duration,
        pool: usize,
        tls: bool,
        resolver: Option<std::sync::Arc<dyn reqwest::dns::Resolve>>,
    ) -> Result<Transport, String> {
        let roots = if tls { trusted_roots()? } else { None };
        open_files_limit();
        // NO_PROXY is read here, in the process, so it is part of the shared client's setup.
        let no_proxy = resolver.is_some() || no_proxy_for_any_host(|name| std::env::var(name).ok());
        let own = resolver.is_some();
        let build = || {
            let mut builder = reqwest::Client::builder()
                .user_agent(concat!("revoke/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(connect_timeout)
                .pool_max_idle_per_host(pool.max(1))
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true);
            if !tls {
                builder = builder
                    .tls_built_in_root_certs(false)
                    .tls_built_in_native_certs(false);
            }
            if no_proxy {
                builder = builder.no_proxy();
            }
            if let Some(resolver) = &resolver {
                builder = builder.dns_resolver(std::sync::Arc::new(ByResolver(resolver.clone())));
            }
            if let Some(roots) = &roots {
                // SSL_CERT_FILE / SSL_CERT_DIR replace the system's certificates, as they do
                // for curl and OpenSSL; revoke reads them itself, bounded (see trusted_roots).
                builder = builder
                    .tls_built_in_root_certs(false)
                    .tls_built_in_native_certs(false);
                for cert in &roots.certs {
                    builder = builder.add_root_certificate(cert.clone());
                }
            }
            builder.build().map_err(|e| {
                let why = error_chain(&e.without_url());
                match &roots {
                    Some(roots) => format!(
                        "{}: a certificate in it cannot be used ({why}); give CA certificates in PEM",
                        roots.named
                    ),
                    None => format!("cannot set up HTTP: {why}"),
                }
            })
        };
        let client = match own {
            true => build()?,
            false => shared_client(connect_timeout, pool, tls, build)?,
        };
        Ok(Transport {
            client,
            clock: Default::default(),
            stated: Default::default(),
        })
    }

    /// Sends `req`, logging it masked (`-vv`) and its answer scrubbed (`-vvv`); errors come back
    /// scrubbed by `scrub` too.
    pub async fn exchange(
        &self,
        req: &PreparedRequest,
        scrub: &Scrubber,
    ) -> Result<RawResponse, ApiError> {
        tracing::debug!("sending\n{}", req.render());
        let response = self.send(req, scrub).await.map_err(|e| scrub.error(e))?;
        tracing::debug!(
            "answer: HTTP {} ({} bytes)",
            response.status,
            response.body.len()
        );
        tracing::trace!("answer body: {}", scrub.text(&response.body_text()));
        Ok(response)
    }

    /// `scrub` cleans the text of an answer that is cut before it leaves (a redirect's target).
    pub async fn send(
        &self,
        req: &PreparedRequest,
        scrub: &Scrubber,
    ) -> Result<RawResponse, ApiError> {
        let host = host_header(&req.url);
        let mut headers = HeaderMap::with_capacity(req.headers.len());
        for h in &req.headers {
            let value = HeaderValue::from_str(&h.value).map_err(|_| ApiError::Build {
                message: format!("header {} holds a character that cannot be sent", h.name),
            })?;
            let mut value = value;
            if h.shown.is_some() {
                value.set_sensitive(true);
            }
            headers.insert(HeaderName::from_static(h.name), value);
        }
        let request = self
            .client
            .request(req.method.clone(), req.url.clone())
            .headers(headers)
            .body(req.body.clone());
        let mut resp = request.send().await.map_err(|e| send_error(&host, e))?;
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        if (300..400).contains(&status) {
            // Redirects are never followed: a revocation goes to the endpoint the user named,
            // or nowhere (a redirect could carry the credentials to another host).
            return Err(redirect_refused(&host, status, &headers, scrub));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY.saturating_sub(body.len());
                    if chunk.len() > room {
                        return Err(ApiError::Unreadable {
                            http_status: status,
                            message: format!(
                                "{host}: answer larger than {} KiB; not read further",
                                MAX_BODY / 1024
                            ),
                            request_id: None,
                            kind: if status == 429 || (500..600).contains(&status) {
                                crate::error::ErrorKind::from_status(status)
                            } else {
                                crate::error::ErrorKind::Rejected
                            },
                            retry_after: None,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let timeout = e.is_timeout();
                    // The connection dropped mid-answer: nobody knows what the server did, and
                    // revocation is idempotent, so this is a transient failure like a reset.
                    return Err(ApiError::Send {
                        message: format!(
                            "{host}: answer cut off (HTTP {status}): {}",
                            error_chain(&e.without_url())
                        ),
                        timeout,
                        silent: false,
                    });
                }
            }
        }
        if let Some(date) = headers.get(reqwest::header::DATE)
            && let Ok(date) = date.to_str()
        {
            self.clock.observe(date, chrono::Utc::now());
        }
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some(st) = crate::net::ratelimit::read(&headers, unix) {
            *self.stated.lock().unwrap_or_else(|e| e.into_inner()) = Some(st);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    pub fn clock(&self) -> &crate::net::clock::Clock {
        &self.clock
    }

    /// The rate limit a server stated since the last call, if any.
    pub fn take_statement(&self) -> Option<crate::net::ratelimit::Statement> {
        self.stated.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// One HTTP client per (timeout, pool, tls) for the whole process: the steps of a plan share
/// it (and its connections) instead of building, and loading the CA certificates, once per step.
/// A resolver given as a trait object, as reqwest takes a sized one.
struct ByResolver(std::sync::Arc<dyn reqwest::dns::Resolve>);

impl reqwest::dns::Resolve for ByResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.0.resolve(name)
    }
}

fn shared_client(
    connect_timeout: Duration,
    pool: usize,
    tls: bool,
    build: impl FnOnce() -> Result<reqwest::Client, String>,
) -> Result<reqwest::Client, String> {
    type Clients = std::collections::HashMap<(Duration, usize, bool), reqwest::Client>;
    static CLIENTS: std::sync::OnceLock<std::sync::Mutex<Clients>> = std::sync::OnceLock::new();
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.get(&(connect_timeout, pool, tls)) {
        return Ok(client.clone());
    }
    let client = build()?;
    clients.insert((connect_timeout, pool, tls), client.clone());
    Ok(client)
}

/// The largest certificate file read (`SSL_CERT_FILE`, or one file of `SSL_CERT_DIR`): the
/// whole Mozilla bundle is about 220 KiB.
pub const MAX_CERT_FILE: u64 = 4 << 20;

/// The most bytes read from `SSL_CERT_DIR` in all, and the most files looked at there.
pub const MAX_CERT_DIR: u64 = 32 << 20;
const MAX_CERT_DIR_FILES: usize = 10_000;

/// The CA certificates `SSL_CERT_FILE` and `SSL_CERT_DIR` name, and how to name them.
pub struct Roots {
    certs: Vec<reqwest::Certificate>,
    named: String,
}

/// The certificates of `SSL_CERT_FILE` and `SSL_CERT_DIR` (`:`-separated directories), read
/// once per process; `None` when neither is set (the system's are used). Bounded: only regular
/// files, at most [`MAX_CERT_FILE`] each and [`MAX_CERT_DIR`] in all (`SSL_CERT_FILE=/dev/zero`
/// used to grow to gigabytes). An unusable file, or variables that give no certificate at all,
/// are an error naming the variable (before, every request failed with `UnknownIssuer`).
fn trusted_roots() -> Result<Option<&'static Roots>, String> {
    static ROOTS: std::sync::OnceLock<Result<Option<Roots>, String>> = std::sync::OnceLock::new();
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    ROOTS
        .get_or_init(|| load_roots(var("SSL_CERT_FILE"), var("SSL_CERT_DIR")))
        .as_ref()
        .map(Option::as_ref)
        .map_err(Clone::clone)
}

fn load_roots(
    file: Option<std::ffi::OsString>,
    dirs: Option<std::ffi::OsString>,
) -> Result<Option<Roots>, String> {
    use std::path::{Path, PathBuf};
    if file.is_none() && dirs.is_none() {
        return Ok(None);
    }
    let mut named = Vec::new();
    let mut certs = Vec::new();
    let mut read_in_dirs = 0u64;
    let read = |path: &Path, what: &str, budget: u64| -> Result<Vec<u8>, String> {
        use std::io::Read;
        let shown = format!("{what} {}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!(
                "{shown}: not a regular file; give a PEM file of CA certificates"
            ));
        }
        let limit = MAX_CERT_FILE.min(budget);
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("{shown}: {e}"))?;
        if bytes.len() as u64 > limit {
            return Err(format!(
                "{shown}: larger than {} MiB; give a PEM file of CA certificates",
                limit >> 20
            ));
        }
        Ok(bytes)
    };
    let parse = |bytes: &[u8], shown: &str| -> Result<Vec<reqwest::Certificate>, String> {
        reqwest::Certificate::from_pem_bundle(bytes).map_err(|e| {
            format!(
                "{shown}: not a PEM file of certificates ({}); give CA certificates in PEM",
                error_chain(&e)
            )
        })
    };
    if let Some(file) = file {
        let path = PathBuf::from(file);
        let shown = format!("SSL_CERT_FILE {}", path.display());
        let found = parse(&read(&path, "SSL_CERT_FILE", MAX_CERT_FILE)?, &shown)?;
        if found.is_empty() {
            return Err(format!(
                "{shown}: holds no certificate (-----BEGIN CERTIFICATE-----); give CA certificates in PEM"
            ));
        }
        certs.extend(found);
        named.push(shown);
    }
    if let Some(dirs) = dirs {
        for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
            let shown = format!("SSL_CERT_DIR {}", dir.display());
            let entries = std::fs::read_dir(&dir).map_err(|e| format!("{shown}: {e}"))?;
            for (n, entry) in entries.enumerate() {
                if n >= MAX_CERT_DIR_FILES {
                    return Err(format!(
                        "{shown}: more than {MAX_CERT_DIR_FILES} files; give a directory of CA certificates"
                    ));
                }
                let path = entry.map_err(|e| format!("{shown}: {e}"))?.path();
                // As OpenSSL does: only files (links to them included) are read; anything
                // else in the directory is passed over.
                if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                    continue;
                }
                let budget = MAX_CERT_DIR.saturating_sub(read_in_dirs);
                let bytes = read(&path, "SSL_CERT_DIR", budget)?;
                read_in_dirs += bytes.len() as u64;
                let file_shown = format!("SSL_CERT_DIR {}", path.display());
                certs.extend(parse(&bytes, &file_shown)?);
            }
            named.push(shown);
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "{}: no certificate found; give CA certificates in PEM",
            named.join(", ")
        ));
    }
    Ok(Some(Roots {
        certs,
        named: named.join(", "),
    }))
}

fn send_error(host: &str, e: reqwest::Error) -> ApiError {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let chain = error_chain(&e);
    if out_of_descriptors(&e) {
        // The process's own limit, not the server's silence: said so, with the way out, and
        // never counted by the circuit breaker (which would skip the rest as Unreachable).
        let limit = open_files_limit()
            .map(|n| format!(" (now {n})"))
            .unwrap_or_default();
        let why = format!(
            "too many open files: a local limit, not the server: raise it with `ulimit -n N`{limit}, or lower --concurrency"
        );
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| crate::report::logging::say(&format!("revoke: warning: {why}")));
        return ApiError::Send {
            message: format!("{host}: {why} ({chain})"),
            timeout: false,
            silent: false,
        };
    }
    if is_certificate_error(&chain) {
        return ApiError::Certificate {
            host: host.to_string(),
            message: chain,
        };
    }
    // Refused, reset or closed before any answer, or timed out: no answer at all. A server
    // that answered something unreadable (a head too large, not HTTP) did answer.
    let silent = timeout
        || e.is_connect()
        || [
            "connection reset",
            "connection closed before message completed",
            "broken pipe",
        ]
        .iter()
        .any(|p| chain.to_ascii_lowercase().contains(p));
    ApiError::Send {
        message: format!("{host}: {chain}"),
        timeout,
        silent,
    }
}

/// Whether an error comes from the process running out of file descriptors (EMFILE: its own
/// `ulimit -n`; ENFILE: the system's).
fn out_of_descriptors(e: &(dyn std::error::Error + 'static)) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(io.raw_os_error(), Some(EMFILE | ENFILE))
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// The soft limit on open files, from `/proc/self/limits` (Linux), for the message above. Read
/// when the transport is made: once the descriptors have run out, the file cannot be opened.
fn open_files_limit() -> Option<u64> {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    })
}

/// Whether a connection failed because the server's certificate was refused (rustls:
/// `invalid peer certificate: UnknownIssuer`, `Expired`, `NotValidForName`...): the same
/// handshake would fail the same way, so it is never retried.
pub fn is_certificate_error(chain: &str) -> bool {
    chain.contains("invalid peer certificate")
}

/// "outer: inner: innermost", skipping repeats, as hyper and rustls nest their errors.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Masks the value of each named query parameter in a URL string. Every other pair is shown
/// as it is sent, byte for byte (not re-encoded: SMH's `user_id=a,b` must not be shown as
/// `a%2Cb`).
pub fn mask_query(url: &Url, secret_params: &[&str]) -> String {
    let mut shown = url.clone();
    if let Some(query) = url.query() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                let decoded = percent_encoding::percent_decode_str(&key.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                if secret_params.contains(&decoded.as_str()) {
                    format!("{key}={MASK}")
                } else {
                    pair.to_string()
                }
            })
            .collect();
        shown.set_query(Some(&pairs.join("&")));
    }
    shown.to_string()
}

/// One attempt's exchange: send `request`, read the answer with `read`. Everything that comes
/// back, answer or error, is scrubbed of the request's own secrets.
pub async fn exchange<T>(
    transport: &Transport,
    request: &PreparedRequest,
    read: impl FnOnce(RawResponse) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let scrub = request.scrubber();
    let response = transport.exchange(request, &scrub).await?;
    // An answer that shows the endpoint is not the API names where the request went (masked).
    read(response).map_err(|e| scrub.error(e.at(&request.shown_url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_star_means_no_proxy_for_any_host_as_in_curl() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(no_proxy_for_any_host(env(&[("NO_PROXY", "*")])));
        assert!(no_proxy_for_any_host(env(&[("no_proxy", " * ")])));
        assert!(no_proxy_for_any_host(env(&[(
            "NO_PROXY",
            "example.com, *"
        )])));
        assert!(no_proxy_for_any_host(env(&[
            ("NO_PROXY", ""),
            ("no_proxy", "*")
        ])));
        assert!(!no_proxy_for_any_host(env(&[("NO_PROXY", "example.com")])));
        assert!(!no_proxy_for_any_host(env(&[(
            "NO_PROXY",
            "*.example.com"
        )])));
        assert!(!no_proxy_for_any_host(env(&[])));
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(Endpoint::parse("http://127.0.0.1:8080").is_ok());
        assert!(Endpoint::parse("http://127.1.2.3").is_ok());
        assert!(Endpoint::parse("http://[::1]:9").is_ok());
        assert!(Endpoint::parse("http://localhost:9").is_ok());
        assert!(Endpoint::parse("https://example.com").is_ok());
        let e = Endpoint::parse("http://10.0.0.1").unwrap_err();
        assert!(e.contains("refusing plain http to 10.0.0.1"), "{e}");
        assert!(Endpoint::parse("http://localhost.example.com").is_err());
        assert!(Endpoint::parse("ftp://127.0.0.1").is_err());
        assert!(Endpoint::parse("https://u:p@example.com").is_err());
        let e = Endpoint::parse("https://example.com/?library_secret=hunter2-secret").unwrap_err();
        assert!(!e.contains("hunter2"), "the query is not echoed: {e}");
        assert!(Endpoint::parse("example.com").is_err());
    }

    #[test]
    fn join_keeps_a_path_prefix() {
        let e = Endpoint::parse("http://127.0.0.1:8080/prefix/").unwrap();
        assert_eq!(
            e.join("/oauth2/revoke").as_str(),
            "http://127.0.0.1:8080/prefix/oauth2/revoke"
        );
        let e = Endpoint::parse("https://bi.tencentcloudapi.com").unwrap();
        assert_eq!(e.join("/").as_str(), "https://bi.tencentcloudapi.com/");
    }

    #[test]
    fn host_header_has_port_only_when_not_default() {
        let u = Url::parse("https://a.example.com:443/").unwrap();
        assert_eq!(host_header(&u), "a.example.com");
        let u = Url::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(host_header(&u), "127.0.0.1:8080");
        let u = Url::parse("http://[::1]:8080/").unwrap();
        assert_eq!(host_header(&u), "[::1]:8080");
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn masks_secret_query_values() {
        let u = Url::parse("https://h/api?library_secret=abc%2Fd&user_id=u1").unwrap();
        assert_eq!(
            mask_query(&u, &["library_secret"]),
            "https://h/api?library_secret=***&user_id=u1"
        );
        let u = Url::parse("https://h/api?user_id=a%20b,c&library%5Fsecret=x&flag&s=1+2").unwrap();
        assert_eq!(
            mask_query(&u, &["library_secret"]),
            "https://h/api?user_id=a%20b,c&library%5Fsecret=***&flag&s=1+2",
            "other pairs are shown as sent"
        );
    }
}
