//! Running code whose panic is expected and caught: the panic is kept, with its message and
//! place, instead of being printed by the default hook as well. That hook words the panic
//! for a person, and under `RUST_BACKTRACE=1` it resolves a backtrace first, which in an
//! unoptimised binary takes about a tenth of a second: the homework words a student's panic
//! itself, and the tests that expect one only read its message.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// A panic that [`caught`] kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caught {
    pub message: String,
    /// `file:line:column`, empty if the panic said nowhere.
    pub at: String,
}

thread_local! {
    /// Set while this thread runs code under [`caught`]: its panics are kept for it, not
    /// printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    static KEPT: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Keeps the panics of threads inside [`caught`] and hands every other panic to the hook
/// that was there before, so they print as they always did.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                return previous(info);
            }
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".into());
            let at = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            KEPT.with(|kept| *kept.borrow_mut() = Some(Caught { message, at }));
        }));
    });
}

/// Runs `f` on this thread; a panic in it comes back as the error, unprinted.
pub fn caught<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    install_hook();
    let was = CATCHING.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(was));
    result.map_err(|_| {
        KEPT.with(|kept| kept.borrow_mut().take())
            .unwrap_or_else(|| Caught {
                message: "(unknown panic)".into(),
                at: String::new(),
            })
    })
}

/// For the tests that expect a panic: `f` (doing `what`) must panic, saying `expected`.
#[cfg(test)]
pub(crate) fn assert_panics<T>(what: &str, f: impl FnOnce() -> T, expected: &str) {
    match caught(f) {
        Ok(_) => panic!("{what}: no panic; expected one saying `{expected}`"),
        Err(caught) => assert!(
            caught.message.contains(expected),
            "{what}: the panic says `{}` ({}), not `{expected}`",
            caught.message,
            caught.at
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_kept_with_its_message_and_place() {
        let err = caught(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(err.message, "boom 7");
        assert!(err.at.starts_with(file!()), "{}", err.at);
        assert_eq!(caught(|| 5), Ok(5));
    }

    #[test]
    fn catching_nests_and_ends_with_the_call() {
        let outer = caught(|| {
            let inner = caught(|| panic!("inner"));
            assert_eq!(inner.unwrap_err().message, "inner");
            assert!(CATCHING.with(Cell::get), "still inside the outer call");
            panic!("outer")
        });
        assert_eq!(outer.unwrap_err().message, "outer");
        assert!(!CATCHING.with(Cell::get));
    }
}
