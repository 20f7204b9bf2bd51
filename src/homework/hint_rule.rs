//! The rule that makes hints teach: the first two hints of an exercise may not give away the
//! solution's code. Hints go from the idea (hint 1), to the system call and its man page
//! (hint 2), to the crate's function (hint 3 and later), so a student who needs only the idea
//! never reads the answer by accident. `pagelab dev check` enforces it.
//!
//! The rule, precisely:
//!
//! - An exercise has at least [`MIN_HINTS`] hints.
//! - The solution's *telling identifiers* are the identifier tokens (`[A-Za-z_][A-Za-z0-9_]*`)
//!   of its code between `// BEGIN SOLUTION` and `// END SOLUTION`, comments and string and
//!   character literals left out, except:
//!   - Rust keywords, primitive types and identifiers shorter than 3 characters;
//!   - identifiers that are tokens of the task line (the task may name what it asks for);
//!   - names the solution defines itself (after `let`, `for` or `fn`): the author's choice,
//!     not knowledge a hint could give away;
//!   - plain lower-case words (`a-z` only) that the solution uses neither as a module's name
//!     in a path (`nix::sys::mman::madvise`: all four) nor as a call of a free function or
//!     macro (`fork()`, `vec![]`): variables, fields, methods (`.cast()`) and a type's
//!     associated functions (`NonNull::from`, `File::open`: the type's name tells) are
//!     ordinary words.
//! - No identifier token of hint 1 or 2 may be a telling identifier, compared exactly.
//!   One exception: hint 2 may name a man page, `name(N)` (`madvise(2)`): that is its job.

use std::collections::BTreeSet;

/// Idea, system call, crate function: three steps at least.
pub const MIN_HINTS: usize = 3;

/// How many of the first hints must keep the solution's identifiers to themselves.
pub const GUARDED_HINTS: usize = 2;

/// Rust's keywords (strict and reserved) and primitive types: every solution has them, and
/// they tell nothing.
const RUST_WORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "if", "impl", "in",
    "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "bool",
    "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
    "isize", "f32", "f64",
];

/// An identifier of a hint that the rule forbids there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// Which hint, from 0.
    pub hint: usize,
    pub identifier: String,
}

/// One identifier token of code, with the punctuation right around it (whitespace skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Token {
    text: String,
    /// Where it starts in the code, in characters.
    at: usize,
    /// The two characters before it and after it, `' '` where there are none.
    before: [char; 2],
    after: [char; 2],
}

impl Token {
    /// `x.name`: a method or a field.
    fn after_dot(&self) -> bool {
        self.before[1] == '.' && self.before[0] != '.'
    }

    /// `name::b`: a module (or type) a path goes through.
    fn leads_path(&self) -> bool {
        self.after == [':', ':']
    }

    /// `a::name`: the end of a path (or a segment inside one).
    fn ends_path(&self) -> bool {
        self.before == [':', ':']
    }

    /// `name(` or `name!`: a call or a macro.
    fn called(&self) -> bool {
        matches!(self.after[0], '(' | '!') && self.after[1] != '='
    }
}

/// The telling identifiers of a solution body, for an exercise with that task line.
pub fn telling_identifiers(solution: &str, task: &str) -> BTreeSet<String> {
    let chars: Vec<char> = solution.chars().collect();
    let tokens = code_tokens(&chars);
    let defined = defined_names(&chars, &tokens);
    let task: BTreeSet<String> = word_tokens(task).into_iter().map(|(w, _)| w).collect();
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| t.text.len() >= 3 && !RUST_WORDS.contains(&t.text.as_str()))
        .filter(|(_, t)| !task.contains(&t.text) && !defined.contains(&t.text))
        .filter(|&(i, t)| {
            !is_plain_word(&t.text) || uses_as_api(t, i.checked_sub(1).map(|p| &tokens[p]))
        })
        .map(|(_, t)| t.text.clone())
        .collect()
}

/// The identifiers of hints 1 and 2 that are telling identifiers of the solution.
pub fn leaks(solution: &str, task: &str, hints: &[String]) -> Vec<Leak> {
    let telling = telling_identifiers(solution, task);
    let mut found = Vec::new();
    for (index, hint) in hints.iter().enumerate().take(GUARDED_HINTS) {
        let mut seen = BTreeSet::new();
        for (word, man_page) in word_tokens(hint) {
            let allowed = man_page && index == 1;
            if telling.contains(&word) && !allowed && seen.insert(word.clone()) {
                found.push(Leak {
                    hint: index,
                    identifier: word,
                });
            }
        }
    }
    found
}

