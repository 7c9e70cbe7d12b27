"""The A2C of `ialp train` in JAX, PureJaxRL style, as an anchor for the bench's
`train` group: the environment vmapped over B users, the T-step rollout a
`lax.scan`, K updates one `lax.scan` inside one `jax.jit`.

    .venv-jax/bin/python benches/reference/a2c_jax.py [--batches 16,64,1024]
        [--items 500,10000] [--rep-ms 150] [--warmup 2] [--reps 10]
    .venv-jax/bin/python benches/reference/a2c_jax.py --learn UPDATES
        [--batches 64] [--items 500] [--episodes 5000] [--seeds 1,2] [--init DIR]

Prints one JSON line per shape: {"batch", "nItems", "compileSeconds" (the
first call: tracing and XLA compilation), "userSteps" (per repetition),
"seconds" (each timed repetition), "meanReward" (per step, last repetition)}.
With --learn it prints one JSON line: the first and last 10% of its first
EPISODES episodes (mean return, length, reward per step), as `ialp train`
reports them, with compileSeconds and trainSeconds. Run it with XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1" for one thread, as the bench does.

The same shapes, losses and settings as ialp's defaults (crates/ac-core:
config.rs, net.rs, gae.rs, adam.rs; crates/sim: synthetic.rs, quit.rs,
batch.rs): d = 16, 10 categories, features = noisy item vector + one-hot
category, H = 10, warm start 3, quit after 3 of the last 5 in one category, a
full-window mean reward below 0.25 or 50 steps; encoder [mean F; mean (2r-1) F;
F latest; mean r; fill]; actor MLP -> h (tanh, 64 x 2, embed 32, output gain
0.1), logits h . (F W + E)^T + b; critic MLP -> V; T = 8, gamma 0.9, GAE 0.95,
standardised advantages, entropy 0.01, value 0.5, Adam 1e-3 clipped at global
norm 0.5. Where it differs (it is a port, not the same bits): JAX's threefry
random numbers instead of ialp's xoshiro streams and ziggurat; new users drawn
fresh (not from a pool of 10,000 seeded users); warm-start interactions are
answered but do not drift the user; XLA fuses and reorders float operations
(FMA where the CPU has it).

With --init DIR (written by `cargo run --release -p ialp-ac-core --example
reference_init -- --seeds S,... --out DIR`) it trains in ialp's own world
(DIR/world.safetensors: item vectors, categories, features, and every user's
state on arrival, new users drawn from that pool as ialp draws them) from
ialp's own initial weights for each seed (DIR/init-S.safetensors, the
untrained policy of `ialp train --seed S`): a paired comparison, where only
the learner's arithmetic and the random streams differ.
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

D, CATS, H, WARM, WINDOW, SAME, MIN_MEAN, MAX_STEPS = 16, 10, 10, 3, 5, 3, 0.25, 50
GAIN, BIAS, NOISE, DRIFT, SPREAD, FNOISE = 5.0, -1.5, 0.1, 0.05, 0.5, 0.2
HIDDEN, DEPTH, EMBED, T = 64, 2, 32, 8
GAMMA, LAMBDA, ENT, VAL, LR, CLIP = 0.9, 0.95, 0.01, 0.5, 1e-3, 0.5


def normalise(x):
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


def make_world(key, n_items):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    centroids = normalise(jax.random.normal(k1, (CATS, D)))
    cats = jax.random.randint(k2, (n_items,), 0, CATS)
    vecs = normalise(centroids[cats] + SPREAD / D**0.5 * jax.random.normal(k3, (n_items, D)))
    feats = jnp.concatenate([vecs + FNOISE / D**0.5 * jax.random.normal(k4, (n_items, D)), jax.nn.one_hot(cats, CATS)], axis=1)
    return {"centroids": centroids, "cats": cats, "vecs": vecs, "feats": feats}


def read_safetensors(path):
    """The F32 tensors of a safetensors file, by name (numpy arrays)."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {t['dtype']}, expected F32")
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b : 8 + n + e], dtype="<f4").reshape(t["shape"])
    return out


def ialp_world(init_dir, n_items):
    """ialp's synthetic world, from reference_init's world.safetensors."""
    t = read_safetensors(f"{init_dir}/world.safetensors")
    if t["vecs"].shape != (n_items, D):
        raise ValueError(f"{init_dir}/world.safetensors holds {t['vecs'].shape[0]} items of dimension {t['vecs'].shape[1]}, expected {n_items} x {D}")
    return {"cats": jnp.asarray(t["cats"].astype(np.int32)), "vecs": jnp.asarray(t["vecs"]), "feats": jnp.asarray(t["feats"]), "users": jnp.asarray(t["users"])}


