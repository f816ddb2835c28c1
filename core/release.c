/* release.c: release records and their core primitives. Each primitive is
 * one transaction: permission, the caller's guard hook, writes, occurrence. */
#include "base/i18n.h"
#include "release.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "approval.h"
#include "audit.h"
#include "auth.h"
#include "conflict.h"
#include "base/clock.h"
#include "base/i18n.h"
#include "base/time.h"
#include "sla.h"
#include "workflow.h"

/* ---- field sets ------------------------------------------------------ */

void relm_fields_init(relm_fields *f)
{
    f->n = 0;
}

void relm_fields_free(relm_fields *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->v[i].s);
    f->n = 0;
}

/* The slot for name: the existing one (its old text freed) or a new one. */
static relm_field_value *slot_for(relm_fields *f, const char *name,
                                  relm_diag *d)
{
    if (strlen(name) >= sizeof f->v[0].name) {
        relm_diag_set(d, "invalid_field", _("field name too long: '%.40s...'"),
                      name);
        return NULL;
    }
    for (int i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, name) == 0) {
            free(f->v[i].s);
            f->v[i].s = NULL;
            return &f->v[i];
        }
    }
    if (f->n == RELM_FIELDS_MAX) {
        relm_diag_set(d, "invalid_field", _("too many fields (at most %d)"),
                      RELM_FIELDS_MAX);
        return NULL;
    }
    relm_field_value *v = &f->v[f->n++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->s = NULL;
    return v;
}

int relm_fields_set_null(relm_fields *f, const char *name, relm_diag *d)
{
    relm_field_value *v = slot_for(f, name, d);
    if (v == NULL)
        return RELM_ERR;
    v->type = RELM_FV_NULL;
    return RELM_OK;
}

int relm_fields_set_int(relm_fields *f, const char *name, int64_t i,
                        relm_diag *d)
{
    relm_field_value *v = slot_for(f, name, d);
    if (v == NULL)
        return RELM_ERR;
    v->type = RELM_FV_INT;
    v->i = i;
    return RELM_OK;
}

int relm_fields_set_bool(relm_fields *f, const char *name, int b,
                         relm_diag *d)
{
    relm_field_value *v = slot_for(f, name, d);
    if (v == NULL)
        return RELM_ERR;
    v->type = RELM_FV_BOOL;
    v->i = b != 0;
    return RELM_OK;
}

int relm_fields_set_real(relm_fields *f, const char *name, double x,
                         relm_diag *d)
{
    relm_field_value *v = slot_for(f, name, d);
    if (v == NULL)
        return RELM_ERR;
    v->type = RELM_FV_REAL;
    v->x = x;
    return RELM_OK;
}

int relm_fields_set_text(relm_fields *f, const char *name, const char *s,
                         size_t len, relm_diag *d)
{
    relm_field_value *v = slot_for(f, name, d);
    if (v == NULL)
        return RELM_ERR;
    v->type = RELM_FV_NULL;
    v->s = malloc(len + 1);
    if (v->s == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    memcpy(v->s, s, len);
    v->s[len] = '\0';
    v->type = RELM_FV_TEXT;
    return RELM_OK;
}

const relm_field_value *relm_fields_get(const relm_fields *f,
                                        const char *name)
{
    if (f == NULL)
        return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, name) == 0)
            return &f->v[i];
    return NULL;
}

/* ---- the known fields -------------------------------------------------- */

enum { K_TEXT, K_LEVEL, K_DATE, K_USER, K_GROUP, K_PRIORITY, K_BOOL, K_INT,
       K_SECONDS, K_PERCENT };
static const char *const kind_names[] = {"text", "level", "date", "user",
                                         "group", "priority", "boolean",
                                         "integer", "seconds", "percent"};

typedef struct fieldspec {
    const char *name;
    const char *column;
    int kind;
    unsigned flags;
} fieldspec;

#define REG RELM_FIELD_REGISTER
#define UPD (RELM_FIELD_UPDATE | RELM_FIELD_WORKFLOW)
#define WF RELM_FIELD_WORKFLOW
static const fieldspec specs[] = {
    {"title", "title", K_TEXT, REG | UPD},
    {"description", "description", K_TEXT, REG | UPD},
    {"requester", "requester_id", K_USER, REG | UPD},
    {"contact_name", "contact_name", K_TEXT, REG | UPD},
    {"contact_email", "contact_email", K_TEXT, REG | UPD},
    {"contact_phone", "contact_phone", K_TEXT, REG | UPD},
    {"contact_unit", "contact_unit", K_TEXT, REG | UPD},
    {"contact_location", "contact_location", K_TEXT, REG | UPD},
    {"portfolio_id", "portfolio_id", K_INT, REG},
    {"model_id", "model_id", K_INT, REG},
    {"type", "type", K_TEXT, REG | UPD},
    {"contract", "contract", K_TEXT, REG | UPD},
    {"executor_group", "executor_group_id", K_GROUP, REG | UPD},
    {"current_group", "current_group_id", K_GROUP, REG | WF},
    {"responsible", "responsible_id", K_USER, REG | WF},
    {"impact", "impact", K_LEVEL, REG | UPD},
    {"urgency", "urgency", K_LEVEL, REG | UPD},
    {"risk", "risk", K_LEVEL, REG | UPD},
    {"priority", "priority", K_PRIORITY, REG | UPD},
    {"category", "category", K_TEXT, REG | UPD},
    {"version", "version", K_TEXT, REG | UPD},
    {"planned_start", "planned_start", K_DATE, REG | UPD},
    {"planned_end", "planned_end", K_DATE, REG | UPD},
    {"release_date", "release_date", K_DATE, REG | UPD},
    {"solution_category", "solution_category", K_TEXT, REG | UPD},
    {"closure_text", "closure_text", K_TEXT, REG | UPD},
    {"notify", "notify", K_BOOL, REG | UPD},
    {"sla_seconds", "sla_seconds", K_SECONDS, REG},
    {"calendar", "calendar", K_TEXT, REG},
    {"sla_warning_percent", "sla_warning_percent", K_PERCENT, REG},
};
#undef REG
#undef UPD
#undef WF
#define NSPECS ((int)(sizeof specs / sizeof specs[0]))

const relm_field_info *relm_release_field(int i)
{
    static relm_field_info infos[sizeof specs / sizeof specs[0]];
    if (i < 0 || i >= NSPECS)
        return NULL;
    infos[i].name = specs[i].name;
    infos[i].kind = kind_names[specs[i].kind];
    infos[i].flags = specs[i].flags;
    return &infos[i];
}

