//! The lexical rules of the three files, as the original reads them (nom parsers).
//!
//! - ha.cf: `#` starts a comment anywhere; a carriage return ends the line; the directive
//!   name ends at the first blank; its values are separated by blanks, tabs **and commas**
//!   (`node a,b` names two nodes).
//! - haresources: `#` starts a comment anywhere; a line whose last character is `\`
//!   continues on the next one (joined without adding a blank, as ResourceManager's sed does).
//! - authkeys: `#` is a comment only as the first non-blank character of a line.

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_till, take_while, take_while1};
use nom::character::complete::{char, digit0, digit1};
use nom::combinator::{all_consuming, opt, recognize};
use nom::multi::many0;
use nom::sequence::{pair, preceded};
use nom::IResult;

/// Blanks as the original's `WHITESPACE` (space, tab, newline, carriage return, form feed).
pub fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// Value separators of ha.cf option lists (`DELIMS`: the blanks and the comma).
pub fn is_delim(c: char) -> bool {
    c == ',' || is_blank(c)
}

/// A line's words, with its 1-based number (the first line of a joined line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub words: Vec<String>,
}

fn word(i: &str) -> IResult<&str, &str> {
    preceded(take_while(is_blank), take_while1(|c: char| !is_blank(c)))(i)
}

fn delimited_word(i: &str) -> IResult<&str, &str> {
    preceded(take_while(is_delim), take_while1(|c: char| !is_delim(c)))(i)
}

/// The blank-separated words of `text` (no comment handling).
pub fn split_blanks(text: &str) -> Vec<&str> {
    match many0(word)(text) {
        Ok((_, ws)) => ws,
        Err(_) => Vec::new(),
    }
}

/// The values of an ha.cf option list: separated by blanks and commas.
pub fn split_delims(text: &str) -> Vec<&str> {
    match many0(delimited_word)(text) {
        Ok((_, ws)) => ws,
        Err(_) => Vec::new(),
    }
}

/// The text of `line` before its first `#`.
pub fn strip_comment(line: &str) -> &str {
    let r: IResult<&str, &str> = take_till(|c| c == '#')(line);
    r.map(|(_, t)| t).unwrap_or(line)
}

/// The words of one line, comment removed.
pub fn words(line: &str) -> Vec<String> {
    split_blanks(strip_comment(line))
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// One meaningful line of ha.cf: its number, directive and the rest after the
/// separators that follow the directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HacfLine<'a> {
    pub number: usize,
    pub directive: &'a str,
    pub rest: &'a str,
}

/// The meaningful lines of ha.cf: comment cut at `#`, line cut at a carriage return,
/// blank lines skipped.
pub fn hacf_lines(text: &str) -> Vec<HacfLine<'_>> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let no_comment = strip_comment(raw);
        let body = no_comment.split('\r').next().unwrap_or("");
        let r: IResult<&str, (&str, &str)> = preceded(
            take_while(is_blank),
            pair(take_while1(|c: char| !is_blank(c)), take_while(is_delim)),
        )(body);
        if let Ok((rest, (directive, _))) = r {
            out.push(HacfLine {
                number: i + 1,
                directive,
                rest: rest.trim_end_matches(is_blank),
            });
        }
    }
    out
}

/// A haresources logical line: its number (of its first physical line), its words, and
/// what the original would see differently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinedLine {
    pub number: usize,
    pub words: Vec<String>,
    /// Line numbers of continuation lines carrying a comment: ResourceManager does not
    /// strip comments there (its words become resources).
    pub comment_in_continuation: Vec<usize>,
    /// Line numbers of lines ending in `\` followed by blanks (not a continuation).
    pub backslash_then_blank: Vec<usize>,
}

