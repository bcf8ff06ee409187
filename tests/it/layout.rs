//! The layout of `src/`: no module imports one that imports it back.
//!
//! Every `.rs` file under `src/` is read (comments, strings and character literals blanked out)
//! and each path it names into the crate is taken as an edge from its file to the file that
//! holds the module the path leads to: `use crate::report::sink::{Sink, SinkConfig}`,
//! `crate::report::logging::say(..)` in an expression, `super::x`, `self::x`, and a bare
//! `child::x` for a module declared under the file's own. A path is resolved to the longest
//! prefix that is a module file (`crate::report::text::escape` -> `src/report/text.rs`);
//! a name re-exported by a `mod.rs` counts for that `mod.rs`. Unit-test modules count too:
//! they build with the crate. `src/lib.rs` (the wiring, which names every folder) and
//! `src/main.rs` (another crate) are left out.
//!
//! Two checks, each reporting every cycle it finds with the line that makes each edge:
//! - between the top-level parts of `src/` (`cli`, `settings`, `providers`, `sign`, `net`,
//!   `engine`, `report`, `commands`, `secret`, `error`, ...): the pipeline reads one way;
//! - between files inside the folders listed in [`FILE_ACYCLIC`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges between top-level parts still allowed while the restructuring of issue 20 removes
/// them (the lead's part of it): each one closes a cycle, and an entry that no longer matches
/// an edge fails the check, so the list only shrinks. Empty it as they go.
const ALLOWED: &[(&str, &str)] = &[];

/// Folders (module paths) whose files import no file that imports them back, directly or
/// through a chain of files in the same folder. Files in a sub-folder count for the sub-folder
/// (`engine::pace::rate` is checked under `engine::pace`, not under `engine`).
const FILE_ACYCLIC: &[&str] = &["report", "net", "sign", "engine::pace"];

/// A module of the crate, by path (`report::text`), and the file that holds it.
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

