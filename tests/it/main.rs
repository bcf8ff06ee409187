//! The integration tests: one binary. Wiremock stands in for each provider on 127.0.0.1 and
//! the built `revoke` binary is run against it, so these tests see exactly what a user's
//! script sees: stdout, stderr, exit code, and the requests on the wire.

mod support;

mod bi_embed;
mod engine;
mod failures;
mod journal;
mod signals;