def ialp_params(init_dir, seed):
    """The untrained policy `ialp train --seed SEED` starts from (an ialp policy file)."""
    t = read_safetensors(f"{init_dir}/init-{seed}.safetensors")
    layers = lambda prefix: [{"w": jnp.asarray(t[f"{prefix}.{i}.w"]), "b": jnp.asarray(t[f"{prefix}.{i}.b"])} for i in range(DEPTH + 1)]
    return {"actor": layers("actor"), "critic": layers("critic"), "item_w": jnp.asarray(t["item.w"]),
            "item_free": jnp.asarray(t["item.free"]), "item_bias": jnp.asarray(t["item.bias"])}


def new_user(world, key):
    if "users" in world:
        # ialp's pool: each user's state on arrival, drawn uniformly
        return world["users"][jax.random.randint(key, (), 0, world["users"].shape[0])]
    k1, k2, k3 = jax.random.split(key, 3)
    u = 0.3 / D**0.5 * jax.random.normal(k1, (D,))
    focus = jax.random.randint(k2, (2,), 0, CATS)
    w = 0.5 + jax.random.uniform(k3, (2,))
    return normalise(u + (w[:, None] * world["centroids"][focus]).sum(0))


def reward(world, u, item, key):
    mean = jax.nn.sigmoid(GAIN * jnp.dot(u, world["vecs"][item]) + BIAS)
    return jnp.clip(mean + NOISE * jax.random.normal(key), 0.0, 1.0)


def reset_slot(world, key):
    k1, k2, k3 = jax.random.split(key, 3)
    u = new_user(world, k1)
    items = jax.random.randint(k2, (WARM,), 0, world["vecs"].shape[0])
    r = jax.vmap(lambda i, k: reward(world, u, i, k))(items, jax.random.split(k3, WARM))
    hist_i = jnp.full((H,), -1).at[H - WARM :].set(items)
    hist_r = jnp.zeros((H,)).at[H - WARM :].set(r)
    return {"u": u, "hist_i": hist_i, "hist_r": hist_r, "t": jnp.int32(0)}


def step_slot(world, s, item, key):
    k1, k2 = jax.random.split(key)
    r = reward(world, s["u"], item, k1)
    u = normalise(s["u"] + DRIFT * r * (world["vecs"][item] - s["u"]))
    hist_i = jnp.concatenate([s["hist_i"][1:], item[None]])
    hist_r = jnp.concatenate([s["hist_r"][1:], r[None]])
    t = s["t"] + 1
    recent = hist_i[H - WINDOW :]
    same = ((recent >= 0) & (world["cats"][jnp.maximum(recent, 0)] == world["cats"][item])).sum()
    full = t >= WINDOW
    done = (same >= SAME) | (full & (hist_r[H - WINDOW :].mean() < MIN_MEAN)) | (t >= MAX_STEPS)
    fresh = reset_slot(world, k2)
    nxt = {"u": u, "hist_i": hist_i, "hist_r": hist_r, "t": t}
    nxt = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), fresh, nxt)
    return nxt, r, done


def encode(world, s):
    valid = s["hist_i"] >= 0
    f = world["feats"][jnp.maximum(s["hist_i"], 0)] * valid[:, None]
    n = jnp.maximum(valid.sum(), 1)
    w = (2 * s["hist_r"] - 1) * valid
    return jnp.concatenate([f.sum(0) / n, (w[:, None] * f).sum(0) / n, f[-1], jnp.array([(s["hist_r"] * valid).sum() / n, valid.sum() / H])])


def mlp_init(key, sizes, gain):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        key, k = jax.random.split(key)
        std = (1.0 / a) ** 0.5 * (gain if i + 2 == len(sizes) else 1.0)
        layers.append({"w": std * jax.random.normal(k, (a, b)), "b": jnp.zeros((b,))})
    return layers


def mlp(layers, x):
    for i, l in enumerate(layers):
        x = x @ l["w"] + l["b"]
        if i + 1 < len(layers):
            x = jnp.tanh(x)
    return x


