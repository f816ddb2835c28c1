/* sqlexec.c: run SQL straight on a database file, as an attacker with write
 * access to the file would (the tamper catalogue); no relm code involved. */
#include <sqlite3.h>
#include <stdio.h>

/* sqlexec FILE SQL: exit 0 when every statement ran, 1 with the message. */
int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sqlexec FILE SQL\n");
        return 2;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlexec: %s: %s\n", argv[1],
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(db, argv[2], NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sqlexec: %s\n", err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : 1;
}