/// `src/` as a graph: module path -> modules it names, each edge with the first place that
/// names it (`src/report/logging.rs:101`).
struct Graph {
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn modules() -> Vec<Module> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = src();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|file| {
            let rel = file.strip_prefix(&root).unwrap();
            let mut path: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            match path.last().map(String::as_str) {
                Some("main") if path.len() == 1 => return None,
                Some("lib") if path.len() == 1 => path.clear(),
                Some("mod") => {
                    path.pop();
                }
                _ => {}
            }
            Some(Module { path, file })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// The tokens of `code` that paths are made of, each with its line; comments, string, byte
/// string, raw string and character literals, lifetimes and numbers are dropped.
fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let ident_start = |ch: char| ch.is_alphabetic() || ch == '_';
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    // Skips a "..." literal whose opening quote is at `i`; returns the index after it.
    let skip_string = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if i < c.len() && c[i] == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(i, &mut line);
        } else if (ch == 'r' || (ch == 'b' && next == Some('r'))) && {
            let j = if ch == 'b' { i + 2 } else { i + 1 };
            let mut k = j;
            while c.get(k) == Some(&'#') {
                k += 1;
            }
            c.get(k) == Some(&'"') && (k > j || c.get(j) == Some(&'"'))
        } {
            // r"..", r#".."#, br"..": no escapes, ends at the quote and as many #.
            let mut j = if ch == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while c[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= c.len() {
                    break;
                }
                if c[j] == '\n' {
                    line += 1;
                }
                if c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
        } else if ch == 'b' && next == Some('"') {
            i = skip_string(i + 1, &mut line);
        } else if ch == 'b' && next == Some('\'') {
            i += 1;
        } else if ch == '\'' {
            // A character literal ('x', '\n', '\u{1b}', '\'') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && ident_char(c[i]) {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() {
            while i < c.len() && ident_char(c[i]) {
                i += 1;
            }
        } else if ident_start(ch) {
            let start = i;
            while i < c.len() && ident_char(c[i]) {
                i += 1;
            }
            let mut word: String = c[start..i].iter().collect();
            if word == "r" && c.get(i) == Some(&'#') {
                // r#type
                i += 1;
                let s = i;
                while i < c.len() && ident_char(c[i]) {
                    i += 1;
                }
                word = c[s..i].iter().collect();
            }
            out.push((Tok::Ident(word), line));
        } else if ch == ':' && next == Some(':') {
            out.push((Tok::Path, line));
            i += 2;
        } else if ch.is_whitespace() {
            i += 1;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// The paths a use tree at `toks[*at..]` names, whole (`a::{b, c::d}` -> `a::b`, `a::c::d`);
/// `*at` is left after the tree.
fn use_tree(toks: &[(Tok, usize)], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    loop {
        match toks.get(*at).map(|t| &t.0) {
            Some(Tok::Ident(w))
                if w == "self" && !prefix.is_empty() && path.len() == prefix.len() =>
            {
                // `a::{self, ..}`: names `a` itself.
                *at += 1;
            }
            Some(Tok::Ident(w)) => {
                path.push(w.clone());
                *at += 1;
            }
            Some(Tok::Punct('{')) => {
                *at += 1;
                loop {
                    match toks.get(*at).map(|t| &t.0) {
                        Some(Tok::Punct('}')) | None => {
                            *at += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *at += 1,
                        _ => use_tree(toks, at, &path, out),
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                *at += 1;
            }
            _ => {}
        }
        match toks.get(*at).map(|t| &t.0) {
            Some(Tok::Path) => *at += 1,
            Some(Tok::Ident(w)) if w == "as" => {
                *at += 2;
                break;
            }
            _ => break,
        }
    }
    if path.len() > prefix.len() || !prefix.is_empty() {
        out.push(path);
    }
}

impl Graph {
    fn build() -> (Graph, Vec<Module>) {
        let mods = modules();
        let known: BTreeSet<Vec<String>> = mods.iter().map(|m| m.path.clone()).collect();
        let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for m in &mods {
            let code = std::fs::read_to_string(&m.file).unwrap();
            let toks = tokens(&code);
            let here = m.path.join("::");
            let at_of = |line: usize| {
                format!(
                    "src/{}:{line}",
                    m.file.strip_prefix(src()).unwrap().display()
                )
            };
            // The module the code at a token is in: the file's, or an inline `mod x { .. }`
            // inside it (a unit-test module), whose `super` is the file's module.
            let mut inline: Vec<(String, usize)> = Vec::new();
            let mut depth = 0usize;
            let mut i = 0;
            while i < toks.len() {
                let (tok, line) = &toks[i];
                let scope: Vec<String> = m
                    .path
                    .iter()
                    .cloned()
                    .chain(inline.iter().map(|(n, _)| n.clone()))
                    .collect();
                let mut named: Vec<Vec<String>> = Vec::new();
                match tok {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => {
                        depth = depth.saturating_sub(1);
                        if inline.last().is_some_and(|(_, d)| *d == depth) {
                            inline.pop();
                        }
                    }
                    Tok::Ident(w) if w == "mod" => {
                        if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
                            (toks.get(i + 1), toks.get(i + 2))
                        {
                            inline.push((name.clone(), depth));
                        }
                    }
                    Tok::Ident(w) if w == "use" => {
                        let mut at = i + 1;
                        if matches!(toks.get(at).map(|t| &t.0), Some(Tok::Path)) {
                            at += 1;
                        }
                        use_tree(&toks, &mut at, &[], &mut named);
                        i = at - 1;
                    }
                    Tok::Ident(w)
                        if matches!(toks.get(i + 1).map(|t| &t.0), Some(Tok::Path))
                            && !matches!(i.checked_sub(1).map(|p| &toks[p].0), Some(Tok::Path)) =>
                    {
                        let mut path = vec![w.clone()];
                        let mut j = i + 1;
                        while let (Some((Tok::Path, _)), Some((Tok::Ident(n), _))) =
                            (toks.get(j), toks.get(j + 1))
                        {
                            path.push(n.clone());
                            j += 2;
                        }
                        named.push(path);
                        i = j - 1;
                    }
                    _ => {}
                }
                for path in named {
                    let Some(full) = absolute(&scope, &path, &known) else {
                        continue;
                    };
                    // The longest prefix that is a module file.
                    let target = (0..=full.len())
                        .rev()
                        .map(|n| full[..n].to_vec())
                        .find(|p| known.contains(p))
                        .unwrap_or_default();
                    let target = target.join("::");
                    if target != here && !target.is_empty() {
                        edges
                            .entry(here.clone())
                            .or_default()
                            .entry(target)
                            .or_insert_with(|| at_of(*line));
                    }
                }
                i += 1;
            }
        }
        (Graph { edges }, mods)
    }

    /// The graph with every node renamed by `part` (edges inside one part dropped); `None`
    /// leaves the node out.
    fn collapse(&self, part: impl Fn(&str) -> Option<String>) -> Graph {
        let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (from, tos) in &self.edges {
            for (to, at) in tos {
                if let (Some(a), Some(b)) = (part(from), part(to))
                    && a != b
                {
                    edges
                        .entry(a)
                        .or_default()
                        .entry(b)
                        .or_insert_with(|| at.clone());
                }
            }
        }
        Graph { edges }
    }

    /// The strongly connected components of more than one node (Tarjan), each sorted.
    fn cycles(&self) -> Vec<Vec<String>> {
        struct State<'a> {
            g: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on: BTreeSet<&'a str>,
            out: Vec<Vec<String>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a str) {
            let n = s.index.len();
            s.index.insert(v, n);
            s.low.insert(v, n);
            s.stack.push(v);
            s.on.insert(v);
            for w in s.g.edges.get(v).into_iter().flat_map(|m| m.keys()) {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let l = s.low[v].min(s.low[w]);
                    s.low.insert(v, l);
                } else if s.on.contains(w) {
                    let l = s.low[v].min(s.index[w]);
                    s.low.insert(v, l);
                }
            }
            if s.low[v] == s.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on.remove(w);
                    comp.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    s.out.push(comp);
                }
            }
        }
        let mut s = State {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on: BTreeSet::new(),
            out: Vec::new(),
        };
        for v in self.edges.keys() {
            if !s.index.contains_key(v.as_str()) {
                visit(&mut s, v);
            }
        }
        s.out.sort();
        s.out
    }

    /// Each cycle, with the edges inside it and where each is made.
    fn describe(&self, cycles: &[Vec<String>]) -> String {
        let mut text = String::new();
        for comp in cycles {
            text.push_str(&format!("cycle: {}\n", comp.join(", ")));
            for from in comp {
                for (to, at) in self.edges.get(from).into_iter().flatten() {
                    if comp.contains(to) {
                        text.push_str(&format!("  {from} -> {to}  ({at})\n"));
                    }
                }
            }
        }
        text
    }
}

/// `path` as named in module `scope`, made absolute from the crate root; `None` for a path
/// outside the crate (`std::..`, `serde_json::..`) or to a name imported into `scope`.
fn absolute(
    scope: &[String],
    path: &[String],
    known: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = scope.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some(first) => {
            // A bare path: a module declared under this one (`attempt::exchange` in
            // engine/mod.rs), or nothing of the crate's.
            let mut child = base.clone();
            child.push(first.to_string());
            if !known.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The top-level part of `src/` a module belongs to: its first folder or file name.
fn top(module: &str) -> Option<String> {
    module.split("::").next().map(str::to_string)
}

#[test]
fn no_cycle_between_the_parts_of_src() {
    let (files, _) = Graph::build();
    let mut parts = files.collapse(top);
    let mut stale = Vec::new();
    for (from, to) in ALLOWED {
        let present = parts
            .edges
            .get_mut(*from)
            .and_then(|m| m.remove(*to))
            .is_some();
        if !present {
            stale.push(format!("{from} -> {to}"));
        }
    }
    let cycles = parts.cycles();
    assert!(
        cycles.is_empty(),
        "modules of src/ import each other back (break each cycle: move the shared piece \
         to where it belongs):\n{}",
        parts.describe(&cycles)
    );
    assert!(
        stale.is_empty(),
        "ALLOWED in tests/it/layout.rs names edges that no longer exist; remove them: {stale:?}"
    );
}

#[test]
fn no_cycle_between_files_of_a_folder() {
    let (files, _) = Graph::build();
    for folder in FILE_ACYCLIC {
        let prefix = format!("{folder}::");
        // Inside `folder`: its own files, and each sub-folder as one node.
        let inside = files.collapse(|m| {
            if m == *folder {
                return Some(m.to_string());
            }
            let rest = m.strip_prefix(&prefix)?;
            let first = rest.split("::").next().unwrap();
            Some(format!("{prefix}{first}"))
        });
        let cycles = inside.cycles();
        assert!(
            cycles.is_empty(),
            "files of src/{} import each other back:\n{}",
            folder.replace("::", "/"),
            inside.describe(&cycles)
        );
    }
}

/// The reader itself: every form of path the crate uses is seen, and nothing in a comment
/// or a string is.
#[test]
fn paths_are_read_from_code_only() {
    let code = r##"
        //! See [`crate::a::x`].
        use crate::b::{self, c::{D, e}, f::*};
        use super::g as h;
        fn k<'a>(s: &'a str) -> char {
            let _ = "crate::i::j"; let _ = r#"crate::i::j"#; let _ = b"crate::i";
            // crate::i::k
            /* crate::i /* nested */ crate::i */
            let q = '\''; let r = '"';
            crate::l::m(); child::n(); std::mem::take(&mut 1); crate::o::p::<u8>();
            'x'
        }
        mod tests { use super::*; use super::super::q; }
    "##;
    let known: BTreeSet<Vec<String>> = [
        "a",
        "b",
        "b::c",
        "f",
        "g",
        "i",
        "l",
        "o::p",
        "q",
        "z",
        "z::w",
        "z::w::child",
    ]
    .iter()
    .map(|p| p.split("::").map(str::to_string).collect())
    .collect();
    let toks = tokens(code);
    let mut named = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i].0 == Tok::Ident("use".into()) {
            let mut at = i + 1;
            use_tree(&toks, &mut at, &[], &mut named);
            i = at;
        } else {
            i += 1;
        }
    }
    let uses: Vec<String> = named.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        uses,
        [
            "crate::b",
            "crate::b::c::D",
            "crate::b::c::e",
            "crate::b::f",
            "super::g",
            "super",
            "super::super::q"
        ]
    );
    let words: Vec<&str> = toks
        .iter()
        .filter_map(|(t, _)| match t {
            Tok::Ident(w) => Some(w.as_str()),
            _ => None,
        })
        .collect();
    assert!(!words.contains(&"i") && !words.contains(&"x"), "{words:?}");
    assert!(words.contains(&"l") && words.contains(&"n"), "{words:?}");
    let scope: Vec<String> = vec!["z".into(), "w".into()];
    let abs = |p: &str| {
        let p: Vec<String> = p.split("::").map(str::to_string).collect();
        absolute(&scope, &p, &known).map(|v| v.join("::"))
    };
    assert_eq!(abs("child::n").as_deref(), Some("z::w::child::n"));
    assert_eq!(abs("super::g").as_deref(), Some("z::g"));
    assert_eq!(abs("crate::l::m").as_deref(), Some("l::m"));
    assert_eq!(abs("std::mem::take"), None);
}

