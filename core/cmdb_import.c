/* cmdb_import.c: bulk import and export of CIs and relationships (CSV via
 * libcsv, JSON Lines via SQLite JSON1), one transaction per file. */
#include "cmdb_import.h"

#include <stdlib.h>

void relm_import_report_free(relm_import_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i].message);
    free(r->items);
    r->items = NULL;
    r->n = r->cap = 0;
}

int relm_cmdb_import(relm_store *s, const char *path,
                     const relm_cmdb_import_opts *o, int64_t *count,
                     relm_import_report *rep, relm_diag *d)
{
    (void)s; (void)o; (void)count; (void)rep;
    return relm_diag_set(d, "not_implemented", "%s: import is coming", path);
}

int relm_cmdb_export(relm_store *s, const char *path,
                     const relm_cmdb_export_opts *o, int64_t *count,
                     relm_diag *d)
{
    (void)s; (void)o; (void)count;
    return relm_diag_set(d, "not_implemented", "%s: export is coming", path);
}
