#!/bin/sh
# extract.sh OUT: write the message template (po/relm.pot) of the C and Lua
# sources to OUT with xgettext; `make pot` and po/check.sh both use it.
# The Makefile passes POT_C and POT_LUA (the files to read).
set -eu
out=$1
x="xgettext --from-code=UTF-8 --package-name=relm --msgid-bugs-address=docs/languages.md
   --sort-by-file --add-comments=TRANSLATORS:"
$x --language=C -k_ -kN_ -kn_:1,2 -o "$out.c.tmp" $POT_C
$x --language=Lua -ki18n._ -ki18n.N_ -ki18n.n_:1,2 -krelm._ -krelm.n_:1,2 -o "$out.lua.tmp" $POT_LUA
# xgettext leaves the charset for a translator to fill; the sources are UTF-8.
# The creation date goes: the template changes only when a message does.
sed -i 's/charset=CHARSET/charset=UTF-8/' "$out.c.tmp" "$out.lua.tmp"
msgcat --sort-by-file -o "$out.tmp" "$out.c.tmp" "$out.lua.tmp"
sed -i '/^"POT-Creation-Date:/d' "$out.tmp"
mv "$out.tmp" "$out"
rm -f "$out.c.tmp" "$out.lua.tmp"
