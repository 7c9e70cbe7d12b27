#!/usr/bin/env bash
# Installs JAX (CPU) from PyPI into .venv-jax/ (git-ignored) for the JAX
# reference of the bench's `train` group (benches/reference/a2c_jax.py).
# Safe to run again; it skips what is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want=0.10.0
venv=.venv-jax
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "setup-jax: $python (3.11+) is required" >&2; exit 1; }
if [[ ! -x $venv/bin/python ]]; then
  echo "== creating $venv" >&2
  "$python" -m venv "$venv"
fi
have="$("$venv/bin/python" -c 'import jax; print(jax.__version__)' 2>/dev/null || true)"
if [[ $have != "$want" ]]; then
  echo "== installing jax==$want (CPU) into $venv" >&2
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check "jax==$want"
fi
"$venv/bin/python" -c 'import jax; print("jax", jax.__version__, jax.devices())'