def init_params(key, in_dim, feat_dim, n_items):
    k1, k2, k3 = jax.random.split(key, 3)
    return {
        "actor": mlp_init(k1, [in_dim] + [HIDDEN] * DEPTH + [EMBED], 0.1),
        "critic": mlp_init(k2, [in_dim] + [HIDDEN] * DEPTH + [1], 1.0),
        "item_w": (1.0 / feat_dim) ** 0.5 * jax.random.normal(k3, (feat_dim, EMBED)),
        "item_free": jnp.zeros((n_items, EMBED)),
        "item_bias": jnp.zeros((n_items,)),
    }


def forward(p, feats, x):
    e = feats @ p["item_w"] + p["item_free"]
    logits = mlp(p["actor"], x) @ e.T + p["item_bias"]
    return logits, mlp(p["critic"], x)[..., 0]


def sample(key, logits):
    """One draw per row by the inverse CDF of one uniform, as ialp draws
    (`jax.random.categorical`'s Gumbel noise, one threefry draw per item, took
    half of this program's time at B = 64, 500 items)."""
    cdf = jnp.cumsum(jax.nn.softmax(logits), axis=-1)
    u = jax.random.uniform(key, (logits.shape[0], 1)) * cdf[:, -1:]
    return jnp.minimum((cdf <= u).sum(-1), logits.shape[1] - 1)


def make_train(world, n_items, b, k_updates, trace=False):
    """K updates in one jitted scan; each yields r.mean(), or with `trace` the
    rollout's rewards and done flags (T x B) for episode bookkeeping."""
    feats = world["feats"]

    def loss_fn(p, obs, actions, adv, ret):
        logits, v = forward(p, feats, obs)
        logp = jax.nn.log_softmax(logits)
        ent = -(jnp.exp(logp) * logp).sum(-1).mean()
        pl = -(adv * jnp.take_along_axis(logp, actions[:, None], 1)[:, 0]).mean()
        vl = 0.5 * ((v - ret) ** 2).mean()
        return pl + VAL * vl - ENT * ent

    def update(carry, _):
        p, m, v, t, envs, key = carry

        def roll(c, _):
            envs, key = c
            key, ka, ks = jax.random.split(key, 3)
            obs = jax.vmap(lambda s: encode(world, s))(envs)
            logits, val = forward(p, feats, obs)
            actions = sample(ka, logits)
            envs, r, done = jax.vmap(lambda s, a, k: step_slot(world, s, a, k))(envs, actions, jax.random.split(ks, b))
            return (envs, key), (obs, actions, r, done, val)

        (envs, key), (obs, actions, r, done, val) = jax.lax.scan(roll, (envs, key), None, T)
        last = forward(p, feats, jax.vmap(lambda s: encode(world, s))(envs))[1]

        def gae(next_, x):
            adv_next, v_next = next_
            rt, dt, vt = x
            nd = 1.0 - dt
            delta = rt + GAMMA * v_next * nd - vt
            a = delta + GAMMA * LAMBDA * nd * adv_next
            return (a, vt), a

        _, adv = jax.lax.scan(gae, (jnp.zeros(b), last), (r, done.astype(jnp.float32), val), reverse=True)
        ret = adv + val
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        flat = lambda x: x.reshape((T * b,) + x.shape[2:])
        g = jax.grad(loss_fn)(p, flat(obs), flat(actions), flat(adv), flat(ret))
        norm = jnp.sqrt(sum((x**2).sum() for x in jax.tree_util.tree_leaves(g)))
        g = jax.tree_util.tree_map(lambda x: x * jnp.minimum(1.0, CLIP / (norm + 1e-6)), g)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        c1, c2 = 1 - 0.9**t, 1 - 0.999**t
        p = jax.tree_util.tree_map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), p, m, v)
        return (p, m, v, t, envs, key), ((r, done) if trace else r.mean())

    @jax.jit
    def train(carry):
        return jax.lax.scan(update, carry, None, k_updates)

    return train


def start(b, n_items, seed, init_dir=None):
    """The world, and the training carry (parameters, Adam moments, step, B user slots, key);
    with `init_dir`, ialp's world and ialp's initial weights for `seed`."""
    key = jax.random.PRNGKey(seed)
    kw, kp, ke, key = jax.random.split(key, 4)
    world = ialp_world(init_dir, n_items) if init_dir else make_world(kw, n_items)
    feat_dim = world["feats"].shape[1]
    params = ialp_params(init_dir, seed) if init_dir else init_params(kp, 3 * feat_dim + 2, feat_dim, n_items)
    envs = jax.vmap(lambda k: reset_slot(world, k))(jax.random.split(ke, b))
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return world, (params, zeros, zeros, jnp.float32(0), envs, key)


