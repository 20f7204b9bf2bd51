//! Name tables for small enums that lessons spell out (`when=` conditions, `needs:`): one
//! table per enum serves both parsing, with the known names in the error, and display.

/// The value named `name` in `table`; the error lists every known name.
pub fn parse<T: Copy>(table: &[(&str, T)], what: &str, name: &str) -> Result<T, String> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let known: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!("unknown {what} `{name}`; known: {}", known.join(", "))
        })
}

/// The name of `value` in `table` (`?` for a value the table forgot, which a test prevents).
pub fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| v == value)
        .map_or("?", |(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways() {
        let table = [("a", 1), ("b", 2)];
        assert_eq!(parse(&table, "letter", "b"), Ok(2));
        assert_eq!(
            parse(&table, "letter", "c"),
            Err("unknown letter `c`; known: a, b".to_owned())
        );
        assert_eq!(name_of(&table, &1), "a");
        assert_eq!(name_of(&table, &3), "?");
    }
}