/* The spec of the field called name, or NULL for an unknown field. */
static const fieldspec *spec_for(const char *name)
{
    for (int i = 0; i < NSPECS; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

/* ---- time ------------------------------------------------------------ */

/* ---- reading --------------------------------------------------------- */

/* The snapshot of a release is the text of the view release_snapshots
 * (migration 0006): every field with names resolved, JSON nulls dropped, so
 * it reads like the Lua table the user sees. The view builds it with
 * json_object and then json_patch('{}', ...) to drop the nulls, which
 * parses and renders the whole object again: two snapshots an action made
 * that way were a sixth of its time. The primitives build the same text
 * here from the view's columns instead, byte for byte (relm_audit_verify
 * compares the view's text with the last occurrence's, so any difference
 * would show as tampering): the keys in the view's order, NULL columns
 * left out, text escaped as SQLite's JSON functions escape it, integers as
 * %lld (the table is STRICT: no other types). The nested values are the
 * view's own expressions, already JSON: extra through json_patch('{}',
 * ...) as the view's outer json_patch treats it (nulls dropped at every
 * depth; '{}', what most releases hold, as it is), shared_with as the
 * view builds it (an array, kept as is). */
static const char *const snap_keys[] = {
    "id", "number", "title", "description", "requester", "contact_name",
    "contact_email", "contact_phone", "contact_unit", "contact_location",
    "portfolio", "model", "workflow", "type", "contract", "executor_group",
    "current_group", "responsible", "impact", "urgency", "risk", "priority",
    "category", "version", "planned_start", "planned_end", "release_date",
    "solution_category", "closure_text", "notify", "status", "state", "phase",
    "reopen_count", "sla_seconds", "deadline", "elapsed_seconds",
    "active_since", "remaining_seconds", "suspended_at", "extra",
    "shared_with", "created_at", "updated_at", "row_version", "calendar",
    "sla_stage", "sla_warning_percent", "closed_at",
};
#define SNAP_NOTIFY 29 /* 0/1 column written as false/true */
#define SNAP_EXTRA 40  /* columns already JSON, written as they are */
#define SNAP_SHARED 41

#define SNAPSHOT_COLUMNS                                                     \
    "SELECT r.id, r.number, r.title, r.description, ru.name, "              \
    "r.contact_name, r.contact_email, r.contact_phone, r.contact_unit, "    \
    "r.contact_location, p.name, m.name, r.workflow, r.type, r.contract, "  \
    "eg.name, cg.name, rs.name, r.impact, r.urgency, r.risk, r.priority, "  \
    "r.category, r.version, r.planned_start, r.planned_end, "               \
    "r.release_date, r.solution_category, r.closure_text, r.notify, "       \
    "r.status, r.state, r.phase, r.reopen_count, r.sla_seconds, "           \
    "r.deadline, r.elapsed_seconds, r.active_since, r.remaining_seconds, "  \
    "r.suspended_at, CASE r.extra WHEN '{}' THEN '{}' ELSE "              \
    "json_patch('{}', r.extra) END, "                                       \
    "(SELECT json_group_array(json(x)) FROM (SELECT json_patch('{}', "      \
    "json_object('group', sg.name, 'user', su.name, 'note', sh.note)) AS x " \
    "FROM release_shares sh LEFT JOIN groups sg ON sg.id = sh.group_id "    \
    "LEFT JOIN users su ON su.id = sh.user_id WHERE sh.release_id = r.id "  \
    "ORDER BY sh.id)), r.created_at, r.updated_at, r.row_version, "         \
    "r.calendar, r.sla_stage, r.sla_warning_percent, r.closed_at "          \
    "FROM releases r LEFT JOIN users ru ON ru.id = r.requester_id "         \
    "LEFT JOIN portfolios p ON p.id = r.portfolio_id "                      \
    "LEFT JOIN models m ON m.id = r.model_id "                              \
    "LEFT JOIN groups eg ON eg.id = r.executor_group_id "                   \
    "LEFT JOIN groups cg ON cg.id = r.current_group_id "                    \
    "LEFT JOIN users rs ON rs.id = r.responsible_id "

/* Append text v (n bytes) to out as a JSON string, escaped as SQLite's
 * JSON functions escape it: " and \ with a backslash, the control
 * characters \b \t \n \f \r by name and the others as \u00xx. */
static void json_text(sqlite3_str *out, const char *v, int n)
{
    static const char named[32] = {0,   0,   0, 0,   0,   0, 0, 0,
                                   'b', 't', 'n', 0, 'f', 'r', 0, 0};
    sqlite3_str_appendchar(out, 1, '"');
    int from = 0;
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c != '"' && c != '\\' && c > 0x1f)
            continue;
        sqlite3_str_append(out, v + from, i - from);
        from = i + 1;
        if (c == '"' || c == '\\')
            sqlite3_str_appendf(out, "\\%c", c);
        else if (named[c])
            sqlite3_str_appendf(out, "\\%c", named[c]);
        else
            sqlite3_str_appendf(out, "\\u00%c%c", '0' + (c >> 4),
                                "0123456789abcdef"[c & 0xf]);
    }
    sqlite3_str_append(out, v + from, n - from);
    sqlite3_str_appendchar(out, 1, '"');
}

/* The snapshot JSON of the current row of st (SNAPSHOT_COLUMNS) into
 * *json (malloc'd). */
static int snapshot_row(relm_store *s, sqlite3_stmt *st, char **json,
                        relm_diag *d)
{
    sqlite3_str *out = sqlite3_str_new(relm_store_db(s));
    int first = 1;
    for (int i = 0; i < (int)(sizeof snap_keys / sizeof snap_keys[0]); i++) {
        int type = sqlite3_column_type(st, i);
        if (type == SQLITE_NULL)
            continue;
        sqlite3_str_appendchar(out, 1, first ? '{' : ',');
        sqlite3_str_appendchar(out, 1, '"');
        sqlite3_str_appendall(out, snap_keys[i]);
        sqlite3_str_append(out, "\":", 2);
        first = 0;
        if (i == SNAP_NOTIFY) {
            sqlite3_str_appendall(out, sqlite3_column_int64(st, i) == 1
                                           ? "true" : "false");
        } else if (type == SQLITE_INTEGER) {
            char num[24];
            int len = snprintf(num, sizeof num, "%lld",
                               (long long)sqlite3_column_int64(st, i));
            sqlite3_str_append(out, num, len);
        } else if (type == SQLITE_FLOAT) {
            sqlite3_str_appendf(out, "%!.15g", sqlite3_column_double(st, i));
        } else {
            const char *v = (const char *)sqlite3_column_text(st, i);
            int n = sqlite3_column_bytes(st, i);
            if (i == SNAP_EXTRA || i == SNAP_SHARED)
                sqlite3_str_append(out, v, n);
            else
                json_text(out, v, n);
        }
    }
    sqlite3_str_appendall(out, first ? "{}" : "}");
    int n = sqlite3_str_length(out);
    char *text = sqlite3_str_finish(out);
    *json = text != NULL ? malloc((size_t)n + 1) : NULL;
    if (*json != NULL)
        memcpy(*json, text, (size_t)n + 1);
    sqlite3_free(text);
    if (*json == NULL)
        return relm_diag_set(d, "out_of_memory", _("out of memory"));
    return RELM_OK;
}

/* Snapshot of release id into *json (malloc'd). */
static int snapshot(relm_store *s, int64_t id, char **json, relm_diag *d)
{
    *json = NULL;
    sqlite3_stmt *st = relm_store_stmt(s, SNAPSHOT_COLUMNS "WHERE r.id = ?1",
                                       d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return relm_diag_set(d, "not_found", _("no release with id %" PRId64),
                                 id);
        return relm_store_fail(s, d, "release");
    }
    rc = snapshot_row(s, st, json, d);
    sqlite3_reset(st);
    return rc;
}

/* Bind the release key (id, or number when id is 0) to parameter 1 of st
 * and step to its row; not_found when there is none. On RELM_OK the row is
 * current and the caller resets st; on RELM_ERR st is already reset. */
static int step_release(relm_store *s, sqlite3_stmt *st, int64_t id,
                        const char *number, relm_diag *d)
{
    if (st == NULL)
        return RELM_ERR;
    if (id != 0)
        sqlite3_bind_int64(st, 1, id);
    else
        sqlite3_bind_text(st, 1, number, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return RELM_OK;
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "release");
    if (id != 0)
        return relm_diag_set(d, "not_found", _("no release with id %" PRId64), id);
    return relm_diag_set(d, "not_found", _("no release numbered '%s'"), number);
}

int relm_release_get(relm_store *s, int64_t id, const char *number,
                     char **json, int64_t *found_id, relm_diag *d)
{
    *json = NULL;
    sqlite3_stmt *st =
        id != 0 ? relm_store_stmt(s, SNAPSHOT_COLUMNS "WHERE r.id = ?1", d)
                : relm_store_stmt(s, SNAPSHOT_COLUMNS "WHERE r.number = ?1", d);
    if (step_release(s, st, id, number, d) != RELM_OK)
        return RELM_ERR;
    if (found_id != NULL)
        *found_id = sqlite3_column_int64(st, 0);
    int rc = snapshot_row(s, st, json, d);
    sqlite3_reset(st);
    return rc;
}

/* What a primitive needs to know about the release before it decides. */
typedef struct current {
    int64_t row_version;
    char number[32];
    char workflow[128];
    char state[128];
    char phase[32];
    char status[16];
} current;

/* Read release id (the one numbered number when id is 0) into c and its
 * id into *found; not_found when there is no such release. */
static int read_release(relm_store *s, int64_t id, const char *number,
                        current *c, int64_t *found, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        id != 0 ? "SELECT workflow, state, phase, status, row_version, "
                  "number, id FROM releases WHERE id = ?1"
                : "SELECT workflow, state, phase, status, row_version, "
                  "number, id FROM releases WHERE number = ?1",
        d);
    if (step_release(s, st, id, number, d) != RELM_OK)
        return RELM_ERR;
    c->row_version = sqlite3_column_int64(st, 4);
    relm_store_column_copy(st, 0, c->workflow, sizeof c->workflow);
    relm_store_column_copy(st, 1, c->state, sizeof c->state);
    relm_store_column_copy(st, 2, c->phase, sizeof c->phase);
    relm_store_column_copy(st, 3, c->status, sizeof c->status);
    relm_store_column_copy(st, 5, c->number, sizeof c->number);
    *found = sqlite3_column_int64(st, 6);
    sqlite3_reset(st);
    return RELM_OK;
}

/* Read workflow, state, phase and status of release id into c;
 * not_found when there is no such release. */
static int read_current(relm_store *s, int64_t id, current *c, relm_diag *d)
{
    int64_t found;
    return read_release(s, id, NULL, c, &found, d);
}

int relm_release_head(relm_store *s, int64_t id, const char *number,
                      relm_release_head_info *h, relm_diag *d)
{
    current c;
    if (read_release(s, id, number, &c, &h->id, d) != RELM_OK)
        return RELM_ERR;
    snprintf(h->number, sizeof h->number, "%s", c.number);
    snprintf(h->workflow, sizeof h->workflow, "%s", c.workflow);
    snprintf(h->state, sizeof h->state, "%s", c.state);
    snprintf(h->status, sizeof h->status, "%s", c.status);
    return RELM_OK;
}

