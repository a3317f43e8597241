//! What the calling thread is doing for obstore, in one thread-local that the HTTP service reads
//! once per request: the lane it drives and the observed operation whose future it polls.
//!
//! The pointers are untyped here, so that this module depends on neither of their owners: each
//! owner stores and reads back its own type (`lane::Lane`, `observe::Scope`).

use std::cell::Cell;

/// The lane and the operation scope of this thread (null when none).
#[derive(Clone, Copy)]
pub(crate) struct Polling {
    /// The `Lane` this thread is driving (see `lane::block_on`).
    pub lane: *const (),
    /// The `Scope` of the observed operation being polled (see `observe::Scoped`).
    pub scope: *const (),
}

thread_local! {
    static POLLING: Cell<Polling> = const {
        Cell::new(Polling {
            lane: std::ptr::null(),
            scope: std::ptr::null(),
        })
    };
}

/// What this thread is polling now.
pub(crate) fn current() -> Polling {
    POLLING.with(Cell::get)
}

/// Sets one field of this thread's state; returns its value before.
fn replace(field: fn(&mut Polling) -> &mut *const (), value: *const ()) -> *const () {
    POLLING.with(|polling| {
        let mut now = polling.get();
        let before = std::mem::replace(field(&mut now), value);
        polling.set(now);
        before
    })
}

/// Marks this thread as driving `lane` (null: none); returns the lane it drove before.
pub(crate) fn set_lane(lane: *const ()) -> *const () {
    replace(|polling| &mut polling.lane, lane)
}

/// Marks this thread as polling inside `scope` (null: none); returns the scope before.
pub(crate) fn set_scope(scope: *const ()) -> *const () {
    replace(|polling| &mut polling.scope, scope)
}
