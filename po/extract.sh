#!/bin/sh
# extract.sh OUT: write the message template (po/relm.pot) of the C and Lua
# sources to OUT with xgettext; `make pot` and po/check.sh both use it.
# The Makefile passes POT_C and POT_LUA (the files to read). help()'s docs
# (LuaCATS comments of lua/relm/*.lua, C modules' docs tables) come from
# po/helpdocs.lua, each marked `#. help()` for translators.
set -eu
out=$1
x="xgettext --from-code=UTF-8 --package-name=relm --msgid-bugs-address=docs/languages.md
   --sort-by-file --add-comments=TRANSLATORS:"
$x --language=C -k_ -kN_ -kn_:1,2 -o "$out.c.tmp" $POT_C
$x --language=Lua -ki18n._ -ki18n.N_ -ki18n.n_:1,2 -krelm._ -krelm.n_:1,2 -o "$out.lua.tmp" $POT_LUA
# xgettext leaves the charset for a translator to fill; the sources are UTF-8.
# The creation date goes: the template changes only when a message does.
sed -i 's/charset=CHARSET/charset=UTF-8/' "$out.c.tmp" "$out.lua.tmp"
# The doc texts under xgettext's own header (up to its first blank line),
# so that msgcat sees one header, not three to merge.
sed '/^$/q' "$out.c.tmp" >"$out.doc.tmp"
lua5.4 po/helpdocs.lua "$out.doc.tmp" $(printf '%s\n' $POT_LUA | grep '^lua/relm/') \
    $(printf '%s\n' $POT_C | grep '^core/lua/l_')
msgcat --sort-by-file -o "$out.tmp" "$out.c.tmp" "$out.lua.tmp" "$out.doc.tmp"
sed -i '/^"POT-Creation-Date:/d' "$out.tmp"
mv "$out.tmp" "$out"
rm -f "$out.c.tmp" "$out.lua.tmp" "$out.doc.tmp"
