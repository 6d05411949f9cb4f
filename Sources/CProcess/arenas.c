#include <malloc.h>
#include "cprocess.h"

int bd_cap_malloc_arenas(int n)
{
    return mallopt(M_ARENA_MAX, n);
}
