//! The engine under real networks, through the built binary: a dead endpoint (the circuit
//! breaker), a certificate that is not trusted (never retried, the run stops), and a clock that
//! is off (corrected from the server's `Date`).

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

fn tokens(n: usize) -> String {
    (0..n).map(|i| format!("edge-token-{i:04}\n")).collect()
}

/// A port on 127.0.0.1 where nothing listens: every connection is refused.
fn refused() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_dead_endpoint_trips_the_breaker_after_one_target() {
    let run = Revoke::ciam(&refused())
        .args(["--input", "-", "--retries", "1"])
        .stdin(tokens(50))
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 50, "every target recorded");
    let failed: Vec<_> = records.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["code"], "ConnectionError");
    assert_eq!(failed[0]["attempts"], 2);
    let skipped = records
        .iter()
        .filter(|r| r["status"] == "skipped" && r["error"]["code"] == "Unreachable")
        .count();
    assert_eq!(skipped, 49);
    let err = run.stderr();
    assert_eq!(
        err.matches("the endpoint is taken as down").count(),
        1,
        "{err}"
    );
    assert!(err.contains("no answer to 1 target in a row"), "{err}");
}

/// An endpoint that answered and then went silent: five targets in a row with no answer.
#[tokio::test]
async fn an_endpoint_that_goes_silent_trips_after_five() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            if n < 3 {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
            // Later: closed without a byte of answer.
        }
    });
    let run = Revoke::ciam(&format!("http://{addr}"))
        .args(["--input", "-", "--retries", "0", "--concurrency", "1"])
        .stdin(tokens(20))
        .run()
        .await;
    run.assert_code(1);
    let mut records = run.records();
    records.sort_by_key(|r| r["index"].as_u64());
    let statuses: Vec<&str> = records
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(&statuses[..3], ["revoked"; 3]);
    assert_eq!(&statuses[3..8], ["failed"; 5]);
    assert!(
        statuses[8..].iter().all(|s| *s == "skipped"),
        "{statuses:?}"
    );
    assert!(
        run.stderr().contains("no answer to 5 targets in a row"),
        "{}",
        run.stderr()
    );
}

fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A TLS server presenting `localhost.pem` (signed by the test CA); counts handshakes started
/// and answers 200 to every request.
fn tls_server() -> (u16, Arc<AtomicUsize>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture_path("localhost.pem"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
    let key = PrivateKeyDer::from_pem_file(fixture_path("localhost.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let count = handshakes.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, sock);
                let mut buf = [0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                let _ = tls.flush();
            });
        }
    });
    (port, handshakes)
}

#[tokio::test]
async fn an_untrusted_certificate_is_tried_once_and_stops_the_run() {
    let (port, handshakes) = tls_server();
    let started = std::time::Instant::now();
    let run = Revoke::ciam(&format!("https://localhost:{port}"))
        .args(["--input", "-"])
        .stdin(tokens(50))
        .run()
        .await;
    let secs = started.elapsed().as_secs_f64();
    run.assert_code(1);
    assert_eq!(handshakes.load(Ordering::SeqCst), 1, "one handshake in all");
    assert!(secs < 2.0, "{secs:.2} s");
    let records = run.records();
    assert_eq!(records.len(), 50);
    let failed: Vec<_> = records.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["code"], "CertificateError");
    assert_eq!(failed[0]["attempts"], 1);
    assert_eq!(
        records
            .iter()
            .filter(|r| r["status"] == "skipped" && r["error"]["code"] == "CertificateError")
            .count(),
        49
    );
    let err = run.stderr();
    assert_eq!(err.matches("certificate was refused").count(), 1, "{err}");
    assert!(
        err.contains(&format!("localhost:{port}")) && err.contains("SSL_CERT_FILE"),
        "{err}"
    );
}

