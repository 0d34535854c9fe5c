//! Where password hashes are computed: a few dedicated threads, each owning ONE argon2
//! memory area (19 MiB at the OWASP parameters) that it reuses for every hash. On tokio's
//! blocking pool every hash allocated its own 19 MiB, and each blocking thread's allocator
//! arena kept it: the auth function's RSS climbed past 100 MiB after a few dozen sign-ins.
//! Here memory is bounded by `workers × 19 MiB`, allocated on the first hash (functions
//! that never hash never pay it).
//!
//! Workers: `PORTAL_HASH_WORKERS`, else 1 on Lambda (a 512 MB function has about a third of
//! a vCPU: a second hashing thread would only share it) and up to 2 elsewhere.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::Block;

use crate::config::Runtime;

/// One argon2 memory area, kept by a worker between hashes.
pub type Memory = Vec<Block>;

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// How many hashing threads a process runs.
pub fn workers(runtime: &Runtime) -> usize {
    if let Some(n) = runtime.hash_workers {
        return n;
    }
    if runtime.on_lambda() {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

/// A set of hashing threads and the queue they take jobs from.
pub struct Pool {
    jobs: mpsc::Sender<Job>,
}

impl Pool {
    /// Starts `workers` threads (their memory is allocated by their first job).
    pub fn start(workers: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = next else { return };
                        // A panicking job drops its answer channel (its caller sees it);
                        // the worker and its memory stay.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
                    }
                })
                .expect("a password-hashing thread starts");
        }
        Self { jobs }
    }

    /// Runs `work` on one of the threads with that thread's memory area, and waits for it
    /// without holding an async worker.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> T {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = answer.send(work(memory));
        });
        self.jobs
            .send(job)
            .expect("the password-hashing threads run as long as their pool");
        answered.await.expect("a password-hashing job answers")
    }
}

/// [`Pool::run`] on the process's pool ([`workers`] threads, started on first use).
pub async fn run<T: Send + 'static>(work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> T {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::start(workers(&Runtime::from_env())))
        .run(work)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_reuse_their_threads_memory_and_survive_a_panic() {
        let pool = Arc::new(Pool::start(1));
        let first = pool
            .run(|memory| {
                memory.resize(8, Block::default());
                memory.as_ptr() as usize
            })
            .await;
        let panicking = pool.clone();
        let panicked = tokio::spawn(async move {
            panicking
                .run(|_: &mut Memory| -> usize { panic!("boom") })
                .await
        })
        .await;
        assert!(panicked.is_err(), "the caller of a panicking job sees it");
        // The same thread answers, with the same area, not allocated again.
        let later = pool
            .run(|memory| (memory.len(), memory.as_ptr() as usize))
            .await;
        assert_eq!(later, (8, first));
    }
}
