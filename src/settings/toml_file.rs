//! A TOML settings file (the config file, a plan) read into checked tables of options, every
//! value with the line it is written on.
//!
//! The document is parsed with the `toml` crate into its spanned tree (`DeTable`) rather than
//! deserialized into a struct: the keys are the options' long names, which the command line
//! defines (`schema`), and every error must name the file, the line and the key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::UsageError;
use super::schema::{Key, Kind, suggest};
use crate::settings::creds::Env;

/// The largest settings file read, in bytes.
const MAX_FILE: u64 = 1024 * 1024;

/// Keys of which a table may set only one: the ways to give one secret, and the keys a
/// command's descriptor names (the two ways to name ciam's server).
fn one_of() -> Vec<Vec<&'static str>> {
    let mut groups: Vec<Vec<&'static str>> = Vec::new();
    for d in super::RunCommand::ALL {
        let secret = match d.credentials {
            crate::providers::Credentials::Secret(keys)
            | crate::providers::Credentials::SecretOrPublic(keys) => Some(keys.keys().to_vec()),
            _ => None,
        };
        for group in secret
            .into_iter()
            .chain(d.one_of.iter().map(|g| g.to_vec()))
        {
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    groups
}

/// A settings file, read and decoded (UTF-8, a byte-order mark removed), not yet parsed.
pub struct TomlFile {
    pub path: PathBuf,
    text: String,
    /// Other users can read the file: it may not hold a secret.
    open_to_others: bool,
    /// Where each line after the first starts, for [`TomlFile::line`] (a plan of 12,000 steps
    /// counted its newlines from the start for every key: minutes).
    line_starts: Vec<usize>,
}

impl TomlFile {
    /// Reads `path`; `Err(NotFound)` when it does not exist, so that the caller decides whether
    /// that is fine.
    pub fn read(path: &Path) -> std::io::Result<TomlFile> {
        // Checked before the open too: opening a FIFO waits for a writer, maybe forever
        // (`--config FIFO` used to hang). The check after the open holds if the path changed.
        if !std::fs::metadata(path)?.is_file() {
            return Err(std::io::Error::other(
                "not a regular file (a FIFO, a device or a directory cannot be a settings file)",
            ));
        }
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let text = read_whole(file).map_err(std::io::Error::other)?;
        Ok(TomlFile::of(
            path.to_path_buf(),
            text,
            open_to_others(&meta),
        ))
    }

    fn of(path: PathBuf, text: String, open_to_others: bool) -> TomlFile {
        let line_starts = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        TomlFile {
            path,
            text,
            open_to_others,
            line_starts,
        }
    }

    /// Reads a plan from stdin, bounded as a file is; it is named `stdin` in messages, and
    /// its relative paths are taken from the current directory.
    pub fn stdin() -> std::io::Result<TomlFile> {
        let text = read_whole(std::io::stdin().lock()).map_err(std::io::Error::other)?;
        Ok(TomlFile::of(PathBuf::from("stdin"), text, false))
    }

    /// The file's text, as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The document's tree; a syntax error names the file and the line.
    pub fn parse(&self) -> Result<Spanned<DeTable<'_>>, UsageError> {
        DeTable::parse(&self.text).map_err(|e| {
            let line = e.span().map(|s| self.line(&s)).unwrap_or(1);
            let why = e.message().trim().replace('\n', "; ");
            UsageError::ConfigFile(format!(
                "{}:{line}: not valid TOML: {why}",
                self.path.display()
            ))
        })
    }

    /// The 1-based line a span starts on.
    pub fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        // The lines that start at or before `end`, after the first.
        self.line_starts.partition_point(|&start| start <= end) + 1
    }

    /// An error about `key`, written at `span`.
    pub fn error(&self, span: &Range<usize>, key: &str, why: impl Into<String>) -> UsageError {
        UsageError::Config {
            file: self.path.clone(),
            line: self.line(span),
            key: key.to_string(),
            why: why.into(),
        }
    }

    /// An error about the file at `span`, naming no key.
    pub fn error_at(&self, span: &Range<usize>, why: impl std::fmt::Display) -> UsageError {
        UsageError::ConfigFile(format!(
            "{}:{}: {why}",
            self.path.display(),
            self.line(span)
        ))
    }
}

