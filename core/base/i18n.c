/* i18n.c: the gettext domain "relm" shared by the C core and Lua. A
 * missing catalogue or unknown locale falls back to English (msgid). */
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/i18n.h"
#include "config.h" /* RELM_LOCALEDIR, generated from the Makefile's PREFIX */

#define RELM_DOMAIN "relm"

static char language[64] = "en";
/* The directory the domain is bound to (relm_i18n_available looks there). */
static char bound_dir[4400];

/* glibc's counter of catalogue changes: gettext keeps every lookup it made,
 * keyed by the thread's locale name, and trusts it while this counter is
 * unchanged. $LANGUAGE is not in that key, so a change of it is announced
 * by counting up, as the gettext manual says to ("Being a gettext grok"). */
extern int _nl_msg_cat_cntr;

static int dir_exists(const char *path)
{
    return access(path, R_OK | X_OK) == 0;
}

/* Where the catalogues are, in order: $RELM_LOCALEDIR; locale/ beside the
 * executable (build/relm reads build/locale, which `make` writes);
 * <prefix>/share/locale beside an installed <prefix>/bin/relm, so a copied
 * or DESTDIR-staged install works too; last the directory compiled in. */
static const char *find_localedir(void)
{
    static char dir[4400];
    const char *env = getenv("RELM_LOCALEDIR");
    if (env != NULL && *env != '\0')
        return env;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(dir, sizeof dir, "%s/locale", exe);
            if (dir_exists(dir))
                return dir;
            slash = strrchr(exe, '/');
            if (slash != NULL) {
                *slash = '\0';
                snprintf(dir, sizeof dir, "%s/share/locale", exe);
                if (dir_exists(dir))
                    return dir;
            }
        }
    }
    return RELM_LOCALEDIR;
}

/* The locale name gettext reads for messages, as POSIX orders the
 * variables: LC_ALL, then LC_MESSAGES, then LANG. */
static const char *messages_locale(void)
{
    static const char *const vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && *v != '\0')
            return v;
    }
    return "C";
}

/* "pt_BR.UTF-8@x" -> "pt_BR" into out; "C" and "POSIX" -> "en". */
static void language_of(const char *locale, char *out, size_t size)
{
    size_t n = strcspn(locale, ".@:");
    if (n == 0 || n >= size || strncmp(locale, "C", n) == 0 ||
        strncmp(locale, "POSIX", n) == 0) {
        snprintf(out, size, "en");
        return;
    }
    memcpy(out, locale, n);
    out[n] = '\0';
}

void relm_i18n_init(const char *localedir)
{
    const char *wanted = messages_locale();
    /* Only LC_MESSAGES follows the user: LC_NUMERIC stays "C" so Lua keeps
     * printing 1.5 and machine output never changes with the locale. */
    if (setlocale(LC_MESSAGES, "") == NULL) {
        /* The locale is not generated on this machine (a fresh install
         * has none but C.UTF-8): messages can still be translated, since
         * gettext reads LANGUAGE whenever LC_MESSAGES is not plain "C". */
        char lang[64];
        language_of(wanted, lang, sizeof lang);
        if (strcmp(lang, "en") != 0 && setlocale(LC_MESSAGES, "C.UTF-8") != NULL) {
            const char *l = getenv("LANGUAGE");
            if (l == NULL || *l == '\0')
                setenv("LANGUAGE", lang, 1);
        }
    }
    /* The language label tables pick (workflow and portfolio labels):
     * gettext's first choice, LANGUAGE's head unless the locale is C. */
    language_of(wanted, language, sizeof language);
    const char *list = getenv("LANGUAGE");
    if (strcmp(language, "en") != 0 && list != NULL && *list != '\0')
        language_of(list, language, sizeof language);
    snprintf(bound_dir, sizeof bound_dir, "%s",
             localedir != NULL ? localedir : find_localedir());
    bindtextdomain(RELM_DOMAIN, bound_dir);
    bind_textdomain_codeset(RELM_DOMAIN, "UTF-8");
}

const char *relm_i18n_language(void)
{
    return language;
}

const char *relm_i18n_localedir(void)
{
    return bound_dir;
}

int relm_i18n_available(const char *lang)
{
    if (strcmp(lang, "en") == 0)
        return 1;
    if (*lang == '\0' || strchr(lang, '/') != NULL || strstr(lang, "..") != NULL)
        return 0;
    char path[4600];
    snprintf(path, sizeof path, "%s/%s/LC_MESSAGES/" RELM_DOMAIN ".mo",
             bound_dir, lang);
    return access(path, R_OK) == 0;
}

/* The locale objects a scope switches to, made once: "C" (messages as
 * written) and "C.UTF-8" (not plain C, so gettext reads $LANGUAGE). */
static locale_t scope_locale(int english)
{
    static locale_t c, cutf8;
    if (english) {
        if (c == (locale_t)0)
            c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        return c;
    }
    if (cutf8 == (locale_t)0)
        cutf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    return cutf8;
}

int relm_i18n_enter(const char *lang, relm_i18n_scope *scope)
{
    memset(scope, 0, sizeof *scope);
    int english = strcmp(lang, "en") == 0;
    locale_t loc = scope_locale(english);
    if (loc == (locale_t)0 || strlen(lang) >= sizeof language)
        return -1;
    const char *env = getenv("LANGUAGE");
    if (env != NULL) {
        scope->prev_env = strdup(env);
        if (scope->prev_env == NULL)
            return -1;
    }
    memcpy(scope->prev_language, language, sizeof language);
    scope->prev_locale = uselocale(loc);
    if (!english)
        setenv("LANGUAGE", lang, 1);
    snprintf(language, sizeof language, "%s", lang);
    _nl_msg_cat_cntr++;
    scope->active = 1;
    return 0;
}

void relm_i18n_leave(relm_i18n_scope *scope)
{
    if (!scope->active)
        return;
    scope->active = 0;
    if (scope->prev_env != NULL)
        setenv("LANGUAGE", scope->prev_env, 1);
    else
        unsetenv("LANGUAGE");
    free(scope->prev_env);
    scope->prev_env = NULL;
    uselocale(scope->prev_locale);
    memcpy(language, scope->prev_language, sizeof language);
    _nl_msg_cat_cntr++;
}

const char *relm_i18n_text(const char *msgid)
{
    /* gettext("") is the catalogue's header, never a message. */
    if (msgid == NULL || *msgid == '\0')
        return msgid;
    return dgettext(RELM_DOMAIN, msgid);
}

const char *relm_i18n_ntext(const char *singular, const char *plural,
                            unsigned long n)
{
    return dngettext(RELM_DOMAIN, singular, plural, n);
}
