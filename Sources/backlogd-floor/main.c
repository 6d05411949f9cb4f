/* backlogd-floor: what the kernel needs to hand over the data, and nothing more.
 * The benchmark's reference: the same sock_diag dumps backlogd's ticks ask for,
 * with the same state masks, extensions and port filter, over libmnl; it only
 * counts messages. Run inside the namespace to measure:
 *
 *   backlogd-floor fast REPEAT            LISTEN dumps (inet, inet6) + UNIX listeners
 *   backlogd-floor deep REPEAT PORT...    SYN-RECV|ESTABLISHED|CLOSE_WAIT on the ports
 *
 * Prints one line per repetition: seconds (wall) and messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <libmnl/libmnl.h>
#include "csockdiag.h"

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
    (void)nlh;
    (*(long *)data)++;
    return MNL_CB_OK;
}

static long dump(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
    static char buf[32768]; /* MNL_SOCKET_DUMP_SIZE, as backlogd uses */
    unsigned int portid = mnl_socket_get_portid(nl);
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return -1;
    long messages = 0;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n < 0)
            return -1;
        int rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, count_cb, &messages);
        if (rc == MNL_CB_STOP)
            return messages;
        if (rc < 0)
            return -1;
    }
}

static long tcp(struct mnl_socket *nl, unsigned int seq, int family, uint32_t states,
                const uint16_t *ports, size_t nports)
{
    char req[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    struct inet_diag_req_v2 *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
    r->sdiag_family = (uint8_t)family;
    r->sdiag_protocol = IPPROTO_TCP;
    r->idiag_states = states;
    r->idiag_ext = 1 << (INET_DIAG_INFO - 1);
    if (nports > 0) {
        char bc[BD_MAX_FILTER_PORTS * 3 * sizeof(struct inet_diag_bc_op)];
        int len = bd_build_port_bytecode(ports, nports, bc, sizeof(bc));
        if (len < 0)
            return -1;
        mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, (size_t)len, bc);
    }
    return dump(nl, nlh);
}

static long unix_listeners(struct mnl_socket *nl, unsigned int seq)
{
    char req[256] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    struct unix_diag_req *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
    r->sdiag_family = AF_UNIX;
    r->udiag_states = 1 << 10; /* TCP_LISTEN */
    r->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN;
    return dump(nl, nlh);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "fast") != 0 && strcmp(argv[1], "deep") != 0)) {
        fprintf(stderr, "usage: backlogd-floor fast|deep REPEAT [PORT...]\n");
        return 2;
    }
    int deep = strcmp(argv[1], "deep") == 0;
    int repeat = atoi(argv[2]);
    size_t nports = (size_t)(argc - 3);
    uint16_t *ports = calloc(nports + 1, sizeof(uint16_t));
    for (size_t i = 0; i < nports; i++)
        ports[i] = (uint16_t)atoi(argv[3 + i]);
    /* The ports backlogd would filter on; past the bytecode's limit it asks for all. */
    if (nports > BD_MAX_FILTER_PORTS)
        nports = 0;
    struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
    if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        perror("netlink");
        return 1;
    }
    unsigned int seq = 1;
    for (int i = 0; i < repeat; i++) {
        double t0 = now();
        long messages = 0, m;
        if (deep) {
            uint32_t states = (1 << 3) | (1 << 1) | (1 << 8);
            if ((m = tcp(nl, seq++, AF_INET, states, ports, nports)) < 0) goto fail;
            messages += m;
            if ((m = tcp(nl, seq++, AF_INET6, states, ports, nports)) < 0) goto fail;
            messages += m;
        } else {
            if ((m = tcp(nl, seq++, AF_INET, 1 << 10, NULL, 0)) < 0) goto fail;
            messages += m;
            if ((m = tcp(nl, seq++, AF_INET6, 1 << 10, NULL, 0)) < 0) goto fail;
            messages += m;
            if ((m = unix_listeners(nl, seq++)) < 0) goto fail;
            messages += m;
        }
        printf("%.9f %ld\n", now() - t0, messages);
    }
    mnl_socket_close(nl);
    free(ports);
    return 0;
fail:
    perror("dump");
    return 1;
}
