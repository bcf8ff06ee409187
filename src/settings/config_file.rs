//! The configuration file: `--config FILE` (env `REVOKE_CONFIG`), else
//! `$XDG_CONFIG_HOME/revoke/config.toml` (`~/.config/revoke/config.toml`).
//!
//! ```toml
//! [defaults]              # global options, by their long name
//! concurrency = 16
//! [smh.prod]              # COMMAND.CONTEXT: any option of that command, by its long name
//! library-id = "smh0a1b2c3d"
//! ```
//!
//! The whole file is checked when it is read, whatever the command: an unknown table or key, a
//! value of the wrong type, a choice that is not one, two ways to give one secret or a secret
//! written in a file others can read is exit 2 naming the file, the line and the key (a typo
//! must never fall back to a default endpoint in silence). What a run reads from it is a
//! [`Scoped`] view: the command's context, then `[defaults]`, a [`Lookup`] below the command
//! line and the environment.

use std::path::{Path, PathBuf};

use super::RunCommand;
use super::UsageError;
use super::layers::{Found, FoundList, Lookup};
use super::schema::{command_keys, global_keys, suggest};
use super::toml_file::{Place, Reading, Table, TomlFile, Val, check_table, describe};
use crate::settings::creds::Env;

/// The implicit context: used when no `--context` is given and the file has one.
pub const DEFAULT_CONTEXT: &str = "default";

/// A context table: `[COMMAND.NAME]`.
#[derive(Debug, Clone)]
pub struct ContextTable {
    pub command: String,
    pub name: String,
    pub table: Table,
}

/// A config file, read and checked.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub defaults: Table,
    pub contexts: Vec<ContextTable>,
}

/// Where the config file is looked for, and whether the user named it.
pub fn location(flag: Option<&Path>, env: &dyn Env) -> Option<(PathBuf, bool)> {
    let home = env.var("HOME");
    if let Some(p) = flag.filter(|p| !p.as_os_str().is_empty()) {
        // `~/` too: the shell does not expand it in `REVOKE_CONFIG="~/..."` or `--config=~/...`.
        let p = match (p.to_str().and_then(|s| s.strip_prefix("~/")), &home) {
            (Some(rest), Some(h)) => Path::new(h).join(rest),
            _ => p.to_path_buf(),
        };
        return Some((p, true));
    }
    // The XDG base directory spec: a relative XDG_CONFIG_HOME is invalid and ignored.
    let xdg = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let dir = xdg.or_else(|| home.map(|h| Path::new(&h).join(".config")))?;
    Some((dir.join("revoke").join("config.toml"), false))
}

impl ConfigFile {
    /// Reads the config file, if there is one. A missing default file is no config file; a
    /// missing `--config` file is an error.
    pub fn load(flag: Option<&Path>, env: &dyn Env) -> Result<Option<ConfigFile>, UsageError> {
        let Some((path, named)) = location(flag, env) else {
            return Ok(None);
        };
        let file = match TomlFile::read(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => return Ok(None),
            Err(e) => {
                let how = if named { "--config " } else { "" };
                return Err(UsageError::ConfigFile(format!(
                    "cannot read the config file {how}{}: {e}",
                    path.display()
                )));
            }
        };
        ConfigFile::parse(&file, env).map(Some)
    }

    /// Checks the whole file.
    pub fn parse(file: &TomlFile, env: &dyn Env) -> Result<ConfigFile, UsageError> {
        let doc = file.parse()?;
        let reading = Reading {
            env,
            expand: false,
            base: None,
            budget: Default::default(),
        };
        let mut defaults = Table::empty(&file.path, "[defaults]");
        let mut contexts = Vec::new();
        let mut top: Vec<_> = doc.get_ref().iter().collect();
        top.sort_by_key(|(k, _)| k.span().start);
        for (k, v) in top {
            let name = k.get_ref().as_ref();
            if name == "defaults" {
                let Some(table) = v.get_ref().as_table() else {
                    return Err(file.error(
                        &k.span(),
                        name,
                        format!("expected a table, found {}", describe(v.get_ref())),
                    ));
                };
                let place = Place {
                    title: "[defaults]",
                    span: k.span(),
                    scope: "a global option ([defaults] holds the options every command takes)",
                };
                defaults = check_table(file, &place, table, &global_keys(), &[], &reading)?;
                continue;
            }
            let Some(keys) = command_keys(name) else {
                let mut names = vec!["defaults"];
                names.extend(RunCommand::names());
                let hint = suggest(name, names)
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                return Err(file.error(
                    &k.span(),
                    name,
                    format!(
                        "unknown table: a config file holds [defaults] and [COMMAND.CONTEXT] tables, COMMAND one of {}{hint}",
                        RunCommand::listed()
                    ),
                ));
            };
            let Some(table) = v.get_ref().as_table() else {
                return Err(file.error(
                    &k.span(),
                    name,
                    format!(
                        "options of {name} go in a context table, [{name}.{DEFAULT_CONTEXT}] or [{name}.NAME]"
                    ),
                ));
            };
            let mut named: Vec<_> = table.iter().collect();
            named.sort_by_key(|(k, _)| k.span().start);
            for (ck, cv) in named {
                let context = ck.get_ref().as_ref();
                let Some(ctable) = cv.get_ref().as_table() else {
                    return Err(file.error(
                        &ck.span(),
                        &format!("{name}.{context}"),
                        format!(
                            "options of {name} go in a context table, [{name}.{DEFAULT_CONTEXT}] or [{name}.NAME], not directly in [{name}]"
                        ),
                    ));
                };
                let title = format!("[{name}.{context}]");
                let scope = format!("an option of {name}");
                let place = Place {
                    title: &title,
                    span: ck.span(),
                    scope: &scope,
                };
                contexts.push(ContextTable {
                    command: name.to_string(),
                    name: context.to_string(),
                    table: check_table(file, &place, ctable, &keys, &[], &reading)?,
                });
            }
        }
        Ok(ConfigFile {
            path: file.path.clone(),
            defaults,
            contexts,
        })
    }

