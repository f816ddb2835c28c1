/* lazylib.c: open a shared library on first use (see lazylib.h). */
#include "base/lazylib.h"

#include <dlfcn.h>
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int relm_lazylib_load(relm_lazylib *l)
{
    int state = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
    if (state != 0)
        return state == 1;
    pthread_mutex_lock(&lock);
    if (l->state == 0) {
        /* RTLD_LOCAL: its symbols serve only the pointers resolved here. */
        void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        state = h != NULL ? 1 : -1;
        for (size_t i = 0; state == 1 && i < l->n; i++)
            if ((l->fns[i] = dlsym(h, l->names[i])) == NULL)
                state = -1;
        __atomic_store_n(&l->state, state, __ATOMIC_RELEASE);
    }
    state = l->state;
    pthread_mutex_unlock(&lock);
    return state == 1;
}