/// The checker finds a cycle through a chain, not only a pair, and names each edge.
#[test]
fn a_cycle_through_a_chain_is_found() {
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        edges
            .entry(a.into())
            .or_default()
            .insert(b.into(), format!("{a}.rs:1"));
    }
    let g = Graph { edges };
    assert_eq!(g.cycles(), vec![vec!["a", "b", "c"]]);
    assert!(g.describe(&g.cycles()).contains("c -> a  (c.rs:1)"));
}

/// A report of the graph for a human (`cargo test --test it layout::print -- --ignored
/// --nocapture`): every edge between the parts, and every cycle between files anywhere.
#[test]
#[ignore]
fn print() {
    let (files, _) = Graph::build();
    let parts = files.collapse(top);
    for (from, tos) in &parts.edges {
        for (to, at) in tos {
            println!("{from} -> {to}  ({at})");
        }
    }
    println!("\nfile cycles:\n{}", files.describe(&files.cycles()));
}

/// A run command's modules are declared by the command list in `lib.rs` (`with_commands!`),
/// not by `mod` lines: a file of `providers/` or `settings/` that neither names would not be
/// compiled at all, and nothing else would say so.
#[test]
fn every_file_of_providers_and_settings_is_compiled() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let list = &lib[lib
        .find("macro_rules! with_commands")
        .expect("the command list")..];
    let list = &list[..list.find("\n}\n").unwrap()];
    let listed: Vec<&str> = list
        .lines()
        .filter_map(|l| {
            l.split_once("=>")
                .map(|(_, m)| m.trim().trim_end_matches(','))
        })
        .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    assert!(listed.contains(&"identity_store"), "{listed:?}");
    for dir in ["providers", "settings"] {
        let parent = std::fs::read_to_string(src().join(dir).join("mod.rs")).unwrap();
        for e in std::fs::read_dir(src().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            if stem == "mod" {
                continue;
            }
            let declared = parent.contains(&format!("mod {stem};"));
            assert!(
                declared || listed.contains(&stem.as_str()),
                "src/{dir}/{stem}.rs is in no `mod` line and not in the command list"
            );
            assert!(
                !(declared && listed.contains(&stem.as_str())),
                "src/{dir}/{stem}.rs is declared twice"
            );
        }
    }
}