int relm_release_workflow(relm_store *s, int64_t id, char *out, size_t size,
                          relm_diag *d)
{
    current c;
    if (read_current(s, id, &c, d) != RELM_OK)
        return RELM_ERR;
    snprintf(out, size, "%s", c.workflow);
    return RELM_OK;
}

/* ---- validation and writing of fields ---------------------------------- */

/* Resolve a user or group name (or id) to its id; invalid_field if none. */
static int resolve_ref(relm_store *s, const fieldspec *sp,
                       const relm_field_value *v, int64_t *out, relm_diag *d)
{
    int is_user = sp->kind == K_USER;
    const char *sql =
        v->type == RELM_FV_INT
            ? (is_user ? "SELECT id FROM users WHERE id = ?1 AND active = 1"
                       : "SELECT id FROM groups WHERE id = ?1")
            : (is_user ? "SELECT id FROM users WHERE name = ?1 AND active = 1"
                       : "SELECT id FROM groups WHERE name = ?1");
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    if (v->type == RELM_FV_INT)
        sqlite3_bind_int64(st, 1, v->i);
    else
        sqlite3_bind_text(st, 1, v->s, -1, SQLITE_STATIC);
    int rc = relm_store_step_row(s, st, d, "lookup");
    if (rc == RELM_OK) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    if (rc != RELM_NOT_FOUND)
        return rc;
    if (v->type == RELM_FV_INT)
        return relm_diag_set(d, "invalid_field", _("%s: no %s with id %" PRId64),
                             sp->name, is_user ? "active user" : "group", v->i);
    return relm_diag_set(d, "invalid_field", _("%s: no %s named '%s'"), sp->name,
                         is_user ? "active user" : "group", v->s);
}

/* A value ready to bind. */
typedef struct bound {
    int type;
    int64_t i;
    const char *s;
    char buf[32];
} bound;

/* Check v against the field's kind and turn it into what the column
 * stores. Empty text clears a field (NULL), except the title. */
static int prepare_value(relm_store *s, const fieldspec *sp,
                         const relm_field_value *v0, bound *b, relm_diag *d)
{
    /* A column holds a boolean as 0/1, and a real only as text. */
    relm_field_value tmp;
    const relm_field_value *v = v0;
    if (v0->type == RELM_FV_BOOL) {
        tmp = *v0;
        tmp.type = RELM_FV_INT;
        v = &tmp;
    } else if (v0->type == RELM_FV_REAL) {
        if (sp->kind != K_TEXT)
            return relm_diag_set(d, "invalid_field",
                                 _("%s: a fractional number cannot be stored "
                                 "here"), sp->name);
        snprintf(b->buf, sizeof b->buf, "%.14g", v0->x);
        b->type = RELM_FV_TEXT;
        b->s = b->buf;
        return RELM_OK;
    }
    b->type = v->type;
    b->i = v->i;
    b->s = v->s;
    if (v->type == RELM_FV_TEXT && v->s[0] == '\0')
        b->type = RELM_FV_NULL;
    if (b->type == RELM_FV_NULL) {
        if (strcmp(sp->name, "title") == 0)
            return relm_diag_set(d, "invalid_field", _("title: may not be empty"));
        if (sp->kind == K_PRIORITY || sp->kind == K_BOOL ||
            strcmp(sp->name, "impact") == 0 || strcmp(sp->name, "urgency") == 0)
            return relm_diag_set(d, "invalid_field", _("%s: may not be empty"),
                                 sp->name);
        return RELM_OK;
    }
    switch (sp->kind) {
    case K_TEXT:
        if (v->type == RELM_FV_INT) {
            snprintf(b->buf, sizeof b->buf, "%" PRId64, v->i);
            b->type = RELM_FV_TEXT;
            b->s = b->buf;
        }
        return RELM_OK;
    case K_LEVEL:
        if (v->type != RELM_FV_TEXT ||
            (strcmp(v->s, "low") != 0 && strcmp(v->s, "medium") != 0 &&
             strcmp(v->s, "high") != 0))
            return relm_diag_set(d, "invalid_field",
                                 _("%s: must be low, medium or high"), sp->name);
        return RELM_OK;
    case K_DATE:
        if (v->type != RELM_FV_TEXT || !relm_time_valid(v->s, RELM_TIME_CLOCK))
            return relm_diag_set(d, "invalid_field",
                                 _("%s: must be a date YYYY-MM-DD or "
                                 "YYYY-MM-DDTHH:MM[:SS][Z], got '%s'"),
                                 sp->name,
                                 v->type == RELM_FV_TEXT ? v->s : "a number");
        return RELM_OK;
    case K_USER:
    case K_GROUP:
        b->type = RELM_FV_INT;
        return resolve_ref(s, sp, v, &b->i, d);
    case K_PRIORITY:
        if (v->type != RELM_FV_INT || v->i < 1 || v->i > 5)
            return relm_diag_set(d, "invalid_field",
                                 _("priority: must be an integer 1-5"));
        return RELM_OK;
    case K_BOOL:
        if (v->type != RELM_FV_INT || (v->i != 0 && v->i != 1))
            return relm_diag_set(d, "invalid_field", _("%s: must be a boolean"),
                                 sp->name);
        return RELM_OK;
    case K_PERCENT:
        if (v->type != RELM_FV_INT || v->i <= 0 || v->i >= 100)
            return relm_diag_set(d, "invalid_field",
                                 _("%s: must be an integer 1-99"), sp->name);
        return RELM_OK;
    case K_SECONDS:
        if (v->type != RELM_FV_INT || v->i <= 0)
            return relm_diag_set(d, "invalid_field",
                                 _("%s: must be a positive integer"), sp->name);
        return RELM_OK;
    default:
        if (v->type != RELM_FV_INT)
            return relm_diag_set(d, "invalid_field", _("%s: must be an integer"),
                                 sp->name);
        return RELM_OK;
    }
}

/* Bind b to parameter n (text copied: b may live on the stack). */
static void bind_bound(sqlite3_stmt *st, int n, const bound *b)
{
    if (b->type == RELM_FV_INT)
        sqlite3_bind_int64(st, n, b->i);
    else if (b->type == RELM_FV_TEXT)
        sqlite3_bind_text(st, n, b->s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, n);
}

/* Bind a workflow field's value (kept in the extra JSON) to parameter n;
 * a boolean goes through json() as true/false. */
static void bind_extra(sqlite3_stmt *st, int n, const relm_field_value *v)
{
    if (v->type == RELM_FV_INT)
        sqlite3_bind_int64(st, n, v->i);
    else if (v->type == RELM_FV_TEXT)
        sqlite3_bind_text(st, n, v->s, -1, SQLITE_STATIC);
    else if (v->type == RELM_FV_BOOL)
        sqlite3_bind_text(st, n, v->i ? "true" : "false", -1, SQLITE_STATIC);
    else if (v->type == RELM_FV_REAL)
        sqlite3_bind_double(st, n, v->x);
}

/* The UPDATE text for the fields of f (sp[i] NULL for an "extra.<name>"
 * one, nextra of them): column = ?i for each column, one json_set for the
 * extras, then updated_at and the id. sqlite3_malloc'd; NULL when out of
 * memory. The text depends only on which fields are set. */
static char *update_sql(sqlite3 *db, const relm_fields *f,
                        const fieldspec *const *sp, int nextra)
{
    sqlite3_str *q = sqlite3_str_new(db);
    sqlite3_str_appendall(q, "UPDATE releases SET ");
    for (int i = 0; i < f->n; i++)
        if (sp[i] != NULL)
            sqlite3_str_appendf(q, "%s = ?%d, ", sp[i]->column, i + 1);
    int p = f->n + 1;
    if (nextra > 0) {
        sqlite3_str_appendall(q, "extra = json_set(extra");
        for (int i = 0; i < f->n; i++)
            if (sp[i] == NULL) {
                sqlite3_str_appendf(q,
                                    f->v[i].type == RELM_FV_BOOL
                                        ? ", ?%d, json(?%d)"
                                        : ", ?%d, ?%d",
                                    p, p + 1);
                p += 2;
            }
        sqlite3_str_appendall(q, "), ");
    }
    sqlite3_str_appendf(q, "updated_at = ?%d WHERE id = ?%d", p, p + 1);
    return sqlite3_str_finish(q);
}

/* Write the field changes in f (all of which must carry flag, or be
 * "extra.<name>") to release id with one UPDATE, also stamping updated_at.
 * The SQL text depends only on which fields are set, so the statement
 * cache serves the repeating shapes of a workflow. */
