/* test_release.c: the release primitives' invariants at the C level, with
 * no Lua in the way: the compiled workflow as C keeps it decides the
 * target, permission, `by`, required fields and approval points (so the
 * engine's Lua planning is bypassed here), plus status rules,
 * justification, closure fields, SLA arithmetic, and that a refusal writes
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"
#include "people.h"
#include "release.h"
#include "workflow.h"
#include "base/store.h"
#include "base/clock.h"

static relm_store *s;
static relm_diag d;

/* Rows in the tables a primitive writes, as one number per table. */
static void counts(int64_t out[3])
{
    const char *sql[] = {"SELECT count(*) FROM releases",
                         "SELECT count(*) FROM occurrences",
                         "SELECT coalesce(sum(length(updated_at) + "
                         "length(state) + length(status)), 0) FROM releases"};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *st = relm_store_stmt(s, sql[i], &d);
        out[i] = st != NULL && sqlite3_step(st) == SQLITE_ROW
                     ? sqlite3_column_int64(st, 0) : -1;
        if (st != NULL)
            sqlite3_reset(st);
    }
}

static int64_t reg(const char *title, int64_t sla)
{
    relm_fields f;
    relm_fields_init(&f);
    relm_fields_set_text(&f, "title", title, strlen(title), &d);
    if (sla > 0)
        relm_fields_set_int(&f, "sla_seconds", sla, &d);
    int64_t id = 0;
    int rc = relm_release_register(s, "wf", "start", "registration", &f, &id,
                                   NULL, &d);
    relm_fields_free(&f);
    return rc == RELM_OK ? id : 0;
}

/* The workflow "wf" as the engine would hand it over:
 *   start (registration) --go [executor, requires description]--> work
 *   work --ask [requester]--> check (an approval point)
 *   check --pass [approval, permission "supervise"]--> done (closes)
 *   start, work --finish--> done; cancel to gone; reopen to start. */
static int define_wf(void)
{
    const char *reqdesc[] = {"description"};
    const char *f_start[] = {"start"};
    const char *f_work[] = {"work"};
    const char *f_check[] = {"check"};
    const char *f_fin[] = {"start", "work"};
    const char *editable[] = {"title", "description", "impact",
                              "release_date", "solution_category",
                              "closure_text"};
    relm_workflow *w = relm_workflow_new("wf");
    if (relm_workflow_set_ends(w, "start", "done", "gone", "start", &d) ||
        relm_workflow_add_state(w, "start", "registration",
                                RELM_WF_SUSPEND | RELM_WF_CANCEL, NULL, 0,
                                NULL, 0, &d) ||
        relm_workflow_add_state(w, "work", "deployment", RELM_WF_EDITABLE,
                                NULL, 0, editable, 6, &d) ||
        relm_workflow_add_state(w, "check", "deployment", 0, NULL, 0, NULL, 0,
                                &d) ||
        relm_workflow_add_state(w, "done", "closure", RELM_WF_FINAL, NULL, 0,
                                NULL, 0, &d) ||
        relm_workflow_add_state(w, "gone", "closure", RELM_WF_FINAL, NULL, 0,
                                NULL, 0, &d) ||
        relm_workflow_add_transition(w, "go", f_start, 1, "work", "execute",
                                     RELM_BY_EXECUTOR, 0, reqdesc, 1, &d) ||
        relm_workflow_add_transition(w, "ask", f_work, 1, "check", "execute",
                                     RELM_BY_REQUESTER, 0, NULL, 0, &d) ||
        relm_workflow_add_transition(w, "pass", f_check, 1, "done",
                                     "supervise", RELM_BY_ANY, 1, NULL, 0,
                                     &d) ||
        relm_workflow_add_transition(w, "finish", f_fin, 2, "done", "execute",
                                     RELM_BY_ANY, 0, NULL, 0, &d)) {
        relm_workflow_free(w);
        return RELM_ERR;
    }
    return relm_workflow_define(s, w, &d);
}

/* Apply op to id expecting refusal with code; nothing may change. */
static int refused(int64_t id, const relm_release_op *op, const char *code)
{
    int64_t before[3], after[3];
    counts(before);
    int rc = relm_release_apply(s, id, op, NULL, &d);
    counts(after);
    int same = memcmp(before, after, sizeof before) == 0;
    if (rc == RELM_OK || strcmp(d.code, code) != 0 || !same ||
        relm_store_depth(s) != 0) {
        fprintf(stderr, "expected %s, got %s: %s\n", code,
                rc == RELM_OK ? "ok" : d.code, rc == RELM_OK ? "" : d.msg);
        return 0;
    }
    return 1;
}

