//! Lines of output from a process the daemon does not trust (a child's stdout and stderr),
//! read with a bound on each: a line longer than the bound is cut, and the rest of it is
//! read and dropped without being held, so a 200 MB line costs at most the bound.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Reads lines of at most `max` bytes from `reader`.
pub struct BoundedLines<R> {
    reader: R,
    max: usize,
    buffer: Vec<u8>,
}

/// One line, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's first bytes (at most the bound), as text; invalid UTF-8 is replaced.
    pub text: String,
    /// Whether the line was longer than the bound and cut.
    pub cut: bool,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Lines of `reader`, each cut to `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max,
            buffer: Vec::new(),
        }
    }

    /// The next line; `None` at the end of the stream (or on a read error, which ends it
    /// the same way for a child's output).
    pub async fn next_line(&mut self) -> Option<Line> {
        self.buffer.clear();
        let mut cut = false;
        loop {
            let available = match self.reader.fill_buf().await {
                Ok([]) | Err(_) if self.buffer.is_empty() && !cut => return None,
                Ok([]) | Err(_) => break,
                Ok(available) => available,
            };
            let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
                Some(at) => (&available[..at], Some(at + 1)),
                None => (available, None),
            };
            let room = self.max.saturating_sub(self.buffer.len());
            self.buffer
                .extend_from_slice(&chunk[..chunk.len().min(room)]);
            cut |= chunk.len() > room;
            let consumed = done.unwrap_or(available.len());
            self.reader.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if self.buffer.last() == Some(&b'\r') {
            self.buffer.pop();
        }
        let mut text = String::from_utf8_lossy(&self.buffer).into_owned();
        if cut {
            // A cut may split a character; lossy decoding shows it as U+FFFD.
            text.push('…');
        }
        Some(Line { text, cut })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_the_rest_is_dropped() {
        let input = format!("short\r\n{}\nafter\nlast", "x".repeat(10_000));
        let mut lines = BoundedLines::new(tokio::io::BufReader::new(input.as_bytes()), 8);
        let mut next = async || lines.next_line().await.map(|l| (l.text, l.cut));
        assert_eq!(next().await, Some(("short".into(), false)));
        assert_eq!(next().await, Some(("xxxxxxxx…".into(), true)));
        assert_eq!(next().await, Some(("after".into(), false)));
        assert_eq!(next().await, Some(("last".into(), false)));
        assert_eq!(next().await, None);
    }
}