static int write_fields(relm_store *s, int64_t id, const relm_fields *f,
                        unsigned flag, const char *now, relm_diag *d)
{
    bound b[RELM_FIELDS_MAX];
    const fieldspec *sp[RELM_FIELDS_MAX];
    int nextra = 0;
    for (int i = 0; i < f->n; i++) {
        const relm_field_value *v = &f->v[i];
        if (strncmp(v->name, "extra.", 6) == 0) {
            if (v->name[6] == '\0')
                return relm_diag_set(d, "invalid_field", _("empty extra field name"));
            sp[i] = NULL;
            nextra++;
            continue;
        }
        sp[i] = spec_for(v->name);
        if (sp[i] == NULL)
            return relm_diag_set(d, "invalid_field",
                                 _("unknown field '%s' (see docs/releases.md)"),
                                 v->name);
        if (!(sp[i]->flags & flag))
            return relm_diag_set(d, "invalid_field",
                                 _("field '%s' cannot be set here (%s)"), v->name,
                                 flag == RELM_FIELD_REGISTER
                                     ? "not at registration"
                                     : "it is set by the engine or by a "
                                       "primitive");
        if (prepare_value(s, sp[i], v, &b[i], d) != RELM_OK)
            return RELM_ERR;
    }
    int p = f->n + 1 + 2 * nextra;
    char *sql = update_sql(relm_store_db(s), f, sp, nextra);
    if (sql == NULL)
        return relm_diag_set(d, "out_of_memory", _("release update: out of "
                             "memory"));
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    sqlite3_free(sql);
    if (st == NULL)
        return RELM_ERR;
    int q = f->n + 1;
    for (int i = 0; i < f->n; i++) {
        if (sp[i] != NULL) {
            bind_bound(st, i + 1, &b[i]);
            continue;
        }
        /* $."name" quotes the key so any characters are taken literally. */
        char path[96];
        snprintf(path, sizeof path, "$.\"%s\"", f->v[i].name + 6);
        sqlite3_bind_text(st, q, path, -1, SQLITE_TRANSIENT);
        bind_extra(st, q + 1, &f->v[i]);
        q += 2;
    }
    sqlite3_bind_text(st, p, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, p + 1, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return relm_store_fail(s, d, "release update");
    return RELM_OK;
}

/* Run one statement with ?1 = id, ?2 = now (ISO), ?3 = now (epoch), ?4 = an
 * optional integer argument (0 binds NULL). */
static int exec_row(relm_store *s, const char *sql, int64_t id,
                    const char *now, int64_t arg, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(s, sql, d);
    if (st == NULL)
        return RELM_ERR;
    int n = sqlite3_bind_parameter_count(st);
    sqlite3_bind_int64(st, 1, id);
    if (n >= 2)
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    if (n >= 3)
        sqlite3_bind_int64(st, 3, relm_clock_now());
    if (n >= 4 && arg != 0)
        sqlite3_bind_int64(st, 4, arg);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return relm_store_fail(s, d, "release");
    return RELM_OK;
}

/* Invariants that hold after any write: planned end not before start; a
 * closed release has its closure fields. */
static int check_after(relm_store *s, int64_t id, relm_diag *d)
{
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT status, release_date IS NULL, solution_category IS NULL, "
        "closure_text IS NULL, planned_start, planned_end FROM releases "
        "WHERE id = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return relm_store_fail(s, d, "release");
    }
    char missing[128] = "";
    const char *status = (const char *)sqlite3_column_text(st, 0);
    if (strcmp(status, "closed") == 0) {
        static const char *const names[] = {"release_date",
                                            "solution_category",
                                            "closure_text"};
        for (int i = 0; i < 3; i++)
            if (sqlite3_column_int(st, i + 1)) {
                size_t l = strlen(missing);
                snprintf(missing + l, sizeof missing - l, "%s%s",
                         l ? ", " : "", names[i]);
            }
    }
    const char *ps = (const char *)sqlite3_column_text(st, 4);
    const char *pe = (const char *)sqlite3_column_text(st, 5);
    int bad_plan = ps != NULL && pe != NULL && strcmp(pe, ps) < 0;
    char pe_copy[40] = "", ps_copy[40] = "";
    if (bad_plan) {
        snprintf(ps_copy, sizeof ps_copy, "%s", ps);
        snprintf(pe_copy, sizeof pe_copy, "%s", pe);
    }
    sqlite3_reset(st);
    if (missing[0])
        return relm_diag_set(d, "invalid_field",
                             _("missing required field(s): %s"), missing);
    if (bad_plan)
        return relm_diag_set(d, "invalid_field",
                             _("planned_end %s is before planned_start %s"),
                             pe_copy, ps_copy);
    return RELM_OK;
}

int relm_release_check_justification(relm_store *s, int64_t id,
                                     const char *use, relm_diag *d)
{
    if (id <= 0)
        return relm_diag_set(d, "justification_required",
                             _("%s needs a justification (opts.justification = "
                             "the id of one usable for %s; see "
                             "relm.justification.list())"), use, use);
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT active, CASE ?2 WHEN 'suspend' THEN for_suspend "
        "WHEN 'cancel' THEN for_cancel WHEN 'reopen' THEN for_reopen "
        "ELSE 0 END, description FROM justifications WHERE id = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, use, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return relm_store_fail(s, d, "justification");
        return relm_diag_set(d, "justification_required",
                             _("no justification with id %" PRId64), id);
    }
    int active = sqlite3_column_int(st, 0);
    int usable = sqlite3_column_int(st, 1);
    char desc[200];
    relm_store_column_copy(st, 2, desc, sizeof desc);
    sqlite3_reset(st);
    if (!active)
        return relm_diag_set(d, "justification_required",
                             _("justification %" PRId64 " ('%s') is inactive"),
                             id, desc);
    if (!usable)
        return relm_diag_set(d, "justification_required",
                             _("justification %" PRId64 " ('%s') is not usable "
                             "for %s"), id, desc, use);
    return RELM_OK;
}

/* ---- register -------------------------------------------------------- */

static int next_number(relm_store *s, int64_t now, char out[32],
                       relm_diag *d)
{
    char iso[32];
    relm_time_format(now, iso);
    int year = atoi(iso);
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO release_numbers (year, last) VALUES (?1, 1) "
        "ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int(st, 1, year);
    int rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return relm_store_fail(s, d, "release number");
    snprintf(out, 32, "REL-%04d-%06" PRId64, year, n);
    return RELM_OK;
}

/* One column of the INSERT that registers a release. */
typedef struct col_value {
    const char *column;
    bound b;
} col_value;

/* Append column = b to cols unless the column is already there (the
 * caller's value wins over a default). Returns the slot added, or NULL.
 * A value whose text lives in its own buffer is re-pointed at the copy. */
static bound *add_col(col_value *cols, int *n, const char *column,
                      const bound *b)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(cols[i].column, column) == 0)
            return NULL;
    cols[*n].column = column;
    cols[*n].b = *b;
    if (b->s == b->buf)
        cols[*n].b.s = cols[*n].b.buf;
    return &cols[(*n)++].b;
}

/* A text value (NULL v binds NULL). */
static bound text_bound(const char *v)
{
    bound b = {.type = v != NULL ? RELM_FV_TEXT : RELM_FV_NULL, .s = v};
    return b;
}

/* An integer value. */
static bound int_bound(int64_t v)
{
    bound b = {.type = RELM_FV_INT, .i = v};
    return b;
}

/* The INSERT text for a new release: the nc columns, then extra built by
 * one json_set from nextra (path, value) pairs. sqlite3_malloc'd; NULL when
 * out of memory. */
static char *insert_sql(sqlite3 *db, const col_value *cols, int nc,
                        const relm_field_value *const *extra_val, int nextra)
{
    sqlite3_str *q = sqlite3_str_new(db);
    sqlite3_str_appendall(q, "INSERT INTO releases (");
    for (int i = 0; i < nc; i++)
        sqlite3_str_appendf(q, "%s, ", cols[i].column);
    sqlite3_str_appendall(q, "extra) VALUES (");
    for (int i = 0; i < nc; i++)
        sqlite3_str_appendf(q, "?%d, ", i + 1);
    sqlite3_str_appendall(q, "json_set('{}'");
    for (int i = 0; i < nextra; i++)
        sqlite3_str_appendf(q,
                            extra_val[i]->type == RELM_FV_BOOL
                                ? ", ?%d, json(?%d)"
                                : ", ?%d, ?%d",
                            nc + 2 * i + 1, nc + 2 * i + 2);
    sqlite3_str_appendall(q, "))");
    return sqlite3_str_finish(q);
}

