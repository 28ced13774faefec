//! The crate's layering (`src/lib.rs`, "Layout"): every module of `src/` sits on a layer,
//! and its production code names only modules of lower layers (`crate::…` paths, in `use`
//! lines or inline). So nothing points up and there are no cycles; a new module must be
//! given its layer here.

use std::{collections::BTreeMap, fs, path::Path};

/// The layers, top first. A module may use the modules of the layers below its own.
const LAYERS: &[&[&str]] = &[
    &["daemon"],
    &["config"],
    &["meta"],
    &["manager"],
    &["backend", "mount"],
    &["bridge"],
    &["http", "policy", "presets", "registry"],
    &["secrets"],
    &["error"],
    &["upstream"],
    &["access", "sse"],
    &["metrics"],
    &["address", "lines", "model", "process", "sync", "tls"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The production code of a source file: what comes before its `#[cfg(test)] mod tests`,
/// without comments.
fn production_code(source: &str) -> String {
    let end = source
        .find("#[cfg(test)]\nmod tests")
        .unwrap_or(source.len());
    source[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `code` names: `crate::name` paths and the items of
/// `use crate::{…}` groups.
fn named_modules(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(ident(item.trim()));
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|name| !name.is_empty());
    names
}

/// Production source files under `dir`, as (path relative to `src/`, text).
fn sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" && name != "bin" {
                sources(&path, root, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" && name != "test_peer.rs" {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((relative, fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn no_module_uses_one_above_or_beside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &root, &mut files);
    let mut edges: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for (path, source) in &files {
        let module = path
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        if layer_of(&module).is_none() {
            unplaced.push(module.clone());
        }
        for named in named_modules(&production_code(source)) {
            if named != module {
                edges.insert((module.clone(), named), path.clone());
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(
        unplaced.is_empty(),
        "modules without a layer (add them to LAYERS and to lib.rs's Layout): {unplaced:?}"
    );
    let wrong: Vec<String> = edges
        .iter()
        .filter(|((from, to), _)| match (layer_of(from), layer_of(to)) {
            (Some(from), Some(to)) => to <= from,
            _ => true,
        })
        .map(|((from, to), path)| format!("{from} -> {to} (src/{path})"))
        .collect();
    assert!(
        wrong.is_empty(),
        "edges that point up or sideways: {wrong:#?}"
    );
    // The parser must have found the crate's imports at all.
    assert!(edges.len() > 40, "only {} edges found", edges.len());
}

#[test]
fn the_backends_never_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (this, other) in [("local", "kubernetes"), ("kubernetes", "local")] {
        let mut files = Vec::new();
        let dir = root.join("backend").join(this);
        sources(&dir, &root, &mut files);
        let single = root.join("backend").join(format!("{this}.rs"));
        if single.exists() {
            files.push((this.into(), fs::read_to_string(single).unwrap()));
        }
        assert!(!files.is_empty(), "no sources for backend {this}");
        for (path, source) in files {
            let code = production_code(&source);
            for pattern in [format!("super::{other}"), format!("backend::{other}")] {
                assert!(
                    !code.contains(&pattern),
                    "src/{path} uses the {other} backend ({pattern})"
                );
            }
        }
    }
}

#[test]
fn the_parser_sees_groups_and_inline_paths() {
    let code = "use crate::{a::B, b::{C, D}, c};\nfn f() { crate::d::e(); }";
    assert_eq!(named_modules(code), ["a", "b", "c", "d"]);
    let with_tests = "use crate::x;\n#[cfg(test)]\nmod tests {\n use crate::y;\n}";
    assert_eq!(named_modules(&production_code(with_tests)), ["x"]);
}
