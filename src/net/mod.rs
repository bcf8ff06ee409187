//! The wire: a prepared request, the transport that sends it, and the clock a server's `Date`
//! corrects.

pub mod clock;
pub mod http;
