/* i18n.c: the gettext domain "relm" shared by the C core and Lua. A
 * missing catalogue or unknown locale falls back to English (msgid). */
#include <libintl.h>
#include <locale.h>

#include "base/i18n.h"

#define RELM_DOMAIN "relm"

void relm_i18n_init(const char *localedir)
{
    setlocale(LC_MESSAGES, "");
    if (localedir != NULL)
        bindtextdomain(RELM_DOMAIN, localedir);
    bind_textdomain_codeset(RELM_DOMAIN, "UTF-8");
}

const char *relm_i18n_text(const char *msgid)
{
    return dgettext(RELM_DOMAIN, msgid);
}

const char *relm_i18n_ntext(const char *singular, const char *plural,
                            unsigned long n)
{
    return dngettext(RELM_DOMAIN, singular, plural, n);
}
