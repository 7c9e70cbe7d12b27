//! Stable sorting compiled once per element type.
//!
//! The standard library's stable sort is compiled again for every comparator,
//! and every closure is a type of its own: each `sort_by` call site costs
//! about 5 KB of WebAssembly. Sorting through a `&dyn Fn` comparator compiles
//! the sort once for each element type; the order is the same (a stable sort
//! by the same comparison).

use core::cmp::Ordering;

/// `v.sort_by(cmp)`: stable, through one comparator type.
pub fn sort_by<T>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> Ordering) {
    v.sort_by(|a, b| cmp(a, b));
}

/// Indices `0..n` in decreasing order of `scores[i]` (`total_cmp`), ties in
/// index order.
pub fn by_score_desc(scores: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    sort_by(&mut order, &|&a, &b| {
        scores[b as usize].total_cmp(&scores[a as usize])
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_the_standard_stable_sort_does() {
        let mut v: Vec<(u8, u8)> = (0..40u8).map(|i| (i % 5 * 3 % 5, i)).collect();
        let mut w = v.clone();
        sort_by(&mut v, &|a, b| a.0.cmp(&b.0));
        w.sort_by_key(|x| x.0);
        assert_eq!(v, w);
        assert_eq!(by_score_desc(&[0.5, 2.0, 0.5, -1.0]), vec![1, 0, 2, 3]);
    }
}
