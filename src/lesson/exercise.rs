//! Exercise blocks: ```` ```exercise id=… ```` names an exercise the student writes, with the
//! task in one line and the hints that `pagelab hint` and failing tests show.

/// An exercise as its lesson states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExerciseText {
    pub id: String,
    /// Line of the opening fence.
    pub line: usize,
    pub task: String,
    /// Shown in order, the first the gentlest. The loader needs one; `pagelab dev check`
    /// needs [`crate::homework::hint_rule::MIN_HINTS`].
    pub hints: Vec<String>,
    /// The line of each hint, in the same order: `pagelab dev check` names the line of a
    /// hint that gives too much away.
    pub hint_lines: Vec<usize>,
}

/// Parses the info string's attributes after the `exercise` tag: exactly `id=<id>`.
pub fn parse_id(words: &[&str]) -> Result<String, String> {
    let [word] = words else {
        return Err("an exercise block takes exactly one attribute: id=<exercise-id>".into());
    };
    let id = word
        .strip_prefix("id=")
        .ok_or_else(|| format!("`{word}`: an exercise block takes only id=<exercise-id>"))?;
    if !is_valid_id(id) {
        return Err(format!(
            "exercise id `{id}`: use lower-case letters, digits and dashes, starting with a letter"
        ));
    }
    Ok(id.to_owned())
}

/// Ids are what students type (`pagelab hint map-anonymous`) and name tests, so they stay
/// plain: `[a-z][a-z0-9-]*`, no double or trailing dash.
pub fn is_valid_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--")
}

/// Adds one body line (`task: …` or `hint: …`), line `line` of the lesson, to the exercise
/// being read.
pub fn add_line(exercise: &mut ExerciseText, text: &str, line: usize) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    let (key, value) = text
        .split_once(':')
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| format!("`{text}`: an exercise block holds `task:` and `hint:` lines"))?;
    if value.is_empty() {
        return Err(format!("`{key}:` says nothing"));
    }
    match key {
        "task" if exercise.task.is_empty() => exercise.task = value.to_owned(),
        "task" => return Err("an exercise has one `task:` line".into()),
        "hint" => {
            exercise.hints.push(value.to_owned());
            exercise.hint_lines.push(line);
        }
        other => {
            return Err(format!(
                "unknown key `{other}:` in an exercise block: it holds `task:` and `hint:` lines"
            ));
        }
    }
    Ok(())
}

/// Checks a finished block: a task and at least one hint.
pub fn finish(exercise: &ExerciseText) -> Result<(), String> {
    if exercise.task.is_empty() {
        return Err(format!("exercise `{}` has no `task:` line", exercise.id));
    }
    if exercise.hints.is_empty() {
        return Err(format!("exercise `{}` has no `hint:` line", exercise.id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain() {
        assert!(is_valid_id("map-anonymous"));
        assert!(is_valid_id("give-back2"));
        for bad in ["", "Map", "1st", "a--b", "a-", "a_b", "a b"] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn body_lines() {
        let mut e = ExerciseText {
            id: "x".into(),
            line: 1,
            task: String::new(),
            hints: vec![],
            hint_lines: vec![],
        };
        assert!(finish(&e).is_err());
        add_line(&mut e, "task: do it", 7).unwrap();
        assert!(add_line(&mut e, "task: again", 7).is_err());
        assert!(add_line(&mut e, "tip: no", 7).is_err());
        assert!(add_line(&mut e, "no colon", 7).is_err());
        assert!(add_line(&mut e, "hint:", 7).is_err());
        assert!(finish(&e).is_err());
        add_line(&mut e, "hint: mmap(2)", 7).unwrap();
        finish(&e).unwrap();
        assert_eq!(e.hints, ["mmap(2)"]);
        assert_eq!(e.hint_lines, [7]);
        assert!(parse_id(&["id=a", "id=b"]).is_err());
        assert!(parse_id(&["step=a"]).is_err());
        assert_eq!(parse_id(&["id=a-b"]).unwrap(), "a-b");
    }
}
