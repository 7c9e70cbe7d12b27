//! Training's hot loop on one thread allocates nothing once its buffers have
//! grown: a rollout's steps (`act_recorded`) and the update that follows
//! (`update_recorded`), counted by a global allocator.

use ialp_ac_core::{AcBackend, AdamConfig, LossConfig, NdarrayNet, NetConfig, UpdateBatch};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn a_warm_rollout_and_update_allocate_nothing_on_one_thread() {
    let (b, t, n_items, feat, in_dim) = (64, 8, 500, 26, 80);
    let features: Vec<f32> = (0..n_items * feat)
        .map(|i| ((i * 37 % 101) as f32) / 101.0)
        .collect();
    let mut net = NdarrayNet::new(
        NetConfig::default(),
        in_dim,
        Arc::new(features),
        n_items,
        AdamConfig::default(),
        1,
    )
    .unwrap();
    let obs: Vec<f32> = (0..b * t * in_dim)
        .map(|i| ((i * 53 % 97) as f32) / 97.0 - 0.5)
        .collect();
    let uniforms: Vec<f32> = (0..b).map(|i| (i as f32 + 0.5) / b as f32).collect();
    let (mut actions, mut values) = (vec![0u32; b * t], vec![0f32; b * t]);
    let advantages: Vec<f32> = (0..b * t).map(|i| (i % 7) as f32 - 3.0).collect();
    let returns: Vec<f32> = (0..b * t).map(|i| (i % 5) as f32 / 5.0).collect();
    let loss = LossConfig::default();
    let mut cycle = |net: &mut NdarrayNet| {
        for step in 0..t {
            let rows = step * b..(step + 1) * b;
            let view = ndarray::ArrayView2::from_shape(
                (b, in_dim),
                &obs[rows.start * in_dim..rows.end * in_dim],
            )
            .unwrap();
            net.act_recorded(
                view,
                &uniforms,
                &mut actions[rows.clone()],
                &mut values[rows],
            );
        }
        let batch = UpdateBatch {
            obs: &obs,
            actions: &actions,
            advantages: &advantages,
            returns: &returns,
        };
        net.update_recorded(&batch, &loss)
    };
    for _ in 0..3 {
        cycle(&mut net);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..3 {
        assert!(cycle(&mut net).total.is_finite());
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        0,
        "allocations in 3 warm rollouts and updates"
    );
    // the count is live: one more buffer is seen
    std::hint::black_box(vec![0u8; 64]);
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > after);
}
