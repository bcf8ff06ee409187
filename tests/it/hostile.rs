//! A hostile server, for what wiremock cannot do: it answers with raw bytes that it builds from
//! the exact bytes it received (the request echoed back whole, headers as they crossed the
//! wire), sends headers or a body that never end, forges lines with control characters, and
//! redirects. And the local side of hostility: stdout, stderr and the journal on a full disk or
//! a closed descriptor.
//!
//! Every server here listens on 127.0.0.1 only.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::support::*;

/// What the hostile server does with one request.
pub enum Act {
    /// Write these bytes as the whole answer, then close.
    Raw(Vec<u8>),
    /// `HTTP/1.1 200 OK` and then header lines, forever.
    EndlessHeaders,
    /// `HTTP/1.1 {status}` with a chunked body that never ends.
    EndlessBody(u16),
}

pub struct Hostile {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Hostile {
    pub fn start(act: impl Fn(&[u8]) -> Act + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let act = Arc::new(act);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, act) = (log.clone(), act.clone());
                std::thread::spawn(move || serve(stream, &log, &*act));
            }
        });
        Hostile { addr, seen }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The raw requests received, head and body, in order.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.seen.lock().unwrap().clone()
    }
}

/// One request per connection: read it whole (head bounded at 1 MiB), log it, act.
fn serve(mut stream: TcpStream, log: &Mutex<Vec<Vec<u8>>>, act: &(dyn Fn(&[u8]) -> Act + Sync)) {
    let mut req = Vec::new();
    let mut byte = [0u8; 1];
    while !req.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => req.push(byte[0]),
            _ => return,
        }
        if req.len() > 1 << 20 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&req).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if stream.read_exact(&mut body).is_err() {
        return;
    }
    req.extend_from_slice(&body);
    log.lock().unwrap().push(req.clone());
    match act(&req) {
        Act::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
        }
        Act::EndlessHeaders => {
            if stream.write_all(b"HTTP/1.1 200 OK\r\n").is_ok() {
                let line = format!("x-filler: {}\r\n", "a".repeat(1000));
                while stream.write_all(line.as_bytes()).is_ok() {}
            }
        }
        Act::EndlessBody(status) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            if stream.write_all(head.as_bytes()).is_ok() {
                let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                while stream.write_all(chunk.as_bytes()).is_ok() {}
            }
        }
    }
}

