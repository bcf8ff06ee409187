//! Where credentials come from, in the contract's order, and how secret files are read.
//!
//! Every secret read here goes into a [`Secret`] and is registered with the global
//! [`Redactor`] at once. A source is described by its name (`env TENCENTCLOUD_SECRET_ID`,
//! `tccli profile default (~/.tccli/default.credential)`), never by its value, so that
//! `--dry-run` can say which one was used.

use std::path::{Path, PathBuf};

use crate::secret::{Redactor, Secret};
pub use crate::sign::huawei::HuaweiCredentials;
pub use crate::sign::tc3::TencentCredentials;

/// Reads environment variables; a seam so tests need not touch the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

fn keep(value: impl Into<String>) -> Secret {
    let s = Secret::new(value);
    Redactor::global().add(&s);
    s
}

fn home(env: &dyn Env) -> Option<PathBuf> {
    env.var("HOME").map(PathBuf::from)
}

/// Both halves of a key pair from the environment, or neither; one without the other is an
/// error rather than a silent fall-through to a credentials file.
fn env_pair(env: &dyn Env, id: &str, key: &str) -> Result<Option<(Secret, Secret)>, String> {
    match (env.var(id), env.var(key)) {
        (Some(i), Some(k)) => Ok(Some((keep(i.trim()), keep(k.trim())))),
        (Some(_), None) => Err(format!("{id} is set but {key} is not")),
        (None, Some(_)) => Err(format!("{key} is set but {id} is not")),
        (None, None) => Ok(None),
    }
}

/// `TENCENTCLOUD_SECRET_ID` + `TENCENTCLOUD_SECRET_KEY` (+ `TENCENTCLOUD_TOKEN`), then tccli's
/// `~/.tccli/<NAME>.credential`. An explicit `--profile` goes straight to the profile, as in
/// tccli (which reads the env only when no `--profile` is given).
pub fn tencent(profile: Option<&str>, env: &dyn Env) -> Result<TencentCredentials, String> {
    if profile.is_none()
        && let Some((secret_id, secret_key)) =
            env_pair(env, "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY")?
    {
        return Ok(TencentCredentials {
            secret_id,
            secret_key,
            token: env.var("TENCENTCLOUD_TOKEN").map(|t| keep(t.trim())),
            source: "env TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY".into(),
        });
    }
    let name = profile
        .map(str::to_string)
        .or_else(|| env.var("TCCLI_PROFILE"))
        .unwrap_or_else(|| "default".into());
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(format!("invalid tccli profile name {name:?}"));
    }
    let Some(home) = home(env) else {
        return Err(format!(
            "no Tencent Cloud credentials: TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY are not set and HOME is unknown, so tccli profile {name:?} cannot be read"
        ));
    };
    let path = home.join(".tccli").join(format!("{name}.credential"));
    let text = match read_small_file(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "no Tencent Cloud credentials: looked in env TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY{} and {} (not found); set the env vars or run `tccli configure`",
                if profile.is_some() {
                    " (skipped: --profile given)"
                } else {
                    ""
                },
                path.display()
            ));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let field = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    if field("type").as_deref() == Some("cvm-role") || field("role-arn").is_some() {
        return Err(format!(
            "{}: role-based tccli profiles (CVM role, role-arn) are not supported; use a key pair or set TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY/TENCENTCLOUD_TOKEN",
            path.display()
        ));
    }
    match (field("secretId"), field("secretKey")) {
        (Some(id), Some(key)) => Ok(TencentCredentials {
            secret_id: keep(id),
            secret_key: keep(key),
            token: field("token").map(keep),
            source: format!("tccli profile {name} ({})", path.display()),
        }),
        _ => Err(format!("{} has no secretId/secretKey", path.display())),
    }
}

/// `HUAWEICLOUD_SDK_AK` + `HUAWEICLOUD_SDK_SK` (+ `_SECURITY_TOKEN`, `_PROJECT_ID`), then the
/// SDK credentials file (`HUAWEICLOUD_SDK_CREDENTIALS_FILE`, else `~/.huaweicloud/credentials`),
/// INI section `[basic]`.
pub fn huawei(env: &dyn Env) -> Result<HuaweiCredentials, String> {
    if let Some((access_key, secret_key)) =
        env_pair(env, "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK")?
    {
        return Ok(HuaweiCredentials {
            access_key,
            secret_key,
            security_token: env
                .var("HUAWEICLOUD_SDK_SECURITY_TOKEN")
                .map(|t| keep(t.trim())),
            project_id: env
                .var("HUAWEICLOUD_SDK_PROJECT_ID")
                .map(|p| p.trim().to_string()),
            source: "env HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK".into(),
        });
    }
    let path = match env.var("HUAWEICLOUD_SDK_CREDENTIALS_FILE") {
        Some(p) => PathBuf::from(p),
        None => match home(env) {
            Some(h) => h.join(".huaweicloud").join("credentials"),
            None => {
                return Err("no Huawei Cloud credentials: HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK are not set and HOME is unknown".into());
            }
        },
    };
    let text = match read_small_file(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "no Huawei Cloud credentials: looked in env HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK and {} (not found)",
                path.display()
            ));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let basic = ini_section(&text, "basic");
    let get = |k: &str| {
        basic
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    match (get("ak"), get("sk")) {
        (Some(ak), Some(sk)) => Ok(HuaweiCredentials {
            access_key: keep(ak),
            secret_key: keep(sk),
            security_token: get("security_token").map(keep),
            project_id: get("project_id"),
            source: format!("Huawei SDK credentials file {} [basic]", path.display()),
        }),
        _ => Err(format!(
            "{} has no ak/sk in its [basic] section",
            path.display()
        )),
    }
}

