//! The integration tests: one binary. Wiremock stands in for each provider on 127.0.0.1 and
//! the built `revoke` binary is run against it, so these tests see exactly what a user's
//! script sees: stdout, stderr, exit code, and the requests on the wire. What wiremock cannot
//! do (a reset connection, no answer, an answer cut short) comes from `support::RawServer`.
//!
//! `engine` is the exception: it drives `revoke::engine::run` in-process against a scripted
//! fake provider on tokio's paused clock, to assert timing (backoff, rate, stopping) exactly.

mod support;

mod bi_embed;
mod ciam;
mod cli;
mod cloudbase;
pub mod config;
mod edges;
mod engine;
mod evidence;
mod failures;
mod hostile;
mod identity_store;
mod journal;
mod layout;
mod lines;
mod manual;
mod network;
mod oauth;
mod operator;
mod plan;
mod ratelimit;
mod readme;
mod secrets;
mod signals;
mod smh;
mod token;
mod verify;