/// An HTTP answer with `status`, JSON content and `body`, closing the connection.
fn answer(status: u16, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The whole raw request, as a JSON string (escaped PHP-style, `\/`), placed in every field of
/// every provider's success or error shape.
fn echo_body(req: &[u8], error: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(req).into_owned();
    let v = if error {
        serde_json::json!({
            "Response": {"Error": {"Code": "InvalidParameter", "Message": text}, "RequestId": text},
            "code": "ParamInvalid", "message": text, "requestId": text,
            "error": "invalid_request", "error_description": text,
            "error_code": "APIGW.0201", "error_msg": text, "request_id": text,
        })
    } else {
        serde_json::json!({
            "Response": {"Data": {"echo": text}, "RequestId": text},
            "requestId": text, "request_id": text, "data": text,
        })
    };
    serde_json::to_string(&v)
        .unwrap()
        .replace('/', "\\/")
        .into_bytes()
}

/// Each provider, with sentinel credentials and two targets, and the sentinels to look for.
fn providers(uri: &str) -> Vec<(&'static str, Revoke, Vec<&'static str>)> {
    PROVIDERS
        .iter()
        .map(|p| (p.name, (p.hostile.build)(uri), p.hostile.secrets.to_vec()))
        .collect()
}

/// The raw request echoed back in the answer, for every provider, every status class, at
/// -vvv, in text and JSON: no sentinel anywhere, and the echo does arrive (masked).
#[tokio::test]
async fn echoed_raw_requests_never_print_a_secret() {
    for status in [200u16, 204, 302, 400, 401, 404, 429, 500] {
        let server = Hostile::start(move |req| {
            let location = if status == 302 {
                "Location: http://127.0.0.1:9/steal\r\n"
            } else {
                ""
            };
            // The echo as a header too: request ids come from `x-request-id`.
            let one_line: String = String::from_utf8_lossy(req)
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '|'
                    }
                })
                .collect();
            let headers = format!("{location}x-request-id: {one_line}\r\n");
            let body = if status == 204 {
                Vec::new()
            } else {
                echo_body(req, status >= 300)
            };
            Act::Raw(answer(status, &headers, &body))
        });
        for output in ["text", "json"] {
            for (name, cmd, secrets) in providers(&server.uri()) {
                let what = format!("{name} HTTP {status} {output}");
                // --rate 0: the echo is what is tested here; under --rate auto an always-429
                // server would cost up to eight free throttled attempts per target at a falling
                // rate (about 15 s a run), for no more coverage of the scrubbing.
                let run = cmd
                    .args(["-vvv", "-o", output, "--retries", "0", "--rate", "0"])
                    .run()
                    .await;
                assert!(
                    [0, 1, 3].contains(&run.code()),
                    "{what}: exit {}: {}",
                    run.code(),
                    run.stderr()
                );
                for s in &secrets {
                    assert!(
                        !run.stdout().contains(s),
                        "{what}: {s} in stdout:\n{}",
                        run.stdout()
                    );
                    assert!(
                        !run.stderr().contains(s),
                        "{what}: {s} in stderr:\n{}",
                        run.stderr()
                    );
                }
                // The positive control: the echo reached the output, masked.
                if status == 302 {
                    // Refused before its body is read: the record names the redirect.
                    assert!(run.stdout().contains("RedirectRefused"), "{what}");
                } else if status != 204 {
                    let all = format!("{}{}", run.stdout(), run.stderr());
                    assert!(
                        all.contains("HTTP/1.1") && all.contains("***"),
                        "{what}: the echo did not arrive:\n{all}"
                    );
                }
            }
        }
    }
}

/// A provider message with a terminal escape and a newline that forges a whole record line.
#[tokio::test]
async fn control_characters_never_reach_the_terminal_and_never_forge_a_line() {
    let forged = "bad\u{1b}[2J\u{1b}]0;pwned\u{7}\nrevoked         ciam token=sha256:ffffffffffff  (HTTP 200)\r\u{202e}x\u{85}";
    // (hyper itself refuses a control character in a header: the body is where they get in.)
    let body = serde_json::json!({"error": "invalid_request", "error_description": forged});
    let body = serde_json::to_vec(&body).unwrap();
    let server = Hostile::start(move |_| Act::Raw(answer(400, "", &body)));
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args([
            "ciam",
            "--endpoint",
            &server.uri(),
            "--client-id",
            "c",
            "-v",
        ])
        .args(["tok-aaaa", "tok-bbbb"])
        .run()
        .await;
    run.assert_code(1);
    let out = run.stdout();
    assert_eq!(out.lines().count(), 2, "one line per record:\n{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("revoked")).count(),
        0,
        "a forged line:\n{out}"
    );
    for text in [&out, &run.stderr()] {
        assert!(!text.contains('\u{1b}'), "a raw ESC:\n{text:?}");
        assert!(!text.contains('\u{7}') && !text.contains('\r'), "{text:?}");
        assert!(
            !text.contains('\u{202e}') && !text.contains('\u{85}'),
            "{text:?}"
        );
    }
    assert!(
        out.contains("\\u{1b}[2J") && out.contains("\\nrevoked"),
        "{out}"
    );
}

/// 3xx is never followed: the record says where it pointed, and nothing reaches that place.
#[tokio::test]
async fn redirects_are_refused_and_say_where_to() {
    let elsewhere = Hostile::start(|_| Act::Raw(answer(200, "", b"{}")));
    let location = format!("{}/steal?x=1", elsewhere.uri());
    let loc = location.clone();
    let server =
        Hostile::start(move |_| Act::Raw(answer(307, &format!("Location: {loc}\r\n"), b"")));
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
        .args(["-o", "json", "tok-aaaa"])
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_eq!(r["status"], "failed");
    assert_eq!(r["http_status"], 307);
    assert_eq!(r["error"]["code"], "RedirectRefused");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&location), "{msg}");
    assert_eq!(server.requests().len(), 1, "not retried");
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
}

