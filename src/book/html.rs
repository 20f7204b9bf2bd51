//! The little HTML the book writes by hand: escaping, and nothing that needs a template
//! engine (the claim blocks, figures and grids are a few elements each).

/// `text` safe inside an HTML element or a double-quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A blank line would end the HTML block that markdown passes through.
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` with its first letter upper-cased, for a sentence built from lower-case words.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_newlines_are_escaped() {
        assert_eq!(esc("a<b & \"c\"\n"), "a&lt;b &amp; &quot;c&quot;&#10;");
        assert_eq!(sentence("where it fits"), "Where it fits");
    }
}