int relm_release_register(relm_store *s, const char *workflow,
                          const char *state, const char *phase,
                          const relm_fields *fields, int64_t *id,
                          char **after, relm_diag *d)
{
    *id = 0;
    if (after != NULL)
        *after = NULL;
    const relm_field_value *title = relm_fields_get(fields, "title");
    if (title == NULL || title->type != RELM_FV_TEXT || title->s[0] == '\0')
        return relm_diag_set(d, "invalid_field",
                             _("title is required (a non-empty string)"));
    /* A release starts where its compiled workflow starts. */
    const relm_workflow *w = relm_workflow_find(s, workflow);
    if (w == NULL)
        return relm_diag_set(d, "not_defined",
                             _("workflow '%s' is not defined in the engine"),
                             workflow);
    const char *initial = relm_workflow_initial(w);
    const relm_wf_state *ist = relm_workflow_state(w, initial);
    if (state == NULL || strcmp(state, initial) != 0 || phase == NULL ||
        ist == NULL || strcmp(phase, ist->phase) != 0)
        return relm_diag_set(d, "not_allowed",
                             _("a release of workflow '%s' starts in state "
                             "'%s' (phase '%s')"), workflow, initial,
                             ist != NULL ? ist->phase : "?");
    /* BEGIN IMMEDIATE first: a permission revoked by a commit that lands
     * before ours is seen (issue 9, races). */
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    int64_t t = relm_clock_now();
    char now[32], number[32], deadline[32];
    relm_time_format(t, now);
    char *snap = NULL;
    if (relm_auth_check(s, workflow, "create", d) != RELM_OK)
        goto fail;
    /* Fixed columns, then the caller's fields, then the defaults that
     * depend on them; one INSERT whose shape the statement cache keeps. */
    col_value cols[RELM_FIELDS_MAX + 24];
    int nc = 0;
    const char *extra_path[RELM_FIELDS_MAX];
    const relm_field_value *extra_val[RELM_FIELDS_MAX];
    char extra_buf[RELM_FIELDS_MAX][96];
    int nextra = 0;
    int64_t requester = relm_store_actor_id(s), executor = 0;
    int64_t sla = 0;
    const char *pstart = NULL, *pend = NULL;
    if (next_number(s, t, number, d) != RELM_OK)
        goto fail;
    bound b;
    b = text_bound(number);
    add_col(cols, &nc, "number", &b);
    b = text_bound(workflow);
    add_col(cols, &nc, "workflow", &b);
    b = text_bound(state);
    add_col(cols, &nc, "state", &b);
    b = text_bound(phase);
    add_col(cols, &nc, "phase", &b);
    b = text_bound(now);
    add_col(cols, &nc, "created_at", &b);
    add_col(cols, &nc, "updated_at", &b);
    add_col(cols, &nc, "active_since", &b);
    for (int i = 0; i < fields->n; i++) {
        const relm_field_value *v = &fields->v[i];
        if (strncmp(v->name, "extra.", 6) == 0) {
            if (v->name[6] == '\0') {
                relm_diag_set(d, "invalid_field", _("empty extra field name"));
                goto fail;
            }
            snprintf(extra_buf[nextra], sizeof extra_buf[0], "$.\"%s\"",
                     v->name + 6);
            extra_path[nextra] = extra_buf[nextra];
            extra_val[nextra++] = v;
            continue;
        }
        const fieldspec *sp = spec_for(v->name);
        if (sp == NULL) {
            relm_diag_set(d, "invalid_field",
                          _("unknown field '%s' (see docs/releases.md)"),
                          v->name);
            goto fail;
        }
        if (!(sp->flags & RELM_FIELD_REGISTER)) {
            relm_diag_set(d, "invalid_field",
                          _("field '%s' cannot be set at registration"), v->name);
            goto fail;
        }
        if (prepare_value(s, sp, v, &b, d) != RELM_OK)
            goto fail;
        add_col(cols, &nc, sp->column, &b);
        if (strcmp(sp->name, "requester") == 0 && b.type == RELM_FV_INT)
            requester = b.i;
        else if (strcmp(sp->name, "executor_group") == 0 &&
                 b.type == RELM_FV_INT)
            executor = b.i;
        else if (strcmp(sp->name, "sla_seconds") == 0)
            sla = b.i;
        else if (strcmp(sp->name, "planned_start") == 0)
            pstart = b.s;
        else if (strcmp(sp->name, "planned_end") == 0)
            pend = b.s;
    }
    if (pstart != NULL && pend != NULL && strcmp(pend, pstart) < 0) {
        relm_diag_set(d, "invalid_field",
                      _("planned_end %s is before planned_start %s"), pend,
                      pstart);
        goto fail;
    }
    /* Defaults: the requester is the actor, the queue the executor group,
     * the contact the requester's profile, the time limit now + SLA. */
    if (requester != 0) {
        b = int_bound(requester);
        add_col(cols, &nc, "requester_id", &b);
    }
    if (executor != 0) {
        b = int_bound(executor);
        add_col(cols, &nc, "current_group_id", &b);
    }
    if (sla > 0) {
        relm_time_format(t + sla, deadline);
        b = text_bound(deadline);
        add_col(cols, &nc, "deadline", &b);
    }
    sqlite3_stmt *prof = NULL;
    if (requester != 0) {
        prof = relm_store_stmt(s,
                               "SELECT coalesce(full_name, name), email, "
                               "phone, unit, location FROM users WHERE id = ?1",
                               d);
        if (prof == NULL)
            goto fail;
        sqlite3_bind_int64(prof, 1, requester);
        if (sqlite3_step(prof) == SQLITE_ROW) {
            static const char *const contact[] = {
                "contact_name", "contact_email", "contact_phone",
                "contact_unit", "contact_location"};
            for (int k = 0; k < 5; k++) {
                const char *v = (const char *)sqlite3_column_text(prof, k);
                if (v == NULL)
                    continue;
                /* The column text stays valid until prof is reset, after
                 * the INSERT below has run. */
                b = text_bound(v);
                add_col(cols, &nc, contact[k], &b);
            }
        }
    }
    char *sql = insert_sql(relm_store_db(s), cols, nc, extra_val, nextra);
    sqlite3_stmt *st = sql != NULL ? relm_store_stmt(s, sql, d) : NULL;
    if (sql == NULL)
        relm_diag_set(d, "out_of_memory", _("register: out of memory"));
    sqlite3_free(sql);
    if (st == NULL) {
        if (prof != NULL)
            sqlite3_reset(prof);
        goto fail;
    }
    for (int i = 0; i < nc; i++)
        bind_bound(st, i + 1, &cols[i].b);
    for (int i = 0; i < nextra; i++) {
        int q = nc + 2 * i + 1;
        sqlite3_bind_text(st, q, extra_path[i], -1, SQLITE_TRANSIENT);
        bind_extra(st, q + 1, extra_val[i]);
    }
    int rc = sqlite3_step(st);
    /* Read the error before resetting prof, which would clear it. */
    if (rc != SQLITE_DONE)
        relm_store_fail(s, d, "register");
    sqlite3_reset(st);
    if (prof != NULL)
        sqlite3_reset(prof);
    if (rc != SQLITE_DONE)
        goto fail;
    *id = sqlite3_last_insert_rowid(relm_store_db(s));
    /* The deadline in business time on the release's calendar. */
    if (relm_sla_settle(s, *id, t, d) != RELM_OK)
        goto fail;
    if (snapshot(s, *id, &snap, d) != RELM_OK)
        goto fail;
    relm_occurrence o = {.at = now, .subject = "release", .subject_id = *id,
                         .action = "register", .to_state = state,
                         .after = snap};
    if (relm_audit_append(s, &o, NULL, d) != RELM_OK)
        goto fail;
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    if (after != NULL)
        *after = snap;
    else
        free(snap);
    return RELM_OK;
fail:
    free(snap);
    relm_store_rollback(s);
    *id = 0;
    return RELM_ERR;
}

/* ---- the primitives ---------------------------------------------------- */

/* The one list of the primitives (by relm_release_kind) and the fixed
 * permission each needs; relm.release, relm.workflow (reserved names) and
 * the bindings read it through relm_release_kind_name. */
static const char *const kind_action[] = {
    "transition", "update", "suspend", "reactivate", "cancel",
    "reopen", "close", "capture", "delegate", "share", NULL};
static const char *const kind_permission[] = {
    "execute", "execute", "suspend", "reactivate", "cancel",
    "reopen", "execute", "execute", "delegate", "delegate"};

const char *relm_release_kind_name(int kind)
{
    if (kind < 0 || kind > RELM_OP_SHARE)
        return NULL;
    return kind_action[kind];
}

const char *relm_release_kind_permission(int kind)
{
    if (kind < 0 || kind > RELM_OP_SHARE)
        return NULL;
    return kind_permission[kind];
}

/* 1 when the release read into c has status a. */
static int status_is(const current *c, const char *a)
{
    return strcmp(c->status, a) == 0;
}

