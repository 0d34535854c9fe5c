//! The memory allocator of every binary that links this crate (the functions, `portal-local`,
//! the CLI, the tests): mimalloc. glibc's malloc and free were a sixth of the CPU of a
//! get-session; with mimalloc the API process spends about a quarter less per request (see
//! docs/DECISIONS.md, "Cold start, CPU and memory per invocation").
//!
//! Out of the box mimalloc keeps freed memory for a second and commits its arenas eagerly:
//! the auth function's resident set after 1,000 sign-ins, 4 at once, went from 31 to 48 MiB.
//! Two of its options give memory back at once instead, which keeps the resident set where
//! glibc had it at no measurable CPU cost: `MIMALLOC_ARENA_EAGER_COMMIT=0` and
//! `MIMALLOC_PURGE_DELAY=0`. mimalloc reads them when the process starts, before `main` could
//! set them, so they are ENVIRONMENT variables: the template gives them to every function,
//! `.cargo/config.toml` to everything cargo runs (`portal-local`, the tests).

use libmimalloc_sys::{mi_option_get, mi_option_t};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Option numbers of the bundled mimalloc 3 (`mi_option_e` in its mimalloc.h); the Rust
// bindings name only the older ones.
const ARENA_EAGER_COMMIT: mi_option_t = 4;
const PURGE_DELAY: mi_option_t = 15;

/// The options as mimalloc holds them: (arena eager commit, purge delay in ms).
pub fn options() -> (i64, i64) {
    // SAFETY: reading an option takes no pointers.
    unsafe {
        (
            mi_option_get(ARENA_EAGER_COMMIT) as i64,
            mi_option_get(PURGE_DELAY) as i64,
        )
    }
}

#[cfg(test)]
mod tests {
    /// What cargo runs gets the variables (`.cargo/config.toml`), and the option numbers
    /// name the intended options.
    #[test]
    fn memory_goes_back_at_once() {
        assert_eq!(std::env::var("MIMALLOC_PURGE_DELAY").as_deref(), Ok("0"));
        assert_eq!(super::options(), (0, 0));
    }
}
