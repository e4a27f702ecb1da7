/*
 * nfq_delay: holds every packet of an NFQUEUE queue for a delay, then accepts
 * it. Test-only stand-in for netem, which this machine's kernel lacks.
 *
 *   nfq_delay [-j JITTER_MS] [-D uniform|normal] [-o] [-s SEED] QUEUE DELAY_MS
 *
 * Each packet's delay is DELAY_MS, plus with -j a random jitter: uniform in
 * [-JITTER_MS, +JITTER_MS] (the default, as netem without a table) or normal
 * with standard deviation JITTER_MS (-D normal); a delay below 0 is 0.
 * Packets leave when their own delay is over, so jitter reorders them, as it
 * does on a real path (netem's default too); -o keeps arrival order instead
 * (a packet never leaves before the one that arrived before it).
 *
 * Stalls: SIGUSR1 stops releasing anything (the link stalls; packets that
 * arrive meanwhile are held too), SIGUSR2 ends the stall and releases every
 * packet whose delay is over. Nothing is dropped.
 *
 * Prints "ready" once bound. On SIGTERM/SIGINT it releases what it holds, prints
 * one line of statistics to stderr and exits 0. It sleeps in ppoll() until the
 * next packet is due or arrives: no busy waiting.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 65536

struct held {
	uint64_t due_ns;
	uint64_t seq; /* arrival order: equal due times leave in it */
	uint32_t id;
};

/* A binary min-heap on (due_ns, seq). */
static struct held heap[MAX_HELD];
static unsigned held_n;

static uint64_t delay_ns, jitter_ns, last_due_ns, seq;
static int normal_dist, in_order;
static uint64_t rng_state;
static volatile sig_atomic_t stop, stalled;
static uint64_t n_packets, n_reordered, n_stalls, n_held_in_stall, n_overflow, max_held;
static uint64_t max_delay_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* splitmix64: small, seedable, good enough for test noise. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(void)
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static uint64_t packet_delay(void)
{
	double d = (double)delay_ns;

	if (jitter_ns) {
		if (normal_dist) /* Box-Muller */
			d += (double)jitter_ns * sqrt(-2.0 * log(rng_unit())) *
			     cos(2.0 * M_PI * rng_unit());
		else
			d += (double)jitter_ns * (2.0 * rng_unit() - 1.0);
	}
	return d > 0 ? (uint64_t)d : 0;
}

static int earlier(const struct held *a, const struct held *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_push(struct held h)
{
	unsigned i = held_n++;

	while (i > 0) {
		unsigned parent = (i - 1) / 2;

		if (!earlier(&h, &heap[parent]))
			break;
		heap[i] = heap[parent];
		i = parent;
	}
	heap[i] = h;
}

static struct held heap_pop(void)
{
	struct held top = heap[0], last = heap[--held_n];
	unsigned i = 0;

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= held_n)
			break;
		if (c + 1 < held_n && earlier(&heap[c + 1], &heap[c]))
			c++;
		if (!earlier(&heap[c], &last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = last;
	return top;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	struct held h;
	uint64_t d;

	(void)msg;
	(void)data;
	if (!ph)
		return 0;
	n_packets++;
	if (held_n >= MAX_HELD) { /* full: let it through now rather than lose it */
		n_overflow++;
		return nfq_set_verdict(qh, ntohl(ph->packet_id), NF_ACCEPT, 0, NULL);
	}
	d = packet_delay();
	h.id = ntohl(ph->packet_id);
	h.seq = seq++;
	h.due_ns = now_ns() + d;
	if (in_order && h.due_ns < last_due_ns)
		h.due_ns = last_due_ns;
	else if (!in_order && h.due_ns < last_due_ns)
		n_reordered++; /* leaves before a packet that arrived earlier */
	if (h.due_ns > last_due_ns)
		last_due_ns = h.due_ns;
	if (d > max_delay_ns)
		max_delay_ns = d;
	if (stalled)
		n_held_in_stall++;
	heap_push(h);
	if (held_n > max_held)
		max_held = held_n;
	return 0;
}

static void release(struct nfq_q_handle *qh, uint64_t until)
{
	while (held_n && heap[0].due_ns <= until) {
		struct held h = heap_pop();

		nfq_set_verdict(qh, h.id, NF_ACCEPT, 0, NULL);
	}
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		if (!stalled)
			n_stalls++;
		stalled = 1;
	} else if (sig == SIGUSR2) {
		stalled = 0;
	} else {
		stop = 1;
	}
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-j JITTER_MS] [-D uniform|normal] [-o] [-s SEED] QUEUE DELAY_MS\n",
		argv0);
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	char buf[65536] __attribute__((aligned));
	struct sigaction sa;
	sigset_t blocked, waiting;
	int fd, opt;

	rng_state = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((opt = getopt(argc, argv, "j:D:os:")) != -1) {
		switch (opt) {
		case 'j':
			jitter_ns = (uint64_t)(atof(optarg) * 1e6);
			break;
		case 'D':
			if (strcmp(optarg, "normal") == 0) {
				normal_dist = 1;
			} else if (strcmp(optarg, "uniform") != 0) {
				usage(argv[0]);
				return 2;
			}
			break;
		case 'o':
			in_order = 1;
			break;
		case 's':
			rng_state = strtoull(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(argv[0]);
		return 2;
	}
	delay_ns = (uint64_t)(atof(argv[optind + 1]) * 1e6);

	/* Signals are delivered only inside ppoll(), so a flag set just before it is never
	 * missed. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGUSR2);
	sigprocmask(SIG_BLOCK, &blocked, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	sigdelset(&waiting, SIGUSR1);
	sigdelset(&waiting, SIGUSR2);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	h = nfq_open();
	if (!h) {
		perror("nfq_open");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)atoi(argv[optind]), on_packet, NULL);
	if (!qh) {
		perror("nfq_create_queue");
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, MAX_HELD) < 0) {
		perror("nfq_set_mode");
		return 1;
	}
	fd = nfq_fd(h);
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct timespec ts, *timeout = NULL; /* NULL: until a packet or a signal */
		uint64_t now = now_ns();

		if (held_n && !stalled) {
			uint64_t due = heap[0].due_ns;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = wait / 1000000000ull;
			ts.tv_nsec = wait % 1000000000ull;
			timeout = &ts;
		}
		int r = ppoll(&pfd, 1, timeout, &waiting);

		if (r > 0) {
			int n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			while (n > 0) {
				nfq_handle_packet(h, buf, n);
				n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			}
			if (n < 0 && errno == ENOBUFS)
				fprintf(stderr, "nfq_delay: netlink receive buffer overrun\n");
		} else if (r < 0 && errno != EINTR) {
			perror("ppoll");
			break;
		}
		if (!stalled)
			release(qh, now_ns());
	}
	release(qh, UINT64_MAX);
	fprintf(stderr,
		"nfq_delay: packets %llu reordered %llu stalls %llu held_in_stall %llu "
		"max_held %llu max_delay_ms %.1f overflow %llu\n",
		(unsigned long long)n_packets, (unsigned long long)n_reordered,
		(unsigned long long)n_stalls, (unsigned long long)n_held_in_stall,
		(unsigned long long)max_held, (double)max_delay_ns / 1e6,
		(unsigned long long)n_overflow);
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