def run(b, n_items, rep_ms, warmup, reps):
    world, carry = start(b, n_items, 1)
    # calibrate K (updates per call) with a 1-update function, then compile the K-update one
    one = make_train(world, n_items, b, 1)
    jax.block_until_ready(one(carry))
    t0 = time.perf_counter()
    jax.block_until_ready(one(carry))
    k = max(1, int(rep_ms / 1e3 / max(time.perf_counter() - t0, 1e-6) + 0.999))
    train = make_train(world, n_items, b, k)
    t0 = time.perf_counter()
    carry, _ = jax.block_until_ready(train(carry))
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        carry, _ = jax.block_until_ready(train(carry))
    seconds, rewards = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        carry, rewards = jax.block_until_ready(train(carry))
        seconds.append(time.perf_counter() - t0)
    return {
        "batch": b,
        "nItems": n_items,
        "updatesPerRep": k,
        "compileSeconds": compile_s,
        "userSteps": k * T * b,
        "seconds": seconds,
        "meanReward": float(rewards.mean()),
    }


def episodes_of(rs, dones):
    """(return, length) of every episode that ended, in the order they ended:
    rs and dones are updates x T x B (the warm-start answers are not counted)."""
    u, t, b = rs.shape
    ret, length, out = [0.0] * b, [0] * b, []
    for i in range(u):
        for j in range(t):
            for k in range(b):
                ret[k] += float(rs[i, j, k])
                length[k] += 1
                if dones[i, j, k]:
                    out.append((ret[k], length[k]))
                    ret[k], length[k] = 0.0, 0
    return out


def learn(b, n_items, updates, episodes, seed=1, init_dir=None):
    """Trains from a fresh start for `updates` updates (one compiled scan) and
    summarises the first and last 10% of the first `episodes` episodes, as
    `ialp train` does: its learning quality beside ialp's, not its speed."""
    t_start = time.perf_counter()
    world, carry = start(b, n_items, seed, init_dir)
    train = make_train(world, n_items, b, updates, trace=True)
    t0 = time.perf_counter()
    compiled = train.lower(carry).compile()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, (rs, dones) = jax.block_until_ready(compiled(carry))
    train_s = time.perf_counter() - t0
    eps = episodes_of(jax.device_get(rs), jax.device_get(dones))[:episodes]
    tenth = max(1, len(eps) // 10)

    def summary(part):
        if not part:
            return {"episodes": 0, "meanReturn": float("nan"), "meanLength": float("nan"), "rewardPerStep": float("nan")}
        return {"episodes": len(part), "meanReturn": sum(r for r, _ in part) / len(part),
                "meanLength": sum(n for _, n in part) / len(part),
                "rewardPerStep": sum(r for r, _ in part) / sum(n for _, n in part)}

    return {"batch": b, "nItems": n_items, "seed": seed, "init": "ialp" if init_dir else "jax", "updates": updates, "episodes": len(eps),
            "compileSeconds": compile_s, "trainSeconds": train_s,
            "secondsInProcess": time.perf_counter() - t_start,
            "first10": summary(eps[:tenth]), "last10": summary(eps[-tenth:])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: [int(x) for x in s.split(",")]
    ap.add_argument("--batches", type=ints, default=[16, 64, 1024])
    ap.add_argument("--items", type=ints, default=[500, 10000])
    ap.add_argument("--rep-ms", type=float, default=150)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--learn", type=int, metavar="UPDATES", help="train UPDATES updates at the first batch and item count, and print its learning summary")
    ap.add_argument("--episodes", type=int, default=5000, help="with --learn: the episodes summarised (ialp train's default 5,000)")
    ap.add_argument("--seeds", type=ints, default=[1], help="with --learn: one run per seed (its world, initial weights and users)")
    ap.add_argument("--init", metavar="DIR", help="with --learn: ialp's world and each seed's initial weights from DIR (the reference_init example)")
    a = ap.parse_args()
    if a.learn:
        for seed in a.seeds:
            print(json.dumps(learn(a.batches[0], a.items[0], a.learn, a.episodes, seed, a.init)), flush=True)
        return
    for n in a.items:
        for b in a.batches:
            print(json.dumps(run(b, n, a.rep_ms, a.warmup, a.reps)), flush=True)


if __name__ == "__main__":
    main()
