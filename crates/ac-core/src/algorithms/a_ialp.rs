//! A-iALP_ap: adaptive deployment of a pre-trained policy (policy expansion).
//!
//! The pre-trained policy pi_0 stays frozen; an online policy pi_1 learns with
//! A2C. At every step each proposes an item; the executed one is drawn from a
//! softmax over the proposals' scores
//!   z_k = (beta max(g_t, 0) Q(s, a_k) + kappa (w_k + g_t rho_t [k = 0]) + c / sqrt(1 + n(cat(a_k)))
//!          - lambda V_0(s) quit(s, a_k)) / tau,
//! with Q the reward critic r_phi(s, a) learnt from the LLM's preferences,
//! quit(s, a) 1 when the environment's quit model (the mechanism pre-training's
//! imagined world also steps with) says the user leaves after a (boredom with a
//! category, or the window's mean reward with Q's guess for a while the critic
//! is trusted, g_t > 0), V_0 pi_0's
//! value of the state (what a user who stays would still bring),
//! g_t in [-1, 1] the critic's check (the running correlation of Q with the
//! realised rewards of executed proposals, over `critic_agreement`): a critic
//! that prefers what users dislike loses its say (beta max(g_t, 0)), and the
//! trust in the pi_0 learnt from the same source turns to distrust (g_t rho_t
//! < 0); w_k
//! an exponential moving average of the reward realised by policy k's executed
//! proposals, counting a proposal after which the user left as 0 (a compromised
//! pi_0, or one that bores users, loses weight), and an exploration bonus for
//! categories recommended little so far; rho_t = rho exp(-n0 / N) is the trust
//! in pre-training, fading as pi_0's proposals are executed (n0 of them), so
//! that a pi_0 keeps the say early unless realised rewards contradict it and
//! evidence alone decides later. pi_1 updates on every executed
//! transition. It starts from scratch (policy expansion), or
//! (`online_start` pretrained) as a copy of pi_0 that learns online while the frozen pi_0
//! and the critic stand beside it; the copy inherits the source's errors, so
//! it starts again from scratch, once, when the critic's check says the
//! source contradicts users. (A-iALP_ft is `a2c::train_from`: A2C started
//! from pi_0.)

use crate::a2c::{
    train_from_with, ActionSelector, Progress, StepContext, TrainConfig, TrainOutcome,
};
use crate::policy::{choose_actions, Policy};
use crate::reward_model::RewardModel;
use ialp_sim::{default_quit, AnyWorld, QuitConfig, Result, Rng};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

pub use crate::config::{AdaptiveConfig, OnlineStart, PretrainedProposals};

/// The adaptation, sampled after every update.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AdaptiveTrace {
    pub updates: u64,
    pub env_steps: u64,
    /// w_0, w_1: the moving averages of realised reward.
    pub weight_pretrained: f32,
    pub weight_online: f32,
    /// Share of executed actions proposed by pi_0 during this update.
    pub share_pretrained: f32,
    /// g_t, the critic's measured agreement with users (see the module docs).
    pub critic_agreement: f32,
    /// Times pi_1, copied from pi_0 (`online_start` pretrained), restarted from scratch so far.
    pub online_restarts: u32,
}

/// Whose a proposal is: pi_0's (its top item or its sample, as configured),
/// pi_1's, or pi_0's sample beside its top item (`TopAndSample`). Each has its
/// own average of realised reward, so the better way of using pi_0 wins.
const PI0: u8 = 0;
const PI1: u8 = 1;
const PI0_SAMPLE: u8 = 2;