/// Headers that never end, and a body that never ends: each target fails with a bounded error,
/// the run ends, memory stays bounded.
#[tokio::test]
async fn endless_headers_and_bodies_end_with_a_named_bound() {
    let headers = Hostile::start(|_| Act::EndlessHeaders);
    let body = Hostile::start(|_| Act::EndlessBody(200));
    for (server, needle) in [(&headers, ""), (&body, "answer larger than 1024 KiB")] {
        let run = Revoke::new()
            .env("CIAM_CLIENT_SECRET", "s3cret-value")
            .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
            .args([
                "-o",
                "json",
                "--retries",
                "1",
                "--timeout",
                "10",
                "tok-a",
                "tok-b",
            ])
            .run()
            .await;
        run.assert_code(1);
        let records = run.records();
        assert_eq!(records.len(), 2, "{}", run.stdout());
        for r in &records {
            assert_eq!(r["status"], "failed");
            let msg = r["error"]["message"].as_str().unwrap();
            assert!(msg.contains(needle), "{msg}");
        }
    }
}

/// A 1 MiB error message is cut to 1 KiB in each record: 20 targets are not 20 MB of stdout.
#[tokio::test]
async fn huge_error_messages_are_cut_to_one_kib() {
    let huge = "m".repeat(900 * 1024);
    let body = serde_json::to_vec(
        &serde_json::json!({"error": "invalid_request", "error_description": huge}),
    )
    .unwrap();
    let server = Hostile::start(move |_| Act::Raw(answer(400, "", &body)));
    let tokens: Vec<String> = (0..20).map(|i| format!("token-{i:04}")).collect();
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args([
            "ciam",
            "--endpoint",
            &server.uri(),
            "--client-id",
            "c",
            "-o",
            "json",
        ])
        .args(&tokens)
        .run()
        .await;
    run.assert_code(1);
    assert!(
        run.stdout().len() < 40 * 1024,
        "{} bytes",
        run.stdout().len()
    );
    for r in run.records() {
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(
            msg.len() < 1100 && msg.contains("[cut at 1024 bytes of"),
            "{}",
            msg.len()
        );
    }
}

/// Runs `cmd` with stdout and stderr wired as given; returns (exit code, stdout if piped,
/// stderr if piped).
fn run_wired(cmd: Revoke, stdout: Stdio, stderr: Stdio, stdin: &[u8]) -> (i32, String, String) {
    let (mut cmd, _home) = cmd.into_parts();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn accepting_ciam(server: &Hostile) -> Revoke {
    Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
        .args(["--input", "-"])
}

fn full() -> Stdio {
    Stdio::from(
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

/// stdout on a full disk: said once on stderr, exit 1, and the journal still written.
#[tokio::test]
async fn a_full_stdout_is_reported_and_the_run_goes_on() {
    let server = Hostile::start(|_| Act::Raw(answer(200, "", b"")));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j");
    for output in ["text", "json"] {
        let _ = std::fs::remove_file(&journal);
        let cmd = accepting_ciam(&server)
            .args(["-o", output, "--journal"])
            .args([&journal]);
        let (code, _, err) = tokio::task::spawn_blocking(move || {
            run_wired(cmd, full(), Stdio::piped(), b"tok-1\ntok-2\ntok-3\n")
        })
        .await
        .unwrap();
        assert_eq!(code, 1, "{output}: {err}");
        assert_eq!(
            err.matches("cannot write the records to stdout").count(),
            1,
            "{output}: {err}"
        );
        assert!(err.contains("No space left on device"), "{err}");
        let lines = std::fs::read_to_string(&journal).unwrap();
        assert_eq!(lines.lines().count(), 3, "{output}: journal:\n{lines}");
    }
}

/// stdout closed (`>&-`): the same, exit 1.
#[tokio::test]
async fn a_closed_stdout_is_reported() {
    use std::os::unix::process::CommandExt;
    let server = Hostile::start(|_| Act::Raw(answer(200, "", b"")));
    let (mut cmd, _home) = accepting_ciam(&server).args(["-o", "json"]).into_parts();
    // Close descriptor 1 in the child before it runs.
    unsafe {
        cmd.pre_exec(|| {
            libc_close(1);
            Ok(())
        });
    }
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"tok-1\n").unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write the records to stdout"), "{err}");
}

unsafe extern "C" {
    #[link_name = "close"]
    fn libc_close_raw(fd: i32) -> i32;
}

fn libc_close(fd: i32) {
    // SAFETY: closing a descriptor number in a freshly forked child before exec.
    unsafe {
        libc_close_raw(fd);
    }
}

/// A closed pipe (`| head -1`) ends the output silently: exit 0, no error.
#[tokio::test]
async fn a_closed_pipe_ends_the_output_silently() {
    let server = Hostile::start(|_| Act::Raw(answer(200, "", b"")));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j");
    let input: String = (0..2000).map(|i| format!("tok-{i:05}\n")).collect();
    let (mut cmd, _home) = accepting_ciam(&server)
        .args(["--concurrency", "8", "--journal"])
        .args([&journal])
        .into_parts();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line of stdout, then close it, as `head -1` does.
        let mut stdout = child.stdout.take().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        writer.join().unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("cannot write"), "{err}");
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        lines.lines().count(),
        2000,
        "every target still revoked and journaled"
    );
}

