//! One blocking job per item (a libvirt call, an SSH wait, a file copy) on scoped threads:
//! the results in order, or the first error.

use anyhow::{anyhow, Result};

pub fn try_each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Result<R> + Sync) -> Result<Vec<R>> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.iter().map(|it| s.spawn(move || f(it))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a worker thread panicked")))).collect()
    })
}