/// The file's text, bounded, decoded as UTF-8 with a byte-order mark removed, and not trimmed
/// (line numbers count from its first byte).
fn read_whole(file: impl std::io::Read) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("larger than {} KiB", MAX_FILE / 1024));
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    String::from_utf8(body.to_vec()).map_err(|e| {
        format!(
            "not valid UTF-8 (at byte {}); save the file as UTF-8",
            e.utf8_error().valid_up_to() + 1
        )
    })
}

#[cfg(unix)]
fn open_to_others(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 != 0
}

#[cfg(not(unix))]
fn open_to_others(_: &std::fs::Metadata) -> bool {
    false
}

/// A value as the settings layers read it: the text a flag would have, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    One(String),
    Many(Vec<String>),
}

/// One `key = value` of a table, checked.
#[derive(Clone)]
pub struct Entry {
    pub key: String,
    pub kind: Kind,
    pub value: Val,
    pub line: usize,
}

/// An inline secret's value is never shown, not even in a debug print.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Entry");
        d.field("key", &self.key).field("kind", &self.kind);
        match self.kind {
            Kind::Secret => d.field("value", &crate::secret::MASK),
            _ => d.field("value", &self.value),
        };
        d.field("line", &self.line).finish()
    }
}

/// A table of settings, checked against the keys it may hold.
#[derive(Debug, Clone)]
pub struct Table {
    pub file: PathBuf,
    /// How messages name it: `[smh.prod]`, `[defaults]`, `step 2`.
    pub title: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Table {
    pub fn empty(file: &Path, title: &str) -> Table {
        Table {
            file: file.to_path_buf(),
            title: title.to_string(),
            line: 0,
            entries: Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// How a table's values are read.
pub struct Reading<'a> {
    /// `HOME` (for `~/`) and, with `expand`, the `${VAR}`s.
    pub env: &'a dyn Env,
    /// Replace `${VAR}` in strings by the environment variable (plans).
    pub expand: bool,
    /// Relative paths are relative to this directory (a plan's); `None`: to the working
    /// directory.
    pub base: Option<&'a Path>,
    /// How many bytes the `${VAR}` expansions of this file may still produce, in all.
    pub budget: std::cell::Cell<usize>,
}

/// The most text a plan's strings may hold once their `${VAR}`s are replaced, in all: four
/// times the largest plan file. (A 20 KB plan referencing a 100 KB variable 5,000 times used
/// to grow to gigabytes.)
pub const MAX_EXPANDED: usize = 4 << 20;

/// Why a `${VAR}` could not be replaced.
#[derive(Debug, PartialEq)]
pub enum Unexpanded {
    /// The variable is unset (or empty).
    Unset(String),
    /// The text would pass [`MAX_EXPANDED`].
    TooLarge,
}

impl std::fmt::Display for Unexpanded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unexpanded::Unset(var) => write!(
                f,
                "${{{var}}} is not set (a plan takes ${{VAR}} from the environment)"
            ),
            Unexpanded::TooLarge => write!(
                f,
                "the plan's strings would hold more than {} MiB once their ${{VAR}}s are replaced; use an input file for many targets",
                MAX_EXPANDED >> 20
            ),
        }
    }
}

/// Where a table is and what it is for, in messages.
pub struct Place<'a> {
    /// `[smh.prod]`, `[defaults]`, `step 2`.
    pub title: &'a str,
    /// Where its header is written.
    pub span: Range<usize>,
    /// Whose options it holds, after "not": `an option of smh`, `a global option`.
    pub scope: &'a str,
}

