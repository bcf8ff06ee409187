//! The wire: a prepared request, the transport that sends it, and what the transport reads
//! from every answer's header fields: the clock a server's `Date` corrects, and the rate limit
//! a server states.

pub mod clock;
pub mod http;
pub mod ratelimit;
