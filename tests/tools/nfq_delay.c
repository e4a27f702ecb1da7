/*
 * nfq_delay: holds every packet of an NFQUEUE queue for a fixed delay, then
 * accepts it, in arrival order. Test-only stand-in for netem, which this
 * machine's kernel lacks.
 *
 *   nfq_delay QUEUE DELAY_MS
 *
 * Prints "ready" once bound. On SIGTERM/SIGINT it releases what it holds and
 * exits 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_HELD 65536

struct held {
	uint32_t id;
	uint64_t due_ns;
};

static struct held ring[MAX_HELD];
static unsigned head, tail; /* ring[head..tail) are held */
static uint64_t delay_ns;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);

	(void)msg;
	(void)data;
	if (!ph)
		return 0;
	if (tail - head >= MAX_HELD) /* full: let it through now rather than lose it */
		return nfq_set_verdict(qh, ntohl(ph->packet_id), NF_ACCEPT, 0, NULL);
	ring[tail % MAX_HELD].id = ntohl(ph->packet_id);
	ring[tail % MAX_HELD].due_ns = now_ns() + delay_ns;
	tail++;
	return 0;
}

static void release(struct nfq_q_handle *qh, uint64_t until)
{
	while (head != tail && ring[head % MAX_HELD].due_ns <= until) {
		nfq_set_verdict(qh, ring[head % MAX_HELD].id, NF_ACCEPT, 0, NULL);
		head++;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	char buf[65536] __attribute__((aligned));
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s QUEUE DELAY_MS\n", argv[0]);
		return 2;
	}
	delay_ns = (uint64_t)(atof(argv[2]) * 1e6);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	h = nfq_open();
	if (!h) {
		perror("nfq_open");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)atoi(argv[1]), on_packet, NULL);
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
		struct timespec ts = {1, 0};
		uint64_t now = now_ns();

		if (head != tail) {
			uint64_t due = ring[head % MAX_HELD].due_ns;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = wait / 1000000000ull;
			ts.tv_nsec = wait % 1000000000ull;
		}
		int r = ppoll(&pfd, 1, &ts, NULL);

		if (r > 0) {
			int n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			while (n > 0) {
				nfq_handle_packet(h, buf, n);
				n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			}
		} else if (r < 0 && errno != EINTR) {
			perror("ppoll");
			break;
		}
		release(qh, now_ns());
	}
	release(qh, UINT64_MAX);
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
