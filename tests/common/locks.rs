//! Locks between the tests of one test binary, which `cargo test` runs as threads of one
//! process. (Under `cargo nextest run` each test is its own process and they cost nothing.)
//!
//! The `fork` lock: while a forked child lives, every private page of this process is
//! shared copy-on-write, which changes Pss and Private_*/Shared_* in every other test's
//! mapping. Tests that fork hold it exclusively; tests that read those fields of their own
//! pages hold it shared.
//!
//! These were serial_test's `serial`/`parallel` keys until its locks were measured to stall
//! a waiting test for a whole second now and then (serial_test 4.0.1: the guard notifies the
//! condition variable before it unlocks, so the woken waiter finds the lock still held and
//! sleeps out its 1 s timeout): a std RwLock wakes waiters when it is released.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub struct TestLock(RwLock<()>);

impl TestLock {
    pub const fn new() -> TestLock {
        TestLock(RwLock::new(()))
    }

    /// No other holder while the guard lives. A test that panicked while holding the lock
    /// leaves nothing to repair, so poisoning is ignored.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Other shared holders, but no exclusive one, while the guard lives.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}

pub static FORK: TestLock = TestLock::new();

/// Either guard of the lock, for tests that take the one their subject needs.
pub enum Held {
    Exclusive(RwLockWriteGuard<'static, ()>),
    Shared(RwLockReadGuard<'static, ()>),
}
