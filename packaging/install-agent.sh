#!/bin/sh
# Install the Chroma Desktop agent on a Lustre server, from this unpacked tarball, as root.
#
#   ./install-agent.sh                   into /opt/chroma-agent, with its systemd unit
#   ./install-agent.sh --prefix DIR      into DIR instead
#   ./install-agent.sh --no-systemd      without the unit (start `chroma-agent serve` yourself)
#   ./install-agent.sh --python PYTHON   with this Python (3.11 or newer; default python3)
#
# The agent and what it needs are in wheels/, so the server needs no network. Then:
# `chroma-agent pair`, type its token on the desktop, `systemctl enable --now chroma-agent`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/chroma-agent
bin_dir=/usr/local/bin
python=python3
systemd=yes

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "install-agent.sh: --prefix needs a directory" >&2; exit 2; }
                  prefix="$2"; bin_dir="$2/bin"; shift ;;
        --python) [ $# -ge 2 ] || { echo "install-agent.sh: --python needs a program" >&2; exit 2; }
                  python="$2"; shift ;;
        --no-systemd) systemd=no ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-agent.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

command -v "$python" >/dev/null 2>&1 || {
    echo "install-agent.sh: $python not found; install Python 3.11 or newer, or give --python" >&2
    exit 1
}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "install-agent.sh: the agent needs Python 3.11 or newer; $python is $("$python" -V 2>&1)." >&2
    echo "Give another with --python (e.g. --python python3.11)." >&2
    exit 1
}

"$python" -m venv --clear "$prefix"
if ! "$prefix/bin/python" -m pip install --quiet --no-index --find-links "$here/wheels" chroma-agent; then
    echo "install-agent.sh: the wheels here were built for $(cat "$here/wheels/PLATFORM");" >&2
    echo "this server's Python cannot use them all. With a package index reachable, run:" >&2
    echo "  $prefix/bin/pip install $(cd "$here/wheels" && ls chroma_agent-*.whl)" >&2
    exit 1
fi
mkdir -p "$bin_dir"
[ "$bin_dir/chroma-agent" -ef "$prefix/bin/chroma-agent" ] \
    || ln -sfn "$prefix/bin/chroma-agent" "$bin_dir/chroma-agent"

echo "Installed $("$prefix/bin/chroma-agent" --version) in $prefix."
if [ "$systemd" = yes ]; then
    "$prefix/bin/chroma-agent" install-service
    command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload || true
else
    echo "Next: \`chroma-agent pair\` (type its token on the desktop), then \`chroma-agent serve\`."
fi
