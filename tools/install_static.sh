#!/usr/bin/env bash
# Install the book's third-party static files so that no page needs the internet.
#
# MathJax (which typesets every formula) comes from the npm registry, not from a
# CDN at reading time and not from files committed to this repository. Its ES5
# build is copied to _vendor/static/mathjax/, which _config.yml lists in
# html_static_path; Sphinx copies it to _build/html/_static/mathjax/ and
# mathjax_path points there. _vendor/ is git-ignored.
#
# Usage: tools/install_static.sh        (the Makefile runs it when needed)
set -euo pipefail
cd "$(dirname "$0")/.."

MATHJAX_VERSION="${MATHJAX_VERSION:-3.2.2}"
VENDOR=_vendor
DEST="$VENDOR/static/mathjax"

if ! command -v npm >/dev/null 2>&1; then
    echo "tools/install_static.sh: npm is needed to install MathJax (Debian: apt-get install npm)." >&2
    exit 1
fi

npm install --no-save --no-audit --no-fund --loglevel=error \
    --prefix "$VENDOR/npm" "mathjax@$MATHJAX_VERSION"

SRC="$VENDOR/npm/node_modules/mathjax"
test -f "$SRC/es5/tex-mml-chtml.js" || { echo "tools/install_static.sh: $SRC/es5/tex-mml-chtml.js is missing" >&2; exit 1; }

# Copy to a temporary folder, then swap it in, so a build running at the same
# time never sees a half-copied MathJax.
rm -rf "$DEST.tmp"
mkdir -p "$(dirname "$DEST")"
cp -R "$SRC/es5" "$DEST.tmp"
cp "$SRC/LICENSE" "$DEST.tmp/LICENSE"   # Apache-2.0: the licence travels with the copy
# Not for browsers: latest.js would load MathJax from a CDN, node-main.js is for Node.
rm -f "$DEST.tmp/latest.js" "$DEST.tmp/node-main.js"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
echo "MathJax $MATHJAX_VERSION installed in $DEST"
