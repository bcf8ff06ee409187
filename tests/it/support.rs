//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// A `revoke` command with a clean environment: no credentials, proxies or `REVOKE_*` from the
/// developer's shell, HOME in a fresh directory.
pub struct Revoke {
    cmd: assert_cmd::Command,
    pub home: tempfile::TempDir,
}

impl Revoke {
    pub fn new() -> Revoke {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = assert_cmd::Command::cargo_bin("revoke").unwrap();
        cmd.env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .timeout(std::time::Duration::from_secs(60));
        Revoke { cmd, home }
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

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.cmd.write_stdin(input);
        self
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs on a blocking thread, so the test's own runtime (and wiremock) keeps going.
    pub async fn run(self) -> Run {
        let Revoke { mut cmd, home } = self;
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
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
            "elapsed_ms"
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
            "planned"
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