/// `a-z` only: an ordinary word unless the code uses it as an API name.
fn is_plain_word(word: &str) -> bool {
    word.bytes().all(|b| b.is_ascii_lowercase())
}

/// A module's name in a path (`nix::`, `mman::madvise`), or a free function or macro called
/// by name (`fork()`, `vec![]`). Not a method (`.cast()`), and not a type's associated
/// function (`NonNull::from`, `File::open`): there the type's name is what tells.
fn uses_as_api(token: &Token, previous: Option<&Token>) -> bool {
    if token.after_dot() {
        return false;
    }
    if token.ends_path() {
        return previous.is_some_and(|p| is_plain_word(&p.text));
    }
    token.leads_path() || token.called()
}

/// Names the solution binds with `let` and `for` (lower-case ones: `Some` in `let Some(x)`
/// is the library's) and declares with `fn`.
fn defined_names(chars: &[char], tokens: &[Token]) -> BTreeSet<String> {
    let mut defined = BTreeSet::new();
    for (i, token) in tokens.iter().enumerate() {
        let pattern = match token.text.as_str() {
            "fn" => i + 1..(i + 2).min(tokens.len()),
            // A `let` pattern ends at its `=` or its type's `:`, a `for` pattern at `in`.
            "let" => {
                let end = let_pattern_end(chars, token.at + 3);
                i + 1
                    ..tokens[i + 1..]
                        .iter()
                        .position(|t| t.at >= end)
                        .map_or(tokens.len(), |p| i + 1 + p)
            }
            "for" => {
                let end = tokens[i + 1..].iter().position(|t| t.text == "in");
                i + 1..end.map_or(i + 1, |p| i + 1 + p)
            }
            _ => continue,
        };
        for bound in &tokens[pattern] {
            let lower = bound.text.starts_with(|c: char| c.is_ascii_lowercase());
            if lower && !matches!(bound.text.as_str(), "mut" | "ref") {
                defined.insert(bound.text.clone());
            }
        }
    }
    defined
}

