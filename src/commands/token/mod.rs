//! The building blocks of `revoke token`, where the provider is not named: what a token is
//! ([`jwt`]), where it may be sent ([`route`]), and the leaks a secret scanner found
//! ([`findings`]). Each is pure or reads one file; the command that groups the routed tokens into
//! one plan and runs it is built on them.
//!
//! - [`jwt::classify`]`(&str) -> `[`jwt::Classified`]: a JWT's claims (signature not checked),
//!   or opaque with a reason.
//! - [`route::decide`]`(&Classified, &Destinations, Option<&DefaultRoute>, discover) ->
//!   `[`route::Decision`]: the configured context a token goes to, or `UnknownIssuer`. No
//!   credential ever goes to an issuer that no context names; `--discover` only to a public
//!   https issuer, and [`route::PublicOnly`] keeps its connections off private addresses.
//! - [`findings::read`]`(path, Option<Format>)`: gitleaks and trufflehog reports, one result per
//!   finding.

pub mod findings;
pub mod jwt;
pub mod route;
