//! Which user the calls on this thread work for, while a per-user operation (recall, recent)
//! runs: a PostgreSQL read connection is then restricted to that user's rows by row-level
//! security (`memorable.user_key`, see the schema), so a query that asked for another
//! user's rows by mistake finds none. A directory store needs nothing: every query filters
//! by user already, and the file is the application's alone.

use std::cell::Cell;

use super::layout::UserKey;

thread_local! {
    static USER: Cell<Option<UserKey>> = const { Cell::new(None) };
}

/// The user of this thread's store reads until dropped (scopes nest).
pub(crate) struct UserScope {
    previous: Option<UserKey>,
}

/// Restrict this thread's store reads to `user_key` until the returned guard drops.
pub(crate) fn for_user(user_key: UserKey) -> UserScope {
    UserScope { previous: USER.replace(Some(user_key)) }
}

impl Drop for UserScope {
    fn drop(&mut self) {
        USER.set(self.previous);
    }
}

/// The user this thread's reads are restricted to (`None`: store-wide).
pub(crate) fn current() -> Option<UserKey> {
    USER.get()
}
