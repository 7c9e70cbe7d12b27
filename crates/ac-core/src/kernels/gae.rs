//! Generalised advantage estimation (Schulman et al. 2016) over a T x B rollout.

/// `rewards`, `values`, `dones` are T x B row-major (row t = step t of every slot);
/// `dones[t][b] = 1` when slot b's episode ended at step t. `last_values` is
/// V(s_T). Returns (advantages, returns), both T x B.
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[u8],
    last_values: &[f32],
    gamma: f32,
    lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let b = last_values.len();
    let t_len = rewards.len() / b.max(1);
    let mut adv = vec![0f32; rewards.len()];
    let mut running = vec![0f32; b];
    for t in (0..t_len).rev() {
        for s in 0..b {
            let i = t * b + s;
            let not_done = 1.0 - dones[i] as f32;
            let next_v = if t + 1 == t_len {
                last_values[s]
            } else {
                values[i + b]
            };
            // delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t)
            let delta = rewards[i] + gamma * next_v * not_done - values[i];
            // A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
            running[s] = delta + gamma * lambda * not_done * running[s];
            adv[i] = running[s];
        }
    }
    let ret = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, ret)
}

/// Shifts and scales `adv` to mean 0 and standard deviation 1 (left as is
/// when it has fewer than two entries).
pub fn standardize(adv: &mut [f32]) {
    if adv.len() < 2 {
        return;
    }
    let n = adv.len() as f32;
    let mean = adv.iter().sum::<f32>() / n;
    let var = adv.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / n;
    let sd = libm::sqrtf(var) + 1e-8;
    adv.iter_mut().for_each(|a| *a = (*a - mean) / sd);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_trajectory_computed_by_hand() {
        // one slot, three steps, the episode ends at step 1, then a new one starts
        let r = [1.0, 2.0, 3.0];
        let v = [0.5, 1.0, 1.5];
        let d = [0u8, 1, 0];
        let last = [2.0];
        let (g, l) = (0.9f32, 0.8f32);
        let (adv, ret) = gae(&r, &v, &d, &last, g, l);
        // step 2: delta = 3 + 0.9*2 - 1.5 = 3.3; A2 = 3.3
        // step 1: terminal: delta = 2 - 1 = 1; A1 = 1
        // step 0: delta = 1 + 0.9*1.0 - 0.5 = 1.4; A0 = 1.4 + 0.72 * 1 = 2.12
        let expect = [2.12f32, 1.0, 3.3];
        for (a, e) in adv.iter().zip(expect) {
            assert!((a - e).abs() < 1e-5, "{adv:?}");
        }
        assert!((ret[0] - 2.62).abs() < 1e-5 && (ret[2] - 4.8).abs() < 1e-5);
    }

    #[test]
    fn lambda_one_is_discounted_return_minus_value() {
        let r = [1.0, 1.0, 1.0, 1.0];
        let v = [0.0; 4];
        let d = [0u8; 4];
        let (adv, _) = gae(&r, &v, &d, &[0.0], 0.5, 1.0);
        assert!((adv[0] - 1.875).abs() < 1e-6);
    }

    #[test]
    fn standardize_gives_mean_zero_unit_sd() {
        let mut a = [1.0, 2.0, 3.0, 6.0];
        standardize(&mut a);
        let mean: f32 = a.iter().sum::<f32>() / 4.0;
        let var: f32 = a.iter().map(|x| x * x).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4, "{a:?}");
    }

    #[test]
    fn slots_are_independent() {
        // two slots interleaved: row t holds [slot0, slot1]
        let r = [1.0, 0.0, 1.0, 0.0];
        let v = [0.0; 4];
        let d = [0u8; 4];
        let (adv, _) = gae(&r, &v, &d, &[0.0, 10.0], 1.0, 1.0);
        assert_eq!(adv, vec![2.0, 10.0, 1.0, 10.0]);
    }
}