/// stderr on a full disk never aborts the run: every record is still on stdout, exit 0 (in text
/// mode the summary goes to stderr: it used to abort the process with exit 134).
#[tokio::test]
async fn a_full_stderr_never_aborts_the_run() {
    let server = Hostile::start(|_| Act::Raw(answer(200, "", b"")));
    for output in ["text", "json"] {
        // Plain-argument tokens draw a warning; -vv logs every request: lots of stderr.
        let cmd = Revoke::new()
            .env("CIAM_CLIENT_SECRET", "s3cret-value")
            .args([
                "ciam",
                "--endpoint",
                &server.uri(),
                "--client-id",
                "c",
                "-vv",
            ])
            .args(["-o", output, "tok-1", "tok-2", "tok-3"]);
        let (code, out, _) =
            tokio::task::spawn_blocking(move || run_wired(cmd, Stdio::piped(), full(), b""))
                .await
                .unwrap();
        assert_eq!(code, 0, "{output}");
        let lines: Vec<&str> = out.lines().collect();
        if output == "json" {
            assert_eq!(lines.len(), 4, "three records and the summary:\n{out}");
            assert!(
                lines
                    .iter()
                    .all(|l| serde_json::from_str::<Value>(l).is_ok())
            );
        } else {
            assert_eq!(lines.len(), 3, "three records:\n{out}");
            assert!(lines.iter().all(|l| l.starts_with("revoked")), "{out}");
        }
    }
}

/// `revoke completions bash > /dev/full` says so and exits 2 (nothing was sent); it used to panic.
#[tokio::test]
async fn completions_to_a_full_disk_is_an_error_not_a_panic() {
    let cmd = Revoke::new().args(["completions", "bash"]);
    let (code, _, err) =
        tokio::task::spawn_blocking(move || run_wired(cmd, full(), Stdio::piped(), b""))
            .await
            .unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("revoke: error: cannot write"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `--journal /dev/full` is refused before anything is sent (it grew the process to 24 GB).
#[tokio::test]
async fn a_journal_that_is_not_a_regular_file_is_refused() {
    let server = Hostile::start(|_| Act::Raw(answer(200, "", b"")));
    let run = accepting_ciam(&server)
        .args(["--journal", "/dev/full"])
        .stdin("tok-1\n")
        .run()
        .await;
    run.assert_usage("not a regular file");
    assert!(server.requests().is_empty());
}

/// In text mode the summary (stderr) comes after the last record (stdout), even when both go
/// to one file: the records were still in the output buffer when the summary was written.
#[tokio::test]
async fn the_text_summary_is_written_after_the_last_record() {
    let server = Hostile::start(|_| Act::Raw(answer(200, "", b"")));
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both");
    let file = std::fs::File::create(&both).unwrap();
    let (mut cmd, _home) = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
        .args(["--input", "-", "--no-progress"])
        .into_parts();
    let input: String = (0..50).map(|i| format!("tok-{i:03}\n")).collect();
    let status = tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&both).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 51, "{text}");
    assert!(
        lines[50].starts_with("ciam: 50 targets: 50 revoked; exit 0"),
        "the summary is not last:\n{text}"
    );
}

