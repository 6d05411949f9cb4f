/* Compiles a set of local ports to an inet_diag bytecode program.
 *
 * The kernel's audit (inet_diag_bc_audit) requires every `no` target to be
 * reachable through `yes` jumps, so OR is built the way ss builds it: a match
 * falls through (`yes`) to an unconditional JMP to the end; a miss skips over
 * that JMP to the next port. The last port's miss jumps past the end (reject).
 *
 *   [S_EQ yes=8 no=12][port p1][JMP yes=4 no=->end] ... [S_EQ yes=8 no=end+4][port pn]
 */
#include <errno.h>
#include <string.h>
#include <linux/inet_diag.h>
#include "internal.h"

int bd_build_port_bytecode(const uint16_t *ports, size_t nports, void *buf, size_t buflen)
{
    const size_t op = sizeof(struct inet_diag_bc_op);
    if (nports == 0 || nports > BD_MAX_FILTER_PORTS)
        return -EINVAL;
    size_t total = nports * 3 * op - op; /* the last port has no JMP */
    if (total > buflen)
        return -ENOSPC;
    struct inet_diag_bc_op *ops = buf;
    size_t i = 0;
    for (size_t p = 0; p < nports; p++) {
        size_t remaining = total - i * op; /* bytes from this op to the end */
        int last = p + 1 == nports;
        ops[i].code = INET_DIAG_BC_S_EQ;
        ops[i].yes = 2 * op;
        ops[i].no = last ? (unsigned short)(remaining + op) : 3 * op;
        ops[i + 1].code = 0;
        ops[i + 1].yes = 0;
        ops[i + 1].no = ports[p];
        if (!last) {
            ops[i + 2].code = INET_DIAG_BC_JMP;
            ops[i + 2].yes = op;
            ops[i + 2].no = (unsigned short)(remaining - 2 * op);
        }
        i += last ? 2 : 3;
    }
    return (int)total;
}
