#!/bin/sh
# check.sh: the i18n part of `make lint` (docs/languages.md). Fails on
#  (a) a message a person reads that is not marked for translation
#      (po/marks.py says what counts as a message),
#  (b) a po/<lang>.po with an untranslated or fuzzy entry, a message of
#      po/relm.pot it lacks, or a format that does not match (msgfmt --check),
#  (c) a po/relm.pot whose messages differ from the sources' (run `make pot`).
# The Makefile passes POT_C, POT_LUA and LINGUAS.
set -u
status=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# (a) Sources whose authors mark their own messages while they rewrite
# them (core/loop, core/http, notify.lua) are left to them for now.
marked=$(printf '%s\n' $POT_C $POT_LUA | grep -vE '^(core/loop/|core/http/|lua/relm/notify\.lua$)')
python3 po/marks.py $marked || status=1

# (b) Every catalogue complete and well formed.
for l in $LINGUAS; do
    po=po/$l.po
    if [ ! -f "$po" ]; then
        echo "$po: missing (msginit -l $l -i po/relm.pot -o $po)"; status=1; continue
    fi
    msgfmt --check -o /dev/null "$po" || status=1
    n=$(msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid ' || true)
    [ "$n" -gt 1 ] && { echo "$po: $((n - 1)) untranslated entries (msgattrib --untranslated $po)"; status=1; }
    n=$(msgattrib --only-fuzzy --no-obsolete "$po" | grep -c '^msgid ' || true)
    [ "$n" -gt 1 ] && { echo "$po: $((n - 1)) fuzzy entries (msgattrib --only-fuzzy $po)"; status=1; }
    msgcmp --use-untranslated "$po" po/relm.pot 2>"$tmp/cmp" || {
        echo "$po: lacks messages of po/relm.pot (run make pot, then translate):"
        head -5 "$tmp/cmp"; status=1; }
done

# (c) The template matches the sources: the same messages (line numbers
# aside, so an edit elsewhere in a file does not make it stale).
sh po/extract.sh "$tmp/new.pot" 2>/dev/null &&
msgcat --no-location --sort-output -o "$tmp/new" "$tmp/new.pot" &&
msgcat --no-location --sort-output -o "$tmp/old" po/relm.pot || { echo "po/relm.pot: cannot extract"; exit 1; }
if ! diff -q "$tmp/old" "$tmp/new" >/dev/null; then
    echo "po/relm.pot is out of date with the sources (run make pot, then translate what is new):"
    diff "$tmp/old" "$tmp/new" | grep '^[<>] msgid' | head -10
    status=1
fi
exit $status
