/* test_audit.c: SHA-256 vectors, and the occurrence log's hash chain under
 * tampering by a second SQLite connection (what Lua cannot do). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"
#include "release.h"
#include "workflow.h"
#include "base/sha256.h"
#include "base/store.h"

static void test_sha256(void)
{
    char hex[65];
    relm_sha256_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    relm_sha256_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    relm_sha256_hex(m, strlen(m), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    /* Streaming in odd pieces gives the same digest as one call. */
    relm_sha256 c;
    unsigned char dig[32];
    char hex2[65];
    char big[1000];
    memset(big, 'a', sizeof big);
    relm_sha256_init(&c);
    for (size_t off = 0; off < sizeof big; off += 7)
        relm_sha256_update(&c, big + off, off + 7 <= sizeof big ? 7 : sizeof big - off);
    relm_sha256_final(&c, dig);
    relm_sha256_tohex(dig, hex2);
    relm_sha256_hex(big, sizeof big, hex);
    CHECK(strcmp(hex, hex2) == 0);
}

/* A store at path with n releases registered (and captured) by admin. */
static relm_store *fresh(const char *path, int n)
{
    relm_diag d;
    relm_store *s = NULL;
    relm_store_opts o = {.create = 1};
    unlink(path);
    if (relm_store_open(&s, path, &o, NULL, &d) != RELM_OK ||
        relm_store_set_actor(s, "admin", &d) != RELM_OK) {
        fprintf(stderr, "open: %s\n", d.msg);
        exit(1);
    }
    /* The one-state workflow "w", as the engine would define it. */
    relm_workflow *w = relm_workflow_new("w");
    CHECK(relm_workflow_set_ends(w, "s", NULL, NULL, "s", &d) == RELM_OK &&
          relm_workflow_add_state(w, "s", "registration", RELM_WF_SUSPEND,
                                  NULL, 0, NULL, 0, &d) == RELM_OK &&
          relm_workflow_define(s, w, &d) == RELM_OK);
    for (int i = 0; i < n; i++) {
        relm_fields f;
        relm_fields_init(&f);
        relm_fields_set_text(&f, "title", "t", 1, &d);
        int64_t id;
        CHECK(relm_release_register(s, "w", "s", "registration", &f, &id, NULL,
                                    &d) == RELM_OK);
        relm_fields_free(&f);
        relm_release_op op = {.action = "capture"};
        CHECK(relm_release_apply(s, id, &op, NULL, &d) == RELM_OK);
    }
    return s;
}

/* The triggers as migration 0005 makes them, for an attacker who puts
 * them back after a change. */
#define NO_UPDATE                                                         \
    "CREATE TRIGGER occurrences_no_update BEFORE UPDATE ON occurrences\n" \
    "BEGIN\n    SELECT RAISE(ABORT, 'the occurrence log is "             \
    "append-only');\nEND"
#define NO_DELETE                                                         \
    "CREATE TRIGGER occurrences_no_delete BEFORE DELETE ON occurrences\n" \
    "BEGIN\n    SELECT RAISE(ABORT, 'the occurrence log is "             \
    "append-only');\nEND"

