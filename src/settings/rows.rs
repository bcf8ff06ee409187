//! `revoke apply PLAN --each FILE.csv`: the rows a plan runs once for, and the `${VAR}`s of
//! one row.
//!
//! The file is CSV as RFC 4180 writes it, and as spreadsheets save it: a header line of column
//! names, then one record per row; fields separated by commas, a field in double quotes may
//! hold commas, line breaks and quotes (doubled: `""`); lines end with CRLF or LF. A UTF-8
//! byte-order mark (Excel's "CSV UTF-8") is removed; UTF-16 ("Unicode text") is refused with a
//! hint. Blank lines are skipped. The grammar is small enough to be read here, by hand, and
//! checked by a property test (any table, written as RFC 4180 writes it, reads back the same)
//! rather than with a crate.
//!
//! Every size the file controls has a bound: the file, a record, the columns, the rows.

use std::path::{Path, PathBuf};

use crate::settings::creds::Env;

/// The largest CSV file read.
pub const MAX_FILE: u64 = 8 * 1024 * 1024;
/// The longest record (a line, or several when a quoted field holds line breaks), in bytes.
pub const MAX_RECORD: usize = 64 * 1024;
/// The most columns.
pub const MAX_COLUMNS: usize = 256;
/// The most rows (the header not counted). Every row's steps are resolved, and held, before
/// anything is sent.
pub const MAX_ROWS: usize = 10_000;

/// The rows of a `--each` file.
#[derive(Debug)]
pub struct Rows {
    pub path: PathBuf,
    /// The column names: the `${VAR}` names of every row.
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// One row: the 1-based line its record starts on, and its values, one per column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub values: Vec<String>,
}

impl Rows {
    /// Reads and checks `path`; `Err` lists every problem found, each as `FILE:LINE: why`.
    pub fn read(path: &Path) -> Result<Rows, Vec<String>> {
        if path.as_os_str() == "-" {
            return Err(vec![
                "--each -: the rows are read from a file, not from stdin (the plan may be)".into(),
            ]);
        }
        let at = |line: usize, why: String| format!("{}:{line}: {why}", path.display());
        let text = read_text(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        let mut records = parse(&text).map_err(|(line, why)| vec![at(line, why)])?;
        if records.is_empty() {
            return Err(vec![format!(
                "{}: empty: the first line names the columns (USER_ID,...), each line after it is a row",
                path.display()
            )]);
        }
        let (header_line, names) = records.remove(0);
        let mut problems = Vec::new();
        let mut header = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let name = name.trim().to_string();
            if let Err(why) = check_name(&name) {
                problems.push(at(header_line, format!("column {}: {why}", i + 1)));
            } else if header.contains(&name) {
                problems.push(at(header_line, format!("column {name} is named twice")));
            }
            header.push(name);
        }
        if records.is_empty() {
            problems.push(at(
                header_line,
                "no row: the header is the only line; add a line per row".into(),
            ));
        }
        if records.len() > MAX_ROWS {
            problems.push(format!(
                "{}: {} rows, more than {MAX_ROWS}: split the file",
                path.display(),
                records.len()
            ));
            records.truncate(MAX_ROWS);
        }
        let mut rows = Vec::with_capacity(records.len());
        for (line, values) in records {
            if values.len() != header.len() {
                problems.push(at(
                    line,
                    format!(
                        "{} field{}, the header has {}",
                        values.len(),
                        if values.len() == 1 { "" } else { "s" },
                        header.len()
                    ),
                ));
                continue;
            }
            rows.push(Row { line, values });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Rows {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// The row's value in `column`.
    pub fn value<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        let i = self.header.iter().position(|h| h == column)?;
        row.values.get(i).map(String::as_str)
    }
}

/// A `${VAR}` name (a column name, `--var NAME`): a letter or `_`, then letters, digits, `_`.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = match chars.next() {
        None => return Err("the name is empty".into()),
        Some(c) => c.is_ascii_alphabetic() || c == '_',
    };
    if !ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "{:?} is not a variable name: letters, digits and _, not starting with a digit",
            crate::report::text::escape(name)
        ));
    }
    Ok(())
}

/// What a value may hold: no control character (a line break in a user id is a mistake in the
/// sheet, never a user id).
pub fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.chars().any(char::is_control) {
        return Err("holds a control character (a line break?)".into());
    }
    Ok(())
}

