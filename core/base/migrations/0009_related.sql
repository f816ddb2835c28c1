-- 0009 related: what a release is linked to (CIs, changes, problems,
-- incidents, known errors, knowledge, documents, media, projects), the
-- minimal records of those objects, the text index behind relm.search and
-- the indexes the release desktop reads through.

-- Minimal records of objects that live in other ITSM processes: a number
-- (generated as CHG-000001, PRB-..., INC-..., KE-..., KB-..., DOC-...,
-- PRJ-... unless given), a title, a free-text status and the CIs involved.
CREATE TABLE records (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('change', 'problem', 'incident',
                    'known_error', 'knowledge', 'document', 'project')),
    number      TEXT NOT NULL CHECK (length(number) > 0),
    title       TEXT NOT NULL CHECK (length(title) > 0),
    description TEXT,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (length(status) > 0),
    url         TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX records_number ON records(kind, number);

-- Per-kind counter behind the generated numbers.
CREATE TABLE record_numbers (
    kind TEXT PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE record_cis (
    record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
    ci_id     INTEGER NOT NULL REFERENCES cis(id),
    PRIMARY KEY (record_id, ci_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_cis_ci ON record_cis(ci_id);

-- The CIs a release touches. via_record_id names the change that brought
-- the CI in (NULL: linked directly), so unrelating the change takes its
-- CIs away again.
CREATE TABLE release_cis (
    release_id    INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    ci_id         INTEGER NOT NULL REFERENCES cis(id),
    note          TEXT,
    via_record_id INTEGER REFERENCES records(id),
    actor_id      INTEGER,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (release_id, ci_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX release_cis_ci ON release_cis(ci_id);

-- Every other link: to a record (change ... project) or a medium of the
-- definitive media library.
CREATE TABLE release_links (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('change', 'problem', 'incident',
                   'known_error', 'knowledge', 'document', 'project',
                   'media')),
    record_id  INTEGER REFERENCES records(id),
    media_id   INTEGER REFERENCES media(id),
    note       TEXT,
    actor_id   INTEGER,
    created_at TEXT NOT NULL,
    CHECK ((record_id IS NULL) <> (media_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX release_links_target ON release_links(release_id,
    ifnull(record_id, 0), ifnull(media_id, 0));
CREATE INDEX release_links_record ON release_links(record_id)
    WHERE record_id IS NOT NULL;

-- Text search over releases (relm.search.releases{text=}): an external
-- content FTS5 index kept in step with releases by the triggers below.
CREATE VIRTUAL TABLE releases_fts USING fts5(title, description,
    closure_text, content = 'releases', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER releases_fts_insert AFTER INSERT ON releases BEGIN
    INSERT INTO releases_fts (rowid, title, description, closure_text)
        VALUES (new.id, new.title, new.description, new.closure_text);
END;
CREATE TRIGGER releases_fts_delete AFTER DELETE ON releases BEGIN
    INSERT INTO releases_fts (releases_fts, rowid, title, description,
        closure_text) VALUES ('delete', old.id, old.title, old.description,
        old.closure_text);
END;
CREATE TRIGGER releases_fts_update AFTER UPDATE OF title, description,
    closure_text ON releases BEGIN
    INSERT INTO releases_fts (releases_fts, rowid, title, description,
        closure_text) VALUES ('delete', old.id, old.title, old.description,
        old.closure_text);
    INSERT INTO releases_fts (rowid, title, description, closure_text)
        VALUES (new.id, new.title, new.description, new.closure_text);
END;
INSERT INTO releases_fts (releases_fts) VALUES ('rebuild');

-- The desktop asks "what is open for this person, these groups": open
-- releases are the few, so these lead with the owner and the status.
CREATE INDEX releases_responsible_status ON releases(responsible_id, status);
CREATE INDEX release_shares_group ON release_shares(group_id, release_id)
    WHERE group_id IS NOT NULL;
CREATE INDEX release_shares_user ON release_shares(user_id, release_id)
    WHERE user_id IS NOT NULL;
-- The search's period filters.
CREATE INDEX releases_created ON releases(created_at);
CREATE INDEX releases_closed ON releases(closed_at) WHERE closed_at IS NOT NULL;