/// A proxy on 127.0.0.1 that echoes the request head it received (Proxy-Authorization
/// included) as its answer's body and request id, as a 502, a 400 and a 200: the proxy's
/// credentials, raw, percent-encoded, decoded or in base64 (`Basic`), are never printed.
#[tokio::test]
async fn an_echoing_proxy_never_prints_the_proxy_credentials() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("proxyuser:hostile/Proxy@Pw07");
    // The base64 text whose last characters depend on the padding is left out.
    let basic_core = basic[..basic.len() - 4].to_string();
    let secrets = [
        "hostile/Proxy@Pw07",
        "hostile%2FProxy%40Pw07",
        basic_core.as_str(),
    ];
    for status in [502u16, 400, 200] {
        let proxy = Hostile::start(move |req| {
            let one_line: String = String::from_utf8_lossy(req)
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '|'
                    }
                })
                .collect();
            let headers = format!("x-request-id: {one_line}\r\n");
            Act::Raw(answer(status, &headers, &echo_body(req, status >= 300)))
        });
        let url = format!("http://proxyuser:hostile%2FProxy%40Pw07@{}", proxy.addr);
        // The endpoint is never reached directly: every request goes through the proxy.
        let endpoint = "http://127.0.0.1:9";
        for variable in ["HTTP_PROXY", "http_proxy", "ALL_PROXY"] {
            for output in ["text", "json"] {
                for (name, cmd, _) in providers(endpoint) {
                    let what = format!("{name} {variable} HTTP {status} {output}");
                    let run = cmd
                        .env(variable, &url)
                        .args(["-vvv", "-o", output, "--retries", "0"])
                        .run()
                        .await;
                    assert!(
                        [0, 1, 3].contains(&run.code()),
                        "{what}: exit {}: {}",
                        run.code(),
                        run.stderr()
                    );
                    run.assert_no_secret(&secrets);
                    // The positive control: the request went through the proxy, which echoed
                    // its Proxy-Authorization header back, masked.
                    let all = format!("{}{}", run.stdout(), run.stderr()).to_ascii_lowercase();
                    assert!(
                        all.contains("proxy-authorization: basic ***"),
                        "{what}: the proxy's echo did not arrive:\n{all}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Endpoints that are not the API (CLI.md): a sign-in page is not a revocation, and a wrong
// endpoint gets at most 3 targets' secrets.

const SIGN_IN: &str = include_str!("../fixtures/not_the_api/sign_in_corp_sso.html");
const NOT_FOUND: &str = include_str!("../fixtures/not_the_api/not_found_nginx.html");

/// A server answering every request with `status` and `page` as `text/html`.
async fn page_server(status: u16, page: &'static str) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(status).set_body_raw(page, "text/html"))
        .mount(&server)
        .await;
    server
}

/// A corporate SSO gateway answers every request `200 text/html` "Sign in - Corp SSO": no
/// provider records `revoked`; each target is `failed` with code `NotTheApi`, not retried, and
/// the run exits 1.
#[tokio::test]
async fn a_sign_in_page_is_never_a_revocation_for_any_provider() {
    let server = page_server(200, SIGN_IN).await;
    for (name, cmd, sentinels) in providers(&server.uri()) {
        let run = cmd.args(["-o", "json"]).run().await;
        run.assert_code(1);
        let records = run.records();
        // smh sends its two user ids in one request (one record).
        let want = Provider::named(name).records;
        assert_eq!(records.len(), want, "{name}: {}", run.stdout());
        for r in &records {
            assert_eq!(r["status"], "failed", "{name}: {r}");
            assert_eq!(r["http_status"], 200, "{name}: {r}");
            assert_eq!(r["error"]["code"], "NotTheApi", "{name}: {r}");
            assert_eq!(r["error"]["retryable"], false, "{name}: {r}");
            assert_eq!(r["attempts"], 1, "{name}: {r}");
            let message = r["error"]["message"].as_str().unwrap();
            assert!(message.contains("Sign in - Corp SSO"), "{name}: {message}");
        }
        assert_eq!(run.summary()["summary"]["revoked"], 0, "{name}");
        run.assert_no_secret(&sentinels);
    }
}

/// The 30 records of a run stopped early: the first `sent` failed with `code`, the rest
/// skipped `EndpointMismatch`, exit 1, one stderr line naming `endpoint` and the answer.
#[track_caller]
fn assert_stopped_early(run: &Run, sent: usize, code: &str, endpoint: &str, answer: &str) {
    run.assert_code(1);
    let records = run.records();
    assert_eq!(records.len(), 30, "one record per target: {}", run.stdout());
    for (i, r) in records.iter().enumerate() {
        assert_record_schema(r);
        if i < sent {
            assert_eq!(r["status"], "failed", "{r}");
            assert_eq!(r["error"]["code"], code, "{r}");
        } else {
            assert_eq!(r["status"], "skipped", "{r}");
            assert_eq!(r["error"]["code"], "EndpointMismatch", "{r}");
            assert_eq!(r["attempts"], 0, "{r}");
        }
    }
    let err = run.stderr();
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("EndpointMismatch"))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("revoke: error: "), "{err}");
    assert!(lines[0].contains(endpoint), "names the endpoint: {err}");
    assert!(lines[0].contains(answer), "names the answer: {err}");
}

/// `--endpoint http://host/wrong` with 30 tokens, whatever `--concurrency`: 3 requests (each
/// carrying the client secret) reach the 404 page, not 30.
#[tokio::test]
async fn thirty_tokens_to_a_wrong_endpoint_send_at_most_three() {
    let server = page_server(404, NOT_FOUND).await;
    let tokens: String = (0..30)
        .map(|i| format!("wrongEndpointTok{i:02}\n"))
        .collect();
    let endpoint = format!("{}/wrong", server.uri());
    let run = Revoke::ciam(&endpoint)
        .args(["--input", "-", "--concurrency", "16", "--rate", "0"])
        .stdin(tokens)
        .run()
        .await;
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3, "requests received: {}", run.stdout());
    assert_stopped_early(
        &run,
        3,
        "UnreadableResponse",
        "/wrong/oauth2/revoke",
        "404 Not Found",
    );
    let r = &run.records()[0];
    assert_eq!(r["http_status"], 404);
    run.assert_no_secret(&[CIAM_SECRET, "wrongEndpointTok"]);
}

/// The same with a 200 sign-in page: 3 requests, the rest skipped.
#[tokio::test]
async fn thirty_tokens_to_a_sign_in_page_send_at_most_three() {
    let server = page_server(200, SIGN_IN).await;
    let tokens: String = (0..30).map(|i| format!("signInPageTok{i:02}\n")).collect();
    let run = Revoke::cloudbase(&server.uri())
        .args(["--input", "-", "--concurrency", "16", "--rate", "0"])
        .stdin(tokens)
        .run()
        .await;
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_stopped_early(&run, 3, "NotTheApi", &server.uri(), "Sign in - Corp SSO");
    run.assert_no_secret(&["signInPageTok"]);
}

/// identity-store documents its 404 (the token is not there): 30 of them are the API
/// speaking, `not_found`, and every target is sent.
#[tokio::test]
async fn a_documented_404_never_stops_the_run() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("DELETE"))
        .respond_with(wiremock::ResponseTemplate::new(404).set_body_raw(
            fixture("identity_store/error_not_found.json"),
            "application/json",
        ))
        .expect(30)
        .mount(&server)
        .await;
    let ids: String = (0..30).map(|i| format!("tok-{i:02}\n")).collect();
    let run = Revoke::identity_store(&server.uri())
        .args(["--input", "-", "--missing-ok"])
        .stdin(ids)
        .run()
        .await;
    run.assert_code(0);
    server.verify().await;
    assert!(run.records().iter().all(|r| r["status"] == "not_found"));
}

