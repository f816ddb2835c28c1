/* portfolio.c: administrative writes of portfolios and models: one
 * transaction per template, checked and logged like every other write. */
#include "base/i18n.h"
#include "portfolio.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"

/* NULL (not given) or one of low, medium, high. */
static int is_level(const char *v)
{
    return v == NULL || strcmp(v, "low") == 0 || strcmp(v, "medium") == 0 ||
           strcmp(v, "high") == 0;
}

/* NULL (not given) or one of new, active, retired. */
static int is_status(const char *v)
{
    return v == NULL || strcmp(v, "new") == 0 || strcmp(v, "active") == 0 ||
           strcmp(v, "retired") == 0;
}

/* Check a model before anything is written, naming the bad field. */
static int check_model(const char *portfolio, const relm_model_spec *m,
                       relm_diag *d)
{
    if (m->name == NULL || m->name[0] == '\0')
        return relm_diag_set(d, "invalid_field",
                             _("portfolio '%s': a model without a name"),
                             portfolio);
    const char *bad = !is_level(m->impact)    ? "impact"
                      : !is_level(m->urgency) ? "urgency"
                      : !is_level(m->risk)    ? "risk"
                                              : NULL;
    if (bad != NULL)
        return relm_diag_set(d, "invalid_field",
                             _("portfolio '%s', model '%s': %s must be low, "
                             "medium or high"), portfolio, m->name, bad);
    if (!is_status(m->status))
        return relm_diag_set(d, "invalid_field",
                             _("portfolio '%s', model '%s': status must be new, "
                             "active or retired"), portfolio, m->name);
    if (m->sla_hours < 0)
        return relm_diag_set(d, "invalid_field",
                             _("portfolio '%s', model '%s': sla_hours must be "
                             "positive"), portfolio, m->name);
    return RELM_OK;
}

