//! Which of a mounted server's tools appear, and under which names
//! (`mount_mcp_server(tools=…, exclude=…, rename=…)`): kept with the mount across
//! reconnects and, on Kubernetes, across restarts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::pattern::glob_match;

/// The most patterns in `tools` or `exclude`, and the most renames.
pub const MAX_ENTRIES: usize = 256;

/// The longest pattern or name, in bytes.
const MAX_LEN: usize = 128;

/// A mount's tool selection; the default keeps every tool under its own name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ToolSelection {
    /// Patterns (`*` matches any text) of the server's tool names to keep; empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    /// Patterns of the server's tool names to leave out, even when `tools` keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The server's tool name → the name it gets (before the mount's prefix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rename: BTreeMap<String, String>,
}

impl ToolSelection {
    /// Whether it keeps every tool under its own name.
    pub fn is_all(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the server's tool `name` is kept.
    pub fn keeps(&self, name: &str) -> bool {
        let wanted = self.tools.is_empty() || self.tools.iter().any(|p| glob_match(p, name));
        wanted && !self.exclude.iter().any(|p| glob_match(p, name))
    }

    /// The name the server's tool `name` gets (before the mount's prefix).
    pub fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.rename.get(name).map_or(name, String::as_str)
    }

    /// Checks sizes and names.
    ///
    /// # Errors
    /// A sentence naming the field and what to fix.
    pub fn check(&self) -> Result<(), String> {
        for (field, count) in [("tools", self.tools.len()), ("exclude", self.exclude.len())] {
            if count > MAX_ENTRIES {
                return Err(format!(
                    "{field} has {count} patterns; at most {MAX_ENTRIES}"
                ));
            }
        }
        if self.rename.len() > MAX_ENTRIES {
            return Err(format!(
                "rename has {} entries; at most {MAX_ENTRIES}",
                self.rename.len()
            ));
        }
        let patterns = self.tools.iter().chain(&self.exclude);
        if let Some(long) = patterns
            .chain(self.rename.keys())
            .find(|p| p.is_empty() || p.len() > MAX_LEN)
        {
            return Err(format!(
                "{:?} is not a tool name or pattern: 1 to {MAX_LEN} bytes",
                super::cut(long, 40)
            ));
        }
        let mut targets = std::collections::BTreeSet::new();
        for (from, to) in &self.rename {
            let portable = (1..=64).contains(&to.len())
                && to
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !portable {
                return Err(format!(
                    "rename {from:?} to {:?}: a tool name is 1 to 64 letters, digits, _ or -",
                    super::cut(to, 40)
                ));
            }
            if !targets.insert(to) {
                return Err(format!("rename gives two tools the name {to:?}"));
            }
        }
        Ok(())
    }

    /// What in it matches none of `offered` (the server's tool names): each a sentence
    /// (a pattern of `tools` keeping nothing, a rename of a tool it does not have or
    /// leaves out), so a typo is said rather than silently hiding tools.
    pub fn unmatched(&self, offered: &[&str]) -> Vec<String> {
        let mut problems = Vec::new();
        for pattern in &self.tools {
            if !offered.iter().any(|name| glob_match(pattern, name)) {
                problems.push(format!(
                    "tools pattern {pattern:?} matches none of its tools"
                ));
            }
        }
        for from in self.rename.keys() {
            if !offered.contains(&from.as_str()) {
                problems.push(format!("rename names {from:?}, which it does not offer"));
            } else if !self.keeps(from) {
                problems.push(format!(
                    "rename names {from:?}, which the selection leaves out"
                ));
            }
        }
        for (from, to) in &self.rename {
            let clash = offered
                .iter()
                .any(|name| name == to && self.keeps(name) && !self.rename.contains_key(*name));
            if clash {
                problems.push(format!("rename gives {from:?} the name of its tool {to:?}"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(tools: &[&str], exclude: &[&str], rename: &[(&str, &str)]) -> ToolSelection {
        ToolSelection {
            tools: tools.iter().map(|s| (*s).to_owned()).collect(),
            exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
            rename: rename
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn tools_and_exclude_select_and_rename_renames() {
        let all = ToolSelection::default();
        assert!(all.is_all() && all.keeps("anything"));
        let some = selection(
            &["read_*", "list_directory"],
            &["*media*"],
            &[("read_text_file", "cat")],
        );
        assert!(some.keeps("read_text_file") && some.keeps("list_directory"));
        assert!(!some.keeps("read_media_file") && !some.keeps("write_file"));
        assert_eq!(some.renamed("read_text_file"), "cat");
        assert_eq!(some.renamed("list_directory"), "list_directory");
        let offered = [
            "read_text_file",
            "read_media_file",
            "list_directory",
            "write_file",
        ];
        assert!(some.unmatched(&offered).is_empty());
    }

    #[test]
    fn typos_and_clashes_are_said() {
        let offered = ["echo", "add"];
        let typo = selection(&["ecko"], &[], &[("ad", "sum"), ("add", "echo")]);
        let problems = typo.unmatched(&offered).join("; ");
        assert!(problems.contains("\"ecko\" matches none"), "{problems}");
        assert!(
            problems.contains("\"ad\", which it does not offer"),
            "{problems}"
        );
        assert!(
            problems.contains("which the selection leaves out"),
            "{problems}"
        );
        let clash = selection(&[], &[], &[("add", "echo")]);
        assert!(clash.unmatched(&offered)[0].contains("the name of its tool \"echo\""));
        // Swapping two names is no clash.
        let swap = selection(&[], &[], &[("add", "echo"), ("echo", "add")]);
        assert!(swap.unmatched(&offered).is_empty());
    }

    #[test]
    fn bad_selections_are_refused_naming_the_field() {
        let many = ToolSelection {
            tools: vec!["x".into(); MAX_ENTRIES + 1],
            ..ToolSelection::default()
        };
        assert!(many.check().unwrap_err().starts_with("tools has"));
        let bad_name = selection(&[], &[], &[("a", "not portable!")]);
        assert!(bad_name.check().unwrap_err().contains("letters, digits"));
        let twice = selection(&[], &[], &[("a", "x"), ("b", "x")]);
        assert!(
            twice
                .check()
                .unwrap_err()
                .contains("two tools the name \"x\"")
        );
        let empty = selection(&[""], &[], &[]);
        assert!(empty.check().is_err());
        assert!(
            selection(&["read_*"], &["*x*"], &[("a", "b")])
                .check()
                .is_ok()
        );
    }
}