/// Checks the `table` against `keys`: every key known and of its type, the choices among their
/// values, one way at most to give a secret, and a secret written inline only in a file other
/// users cannot read. `skip` are keys the caller reads itself.
pub fn check_table(
    file: &TomlFile,
    place: &Place,
    table: &DeTable<'_>,
    keys: &[Key],
    skip: &[&str],
    reading: &Reading,
) -> Result<Table, UsageError> {
    let Place { title, scope, .. } = *place;
    let mut items: Vec<(&Spanned<std::borrow::Cow<'_, str>>, &Spanned<DeValue<'_>>)> =
        table.iter().collect();
    // File order, so that the first error reported is the first in the file.
    items.sort_by_key(|(k, _)| k.span().start);
    let mut entries = Vec::new();
    for (k, v) in items {
        let name = k.get_ref().as_ref();
        if skip.contains(&name) {
            continue;
        }
        let Some(key) = keys.iter().find(|key| key.long == name) else {
            let hint = match suggest(name, keys.iter().map(|k| k.long.as_str())) {
                Some(s) => format!(" (did you mean {s}?)"),
                None => String::new(),
            };
            return Err(file.error(
                &k.span(),
                name,
                format!("unknown key in {title}: not {scope}{hint}"),
            ));
        };
        let value = convert(file, name, key, v, reading)?;
        if key.kind == Kind::Secret && file.open_to_others && !allow_open(reading.env) {
            return Err(file.error(
                &k.span(),
                name,
                format!(
                    "a secret written in the file needs a file other users cannot read: run `chmod 600 {}`, or use {name}-file or {name}-command",
                    file.path.display()
                ),
            ));
        }
        if let (Kind::Secret, Val::One(secret)) = (key.kind, &value) {
            // Known to the scrubber from now on, whatever happens to the run.
            crate::secret::Redactor::global().add(&crate::secret::Secret::new(secret.trim()));
        }
        entries.push(Entry {
            key: name.to_string(),
            kind: key.kind,
            value,
            line: file.line(&k.span()),
        });
    }
    for group in one_of() {
        let set: Vec<&Entry> = entries
            .iter()
            .filter(|e| group.contains(&e.key.as_str()))
            .collect();
        if let [first, second, ..] = set.as_slice() {
            return Err(UsageError::Config {
                file: file.path.clone(),
                line: second.line,
                key: second.key.clone(),
                why: format!(
                    "{title} already sets {} (line {}): set only one of {}",
                    first.key,
                    first.line,
                    group.join(", ")
                ),
            });
        }
    }
    Ok(Table {
        file: file.path.clone(),
        title: title.to_string(),
        line: file.line(&place.span),
        entries,
    })
}

/// `REVOKE_ALLOW_OPEN_SECRET_FILES=1`, as for `--*-file`.
fn allow_open(env: &dyn Env) -> bool {
    env.var("REVOKE_ALLOW_OPEN_SECRET_FILES").as_deref() == Some("1")
}

/// The TOML value of `key` as the text a flag would have.
pub fn convert(
    file: &TomlFile,
    name: &str,
    key: &Key,
    value: &Spanned<DeValue<'_>>,
    reading: &Reading,
) -> Result<Val, UsageError> {
    let span = value.span();
    let wrong = || {
        file.error(
            &span,
            name,
            format!(
                "expected {}, found {}",
                key.kind.expected(),
                // A secret's value is never echoed, whatever its type.
                if key.kind == Kind::Secret {
                    describe_type(value.get_ref()).to_string()
                } else {
                    describe(value.get_ref())
                }
            ),
        )
    };
    let text = |s: &str| -> Result<String, UsageError> {
        if reading.expand {
            expand(s, reading.env, &reading.budget)
                .map_err(|why| file.error(&span, name, why.to_string()))
        } else {
            Ok(s.to_string())
        }
    };
    let out = match (key.kind, value.get_ref()) {
        (Kind::Bool, DeValue::Boolean(b)) => Val::One(b.to_string()),
        (Kind::Integer | Kind::Number | Kind::Rate, DeValue::Integer(i)) => {
            let n = i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| wrong())?;
            Val::One(n.to_string())
        }
        (Kind::Number | Kind::Rate, DeValue::Float(f)) => Val::One(f.as_str().to_string()),
        (Kind::Rate, DeValue::String(s)) if s.trim().eq_ignore_ascii_case("auto") => {
            Val::One("auto".to_string())
        }
        (Kind::Text | Kind::Secret | Kind::Command, DeValue::String(s)) => {
            let s = text(s)?;
            if !key.choices.is_empty() && !key.choices.contains(&s) {
                return Err(file.error(
                    &span,
                    name,
                    format!("{s:?} is not one of {}", key.choices.join(", ")),
                ));
            }
            Val::One(s)
        }
        (Kind::Path, DeValue::String(s)) => Val::One(path(&text(s)?, reading)),
        (Kind::List, DeValue::String(s)) => Val::Many(vec![text(s)?]),
        (Kind::List, DeValue::Array(items)) => {
            let mut out = Vec::new();
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(s) => out.push(text(s)?),
                    _ => return Err(wrong()),
                }
            }
            Val::Many(out)
        }
        _ => return Err(wrong()),
    };
    Ok(out)
}

