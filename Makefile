# relm: build, test, bench, install. Everything is written under build/.
#   make            build build/relm (installs missing Debian packages first)
#   make run        build and start the REPL on ./relm.db (or $RELM_DB)
#   make test       every C test and busted spec; ends "N passed, N failed"
#   make asan       the same suite under -fsanitize=address,undefined
#   make torture    crash, concurrency, fuzz, sandbox-escape and audit-tamper
#                   runs (short; LONG=1 or TORTURE=long for the long one)
#   make bench      benchmarks in tests/bench, each a ratio to a baseline
#   make lint       rooms check (who may include lua.h, uv.h), luacheck, cppcheck,
#                   i18n check (unmarked messages, incomplete .po, stale .pot)
#   make pot        re-extract po/relm.pot and merge it into every po/*.po
#   make install    PREFIX=/usr/local DESTDIR= ; make uninstall ; make clean
#   make V=1        show the full compiler command lines

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc
DATADIR  = $(PREFIX)/share/relm
MANDIR   = $(PREFIX)/share/man/man1
LOCALEDIR = $(PREFIX)/share/locale
# Languages with a catalogue (po/<lang>.po) and a man page (docs/<lang>/relm.1).
LINGUAS  = pt_BR es

# Debian packages the build, the tests and the tools need.
DEB_PACKAGES = gcc libc6-dev make pkg-config lua5.4 liblua5.4-dev \
               libsqlite3-dev libuv1-dev libedit-dev libcsv-dev lua-busted \
               lua-check lua-cjson cppcheck lua-luv-dev \
               libcurl4-openssl-dev python3-aiosmtpd libical-dev \
               libh2o-dev libsodium-dev libssl-dev openssl curl nodejs
PKGS = lua5.4 sqlite3 libuv libedit lua5.4-luv libcurl libical libh2o libsodium openssl
# The sqlite3 shell: the baseline of tests/bench/cmdb_import_servers (.import).
DEB_PACKAGES += sqlite3
# gettext: xgettext, msgfmt, msgmerge for the catalogues (po/, issue 13);
# locales: localedef, so the specs can generate pt_BR.UTF-8 and es_ES.UTF-8.
DEB_PACKAGES += gettext locales
# The tz database: business calendars read their zone's offsets from it.
DEB_PACKAGES += tzdata
# The browser the web desktop's test drives (tests/spec/web, headless).
DEB_PACKAGES += chromium
# The HTTP benchmarks: wrk drives the load, h2o serves the baseline's file.
DEB_PACKAGES += wrk h2o

# Quiet output: one "CC core/base/store.c" line per step; V=1 shows commands.
ifeq ($(V),1)
Q   =
say = @:
else
Q   = @
say = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

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

# pkg-config runs lazily, the first time a recipe needs the flags: recipes
# run after the deps step, so on a fresh machine the flags come from the
# packages it has just installed (a ':=' here would read them before).
# The eval caches the answer so pkg-config runs once per make, not per file.
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
# Not linked but opened on first use (core/base/lazylib.h): libical (ICU
# behind it), libcurl (GnuTLS, Kerberos, LDAP behind it), H2O and OpenSSL
# would cost every relm start milliseconds; only their headers are used
# at build time.
LAZY_PKGS  = libical libcurl libh2o openssl
PKG_LIBS   = $(eval PKG_LIBS := $$(shell pkg-config --libs $(filter-out $(LAZY_PKGS),$(PKGS))))$(PKG_LIBS)
# '+=' keeps these recursive (lazy) and lets a rule written as
# $(CC) $(CPPFLAGS) $(CFLAGS) ... $(LDLIBS) get every flag.
CPPFLAGS += -Icore -I$(BUILD)/gen -D_GNU_SOURCE
CFLAGS   += -std=c11 $(WARN) $(OPT) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lcsv -lm
COMPILE   = $(CC) $(CPPFLAGS) $(CFLAGS)
LINK      = $(CC) $(CFLAGS) $(LDFLAGS)

