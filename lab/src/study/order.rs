//! The order a study runs in: blocks, each holding one run of every cell in a seeded random
//! order, so that drift over a long bench (the host warming, a neighbour's load) falls on every
//! cell alike instead of on whichever cell ran last. Shards split that order by position.

use serde::{Deserialize, Serialize};

use crate::scenario::schedule::SplitMix;

/// One run of the study: a cell in a block, at a position of the whole order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// 1-based place in the study's order.
    pub position: u32,
    /// 1-based block: the repeat this run is of its cell.
    pub block: u32,
    /// Index of the cell.
    pub cell: usize,
}

/// Every run of `cells` cells x `repeats` blocks, as `seed` orders them.
pub fn order(cells: usize, repeats: u32, seed: u64) -> Vec<Slot> {
    let mut out = Vec::with_capacity(cells * repeats as usize);
    for block in 1..=repeats {
        let mut rng = SplitMix(block_seed(seed, block));
        let mut idx: Vec<usize> = (0..cells).collect();
        // Fisher-Yates, from the end.
        for i in (1..idx.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            idx.swap(i, j);
        }
        for cell in idx {
            out.push(Slot { position: out.len() as u32 + 1, block, cell });
        }
    }
    out
}

fn block_seed(seed: u64, block: u32) -> u64 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("halab-study/{seed}/{block}").as_bytes());
    h.iter().take(8).fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// A shard `k` of `n` (1-based): every n-th run of the order from the k-th on, so each shard
/// holds runs from every block and the shards together hold each run once.
pub fn shard(order: &[Slot], k: u32, n: u32) -> Vec<Slot> {
    order.iter().filter(|s| (s.position - 1) % n == k - 1).copied().collect()
}

/// `K/N` as the command line writes it, 1 <= K <= N.
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("`{s}` is not a shard: write K/N with 1 <= K <= N, e.g. 1/3");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_a_function_of_the_seed_and_every_block_holds_every_cell_once() {
        let a = order(7, 5, 42);
        assert_eq!(a, order(7, 5, 42), "same seed, same order");
        assert_ne!(a, order(7, 5, 43), "another seed, another order");
        assert_eq!(a.len(), 35);
        for b in 1..=5 {
            let mut cells: Vec<usize> = a.iter().filter(|s| s.block == b).map(|s| s.cell).collect();
            cells.sort();
            assert_eq!(cells, (0..7).collect::<Vec<_>>(), "block {b}");
        }
        // The blocks are not all in one order (a fixed order would give the first cell the
        // cold start every time).
        let firsts: BTreeSet<usize> = (1..=5).map(|b| a.iter().find(|s| s.block == b).unwrap().cell).collect();
        assert!(firsts.len() > 1, "{firsts:?}");
        assert!(a.iter().enumerate().all(|(i, s)| s.position as usize == i + 1));
    }

    use std::collections::BTreeSet;

    #[test]
    fn shards_partition_the_runs_exactly() {
        let all = order(5, 3, 7);
        for n in 1..=4 {
            let mut got: Vec<u32> = (1..=n).flat_map(|k| shard(&all, k, n)).map(|s| s.position).collect();
            got.sort();
            assert_eq!(got, (1..=15).collect::<Vec<_>>(), "{n} shards: each run once");
        }
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
