//! The command's stdout on its way to the MCP client: a line too long to be a message the
//! client would read (rmcp drops it, and the call it answered would wait for its timeout)
//! is replaced, when it answers a request, by a JSON-RPC error for that request — so the
//! call fails at once, saying why — and is dropped otherwise. Neither copy is held whole.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

/// The longest line passed on: rmcp's limit, less room for nothing else.
pub const MAX_LINE: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

/// Bytes kept of each end of an oversized line, to find its id.
const KEPT: usize = 512;

/// `stdout`, with oversized lines replaced as the module says.
pub fn guard(stdout: impl AsyncRead + Unpin + Send + 'static) -> impl AsyncRead + Unpin {
    let (reader, mut writer) = tokio::io::simplex(64 * 1024);
    tokio::spawn(async move {
        let mut input = BufReader::new(stdout);
        while let Some(line) = next_line(&mut input).await {
            let out = match line {
                Line::Whole(mut bytes) => {
                    bytes.push(b'\n');
                    bytes
                }
                Line::Oversized { head, tail, len } => match answered_id(&head, &tail) {
                    Some(id) => {
                        tracing::warn!(len, "the MCP server's answer is too large; its call fails");
                        error_for(&id, len)
                    }
                    None => {
                        tracing::warn!(
                            len,
                            "the MCP server sent a message too large to read; dropped"
                        );
                        continue;
                    }
                },
            };
            if writer.write_all(&out).await.is_err() {
                return;
            }
        }
        let _ = writer.shutdown().await;
    });
    reader
}

enum Line {
    /// A line within the limit, without its newline.
    Whole(Vec<u8>),
    /// A longer one: its first and last bytes, and its length.
    Oversized {
        head: Vec<u8>,
        tail: Vec<u8>,
        len: usize,
    },
}

async fn next_line(input: &mut (impl AsyncBufReadExt + Unpin)) -> Option<Line> {
    let mut line = Vec::new();
    let (mut head, mut tail, mut len) = (Vec::new(), Vec::new(), 0usize);
    let mut oversized = false;
    loop {
        let available = match input.fill_buf().await {
            Ok([]) | Err(_) if len == 0 => return None,
            Ok([]) | Err(_) => break,
            Ok(available) => available,
        };
        let newline = available.iter().position(|b| *b == b'\n');
        let chunk = &available[..newline.unwrap_or(available.len())];
        len += chunk.len();
        if !oversized && len > MAX_LINE {
            oversized = true;
            line.extend_from_slice(chunk);
            head = line[..KEPT.min(line.len())].to_vec();
            tail = line[line.len().saturating_sub(KEPT)..].to_vec();
            line = Vec::new();
        } else if oversized {
            tail.extend_from_slice(chunk);
            let excess = tail.len().saturating_sub(KEPT);
            tail.drain(..excess);
        } else {
            line.extend_from_slice(chunk);
        }
        let consumed = newline.map_or(available.len(), |at| at + 1);
        input.consume(consumed);
        if newline.is_some() {
            break;
        }
    }
    Some(if oversized {
        Line::Oversized { head, tail, len }
    } else {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Line::Whole(line)
    })
}

/// The id of the request an oversized line answers, from its ends: `{"jsonrpc":"2.0",
/// "id":…,"result":…` (rmcp, the Python SDK) or `{"result":…,"jsonrpc":"2.0","id":…}` (the
/// TypeScript SDK). `None` for anything that may not be an answer (a request, a
/// notification).
fn answered_id(head: &[u8], tail: &[u8]) -> Option<serde_json::Value> {
    let head = String::from_utf8_lossy(head);
    let result = head.find("\"result\"")?;
    if head[..result].contains("\"method\"") {
        return None;
    }
    let value_after = |text: &str| -> Option<serde_json::Value> {
        let rest = text.trim_start().strip_prefix(':')?;
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<serde_json::Value>();
        values
            .next()?
            .ok()
            .filter(|v| v.is_number() || v.is_string())
    };
    if let Some(at) = head[..result].find("\"id\"") {
        return value_after(&head[at + 4..result]);
    }
    let tail = String::from_utf8_lossy(tail);
    let at = tail.rfind("\"id\"")?;
    let rest = tail[at + 4..].trim_end().strip_suffix('}')?;
    value_after(rest)
}

/// The error answering request `id` in place of an answer of `len` bytes.
fn error_for(id: &serde_json::Value, len: usize) -> Vec<u8> {
    let message = format!(
        "the MCP server's answer is {len} bytes, more than the {MAX_LINE} a message may have; \
         ask for less (a smaller page, range or file)"
    );
    let error = serde_json::json!({
        "jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": message},
    });
    let mut line = error.to_string().into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_found_at_either_end_of_answers_only() {
        let id = |head: &str, tail: &str| answered_id(head.as_bytes(), tail.as_bytes());
        assert_eq!(
            id(
                r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"text":"xx"#,
                "xx\"}]}}"
            ),
            Some(7.into())
        );
        assert_eq!(
            id(r#"{"jsonrpc": "2.0", "id": "a-1", "result": {"#, "}}"),
            Some("a-1".into())
        );
        assert_eq!(
            id(
                r#"{"result":{"content":[{"text":"xx"#,
                r#"xx"}]},"jsonrpc":"2.0","id":12}"#
            ),
            Some(12.into())
        );
        assert_eq!(
            id(
                r#"{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{"result""#,
                "}}"
            ),
            None
        );
        assert_eq!(
            id(
                r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"#,
                "}}"
            ),
            None
        );
    }

    #[tokio::test]
    async fn an_oversized_answer_becomes_an_error_and_the_rest_passes() {
        let big = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{{\"text\":\"{}\"}}}}\n",
            "x".repeat(MAX_LINE)
        );
        let input = format!("{{\"a\":1}}\n{big}{{\"b\":2}}\n");
        let mut out = String::new();
        use tokio::io::AsyncReadExt;
        guard(std::io::Cursor::new(input.into_bytes()))
            .read_to_string(&mut out)
            .await
            .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out:.300}");
        assert_eq!(lines[0], "{\"a\":1}");
        assert!(
            lines[1].contains("\"id\":5") && lines[1].contains("more than"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "{\"b\":2}");
    }
}