/// Once the API itself has answered, later 404 pages are failures of their targets, not a
/// reason to stop: the endpoint was shown to be the API.
#[tokio::test]
async fn pages_after_an_answer_from_the_api_do_not_stop_the_run() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(404).set_body_raw(NOT_FOUND, "text/html"))
        .mount(&server)
        .await;
    let tokens: String = (0..8).map(|i| format!("afterApiTok{i:02}\n")).collect();
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-"])
        .stdin(tokens)
        .run()
        .await;
    run.assert_code(1);
    assert_eq!(server.received_requests().await.unwrap().len(), 8);
    let records = run.records();
    assert_eq!(records[0]["status"], "revoked");
    assert!(records[1..].iter().all(|r| r["status"] == "failed"));
    assert!(
        !run.stderr().contains("EndpointMismatch"),
        "{}",
        run.stderr()
    );
}

/// An unreadable 4xx page says nothing about the credentials either: it does not open the run to
/// `--concurrency` requests at once, so the 404 pages that follow still stop it after three.
#[tokio::test]
async fn a_page_never_confirms_the_credentials() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(400).set_body_raw(SIGN_IN, "text/html"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(404).set_body_raw(NOT_FOUND, "text/html"))
        .mount(&server)
        .await;
    let tokens: String = (0..30).map(|i| format!("pageCredTok{i:02}\n")).collect();
    let run = Revoke::ciam(&server.uri())
        .args(["--input", "-", "--concurrency", "16", "--rate", "0"])
        .stdin(tokens)
        .run()
        .await;
    run.assert_code(1);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    let records = run.records();
    assert_eq!(records.len(), 30);
    assert_eq!(
        records
            .iter()
            .filter(|r| r["error"]["code"] == "EndpointMismatch")
            .count(),
        26
    );
}

