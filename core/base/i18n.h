/* i18n.h: translated messages through GNU gettext (glibc's libintl), text
 * domain "relm". Mark every message a person reads: _("...") where it is
 * used, N_("...") in static tables (translated later with _()), and
 * n_(singular, plural, n) for counts. Stable error codes are never marked. */
#ifndef RELM_I18N_H
#define RELM_I18N_H

/* Bind the "relm" domain to localedir (NULL: $RELM_LOCALEDIR, else the
 * build's catalogues beside the executable, else the installed ones) and take LC_MESSAGES from the environment. LC_NUMERIC stays
 * "C" so machine output (Lua numbers, JSON, CSV) never changes. Called once
 * at start; safe to call again. */
void relm_i18n_init(const char *localedir);

/* The language messages are wanted in, as a catalogue names it ("pt_BR",
 * "es"); "en" when the locale is C, POSIX or unset. Label tables
 * ({en = ..., pt_BR = ...}) are looked up with it. */
const char *relm_i18n_language(void);

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
