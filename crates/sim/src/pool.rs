//! A persistent pool of worker threads for stepping large batches: the threads
//! are started once and parked on a condition variable between calls, so a step
//! pays a wake-up, not a thread spawn. Not built for `wasm32` (no threads there).
#![cfg(not(target_arch = "wasm32"))]

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker watches for the next run before it parks: waking a
/// parked thread costs tens of microseconds (up to ~100 on a busy VM), as much
/// as a small task; runs often follow each other closely (a training update's
/// products, a rollout's steps).
const SPIN: Duration = Duration::from_micros(50);

/// A task body shared with the workers for the length of one [`ThreadPool::run`].
type Task = &'static (dyn Fn(usize) + Sync);

#[derive(Default)]
struct State {
    task: Option<Task>,
    n_tasks: usize,
    /// Index of the next task nobody has claimed yet.
    next: usize,
    /// Tasks claimed or unclaimed that have not finished.
    pending: usize,
    panic: Option<Box<dyn std::any::Any + Send>>,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped when a run posts its tasks; idle workers watch it before parking.
    posted: AtomicU64,
    /// Signalled when tasks are posted (and at shutdown).
    work: Condvar,
    /// Signalled when the last task of a run finishes.
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A task panic is caught outside the lock, so the mutex is never poisoned
        // while holding inconsistent state; recover the guard if it ever is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims the next task of the current run, if any is left.
    fn claim(state: &mut State) -> Option<(Task, usize)> {
        let task = state.task?;
        if state.next >= state.n_tasks {
            return None;
        }
        state.next += 1;
        Some((task, state.next - 1))
    }

    /// Runs a claimed task and records that it finished.
    fn execute(&self, task: Task, i: usize) {
        let result = panic::catch_unwind(AssertUnwindSafe(|| task(i)));
        let mut st = self.lock();
        if let Err(p) = result {
            st.panic.get_or_insert(p);
        }
        st.pending -= 1;
        if st.pending == 0 {
            self.done.notify_all();
        }
    }
}

/// `threads - 1` parked workers; the calling thread is the last one.
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// A pool that runs tasks on `threads` threads in all (the caller included).
    pub fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            posted: AtomicU64::new(0),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        // A thread that cannot be started leaves fewer workers; results do not
        // depend on how many there are.
        let workers = (1..threads.max(1))
            .map_while(|k| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("ialp-sim-{k}"))
                    .spawn(move || worker(&shared))
                    .ok()
            })
            .collect();
        ThreadPool { shared, workers }
    }

    /// Threads that run tasks, the caller included.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Calls `f(i)` for every `i` in `0..n_tasks`, spread over the pool and the
    /// calling thread, and returns once every call has returned. A panic in a
    /// task is re-raised here after the others finish.
    pub fn run(&mut self, n_tasks: usize, f: &(dyn Fn(usize) + Sync)) {
        if n_tasks == 0 {
            return;
        }
        // SAFETY: the workers only reach `f` through `State::task`, and only for
        // task indices claimed below `n_tasks`; `&mut self` rules out a second run
        // overwriting `task` meanwhile. This function does not return
        // (nor unwind: task panics are caught) before `pending` is 0, i.e. before
        // every claimed call has returned, and it clears `task` under the lock
        // before returning; so no worker uses `f` after the borrow ends.
        let task: Task = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Task>(f) };
        {
            let mut st = self.shared.lock();
            st.task = Some(task);
            st.n_tasks = n_tasks;
            st.next = 0;
            st.pending = n_tasks;
        }
        self.shared.posted.fetch_add(1, Ordering::Release);
        self.shared.work.notify_all();
        let mut st = self.shared.lock();
        loop {
            if let Some((task, i)) = Shared::claim(&mut st) {
                drop(st);
                self.shared.execute(task, i);
                st = self.shared.lock();
            } else if st.pending > 0 {
                st = self.shared.done.wait(st).unwrap_or_else(|e| e.into_inner());
            } else {
                break;
            }
        }
        st.task = None;
        let panic = st.panic.take();
        drop(st);
        if let Some(p) = panic {
            panic::resume_unwind(p);
        }
    }

    /// Calls `f(i, &mut items[i])` for every item, spread over the pool.
    pub fn for_each_mut<T: Send>(&mut self, items: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
        // Each task locks only its own cell, so the locks are never contended;
        // they let shared tasks hand out `&mut` without unsafe code.
        let cells: Vec<Mutex<&mut T>> = items.iter_mut().map(Mutex::new).collect();
        self.run(cells.len(), &|i| {
            let mut item = cells[i].lock().unwrap_or_else(|e| e.into_inner());
            f(i, &mut item)
        });
    }
}

fn worker(shared: &Shared) {
    let mut st = shared.lock();
    // whether this thread has watched for a run since it last found no task
    let mut spun = false;
    loop {
        if st.shutdown {
            return;
        }
        if let Some((task, i)) = Shared::claim(&mut st) {
            drop(st);
            shared.execute(task, i);
            spun = false;
            st = shared.lock();
        } else if spun {
            // no run came while watching: park. Tasks are posted under the
            // lock held here, so a run posted after this check wakes the wait.
            st = shared.work.wait(st).unwrap_or_else(|e| e.into_inner());
            spun = false;
        } else {
            let seen = shared.posted.load(Ordering::Acquire);
            drop(st);
            let start = Instant::now();
            while shared.posted.load(Ordering::Acquire) == seen && start.elapsed() < SPIN {
                for _ in 0..64 {
                    std::hint::spin_loop();
                }
            }
            spun = true;
            st = shared.lock();
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_task_runs_once_on_every_call() {
        let mut pool = ThreadPool::new(3);
        assert_eq!(pool.threads(), 3);
        for n in [0, 1, 2, 3, 7, 64] {
            let mut hits = vec![0u32; n];
            pool.for_each_mut(&mut hits, |i, h| *h += i as u32 + 1);
            assert_eq!(hits, (1..=n as u32).collect::<Vec<_>>());
        }
    }

    #[test]
    fn work_is_spread_over_threads() {
        let mut pool = ThreadPool::new(2);
        let ids = Mutex::new(std::collections::HashSet::new());
        let started = AtomicUsize::new(0);
        pool.run(2, &|_| {
            started.fetch_add(1, Ordering::SeqCst);
            // wait until both tasks are running: only possible on two threads
            while started.load(Ordering::SeqCst) < 2 {
                std::thread::yield_now();
            }
            ids.lock().unwrap().insert(std::thread::current().id());
        });
        assert_eq!(ids.into_inner().unwrap().len(), 2);
    }

    #[test]
    fn a_task_panic_reaches_the_caller_and_the_pool_lives_on() {
        let mut pool = ThreadPool::new(2);
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.run(4, &|i| assert!(i != 2, "task 2 fails"));
        }));
        assert!(r.is_err());
        let count = AtomicUsize::new(0);
        pool.run(5, &|_| {
            count.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(count.load(Ordering::SeqCst), 5);
    }
}