/* Run sql on a second connection to path, as an attacker would. */
static int tamper(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* Make a fresh log of three releases at path, tamper with it through sql
 * and verify it: 1 when the verdict is "broken at row bad_id" with a
 * reason holding why. The store is closed again either way. */
static int broken_at(const char *path, const char *sql, int64_t bad_id,
                     const char *why)
{
    relm_diag d;
    relm_audit_report r;
    relm_store *s = fresh(path, 3);
    int ok = tamper(path, sql) == SQLITE_OK &&
             relm_audit_verify(s, &r, &d) == RELM_OK && r.ok == 0 &&
             r.bad_id == bad_id && strstr(r.reason, why) != NULL;
    relm_store_close(s);
    return ok;
}

static void test_chain(void)
{
    const char *path = "test_audit.db";
    relm_diag d;
    relm_audit_report r;
    relm_store *s = fresh(path, 3);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK);
    CHECK(r.ok == 1 && r.rows == 6);

    /* The triggers refuse changes even on another connection. */
    CHECK(tamper(path, "UPDATE occurrences SET note = 'x' WHERE id = 2") != SQLITE_OK);
    CHECK(tamper(path, "DELETE FROM occurrences WHERE id = 2") != SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.ok == 1);

    /* Dropping the trigger lets a change through; the chain shows it. */
    CHECK(tamper(path, "DROP TRIGGER occurrences_no_update; "
                       "UPDATE occurrences SET actor = 'mallory' WHERE id = 4")
          == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK);
    CHECK(r.ok == 0);
    CHECK(r.bad_id == 4);
    CHECK(strstr(r.reason, "altered") != NULL);
    relm_store_close(s);

    /* Re-hashing the altered row does not help: the next link breaks. */
    CHECK(broken_at(path, "DROP TRIGGER occurrences_no_update; "
                          "UPDATE occurrences SET hash = (CASE WHEN "
                          "substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END) "
                          "|| substr(hash, 2) WHERE id = 2", 2, ""));

    /* A deleted row is a gap. */
    CHECK(broken_at(path, "DROP TRIGGER occurrences_no_delete; "
                          "DELETE FROM occurrences WHERE id = 3", 4,
                    "missing"));

    /* An inserted row: appended with a made-up hash, or out of sequence. */
    CHECK(broken_at(path, "INSERT INTO occurrences (id, at, actor, subject, "
                          "action, prev_hash, hash) SELECT 7, at, actor, "
                          "subject, 'cancel', hash, hash FROM occurrences "
                          "WHERE id = 6", 7, "altered"));
    CHECK(broken_at(path, "INSERT INTO occurrences (id, at, actor, subject, "
                          "action, prev_hash, hash) VALUES (100, 'x', 'x', "
                          "'release', 'x', 'x', 'x')", 100,
                    "row 7 is missing before row 100"));

    /* A truncated tail keeps the chain whole; a kept head shows it. */
    s = fresh(path, 3);
    int64_t kept;
    char kept_hash[65];
    CHECK(relm_audit_head(s, &kept, kept_hash, &d) == RELM_OK && kept == 6);
    CHECK(relm_audit_verify_kept(s, kept, kept_hash, &r, &d) == RELM_OK);
    CHECK(r.ok == 1 && r.rows == 6);
    CHECK(tamper(path, "DROP TRIGGER occurrences_no_delete; "
                       "DELETE FROM occurrences WHERE id >= 5; "
                       NO_DELETE) == SQLITE_OK);
    /* The chain itself holds; what shows is release 3 without any
     * occurrence (the truncated rows were its whole history). */
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.ok == 0);
    CHECK(r.nproblems == 1 && strcmp(r.problems[0].kind, "release") == 0);
    CHECK(r.problems[0].id == 3);
    CHECK(strstr(r.reason, "no occurrence") != NULL);
    CHECK(relm_audit_verify_kept(s, kept, kept_hash, &r, &d) == RELM_OK);
    CHECK(r.ok == 0 && r.bad_id == 6);
    CHECK(strstr(r.reason, "truncated") != NULL);
    /* A row rewritten with a freshly computed hash: the kept one differs. */
    CHECK(relm_audit_verify_kept(s, 4, kept_hash, &r, &d) == RELM_OK);
    CHECK(r.ok == 0 && r.bad_id == 4);
    CHECK(strstr(r.reason, "rewritten") != NULL);
    relm_store_close(s);
    unlink(path);
}

/* The problem of kind in r whose reason holds text, or NULL. */
static const relm_audit_problem *find_problem(const relm_audit_report *r,
                                              const char *kind,
                                              const char *text)
{
    for (int i = 0; i < r->nproblems; i++)
        if (strcmp(r->problems[i].kind, kind) == 0 &&
            strstr(r->problems[i].reason, text) != NULL)
            return &r->problems[i];
    return NULL;
}

/* What the chain alone missed: text after a NUL, a release edited in the
 * file, dropped or redefined triggers and views. */
