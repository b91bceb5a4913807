/*
 * grpc-load: the key-value benchmark's load generator. Closed-loop gRPC unary calls over
 * HTTP/2 from C (nghttp2, the library under h2load, Debian's libnghttp2-dev), each call with
 * its own key: a request is `prefix + key digits + suffix`, bytes the Node side encoded once
 * with the real encoder around a key of fixed width. h2load sends one fixed body, so it cannot
 * put distinct keys; a Python grpc.aio client can, but spends ~60-100 µs of CPU per call, a
 * large share of a 2-core machine it shares with the servers. This spends a few µs.
 *
 * Usage: grpc-load --address HOST:PORT [--address ...] --path /pkg.Service/Method
 *          --prefix HEX [--suffix HEX] [--width DIGITS] [--first-key N] [--stride N]
 *          [--offset N] [--modulo N] [--concurrency 64] [--connections 1]
 *          [--warmup-ms 1000] [--duration-ms 5000] [--timeout-ms 5000]
 * Call i sends key number first_key + (i*stride + offset) [mod modulo], printed in `width`
 * digits (width 0: the prefix alone, every call). Calls are spread over `connections`
 * connections per address. It connects, prints "ready", waits for a line on stdin, runs the
 * warm-up and the measured window, and prints one JSON line: issued (calls started, warm-up
 * included), ops and errors completed inside the window, first_error, seconds, cpu_seconds
 * (this process over the window) and hist, [[lower bound µs, count], ...] of the window's
 * latencies (exact below 128 µs, 7 significant bits above).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ADDRESSES 16
#define HIST_SIZE (128 + 64 * 64)

typedef struct conn conn;

/* One caller of the closed loop: one call in flight at a time. */
typedef struct {
  conn *c;
  uint8_t *body;
  size_t len, sent;
  uint64_t t0;
  int http_status, grpc_status;
  char grpc_message[160];
} slot;

struct conn {
  int fd, dead;
  nghttp2_session *s;
  char authority[280];
  uint8_t *out;
  size_t out_len, out_cap;
  int want_out;
};

static struct {
  const char *path;
  uint8_t *prefix, *suffix;
  size_t prefix_len, suffix_len;
  int width;
  unsigned long long first_key, stride, offset, modulo;
  int concurrency, connections;
  long warmup_ms, duration_ms, timeout_ms;
} opt = {.stride = 1, .concurrency = 64, .connections = 1, .warmup_ms = 1000, .duration_ms = 5000, .timeout_ms = 5000};

static uint64_t issued, ops, errors, hist[HIST_SIZE];
static uint64_t window_start, window_end;
static char first_error[200];
static char grpc_timeout[32];
static slot *slots;
static int *ready, ready_count;
static int busy;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "grpc-load: %s\n", what);
  exit(1);
}

static uint8_t *hex(const char *s, size_t *len) {
  size_t n = strlen(s);
  if (n % 2) die("hex strings need an even number of digits");
  uint8_t *b = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) die("bad hex digit");
    b[i] = (uint8_t)v;
  }
  *len = n / 2;
  return b;
}

static int hist_index(uint64_t us) {
  if (us < 128) return (int)us;
  int shift = 64 - __builtin_clzll(us) - 7;
  return 128 + (shift - 1) * 64 + (int)((us >> shift) - 64);
}

static uint64_t hist_lower(int i) {
  if (i < 128) return (uint64_t)i;
  int shift = (i - 128) / 64 + 1;
  return (uint64_t)(64 + (i - 128) % 64) << shift;
}

static void note_error(const char *fmt, const char *a, int n) {
  errors++;
  if (!first_error[0]) snprintf(first_error, sizeof first_error, fmt, a, n);
}

