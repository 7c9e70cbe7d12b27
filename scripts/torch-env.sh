# Source me: the environment that builds and runs ialp's `torch` feature against
# the torch==2.11.0 that scripts/setup-torch.sh installs in .venv-torch/.
#   VIRTUAL_ENV + PATH     torch-sys runs `python` to find libtorch
#   LIBTORCH_USE_PYTORCH   ...from that Python's torch package
#   IALP_LIBTORCH_LIB      libtorch's lib dir, for programs run outside cargo
_ialp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VIRTUAL_ENV="$_ialp_root/.venv-torch"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
IALP_LIBTORCH_LIB="$(echo "$VIRTUAL_ENV"/lib/python3*/site-packages/torch/lib)"
export IALP_LIBTORCH_LIB
unset _ialp_root