/// The logical lines of haresources: `#` comments removed, lines ending in `\` joined
/// with the next one (no blank added), blank lines skipped.
pub fn haresources_lines(text: &str) -> Vec<JoinedLine> {
    let mut out = Vec::new();
    let mut pending: Option<JoinedLine> = None;
    let mut acc = String::new();
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let no_comment = strip_comment(raw);
        let mut cur = pending.take().unwrap_or_else(|| JoinedLine {
            number: n,
            words: Vec::new(),
            comment_in_continuation: Vec::new(),
            backslash_then_blank: Vec::new(),
        });
        if cur.number != n && no_comment.len() != raw.len() {
            cur.comment_in_continuation.push(n);
        }
        if let Some(head) = no_comment.strip_suffix('\\') {
            acc.push_str(head);
            pending = Some(cur);
            continue;
        }
        if no_comment.trim_end_matches(is_blank).ends_with('\\') {
            cur.backslash_then_blank.push(n);
        }
        acc.push_str(no_comment);
        cur.words = split_blanks(&acc).into_iter().map(str::to_string).collect();
        acc.clear();
        if !cur.words.is_empty() {
            out.push(cur);
        }
    }
    if let Some(mut cur) = pending {
        cur.words = split_blanks(&acc).into_iter().map(str::to_string).collect();
        if !cur.words.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Kept for callers of the first version: non-empty lines, `#` comments removed; with
/// `join_backslash`, haresources' continuation rule.
pub fn lines(text: &str, join_backslash: bool) -> Vec<Line> {
    if join_backslash {
        return haresources_lines(text)
            .into_iter()
            .map(|l| Line {
                number: l.number,
                words: l.words,
            })
            .collect();
    }
    text.split('\n')
        .enumerate()
        .filter_map(|(i, raw)| {
            let w = words(raw);
            (!w.is_empty()).then(|| Line {
                number: i + 1,
                words: w,
            })
        })
        .collect()
}

/// A time value: decimal number (fraction allowed) and an optional unit `ms`/`msec` or
/// `us`/`usec` (any case); no unit means seconds. Returns the number's integer digits,
/// fraction digits and the unit's scale (1 = s, 1000 = ms, 1_000_000 = us).
pub(crate) fn time_parts(i: &str) -> Option<(&str, &str, u64)> {
    let number = recognize(pair(digit0, opt(pair(char('.'), digit0))));
    let unit = opt(alt((
        tag_no_case("msec"),
        tag_no_case("ms"),
        tag_no_case("usec"),
        tag_no_case("us"),
    )));
    let r: IResult<&str, (&str, Option<&str>)> = all_consuming(pair(number, unit))(i);
    let (_, (num, unit)) = r.ok()?;
    let (int, frac) = match num.split_once('.') {
        Some((a, b)) => (a, b),
        None => (num, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let scale = match unit.map(|u| u.to_ascii_lowercase()) {
        None => 1,
        Some(u) if u.starts_with('m') => 1000,
        Some(_) => 1_000_000,
    };
    Some((int, frac, scale))
}

/// A plain decimal integer (digits only).
pub(crate) fn unsigned(i: &str) -> Option<u64> {
    let r: IResult<&str, &str> = all_consuming(digit1)(i);
    r.ok()?.1.parse().ok()
}

/// The leading integer of `i` as C's `sscanf("%d")` reads it: optional blanks, optional
/// sign, digits. Returns the value and the rest.
pub(crate) fn scan_int(i: &str) -> Option<(i64, &str)> {
    let r: IResult<&str, &str> = preceded(
        take_while(is_blank),
        recognize(pair(opt(alt((char('+'), char('-')))), digit1)),
    )(i);
    let (rest, num) = r.ok()?;
    let v = num.parse::<i64>().ok().unwrap_or(if num.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    });
    Some((v, rest))
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

    #[test]
    fn hacf_lines_cut_comments_and_cr() {
        let l = hacf_lines("node a,b  # x\r\n\n  \t# c\nkeepalive\t2\rjunk\nbare\n");
        assert_eq!(l.len(), 3);
        assert_eq!((l[0].number, l[0].directive, l[0].rest), (1, "node", "a,b"));
        assert_eq!(
            (l[1].number, l[1].directive, l[1].rest),
            (4, "keepalive", "2")
        );
        assert_eq!((l[2].directive, l[2].rest), ("bare", ""));
        assert_eq!(split_delims("a,b  c,,d"), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn haresources_join_without_blank() {
        let l = haresources_lines("a x\\\ny z\nb q \\  \nc\n");
        assert_eq!(l[0].words, vec!["a", "xy", "z"]);
        assert_eq!(l[1].words, vec!["b", "q", "\\"]);
        assert_eq!(l[1].backslash_then_blank, vec![3]);
        let l = haresources_lines("a x \\\n  y # c\n");
        assert_eq!(l[0].words, vec!["a", "x", "y"]);
        assert_eq!(l[0].comment_in_continuation, vec![2]);
    }

    #[test]
    fn scan_int_like_sscanf() {
        assert_eq!(scan_int(" 12abc"), Some((12, "abc")));
        assert_eq!(scan_int("-3 x"), Some((-3, " x")));
        assert_eq!(scan_int("+7"), Some((7, "")));
        assert_eq!(scan_int("x"), None);
        assert_eq!(scan_int("99999999999999999999999"), Some((i64::MAX, "")));
    }
}
