//! The line syntax shared by the three files: `#` starts a comment anywhere, words are
//! separated by blanks and tabs; haresources also joins lines ending in `\`.

use nom::bytes::complete::{take_till, take_while1};
use nom::character::complete::space0;
use nom::multi::many0;
use nom::sequence::preceded;
use nom::IResult;

/// A line's words, with its 1-based number (the first line of a joined line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub words: Vec<String>,
}

fn word(i: &str) -> IResult<&str, &str> {
    preceded(space0, take_while1(|c: char| !c.is_whitespace()))(i)
}

/// The words of one line, comment removed.
pub fn words(line: &str) -> Vec<String> {
    let no_comment: IResult<&str, &str> = take_till(|c| c == '#')(line);
    let text = no_comment.map(|(_, t)| t).unwrap_or(line);
    match many0(word)(text) {
        Ok((_, ws)) => ws.into_iter().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

/// Non-empty lines of `text`; with `join_backslash`, a line ending in `\` continues on
/// the next one.
pub fn lines(text: &str, join_backslash: bool) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let no_comment = raw.split('#').next().unwrap_or("");
        let (start, mut acc) = pending.take().unwrap_or((n, String::new()));
        let trimmed = no_comment.trim_end();
        if join_backslash && trimmed.ends_with('\\') {
            acc.push_str(&trimmed[..trimmed.len() - 1]);
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(no_comment);
        let ws = words(&acc);
        if !ws.is_empty() {
            out.push(Line {
                number: start,
                words: ws,
            });
        }
    }
    if let Some((start, acc)) = pending {
        let ws = words(&acc);
        if !ws.is_empty() {
            out.push(Line {
                number: start,
                words: ws,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_tabs() {
        assert_eq!(words("  node\ta  b # comment"), vec!["node", "a", "b"]);
        assert!(words("# only").is_empty());
        let l = lines("a b\n\n  # x\nc \\\n d\n", true);
        assert_eq!(l.len(), 2);
        assert_eq!(
            l[1],
            Line {
                number: 4,
                words: vec!["c".into(), "d".into()]
            }
        );
    }
}
