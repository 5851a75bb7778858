/* vk_cmd_agent: `vitskip agent` — serves one local board over HTTP (see
 * boards/vk_agent.h for the protocol) until SIGINT or SIGTERM.
 *
 * Built with -DVK_AGENT_MAIN this file also carries a main() of its own: the
 * agent-only binary of tools/cross_aarch64.sh, which needs neither libcurl,
 * SQLite nor the image libraries. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_agent.h"
#include "host/cli/vk_cli.h"

static const char agent_help[] =
    "usage: vitskip agent [options]\n"
    "\n"
    "Serves a board to `vitskip` clients on other machines (board spec\n"
    "http://HOST:PORT). Prints its URL on stdout, then one line per request\n"
    "(method, path, status, ms) on stderr. Uploads stay in memory; nothing is\n"
    "written to disk. Stops on SIGINT or SIGTERM.\n"
    "\n"
    "  --board SPEC        the board to serve: sim (default), sim:FILE.json, cpu,\n"
    "                      xrt[:N[:FILE.xclbin]]\n"
    "  --listen ADDR[:PORT]  address to listen on (default 127.0.0.1; IPv6 as\n"
    "                      [ADDR]:PORT). Any non-loopback address needs --token-file\n"
    "  --port N            port (default 8357; 0 picks a free one and prints it)\n"
    "  --token-file FILE   clients must send 'Authorization: Bearer TOKEN' with the\n"
    "                      token in FILE (first line); they read it from\n"
    "                      VITSKIP_TOKEN or VITSKIP_TOKEN_FILE\n"
    "  --timeout S         close connections idle for S seconds (default 30)\n"
    "  --max-conns N       open connections at most (default 64)\n"
    "  --max-upload-mb N   largest model or dataset upload (default 512)\n"
    "  --max-store-mb N    uploads kept in memory, least recently used evicted\n"
    "                      (default 2048)\n"
    "  -h, --help          this help\n"
    "\n"
    "exit codes: 0 stopped by a signal, 1 cannot listen, 2 usage error,\n"
    "3 the board cannot be opened\n";

#define AGENT_DEFAULT_PORT 8357

/* Reads the first line of a token file into buf (trailing space removed). */
static int read_token(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len;
    if (!f) {
        fprintf(stderr, "vitskip agent: cannot read token file %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!fgets(buf, (int)n, f))
        buf[0] = 0;
    fclose(f);
    len = strcspn(buf, "\r\n");
    buf[len] = 0;
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = 0;
    if (len < 8) {
        fprintf(stderr,
                "vitskip agent: token file %s: expected a token of at least 8 characters "
                "on its first line\n",
                path);
        return -1;
    }
    return 0;
}

/* Parses a decimal in [lo, hi]; returns 0 on success. */
static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "ADDR", "ADDR:PORT", "[ADDR6]" or "[ADDR6]:PORT" into addr (and *port when
 * given); returns 0 on success. */
static int parse_listen(const char *s, char *addr, size_t n, long *port)
{
    const char *colon, *end;
    if (*s == '[') {
        end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= n)
            return -1;
        memcpy(addr, s + 1, (size_t)(end - s - 1));
        addr[end - s - 1] = 0;
        if (!end[1])
            return 0;
        return end[1] == ':' ? parse_num(end + 2, 0, 65535, port) : -1;
    }
    colon = strchr(s, ':');
    if (colon && strchr(colon + 1, ':')) { /* a bare IPv6 literal */
        if (strlen(s) >= n)
            return -1;
        strcpy(addr, s);
        return 0;
    }
    end = colon ? colon : s + strlen(s);
    if ((size_t)(end - s) >= n || end == s)
        return -1;
    memcpy(addr, s, (size_t)(end - s));
    addr[end - s] = 0;
    return colon ? parse_num(colon + 1, 0, 65535, port) : 0;
}

int vk_cmd_agent(int argc, char **argv)
{
    static const struct option longopts[] = {{"board", required_argument, 0, 'b'},
                                             {"listen", required_argument, 0, 'l'},
                                             {"port", required_argument, 0, 'p'},
                                             {"token-file", required_argument, 0, 't'},
                                             {"timeout", required_argument, 0, 'T'},
                                             {"max-conns", required_argument, 0, 'c'},
                                             {"max-upload-mb", required_argument, 0, 'u'},
                                             {"max-store-mb", required_argument, 0, 's'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    vk_agent_opts o = {.board = "sim", .port = AGENT_DEFAULT_PORT};
    char addr[64] = "127.0.0.1", token[4096];
    long port = -1, v;
    int opt, sig;
    vk_agent *a;
    vk_err err = {{0}};
    sigset_t set;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (vk_cli_check_board("agent", optarg))
                return VK_EXIT_USAGE;
            o.board = optarg;
            break;
        case 'l':
            if (parse_listen(optarg, addr, sizeof addr, &port))
                return vk_cli_usage("agent",
                                    "--listen '%s': expected ADDR, ADDR:PORT or "
                                    "[IPV6]:PORT",
                                    optarg);
            break;
        case 'p':
            if (parse_num(optarg, 0, 65535, &port))
                return vk_cli_usage("agent", "--port '%s': expected 0..65535", optarg);
            break;
        case 't':
            if (read_token(optarg, token, sizeof token))
                return VK_EXIT_USAGE;
            o.token = token;
            break;
        case 'T':
            if (parse_num(optarg, 1, 86400, &v))
                return vk_cli_usage("agent", "--timeout '%s': expected 1..86400 seconds", optarg);
            o.timeout_s = (unsigned)v;
            break;
        case 'c':
            if (parse_num(optarg, 1, 4096, &v))
                return vk_cli_usage("agent", "--max-conns '%s': expected 1..4096", optarg);
            o.max_conns = (unsigned)v;
            break;
        case 'u':
            if (parse_num(optarg, 1, 65536, &v))
                return vk_cli_usage("agent", "--max-upload-mb '%s': expected 1..65536", optarg);
            o.max_blob = (size_t)v << 20;
            break;
        case 's':
            if (parse_num(optarg, 1, 1048576, &v))
                return vk_cli_usage("agent", "--max-store-mb '%s': expected 1..1048576", optarg);
            o.max_store = (size_t)v << 20;
            break;
        case 'h':
            fputs(agent_help, stdout);
            return VK_EXIT_OK;
        default:
            return vk_cli_bad_option("agent", longopts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("agent", "unexpected argument '%s'", argv[optind]);
    o.addr = addr;
    if (port >= 0)
        o.port = (int)port;

    /* the server threads inherit this mask; only sigwait below sees them */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    switch (vk_agent_open(&o, &a, &err)) {
    case VK_OK:
        break;
    case VK_E_ARG:
        fprintf(stderr, "vitskip %s\n", err.msg);
        return VK_EXIT_USAGE;
    default:
        fprintf(stderr, "vitskip %s\n", err.msg);
        return VK_EXIT_BOARD;
    }
    if (vk_agent_listen(a, &err) != VK_OK) {
        fprintf(stderr, "vitskip %s\n", err.msg);
        vk_agent_close(a);
        return VK_EXIT_FAIL;
    }
    printf("%s\n", vk_agent_url(a));
    fflush(stdout);
    fprintf(stderr, "vitskip agent: serving board '%s' on %s%s\n", o.board, vk_agent_url(a),
            o.token ? " (bearer token required)" : "");
    sigwait(&set, &sig);
    fprintf(stderr, "vitskip agent: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    vk_agent_close(a);
    return VK_EXIT_OK;
}

#ifdef VK_AGENT_MAIN
int main(int argc, char **argv)
{
    return vk_cmd_agent(argc, argv);
}
#endif