/* Refuse an action the release's status does not allow. */
static int check_status(relm_release_kind kind, const current *c,
                        const char *action, relm_diag *d)
{
    int ok;
    const char *why;
    switch (kind) {
    case RELM_OP_TRANSITION:
    case RELM_OP_CLOSE:
    case RELM_OP_SUSPEND:
        ok = status_is(c, "open");
        why = "it must be open";
        break;
    case RELM_OP_REACTIVATE:
        ok = status_is(c, "suspended");
        why = "only a suspended release can be reactivated";
        break;
    case RELM_OP_REOPEN:
        ok = status_is(c, "closed");
        why = "only a closed release can be reopened";
        break;
    default:
        ok = status_is(c, "open") || status_is(c, "suspended");
        why = "it is no longer open";
        break;
    }
    if (ok)
        return RELM_OK;
    return relm_diag_set(d, "not_allowed", _("cannot %s: the release is %s; %s"),
                         action, c->status, why);
}

/* Target (group and/or user) of delegate and share, resolved to ids. A
 * person a release is delegated to becomes its responsible, so they must
 * be able to work it: execute on the release's workflow. (A group is a
 * queue, and sharing is for information: neither needs a permission.) */
static int resolve_target(relm_store *s, relm_release_kind kind,
                          const relm_release_op *op, const char *workflow,
                          int64_t *gid, int64_t *uid, relm_diag *d)
{
    *gid = *uid = 0;
    if ((op->to_group == NULL || !op->to_group[0]) &&
        (op->to_user == NULL || !op->to_user[0]))
        return relm_diag_set(d, "invalid_field",
                             _("%s needs to_group or to_user"),
                             kind_action[kind]);
    if (kind == RELM_OP_SHARE && op->to_group != NULL &&
        op->to_group[0] && op->to_user != NULL && op->to_user[0])
        return relm_diag_set(d, "invalid_field",
                             _("share with a group or a person, not both at "
                             "once"));
    if (op->note == NULL || !op->note[0])
        return relm_diag_set(d, "invalid_field",
                             _("%s needs a note (opts.note) saying why"),
                             kind_action[kind]);
    relm_field_value v = {.type = RELM_FV_TEXT};
    if (op->to_group != NULL && op->to_group[0]) {
        v.s = (char *)op->to_group;
        fieldspec g = {"to_group", "", K_GROUP, 0};
        if (resolve_ref(s, &g, &v, gid, d) != RELM_OK)
            return RELM_ERR;
    }
    if (op->to_user != NULL && op->to_user[0]) {
        v.s = (char *)op->to_user;
        fieldspec u = {"to_user", "", K_USER, 0};
        if (resolve_ref(s, &u, &v, uid, d) != RELM_OK)
            return RELM_ERR;
        if (kind == RELM_OP_DELEGATE &&
            !relm_auth_user_can(s, *uid, workflow, "execute"))
            return relm_diag_set(d, "invalid_field",
                                 _("to_user: '%s' may not execute releases of "
                                 "workflow '%s', so cannot be made "
                                 "responsible (grant a group of theirs "
                                 "execute, or delegate to a group)"),
                                 op->to_user, workflow);
    }
    return RELM_OK;
}

/* The epoch of op->reactivate_at, 0 when none (or unreadable: the caller
 * refused that already, in check_reactivate_at). */
static int64_t reactivate_epoch(const relm_release_op *op)
{
    int64_t t = 0;
    if (op->reactivate_at == NULL ||
        !relm_time_parse(op->reactivate_at, strlen(op->reactivate_at), &t,
                         NULL))
        return 0;
    return t;
}

/* reactivate_at goes with suspend only, and names a moment to come. */
static int check_reactivate_at(relm_release_kind kind,
                               const relm_release_op *op, int64_t now,
                               relm_diag *d)
{
    if (op->reactivate_at == NULL)
        return RELM_OK;
    if (kind != RELM_OP_SUSPEND)
        return relm_diag_set(d, "invalid_argument",
                             _("reactivate_at goes with suspend only, not "
                               "with %s"), op->action);
    int64_t t = reactivate_epoch(op);
    if (t == 0)
        return relm_diag_set(d, "invalid_field",
                             _("reactivate_at: '%s' is not a date and time "
                               "(e.g. 2026-12-08T09:00:00Z)"),
                             op->reactivate_at);
    if (t <= now)
        return relm_diag_set(d, "invalid_field",
                             _("reactivate_at: %s has already passed"),
                             op->reactivate_at);
    return RELM_OK;
}

/* The kind-specific writes, after the caller's fields are in. */
static int write_kind(relm_store *s, int64_t id, relm_release_kind kind,
                      int closes, const relm_release_op *op, const char *now,
                      int64_t gid, int64_t uid, relm_diag *d)
{
    /* Stopping the clock folds the running time into elapsed_seconds. */
#define STOP_CLOCK                                                           \
    "elapsed_seconds = elapsed_seconds + CASE WHEN active_since IS NULL "    \
    "THEN 0 ELSE max(0, ?3 - CAST(strftime('%s', active_since) AS "          \
    "INTEGER)) END, active_since = NULL"
    switch (kind) {
    case RELM_OP_SUSPEND:
        /* reactivate_at (checked by the caller) is when serve reactivates
         * it; NULL (arg 0) when the suspension has no end in view. */
        return exec_row(s,
                        "UPDATE releases SET status = 'suspended', "
                        "suspended_at = ?2, " STOP_CLOCK ", "
                        "remaining_seconds = CASE WHEN deadline IS NULL THEN "
                        "NULL ELSE CAST(strftime('%s', deadline) AS INTEGER) "
                        "- ?3 END, deadline = NULL, reactivate_at = "
                        "strftime('%Y-%m-%dT%H:%M:%SZ', ?4, 'unixepoch') "
                        "WHERE id = ?1",
                        id, now, reactivate_epoch(op), d);
    case RELM_OP_REACTIVATE:
        /* Any reactivation (by hand or by serve) ends the schedule. */
        return exec_row(s,
                        "UPDATE releases SET status = 'open', suspended_at = "
                        "NULL, reactivate_at = NULL, active_since = ?2, "
                        "deadline = CASE WHEN "
                        "remaining_seconds IS NULL THEN NULL ELSE strftime("
                        "'%Y-%m-%dT%H:%M:%SZ', ?3 + remaining_seconds, "
                        "'unixepoch') END, remaining_seconds = NULL "
                        "WHERE id = ?1",
                        id, now, 0, d);
    case RELM_OP_CANCEL:
        return exec_row(s,
                        "UPDATE releases SET status = 'cancelled', "
                        "closed_at = ?2, reactivate_at = NULL, " STOP_CLOCK
                        " WHERE id = ?1",
                        id, now, 0, d);
    case RELM_OP_CLOSE:
        return exec_row(s,
                        "UPDATE releases SET status = 'closed', closed_at = "
                        "?2, " STOP_CLOCK " WHERE id = ?1",
                        id, now, 0, d);
    case RELM_OP_TRANSITION:
        if (!closes)
            return RELM_OK;
        return exec_row(s,
                        "UPDATE releases SET status = 'closed', closed_at = "
                        "?2, " STOP_CLOCK " WHERE id = ?1",
                        id, now, 0, d);
    case RELM_OP_REOPEN:
        return exec_row(s,
                        "UPDATE releases SET status = 'open', closed_at = "
                        "NULL, reopen_count = reopen_count + 1, "
                        "active_since = ?2, remaining_seconds = NULL, "
                        "sla_done_pct = 0, "
                        "deadline = CASE WHEN sla_seconds IS NULL THEN NULL "
                        "ELSE strftime('%Y-%m-%dT%H:%M:%SZ', ?3 + "
                        "sla_seconds, 'unixepoch') END WHERE id = ?1",
                        id, now, 0, d);
    case RELM_OP_CAPTURE:
        return exec_row(s,
                        "UPDATE releases SET responsible_id = ?4 WHERE id = ?1",
                        id, now, relm_store_actor_id(s), d);
    case RELM_OP_DELEGATE:
        if (gid != 0 &&
            exec_row(s,
                     "UPDATE releases SET current_group_id = ?4, "
                     "responsible_id = NULL WHERE id = ?1",
                     id, now, gid, d) != RELM_OK)
            return RELM_ERR;
        if (uid != 0 &&
            exec_row(s,
                     "UPDATE releases SET responsible_id = ?4 WHERE id = ?1",
                     id, now, uid, d) != RELM_OK)
            return RELM_ERR;
        return RELM_OK;
    case RELM_OP_SHARE: {
        sqlite3_stmt *st = relm_store_stmt(
            s,
            "INSERT INTO release_shares (release_id, group_id, user_id, "
            "note, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            d);
        if (st == NULL)
            return RELM_ERR;
        sqlite3_bind_int64(st, 1, id);
        if (gid != 0)
            sqlite3_bind_int64(st, 2, gid);
        if (uid != 0)
            sqlite3_bind_int64(st, 3, uid);
        sqlite3_bind_text(st, 4, op->note, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
        return relm_store_step_write(s, st, d, "the release's share with %s",
                                     gid != 0 ? op->to_group : op->to_user);
    }
    default:
        return RELM_OK;
    }
#undef STOP_CLOCK
}

/* What C works out for one action from the release's compiled workflow:
 * the kind of write, the transition whose rules apply (an action of the
 * workflow, or the closing transition for close), the permission, the
 * target state and phase, whether it closes, the justification's use. */
typedef struct plan {
    relm_release_kind kind;
    const relm_wf_transition *t;
    const char *perm;
    const char *to_state;
    const char *to_phase;
    int closes;
    const char *use;
} plan;

/* The phase of state name in w (NULL when none). */
static const char *phase_of(const relm_workflow *w, const char *name)
{
    const relm_wf_state *st = relm_workflow_state(w, name);
    return st != NULL ? st->phase : NULL;
}

/* The from-states of t, comma-separated, into buf. */
static void from_list(const relm_wf_transition *t, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < t->from.n; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, size - l, "%s%s", i ? ", " : "", t->from.v[i]);
    }
}

