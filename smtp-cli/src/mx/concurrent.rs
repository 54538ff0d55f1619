//! The domains of one run delivered side by side, at most [`DOMAINS_AT_ONCE`] at a
//! time, their results kept in job order (the output follows `--to`, whatever finishes
//! first). One domain's slow or silent MX hosts then no longer hold up the others'.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many domains' deliveries run at once: enough that a few slow domains do not
/// stall a run, few enough that a long `--to` list opens no flood of connections (each
/// domain holds at most one SMTP session at a time).
pub(super) const DOMAINS_AT_ONCE: usize = 8;

/// `f` on every item from up to `limit` scoped threads; the outputs in item order.
pub(super) fn threads<T: Sync, O: Send>(
    items: &[T],
    limit: usize,
    f: impl Fn(&T) -> O + Sync,
) -> Vec<O> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, O)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..limit.clamp(1, items.len().max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    in_order(&mut done)
}

/// Every future run to its end, up to `limit` of them polled at once on the calling
/// task (no spawning: they may borrow); the outputs in the iterator's order.
pub(super) async fn joined<F: Future>(
    futures: impl IntoIterator<Item = F>,
    limit: usize,
) -> Vec<F::Output> {
    use futures_util::StreamExt;
    futures_util::stream::iter(futures)
        .buffered(limit.max(1))
        .collect()
        .await
}

fn in_order<O>(done: &mut Vec<(usize, O)>) -> Vec<O> {
    done.sort_by_key(|(i, _)| *i);
    done.drain(..).map(|(_, out)| out).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Poll;
    use std::time::{Duration, Instant};

    /// Each item waits (up to 10 s) until `limit` of them have started: it says
    /// whether they did, which only runs side by side achieve (one after another,
    /// each would wait alone and give up). Outputs come back in item order.
    #[test]
    fn threads_run_up_to_the_limit_at_once_and_keep_the_order() {
        let started = AtomicUsize::new(0);
        let items: Vec<usize> = (0..4).collect();
        let out = threads(&items, 4, |&i| {
            started.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(10);
            while started.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            (i, started.load(Ordering::SeqCst) == 4)
        });
        assert_eq!(out, [(0, true), (1, true), (2, true), (3, true)]);
        assert_eq!(threads(&[] as &[usize], 4, |&i| i), Vec::<usize>::new());
    }

    /// A future that yields until `started` reaches `n` (or it gave up after many
    /// polls), counting itself in `running` meanwhile; its output is `(i, all
    /// started)`.
    async fn waiter(
        i: usize,
        n: usize,
        started: Arc<AtomicUsize>,
        running: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    ) -> (usize, bool) {
        started.fetch_add(1, Ordering::SeqCst);
        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        let mut polls = 0;
        std::future::poll_fn(|cx| {
            polls += 1;
            if started.load(Ordering::SeqCst) < n && polls < 10_000 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(())
        })
        .await;
        running.fetch_sub(1, Ordering::SeqCst);
        (i, started.load(Ordering::SeqCst) >= n)
    }

    /// Futures that each wait for the others to have started: all in flight at once
    /// (awaited one after another, each would give up alone); outputs in order.
    #[test]
    fn joined_futures_run_side_by_side_and_keep_the_order() {
        let n = 5;
        let c = || Arc::new(AtomicUsize::new(0));
        let (started, running, most) = (c(), c(), c());
        let futures = (0..n).map(|i| waiter(i, n, started.clone(), running.clone(), most.clone()));
        let out = smol::block_on(joined(futures, n));
        assert_eq!(out, (0..n).map(|i| (i, true)).collect::<Vec<_>>());
    }

    /// At most `limit` at once: with a limit of 2, never more than two in flight, yet
    /// two at once (each pair waits for its partner), and every one done in order.
    #[test]
    fn joined_futures_stay_within_the_limit() {
        let c = || Arc::new(AtomicUsize::new(0));
        let (started, running, most) = (c(), c(), c());
        // Future i waits until i + 1 (rounded up to a pair) have started.
        let futures = (0..6).map(|i| {
            let n = (i / 2 + 1) * 2;
            waiter(i, n, started.clone(), running.clone(), most.clone())
        });
        let out = smol::block_on(joined(futures, 2));
        assert_eq!(out, (0..6).map(|i| (i, true)).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
