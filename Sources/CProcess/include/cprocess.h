/* Process settings that Swift's Glibc module does not expose (glibc extensions). */
#ifndef CPROCESS_H
#define CPROCESS_H

/* mallopt(M_ARENA_MAX, n): at most n malloc arenas. Returns 1 on success. */
int bd_cap_malloc_arenas(int n);
/* mallopt(M_MMAP_THRESHOLD and M_TRIM_THRESHOLD, bytes): blocks of at least
   `bytes` are mapped apart and unmapped when freed. Returns 1 on success. */
int bd_fix_malloc_mmap_threshold(int bytes);

#endif
