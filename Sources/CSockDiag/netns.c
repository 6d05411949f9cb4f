/* Joining a network namespace: setns(2) is _GNU_SOURCE-only, so Swift's Glibc
 * module does not export it. Only the calling thread moves; a sock_diag socket
 * opened afterwards stays bound to that namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include "csockdiag.h"

int bd_enter_netns(int fd)
{
    return setns(fd, CLONE_NEWNET) == 0 ? 0 : -errno;
}