/// The `${VAR}`s of a plan, highest first: the row's columns, `--var NAME=VALUE`, the
/// environment. An empty value is unset, as an empty environment variable is.
pub struct Vars<'a> {
    pub row: Option<(&'a Rows, &'a Row)>,
    pub given: &'a [(String, String)],
    pub env: &'a dyn Env,
}

impl Env for Vars<'_> {
    fn var(&self, name: &str) -> Option<String> {
        if let Some((rows, row)) = self.row
            && let Some(v) = rows.value(row, name)
        {
            return (!v.is_empty()).then(|| v.to_string());
        }
        if let Some((_, v)) = self.given.iter().rev().find(|(n, _)| n == name) {
            return (!v.is_empty()).then(|| v.clone());
        }
        self.env.var(name)
    }
}

/// The file's text: bounded, a UTF-8 byte-order mark removed, UTF-16 refused.
fn read_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("larger than {} MiB", MAX_FILE >> 20));
    }
    let mut b = &bytes[..];
    if let Some(rest) = b.strip_prefix(b"\xEF\xBB\xBF") {
        b = rest;
    } else if b.starts_with(b"\xFF\xFE") || b.starts_with(b"\xFE\xFF") {
        return Err(
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as CSV UTF-8"
                .into(),
        );
    }
    String::from_utf8(b.to_vec()).map_err(|e| {
        format!(
            "not valid UTF-8 (at byte {}); save the file as CSV UTF-8",
            e.utf8_error().valid_up_to() + 1
        )
    })
}

/// A record: the 1-based line it starts on, and its fields.
pub type Record = (usize, Vec<String>);

