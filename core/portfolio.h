/* portfolio.h: portfolios and their models in the database, synced from
 * the Lua templates in portfolios/ (administrators only, logged). */
#ifndef RELM_PORTFOLIO_H
#define RELM_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/store.h"

typedef struct relm_model_spec {
    const char *name; /* required */
    const char *description, *type, *workflow, *executor_group, *calendar;
    const char *impact, *urgency, *risk, *category;
    double sla_hours;      /* 0 = none */
    int sla_warning_percent; /* 0 = serve's setting */
    const char *templates; /* JSON object text, NULL = {} */
    const char *prefill;   /* JSON object text, NULL = {} */
    const char *status;    /* new, active, retired; NULL = active */
} relm_model_spec;

/* Write portfolio name (with its description and source file) and models
 * in one transaction. replace = 1 overwrites existing models of the same
 * name; replace = 0 only adds the missing ones (so an administrator's
 * changes in the database survive a re-sync of the shipped templates).
 * Executor groups that do not exist yet are created. */
int relm_portfolio_sync(relm_store *s, const char *name,
                        const char *description, const char *source,
                        const relm_model_spec *models, size_t nmodels,
                        int replace, int64_t *id, relm_diag *d);

/* Set a model's status (new, active, retired). */
int relm_portfolio_model_status(relm_store *s, const char *portfolio,
                                const char *model, const char *status,
                                relm_diag *d);

#endif
