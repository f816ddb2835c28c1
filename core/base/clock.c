/* clock.c: the engine's one clock, fixed by tests through relm_clock_set.
 * A fixed clock is process-wide (base/context.h): one engine, one time. */
#include "base/clock.h"

#include <time.h>

#include "base/context.h"
#include "base/time.h"

int64_t relm_clock_now(void)
{
    int64_t fixed = relm_process.fixed_clock;
    return fixed > 0 ? fixed : (int64_t)time(NULL);
}

void relm_clock_set(int64_t epoch)
{
    relm_process.fixed_clock = epoch > 0 ? epoch : 0;
}

void relm_clock_now_iso(char out[32])
{
    relm_time_format(relm_clock_now(), out);
}
