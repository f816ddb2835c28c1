-- .luacheckrc: what `make lint` tells luacheck about relm's Lua.
-- The engine's Lua runs on Lua 5.4 with one global of its own, `relm`.
std = "lua54"
read_globals = { "relm" }
max_line_length = 120

-- Specs run under busted inside the relm binary; they may stub fields of
-- `relm` and set up what they test.
files["tests/**/*_spec.lua"] = { std = "+busted", globals = { "relm" } }
files["tests/spec/**/*.lua"] = { std = "+busted", globals = { "relm" } }

-- Workflow files run in the sandbox with the workflow DSL's words as globals
-- (docs/workflows.md). The fixtures include deliberately broken files.
local workflow_words = { "workflow", "state", "transition", "on_enter", "on_exit" }
files["workflows/*.lua"] = { std = "lua54", read_globals = workflow_words, unused_args = false }
exclude_files = { "tests/fixtures/workflows/*" }