struct Expansion<'a> {
    cfg: AdaptiveConfig,
    pi0: &'a Policy,
    critic: Option<&'a RewardModel>,
    categories: Vec<u32>,
    shown: Vec<u64>,
    /// Per policy: the moving sum of realised reward and (1 - eta)^n after n
    /// executed proposals, for the bias-corrected average (`weight`).
    weights: [f32; 3],
    decays: [f32; 3],
    /// The environment's quit model, and per user slot what it remembers of
    /// this episode: the last W categories and rewards (a ring at `win_pos`),
    /// how many, and the episode's steps.
    quit: QuitConfig,
    win: Vec<(u32, f32)>,
    win_len: Vec<usize>,
    win_pos: Vec<usize>,
    ep_steps: Vec<usize>,
    chosen: Vec<u8>,
    /// Q of each executed proposal, for the critic's check.
    chosen_q: Vec<f32>,
    critic_check: CriticCheck,
    from_pi0: u64,
    executed_pi0: u64,
    total: u64,
    /// pi_1 started as a copy of pi_0 and has not restarted yet
    inherited: bool,
    restarts: u32,
    trace: Vec<AdaptiveTrace>,
}

impl<'a> Expansion<'a> {
    /// The selector before its first step: no proposal executed, nothing shown.
    fn new(
        cfg: AdaptiveConfig,
        pi0: &'a Policy,
        critic: Option<&'a RewardModel>,
        categories: Vec<u32>,
        n_categories: usize,
        quit: QuitConfig,
    ) -> Self {
        let inherited = cfg.online_start == OnlineStart::Pretrained;
        Expansion {
            cfg,
            pi0,
            critic,
            categories,
            shown: vec![0; n_categories],
            weights: [0.0; 3],
            decays: [1.0; 3],
            quit,
            win: Vec::new(),
            win_len: Vec::new(),
            win_pos: Vec::new(),
            ep_steps: Vec::new(),
            chosen: Vec::new(),
            chosen_q: Vec::new(),
            critic_check: CriticCheck::default(),
            from_pi0: 0,
            executed_pi0: 0,
            total: 0,
            inherited,
            restarts: 0,
            trace: Vec::new(),
        }
    }

    /// w_k: the moving average of policy k's realised reward, bias-corrected
    /// as Adam's moments are (so the first executed proposals count in full
    /// rather than being pulled towards a prior); the initial weight until
    /// policy k has been executed.
    fn weight(&self, k: usize) -> f32 {
        if self.decays[k] >= 1.0 {
            self.cfg.initial_weight
        } else {
            self.weights[k] / (1.0 - self.decays[k])
        }
    }

    /// Whether the quit model ends user slot `i`'s episode after item `a`
    /// with reward `r` (as the environment decides after its step).
    fn quits(&self, i: usize, a: u32, r: f32, window: &mut Vec<f32>) -> bool {
        let w = self.quit.window;
        // before the first step: an empty window, no step taken
        let len = self.win_len.get(i).copied().unwrap_or(0);
        let steps = self.ep_steps.get(i).copied().unwrap_or(0);
        // what stays in the window: the newest min(len, W - 1) entries
        let kept = len.min(w - 1);
        let cat = self.categories[a as usize];
        window.clear();
        let mut same = 1;
        for j in 0..kept {
            let (c, rr) = self.win[i * w + (self.win_pos[i] + w - 1 - j) % w];
            same += (c == cat) as usize;
            window.push(rr);
        }
        window.push(r);
        self.quit
            .should_quit_counted(same, window, kept + 1, steps + 1)
    }
}

