//! The one error type every provider returns, and the kind that drives retries and exit codes.
//!
//! [`ApiError`] says *where* a call failed: the request could not be built, it was sent and no
//! answer came, the provider answered with an error, or the answer could not be read. Each
//! carries an [`ErrorKind`]; the engine retries `Throttled` and `Transient`, stops the run on
//! `Credentials`, and records the rest as failures. Messages never hold a secret: they are
//! built from status lines and provider error texts, and scrubbed once more before output.

use std::time::Duration;

/// What a record says of an error answer that carried no description of its own.
pub const NO_DESCRIPTION: &str = "the server gave no description";

/// The small shared classification that each provider's error-code table maps into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Rate limited (429, `RequestLimitExceeded`, `APIGW.0308`, ...): retry after a pause.
    Throttled,
    /// Connection failure, timeout, 5xx, an unreadable answer: retry.
    Transient,
    /// The provider rejected the credentials: stop the run (exit 3), never retry.
    Credentials,
    /// The provider refused this request (bad parameter, no permission): do not retry.
    Rejected,
    /// The target does not exist.
    NotFound,
    /// The server's TLS certificate was refused: no request to it can succeed; stop the run
    /// (exit 1), never retry.
    Certificate,
    /// The answer shows the endpoint is not the provider's API: a 2xx that does not look like
    /// the API's success (a sign-in page), or a 404 or 405 the API never gives to this request.
    /// Never retried; when the first answers of a run are all like this, the run stops early
    /// (`EndpointMismatch`).
    NotTheApi,
}

impl ErrorKind {
    pub fn retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Transient)
    }

    /// Retryable HTTP statuses per the contract: 429, 500, 502, 503, 504.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            429 => ErrorKind::Throttled,
            500 | 502 | 503 | 504 => ErrorKind::Transient,
            401 => ErrorKind::Credentials,
            404 => ErrorKind::NotFound,
            _ => ErrorKind::Rejected,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The request could not be built (a value that cannot go in a header, ...). Nothing was sent.
    #[error("request not built: {message}")]
    Build { message: String },

    /// Sent, and no answer came: connection refused or reset, TLS or DNS failure, timeout.
    #[error("{message}")]
    Send {
        message: String,
        timeout: bool,
        /// No answer at all: the connection failed, was reset before a byte came back, or
        /// timed out (what the circuit breaker counts). False for an answer cut short or one
        /// that could not be parsed.
        silent: bool,
    },

    /// The TLS handshake refused the server's certificate. Nothing was sent.
    #[error("{host}: the server's TLS certificate was refused ({message})")]
    Certificate { host: String, message: String },

    /// The provider answered with an error.
    #[error("{code}: {message}")]
    Service {
        http_status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
        kind: ErrorKind,
        retry_after: Option<Duration>,
    },

    /// A 2xx answer that does not look like the provider's documented success (an HTML page, a
    /// body where none is expected, JSON that is not the API's): never a success. The message
    /// says what success looks like and what came instead.
    #[error("{message}")]
    NotTheApi {
        http_status: u16,
        message: String,
        request_id: Option<String>,
    },

    /// The provider answered with something that cannot be read (HTML page, truncated JSON).
    #[error("unreadable answer (HTTP {http_status}): {message}")]
    Unreadable {
        http_status: u16,
        message: String,
        request_id: Option<String>,
        kind: ErrorKind,
        retry_after: Option<Duration>,
    },
}

