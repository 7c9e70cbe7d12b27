#!/usr/bin/env bash
# A local Ray head for trying `ialp run --ray` and for the tests:
#   bash scripts/ray-local.sh start   # prints the dashboard address
#   bash scripts/ray-local.sh stop
# 127.0.0.1 only, 2 CPUs; ports from IALP_RAY_PORT (GCS, default 6390) and
# IALP_RAY_DASHBOARD_PORT (default 8266), away from Ray's defaults.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ray=.venv-ray/bin/ray
[[ -x $ray ]] || { echo "ray-local: no $ray: run bash scripts/setup-ray.sh" >&2; exit 1; }
port=${IALP_RAY_PORT:-6390}
dash=${IALP_RAY_DASHBOARD_PORT:-8266}
case "${1:-}" in
  start)
    RAY_USAGE_STATS_ENABLED=0 "$ray" start --head --node-ip-address 127.0.0.1 --port "$port" \
      --num-cpus 2 --include-dashboard true --dashboard-host 127.0.0.1 --dashboard-port "$dash" \
      --disable-usage-stats >&2
    # the Job API answers once the dashboard's job module is up
    for _ in $(seq 1 120); do
      .venv-ray/bin/python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$dash/api/jobs/', timeout=2)" >/dev/null 2>&1 \
        && { echo "http://127.0.0.1:$dash"; exit 0; }
      sleep 0.5
    done
    echo "ray-local: the dashboard did not answer on port $dash" >&2
    exit 1
    ;;
  stop) "$ray" stop --force >&2 ;;
  *) echo "usage: scripts/ray-local.sh start|stop" >&2; exit 2 ;;
esac
