//! The layering of `src/` written down in `ARCHITECTURE.md`, enforced.
//!
//! The module table of `ARCHITECTURE.md` is the single source of the order: its rows, top to
//! bottom, are the top-level modules from the bottom layer to the top one. This test reads that
//! table, then every `src/**/*.rs` (comments, string literals and `#[cfg(test)]` code left out),
//! and fails when a module names one that comes later in the table (`crate::later::…`, inside
//! `use crate::{…}` groups too, or `super::later` from a top-level file), or when a top-level
//! module in `src/` is missing from the table. A row's `may import` cell narrows that order: an
//! import the cell does not allow fails too, and so does a cell that allows a later row. It
//! uses only std, never the crate itself, so it
//! still runs (and says where the layering broke) when the crate is mid-refactor.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// One row of the module table: its module and layer, in table order.
#[derive(Debug)]
struct Row {
    module: String,
    layer: u32,
    /// The `may import` cell as written, when the table has that column.
    may_import: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rows of the first table in `ARCHITECTURE.md` whose header has `layer` and `module`
/// columns, in order. Panics with a clear message on anything malformed.
fn read_table(text: &str) -> Vec<Row> {
    let cells = |line: &str| -> Vec<String> {
        let line = line.trim().trim_start_matches('|').trim_end_matches('|');
        line.split('|').map(|c| c.trim().to_string()).collect()
    };
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.trim_start().starts_with('|') {
            continue;
        }
        let header: Vec<String> = cells(line).iter().map(|c| c.to_lowercase()).collect();
        let (Some(layer_col), Some(module_col)) = (
            header.iter().position(|c| c == "layer"),
            header.iter().position(|c| c == "module"),
        ) else {
            continue;
        };
        let may_import_col = header.iter().position(|c| c == "may import");
        let mut rows = Vec::new();
        // Skip the header and its `|---|` separator; the table ends at the first non-row line.
        for row_line in lines[i + 2..]
            .iter()
            .take_while(|l| l.trim_start().starts_with('|'))
        {
            let row = cells(row_line);
            let module = row
                .get(module_col)
                .map(|c| c.trim_matches('`').trim().to_string())
                .unwrap_or_default();
            let layer_cell = row.get(layer_col).map(String::as_str).unwrap_or("");
            let layer = layer_cell.parse().unwrap_or_else(|_| {
                panic!("ARCHITECTURE.md: layer `{layer_cell}` of row `{row_line}` is not a number")
            });
            assert!(
                !module.is_empty()
                    && module
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "ARCHITECTURE.md: module `{module}` of row `{row_line}` is not a module name"
            );
            let may_import = may_import_col.and_then(|k| row.get(k).cloned());
            rows.push(Row {
                module,
                layer,
                may_import,
            });
        }
        return rows;
    }
    panic!("ARCHITECTURE.md has no table with `layer` and `module` columns");
}

