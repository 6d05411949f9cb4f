/* backlogd-floor: what the kernel needs to hand over the data, and nothing more.
 * The benchmark's reference: the same sock_diag dumps backlogd's ticks ask for,
 * with the same state masks, extensions and port filter, over libmnl; it only
 * counts messages. Run inside the namespace to measure:
 *
 *   backlogd-floor fast REPEAT            LISTEN dump (inet and inet6 in one walk) + UNIX listeners
 *   backlogd-floor deep REPEAT PORT...    SYN-RECV|ESTABLISHED|CLOSE_WAIT|LISTEN on the ports
 *   backlogd-floor netstat REPEAT         read /proc/thread-self/net/netstat whole, unparsed
 *   backlogd-floor paced SECONDS          the fast dumps every 250 ms for SECONDS, asleep between
 *
 * Prints one line per repetition: seconds (wall), messages (bytes for netstat)
 * and CPU seconds (user + system of this process); `paced` prints one line,
 * the fraction of a core it used: the floor of a 250 ms tick with its wake-ups
 * (one thread, an absolute clock_nanosleep: nothing to hand over). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
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

/* Both families in one walk (TCPDIAG_GETSOCK, answered as AF_UNSPEC), as backlogd asks. */
static long tcp(struct mnl_socket *nl, unsigned int seq, uint32_t states,
                const uint16_t *ports, size_t nports)
{
    char req[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = TCPDIAG_GETSOCK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    struct inet_diag_req *r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
    r->idiag_family = AF_INET;
    r->idiag_states = states;
    r->idiag_ext = 1 << (INET_DIAG_INFO - 1);
    /* As backlogd asks: a listener's socket memory (sk_drops) with LISTEN dumps. */
    if (states == (1u << 10))
        r->idiag_ext |= 1 << (INET_DIAG_SKMEMINFO - 1);
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

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* What reading the counters costs at least: the kernel generating the file
 * (it sums every MIB over all CPUs) and copying it out; no parsing. */
static long netstat_read(void)
{
    static char buf[65536];
    int fd = open("/proc/thread-self/net/netstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += n;
    close(fd);
    return n < 0 ? -1 : total;
}

/* A bound NETLINK_SOCK_DIAG socket, or NULL (said on stderr). */
static struct mnl_socket *open_diag(void)
{
    struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
    if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        perror("netlink");
        return NULL;
    }
    return nl;
}

/* The fast dumps at the fast tick's pace (every 250 ms) for `seconds`; prints CPU / wall. */
static int paced(double seconds)
{
    struct mnl_socket *nl = open_diag();
    if (nl == NULL)
        return 1;
    unsigned int seq = 1;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double t0 = now(), c0 = cpu();
    while (now() - t0 < seconds) {
        if (tcp(nl, seq++, 1 << 10, NULL, 0) < 0 || unix_listeners(nl, seq++) < 0) {
            perror("dump");
            return 1;
        }
        next.tv_nsec += 250000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    printf("%.9f\n", (cpu() - c0) / (now() - t0));
    mnl_socket_close(nl);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "fast") != 0 && strcmp(argv[1], "deep") != 0 && strcmp(argv[1], "netstat") != 0
                     && strcmp(argv[1], "paced") != 0)) {
        fprintf(stderr, "usage: backlogd-floor fast|deep|netstat REPEAT [PORT...] | paced SECONDS\n");
        return 2;
    }
    if (strcmp(argv[1], "paced") == 0)
        return paced(atof(argv[2]));
    int deep = strcmp(argv[1], "deep") == 0;
    int repeat = atoi(argv[2]);
    if (strcmp(argv[1], "netstat") == 0) {
        for (int i = 0; i < repeat; i++) {
            double t0 = now(), c0 = cpu();
            long bytes = netstat_read();
            if (bytes < 0) {
                perror("/proc/thread-self/net/netstat");
                return 1;
            }
            printf("%.9f %ld %.9f\n", now() - t0, bytes, cpu() - c0);
        }
        return 0;
    }
    size_t nports = (size_t)(argc - 3);
    uint16_t *ports = calloc(nports + 1, sizeof(uint16_t));
    for (size_t i = 0; i < nports; i++)
        ports[i] = (uint16_t)atoi(argv[3 + i]);
    /* The ports backlogd would filter on; past the bytecode's limit it asks for all. */
    if (nports > BD_MAX_FILTER_PORTS)
        nports = 0;
    struct mnl_socket *nl = open_diag();
    if (nl == NULL)
        return 1;
    unsigned int seq = 1;
    for (int i = 0; i < repeat; i++) {
        double t0 = now(), c0 = cpu();
        long messages = 0, m;
        if (deep) {
            uint32_t states = (1 << 3) | (1 << 1) | (1 << 8) | (1 << 10);
            if ((m = tcp(nl, seq++, states, ports, nports)) < 0) goto fail;
            messages += m;
        } else {
            if ((m = tcp(nl, seq++, 1 << 10, NULL, 0)) < 0) goto fail;
            messages += m;
            if ((m = unix_listeners(nl, seq++)) < 0) goto fail;
            messages += m;
        }
        printf("%.9f %ld %.9f\n", now() - t0, messages, cpu() - c0);
    }
    mnl_socket_close(nl);
    free(ports);
    return 0;
fail:
    perror("dump");
    return 1;
}