impl ActionSelector for Expansion<'_> {
    fn select(
        &mut self,
        ctx: &StepContext,
        logits: &Array2<f32>,
        rng: &mut Rng,
    ) -> Result<Vec<u32>> {
        let (l0, v0) = self.pi0.forward_encoded(ctx.obs)?;
        let np = self.cfg.proposals;
        // per j < np: pi_0's proposal, pi_1's, and with `TopAndSample` pi_0's
        // sample beside its top item; `kinds` says whose each is (PI0, PI1, PI0_SAMPLE)
        let both = self.cfg.pretrained_proposals == PretrainedProposals::TopAndSample;
        let mut proposals = Vec::with_capacity(3 * np);
        let mut kinds = Vec::with_capacity(3 * np);
        let t0 = self.cfg.pretrained_temperature;
        let greedy0 = (t0 == 0.0 || both).then(|| choose_actions(&l0, rng, true));
        // with both, the sample is at t0, or as trained when t0 is 0
        let l0 = if t0 == 0.0 || t0 == 1.0 { l0 } else { l0 / t0 };
        for _ in 0..np {
            proposals.push(match &greedy0 {
                Some(a) => a.clone(),
                None => choose_actions(&l0, rng, false),
            });
            kinds.push(PI0);
            proposals.push(choose_actions(logits, rng, false));
            kinds.push(PI1);
            if both {
                proposals.push(choose_actions(&l0, rng, false));
                kinds.push(PI0_SAMPLE);
            }
        }
        let rows = proposals[0].len();
        let qs: Vec<Vec<f32>> = match self.critic {
            Some(c) => {
                let h = c.encoder.history;
                // r_phi needs one state per scored item: each state once per proposal
                let (hi, hr) = (&ctx.hist_items[..rows * h], &ctx.hist_rewards[..rows * h]);
                proposals
                    .iter()
                    .map(|a| c.score(hi, hr, a))
                    .collect::<Result<_>>()?
            }
            None => vec![vec![0.0; rows]; proposals.len()],
        };
        let cfg = &self.cfg;
        let score = |beta: f32, q: f32, w: f32, cat: u32, shown: &[u64]| {
            (beta * q
                + cfg.weight_scale * w
                + cfg.exploration / libm::sqrtf(1.0 + shown[cat as usize] as f32))
                / cfg.temperature
        };
        self.chosen.clear();
        self.chosen_q.clear();
        // the critic counts as far as its values agree with realised rewards
        // and so does the trust in pre-training, which learnt from the same source
        let g = self.critic_check.trust(cfg.critic_agreement);
        let beta = cfg.critic_scale * g.max(0.0);
        let rho = g * if cfg.trust_steps > 0.0 {
            cfg.prior * libm::expf(-(self.executed_pi0 as f32) / cfg.trust_steps)
        } else {
            cfg.prior
        };
        let mut out = Vec::with_capacity(rows);
        let mut z = vec![0f32; proposals.len()];
        let mut window = Vec::with_capacity(self.quit.window);
        // with two proposals of pi_0's against one of pi_1's, each of pi_0's counts
        // half (ln 2 off its score), so that pi_0 as a whole has the say it has with one
        let share = if both {
            [core::f32::consts::LN_2, 0.0, core::f32::consts::LN_2]
        } else {
            [0.0; 3]
        };
        for i in 0..rows {
            for (c, zc) in z.iter_mut().enumerate() {
                let a = proposals[c][i] as usize;
                let k = kinds[c] as usize;
                let trust = if k == PI1 as usize { 0.0 } else { rho };
                *zc = score(
                    beta,
                    qs[c][i],
                    self.weight(k) + trust,
                    self.categories[a],
                    &self.shown,
                ) - share[k];
                if cfg.quit_foresight > 0.0 {
                    // Q's guess for the reward while the critic is trusted, else
                    // the optimistic bound (rewards lie in [0, 1])
                    let r = if self.critic.is_some() && g > 0.0 {
                        qs[c][i]
                    } else {
                        1.0
                    };
                    if self.quits(i, a as u32, r, &mut window) {
                        *zc -= cfg.quit_foresight * v0[i].max(0.0) / cfg.temperature;
                    }
                }
            }
            // a softmax over every proposal, or with probability epsilon any one
            if cfg.floor > 0.0 && rng.uniform() < cfg.floor {
                let pick = rng.below(z.len() as u32) as usize;
                self.chosen.push(kinds[pick]);
                self.chosen_q.push(qs[pick][i]);
                out.push(proposals[pick][i]);
                continue;
            }
            let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let total: f32 = z.iter().map(|&zc| libm::expf(zc - m)).sum();
            let mut u = rng.uniform() * total;
            let mut pick = z.len() - 1;
            for (c, &zc) in z.iter().enumerate() {
                u -= libm::expf(zc - m);
                if u < 0.0 {
                    pick = c;
                    break;
                }
            }
            self.chosen.push(kinds[pick]);
            self.chosen_q.push(qs[pick][i]);
            out.push(proposals[pick][i]);
        }
        Ok(out)
    }

    fn observe(&mut self, actions: &[u32], rewards: &[f32], dones: &[u8]) {
        let (eta, w) = (self.cfg.weight_rate, self.quit.window);
        if self.win_len.len() != actions.len() {
            self.win = vec![(0, 0.0); actions.len() * w];
            self.win_len = vec![0; actions.len()];
            self.win_pos = vec![0; actions.len()];
            self.ep_steps = vec![0; actions.len()];
        }
        for (i, ((((&k, &q), &a), &r), &d)) in self
            .chosen
            .iter()
            .zip(&self.chosen_q)
            .zip(actions)
            .zip(rewards)
            .zip(dones)
            .enumerate()
        {
            // w_k <- (1 - eta) w_k + eta r', where a proposal after which the user
            // left earns nothing: a policy that pleases and bores loses weight
            let realised = if d == 1 { 0.0 } else { r };
            self.weights[k as usize] = (1.0 - eta) * self.weights[k as usize] + eta * realised;
            self.decays[k as usize] *= 1.0 - eta;
            if self.critic.is_some() {
                self.critic_check.observe(q, realised, eta);
            }
            let cat = self.categories[a as usize];
            self.shown[cat as usize] += 1;
            self.from_pi0 += (k != PI1) as u64;
            self.executed_pi0 += (k != PI1) as u64;
            self.total += 1;
            // the episode as the quit model sees it; a new user after a quit
            if d == 1 {
                (self.win_len[i], self.win_pos[i], self.ep_steps[i]) = (0, 0, 0);
            } else {
                self.win[i * w + self.win_pos[i]] = (cat, r);
                self.win_pos[i] = (self.win_pos[i] + 1) % w;
                self.win_len[i] = (self.win_len[i] + 1).min(w);
                self.ep_steps[i] += 1;
            }
        }
    }

    fn after_update(&mut self, p: &Progress) {
        self.trace.push(AdaptiveTrace {
            updates: p.updates,
            env_steps: p.env_steps,
            // pi_0's better way of proposing, with `TopAndSample`
            weight_pretrained: if self.cfg.pretrained_proposals == PretrainedProposals::TopAndSample
            {
                self.weight(PI0 as usize)
                    .max(self.weight(PI0_SAMPLE as usize))
            } else {
                self.weight(PI0 as usize)
            },
            weight_online: self.weight(PI1 as usize),
            share_pretrained: self.from_pi0 as f32 / self.total.max(1) as f32,
            critic_agreement: if self.critic.is_some() {
                self.critic_check.trust(self.cfg.critic_agreement)
            } else {
                0.0
            },
            online_restarts: self.restarts,
        });
        self.from_pi0 = 0;
        self.total = 0;
    }

    /// A pi_1 copied from pi_0 starts again from scratch once the critic's
    /// check says the source contradicts users (trust -1), measured over at
    /// least one time constant of the moving moments (1 / eta executed steps).
    fn restart_learner(&mut self) -> bool {
        let eta = self.cfg.weight_rate.max(1e-6);
        let measured = self.critic_check.seen as f32 >= 1.0 / eta;
        if self.inherited && measured && self.critic_check.trust(self.cfg.critic_agreement) <= -1.0
        {
            self.inherited = false;
            self.restarts += 1;
            // the fresh pi_1 has no record yet: the copy's realised rewards were not its own
            self.weights[PI1 as usize] = 0.0;
            self.decays[PI1 as usize] = 1.0;
            return true;
        }
        false
    }
}

