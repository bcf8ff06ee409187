//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value;

/// A `revoke` command with a clean environment: no credentials, proxies or `REVOKE_*` from the
/// developer's shell, HOME in a fresh directory.
pub struct Revoke {
    cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
    pub home: tempfile::TempDir,
}

impl Revoke {
    pub fn new() -> Revoke {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_revoke"));
        cmd.env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        Revoke {
            cmd,
            stdin: None,
            home,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Runs in `dir` instead of the test's working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The command itself, for tests that wire stdout or stderr to a file (`/dev/full`).
    pub fn into_parts(self) -> (std::process::Command, tempfile::TempDir) {
        assert!(self.stdin.is_none(), "into_parts() does not feed stdin");
        (self.cmd, self.home)
    }

    /// Runs on a blocking thread, so the test's own runtime (and wiremock) keeps going.
    pub async fn run(self) -> Run {
        let Revoke { cmd, stdin, home } = self;
        let mut cmd = assert_cmd::Command::from_std(cmd);
        cmd.timeout(std::time::Duration::from_secs(60));
        if let Some(input) = stdin {
            cmd.write_stdin(input);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        Run { out, _home: home }
    }

    /// Starts the process and returns at once, for tests that signal or kill it mid-run.
    /// Stdin is empty; stdout and stderr are collected by [`Running::wait`].
    pub fn spawn(self) -> Running {
        let Revoke {
            mut cmd,
            stdin,
            home,
        } = self;
        assert!(stdin.is_none(), "spawn() does not feed stdin");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running { child, home }
    }
}

/// The credentials and required values the per-provider builders below use, for the tests
/// that check a signature or a request against them.
pub const TC_ID: &str = "AKIDbiTestVector00000000000000000001";
pub const TC_KEY: &str = "biTestSecretKey00000000000000001";
pub const HW_AK: &str = "HWTESTAK000000000001";
pub const HW_SK: &str = "hwTestSecretKey0000000000000000000000001";
pub const SMH_LIBRARY: &str = "smh-lib-1";
pub const SMH_SECRET: &str = "smhTestLibrarySecret0001";
pub const CIAM_CLIENT_ID: &str = "TENANT_CLIENT_ID";
pub const CIAM_SECRET: &str = "TENANT_CLIENT_SECRET";
pub const OAUTH_CLIENT_ID: &str = "oauth app";
pub const OAUTH_SECRET: &str = "oauthTestClientSecret/01";

/// One builder per provider: a run against `endpoint` with its credentials (from the
/// environment) and its required flags, NDJSON on stdout. Tests add targets and the options
/// they are about.
impl Revoke {
    /// `bi-embed --project-id 889 --user-corp-id 700000777778 --scope page`.
    pub fn bi_embed(endpoint: &str) -> Revoke {
        Revoke::new()
            .env("TENCENTCLOUD_SECRET_ID", TC_ID)
            .env("TENCENTCLOUD_SECRET_KEY", TC_KEY)
            .args(["bi-embed", "--endpoint", endpoint, "-o", "json"])
            .args(["--project-id", "889", "--user-corp-id", "700000777778"])
            .args(["--scope", "page"])
    }

    /// `smh --library-id smh-lib-1`, the secret from `SMH_LIBRARY_SECRET`.
    pub fn smh(endpoint: &str) -> Revoke {
        Revoke::new()
            .env("SMH_LIBRARY_SECRET", SMH_SECRET)
            .args(["smh", "--endpoint", endpoint, "-o", "json"])
            .args(["--library-id", SMH_LIBRARY])
    }

    /// `cloudbase`: the tokens are the credentials.
    pub fn cloudbase(endpoint: &str) -> Revoke {
        Revoke::new().args(["cloudbase", "--endpoint", endpoint, "-o", "json"])
    }

    /// `ciam --client-id TENANT_CLIENT_ID`, the secret from `CIAM_CLIENT_SECRET`.
    pub fn ciam(endpoint: &str) -> Revoke {
        Revoke::new()
            .env("CIAM_CLIENT_SECRET", CIAM_SECRET)
            .args(["ciam", "--endpoint", endpoint, "-o", "json"])
            .args(["--client-id", CIAM_CLIENT_ID])
    }

    /// `oauth --revocation-endpoint ENDPOINT --client-id "oauth app"`, the secret from
    /// `OAUTH2_CLIENT_SECRET` (so `client_secret_post`, the default without discovery).
    pub fn oauth(endpoint: &str) -> Revoke {
        Revoke::new()
            .env("OAUTH2_CLIENT_SECRET", OAUTH_SECRET)
            .args(["oauth", "--revocation-endpoint", endpoint, "-o", "json"])
            .args(["--client-id", OAUTH_CLIENT_ID])
    }

    /// `identity-store --identity-store-id d-1 --tenant-id "t 1"` (a space, sent as `%20`).
    pub fn identity_store(endpoint: &str) -> Revoke {
        Revoke::new()
            .env("HUAWEICLOUD_SDK_AK", HW_AK)
            .env("HUAWEICLOUD_SDK_SK", HW_SK)
            .args(["identity-store", "--endpoint", endpoint, "-o", "json"])
            .args(["--identity-store-id", "d-1", "--tenant-id", "t 1"])
    }
}

/// A `revoke` process still running.
pub struct Running {
    pub child: std::process::Child,
    home: tempfile::TempDir,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`INT`, `TERM`, `KILL`) with kill(1): no crate needed.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {}", self.pid());
    }

    /// Waits for the exit (at most 60 s), on a blocking thread.
    pub async fn wait(self) -> Run {
        self.wait_for(std::time::Duration::from_secs(60)).await
    }

    /// Waits for the exit, at most `limit`: then kills it and fails the test.
    pub async fn wait_for(self, limit: std::time::Duration) -> Run {
        let Running { child, home } = self;
        let pid = child.id();
        let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
        let out = match tokio::time::timeout(limit, waiting).await {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("revoke (pid {pid}) still running after {limit:?}");
            }
        };
        Run { out, _home: home }
    }
}

