//! `--rate auto` and the rate limits servers state in their answers' fields.

use wiremock::matchers as m;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn a_stated_limit_is_ridden_without_probing() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("ratelimit-policy", "\"default\";q=4;w=1"),
        )
        .expect(5)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let run = Revoke::ciam(&server.uri())
        .args(["--rate", "auto", "-v", "--input", "-"])
        .stdin("t1\nt2\nt3\nt4\nt5\n")
        .run()
        .await;
    run.assert_code(0);
    assert!(
        run.stderr().contains("--rate auto: now 4.0 requests/s"),
        "{}",
        run.stderr()
    );
    // Four more after the first answer, 1.03 / 4 s apart.
    let secs = started.elapsed().as_secs_f64();
    assert!(secs >= 0.9, "held to 4/s: {secs:.2} s");
}

/// Under `--rate auto` a throttled answer slows the run, and its retry waits for the limiter
/// only, not for a backoff of its own (which would hold a run against a server that throttles
/// a share of requests whatever the rate for a chain of waits at its end). The server said no
/// `Retry-After`.
#[tokio::test]
async fn a_throttled_answer_under_rate_auto_is_retried_at_the_limiters_pace() {
    let server = MockServer::start().await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(m::method("POST"))
        .and(m::path("/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--rate", "auto", "-v", "t1"])
        .run()
        .await;
    run.assert_code(0);
    assert!(
        run.stderr().contains("attempt 1 failed") && run.stderr().contains("retrying in 0 ms"),
        "{}",
        run.stderr()
    );
    // The retry was a free one: the record counts both attempts.
    assert!(run.stdout().contains("revoked"), "{}", run.stdout());
}