/// Exponential moving moments of (Q, realised reward) over executed
/// proposals, bias-corrected as Adam's: their correlation says whether the
/// critic ranks as users do. A compromised critic (one that prefers what users
/// dislike) correlates negatively and loses its say.
struct CriticCheck {
    /// E[q], E[r], E[q^2], E[r^2], E[qr]
    m: [f64; 5],
    /// (1 - eta)^t, for the bias correction
    decay: f64,
    seen: u64,
}

impl Default for CriticCheck {
    fn default() -> Self {
        CriticCheck {
            m: [0.0; 5],
            decay: 1.0,
            seen: 0,
        }
    }
}

impl CriticCheck {
    fn observe(&mut self, q: f32, r: f32, eta: f32) {
        let (q, r, eta) = (q as f64, r as f64, eta as f64);
        for (m, x) in self.m.iter_mut().zip([q, r, q * q, r * r, q * r]) {
            *m = (1.0 - eta) * *m + eta * x;
        }
        self.decay *= 1.0 - eta;
        self.seen += 1;
    }

    /// The critic's agreement with users in [-1, 1]: its correlation with
    /// realised rewards over `full` (1 from there on, -1 from -`full` down);
    /// 1 while nothing is measured or with `full` 0 (no check).
    fn trust(&self, full: f32) -> f32 {
        if full <= 0.0 || self.seen < 2 {
            return 1.0;
        }
        let c = 1.0 / (1.0 - self.decay).max(1e-12);
        let [q, r, qq, rr, qr] = self.m.map(|m| m * c);
        let (vq, vr) = (qq - q * q, rr - r * r);
        if vq <= 1e-12 || vr <= 1e-12 {
            return 1.0;
        }
        let corr = (qr - q * r) / (vq * vr).sqrt();
        (corr / full as f64).clamp(-1.0, 1.0) as f32
    }
}

