#!/usr/bin/env bash
# Installs Ray (ray[default], pinned: the dashboard's Job Submission API that
# `ialp run --ray` uses) from PyPI into .venv-ray/ (git-ignored, ~400 MB).
# Safe to run again; it skips what is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
want=2.60.0
venv=.venv-ray
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "setup-ray: $python (3.10+) is required" >&2; exit 1; }
[[ -x $venv/bin/python ]] || { echo "== creating $venv" >&2; "$python" -m venv "$venv"; }
have="$("$venv/bin/python" -c 'import ray; print(ray.__version__)' 2>/dev/null || true)"
if [[ $have != "$want" ]]; then
  echo "== installing ray[default]==$want into $venv (a minute or two, once)" >&2
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check "ray[default]==$want"
fi
"$venv/bin/ray" --version
