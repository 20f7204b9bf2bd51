//! Text made safe for the markup pagelab writes: the book's HTML and the JUnit XML, and
//! the cells of the markdown tables of the kernel matrix's report.

/// `text` safe inside an element or a double-quoted attribute of XML 1.0 and of HTML: the
/// five markup characters as entities; newlines and tabs as character references (a blank
/// line would end the HTML block that markdown passes through, and XML attributes fold raw
/// ones into spaces); `{` as a character reference, which mdBook does not read as the start
/// of a `{{#include …}}` or `{{#title …}}` directive (it expands those anywhere in a
/// chapter, attributes too); other control characters, which XML 1.0 cannot hold at all, as
/// U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '{' => out.push_str("&#123;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one cell of a GitHub-flavoured markdown table: a `|` would end the cell (also
/// inside a code span, where `\|` is how GFM takes it), and a line break the row.
pub fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_cell_keeps_its_bars_and_lines_inside() {
        assert_eq!(table_cell("lab | board\nb"), "lab \\| board b");
    }

    #[test]
    fn braces_cannot_open_an_mdbook_directive() {
        let escaped = escape("{{#include ../book.toml}} {{#title x}}");
        assert!(!escaped.contains('{'), "{escaped}");
        assert_eq!(
            escaped,
            "&#123;&#123;#include ../book.toml}} &#123;&#123;#title x}}"
        );
    }

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'\n\t\u{1b}[1m"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&#10;&#9;\u{fffd}[1m"
        );
    }
}
