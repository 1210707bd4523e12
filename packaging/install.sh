#!/bin/sh
# Install Chroma Desktop from this unpacked tarball.
#
#   ./install.sh                 for you alone, under ~/.local (as root: for everyone, /usr/local)
#   ./install.sh --system        for everyone, under /usr/local (run as root)
#   ./install.sh --prefix DIR    under DIR
#
# The program goes to PREFIX/lib/chroma-desktop, the commands `chroma-desktop` and `chroma` to
# PREFIX/bin, the menu entry and icons to PREFIX/share. PREFIX/lib/chroma-desktop/uninstall.sh
# removes exactly what was installed; your data, settings and logs are never touched.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi

while [ $# -gt 0 ]; do
    case "$1" in
        --user) prefix="$HOME/.local" ;;
        --system) prefix=/usr/local ;;
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
                  prefix="$2"; shift ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

[ -x "$here/chroma-desktop/chroma-desktop" ] || {
    echo "install.sh: run me from the unpacked tarball (chroma-desktop/ is missing beside me)" >&2
    exit 1
}
mkdir -p "$prefix" || { echo "install.sh: cannot create $prefix" >&2; exit 1; }
prefix=$(cd "$prefix" && pwd)
app="$prefix/lib/chroma-desktop"
bin="$prefix/bin"
share="$prefix/share"

mkdir -p "$prefix/lib" "$bin" "$share/applications"
# The new copy is complete before it replaces the old one.
rm -rf "$app.new"
cp -a "$here/chroma-desktop" "$app.new"
rm -rf "$app"
mv "$app.new" "$app"

installed="$app"
for command in chroma-desktop chroma; do
    ln -sfn "$app/chroma-desktop" "$bin/$command"
    installed="$installed
$bin/$command"
done
sed "s|^Exec=chroma-desktop|Exec=$bin/chroma-desktop|" \
    "$here/share/applications/chroma-desktop.desktop" > "$share/applications/chroma-desktop.desktop"
installed="$installed
$share/applications/chroma-desktop.desktop"
for icon in $(cd "$here/share" && find icons -type f); do
    mkdir -p "$share/$(dirname "$icon")"
    cp "$here/share/$icon" "$share/$icon"
    installed="$installed
$share/$icon"
done

# uninstall.sh removes the files listed in it, then the program's folder.
{
    echo '#!/bin/sh'
    echo '# Remove Chroma Desktop as install.sh installed it; your data and settings stay.'
    echo 'set -eu'
    printf '%s\n' "$installed" | tail -n +2 | while read -r path; do
        printf "rm -f '%s'\n" "$path"
    done
    printf "rm -rf '%s'\n" "$app"
    printf "command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q '%s' 2>/dev/null || true\n" "$share/applications"
    printf "command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t '%s' 2>/dev/null || true\n" "$share/icons/hicolor"
    echo 'echo "Chroma Desktop is uninstalled."'
} > "$app/uninstall.sh"
chmod 755 "$app/uninstall.sh"

command -v update-desktop-database >/dev/null 2>&1 \
    && update-desktop-database -q "$share/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null 2>&1 \
    && gtk-update-icon-cache -q -t "$share/icons/hicolor" 2>/dev/null || true

version=$("$bin/chroma-desktop" --version)
echo "Installed $version in $app."
echo "Start it from the menu or with $bin/chroma-desktop; the command line is $bin/chroma."
case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "Note: $bin is not on your PATH; add it to run chroma-desktop and chroma by name." ;;
esac
echo "To remove it: $app/uninstall.sh"
