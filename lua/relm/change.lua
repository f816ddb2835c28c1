-- relm/change.lua: minimal change records (number, title, status, CIs) that
-- releases relate to: add{title=, cis={...}}, get, update, list. See docs/related.md.
return require("relm.related").api("change")