#[tokio::test]
async fn the_same_certificate_is_accepted_with_its_ca_in_ssl_cert_file() {
    let (port, _) = tls_server();
    let run = Revoke::ciam(&format!("https://localhost:{port}"))
        .env("SSL_CERT_FILE", fixture_path("ca.pem"))
        .args(["--input", "-"])
        .stdin(tokens(3))
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.summary()["summary"]["revoked"], 3);
}

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` are bounded and checked before anything is sent: a device
/// (`/dev/zero` used to grow to 3 GB), a file that is no PEM, one too large, a directory with a
/// garbage file: exit 2 naming the variable, nothing sent, within a memory bound (`ulimit -v`).
/// A directory holding the CA works as the file does.
#[tokio::test]
async fn unusable_ssl_cert_files_are_exit_2_naming_them() {
    let (port, handshakes) = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "hello, not a certificate\n").unwrap();
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let huge = dir.path().join("huge.pem");
    std::fs::write(&huge, vec![b'#'; 5 << 20]).unwrap();
    let junk_dir = dir.path().join("junk");
    std::fs::create_dir(&junk_dir).unwrap();
    std::fs::copy(&broken, junk_dir.join("a.pem")).unwrap();
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let cases = [
        ("SSL_CERT_FILE", "/dev/zero".into(), "not a regular file"),
        ("SSL_CERT_FILE", garbage.clone(), "holds no certificate"),
        ("SSL_CERT_FILE", broken.clone(), "not a PEM file"),
        ("SSL_CERT_FILE", huge.clone(), "larger than 4 MiB"),
        (
            "SSL_CERT_FILE",
            dir.path().join("missing.pem"),
            "No such file",
        ),
        ("SSL_CERT_DIR", junk_dir.clone(), "not a PEM file"),
        ("SSL_CERT_DIR", empty_dir.clone(), "no certificate found"),
    ];
    for (var, path, why) in cases {
        let (mut cmd, _home) = Revoke::ciam(&format!("https://localhost:{port}"))
            .env(var, &path)
            .args(["t1", "t2"])
            .into_parts();
        // Under a memory bound: /dev/zero read whole would not fit.
        let sh = under_ulimit_v(&mut cmd, 1_000_000);
        let mut sh = sh;
        let out = tokio::task::spawn_blocking(move || sh.output().unwrap())
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let what = format!("{var}={}", path.display());
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains("revoke: error:") && err.contains(var) && err.contains(why),
            "{what}: {err}"
        );
        assert!(out.stdout.is_empty(), "{what}");
    }
    assert_eq!(handshakes.load(Ordering::SeqCst), 0, "nothing sent");
    // The CA in a directory is trusted as in a file.
    let ca_dir = dir.path().join("ca");
    std::fs::create_dir(&ca_dir).unwrap();
    std::fs::copy(fixture_path("ca.pem"), ca_dir.join("ca.pem")).unwrap();
    let run = Revoke::ciam(&format!("https://localhost:{port}"))
        .env("SSL_CERT_DIR", &ca_dir)
        .args(["t1"])
        .run()
        .await;
    run.assert_code(0);
}

/// A server whose clock is `skew` seconds ahead of ours: it dates its answers by its clock and
/// refuses a request signed more than `window` seconds away from it, as Tencent (5 minutes,
/// `AuthFailure.SignatureExpire`) and Huawei's gateway (15 minutes, `APIGW.0303`) do.
struct SkewedServer {
    skew: i64,
    window: i64,
    huawei: bool,
    refused: Arc<AtomicUsize>,
    /// How long each answer takes.
    delay: std::time::Duration,
}

impl Respond for SkewedServer {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let server_now = chrono::Utc::now() + chrono::Duration::seconds(self.skew);
        let date = server_now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let signed = if self.huawei {
            req.headers
                .get("x-sdk-date")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ").ok())
                .map(|t| t.and_utc().timestamp())
        } else {
            req.headers
                .get("x-tc-timestamp")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok())
        }
        .unwrap_or(0);
        if (server_now.timestamp() - signed).abs() > self.window {
            self.refused.fetch_add(1, Ordering::SeqCst);
            let refusal = if self.huawei {
                ResponseTemplate::new(401)
                    .insert_header("date", date.as_str())
                    .set_body_string(
                        r#"{"error_msg":"Incorrect app authentication information: current ts:2026","error_code":"APIGW.0303","request_id":"r"}"#,
                    )
            } else {
                ResponseTemplate::new(200)
                    .insert_header("date", date.as_str())
                    .set_body_string(
                        r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"Signature expired. Timestamp and server time cannot differ by more than five minutes."},"RequestId":"r"}}"#,
                    )
            };
            return refusal.set_delay(self.delay);
        }
        let ok = if self.huawei {
            ResponseTemplate::new(200)
        } else {
            ResponseTemplate::new(200)
                .set_body_string(r#"{"Response":{"Data":"ok","RequestId":"r"}}"#)
        };
        ok.insert_header("date", date.as_str())
            .set_delay(self.delay)
    }
}

#[tokio::test]
async fn a_clock_ten_minutes_behind_is_corrected_for_tencent() {
    let server = MockServer::start().await;
    let refused = Arc::new(AtomicUsize::new(0));
    Mock::given(wiremock::matchers::any())
        .respond_with(SkewedServer {
            skew: 600,
            window: 300,
            huawei: false,
            refused: refused.clone(),
            delay: std::time::Duration::ZERO,
        })
        .mount(&server)
        .await;
    let run = Revoke::bi_embed(&server.uri())
        .args(["p1", "p2", "p3", "p4"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.summary()["summary"]["revoked"], 4);
    assert_eq!(
        refused.load(Ordering::SeqCst),
        1,
        "one rejection, then corrected"
    );
    let err = run.stderr();
    assert!(
        err.contains("revoke: warning: local clock is 10m00s behind the server's; corrected")
            || err.contains("revoke: warning: local clock is 9m59s behind the server's; corrected"),
        "{err}"
    );
}

#[tokio::test]
async fn a_clock_twenty_minutes_ahead_is_corrected_for_huawei() {
    let server = MockServer::start().await;
    let refused = Arc::new(AtomicUsize::new(0));
    Mock::given(wiremock::matchers::any())
        .respond_with(SkewedServer {
            skew: -1200,
            window: 900,
            huawei: true,
            refused: refused.clone(),
            delay: std::time::Duration::ZERO,
        })
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["id1", "id2", "id3"])
        .run()
        .await;
    run.assert_code(0);
    assert_eq!(run.summary()["summary"]["revoked"], 3);
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert!(
        run.stderr().contains("ahead of the server's; corrected"),
        "{}",
        run.stderr()
    );
}

/// A Huawei authentication error with a correct clock is the key's fault: never retried (five
/// signature failures lock the key).
/// An interrupt while a request is in flight: its answer says our clock is off, and the
/// request is not signed again and re-sent (a stop ends retrying, this one too: the target
/// keeps the answer it had). At `--rate 0` no rate limiter stood between the correction and
/// the second send.
#[tokio::test]
async fn a_clock_correction_after_an_interrupt_sends_nothing_more() {
    let server = MockServer::start().await;
    let refused = Arc::new(AtomicUsize::new(0));
    Mock::given(wiremock::matchers::any())
        .respond_with(SkewedServer {
            skew: 600,
            window: 300,
            huawei: false,
            refused: refused.clone(),
            delay: std::time::Duration::from_millis(800),
        })
        .mount(&server)
        .await;
    let running = Revoke::bi_embed(&server.uri())
        .args(["--rate", "0", "p1"])
        .spawn();
    let started = std::time::Instant::now();
    while server.received_requests().await.unwrap().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no request"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    running.signal("INT");
    let run = running.wait().await;
    run.assert_code(130);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "re-sent after the interrupt: {}",
        run.stderr()
    );
    let records = run.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "failed", "{}", records[0]);
}

#[tokio::test]
async fn a_huawei_auth_error_with_a_good_clock_is_not_retried() {
    let server = MockServer::start().await;
    let refused = Arc::new(AtomicUsize::new(0));
    Mock::given(wiremock::matchers::any())
        .respond_with(SkewedServer {
            skew: 0,
            window: -1,
            huawei: true,
            refused: refused.clone(),
            delay: std::time::Duration::ZERO,
        })
        .mount(&server)
        .await;
    let run = Revoke::identity_store(&server.uri())
        .args(["id1", "id2"])
        .run()
        .await;
    run.assert_code(3);
    assert_eq!(refused.load(Ordering::SeqCst), 1);
    assert!(!run.stderr().contains("corrected"), "{}", run.stderr());
}

/// A server that answers 429 to everything: three targets in a row throttled through their
/// retries stop the run, the rest `skipped` with code `Throttled`, one stderr line, exit 1.
#[tokio::test]
async fn an_endpoint_that_always_throttles_stops_the_run_after_three() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(429))
        .expect(3)
        .mount(&server)
        .await;
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-", "--retries", "0", "--rate", "0"])
        .stdin(tokens(20))
        .run()
        .await;
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 20, "every target recorded");
    let skipped = records
        .iter()
        .filter(|r| r["status"] == "skipped" && r["error"]["code"] == "Throttled")
        .count();
    assert_eq!(skipped, 17);
    let err = run.stderr();
    assert_eq!(
        err.matches("the server throttled 3 targets in a row")
            .count(),
        1,
        "{err}"
    );
}

/// Out of file descriptors (`ulimit -n 48`, `--concurrency 300`): a local limit, said so with
/// the `ulimit -n` to raise, and never taken for an endpoint that is down.
#[tokio::test]
async fn too_many_open_files_is_a_local_limit_not_an_unreachable_endpoint() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(300)))
        .mount(&server)
        .await;
    let home = tempfile::tempdir().unwrap();
    let input = home.path().join("tokens.txt");
    std::fs::write(&input, tokens(300)).unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
        .args(["-c", "ulimit -n 48 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_revoke"))
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "app"])
        .args([
            "-o",
            "json",
            "--rate",
            "0",
            "--retries",
            "0",
            "--concurrency",
            "300",
        ])
        .arg("--input")
        .arg(&input);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v.get("summary").is_none())
        .collect();
    assert_eq!(records.len(), 300, "{err}");
    let local = records
        .iter()
        .filter(|r| {
            r["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("too many open files: a local limit"))
        })
        .count();
    assert!(local > 0, "the limit was reached: {err}");
    assert!(
        records.iter().all(|r| r["error"]["code"] != "Unreachable"),
        "the breaker blamed the endpoint: {err}"
    );
    assert!(!err.contains("the endpoint is taken as down"), "{err}");
    assert_eq!(
        err.matches("revoke: warning: too many open files: a local limit, not the server: raise it with `ulimit -n N` (now 48)").count(),
        1,
        "{err}"
    );
}

/// A server whose `Date` is far from now (a hostile one, or a broken one), answering every
/// request with the provider's "the signature's time is off" error.
struct FarDate {
    date: &'static str,
    huawei: bool,
}

impl Respond for FarDate {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        if self.huawei {
            ResponseTemplate::new(401)
                .insert_header("date", self.date)
                .set_body_string(
                    r#"{"error_msg":"Incorrect app authentication information: current ts:2026","error_code":"APIGW.0303","request_id":"r"}"#,
                )
        } else {
            ResponseTemplate::new(200)
                .insert_header("date", self.date)
                .set_body_string(
                    r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureExpire","Message":"Signature expired. Timestamp and server time cannot differ by more than five minutes."},"RequestId":"r"}}"#,
                )
        }
    }
}

/// The time each request received was signed at (`X-TC-Timestamp`, `X-Sdk-Date`).
fn signed_times(requests: &[Request], huawei: bool) -> Vec<i64> {
    requests
        .iter()
        .map(|r| {
            let v = if huawei {
                header(r, "x-sdk-date").and_then(|v| {
                    chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ")
                        .ok()
                        .map(|t| t.and_utc().timestamp())
                })
            } else {
                header(r, "x-tc-timestamp").and_then(|v| v.parse::<i64>().ok())
            };
            v.unwrap_or_else(|| panic!("a request without its signed time: {r:?}"))
        })
        .collect()
}

/// CLI.md, "Clock correction is bounded": a `Date` more than 24 h from the local clock is never
/// used. The first target fails `ClockSkew`, naming both times; nothing is signed at the
/// server's time (every request the server saw carries a time within 24 h of now); the rest
/// are skipped, exit 1.
#[tokio::test]
async fn a_date_of_1900_or_9999_is_never_signed_for_tencent_or_huawei() {
    for (huawei, date, year) in [
        (false, "Mon, 01 Jan 1900 00:00:00 GMT", "1900-01-01"),
        (false, "Fri, 31 Dec 9999 23:59:59 GMT", "9999-12-31"),
        (true, "Mon, 01 Jan 1900 00:00:00 GMT", "1900-01-01"),
        (true, "Fri, 31 Dec 9999 23:59:59 GMT", "9999-12-31"),
    ] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(FarDate { date, huawei })
            .mount(&server)
            .await;
        let run = if huawei {
            Revoke::identity_store(&server.uri()).args(["id1", "id2", "id3"])
        } else {
            Revoke::bi_embed(&server.uri()).args(["p1", "p2", "p3"])
        }
        .run()
        .await;
        let now = chrono::Utc::now();
        let what = format!("huawei {huawei}, Date {date}");
        run.assert_code(1);
        let received = server.received_requests().await.unwrap();
        assert!(!received.is_empty(), "{what}");
        for t in signed_times(&received, huawei) {
            assert!(
                (now.timestamp() - t).abs() < 24 * 3600,
                "{what}: a request signed at {t}, now is {}",
                now.timestamp()
            );
        }
        let records = run.records();
        assert_eq!(records.len(), 3, "{what}: {}", run.stdout());
        let first = &records[0];
        assert_eq!(first["status"], "failed", "{what}: {first}");
        assert_eq!(first["error"]["code"], "ClockSkew", "{what}: {first}");
        let message = first["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(year),
            "{what}: the server's time: {message}"
        );
        assert!(
            message.contains(&now.format("%Y-%m-%d").to_string()),
            "{what}: the local time: {message}"
        );
        for r in &records[1..] {
            assert_eq!(r["status"], "skipped", "{what}: {r}");
            assert_eq!(r["error"]["code"], "ClockSkew", "{what}: {r}");
        }
        let err = run.stderr();
        assert!(!err.contains("corrected"), "{what}: {err}");
        assert!(err.contains("(code ClockSkew)"), "{what}: {err}");
        run.assert_no_secret(&[TC_KEY, HW_SK]);
    }
}