/// The `key = value` pairs of one `[section]` of an INI file (`#` and `;` start comments).
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim().eq_ignore_ascii_case(section);
            continue;
        }
        if inside && let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// A secret from `--*-file FILE` (`-` = stdin) if given, else from the env var `env_name`.
/// `input_is_stdin`: the targets come from `--input -`, so stdin cannot also hold the secret.
pub fn secret_from(
    env: &dyn Env,
    env_name: &str,
    file: Option<&Path>,
    flag: &str,
    input_is_stdin: bool,
) -> Result<(Secret, String), String> {
    if let Some(path) = file {
        if path.as_os_str() == "-" && input_is_stdin {
            return Err(format!(
                "{flag} - and --input - both read stdin; put the secret or the targets in a file"
            ));
        }
        let s = read_secret_file(path, env, flag)?;
        return Ok((s, format!("{flag} {}", path.display())));
    }
    match env.var(env_name) {
        Some(v) => Ok((keep(v.trim()), format!("env {env_name}"))),
        None => Err(format!("no secret: set {env_name} or pass {flag} FILE")),
    }
}

/// Reads a secret file, refusing one that other users can read (as ssh does for private keys)
/// unless `REVOKE_ALLOW_OPEN_SECRET_FILES=1`. Surrounding whitespace is trimmed.
pub fn read_secret_file(path: &Path, env: &dyn Env, flag: &str) -> Result<Secret, String> {
    let text = if path.as_os_str() == "-" {
        crate::settings::input::read_text(
            std::io::stdin().lock(),
            crate::settings::input::MAX_SECRET,
        )
        .map_err(|e| format!("{flag} -: stdin: {e}"))?
    } else {
        let meta =
            std::fs::metadata(path).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
        check_permissions(path, &meta, env, flag)?;
        let file =
            std::fs::File::open(path).map_err(|e| format!("{flag} {}: {e}", path.display()))?;
        crate::settings::input::read_text(file, crate::settings::input::MAX_SECRET)
            .map_err(|e| format!("{flag} {}: {e}", path.display()))?
    };
    if text.is_empty() {
        return Err(format!("{flag} {}: the file is empty", path.display()));
    }
    Ok(keep(&text))
}

/// A credentials file (tccli, Huawei), read whole but bounded, decoded like every other input
/// (BOM removed, UTF-8 only); a decoding problem is an error naming its cause.
fn read_small_file(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    if let Ok(meta) = file.metadata() {
        warn_if_open(path, &meta);
    }
    crate::settings::input::read_text(file, 1024 * 1024).map_err(std::io::Error::other)
}

/// A credentials file other users can read draws one warning with the `chmod` that fixes it.
/// It is not refused, unlike a `--*-file` secret: tccli writes its `*.credential` files 0644,
/// and refusing them would break every tccli user.
#[cfg(unix)]
fn warn_if_open(path: &Path, meta: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt;
    static WARNED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return;
    }
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    if warned.iter().any(|p| p == path) {
        return;
    }
    warned.push(path.to_path_buf());
    crate::report::logging::say(&format!(
        "revoke: warning: {}: permissions {mode:04o}: other users can read these credentials; run `chmod 600 {}`",
        path.display(),
        path.display()
    ));
}

#[cfg(not(unix))]
fn warn_if_open(_path: &Path, _meta: &std::fs::Metadata) {}