pub struct Run {
    pub out: Output,
    _home: tempfile::TempDir,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// The NDJSON records (every line but the summary), sorted by index.
    pub fn records(&self) -> Vec<Value> {
        let mut v: Vec<Value> = self
            .stdout()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}"))
            })
            .filter(|v| v.get("summary").is_none())
            .collect();
        v.sort_by_key(|r| r["index"].as_u64().unwrap());
        v
    }

    pub fn summary(&self) -> Value {
        let last = self.stdout().lines().last().unwrap_or_default().to_string();
        let v: Value = serde_json::from_str(&last)
            .unwrap_or_else(|e| panic!("no summary: {last}: {e}\nstderr: {}", self.stderr()));
        assert!(
            v.get("summary").is_some(),
            "last line is not the summary: {last}"
        );
        v
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    /// A usage or configuration error: exit 2, nothing on stdout, and an error that names
    /// `needle`, starting `revoke: error: `. Our own errors are one line; clap's parse errors
    /// go on with clap's usage hint (`For more information, try '--help'.`).
    #[track_caller]
    pub fn assert_usage(&self, needle: &str) {
        self.assert_code(2);
        let err = self.stderr();
        assert!(err.contains(needle), "{needle:?} not in: {err}");
        assert!(
            self.stdout().is_empty(),
            "nothing on stdout: {}",
            self.stdout()
        );
        assert!(
            err.lines().any(|l| l.starts_with("revoke: error: "))
                && !err.lines().any(|l| l.starts_with("error")),
            "the house style, `revoke: error: ...`: {err}"
        );
        if !err.contains("For more information, try '--help'.") {
            assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        }
    }

    /// Asserts that none of `secrets` appears in stdout or stderr.
    #[track_caller]
    pub fn assert_no_secret(&self, secrets: &[&str]) {
        let (o, e) = (self.stdout(), self.stderr());
        for s in secrets {
            assert!(!o.contains(s), "secret {s:?} in stdout:\n{o}");
            assert!(!e.contains(s), "secret {s:?} in stderr:\n{e}");
        }
    }
}