/// RFC 4180's records of `text`; blank lines are skipped. `Err((line, why))` at the first
/// syntax error.
pub fn parse(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    loop {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        // Whether the field was quoted: `""` is a value (empty), a blank line is no record.
        let mut quoted = false;
        let mut size = 0;
        // Whether the record ended with a line end (else the text did).
        let ended;
        loop {
            if chars.peek() == Some(&'"') && field.is_empty() && !quoted {
                // A quoted field, up to its closing quote.
                chars.next();
                let opened = line;
                loop {
                    match chars.next() {
                        None => {
                            return Err((
                                opened,
                                "a quoted field is not closed (a \" is missing)".into(),
                            ));
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                    size += 1;
                    if size > MAX_RECORD {
                        return Err((
                            start,
                            format!("a record longer than {} KiB", MAX_RECORD >> 10),
                        ));
                    }
                }
                match chars.peek() {
                    None | Some(',' | '\n' | '\r') => {}
                    Some(_) => {
                        return Err((
                            line,
                            "text after a closing quote: a quote inside a quoted field is written twice (\"\")".into(),
                        ));
                    }
                }
                quoted = true;
            }
            match chars.next() {
                None => {
                    ended = false;
                    break;
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut field));
                    quoted = false;
                    if fields.len() >= MAX_COLUMNS {
                        return Err((start, format!("more than {MAX_COLUMNS} columns")));
                    }
                }
                Some('\n') => {
                    line += 1;
                    ended = true;
                    break;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    line += 1;
                    ended = true;
                    break;
                }
                Some('\r') => {
                    return Err((
                        line,
                        "a carriage return alone: lines end with CRLF or LF".into(),
                    ));
                }
                Some('"') => {
                    return Err((
                        line,
                        "a \" inside a field: a field holding quotes is quoted whole, its quotes doubled".into(),
                    ));
                }
                Some(c) => field.push(c),
            }
            size += 1;
            if size > MAX_RECORD {
                return Err((
                    start,
                    format!("a record longer than {} KiB", MAX_RECORD >> 10),
                ));
            }
        }
        let blank = fields.is_empty() && field.is_empty() && !quoted;
        if !blank {
            fields.push(field);
            records.push((start, fields));
            if records.len() > MAX_ROWS + 1 {
                return Err((start, format!("more than {MAX_ROWS} rows: split the file")));
            }
        }
        if !ended {
            return Ok(records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// How RFC 4180 writes a table: every field quoted, quotes doubled.
    fn write(table: &[Vec<String>], crlf: bool) -> String {
        let end = if crlf { "\r\n" } else { "\n" };
        table
            .iter()
            .map(|r| {
                r.iter()
                    .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
            .join(end)
    }

    proptest! {
        #[test]
        fn any_table_reads_back_as_written(
            table in prop::collection::vec(
                prop::collection::vec(".{0,12}", 1..5), 1..8),
            crlf in any::<bool>(),
            trailing in any::<bool>(),
        ) {
            let mut text = write(&table, crlf);
            if trailing {
                text.push_str(if crlf { "\r\n" } else { "\n" });
            }
            let got = parse(&text).unwrap();
            let values: Vec<Vec<String>> = got.iter().map(|(_, r)| r.clone()).collect();
            prop_assert_eq!(&values, &table);
            // Each record starts on the line after the line breaks of those before it.
            let mut line = 1;
            for ((at, _), row) in got.iter().zip(&table) {
                prop_assert_eq!(*at, line);
                line += 1 + row.iter().map(|f| f.matches('\n').count()).sum::<usize>();
            }
        }

        #[test]
        fn any_text_is_read_or_refused_within_bounds(text in "[a-z\",\r\n ]{0,200}") {
            if let Ok(records) = parse(&text) {
                prop_assert!(records.iter().all(|(_, r)| r.len() <= MAX_COLUMNS));
            }
        }
    }

    #[test]
    fn spreadsheet_shapes_read() {
        let text = "USER_ID,NAME\r\nalice,\"Smith, Alice\"\r\n\r\nbob,\"say \"\"hi\"\"\"\r\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![
                (1, vec!["USER_ID".to_string(), "NAME".into()]),
                (2, vec!["alice".into(), "Smith, Alice".into()]),
                (4, vec!["bob".into(), "say \"hi\"".into()]),
            ]
        );
        assert_eq!(
            parse("a,,\n").unwrap(),
            vec![(1, vec!["a".into(), "".into(), "".into()])]
        );
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases = [
            ("a\nb\"c\n", 2, "a \" inside a field"),
            ("a\n\"b\"c\n", 2, "text after a closing quote"),
            ("a\n\n\"b\nc\n", 3, "a quoted field is not closed"),
            ("a\rb\n", 1, "a carriage return alone"),
        ];
        for (text, line, why) in cases {
            let (at, said) = parse(text).unwrap_err();
            assert_eq!(at, line, "{text:?}");
            assert!(said.starts_with(why), "{text:?}: {said}");
        }
        let wide = vec!["x"; MAX_COLUMNS + 1].join(",");
        assert!(parse(&wide).unwrap_err().1.contains("columns"));
        let long = "x".repeat(MAX_RECORD + 1);
        assert!(parse(&long).unwrap_err().1.contains("longer"));
    }

    #[test]
    fn the_file_is_checked_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leavers.csv");
        std::fs::write(&path, "\u{feff}USER_ID,1x,USER_ID\nalice,a\n").unwrap();
        let problems = Rows::read(&path).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].ends_with(":1: column 2: \"1x\" is not a variable name: letters, digits and _, not starting with a digit"), "{}", problems[0]);
        assert!(problems[1].ends_with(":1: column USER_ID is named twice"));
        assert!(problems[2].ends_with(":2: 2 fields, the header has 3"));
        assert!(Rows::read(Path::new("-")).unwrap_err()[0].contains("not from stdin"));
        std::fs::write(&path, b"\xFF\xFEU\x00").unwrap();
        assert!(Rows::read(&path).unwrap_err()[0].contains("UTF-16"));
        std::fs::write(&path, "\u{feff}USER_ID\r\nalice\r\n").unwrap();
        let rows = Rows::read(&path).unwrap();
        assert_eq!(rows.header, ["USER_ID"]);
        assert_eq!(
            rows.rows,
            [Row {
                line: 2,
                values: vec!["alice".into()]
            }]
        );
    }

    #[test]
    fn the_row_beats_given_values_which_beat_the_environment() {
        struct One;
        impl Env for One {
            fn var(&self, name: &str) -> Option<String> {
                (name != "NONE").then(|| format!("env-{name}"))
            }
        }
        let rows = Rows {
            path: "l.csv".into(),
            header: vec!["A".into(), "E".into()],
            rows: vec![Row {
                line: 2,
                values: vec!["row-a".into(), "".into()],
            }],
        };
        let given = [
            ("A".to_string(), "var-a".to_string()),
            ("B".into(), "var-b".into()),
        ];
        let vars = Vars {
            row: Some((&rows, &rows.rows[0])),
            given: &given,
            env: &One,
        };
        assert_eq!(vars.var("A").as_deref(), Some("row-a"));
        assert_eq!(vars.var("B").as_deref(), Some("var-b"));
        assert_eq!(vars.var("C").as_deref(), Some("env-C"));
        assert_eq!(
            vars.var("E"),
            None,
            "an empty cell is unset, not the environment's"
        );
    }
}
