-- 0008 approvals: who was asked to approve a release, level by level, and
-- what each of them decided. Rules (workflows/rules/*.lua) decide who is
-- asked; these tables keep what was asked and answered.

-- One round per visit of a release to a state some transition of which
-- needs approval (approval = true in the workflow). status: open (waiting
-- for decisions), approved (every request approved, or none asked),
-- rejected, withdrawn (the release left the state before it was decided).
CREATE TABLE approval_rounds (
    id         INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    state      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('open', 'approved', 'rejected',
                   'withdrawn')),
    created_at TEXT NOT NULL,
    closed_at  TEXT
) STRICT;
CREATE INDEX approval_rounds_release ON approval_rounds(release_id, id);

-- What one rule asked of one approver (a group with a quorum, or a
-- person) at one level. needed is the number of approvals the quorum came
-- to when asked; veto = 1 makes a single rejection reject the request.
-- status: waiting (an earlier level of the rule is not satisfied yet),
-- pending, approved, rejected, withdrawn.
CREATE TABLE approval_requests (
    id         INTEGER PRIMARY KEY,
    round_id   INTEGER NOT NULL REFERENCES approval_rounds(id) ON DELETE CASCADE,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    rule       TEXT NOT NULL,
    source     TEXT,
    level      INTEGER NOT NULL CHECK (level >= 1),
    group_id   INTEGER REFERENCES groups(id),
    user_id    INTEGER REFERENCES users(id),
    quorum     TEXT NOT NULL,
    needed     INTEGER NOT NULL CHECK (needed >= 1),
    veto       INTEGER NOT NULL DEFAULT 1 CHECK (veto IN (0, 1)),
    status     TEXT NOT NULL CHECK (status IN ('waiting', 'pending',
                   'approved', 'rejected', 'withdrawn')),
    created_at TEXT NOT NULL,
    decided_at TEXT,
    CHECK ((group_id IS NULL) <> (user_id IS NULL))
) STRICT;
CREATE INDEX approval_requests_round ON approval_requests(round_id, rule, level);
-- relm.approval.pending{user=} and the desktop: what waits for a group or
-- a person.
CREATE INDEX approval_requests_group ON approval_requests(group_id, status)
    WHERE group_id IS NOT NULL;
CREATE INDEX approval_requests_user ON approval_requests(user_id, status)
    WHERE user_id IS NOT NULL;

-- One decision per person and request (a second one is refused).
CREATE TABLE approval_decisions (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES approval_requests(id) ON DELETE CASCADE,
    round_id   INTEGER NOT NULL REFERENCES approval_rounds(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    decision   TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    note       TEXT,
    at         TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX approval_decisions_once ON approval_decisions(request_id, user_id);
CREATE INDEX approval_decisions_round ON approval_decisions(round_id, user_id);
