//! The module map holds: dependencies run one way (cli → workspace → exec → store, report →
//! exec::events), files stay small, and the library's errors are typed. Checked over the
//! source text, so a new `use crate::…` or inline `crate::x::f()` that breaks a rule fails here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::files_under;

/// Every top-level module and its layer: a module may use only modules of a lower layer.
const LAYERS: &[(&str, u8)] = &[
    ("sys", 0),
    ("task", 0),
    ("identity", 1),
    ("onnx", 1),
    ("trust", 2),
    ("gpu", 3),
    ("store", 3),
    ("manifest", 4),
    ("builder", 4),
    ("plan", 5),
    ("observe", 6),
    ("lock", 6),
    ("export", 6),
    ("exec", 7),
    ("fleet", 7),
    ("report", 8),
    ("workspace", 9),
    ("cli", 10),
];

/// Non-test lines a source file may have.
const MAX_FILE_LINES: usize = 700;

fn src_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = files_under(&root)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// The file's code before its `#[cfg(test)]` module: tests may reach anywhere (a `tests.rs`
/// file is a test module as a whole).
fn non_test_code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The top-level module a file belongs to (`src/exec/run.rs` → `exec`); `None` for the roots.
fn module_of(path: &Path) -> Option<String> {
    let relative = path
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every module a piece of code names through `crate::`: in `use crate::x::…`, in
/// `use crate::{x::…, y}` groups and in inline paths such as `crate::x::f()`.
fn crate_references(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                found.push(leading_ident(item.trim()));
            }
        } else {
            found.push(leading_ident(rest));
        }
    }
    found.retain(|name| !name.is_empty());
    found
}

fn leading_ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| {
            panic!("module `{module}` is not in LAYERS: give it a layer in tests/integration/architecture.rs")
        })
}

#[test]
fn dependencies_run_one_way() {
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in src_files() {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let code = non_test_code(&file);
        for used in crate_references(&code) {
            if used != module && layer(&used) >= layer(&module) {
                broken
                    .entry(format!("{module} → {used}"))
                    .or_default()
                    .push(file.display().to_string());
            }
        }
    }
    assert!(
        broken.is_empty(),
        "dependencies against the layers (cli → workspace → report → exec → observe → plan → …): {broken:#?}"
    );
}

#[test]
fn report_sees_only_the_executor_events() {
    for file in src_files() {
        if module_of(&file).as_deref() != Some("report") {
            continue;
        }
        let code = non_test_code(&file);
        for line in code.lines().filter(|l| l.contains("crate::exec")) {
            assert!(
                line.contains("crate::exec::events") || line.trim_start().starts_with("//"),
                "{}: report may use exec::events only: {line}",
                file.display()
            );
        }
    }
}

#[test]
fn source_files_stay_small() {
    let large: Vec<String> = src_files()
        .into_iter()
        .map(|f| (non_test_code(&f).lines().count(), f))
        .filter(|(lines, _)| *lines > MAX_FILE_LINES)
        .map(|(lines, f)| format!("{} ({lines} lines)", f.display()))
        .collect();
    assert!(
        large.is_empty(),
        "split these by concern (at most {MAX_FILE_LINES} non-test lines): {large:?}"
    );
}

/// The error type of each `Result<…>` in the code, whitespace removed.
fn result_error_types(code: &str) -> Vec<String> {
    let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut found = Vec::new();
    for (at, _) in squeezed.match_indices("Result<") {
        let args = &squeezed[at + "Result<".len()..];
        let (mut depth, mut last_comma, mut end) = (0usize, None, args.len());
        for (i, c) in args.char_indices() {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' if depth == 0 => {
                    end = i;
                    break;
                }
                '>' | ')' => depth -= 1,
                ',' if depth == 0 => last_comma = Some(i),
                _ => {}
            }
        }
        if let Some(comma) = last_comma {
            found.push(args[comma + 1..end].to_string());
        }
    }
    found
}

#[test]
fn library_errors_are_typed() {
    for file in src_files() {
        for error in result_error_types(&non_test_code(&file)) {
            assert!(
                error != "String" && error != "std::string::String",
                "{}: a `Result<_, {error}>`; use a thiserror enum",
                file.display()
            );
        }
    }
}

#[test]
fn the_error_scan_reads_nested_generics() {
    let code = "fn f() -> Result<Vec<(u8, u16)>, String> {}\nfn g() -> std::io::Result<()> {}\nfn h() -> Result<Option<u8>, StoreError>";
    assert_eq!(result_error_types(code), ["String", "StoreError"]);
}

#[test]
fn the_reference_scan_sees_groups_and_inline_paths() {
    let code =
        "use crate::exec::{A, B};\nuse crate::{plan::X, store};\nlet t = crate::sys::now_secs();";
    assert_eq!(crate_references(code), ["exec", "plan", "store", "sys"]);
}
