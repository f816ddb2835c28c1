# relm: build, test, bench, install. Everything is written under build/.
#   make            build build/relm (installs missing Debian packages first)
#   make run        build and start the REPL on ./relm.db
#   make test       every C test and busted spec; ends "N passed, N failed"
#   make asan       the same suite under -fsanitize=address,undefined
#   make bench      benchmarks in tests/bench, each a ratio to a baseline
#   make lint       luacheck over the Lua, cppcheck over the C
#   make install    PREFIX=/usr/local DESTDIR= ; make clean

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
DATADIR  = $(PREFIX)/share/relm

# Debian packages the build, the tests and the tools need.
DEB_PACKAGES = gcc make pkg-config lua5.4 liblua5.4-dev libsqlite3-dev \
               libuv1-dev libedit-dev libcsv-dev lua-busted lua-check \
               lua-cjson cppcheck
PKGS = lua5.4 sqlite3 libuv libedit

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
ifeq ($(SANITIZE),1)
OPT  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
       -fno-sanitize-recover=undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS  += -Icore -I$(BUILD)/gen -DRELM_DATADIR='"$(DATADIR)"' -D_GNU_SOURCE
CFLAGS    += -std=c11 $(WARN) $(OPT) $(PKG_CFLAGS)
LDLIBS    += $(PKG_LIBS) -lcsv -lm

CORE_SRC   = $(sort $(wildcard core/*.c))
REPL_SRC   = $(sort $(wildcard repl/*.c))
BINDINGS   = $(sort $(wildcard core/l_*.c))
MIGRATIONS = $(sort $(wildcard core/migrations/*.sql))
CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations.o
REPL_OBJ   = $(REPL_SRC:%.c=$(BUILD)/obj/%.o)
CTEST_SRC  = $(sort $(wildcard tests/c/test_*.c))
CTEST_BIN  = $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
PTYDRIVE   = $(BUILD)/tests/ptydrive
DEPS_STAMP = $(BUILD)/.deps-ok

.PHONY: all deps run test asan bench lint install uninstall clean

all: $(BUILD)/relm

# Install what is missing: only when something is, and only as root;
# otherwise print the command to run.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "relm needs these Debian packages; run:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@mkdir -p $(@D) && touch $@

$(BUILD)/gen/modules.inc: $(BINDINGS) Makefile | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@for f in $(BINDINGS); do n=$${f#core/l_}; echo "RELM_MODULE($${n%.c})"; \
	  done > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) core/gen_migrations.sh | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@sh core/gen_migrations.sh $@ $(MIGRATIONS)

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/modules.inc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/relm: $(CORE_OBJ) $(REPL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/c/%.c $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/c -o $@ $< $(CORE_OBJ) $(LDLIBS)

# The pseudo-terminal driver the REPL specs type through (not a C test).
$(PTYDRIVE): tests/pty/ptydrive.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< -lutil

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

run: $(BUILD)/relm
	$(BUILD)/relm repl

test: $(BUILD)/relm $(CTEST_BIN) $(PTYDRIVE)
	@RELM_BIN=$(BUILD)/relm BUILD=$(BUILD) sh tests/run.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 test

bench: $(BUILD)/relm
	@RELM_BIN=$(BUILD)/relm BUILD=$(BUILD) sh tests/bench/run.sh

lint: $(DEPS_STAMP)
	luacheck -q lua workflows portfolios tests
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 --inline-suppr -Icore -I$(BUILD)/gen core repl

install: $(BUILD)/relm
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR) \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/relm $(DESTDIR)$(PREFIX)/bin/relm
	cp -R lua workflows portfolios $(DESTDIR)$(DATADIR)/
	install -m 644 docs/relm.1 $(DESTDIR)$(PREFIX)/share/man/man1/relm.1

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/relm $(DESTDIR)$(DATADIR) \
	  $(DESTDIR)$(PREFIX)/share/man/man1/relm.1

clean:
	rm -rf build
