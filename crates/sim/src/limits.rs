//! The stated limits on sizes that arrive from files and arguments.
//!
//! Every size read from an artefact header or passed as an argument is checked
//! against one of these (and, for artefacts, against the bytes present) before
//! anything is allocated: a failed allocation aborts the process, which no
//! `catch_unwind` can turn into an error. The README's reliability section and
//! `docs/artefacts.md` list them.

pub use crate::batch::{MAX_BATCH, MAX_HISTORY, MAX_THREADS};

/// Largest artefact (policy, reward model, user model) any reader accepts: 1 GiB.
pub const MAX_ARTEFACT_BYTES: usize = 1 << 30;
/// Largest JSON header inside an artefact: 16 MiB.
pub const MAX_HEADER_BYTES: usize = 16 << 20;
/// Most parameters (f32 values) of one network: 2^27 (512 MiB, plus Adam's two moments).
pub const MAX_PARAMS: usize = 1 << 27;
/// Widest hidden layer or embedding of a network.
pub const MAX_WIDTH: usize = 1 << 14;
/// Most hidden layers of a network.
pub const MAX_DEPTH: usize = 64;
/// Most episodes one training run or evaluation plays.
pub const MAX_EPISODES: usize = 10_000_000;
/// Most preference requests (users x states per user) one call asks for.
pub const MAX_REQUESTS: usize = 1_000_000;
/// Most candidates in one preference request.
pub const MAX_CANDIDATES: usize = 1024;
/// Most epochs of one fit (reward model, user model, pre-training).
pub const MAX_EPOCHS: usize = 100_000;
/// Most transitions one pre-training epoch or minibatch samples.
pub const MAX_TRANSITIONS: usize = 1 << 24;
/// Most values one pass of a network over a batch may hold (rows times the
/// widths of its layers, or rows times the items scored): 2^29, 2 GiB of f32.
pub const MAX_ACTIVATIONS: usize = 1 << 29;

use crate::error::{Error, Result};

/// Fails unless `value` lies in `[lo, hi]`; the error names `what` and the range.
pub fn check_int(what: &str, value: usize, lo: usize, hi: usize) -> Result<()> {
    if value < lo || value > hi {
        return Err(Error::invalid(
            what,
            &format!("an integer in [{lo}, {hi}]"),
            value,
        ));
    }
    Ok(())
}

/// A JavaScript number that must be an integer id or count in `[0, max]`,
/// as the bindings receive it (an `f64`, so that 2^32 is not silently taken
/// modulo 2^32 and -1 or 1.5 are not silently something else).
pub fn js_int(what: &str, value: f64, max: u32) -> Result<u32> {
    if !(value.is_finite() && value.fract() == 0.0 && value >= 0.0 && value <= max as f64) {
        return Err(Error::new(format!(
            "{what}: expected an integer in [0, {max}], got {}",
            if value.is_nan() {
                "NaN".to_string()
            } else {
                value.to_string()
            }
        )));
    }
    Ok(value as u32)
}

/// `a x b`, or an error naming `what` when it exceeds `max` (or overflows).
pub fn checked_product(what: &str, dims: &[usize], max: usize) -> Result<usize> {
    match dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= max)
    {
        Some(n) => Ok(n),
        None => Err(Error::new(format!(
            "{what}: {} is more than the limit of {max}",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" x ")
        ))),
    }
}

/// Values one pass over `rows` rows of a network with `depth` hidden layers
/// of `hidden` and an output of `out` holds: `rows x (hidden x depth + out)`
/// (None past usize).
pub fn activation_values(rows: usize, hidden: usize, depth: usize, out: usize) -> Option<usize> {
    hidden
        .checked_mul(depth)?
        .checked_add(out)?
        .checked_mul(rows)
}

/// Fails when a pass over `rows` rows (`rows_what` says whose count) of a
/// network with `depth` hidden layers of `hidden` and an output of `out` would
/// hold more than [`MAX_ACTIVATIONS`] values.
pub fn check_activations(
    rows_what: &str,
    rows: usize,
    hidden: usize,
    depth: usize,
    out: usize,
) -> Result<()> {
    if activation_values(rows, hidden, depth, out).is_some_and(|n| n <= MAX_ACTIVATIONS) {
        return Ok(());
    }
    let per_row = activation_values(1, hidden, depth, out);
    Err(Error::new(format!(
        "{rows_what}: {rows} rows of {} values each (hidden {hidden} x depth {depth} + {out}) is more than the limit of {MAX_ACTIVATIONS} values one pass of a network may hold",
        per_row.map_or("more than 2^64".to_string(), |p| p.to_string())
    )))
}

/// Fails when `rows` rows (`rows_what` names whose count) of scores over
/// `n_items` items would be more than [`MAX_ACTIVATIONS`] values.
pub fn check_item_rows(rows_what: &str, rows: usize, n_items: usize) -> Result<()> {
    checked_product(
        &format!("{rows_what} x items"),
        &[rows, n_items],
        MAX_ACTIVATIONS,
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_integers_that_do_not_fit_are_errors() {
        assert_eq!(js_int("user", 7.0, u32::MAX).unwrap(), 7);
        for bad in [4294967296.0, -1.0, 1.5, f64::NAN, f64::INFINITY] {
            let e = js_int("user", bad, u32::MAX).unwrap_err();
            assert!(e.message().starts_with("user: expected an integer"), "{e}");
        }
        assert!(js_int("k", 11.0, 10).is_err());
    }

    #[test]
    fn products_are_checked_without_overflow() {
        assert_eq!(checked_product("x", &[3, 4], 12).unwrap(), 12);
        assert!(checked_product("x", &[3, 5], 12).is_err());
        let e = checked_product("x", &[usize::MAX, 2], usize::MAX).unwrap_err();
        assert!(e.message().contains("limit"), "{e}");
        assert!(check_int("h", 0, 1, 4).is_err() && check_int("h", 4, 1, 4).is_ok());
    }
}
