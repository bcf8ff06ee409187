//! The network edge: proxies from the environment, and TLS and DNS failures that name the host.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::*;

/// A listener that records the first line of each connection and answers `reply` (or nothing).
fn first_lines(reply: &'static [u8]) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            log.lock().unwrap().push(line.trim_end().to_string());
            let _ = stream.write_all(reply);
        }
    });
    (format!("http://{addr}"), seen)
}

fn ciam(endpoint: &str) -> Revoke {
    Revoke::new()
        .env("CIAM_CLIENT_SECRET", "proxy-test-secret")
        .args([
            "ciam",
            "--endpoint",
            endpoint,
            "--client-id",
            "app",
            "--retries",
            "0",
        ])
        .args(["-o", "json", "--input", "-"])
        .stdin("proxy-test-token\n")
}

#[tokio::test]
async fn https_proxy_from_the_environment_is_used_and_no_proxy_bypasses_it() {
    let (proxy, seen) = first_lines(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    let run = ciam("https://revoke-proxy-test.invalid")
        .env("HTTPS_PROXY", &proxy)
        .run()
        .await;
    run.assert_code(1);
    assert_eq!(
        seen.lock().unwrap().clone(),
        ["CONNECT revoke-proxy-test.invalid:443 HTTP/1.1"],
        "the request went through the proxy"
    );
    let run = ciam("https://revoke-proxy-test.invalid")
        .env("https_proxy", &proxy)
        .env("NO_PROXY", "revoke-proxy-test.invalid")
        .run()
        .await;
    run.assert_code(1);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "NO_PROXY kept it off the proxy"
    );
    run.assert_no_secret(&["proxy-test-secret", "proxy-test-token"]);
}

#[tokio::test]
async fn dns_and_tls_failures_name_the_host() {
    let run = ciam("https://revoke-dns-test.invalid").run().await;
    run.assert_code(1);
    let e = &run.records()[0]["error"];
    assert_eq!(e["code"], "ConnectionError");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.starts_with("revoke-dns-test.invalid:"), "{msg}");
    assert!(msg.contains("dns error"), "{msg}");

    // A server that does not speak TLS, reached over https.
    let (plain, _) = first_lines(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    let https = plain.replace("http://", "https://");
    let run = ciam(&https).run().await;
    run.assert_code(1);
    let msg = run.records()[0]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let host = https.trim_start_matches("https://");
    assert!(msg.starts_with(&format!("{host}:")), "{msg}");
    run.assert_no_secret(&["proxy-test-secret", "proxy-test-token"]);
}

/// curl reads `NO_PROXY=*` as "no proxy for any host", IP addresses included.
#[tokio::test]
async fn no_proxy_star_bypasses_the_proxy_for_every_host_as_curl_does() {
    let (proxy, through_proxy) =
        first_lines(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    let (api, direct) = first_lines(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    for no_proxy in [("NO_PROXY", "*"), ("no_proxy", "*")] {
        let run = ciam(&api)
            .env("HTTP_PROXY", &proxy)
            .env(no_proxy.0, no_proxy.1)
            .run()
            .await;
        run.assert_code(0);
    }
    assert!(
        through_proxy.lock().unwrap().is_empty(),
        "nothing went through the proxy"
    );
    assert_eq!(direct.lock().unwrap().len(), 2);
}