#[cfg(unix)]
fn check_permissions(
    path: &Path,
    meta: &std::fs::Metadata,
    env: &dyn Env,
    flag: &str,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 && env.var("REVOKE_ALLOW_OPEN_SECRET_FILES").as_deref() != Some("1") {
        return Err(format!(
            "{flag} {}: permissions {mode:04o} are too open: the secret is readable by other users; run `chmod 600 {}` (or set REVOKE_ALLOW_OPEN_SECRET_FILES=1)",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path, _: &std::fs::Metadata, _: &dyn Env, _: &str) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, String>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    fn env(pairs: &[(&'static str, &str)]) -> MapEnv {
        MapEnv(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    #[test]
    fn tencent_env_wins_over_the_default_profile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".tccli")).unwrap();
        std::fs::write(
            dir.path().join(".tccli/default.credential"),
            r#"{"secretId":"AKIDfile","secretKey":"filekey"}"#,
        )
        .unwrap();
        let home = dir.path().to_str().unwrap();
        let e = env(&[
            ("HOME", home),
            ("TENCENTCLOUD_SECRET_ID", "AKIDenv"),
            ("TENCENTCLOUD_SECRET_KEY", "envkey"),
        ]);
        let c = tencent(None, &e).unwrap();
        assert_eq!(c.secret_id.expose(), "AKIDenv");
        assert!(c.token.is_none());
        assert!(c.source.starts_with("env "), "{}", c.source);

        let e = env(&[("HOME", home)]);
        let c = tencent(None, &e).unwrap();
        assert_eq!(c.secret_id.expose(), "AKIDfile");
        assert!(c.source.contains("default.credential"));
    }

    #[test]
    fn tencent_profile_flag_and_env_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".tccli")).unwrap();
        std::fs::write(
            dir.path().join(".tccli/prod.credential"),
            r#"{"secretId":"AKIDprod","secretKey":"prodkey","token":"tmp"}"#,
        )
        .unwrap();
        let home = dir.path().to_str().unwrap();
        let e = env(&[
            ("HOME", home),
            ("TENCENTCLOUD_SECRET_ID", "AKIDenv"),
            ("TENCENTCLOUD_SECRET_KEY", "envkey"),
        ]);
        let c = tencent(Some("prod"), &e).unwrap();
        assert_eq!(c.secret_id.expose(), "AKIDprod");
        assert_eq!(c.token.unwrap().expose(), "tmp");
        let e = env(&[("HOME", home), ("TCCLI_PROFILE", "prod")]);
        assert_eq!(tencent(None, &e).unwrap().secret_id.expose(), "AKIDprod");
        let e = env(&[("HOME", home), ("TCCLI_PROFILE", "missing")]);
        let err = tencent(None, &e).err().unwrap();
        assert!(err.contains("missing.credential"), "{err}");
        assert!(err.contains("TENCENTCLOUD_SECRET_ID"), "{err}");
    }

    #[test]
    fn tencent_half_env_is_an_error() {
        let e = env(&[("TENCENTCLOUD_SECRET_ID", "AKID")]);
        assert!(tencent(None, &e).is_err());
    }

    #[test]
    fn huawei_env_then_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds");
        std::fs::write(
            &file,
            "[other]\nak = no\n[basic]\nak = FILEAK\nsk = FILESK\nsecurity_token = ST\nproject_id = p1\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let e = env(&[
            ("HUAWEICLOUD_SDK_CREDENTIALS_FILE", f),
            ("HUAWEICLOUD_SDK_AK", "ENVAK"),
            ("HUAWEICLOUD_SDK_SK", "ENVSK"),
        ]);
        assert_eq!(huawei(&e).unwrap().access_key.expose(), "ENVAK");
        let e = env(&[("HUAWEICLOUD_SDK_CREDENTIALS_FILE", f)]);
        let c = huawei(&e).unwrap();
        assert_eq!(c.access_key.expose(), "FILEAK");
        assert_eq!(c.security_token.unwrap().expose(), "ST");
        assert_eq!(c.project_id.as_deref(), Some("p1"));
        let dir2 = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir2.path().join(".huaweicloud")).unwrap();
        std::fs::write(
            dir2.path().join(".huaweicloud/credentials"),
            "[basic]\nak=HOMEAK\nsk=HOMESK\n",
        )
        .unwrap();
        let e = env(&[("HOME", dir2.path().to_str().unwrap())]);
        assert_eq!(huawei(&e).unwrap().access_key.expose(), "HOMEAK");
        let e = env(&[("HOME", "/nonexistent")]);
        assert!(huawei(&e).err().unwrap().contains("HUAWEICLOUD_SDK_AK"));
    }

    #[cfg(unix)]
    #[test]
    fn open_secret_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        std::fs::write(&file, "topsecret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret_file(&file, &env(&[]), "--x-file")
            .err()
            .unwrap();
        assert!(err.contains("too open"), "{err}");
        let ok = read_secret_file(
            &file,
            &env(&[("REVOKE_ALLOW_OPEN_SECRET_FILES", "1")]),
            "--x-file",
        );
        assert_eq!(ok.unwrap().expose(), "topsecret");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read_secret_file(&file, &env(&[]), "--x-file")
                .unwrap()
                .expose(),
            "topsecret"
        );
    }
}
