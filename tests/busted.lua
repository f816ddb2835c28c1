-- busted.lua: run busted inside the relm binary, so specs see the real C
-- modules and database (tests/run.sh gives each spec file a fresh one).
require("busted.runner")({ standalone = false })
