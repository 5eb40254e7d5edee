//! A small XML tree and its writer: elements with attributes in the order given, and
//! comments. Enough for a CIB; text content is never needed.

/// One element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    El(El),
    Comment(String),
}

impl El {
    pub fn new(name: &str) -> El {
        El {
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an attribute (builder style).
    pub fn attr(mut self, name: &str, value: impl Into<String>) -> El {
        self.attrs.push((name.to_string(), value.into()));
        self
    }

    /// Adds a child element (builder style).
    pub fn child(mut self, c: El) -> El {
        self.children.push(Node::El(c));
        self
    }

    pub fn push(&mut self, c: El) {
        self.children.push(Node::El(c));
    }

    pub fn comment(&mut self, text: impl Into<String>) {
        self.children.push(Node::Comment(text.into()));
    }

    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &El> {
        self.children.iter().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Comment(_) => None,
        })
    }

    /// Every element below this one (depth first, this one excluded).
    pub fn descendants(&self) -> Vec<&El> {
        let mut out = Vec::new();
        for c in self.elements() {
            out.push(c);
            out.extend(c.descendants());
        }
        out
    }

    /// The element as text, indented by two blanks per level, ending in a newline.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s
    }

    fn write(&self, s: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        s.push_str(&pad);
        s.push('<');
        s.push_str(&self.name);
        for (n, v) in &self.attrs {
            s.push(' ');
            s.push_str(n);
            s.push_str("=\"");
            s.push_str(&escape(v));
            s.push('"');
        }
        if self.children.is_empty() {
            s.push_str("/>\n");
            return;
        }
        s.push_str(">\n");
        for c in &self.children {
            match c {
                Node::El(e) => e.write(s, depth + 1),
                Node::Comment(t) => {
                    s.push_str(&pad);
                    s.push_str("  <!-- ");
                    s.push_str(&comment_text(t));
                    s.push_str(" -->\n");
                }
            }
        }
        s.push_str(&pad);
        s.push_str("</");
        s.push_str(&self.name);
        s.push_str(">\n");
    }
}

/// An attribute value with `& < > " '` and control characters escaped.
pub fn escape(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' => o.push_str("&#9;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            c if (c as u32) < 0x20 => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// Comment text made safe: XML forbids `--` inside a comment and a final `-`; control
/// characters become blanks.
pub fn comment_text(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        let c = if (c as u32) < 0x20 { ' ' } else { c };
        if c == '-' && o.ends_with('-') {
            o.push(' ');
        }
        o.push(c);
    }
    if o.ends_with('-') {
        o.push(' ');
    }
    o
}

/// A valid XML ID (an NCName, as the CIB schema's IDs must be) made from `s`: letters,
/// digits, `_`, `.` and `-` are kept, anything else becomes `_`; an ID that would not start
/// with a letter or `_` gets `r` in front.
pub fn xml_id(s: &str) -> String {
    let mut o: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !o.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        o.insert(0, 'r');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_escapes() {
        let mut e = El::new("a").attr("x", "1 < 2 & \"q\"");
        e.comment("no -- double dash-");
        e.push(El::new("b"));
        assert_eq!(
            e.render(),
            "<a x=\"1 &lt; 2 &amp; &quot;q&quot;\">\n  <!-- no - - double dash-  -->\n  <b/>\n</a>\n"
        );
    }

    #[test]
    fn ids() {
        assert_eq!(xml_id("IPaddr_10.0.0.1"), "IPaddr_10.0.0.1");
        assert_eq!(xml_id("10.0.0.1"), "r10.0.0.1");
        assert_eq!(xml_id("a b/c:d"), "a_b_c_d");
        assert_eq!(xml_id("-x"), "r-x");
    }
}
