//! What `revoke --version` says, and the build details behind it (`revoke version --json`,
//! `revoke --version -v`): something to quote in a bug report. `build.rs` finds them; every
//! value but the version may be empty (a build from a tarball has no commit).

use serde_json::{Value, json};

/// `0.1.0 (abc1234def56 2026-12-03)` in a git checkout, `0.1.0` otherwise: what clap prints
/// after the name for `--version`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("REVOKE_VERSION_SUFFIX"));

/// The build details, by name; an unknown value is `null`.
pub fn details() -> Vec<(&'static str, Option<&'static str>)> {
    let known = |v: &'static str| (!v.is_empty()).then_some(v);
    vec![
        ("version", Some(env!("CARGO_PKG_VERSION"))),
        ("commit", known(env!("REVOKE_COMMIT"))),
        ("commit_date", known(env!("REVOKE_COMMIT_DATE"))),
        ("target", known(env!("REVOKE_TARGET"))),
        ("profile", known(env!("REVOKE_PROFILE"))),
        ("rustc", known(env!("REVOKE_RUSTC"))),
    ]
}

/// `revoke version --json`: one JSON object.
pub fn json() -> String {
    let map: serde_json::Map<String, Value> = details()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.map_or(Value::Null, |v| json!(v))))
        .collect();
    Value::Object(map).to_string()
}

/// `revoke version` and `revoke --version -v`: the version line, then one `name: value` line
/// per known detail (as `rustc -vV` does).
pub fn text(verbose: bool) -> String {
    let mut out = format!("revoke {VERSION}\n");
    if verbose {
        for (name, value) in details().into_iter().skip(1) {
            out.push_str(&format!("{name}: {}\n", value.unwrap_or("unknown")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_names_every_detail() {
        let v: Value = serde_json::from_str(&json()).unwrap();
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        for key in ["commit", "commit_date", "target", "profile", "rustc"] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(text(true).lines().any(|l| l.starts_with("profile: ")));
    }
}
