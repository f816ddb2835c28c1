/* version.h: the relm version, shown by --version and relm.info(). */
#ifndef RELM_VERSION_H
#define RELM_VERSION_H

#define RELM_VERSION "0.1.0"

#endif
