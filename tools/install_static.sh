#!/usr/bin/env bash
# Install the third-party JavaScript the book and its browser test need, from the
# npm registry (never from a CDN, never from files committed to this repository),
# at pinned versions, into the git-ignored _vendor/:
#
# * MathJax, which typesets every formula, so that no page needs the internet. Its
#   ES5 build is copied to _vendor/static/mathjax/, which _config.yml lists in
#   html_static_path; Sphinx copies it to _build/html/_static/mathjax/ and
#   mathjax_path points there.
# * axe-core, the accessibility checker that tests/test_browser.py runs on every
#   page of the built book (WCAG 2 levels A and AA). It is for the tests only: it
#   stays in _vendor/npm/node_modules/axe-core/axe.min.js and is not copied into
#   the book's static files, so the built book does not ship it.
#
# Both are installed by one npm command: a second `npm install --no-save` into the
# same prefix would remove the package the first one installed.
#
# Usage: tools/install_static.sh        (the Makefile runs it when needed)
set -euo pipefail
cd "$(dirname "$0")/.."

MATHJAX_VERSION="${MATHJAX_VERSION:-3.2.2}"
AXE_VERSION="${AXE_VERSION:-4.14.1}"
VENDOR=_vendor
DEST="$VENDOR/static/mathjax"

if ! command -v npm >/dev/null 2>&1; then
    echo "tools/install_static.sh: npm is needed to install MathJax and axe-core (Debian: apt-get install npm)." >&2
    exit 1
fi

npm install --no-save --no-audit --no-fund --loglevel=error \
    --prefix "$VENDOR/npm" "mathjax@$MATHJAX_VERSION" "axe-core@$AXE_VERSION"

AXE="$VENDOR/npm/node_modules/axe-core/axe.min.js"
test -f "$AXE" || { echo "tools/install_static.sh: $AXE is missing" >&2; exit 1; }

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
# npm leaves a package already at the asked version as it was: touch the file the
# Makefile checks, so that it is newer than this script and make does not run the
# script again.
touch "$AXE"
echo "axe-core $AXE_VERSION installed in $AXE (for tests/test_browser.py; not part of the book)"
