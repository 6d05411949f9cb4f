#include <malloc.h>
#include "cprocess.h"

int bd_cap_malloc_arenas(int n)
{
    return mallopt(M_ARENA_MAX, n);
}

int bd_fix_malloc_mmap_threshold(int bytes)
{
    /* Setting either fixes it: glibc no longer raises the mmap threshold after
       a large block is freed, and trims the heap's top past the same size. */
    return mallopt(M_MMAP_THRESHOLD, bytes) && mallopt(M_TRIM_THRESHOLD, bytes);
}