/// Checks one record against the contract's schema: every field present, with its type.
#[track_caller]
pub fn assert_record_schema(r: &Value) {
    let obj = r.as_object().expect("record is an object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "provider",
            "index",
            "target",
            "status",
            "http_status",
            "attempts",
            "request_id",
            "data",
            "error",
            "elapsed_ms",
            "verified",
            "verify_attempts",
            "from_journal",
            "source",
            "at",
            "ticket",
            "actor"
        ],
        "record fields and order: {r}"
    );
    assert!(r["provider"].is_string());
    assert!(r["index"].is_u64());
    assert!(r["target"].is_object());
    let status = r["status"].as_str().unwrap();
    assert!(
        [
            "revoked",
            "already_invalid",
            "not_found",
            "failed",
            "skipped",
            "planned"
        ]
        .contains(&status),
        "status {status}"
    );
    assert!(r["http_status"].is_null() || r["http_status"].is_u64());
    assert!(r["attempts"].is_u64());
    assert!(r["request_id"].is_null() || r["request_id"].is_string());
    if !r["error"].is_null() {
        let e = &r["error"];
        assert!(
            e["code"].is_string() && e["message"].is_string() && e["retryable"].is_boolean(),
            "error shape: {e}"
        );
    }
    assert!(r["elapsed_ms"].is_u64());
    assert!(r["verified"].is_null() || r["verified"].is_boolean());
    assert!(r["verify_attempts"].is_u64());
    assert!(r["from_journal"].is_null() || r["from_journal"].is_string());
    assert!(r["source"].is_null() || r["source"].is_string());
    let at = r["at"].as_str().expect("at is a string");
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok()
            && at.ends_with('Z')
            && at.len() == "2026-12-04T21:36:05.123Z".len(),
        "at is UTC RFC 3339 with milliseconds: {at}"
    );
    assert!(r["ticket"].is_null() || r["ticket"].is_string());
    assert!(r["actor"].is_null() || r["actor"].is_string());
}

#[track_caller]
pub fn assert_summary_schema(s: &Value, exit_code: i32) {
    let sum = &s["summary"];
    let keys: Vec<&str> = sum
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "total",
            "revoked",
            "already_invalid",
            "not_found",
            "failed",
            "skipped",
            "planned",
            "from_journal"
        ]
    );
    assert_eq!(s["exit_code"].as_i64(), Some(exit_code as i64));
}

pub fn fixture(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Writes a file readable by its owner only (as secret files must be).
pub fn private_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

pub fn header<'a>(req: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// What [`RawServer`] does with one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawReply {
    /// Close with a byte of the request still unread: the kernel answers with a TCP reset.
    Reset,
    /// Read the request, then say nothing and keep the connection open (for 30 s).
    Hang,
    /// `200` with `Content-Length` larger than the body it sends, then close.
    CutBody(&'static str),
    /// A complete `200` JSON answer, then close.
    Answer(&'static str),
}

/// A bare HTTP/1.1 server on 127.0.0.1 for the failures wiremock cannot produce (a reset
/// connection, no answer, an answer cut off). One thread per connection; each request is read
/// up to its `Content-Length`, and `reply` picks what to do from the request body and how many
/// connections that body has had before (0 for the first). Every body seen is kept, in order.
pub struct RawServer {
    pub addr: std::net::SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RawServer {
    pub fn start(reply: impl Fn(&str, usize) -> RawReply + Send + Sync + 'static) -> RawServer {
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let reply = Arc::new(reply);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, reply) = (log.clone(), reply.clone());
                std::thread::spawn(move || serve_raw(stream, &log, &*reply));
            }
        });
        RawServer { addr, seen }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request bodies received, one per connection, in arrival order.
    pub fn bodies(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// How many connections carried a body containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.bodies().iter().filter(|b| b.contains(needle)).count()
    }
}