# core/ is in rooms (docs/internals.md): base/ (no Lua, no domain), cmdb/,
# the release engine at the top, lua/ (host, sandbox, bindings), and later
# loop/ and http/. Every room's sources build into the one binary.
ROOMS      = core core/base core/cmdb core/lua core/loop core/http
CORE_SRC   = $(sort $(foreach r,$(ROOMS),$(wildcard $(r)/*.c)))
REPL_SRC   = $(sort $(wildcard repl/*.c))
BINDINGS   = $(sort $(wildcard core/lua/l_*.c))
MIGRATIONS = $(sort $(wildcard core/base/migrations/*.sql))
CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations.o
REPL_OBJ   = $(REPL_SRC:%.c=$(BUILD)/obj/%.o)
CTEST_SRC  = $(sort $(wildcard tests/c/test_*.c))
CTEST_BIN  = $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
PTYDRIVE   = $(BUILD)/tests/ptydrive
DEPS_STAMP = $(BUILD)/.deps-ok
GEN        = $(BUILD)/gen/modules.inc $(BUILD)/gen/config.h
MO         = $(LINGUAS:%=$(BUILD)/locale/%/LC_MESSAGES/relm.mo)
# Every source a message may come from; core/loop, core/http and notify.lua
# are extracted too (their authors mark their own messages).
POT_C      = $(sort $(CORE_SRC) $(REPL_SRC))
POT_LUA    = $(sort $(wildcard lua/relm/*.lua workflows/*.lua portfolios/*.lua))
# The engine's Lua modules precompiled (core/lua/host.c, luac_searcher),
# and what a command running relm needs: the binary, its catalogues, them.
LUA_MOD    = $(sort $(wildcard lua/relm/*.lua))
LUAC       = $(LUA_MOD:lua/%.lua=$(BUILD)/luac/%.luac) $(BUILD)/luac/HOME
ENGINE     = $(BUILD)/relm $(MO) $(LUAC)

.PHONY: all deps run test asan bench lint check-rooms check-i18n pot install uninstall clean torture FORCE

all: $(ENGINE)

# Install what is missing: only when something is, and only as root;
# otherwise print the command to run. The stamp depends on the Makefile so
# a package added to the list is checked on the next build.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "  DEPS   apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	      || { echo "relm: apt-get install failed"; exit 1; }; \
	  else \
	    echo "relm needs these Debian packages; run:"; \
	    echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@mkdir -p $(@D) && touch $@

# One RELM_MODULE(name) line per core/lua/l_<name>.c: host.c preloads them all.
$(BUILD)/gen/modules.inc: $(BINDINGS) Makefile | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@for f in $(BINDINGS); do n=$${f#core/lua/l_}; echo "RELM_MODULE($${n%.c})"; \
	  done > $@.tmp && mv $@.tmp $@

# Where the installed Lua files live. Rewritten only when PREFIX changes, so
# `make install PREFIX=...` rebuilds host.o and nothing else.
$(BUILD)/gen/config.h: FORCE | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@printf '#define RELM_DATADIR "%s"\n#define RELM_LOCALEDIR "%s"\n' \
	  '$(DATADIR)' '$(LOCALEDIR)' > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/gen/migrations.c: $(MIGRATIONS) core/base/gen_migrations.sh | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)sh core/base/gen_migrations.sh $@ $(MIGRATIONS)

$(BUILD)/obj/%.o: %.c | $(GEN) $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(COMPILE) -MMD -MP -c -o $@ $<

$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(COMPILE) -c -o $@ $<

$(BUILD)/relm: $(CORE_OBJ) $(REPL_OBJ)
	$(call say,LD,$@)
	$(Q)$(LINK) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/c/%.c $(CORE_OBJ) $(GEN)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(COMPILE) -Itests/c -o $@ $< $(CORE_OBJ) $(LDLIBS)

# The pseudo-terminal driver the REPL specs type through (not a C test).
$(PTYDRIVE): tests/pty/ptydrive.c | $(GEN)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(COMPILE) -o $@ $< -lutil

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# The catalogues: one .mo per language, compiled from po/<lang>.po; the
# binary reads them from locale/ beside itself (core/base/i18n.c).
$(BUILD)/locale/%/LC_MESSAGES/relm.mo: po/%.po | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,MSGFMT,$<)
	$(Q)msgfmt --check -o $@ $<

# Bytecode of each engine module, named as if read from this tree (its
# chunk name tells the engine's frames from the user's); luac/HOME says
# which tree, and changes (so every module is compiled again) only when the
# tree moves. The host reads a module's bytecode only while it is not
# older than the source.
$(BUILD)/luac/HOME: FORCE
	@mkdir -p $(@D)
	@echo '$(CURDIR)' | cmp -s - $@ || echo '$(CURDIR)' > $@
$(BUILD)/luac/%.luac: lua/%.lua core/lua/bytecode.lua $(BUILD)/luac/HOME | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,LUAC,$<)
	$(Q)lua5.4 core/lua/bytecode.lua $< $(CURDIR)/$< $@

# po/relm.pot from the sources (po/extract.sh), then merged into every
# po/<lang>.po: new messages arrive untranslated, changed ones fuzzy, and
# `make lint` names them until they are translated (docs/languages.md).
po/relm.pot: $(POT_C) $(POT_LUA) po/extract.sh po/helpdocs.lua | $(DEPS_STAMP)
	$(call say,XGETTEXT,$@)
	$(Q)POT_C='$(POT_C)' POT_LUA='$(POT_LUA)' sh po/extract.sh $@
pot: po/relm.pot
	$(Q)for l in $(LINGUAS); do msgmerge -q --update --backup=none --previous po/$$l.po po/relm.pot \
	  || exit 1; done

# Messages a person reads that are not marked, .po files with untranslated
# or fuzzy entries, and a .pot that no longer matches the sources.
check-i18n: | $(DEPS_STAMP)
	$(call say,I18N,po core repl lua)
	$(Q)POT_C='$(POT_C)' POT_LUA='$(POT_LUA)' LINGUAS='$(LINGUAS)' sh po/check.sh

# npm, for the two test tools that come from the npm registry: nodejs and
# npm from apt when `npm` is missing (checked by command: a NodeSource
# nodejs carries its own npm, and Debian's npm package would conflict).
NPM_STAMP = $(BUILD)/.npm-ok
$(NPM_STAMP): | $(DEPS_STAMP)
	@command -v npm >/dev/null || { if [ "$$(id -u)" = 0 ]; then \
	  echo "  DEPS   apt-get install nodejs npm"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; \
	  else echo "relm's tests need: sudo apt-get install -y nodejs npm"; exit 1; fi; }
	@mkdir -p $(@D) && touch $@

# playwright-core from the npm registry, pinned by tests/browser/package-lock.json,
# for the browser test.
BROWSER_MODULES = $(BUILD)/npm/browser/node_modules/playwright-core/package.json
$(BROWSER_MODULES): tests/browser/package.json tests/browser/package-lock.json | $(NPM_STAMP)
	@mkdir -p $(BUILD)/npm/browser && cp tests/browser/package.json tests/browser/package-lock.json $(BUILD)/npm/browser/
	$(call say,NPM,playwright-core)
	$(Q)cd $(BUILD)/npm/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

# The OpenAPI 3.1 validator the HTTP specs run on /api/v1/openapi.json:
# @redocly/cli, pinned by tests/openapi/package-lock.json, installed by npm
# into build/npm/openapi; it lints offline. Like the browser driver it is
# part of the test suite: when npm cannot install it, `make test` fails.
OPENAPI_LINT = $(BUILD)/npm/openapi/node_modules/.bin/redocly
$(OPENAPI_LINT): tests/openapi/package.json tests/openapi/package-lock.json | $(NPM_STAMP)
	$(call say,NPM,@redocly/cli into $(BUILD)/npm/openapi)
	$(Q)mkdir -p $(BUILD)/npm/openapi && \
	  cp tests/openapi/package.json tests/openapi/package-lock.json $(BUILD)/npm/openapi/ && \
	  cd $(BUILD)/npm/openapi && npm ci --no-audit --no-fund --loglevel=error >/dev/null && \
	  touch node_modules/.bin/redocly

run: $(ENGINE)
	$(BUILD)/relm repl

test: $(ENGINE) $(CTEST_BIN) $(PTYDRIVE) $(OPENAPI_LINT) $(BROWSER_MODULES)
	@RELM_BIN=$(BUILD)/relm BUILD=$(BUILD) sh tests/run.sh

# The whole suite again, sanitized, in its own build directory. Leak
# checking stays on: a leak in the core is a finding like any other.
asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 test

# The torture suite (tests/torture/run.sh): the fuzzer and the escape
# catalogue run on the sanitized binary, built in build/asan as `make asan`
# builds it (only the binary here).
TORTURE ?= short
ifeq ($(LONG),1)
TORTURE = long
endif
torture: $(ENGINE) $(BUILD)/torture/sqlexec
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 build/asan/relm
	@RELM_BIN=$(BUILD)/relm RELM_ASAN=build/asan/relm \
	  SQLEXEC=$(BUILD)/torture/sqlexec TORTURE_DIR=$(BUILD)/torture/work \
	  sh tests/torture/run.sh $(TORTURE)

# Edits a database file behind relm's back, for the audit tamper catalogue.
$(BUILD)/torture/sqlexec: tests/torture/sqlexec.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) -std=c11 $(WARN) -O2 $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS)

bench: $(ENGINE) $(BUILD)/bench/timeit
	@RELM_BIN=$(BUILD)/relm BUILD=$(BUILD) sh tests/bench/run.sh

# Times whole commands for the benchmark scenarios.
$(BUILD)/bench/timeit: tests/bench/timeit.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -o $@ $<

# The rooms (docs/internals.md): only core/lua/ and repl/ may include the
# Lua headers (lua.h, lauxlib.h, lualib.h, luv.h, or a lua/ header, which
# brings them in); only core/lua/, core/loop/, core/http/ and repl/ may
# include uv.h. ROOMS_TREE checks another tree (the rooms spec uses it).
ROOMS_TREE ?= .
LUA_INCLUDE = ^[[:space:]]*\#[[:space:]]*include[[:space:]]*[<"]((lua|lauxlib|lualib|luv/luv)\.h|lua/)
UV_INCLUDE  = ^[[:space:]]*\#[[:space:]]*include[[:space:]]*[<"]uv\.h
check-rooms:
	$(call say,ROOMS,core repl)
	$(Q)cd '$(ROOMS_TREE)' && bad=$$( \
	  grep -rnE '$(LUA_INCLUDE)' core repl 2>/dev/null | grep -vE '^(core/lua|repl)/'; \
	  grep -rnE '$(UV_INCLUDE)' core repl 2>/dev/null \
	    | grep -vE '^(core/lua|core/loop|core/http|repl)/'); \
	if [ -n "$$bad" ]; then echo "$$bad" | sed 's|$$| <- not allowed in this room (docs/internals.md)|'; \
	  exit 1; fi

lint: check-rooms check-i18n $(GEN)
	$(call say,LUACHECK,lua tests)
	$(Q)luacheck -q --formatter plain $(wildcard lua workflows portfolios tests)
	$(call say,CPPCHECK,core repl)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 --inline-suppr -D__GNUC__ -Icore -I$(BUILD)/gen core repl

install: $(BUILD)/relm $(MO)
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)
	$(Q)install -m 755 $(BUILD)/relm $(DESTDIR)$(PREFIX)/bin/relm
	$(Q)rm -rf $(addprefix $(DESTDIR)$(DATADIR)/,lua luac workflows portfolios)
	$(Q)cp -R $(wildcard lua workflows portfolios) $(DESTDIR)$(DATADIR)/
	$(Q)install -d $(DESTDIR)$(DATADIR)/luac/relm
	$(Q)for f in $(LUA_MOD); do m=$${f#lua/}; \
	  lua5.4 core/lua/bytecode.lua $$f $(DATADIR)/$$f $(DESTDIR)$(DATADIR)/luac/$${m%.lua}.luac || exit 1; done
	$(Q)echo '$(DATADIR)' > $(DESTDIR)$(DATADIR)/luac/HOME
	$(Q)install -m 644 docs/relm.1 $(DESTDIR)$(MANDIR)/relm.1
	$(Q)for l in $(LINGUAS); do \
	  install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES $(DESTDIR)$(PREFIX)/share/man/$$l/man1 && \
	  install -m 644 $(BUILD)/locale/$$l/LC_MESSAGES/relm.mo $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/relm.mo && \
	  install -m 644 docs/$$l/relm.1 $(DESTDIR)$(PREFIX)/share/man/$$l/man1/relm.1 || exit 1; done

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/relm $(DESTDIR)$(DATADIR) \
	  $(DESTDIR)$(MANDIR)/relm.1 \
	  $(foreach l,$(LINGUAS),$(DESTDIR)$(LOCALEDIR)/$(l)/LC_MESSAGES/relm.mo \
	    $(DESTDIR)$(PREFIX)/share/man/$(l)/man1/relm.1)

clean:
	rm -rf $(BUILD)
