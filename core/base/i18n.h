/* i18n.h: translated messages through GNU gettext (glibc's libintl), text
 * domain "relm". Mark every message a person reads: _("...") where it is
 * used, N_("...") in static tables (translated later with _()), and
 * n_(singular, plural, n) for counts. Stable error codes are never marked. */
#ifndef RELM_I18N_H
#define RELM_I18N_H

#include <locale.h>

/* Bind the "relm" domain to localedir (NULL: $RELM_LOCALEDIR, else the
 * build's catalogues beside the executable, else the installed ones) and take LC_MESSAGES from the environment. LC_NUMERIC stays
 * "C" so machine output (Lua numbers, JSON, CSV) never changes. Called once
 * at start; safe to call again. */
void relm_i18n_init(const char *localedir);

/* The language messages are wanted in, as a catalogue names it ("pt_BR",
 * "es"); "en" when the locale is C, POSIX or unset. Label tables
 * ({en = ..., pt_BR = ...}) are looked up with it. */
const char *relm_i18n_language(void);

/* Whether a catalogue of the "relm" domain exists for lang ("pt_BR",
 * "es"); "en" always has one (the messages themselves). */
int relm_i18n_available(const char *lang);

/* The directory of the catalogues ("<dir>/<lang>/LC_MESSAGES/relm.mo"). */
const char *relm_i18n_localedir(void);

/* What relm_i18n_enter replaced, for relm_i18n_leave to put back. */
typedef struct relm_i18n_scope {
    int active;
    locale_t prev_locale;  /* the thread's locale before */
    char prev_language[64];
    char *prev_env;        /* $LANGUAGE before (malloc'd), NULL if unset */
} relm_i18n_scope;

/* Messages and labels in lang ("pt_BR", "es", "en") for the calling
 * thread until relm_i18n_leave(scope): one web page rendered in its
 * reader's language while the process keeps its own. The thread's
 * LC_MESSAGES becomes C.UTF-8 (or C for "en") and $LANGUAGE names lang,
 * which is how gettext is told a language without a generated locale;
 * gettext's cache of lookups is told of the change. Not for concurrent
 * threads: serve renders on its one loop thread. Scopes nest; leave them
 * in reverse order. Returns 0, or -1 (nothing changed) when no locale
 * object could be made. */
int relm_i18n_enter(const char *lang, relm_i18n_scope *scope);

/* Put back what relm_i18n_enter(scope) replaced. Idempotent. */
void relm_i18n_leave(relm_i18n_scope *scope);

/* msgid translated for the current LC_MESSAGES, or msgid itself. */
const char *relm_i18n_text(const char *msgid) __attribute__((format_arg(1)));

/* The singular or plural form for n, translated. */
const char *relm_i18n_ntext(const char *singular, const char *plural,
                            unsigned long n)
    __attribute__((format_arg(1))) __attribute__((format_arg(2)));

#define _(s) relm_i18n_text(s)
#define N_(s) s
#define n_(s, p, n) relm_i18n_ntext((s), (p), (unsigned long)(n))

#endif