fn serve_raw(
    mut stream: std::net::TcpStream,
    log: &std::sync::Mutex<Vec<String>>,
    reply: &(dyn Fn(&str, usize) -> RawReply + Send + Sync),
) {
    use std::io::{Read, Write};
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // All but the last byte: enough to know the target, and leaves something unread for a reset.
    let mut body = vec![0u8; length.saturating_sub(1)];
    if stream.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let nth = {
        let mut log = log.lock().unwrap();
        let nth = log.iter().filter(|b| **b == body).count();
        log.push(body.clone());
        nth
    };
    let action = reply(&body, nth);
    if action == RawReply::Reset {
        // Give the last byte time to arrive, so that it is unread when the socket closes.
        std::thread::sleep(std::time::Duration::from_millis(20));
        return;
    }
    let mut rest = [0u8; 1];
    if length > 0 && stream.read_exact(&mut rest).is_err() {
        return;
    }
    let response = match action {
        RawReply::Reset => unreachable!(),
        RawReply::Hang => {
            std::thread::sleep(std::time::Duration::from_secs(30));
            return;
        }
        RawReply::CutBody(part) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{part}",
            part.len() + 100
        ),
        RawReply::Answer(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    };
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// `cmd` run through `sh -c 'ulimit -v KIB; exec revoke ...'`: the same program, arguments,
/// environment and directory, with its virtual memory bounded, so that a test sees an
/// unbounded allocation fail instead of the machine swapping.
pub fn under_ulimit_v(cmd: &mut std::process::Command, kib: u64) -> std::process::Command {
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("ulimit -v {kib}; exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    sh.env_clear();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

/// One provider as the tests know it. Every per-provider table of the tests is read from
/// [`PROVIDERS`] (the hostile-server matrix in `hostile.rs`, the secrets matrix in
/// `secrets.rs`, help and completions in `cli.rs`, the credential variables in `manual.rs`,
/// the mock API and the README sections in `readme.rs`), so a new provider joins all of them
/// with one entry here; `cli::every_run_command_is_a_provider_of_the_tests` fails until it does.
pub struct Provider {
    /// The command.
    pub name: &'static str,
    /// The variables its credentials are read from, which its `--help` and man page name
    /// (empty when the tokens are the credentials).
    pub env: &'static [&'static str],
    /// Its API answering success, for one server standing in for every provider.
    pub mocks: fn() -> Vec<wiremock::Mock>,
    /// A minimal valid run against an endpoint: sentinel credentials and two targets.
    pub hostile: Sentinels,
    /// How many records those two targets make (smh revokes a user's tokens in one request).
    pub records: usize,
    /// The HTTP status of its API's success.
    pub success: u16,
    /// Each source its credentials can come from, with other sentinels.
    pub sources: &'static [Sentinels],
}

/// A run whose credentials and targets are sentinels that no output may show.
pub struct Sentinels {
    pub name: &'static str,
    /// The run against an endpoint (the URL): its command, credentials and targets.
    pub build: fn(&str) -> Revoke,
    /// Every form of the secrets the run holds that must never be printed.
    pub secrets: &'static [&'static str],
    /// A "noted" answer (already invalid, not found) makes a noted record in this run.
    pub notes: bool,
}

impl Provider {
    pub fn named(name: &str) -> &'static Provider {
        PROVIDERS
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no provider {name} in PROVIDERS"))
    }
}