impl ApiError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Build { .. } => ErrorKind::Rejected,
            ApiError::Send { .. } => ErrorKind::Transient,
            ApiError::Certificate { .. } => ErrorKind::Certificate,
            ApiError::NotTheApi { .. } => ErrorKind::NotTheApi,
            ApiError::Service { kind, .. } | ApiError::Unreadable { kind, .. } => *kind,
        }
    }

    pub fn retryable(&self) -> bool {
        self.kind().retryable()
    }

    /// A short machine-readable code for the record.
    pub fn code(&self) -> String {
        match self {
            ApiError::Build { .. } => "RequestNotBuilt".into(),
            ApiError::Send { timeout: true, .. } => "Timeout".into(),
            ApiError::Send { .. } => "ConnectionError".into(),
            ApiError::Certificate { .. } => "CertificateError".into(),
            ApiError::Service { code, .. } => code.clone(),
            ApiError::Unreadable { .. } => "UnreadableResponse".into(),
            ApiError::NotTheApi { .. } => "NotTheApi".into(),
        }
    }

    /// The human message, without the code.
    pub fn message(&self) -> String {
        match self {
            ApiError::Service { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiError::Service { http_status, .. }
            | ApiError::Unreadable { http_status, .. }
            | ApiError::NotTheApi { http_status, .. } => Some(*http_status),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Service { request_id, .. }
            | ApiError::Unreadable { request_id, .. }
            | ApiError::NotTheApi { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::NotTheApi { .. } => None,
            ApiError::Service { retry_after, .. } | ApiError::Unreadable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The same error with `clean` applied to every free text in it.
    pub fn map_text(self, clean: impl Fn(&str) -> String) -> ApiError {
        match self {
            ApiError::Build { message } => ApiError::Build {
                message: clean(&message),
            },
            ApiError::Send {
                message,
                timeout,
                silent,
            } => ApiError::Send {
                message: clean(&message),
                timeout,
                silent,
            },
            ApiError::Certificate { host, message } => ApiError::Certificate {
                host,
                message: clean(&message),
            },
            ApiError::Service {
                http_status,
                code,
                message,
                request_id,
                kind,
                retry_after,
            } => ApiError::Service {
                http_status,
                code: clean(&code),
                message: clean(&message),
                request_id: request_id.map(|r| clean(&r)),
                kind,
                retry_after,
            },
            ApiError::Unreadable {
                http_status,
                message,
                request_id,
                kind,
                retry_after,
            } => ApiError::Unreadable {
                http_status,
                message: clean(&message),
                request_id: request_id.map(|r| clean(&r)),
                kind,
                retry_after,
            },
            ApiError::NotTheApi {
                http_status,
                message,
                request_id,
            } => ApiError::NotTheApi {
                http_status,
                message: clean(&message),
                request_id: request_id.map(|r| clean(&r)),
            },
        }
    }

    /// Whether the answer was the provider's API speaking: an error in the API's own format,
    /// about this request. What the early stop (`EndpointMismatch`) and "credentials first"
    /// take as proof that the endpoint is the API.
    pub fn from_the_api(&self) -> bool {
        matches!(self, ApiError::Service { .. }) && self.kind() != ErrorKind::NotTheApi
    }

    /// The same error, its message prefixed with where the request went (`url`, as shown,
    /// secrets masked), when the answer shows that place is not the API: the one thing to
    /// check is the endpoint.
    pub fn at(self, url: &str) -> ApiError {
        if self.kind() != ErrorKind::NotTheApi {
            return self;
        }
        self.prefixed(url)
    }

    fn prefixed(self, url: &str) -> ApiError {
        match self {
            ApiError::Service {
                http_status,
                code,
                message,
                request_id,
                kind,
                retry_after,
            } => ApiError::Service {
                http_status,
                code,
                message: format!("{url}: {message}"),
                request_id,
                kind,
                retry_after,
            },
            ApiError::Unreadable {
                http_status,
                message,
                request_id,
                kind,
                retry_after,
            } => ApiError::Unreadable {
                http_status,
                message: format!("{url}: {message}"),
                request_id,
                kind,
                retry_after,
            },
            ApiError::NotTheApi {
                http_status,
                message,
                request_id,
            } => ApiError::NotTheApi {
                http_status,
                message: format!("{url}: {message}"),
                request_id,
            },
            other => other,
        }
    }

    /// The same error with `note` added to its message (why it was not retried). A provider's
    /// placeholder for an answer without a description gives way to the note.
    pub fn noted(self, note: &str) -> ApiError {
        let add = |message: String| {
            if message.is_empty() || message == NO_DESCRIPTION {
                note.to_string()
            } else {
                format!("{message}; {note}")
            }
        };
        match self {
            ApiError::Service {
                http_status,
                code,
                message,
                request_id,
                kind,
                retry_after,
            } => ApiError::Service {
                http_status,
                code,
                message: add(message),
                request_id,
                kind,
                retry_after,
            },
            ApiError::Unreadable {
                http_status,
                message,
                request_id,
                kind,
                retry_after,
            } => ApiError::Unreadable {
                http_status,
                message: add(message),
                request_id,
                kind,
                retry_after,
            },
            ApiError::Send {
                message,
                timeout,
                silent,
            } => ApiError::Send {
                message: add(message),
                timeout,
                silent,
            },
            other => other,
        }
    }

    /// An answer whose body could not be understood, classified by its status alone.
    pub fn unreadable(
        http_status: u16,
        message: impl Into<String>,
        request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> ApiError {
        // A 2xx we cannot read (truncated JSON, a proxy's page) is as transient as a 5xx:
        // revocation is idempotent, so asking again is safe. Other 4xx are never retried.
        let kind = match http_status {
            200..=299 => ErrorKind::Transient,
            s => ErrorKind::from_status(s),
        };
        ApiError::Unreadable {
            http_status,
            message: message.into(),
            request_id,
            kind,
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_contract_retry_rules() {
        for s in [429, 500, 502, 503, 504] {
            assert!(ErrorKind::from_status(s).retryable(), "{s} is retryable");
        }
        for s in [400, 401, 403, 404, 409, 501] {
            assert!(
                !ErrorKind::from_status(s).retryable(),
                "{s} is not retryable"
            );
        }
        assert_eq!(ErrorKind::from_status(401), ErrorKind::Credentials);
    }

    #[test]
    fn unreadable_answers_follow_their_status() {
        assert!(ApiError::unreadable(200, "x", None, None).retryable());
        assert!(ApiError::unreadable(502, "x", None, None).retryable());
        assert!(!ApiError::unreadable(403, "x", None, None).retryable());
    }
}
