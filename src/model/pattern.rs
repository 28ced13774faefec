//! The patterns of allowlists (`--allow-package`, `--allow-image`, `--allow-secret`…).

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_stars_anywhere() {
        assert!(glob_match("mcp-server-*", "mcp-server-time"));
        assert!(glob_match(
            "@modelcontextprotocol/*",
            "@modelcontextprotocol/server-everything@1.0"
        ));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("mcp-server-*", "evil-mcp-server-time"));
        assert!(!glob_match("a*bc", "abc-bc-x"));
        assert!(!glob_match("ab*ba", "aba"), "the parts may not overlap");
    }
}