/* Plan action on the release read into c, from its workflow w. Refuses
 * (not_allowed) an action that is neither a transition leaving the
 * current state nor a primitive the state allows. */
static int plan_action(const relm_workflow *w, const current *c,
                       const char *action, plan *p, relm_diag *d)
{
    memset(p, 0, sizeof *p);
    const relm_wf_state *st = relm_workflow_state(w, c->state);
    const relm_wf_transition *t = relm_workflow_transition(w, action);
    const char *cancel_state = relm_workflow_cancel_state(w);
    const char *close_state = relm_workflow_close_state(w);
    if (t != NULL) {
        if (!relm_wf_names_has(&t->from, c->state)) {
            char from[512];
            from_list(t, from, sizeof from);
            return relm_diag_set(d, "not_allowed",
                                 _("'%s' is not allowed on release %s: it is "
                                 "in state '%s' and '%s' leaves only from %s"),
                                 action, c->number, c->state, action, from);
        }
        p->t = t;
        p->to_state = t->to;
        p->to_phase = phase_of(w, t->to);
        p->perm = t->permission;
        if (cancel_state != NULL && strcmp(t->to, cancel_state) == 0) {
            /* A transition into the cancel state is a cancel: its
             * justification, status and fixed permission. */
            p->kind = RELM_OP_CANCEL;
            p->perm = kind_permission[RELM_OP_CANCEL];
            p->use = "cancel";
            return RELM_OK;
        }
        p->kind = RELM_OP_TRANSITION;
        const relm_wf_state *to = relm_workflow_state(w, t->to);
        p->closes = (close_state != NULL && strcmp(t->to, close_state) == 0) ||
                    (to != NULL && (to->flags & RELM_WF_FINAL));
        return RELM_OK;
    }
    int k;
    for (k = RELM_OP_UPDATE; k <= RELM_OP_SHARE; k++)
        if (strcmp(kind_action[k], action) == 0)
            break;
    if (k > RELM_OP_SHARE)
        return relm_diag_set(d, "not_allowed",
                             _("unknown action '%s' for release %s (workflow "
                             "'%s', state '%s')"), action, c->number,
                             c->workflow, c->state);
    p->kind = (relm_release_kind)k;
    p->perm = kind_permission[k];
    int open = status_is(c, "open");
    switch (p->kind) {
    case RELM_OP_SUSPEND:
        p->use = "suspend";
        if (open && (st == NULL || !(st->flags & RELM_WF_SUSPEND)))
            return relm_diag_set(d, "not_allowed",
                                 _("cannot suspend release %s in state '%s': "
                                 "the workflow does not allow it there"),
                                 c->number, c->state);
        break;
    case RELM_OP_CANCEL:
        p->use = "cancel";
        if (cancel_state == NULL ||
            ((open || status_is(c, "suspended")) &&
             (st == NULL || !(st->flags & RELM_WF_CANCEL))))
            return relm_diag_set(d, "not_allowed",
                                 _("cannot cancel release %s in state '%s': "
                                 "the workflow does not allow it there"),
                                 c->number, c->state);
        p->to_state = cancel_state;
        p->to_phase = phase_of(w, cancel_state);
        break;
    case RELM_OP_REOPEN:
        p->use = "reopen";
        if (relm_workflow_reopen_to(w) == NULL)
            return relm_diag_set(d, "not_allowed",
                                 _("cannot reopen release %s: workflow '%s' "
                                 "names no state to reopen to (reopen_to)"),
                                 c->number, c->workflow);
        p->to_state = relm_workflow_reopen_to(w);
        p->to_phase = phase_of(w, p->to_state);
        break;
    case RELM_OP_CLOSE:
        /* Closing takes the closing transition from here (the first in
         * declaration order): its permission, `by`, required fields and
         * approval point too. */
        if (open) {
            for (int i = 0; (t = relm_workflow_transition_at(w, i)); i++)
                if (close_state != NULL && strcmp(t->to, close_state) == 0 &&
                    relm_wf_names_has(&t->from, c->state))
                    break;
            if (t == NULL)
                return relm_diag_set(d, "not_allowed",
                                     _("cannot close release %s from state "
                                     "'%s': no transition there leads to "
                                     "'%s'"), c->number, c->state,
                                     close_state ? close_state : "(none)");
            p->t = t;
            p->perm = t->permission;
        }
        p->to_state = close_state;
        p->to_phase = phase_of(w, close_state);
        break;
    default:
        break;
    }
    return RELM_OK;
}

/* `by` of transition t: the release's requester, or a member of its
 * executor (or current) group; a superuser may stand in for either. */
static int check_by(relm_store *s, int64_t id, const relm_wf_transition *t,
                    relm_diag *d)
{
    if (t->by == RELM_BY_ANY)
        return RELM_OK;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT r.number, (SELECT name FROM users WHERE id = r.requester_id), "
        "coalesce((SELECT name FROM groups WHERE id = r.current_group_id), "
        "(SELECT name FROM groups WHERE id = r.executor_group_id)), "
        "r.requester_id = ?2, EXISTS (SELECT 1 FROM memberships m WHERE "
        "m.user_id = ?2 AND m.group_id IN (r.executor_group_id, "
        "r.current_group_id)) FROM releases r WHERE r.id = ?1",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, relm_store_actor_id(s));
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return relm_store_fail(s, d, "release");
    }
    int ok = sqlite3_column_int(st, t->by == RELM_BY_REQUESTER ? 3 : 4);
    char number[32], who[128];
    relm_store_column_copy(st, 0, number, sizeof number);
    relm_store_column_copy(st, t->by == RELM_BY_REQUESTER ? 1 : 2, who,
                           sizeof who);
    int nowho = sqlite3_column_type(st, t->by == RELM_BY_REQUESTER ? 1 : 2) ==
                SQLITE_NULL;
    sqlite3_reset(st);
    if (ok || relm_auth_is_admin(s))
        return RELM_OK;
    if (t->by == RELM_BY_REQUESTER)
        return relm_diag_set(d, "permission_denied",
                             _("only the requester (%s) may %s release %s"),
                             nowho ? "nil" : who, t->name, number);
    return relm_diag_set(d, "permission_denied",
                         _("only a member of the executor group (%s) may %s "
                         "release %s"), nowho ? "nil" : who, t->name, number);
}

/* The fields given with an action honour the current state's editable
 * list (priority follows impact and urgency, so it is not the caller's). */
static int check_editable(const relm_workflow *w, const current *c,
                          const char *action, const relm_fields *f,
                          relm_diag *d)
{
    const relm_wf_state *st = relm_workflow_state(w, c->state);
    if (f == NULL || st == NULL || !(st->flags & RELM_WF_EDITABLE))
        return RELM_OK;
    for (int i = 0; i < f->n; i++) {
        const char *name = f->v[i].name;
        if (strncmp(name, "extra.", 6) == 0)
            name += 6;
        if (strcmp(name, "priority") == 0 ||
            relm_wf_names_has(&st->editable, name))
            continue;
        char list[512] = "";
        for (int k = 0; k < st->editable.n; k++) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", k ? ", " : "",
                     st->editable.v[k]);
        }
        return relm_diag_set(d, "invalid_field",
                             _("%s: field '%s' cannot be changed in state "
                             "'%s' (editable: %s)"), action, name, c->state,
                             list);
    }
    return RELM_OK;
}

/* Append to missing the names of list that the release (snapshot json,
 * where a workflow's own fields sit under extra) does not have; "note" is
 * the action's note. */