    /// The context `command` runs with: `name` (from `--context`), which the file must have,
    /// else `default` when the file has it.
    pub fn context(&self, command: &str, name: Option<&str>) -> Result<Option<&Table>, UsageError> {
        let find = |n: &str| {
            self.contexts
                .iter()
                .find(|c| c.command == command && c.name == n)
                .map(|c| &c.table)
        };
        match name {
            None => Ok(find(DEFAULT_CONTEXT)),
            Some(n) => find(n).map(Some).ok_or_else(|| {
                let have = self.context_names(command);
                UsageError::ConfigFile(format!(
                    "context {n:?}: {} has no [{command}.{n}] table ({})",
                    self.path.display(),
                    if have.is_empty() {
                        format!("it has no context for {command}")
                    } else {
                        format!("its {command} contexts: {}", have.join(", "))
                    }
                ))
            }),
        }
    }

    /// The names of `command`'s contexts, in file order.
    pub fn context_names(&self, command: &str) -> Vec<&str> {
        self.contexts
            .iter()
            .filter(|c| c.command == command)
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// The context a run of `command` uses, from the config file (if any) and `--context`.
pub fn context_for<'a>(
    file: Option<&'a ConfigFile>,
    command: &str,
    name: Option<&str>,
) -> Result<Option<&'a Table>, UsageError> {
    match (file, name) {
        (Some(f), name) => f.context(command, name),
        (None, Some(n)) => Err(UsageError::ConfigFile(format!(
            "context {n:?}: there is no config file to take it from (pass --config FILE, or write $XDG_CONFIG_HOME/revoke/config.toml)"
        ))),
        (None, None) => Ok(None),
    }
}

/// What one run reads from settings files, highest first: a plan's `[defaults]`, the
/// command's context, the config file's `[defaults]`.
#[derive(Default)]
pub struct Scoped<'a> {
    pub tables: Vec<&'a Table>,
}

impl<'a> Scoped<'a> {
    pub fn new(tables: impl IntoIterator<Item = Option<&'a Table>>) -> Scoped<'a> {
        Scoped {
            tables: tables.into_iter().flatten().collect(),
        }
    }

    fn entry(&self, long: &str) -> Option<(&'a Table, &'a super::toml_file::Entry)> {
        self.tables
            .iter()
            .find_map(|t| t.get(long).map(|e| (*t, e)))
    }
}

impl Lookup for Scoped<'_> {
    fn lookup(&self, _command: &str, long: &str) -> Option<Found> {
        let (table, e) = self.entry(long)?;
        let text = match &e.value {
            Val::One(t) => t.clone(),
            Val::Many(items) => items.join(","),
        };
        Some(Found {
            text,
            file: table.file.clone(),
            line: e.line,
        })
    }

    fn lookup_list(&self, _command: &str, long: &str) -> Option<FoundList> {
        let (table, e) = self.entry(long)?;
        let items = match &e.value {
            Val::One(t) => vec![t.clone()],
            Val::Many(items) => items.clone(),
        };
        Some(FoundList {
            items,
            file: table.file.clone(),
            line: e.line,
        })
    }
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

    fn parse(text: &str) -> Result<ConfigFile, UsageError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let file = TomlFile::read(&path).unwrap();
        ConfigFile::parse(&file, &env(&[("HOME", "/home/u")])).map(|mut c| {
            // Name it without the temporary directory, for the messages below.
            c.path = "config.toml".into();
            c
        })
    }

    fn err(text: &str) -> String {
        let e = parse(text).unwrap_err().to_string();
        // The temporary directory is not part of what the tests compare.
        match e.find("config.toml") {
            Some(at) => e[at..].to_string(),
            None => e,
        }
    }

    const SAMPLE: &str = r#"
[defaults]
concurrency = 16
journal = "~/revoke-journal.ndjson"

[smh.prod]
library-id = "smh0a1b2c3d"
client-id = ["web", "ios"]
library-secret-file = "~/.config/revoke/smh-prod.secret"