/// `~/` is the home directory; a relative path is taken from `reading.base` when there is one.
/// `-` (stdin) stays as it is.
pub fn path(p: &str, reading: &Reading) -> String {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = reading.env.var("HOME")
    {
        return Path::new(&home).join(rest).display().to_string();
    }
    match reading.base {
        Some(base) if p != "-" && Path::new(p).is_relative() => base.join(p).display().to_string(),
        _ => p.to_string(),
    }
}

/// `text` with each `${NAME}` replaced by the environment variable NAME; an error for the
/// first one unset (or empty), or when the result would pass what is left of `budget` (which
/// it then uses). A `$` not followed by `{` is kept.
pub fn expand(
    text: &str,
    env: &dyn Env,
    budget: &std::cell::Cell<usize>,
) -> Result<String, Unexpanded> {
    let mut out = String::with_capacity(text.len().min(budget.get()));
    let mut rest = text;
    let push = |out: &mut String, s: &str| -> Result<(), Unexpanded> {
        let left = budget.get();
        if s.len() > left {
            budget.set(0);
            return Err(Unexpanded::TooLarge);
        }
        budget.set(left - s.len());
        out.push_str(s);
        Ok(())
    };
    while let Some(at) = rest.find("${") {
        push(&mut out, &rest[..at])?;
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            push(&mut out, &rest[at..])?;
            return Ok(out);
        };
        let name = &after[..end];
        match env.var(name) {
            Some(v) => push(&mut out, &v)?,
            None => return Err(Unexpanded::Unset(name.to_string())),
        }
        rest = &after[end + 1..];
    }
    push(&mut out, rest)?;
    Ok(out)
}

/// A TOML value's type, in words, for a type error.
pub fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("a string ({s:?})"),
        DeValue::Integer(i) => format!("a number ({i})"),
        DeValue::Float(f) => format!("a number ({f})"),
        DeValue::Boolean(b) => format!("{b}"),
        DeValue::Datetime(_) => "a date".into(),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// A TOML value's type only, for a secret's type error.
pub fn describe_type(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) | DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    pub struct MapEnv(pub HashMap<&'static str, &'static str>);
    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    #[test]
    fn variables_are_expanded_and_unset_ones_named() {
        let env = MapEnv(HashMap::from([("USER_ID", "alice"), ("EMPTY", "")]));
        let budget = std::cell::Cell::new(MAX_EXPANDED);
        assert_eq!(
            expand("offboard-${USER_ID}.ndjson", &env, &budget).unwrap(),
            "offboard-alice.ndjson"
        );
        assert_eq!(
            expand("$HOME and ${", &env, &budget).unwrap(),
            "$HOME and ${"
        );
        assert_eq!(
            expand("a ${NOPE} b", &env, &budget).unwrap_err(),
            Unexpanded::Unset("NOPE".into())
        );
        let small = std::cell::Cell::new(30);
        assert!(expand("${USER_ID}${USER_ID}", &env, &small).is_ok());
        assert_eq!(small.get(), 20);
        assert_eq!(
            expand(
                "${USER_ID}${USER_ID}${USER_ID}${USER_ID}${USER_ID}",
                &env,
                &small
            )
            .unwrap_err(),
            Unexpanded::TooLarge
        );
    }

    #[test]
    fn paths_start_at_home_or_at_the_base() {
        let env = MapEnv(HashMap::from([("HOME", "/home/u")]));
        let base = Path::new("/plans");
        let r = Reading {
            env: &env,
            expand: false,
            base: Some(base),
            budget: Default::default(),
        };
        assert_eq!(path("~/s.secret", &r), "/home/u/s.secret");
        assert_eq!(path("tokens/a.txt", &r), "/plans/tokens/a.txt");
        assert_eq!(path("/abs", &r), "/abs");
        assert_eq!(path("-", &r), "-");
        let r = Reading { base: None, ..r };
        assert_eq!(path("rel", &r), "rel");
    }
}
