#!/bin/sh
# tamper.sh: the audit tamper catalogue. Each tamper edits a copy of a
# database straight through SQLite, as someone with write access to the
# file could (dropping the append-only triggers first where needed); then
# relm.audit.verify() must report it: the chain, full-length hashing, the
# schema objects it rests on and each release against its last occurrence.
# Tampers marked [anchor] are checked with the head hash an auditor wrote
# down before (relm.audit.verify(id, hash)): without it a cut tail cannot
# be seen. Prints "tamper <tried> <held> <failed>".
#   sh tests/torture/tamper.sh RELM SQLEXEC WORKDIR
set -u
RELM=$1 SQLEXEC=$2 W=$3
mkdir -p "$W"
base=$W/tamper-base.db
rm -f "$base" "$base"-wal "$base"-shm
"$RELM" --db "$base" run tests/torture/setup.lua >/dev/null &&
"$RELM" --db "$base" run tests/torture/storm.lua 120 7 >/dev/null || {
    echo "tamper: cannot build the base database"; echo "tamper 1 0 1"; exit 1; }
head=$("$RELM" --db "$base" -e 'local r = relm.sql("SELECT id, hash FROM occurrences ORDER BY id DESC LIMIT 1")[1] print(r.id .. " " .. r.hash)')
head_id=${head% *} head_hash=${head#* }
mid=$((head_id / 2))
rel=$("$RELM" --db "$base" -e 'print(relm.sql("SELECT subject_id FROM occurrences WHERE subject = '"'release'"' ORDER BY id DESC LIMIT 1")[1].subject_id)')

unlock="DROP TRIGGER occurrences_no_update; DROP TRIGGER occurrences_no_delete;"
relock="CREATE TRIGGER occurrences_no_update BEFORE UPDATE ON occurrences BEGIN SELECT RAISE(ABORT, 'the occurrence log is append-only'); END;
CREATE TRIGGER occurrences_no_delete BEFORE DELETE ON occurrences BEGIN SELECT RAISE(ABORT, 'the occurrence log is append-only'); END;"

tried=0 held=0 failed=0
# try NAME MARK SQL: MARK is "-" or "anchor".
try() {
    name=$1 mark=$2 sql=$3
    tried=$((tried + 1))
    db=$W/tamper.db
    rm -f "$db" "$db"-wal "$db"-shm
    cp "$base" "$db"
    if ! "$SQLEXEC" "$db" "$sql" 2>"$W/tamper.err"; then
        failed=$((failed + 1))
        echo "tamper: FAILED $name: could not apply: $(cat "$W/tamper.err")"
        return
    fi
    if [ "$mark" = anchor ]; then
        verdict=$("$RELM" --db "$db" -e "print((relm.audit.verify($head_id, '$head_hash')))" 2>&1)
    else
        verdict=$("$RELM" --db "$db" -e 'print((relm.audit.verify()))' 2>&1)
    fi
    case $verdict in
    true)
        failed=$((failed + 1))
        echo "tamper: FAILED $name: relm.audit.verify() says true" ;;
    *)  held=$((held + 1)) ;;
    esac
}

try "edit a snapshot (after) of an occurrence" - \
    "$unlock UPDATE occurrences SET after = replace(after, '\"title\":\"storm', '\"title\":\"forged') WHERE id = (SELECT max(id) FROM occurrences WHERE subject = 'release'); $relock"
try "edit the actor of an occurrence" - \
    "$unlock UPDATE occurrences SET actor = 'mallory' WHERE id = $mid; $relock"
try "edit the action of an occurrence" - \
    "$unlock UPDATE occurrences SET action = 'approve' WHERE id = $mid; $relock"
try "delete an occurrence in the middle" - \
    "$unlock DELETE FROM occurrences WHERE id = $mid; $relock"
try "reorder two occurrences" - \
    "$unlock UPDATE occurrences SET id = -1 WHERE id = $mid; UPDATE occurrences SET id = $mid WHERE id = $mid + 1; UPDATE occurrences SET id = $mid + 1 WHERE id = -1; $relock"
try "append a forged occurrence" - \
    "INSERT INTO occurrences (at, actor, subject, subject_id, action, prev_hash, hash) SELECT at, 'mallory', 'release', $rel, 'accept', hash, '0000000000000000000000000000000000000000000000000000000000000000' FROM occurrences WHERE id = $head_id"
try "rewrite every hash of the chain (bogus)" - \
    "$unlock UPDATE occurrences SET hash = lower(hex(randomblob(32))); $relock"
try "NUL-injected note (text after a NUL)" - \
    "$unlock UPDATE occurrences SET note = coalesce(note, '') || char(0) || ' approved by CFO' WHERE id = $mid; $relock"
try "NUL-injected snapshot" - \
    "$unlock UPDATE occurrences SET after = after || char(0) || 'forged' WHERE id = $mid; $relock"
# The storm picks releases with SQLite's random(), so the last one may
# already be closed: the forged state is always one it is not in.
try "direct UPDATE of a release's state" - \
    "UPDATE releases SET state = CASE state WHEN 'closed' THEN 'registration' ELSE 'closed' END,
        status = CASE state WHEN 'closed' THEN 'open' ELSE 'closed' END WHERE id = $rel"
try "direct UPDATE of a release's title" - \
    "UPDATE releases SET title = 'forged' WHERE id = $rel"
try "dropped append-only triggers" - "$unlock"
try "cut the tail of the chain" anchor \
    "$unlock DELETE FROM occurrences WHERE id = $head_id; $relock"
try "empty the chain" anchor \
    "$unlock DELETE FROM occurrences; $relock"

echo "tamper $tried $held $failed"
[ "$failed" -eq 0 ]