/// A redirect's `Location` quoting the request's token where the bound on its length cuts it:
/// no head of the token is printed (the bound came before the scrubber, which then could not
/// recognise the cut token).
#[tokio::test]
async fn a_redirect_cut_at_its_bound_shows_no_head_of_a_token() {
    let token = "tok-LEAKYHEAD-0123456789abcdefXYZ";
    let location = format!("http://127.0.0.1:9/login?pad={}&t={token}", "p".repeat(470));
    // The token starts before byte 512 and ends after it.
    let at = location.find(token).unwrap();
    assert!(at < 505 && at + token.len() > 512, "{at}");
    let server =
        Hostile::start(move |_| Act::Raw(answer(302, &format!("Location: {location}\r\n"), b"")));
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
        .args(["-o", "json", token])
        .run()
        .await;
    run.assert_code(1);
    let r = &run.records()[0];
    assert_eq!(r["error"]["code"], "RedirectRefused");
    for out in [run.stdout(), run.stderr()] {
        assert!(!out.contains("tok-LEAKY"), "{out}");
    }
}

/// An HTML page whose `<title>` quotes the request's token where the title is cut (80
/// characters): no head of the token is printed.
#[tokio::test]
async fn a_page_title_cut_at_its_bound_shows_no_head_of_a_token() {
    let token = "tok-TITLEHEAD-0123456789abcdefXYZ";
    let title = format!("Sign in {} {token}", "p".repeat(62));
    let at = title.find(token).unwrap();
    assert!(at < 75 && at + token.len() > 80, "{at}");
    let page = format!("<html><head><title>{title}</title></head><body>x</body></html>");
    let server = Hostile::start(move |_| {
        let a = String::from_utf8(answer(200, "", page.as_bytes())).unwrap();
        Act::Raw(a.replace("application/json", "text/html").into_bytes())
    });
    let run = Revoke::new()
        .env("CIAM_CLIENT_SECRET", "s3cret-value")
        .args(["ciam", "--endpoint", &server.uri(), "--client-id", "c"])
        .args(["-o", "json", token])
        .run()
        .await;
    assert!(run.stdout().contains("Sign in ppp"), "{}", run.stdout());
    for out in [run.stdout(), run.stderr()] {
        assert!(!out.contains("tok-TITLE"), "{out}");
    }
}