pub struct AdaptiveOutcome {
    /// pi_1, the online policy, and the training episodes of the mixture.
    pub outcome: TrainOutcome,
    pub trace: Vec<AdaptiveTrace>,
}

/// Deploys `pi0` adaptively on `world` for `cfg.episodes` episodes.
pub fn train_adaptive(
    cfg: &TrainConfig,
    adaptive: &AdaptiveConfig,
    world: &AnyWorld,
    pi0: &Policy,
    critic: Option<&RewardModel>,
    progress: &mut dyn FnMut(&Progress) -> bool,
) -> Result<AdaptiveOutcome> {
    adaptive.validate()?;
    // pi_0 (its own widths, from its file) and r_phi pass each step's batch
    let b = cfg.env.batch.batch_size;
    pi0.check_rows("env.batch.batchSize (pi_0)", b)?;
    if let Some(c) = critic {
        c.check_rows("env.batch.batchSize (r_phi)", b)?;
    }
    let w = world.world();
    let categories = (0..w.n_items()).map(|i| w.item_category(i)).collect();
    let quit = cfg.env.quit.resolve(&default_quit(world.env_name()));
    let mut sel = Expansion::new(
        adaptive.clone(),
        pi0,
        critic,
        categories,
        w.n_categories(),
        quit,
    );
    let init = (adaptive.online_start == OnlineStart::Pretrained).then_some(pi0);
    let outcome = train_from_with(cfg, world, init, &mut sel, progress)?;
    Ok(AdaptiveOutcome {
        outcome,
        trace: sel.trace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::StateEncoder;
    use crate::net::NetConfig;
    use crate::policy::PolicyMeta;

    /// An untrained pi_0 over 12 items of 3 categories, history 4.
    fn small_pi0() -> (usize, usize, StateEncoder, Policy) {
        let (h, n) = (4, 12);
        let encoder =
            StateEncoder::new(h, n, (0..n * 2).map(|i| (i % 7) as f32 / 7.0).collect()).unwrap();
        let meta = PolicyMeta {
            env: "test".into(),
            source: String::new(),
            fingerprint: String::new(),
            n_items: n,
            history: h,
            net: NetConfig {
                hidden: 8,
                depth: 1,
                embed_dim: 4,
            },
            training: serde_json::Value::Null,
            created_with: "test".into(),
        };
        let pi0 = Policy::untrained(meta, encoder.clone(), 5).unwrap();
        (h, n, encoder, pi0)
    }

    /// The selector over `n` items of 3 categories (item i of category i mod 3), no critic.
    fn selector(cfg: AdaptiveConfig, pi0: &Policy, n: usize, quit: QuitConfig) -> Expansion<'_> {
        let categories = (0..n as u32).map(|i| i % 3).collect();
        Expansion::new(cfg, pi0, None, categories, 3, quit)
    }

    /// pi_0's say made total: rho 1 for ever, no exploration bonus, a cold softmax.
    fn pi0_decides() -> AdaptiveConfig {
        AdaptiveConfig {
            prior: 1.0,
            trust_steps: 0.0,
            exploration: 0.0,
            temperature: 1e-6,
            ..Default::default()
        }
    }

    /// What `sel` executes for the encoded states `obs` (empty histories of
    /// length h, n items), pi_1 uniform.
    fn select_blank(
        sel: &mut Expansion,
        obs: &[f32],
        h: usize,
        n: usize,
        rng: &mut Rng,
    ) -> Vec<u32> {
        let rows = obs.len() / sel.pi0.encoder.out_dim();
        let (hist_items, hist_rewards, values) =
            (vec![0u32; rows * h], vec![0f32; rows * h], vec![0f32; rows]);
        let ctx = StepContext {
            obs,
            hist_items: &hist_items,
            hist_rewards: &hist_rewards,
            values: &values,
        };
        sel.select(&ctx, &Array2::<f32>::zeros((rows, n)), rng)
            .unwrap()
    }

    /// pi_0 with its say made total (rho 1 for ever, no exploration bonus, a
    /// cold softmax), and what it executes for 64 random states.
    fn executed_by_pi0(temperature: f32) -> (Vec<u32>, Vec<u32>) {
        let (h, n, encoder, pi0) = small_pi0();
        let cfg = AdaptiveConfig {
            pretrained_temperature: temperature,
            ..pi0_decides()
        };
        let mut sel = selector(cfg, &pi0, n, QuitConfig::default());
        let rows = 64;
        let mut rng = Rng::new(11);
        let obs: Vec<f32> = (0..rows * encoder.out_dim())
            .map(|_| rng.normal())
            .collect();
        let executed = select_blank(&mut sel, &obs, h, n, &mut rng);
        assert!(sel.chosen.iter().all(|&k| k == 0), "pi_0 has the whole say");
        let (l0, _) = pi0.forward_encoded(&obs).unwrap();
        (executed, choose_actions(&l0, &mut rng, true))
    }

    #[test]
    fn a_greedy_pi0_proposes_its_top_item() {
        let (executed, top) = executed_by_pi0(0.0);
        assert_eq!(executed, top);
        // sampled, the same pi_0 proposes other items too, less often when sharpened
        let differ = |t| {
            let (executed, top) = executed_by_pi0(t);
            executed.iter().zip(&top).filter(|(a, b)| a != b).count()
        };
        let (sharp, sampled) = (differ(0.2), differ(1.0));
        assert!(sampled > 0 && sharp < sampled, "{sharp} vs {sampled}");
    }

    #[test]
    fn top_and_sample_lets_realised_rewards_choose_how_pi0_is_used() {
        let (h, n, encoder, pi0) = small_pi0();
        let cfg = AdaptiveConfig {
            pretrained_proposals: PretrainedProposals::TopAndSample,
            exploration: 0.0,
            ..Default::default()
        };
        let mut sel = selector(cfg, &pi0, n, QuitConfig::default());
        let rows = 64;
        let mut rng = Rng::new(5);
        let (hist_items, hist_rewards, values) =
            (vec![0u32; rows * h], vec![0f32; rows * h], vec![0f32; rows]);
        let logits = Array2::<f32>::zeros((rows, n));
        let mut shares = Vec::new();
        for _ in 0..20 {
            let obs: Vec<f32> = (0..rows * encoder.out_dim())
                .map(|_| rng.normal())
                .collect();
            let ctx = StepContext {
                obs: &obs,
                hist_items: &hist_items,
                hist_rewards: &hist_rewards,
                values: &values,
            };
            let actions = sel.select(&ctx, &logits, &mut rng).unwrap();
            // all three kinds propose
            let (l0, _) = pi0.forward_encoded(&obs).unwrap();
            let top = choose_actions(&l0, &mut rng, true);
            for (i, &k) in sel.chosen.iter().enumerate() {
                if k == PI0 {
                    assert_eq!(actions[i], top[i], "pi_0's first proposal is its top item");
                }
            }
            // users like what pi_0 samples and nothing else
            let rewards: Vec<f32> = sel
                .chosen
                .iter()
                .map(|&k| (k == PI0_SAMPLE) as u8 as f32)
                .collect();
            let share = rewards.iter().sum::<f32>() / rows as f32;
            shares.push(share);
            sel.observe(&actions, &rewards, &vec![0u8; rows]);
        }
        assert!(shares[0] < 0.6, "at first the kinds share: {shares:?}");
        assert!(
            *shares.last().unwrap() > 0.9,
            "then the sample takes over: {shares:?}"
        );
        assert!(sel.weight(PI0_SAMPLE as usize) > 0.9 && sel.weight(PI0 as usize) < 0.1);
    }

    #[test]
    fn the_quit_model_foresees_boredom_as_the_environment_decides() {
        let (_, n, _, pi0) = small_pi0();
        // window 3, a third item of one category in it ends the episode
        let quit = QuitConfig {
            window: 3,
            max_same_category: 3,
            min_mean_reward: 0.0,
            max_steps: 50,
        };
        let mut sel = selector(AdaptiveConfig::default(), &pi0, n, quit);
        let mut window = Vec::new();
        let step = |sel: &mut Expansion, a: u32, d: u8| {
            sel.chosen = vec![PI0];
            sel.chosen_q = vec![0.0];
            sel.observe(&[a], &[1.0], &[d]);
        };
        assert!(!sel.quits(0, 0, 1.0, &mut window), "nothing seen yet");
        // items 0 and 3 are of category 0: a third of it (item 6) bores, item 1 does not
        step(&mut sel, 0, 0);
        step(&mut sel, 3, 0);
        assert!(sel.quits(0, 6, 1.0, &mut window));
        assert!(!sel.quits(0, 1, 1.0, &mut window));
        // after item 1 the window is (3, 1): one of category 0, so 6 is safe
        step(&mut sel, 1, 0);
        assert!(!sel.quits(0, 6, 1.0, &mut window));
        step(&mut sel, 4, 0);
        assert!(
            sel.quits(0, 7, 1.0, &mut window),
            "1, 4 and 7 are of category 1"
        );
        // the user leaves after 7, as foreseen; the next user starts with an
        // empty window (without the reset it would hold 4 and 7)
        step(&mut sel, 7, 1);
        assert!(!sel.quits(0, 7, 1.0, &mut window));
        step(&mut sel, 1, 0);
        step(&mut sel, 4, 0);
        assert!(sel.quits(0, 7, 1.0, &mut window));
        // the step cap: categories in turn never bore; step 50 ends the episode
        step(&mut sel, 2, 1);
        for k in 0..48u32 {
            step(&mut sel, k % 3, 0);
        }
        assert!(!sel.quits(0, 0, 1.0, &mut window), "step 49");
        step(&mut sel, 0, 0);
        assert!(sel.quits(0, 1, 1.0, &mut window), "step 50");
        // the satisfaction rule reads r, the guess for the proposal
        step(&mut sel, 2, 1);
        sel.quit.min_mean_reward = 0.5;
        step(&mut sel, 0, 0);
        step(&mut sel, 1, 0);
        assert!(!sel.quits(0, 2, 1.0, &mut window));
        assert!(sel.quits(0, 2, -2.0, &mut window), "(1 + 1 - 2) / 3 < 0.5");
        // before any step, the first proposal already counts (a cap of 1 step)
        let capped = QuitConfig {
            max_steps: 1,
            ..QuitConfig::default()
        };
        let fresh = selector(AdaptiveConfig::default(), &pi0, n, capped);
        assert!(fresh.quits(0, 0, 1.0, &mut window));
    }

    #[test]
    fn foresight_turns_pi0_away_from_an_item_that_would_bore() {
        let (h, n, encoder, pi0) = small_pi0();
        let rows = 64;
        let mut rng = Rng::new(21);
        let obs: Vec<f32> = (0..rows * encoder.out_dim())
            .map(|_| rng.normal())
            .collect();
        let (l0, v0) = pi0.forward_encoded(&obs).unwrap();
        let top = choose_actions(&l0, &mut rng, true);
        // the share of rows (where pi_0 values the state) that execute pi_0's top item
        let share_top = |foresight: f32| {
            let cfg = AdaptiveConfig {
                quit_foresight: foresight,
                ..pi0_decides()
            };
            let mut sel = selector(cfg, &pi0, n, QuitConfig::default());
            // every user has seen two other items of its top item's category
            for step in 1..=2u32 {
                let seen: Vec<u32> = top.iter().map(|&a| (a + 3 * step) % n as u32).collect();
                sel.chosen = vec![PI0; rows];
                sel.chosen_q = vec![0.0; rows];
                sel.observe(&seen, &vec![1.0; rows], &vec![0; rows]);
            }
            let executed = select_blank(&mut sel, &obs, h, n, &mut Rng::new(4));
            let valued: Vec<usize> = (0..rows).filter(|&i| v0[i] > 0.0).collect();
            assert!(valued.len() > 10, "{}", valued.len());
            // where pi_0 expects nothing of the state, nothing is at stake: its top item stays
            assert!((0..rows)
                .filter(|&i| v0[i] <= 0.0)
                .all(|i| executed[i] == top[i]));
            let same = valued.iter().filter(|&&i| executed[i] == top[i]).count();
            same as f32 / valued.len() as f32
        };
        assert_eq!(share_top(0.0), 1.0, "pi_0 has the whole say");
        // pi_1's uniform sample replaces it unless it would bore too (1 in 3)
        let turned = share_top(1e3);
        assert!(turned < 0.6, "{turned}");
    }

    #[test]
    fn the_critic_check_follows_the_sign_of_agreement() {
        let mut rng = Rng::new(3);
        let (mut agree, mut against, mut noise) = (
            CriticCheck::default(),
            CriticCheck::default(),
            CriticCheck::default(),
        );
        assert_eq!(agree.trust(0.2), 1.0, "nothing measured yet");
        for _ in 0..2000 {
            let r = rng.uniform();
            let e = 0.3 * rng.normal();
            agree.observe(r + e, r, 0.02);
            against.observe(1.0 - r + e, r, 0.02);
            noise.observe(rng.uniform(), r, 0.02);
        }
        assert_eq!(agree.trust(0.2), 1.0);
        assert_eq!(against.trust(0.2), -1.0);
        assert!(noise.trust(0.2).abs() < 0.9, "{}", noise.trust(0.2));
        assert_eq!(against.trust(0.0), 1.0, "0 switches the check off");
    }
}
