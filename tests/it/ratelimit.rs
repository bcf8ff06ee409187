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