/// The providers, in the order of `revoke --help`.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        name: "bi-embed",
        env: &[
            "TENCENTCLOUD_SECRET_ID",
            "TENCENTCLOUD_TOKEN",
            "TCCLI_PROFILE",
        ],
        mocks: || {
            vec![
                wiremock::Mock::given(wiremock::matchers::method("POST"))
                    .and(wiremock::matchers::path("/"))
                    .respond_with(
                        wiremock::ResponseTemplate::new(200).set_body_raw(
                            fixture("bi_embed/success_tccli.json"),
                            "application/json",
                        ),
                    ),
            ]
        },
        hostile: Sentinels {
            name: "bi-embed",
            build: |uri| {
                Revoke::new()
                    .env("TENCENTCLOUD_SECRET_ID", "AKIDhostileSecretId01")
                    .env("TENCENTCLOUD_SECRET_KEY", "hostileSecretKey01")
                    .env("TENCENTCLOUD_TOKEN", "hostileSessionToken01")
                    .args(["bi-embed", "--endpoint", uri, "--project-id", "889"])
                    .args(["--user-corp-id", "7", "--scope", "page", "p1", "p2"])
            },
            secrets: &[
                "AKIDhostileSecretId01",
                "hostileSecretKey01",
                "hostileSessionToken01",
            ],
            notes: false,
        },
        records: 2,
        success: 200,
        sources: &[
            Sentinels {
                name: "bi-embed env",
                build: |uri| {
                    Revoke::new()
                        .env("TENCENTCLOUD_SECRET_ID", "AKIDsentinelBiId000001")
                        .env("TENCENTCLOUD_SECRET_KEY", "sentinelBiKey000001")
                        .env("TENCENTCLOUD_TOKEN", "sentinelBiToken000001")
                        .args(["bi-embed", "--endpoint", uri, "--project-id", "889"])
                        .args(["--user-corp-id", "7", "--scope", "page", "p1", "p2"])
                },
                secrets: &[
                    "AKIDsentinelBiId000001",
                    "sentinelBiKey000001",
                    "sentinelBiToken000001",
                ],
                notes: false,
            },
            Sentinels {
                name: "bi-embed profile",
                build: |uri| {
                    let cmd = Revoke::new()
                        .args(["bi-embed", "--endpoint", uri, "--project-id", "889"])
                        .args(["--user-corp-id", "7", "--scope", "page"])
                        .args(["--profile", "work", "p1", "p2"]);
                    std::fs::create_dir_all(cmd.home().join(".tccli")).unwrap();
                    std::fs::write(
                        cmd.home().join(".tccli/work.credential"),
                        r#"{"secretId":"AKIDsentinelProfileId02","secretKey":"sentinelProfileKey02","token":"sentinelProfileTok02"}"#,
                    )
                    .unwrap();
                    cmd
                },
                secrets: &[
                    "AKIDsentinelProfileId02",
                    "sentinelProfileKey02",
                    "sentinelProfileTok02",
                ],
                notes: false,
            },
        ],
    },
    Provider {
        name: "smh",
        env: &["SMH_LIBRARY_SECRET", "REVOKE_ALLOW_OPEN_SECRET_FILES"],
        mocks: || {
            vec![
                wiremock::Mock::given(wiremock::matchers::method("DELETE"))
                    .and(wiremock::matchers::path_regex("^/api/v1/token/"))
                    .respond_with(wiremock::ResponseTemplate::new(204)),
            ]
        },
        hostile: Sentinels {
            name: "smh",
            build: |uri| {
                Revoke::new()
                    .env("SMH_LIBRARY_SECRET", "hostile/Lib+Secret=02")
                    .args(["smh", "--endpoint", uri, "--library-id", "lib1"])
                    .args(["alice", "bob"])
            },
            secrets: &["hostile/Lib+Secret=02", "hostile%2FLib%2BSecret%3D02"],
            notes: false,
        },
        records: 1,
        success: 204,
        sources: &[
            Sentinels {
                name: "smh env",
                build: |uri| {
                    Revoke::new()
                        .env("SMH_LIBRARY_SECRET", "sentinel/Lib+Secret=03")
                        .args(["smh", "--endpoint", uri, "--library-id", "lib1"])
                        .args(["alice", "bob"])
                },
                secrets: &[
                    "sentinel/Lib+Secret=03",
                    "sentinel%2FLib%2BSecret%3D03",
                    "sentinelLib",
                ],
                notes: false,
            },
            Sentinels {
                name: "smh file",
                build: |uri| {
                    let cmd = Revoke::new();
                    let f = private_file(cmd.home(), "lib-secret", "sentinelLibSecretFile04\n");
                    cmd.args(["smh", "--endpoint", uri, "--library-id", "lib1"])
                        .args(["--library-secret-file"])
                        .args([&f])
                        .args(["alice"])
                },
                secrets: &["sentinelLibSecretFile04"],
                notes: false,
            },
        ],
    },
    Provider {
        name: "cloudbase",
        env: &[],
        mocks: || {
            vec![
                wiremock::Mock::given(wiremock::matchers::method("POST"))
                    .and(wiremock::matchers::path("/auth/v1/revoke"))
                    .respond_with(
                        wiremock::ResponseTemplate::new(200).set_body_raw("{}", "application/json"),
                    ),
            ]
        },
        hostile: Sentinels {
            name: "cloudbase",
            build: |uri| {
                Revoke::new()
                    .args(["cloudbase", "--endpoint", uri, "--input", "-"])
                    .stdin("hostileCbToken03a\nhostileCbToken03b\n")
            },
            secrets: &["hostileCbToken03a", "hostileCbToken03b"],
            notes: true,
        },
        records: 2,
        success: 200,
        sources: &[
            Sentinels {
                name: "cloudbase args",
                build: |uri| {
                    Revoke::new()
                        .args(["cloudbase", "--endpoint", uri])
                        .args(["sentinelCbToken05a", "sentinelCbToken05b"])
                },
                secrets: &["sentinelCbToken05a", "sentinelCbToken05b"],
                notes: true,
            },
            Sentinels {
                name: "cloudbase stdin",
                build: |uri| {
                    Revoke::new()
                        .args(["cloudbase", "--endpoint", uri, "--env-id", "env-1"])
                        .args(["--input", "-"])
                        .stdin("sentinelCbToken06a\nsentinelCbToken06b\n")
                },
                secrets: &["sentinelCbToken06a", "sentinelCbToken06b"],
                notes: true,
            },
        ],
    },
    Provider {
        name: "ciam",
        env: &["CIAM_CLIENT_SECRET", "REVOKE_ALLOW_OPEN_SECRET_FILES"],
        mocks: || {
            vec![
                wiremock::Mock::given(wiremock::matchers::method("POST"))
                    .and(wiremock::matchers::path("/oauth2/revoke"))
                    .respond_with(wiremock::ResponseTemplate::new(200)),
            ]
        },
        hostile: Sentinels {
            name: "ciam",
            build: |uri| {
                let cmd = Revoke::new();
                let secret = private_file(cmd.home(), "ciam-secret", "hostile/Ciam+Secret=01\n");
                cmd.args(["ciam", "--endpoint", uri, "--client-id", "app"])
                    .args(["--client-auth", "basic", "--client-secret-file"])
                    .args([&secret])
                    .args(["--input", "-"])
                    .stdin("hostileCiamTok04a\nhostileCiamTok04b\n")
            },
            secrets: &[
                "hostile/Ciam+Secret=01",
                "hostileCiamTok04a",
                "hostileCiamTok04b",
            ],
            notes: false,
        },
        records: 2,
        success: 200,
        sources: &[
            Sentinels {
                name: "ciam env post",
                build: |uri| {
                    Revoke::new()
                        .env("CIAM_CLIENT_SECRET", "sentinel CiamSecret&07=")
                        .args(["ciam", "--endpoint", uri, "--client-id", "app"])
                        .args(["--input", "-"])
                        .stdin("sentinelCiamTok07a\nsentinelCiamTok07b\n")
                },
                secrets: &[
                    "sentinel CiamSecret&07=",
                    "sentinel+CiamSecret%2607%3D",
                    "sentinelCiamTok07a",
                    "sentinelCiamTok07b",
                ],
                notes: false,
            },
            Sentinels {
                name: "ciam file basic",
                build: |uri| {
                    let cmd = Revoke::new();
                    let f = private_file(cmd.home(), "client-secret", "sentinelCiamFileSecret08\n");
                    cmd.args(["ciam", "--endpoint", uri, "--client-id", "app"])
                        .args(["--client-auth", "basic"])
                        .args(["--token-type-hint", "refresh_token", "--client-secret-file"])
                        .args([&f])
                        .args(["sentinelCiamTok08a"])
                },
                // The Basic credential is base64("app:sentinelCiamFileSecret08").
                secrets: &[
                    "sentinelCiamFileSecret08",
                    "sentinelCiamTok08a",
                    "YXBwOnNlbnRpbmVsQ2lhbUZpbGVTZWNyZXQwOA",
                ],
                notes: false,
            },
        ],
    },
    Provider {
        name: "oauth",
        env: &["OAUTH2_CLIENT_SECRET", "REVOKE_ALLOW_OPEN_SECRET_FILES"],
        mocks: || {
            vec![
                wiremock::Mock::given(wiremock::matchers::method("POST"))
                    .and(wiremock::matchers::path("/oauth2/revoke"))
                    .respond_with(wiremock::ResponseTemplate::new(200)),
            ]
        },
        hostile: Sentinels {
            name: "oauth",
            build: |uri| {
                Revoke::new()
                    .env("OAUTH2_CLIENT_SECRET", "hostile/Oauth+Secret=06")
                    .args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
                    .args(["--input", "-"])
                    .stdin("hostileOauthTok06a\nhostileOauthTok06b\n")
            },
            secrets: &[
                "hostile/Oauth+Secret=06",
                "hostile%2FOauth%2BSecret%3D06",
                "hostileOauthTok06a",
                "hostileOauthTok06b",
            ],
            notes: false,
        },
        records: 2,
        success: 200,
        sources: &[
            Sentinels {
                name: "oauth env post",
                build: |uri| {
                    Revoke::new()
                        .env("OAUTH2_CLIENT_SECRET", "sentinel OauthSecret&22=")
                        .args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
                        .args(["--input", "-"])
                        .stdin("sentinelOauthTok22a\nsentinelOauthTok22b\n")
                },
                secrets: &[
                    "sentinel OauthSecret&22=",
                    "sentinel+OauthSecret%2622%3D",
                    "sentinelOauthTok22a",
                    "sentinelOauthTok22b",
                ],
                notes: false,
            },
            Sentinels {
                name: "oauth file basic",
                build: |uri| {
                    let cmd = Revoke::new();
                    let f =
                        private_file(cmd.home(), "client-secret", "sentinelOauthFileSecret23\n");
                    cmd.args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
                        .args(["--client-auth", "basic", "--client-secret-file"])
                        .args([&f])
                        .args(["sentinelOauthTok23a"])
                },
                // The Basic credential is base64("app:sentinelOauthFileSecret23").
                secrets: &[
                    "sentinelOauthFileSecret23",
                    "sentinelOauthTok23a",
                    "YXBwOnNlbnRpbmVsT2F1dGhGaWxlU2VjcmV0MjM",
                ],
                notes: false,
            },
            Sentinels {
                // A public client: a secret set in the environment is not read, nor shown.
                name: "oauth public",
                build: |uri| {
                    Revoke::new()
                        .env("OAUTH2_CLIENT_SECRET", "sentinelOauthUnused24")
                        .args(["oauth", "--revocation-endpoint", uri, "--client-id", "app"])
                        .args(["--client-auth", "none", "--input", "-"])
                        .stdin("sentinelOauthTok24a\n")
                },
                secrets: &["sentinelOauthUnused24", "sentinelOauthTok24a"],
                notes: false,
            },
        ],
    },
    Provider {
        name: "identity-store",
        env: &[
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SECURITY_TOKEN",
            "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
        ],
        mocks: || {
            vec![
                wiremock::Mock::given(wiremock::matchers::method("GET"))
                    .and(wiremock::matchers::path_regex("/bearer-token$"))
                    .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
                        serde_json::json!({
                            "bearer_tokens": [{"token_id": "tok-1"}, {"token_id": "tok-2"}]
                        }),
                    )),
                wiremock::Mock::given(wiremock::matchers::method("DELETE"))
                    .and(wiremock::matchers::path_regex("/bearer-token/"))
                    .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("{}")),
            ]
        },
        hostile: Sentinels {
            name: "identity-store",
            build: |uri| {
                Revoke::new()
                    .env("HUAWEICLOUD_SDK_AK", "HOSTILEHWAK000005")
                    .env("HUAWEICLOUD_SDK_SK", "hostileHwSecretKey05")
                    .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "hostileHwSecurityTok05")
                    .args(["identity-store", "--endpoint", uri])
                    .args(["--identity-store-id", "d-1", "--tenant-id", "t1"])
                    .args(["id1", "id2"])
            },
            secrets: &[
                "HOSTILEHWAK000005",
                "hostileHwSecretKey05",
                "hostileHwSecurityTok05",
            ],
            notes: true,
        },
        records: 2,
        success: 200,
        sources: &[
            Sentinels {
                name: "identity-store env",
                build: |uri| {
                    Revoke::new()
                        .env("HUAWEICLOUD_SDK_AK", "SENTINELHWAK000009")
                        .env("HUAWEICLOUD_SDK_SK", "sentinelHwSecretKey09")
                        .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "sentinelHwSecurityTok09")
                        .args(["identity-store", "--endpoint", uri])
                        .args(["--identity-store-id", "d-1", "--tenant-id", "t-1"])
                        .args(["--project-id", "p1", "tok-1", "tok-2"])
                },
                secrets: &[
                    "SENTINELHWAK000009",
                    "sentinelHwSecretKey09",
                    "sentinelHwSecurityTok09",
                ],
                notes: true,
            },
            Sentinels {
                name: "identity-store file --all",
                build: |uri| {
                    let cmd = Revoke::new();
                    std::fs::create_dir_all(cmd.home().join(".huaweicloud")).unwrap();
                    std::fs::write(
                        cmd.home().join(".huaweicloud/credentials"),
                        "[basic]\nak = SENTINELHWAK000010\nsk = sentinelHwSecretKey10\nsecurity_token = sentinelHwSecurityTok10\n",
                    )
                    .unwrap();
                    cmd.args(["identity-store", "--endpoint", uri]).args([
                        "--identity-store-id",
                        "d-1",
                        "--tenant-id",
                        "t-1",
                        "--all",
                    ])
                },
                secrets: &[
                    "SENTINELHWAK000010",
                    "sentinelHwSecretKey10",
                    "sentinelHwSecurityTok10",
                ],
                // Its answers are a listing's: a failed listing makes no target record.
                notes: false,
            },
        ],
    },
];

