/* test_lockgraph_symbols.c - where a report's function names and lines come from: this
 * machine's own files only, the program's or a separate debug file beside it, never a
 * debuginfod server (asking one made the program load libdebuginfod and a network stack and
 * wait on the network while it reported).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lg_corpus.h"

/* A report of a C++ program, whose libstdc++ frames have no debug information here, made while
 * DEBUGINFOD_URLS names a server that takes connections and never answers. Before, libdwfl
 * asked it for libstdc++'s debug file: the run waited on the server (until killed here), and
 * the locks the network libraries' constructors and exit handlers took were counted as the
 * program's (6 locks, 3 edges where the program has 2 and 2). */
Test(lockgraph_symbols, a_report_asks_no_debuginfod_server, .timeout = 120)
{
  int srv = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(srv >= 0 && bind(srv, (struct sockaddr *)&a, sizeof a) == 0 && listen(srv, 64) == 0 &&
                getsockname(srv, (struct sockaddr *)&a, &len) == 0,
            "cannot listen on the loopback interface");
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
  cr_assert_eq(setenv("DEBUGINFOD_URLS", url, 1), 0);

  run_result_t r;
  run_corpus(&(run_request_t){.program = "cxx_std_mutex", .timeout_s = 60}, &r);
  cr_expect(!r.timed_out, "the run waited on the debuginfod server %s; stderr:\n%s", url, r.err);
  expect_potential_deadlock(&r, "cxx_std_mutex", 2);
  summary_t s;
  summary_parse(r.err, &s);
  cr_expect(s.locks == 2 && s.edges == 2, "summary: %u locks, %u edges, expected 2 and 2:\n%s",
            s.locks, s.edges, r.err);
  struct pollfd p = {.fd = srv, .events = POLLIN};
  cr_expect_eq(poll(&p, 1, 0), 0, "the run connected to the debuginfod server %s", url);
  run_cleanup(&r);
  close(srv);
}

/* Debug information kept in a separate file, named by the program's .gnu_debuglink and lying in
 * .debug/ beside it: the report still has the program's functions, files and lines. */
Test(lockgraph_symbols, a_separate_debug_file_beside_the_program_gives_the_lines, .timeout = 60)
{
  edge_expect_t expect[2];
  ab_ba_expect(expect, "worker_ab", "worker_ba");
  check_inversion("two_thread_inversion.split", "two_thread_inversion.c", 2, "mutex", expect, 0);
}

/* Two plugins loaded one after the other, the second where the first was (dlclose, then
 * dlopen): the second report's plugin frames name the second plugin's file (before, the
 * symbols cached for those addresses named the first one's), and say that the address was an
 * unloaded library's (a frame captured before the unload would be that one's); the first
 * report's, written while its plugin was loaded, say nothing of the kind. */
Test(lockgraph_symbols, a_library_loaded_where_another_was_gets_its_own_names, .timeout = 60)
{
  run_result_t r;
  run_corpus(&(run_request_t){.program = "dlopen_reuse"}, &r);
  cr_expect_eq(r.status, REPORT_EXITCODE, "exit status %d; stderr:\n%s", r.status, r.err);
  const char *second = strstr(r.err, "(report 2)");
  cr_assert_not_null(second, "no second report:\n%s", r.err);
  unsigned frames = 0;
  for (const char *line = second; (line = strstr(line, "plugin_ab ")) != NULL; line++) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    cr_expect(memmem(line, len, "dlreuse_second.c:", 17) != NULL,
              "a frame of the second plugin names another file: %.*s", (int)len, line);
    if (strstr(r.out, "same address: yes") != NULL)
      cr_expect(memmem(line, len, "an address an unloaded library had", 34) != NULL,
                "a frame at a reused address does not say so: %.*s", (int)len, line);
    frames++;
  }
  size_t first_len = (size_t)(second - r.err);
  cr_expect(memmem(r.err, first_len, "unloaded library", 16) == NULL,
            "the first report, written with its plugin loaded, speaks of an unloaded one:\n%.*s",
            (int)first_len, r.err);
  cr_expect_geq(frames, 4, "the second report shows %u plugin frames:\n%s", frames, second);
  run_cleanup(&r);
}