static int add_missing(relm_store *s, const char *json, const char *note,
                       const relm_wf_names *list, char *missing, size_t size,
                       relm_diag *d)
{
    if (list->n == 0)
        return RELM_OK;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "SELECT coalesce(json_extract(?1, '$.\"' || ?2 || '\"'), "
        "json_extract(?1, '$.extra.\"' || ?2 || '\"')) NOT IN ('')",
        d);
    if (st == NULL)
        return RELM_ERR;
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    for (int i = 0; i < list->n; i++) {
        const char *f = list->v[i];
        int present;
        if (strcmp(f, "note") == 0) {
            present = note != NULL && note[0] != '\0';
        } else {
            sqlite3_bind_text(st, 2, f, -1, SQLITE_STATIC);
            present = sqlite3_step(st) == SQLITE_ROW &&
                      sqlite3_column_int(st, 0) == 1;
            sqlite3_reset(st);
        }
        if (!present && strstr(missing, f) == NULL) {
            size_t l = strlen(missing);
            snprintf(missing + l, size - l, "%s%s", l ? ", " : "", f);
        }
    }
    sqlite3_clear_bindings(st);
    return RELM_OK;
}

/* The conflict check of transition t on release id (number): not_allowed
 * listing the conflicts of the kinds t refuses on; otherwise *note gets
 * the action's note followed by the conflicts of the kinds t records
 * (malloc'd; NULL when there are none). */
static int conflict_gate(relm_store *s, int64_t id,
                         const relm_wf_transition *t, const char *number,
                         const char *given, char **note, relm_diag *d)
{
    relm_conflicts c;
    if (relm_conflict_compute(s, NULL, id, &c, d) != RELM_OK)
        return RELM_ERR;
    char *refused = relm_conflict_describe(&c, t->refuse_if);
    char *kept = relm_conflict_describe(&c, t->record_if);
    relm_conflicts_free(&c);
    int rc = RELM_OK;
    if (refused != NULL) {
        rc = relm_diag_set(d, "not_allowed",
                           _("'%s' is refused on release %s while these "
                             "conflicts stand: %s"),
                           t->name, number, refused);
    } else if (kept != NULL) {
        size_t n = (given ? strlen(given) + 2 : 0) + strlen(kept) + 64;
        *note = malloc(n);
        if (*note == NULL)
            rc = relm_diag_set(d, "out_of_memory", _("out of memory"));
        else
            snprintf(*note, n, "%s%s%s%s", given ? given : "",
                     given ? "\n" : "", _("Conflicts: "), kept);
    }
    free(refused);
    free(kept);
    return rc;
}

int relm_release_apply(relm_store *s, int64_t id, const relm_release_op *op,
                       char **after, relm_diag *d)
{
    if (after != NULL)
        *after = NULL;
    if (op->action == NULL || op->action[0] == '\0')
        return relm_diag_set(d, "invalid_argument", _("an action name is "
                             "required"));
    const char *action = op->action;
    current c;
    plan p;
    char *before = NULL, *snap = NULL, *note = NULL;
    relm_fields hooked;
    relm_fields_init(&hooked);
    /* Everything is decided inside the transaction (the write lock makes
     * the read current) and before anything is written. */
    if (relm_store_begin(s, d) != RELM_OK)
        return RELM_ERR;
    int64_t t = relm_clock_now();
    char now[32];
    relm_time_format(t, now);
    int64_t gid = 0, uid = 0;
    if (read_current(s, id, &c, d) != RELM_OK)
        goto fail;
    if (op->version != 0 && op->version != c.row_version) {
        relm_diag_set(d, "conflict",
                      _("release %s was written since you read it "
                      "(row_version %" PRId64 ", you have %" PRId64 "); "
                      "read it again and retry"),
                      c.number, c.row_version, op->version);
        goto fail;
    }
    const relm_workflow *w = relm_workflow_find(s, c.workflow);
    if (w == NULL) {
        relm_diag_set(d, "not_defined",
                      _("workflow '%s' of release %s is not defined in the "
                      "engine (it compiles it on first use)"), c.workflow,
                      c.number);
        goto fail;
    }
    if (plan_action(w, &c, action, &p, d) != RELM_OK)
        goto fail;
    if (relm_auth_check(s, c.workflow, p.perm, d) != RELM_OK)
        goto fail;
    if (check_status(p.kind, &c, action, d) != RELM_OK)
        goto fail;
    if (check_reactivate_at(p.kind, op, t, d) != RELM_OK)
        goto fail;
    if (p.use != NULL &&
        relm_release_check_justification(s, op->justification_id, p.use,
                                          d) != RELM_OK)
        goto fail;
    if ((p.kind == RELM_OP_DELEGATE || p.kind == RELM_OP_SHARE) &&
        resolve_target(s, p.kind, op, c.workflow, &gid, &uid, d) != RELM_OK)
        goto fail;
    if (check_editable(w, &c, action, op->fields, d) != RELM_OK)
        goto fail;
    if (p.t != NULL && check_by(s, id, p.t, d) != RELM_OK)
        goto fail;
    if (snapshot(s, id, &before, d) != RELM_OK)
        goto fail;
    if (op->hook != NULL && op->hook(op->hook_ud, before, &hooked, d) != RELM_OK)
        goto fail;
    /* After the hook, whose gate explains who is still to approve: this is
     * the check that holds whatever the hook did. */
    if (p.t != NULL && p.t->approval &&
        relm_approval_satisfied(s, id, c.state, p.t->name, d) != RELM_OK)
        goto fail;
    /* Conflicts the workflow refuses on, or records (core/conflict.h):
     * computed here, inside the transaction, whatever the caller did. */
    if (p.t != NULL && (p.t->refuse_if | p.t->record_if) != 0 &&
        conflict_gate(s, id, p.t, c.number, op->note, &note, d) != RELM_OK)
        goto fail;
    if (op->fields != NULL && op->fields->n > 0 &&
        write_fields(s, id, op->fields, RELM_FIELD_UPDATE, now, d) != RELM_OK)
        goto fail;
    if (hooked.n > 0 &&
        write_fields(s, id, &hooked, RELM_FIELD_WORKFLOW, now, d) != RELM_OK)
        goto fail;
    /* State, phase and the time stamp in one statement: every primitive
     * touches updated_at, so this runs always. */
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "UPDATE releases SET state = coalesce(?2, state), phase = "
        "coalesce(?3, phase), updated_at = ?4, row_version = row_version + 1 "
        "WHERE id = ?1",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, p.to_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, p.to_phase, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        relm_store_fail(s, d, "release state");
        goto fail;
    }
    if (write_kind(s, id, p.kind, p.closes, op, now, gid, uid, d) != RELM_OK)
        goto fail;
    /* The writes that start or stop the SLA clock settle it in business
     * time (calendar) and tell serve its next stage moment. */
    if ((p.kind == RELM_OP_SUSPEND || p.kind == RELM_OP_REACTIVATE ||
         p.kind == RELM_OP_REOPEN || p.kind == RELM_OP_CANCEL ||
         p.kind == RELM_OP_CLOSE || p.closes) &&
        relm_sla_settle(s, id, t, d) != RELM_OK)
        goto fail;
    /* The invariants can only break when fields changed or it closes. */
    int wrote = (op->fields != NULL && op->fields->n > 0) || hooked.n > 0;
    int closing = p.kind == RELM_OP_CLOSE || p.closes;
    if ((wrote || closing) && check_after(s, id, d) != RELM_OK)
        goto fail;
    if (snapshot(s, id, &snap, d) != RELM_OK)
        goto fail;
    /* Required fields, after the caller's and the hook's changes: those of
     * the state left and of the transition taken. */
    if (p.t != NULL) {
        char missing[512] = "";
        const relm_wf_state *from = relm_workflow_state(w, c.state);
        if ((from != NULL && add_missing(s, snap, op->note, &from->requires,
                                         missing, sizeof missing,
                                         d) != RELM_OK) ||
            add_missing(s, snap, op->note, &p.t->requires, missing,
                        sizeof missing, d) != RELM_OK)
            goto fail;
        if (missing[0]) {
            relm_diag_set(d, "invalid_field",
                          _("'%s' is not allowed on release %s: missing "
                          "required field(s): %s"), action, c.number, missing);
            goto fail;
        }
    }
    relm_occurrence o = {
        .at = now, .subject = "release", .subject_id = id, .action = action,
        .from_state = c.state,
        .to_state = p.to_state != NULL ? p.to_state : c.state,
        .justification_id = p.use != NULL ? op->justification_id : 0,
        .note = note != NULL ? note : op->note, .before = before,
        .after = snap,
    };
    if (relm_audit_append(s, &o, NULL, d) != RELM_OK)
        goto fail;
    if (relm_store_commit(s, d) != RELM_OK)
        goto fail;
    free(note);
    free(before);
    relm_fields_free(&hooked);
    if (after != NULL)
        *after = snap;
    else
        free(snap);
    return RELM_OK;
fail:
    free(note);
    free(before);
    free(snap);
    relm_fields_free(&hooked);
    relm_store_rollback(s);
    return RELM_ERR;
}
