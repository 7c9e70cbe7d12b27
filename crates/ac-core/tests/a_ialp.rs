//! A-iALP online: fine-tuning a pre-trained policy (ft) and adaptive policy
//! expansion (ap) start better than learning from scratch, and a compromised
//! pre-trained policy loses its weight in ap.

use ialp_ac_core::{train, train_adaptive, train_from, AdaptiveConfig, Policy, TrainConfig};
use ialp_sim::{AnyWorld, EpisodeStat};

fn mean_return(eps: &[EpisodeStat]) -> f32 {
    eps.iter().map(|e| e.total_reward).sum::<f32>() / eps.len() as f32
}

fn setup() -> (AnyWorld, Policy) {
    let cfg = TrainConfig {
        episodes: 3000,
        seed: 1,
        ..Default::default()
    };
    let world = AnyWorld::build(&cfg.env, None, None).unwrap();
    let pi0 = train(&cfg, &world, &mut |_| true).unwrap().policy;
    (world, pi0)
}

/// The same policy with its state tower's output and item biases negated: it
/// now prefers what users like least.
fn compromised(p: &Policy) -> Policy {
    let mut params = p.params();
    let last = format!("actor.{}.", p.meta.net.depth);
    for t in &mut params.tensors {
        if t.name.starts_with(&last) || t.name == "item.bias" {
            t.data.iter_mut().for_each(|x| *x = -*x);
        }
    }
    Policy::new(p.meta.clone(), p.encoder.clone(), params).unwrap()
}

#[test]
fn pretrained_starts_beat_scratch_and_a_bad_start_is_dropped() {
    let (world, pi0) = setup();
    let online = TrainConfig {
        episodes: 800,
        seed: 9,
        ..Default::default()
    };
    let first = |eps: &[EpisodeStat]| mean_return(&eps[..200]);
    let scratch = train(&online, &world, &mut |_| true).unwrap();
    let ft = train_from(&online, &world, Some(&pi0), &mut |_| true).unwrap();
    // pi_0 here is a weak policy (3000 online episodes): its proposals as
    // trained (temperature 1) carry what it knows; its top item alone (the
    // default, for pi_0s pre-trained to convergence) repeats categories more
    // often, and A-iALP_ap still keeps users above learning from scratch
    let sampled = AdaptiveConfig {
        pretrained_temperature: 1.0,
        ..Default::default()
    };
    let ap = train_adaptive(&online, &sampled, &world, &pi0, None, &mut |_| true).unwrap();
    let greedy = train_adaptive(
        &online,
        &AdaptiveConfig::default(),
        &world,
        &pi0,
        None,
        &mut |_| true,
    )
    .unwrap();
    let (s, f, a, g) = (
        first(&scratch.episodes),
        first(&ft.episodes),
        first(&ap.outcome.episodes),
        first(&greedy.outcome.episodes),
    );
    eprintln!("first 200 episodes: scratch {s:.2}  ft {f:.2}  ap {a:.2}  ap (greedy pi_0) {g:.2}");
    assert!(f > 1.3 * s, "ft {f} vs scratch {s}");
    assert!(a > 1.3 * s, "ap {a} vs scratch {s}");
    assert!(g > s, "ap with a greedy pi_0 {g} vs scratch {s}");
    // a good pi_0 keeps most of the say
    let early = ap.trace[..5]
        .iter()
        .map(|t| t.share_pretrained)
        .sum::<f32>()
        / 5.0;
    assert!(early > 0.5, "share of pi_0 early: {early}");

    let bad = compromised(&pi0);
    let ap_bad = train_adaptive(
        &online,
        &AdaptiveConfig::default(),
        &world,
        &bad,
        None,
        &mut |_| true,
    )
    .unwrap();
    let tr = &ap_bad.trace;
    let last = tr.last().unwrap();
    eprintln!(
        "compromised pi_0: first share {:.2}, last share {:.2}, w0 {:.2}, w1 {:.2}",
        tr[0].share_pretrained, last.share_pretrained, last.weight_pretrained, last.weight_online
    );
    assert!(last.weight_pretrained < last.weight_online);
    assert!(last.share_pretrained < 0.2, "{last:?}");
    assert!(last.share_pretrained < tr[0].share_pretrained);
}
