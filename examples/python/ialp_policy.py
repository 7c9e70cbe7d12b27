"""An ialp policy file in PyTorch, without ialp: a reference implementation.

A policy file (format version 2, docs/artefacts.md) is a safetensors file: an
8-byte little-endian header length N, N bytes of JSON header (each tensor's
dtype, shape and data_offsets; ialp's metadata as strings under "__metadata__"),
then the tensors' little-endian bytes. This module reads it with nothing but the
standard library and torch, rebuilds the network as a torch.nn.Module and
recommends as `ialp recommend` does:

    state  = [mean F of the history; mean (2r - 1) F; F of the latest item;
              mean r; (items in the history) / H]   (F: the item features)
    h      = actor MLP(state)          (tanh between layers, linear output)
    e      = item_features @ item.w + item.free    (one embedding per item)
    logits = h @ e.T + item.bias;  score = softmax(logits)

Usage: python ialp_policy.py POLICY.ialp HISTORY_JSON [K]
  HISTORY_JSON: [{"item": 3, "reward": 1.0}, ...], oldest first (the `history`
  of `ialp recommend --json`). Prints {"recommendations": [...], "scores": [...]}
  (the k best items not in the history, and every item's probability).
"""

import json
import struct
import sys

import torch

MAX_HEADER_BYTES = 16 << 20  # crates/sim/src/limits.rs


def read_safetensors(path):
    """(metadata dict of strings, {name: float32 tensor}) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: {len(raw)} bytes is too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} does not fit the file ({len(raw)} bytes)")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    covered = 0
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name}: dtype {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        if end - begin != 4 * count or end > len(data):
            raise ValueError(f"{path}: tensor {name}: shape {info['shape']} does not fit data_offsets {info['data_offsets']}")
        covered += end - begin
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32) if count else torch.zeros(0)
        tensors[name] = t.reshape(info["shape"])
    if covered != len(data):
        raise ValueError(f"{path}: the tensors cover {covered} of the {len(data)} data bytes")
    return metadata, tensors


class IalpPolicy(torch.nn.Module):
    """The policy network of an ialp policy file (actor and item tower; the critic is not needed to recommend)."""

    def __init__(self, path):
        super().__init__()
        metadata, t = read_safetensors(path)
        if metadata.get("format") != "ialp-policy" or metadata.get("version") != "2":
            raise ValueError(f"{path}: not an ialp policy file of format version 2 (metadata {metadata.get('format')!r} {metadata.get('version')!r})")
        self.meta = json.loads(metadata["meta"])
        self.history = self.meta["history"]
        self.register_buffer("item_features", t["item_features"])
        self.n_items, self.feature_dim = self.item_features.shape
        depth = self.meta["net"]["depth"]
        layers = []
        for i in range(depth + 1):
            w = t[f"actor.{i}.w"]  # (in, out): y = x @ w + b
            lin = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(w.T)
                lin.bias.copy_(t[f"actor.{i}.b"])
            layers.append(lin)
            if i < depth:
                layers.append(torch.nn.Tanh())
        self.actor = torch.nn.Sequential(*layers)
        self.item_w = torch.nn.Parameter(t["item.w"])
        self.item_free = torch.nn.Parameter(t["item.free"])
        self.item_bias = torch.nn.Parameter(t["item.bias"])

    def encode(self, history):
        """The state vector of a history (list of (item, reward), oldest first; the last H count)."""
        f = self.feature_dim
        recent = history[-self.history :]
        state = torch.zeros(3 * f + 2)
        if recent:
            feats = self.item_features[torch.tensor([i for i, _ in recent])]
            r = torch.tensor([float(x) for _, x in recent], dtype=torch.float32)
            state[:f] = feats.mean(0)
            state[f : 2 * f] = ((2 * r - 1)[:, None] * feats).mean(0)
            state[2 * f : 3 * f] = feats[-1]
            state[3 * f] = r.mean()
            state[3 * f + 1] = len(recent) / self.history
        return state

    def forward(self, state):
        """Logits over all items for states (rows x state width)."""
        e = self.item_features @ self.item_w + self.item_free
        return self.actor(state) @ e.T + self.item_bias

    @torch.no_grad()
    def scores(self, history):
        return torch.softmax(self.forward(self.encode(history)[None, :])[0], dim=0)

    @torch.no_grad()
    def recommend(self, history, k=10, exclude_seen=True):
        """The k most probable items with their probabilities, as `ialp recommend`."""
        p = self.scores(history)
        seen = {i for i, _ in history} if exclude_seen else set()
        order = sorted((i for i in range(self.n_items) if i not in seen), key=lambda i: -p[i].item())
        return [(i, p[i].item()) for i in order[:k]]


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    policy = IalpPolicy(argv[0])
    history = [(h["item"], h["reward"]) for h in json.loads(argv[1])]
    k = int(argv[2]) if len(argv) == 3 else 10
    recs = policy.recommend(history, k)
    print(json.dumps({"recommendations": [{"item": i, "score": s} for i, s in recs], "scores": policy.scores(history).tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
