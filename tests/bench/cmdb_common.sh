# cmdb_common.sh: sourced by the cmdb_*.bench.sh scenarios: builds the C
# tool and, once per build directory, the synthetic 1M-CI CMDB (CSV files
# and a database loaded by the bare loop), kept in $BUILD/bench/cmdb1m.
BUILD=${BUILD:-build}
RELM_BIN=${RELM_BIN:-$(pwd)/$BUILD/relm}
if [ -z "${BENCH_TMP:-}" ]; then # run on its own, not by run.sh
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/relm-bench.XXXXXX")
    trap 'rm -rf "$BENCH_TMP"' EXIT INT TERM
fi
TOOL=$(pwd)/$BUILD/bench/cmdb_tool
DATA=$(pwd)/$BUILD/bench/cmdb1m
IMPACT_LUA=$(pwd)/tests/bench/cmdb_impact.lua
TYPES='for _, t in ipairs{"network", "cluster", "service", "app", "server", "component"} do relm.cmdb.define_type{name = t} end'

mkdir -p "$BUILD/bench" "$DATA"
if [ ! -x "$TOOL" ] || [ tests/bench/cmdb_tool.c -nt "$TOOL" ]; then
    ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -o "$TOOL" tests/bench/cmdb_tool.c \
        $(pkg-config --cflags --libs sqlite3) || exit 1
    rm -f "$DATA"/*
fi
if [ ! -s "$DATA/rels.csv" ]; then
    "$TOOL" gen "$DATA" >&2 || exit 1
fi
if [ ! -s "$DATA/cmdb.db" ]; then
    rm -f "$DATA"/cmdb.db*
    "$RELM_BIN" --db "$DATA/cmdb.db" -e "$TYPES" >/dev/null || exit 1
    "$TOOL" import "$DATA/cmdb.db" "$DATA/cis.csv" "$DATA/rels.csv" >&2 || exit 1
fi

# min and median of the numbers on standard input, as "MIN MEDIAN".
min_median() {
    sort -g | awk '{ v[NR] = $1 } END { printf "%s %s\n", v[1], v[int((NR + 1) / 2)] }'
}