/* Fills slot s's body for call number `issued` (the gRPC frame: flag, length, message). */
static void fill_body(slot *s) {
  size_t msg = opt.prefix_len + (size_t)opt.width + opt.suffix_len;
  uint8_t *p = s->body;
  p[0] = 0;
  p[1] = (uint8_t)(msg >> 24), p[2] = (uint8_t)(msg >> 16), p[3] = (uint8_t)(msg >> 8), p[4] = (uint8_t)msg;
  memcpy(p + 5, opt.prefix, opt.prefix_len);
  if (opt.width > 0) {
    unsigned long long n = issued * opt.stride + opt.offset;
    if (opt.modulo) n %= opt.modulo;
    char digits[32];
    snprintf(digits, sizeof digits, "%0*llu", opt.width, opt.first_key + n);
    if ((int)strlen(digits) != opt.width) die("a key number needs more digits than --width");
    memcpy(p + 5 + opt.prefix_len, digits, (size_t)opt.width);
  }
  memcpy(p + 5 + opt.prefix_len + opt.width, opt.suffix, opt.suffix_len);
  s->len = 5 + msg;
  s->sent = 0;
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *flags,
                         nghttp2_data_source *source, void *user) {
  (void)session, (void)stream_id, (void)user;
  slot *s = source->ptr;
  size_t n = s->len - s->sent;
  if (n > length) n = length;
  memcpy(buf, s->body + s->sent, n);
  s->sent += n;
  if (s->sent == s->len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

static void start_call(slot *s) {
  fill_body(s);
  issued++;
  s->http_status = 0;
  s->grpc_status = -1;
  s->grpc_message[0] = 0;
  nghttp2_nv hdrs[] = {
      NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", s->c->authority), NV(":path", opt.path),
      NV("content-type", "application/grpc"), NV("te", "trailers"), NV("grpc-timeout", grpc_timeout),
  };
  nghttp2_data_provider data = {.source = {.ptr = s}, .read_callback = read_body};
  s->t0 = now_ns();
  int32_t id = nghttp2_submit_request(s->c->s, NULL, hdrs, sizeof hdrs / sizeof hdrs[0], &data, s);
  if (id < 0) die(nghttp2_strerror(id));
  busy++;
  s->c->want_out = 1;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user) {
  (void)flags, (void)user;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  slot *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (!s) return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) s->http_status = atoi((const char *)value);
  else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) s->grpc_status = atoi((const char *)value);
  else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
    // gRPC percent-encodes the message on the wire.
    size_t n = 0;
    for (size_t i = 0; i < valuelen && n < sizeof s->grpc_message - 1; i++) {
      unsigned v;
      if (value[i] == '%' && i + 2 < valuelen && sscanf((const char *)value + i + 1, "%2x", &v) == 1) {
        s->grpc_message[n++] = (char)v;
        i += 2;
      } else {
        s->grpc_message[n++] = (char)value[i];
      }
    }
    s->grpc_message[n] = 0;
  }
  return 0;
}

static int on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user) {
  (void)user;
  slot *s = nghttp2_session_get_stream_user_data(session, stream_id);
  if (!s) return 0;
  busy--;
  uint64_t t1 = now_ns();
  if (t1 >= window_start && t1 <= window_end) {
    if (error_code != 0) note_error("stream reset by the server (%s, code %d)", "HTTP/2", (int)error_code);
    else if (s->http_status != 200) note_error("HTTP status %s%d", "", s->http_status);
    else if (s->grpc_status != 0) note_error("%s (grpc-status %d)", s->grpc_message[0] ? s->grpc_message : "no message", s->grpc_status);
    else {
      ops++;
      hist[hist_index((t1 - s->t0) / 1000)]++;
    }
  }
  // The next call is started after nghttp2 returns: submitting from inside its callback works
  // but is easier to reason about outside it.
  if (t1 < window_end) ready[ready_count++] = (int)(s - slots);
  return 0;
}

static void flush_out(conn *c, int epfd) {
  for (;;) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(c->s, &data);
    if (n < 0) die(nghttp2_strerror((int)n));
    if (n == 0) break;
    if (c->out_len + (size_t)n > c->out_cap) {
      c->out_cap = (c->out_len + (size_t)n) * 2;
      c->out = realloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, data, (size_t)n);
    c->out_len += (size_t)n;
  }
  size_t off = 0;
  while (off < c->out_len) {
    ssize_t w = write(c->fd, c->out + off, c->out_len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    if (w < 0) die("write to the server failed");
    off += (size_t)w;
  }
  memmove(c->out, c->out + off, c->out_len - off);
  c->out_len -= off;
  int blocked = c->out_len > 0;
  if (blocked != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (blocked ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  }
  c->want_out = blocked;
}

static void open_conn(conn *c, const char *address, nghttp2_session_callbacks *cb, int epfd) {
  char host[256];
  const char *colon = strrchr(address, ':');
  if (!colon || (size_t)(colon - address) >= sizeof host) die("--address takes HOST:PORT");
  memcpy(host, address, (size_t)(colon - address));
  host[colon - address] = 0;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) die("cannot resolve an --address");
  c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    fprintf(stderr, "grpc-load: cannot connect to %s: %s\n", address, strerror(errno));
    exit(1);
  }
  freeaddrinfo(ai);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  snprintf(c->authority, sizeof c->authority, "%s", address);
  nghttp2_session_client_new(&c->s, cb, c);
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20}};
  nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2);
  nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 1 << 24);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  flush_out(c, epfd);
}

static void read_conn(conn *c) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      c->dead = 1;
      return;
    }
    ssize_t used = nghttp2_session_mem_recv(c->s, buf, (size_t)n);
    if (used < 0) {
      c->dead = 1;
      return;
    }
  }
}