/* A snapshot field as text ("" when absent), for checks. */
static void field(int64_t id, const char *name, char *out, size_t size)
{
    char *json = NULL;
    out[0] = '\0';
    if (relm_release_get(s, id, NULL, &json, NULL, &d) != RELM_OK)
        return;
    char key[80];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    if (p != NULL) {
        p += strlen(key);
        size_t n = 0;
        if (*p == '"')
            p++;
        while (p[n] && p[n] != '"' && p[n] != ',' && p[n] != '}')
            n++;
        snprintf(out, size, "%.*s", (int)n, p);
    }
    free(json);
}

int main(void)
{
    const char *path = "test_release.db";
    relm_store_opts o = {.create = 1};
    unlink(path);
    if (relm_store_open(&s, path, &o, NULL, &d) != RELM_OK ||
        relm_store_set_actor(s, "admin", &d) != RELM_OK) {
        fprintf(stderr, "open: %s\n", d.msg);
        return 1;
    }
    char v[128];
    relm_clock_set(1800000000); /* 2027-01-15T08:00:00Z */

    /* A release of a workflow the engine never defined is refused. */
    CHECK(reg("undefined", 0) == 0 && strcmp(d.code, "not_defined") == 0);
    CHECK(define_wf() == RELM_OK);
    /* Redefining with the same content keeps the definition in place. */
    const relm_workflow *def = relm_workflow_find(s, "wf");
    CHECK(def != NULL && define_wf() == RELM_OK &&
          relm_workflow_find(s, "wf") == def);
    /* A release starts in the workflow's initial state, nowhere else. */
    {
        relm_fields f0;
        relm_fields_init(&f0);
        relm_fields_set_text(&f0, "title", "x", 1, &d);
        int64_t id0 = 0;
        CHECK(relm_release_register(s, "wf", "done", "closure", &f0, &id0,
                                    NULL, &d) == RELM_ERR &&
              strcmp(d.code, "not_allowed") == 0);
        relm_fields_free(&f0);
    }
    int64_t a = reg("first", 36000);
    CHECK(a > 0);
    field(a, "number", v, sizeof v);
    CHECK(strcmp(v, "REL-2027-000001") == 0);
    field(a, "deadline", v, sizeof v);
    CHECK(strcmp(v, "2027-01-15T18:00:00Z") == 0);

    /* Status rules. */
    relm_release_op reac = {.action = "reactivate"};
    CHECK(refused(a, &reac, "not_allowed"));
    relm_release_op reo = {.action = "reopen", .justification_id = 1};
    CHECK(refused(a, &reo, "not_allowed"));
    relm_release_op ghost = {.action = "capture"};
    CHECK(refused(4242, &ghost, "not_found"));

    /* Justifications: none, unknown, inactive, unsuitable. */
    relm_justification_spec js = {"vendor", 1, 0, 0, 1};
    relm_justification_spec jc = {"dropped", 0, 1, 0, 1};
    relm_justification_spec jx = {"old", 1, 1, 1, 0};
    int64_t j_s, j_c, j_x;
    CHECK(relm_people_justification_add(s, &js, &j_s, &d) == RELM_OK);
    CHECK(relm_people_justification_add(s, &jc, &j_c, &d) == RELM_OK);
    CHECK(relm_people_justification_add(s, &jx, &j_x, &d) == RELM_OK);
    relm_release_op sus = {.action = "suspend"};
    CHECK(refused(a, &sus, "justification_required"));
    sus.justification_id = 999;
    CHECK(refused(a, &sus, "justification_required"));
    sus.justification_id = j_x;
    CHECK(refused(a, &sus, "justification_required"));
    sus.justification_id = j_c;
    CHECK(refused(a, &sus, "justification_required"));

    /* SLA: one hour runs, suspended four hours, deadline moves by four. */
    relm_clock_set(1800000000 + 3600);
    sus.justification_id = j_s;
    CHECK(relm_release_apply(s, a, &sus, NULL, &d) == RELM_OK);
    field(a, "remaining_seconds", v, sizeof v);
    CHECK(strcmp(v, "32400") == 0);
    relm_clock_set(1800000000 + 5 * 3600);
    CHECK(relm_release_apply(s, a, &reac, NULL, &d) == RELM_OK);
    field(a, "deadline", v, sizeof v);
    CHECK(strcmp(v, "2027-01-15T22:00:00Z") == 0);
    field(a, "elapsed_seconds", v, sizeof v);
    CHECK(strcmp(v, "3600") == 0);

    /* Closing needs the closure fields; then reopen counts. */
    relm_release_op cl = {.action = "close"};
    CHECK(refused(a, &cl, "invalid_field"));
    CHECK(strstr(d.msg, "release_date, solution_category, closure_text") != NULL);
    relm_fields f;
    relm_fields_init(&f);
    relm_fields_set_text(&f, "release_date", "2027-01-16", 10, &d);
    relm_fields_set_text(&f, "solution_category", "done", 4, &d);
    relm_fields_set_text(&f, "closure_text", "ok", 2, &d);
    cl.fields = &f;
    CHECK(relm_release_apply(s, a, &cl, NULL, &d) == RELM_OK);
    relm_fields_free(&f);
    field(a, "status", v, sizeof v);
    CHECK(strcmp(v, "closed") == 0);
    CHECK(refused(a, &sus, "not_allowed"));
    relm_justification_spec jr = {"defect", 0, 0, 1, 1};
    int64_t j_r;
    CHECK(relm_people_justification_add(s, &jr, &j_r, &d) == RELM_OK);
    reo.justification_id = j_c;
    CHECK(refused(a, &reo, "justification_required"));
    reo.justification_id = j_r;
    CHECK(relm_release_apply(s, a, &reo, NULL, &d) == RELM_OK);
    field(a, "reopen_count", v, sizeof v);
    CHECK(strcmp(v, "1") == 0);
    field(a, "state", v, sizeof v);
    CHECK(strcmp(v, "start") == 0);

    /* Bad field values are refused before anything is written. */
    relm_fields_init(&f);
    relm_fields_set_text(&f, "impact", "huge", 4, &d);
    relm_release_op up = {.action = "update", .fields = &f};
    CHECK(refused(a, &up, "invalid_field"));
    relm_fields_free(&f);
    relm_fields_init(&f);
    relm_fields_set_text(&f, "state", "done", 4, &d);
    up.fields = &f;
    CHECK(refused(a, &up, "invalid_field"));
    relm_fields_free(&f);

    /* Another user without permissions: every primitive refused. */
    relm_user_spec u = {.name = "bob"};
    int64_t uid;
    CHECK(relm_people_user_add(s, &u, &uid, &d) == RELM_OK);
    /* carol may execute "wf": a primitive still needs its own permission
     * whatever the caller names, and a person delegated to must be able
     * to execute the workflow. */
    relm_user_spec uc = {.name = "carol"};
    int64_t gid;
    CHECK(relm_people_user_add(s, &uc, &uid, &d) == RELM_OK);
    CHECK(relm_people_group_add(s, "doers", NULL, &gid, &d) == RELM_OK);
    CHECK(relm_people_member(s, "carol", "doers", 1, &d) == RELM_OK);
    CHECK(relm_people_permission(s, "doers", "wf", "execute", 1, &d) ==
          RELM_OK);
    relm_release_op del = {.action = "delegate", .to_user = "bob",
                           .note = "yours"};
    CHECK(refused(a, &del, "invalid_field"));
    CHECK(strstr(d.msg, "'bob' may not execute") != NULL);
    del.to_user = "carol";
    CHECK(relm_release_apply(s, a, &del, NULL, &d) == RELM_OK);
    field(a, "responsible", v, sizeof v);
    CHECK(strcmp(v, "carol") == 0);
    CHECK(relm_store_set_actor(s, "carol", &d) == RELM_OK);
    /* carol holds execute only: suspend and cancel need their own. */
    relm_release_op csus = {.action = "suspend", .justification_id = j_s};
    CHECK(refused(a, &csus, "permission_denied"));
    relm_release_op ccan = {.action = "cancel", .justification_id = j_c};
    CHECK(refused(a, &ccan, "permission_denied"));
    /* `by` broken: "go" is the executor group's step; carol is in none of
     * the release's groups, though she may execute the workflow. */
    relm_release_op go = {.action = "go"};
    CHECK(refused(a, &go, "permission_denied"));
    CHECK(strstr(d.msg, "executor group") != NULL);
    CHECK(relm_store_set_actor(s, "bob", &d) == RELM_OK);
    relm_release_op cap = {.action = "capture"};
    CHECK(refused(a, &cap, "permission_denied"));
    CHECK(refused(a, &sus, "permission_denied"));
    CHECK(reg("by bob", 0) == 0 && strcmp(d.code, "permission_denied") == 0);
    relm_user_spec u2 = {.name = "mallory"};
    CHECK(relm_people_user_add(s, &u2, &uid, &d) == RELM_ERR &&
          strcmp(d.code, "permission_denied") == 0);

    /* The graph decides, not the caller (the engine's Lua bypassed). */
    CHECK(relm_store_set_actor(s, "admin", &d) == RELM_OK);
    int64_t b = reg("second", 0);
    CHECK(b > 0);
    relm_release_op teleport = {.action = "teleport"};
    CHECK(refused(b, &teleport, "not_allowed")); /* a forged action name */
    CHECK(strstr(d.msg, "unknown action 'teleport'") != NULL);
    relm_release_op transition = {.action = "transition"};
    CHECK(refused(b, &transition, "not_allowed"));
    relm_release_op pass = {.action = "pass"};
    CHECK(refused(b, &pass, "not_allowed")); /* from the wrong state */
    CHECK(strstr(d.msg, "leaves only from check") != NULL);
    CHECK(refused(b, &go, "invalid_field")); /* a required field missing */
    CHECK(strstr(d.msg, "missing required field(s): description") != NULL);
    relm_fields_init(&f);
    relm_fields_set_text(&f, "description", "why", 3, &d);
    go.fields = &f;
    CHECK(relm_release_apply(s, b, &go, NULL, &d) == RELM_OK);
    relm_fields_free(&f);
    field(b, "state", v, sizeof v);
    CHECK(strcmp(v, "work") == 0);
    field(b, "phase", v, sizeof v);
    CHECK(strcmp(v, "deployment") == 0);
    /* Fields outside the state's editable list are refused. */
    relm_fields_init(&f);
    relm_fields_set_text(&f, "category", "x", 1, &d);
    up.fields = &f;
    CHECK(refused(b, &up, "invalid_field"));
    CHECK(strstr(d.msg, "cannot be changed in state 'work'") != NULL);
    relm_fields_free(&f);
    /* by = requester: bob is not; admin stands in. */
    CHECK(relm_people_member(s, "bob", "doers", 1, &d) == RELM_OK);
    CHECK(relm_store_set_actor(s, "bob", &d) == RELM_OK);
    relm_release_op ask = {.action = "ask"};
    CHECK(refused(b, &ask, "permission_denied"));
    CHECK(strstr(d.msg, "only the requester") != NULL);
    CHECK(relm_store_set_actor(s, "admin", &d) == RELM_OK);
    CHECK(relm_release_apply(s, b, &ask, NULL, &d) == RELM_OK);
    /* An approval point not satisfied: no round was ever asked. */
    CHECK(refused(b, &pass, "not_allowed"));
    /* The workflow's own permission: grantable on it, not on "*", and a
     * name no transition asks for is refused. */
    CHECK(relm_people_permission(s, "doers", "wf", "supervise", 1, &d) ==
          RELM_OK);
    CHECK(relm_people_permission(s, "doers", "*", "supervise", 1, &d) ==
              RELM_ERR &&
          strcmp(d.code, "invalid_field") == 0);
    CHECK(relm_people_permission(s, "doers", "wf", "supervize", 1, &d) ==
              RELM_ERR &&
          strcmp(d.code, "invalid_field") == 0);
    CHECK(relm_people_permission(s, "doers", "wf", "supervise", 0, &d) ==
          RELM_OK);
    /* bob (doers: execute) may not take "pass", which needs supervise. */
    CHECK(relm_store_set_actor(s, "bob", &d) == RELM_OK);
    CHECK(refused(b, &pass, "permission_denied"));
    CHECK(strstr(d.msg, "supervise") != NULL);
    CHECK(relm_store_set_actor(s, "admin", &d) == RELM_OK);

    /* The chain holds after all of it. */
    relm_audit_report r;
    CHECK(relm_audit_verify(s, &r, &d) == RELM_OK && r.ok);
    relm_clock_set(0);
    relm_store_close(s);
    unlink(path);
    return CHECK_DONE("test_release");
}