[ciam.default]
domain = "sample.portal.tencentciam.com"
client-id = "app"
client-secret-command = "pass show ciam/app"
"#;

    #[test]
    fn the_contract_example_reads() {
        let c = parse(SAMPLE).unwrap();
        let journal = c.defaults.get("journal").unwrap();
        assert_eq!(
            journal.value,
            Val::One("/home/u/revoke-journal.ndjson".into())
        );
        assert_eq!(journal.line, 4);
        assert_eq!(c.context_names("smh"), ["prod"]);
        let prod = c.context("smh", Some("prod")).unwrap().unwrap();
        assert_eq!(prod.line, 6);
        let scoped = Scoped::new([Some(prod), Some(&c.defaults)]);
        let found = scoped.lookup("smh", "library-id").unwrap();
        assert_eq!((found.text.as_str(), found.line), ("smh0a1b2c3d", 7));
        assert_eq!(scoped.lookup("smh", "concurrency").unwrap().line, 3);
        assert_eq!(
            scoped.lookup_list("smh", "client-id").unwrap().items,
            ["web", "ios"]
        );
        assert!(c.context("smh", None).unwrap().is_none(), "no smh default");
        assert!(c.context("ciam", None).unwrap().is_some(), "ciam default");
        let e = c.context("smh", Some("staging")).unwrap_err().to_string();
        assert!(e.contains("no [smh.staging]") && e.contains("prod"), "{e}");
    }

    #[test]
    fn every_mistake_names_the_line_and_the_key() {
        let cases = [
            (
                "[defaults]\nconcurency = 3\n",
                "config.toml:2: concurency: unknown key in [defaults]: not a global option",
            ),
            (
                "[smh.prod]\nlibrary_id = \"x\"\n",
                "config.toml:2: library_id: unknown key in [smh.prod]: not an option of smh (did you mean library-id?)",
            ),
            (
                "[defaults]\nconcurrency = \"16\"\n",
                "config.toml:2: concurrency: expected a whole number, found a string (\"16\")",
            ),
            (
                "[bi-embed.x]\nscope = \"pages\"\n",
                "config.toml:2: scope: \"pages\" is not one of panel, page",
            ),
            (
                "[defaults]\ndry-run = 1\n",
                "config.toml:2: dry-run: expected true or false, found a number (1)",
            ),
            (
                "[smhh.prod]\nlibrary-id = \"x\"\n",
                "config.toml:1: smhh: unknown table",
            ),
            (
                "[smh]\nlibrary-id = \"x\"\n",
                "config.toml:2: smh.library-id: options of smh go in a context table",
            ),
            (
                "[defaults]\nlibrary-id = \"x\"\n",
                "config.toml:2: library-id: unknown key",
            ),
            (
                "[defaults]\nverbose = 2\n",
                "config.toml:2: verbose: unknown key",
            ),
            (
                "[ciam.a]\nclient-secret-file = \"f\"\nclient-secret-command = \"c\"\n",
                "config.toml:3: client-secret-command: [ciam.a] already sets client-secret-file (line 2)",
            ),
            (
                "[ciam.a]\ndomain = \"d\"\nendpoint = \"https://e\"\n",
                "config.toml:3: endpoint: [ciam.a] already sets domain (line 2)",
            ),
            (
                "[defaults]\nconcurrency = \n",
                "config.toml:2: not valid TOML",
            ),
            (
                "[defaults]\na = 1\na = 2\n",
                "config.toml:3: not valid TOML",
            ),
        ];
        for (text, want) in cases {
            let got = err(text);
            assert!(got.starts_with(want), "{text:?}\n got: {got}\nwant: {want}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_inline_secret_needs_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[ciam.default]\nclient-secret = \"s3cret-inline\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let file = TomlFile::read(&path).unwrap();
        let e = ConfigFile::parse(&file, &env(&[])).unwrap_err().to_string();
        assert!(
            e.contains(":2: client-secret: a secret written in the file"),
            "{e}"
        );
        assert!(!e.contains("s3cret-inline"), "{e}");
        let ok = env(&[("REVOKE_ALLOW_OPEN_SECRET_FILES", "1")]);
        assert!(ConfigFile::parse(&file, &ok).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = TomlFile::read(&path).unwrap();
        assert!(ConfigFile::parse(&file, &env(&[])).is_ok());
    }

    #[test]
    fn the_file_is_found_where_the_user_expects() {
        let e = env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/xdg")]);
        assert_eq!(
            location(None, &e),
            Some(("/xdg/revoke/config.toml".into(), false))
        );
        let e = env(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "relative")]);
        assert_eq!(
            location(None, &e),
            Some(("/home/u/.config/revoke/config.toml".into(), false))
        );
        assert_eq!(
            location(Some(Path::new("~/c.toml")), &e),
            Some(("/home/u/c.toml".into(), true))
        );
        let missing = ConfigFile::load(Some(Path::new("/nonexistent/c.toml")), &e)
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("--config /nonexistent/c.toml"),
            "{missing}"
        );
        let none = env(&[("HOME", "/nonexistent")]);
        assert!(ConfigFile::load(None, &none).unwrap().is_none());
    }
}