static void parse_args(int argc, char **argv, const char **addresses, int *naddr) {
  static struct option longs[] = {
      {"address", 1, 0, 'a'}, {"path", 1, 0, 'p'}, {"prefix", 1, 0, 'x'}, {"suffix", 1, 0, 'y'},
      {"width", 1, 0, 'w'}, {"first-key", 1, 0, 'f'}, {"stride", 1, 0, 's'}, {"offset", 1, 0, 'o'},
      {"modulo", 1, 0, 'm'}, {"concurrency", 1, 0, 'c'}, {"connections", 1, 0, 'n'}, {"warmup-ms", 1, 0, 'W'},
      {"duration-ms", 1, 0, 'D'}, {"timeout-ms", 1, 0, 'T'}, {0, 0, 0, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    switch (ch) {
      case 'a':
        if (*naddr == MAX_ADDRESSES) die("too many --address");
        addresses[(*naddr)++] = optarg;
        break;
      case 'p': opt.path = optarg; break;
      case 'x': opt.prefix = hex(optarg, &opt.prefix_len); break;
      case 'y': opt.suffix = hex(optarg, &opt.suffix_len); break;
      case 'w': opt.width = atoi(optarg); break;
      case 'f': opt.first_key = strtoull(optarg, NULL, 10); break;
      case 's': opt.stride = strtoull(optarg, NULL, 10); break;
      case 'o': opt.offset = strtoull(optarg, NULL, 10); break;
      case 'm': opt.modulo = strtoull(optarg, NULL, 10); break;
      case 'c': opt.concurrency = atoi(optarg); break;
      case 'n': opt.connections = atoi(optarg); break;
      case 'W': opt.warmup_ms = atol(optarg); break;
      case 'D': opt.duration_ms = atol(optarg); break;
      case 'T': opt.timeout_ms = atol(optarg); break;
      default: die("unknown option (see the comment at the top of grpc-load.c)");
    }
  }
  if (*naddr == 0 || !opt.path || !opt.prefix) die("--address, --path and --prefix are required");
  if (opt.width < 0 || opt.width > 20 || opt.concurrency < 1 || opt.connections < 1) die("bad --width, --concurrency or --connections");
  if (!opt.suffix) opt.suffix = hex("", &opt.suffix_len);
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

int main(int argc, char **argv) {
  const char *addresses[MAX_ADDRESSES];
  int naddr = 0;
  parse_args(argc, argv, addresses, &naddr);
  snprintf(grpc_timeout, sizeof grpc_timeout, "%ldm", opt.timeout_ms);

  nghttp2_session_callbacks *cb;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
  int epfd = epoll_create1(0);
  int nconn = naddr * opt.connections;
  conn *conns = calloc((size_t)nconn, sizeof *conns);
  for (int i = 0; i < nconn; i++) open_conn(&conns[i], addresses[i % naddr], cb, epfd);

  slots = calloc((size_t)opt.concurrency, sizeof *slots);
  ready = calloc((size_t)opt.concurrency, sizeof *ready);
  for (int i = 0; i < opt.concurrency; i++) {
    slots[i].c = &conns[i % nconn];
    slots[i].body = malloc(5 + opt.prefix_len + (size_t)opt.width + opt.suffix_len);
  }
  printf("ready\n");
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof line, stdin)) return 0;

  uint64_t go = now_ns();
  window_start = go + (uint64_t)opt.warmup_ms * 1000000u;
  window_end = window_start + (uint64_t)opt.duration_ms * 1000000u;
  uint64_t give_up = window_end + (uint64_t)opt.timeout_ms * 1000000u + 1000000000u;
  double cpu_start = -1, cpu_end = -1;
  for (int i = 0; i < opt.concurrency; i++) start_call(&slots[i]);
  for (int i = 0; i < nconn; i++) flush_out(&conns[i], epfd);

  struct epoll_event events[64];
  for (;;) {
    uint64_t t = now_ns();
    if (cpu_start < 0 && t >= window_start) cpu_start = cpu_seconds();
    if (cpu_end < 0 && t >= window_end) cpu_end = cpu_seconds();
    if (t >= window_end && busy == 0) break;
    if (t >= give_up) break;
    uint64_t next = t < window_start ? window_start : t < window_end ? window_end : give_up;
    int wait_ms = (int)((next - t) / 1000000u) + 1;
    int n = epoll_wait(epfd, events, 64, wait_ms > 100 ? 100 : wait_ms);
    for (int i = 0; i < n; i++) {
      conn *c = events[i].data.ptr;
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_conn(c);
      if (c->dead) {
        fprintf(stderr, "grpc-load: the server closed the connection to %s\n", c->authority);
        exit(1);
      }
    }
    while (ready_count > 0) start_call(&slots[ready[--ready_count]]);
    for (int i = 0; i < nconn; i++) flush_out(&conns[i], epfd);
  }
  if (cpu_end < 0) cpu_end = cpu_seconds();
  if (cpu_start < 0) cpu_start = cpu_end;
  if (busy > 0) note_error("%s%d calls still unanswered after the timeout", "", busy);

  printf("{\"issued\":%llu,\"ops\":%llu,\"errors\":%llu,\"first_error\":", (unsigned long long)issued, (unsigned long long)ops,
         (unsigned long long)errors);
  if (first_error[0]) print_json_string(first_error);
  else printf("null");
  printf(",\"seconds\":%.3f,\"cpu_seconds\":%.6f,\"hist\":[", opt.duration_ms / 1000.0, cpu_end - cpu_start);
  int first = 1;
  for (int i = 0; i < HIST_SIZE; i++) {
    if (!hist[i]) continue;
    printf("%s[%llu,%llu]", first ? "" : ",", (unsigned long long)hist_lower(i), (unsigned long long)hist[i]);
    first = 0;
  }
  printf("]}\n");
  return 0;
}
