//! The little HTML the book writes by hand (the claim blocks, figures and grids are a few
//! elements each, nothing that needs a template engine); escaping is [`crate::markup`]'s.

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
    fn sentences_start_upper_case() {
        assert_eq!(sentence("where it fits"), "Where it fits");
    }
}