int relm_portfolio_sync(relm_store *s, const char *name,
                        const char *description, const char *source,
                        const relm_model_spec *models, size_t nmodels,
                        int replace, int64_t *id, relm_diag *d)
{
    if (name == NULL || name[0] == '\0')
        return relm_diag_set(d, "invalid_field", _("a portfolio needs a name"));
    for (size_t i = 0; i < nmodels; i++)
        if (check_model(name, &models[i], d) != RELM_OK)
            return RELM_ERR;
    if (relm_auth_begin_admin(s, "loading a portfolio", d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "INSERT INTO portfolios (name, description, source) VALUES (?1, ?2, "
        "?3) ON CONFLICT (name) DO UPDATE SET description = CASE WHEN ?4 "
        "THEN excluded.description ELSE description END, source = "
        "excluded.source RETURNING id",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, description, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, replace);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        relm_store_fail(s, d, "portfolio");
        goto fail;
    }
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    int changed = 0;
    for (size_t i = 0; i < nmodels; i++) {
        const relm_model_spec *m = &models[i];
        if (m->executor_group != NULL && m->executor_group[0]) {
            st = relm_store_stmt(s,
                                 "INSERT OR IGNORE INTO groups (name, "
                                 "description) VALUES (?1, 'executor group "
                                 "named by a portfolio model')",
                                 d);
            if (st == NULL)
                goto fail;
            sqlite3_bind_text(st, 1, m->executor_group, -1, SQLITE_STATIC);
            if (relm_store_step_write(s, st, d, "executor group") != RELM_OK)
                goto fail;
        }
        st = relm_store_stmt(
            s,
            replace
                ? "INSERT INTO models (portfolio_id, name, description, type, "
                  "workflow, executor_group, calendar, impact, urgency, risk, "
                  "category, sla_hours, templates, prefill, status, "
                  "sla_warning_percent) VALUES "
                  "(?1, ?2, ?3, coalesce(?4, 'normal'), coalesce(?5, "
                  "'standard'), ?6, ?7, ?8, ?9, ?10, ?11, ?12, coalesce(?13, "
                  "'{}'), coalesce(?14, '{}'), coalesce(?15, 'active'), ?16) "
                  "ON CONFLICT (portfolio_id, name) DO UPDATE SET "
                  "description = excluded.description, type = excluded.type, "
                  "workflow = excluded.workflow, executor_group = "
                  "excluded.executor_group, calendar = excluded.calendar, "
                  "impact = excluded.impact, urgency = excluded.urgency, "
                  "risk = excluded.risk, category = excluded.category, "
                  "sla_hours = excluded.sla_hours, templates = "
                  "excluded.templates, prefill = excluded.prefill, status = "
                  "excluded.status, sla_warning_percent = "
                  "excluded.sla_warning_percent"
                : "INSERT OR IGNORE INTO models (portfolio_id, name, "
                  "description, type, workflow, executor_group, calendar, "
                  "impact, urgency, risk, category, sla_hours, templates, "
                  "prefill, status, sla_warning_percent) VALUES (?1, ?2, ?3, "
                  "coalesce(?4, 'normal'), coalesce(?5, 'standard'), ?6, ?7, "
                  "?8, ?9, ?10, ?11, ?12, coalesce(?13, '{}'), coalesce(?14, "
                  "'{}'), coalesce(?15, 'active'), ?16)",
            d);
        if (st == NULL)
            goto fail;
        sqlite3_bind_int64(st, 1, *id);
        const char *texts[] = {m->name, m->description, m->type, m->workflow,
                               m->executor_group, m->calendar, m->impact,
                               m->urgency, m->risk, m->category};
        for (int k = 0; k < 10; k++)
            sqlite3_bind_text(st, k + 2, texts[k], -1, SQLITE_STATIC);
        if (m->sla_hours > 0)
            sqlite3_bind_double(st, 12, m->sla_hours);
        sqlite3_bind_text(st, 13, m->templates, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 14, m->prefill, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 15, m->status, -1, SQLITE_STATIC);
        if (m->sla_warning_percent > 0)
            sqlite3_bind_int(st, 16, m->sla_warning_percent);
        if (relm_store_step_write(s, st, d, "model") != RELM_OK)
            goto fail;
        changed += sqlite3_changes(relm_store_db(s));
    }
    if (changed > 0 || replace) {
        char *after;
        if (relm_store_id_text(
                s,
                "SELECT json_object('name', p.name, 'description', "
                "p.description, 'source', p.source, 'models', (SELECT "
                "json_group_array(json_object('name', m.name, 'workflow', "
                "m.workflow, 'status', m.status)) FROM models m WHERE "
                "m.portfolio_id = p.id)) FROM portfolios p WHERE p.id = ?1",
                *id, &after, d) != RELM_OK)
            goto fail;
        int rc = relm_audit_log(s, "portfolio", *id, "sync", source, NULL,
                                after, d);
        free(after);
        if (rc != RELM_OK)
            goto fail;
    }
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}

int relm_portfolio_model_status(relm_store *s, const char *portfolio,
                                const char *model, const char *status,
                                relm_diag *d)
{
    if (status == NULL || !is_status(status))
        return relm_diag_set(d, "invalid_field",
                             _("status must be new, active or retired"));
    if (relm_auth_begin_admin(s, "changing a model", d) != RELM_OK)
        return RELM_ERR;
    sqlite3_stmt *st = relm_store_stmt(
        s,
        "UPDATE models SET status = ?3 WHERE name = ?2 AND portfolio_id = "
        "(SELECT id FROM portfolios WHERE name = ?1) RETURNING id",
        d);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, portfolio, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int64_t mid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            relm_diag_set(d, "not_found", _("no model '%s' in portfolio '%s'"),
                          model, portfolio);
        else
            relm_store_fail(s, d, "model");
        goto fail;
    }
    char note[300];
    snprintf(note, sizeof note, "%s/%s -> %s", portfolio, model, status);
    if (relm_audit_log(s, "model", mid, "status", note, NULL, NULL, d) !=
        RELM_OK)
        goto fail;
    return relm_store_end(s, RELM_OK, d);
fail:
    return relm_store_end(s, RELM_ERR, d);
}