/// The modules row `k` may import, read from its `may import` cell: comma-separated terms, each
/// `nothing in the crate`, `layer N` (every row of layer N), `layers A–B` (every row of those
/// layers), `layer N rows above it` (the rows of layer N before row `k`) or a module in
/// backquotes. Every module it names must be a row before row `k`: the column may narrow the
/// table's order, never widen it. `None` when the row has no such cell; `Err` says what in the
/// cell could not be read.
fn may_import(rows: &[Row], k: usize) -> Option<Result<BTreeSet<String>, String>> {
    let cell = rows[k].may_import.as_deref()?;
    let mut allowed = BTreeSet::new();
    let number = |t: &str| -> Result<u32, String> {
        t.trim()
            .parse()
            .map_err(|_| format!("`{t}` is not a layer number"))
    };
    let read = |allowed: &mut BTreeSet<String>| -> Result<(), String> {
        for term in cell.split(',').map(str::trim) {
            let words: Vec<&str> = term.split_whitespace().collect();
            match words.as_slice() {
                ["nothing", "in", "the", "crate"] => {}
                ["layer", n, "rows", "above", "it"] => {
                    let n = number(n)?;
                    allowed.extend(
                        rows[..k]
                            .iter()
                            .filter(|r| r.layer == n)
                            .map(|r| r.module.clone()),
                    );
                }
                ["layer", n] => {
                    let n = number(n)?;
                    allowed.extend(
                        rows.iter()
                            .filter(|r| r.layer == n)
                            .map(|r| r.module.clone()),
                    );
                }
                ["layers", range] => {
                    let (a, b) = range
                        .split_once(['–', '-'])
                        .ok_or_else(|| format!("`{range}` is not a range of layers"))?;
                    let (a, b) = (number(a)?, number(b)?);
                    allowed.extend(
                        rows.iter()
                            .filter(|r| (a..=b).contains(&r.layer))
                            .map(|r| r.module.clone()),
                    );
                }
                [name] if name.starts_with('`') && name.ends_with('`') && name.len() > 2 => {
                    let name = name.trim_matches('`');
                    if !rows.iter().any(|r| r.module == name) {
                        return Err(format!("`{name}` is not a module of the table"));
                    }
                    allowed.insert(name.to_string());
                }
                _ => return Err(format!("cannot read the term `{term}`")),
            }
        }
        Ok(())
    };
    Some(read(&mut allowed).and_then(|()| {
        match allowed
            .iter()
            .find(|m| rows.iter().position(|r| &r.module == *m).unwrap() >= k)
        {
            Some(m) => Err(format!(
                "it allows {m}, which is not a row before {}",
                rows[k].module
            )),
            None => Ok(allowed),
        }
    }))
}