/// Where the `let` pattern starting at `from` ends: at the first `=` (not `==`, `=>`) or
/// single `:` (not `::`).
fn let_pattern_end(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        match chars[i] {
            ':' if next == ':' => i += 2,
            ':' => return i,
            '=' if !matches!(next, '=' | '>') => return i,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The identifier tokens of a hint or task line, each with whether it names a man page
/// (`name(N)`, N a section digit).
fn word_tokens(text: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_ident_start(chars[i]) && (i == 0 || !is_ident_char(chars[i - 1])) {
            let end = ident_end(&chars, i);
            let man_page = chars.get(end) == Some(&'(')
                && chars.get(end + 1).is_some_and(|c| c.is_ascii_digit())
                && chars.get(end + 2) == Some(&')');
            words.push((chars[i..end].iter().collect(), man_page));
            i = end;
        } else {
            i += 1;
        }
    }
    words
}

/// The identifier tokens of Rust code, comments, strings, characters, numbers and lifetimes
/// left out.
fn code_tokens(chars: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        i = if c == '/' && next == '/' {
            line_end(chars, i)
        } else if c == '/' && next == '*' {
            block_comment_end(chars, i)
        } else if c == '"' {
            string_end(chars, i + 1)
        } else if c == '\'' {
            quote_end(chars, i)
        } else if c.is_ascii_digit() {
            number_end(chars, i)
        } else if is_ident_start(c) {
            let end = ident_end(chars, i);
            match literal_after_prefix(chars, i, end) {
                Some(literal_end) => literal_end,
                None => {
                    tokens.push(Token {
                        text: chars[i..end].iter().collect(),
                        at: i,
                        before: around(chars, i, -1),
                        after: around(chars, end, 1),
                    });
                    end
                }
            }
        } else {
            i + 1
        };
    }
    tokens
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident_end(chars: &[char], from: usize) -> usize {
    let mut end = from;
    while end < chars.len() && is_ident_char(chars[end]) {
        end += 1;
    }
    end
}

/// The two characters next to a token (before it for `step` -1, after it for 1), skipping
/// whitespace, nearest first in `after` and last in `before` (reading order).
fn around(chars: &[char], at: usize, step: isize) -> [char; 2] {
    let mut found = Vec::new();
    let mut i = at as isize + if step < 0 { -1 } else { 0 };
    while found.len() < 2 && i >= 0 && (i as usize) < chars.len() {
        let c = chars[i as usize];
        if !c.is_whitespace() {
            found.push(c);
        }
        i += step;
    }
    found.resize(2, ' ');
    if step < 0 {
        [found[1], found[0]]
    } else {
        [found[0], found[1]]
    }
}

fn line_end(chars: &[char], from: usize) -> usize {
    chars[from..]
        .iter()
        .position(|&c| c == '\n')
        .map_or(chars.len(), |p| from + p)
}

fn block_comment_end(chars: &[char], from: usize) -> usize {
    (from + 2..chars.len().saturating_sub(1))
        .find(|&i| chars[i] == '*' && chars[i + 1] == '/')
        .map_or(chars.len(), |i| i + 2)
}

/// Past the closing quote of a string whose text starts at `from` (escapes honoured).
fn string_end(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// Past a character literal (`'a'`, `'\n'`), or past a lifetime (`'a`, `'static`) and its
/// name, which is no name of the solution's API.
fn quote_end(chars: &[char], from: usize) -> usize {
    match (chars.get(from + 1), chars.get(from + 2)) {
        // The escaped character itself may be a quote (`'\''`): search after it.
        (Some('\\'), _) => chars
            .get(from + 3..)
            .and_then(|rest| rest.iter().position(|&c| c == '\''))
            .map_or(chars.len(), |p| from + 3 + p + 1),
        (Some(_), Some('\'')) => from + 3,
        _ => ident_end(chars, from + 1),
    }
}

/// Past a number with its suffix (`1u8`, `0x1f`, `1.5`); `0..n` stops at the `..`.
fn number_end(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() {
        let c = chars[i];
        let digit_after = chars.get(i + 1).is_some_and(|c| c.is_ascii_digit());
        if is_ident_char(c) || (c == '.' && digit_after) {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Where a literal with a prefix ends (`b"…"`, `c"…"`, `r"…"`, `r#"…"#`, `br"…"`, `b'x'`),
/// if the identifier `[from, end)` is such a prefix.
fn literal_after_prefix(chars: &[char], from: usize, end: usize) -> Option<usize> {
    let prefix: String = chars[from..end].iter().collect();
    let next = chars.get(end).copied();
    match (prefix.as_str(), next) {
        ("b" | "c", Some('"')) => Some(string_end(chars, end + 1)),
        ("b", Some('\'')) => Some(quote_end(chars, end)),
        ("r" | "br" | "cr", Some('"' | '#')) => Some(raw_string_end(chars, end)),
        _ => None,
    }
}

/// Past `#…#"…"#…#` starting at `from` (the hashes, then the quote).
fn raw_string_end(chars: &[char], from: usize) -> usize {
    let hashes = chars[from..].iter().take_while(|&&c| c == '#').count();
    let open = from + hashes;
    if chars.get(open) != Some(&'"') {
        return open;
    }
    let mut i = open + 1;
    while i < chars.len() {
        if chars[i] == '"'
            && chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    const MAP_ANONYMOUS: &str = "
        use nix::sys::mman::{MapFlags, mmap_anonymous};
        // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
        let start = unsafe { mmap_anonymous(None, len, prot, MapFlags::MAP_PRIVATE) }?;
        Ok(start.cast())
    ";

    const TASK: &str =
        "map `len` bytes of private anonymous memory with protections `prot` and return its start";

    #[test]
    fn api_names_tell_words_and_own_names_do_not() {
        // Not `start` (bound by let, and in the task), `len`/`prot` (task), `cast` (a
        // method), `Ok` (short), `unsafe`/`use`/`let` (keywords), nor the comment's words.
        assert_eq!(
            telling_identifiers(MAP_ANONYMOUS, TASK),
            set(&[
                "MAP_PRIVATE",
                "MapFlags",
                "None",
                "mman",
                "mmap_anonymous",
                "nix",
                "sys"
            ])
        );
    }

    #[test]
    fn a_hint_that_names_the_call_leaks_one_that_gives_the_idea_does_not() {
        let hints = [
            "nix::sys::mman::mmap_anonymous(None, len, prot, MapFlags::MAP_PRIVATE)".to_owned(),
            "mmap(2) with the flags that make it private and anonymous".to_owned(),
            "mmap_anonymous(None, len, prot, MapFlags::MAP_PRIVATE)".to_owned(),
        ];
        let leaks = leaks(MAP_ANONYMOUS, TASK, &hints);
        let named: Vec<(usize, &str)> = leaks
            .iter()
            .map(|l| (l.hint, l.identifier.as_str()))
            .collect();
        // Hint 1 leaks, each identifier once; hint 2 does not; hint 3 may.
        assert_eq!(
            named,
            [
                (0, "nix"),
                (0, "sys"),
                (0, "mman"),
                (0, "mmap_anonymous"),
                (0, "None"),
                (0, "MapFlags"),
                (0, "MAP_PRIVATE"),
            ]
        );
    }

    #[test]
    fn a_man_page_is_allowed_in_the_second_hint_only() {
        let solution = "unsafe { nix::sys::mman::madvise(start, len, MmapAdvise::MADV_COLD) }";
        let task = "mark `region` as the first to reclaim";
        let idea = |first: &str| [first.to_owned(), "madvise(2): the advice list".to_owned()];
        assert!(leaks(solution, task, &idea("pages nobody will use soon")).is_empty());
        let early = leaks(solution, task, &idea("madvise(2) does it"));
        assert_eq!(
            early,
            [Leak {
                hint: 0,
                identifier: "madvise".into()
            }]
        );
        let constant = leaks(
            solution,
            task,
            &["an idea".to_owned(), "madvise(2) with MADV_COLD".to_owned()],
        );
        assert_eq!(constant.len(), 1);
        assert_eq!(constant[0].identifier, "MADV_COLD");
    }

    #[test]
    fn free_calls_and_macros_tell_methods_and_variables_do_not() {
        let solution = "let (rx, tx) = pipe()?; match unsafe { fork() }? { _ => {} } \
                        let v = vec![0u8; 4]; region.fill(1); let page = size; drop(tx);";
        assert_eq!(
            telling_identifiers(solution, "fork a child"),
            set(&["drop", "pipe", "vec"]),
            "`fork` is named by the task, `fill` is a method, `page`/`size` are words, \
             `rx`/`tx` short"
        );
    }

    #[test]
    fn a_modules_function_tells_a_types_associated_function_does_not() {
        let solution = "let s = std::ptr::NonNull::from(region).cast::<libc::c_void>(); \
                        let f = std::fs::File::open(path)?; nix::unistd::write(&fd, b)?; \
                        let n = u64::from(x);";
        assert_eq!(
            telling_identifiers(solution, "x"),
            set(&[
                "File", "NonNull", "c_void", "fs", "libc", "nix", "ptr", "std", "unistd", "write"
            ])
            .into_iter()
            .filter(|w| w.len() >= 3)
            .collect(),
            "`from` and `open` belong to types, whose names tell; `write` to a module"
        );
    }

    #[test]
    fn the_task_and_the_solution_own_names_are_free() {
        let solution = "fn range(line: &str) -> usize { 0 } \
                        for (at, map_offset) in x { range(line); libc::mincore(at); }";
        // `range` is the solution's own function, `map_offset` its own binding, `mincore`
        // is in the task; `libc` is a path segment.
        assert_eq!(
            telling_identifiers(solution, "count resident pages with mincore(2)"),
            set(&["libc"])
        );
    }

    #[test]
    fn strings_comments_numbers_and_lifetimes_are_not_code() {
        let solution = r##"
            let a = "MAP_SHARED in a string"; /* MAP_FIXED in a block */
            let b = r#"raw "MAP_LOCKED""#; let c = b"bytes"; let q = '\''; let n = 1u64;
            let s: &'static str = c"x"; // MAP_POPULATE in a comment
            Errno::EINVAL
        "##;
        assert_eq!(
            telling_identifiers(solution, "x"),
            set(&["EINVAL", "Errno"])
        );
    }

    #[test]
    fn hint_words_compare_exactly_and_man_pages_are_recognised() {
        let words = word_tokens("see mmap(2), MAP_SHARED and the mmap_anonymous() call");
        assert_eq!(
            words,
            [
                ("see".to_owned(), false),
                ("mmap".to_owned(), true),
                ("MAP_SHARED".to_owned(), false),
                ("and".to_owned(), false),
                ("the".to_owned(), false),
                ("mmap_anonymous".to_owned(), false),
                ("call".to_owned(), false),
            ]
        );
    }
}
