#!/usr/bin/env bash
# Installs torch==2.11.0 from PyPI into .venv-torch/ (git-ignored) for the
# `torch` cargo feature (tch 0.24 binds exactly libtorch 2.11), and
# tensorboard (whose loader reads back `ialp export tensorboard` in a test). PyPI's Linux
# wheel is the CUDA 13 build: ~4.5 GB with its nvidia-* wheels; it runs on the
# CPU too. Safe to run again; it skips what is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want=2.11.0
venv=.venv-torch
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "setup-torch: $python (3.10+) is required" >&2; exit 1; }
if [[ ! -x $venv/bin/python ]]; then
  echo "== creating $venv" >&2
  "$python" -m venv "$venv"
fi
have="$("$venv/bin/python" -W ignore -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [[ $have != "$want" ]]; then
  echo "== installing torch==$want into $venv (several minutes, once)" >&2
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check "torch==$want"
fi
tb=2.21.0
have_tb="$("$venv/bin/python" -W ignore -c 'import tensorboard; print(tensorboard.__version__)' 2>/dev/null || true)"
if [[ $have_tb != "$tb" ]]; then
  # read back by __test__/training-log.test.ts: `ialp export tensorboard` as TensorBoard loads it
  echo "== installing tensorboard==$tb into $venv" >&2
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check "tensorboard==$tb"
fi
"$venv/bin/python" -W ignore -c 'import torch; print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())' 2>/dev/null