/// Top-level modules present in `src/`: `src/X.rs` (but not the crate roots) and `src/X/`.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    let mut modules = BTreeSet::new();
    for entry in fs::read_dir(src).expect("read src/") {
        let path = entry.expect("read src/ entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            // `src/bin/` holds other crates' roots, not modules of the library.
            if name != "bin" {
                modules.insert(name);
            }
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            modules.insert(name);
        }
    }
    modules
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("read dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string literals and character literals replaced by spaces (line
/// breaks kept, so line numbers still hold).
fn strip(source: &str) -> String {
    let c: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        // Line comment (doc comments included).
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        // Block comment, nested.
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            continue;
        }
        let after_ident = i > 0 && ident(c[i - 1]);
        // Raw strings: r"…", r#"…"#, br"…", …
        if !after_ident && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) {
            let mut j = if c[i] == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                j += 1;
                loop {
                    if j >= c.len() {
                        break;
                    }
                    if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                for &ch in &c[i..j.min(c.len())] {
                    blank(&mut out, ch);
                }
                i = j;
                continue;
            }
        }
        // Strings and byte strings.
        if c[i] == '"' || (!after_ident && c[i] == 'b' && c.get(i + 1) == Some(&'"')) {
            let mut j = if c[i] == 'b' { i + 2 } else { i + 1 };
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
            continue;
        }
        // Character literals ('x', '\n', '\''); a lifetime ('a) is left alone.
        if c[i] == '\'' {
            let end = if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                Some(j + 1)
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            if let Some(end) = end {
                let end = end.min(c.len());
                for &ch in &c[i..end] {
                    blank(&mut out, ch);
                }
                i = end;
                continue;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

/// The stripped code with every item under `#[cfg(test)]` blanked out (line breaks kept), and
/// the names of the submodules declared test-only (`#[cfg(test)] mod NAME;`), whose files are
/// test code as a whole.
///
/// The item is what follows the attribute up to its first `;` or its first `{…}` block outside
/// brackets: `mod tests { … }`, `fn helper() { … }`, `use …;`, `mod fixture;`. Cutting only the
/// item, not the rest of the file, keeps in view the code that follows a test-only declaration
/// near the top (`#[cfg(test)] mod fixture;` in `report/mod.rs`).
fn drop_test_items(code: &str) -> (String, Vec<String>) {
    const ATTR: &str = "#[cfg(test)]";
    let c: Vec<char> = code.chars().collect();
    let attr: Vec<char> = ATTR.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut test_mods = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !c[i..].starts_with(&attr) {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let mut j = i + attr.len();
        let mut depth = 0usize;
        while j < c.len() {
            match c[j] {
                '(' | '[' => depth += 1,
                ')' | ']' => depth = depth.saturating_sub(1),
                ';' if depth == 0 => break,
                '{' if depth == 0 => {
                    let mut braces = 0usize;
                    while j < c.len() {
                        match c[j] {
                            '{' => braces += 1,
                            '}' => {
                                braces -= 1;
                                if braces == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(c.len());
        let item: String = c[i + attr.len()..end].iter().collect();
        if item.trim_end().ends_with(';') {
            let words: Vec<&str> = item
                .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            if let Some(k) = words.iter().position(|w| *w == "mod") {
                if let Some(name) = words.get(k + 1) {
                    test_mods.push(name.to_string());
                }
            }
        }
        for &ch in &c[i..end] {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
        i = end;
    }
    (out, test_mods)
}

/// A path found in the source: the top-level module it reaches, the line it is on and its text.
#[derive(Debug)]
struct Import {
    module: String,
    line: usize,
    text: String,
}

/// A tiny reader over stripped source, enough to follow `crate::a::{b, c::{d}}` paths.
struct Reader<'a> {
    c: &'a [char],
    i: usize,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.c.len() && self.c[self.i].is_whitespace() {
            self.i += 1;
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_ws();
        let start = self.i;
        while self.i < self.c.len() && (self.c[self.i].is_alphanumeric() || self.c[self.i] == '_') {
            self.i += 1;
        }
        (self.i > start).then(|| self.c[start..self.i].iter().collect())
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        let n = s.chars().count();
        if self.c.len() >= self.i + n && self.c[self.i..self.i + n].iter().copied().eq(s.chars()) {
            self.i += n;
            true
        } else {
            false
        }
    }

    /// After `prefix::`: the first segments of every path this continues into. `{a::x, b}` gives
    /// `a` and `b`; `{self, …}` gives the prefix itself (`None`).
    fn heads(&mut self, out: &mut Vec<Option<String>>) {
        if self.eat("{") {
            loop {
                self.skip_ws();
                if self.eat("}") || self.i >= self.c.len() {
                    return;
                }
                match self.ident() {
                    Some(id) if id == "self" => out.push(None),
                    Some(id) => out.push(Some(id)),
                    // `{*}` or something unexpected: skip one character.
                    None => self.i += 1,
                }
                // Skip the rest of this item (nested groups included) up to `,` or `}`.
                let mut depth = 0;
                while self.i < self.c.len() {
                    match self.c[self.i] {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            self.i += 1;
                            break;
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
        } else {
            out.push(self.ident());
        }
    }
}

/// Every `crate::…` and `super::…` path in `code` (stripped source of the file whose module path
/// is `module_path`, e.g. `["report", "table"]`), resolved to the top-level module it reaches.
fn imports(code: &str, module_path: &[String]) -> Vec<Import> {
    let c: Vec<char> = code.chars().collect();
    let line_of = |pos: usize| c[..pos].iter().filter(|&&ch| ch == '\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let word_start = i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        let mut r = Reader { c: &c, i };
        let is_path_start = word_start && (r.eat("crate") || r.eat("super"));
        if !is_path_start || !r.eat("::") {
            i += 1;
            continue;
        }
        // Resolve the prefix: `crate` is the root; each `super` climbs one module.
        let mut r = Reader { c: &c, i };
        let mut base: Vec<String> = module_path.to_vec();
        if r.eat("crate") {
            r.eat("::");
            base.clear();
        } else {
            while r.eat("super") {
                base.pop();
                let save = r.i;
                if !r.eat("::") {
                    r.i = save;
                    break;
                }
            }
        }
        let mut heads = Vec::new();
        r.heads(&mut heads);
        let text: String = c[i..r.i].iter().collect();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for head in heads {
            let module = match (base.first(), head) {
                (Some(top), _) => top.clone(),
                (None, Some(name)) => name,
                (None, None) => continue,
            };
            found.push(Import {
                module,
                line: line_of(i),
                text: text.clone(),
            });
        }
        i = r.i.max(i + 1);
    }
    found
}

/// The module path of a file under `src/`: `src/a.rs` → `[a]`, `src/a/mod.rs` → `[a]`,
/// `src/a/b.rs` → `[a, b]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

#[test]
fn modules_import_only_from_layers_below() {
    let root = root();
    let doc = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let rows = read_table(&doc);
    assert!(
        !rows.is_empty(),
        "ARCHITECTURE.md: the module table has no rows"
    );

    // The table itself: each module once, layers never going down.
    let mut problems = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        if rows[..k].iter().any(|r| r.module == row.module) {
            problems.push(format!(
                "ARCHITECTURE.md: module {} is listed twice",
                row.module
            ));
        }
        if k > 0 && row.layer < rows[k - 1].layer {
            problems.push(format!(
                "ARCHITECTURE.md: module {} (layer {}) comes after {} (layer {}): rows must go from \
                 the bottom layer up",
                row.module,
                row.layer,
                rows[k - 1].module,
                rows[k - 1].layer
            ));
        }
    }
    let position = |name: &str| rows.iter().position(|r| r.module == name).map(|p| p + 1);
    // Each row's `may import` cell, read (a cell that cannot be read is a problem of its own).
    let allowed: Vec<Option<BTreeSet<String>>> = (0..rows.len())
        .map(|k| match may_import(&rows, k) {
            Some(Ok(set)) => Some(set),
            Some(Err(why)) => {
                problems.push(format!(
                    "ARCHITECTURE.md: the `may import` cell of {}: {why}",
                    rows[k].module
                ));
                None
            }
            None => None,
        })
        .collect();

    // Every top-level module must have its place (a row without a module yet is fine).
    let src = root.join("src");
    for module in top_level_modules(&src) {
        if position(&module).is_none() {
            problems.push(format!(
                "src/{module}: top-level module {module} is missing from the module table of \
                 ARCHITECTURE.md; add a row that places it in a layer"
            ));
        }
    }

    // First every file's code without its test items, noting the submodules declared
    // test-only (`#[cfg(test)] mod fixture;`): their files are test code as a whole.
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut sources = Vec::new();
    let mut test_only: Vec<Vec<String>> = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap().to_path_buf();
        let module_path = module_path(&relative);
        // The crate roots (lib.rs, main.rs) and other crates under src/bin/ are above every layer.
        if module_path.is_empty()
            || module_path[0] == "lib"
            || module_path[0] == "main"
            || module_path[0] == "bin"
        {
            continue;
        }
        let source = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read src/{}: {e}", relative.display()));
        let (code, test_mods) = drop_test_items(&strip(&source));
        for name in test_mods {
            test_only.push([module_path.clone(), vec![name]].concat());
        }
        sources.push((relative, module_path, code));
    }

    for (relative, module_path, code) in &sources {
        if test_only.iter().any(|t| module_path.starts_with(t)) {
            continue;
        }
        let display = format!("src/{}", relative.display());
        let from = &module_path[0];
        let Some(from_pos) = position(from) else {
            continue; // reported above as missing from the table
        };
        for import in imports(code, module_path) {
            if &import.module == from {
                continue;
            }
            match position(&import.module) {
                Some(to_pos) if to_pos > from_pos => problems.push(format!(
                    "{display}: module {from} (position {from_pos}) imports {} (position {to_pos}) \
                     which is above it (line {}: `{}`)",
                    import.module, import.line, import.text
                )),
                Some(to_pos)
                    if allowed[from_pos - 1]
                        .as_ref()
                        .is_some_and(|set| !set.contains(&import.module)) =>
                {
                    problems.push(format!(
                        "{display}: module {from} imports {} (line {}: `{}`), which its `may \
                         import` cell in ARCHITECTURE.md does not allow (it is row {to_pos}, \
                         below {from}'s row {from_pos}: either the cell allows it on purpose or \
                         the import goes)",
                        import.module, import.line, import.text
                    ))
                }
                Some(_) => {}
                // Not a module of the table: an item of the crate root (e.g. a macro or a
                // re-export in lib.rs) — the root is above every layer, so naming it is upward.
                None => problems.push(format!(
                    "{display}: module {from} (position {from_pos}) imports {}, which is not a \
                     module in the table of ARCHITECTURE.md (line {}: `{}`)",
                    import.module, import.line, import.text
                )),
            }
        }
    }

    assert!(
        problems.is_empty(),
        "the layering of ARCHITECTURE.md is broken ({} problem{}):\n{}\n\nA module may import \
         only from modules earlier in the table of ARCHITECTURE.md (or from itself).",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("\n")
    );
}

#[test]
fn the_path_reader_sees_groups_supers_and_ignores_comments_strings_and_tests() {
    let src = r##"
//! see crate::cli::main
#[cfg(test)]
pub(crate) mod fixture;
use crate::{analysis::{self, Row}, machine::Machine};
use super::{report, Thing};
let s = "crate::lab::x"; let r = r#"crate::lab::y"#; let c = '"'; let l: &'static str = s;
/* crate::serve::z /* nested */ crate::serve::w */
impl X {
    #[cfg(test)]
    fn helper() -> Vec<u8> { crate::cli::f(); vec![] }
}
pub(crate) fn f() { crate::runner::run(); super::super::plan::X; }
#[cfg(test)]
mod tests { use crate::cli::Cli; }
fn g() { crate::strategy::run(); }
"##;
    let (code, test_mods) = drop_test_items(&strip(src));
    assert_eq!(test_mods, ["fixture"]);
    let top: Vec<String> = imports(&code, &["sweep".to_string()])
        .into_iter()
        .map(|i| i.module)
        .collect();
    assert_eq!(
        top,
        ["analysis", "machine", "report", "Thing", "runner", "plan", "strategy"],
        "stripped code:\n{code}"
    );
    let nested: Vec<String> = imports(&code, &["report".to_string(), "table".to_string()])
        .into_iter()
        .map(|i| i.module)
        .collect();
    assert_eq!(
        nested,
        ["analysis", "machine", "report", "report", "runner", "plan", "strategy"]
    );
    assert_eq!(
        code.lines().count(),
        src.lines().count(),
        "line numbers hold"
    );
}

#[test]
fn the_may_import_cells_are_read_and_may_not_allow_a_later_row() {
    let table = "| layer | module | may import |\n|---|---|---|\n\
        | 1 | `a` | nothing in the crate |\n\
        | 1 | `b` | layer 1 rows above it |\n\
        | 2 | `c` | layer 1 |\n\
        | 2 | `d` | `a`, `c` |\n\
        | 3 | `e` | layers 1–2 |\n\
        | 3 | `f` | `e`, `g` |\n\
        | 4 | `g` | layers 1-3 |\n\
        | 4 | `h` | some of them |\n";
    let rows = read_table(table);
    let set =
        |k: usize| -> Vec<String> { may_import(&rows, k).unwrap().unwrap().into_iter().collect() };
    assert!(set(0).is_empty());
    assert_eq!(set(1), ["a"]);
    assert_eq!(set(2), ["a", "b"]);
    assert_eq!(set(3), ["a", "c"]);
    assert_eq!(set(4), ["a", "b", "c", "d"]);
    let later = may_import(&rows, 5).unwrap().unwrap_err();
    assert!(later.contains("allows g"), "{later}");
    assert_eq!(set(6), ["a", "b", "c", "d", "e", "f"]);
    let unread = may_import(&rows, 7).unwrap().unwrap_err();
    assert!(unread.contains("some of them"), "{unread}");
}