/// The same with the request's own `Authorization: Basic` value (the form-encoded client id
/// and secret, known only to the request's scrubber) quoted across the title's bound: no head
/// of it is printed (it decodes to the client id and the first characters of the secret).
#[tokio::test]
async fn a_page_title_cut_at_its_bound_shows_no_head_of_the_basic_credential() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("c:s3cr%2Ft-pw-0123456789");
    let title = format!("Sign in {} {basic}", "p".repeat(62));
    let at = title.find(&basic).unwrap();
    assert!(at < 72 && at + basic.len() > 80, "{at}");
    let page = format!("<html><head><title>{title}</title></head><body>x</body></html>");
    let server = Hostile::start(move |_| {
        let a = String::from_utf8(answer(200, "", page.as_bytes())).unwrap();
        Act::Raw(a.replace("application/json", "text/html").into_bytes())
    });
    let run = Revoke::new()
        .env("OAUTH2_CLIENT_SECRET", "s3cr/t-pw-0123456789")
        .args([
            "oauth",
            "--revocation-endpoint",
            &format!("{}/r", server.uri()),
        ])
        .args([
            "--client-id",
            "c",
            "--client-auth",
            "basic",
            "-o",
            "json",
            "tok-aaaa",
        ])
        .run()
        .await;
    assert!(run.stdout().contains("Sign in ppp"), "{}", run.stdout());
    for out in [run.stdout(), run.stderr()] {
        assert!(!out.contains(&basic[..8]), "{out}");
    }
}

/// `revoke report --check` of a device that never ends (`/dev/zero`: one line with no end;
/// `/dev/urandom`: lines for ever) ends at once with exit 2: a journal is a regular file.
#[tokio::test]
async fn checking_an_endless_device_ends_at_once() {
    for device in ["/dev/zero", "/dev/urandom"] {
        let run = Revoke::new()
            .args(["report", "--check", device])
            .spawn()
            .wait_for(std::time::Duration::from_secs(10))
            .await;
        run.assert_code(2);
        let err = run.stderr();
        assert!(
            err.contains(&format!("{device}: not a regular file")),
            "{err}"
        );
        assert!(run.stdout().is_empty(), "{}", run.stdout());
    }
}

/// `revoke report --to` renames a temporary file over FILE: over a FIFO or a device
/// (`--to /dev/null`, `/dev/stdout`) that replaced the node itself (run as root, `/dev/null`
/// became a regular file). FILE that exists and is not a regular file is exit 2, left as it was.
#[tokio::test]
async fn report_to_a_fifo_or_device_never_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("r.ndjson");
    std::fs::write(
        &records,
        r#"{"provider":"ciam","index":0,"target":{"token":"sha256:1f2e3d4c5b6a"},"status":"revoked"}"#,
    )
    .unwrap();
    let fifo = dir.path().join("out.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let run = Revoke::new()
        .args(["report", "--to"])
        .args([&fifo, &records])
        .spawn()
        .wait_for(std::time::Duration::from_secs(10))
        .await;
    run.assert_code(2);
    let err = run.stderr();
    assert!(err.contains("not a regular file"), "{err}");
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
}

/// `cat /dev/zero | revoke report --check -`: a line with no end, from a stream that never
/// ends. Once 16 MiB past the 64 KiB line bound have no line end, the source is abandoned:
/// exit 2, as for a file that cannot be read.
#[tokio::test]
async fn checking_an_endless_line_on_stdin_ends() {
    let (mut cmd, _home) = Revoke::new().args(["report", "--check", "-"]).into_parts();
    let child = cmd
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let out = match tokio::time::timeout(std::time::Duration::from_secs(20), waiting).await {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("revoke report --check - still reading /dev/zero after 20 s");
        }
    };
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no line end in the next 16 MiB"), "{err}");
}