/// A JWT with `claims` and `header` {"alg":"RS256","typ":"JWT"}, signed with nothing: the
/// signature part is `sig` as given (`revoke token` never checks it).
pub fn jwt_with(claims: &Value, sig: &str) -> String {
    use base64::Engine as _;
    let part = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    format!("{}.{}.{sig}", part(&header), part(claims))
}

/// A JWT naming `iss`, expiring in 2100.
pub fn jwt(iss: &str) -> String {
    jwt_with(
        &serde_json::json!({"iss": iss, "sub": "u1", "exp": 4_102_444_800u64}),
        "c2lnbmF0dXJlLW5vdC1jaGVja2Vk",
    )
}

/// `revoke --config FILE token -o json`, FILE (private) holding `config` in a fresh HOME.
pub fn token_run(config: &str) -> Revoke {
    let r = Revoke::new();
    let file = private_file(r.home(), "config.toml", config);
    r.args([std::ffi::OsStr::new("--config"), file.as_os_str()])
        .args(["token", "-o", "json"])
}

/// Writes `tokens`, one a line, to `name` in `r`'s HOME and adds `--input` with it.
pub fn token_input(r: Revoke, name: &str, tokens: &[&str]) -> Revoke {
    let p = r.home().join(name);
    std::fs::write(&p, tokens.join("\n") + "\n").unwrap();
    r.args([std::ffi::OsStr::new("--input"), p.as_os_str()])
}

impl Run {
    /// Every NDJSON line: the records, each step's summary, the plan's summary (last).
    pub fn lines(&self) -> Vec<Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    /// The records of a multi-step run (`revoke token`, `apply`), in the order printed.
    pub fn step_records(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|v| v.get("summary").is_none())
            .collect()
    }
}
