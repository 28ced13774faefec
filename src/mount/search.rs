//! Ranked search over tools (BM25, in-process): what `search_mounted_tools` answers with.
//!
//! A tool is indexed by its name (split at `_`, `-`, `.`, `/` and camelCase), title,
//! description, and its parameters' names and descriptions; name words count three times,
//! title words twice. Words are lowercased, a few stop words dropped and plurals folded
//! (`files` → `file`), so "list files in a directory" finds `list_directory`.

use rmcp::model::Tool;

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;

/// BM25's length normalization.
const B: f64 = 0.75;

/// How many times a word counts by where it appears.
const NAME_WEIGHT: u32 = 3;
const TITLE_WEIGHT: u32 = 2;

/// The most words counted of one tool (a huge schema is not indexed whole).
const MAX_WORDS: usize = 1_000;

/// The most words of a query that count.
const MAX_QUERY_WORDS: usize = 32;

/// Words that say nothing about which tool is meant.
const STOP_WORDS: [&str; 24] = [
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "that", "the", "this", "to", "with", "me", "my", "i",
];

/// The words of `text`: lowercase, split at anything but letters and digits and at
/// lowercase-to-uppercase steps, stop words dropped, plurals folded.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        let boundary = !c.is_alphanumeric() || (c.is_uppercase() && previous_lower);
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.retain(|w| !STOP_WORDS.contains(&w.as_str()));
    out.iter_mut().for_each(fold);
    out
}

/// Folds a plural to its singular, roughly (`files`, `entries`, `processes`).
fn fold(word: &mut String) {
    if word.len() <= 3 || !word.ends_with('s') || word.ends_with("ss") {
        return;
    }
    if let Some(stem) = word.strip_suffix("ies") {
        *word = format!("{stem}y");
    } else if word.ends_with("sses") || word.ends_with("xes") || word.ends_with("ches") {
        word.truncate(word.len() - 2);
    } else {
        word.pop();
    }
}

/// What a tool is found by: how often each query word counts in it, and how many words
/// count in all. Only the query's words are kept, so searching a huge tool list costs a
/// few numbers per tool.
struct Document {
    counts: Vec<u32>,
    length: u32,
}

impl Document {
    /// Counts the words of `text` `weight` times each, up to [`MAX_WORDS`] in all.
    fn add(&mut self, query: &[String], text: &str, weight: u32) {
        for word in words(text) {
            if self.length as usize >= MAX_WORDS {
                return;
            }
            self.length += weight;
            for (count, wanted) in self.counts.iter_mut().zip(query) {
                if *wanted == word {
                    *count += weight;
                }
            }
        }
    }
}

/// The words of `query` in `tool`, weighted by where they appear.
fn document(tool: &Tool, query: &[String]) -> Document {
    let mut doc = Document {
        counts: vec![0; query.len()],
        length: 0,
    };
    doc.add(query, &tool.name, NAME_WEIGHT);
    if let Some(title) = &tool.title {
        doc.add(query, title, TITLE_WEIGHT);
    }
    if let Some(description) = &tool.description {
        doc.add(query, description, 1);
    }
    let properties = tool
        .input_schema
        .get("properties")
        .and_then(|p| p.as_object());
    for (parameter, schema) in properties.into_iter().flatten() {
        doc.add(query, parameter, 1);
        if let Some(description) = schema.get("description").and_then(|d| d.as_str()) {
            doc.add(query, description, 1);
        }
    }
    doc
}

/// The indexes into `tools` of the best `limit` matches for `query`, best first, with
/// their scores; tools matching no word of it are left out. Ties keep the tools' order.
pub fn rank(tools: &[Tool], query: &str, limit: usize) -> Vec<(usize, f64)> {
    let mut query = words(query);
    query.truncate(MAX_QUERY_WORDS);
    if query.is_empty() || tools.is_empty() {
        return Vec::new();
    }
    let docs: Vec<Document> = tools.iter().map(|tool| document(tool, &query)).collect();
    let total = docs.len() as f64;
    let average = docs.iter().map(|d| f64::from(d.length)).sum::<f64>() / total;
    // Each query word's inverse document frequency, once (linear in the tools).
    let idf: Vec<f64> = (0..query.len())
        .map(|word| {
            let df = docs.iter().filter(|d| d.counts[word] > 0).count() as f64;
            (1.0 + (total - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let mut scored: Vec<(usize, f64)> = docs
        .iter()
        .enumerate()
        .map(|(index, doc)| {
            let length = f64::from(doc.length);
            let norm = K1 * (1.0 - B + B * length / average.max(1.0));
            let score: f64 = doc
                .counts
                .iter()
                .zip(&idf)
                .filter(|(tf, _)| **tf > 0)
                .map(|(tf, idf)| {
                    let tf = f64::from(*tf);
                    idf * tf * (K1 + 1.0) / (tf + norm)
                })
                .sum();
            (index, score)
        })
        .filter(|(_, score)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(limit);
    scored
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn tool(name: &str, description: &str, parameters: serde_json::Value) -> Tool {
        let schema = serde_json::json!({"type": "object", "properties": parameters});
        let schema = Arc::new(schema.as_object().unwrap().clone());
        Tool::new(name.to_owned(), description.to_owned(), schema)
    }

    #[test]
    fn words_split_names_and_fold_plurals() {
        assert_eq!(words("fs_listDirectory"), ["fs", "list", "directory"]);
        assert_eq!(words("get-current-time"), ["get", "current", "time"]);
        assert_eq!(
            words("List the files in entries"),
            ["list", "file", "entry"]
        );
        assert_eq!(words("processes classes"), ["process", "class"]);
        assert!(words("the of a").is_empty());
    }

    #[test]
    fn the_obvious_tool_ranks_first() {
        let tools = [
            tool(
                "time_get_current_time",
                "Get current time in a specific timezone",
                serde_json::json!({"timezone": {"description": "IANA timezone name"}}),
            ),
            tool(
                "time_convert_time",
                "Convert time between timezones",
                serde_json::json!({"source_timezone": {}, "time": {}, "target_timezone": {}}),
            ),
            tool(
                "fs_list_directory",
                "Get a detailed listing of all files and directories in a specified path.",
                serde_json::json!({"path": {}}),
            ),
            tool(
                "fs_read_text_file",
                "Read the complete contents of a file from the file system as text.",
                serde_json::json!({"path": {}, "head": {}}),
            ),
        ];
        let first = |query: &str| {
            rank(&tools, query, 10)
                .first()
                .map(|(i, _)| tools[*i].name.to_string())
        };
        assert_eq!(
            first("the current time in Tokyo").as_deref(),
            Some("time_get_current_time")
        );
        assert_eq!(
            first("convert 3pm from London to Tokyo timezone").as_deref(),
            Some("time_convert_time")
        );
        assert_eq!(
            first("list files in a folder directory").as_deref(),
            Some("fs_list_directory")
        );
        assert_eq!(
            first("read file contents").as_deref(),
            Some("fs_read_text_file")
        );
        assert!(rank(&tools, "kubernetes pods", 10).is_empty());
        assert!(rank(&tools, "", 10).is_empty());
        assert_eq!(rank(&tools, "time", 1).len(), 1);
    }
}
