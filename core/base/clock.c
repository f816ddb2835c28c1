/* clock.c: the engine's one clock, fixed by tests through relm_clock_set.
 * A fixed clock is process-wide: one engine, one time. */
#include "base/clock.h"

#include <time.h>

#include "base/time.h"

static int64_t fixed_clock;

int64_t relm_clock_now(void)
{
    return fixed_clock > 0 ? fixed_clock : (int64_t)time(NULL);
}

void relm_clock_set(int64_t epoch)
{
    fixed_clock = epoch > 0 ? epoch : 0;
}

void relm_clock_now_iso(char out[32])
{
    relm_time_format(relm_clock_now(), out);
}