static void test_beyond_chain(void)
{
    const char *path = "test_audit2.db";
    relm_diag d;
    relm_audit_report r;

    /* "approved by CFO" after a NUL, the trigger put back afterwards: the
     * hash covers every stored byte, so the row reads as altered. */
    relm_store *s = fresh(path, 2);
    CHECK(tamper(path, "DROP TRIGGER occurrences_no_update; "
                       "UPDATE occurrences SET action = action || char(0) "
                       "|| ' approved by CFO' WHERE id = 3; "
                       NO_UPDATE) == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK);
    CHECK(r.ok == 0 && r.bad_id == 3);
    CHECK(find_problem(&r, "chain", "altered") != NULL);
    CHECK(find_problem(&r, "schema", "") == NULL);
    relm_store_close(s);

    /* A release's state edited straight in the file. */
    s = fresh(path, 2);
    CHECK(tamper(path, "UPDATE releases SET state = 'closed' "
                       "WHERE id = 2") == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK);
    CHECK(r.ok == 0 && r.nproblems == 1);
    CHECK(r.problems[0].id == 2);
    CHECK(find_problem(&r, "release", "state is 'closed'") != NULL);
    CHECK(find_problem(&r, "release", "row 4") != NULL);
    /* A release deleted behind relm's back. */
    CHECK(tamper(path, "DELETE FROM releases WHERE id = 1") == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.nproblems == 2);
    CHECK(find_problem(&r, "release", "release id 1 is gone") != NULL);
    relm_store_close(s);

    /* Dropped triggers, each named; a trigger redefined to let changes
     * through; the snapshot view redefined. */
    s = fresh(path, 1);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.ok == 1);
    CHECK(r.releases == 1);
    CHECK(tamper(path, "DROP TRIGGER occurrences_no_update; "
                       "DROP TRIGGER occurrences_no_delete") == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.ok == 0);
    CHECK(r.nproblems == 2);
    CHECK(find_problem(&r, "schema", "occurrences_no_update is missing") != NULL);
    CHECK(find_problem(&r, "schema", "occurrences_no_delete is missing") != NULL);
    CHECK(tamper(path, "CREATE TRIGGER occurrences_no_update BEFORE UPDATE "
                       "ON occurrences BEGIN SELECT 1; END; " NO_DELETE)
          == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.nproblems == 1);
    CHECK(find_problem(&r, "schema", "occurrences_no_update is not the one") != NULL);
    CHECK(tamper(path, "DROP TRIGGER occurrences_no_update; " NO_UPDATE "; "
                       "DROP VIEW release_snapshots; CREATE VIEW "
                       "release_snapshots AS SELECT id, number, '{}' AS "
                       "snapshot FROM releases") == SQLITE_OK);
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.nproblems == 1);
    CHECK(find_problem(&r, "schema", "release_snapshots is not the one") != NULL);
    relm_store_close(s);
    unlink(path);
}

/* A refused primitive leaves no occurrence and no change. */
static void test_refusal_writes_nothing(void)
{
    const char *path = "test_audit2.db";
    relm_diag d;
    relm_store *s = fresh(path, 1);
    int64_t head_before, head_after;
    char h1[65], h2[65];
    CHECK(relm_audit_head(s, &head_before, h1, &d) == RELM_OK);
    relm_release_op op = {.action = "suspend", .justification_id = 99};
    CHECK(relm_release_apply(s, 1, &op, NULL, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "justification_required") == 0);
    relm_release_op op2 = {.action = "reopen"};
    CHECK(relm_release_apply(s, 1, &op2, NULL, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "not_allowed") == 0);
    relm_release_op op3 = {.action = "capture"};
    CHECK(relm_release_apply(s, 42, &op3, NULL, &d) == RELM_ERR);
    CHECK(strcmp(d.code, "not_found") == 0);
    CHECK(relm_audit_head(s, &head_after, h2, &d) == RELM_OK);
    CHECK(head_before == head_after && strcmp(h1, h2) == 0);
    CHECK(relm_store_depth(s) == 0);
    relm_store_close(s);
    unlink(path);
}

int main(void)
{
    test_sha256();
    test_chain();
    test_beyond_chain();
    test_refusal_writes_nothing();
    return CHECK_DONE("test_audit");
}
